//! The maintenance service: the daily schedule, one run at a time (started, cancelled, reported),
//! with the backup chores handed in by whoever composes the engine.

use super::{history, last_finished, report, task_list, BackupTask, MaintenanceStatus, RunEnv, RunReport, Runner, TaskResult, TaskStatus};
use crate::alerts::Severity;
use crate::core::{Core, Wake};
use crate::error::Result;
use crate::events::Event;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

pub(crate) struct Service {
    core: Arc<Core>,
    runner: Arc<Runner>,
    backup_task: OnceLock<BackupTask>,
}

impl Service {
    pub fn new(core: Arc<Core>) -> Arc<Self> {
        Arc::new(Service { core, runner: Arc::new(Runner::default()), backup_task: OnceLock::new() })
    }

    /// Lets runs verify and prune the backups (set once, while the engine is composed).
    pub fn set_backup_task(&self, task: BackupTask) {
        let _ = self.backup_task.set(task);
    }

    /// Runs maintenance every day at `maintenance.daily_at` (local time).
    pub async fn run(self: Arc<Self>) {
        let mut changes = self.core.config_changes();
        loop {
            // Switched off: wait for the configuration to change. A new time counts at once.
            let wait = self.next_ms().map(|next| Duration::from_millis((next - self.core.now()).max(1000) as u64));
            match self.core.sleep_or_reconfigured(wait, &mut changes).await {
                Wake::Stopped => return,
                Wake::Reconfigured => continue,
                Wake::Elapsed => {}
            }
            match self.start("schedule") {
                Ok(id) => tracing::info!(run_id = id, "scheduled maintenance started"),
                Err(e) => tracing::warn!("scheduled maintenance did not start: {e}"),
            }
            // Never twice for the same minute.
            if !self.core.sleep(Duration::from_secs(61)).await {
                return;
            }
        }
    }

    fn next_ms(&self) -> Option<i64> {
        self.core.config().maintenance.next_run(&chrono::Local, self.core.now())
    }

    /// Starts a run; a second call while one runs is refused ("already running").
    pub fn start(&self, trigger: &str) -> Result<i64> {
        let core = &self.core;
        let env = RunEnv {
            db: core.db.clone(),
            config: core.config(),
            data_dir: core.data_dir.clone(),
            clock: core.clock.clone(),
            clock_watch: core.clock_watch.clone(),
            events: core.bus(),
            cancel: core.cancel.child_token(),
            shutdown: core.cancel.clone(),
            runtime: core.runtime.clone(),
            backup_task: self.backup_task.get().cloned(),
        };
        self.runner.start(env, trigger)
    }

    /// Cancels the run in progress after its current task.
    pub fn cancel(&self) -> Result<i64> {
        self.runner.cancel()
    }

    /// Turns each run's results into alerts: the integrity check into `db_damaged` (critical when
    /// it fails), every other task into `maintenance_failed` (a warning naming the task and the
    /// reason). A task that completes settles its alert; a skipped one says nothing.
    pub async fn watch_results(self: Arc<Self>) {
        let mut events = self.core.subscribe();
        loop {
            let report = tokio::select! {
                _ = self.core.cancel.cancelled() => return,
                e = events.recv() => match e {
                    Ok(Event::MaintenanceComplete { report }) => report,
                    Ok(_) | Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return,
                },
            };
            let path = self.core.db.path().display().to_string();
            let run_id = report.run_id;
            let fx_list: Vec<_> = report.tasks.into_iter().filter_map(|t| task_signal(t, &path, run_id)).collect();
            if fx_list.is_empty() {
                continue;
            }
            self.core
                .with_alerts(move |m, c, now| {
                    let mut fx = crate::alerts::Effects::default();
                    // A full data disk has its own alert, which says why the tasks failed: one
                    // alert, not one per task.
                    let disk_full = m.open_alert(crate::alerts::DISK_RULE, crate::alerts::DISK_SUBJECT).is_some();
                    for s in fx_list {
                        if disk_full && s.level.is_some() && s.rule == MAINTENANCE_RULE {
                            continue;
                        }
                        fx.merge(m.settle(c, s.rule, s.subject, s.alert_type, s.level, s.title, s.message, s.details, now)?);
                    }
                    Ok(fx)
                })
                .await;
        }
    }

    /// Waits for a run in progress to reach a safe point (shutdown).
    pub async fn stop(&self) {
        self.runner.stop().await;
    }

    pub async fn status(&self) -> Result<MaintenanceStatus> {
        let running = self.runner.running_id();
        let next = self.next_ms();
        self.core
            .db
            .read_async(move |c| {
                Ok(MaintenanceStatus {
                    running: match running {
                        Some(id) => report(c, id)?,
                        None => None,
                    },
                    last_run: last_finished(c)?,
                    next_run_ms: next,
                    tasks: task_list(),
                })
            })
            .await
    }

    pub async fn history(&self, limit: u32) -> Result<Vec<RunReport>> {
        self.core.db.read_async(move |c| history(c, limit.min(200))).await
    }
}

/// What one finished task says to the alert engine.
struct TaskSignal {
    rule: &'static str,
    subject: String,
    alert_type: &'static str,
    level: Option<Severity>,
    title: String,
    message: String,
    details: serde_json::Value,
}

/// `None` for a task that was skipped or did not finish (nothing learnt either way).
fn task_signal(t: TaskResult, db_path: &str, run_id: i64) -> Option<TaskSignal> {
    let failed = match t.status {
        TaskStatus::Failed => true,
        TaskStatus::Completed => false,
        _ => return None,
    };
    let reason = t.message.unwrap_or_default();
    Some(if t.task_id == "db_integrity" {
        TaskSignal {
            rule: "db_integrity",
            subject: "caretaker.db".into(),
            alert_type: "db_damaged",
            level: failed.then_some(Severity::Critical),
            title: "Caretaker's database is damaged".into(),
            message: format!("The integrity check of {db_path} failed: {reason}"),
            details: serde_json::json!({ "path": db_path, "check": reason }),
        }
    } else {
        TaskSignal {
            rule: MAINTENANCE_RULE,
            title: format!("Maintenance: {} failed", t.name),
            message: format!("{} failed during maintenance run {run_id}: {reason}", t.name),
            details: serde_json::json!({ "task": t.task_id, "task_name": t.name, "run_id": run_id, "reason": reason }),
            subject: t.task_id,
            alert_type: "maintenance_failed",
            level: failed.then_some(Severity::Warning),
        }
    })
}

/// The rule a failed maintenance task is filed under (subject: the task's id).
pub const MAINTENANCE_RULE: &str = "maintenance";
