//! Maintenance: a data-driven list of tasks run one at a time, on a daily schedule or "Run now",
//! with live per-task progress, cancel, and history. Owns `maintenance_runs` and
//! `maintenance_task_runs`.

pub mod config;
pub mod preview;
pub(crate) mod sweep;
pub(crate) mod tasks;

pub use tasks::integrity_of;

mod prune;
mod records;
mod run;
pub(crate) mod service;

pub use records::{history, last_finished, mark_interrupted, report};

use crate::error::{EngineError, Result};
use crate::events::Event;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

/// What a task did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Completed { message: String, rows_pruned: u64, bytes_freed: u64 },
    Skipped { reason: String },
    Failed { message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Pending,
    Started,
    Completed,
    Failed,
    Skipped,
}

impl TaskStatus {
    fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Pending => "pending",
            TaskStatus::Started => "started",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
            TaskStatus::Skipped => "skipped",
        }
    }
    fn parse(s: &str) -> TaskStatus {
        match s {
            "started" => TaskStatus::Started,
            "completed" => TaskStatus::Completed,
            "failed" => TaskStatus::Failed,
            "skipped" => TaskStatus::Skipped,
            _ => TaskStatus::Pending,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Completed,
    Failed,
    Cancelled,
    Interrupted,
}

impl RunStatus {
    fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Interrupted => "interrupted",
        }
    }
    fn parse(s: &str) -> RunStatus {
        match s {
            "running" => RunStatus::Running,
            "failed" => RunStatus::Failed,
            "cancelled" => RunStatus::Cancelled,
            "interrupted" => RunStatus::Interrupted,
            _ => RunStatus::Completed,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct TaskInfo {
    pub id: String,
    pub name: String,
    pub description: String,
    /// Off until the person configures it.
    pub optional: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct TaskResult {
    pub task_id: String,
    pub name: String,
    pub status: TaskStatus,
    pub message: Option<String>,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub rows_pruned: u64,
    pub bytes_freed: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct RunSummary {
    pub completed: u32,
    pub failed: u32,
    pub skipped: u32,
    pub rows_pruned: u64,
    pub bytes_freed: u64,
    pub duration_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RunReport {
    pub run_id: i64,
    pub trigger: String,
    pub status: RunStatus,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub tasks: Vec<TaskResult>,
    pub summary: RunSummary,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MaintenanceStatus {
    /// The run in progress, with its tasks so far.
    pub running: Option<RunReport>,
    /// The newest finished run.
    pub last_run: Option<RunReport>,
    pub next_run_ms: Option<i64>,
    pub tasks: Vec<TaskInfo>,
}

pub fn task_list() -> Vec<TaskInfo> {
    tasks::REGISTRY
        .iter()
        .map(|(id, name, description, optional, _)| TaskInfo {
            id: (*id).into(),
            name: (*name).into(),
            description: (*description).into(),
            optional: *optional,
        })
        .collect()
}

fn task_name(id: &str) -> String {
    tasks::REGISTRY.iter().find(|t| t.0 == id).map_or(id.to_string(), |t| t.1.to_string())
}

/// One run at a time: the guard is a check-and-set under one lock.
#[derive(Default)]
pub struct Runner {
    current: Mutex<Option<(i64, CancellationToken, tokio::task::JoinHandle<()>)>>,
}

pub(crate) struct RunEnv {
    pub db: Arc<crate::store::Db>,
    pub config: crate::config::Config,
    pub data_dir: std::path::PathBuf,
    pub clock: Arc<dyn crate::Clock>,
    pub clock_watch: Arc<crate::clock::JumpWatch>,
    pub events: broadcast::Sender<Event>,
    /// Stops the run (shutdown, or the person's Cancel).
    pub cancel: CancellationToken,
    /// The engine's own token: when it fired, the run was interrupted by shutdown, not cancelled.
    pub shutdown: CancellationToken,
    /// The engine's runtime, so a run can start from any thread (a UI's main thread has none).
    pub runtime: tokio::runtime::Handle,
    /// Runs a backup chore for every plan; blocking. None where backups cannot run (tests of
    /// the runner itself).
    pub backup_task: Option<BackupTask>,
}

/// What maintenance asks of the backups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupChore {
    /// Check each plan's repository (structure, not a full read).
    Verify,
    /// Apply each plan's retention and prune.
    Prune,
}

pub(crate) type BackupTask = Arc<dyn Fn(BackupChore) -> Outcome + Send + Sync>;

impl Runner {
    pub fn running_id(&self) -> Option<i64> {
        self.current.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|c| c.0)
    }

    /// Starts a run, or refuses with "already running".
    pub(crate) fn start(self: &Arc<Self>, env: RunEnv, trigger: &str) -> Result<i64> {
        let mut cur = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((id, _, handle)) = cur.as_ref() {
            if !handle.is_finished() {
                return Err(EngineError::Busy(format!("maintenance is already running (run {id}); wait for it or cancel it")));
            }
        }
        let now = env.clock.now_ms();
        // A run that cannot be recorded (a full disk) still runs: its tasks are what frees space.
        let run_id = env.db.write(|c| run::begin(c, trigger, now)).unwrap_or_else(|e| {
            tracing::warn!("maintenance run not recorded, running it anyway: {e}");
            0
        });
        let cancel = env.cancel.clone();
        let me = self.clone();
        let runtime = env.runtime.clone();
        let trigger = trigger.to_string();
        let handle = runtime.spawn_blocking(move || {
            let report = run::execute(&env, run_id, &trigger);
            // Free the guard before saying the run is over, so whoever reacts to the event can
            // start the next one.
            {
                let mut cur = me.current.lock().unwrap_or_else(|p| p.into_inner());
                if cur.as_ref().is_some_and(|c| c.0 == run_id) {
                    *cur = None;
                }
            }
            match report {
                Ok(Some(report)) => {
                    let _ = env.events.send(Event::MaintenanceComplete { report });
                }
                Ok(None) => {}
                Err(e) => tracing::error!(run_id, "maintenance run failed to record: {e}"),
            }
        });
        *cur = Some((run_id, cancel, handle));
        Ok(run_id)
    }

    pub fn cancel(&self) -> Result<i64> {
        let cur = self.current.lock().unwrap_or_else(|p| p.into_inner());
        match cur.as_ref() {
            Some((id, token, _)) => {
                token.cancel();
                Ok(*id)
            }
            None => Err(EngineError::InvalidInput("no maintenance run is in progress".into())),
        }
    }

    /// Cancels any run and waits for it to reach a safe point (the end of its current task).
    pub async fn stop(&self) {
        let taken = self.current.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((_, token, handle)) = taken {
            token.cancel();
            let _ = tokio::time::timeout(std::time::Duration::from_secs(30), handle).await;
        }
    }
}
