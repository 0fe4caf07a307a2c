//! The running engine's half of Caretaker's own data: the consistent copy every plan that
//! includes it backs up, and the restore of that copy into the waiting area (see the module).

use super::{find_copy, staged_path, verify, OwnDataRestore, PENDING, READY};
use crate::backup::config::PlanConfig;
use crate::backup::jobs::{decode, engine_error, Jobs};
use crate::backup::protocol::{ErrorKind, Op, RestoreJob, RestoreSummary, SnapshotInfo};
use crate::backup::worker::JobError;
use crate::backup::{store, BackupRunKind, DB_COPY, STAGING};
use crate::core::Core;
use crate::error::{EngineError, Result};
use crate::paths;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A consistent copy of the live database (`VACUUM INTO`) and the config, for a plan to back up.
pub(crate) async fn stage(core: &Core) -> Result<PathBuf> {
    let dir = core.data_dir.join(STAGING);
    std::fs::create_dir_all(&dir).map_err(|e| EngineError::io(format!("cannot create {}", dir.display()), e))?;
    let copy = dir.join(DB_COPY);
    if copy.exists() {
        std::fs::remove_file(&copy).map_err(|e| EngineError::io(format!("cannot replace {}", copy.display()), e))?;
    }
    let target = copy.to_string_lossy().into_owned();
    core.db.read_alone_async(move |c| Ok(c.execute("VACUUM INTO ?1", [target]).map(|_| ())?)).await?;
    let cfg = core.data_dir.join(paths::CONFIG_FILE);
    if cfg.exists() {
        std::fs::copy(&cfg, dir.join(paths::CONFIG_FILE)).map_err(|e| EngineError::io("cannot copy caretaker.toml for the backup", e))?;
    }
    Ok(dir)
}

/// Restores Caretaker's database and settings from `snapshot` (the latest that holds them when
/// none is named) into the waiting area, checks them, and marks them ready for the next start.
pub(crate) async fn restore(core: &Core, jobs: &Arc<Jobs>, plan: &PlanConfig, snapshot: Option<String>) -> Result<OwnDataRestore> {
    let (id, cancel) = jobs.begin(&plan.name, BackupRunKind::Restore, "manual").await?;
    let result = async {
        let snaps: Vec<SnapshotInfo> = decode(jobs.call(plan, Op::Snapshots, &cancel).await?)?;
        let chosen = snaps
            .iter()
            .filter(|s| staged_path(&s.paths).is_some())
            .filter(|s| snapshot.as_deref().is_none_or(|want| s.id == want || s.short_id == want))
            .max_by_key(|s| s.time_ms)
            .ok_or_else(|| {
                JobError::new(
                    ErrorKind::Failed,
                    format!(
                        "no snapshot of the plan \"{}\" holds Caretaker's own data{} (the plan leaves it out, or has not run yet)",
                        plan.name,
                        snapshot.as_deref().map(|s| format!(" with the id {s}")).unwrap_or_default()
                    ),
                )
            })?
            .clone();
        let pending = fresh_pending(&core.data_dir).map_err(|m| JobError::new(ErrorKind::Failed, m))?;
        let job = RestoreJob {
            snapshot: chosen.id.clone(),
            path: staged_path(&chosen.paths).unwrap_or_default().to_string(),
            destination: pending.clone(),
            on_conflict: None,
            host: plan.host.clone(),
        };
        let summary: RestoreSummary = decode(jobs.call(plan, Op::Restore(job), &cancel).await?)?;
        let ready = settle(&pending, &chosen).map_err(|m| {
            let _ = std::fs::remove_dir_all(&pending);
            JobError::new(ErrorKind::Corrupt, m)
        })?;
        Ok::<_, JobError>((chosen, summary, ready))
    }
    .await;
    match result {
        Ok((chosen, summary, message)) => {
            jobs.end(id, Ok(store::Finish::Other { details: serde_json::to_string(&summary).unwrap_or_default() })).await?;
            tracing::info!(plan = %plan.name, snapshot = %chosen.short_id, "Caretaker's own data restored, waiting for the next start");
            Ok(OwnDataRestore { snapshot_id: chosen.id, snapshot_time_ms: chosen.time_ms, host: chosen.host, message })
        }
        Err(e) => {
            let err = engine_error(JobError::new(e.kind, format!("restoring Caretaker's own data failed: {}", e.message)));
            jobs.end(id, Err(e)).await?;
            Err(err)
        }
    }
}

/// An empty waiting area inside the data folder (an earlier, unfinished one is replaced).
fn fresh_pending(data_dir: &Path) -> std::result::Result<PathBuf, String> {
    let pending = data_dir.join(PENDING);
    match std::fs::symlink_metadata(&pending) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(&pending).map_err(|e| format!("cannot empty {}: {e}", pending.display()))?,
        Ok(_) => return Err(format!("{} is not a folder; move it away first", pending.display())),
        Err(_) => {}
    }
    std::fs::create_dir_all(&pending).map_err(|e| format!("cannot create {}: {e}", pending.display()))?;
    Ok(pending)
}

/// Checks what was restored, brings the two files to the top of the waiting area, marks it ready.
fn settle(pending: &Path, chosen: &SnapshotInfo) -> std::result::Result<String, String> {
    let found = find_copy(pending, 32).ok_or("the snapshot's copy of Caretaker's data holds no database")?;
    verify(&found)?;
    let moved = |from: PathBuf, to: PathBuf| std::fs::rename(&from, &to).map_err(|e| format!("cannot move {}: {e}", from.display()));
    moved(found.join(DB_COPY), pending.join(paths::DB_FILE))?;
    if found.join(paths::CONFIG_FILE).is_file() {
        moved(found.join(paths::CONFIG_FILE), pending.join(paths::CONFIG_FILE))?;
    }
    // The rest of the restored tree (the snapshot's folders above the copy) goes.
    for entry in std::fs::read_dir(pending).map_err(|e| e.to_string())?.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let when =
        chrono::DateTime::from_timestamp_millis(chosen.time_ms).map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default();
    let what = format!("snapshot {} of {when} (made on {})", chosen.short_id, chosen.host);
    std::fs::write(pending.join(READY), &what).map_err(|e| format!("cannot mark the restored data ready: {e}"))?;
    Ok(format!(
        "Caretaker's database and settings from {what} are checked and ready. Quit Caretaker and open it again (or restart its service) \
         to switch to them; the current ones are kept beside them."
    ))
}
