//! One maintenance run: its rows, and its tasks one after another. Recording is best effort: a
//! run on a full disk still does its tasks (the prunes and clean-ups are what free space), and
//! its report is then built from memory.

use super::{report, task_name, tasks, Outcome, RunEnv, RunReport, RunStatus, RunSummary, TaskResult, TaskStatus};
use crate::error::Result;
use crate::events::Event;
use rusqlite::{params, Connection};

pub(super) fn begin(c: &Connection, trigger: &str, now: i64) -> Result<i64> {
    let tx = c.unchecked_transaction()?;
    tx.execute("INSERT INTO maintenance_runs (trigger, status, started_at) VALUES (?1, 'running', ?2)", params![trigger, now])?;
    let id = tx.last_insert_rowid();
    for (i, t) in tasks::REGISTRY.iter().enumerate() {
        tx.execute(
            "INSERT INTO maintenance_task_runs (run_id, idx, task_id, status) VALUES (?1, ?2, ?3, 'pending')",
            params![id, i as i64, t.0],
        )?;
    }
    tx.commit()?;
    Ok(id)
}

/// Remembers whether every write of the run reached the database; warns once when one did not.
struct Recorder<'a> {
    env: &'a RunEnv,
    run_id: i64,
    complete: bool,
}

impl Recorder<'_> {
    fn note(&mut self, r: Result<()>) {
        if let Err(e) = r {
            if self.complete {
                tracing::warn!(run_id = self.run_id, "maintenance could not record its progress, carrying on: {e}");
            }
            self.complete = false;
        }
    }

    fn task(&mut self, idx: usize, t: &TaskResult) {
        if self.run_id == 0 {
            self.complete = false;
            return;
        }
        let r = self.env.db.write(|c| {
            c.prepare_cached(
                "UPDATE maintenance_task_runs SET status = ?3, message = ?4, started_at = COALESCE(?5, started_at), ended_at = ?6,
                     rows_pruned = ?7, bytes_freed = ?8 WHERE run_id = ?1 AND idx = ?2",
            )?
            .execute(params![
                self.run_id,
                idx as i64,
                t.status.as_str(),
                t.message,
                t.started_at,
                t.ended_at,
                t.rows_pruned as i64,
                t.bytes_freed as i64
            ])?;
            Ok(())
        });
        self.note(r);
    }
}

fn result(id: &str, status: TaskStatus, message: Option<String>, started_at: Option<i64>, ended_at: Option<i64>) -> TaskResult {
    TaskResult { task_id: id.into(), name: task_name(id), status, message, started_at, ended_at, rows_pruned: 0, bytes_freed: 0 }
}

pub(super) fn execute(env: &RunEnv, run_id: i64, trigger: &str) -> Result<Option<RunReport>> {
    let total = tasks::REGISTRY.len() as u32;
    let started = env.clock.now_ms();
    let mut summary = RunSummary::default();
    let mut cancelled = false;
    let mut rec = Recorder { env, run_id, complete: true };
    let mut done: Vec<TaskResult> = Vec::new();
    tracing::info!(run_id, "maintenance run started");
    for (i, (id, name, _, _, run)) in tasks::REGISTRY.iter().enumerate() {
        let progress = |status: TaskStatus, message: Option<String>| {
            let _ = env.events.send(Event::MaintenanceProgress {
                run_id,
                task_id: (*id).into(),
                task_name: (*name).into(),
                index: i as u32 + 1,
                total,
                status,
                message,
            });
        };
        if env.cancel.is_cancelled() {
            cancelled = true;
            let reason =
                if env.shutdown.is_cancelled() { "interrupted: Caretaker stopped during the run" } else { "cancelled before it started" }
                    .to_string();
            let t = result(id, TaskStatus::Skipped, Some(reason.clone()), None, None);
            rec.task(i, &t);
            done.push(t);
            summary.skipped += 1;
            progress(TaskStatus::Skipped, Some(reason));
            continue;
        }
        let t0 = env.clock.now_ms();
        rec.task(i, &result(id, TaskStatus::Started, None, Some(t0), None));
        progress(TaskStatus::Started, None);
        let ctx = tasks::Ctx {
            db: &env.db,
            config: &env.config,
            data_dir: &env.data_dir,
            run_id,
            retention_at: env.clock_watch.settled(env.clock.as_ref()),
            cancel: &env.cancel,
            backup_task: env.backup_task.as_deref(),
        };
        let outcome = run(&ctx);
        let t1 = env.clock.now_ms();
        let (status, message, rows, bytes) = match outcome {
            Outcome::Completed { message, rows_pruned, bytes_freed } => {
                summary.completed += 1;
                (TaskStatus::Completed, message, rows_pruned, bytes_freed)
            }
            Outcome::Skipped { reason } => {
                summary.skipped += 1;
                (TaskStatus::Skipped, reason, 0, 0)
            }
            Outcome::Failed { message } => {
                summary.failed += 1;
                tracing::warn!(run_id, task = id, "maintenance task failed: {message}");
                (TaskStatus::Failed, message, 0, 0)
            }
        };
        summary.rows_pruned += rows;
        summary.bytes_freed += bytes;
        let t = TaskResult { rows_pruned: rows, bytes_freed: bytes, ..result(id, status, Some(message.clone()), Some(t0), Some(t1)) };
        rec.task(i, &t);
        done.push(t);
        tracing::info!(run_id, task = id, status = status.as_str(), "{name}: {message}");
        progress(status, Some(message));
    }
    let ended = env.clock.now_ms();
    summary.duration_ms = ended - started;
    let status = if env.shutdown.is_cancelled() {
        RunStatus::Interrupted
    } else if cancelled || env.cancel.is_cancelled() {
        RunStatus::Cancelled
    } else if summary.failed > 0 {
        RunStatus::Failed
    } else {
        RunStatus::Completed
    };
    let json = serde_json::to_string(&summary).unwrap_or_default();
    if run_id != 0 {
        let r = env.db.write(|c| {
            c.execute(
                "UPDATE maintenance_runs SET status = ?2, ended_at = ?3, summary = ?4 WHERE id = ?1",
                params![run_id, status.as_str(), ended, json],
            )?;
            Ok(())
        });
        rec.note(r);
    }
    tracing::info!(
        run_id,
        status = status.as_str(),
        completed = summary.completed,
        failed = summary.failed,
        skipped = summary.skipped,
        "maintenance run finished"
    );
    if rec.complete {
        if let Ok(Some(r)) = env.db.read(|c| report(c, run_id)) {
            return Ok(Some(r));
        }
    }
    Ok(Some(RunReport { run_id, trigger: trigger.into(), status, started_at: started, ended_at: Some(ended), tasks: done, summary }))
}
