//! Notification channels: alerts delivered to mail, ntfy, Pushover, Telegram and webhooks
//! through a delivery outbox in SQLite (one row per transition and channel, written before
//! anything is sent; one sender task per channel with retries), and the heartbeat that tells an
//! outside service this machine is alive. This machine's own notifications are one more channel,
//! built in ("This computer", switched with `notifications.enabled`). Owns
//! `[[notifications.channels]]`, `[notifications.heartbeat]` and the `channel_outbox` /
//! `channel_status` tables.

pub mod config;
pub mod desktop;
pub mod digest;
pub(crate) mod heartbeat;
pub mod message;
pub(crate) mod outbox;
pub mod payload;
mod schedule;
pub mod secret;
pub mod send;
pub(crate) mod service;
mod settings;

pub use config::{ChannelConfig, ChannelKind, EmailSecurity, HeartbeatConfig, WebhookPreset};
pub use message::{Message, Transition};

use crate::alerts::Severity;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A channel as the app shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ChannelStatus {
    pub name: String,
    pub kind: ChannelKind,
    pub enabled: bool,
    /// Transitions waiting for delivery.
    pub pending: u32,
    pub last_success_at: Option<i64>,
    pub last_failure_at: Option<i64>,
    /// The server's answer to the last failed delivery (secrets blanked out).
    pub last_error: Option<String>,
    /// Required secrets that are not stored yet.
    pub missing_secrets: Vec<String>,
}

/// One secret given with a channel (`password`, `token`, `user_key`, `app_token`, `bot_token`,
/// `url`); an empty value forgets it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ChannelSecret {
    pub key: String,
    pub value: String,
}

/// How "Send a test" ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ChannelTestOutcome {
    pub delivered: bool,
    /// The server's answer when it failed.
    pub error: Option<String>,
}

/// Whether `channel` wants `m`, at `minute_of_day` local time: switched on, severe enough,
/// recoveries if it takes them, and warnings outside its quiet hours.
pub fn wants(c: &ChannelConfig, m: &Message, minute_of_day: u32) -> bool {
    if !c.enabled || m.severity < c.min_severity || (m.recovery() && !c.recoveries) {
        return false;
    }
    let quiet = c.quiet_hours.as_ref().is_some_and(|q| q.contains(minute_of_day));
    !(quiet && m.severity == Severity::Warning)
}

/// The pause after `failures` failed deliveries in a row: `base` doubling, at most a day.
pub fn backoff(base: std::time::Duration, failures: u32) -> std::time::Duration {
    let factor = 1u32 << failures.saturating_sub(1).min(24);
    base.saturating_mul(factor).min(std::time::Duration::from_secs(86_400))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::config::QuietHours;
    use std::time::Duration;

    #[test]
    fn a_channel_takes_what_it_asked_for() {
        let mut c = ChannelConfig::new("p", ChannelKind::Ntfy);
        let mut m = Message::test("p", "mini", 0);
        m.transition = Transition::Opened;
        assert!(wants(&c, &m, 0));
        c.min_severity = Severity::Critical;
        assert!(!wants(&c, &m, 0), "a warning below the channel's minimum");
        m.severity = Severity::Critical;
        assert!(wants(&c, &m, 0));
        m.transition = Transition::Resolved;
        c.recoveries = false;
        assert!(!wants(&c, &m, 0));
        c.recoveries = true;
        c.min_severity = Severity::Warning;
        c.quiet_hours = Some(QuietHours { start: "22:00".into(), end: "07:00".into() });
        assert!(wants(&c, &m, 23 * 60), "critical goes through quiet hours");
        m.severity = Severity::Warning;
        assert!(!wants(&c, &m, 23 * 60));
        assert!(wants(&c, &m, 12 * 60));
        c.enabled = false;
        assert!(!wants(&c, &m, 12 * 60));
    }

    #[test]
    fn backoff_doubles_up_to_a_day() {
        let b = Duration::from_secs(5);
        assert_eq!(backoff(b, 1), Duration::from_secs(5));
        assert_eq!(backoff(b, 3), Duration::from_secs(20));
        assert_eq!(backoff(b, 40), Duration::from_secs(86_400));
    }
}
