//! Series storage: raw samples, per-minute and per-hour rollups, retention, chart queries.

use super::SeriesPoint;
use crate::error::{EngineError, Result};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use ts_rs::TS;

pub(crate) const MINUTE_MS: i64 = 60_000;
pub(crate) const HOUR_MS: i64 = 3_600_000;
const KV_MINUTE_DONE: &str = "rollup.minute_until";
const KV_HOUR_DONE: &str = "rollup.hour_until";

/// Series ids by (metric, labels), so a tick does not look them up row by row.
#[derive(Debug, Default)]
pub struct SeriesCache {
    ids: HashMap<(String, String), i64>,
}

impl SeriesCache {
    fn id(&mut self, conn: &Connection, p: &SeriesPoint) -> Result<i64> {
        if let Some(id) = self.ids.get(&(p.metric.clone(), p.labels.clone())) {
            return Ok(*id);
        }
        conn.prepare_cached("INSERT OR IGNORE INTO series (metric, labels, unit) VALUES (?1, ?2, ?3)")?
            .execute(params![p.metric, p.labels, p.unit])?;
        let id: i64 = conn
            .prepare_cached("SELECT id FROM series WHERE metric = ?1 AND labels = ?2")?
            .query_row(params![p.metric, p.labels], |r| r.get(0))?;
        self.ids.insert((p.metric.clone(), p.labels.clone()), id);
        Ok(id)
    }
}

/// Writes one tick's points. The caller wraps the tick in one transaction.
pub fn write_points(conn: &Connection, cache: &mut SeriesCache, ts_ms: i64, points: &[SeriesPoint]) -> Result<usize> {
    for p in points {
        let id = cache.id(conn, p)?;
        conn.prepare_cached("INSERT OR REPLACE INTO samples (series_id, ts, value) VALUES (?1, ?2, ?3)")?
            .execute(params![id, ts_ms, p.value])?;
    }
    Ok(points.len())
}

fn watermark(conn: &Connection, key: &str) -> Result<Option<i64>> {
    Ok(crate::store::kv_get(conn, key)?.and_then(|(v, _)| v.parse().ok()))
}

/// Folds completed minutes of raw samples into `rollup_minute` and completed hours of minutes
/// into `rollup_hour`. Idempotent: re-running over the same span rewrites the same rows.
/// Returns (minute rows, hour rows) written.
pub fn rollup(conn: &Connection, now_ms: i64) -> Result<(usize, usize)> {
    let tx = conn.unchecked_transaction()?;
    let minute_end = now_ms.div_euclid(MINUTE_MS) * MINUTE_MS;
    let minute_start = match watermark(&tx, KV_MINUTE_DONE)? {
        Some(w) => w,
        None => tx.query_row("SELECT COALESCE(MIN(ts), ?1) FROM samples", [minute_end], |r| r.get::<_, i64>(0))?
            .div_euclid(MINUTE_MS)
            * MINUTE_MS,
    };
    let mut minutes = 0;
    if minute_end > minute_start {
        minutes = tx.execute(
            "INSERT OR REPLACE INTO rollup_minute (series_id, ts, min, max, sum, count)
             SELECT series_id, (ts / ?3) * ?3, MIN(value), MAX(value), SUM(value), COUNT(*)
             FROM samples
             WHERE series_id IN (SELECT id FROM series) AND ts >= ?1 AND ts < ?2
             GROUP BY series_id, ts / ?3",
            params![minute_start, minute_end, MINUTE_MS],
        )?;
        crate::store::kv_put(&tx, KV_MINUTE_DONE, &minute_end.to_string(), now_ms)?;
    }
    let hour_end = minute_end.div_euclid(HOUR_MS) * HOUR_MS;
    let hour_start = match watermark(&tx, KV_HOUR_DONE)? {
        Some(w) => w,
        None => tx.query_row("SELECT COALESCE(MIN(ts), ?1) FROM rollup_minute", [hour_end], |r| r.get::<_, i64>(0))?
            .div_euclid(HOUR_MS)
            * HOUR_MS,
    };
    let mut hours = 0;
    if hour_end > hour_start {
        hours = tx.execute(
            "INSERT OR REPLACE INTO rollup_hour (series_id, ts, min, max, sum, count)
             SELECT series_id, (ts / ?3) * ?3, MIN(min), MAX(max), SUM(sum), SUM(count)
             FROM rollup_minute
             WHERE series_id IN (SELECT id FROM series) AND ts >= ?1 AND ts < ?2
             GROUP BY series_id, ts / ?3",
            params![hour_start, hour_end, HOUR_MS],
        )?;
        crate::store::kv_put(&tx, KV_HOUR_DONE, &hour_end.to_string(), now_ms)?;
    }
    tx.commit()?;
    Ok((minutes, hours))
}

/// How long each resolution is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub raw_ms: i64,
    pub minute_ms: i64,
    pub hour_ms: i64,
}

impl From<&crate::config::MetricsConfig> for RetentionPolicy {
    fn from(c: &crate::config::MetricsConfig) -> Self {
        RetentionPolicy {
            raw_ms: c.raw_retention_hours as i64 * HOUR_MS,
            minute_ms: c.minute_retention_days as i64 * 24 * HOUR_MS,
            hour_ms: c.hour_retention_days as i64 * 24 * HOUR_MS,
        }
    }
}

/// Deletes rows past retention; returns how many rows went from each table (raw, minute, hour).
/// Raw rows are only dropped once rolled up, so retention never loses a minute that was not kept.
pub fn prune(conn: &Connection, now_ms: i64, policy: RetentionPolicy) -> Result<(usize, usize, usize)> {
    let tx = conn.unchecked_transaction()?;
    let rolled = watermark(&tx, KV_MINUTE_DONE)?.unwrap_or(i64::MIN);
    let raw_cutoff = (now_ms - policy.raw_ms).min(rolled);
    let del = |table: &str, cutoff: i64| -> Result<usize> {
        Ok(tx.execute(
            &format!("DELETE FROM {table} WHERE series_id IN (SELECT id FROM series) AND ts < ?1"),
            [cutoff],
        )?)
    };
    let raw = del("samples", raw_cutoff)?;
    let minute = del("rollup_minute", now_ms - policy.minute_ms)?;
    let hour = del("rollup_hour", now_ms - policy.hour_ms)?;
    tx.commit()?;
    Ok((raw, minute, hour))
}

/// Which table a chart was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    Raw,
    Minute,
    Hour,
}

/// A chart's request: which metrics (empty = every series), over which span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SeriesQuery {
    /// Metric names such as `cpu_usage_percent`; empty means all.
    #[serde(default)]
    pub metrics: Vec<String>,
    /// How far back from `until_ms` (or now).
    pub range_secs: u32,
    #[serde(default)]
    #[ts(optional)]
    pub until_ms: Option<i64>,
    /// The most points per series the chart wants (default 600).
    #[serde(default)]
    #[ts(optional)]
    pub max_points: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SeriesData {
    pub metric: String,
    pub labels: String,
    pub unit: String,
    /// Bucket start times, ascending.
    pub ts: Vec<i64>,
    /// Mean value of each bucket.
    pub values: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SeriesResult {
    pub resolution: Resolution,
    pub step_ms: i64,
    pub since_ms: i64,
    pub until_ms: i64,
    pub series: Vec<SeriesData>,
}

/// Picks the coarsest table that still gives a chart enough points (a quarter of what it asked
/// for), and that still holds data that far back, then buckets rows so no series exceeds
/// `max_points`.
pub(crate) fn choose_resolution(span_ms: i64, max_points: i64, raw_step_ms: i64, since_ms: i64, now_ms: i64, policy: RetentionPolicy) -> (Resolution, i64) {
    let enough = (max_points / 4).max(1);
    let age = now_ms - since_ms;
    let (res, base) = if span_ms / HOUR_MS >= enough {
        (Resolution::Hour, HOUR_MS)
    } else if span_ms / MINUTE_MS >= enough || age > policy.raw_ms {
        if age > policy.minute_ms {
            (Resolution::Hour, HOUR_MS)
        } else {
            (Resolution::Minute, MINUTE_MS)
        }
    } else {
        (Resolution::Raw, raw_step_ms.max(1000))
    };
    // Round the step up to a whole multiple of the table's own resolution.
    let wanted = (span_ms + max_points - 1) / max_points;
    let step = ((wanted.max(base) + base - 1) / base) * base;
    (res, step)
}

pub fn query_series(conn: &Connection, q: &SeriesQuery, now_ms: i64, raw_step_ms: i64, policy: RetentionPolicy) -> Result<SeriesResult> {
    if q.range_secs == 0 {
        return Err(EngineError::InvalidInput("range_secs must be at least 1".into()));
    }
    let until_ms = q.until_ms.unwrap_or(now_ms);
    let span_ms = i64::from(q.range_secs) * 1000;
    let since_ms = until_ms - span_ms;
    let max_points = i64::from(q.max_points.unwrap_or(600).clamp(10, 10_000));
    let (resolution, step_ms) = choose_resolution(span_ms, max_points, raw_step_ms, since_ms, now_ms, policy);

    let mut series: Vec<(i64, SeriesData)> = Vec::new();
    {
        let mut stmt = conn.prepare_cached("SELECT id, metric, labels, unit FROM series ORDER BY metric, labels")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, i64>(0)?, SeriesData { metric: r.get(1)?, labels: r.get(2)?, unit: r.get(3)?, ts: vec![], values: vec![] }))
        })?;
        for row in rows {
            let (id, s) = row?;
            if q.metrics.is_empty() || q.metrics.iter().any(|m| *m == s.metric) {
                series.push((id, s));
            }
        }
    }
    let sql = match resolution {
        Resolution::Raw => "SELECT (ts / ?4) * ?4, AVG(value) FROM samples WHERE series_id = ?1 AND ts >= ?2 AND ts < ?3 GROUP BY ts / ?4 ORDER BY 1",
        Resolution::Minute => "SELECT (ts / ?4) * ?4, SUM(sum) / SUM(count) FROM rollup_minute WHERE series_id = ?1 AND ts >= ?2 AND ts < ?3 GROUP BY ts / ?4 ORDER BY 1",
        Resolution::Hour => "SELECT (ts / ?4) * ?4, SUM(sum) / SUM(count) FROM rollup_hour WHERE series_id = ?1 AND ts >= ?2 AND ts < ?3 GROUP BY ts / ?4 ORDER BY 1",
    };
    let mut stmt = conn.prepare_cached(sql)?;
    for (id, s) in series.iter_mut() {
        let mut rows = stmt.query(params![*id, since_ms, until_ms + 1, step_ms])?;
        while let Some(r) = rows.next()? {
            s.ts.push(r.get(0)?);
            s.values.push(r.get(1)?);
        }
    }
    Ok(SeriesResult {
        resolution,
        step_ms,
        since_ms,
        until_ms,
        series: series.into_iter().map(|(_, s)| s).filter(|s| !s.ts.is_empty()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetentionPolicy = RetentionPolicy { raw_ms: 48 * HOUR_MS, minute_ms: 30 * 24 * HOUR_MS, hour_ms: 730 * 24 * HOUR_MS };

    #[test]
    fn resolution_is_the_coarsest_with_enough_points() {
        let now = 1_000 * HOUR_MS * 24;
        let pick = |span: i64| choose_resolution(span, 600, 5_000, now - span, now, POLICY);
        assert_eq!(pick(15 * MINUTE_MS), (Resolution::Raw, 5_000));
        assert_eq!(pick(HOUR_MS).0, Resolution::Raw);
        assert_eq!(pick(24 * HOUR_MS), (Resolution::Minute, 180_000));
        assert_eq!(pick(7 * 24 * HOUR_MS).0, Resolution::Hour);
        assert_eq!(pick(30 * 24 * HOUR_MS), (Resolution::Hour, 2 * HOUR_MS));
    }

    #[test]
    fn old_spans_fall_back_to_tables_that_still_hold_them() {
        let now = 1_000 * HOUR_MS * 24;
        // A 15 minute window three days ago: raw is gone, minutes remain.
        let since = now - 72 * HOUR_MS;
        assert_eq!(choose_resolution(15 * MINUTE_MS, 600, 5_000, since, now, POLICY).0, Resolution::Minute);
        let since = now - 60 * 24 * HOUR_MS;
        assert_eq!(choose_resolution(15 * MINUTE_MS, 600, 5_000, since, now, POLICY).0, Resolution::Hour);
    }
}
