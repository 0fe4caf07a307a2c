//! The backup service: runs plans on their schedule or on request (a backup and its retention in
//! one worker process), verifies repositories, browses and restores snapshots, and hands
//! maintenance its backup chores.

use super::config::PlanConfig;
use super::jobs::{decode, engine_error, Jobs};
use super::location::Location;
use super::protocol::{
    BackupJob, BackupThenForget, ConflictPolicy, ConflictReport, ConnectionReport, ErrorKind, Op, RestoreJob, RestoreSummary, SnapshotInfo,
    TreeEntry, VerifySummary,
};
use super::worker::JobError;
use super::{
    dir_size, health, is_due, plans, store, BackupRun, BackupRunKind, BackupRunStatus, BackupsOverview, JobInfo, PlanCreated,
    RestoreOutcome,
};
use crate::clock::schedule::age_ms;
use crate::core::Core;
use crate::error::{EngineError, Result};
use crate::maintenance::{BackupChore, BackupTask, Outcome};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub(crate) struct Service {
    core: Arc<Core>,
    jobs: Arc<Jobs>,
}

type JobResult<T> = std::result::Result<T, JobError>;

impl Service {
    pub fn new(core: Arc<Core>, worker_exe: PathBuf, stuck_after: Option<Duration>) -> Arc<Self> {
        let jobs = Arc::new(Jobs::new(core.clone(), worker_exe, stuck_after));
        Arc::new(Service { core, jobs })
    }

    /// Every 30 s: where the passwords of new plans are kept, scheduled backups and checks, and
    /// the freshness of every plan.
    pub async fn run(self: Arc<Self>) {
        let me = self.clone();
        self.core
            .every(Duration::from_secs(30), || async {
                let repositories = me.core.config().backups.plans.into_iter().map(|p| p.repository).collect();
                me.jobs.passwords.learn(repositories).await;
                me.tick().await;
                health::evaluate(&me.core).await;
            })
            .await;
    }

    fn plan(&self, name: &str) -> Result<PlanConfig> {
        self.core
            .config()
            .backups
            .plan(name)
            .cloned()
            .ok_or_else(|| EngineError::NotFound(format!("there is no backup plan called \"{name}\"")))
    }

    /// Starts a backup of `plan` now (then its retention); returns the run id at once.
    pub async fn backup_now(self: &Arc<Self>, plan: &str) -> Result<i64> {
        self.start_backup(plan, "manual").await
    }

    async fn start_backup(self: &Arc<Self>, plan: &str, trigger: &str) -> Result<i64> {
        let plan = self.plan(plan)?;
        let (id, cancel) = self.jobs.begin(&plan.name, BackupRunKind::Backup, trigger).await?;
        let me = self.clone();
        tokio::spawn(async move {
            me.run_backup(id, &plan, &cancel).await;
            health::evaluate(&me.core).await;
        });
        Ok(id)
    }

    /// One worker process: the backup, then (when it succeeded) the plan's retention, each with
    /// its own record. The job slot is held throughout, so nothing slips in between.
    async fn run_backup(&self, id: i64, plan: &PlanConfig, cancel: &CancellationToken) {
        let answer = self.backup_then_forget(plan, cancel).await;
        let (backup, forget) = match answer {
            Ok((finish, forget)) => (Ok(finish), Some(forget)),
            Err(e) => (Err(e), None),
        };
        let Some(forget) = forget else {
            match self.jobs.end(id, backup).await {
                Ok(run) => tracing::info!(plan = %plan.name, run_id = id, status = %run.status, "backup finished"),
                Err(e) => tracing::warn!(plan = %plan.name, "could not record the backup: {e}"),
            }
            return;
        };
        match self.jobs.record(id, backup).await {
            Ok(run) => tracing::info!(plan = %plan.name, run_id = id, status = %run.status, "backup finished"),
            Err(e) => tracing::warn!(plan = %plan.name, "could not record the backup: {e}"),
        }
        let (p, now) = (plan.name.clone(), self.core.now());
        let recorded = match self.core.db.write_async(move |c| store::insert(c, &p, BackupRunKind::Forget, "after backup", now)).await {
            Ok(fid) => self.jobs.end(fid, forget).await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = recorded {
            // The slot must not stay taken when the record fails.
            let _ = self.jobs.end(id, Err(JobError::new(ErrorKind::Failed, "retention not recorded"))).await;
            tracing::warn!(plan = %plan.name, "could not record the retention run: {e}");
        }
    }

    async fn backup_then_forget(
        &self,
        plan: &PlanConfig,
        cancel: &CancellationToken,
    ) -> JobResult<(store::Finish, JobResult<store::Finish>)> {
        let mut sources: Vec<PathBuf> = plan.sources.iter().map(PathBuf::from).collect();
        if plan.include_caretaker_data {
            let staged = super::own_data::service::stage(&self.core)
                .await
                .map_err(|e| JobError::new(ErrorKind::Failed, format!("cannot copy Caretaker's own data: {e}")))?;
            sources.push(staged);
        }
        // This run is still 'running', so the latest finished attempt is the one before it.
        let name = plan.name.clone();
        let last = self.core.db.read_async(move |c| store::last_attempt(c, &name)).await;
        let resume = matches!(last, Ok(Some((_, false))));
        let job = BackupJob {
            sources,
            excludes: plan.all_excludes(),
            host: plan.host.clone(),
            tags: vec![plan.tag()],
            label: plan.name.clone(),
            resume,
        };
        let op = Op::BackupThenForget { job, host: plan.host.clone(), tag: plan.tag(), keep: plan.keep.clone() };
        let answer: BackupThenForget = decode(self.jobs.call(plan, op, cancel).await?)?;
        // A folder's size is measured here; a server's comes from its own listing.
        let size = match Location::parse(&plan.repository) {
            Ok(Location::Folder(repo)) => tokio::task::spawn_blocking(move || dir_size(&repo)).await.ok(),
            _ => answer.repository_bytes,
        };
        let forget = answer.forget.map(|v| store::Finish::Other { details: v.to_string() }).map_err(|f| JobError::new(f.kind, f.message));
        Ok((store::Finish::Backup { summary: answer.backup, repository_bytes: size }, forget))
    }

    /// Applies a plan's retention (forget, then prune) as a job of its own.
    async fn apply_retention(&self, plan: &PlanConfig, trigger: &str) -> Result<BackupRun> {
        let (id, cancel) = self.jobs.begin(&plan.name, BackupRunKind::Forget, trigger).await?;
        let op = Op::Forget { host: plan.host.clone(), tag: plan.tag(), keep: plan.keep.clone() };
        let result = self.jobs.call(plan, op, &cancel).await.map(|v| store::Finish::Other { details: v.to_string() });
        self.jobs.end(id, result).await
    }

    /// Checks a plan's repository now: structure only, or with a rotating twelfth of the data.
    pub async fn verify(&self, plan: &str, read_data: bool, trigger: &str) -> Result<BackupRun> {
        let plan = self.plan(plan)?;
        let slice = if read_data {
            let name = plan.name.clone();
            let done = self.core.db.read_async(move |c| store::count_read_data(c, &name)).await?;
            Some(((done % 12) as u32 + 1, 12))
        } else {
            None
        };
        let (id, cancel) = self.jobs.begin(&plan.name, BackupRunKind::Check, trigger).await?;
        let result = self.jobs.call(&plan, Op::Check { read_subset: slice }, &cancel).await.and_then(|v| {
            let s: VerifySummary = decode(v)?;
            if s.errors.is_empty() {
                Ok(store::Finish::Check { summary: s })
            } else {
                Err(JobError::new(ErrorKind::Corrupt, format!("the repository is damaged: {}", s.errors.join("; "))))
            }
        });
        let run = self.jobs.end(id, result).await?;
        health::evaluate(&self.core).await;
        Ok(run)
    }

    /// Applies a plan's retention now (forget, then prune with instant delete). A prune that did
    /// not happen (another program's lock, a failure) is an error, never a quiet success.
    pub async fn prune(&self, plan: &str) -> Result<()> {
        let plan = self.plan(plan)?;
        let run = self.apply_retention(&plan, "manual").await?;
        let message = run.error.unwrap_or_default();
        match (run.status, run.error_kind.as_deref()) {
            (BackupRunStatus::Ok, _) => Ok(()),
            (_, Some("locked")) => Err(EngineError::Busy(message)),
            _ => Err(engine_error(JobError::new(ErrorKind::Failed, message))),
        }
    }

    pub fn cancel(&self) -> Result<i64> {
        self.jobs.cancel()
    }

    pub fn job(&self) -> Option<JobInfo> {
        self.jobs.current()
    }

    pub async fn overview(&self) -> Result<BackupsOverview> {
        plans::overview(&self.core, &self.jobs).await
    }

    pub async fn history(&self, plan: Option<String>, limit: u32) -> Result<Vec<BackupRun>> {
        plans::history(&self.core, plan, limit).await
    }

    pub async fn create_plan(&self, plan: PlanConfig, password: String, server_password: Option<String>) -> Result<PlanCreated> {
        plans::create(&self.core, &self.jobs, plan, password, server_password).await
    }

    pub async fn test_connection(&self, repository: &str, password: String, server_password: Option<String>) -> Result<ConnectionReport> {
        plans::test_connection(&self.jobs, repository, password, server_password).await
    }

    /// Adds Caretaker's SSH key to the SFTP account `repository` names, logging in once with
    /// `password` (never stored); returns the key's public line.
    pub async fn let_ssh_key_in(&self, repository: &str, password: String) -> Result<String> {
        let Ok(Location::Sftp(server)) = Location::parse(repository) else {
            return Err(EngineError::InvalidInput(format!("{repository} is not an SFTP address (sftp://user@host:22/folder)")));
        };
        let line = super::ssh_key::public_key(&self.core.data_dir, &self.core.hostname).await.map_err(EngineError::Internal)?;
        let work = self.core.data_dir.join(super::ssh_key::SSH_DIR);
        super::ssh_login::let_key_in(&server, &password, &line, self.jobs.worker_exe(), &work).await.map_err(EngineError::InvalidInput)?;
        Ok(line)
    }

    pub async fn set_server_password(&self, plan: &str, password: String) -> Result<()> {
        plans::set_server_password(&self.jobs, &self.plan(plan)?, password).await
    }

    pub async fn delete_plan(&self, name: String) -> Result<()> {
        let repository = self.plan(&name).ok().map(|p| p.repository);
        plans::delete(&self.core, name).await?;
        if let Some(r) = repository {
            // Asked about again (off the hot path) should another plan use the same repository.
            self.jobs.passwords.forget(&r);
        }
        Ok(())
    }

    pub async fn set_password(&self, plan: &str, password: String) -> Result<()> {
        plans::set_password(&self.jobs, &self.plan(plan)?, password).await
    }

    async fn quick(&self, plan: &str, op: Op) -> Result<serde_json::Value> {
        let plan = self.plan(plan)?;
        self.jobs.call(&plan, op, &self.core.cancel.child_token()).await.map_err(engine_error)
    }

    /// Caretaker's own database and settings from a snapshot, ready for the next start.
    pub async fn restore_own_data(&self, plan: &str, snapshot: Option<String>) -> Result<super::own_data::OwnDataRestore> {
        let plan = self.plan(plan)?;
        super::own_data::service::restore(&self.core, &self.jobs, &plan, snapshot).await
    }

    pub async fn snapshots(&self, plan: &str) -> Result<Vec<SnapshotInfo>> {
        decode(self.quick(plan, Op::Snapshots).await?).map_err(engine_error)
    }

    pub async fn ls(&self, plan: &str, snapshot: String, path: String) -> Result<Vec<TreeEntry>> {
        decode(self.quick(plan, Op::Ls { snapshot, path }).await?).map_err(engine_error)
    }

    /// Restores a snapshot, a folder or a file into `destination`. Refuses (and writes nothing)
    /// when files would be replaced and no policy was chosen.
    pub async fn restore(
        &self,
        plan: &str,
        snapshot: String,
        path: String,
        destination: String,
        on_conflict: Option<ConflictPolicy>,
    ) -> Result<RestoreOutcome> {
        let plan = self.plan(plan)?;
        let dest = PathBuf::from(&destination);
        if !dest.is_absolute() {
            return Err(EngineError::InvalidInput(format!("the destination must be an absolute folder path (got \"{destination}\")")));
        }
        if super::protocol::is_filesystem_root(&dest) {
            return Err(EngineError::InvalidInput(format!(
                "the destination \"{destination}\" is the root folder; pick a folder to restore into, such as a new folder in your home"
            )));
        }
        let (id, cancel) = self.jobs.begin(&plan.name, BackupRunKind::Restore, "manual").await?;
        let job = RestoreJob { snapshot, path, destination: dest, on_conflict, host: plan.host.clone() };
        let result = self.jobs.call(&plan, Op::Restore(job), &cancel).await;
        let (record, outcome) = match result.and_then(decode::<RestoreSummary>) {
            Ok(summary) => (
                Ok(store::Finish::Other { details: serde_json::to_string(&summary).unwrap_or_default() }),
                Ok(RestoreOutcome::Done { summary }),
            ),
            Err(e) if e.kind == ErrorKind::Conflict => {
                let report: ConflictReport = serde_json::from_str(&e.message).unwrap_or_default();
                let note = JobError::new(
                    ErrorKind::Conflict,
                    format!("{} existing file(s) would be replaced: asked what to do, nothing written", report.existing),
                );
                (Err(note), Ok(RestoreOutcome::Conflict { report }))
            }
            Err(e) => {
                let err = engine_error(JobError::new(e.kind, format!("restore failed: {}", e.message)));
                (Err(e), Err(err))
            }
        };
        self.jobs.end(id, record).await?;
        outcome
    }

    /// Maintenance's "Verify latest backups" and "Prune backups", for every plan. Called on the
    /// maintenance runner's blocking thread.
    pub fn maintenance_task(self: &Arc<Self>) -> BackupTask {
        let me = self.clone();
        Arc::new(move |chore: BackupChore| {
            let (mut done, mut later, mut failed) = (Vec::new(), Vec::new(), Vec::new());
            for plan in me.core.config().backups.plans {
                let run = me.core.runtime.block_on(async {
                    match chore {
                        BackupChore::Verify => me.verify(&plan.name, false, "maintenance").await,
                        BackupChore::Prune => me.apply_retention(&plan, "maintenance").await,
                    }
                });
                match run {
                    Ok(r) if r.status == BackupRunStatus::Ok => done.push(plan.name.clone()),
                    // Refused, nothing changed: said as such, neither a success nor a failure.
                    Ok(r) if r.error_kind.as_deref() == Some(ErrorKind::Locked.as_str()) => {
                        later.push(format!("{}: {}", plan.name, r.error.unwrap_or_default()))
                    }
                    Ok(r) => failed.push(format!("{}: {}", plan.name, r.error.unwrap_or_default())),
                    // A backup of the plan is running: not now, and not a failure.
                    Err(e @ crate::error::EngineError::Busy(_)) => later.push(format!("{}: {e}", plan.name)),
                    Err(e) => failed.push(format!("{}: {e}", plan.name)),
                }
            }
            let verb = if chore == BackupChore::Verify { "verified" } else { "pruned" };
            if !failed.is_empty() {
                Outcome::Failed { message: failed.join("; ") }
            } else if done.is_empty() && !later.is_empty() {
                Outcome::Skipped { reason: later.join("; ") }
            } else if later.is_empty() {
                Outcome::Completed { message: format!("{verb} {}", done.join(", ")), rows_pruned: 0, bytes_freed: 0 }
            } else {
                Outcome::Completed {
                    message: format!("{verb} {}; not now: {}", done.join(", "), later.join("; ")),
                    rows_pruned: 0,
                    bytes_freed: 0,
                }
            }
        })
    }

    /// One pass of the schedule: due backups first, then due verifications.
    async fn tick(self: &Arc<Self>) {
        let cfg = self.core.config().backups;
        let now = self.core.now();
        let mut conditions = None;
        for plan in &cfg.plans {
            if self.job().is_some() {
                return;
            }
            let name = plan.name.clone();
            let last = self.core.db.read_async(move |c| store::last_attempt(c, &name)).await.ok().flatten();
            if !is_due(plan.schedule(), last, now) {
                self.jobs.set_paused(&plan.name, None);
                continue;
            }
            // Read once a tick, and only when something is due.
            let now_conditions = match conditions {
                Some(c) => c,
                None => *conditions.insert(super::power::read().await),
            };
            let why = super::power::why_paused(plan, now_conditions);
            self.jobs.set_paused(&plan.name, why);
            if why.is_none() {
                if let Err(e) = self.start_backup(&plan.name, "schedule").await {
                    tracing::warn!(plan = %plan.name, "scheduled backup did not start: {e}");
                }
                return;
            }
        }
        for plan in &cfg.plans {
            if self.job().is_some() {
                return;
            }
            let name = plan.name.clone();
            let checks = self
                .core
                .db
                .read_async(move |c| {
                    Ok((
                        store::last_check(c, &name, false)?,
                        store::last_check(c, &name, true)?,
                        store::last(c, &name, BackupRunKind::Backup, true)?,
                    ))
                })
                .await;
            // Only repositories that hold a snapshot are worth checking.
            let Ok((structure, data, Some(_))) = checks else { continue };
            let day = 86_400_000i64;
            // A check dated in the future (the clock went back since) is due again, like a backup.
            let due = |t: Option<i64>, days: u32| t.and_then(|t| age_ms(now, t)).is_none_or(|age| age >= i64::from(days) * day);
            let (read_due, structure_due) = (due(data, cfg.read_data_every_days), due(structure, cfg.verify_every_days));
            if read_due || structure_due {
                let (me, name) = (self.clone(), plan.name.clone());
                tokio::spawn(async move {
                    if let Err(e) = me.verify(&name, read_due, "schedule").await {
                        tracing::warn!(plan = %name, "scheduled verification did not run: {e}");
                    }
                });
                return;
            }
        }
    }
}
