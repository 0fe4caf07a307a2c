//! The heartbeat: a POST to the owner's ping URL every interval, its body `ok` or `N open
//! alerts` (Healthchecks.io and most push monitors show it). A failed ping is logged and tried
//! again at the next tick; it never raises an alert (the outside service is the one that tells).

use super::config::HeartbeatConfig;
use super::service::Service;
use crate::config::NotificationsConfig;
use crate::core::Piece;
use crate::error::Result;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The heartbeat task that runs now, if any, and the period a test set for every heartbeat.
#[derive(Default)]
pub(crate) struct Running {
    stop: Option<CancellationToken>,
    period_override: Option<Duration>,
}

impl Service {
    /// Stops the heartbeat that runs and starts the configured one, if any; `period` (tests)
    /// is kept for later restarts. The task ends with the engine too.
    pub(crate) fn restart_heartbeat(self: &Arc<Self>, period: Option<Duration>) -> Option<JoinHandle<()>> {
        let mut running = self.heartbeat.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(stop) = running.stop.take() {
            stop.cancel();
        }
        running.period_override = period.or(running.period_override);
        let h = self.core.config().notifications.heartbeat.filter(|h| h.enabled())?;
        let client = match self.client() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("the heartbeat is off: {e}");
                return None;
            }
        };
        let core = self.core.clone();
        let every = running.period_override.unwrap_or(Duration::from_secs(h.interval_minutes * 60));
        let open = Arc::new(move || core.alerts.open().len());
        let stop = self.core.cancel.child_token();
        running.stop = Some(stop.clone());
        Some(tokio::spawn(run(client, h.url, every, open, stop)))
    }

    /// Sets (None: removes) the heartbeat in caretaker.toml and applies it at once.
    pub(crate) async fn save_heartbeat(self: &Arc<Self>, heartbeat: Option<HeartbeatConfig>) -> Result<NotificationsConfig> {
        let (_, config) = self
            .core
            .edit_config(Piece::Heartbeat, move |c| {
                c.notifications.heartbeat = heartbeat;
                Ok(())
            })
            .await?;
        self.restart_heartbeat(None);
        Ok(config.notifications)
    }
}

pub fn status_text(open_alerts: usize) -> String {
    match open_alerts {
        0 => "ok".into(),
        1 => "1 open alert".into(),
        n => format!("{n} open alerts"),
    }
}

pub(crate) async fn run(
    client: reqwest::Client,
    url: String,
    period: Duration,
    open_alerts: Arc<dyn Fn() -> usize + Send + Sync>,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let sent = client.post(&url).timeout(Duration::from_secs(10)).body(status_text(open_alerts())).send();
        let r = tokio::select! {
            _ = cancel.cancelled() => return,
            r = sent => r,
        };
        // The URL is the owner's secret check id: never logged.
        match r.map_err(|e| e.without_url().to_string()).and_then(|r| r.error_for_status().map_err(|e| e.without_url().to_string())) {
            Ok(_) if failing => {
                failing = false;
                tracing::info!("heartbeat ping delivered again");
            }
            Ok(_) => {}
            Err(e) if !failing => {
                failing = true;
                tracing::warn!("heartbeat ping failed ({e}); trying again at the next interval");
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_status_is_short() {
        assert_eq!(super::status_text(0), "ok");
        assert_eq!(super::status_text(1), "1 open alert");
        assert_eq!(super::status_text(3), "3 open alerts");
    }
}
