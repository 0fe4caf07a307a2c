//! Reading runs back from `maintenance_runs` and `maintenance_task_runs`, and closing the ones a
//! stop left open.

use super::{task_name, RunReport, RunStatus, TaskResult, TaskStatus};
use crate::error::Result;
use rusqlite::{Connection, OptionalExtension};

/// A run with its task rows, by id.
pub fn report(c: &Connection, run_id: i64) -> Result<Option<RunReport>> {
    let run = c
        .query_row("SELECT id, trigger, status, started_at, ended_at, summary FROM maintenance_runs WHERE id = ?1", [run_id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, String>(5)?,
            ))
        })
        .optional()?;
    let Some((id, trigger, status, started_at, ended_at, summary)) = run else { return Ok(None) };
    let mut stmt = c.prepare_cached(
        "SELECT task_id, status, message, started_at, ended_at, rows_pruned, bytes_freed FROM maintenance_task_runs WHERE run_id = ?1 ORDER BY idx",
    )?;
    let tasks = stmt
        .query_map([id], |r| {
            let task_id: String = r.get(0)?;
            Ok(TaskResult {
                name: task_name(&task_id),
                task_id,
                status: TaskStatus::parse(&r.get::<_, String>(1)?),
                message: r.get(2)?,
                started_at: r.get(3)?,
                ended_at: r.get(4)?,
                rows_pruned: r.get::<_, i64>(5)? as u64,
                bytes_freed: r.get::<_, i64>(6)? as u64,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some(RunReport {
        run_id: id,
        trigger,
        status: RunStatus::parse(&status),
        started_at,
        ended_at,
        tasks,
        summary: serde_json::from_str(&summary).unwrap_or_default(),
    }))
}

/// The newest runs, newest first.
pub fn history(c: &Connection, limit: u32) -> Result<Vec<RunReport>> {
    let ids: Vec<i64> = c
        .prepare_cached("SELECT id FROM maintenance_runs ORDER BY id DESC LIMIT ?1")?
        .query_map([limit], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    ids.into_iter().filter_map(|id| report(c, id).transpose()).collect()
}

pub fn last_finished(c: &Connection) -> Result<Option<RunReport>> {
    let id: Option<i64> = c.query_row("SELECT MAX(id) FROM maintenance_runs WHERE status != 'running'", [], |r| r.get(0))?;
    match id {
        Some(id) => report(c, id),
        None => Ok(None),
    }
}

/// A run that was in progress when Caretaker stopped is recorded as interrupted.
pub fn mark_interrupted(c: &Connection, now: i64) -> Result<usize> {
    let tx = c.unchecked_transaction()?;
    tx.execute(
        "UPDATE maintenance_task_runs SET status = 'skipped', message = 'interrupted: Caretaker stopped during the run', ended_at = COALESCE(ended_at, ?1)
         WHERE status IN ('pending', 'started') AND run_id IN (SELECT id FROM maintenance_runs WHERE status = 'running')",
        [now],
    )?;
    let n = tx.execute("UPDATE maintenance_runs SET status = 'interrupted', ended_at = ?1 WHERE status = 'running'", [now])?;
    tx.commit()?;
    Ok(n)
}

/// Finished runs (with their task rows) that started before `cutoff`; the newest finished run
/// stays, as the status shows it as the last run.
pub fn prune(c: &Connection, cutoff: i64) -> Result<usize> {
    const OLD: &str = "SELECT id FROM maintenance_runs WHERE status != 'running' AND started_at < ?1
                       AND id IS NOT (SELECT MAX(id) FROM maintenance_runs WHERE status != 'running')";
    let tx = c.unchecked_transaction()?;
    tx.execute(&format!("DELETE FROM maintenance_task_runs WHERE run_id IN ({OLD})"), [cutoff])?;
    let n = tx.execute(&format!("DELETE FROM maintenance_runs WHERE id IN ({OLD})"), [cutoff])?;
    tx.commit()?;
    Ok(n)
}
