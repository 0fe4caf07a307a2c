//! How each plan is doing: its health for the card (a pure function of its last runs) and its
//! alerts (failed run, overdue, failed verification, a job stopped as stuck, files it could not
//! read twice in a row), opened, kept or resolved together.

use super::{config::PlanConfig, store, BackupRun, BackupRunKind, BackupRunStatus, PlanHealth};
use crate::alerts::{Effects, Severity};
use crate::core::Core;
use std::sync::Arc;

/// The alert of a plan whose backups keep leaving files out.
pub const UNREADABLE_RULE: &str = "backup_unreadable";

pub(crate) fn ago(ms: i64) -> String {
    let h = ms / 3_600_000;
    if h >= 48 {
        format!("{} days ago", h / 24)
    } else {
        format!("{h} hours ago")
    }
}

fn is_stuck(r: &BackupRun) -> bool {
    r.status == BackupRunStatus::Failed && r.error_kind.as_deref() == Some("stuck")
}

fn corrupt(check: Option<&BackupRun>) -> Option<&BackupRun> {
    check.filter(|r| r.status == BackupRunStatus::Failed && r.error_kind.as_deref() == Some("corrupt"))
}

/// The plan's health from its last backup, last good backup and last check.
pub(crate) fn health(
    plan: &PlanConfig,
    last: Option<&BackupRun>,
    ok: Option<&BackupRun>,
    check: Option<&BackupRun>,
    running: bool,
    now: i64,
) -> (PlanHealth, String) {
    if running {
        return (PlanHealth::Running, "A job is running".into());
    }
    if let Some(r) = last.filter(|r| r.status == BackupRunStatus::Failed) {
        return (PlanHealth::Failing, r.error.clone().unwrap_or_else(|| "the last backup failed".into()));
    }
    if let Some(r) = corrupt(check) {
        return (PlanHealth::Failing, r.error.clone().unwrap_or_default());
    }
    let Some(ok) = ok else { return (PlanHealth::Never, "No backup yet".into()) };
    let finished = ok.finished_ms.unwrap_or(ok.started_ms);
    if plan.schedule().overdue_after_ms().is_some_and(|limit| now - finished > limit) {
        return (PlanHealth::Overdue, format!("Last good backup {}", ago(now - finished)));
    }
    if let Some(r) = last.filter(|r| r.status == BackupRunStatus::Partial) {
        return (PlanHealth::Partial, format!("Completed with {} unreadable", r.unreadable));
    }
    (PlanHealth::Ok, "Up to date".into())
}

/// The run an unreadable-files alert speaks of: the newest of two completed backups in a row
/// that both left files out. `recent` is newest first; one clean backup ends the streak.
pub(crate) fn unreadable_streak(recent: &[BackupRun]) -> Option<&BackupRun> {
    match recent {
        [newest, before, ..] if newest.status == BackupRunStatus::Partial && before.status == BackupRunStatus::Partial => Some(newest),
        _ => None,
    }
}

/// Says which items were left out, the first few by name.
fn unreadable_message(name: &str, run: &BackupRun) -> String {
    let named: Vec<String> = run
        .unreadable_items
        .iter()
        .take(3)
        .map(|i| if i.path.is_empty() { i.message.clone() } else { format!("{} ({})", i.path, i.message) })
        .collect();
    let more = if (named.len() as u64) < run.unreadable { ", …" } else { "" };
    format!(
        "The last two backups of \"{name}\" completed without {} file(s) or folder(s) they could not read: {}{more}.",
        run.unreadable,
        named.join(", ")
    )
}

/// Opens, keeps or resolves each plan's alerts: failed runs, overdue plans, failed checks.
pub(crate) async fn evaluate(core: &Arc<Core>) {
    let cfg = core.config().backups;
    let now = core.now();
    let states = core
        .db
        .read_async(move |c| {
            let mut v = Vec::new();
            for p in cfg.plans {
                let last = store::last(c, &p.name, BackupRunKind::Backup, false)?;
                let ok = store::last(c, &p.name, BackupRunKind::Backup, true)?;
                let check = store::last(c, &p.name, BackupRunKind::Check, false)?;
                let latest = store::last_any(c, &p.name)?;
                let recent = store::recent_completed(c, &p.name, 2)?;
                v.push((p, last, ok, check, latest, recent));
            }
            Ok(v)
        })
        .await;
    let states = match states {
        Ok(s) => s,
        Err(e) => return tracing::warn!("cannot read backup runs: {e}"),
    };
    core.with_alerts(move |m, c, _| {
        let mut fx = Effects::default();
        // A removed plan's alerts close with it.
        let names: Vec<String> = states.iter().map(|(p, ..)| p.name.clone()).collect();
        for rule in ["backup_failed", "backup_overdue", "backup_verify_failed", "backup_stuck", UNREADABLE_RULE] {
            fx.changed.extend(m.forget_subjects_except(c, rule, &names, now)?);
        }
        for (plan, last, ok, check, latest, recent) in states {
            let name = plan.name.clone();
            // Each backup rule's alert is filed under the plan's name, with the rule as its type.
            let mut settle = |rule: &'static str, level: Option<Severity>, title: String, msg: String, details: serde_json::Value| {
                fx.merge(m.settle(c, rule, name.clone(), rule, level, title, msg, details, now)?);
                Ok::<(), crate::error::EngineError>(())
            };
            // A stuck backup has an alert of its own (below), not two.
            let failed = last.as_ref().filter(|r| r.status == BackupRunStatus::Failed && !is_stuck(r));
            let level = failed.map(|_| Severity::Critical);
            let msg = failed.and_then(|r| r.error.clone()).unwrap_or_default();
            let details =
                serde_json::json!({ "plan": name, "repository": plan.repository, "error_kind": failed.and_then(|r| r.error_kind.clone()) });
            let title = format!("Backup \"{name}\" failed");
            settle("backup_failed", level, title, msg, details)?;

            let overdue = plan.schedule().overdue_after_ms().and_then(|limit| {
                let since = ok.as_ref().and_then(|r| r.finished_ms).or(last.as_ref().map(|r| r.started_ms))?;
                (now - since > limit).then_some(since)
            });
            let msg = match (overdue, ok.as_ref()) {
                (Some(_), Some(r)) => {
                    format!("The last successful backup of \"{name}\" finished {}.", ago(now - r.finished_ms.unwrap_or(r.started_ms)))
                }
                (Some(_), None) => format!("\"{name}\" has never completed a backup."),
                _ => String::new(),
            };
            let details =
                serde_json::json!({ "plan": name, "last_success_ms": ok.as_ref().and_then(|r| r.finished_ms), "schedule": plan.schedule });
            let title = format!("Backup \"{name}\" is overdue");
            settle("backup_overdue", overdue.map(|_| Severity::Warning), title, msg, details)?;

            let stuck = latest.as_ref().filter(|r| is_stuck(r));
            let msg = stuck.and_then(|r| r.error.clone()).unwrap_or_default();
            let details = serde_json::json!({ "plan": name, "repository": plan.repository, "kind": stuck.map(|r| r.kind) });
            let title = format!("A backup job of \"{name}\" was stuck");
            settle("backup_stuck", stuck.map(|_| Severity::Critical), title, msg, details)?;

            let bad = corrupt(check.as_ref());
            let msg = bad.and_then(|r| r.error.clone()).unwrap_or_default();
            let details = serde_json::json!({ "plan": name, "repository": plan.repository });
            let title = format!("Backup repository of \"{name}\" failed verification");
            settle("backup_verify_failed", bad.map(|_| Severity::Critical), title, msg, details)?;

            let partial = unreadable_streak(&recent);
            let msg = partial.map(|r| unreadable_message(&name, r)).unwrap_or_default();
            let details = serde_json::json!({
                "plan": name,
                "unreadable": partial.map(|r| r.unreadable),
                "items": partial.map(|r| r.unreadable_items.clone()),
            });
            let title = format!("Backup \"{name}\" could not read some files");
            settle(UNREADABLE_RULE, partial.map(|_| Severity::Warning), title, msg, details)?;
        }
        Ok(fx)
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::protocol::{UnreadableItem, UnreadableReason};

    fn run(id: i64, status: BackupRunStatus, unreadable: u64) -> BackupRun {
        BackupRun {
            id,
            plan: "Docs".into(),
            kind: BackupRunKind::Backup,
            trigger: "schedule".into(),
            started_ms: id * 1000,
            finished_ms: Some(id * 1000 + 500),
            status,
            snapshot_id: Some("abc".into()),
            files_new: 0,
            files_changed: 0,
            files_unmodified: 0,
            bytes_processed: 0,
            bytes_added: 0,
            read_data: false,
            repository_bytes: None,
            error_kind: None,
            error: None,
            details: None,
            unreadable,
            unreadable_items: (0..unreadable.min(5))
                .map(|i| UnreadableItem {
                    path: format!("/Mail/{i}"),
                    reason: UnreadableReason::PermissionDenied,
                    message: "denied".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_partial_backup_is_a_warning_not_ok() {
        let plan: PlanConfig =
            toml::from_str("name = \"Docs\"\nsources = [\"/a\"]\nrepository = \"/r\"\nschedule = \"manual\"").expect("plan");
        let partial = run(2, BackupRunStatus::Partial, 4);
        let (h, msg) = health(&plan, Some(&partial), Some(&partial), None, false, 10_000);
        assert_eq!((h, msg.as_str()), (PlanHealth::Partial, "Completed with 4 unreadable"));
        let clean = run(3, BackupRunStatus::Ok, 0);
        assert_eq!(health(&plan, Some(&clean), Some(&clean), None, false, 10_000).0, PlanHealth::Ok);
    }

    #[test]
    fn the_alert_needs_two_partial_backups_in_a_row_and_ends_with_a_clean_one() {
        use BackupRunStatus::{Ok, Partial};
        assert!(unreadable_streak(&[run(1, Partial, 2)]).is_none(), "one is a warning on the card only");
        assert_eq!(unreadable_streak(&[run(2, Partial, 3), run(1, Partial, 2)]).map(|r| r.id), Some(2));
        assert!(unreadable_streak(&[run(3, Ok, 0), run(2, Partial, 3)]).is_none(), "a clean run resolves");
        assert!(unreadable_streak(&[run(3, Partial, 1), run(2, Ok, 0)]).is_none());
        let msg = unreadable_message("Docs", &run(2, Partial, 9));
        assert!(
            msg.contains("9 file(s)") && msg.contains("/Mail/0 (denied)") && msg.ends_with(", ….") && !msg.contains("/Mail/3"),
            "{msg}"
        );
    }
}
