//! Native notifications, shown by the engine so the headless CLI notifies too. They are one
//! channel of the delivery outbox (`channels`), which groups a burst into one notification.

use super::{Notice, Severity};
#[cfg(all(unix, not(target_os = "macos")))]
use std::sync::atomic::{AtomicUsize, Ordering};

/// Called when the person clicks a shown notification.
pub type OnClick = Box<dyn FnOnce() + Send + 'static>;

/// Where notifications go. The desktop implementation uses notify-rust (Notification Center on
/// macOS, `org.freedesktop.Notifications` over D-Bus on Linux).
pub trait Sink: Send + Sync + 'static {
    fn show(&self, title: &str, body: &str, critical: bool) -> Result<(), String>;

    /// As [`Sink::show`], calling `on_click` if the person clicks the notification, where the
    /// platform says so. Blocking: call from a blocking thread.
    fn show_clickable(&self, title: &str, body: &str, critical: bool, on_click: OnClick) -> Result<(), String> {
        let _ = on_click;
        self.show(title, body, critical)
    }
}

/// At most this many shown notifications are waited on for a click at once (a waiter is a thread
/// that ends when the notification is clicked or closed; a critical one may stay for long).
#[cfg(all(unix, not(target_os = "macos")))]
const CLICK_WAITERS: usize = 8;
#[cfg(all(unix, not(target_os = "macos")))]
static WAITING: AtomicUsize = AtomicUsize::new(0);

pub struct DesktopSink;

impl DesktopSink {
    fn notification(title: &str, body: &str, critical: bool) -> notify_rust::Notification {
        let mut n = notify_rust::Notification::new();
        n.appname("Caretaker").summary(title).body(body);
        #[cfg(all(unix, not(target_os = "macos")))]
        {
            n.urgency(if critical { notify_rust::Urgency::Critical } else { notify_rust::Urgency::Normal });
        }
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        let _ = critical;
        n
    }
}

impl Sink for DesktopSink {
    fn show(&self, title: &str, body: &str, critical: bool) -> Result<(), String> {
        Self::notification(title, body, critical).show().map(|_| ()).map_err(|e| e.to_string())
    }

    /// On Linux the notification carries a default action, and a thread waits for it (at most
    /// [`CLICK_WAITERS`] at once; past that, notifications are shown without one). Elsewhere a
    /// click is left to the platform.
    fn show_clickable(&self, title: &str, body: &str, critical: bool, on_click: OnClick) -> Result<(), String> {
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        {
            let _ = on_click;
            self.show(title, body, critical)
        }
        #[cfg(all(unix, not(target_os = "macos")))]
        {
            if WAITING.fetch_add(1, Ordering::SeqCst) >= CLICK_WAITERS {
                WAITING.fetch_sub(1, Ordering::SeqCst);
                return self.show(title, body, critical);
            }
            let mut n = Self::notification(title, body, critical);
            n.action("default", "Open");
            let handle = match n.show() {
                Ok(h) => h,
                Err(e) => {
                    WAITING.fetch_sub(1, Ordering::SeqCst);
                    return Err(e.to_string());
                }
            };
            let waiter = std::thread::Builder::new().name("notification-click".into()).spawn(move || {
                handle.wait_for_action(|action| {
                    if action == "default" {
                        on_click();
                    }
                });
                WAITING.fetch_sub(1, Ordering::SeqCst);
            });
            if let Err(e) = waiter {
                WAITING.fetch_sub(1, Ordering::SeqCst);
                tracing::debug!("cannot wait for a click on the notification: {e}");
            }
            Ok(())
        }
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
