//! `service_health_checks`: one row per check run.

use super::{CheckResult, CheckStatus};
use crate::error::Result;
use rusqlite::{params, Connection, Row};

pub fn insert(conn: &Connection, r: &CheckResult, now_ms: i64) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO service_health_checks (service_name, status, latency_ms, checked_at, error_message, probe_details, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        r.service_name,
        r.status.as_str(),
        r.latency_ms,
        r.checked_at,
        r.error_message,
        r.probe_details.to_string(),
        now_ms
    ])?;
    Ok(conn.last_insert_rowid())
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<CheckResult> {
    let status: String = r.get(1)?;
    let details: String = r.get(5)?;
    Ok(CheckResult {
        service_name: r.get(0)?,
        // The column's CHECK constraint admits only these three.
        status: status.parse().unwrap_or(CheckStatus::Down),
        latency_ms: r.get(2)?,
        checked_at: r.get(3)?,
        error_message: r.get(4)?,
        probe_details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
    })
}

const COLS: &str = "service_name, status, latency_ms, checked_at, error_message, probe_details";

/// The newest result of a service.
pub fn latest(conn: &Connection, service: &str) -> Result<Option<CheckResult>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLS} FROM service_health_checks WHERE service_name = ?1 ORDER BY created_at DESC, id DESC LIMIT 1"
    ))?;
    let mut rows = stmt.query_map([service], from_row)?;
    Ok(rows.next().transpose()?)
}

/// The newest result of every service, by name.
pub fn latest_all(conn: &Connection) -> Result<Vec<CheckResult>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLS} FROM service_health_checks WHERE id IN (SELECT MAX(id) FROM service_health_checks GROUP BY service_name) ORDER BY service_name"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Newest first, at most `limit`, optionally only one status.
pub fn history(conn: &Connection, service: &str, limit: u32, status: Option<CheckStatus>) -> Result<Vec<CheckResult>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLS} FROM service_health_checks WHERE service_name = ?1 AND (?2 IS NULL OR status = ?2)
         ORDER BY created_at DESC, id DESC LIMIT ?3"
    ))?;
    let rows = stmt.query_map(params![service, status.map(|s| s.as_str()), limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Percent of results since `since_ms` that were not down; None without results.
pub fn uptime(conn: &Connection, service: &str, since_ms: i64) -> Result<Option<f64>> {
    let (total, up): (i64, i64) = conn
        .prepare_cached(
            "SELECT COUNT(*), COALESCE(SUM(status != 'down'), 0) FROM service_health_checks WHERE service_name = ?1 AND created_at >= ?2",
        )?
        .query_row(params![service, since_ms], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok((total > 0).then(|| up as f64 * 100.0 / total as f64))
}

/// Deletes results older than `days`.
pub fn prune(conn: &Connection, now_ms: i64, days: u64) -> Result<usize> {
    let cutoff = now_ms - days as i64 * 86_400_000;
    Ok(conn.execute("DELETE FROM service_health_checks WHERE created_at < ?1", [cutoff])?)
}
