//! Plans: the overview the Backups page shows, creating (or adopting) a repository with its
//! password, removing a plan, and replacing a password.

use super::health::health;
use super::jobs::{decode, engine_error, Jobs};
use super::location::Location;
use super::protocol::{ConnectionReport, Op};
use super::{
    config::PlanConfig, next_run, secret, store, BackupRun, BackupRunKind, BackupsOverview, PasswordStorage, PlanCreated, PlanStatus,
};
use crate::core::{Core, Piece};
use crate::error::{EngineError, ErrorCode, Result};
use std::path::Path;
use std::sync::Arc;

fn storage_of(s: secret::Storage) -> PasswordStorage {
    match s {
        secret::Storage::Keychain => PasswordStorage::Keychain,
        secret::Storage::File => PasswordStorage::File,
    }
}

pub(crate) async fn overview(core: &Core, jobs: &Jobs) -> Result<BackupsOverview> {
    let cfg = core.config().backups;
    let now = core.now();
    let job = jobs.current();
    // Remembered, never asked for here: this runs on every UI refresh and /metrics scrape.
    let paused: Vec<Option<String>> = cfg.plans.iter().map(|p| jobs.paused(&p.name)).collect();
    let storages: Vec<PasswordStorage> =
        cfg.plans.iter().map(|p| jobs.passwords.remembered(&p.repository).map_or(PasswordStorage::Missing, storage_of)).collect();
    let time_machine = super::timemachine::latest().await;
    core.db
        .read_async(move |c| {
            let mut plans = Vec::new();
            for ((plan, password), paused) in cfg.plans.into_iter().zip(storages).zip(paused) {
                let last_run = store::last(c, &plan.name, BackupRunKind::Backup, false)?;
                let last_ok = store::last(c, &plan.name, BackupRunKind::Backup, true)?;
                let last_check = store::last(c, &plan.name, BackupRunKind::Check, false)?;
                let attempt = store::last_attempt(c, &plan.name)?;
                let running = job.as_ref().is_some_and(|j| j.plan == plan.name);
                let (health, health_message) = health(&plan, last_run.as_ref(), last_ok.as_ref(), last_check.as_ref(), running, now);
                plans.push(PlanStatus {
                    next_run_ms: next_run(plan.schedule(), attempt, now),
                    repository_bytes: last_ok.as_ref().and_then(|r| r.repository_bytes),
                    last_success_ms: last_ok.as_ref().and_then(|r| r.finished_ms),
                    last_run,
                    last_check,
                    health,
                    health_message,
                    password,
                    paused,
                    plan,
                });
            }
            Ok(BackupsOverview { plans, job, history: store::history(c, 30)?, macos: cfg!(target_os = "macos"), time_machine })
        })
        .await
}

pub(crate) async fn history(core: &Core, plan: Option<String>, limit: u32) -> Result<Vec<BackupRun>> {
    core.db.read_async(move |c| store::history_of(c, plan.as_deref(), limit.min(500))).await
}

/// Creates (or adopts an existing) repository, keeps its password (and its REST server's, if it
/// has one), and adds the plan.
pub(crate) async fn create(
    core: &Core,
    jobs: &Jobs,
    mut plan: PlanConfig,
    password: String,
    server_password: Option<String>,
) -> Result<PlanCreated> {
    // Written once, then fixed: a renamed machine keeps finding its parent snapshots.
    if plan.host.trim().is_empty() {
        plan.host = core.hostname.clone();
    }
    // Checked once before the worker runs (nothing is created for a plan that cannot be saved)
    // and again under the edit lock; the worker itself runs without that lock, so a repository
    // that hangs (a stale share) holds up this call only, never every other settings change.
    with_plan(core.config(), &plan)?;
    let remote = Location::is_remote(&plan.repository);
    // What was typed counts, a blank field included (a server without a password).
    let server_password = server_password.unwrap_or_default();
    let existing = if remote {
        let report = test_connection(jobs, &plan.repository, password.clone(), Some(server_password.clone())).await?;
        if !report.reachable {
            return Err(EngineError::job(ErrorCode::RepositoryUnreachable, report.message));
        }
        report.initialised
    } else {
        Path::new(&plan.repository).join("config").exists()
    };
    let op = if existing { Op::Snapshots } else { Op::Init };
    let (_, key) =
        jobs.call_with_password(&plan.repository, password.clone(), Some(server_password.clone()), op).await.map_err(engine_error)?;
    let _edit = core.edit_lock().await;
    let next = with_plan(core.config(), &plan)?;
    let stored = jobs.passwords.store(&plan.repository, password).await?;
    if Location::has_server_secret(&plan.repository) {
        jobs.passwords.store_server(&plan.repository, server_password).await?;
    }
    if let Some(k) = key {
        jobs.remember_key(&plan.repository, k);
    }
    core.commit_config(Piece::BackupPlans, next)?;
    tracing::info!(plan = %plan.name, "backup plan created");
    Ok(PlanCreated { password_stored_in: storage_of(stored), existing_repository: existing })
}

/// The wizard's "Test connection", before any plan exists: reachable, initialised, and whether
/// the password opens it. Nothing is written anywhere, the keychain included.
pub(crate) async fn test_connection(
    jobs: &Jobs,
    repository: &str,
    password: String,
    server_password: Option<String>,
) -> Result<ConnectionReport> {
    Location::parse(repository).map_err(|m| EngineError::InvalidInput(format!("the repository {m}")))?;
    let server_password = Some(server_password.unwrap_or_default());
    let (v, _) = jobs.call_with_password(repository, password, server_password, Op::Probe).await.map_err(engine_error)?;
    decode(v).map_err(engine_error)
}

/// The config with `plan` added, when that is valid.
fn with_plan(mut next: crate::config::Config, plan: &PlanConfig) -> Result<crate::config::Config> {
    if next.backups.plan(&plan.name).is_some() {
        return Err(EngineError::InvalidInput(format!("another plan is already called \"{}\"", plan.name)));
    }
    next.backups.plans.push(plan.clone());
    let issues = next.validate();
    if !issues.is_empty() {
        return Err(EngineError::Config(issues));
    }
    Ok(next)
}

/// Removes a plan from the config. Its repository and snapshots are left as they are.
pub(crate) async fn delete(core: &Arc<Core>, name: String) -> Result<()> {
    core.edit_config(Piece::BackupPlans, |c| {
        let before = c.backups.plans.len();
        c.backups.plans.retain(|p| p.name != name);
        if c.backups.plans.len() == before {
            return Err(EngineError::NotFound(format!("there is no backup plan called \"{name}\"")));
        }
        Ok(())
    })
    .await?;
    super::health::evaluate(core).await;
    Ok(())
}

/// Replaces the stored REST server password of a plan after checking that the server takes it.
pub(crate) async fn set_server_password(jobs: &Jobs, plan: &PlanConfig, password: String) -> Result<()> {
    if !Location::has_server_secret(&plan.repository) {
        return Err(EngineError::InvalidInput(format!("the plan \"{}\" uses neither a REST server nor an S3 bucket", plan.name)));
    }
    jobs.call_with_password(&plan.repository, String::new(), Some(password.clone()), Op::Probe).await.map_err(engine_error).and_then(
        |(v, _)| {
            let report: ConnectionReport = decode(v).map_err(engine_error)?;
            if report.reachable {
                Ok(())
            } else {
                Err(EngineError::job(ErrorCode::RepositoryUnreachable, report.message))
            }
        },
    )?;
    jobs.passwords.store_server(&plan.repository, password).await?;
    Ok(())
}

/// Replaces the stored password of a plan's repository after checking that it opens it.
pub(crate) async fn set_password(jobs: &Jobs, plan: &PlanConfig, password: String) -> Result<()> {
    jobs.call_with_password(&plan.repository, password.clone(), None, Op::Snapshots).await.map_err(engine_error)?;
    jobs.passwords.store(&plan.repository, password).await?;
    jobs.forget_key(&plan.repository);
    Ok(())
}

/// Saves a changed plan (checked with the whole configuration, written into its table only).
pub(crate) async fn update_plan(core: &Arc<Core>, plan: PlanConfig) -> Result<PlanConfig> {
    let name = plan.name.clone();
    let (_, next) = core.edit_config(Piece::BackupPlans, |c| super::plan_edit::replace(c, plan)).await?;
    super::health::evaluate(core).await;
    next.backups.plan(&name).cloned().ok_or_else(|| EngineError::Internal(format!("the plan \"{name}\" went missing while saving")))
}

/// Saves the settings every plan shares, leaving the plans' tables as they are in the file.
pub(crate) async fn save_settings(core: &Arc<Core>, s: super::plan_edit::BackupSettings) -> Result<super::plan_edit::BackupSettings> {
    core.edit_config(Piece::BackupSettings, |c| {
        c.backups.verify_every_days = s.verify_every_days;
        c.backups.read_data_every_days = s.read_data_every_days;
        c.backups.stuck_after_minutes = s.stuck_after_minutes;
        Ok(())
    })
    .await?;
    Ok(s)
}
