//! The one job slot and the worker calls: a job takes the slot, is recorded, reports progress,
//! and is recorded again when it ends. Master keys are kept in memory after the first job.

use super::location::Location;
use super::passwords::Passwords;
use super::protocol::{ErrorKind, JobProgress, Op, Remote, Request};
use super::worker::{self, JobError};
use super::{config::PlanConfig, store, BackupRun, JobInfo, RunKind};
use crate::core::Core;
use crate::error::{EngineError, ErrorCode, Result};
use crate::events::Event;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

struct Running {
    info: JobInfo,
    cancel: CancellationToken,
}

pub(crate) struct Jobs {
    core: Arc<Core>,
    worker_exe: PathBuf,
    stuck_after: Option<Duration>,
    slot: Mutex<Option<Running>>,
    /// Master keys by repository path, in memory only (see `protocol::Request::key`).
    keys: Mutex<HashMap<String, String>>,
    pub passwords: Passwords,
    /// Plans whose scheduled backup waits (on battery, metered), with why; see `power`.
    paused: Mutex<HashMap<String, String>>,
}

/// A worker's failure as the engine's error, keeping the worker's classification as the code.
pub(crate) fn engine_error(e: JobError) -> EngineError {
    let code = match e.kind {
        ErrorKind::Unreachable => ErrorCode::RepositoryUnreachable,
        ErrorKind::WrongPassword => ErrorCode::WrongPassword,
        ErrorKind::Conflict => ErrorCode::Conflict,
        ErrorKind::NoSpace => ErrorCode::DiskFull,
        ErrorKind::Cancelled => ErrorCode::Cancelled,
        ErrorKind::Corrupt => ErrorCode::RepositoryCorrupt,
        ErrorKind::Locked => ErrorCode::Busy,
        ErrorKind::Stuck => ErrorCode::Internal,
        ErrorKind::Failed => ErrorCode::Internal,
        ErrorKind::Keychain => ErrorCode::KeychainUnavailable,
    };
    EngineError::job(code, e.message)
}

/// Decodes a worker's answer into the type the operation promises.
pub(crate) fn decode<T: DeserializeOwned>(v: serde_json::Value) -> std::result::Result<T, JobError> {
    serde_json::from_value(v).map_err(|e| JobError::new(ErrorKind::Failed, format!("unexpected answer from the worker: {e}")))
}

impl Jobs {
    pub fn new(core: Arc<Core>, worker_exe: PathBuf, stuck_after: Option<Duration>) -> Self {
        let passwords = Passwords::system(core.data_dir.clone());
        Jobs {
            core,
            worker_exe,
            stuck_after,
            slot: Mutex::new(None),
            keys: Mutex::new(HashMap::new()),
            passwords,
            paused: Mutex::new(HashMap::new()),
        }
    }

    /// The worker binary (also the SSH askpass program, see `ssh_login`).
    pub fn worker_exe(&self) -> &std::path::Path {
        &self.worker_exe
    }

    fn worker(&self) -> worker::Worker {
        let minutes = u64::from(self.core.config().backups.stuck_after_minutes);
        worker::Worker {
            exe: self.worker_exe.clone(),
            pid_dir: Some(self.core.data_dir.join(super::reaper::PID_DIR)),
            stuck_after: self.stuck_after.unwrap_or(Duration::from_secs(minutes * 60)),
        }
    }

    fn slot(&self) -> MutexGuard<'_, Option<Running>> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn current(&self) -> Option<JobInfo> {
        self.slot().as_ref().map(|r| r.info.clone())
    }

    /// Takes the one job slot, records the run, and gives back (run id, cancel token).
    pub async fn begin(&self, plan: &str, kind: RunKind, trigger: &str) -> Result<(i64, CancellationToken)> {
        let now = self.core.now();
        let cancel = self.core.cancel.child_token();
        {
            let mut slot = self.slot();
            if let Some(r) = slot.as_ref() {
                return Err(EngineError::Busy(format!(
                    "a {} of \"{}\" is already running; wait for it or cancel it",
                    r.info.kind.as_str(),
                    r.info.plan
                )));
            }
            let info = JobInfo { run_id: 0, plan: plan.into(), kind, started_ms: now, progress: JobProgress::default() };
            *slot = Some(Running { info, cancel: cancel.clone() });
        }
        let (p, t) = (plan.to_string(), trigger.to_string());
        let id = match self.core.db.write_async(move |c| store::insert(c, &p, kind, &t, now)).await {
            Ok(id) => id,
            Err(e) => {
                *self.slot() = None;
                return Err(e);
            }
        };
        let info = self.slot().as_mut().map(|r| {
            r.info.run_id = id;
            r.info.clone()
        });
        if let Some(job) = info {
            self.core.emit(Event::BackupProgress { job });
        }
        Ok((id, cancel))
    }

    fn on_progress(&self, p: JobProgress) {
        let info = self.slot().as_mut().map(|r| {
            r.info.progress = p;
            r.info.clone()
        });
        if let Some(job) = info {
            self.core.emit(Event::BackupProgress { job });
        }
    }

    /// Records how a job ended without freeing the slot (a job with more than one record).
    pub async fn record(&self, id: i64, result: std::result::Result<store::Finish, JobError>) -> Result<BackupRun> {
        let now = self.core.now();
        let run = self.core.db.write_async(move |c| store::finish(c, id, now, &result)).await?;
        self.core.emit(Event::BackupFinished { run: run.clone() });
        Ok(run)
    }

    /// Records how a job ended, frees the slot, then tells the UI.
    pub async fn end(&self, id: i64, result: std::result::Result<store::Finish, JobError>) -> Result<BackupRun> {
        let now = self.core.now();
        let run = self.core.db.write_async(move |c| store::finish(c, id, now, &result)).await;
        *self.slot() = None;
        let run = run?;
        self.core.emit(Event::BackupFinished { run: run.clone() });
        Ok(run)
    }

    /// Runs one operation in a worker process with the plan's password (or cached key).
    pub async fn call(
        self: &Arc<Self>,
        plan: &PlanConfig,
        op: Op,
        cancel: &CancellationToken,
    ) -> std::result::Result<serde_json::Value, JobError> {
        let password = self.passwords.load(&plan.repository).await.map_err(|e| {
            let kind = if matches!(e, EngineError::Keychain(_)) { ErrorKind::Keychain } else { ErrorKind::WrongPassword };
            JobError::new(kind, e.to_string())
        })?;
        let server_password = self.server_password(&plan.repository).await?;
        let key = self.keys.lock().unwrap_or_else(|p| p.into_inner()).get(&plan.repository).cloned();
        let remote = self.remote(&plan.repository, plan.upload_limit_kib);
        let req = Request { repository: PathBuf::from(&plan.repository), password, server_password, key, remote, op };
        let me = self.clone();
        let mut derived = None;
        let result = self.worker().run(&req, move |p| me.on_progress(p), |k| derived = Some(k), cancel).await;
        if let Some(k) = derived {
            self.remember_key(&plan.repository, k);
        }
        result
    }

    /// How the worker reaches a remote repository: Caretaker's SSH key for SFTP (when it has
    /// made one), the plan's upload limit.
    fn remote(&self, repository: &str, upload_limit_kib: u32) -> Remote {
        let sftp = matches!(Location::parse(repository), Ok(Location::Sftp(_)));
        Remote {
            ssh_key: if sftp { super::ssh_key::existing(&self.core.data_dir) } else { None },
            upload_limit: (upload_limit_kib > 0).then_some(u64::from(upload_limit_kib) * 1024),
        }
    }

    /// The REST server password of `repository`, when it is on a server that has one. A server
    /// without a password (loopback, a tunnel) has none in the keychain, which is fine.
    async fn server_password(&self, repository: &str) -> std::result::Result<Option<String>, JobError> {
        if !Location::has_server_secret(repository) {
            return Ok(None);
        }
        match self.passwords.load_server(repository).await {
            Ok(p) => Ok(p),
            Err(e) => Err(JobError::new(ErrorKind::Keychain, e.to_string())),
        }
    }

    /// Runs one operation with a password the person just typed (no cached key, no slot). The
    /// server password, when given, is the one just typed too; else the stored one is used.
    pub async fn call_with_password(
        &self,
        repository: &str,
        password: String,
        server_password: Option<String>,
        op: Op,
    ) -> std::result::Result<(serde_json::Value, Option<String>), JobError> {
        let server_password = match server_password {
            Some(p) => Some(p).filter(|p| !p.is_empty()),
            None => self.server_password(repository).await?,
        };
        let remote = self.remote(repository, 0);
        let req = Request { repository: PathBuf::from(repository), password, server_password, key: None, remote, op };
        let mut key = None;
        let v = self.worker().run(&req, |_| {}, |k| key = Some(k), &self.core.cancel.child_token()).await?;
        Ok((v, key))
    }

    /// Records why `plan`'s scheduled backup waits (None: it does not); logs each change once.
    pub fn set_paused(&self, plan: &str, why: Option<&str>) {
        let mut paused = self.paused.lock().unwrap_or_else(|p| p.into_inner());
        let before = match why {
            Some(w) => paused.insert(plan.to_string(), w.to_string()),
            None => paused.remove(plan),
        };
        if before.as_deref() != why {
            tracing::info!(plan, "scheduled backup {}", why.unwrap_or("no longer waits"));
        }
    }

    pub fn paused(&self, plan: &str) -> Option<String> {
        self.paused.lock().unwrap_or_else(|p| p.into_inner()).get(plan).cloned()
    }

    pub fn remember_key(&self, repository: &str, key: String) {
        self.keys.lock().unwrap_or_else(|p| p.into_inner()).insert(repository.to_string(), key);
    }

    pub fn forget_key(&self, repository: &str) {
        self.keys.lock().unwrap_or_else(|p| p.into_inner()).remove(repository);
    }

    /// Kills the running job's worker. The repository stays valid.
    pub fn cancel(&self) -> Result<i64> {
        match self.slot().as_ref() {
            Some(r) => {
                r.cancel.cancel();
                Ok(r.info.run_id)
            }
            None => Err(EngineError::NotFound("no backup job is running".into())),
        }
    }
}
