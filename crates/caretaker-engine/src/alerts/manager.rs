//! The alert manager: the state machine over every open alert (raise, hold, escalate, clear,
//! acknowledge, snooze, repeat, quiet hours, staleness), deduplicated per (rule, subject).

use super::rules::{GrowthWindow, Pending, Window};
use super::store;
use super::{Alert, AlertStatus, Effects, Notice, Severity};
use crate::config::AlertsConfig;
use crate::error::Result;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

#[path = "commands.rs"]
mod commands;
#[path = "flaps.rs"]
mod flaps;
#[path = "inputs.rs"]
mod inputs;
#[path = "memory.rs"]
mod memory;
#[path = "raise.rs"]
mod raise;

/// What a rule wants for one subject right now.
struct Signal {
    rule: &'static str,
    subject: String,
    level: Option<Severity>,
    alert_type: String,
    title: String,
    message: String,
    details: Value,
    for_ms: i64,
}

#[derive(Clone)]
pub struct AlertManager {
    config: AlertsConfig,
    metrics_interval_ms: i64,
    hostname: String,
    open: HashMap<(String, String), Alert>,
    pending: Pending,
    /// Recent CPU samples, for a CPU rule judged on its average.
    cpu_window: Window,
    /// Swap in use, for the swap growth rule.
    swap_window: GrowthWindow,
    check_streak: HashMap<String, u32>,
    /// Checks whose alerts may not go above a severity (`max_severity`).
    check_caps: HashMap<String, Severity>,
    /// The highest severity each open alert (by id) was announced at, so an escalation the
    /// person has not heard of yet gets through an acknowledgement or a snooze exactly once.
    told: HashMap<i64, Severity>,
    /// Alerts resolved within `flap_window_minutes`, by (rule, subject): a return re-opens them.
    recent: HashMap<(String, String), Alert>,
    /// Source -> (last data at, its interval) for staleness.
    last_seen: HashMap<String, (i64, i64)>,
    paused_until: Option<i64>,
    /// When the machine last woke (or the wall clock jumped): silence is counted from then.
    resumed_at: i64,
    /// Minutes after local midnight, for quiet hours; injected so tests can choose the hour.
    local_minute: Arc<dyn Fn(i64) -> u32 + Send + Sync>,
    /// Ids are handed out here, so an alert exists even when its row cannot be written.
    next_id: i64,
    /// Rows whose last write failed; written again before the next change.
    unsaved: BTreeMap<i64, Alert>,
    /// What the writes since the last look said: any success, and the last failure.
    pub(super) wrote_ok: bool,
    pub(super) write_error: Option<String>,
}

fn local_minute_of_day(ms: i64) -> u32 {
    use chrono::{Local, TimeZone, Timelike};
    Local.timestamp_millis_opt(ms).single().map_or(0, |t| t.hour() * 60 + t.minute())
}

fn pct(v: f64) -> String {
    format!("{v:.0} %")
}

impl AlertManager {
    /// Loads open alerts, so a restart neither duplicates nor re-notifies them.
    pub fn load(
        conn: &rusqlite::Connection,
        config: AlertsConfig,
        metrics_interval_secs: u64,
        hostname: String,
        now_ms: i64,
    ) -> Result<Self> {
        let open = store::open_alerts(conn)?.into_iter().map(|a| ((a.rule.clone(), a.subject.clone()), a)).collect();
        let paused_until =
            crate::store::kv_get(conn, "notifications.paused_until")?.and_then(|(v, _)| v.parse().ok()).filter(|t| *t > now_ms);
        let mut m = AlertManager {
            config,
            metrics_interval_ms: metrics_interval_secs as i64 * 1000,
            hostname,
            open,
            pending: Pending::default(),
            cpu_window: Window::default(),
            swap_window: GrowthWindow::default(),
            check_streak: HashMap::new(),
            check_caps: HashMap::new(),
            told: HashMap::new(),
            recent: HashMap::new(),
            last_seen: HashMap::new(),
            paused_until,
            resumed_at: i64::MIN,
            local_minute: Arc::new(local_minute_of_day),
            next_id: store::next_id(conn)?,
            unsaved: BTreeMap::new(),
            wrote_ok: false,
            write_error: None,
        };
        m.last_seen.insert("sampler".into(), (now_ms, m.metrics_interval_ms));
        Ok(m)
    }

    /// Takes a changed configuration (a hand edit of the file): the lines, hold times, quiet
    /// hours and the sampling interval staleness is judged by. Open alerts stay as they are and
    /// are judged by the new lines from the next reading.
    pub fn reconfigure(&mut self, config: AlertsConfig, metrics_interval_secs: u64) {
        self.config = config;
        self.metrics_interval_ms = metrics_interval_secs as i64 * 1000;
        if let Some(seen) = self.last_seen.get_mut("sampler") {
            seen.1 = self.metrics_interval_ms;
        }
    }

    pub fn set_local_minute(&mut self, f: impl Fn(i64) -> u32 + Send + Sync + 'static) {
        self.local_minute = Arc::new(f);
    }

    /// Writes an alert's row for a command of the person's, which fails as a whole when it can't.
    fn save(&mut self, conn: &rusqlite::Connection, a: &Alert) -> Result<()> {
        store::upsert(conn, a)?;
        self.unsaved.remove(&a.id);
        self.wrote_ok = true;
        Ok(())
    }

    /// Writes an alert's row. A failed write does not stop the transition: the alert lives on in
    /// memory, its notice still goes out, and the row is written again with the next change.
    fn persist(&mut self, conn: &rusqlite::Connection, a: &Alert) {
        self.unsaved.insert(a.id, a.clone());
        while let Some((&id, row)) = self.unsaved.first_key_value() {
            match store::upsert(conn, row) {
                Ok(()) => {
                    self.unsaved.remove(&id);
                    self.wrote_ok = true;
                }
                Err(e) => {
                    self.write_error = Some(e.to_string());
                    return;
                }
            }
        }
    }

    /// Writes every row whose last write failed; true when none is left unwritten. Called at
    /// shutdown so an alert raised while the disk was full is not lost once there is room.
    pub fn flush_unsaved(&mut self, conn: &rusqlite::Connection) -> bool {
        while let Some((&id, row)) = self.unsaved.first_key_value() {
            if store::upsert(conn, row).is_err() {
                return false;
            }
            self.unsaved.remove(&id);
        }
        true
    }

    pub fn open_alerts(&self) -> Vec<Alert> {
        let mut v: Vec<Alert> = self.open.values().cloned().collect();
        v.sort_by(|a, b| b.severity.cmp(&a.severity).then(b.created_at.cmp(&a.created_at)));
        v
    }

    pub fn paused_until(&self) -> Option<i64> {
        self.paused_until
    }

    /// The machine slept until `now_ms` (or the wall clock jumped): no source could send data
    /// meanwhile, so each gets its full allowance of intervals from now before it is stale.
    pub fn resumed(&mut self, now_ms: i64) {
        self.resumed_at = now_ms;
    }

    /// Registers a check so it can go stale even before its first result.
    pub fn watch_check(&mut self, name: &str, interval_secs: u64, now_ms: i64) {
        self.last_seen.entry(format!("check:{name}")).or_insert((now_ms, interval_secs as i64 * 1000));
    }

    /// The most an alert of check `name` may be; None lifts the cap.
    pub fn cap_check(&mut self, name: &str, max: Option<Severity>) {
        match max {
            Some(s) => self.check_caps.insert(name.to_string(), s),
            None => self.check_caps.remove(name),
        };
    }

    /// Stops watching checks not in `keep` (deleted or disabled) and closes their open alerts
    /// (quietly: nothing recovered).
    pub fn forget_checks_except(&mut self, conn: &rusqlite::Connection, keep: &[String], now_ms: i64) -> Result<Vec<Alert>> {
        self.last_seen.retain(|k, _| !k.starts_with("check:") || keep.iter().any(|n| k == &format!("check:{n}")));
        self.check_streak.retain(|k, _| keep.contains(k));
        let gone: Vec<(String, String)> = self
            .open
            .keys()
            .filter(|(rule, subject)| {
                (rule == "check" && !keep.contains(subject))
                    || (rule == "stale" && subject.strip_prefix("check:").is_some_and(|n| !keep.iter().any(|k| k == n)))
            })
            .cloned()
            .collect();
        self.close_quietly(conn, gone, now_ms)
    }

    /// Resolves these open alerts without a recovery notice (their subject is gone, not healed).
    fn close_quietly(&mut self, conn: &rusqlite::Connection, keys: Vec<(String, String)>, now_ms: i64) -> Result<Vec<Alert>> {
        let mut closed = Vec::new();
        for key in keys {
            if let Some(mut a) = self.open.remove(&key) {
                self.told.remove(&a.id);
                a.status = AlertStatus::Resolved;
                a.resolved_at = Some(now_ms);
                self.persist(conn, &a);
                closed.push(a);
            }
        }
        Ok(closed)
    }

    fn observe(&mut self, conn: &rusqlite::Connection, sig: Signal, now_ms: i64) -> Result<Effects> {
        let key = (sig.rule.to_string(), sig.subject.clone());
        let mut fx = Effects::default();
        match (sig.level, self.open.get(&key).cloned()) {
            (Some(level), None) => {
                if !self.pending.held(&key, true, now_ms, sig.for_ms) {
                    return Ok(fx);
                }
                self.pending.clear(&key);
                if self.flapping(&key, now_ms) {
                    return self.reopen(conn, key, sig, level, now_ms);
                }
                let mut alert = Alert {
                    id: 0,
                    rule: key.0.clone(),
                    subject: key.1.clone(),
                    alert_type: sig.alert_type,
                    severity: level,
                    status: AlertStatus::Active,
                    title: sig.title,
                    message: sig.message,
                    details: sig.details,
                    created_at: now_ms,
                    acknowledged_at: None,
                    resolved_at: None,
                    snoozed_until: None,
                    last_notified_at: None,
                    flap_count: 0,
                };
                alert.id = self.next_id;
                self.next_id += 1;
                self.persist(conn, &alert);
                let notice = Notice {
                    title: alert.title.clone(),
                    body: alert.message.clone(),
                    severity: level,
                    alert_id: alert.id,
                    recovery: false,
                };
                self.open.insert(key, alert.clone());
                fx.changed.push(alert.clone());
                fx.merge(self.notify(conn, alert, notice, now_ms)?);
            }
            (Some(level), Some(mut alert)) => {
                let escalated = level > alert.severity;
                let changed = level != alert.severity;
                alert.severity = level;
                alert.alert_type = sig.alert_type;
                alert.title = sig.title;
                alert.message = sig.message;
                alert.details = sig.details;
                if changed {
                    self.persist(conn, &alert);
                    fx.changed.push(alert.clone());
                }
                self.open.insert(key, alert.clone());
                // An acknowledged or snoozed warning that turns critical is news the person
                // asked not to miss; it is said once, never again for the same level.
                let unheard = self.told.get(&alert.id).is_none_or(|t| level > *t);
                if escalated && unheard {
                    let notice = Notice {
                        title: alert.title.clone(),
                        body: alert.message.clone(),
                        severity: level,
                        alert_id: alert.id,
                        recovery: false,
                    };
                    fx.merge(self.deliver(conn, alert, notice, now_ms, true)?);
                }
            }
            (None, Some(mut alert)) => {
                self.pending.clear(&key);
                alert.status = AlertStatus::Resolved;
                alert.resolved_at = Some(now_ms);
                self.persist(conn, &alert);
                self.open.remove(&key);
                self.remember_resolved(&alert);
                fx.changed.push(alert.clone());
                if alert.flap_count > 0 {
                    // A flapping incident's recoveries are as frequent as its returns.
                    return Ok(fx);
                }
                let minutes = (now_ms - alert.created_at) / 60_000;
                let notice = Notice {
                    title: format!("Recovered: {}", recovered_title(&alert)),
                    body: format!("{} (alert lasted {} min).", recovered_body(&alert), minutes),
                    severity: alert.severity,
                    alert_id: alert.id,
                    recovery: true,
                };
                fx.merge(self.notify(conn, alert, notice, now_ms)?);
            }
            (None, None) => self.pending.clear(&key),
        }
        Ok(fx)
    }

    /// Decides whether a notice reaches the person, and records that it did.
    fn notify(&mut self, conn: &rusqlite::Connection, alert: Alert, notice: Notice, now_ms: i64) -> Result<Effects> {
        self.deliver(conn, alert, notice, now_ms, false)
    }

    /// As [`Self::notify`]; an `escalation` gets past an acknowledgement or a snooze (not past a
    /// pause of every notification, nor quiet hours for a warning).
    fn deliver(&mut self, conn: &rusqlite::Connection, mut alert: Alert, notice: Notice, now_ms: i64, escalation: bool) -> Result<Effects> {
        let mut fx = Effects::default();
        let paused = self.paused_until.is_some_and(|t| t > now_ms);
        let snoozed = alert.snoozed_until.is_some_and(|t| t > now_ms) && !notice.recovery && !escalation;
        let acknowledged = alert.status == AlertStatus::Acknowledged && !notice.recovery && !escalation;
        let quiet = notice.severity == Severity::Warning
            && self.config.quiet_hours.as_ref().is_some_and(|q| q.contains((self.local_minute)(now_ms)));
        if paused || snoozed || acknowledged || quiet {
            return Ok(fx);
        }
        if !notice.recovery {
            let told = self.told.entry(alert.id).or_insert(notice.severity);
            *told = (*told).max(notice.severity);
            alert.last_notified_at = Some(now_ms);
            self.persist(conn, &alert);
            let key = (alert.rule.clone(), alert.subject.clone());
            if let Some(open) = self.open.get_mut(&key) {
                open.last_notified_at = Some(now_ms);
            }
        }
        fx.notices.push(notice);
        Ok(fx)
    }
}

fn recovered_title(a: &Alert) -> String {
    match a.rule.as_str() {
        "check" => format!("{} is healthy again", a.subject),
        "stale" => format!("data is coming in again ({})", a.subject.trim_start_matches("check:")),
        "detector" => format!("{} is back to normal", a.subject),
        "unusual" => format!("{} is back to usual", a.subject),
        super::degraded::RULE => "Caretaker can write its database again".to_string(),
        super::degraded::DISK_RULE => "The disk that holds Caretaker's data has room again".to_string(),
        "db_integrity" => "Caretaker's database passed its integrity check".to_string(),
        "maintenance" => format!("{} works again", a.details["task_name"].as_str().unwrap_or(&a.subject)),
        "cpu" => "CPU is back to normal".to_string(),
        "memory" if a.subject == "swap" => "Swap has stopped growing".to_string(),
        "memory" => "Memory is back to normal".to_string(),
        _ => format!("{} is back to normal", a.title.split(" at ").next().unwrap_or(&a.subject)),
    }
}

fn recovered_body(a: &Alert) -> String {
    format!("Was {}: {}", a.severity.as_str(), a.message)
}
