//! The automatic detector at work. Each host series that says something about this machine's
//! health (CPU, memory, disk and network traffic) has an [`UnusualState`], fed one point per five
//! minutes (the mean of the samples in it: the pace the detector was measured at on NAB), in
//! local time so that "usual for Tuesday 02:00" is the person's Tuesday. At start each state is
//! warmed up from the minute rollups of the last days, so a restart does not start learning
//! again. A finding opens a warning (rule `unusual`, subject: the series) saying what was seen
//! and what is usual; it resolves when the detector closes it.

use super::{Finding, Params, UnusualState};
use crate::alerts::{Effects, Severity};
use crate::core::Core;
use crate::error::Result;
use crate::events::Event;
use crate::metrics::SeriesPoint;
use chrono::{Local, Offset, TimeZone};
use rusqlite::params;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast::error::RecvError;

/// The alert rule (and alert type) of the automatic detector.
pub const RULE: &str = "unusual";
/// One point per this many seconds.
pub const BUCKET_SECS: i64 = 300;
/// At most this many series are watched (a machine with many disks watches the first ones).
const MAX_SERIES: usize = 16;

/// What each watched metric is called in an alert.
fn watched(metric: &str, labels: &str) -> Option<&'static str> {
    let name = match metric {
        "cpu_usage_percent" => "CPU",
        "memory_used_percent" => "Memory in use",
        "network_receive_bytes_per_second" => "Network traffic in",
        "network_transmit_bytes_per_second" => "Network traffic out",
        "disk_read_bytes_per_second" => return Some("Disk reads"),
        "disk_write_bytes_per_second" => return Some("Disk writes"),
        _ => return None,
    };
    // Totals only: one alert for the machine, not one per core or interface.
    labels.is_empty().then_some(name)
}

struct Series {
    state: UnusualState,
    /// The five minutes being filled: their start (s), the sum and count of their samples.
    bucket: i64,
    sum: f64,
    n: u32,
    unit: String,
}

impl Series {
    fn new(unit: &str) -> Self {
        Series { state: UnusualState::new(Params::default()), bucket: i64::MIN, sum: 0.0, n: 0, unit: unit.to_string() }
    }

    /// Adds a sample taken at `ts` (s); when it starts a new five minutes, the one it ends is
    /// judged: `Some(found)` says whether an alert opened (`Some(Some)`), or closed (`Some(None)`).
    fn add(&mut self, ts: i64, value: f64) -> Option<Option<Finding>> {
        let bucket = ts.div_euclid(BUCKET_SECS) * BUCKET_SECS;
        // The clock went back: nothing is judged again until it is past the five minutes it left.
        if bucket < self.bucket {
            return None;
        }
        let mut judged = None;
        if bucket != self.bucket {
            if self.n > 0 {
                let was_open = self.state.is_open();
                let found = self.state.observe(local(self.bucket), self.sum / f64::from(self.n));
                if found.is_some() || (was_open && !self.state.is_open()) {
                    judged = Some(found);
                }
            }
            (self.bucket, self.sum, self.n) = (bucket, 0.0, 0);
        }
        if value.is_finite() {
            self.sum += value;
            self.n += 1;
        }
        judged
    }
}

/// `ts` (s, UTC) shifted by this machine's UTC offset at that time, for local days.
fn local(ts: i64) -> i64 {
    let offset = Local.timestamp_opt(ts, 0).single().map_or(0, |t| t.offset().fix().local_minus_utc());
    ts + i64::from(offset)
}

pub(crate) struct Service {
    core: Arc<Core>,
    series: Mutex<HashMap<(String, String), Series>>,
}

impl Service {
    pub fn new(core: Arc<Core>) -> Arc<Self> {
        Arc::new(Service { core, series: Mutex::new(HashMap::new()) })
    }

    pub async fn run(self: Arc<Self>) {
        if let Err(e) = self.warm_up().await {
            tracing::warn!("the automatic detector could not read its history, learning from now: {e}");
        }
        let mut events = self.core.subscribe();
        let mut was_enabled = true;
        loop {
            let (ts_ms, points) = tokio::select! {
                _ = self.core.cancel.cancelled() => return,
                e = events.recv() => match e {
                    Ok(Event::HostSample { sample, points }) => (sample.ts_ms, points),
                    Ok(_) | Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return,
                },
            };
            let enabled = self.core.config().alerts.unusual;
            if enabled {
                let judged = self.feed(ts_ms, &points);
                self.settle(judged, true).await;
            } else if was_enabled {
                self.settle(Vec::new(), false).await;
            }
            was_enabled = enabled;
        }
    }

    /// Feeds one host sample; returns each series whose alert opened or closed.
    fn feed(&self, ts_ms: i64, points: &[SeriesPoint]) -> Vec<(String, Option<Finding>, String)> {
        let mut all = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let mut judged = Vec::new();
        for p in points {
            let Some(name) = watched(&p.metric, &p.labels) else { continue };
            let key = (p.metric.clone(), p.labels.clone());
            if !all.contains_key(&key) && all.len() >= MAX_SERIES {
                continue;
            }
            let s = all.entry(key).or_insert_with(|| Series::new(&p.unit));
            if let Some(found) = s.add(ts_ms.div_euclid(1000), p.value) {
                judged.push((subject(name, &p.labels), found, s.unit.clone()));
            }
        }
        judged
    }

    /// Raises or resolves the alerts of what was judged; switched off, resolves every one.
    async fn settle(&self, judged: Vec<(String, Option<Finding>, String)>, enabled: bool) {
        if enabled && judged.is_empty() {
            return;
        }
        let host = self.core.hostname.clone();
        self.core
            .with_alerts(move |m, c, now| {
                let mut fx = Effects::default();
                if !enabled {
                    fx.changed.extend(m.forget_subjects_except(c, RULE, &[], now)?);
                    return Ok(fx);
                }
                for (subject, found, unit) in judged {
                    fx.merge(match found {
                        Some(f) => {
                            let (title, message, details) = alert_text(&subject, &f, &unit, &host);
                            m.raise(c, RULE, subject, RULE, Severity::Warning, title, message, details, now)?
                        }
                        None => m.clear(c, RULE, subject, now)?,
                    });
                }
                Ok(fx)
            })
            .await;
    }

    /// Replays the minute rollups of the last days into each series (no alert is raised for the
    /// past); an alert left open by the last run that the history no longer supports resolves.
    async fn warm_up(&self) -> Result<()> {
        let since_ms = (self.core.now() / 1000 - (Params::default().history as i64 + 1) * BUCKET_SECS) * 1000;
        let rows = self
            .core
            .db
            .read_async(move |c| {
                let mut stmt = c.prepare(
                    "SELECT s.metric, s.labels, s.unit, r.ts, r.sum, r.count FROM rollup_minute r JOIN series s ON s.id = r.series_id
                     WHERE r.ts >= ?1 ORDER BY s.id, r.ts",
                )?;
                let rows = stmt
                    .query_map(params![since_ms], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, i64>(3)?,
                            r.get::<_, f64>(4)?,
                            r.get::<_, i64>(5)?,
                        ))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(rows)
            })
            .await?;
        let calm: Vec<String> = {
            let mut all = self.series.lock().unwrap_or_else(|p| p.into_inner());
            for (metric, labels, unit, ts_ms, sum, count) in rows {
                if watched(&metric, &labels).is_none() || count <= 0 {
                    continue;
                }
                let key = (metric, labels);
                if !all.contains_key(&key) && all.len() >= MAX_SERIES {
                    continue;
                }
                let s = all.entry(key).or_insert_with(|| Series::new(&unit));
                // A minute's mean stands for its samples: the bucket's mean stays the samples' mean.
                let mean = sum / count as f64;
                for _ in 0..count.min(1000) {
                    let _ = s.add(ts_ms.div_euclid(1000), mean);
                }
            }
            all.iter()
                .filter(|(_, s)| !s.state.is_open())
                .filter_map(|((metric, labels), _)| watched(metric, labels).map(|n| subject(n, labels)))
                .collect()
        };
        self.core
            .with_alerts(move |m, c, now| {
                let mut fx = Effects::default();
                for subject in calm {
                    fx.merge(m.clear(c, RULE, subject, now)?);
                }
                Ok(fx)
            })
            .await;
        Ok(())
    }
}

/// The alert's subject: the series as a person names it ("Disk writes (mount=/)").
fn subject(name: &str, labels: &str) -> String {
    if labels.is_empty() {
        name.to_string()
    } else {
        format!("{name} ({labels})")
    }
}

/// A value in its unit, as the alert says it.
pub fn show(value: f64, unit: &str) -> String {
    match unit {
        "percent" => format!("{value:.0} %"),
        "bytes_per_second" | "bytes" => {
            let per = if unit == "bytes" { "" } else { "/s" };
            let (v, u) = match value.abs() {
                a if a >= 1e9 => (value / 1e9, "GB"),
                a if a >= 1e6 => (value / 1e6, "MB"),
                a if a >= 1e3 => (value / 1e3, "kB"),
                _ => (value, "B"),
            };
            format!("{v:.1} {u}{per}")
        }
        _ => format!("{value:.2}"),
    }
}

/// Title, message and details of an opening.
pub fn alert_text(subject: &str, f: &Finding, unit: &str, host: &str) -> (String, String, serde_json::Value) {
    let when = if f.context.starts_with("the last") { format!("over {}", f.context) } else { format!("for {}", f.context) };
    let title = format!("{subject} is unusual on {host}");
    let message = format!(
        "{subject} {}; usual {when} is {}–{}. Learnt from this machine's own history; turn it off in Settings (Alerts).",
        show(f.value, unit),
        show(f.low, unit),
        show(f.high, unit)
    );
    let details = serde_json::json!({
        "value": f.value, "low": f.low, "high": f.high, "context": f.context, "surprise": f.surprise, "unit": unit,
    });
    (title, message, details)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_machines_totals_are_watched_and_named() {
        assert_eq!(watched("cpu_usage_percent", ""), Some("CPU"));
        assert_eq!(watched("cpu_core_usage_percent", "core=0"), None);
        assert_eq!(watched("network_receive_bytes_per_second", "iface=en0"), None);
        assert_eq!(watched("disk_write_bytes_per_second", "mount=/"), Some("Disk writes"));
        assert_eq!(subject("Disk writes", "mount=/"), "Disk writes (mount=/)");
    }

    #[test]
    fn values_are_said_in_their_unit() {
        assert_eq!(show(42.4, "percent"), "42 %");
        assert_eq!(show(40_000_000.0, "bytes_per_second"), "40.0 MB/s");
        assert_eq!(show(2_500.0, "bytes_per_second"), "2.5 kB/s");
        let f = Finding { ts: 0, value: 40e6, low: 2e6, high: 6e6, context: "Tuesday 02:00".into(), surprise: 3.0 };
        let (title, message, _) = alert_text("Disk writes (mount=/)", &f, "bytes_per_second", "mini");
        assert_eq!(title, "Disk writes (mount=/) is unusual on mini");
        assert!(message.starts_with("Disk writes (mount=/) 40.0 MB/s; usual for Tuesday 02:00 is 2.0 MB/s–6.0 MB/s."), "{message}");
    }

    #[test]
    fn a_bucket_is_judged_once_when_the_next_begins() {
        let mut s = Series::new("percent");
        // Samples within one five minutes judge nothing; the first of the next judges it.
        assert_eq!(s.add(0, 10.0), None);
        assert_eq!(s.add(100, 12.0), None);
        assert_eq!(s.add(BUCKET_SECS, 11.0), None, "warming up: nothing opens");
        // A sample from the past (a clock set back) does not re-judge an older bucket.
        assert_eq!(s.add(0, 99.0), None);
    }
}
