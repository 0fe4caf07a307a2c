//! The analysis tables: `analysis_scans` (one row per scan, its log range and outcome) and
//! `analysis_findings` (what each completed scan found).

use super::{parse, Classification, Finding, FindingSeverity, Scan, ScanStatus};
use crate::config::HealingConfig;
use crate::error::{EngineError, Result};
use crate::healing::{self, HealingRecord};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::json;
use std::path::Path;

fn scan_from_row(r: &Row<'_>) -> rusqlite::Result<Scan> {
    Ok(Scan {
        scan_id: r.get(0)?,
        started_at: r.get(1)?,
        completed_at: r.get(2)?,
        status: match r.get::<_, String>(3)?.as_str() {
            "running" => ScanStatus::Running,
            "completed" => ScanStatus::Completed,
            "interrupted" => ScanStatus::Interrupted,
            _ => ScanStatus::Failed,
        },
        log_id_start: r.get(4)?,
        log_id_end: r.get(5)?,
        findings_created: r.get::<_, i64>(6)? as u32,
        error_message: r.get(7)?,
        raw_answer: r.get(8)?,
        trigger: r.get(9)?,
    })
}

const SCAN_COLS: &str =
    "scan_id, started_at, completed_at, status, log_id_start, log_id_end, findings_created, error_message, raw_answer, trigger";

pub fn scans(conn: &Connection, limit: u32) -> Result<Vec<Scan>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {SCAN_COLS} FROM analysis_scans ORDER BY scan_id DESC LIMIT ?1"))?;
    let rows = stmt.query_map([limit.clamp(1, 1000)], scan_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn finding_from_row(r: &Row<'_>) -> rusqlite::Result<Finding> {
    let ids: String = r.get(6)?;
    let c: String = r.get(2)?;
    let s: String = r.get(3)?;
    Ok(Finding {
        id: r.get(0)?,
        scan_id: r.get(1)?,
        classification: serde_json::from_value(json!(c)).unwrap_or(Classification::Noise),
        severity: serde_json::from_value(json!(s)).unwrap_or(FindingSeverity::Low),
        title: r.get(4)?,
        body: r.get(5)?,
        source_log_ids: serde_json::from_str(&ids).unwrap_or_default(),
        suggested_action: r.get(7)?,
        suggested_confidence: r.get(8)?,
        created_at: r.get(9)?,
        dismissed_at: r.get(10)?,
        suggestion: r.get(11)?,
        suggestion_note: r.get(12)?,
        healing: Vec::new(),
    })
}

pub fn findings(conn: &Connection, include_dismissed: bool, limit: u32) -> Result<Vec<Finding>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, scan_id, classification, severity, title, body, source_log_ids, suggested_action, suggested_confidence, created_at, dismissed_at,
                suggestion, suggestion_note
         FROM analysis_findings WHERE (?1 OR dismissed_at IS NULL) ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![include_dismissed, limit.clamp(1, 10_000)], finding_from_row)?;
    let mut out: Vec<Finding> = rows.collect::<rusqlite::Result<_>>()?;
    for f in out.iter_mut().filter(|f| f.suggested_action.is_some()) {
        f.healing = healing::suggest::of_finding(conn, f.id)?;
    }
    Ok(out)
}

pub fn dismiss(conn: &Connection, id: i64, now: i64) -> Result<()> {
    let n = conn.execute("UPDATE analysis_findings SET dismissed_at = ?2 WHERE id = ?1 AND dismissed_at IS NULL", params![id, now])?;
    if n == 0 {
        return Err(EngineError::InvalidInput(format!("finding {id} does not exist or is already dismissed")));
    }
    healing::suggest::dismiss_with_finding(conn, id)
}

/// Scans cut off by a stop are recorded as interrupted.
pub fn mark_interrupted(conn: &Connection, now: i64) -> Result<usize> {
    Ok(conn.execute("UPDATE analysis_scans SET status = 'interrupted', completed_at = ?1, error_message = 'Caretaker stopped during the scan' WHERE status = 'running'", [now])?)
}

/// Where the next scan starts: after the last completed scan, so a failed scan's lines are read again.
pub fn next_start(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT COALESCE(MAX(log_id_end), 0) FROM analysis_scans WHERE status = 'completed'", [], |r| r.get(0))?)
}

pub(crate) fn begin_scan(conn: &Connection, start: i64, end: i64, trigger: &str, now: i64) -> Result<i64> {
    conn.execute(
        "INSERT INTO analysis_scans (started_at, status, log_id_start, log_id_end, trigger) VALUES (?1, 'running', ?2, ?3, ?4)",
        params![now, start, end, trigger],
    )?;
    Ok(conn.last_insert_rowid())
}

pub(crate) fn fail_scan(conn: &Connection, id: i64, error: &str, raw: Option<&str>, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE analysis_scans SET status = 'failed', completed_at = ?2, error_message = ?3, raw_answer = ?4 WHERE scan_id = ?1",
        params![id, now, error, raw],
    )?;
    Ok(())
}

/// Stores a completed scan's findings. A suggested action that names a configured action
/// becomes an escalation waiting for the person (or a refusal, when the guard rails say no);
/// anything else is kept as text with the reason. Returns the findings and the healing records written.
pub(crate) fn complete_scan(
    conn: &Connection,
    id: i64,
    found: &[parse::RawFinding],
    healing_cfg: &HealingConfig,
    data_dir: &Path,
    now: i64,
) -> Result<(Vec<Finding>, Vec<HealingRecord>)> {
    let tx = conn.unchecked_transaction()?;
    let mut out = Vec::new();
    let mut records = Vec::new();
    for f in found {
        let said = f.suggested_action.as_ref().map(|a| (a, a.as_suggested()));
        // The model may only point at actions the person configured, within their scope.
        let resolved = said.as_ref().map(|(_, s)| healing::suggest::resolve(healing_cfg, s, data_dir));
        let action = resolved.as_ref().and_then(|r| r.as_ref().ok()).copied();
        let mut note = resolved.as_ref().and_then(|r| r.as_ref().err()).cloned();
        let confidence = said.as_ref().filter(|_| action.is_some()).map(|(a, _)| a.confidence);
        tx.execute(
            "INSERT INTO analysis_findings (scan_id, classification, severity, title, body, source_log_ids, suggested_action, suggested_confidence, created_at, suggestion)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                id,
                json!(f.classification).as_str(),
                json!(f.severity).as_str(),
                f.title,
                f.next_step,
                serde_json::to_string(&f.evidence_log_ids).unwrap_or_default(),
                action.map(|a| a.id.clone()),
                confidence,
                now,
                said.as_ref().map(|(_, s)| s.describe())
            ],
        )?;
        let fid = tx.last_insert_rowid();
        let mut healing = Vec::new();
        if let Some(a) = action {
            let subject = format!("finding #{fid}: {}", parse::clip(&f.title, 80, true));
            match healing::suggest::propose(&tx, healing_cfg, a, fid, &subject, now)? {
                Ok(record) => healing.push(record),
                Err(waiting) => note = Some(waiting),
            }
        }
        if let Some(n) = &note {
            tx.execute("UPDATE analysis_findings SET suggestion_note = ?2 WHERE id = ?1", params![fid, n])?;
        }
        records.extend(healing.iter().cloned());
        out.push(Finding {
            id: fid,
            scan_id: id,
            classification: f.classification,
            severity: f.severity,
            title: f.title.clone(),
            body: f.next_step.clone(),
            source_log_ids: f.evidence_log_ids.clone(),
            suggested_action: action.map(|a| a.id.clone()),
            suggested_confidence: confidence,
            created_at: now,
            dismissed_at: None,
            suggestion: said.as_ref().map(|(_, s)| s.describe()),
            suggestion_note: note,
            healing,
        });
    }
    tx.execute(
        "UPDATE analysis_scans SET status = 'completed', completed_at = ?2, findings_created = ?3 WHERE scan_id = ?1",
        params![id, now, out.len() as i64],
    )?;
    tx.commit()?;
    Ok((out, records))
}

pub(crate) fn last_completed_at(conn: &Connection) -> Result<Option<i64>> {
    Ok(conn.query_row("SELECT MAX(completed_at) FROM analysis_scans WHERE status = 'completed'", [], |r| r.get(0)).optional()?.flatten())
}

/// How long a scan keeps the model's raw answer (kept only to show why it could not be read).
pub(crate) const RAW_ANSWER_KEEP_MS: i64 = 7 * 86_400_000;

/// Forgets raw answers older than a week, then findings and scans that started before `cutoff`.
/// A running scan stays, and so does the newest completed one: the next scan starts after it.
/// Returns (findings, scans) deleted.
pub(crate) fn prune(conn: &Connection, now: i64, cutoff: i64) -> Result<(usize, usize)> {
    let tx = conn.unchecked_transaction()?;
    tx.execute("UPDATE analysis_scans SET raw_answer = NULL WHERE raw_answer IS NOT NULL AND started_at < ?1", [now - RAW_ANSWER_KEEP_MS])?;
    let findings = tx.execute("DELETE FROM analysis_findings WHERE created_at < ?1", [cutoff])?;
    let scans = tx.execute(
        "DELETE FROM analysis_scans WHERE status != 'running' AND started_at < ?1
         AND NOT EXISTS (SELECT 1 FROM analysis_findings f WHERE f.scan_id = analysis_scans.scan_id)
         AND scan_id NOT IN (SELECT MAX(scan_id) FROM analysis_scans WHERE status = 'completed'
                             UNION SELECT scan_id FROM (SELECT scan_id FROM analysis_scans WHERE status = 'completed' ORDER BY log_id_end DESC LIMIT 1))",
        [cutoff],
    )?;
    tx.commit()?;
    Ok((findings, scans))
}
