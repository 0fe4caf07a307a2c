//! Forwards alerts to a Prometheus Alertmanager (API v2: `POST {url}/api/v2/alerts`), so several
//! machines can share one place that groups, routes and silences. Owns the `[alertmanager]`
//! config section and its background task.
//!
//! The engine never waits for it: alert changes reach the task over the event broadcast and go
//! into a bounded queue (oldest dropped, with a warning, when full); delivery is retried with
//! exponential backoff. Open alerts are sent again every `resend_secs` with an `endsAt` a few
//! periods ahead, as Alertmanager expects from a live source; resolved ones once with theirs.

use crate::alerts::{Alert, AlertStatus};
use crate::error::ConfigIssue;
use crate::events::Event;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields, default)]
pub struct AlertmanagerConfig {
    pub enabled: bool,
    /// The Alertmanager's base URL; alerts go to `{url}/api/v2/alerts`.
    pub url: String,
    /// How often open alerts are sent again, in seconds.
    pub resend_secs: u64,
    /// Alerts waiting for delivery at most; the oldest is dropped beyond this.
    pub queue_size: u32,
    /// The `instance` label; empty means this machine's host name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub instance: String,
}

impl Default for AlertmanagerConfig {
    fn default() -> Self {
        AlertmanagerConfig {
            enabled: false,
            url: "http://127.0.0.1:9093".into(),
            resend_secs: 60,
            queue_size: 1000,
            instance: String::new(),
        }
    }
}

impl AlertmanagerConfig {
    pub(crate) fn validate(&self, at: &str, out: &mut Vec<ConfigIssue>) {
        let mut bad = |field: &str, message: String| out.push(ConfigIssue { path: format!("{at}.{field}"), message, location: None });
        match reqwest::Url::parse(&self.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
            _ => bad("url", format!("must be an http:// or https:// URL with a host (got {:?})", self.url)),
        }
        if !(1..=3600).contains(&self.resend_secs) {
            bad("resend_secs", format!("must be between 1 and 3600 (got {})", self.resend_secs));
        }
        if !(1..=100_000).contains(&self.queue_size) {
            bad("queue_size", format!("must be between 1 and 100000 (got {})", self.queue_size));
        }
    }

    fn endpoint(&self) -> String {
        format!("{}/api/v2/alerts", self.url.trim_end_matches('/'))
    }
}

/// One alert in Alertmanager's API v2 shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Postable {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    #[serde(rename = "endsAt")]
    pub ends_at: String,
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)).unwrap_or_default()
}

/// The alert as Alertmanager takes it. Open alerts end `4 x resend` from now unless sent again.
pub fn postable(a: &Alert, instance: &str, resend_ms: i64, now_ms: i64) -> Postable {
    let labels = BTreeMap::from([
        ("alertname".to_string(), a.alert_type.clone()),
        ("severity".to_string(), a.severity.as_str().to_string()),
        ("instance".to_string(), instance.to_string()),
        ("subject".to_string(), a.subject.clone()),
        ("rule".to_string(), a.rule.clone()),
        ("source".to_string(), "caretaker".to_string()),
    ]);
    let annotations = BTreeMap::from([
        ("summary".to_string(), a.title.clone()),
        ("description".to_string(), a.message.clone()),
        ("status".to_string(), a.status.as_str().to_string()),
        ("details".to_string(), a.details.to_string()),
    ]);
    let ends = match (a.status, a.resolved_at) {
        (AlertStatus::Resolved, Some(t)) => t,
        _ => now_ms + 4 * resend_ms,
    };
    Postable {
        labels,
        annotations,
        starts_at: rfc3339(a.created_at),
        ends_at: rfc3339(ends),
        generator_url: format!("caretaker://{instance}/alerts/{}", a.id),
    }
}

/// Alerts waiting for delivery: one entry per alert (a newer state replaces a queued one), at
/// most `cap`, the oldest dropped first.
#[derive(Debug)]
pub struct Queue {
    items: VecDeque<(i64, Postable)>,
    cap: usize,
    pub dropped: u64,
}

impl Queue {
    pub fn new(cap: usize) -> Self {
        Queue { items: VecDeque::new(), cap: cap.max(1), dropped: 0 }
    }

    /// Queues `p` for alert `id`; returns true when the oldest entry had to go.
    pub fn push(&mut self, id: i64, p: Postable) -> bool {
        if let Some(slot) = self.items.iter_mut().find(|(i, _)| *i == id) {
            slot.1 = p;
            return false;
        }
        let full = self.items.len() >= self.cap;
        if full {
            self.items.pop_front();
            self.dropped += 1;
        }
        self.items.push_back((id, p));
        full
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The oldest `n`, oldest first, without removing them.
    pub fn front(&self, n: usize) -> Vec<(i64, Postable)> {
        self.items.iter().take(n).cloned().collect()
    }

    /// Removes delivered entries, unless a newer state of the same alert replaced one meanwhile.
    pub fn delivered(&mut self, sent: &[(i64, Postable)]) {
        self.items.retain(|item| !sent.contains(item));
    }

    pub fn ids(&self) -> Vec<i64> {
        self.items.iter().map(|(i, _)| *i).collect()
    }
}

/// The pause after `failures` failed deliveries in a row: 0.5 s doubling, at most a minute.
pub fn backoff(failures: u32) -> Duration {
    let ms = 500u64.saturating_mul(1u64 << failures.saturating_sub(1).min(20));
    Duration::from_millis(ms.min(60_000))
}

/// What the forwarder needs from the engine.
/// The URL as it may be logged: basic-auth credentials and the query (which may hold a token)
/// are replaced.
pub(crate) fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            if !u.username().is_empty() || u.password().is_some() {
                let _ = u.set_username("redacted");
                let _ = u.set_password(None);
            }
            if u.query().is_some() {
                u.set_query(Some("redacted"));
            }
            u.to_string()
        }
        Err(_) => "(an unparsable URL)".into(),
    }
}

pub(crate) struct Source {
    pub events: broadcast::Receiver<Event>,
    /// The alerts open right now.
    pub open: Arc<dyn Fn() -> Vec<Alert> + Send + Sync>,
    pub clock: Arc<dyn crate::Clock>,
    pub cancel: CancellationToken,
}

const BATCH: usize = 64;

pub(crate) async fn run(cfg: AlertmanagerConfig, instance: String, mut src: Source) {
    let client = match crate::net::http_client().no_proxy().timeout(Duration::from_secs(10)).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("alert forwarding is off: cannot build an HTTP client: {e}");
            return;
        }
    };
    let url = cfg.endpoint();
    let resend = Duration::from_secs(cfg.resend_secs);
    let resend_ms = cfg.resend_secs as i64 * 1000;
    let mut queue = Queue::new(cfg.queue_size as usize);
    let mut failures = 0u32;
    let mut next_try = tokio::time::Instant::now();
    let mut resend_tick = tokio::time::interval(resend);
    resend_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let shown = redact_url(&url);
    tracing::info!(url = %shown, "forwarding alerts to Alertmanager");
    loop {
        let push = |queue: &mut Queue, a: &Alert, now: i64| {
            if queue.push(a.id, postable(a, &instance, resend_ms, now)) {
                tracing::warn!(dropped = queue.dropped, "the Alertmanager queue is full; dropped the oldest alert waiting for delivery");
            }
        };
        tokio::select! {
            _ = src.cancel.cancelled() => break,
            ev = src.events.recv() => match ev {
                Ok(Event::AlertChanged { alert }) => push(&mut queue, &alert, src.clock.now_ms()),
                Ok(_) => {}
                // Missed some changes: the open set is the truth; resolved ones missed here
                // expire at their endsAt.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let now = src.clock.now_ms();
                    for a in (src.open)() {
                        push(&mut queue, &a, now);
                    }
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            // The first tick is immediate: what is open at start is sent at once.
            _ = resend_tick.tick() => {
                let now = src.clock.now_ms();
                for a in (src.open)() {
                    push(&mut queue, &a, now);
                }
            }
            _ = tokio::time::sleep_until(next_try), if !queue.is_empty() => {
                let batch = queue.front(BATCH);
                let body: Vec<&Postable> = batch.iter().map(|(_, p)| p).collect();
                let sent = tokio::select! {
                    _ = src.cancel.cancelled() => break,
                    r = client.post(&url).json(&body).send() => r,
                };
                // reqwest's errors carry the URL, credentials included.
                match sent.map_err(|e| e.without_url().to_string()).and_then(|r| if r.status().is_success() { Ok(()) } else { Err(format!("HTTP {}", r.status())) }) {
                    Ok(()) => {
                        if failures > 0 {
                            tracing::info!(after_failures = failures, "Alertmanager reachable again; alerts delivered");
                        }
                        failures = 0;
                        queue.delivered(&batch);
                        next_try = tokio::time::Instant::now();
                    }
                    Err(e) => {
                        failures = failures.saturating_add(1);
                        // Said once per outage, not once per retry.
                        if failures == 1 {
                            tracing::warn!(url = %shown, "could not deliver alerts to Alertmanager ({e}); retrying with backoff");
                        }
                        next_try = tokio::time::Instant::now() + backoff(failures);
                    }
                }
            }
        }
    }
}

pub mod test_alert;

#[cfg(test)]
mod log_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::Severity;

    fn alert(id: i64, status: AlertStatus) -> Alert {
        Alert {
            id,
            rule: "check".into(),
            subject: "Web".into(),
            alert_type: "service_down".into(),
            severity: Severity::Critical,
            status,
            title: "Web is down on mini".into(),
            message: "Web is down: refused".into(),
            details: serde_json::json!({ "latency_ms": 3 }),
            created_at: 1_700_000_000_000,
            acknowledged_at: None,
            resolved_at: (status == AlertStatus::Resolved).then_some(1_700_000_600_000),
            snoozed_until: None,
            last_notified_at: None,
            flap_count: 0,
        }
    }

    #[test]
    fn the_wire_shape_is_alertmanagers() {
        let open = serde_json::to_value(postable(&alert(7, AlertStatus::Active), "mini", 60_000, 1_700_000_100_000)).unwrap();
        assert_eq!(open["labels"]["alertname"], "service_down");
        assert_eq!(open["labels"]["severity"], "critical");
        assert_eq!(open["labels"]["instance"], "mini");
        assert_eq!(open["labels"]["subject"], "Web");
        assert_eq!(open["annotations"]["summary"], "Web is down on mini");
        assert_eq!(open["startsAt"], "2023-11-14T22:13:20.000Z");
        assert_eq!(open["endsAt"], "2023-11-14T22:19:00.000Z", "four resend periods ahead");
        assert_eq!(open["generatorURL"], "caretaker://mini/alerts/7");
        let resolved = serde_json::to_value(postable(&alert(7, AlertStatus::Resolved), "mini", 60_000, 1_700_009_999_000)).unwrap();
        assert_eq!(resolved["endsAt"], "2023-11-14T22:23:20.000Z", "its own end");
    }

    #[test]
    fn a_full_queue_drops_the_oldest_and_a_newer_state_replaces_a_queued_one() {
        let mut q = Queue::new(3);
        for id in 1..=3 {
            assert!(!q.push(id, postable(&alert(id, AlertStatus::Active), "m", 1000, 0)));
        }
        assert!(!q.push(2, postable(&alert(2, AlertStatus::Resolved), "m", 1000, 0)), "replaced, nothing dropped");
        assert_eq!(q.ids(), vec![1, 2, 3]);
        assert!(q.push(4, postable(&alert(4, AlertStatus::Active), "m", 1000, 0)));
        assert_eq!(q.ids(), vec![2, 3, 4]);
        assert_eq!(q.dropped, 1);
        assert!(q.front(3)[0].1.labels.contains_key("alertname"));
        assert_eq!(q.front(3)[0].1.ends_at, "2023-11-14T22:23:20.000Z", "alert 2 now carries its resolved state");
    }

    #[test]
    fn delivered_keeps_what_changed_while_in_flight() {
        let mut q = Queue::new(10);
        q.push(1, postable(&alert(1, AlertStatus::Active), "m", 1000, 0));
        q.push(2, postable(&alert(2, AlertStatus::Active), "m", 1000, 0));
        let batch = q.front(10);
        q.push(2, postable(&alert(2, AlertStatus::Resolved), "m", 1000, 0));
        q.delivered(&batch);
        assert_eq!(q.ids(), vec![2]);
    }

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        let got: Vec<u64> = [1, 2, 3, 4, 8, 30, 1000].iter().map(|f| backoff(*f).as_millis() as u64).collect();
        assert_eq!(got, vec![500, 1000, 2000, 4000, 60_000, 60_000, 60_000]);
    }

    #[test]
    fn config_errors_name_the_field() {
        let c = AlertmanagerConfig { url: "ftp://x".into(), resend_secs: 0, ..Default::default() };
        let mut issues = Vec::new();
        c.validate("alertmanager", &mut issues);
        let text: Vec<String> = issues.iter().map(|i| i.to_string()).collect();
        assert_eq!(
            text,
            vec![
                "alertmanager.url: must be an http:// or https:// URL with a host (got \"ftp://x\")",
                "alertmanager.resend_secs: must be between 1 and 3600 (got 0)",
            ]
        );
        assert_eq!(AlertmanagerConfig::default().endpoint(), "http://127.0.0.1:9093/api/v2/alerts");
    }
}
