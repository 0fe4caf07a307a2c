//! The maintenance service: the daily schedule, one run at a time (started, cancelled, reported),
//! with the backup chores handed in by whoever composes the engine.

use super::{history, last_finished, report, task_list, BackupTask, MaintenanceStatus, RunEnv, RunReport, Runner, TaskStatus};
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

    /// Turns each run's integrity check into the `db_damaged` alert: raised (critical) when the
    /// check fails, settled when it passes; a skipped check says nothing.
    pub async fn watch_integrity(self: Arc<Self>) {
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
            let Some(check) = report.tasks.into_iter().find(|t| t.task_id == "db_integrity") else { continue };
            let level = match check.status {
                TaskStatus::Failed => Some(Severity::Critical),
                TaskStatus::Completed => None,
                _ => continue,
            };
            let message = check.message.unwrap_or_default();
            let path = self.core.db.path().display().to_string();
            self.core
                .with_alerts(move |m, c, now| {
                    m.settle(
                        c,
                        "db_integrity",
                        "caretaker.db".into(),
                        "db_damaged",
                        level,
                        "Caretaker's database is damaged".into(),
                        format!("The integrity check of {path} failed: {message}"),
                        serde_json::json!({ "path": path, "check": message }),
                        now,
                    )
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
