//! What a channel is asked to say: one alert transition, as stored in the outbox, and a burst of
//! them folded into one message the way native notifications fold them.

use crate::alerts::{notify, Alert, Notice, Severity};
use serde::{Deserialize, Serialize};

crate::sql_enum! {
    pub enum Transition {
        Opened = "opened",
        Escalated = "escalated",
        Renotified = "renotified",
        Resolved = "resolved",
        /// "Send a test" from the app or the CLI.
        Test = "test",
        /// The daily digest.
        Digest = "digest",
    }
}

/// One transition of one alert, with everything a provider's payload needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub transition: Transition,
    pub alert_id: i64,
    pub rule: String,
    pub subject: String,
    pub severity: Severity,
    /// The alert's status after the transition: active, acknowledged or resolved.
    pub status: String,
    pub title: String,
    pub body: String,
    /// When the alert opened and resolved, ms since the epoch.
    pub started: i64,
    pub resolved: Option<i64>,
    pub host: String,
}

impl Message {
    /// The transition a notice stands for. `alert` is the alert it is about when known;
    /// `changed` says the alert changed in the same step (opened or escalated, not a repeat);
    /// `first` that this is the first notice of the alert (it was notified when it opened).
    pub fn from_notice(n: &Notice, alert: Option<&Alert>, changed: bool, first: bool, host: &str, now: i64) -> Message {
        let transition = match alert {
            _ if n.recovery => Transition::Resolved,
            Some(_) if changed && first => Transition::Opened,
            Some(_) if changed => Transition::Escalated,
            None => Transition::Opened,
            Some(_) => Transition::Renotified,
        };
        Message {
            transition,
            alert_id: n.alert_id,
            rule: alert.map(|a| a.rule.clone()).unwrap_or_default(),
            subject: alert.map(|a| a.subject.clone()).unwrap_or_default(),
            severity: n.severity,
            status: alert.map_or(if n.recovery { "resolved" } else { "active" }, |a| a.status.as_str()).to_string(),
            title: n.title.clone(),
            body: n.body.clone(),
            started: alert.map_or(now, |a| a.created_at),
            resolved: alert.and_then(|a| a.resolved_at).or(n.recovery.then_some(now)),
            host: host.to_string(),
        }
    }

    /// The message "Send a test" delivers.
    pub fn test(channel: &str, host: &str, now: i64) -> Message {
        Message {
            transition: Transition::Test,
            alert_id: 0,
            rule: "test".into(),
            subject: channel.into(),
            severity: Severity::Warning,
            status: "test".into(),
            title: format!("Test message from Caretaker on {host}"),
            body: format!("If you can read this, alerts from {host} reach you through the channel {channel:?}."),
            started: now,
            resolved: None,
            host: host.to_string(),
        }
    }

    /// Good news, sent at the quiet priority: a recovery, or a digest with nothing open.
    pub fn recovery(&self) -> bool {
        self.transition == Transition::Resolved || (self.transition == Transition::Digest && self.status == "ok")
    }

    fn notice(&self) -> Notice {
        Notice {
            title: self.title.clone(),
            body: self.body.clone(),
            severity: self.severity,
            alert_id: self.alert_id,
            recovery: self.recovery(),
        }
    }
}

/// A burst folded into one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub title: String,
    pub body: String,
    pub critical: bool,
    /// Every message in it is a recovery.
    pub recovery: bool,
    pub host: String,
    /// The messages it folds, oldest first.
    pub parts: Vec<Message>,
}

pub fn fold(parts: Vec<Message>) -> Option<Outgoing> {
    let host = parts.first()?.host.clone();
    let notices: Vec<Notice> = parts.iter().map(Message::notice).collect();
    let (title, body, critical) = notify::group(&notices, &host)?;
    let recovery = parts.iter().all(Message::recovery);
    Some(Outgoing { title, body, critical, recovery, host, parts })
}

/// Milliseconds since the epoch as `2023-11-14 22:13 UTC`.
pub fn utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(|| ms.to_string(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
}

/// Milliseconds since the epoch as RFC 3339.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::AlertStatus;

    fn alert(created: i64) -> Alert {
        Alert {
            id: 3,
            rule: "check".into(),
            subject: "Web".into(),
            alert_type: "service_down".into(),
            severity: Severity::Critical,
            status: AlertStatus::Active,
            title: "Web is down".into(),
            message: "refused".into(),
            details: serde_json::Value::Null,
            created_at: created,
            acknowledged_at: None,
            resolved_at: None,
            snoozed_until: None,
            last_notified_at: None,
            flap_count: 0,
        }
    }

    #[test]
    fn the_transition_follows_the_notice_and_the_alert() {
        let n = Notice { title: "Web is down".into(), body: "refused".into(), severity: Severity::Critical, alert_id: 3, recovery: false };
        assert_eq!(Message::from_notice(&n, Some(&alert(5)), true, true, "mini", 5).transition, Transition::Opened);
        assert_eq!(Message::from_notice(&n, Some(&alert(1)), true, false, "mini", 5).transition, Transition::Escalated);
        assert_eq!(Message::from_notice(&n, Some(&alert(1)), false, false, "mini", 5).transition, Transition::Renotified);
        let r = Notice { recovery: true, ..n };
        let m = Message::from_notice(&r, Some(&alert(1)), true, false, "mini", 9);
        assert_eq!((m.transition, m.resolved, m.started, m.rule.as_str()), (Transition::Resolved, Some(9), 1, "check"));
    }

    #[test]
    fn a_burst_folds_like_native_notifications() {
        let t = Message::test("phone", "mini", 0);
        let one = fold(vec![t.clone()]).unwrap();
        assert_eq!((one.title.as_str(), one.critical), ("Test message from Caretaker on mini", false));
        let two = fold(vec![t.clone(), t]).unwrap();
        assert_eq!(two.title, "2 alerts on mini");
        assert!(fold(Vec::new()).is_none());
        assert_eq!(utc(1_700_000_000_000), "2023-11-14 22:13 UTC");
    }
}
