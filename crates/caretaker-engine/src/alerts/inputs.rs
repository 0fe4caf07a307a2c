//! What feeds the alert manager: host samples against their thresholds, check results against
//! their failure streaks, and the tick that judges silence (a sampler or a check gone quiet).

use super::{pct, AlertManager, Signal};
use crate::alerts::rules::threshold_level;
use crate::alerts::{AlertStatus, Effects, Notice, Severity};
use crate::checks::{CheckResult, CheckStatus};
use crate::config::ThresholdRule;
use crate::error::Result;
use crate::metrics::forecast::{self, DiskForecast};
use crate::metrics::HostSample;
use serde_json::json;

/// "5 minutes", "1 minute", "90 s".
fn span_words(secs: u64) -> String {
    match secs {
        60 => "1 minute".into(),
        s if s % 60 == 0 => format!("{} minutes", s / 60),
        s => format!("{s} s"),
    }
}

impl AlertManager {
    pub(super) fn threshold_signal(
        &self,
        rule_name: &'static str,
        rule: &ThresholdRule,
        subject: String,
        label: &str,
        value: f64,
    ) -> Signal {
        let current = self.open.get(&(rule_name.to_string(), subject.clone())).map(|a| a.severity);
        let level = if rule.enabled { threshold_level(value, rule, current) } else { None };
        let line = match level {
            Some(Severity::Critical) => rule.critical,
            _ => rule.warning,
        };
        let for_ms = rule.for_secs.map_or(2 * self.metrics_interval_ms, |s| s as i64 * 1000);
        Signal {
            rule: rule_name,
            level,
            alert_type: format!("threshold_{rule_name}"),
            title: format!("{label} at {} on {}", pct(value), self.hostname),
            message: format!(
                "{label} is {} (the {} line is {}; it clears below {}).",
                pct(value),
                level.map_or("warning", |l| l.as_str()),
                pct(line),
                pct(rule.warning - rule.clear_margin)
            ),
            details: json!({ "value": value, "warning": rule.warning, "critical": rule.critical, "clear_below": rule.warning - rule.clear_margin, "for_secs": for_ms / 1000 }),
            for_ms,
            subject,
        }
    }

    /// The CPU rule judged on the average of its window; None while the window is refilling
    /// (after a start or a sleep), when the open alert, if any, stays as it is.
    fn averaged_cpu_signal(&mut self, value: f64, average_secs: u64, now_ms: i64) -> Option<Signal> {
        let window_ms = average_secs as i64 * 1000;
        self.cpu_window.push(now_ms, value, window_ms);
        let average = self.cpu_window.average(now_ms, window_ms)?;
        let rule = self.config.cpu.clone();
        let mut sig = self.threshold_signal("cpu", &rule, "cpu".into(), "CPU", average);
        let span = span_words(average_secs);
        sig.title = format!("CPU averaged {} over {span} on {}", pct(average), self.hostname);
        sig.message = format!("CPU averaged {} over the last {span} (now {}). {}", pct(average), pct(value), sig.message);
        sig.details["average_secs"] = json!(average_secs);
        sig.details["latest"] = json!(value);
        // The average already is the sustained level; only an explicit `for_secs` adds a hold.
        sig.for_ms = rule.for_secs.map_or(0, |s| s as i64 * 1000);
        Some(sig)
    }

    pub fn on_host_sample(&mut self, conn: &rusqlite::Connection, s: &HostSample, now_ms: i64) -> Result<Effects> {
        self.last_seen.insert("sampler".into(), (now_ms, self.metrics_interval_ms));
        let average = self.config.cpu.average_secs.unwrap_or(crate::alerts::config::DEFAULT_CPU_AVERAGE_SECS);
        let cpu = match Some(average).filter(|a| *a > 0) {
            Some(secs) => self.averaged_cpu_signal(s.cpu.total_percent, secs, now_ms),
            None => Some(self.threshold_signal("cpu", &self.config.cpu.clone(), "cpu".into(), "CPU", s.cpu.total_percent)),
        };
        let mut signals: Vec<Signal> = cpu.into_iter().collect();
        signals.push(self.memory_signal(&s.memory));
        let swap = self.swap_growth_signal(&s.memory, now_ms);
        signals.push(swap);
        for d in &s.disks {
            let rule = self.config.disk.clone();
            signals.push(self.threshold_signal(
                "disk",
                &rule,
                format!("disk:{}", d.mount_point),
                &format!("Disk {}", d.mount_point),
                d.used_percent,
            ));
        }
        let mut fx = Effects::default();
        for sig in signals {
            fx.merge(self.observe(conn, sig, now_ms)?);
        }
        Ok(fx)
    }

    /// A disk's trend: a warning when it is full within `disk_full_days` at this pace (critical
    /// within a day); once open, it holds until the forecast says a quarter more than that, so a
    /// forecast wavering around the line does not flap.
    pub fn on_disk_forecast(&mut self, conn: &rusqlite::Connection, f: &DiskForecast, now_ms: i64) -> Result<Effects> {
        let horizon = f64::from(self.config.disk_full_days);
        let subject = format!("disk:{}", f.mount_point);
        let open = self.open.contains_key(&("disk_full".to_string(), subject.clone()));
        let level = match f.days_to_full {
            _ if horizon <= 0.0 => None,
            Some(d) if d < 1.0 => Some(Severity::Critical),
            Some(d) if d < horizon || (open && d < horizon * 1.25) => Some(Severity::Warning),
            _ => None,
        };
        let (days, growth) = (f.days_to_full.unwrap_or(f64::INFINITY), f.growth_bytes_per_day.unwrap_or(0.0));
        let left = f.total_bytes.saturating_sub(f.used_bytes) as f64;
        self.observe(
            conn,
            Signal {
                rule: "disk_full",
                subject,
                level,
                alert_type: "disk_filling".into(),
                title: format!("Disk {} full {} on {}", f.mount_point, forecast::in_words(days), self.hostname),
                message: format!(
                    "Disk {} grows {} a day (the trend of the last {} hours); {} left.",
                    f.mount_point,
                    forecast::bytes(growth),
                    f.hours,
                    forecast::bytes(left)
                ),
                details: json!({ "days_to_full": f.days_to_full, "growth_bytes_per_day": f.growth_bytes_per_day, "hours": f.hours }),
                for_ms: 0,
            },
            now_ms,
        )
    }

    pub fn on_check_result(&mut self, conn: &rusqlite::Connection, r: &CheckResult, interval_secs: u64, now_ms: i64) -> Result<Effects> {
        self.last_seen.insert(format!("check:{}", r.service_name), (now_ms, interval_secs as i64 * 1000));
        let streak = self.check_streak.entry(r.service_name.clone()).or_insert(0);
        *streak = if r.status == CheckStatus::Healthy { 0 } else { *streak + 1 };
        let confirmed = *streak >= self.config.check_failures_before_alert;
        let key = ("check".to_string(), r.service_name.clone());
        let is_open = self.open.contains_key(&key);
        let level = match r.status {
            CheckStatus::Healthy => None,
            // Unconfirmed failures do not open an alert, but do not close an open one either.
            _ if !confirmed && !is_open => None,
            CheckStatus::Down => Some(Severity::Critical),
            CheckStatus::Degraded => Some(Severity::Warning),
        };
        let level = level.map(|l| self.check_caps.get(&r.service_name).map_or(l, |cap| l.min(*cap)));
        let what = if r.status == CheckStatus::Down { "down" } else { "degraded" };
        let reason = r.error_message.clone().unwrap_or_default();
        let sig = Signal {
            rule: "check",
            subject: r.service_name.clone(),
            level,
            alert_type: if r.status == CheckStatus::Down { "service_down".into() } else { "service_degraded".into() },
            title: format!("{} is {what} on {}", r.service_name, self.hostname),
            message: format!("{} is {what}: {reason}", r.service_name),
            details: json!({ "status": r.status, "latency_ms": r.latency_ms, "error": r.error_message, "probe": r.probe_details, "failures_in_a_row": *streak }),
            for_ms: 0,
        };
        self.observe(conn, sig, now_ms)
    }

    /// Staleness and repeat notifications; call every few seconds.
    pub fn on_tick(&mut self, conn: &rusqlite::Connection, now_ms: i64) -> Result<Effects> {
        let mut fx = Effects::default();
        let n = i64::from(self.config.stale_after_intervals);
        let sources: Vec<(String, i64, i64)> = self.last_seen.iter().map(|(k, (t, i))| (k.clone(), *t, *i)).collect();
        for (source, last, interval) in sources {
            let silent = now_ms - last.max(self.resumed_at);
            let stale = silent > n * interval;
            let label = source.strip_prefix("check:").map_or("the host sampler".to_string(), |c| format!("check {c}"));
            fx.merge(self.observe(
                conn,
                Signal {
                    rule: "stale",
                    subject: source.clone(),
                    level: stale.then_some(Severity::Warning),
                    alert_type: "stale".into(),
                    title: format!("No data from {label} on {}", self.hostname),
                    message: format!("Nothing from {label} for {} s ({} intervals of {} s).", silent / 1000, n, interval / 1000),
                    details: json!({ "source": source, "last_data_at": last, "interval_secs": interval / 1000 }),
                    for_ms: 0,
                },
                now_ms,
            )?);
        }
        // Unacknowledged critical alerts come back every `repeat_critical_hours`.
        let repeat_ms = self.config.repeat_critical_hours as i64 * 3_600_000;
        if repeat_ms > 0 {
            let due: Vec<(String, String)> = self
                .open
                .iter()
                .filter(|(_, a)| a.status == AlertStatus::Active && a.severity == Severity::Critical)
                .filter(|(_, a)| now_ms - a.last_notified_at.unwrap_or(a.created_at) >= repeat_ms)
                .map(|(k, _)| k.clone())
                .collect();
            for k in due {
                if let Some(a) = self.open.get(&k).cloned() {
                    let notice = Notice {
                        title: format!("Still {}: {}", a.severity.as_str(), a.title),
                        body: a.message.clone(),
                        severity: a.severity,
                        alert_id: a.id,
                        recovery: false,
                    };
                    fx.merge(self.notify(conn, a, notice, now_ms)?);
                }
            }
        }
        self.forget_settled(now_ms);
        if self.paused_until.is_some_and(|t| t <= now_ms) {
            self.paused_until = None;
        }
        Ok(fx)
    }
}
