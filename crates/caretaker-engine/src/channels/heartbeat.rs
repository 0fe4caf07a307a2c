//! The heartbeat: a POST to the owner's ping URL every interval, its body `ok` or `N open
//! alerts` (Healthchecks.io and most push monitors show it). A failed ping is logged and tried
//! again at the next tick; it never raises an alert (the outside service is the one that tells).

use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

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
