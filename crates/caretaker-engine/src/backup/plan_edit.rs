//! Changing a plan after it was created (its folders, exclusions, schedule and retention), and
//! the backup settings every plan shares. A plan's name and repository stay: its history is filed
//! under the name, and its snapshots and password belong to the repository (another repository is
//! another plan, made with the wizard).

use super::config::PlanConfig;
use crate::config::{Config, ConfigIssue};
use crate::error::{EngineError, Result};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// `[backups]` without its plans: how often repositories are checked and when a job counts as stuck.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct BackupSettings {
    pub verify_every_days: u32,
    pub read_data_every_days: u32,
    pub stuck_after_minutes: u32,
}

impl BackupSettings {
    /// The shared settings of `[backups]`, without its plans.
    pub fn of(b: &super::config::BackupsConfig) -> Self {
        BackupSettings {
            verify_every_days: b.verify_every_days,
            read_data_every_days: b.read_data_every_days,
            stuck_after_minutes: b.stuck_after_minutes,
        }
    }
}

/// `plan` in place of the plan of the same name in `c`, or why not.
pub(crate) fn replace(c: &mut Config, mut plan: PlanConfig) -> Result<()> {
    let i = c.backups.plans.iter().position(|p| p.name == plan.name);
    let Some(i) = i else {
        return Err(EngineError::NotFound(format!("there is no backup plan called \"{}\"", plan.name)));
    };
    let old = &c.backups.plans[i];
    if plan.repository.trim() != old.repository {
        return Err(EngineError::Config(vec![ConfigIssue {
            path: format!("backups.plans[{i}].repository"),
            message: format!(
                "stays {} for this plan (its snapshots and password are there); to back up somewhere else, create another plan",
                old.repository
            ),
            location: None,
        }]));
    }
    // Fixed at creation, so a renamed machine keeps finding its parent snapshots.
    plan.host = old.host.clone();
    plan.repository = old.repository.clone();
    c.backups.plans[i] = plan;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::protocol::Keep;

    fn plan(name: &str, repo: &str) -> PlanConfig {
        PlanConfig {
            name: name.into(),
            sources: vec!["/Users/me/Documents".into()],
            excludes: vec![],
            default_excludes: true,
            exclude_build_folders: false,
            repository: repo.into(),
            schedule: "daily 02:00".into(),
            keep: Keep::default(),
            host: "mini".into(),
            include_caretaker_data: true,
            upload_limit_kib: 0,
            pause_on_battery: true,
            pause_on_metered: true,
        }
    }

    #[test]
    fn a_plan_changes_its_folders_and_schedule_but_keeps_its_repository_and_host() {
        let mut c = Config::default();
        c.backups.plans = vec![plan("Docs", "/Volumes/B/repo"), plan("Photos", "/Volumes/B/photos")];
        let mut changed = plan("Docs", "/Volumes/B/repo");
        changed.sources.push("/Users/me/Desktop".into());
        changed.schedule = "hourly".into();
        changed.host = "renamed".into();
        replace(&mut c, changed).unwrap();
        let p = c.backups.plan("Docs").unwrap();
        assert_eq!(p.sources.len(), 2);
        assert_eq!(p.schedule, "hourly");
        assert_eq!(p.host, "mini", "the host written at creation stays");
        assert_eq!(c.backups.plans[1].name, "Photos");

        let err = replace(&mut c, plan("Docs", "/Volumes/Other")).unwrap_err();
        match err {
            EngineError::Config(issues) => assert_eq!(issues[0].path, "backups.plans[0].repository"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(replace(&mut c, plan("Nope", "/x")), Err(EngineError::NotFound(_))));
    }

    #[test]
    fn the_shared_settings_are_written_without_touching_the_plans_or_their_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("caretaker.toml");
        let text = "[backups]\n# checked weekly\nverify_every_days = 7\n\n[[backups.plans]]\n# my documents\nname = \"Docs\"\nsources = [\"/Users/me/Documents\"]\nrepository = \"/Volumes/B/repo\"\nschedule = \"daily 02:00\"\nhost = \"mini\"\n";
        std::fs::write(&path, text).unwrap();
        let s = BackupSettings { verify_every_days: 3, read_data_every_days: 30, stuck_after_minutes: 90 };
        crate::config::write_section(&path, "backups", &s).unwrap();
        let out = std::fs::read_to_string(&path).unwrap();
        assert!(out.contains("verify_every_days = 3"), "{out}");
        assert!(out.contains("stuck_after_minutes = 90"), "{out}");
        assert!(out.contains("# checked weekly") && out.contains("# my documents"), "{out}");
        let c = Config::from_toml_str(&out).unwrap();
        assert_eq!(c.backups.plans.len(), 1);
        assert_eq!(c.backups.plans[0].sources, vec!["/Users/me/Documents".to_string()]);
    }
}
