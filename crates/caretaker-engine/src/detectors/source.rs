//! Reads a detector's series back from the tables other modules own.

use super::{CheckField, DetectorConfig, Point, MINUTE_MS};
use crate::error::Result;
use rusqlite::{params, Connection};

/// The readings of `cfg`'s source in (`from_ms`, `now_ms`], oldest first.
pub(crate) fn read_series(conn: &Connection, cfg: &DetectorConfig, from_ms: i64, now_ms: i64) -> Result<Vec<Point>> {
    let point = |r: &rusqlite::Row<'_>| Ok(Point { ts: r.get(0)?, value: r.get(1)? });
    if let Some(m) = &cfg.metric {
        let mut stmt = conn.prepare_cached(
            "SELECT s.ts, s.value FROM samples s JOIN series r ON r.id = s.series_id
             WHERE r.metric = ?1 AND r.labels = ?2 AND s.ts > ?3 AND s.ts <= ?4 ORDER BY s.ts",
        )?;
        let rows = stmt.query_map(params![m.name, m.labels, from_ms, now_ms], point)?;
        return Ok(rows.collect::<rusqlite::Result<_>>()?);
    }
    if let Some(c) = &cfg.check {
        let value = match c.field {
            // A run without a number (the probe failed) is no reading, not a zero.
            CheckField::Value => "CAST(json_extract(probe_details, '$.value') AS REAL)",
            CheckField::LatencyMs => "latency_ms",
            CheckField::Failed => "CASE WHEN status = 'healthy' THEN 0.0 ELSE 1.0 END",
            CheckField::OldestAgeSecs => "CAST(json_extract(probe_details, '$.oldest_age_secs') AS REAL)",
        };
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT checked_at, {value} FROM service_health_checks
             WHERE service_name = ?1 AND checked_at > ?2 AND checked_at <= ?3 AND {value} IS NOT NULL
             ORDER BY checked_at, id"
        ))?;
        let rows = stmt.query_map(params![c.name, from_ms, now_ms], point)?;
        return Ok(rows.collect::<rusqlite::Result<_>>()?);
    }
    if let Some(l) = &cfg.logs {
        // Whole minutes only, zeros included: a quiet minute is a reading of 0.
        let end = now_ms.div_euclid(MINUTE_MS) * MINUTE_MS;
        let start = (from_ms + MINUTE_MS - 1).div_euclid(MINUTE_MS) * MINUTE_MS;
        let mut stmt =
            conn.prepare_cached("SELECT ts / 60000, COUNT(*) FROM logs WHERE level >= ?1 AND ts >= ?2 AND ts < ?3 GROUP BY ts / 60000")?;
        let counts: std::collections::HashMap<i64, i64> = stmt
            .query_map(params![level_num(l.min_level), start, end], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::new();
        let mut t = start;
        while t < end {
            out.push(Point { ts: t + MINUTE_MS, value: counts.get(&(t / MINUTE_MS)).copied().unwrap_or(0) as f64 });
            t += MINUTE_MS;
        }
        return Ok(out);
    }
    Ok(Vec::new())
}

/// The `logs.level` column's numbers.
fn level_num(l: crate::logs::LogLevel) -> i64 {
    match l {
        crate::logs::LogLevel::Info => 1,
        crate::logs::LogLevel::Warn => 2,
        crate::logs::LogLevel::Error => 3,
    }
}
