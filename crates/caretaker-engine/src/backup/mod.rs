//! Backups: plans, the worker process that runs them, records, freshness and restore.
//!
//! The engine never links rustic_core: every job runs in a worker process (see `worker`), one job
//! at a time. Owns `backup_runs`.

pub mod config;
pub(crate) mod health;
pub(crate) mod jobs;
pub mod location;
pub mod own_data;
pub(crate) mod passwords;
pub mod plan_edit;
pub(crate) mod plans;
pub mod power;
pub mod protocol;
pub(crate) mod reaper;
pub mod remote;
pub mod secret;
pub(crate) mod service;
pub mod ssh_key;
pub mod ssh_login;
pub mod store;
pub mod timemachine;
pub mod worker;

use crate::clock::schedule::{age_ms, next_daily, previous_daily, HOUR_MS};
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
        /// Completed and saved a snapshot, but some files or folders could not be read and are
        /// not in it: a warning, never a plain success.
        Partial = "partial",
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
        /// The last backup completed without some files it could not read.
        Partial = "partial",
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
    /// Why the scheduled backup, due now, waits (on battery, metered); None when it does not.
    pub paused: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct BackupsOverview {
    pub plans: Vec<PlanStatus>,
    pub job: Option<JobInfo>,
    pub history: Vec<BackupRun>,
    /// True on macOS, where folders under privacy protection stay unreadable until Caretaker
    /// has Full Disk Access: the page explains that when a backup was refused reading.
    pub macos: bool,
    /// Time Machine's latest backup, as a second signal; None where there is none (off, or not macOS).
    pub time_machine: Option<timemachine::TimeMachine>,
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
    is_due_in(&chrono::Local, schedule, last_attempt, now_ms)
}

/// [`is_due`] in the local calendar of `tz`. A last attempt in the future means the wall clock
/// went back since: it says nothing about when the plan last ran, so the plan is due as if it
/// never had (once; the attempt it starts is the one looked at next).
pub fn is_due_in<Tz: chrono::TimeZone>(tz: &Tz, schedule: Schedule, last_attempt: Option<(i64, bool)>, now_ms: i64) -> bool {
    const RETRY_MS: i64 = 30 * 60_000;
    let last = last_attempt.map(|(t, ok)| (t, ok, age_ms(now_ms, t)));
    match (schedule, last) {
        (Schedule::Manual, _) => false,
        (_, None) | (_, Some((_, _, None))) => true,
        (Schedule::Hourly, Some((_, ok, Some(age)))) => age >= HOUR_MS || (!ok && age >= RETRY_MS),
        (Schedule::Daily(minute), Some((t, ok, Some(age)))) => t < previous_daily(tz, now_ms, minute) || (!ok && age >= RETRY_MS),
    }
}

pub(crate) fn next_run(schedule: Schedule, last_attempt: Option<(i64, bool)>, now_ms: i64) -> Option<i64> {
    match schedule {
        Schedule::Manual => None,
        _ if is_due(schedule, last_attempt, now_ms) => Some(now_ms),
        Schedule::Hourly => last_attempt.map(|(t, _)| t + HOUR_MS),
        Schedule::Daily(minute) => Some(next_daily(&chrono::Local, now_ms, minute)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::schedule::tests::{at, utc};
    use chrono_tz::{America::New_York, Europe::Berlin};

    const MIN: i64 = 60_000;

    #[test]
    fn a_daily_plan_in_the_spring_gap_runs_once_that_day() {
        let daily = Schedule::Daily(2 * 60);
        for (tz, day, gap_end) in [(Berlin, 29, "2026-03-29T01:00:00Z"), (New_York, 8, "2026-03-08T07:00:00Z")] {
            let gap_end = utc(gap_end);
            let saturday_run = Some((at(tz, 2026, 3, day - 1, 2, 0, false), true));
            assert!(!is_due_in(&tz, daily, saturday_run, gap_end - MIN), "{tz}: not before the gap ends");
            assert!(is_due_in(&tz, daily, saturday_run, gap_end), "{tz}: due when the gap ends");
            // Run at the end of the gap, then every 30 s tick of the rest of the day finds it done.
            let sunday_run = Some((gap_end + 1000, true));
            let midnight = at(tz, 2026, 3, day + 1, 0, 0, false);
            let mut now = gap_end + 30_000;
            while now < midnight {
                assert!(!is_due_in(&tz, daily, sunday_run, now), "{tz}: due again at {now}");
                now += 30_000;
            }
            assert!(is_due_in(&tz, daily, sunday_run, at(tz, 2026, 3, day + 1, 2, 0, false)), "{tz}: due on Monday");
        }
    }

    #[test]
    fn a_daily_plan_in_the_repeated_hour_runs_at_its_first_occurrence_only() {
        let cases = [(Berlin, (10, 24), (10, 25), 2), (New_York, (10, 31), (11, 1), 1)];
        for (tz, (pmo, pday), (mo, day), hour) in cases {
            let daily = Schedule::Daily(hour * 60 + 30);
            let saturday_run = Some((at(tz, 2026, pmo, pday, hour, 30, false), true));
            let (first, second) = (at(tz, 2026, mo, day, hour, 30, false), at(tz, 2026, mo, day, hour, 30, true));
            assert!(!is_due_in(&tz, daily, saturday_run, first - MIN), "{tz}");
            assert!(is_due_in(&tz, daily, saturday_run, first), "{tz}: due at the first occurrence");
            let sunday_run = Some((first + 1000, true));
            assert!(!is_due_in(&tz, daily, sunday_run, second), "{tz}: not again when the hour repeats");
            assert!(!is_due_in(&tz, daily, sunday_run, second + 30 * MIN), "{tz}");
        }
    }

    #[test]
    fn a_last_attempt_in_the_future_means_the_clock_went_back_and_the_plan_is_due() {
        let now = utc("2026-06-10T12:00:00Z");
        for schedule in [Schedule::Hourly, Schedule::Daily(2 * 60)] {
            // A backup ran "tomorrow", then the clock was set back a day.
            assert!(is_due_in(&Berlin, schedule, Some((now + 86_400_000, true)), now), "{schedule:?}");
            // A small correction is not a jump: the run a minute "ahead" still counts.
            assert!(!is_due_in(&Berlin, schedule, Some((now + MIN, true)), now), "{schedule:?}");
        }
        assert!(!is_due_in(&Berlin, Schedule::Manual, Some((now + 86_400_000, true)), now));
    }

    #[test]
    fn the_newest_run_is_the_last_one_recorded_even_when_the_clock_went_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = crate::store::open_and_migrate(&dir.path().join("caretaker.db")).expect("open db");
        let ok = Ok(store::Finish::Other { details: String::new() });
        let (ahead, now) = (utc("2026-06-11T12:00:00Z"), utc("2026-06-10T12:00:00Z"));
        for t in [ahead, now] {
            let id = store::insert(&conn, "p", BackupRunKind::Backup, "schedule", t).expect("insert");
            store::finish(&conn, id, t + 1000, &ok).expect("finish");
        }
        let last = store::last(&conn, "p", BackupRunKind::Backup, false).expect("last").map(|r| r.started_ms);
        assert_eq!(last, Some(now));
        assert!(!is_due_in(&Berlin, Schedule::Daily(120), last.map(|t| (t, true)), now + MIN), "the run after the jump counts");
    }
}
