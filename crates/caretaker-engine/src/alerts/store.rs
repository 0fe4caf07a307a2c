//! `alert_events`: every alert, open or resolved.

use super::{Alert, AlertStatus, Severity};
use crate::error::Result;
use rusqlite::{params, Connection, Row};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

const COLS: &str = "id, rule, subject, alert_type, severity, status, message, details, created_at, acknowledged_at, resolved_at, snoozed_until, last_notified_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Alert> {
    let severity: String = r.get(4)?;
    let status: String = r.get(5)?;
    let details: String = r.get(7)?;
    let details: serde_json::Value = serde_json::from_str(&details).unwrap_or(serde_json::Value::Null);
    Ok(Alert {
        id: r.get(0)?,
        rule: r.get(1)?,
        subject: r.get(2)?,
        alert_type: r.get(3)?,
        // A row from a damaged or hand-edited database still loads, as the less alarming value.
        severity: severity.parse().unwrap_or(Severity::Warning),
        status: status.parse().unwrap_or(AlertStatus::Active),
        title: details.get("_title").and_then(|t| t.as_str()).unwrap_or_default().to_string(),
        message: r.get(6)?,
        created_at: r.get(8)?,
        acknowledged_at: r.get(9)?,
        resolved_at: r.get(10)?,
        snoozed_until: r.get(11)?,
        last_notified_at: r.get(12)?,
        flap_count: details.get("_flaps").and_then(|n| n.as_u64()).map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)),
        details: strip_title(details),
    })
}

fn strip_title(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("_title");
        o.remove("_flaps");
    }
    v
}

/// The title and the flap count travel inside `details` so the table keeps the columns the
/// issue asked for.
fn details_with_title(a: &Alert) -> String {
    let mut d = a.details.clone();
    if !d.is_object() {
        d = serde_json::json!({ "value": d });
    }
    d["_title"] = serde_json::Value::String(a.title.clone());
    if a.flap_count > 0 {
        d["_flaps"] = serde_json::json!(a.flap_count);
    }
    d.to_string()
}

/// The id the next alert gets. Ids are chosen in memory so an alert exists (and can be
/// notified) even when the database cannot take its row.
pub fn next_id(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM alert_events", [], |r| r.get(0))?)
}

/// Writes the whole row: inserts it, or brings an existing one up to date. A row that could not
/// be written while the disk was full is written in full by its next change.
pub fn upsert(conn: &Connection, a: &Alert) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO alert_events (id, rule, subject, alert_type, severity, status, message, details, created_at, acknowledged_at, resolved_at, snoozed_until, last_notified_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT(id) DO UPDATE SET alert_type = excluded.alert_type, severity = excluded.severity, status = excluded.status,
             message = excluded.message, details = excluded.details, acknowledged_at = excluded.acknowledged_at,
             resolved_at = excluded.resolved_at, snoozed_until = excluded.snoozed_until, last_notified_at = excluded.last_notified_at",
    )?
    .execute(params![
        a.id, a.rule, a.subject, a.alert_type, a.severity.as_str(), a.status.as_str(), a.message, details_with_title(a),
        a.created_at, a.acknowledged_at, a.resolved_at, a.snoozed_until, a.last_notified_at
    ])?;
    Ok(())
}

pub fn open_alerts(conn: &Connection) -> Result<Vec<Alert>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLS} FROM alert_events WHERE status != 'resolved' ORDER BY id"))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AlertQuery {
    /// Include resolved alerts (history).
    pub include_resolved: bool,
    pub limit: u32,
    #[serde(default)]
    #[ts(optional)]
    pub subject: Option<String>,
}

/// Newest first.
pub fn list(conn: &Connection, q: &AlertQuery) -> Result<Vec<Alert>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLS} FROM alert_events WHERE (?1 OR status != 'resolved') AND (?2 IS NULL OR subject = ?2)
         ORDER BY created_at DESC, id DESC LIMIT ?3"
    ))?;
    let rows = stmt.query_map(params![q.include_resolved, q.subject, q.limit.min(10_000)], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Deletes resolved alerts older than `days`; open ones are never pruned.
pub fn prune(conn: &Connection, now_ms: i64, days: u64) -> Result<usize> {
    Ok(conn.execute("DELETE FROM alert_events WHERE status = 'resolved' AND resolved_at < ?1", [now_ms - days as i64 * 86_400_000])?)
}
