//! What the channels service runs on a schedule: the heartbeat (restarted when it is changed
//! from the app) and each channel's daily digest.

use super::config::HeartbeatConfig;
use super::digest::{compose, due, gather};
use super::heartbeat::run;
use super::message::Transition;
use super::outbox;
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

impl Service {
    /// Queues each channel's digest when its time has come and today's was not sent; checks
    /// every `tick` against the engine's clock.
    pub(crate) async fn run_digests(self: Arc<Self>, tick: Duration) {
        let me = self.clone();
        self.core.every(tick, || me.clone().queue_due_digests()).await;
    }

    async fn queue_due_digests(self: Arc<Self>) {
        let now = self.core.now();
        let wanted: Vec<(String, u32)> = self
            .core
            .config()
            .notifications
            .channels
            .into_iter()
            .filter(|c| c.enabled)
            .filter_map(|c| Some((c.name, crate::clock::parse_time_of_day(c.digest_at.as_deref()?)?)))
            .collect();
        if wanted.is_empty() {
            return;
        }
        let (open, host) = (self.core.alerts.open(), self.core.hostname.clone());
        let queued = self
            .core
            .db
            .write_async(move |c| {
                // Read once per tick, and only when some channel's digest is due.
                let mut digest = None;
                let mut n = 0;
                for (channel, minute) in &wanted {
                    if !due(now, *minute, outbox::last_of(c, channel, Transition::Digest)?) {
                        continue;
                    }
                    if digest.is_none() {
                        digest = Some(compose(&gather(c, &open)?, &host, now));
                    }
                    if let Some(m) = &digest {
                        outbox::enqueue(c, channel, m, now)?;
                        n += 1;
                    }
                }
                Ok(n)
            })
            .await;
        match queued {
            Ok(0) => {}
            Ok(_) => self.rows_written(),
            Err(e) => tracing::warn!("could not queue the daily digest: {e}"),
        }
    }
}
