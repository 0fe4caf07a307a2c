//! Native notifications, sent from the engine so the headless CLI notifies too. A burst of
//! notices within a short window becomes one notification.

use super::{Notice, Severity};
use std::time::Duration;
use tokio::sync::mpsc;

/// Where notifications go. The desktop implementation uses notify-rust (Notification Center on
/// macOS, `org.freedesktop.Notifications` over D-Bus on Linux).
pub trait Sink: Send + Sync + 'static {
    fn show(&self, title: &str, body: &str, critical: bool) -> Result<(), String>;
}

pub struct DesktopSink;

impl Sink for DesktopSink {
    fn show(&self, title: &str, body: &str, critical: bool) -> Result<(), String> {
        let mut n = notify_rust::Notification::new();
        n.appname("Caretaker").summary(title).body(body);
        #[cfg(all(unix, not(target_os = "macos")))]
        {
            n.urgency(if critical { notify_rust::Urgency::Critical } else { notify_rust::Urgency::Normal });
        }
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        let _ = critical;
        n.show().map(|_| ()).map_err(|e| e.to_string())
    }
}

/// Folds the notices that arrived together into one (title, body, critical).
pub fn group(notices: &[Notice], hostname: &str) -> Option<(String, String, bool)> {
    let critical = notices.iter().any(|n| n.severity == Severity::Critical && !n.recovery);
    match notices {
        [] => None,
        [one] => Some((one.title.clone(), one.body.clone(), critical)),
        many => {
            let mut body: Vec<String> = many.iter().take(6).map(|n| format!("• {}", n.title)).collect();
            if many.len() > 6 {
                body.push(format!("… and {} more", many.len() - 6));
            }
            Some((format!("{} alerts on {hostname}", many.len()), body.join("\n"), critical))
        }
    }
}

/// Runs until `rx` closes: waits for a notice, gathers what follows within `window`, shows one
/// notification. A failure to show is logged, never fatal (a headless box has no notification server).
pub async fn run(
    mut rx: mpsc::Receiver<Notice>,
    sink: std::sync::Arc<dyn Sink>,
    hostname: String,
    window: Duration,
    cancel: tokio_util::sync::CancellationToken,
) {
    loop {
        let first = tokio::select! {
            _ = cancel.cancelled() => break,
            n = rx.recv() => match n { Some(n) => n, None => break },
        };
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + window;
        while let Ok(Some(n)) = tokio::time::timeout_at(deadline, rx.recv()).await {
            batch.push(n);
        }
        if let Some((title, body, critical)) = group(&batch, &hostname) {
            let sink = sink.clone();
            let shown = tokio::task::spawn_blocking(move || sink.show(&title, &body, critical)).await;
            match shown {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("could not show a notification: {e}"),
                Err(e) => tracing::warn!("notification task failed: {e}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(title: &str, severity: Severity) -> Notice {
        Notice { title: title.into(), body: format!("body of {title}"), severity, alert_id: 1, recovery: false }
    }

    #[test]
    fn one_notice_is_shown_as_is() {
        let g = group(&[n("CPU at 93 % on mini", Severity::Critical)], "mini").unwrap();
        assert_eq!(g, ("CPU at 93 % on mini".into(), "body of CPU at 93 % on mini".into(), true));
    }

    #[test]
    fn a_burst_becomes_one_notification() {
        let burst: Vec<Notice> = (0..8).map(|i| n(&format!("check {i} is down"), Severity::Warning)).collect();
        let (title, body, critical) = group(&burst, "mini").unwrap();
        assert_eq!(title, "8 alerts on mini");
        assert!(body.starts_with("• check 0 is down\n"));
        assert!(body.ends_with("… and 2 more"));
        assert!(!critical);
    }
}
