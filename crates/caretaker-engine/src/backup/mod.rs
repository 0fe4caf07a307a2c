//! Backups: plans, the worker process that runs them, records, freshness and restore.
//!
//! The engine never links rustic_core: every job runs in a worker process (see `worker`), one job
//! at a time. Owns `backup_runs`.

pub mod config;
pub mod protocol;
pub mod secret;
pub mod store;
pub mod worker;

use crate::alerts::Severity;
use crate::error::{EngineError, Result};
use crate::events::Event;
use crate::{paths, EngineHandle};
use config::{PlanConfig, Schedule};
use protocol::{
    BackupJob, BackupSummary, VerifySummary, ConflictPolicy, ConflictReport, ErrorKind, Op, JobProgress, Request, RestoreJob,
    RestoreSummary, SnapshotInfo, TreeEntry,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;
pub use store::BackupRun;
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

/// A job in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct JobInfo {
    pub run_id: i64,
    pub plan: String,
    pub kind: String,
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
    /// "ok", "never", "running", "overdue", "failing".
    pub health: String,
    pub health_message: String,
    /// "keychain", "file" (with a warning in the UI) or "missing".
    pub password: String,
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
    Done { summary: RestoreSummary },
    /// Nothing was written: files exist where the restore would put its own. Ask, then retry with a policy.
    Conflict { report: ConflictReport },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PlanCreated {
    /// "keychain" or "file".
    pub password_stored_in: String,
    /// True when the repository already existed (restic or an earlier Caretaker) and was opened.
    pub existing_repository: bool,
}

struct Running {
    info: JobInfo,
    cancel: CancellationToken,
    /// Held between a backup and its retention run, so nothing slips in between.
    handed_over: bool,
}

/// The backup part of the engine's state.
pub struct State {
    worker_exe: PathBuf,
    job: Mutex<Option<Running>>,
    /// Master keys by repository path, in memory only (see `protocol::Request::key`).
    keys: Mutex<std::collections::HashMap<String, String>>,
}

impl State {
    pub fn new(worker_exe: PathBuf) -> Self {
        State { worker_exe, job: Mutex::new(None), keys: Mutex::new(Default::default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Running>> {
        self.job.lock().unwrap_or_else(|p| p.into_inner())
    }
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

fn next_run(schedule: Schedule, last_attempt: Option<(i64, bool)>, now_ms: i64) -> Option<i64> {
    match schedule {
        Schedule::Manual => None,
        _ if is_due(schedule, last_attempt, now_ms) => Some(now_ms),
        Schedule::Hourly => last_attempt.map(|(t, _)| t + 3_600_000),
        Schedule::Daily(minute) => Some(crate::maintenance::next_daily(now_ms, minute)),
    }
}

fn dir_size(path: &Path) -> u64 {
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

const STAGING: &str = "backup-staging";
const DB_COPY: &str = "caretaker-snapshot.db";

impl EngineHandle {
    fn backups_state(&self) -> &State {
        &self.inner.backups
    }

    fn plan(&self, name: &str) -> Result<PlanConfig> {
        self.config()
            .backups
            .plan(name)
            .cloned()
            .ok_or_else(|| EngineError::InvalidInput(format!("there is no backup plan called \"{name}\"")))
    }

    fn password_for(&self, plan: &PlanConfig) -> Result<String> {
        secret::load(&self.inner.data_dir, &plan.repository)
    }

    /// A consistent copy of the live database (`VACUUM INTO`) and the config, for the default plan.
    async fn stage_own_data(&self) -> Result<PathBuf> {
        let dir = self.inner.data_dir.join(STAGING);
        std::fs::create_dir_all(&dir).map_err(|e| EngineError::io(format!("cannot create {}", dir.display()), e))?;
        let copy = dir.join(DB_COPY);
        if copy.exists() {
            std::fs::remove_file(&copy).map_err(|e| EngineError::io(format!("cannot replace {}", copy.display()), e))?;
        }
        let target = copy.to_string_lossy().into_owned();
        self.inner.db.read_async(move |c| Ok(c.execute("VACUUM INTO ?1", [target]).map(|_| ())?)).await?;
        let cfg = self.inner.data_dir.join(paths::CONFIG_FILE);
        if cfg.exists() {
            std::fs::copy(&cfg, dir.join(paths::CONFIG_FILE)).map_err(|e| EngineError::io("cannot copy caretaker.toml for the backup", e))?;
        }
        Ok(dir)
    }

    /// Takes the one job slot, records the run, and gives back (run id, cancel token).
    async fn begin_job(&self, plan: &str, kind: &str, trigger: &str) -> Result<(i64, CancellationToken)> {
        let now = self.inner.clock.now_ms();
        let cancel = self.inner.cancel.child_token();
        {
            let mut slot = self.backups_state().lock();
            if let Some(r) = slot.as_ref().filter(|r| !(r.handed_over && r.info.plan == plan)) {
                return Err(EngineError::Busy(format!("a {} of \"{}\" is already running; wait for it or cancel it", r.info.kind, r.info.plan)));
            }
            *slot = Some(Running {
                info: JobInfo { run_id: 0, plan: plan.into(), kind: kind.into(), started_ms: now, progress: JobProgress::default() },
                cancel: cancel.clone(),
                handed_over: false,
            });
        }
        let (p, k, t) = (plan.to_string(), kind.to_string(), trigger.to_string());
        let id = match self.inner.db.write_async(move |c| store::insert(c, &p, &k, &t, now)).await {
            Ok(id) => id,
            Err(e) => {
                *self.backups_state().lock() = None;
                return Err(e);
            }
        };
        let info = {
            let mut slot = self.backups_state().lock();
            slot.as_mut().map(|r| {
                r.info.run_id = id;
                r.info.clone()
            })
        };
        if let Some(job) = info {
            let _ = self.inner.events.send(Event::BackupProgress { job });
        }
        Ok((id, cancel))
    }

    fn on_progress(&self, p: JobProgress) {
        let info = {
            let mut slot = self.backups_state().lock();
            slot.as_mut().map(|r| {
                r.info.progress = p;
                r.info.clone()
            })
        };
        if let Some(job) = info {
            let _ = self.inner.events.send(Event::BackupProgress { job });
        }
    }

    /// Records how a job ended, frees the slot (or keeps it for the same plan's next step), then
    /// tells the UI.
    async fn end_job(&self, id: i64, result: std::result::Result<store::Finish, worker::JobError>) -> Result<BackupRun> {
        self.end_job_then(id, result, false).await
    }

    async fn end_job_then(&self, id: i64, result: std::result::Result<store::Finish, worker::JobError>, hand_over: bool) -> Result<BackupRun> {
        let now = self.inner.clock.now_ms();
        let run = self.inner.db.write_async(move |c| store::finish(c, id, now, &result)).await;
        {
            let mut slot = self.backups_state().lock();
            match slot.as_mut() {
                Some(r) if hand_over => r.handed_over = true,
                _ => *slot = None,
            }
        }
        let run = run?;
        let _ = self.inner.events.send(Event::BackupFinished { run: run.clone() });
        Ok(run)
    }

    async fn call_worker(&self, plan: &PlanConfig, op: Op, cancel: &CancellationToken) -> std::result::Result<serde_json::Value, worker::JobError> {
        let password = self.password_for(plan).map_err(|e| worker::JobError::new(ErrorKind::WrongPassword, e.to_string()))?;
        let keys = &self.backups_state().keys;
        let key = keys.lock().unwrap_or_else(|p| p.into_inner()).get(&plan.repository).cloned();
        let req = Request { repository: PathBuf::from(&plan.repository), password, key, op };
        let exe = self.backups_state().worker_exe.clone();
        let this = self.clone();
        let mut derived = None;
        let result = worker::call_keyed(&exe, &req, move |p| this.on_progress(p), |k| derived = Some(k), cancel).await;
        if let Some(k) = derived {
            keys.lock().unwrap_or_else(|p| p.into_inner()).insert(plan.repository.clone(), k);
        }
        result
    }

    /// Starts a backup of `plan` now (then its retention); returns the run id at once.
    pub async fn backup_now(&self, plan: &str) -> Result<i64> {
        self.start_backup(plan, "manual").await
    }

    async fn start_backup(&self, plan: &str, trigger: &str) -> Result<i64> {
        let plan = self.plan(plan)?;
        let (id, cancel) = self.begin_job(&plan.name, "backup", trigger).await?;
        let this = self.clone();
        tokio::spawn(async move {
            let result = this.run_backup(&plan, &cancel).await;
            let ok = result.is_ok();
            match this.end_job_then(id, result, ok).await {
                Ok(run) => tracing::info!(plan = %plan.name, run_id = id, status = %run.status, "backup finished"),
                Err(e) => tracing::warn!(plan = %plan.name, "could not record the backup: {e}"),
            }
            if ok {
                this.apply_retention(&plan, "after backup").await;
            }
            this.evaluate_backups().await;
        });
        Ok(id)
    }

    async fn run_backup(&self, plan: &PlanConfig, cancel: &CancellationToken) -> std::result::Result<store::Finish, worker::JobError> {
        let mut sources: Vec<PathBuf> = plan.sources.iter().map(PathBuf::from).collect();
        if plan.include_caretaker_data {
            let staged = self.stage_own_data().await.map_err(|e| worker::JobError::new(ErrorKind::Failed, format!("cannot copy Caretaker's own data: {e}")))?;
            sources.push(staged);
        }
        let job = BackupJob { sources, excludes: plan.all_excludes(), host: plan.host.clone(), tags: vec![plan.tag()], label: plan.name.clone() };
        let value = self.call_worker(plan, Op::Backup(job), cancel).await?;
        let summary: BackupSummary = serde_json::from_value(value).map_err(|e| worker::JobError::new(ErrorKind::Failed, format!("unexpected answer from the worker: {e}")))?;
        let repo = PathBuf::from(&plan.repository);
        let size = tokio::task::spawn_blocking(move || dir_size(&repo)).await.ok();
        Ok(store::Finish::Backup { summary, repository_bytes: size })
    }

    async fn apply_retention(&self, plan: &PlanConfig, trigger: &str) {
        let (id, cancel) = match self.begin_job(&plan.name, "forget", trigger).await {
            Ok(v) => v,
            Err(e) => {
                self.release_handed_over();
                return tracing::warn!(plan = %plan.name, "retention did not run: {e}");
            }
        };
        let op = Op::Forget { host: plan.host.clone(), tag: plan.tag(), keep: plan.keep.clone() };
        let result = self.call_worker(plan, op, &cancel).await.map(|v| store::Finish::Other { details: v.to_string() });
        if let Err(e) = self.end_job(id, result).await {
            tracing::warn!("could not record the retention run: {e}");
        }
    }

    /// Checks a plan's repository now: structure only, or with a rotating twelfth of the data.
    pub async fn verify_backup(&self, plan: &str, read_data: bool, trigger: &str) -> Result<BackupRun> {
        let plan = self.plan(plan)?;
        let slice = if read_data {
            let name = plan.name.clone();
            let done = self.inner.db.read_async(move |c| store::count_read_data(c, &name)).await?;
            Some(((done % 12) as u32 + 1, 12))
        } else {
            None
        };
        let (id, cancel) = self.begin_job(&plan.name, "check", trigger).await?;
        let result = self.call_worker(&plan, Op::Check { read_subset: slice }, &cancel).await.and_then(|v| {
            let s: VerifySummary = serde_json::from_value(v).map_err(|e| worker::JobError::new(ErrorKind::Failed, format!("unexpected answer from the worker: {e}")))?;
            if s.errors.is_empty() {
                Ok(store::Finish::Check { summary: s })
            } else {
                Err(worker::JobError::new(ErrorKind::Corrupt, format!("the repository is damaged: {}", s.errors.join("; "))))
            }
        });
        let run = self.end_job(id, result).await?;
        self.evaluate_backups().await;
        Ok(run)
    }

    /// Applies a plan's retention now (forget, then prune with instant delete).
    pub async fn prune_backup(&self, plan: &str) -> Result<()> {
        let plan = self.plan(plan)?;
        self.apply_retention(&plan, "manual").await;
        Ok(())
    }

    fn release_handed_over(&self) {
        let mut slot = self.backups_state().lock();
        if slot.as_ref().is_some_and(|r| r.handed_over) {
            *slot = None;
        }
    }

    /// Kills the running job's worker. The repository stays valid.
    pub fn cancel_backup_job(&self) -> Result<i64> {
        let slot = self.backups_state().lock();
        match slot.as_ref() {
            Some(r) => {
                r.cancel.cancel();
                Ok(r.info.run_id)
            }
            None => Err(EngineError::InvalidInput("no backup job is running".into())),
        }
    }

    pub fn backup_job(&self) -> Option<JobInfo> {
        self.backups_state().lock().as_ref().map(|r| r.info.clone())
    }

    pub async fn backups_overview(&self) -> Result<BackupsOverview> {
        let cfg = self.config().backups;
        let now = self.inner.clock.now_ms();
        let job = self.backup_job();
        let data_dir = self.inner.data_dir.clone();
        let storages: Vec<String> = cfg
            .plans
            .iter()
            .map(|p| match secret::storage(&data_dir, &p.repository) {
                Some(secret::Storage::Keychain) => "keychain".to_string(),
                Some(secret::Storage::File) => "file".to_string(),
                None => "missing".to_string(),
            })
            .collect();
        self.inner
            .db
            .read_async(move |c| {
                let mut plans = Vec::new();
                for (plan, password) in cfg.plans.into_iter().zip(storages) {
                    let last_run = store::last(c, &plan.name, "backup", false)?;
                    let last_ok = store::last(c, &plan.name, "backup", true)?;
                    let last_check = store::last(c, &plan.name, "check", false)?;
                    let attempt = last_run.as_ref().map(|r| (r.started_ms, r.status == "ok"));
                    let running = job.as_ref().is_some_and(|j| j.plan == plan.name);
                    let (health, message) = health(&plan, last_run.as_ref(), last_ok.as_ref(), last_check.as_ref(), running, now);
                    plans.push(PlanStatus {
                        next_run_ms: next_run(plan.schedule(), attempt, now),
                        repository_bytes: last_ok.as_ref().and_then(|r| r.repository_bytes),
                        last_success_ms: last_ok.as_ref().and_then(|r| r.finished_ms),
                        last_run,
                        last_check,
                        health: health.into(),
                        health_message: message,
                        password,
                        plan,
                    });
                }
                Ok(BackupsOverview { plans, job, history: store::history(c, 30)? })
            })
            .await
    }

    pub async fn backup_history(&self, plan: Option<String>, limit: u32) -> Result<Vec<BackupRun>> {
        self.inner.db.read_async(move |c| store::history_of(c, plan.as_deref(), limit.min(500))).await
    }

    /// A strong password for a new repository (the wizard shows it once, to write down).
    pub fn suggest_backup_password(&self) -> Result<String> {
        secret::suggest()
    }

    /// Creates (or adopts an existing) repository, keeps its password, and adds the plan.
    pub async fn create_backup_plan(&self, mut plan: PlanConfig, password: String) -> Result<PlanCreated> {
        // Written once, then fixed: a renamed machine keeps finding its parent snapshots.
        if plan.host.trim().is_empty() {
            plan.host = self.inner.hostname.clone();
        }
        let _edit = self.inner.config_edit.lock().await;
        let mut next = self.config();
        if next.backups.plan(&plan.name).is_some() {
            return Err(EngineError::InvalidInput(format!("another plan is already called \"{}\"", plan.name)));
        }
        next.backups.plans.push(plan.clone());
        let issues = next.validate();
        if !issues.is_empty() {
            return Err(EngineError::Config(issues));
        }
        let existing = Path::new(&plan.repository).join("config").exists();
        let req = Request { repository: PathBuf::from(&plan.repository), password: password.clone(), key: None, op: if existing { Op::Snapshots } else { Op::Init } };
        let exe = self.backups_state().worker_exe.clone();
        let mut key = None;
        worker::call_keyed(&exe, &req, |_| {}, |k| key = Some(k), &self.inner.cancel.child_token())
            .await
            .map_err(|e| EngineError::InvalidInput(e.message))?;
        let stored = secret::store(&self.inner.data_dir, &plan.repository, &password)?;
        if let Some(k) = key {
            self.backups_state().keys.lock().unwrap_or_else(|p| p.into_inner()).insert(plan.repository.clone(), k);
        }
        crate::config::write_plans(&self.inner.data_dir.join(paths::CONFIG_FILE), &next.backups.plans)?;
        if let Ok(mut c) = self.inner.config.write() {
            *c = next;
        }
        tracing::info!(plan = %plan.name, "backup plan created");
        Ok(PlanCreated { password_stored_in: if stored == secret::Storage::Keychain { "keychain" } else { "file" }.into(), existing_repository: existing })
    }

    /// Removes a plan from the config. Its repository and snapshots are left as they are.
    pub async fn delete_backup_plan(&self, name: String) -> Result<()> {
        let _edit = self.inner.config_edit.lock().await;
        let mut next = self.config();
        let before = next.backups.plans.len();
        next.backups.plans.retain(|p| p.name != name);
        if next.backups.plans.len() == before {
            return Err(EngineError::InvalidInput(format!("there is no backup plan called \"{name}\"")));
        }
        crate::config::write_plans(&self.inner.data_dir.join(paths::CONFIG_FILE), &next.backups.plans)?;
        if let Ok(mut c) = self.inner.config.write() {
            *c = next;
        }
        self.evaluate_backups().await;
        Ok(())
    }

    /// Replaces the stored password of a plan's repository after checking that it opens it.
    pub async fn set_backup_password(&self, plan: &str, password: String) -> Result<()> {
        let plan = self.plan(plan)?;
        let req = Request { repository: PathBuf::from(&plan.repository), password: password.clone(), key: None, op: Op::Snapshots };
        let exe = self.backups_state().worker_exe.clone();
        worker::call(&exe, &req, |_| {}, &self.inner.cancel.child_token()).await.map_err(|e| EngineError::InvalidInput(e.message))?;
        secret::store(&self.inner.data_dir, &plan.repository, &password)?;
        self.backups_state().keys.lock().unwrap_or_else(|p| p.into_inner()).remove(&plan.repository);
        Ok(())
    }

    async fn quick(&self, plan: &str, op: Op) -> Result<serde_json::Value> {
        let plan = self.plan(plan)?;
        self.call_worker(&plan, op, &self.inner.cancel.child_token()).await.map_err(|e| EngineError::InvalidInput(e.message))
    }

    pub async fn backup_snapshots(&self, plan: &str) -> Result<Vec<SnapshotInfo>> {
        let v = self.quick(plan, Op::Snapshots).await?;
        serde_json::from_value(v).map_err(|e| EngineError::Internal(e.to_string()))
    }

    pub async fn backup_ls(&self, plan: &str, snapshot: String, path: String) -> Result<Vec<TreeEntry>> {
        let v = self.quick(plan, Op::Ls { snapshot, path }).await?;
        serde_json::from_value(v).map_err(|e| EngineError::Internal(e.to_string()))
    }

    /// Restores a snapshot, a folder or a file into `destination`. Refuses (and writes nothing)
    /// when files would be replaced and no policy was chosen.
    pub async fn restore_backup(&self, plan: &str, snapshot: String, path: String, destination: String, on_conflict: Option<ConflictPolicy>) -> Result<RestoreOutcome> {
        let plan = self.plan(plan)?;
        let dest = PathBuf::from(&destination);
        if !dest.is_absolute() {
            return Err(EngineError::InvalidInput(format!("the destination must be an absolute folder path (got \"{destination}\")")));
        }
        let (id, cancel) = self.begin_job(&plan.name, "restore", "manual").await?;
        let job = RestoreJob { snapshot, path, destination: dest, on_conflict, host: plan.host.clone() };
        let result = self.call_worker(&plan, Op::Restore(job), &cancel).await;
        let (record, outcome) = match result {
            Ok(v) => match serde_json::from_value::<RestoreSummary>(v) {
                Ok(summary) => (Ok(store::Finish::Other { details: serde_json::to_string(&summary).unwrap_or_default() }), Ok(RestoreOutcome::Done { summary })),
                Err(e) => {
                    let err = worker::JobError::new(ErrorKind::Failed, format!("unexpected answer from the worker: {e}"));
                    (Err(err.clone()), Err(EngineError::Internal(err.message)))
                }
            },
            Err(e) if e.kind == ErrorKind::Conflict => {
                let report: ConflictReport = serde_json::from_str(&e.message).unwrap_or_default();
                let note = worker::JobError::new(ErrorKind::Conflict, format!("{} existing file(s) would be replaced: asked what to do, nothing written", report.existing));
                (Err(note), Ok(RestoreOutcome::Conflict { report }))
            }
            Err(e) => (Err(e.clone()), Err(EngineError::InvalidInput(format!("restore failed: {}", e.message)))),
        };
        self.end_job(id, record).await?;
        outcome
    }

    /// Opens, keeps or resolves each plan's alerts: failed runs, overdue plans, failed checks.
    pub async fn evaluate_backups(&self) {
        let cfg = self.config().backups;
        let now = self.inner.clock.now_ms();
        let states = self
            .inner
            .db
            .read_async(move |c| {
                let mut v = Vec::new();
                for p in cfg.plans {
                    let last = store::last(c, &p.name, "backup", false)?;
                    let ok = store::last(c, &p.name, "backup", true)?;
                    let check = store::last(c, &p.name, "check", false)?;
                    v.push((p, last, ok, check));
                }
                Ok(v)
            })
            .await;
        let states = match states {
            Ok(s) => s,
            Err(e) => return tracing::warn!("cannot read backup runs: {e}"),
        };
        self.with_alerts(move |m, c, _| {
            let mut fx = crate::alerts::Effects::default();
            // A removed plan's alerts close with it.
            let names: Vec<String> = states.iter().map(|(p, ..)| p.name.clone()).collect();
            for rule in ["backup_failed", "backup_overdue", "backup_verify_failed"] {
                fx.changed.extend(m.forget_subjects_except(c, rule, &names, now)?);
            }
            for (plan, last, ok, check) in states {
                let failed = last.as_ref().filter(|r| r.status == "failed");
                let level = failed.map(|_| Severity::Critical);
                let msg = failed.and_then(|r| r.error.clone()).unwrap_or_default();
                let details = serde_json::json!({ "plan": plan.name, "repository": plan.repository, "error_kind": failed.and_then(|r| r.error_kind.clone()) });
                fx.merge(m.settle(c, "backup_failed", plan.name.clone(), "backup_failed", level, format!("Backup \"{}\" failed", plan.name), msg, details, now)?);

                let overdue = plan.schedule().overdue_after_ms().and_then(|limit| {
                    let since = ok.as_ref().and_then(|r| r.finished_ms).or(last.as_ref().map(|r| r.started_ms))?;
                    (now - since > limit).then_some(since)
                });
                let msg = match (overdue, ok.as_ref()) {
                    (Some(_), Some(r)) => format!("The last successful backup of \"{}\" finished {}.", plan.name, ago(now - r.finished_ms.unwrap_or(r.started_ms))),
                    (Some(_), None) => format!("\"{}\" has never completed a backup.", plan.name),
                    _ => String::new(),
                };
                let details = serde_json::json!({ "plan": plan.name, "last_success_ms": ok.as_ref().and_then(|r| r.finished_ms), "schedule": plan.schedule });
                fx.merge(m.settle(c, "backup_overdue", plan.name.clone(), "backup_overdue", overdue.map(|_| Severity::Warning), format!("Backup \"{}\" is overdue", plan.name), msg, details, now)?);

                let bad = check.as_ref().filter(|r| r.status == "failed" && r.error_kind.as_deref() == Some("corrupt"));
                let msg = bad.and_then(|r| r.error.clone()).unwrap_or_default();
                fx.merge(m.settle(c, "backup_verify_failed", plan.name.clone(), "backup_verify_failed", bad.map(|_| Severity::Critical), format!("Backup repository of \"{}\" failed verification", plan.name), msg, serde_json::json!({ "plan": plan.name, "repository": plan.repository }), now)?);
            }
            Ok(fx)
        })
        .await;
    }

    /// The maintenance run's "Verify latest backups" and "Prune backups" tasks, for every plan.
    /// Called on the maintenance runner's blocking thread.
    pub(crate) fn maintenance_backup_task(&self) -> crate::maintenance::BackupTask {
        let this = self.clone();
        std::sync::Arc::new(move |what: &str| {
            use crate::maintenance::Outcome;
            let plans = this.config().backups.plans;
            let mut done = Vec::new();
            let mut failed = Vec::new();
            for plan in &plans {
                let r = this.inner.runtime.block_on(async {
                    if what == "verify" {
                        this.verify_backup(&plan.name, false, "maintenance").await.map(|run| (run.status == "ok", run.error.unwrap_or_default()))
                    } else {
                        this.apply_retention(plan, "maintenance").await;
                        let name = plan.name.clone();
                        let last = this.inner.db.read_async(move |c| store::last(c, &name, "forget", false)).await?;
                        Ok(last.map(|r| (r.status == "ok", r.error.unwrap_or_default())).unwrap_or((false, "another backup job was running".into())))
                    }
                });
                match r {
                    Ok((true, _)) => done.push(plan.name.clone()),
                    Ok((false, e)) => failed.push(format!("{}: {e}", plan.name)),
                    Err(e) => failed.push(format!("{}: {e}", plan.name)),
                }
            }
            let verb = if what == "verify" { "verified" } else { "pruned" };
            if failed.is_empty() {
                Outcome::Completed { message: format!("{verb} {}", done.join(", ")), rows_pruned: 0, bytes_freed: 0 }
            } else {
                Outcome::Failed { message: failed.join("; ") }
            }
        })
    }

    /// One pass of the schedule: due backups first, then due verifications.
    async fn backup_tick(&self) {
        let cfg = self.config().backups;
        let now = self.inner.clock.now_ms();
        for plan in &cfg.plans {
            if self.backup_job().is_some() {
                return;
            }
            let name = plan.name.clone();
            let last = self.inner.db.read_async(move |c| store::last(c, &name, "backup", false)).await.ok().flatten();
            if is_due(plan.schedule(), last.as_ref().map(|r| (r.started_ms, r.status == "ok")), now) {
                if let Err(e) = self.start_backup(&plan.name, "schedule").await {
                    tracing::warn!(plan = %plan.name, "scheduled backup did not start: {e}");
                }
                return;
            }
        }
        for plan in &cfg.plans {
            if self.backup_job().is_some() {
                return;
            }
            let name = plan.name.clone();
            let (structure, data) = match self.inner.db.read_async(move |c| Ok((store::last_check(c, &name, false)?, store::last_check(c, &name, true)?))).await {
                Ok(v) => v,
                Err(_) => continue,
            };
            // Only repositories that hold a snapshot are worth checking.
            let name = plan.name.clone();
            let has_backup = self.inner.db.read_async(move |c| store::last(c, &name, "backup", true)).await.ok().flatten().is_some();
            if !has_backup {
                continue;
            }
            let day = 86_400_000i64;
            let read_due = data.is_none_or(|t| now - t >= i64::from(cfg.read_data_every_days) * day);
            let structure_due = structure.is_none_or(|t| now - t >= i64::from(cfg.verify_every_days) * day);
            if read_due || structure_due {
                let this = self.clone();
                let name = plan.name.clone();
                tokio::spawn(async move {
                    if let Err(e) = this.verify_backup(&name, read_due, "schedule").await {
                        tracing::warn!(plan = %name, "scheduled verification did not run: {e}");
                    }
                });
                return;
            }
        }
    }
}

fn ago(ms: i64) -> String {
    let h = ms / 3_600_000;
    if h >= 48 {
        format!("{} days ago", h / 24)
    } else {
        format!("{h} hours ago")
    }
}

fn health(plan: &PlanConfig, last: Option<&BackupRun>, ok: Option<&BackupRun>, check: Option<&BackupRun>, running: bool, now: i64) -> (&'static str, String) {
    if running {
        return ("running", "A job is running".into());
    }
    if let Some(r) = last.filter(|r| r.status == "failed") {
        return ("failing", r.error.clone().unwrap_or_else(|| "the last backup failed".into()));
    }
    if let Some(r) = check.filter(|r| r.status == "failed" && r.error_kind.as_deref() == Some("corrupt")) {
        return ("failing", r.error.clone().unwrap_or_default());
    }
    let Some(ok) = ok else { return ("never", "No backup yet".into()) };
    let finished = ok.finished_ms.unwrap_or(ok.started_ms);
    if plan.schedule().overdue_after_ms().is_some_and(|limit| now - finished > limit) {
        return ("overdue", format!("Last good backup {}", ago(now - finished)));
    }
    ("ok", "Up to date".into())
}

/// Every 30 s: scheduled backups and checks, and the freshness of every plan.
pub(crate) async fn run_schedule(handle: EngineHandle) {
    let mut ticker = tokio::time::interval(Duration::from_secs(30));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = handle.inner.cancel.cancelled() => return,
            _ = ticker.tick() => {}
        }
        handle.backup_tick().await;
        handle.evaluate_backups().await;
    }
}
