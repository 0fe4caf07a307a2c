//! Backups: plans, the worker process that runs them, records, freshness and restore.
//!
//! The engine never links rustic_core: every job runs in a worker process (see `worker`), one job
//! at a time. Owns `backup_runs`.

pub mod config;
pub(crate) mod health;
pub(crate) mod jobs;
pub(crate) mod plans;
pub mod protocol;
pub(crate) mod reaper;
pub mod secret;
pub(crate) mod service;
pub mod store;
pub mod worker;

use config::{PlanConfig, Schedule};
use protocol::{ConflictReport, JobProgress, RestoreSummary};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
pub use store::BackupRun;
use ts_rs::TS;

crate::sql_enum! {
    /// What a backup job did.
    pub enum BackupRunKind {
        Backup = "backup",
        /// Retention: forget old snapshots, then prune.
        Forget = "forget",
        Check = "check",
        Restore = "restore",
    }
}

crate::sql_enum! {
    pub enum BackupRunStatus {
        Running = "running",
        Ok = "ok",
        Failed = "failed",
        Cancelled = "cancelled",
        /// Caretaker stopped while it ran.
        Interrupted = "interrupted",
    }
}

crate::sql_enum! {
    /// How a plan is doing, for its card and its alerts.
    pub enum PlanHealth {
        Ok = "ok",
        Never = "never",
        Running = "running",
        Overdue = "overdue",
        Failing = "failing",
    }
}

crate::sql_enum! {
    /// Where a repository's password is kept.
    pub enum PasswordStorage {
        Keychain = "keychain",
        /// A file only this user can read (no keychain here); the UI says so.
        File = "file",
        Missing = "missing",
    }
}

pub(crate) use BackupRunKind as RunKind;

/// A job in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct JobInfo {
    pub run_id: i64,
    pub plan: String,
    pub kind: BackupRunKind,
    pub started_ms: i64,
    pub progress: JobProgress,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PlanStatus {
    pub plan: PlanConfig,
    pub last_run: Option<BackupRun>,
    pub last_success_ms: Option<i64>,
    pub last_check: Option<BackupRun>,
    pub next_run_ms: Option<i64>,
    /// Size of the repository folder after the last backup.
    pub repository_bytes: Option<u64>,
    pub health: PlanHealth,
    pub health_message: String,
    pub password: PasswordStorage,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct BackupsOverview {
    pub plans: Vec<PlanStatus>,
    pub job: Option<JobInfo>,
    pub history: Vec<BackupRun>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RestoreOutcome {
    Done {
        summary: RestoreSummary,
    },
    /// Nothing was written: files exist where the restore would put its own. Ask, then retry with a policy.
    Conflict {
        report: ConflictReport,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PlanCreated {
    pub password_stored_in: PasswordStorage,
    /// True when the repository already existed (restic or an earlier Caretaker) and was opened.
    pub existing_repository: bool,
}

/// The binary that serves as worker: this one, unless told otherwise.
pub fn default_worker_exe() -> PathBuf {
    std::env::current_exe().unwrap_or_else(|_| PathBuf::from("caretaker"))
}

/// Whether a plan should run now. `last_attempt` is (started, succeeded).
pub fn is_due(schedule: Schedule, last_attempt: Option<(i64, bool)>, now_ms: i64) -> bool {
    const RETRY_MS: i64 = 30 * 60_000;
    match (schedule, last_attempt) {
        (Schedule::Manual, _) => false,
        (_, None) => true,
        (Schedule::Hourly, Some((t, ok))) => now_ms - t >= 3_600_000 || (!ok && now_ms - t >= RETRY_MS),
        (Schedule::Daily(minute), Some((t, ok))) => {
            let previous = crate::maintenance::next_daily(now_ms, minute) - 86_400_000;
            t < previous || (!ok && now_ms - t >= RETRY_MS)
        }
    }
}

pub(crate) fn next_run(schedule: Schedule, last_attempt: Option<(i64, bool)>, now_ms: i64) -> Option<i64> {
    match schedule {
        Schedule::Manual => None,
        _ if is_due(schedule, last_attempt, now_ms) => Some(now_ms),
        Schedule::Hourly => last_attempt.map(|(t, _)| t + 3_600_000),
        Schedule::Daily(minute) => Some(crate::maintenance::next_daily(now_ms, minute)),
    }
}

pub(crate) fn dir_size(path: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else { continue };
        for e in rd.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

pub(crate) const STAGING: &str = "backup-staging";
pub(crate) const DB_COPY: &str = "caretaker-snapshot.db";
