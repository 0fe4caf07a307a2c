//! `backup_runs`: one row per job, written when it starts and when it ends.

use super::protocol::{BackupSummary, UnreadableItem, VerifySummary};
use super::worker::JobError;
use super::{BackupRunKind, BackupRunStatus};
use crate::error::Result;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct BackupRun {
    pub id: i64,
    pub plan: String,
    pub kind: BackupRunKind,
    pub trigger: String,
    pub started_ms: i64,
    pub finished_ms: Option<i64>,
    pub status: BackupRunStatus,
    pub snapshot_id: Option<String>,
    pub files_new: u64,
    pub files_changed: u64,
    pub files_unmodified: u64,
    pub bytes_processed: u64,
    pub bytes_added: u64,
    pub read_data: bool,
    pub repository_bytes: Option<u64>,
    pub error_kind: Option<String>,
    pub error: Option<String>,
    pub details: Option<String>,
    /// Files and folders a backup could not read (then its status is `partial`).
    pub unreadable: u64,
    /// The first of them by name, with the reason.
    pub unreadable_items: Vec<UnreadableItem>,
}

/// How a job ended well.
pub enum Finish {
    Backup { summary: BackupSummary, repository_bytes: Option<u64> },
    Check { summary: VerifySummary },
    Other { details: String },
}

const COLUMNS: &str = "id, plan, kind, trigger, started_at, finished_at, status, snapshot_id, files_new, files_changed, files_unmodified, bytes_processed, bytes_added, read_data, repository_bytes, error_kind, error, details, unreadable, unreadable_items";

fn from_row(r: &Row<'_>) -> rusqlite::Result<BackupRun> {
    Ok(BackupRun {
        id: r.get(0)?,
        plan: r.get(1)?,
        kind: r.get(2)?,
        trigger: r.get(3)?,
        started_ms: r.get(4)?,
        finished_ms: r.get(5)?,
        status: r.get(6)?,
        snapshot_id: r.get(7)?,
        files_new: r.get::<_, i64>(8)? as u64,
        files_changed: r.get::<_, i64>(9)? as u64,
        files_unmodified: r.get::<_, i64>(10)? as u64,
        bytes_processed: r.get::<_, i64>(11)? as u64,
        bytes_added: r.get::<_, i64>(12)? as u64,
        read_data: r.get::<_, i64>(13)? != 0,
        repository_bytes: r.get::<_, Option<i64>>(14)?.map(|v| v as u64),
        error_kind: r.get(15)?,
        error: r.get(16)?,
        details: r.get(17)?,
        unreadable: r.get::<_, i64>(18)? as u64,
        // Kept for display only: a list that does not parse shows as none, the count stays.
        unreadable_items: r.get::<_, Option<String>>(19)?.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default(),
    })
}

pub fn insert(c: &Connection, plan: &str, kind: BackupRunKind, trigger: &str, now: i64) -> Result<i64> {
    c.execute(
        "INSERT INTO backup_runs (plan, kind, trigger, started_at, status) VALUES (?1, ?2, ?3, ?4, 'running')",
        params![plan, kind, trigger, now],
    )?;
    Ok(c.last_insert_rowid())
}

fn get(c: &Connection, id: i64) -> Result<BackupRun> {
    Ok(c.query_row(&format!("SELECT {COLUMNS} FROM backup_runs WHERE id = ?1"), [id], from_row)?)
}

pub fn finish(c: &Connection, id: i64, now: i64, result: &std::result::Result<Finish, JobError>) -> Result<BackupRun> {
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    match result {
        Ok(Finish::Backup { summary: s, repository_bytes }) => {
            let status = if s.unreadable > 0 { BackupRunStatus::Partial } else { BackupRunStatus::Ok };
            let items = (!s.unreadable_items.is_empty()).then(|| serde_json::to_string(&s.unreadable_items).unwrap_or_default());
            c.execute(
                "UPDATE backup_runs SET finished_at = ?2, status = ?10, snapshot_id = ?3, files_new = ?4, files_changed = ?5,
                 files_unmodified = ?6, bytes_processed = ?7, bytes_added = ?8, repository_bytes = ?9, unreadable = ?11,
                 unreadable_items = ?12 WHERE id = ?1",
                params![
                    id,
                    now,
                    s.snapshot_id,
                    n(s.files_new),
                    n(s.files_changed),
                    n(s.files_unmodified),
                    n(s.bytes_processed),
                    n(s.bytes_added),
                    repository_bytes.map(n),
                    status,
                    n(s.unreadable),
                    items
                ],
            )?
        }
        Ok(Finish::Check { summary }) => c.execute(
            "UPDATE backup_runs SET finished_at = ?2, status = 'ok', read_data = ?3, details = ?4 WHERE id = ?1",
            params![id, now, summary.read_data, serde_json::to_string(summary).unwrap_or_default()],
        )?,
        Ok(Finish::Other { details }) => {
            c.execute("UPDATE backup_runs SET finished_at = ?2, status = 'ok', details = ?3 WHERE id = ?1", params![id, now, details])?
        }
        Err(e) => {
            // A refused restore (files exist, the person is asked) did nothing wrong: not a failure.
            let status = match e.kind {
                // So is a job that found another program's lock on the repository: it changed
                // nothing and runs again later.
                super::protocol::ErrorKind::Cancelled | super::protocol::ErrorKind::Conflict | super::protocol::ErrorKind::Locked => {
                    BackupRunStatus::Cancelled
                }
                _ => BackupRunStatus::Failed,
            };
            c.execute(
                "UPDATE backup_runs SET finished_at = ?2, status = ?3, error_kind = ?4, error = ?5 WHERE id = ?1",
                params![id, now, status, e.kind.as_str(), e.message],
            )?
        }
    };
    get(c, id)
}

/// The latest finished run of a kind (only ones that saved their work when `ok_only`: a partial
/// backup still made a snapshot). Latest by insertion, not by start time: after the wall clock
/// went back, the newest run has the older time.
pub fn last(c: &Connection, plan: &str, kind: BackupRunKind, ok_only: bool) -> Result<Option<BackupRun>> {
    let filter = if ok_only { "status IN ('ok', 'partial')" } else { "status IN ('ok', 'partial', 'failed')" };
    Ok(c.query_row(
        &format!("SELECT {COLUMNS} FROM backup_runs WHERE plan = ?1 AND kind = ?2 AND {filter} ORDER BY id DESC LIMIT 1"),
        params![plan, kind],
        from_row,
    )
    .optional()?)
}

/// The latest finished backup as the schedule sees it (the newest by insertion, as in [`last`]):
/// (started, succeeded). A cancelled or interrupted run counts as a failed attempt, so a person's
/// Cancel is not undone by the next tick: the plan waits for its retry delay or its next slot.
/// A partial backup succeeded as far as the schedule goes: retrying soon would meet the same
/// unreadable files.
pub fn last_attempt(c: &Connection, plan: &str) -> Result<Option<(i64, bool)>> {
    Ok(c.query_row(
        "SELECT started_at, status IN ('ok', 'partial') FROM backup_runs WHERE plan = ?1 AND kind = 'backup' AND status != 'running'
         ORDER BY id DESC LIMIT 1",
        [plan],
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, bool>(1)?)),
    )
    .optional()?)
}

/// The latest finished job of any kind for a plan.
pub fn last_any(c: &Connection, plan: &str) -> Result<Option<BackupRun>> {
    Ok(c.query_row(
        &format!("SELECT {COLUMNS} FROM backup_runs WHERE plan = ?1 AND status != 'running' ORDER BY id DESC LIMIT 1"),
        [plan],
        from_row,
    )
    .optional()?)
}

/// When the last check (with data read back, or any) started; the newest by insertion, as in [`last`].
pub fn last_check(c: &Connection, plan: &str, read_data: bool) -> Result<Option<i64>> {
    let filter = if read_data { "AND read_data = 1" } else { "" };
    Ok(c.query_row(
        &format!("SELECT started_at FROM backup_runs WHERE plan = ?1 AND kind = 'check' AND status IN ('ok', 'failed') {filter} ORDER BY id DESC LIMIT 1"),
        [plan],
        |r| r.get::<_, i64>(0),
    )
    .optional()?)
}

/// How many data-reading checks have run: the next one reads the following twelfth.
pub fn count_read_data(c: &Connection, plan: &str) -> Result<i64> {
    Ok(c.query_row("SELECT COUNT(*) FROM backup_runs WHERE plan = ?1 AND kind = 'check' AND read_data = 1", [plan], |r| r.get(0))?)
}

/// Finished runs that started before `cutoff`, except the ones the schedule and health read: the
/// newest of each plan and kind (any, finished, and successful). Data-reading checks go in whole
/// rounds of twelve, so the rotation through the repository's data carries on where it was.
pub fn prune(c: &Connection, cutoff: i64) -> Result<usize> {
    const OLD: &str = "status != 'running' AND started_at < ?1 AND id NOT IN (
        SELECT MAX(id) FROM backup_runs GROUP BY plan, kind
        UNION SELECT MAX(id) FROM backup_runs WHERE status != 'running' GROUP BY plan, kind
        UNION SELECT MAX(id) FROM backup_runs WHERE status IN ('ok', 'partial', 'failed') GROUP BY plan, kind
        UNION SELECT MAX(id) FROM backup_runs WHERE status IN ('ok', 'partial') GROUP BY plan, kind
        UNION SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY plan ORDER BY id DESC) AS n FROM backup_runs
                              WHERE kind = 'backup' AND status IN ('ok', 'partial')) WHERE n <= 2
        UNION SELECT MAX(id) FROM backup_runs WHERE kind = 'check' AND read_data = 1 AND status IN ('ok', 'failed') GROUP BY plan)";
    let other = c.execute(&format!("DELETE FROM backup_runs WHERE NOT (kind = 'check' AND read_data = 1) AND {OLD}"), [cutoff])?;
    let rounds = c.execute(
        &format!(
            "DELETE FROM backup_runs WHERE id IN (
                SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY plan ORDER BY id) AS n, COUNT(*) OVER (PARTITION BY plan) AS total
                                FROM backup_runs WHERE kind = 'check' AND read_data = 1 AND {OLD})
                WHERE n <= total - total % 12)"
        ),
        [cutoff],
    )?;
    Ok(other + rounds)
}

/// The newest completed backups (a snapshot saved, whole or partial), newest first: what the
/// unreadable-files alert looks at. Failed and cancelled runs saved nothing and are passed over.
pub fn recent_completed(c: &Connection, plan: &str, limit: u32) -> Result<Vec<BackupRun>> {
    let mut stmt = c.prepare(&format!(
        "SELECT {COLUMNS} FROM backup_runs WHERE plan = ?1 AND kind = 'backup' AND status IN ('ok', 'partial') ORDER BY id DESC LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![plan, limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub fn history(c: &Connection, limit: u32) -> Result<Vec<BackupRun>> {
    history_of(c, None, limit)
}

pub fn history_of(c: &Connection, plan: Option<&str>, limit: u32) -> Result<Vec<BackupRun>> {
    let mut stmt = c.prepare(&format!(
        "SELECT {COLUMNS} FROM backup_runs WHERE (?1 IS NULL OR plan = ?1) ORDER BY started_at DESC, id DESC LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![plan, limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Jobs that were running when the engine stopped.
pub fn mark_interrupted(c: &Connection, now: i64) -> Result<usize> {
    Ok(c.execute("UPDATE backup_runs SET status = 'interrupted', finished_at = ?1, error = 'Caretaker stopped while this ran' WHERE status = 'running'", [now])?)
}
