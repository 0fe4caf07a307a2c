//! `[backups]` in caretaker.toml: plans and the verification schedule.

use super::location::Location;
use super::protocol::Keep;
use crate::clock::parse_time_of_day;
use crate::error::ConfigIssue;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields, default)]
pub struct BackupsConfig {
    /// A structure check of every repository this often (days).
    pub verify_every_days: u32,
    /// Read back a rotating twelfth of the stored data this often (days).
    pub read_data_every_days: u32,
    /// A job whose worker reports nothing for this long (a hung disk or share) is stopped and
    /// fails as stuck, so it cannot hold the one job slot forever.
    pub stuck_after_minutes: u32,
    pub plans: Vec<PlanConfig>,
}

impl Default for BackupsConfig {
    fn default() -> Self {
        BackupsConfig { verify_every_days: 7, read_data_every_days: 30, stuck_after_minutes: 30, plans: Vec::new() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct PlanConfig {
    pub name: String,
    /// Absolute folder paths.
    pub sources: Vec<String>,
    /// Glob patterns left out of the backup, e.g. "*.iso" or "Downloads".
    #[serde(default)]
    pub excludes: Vec<String>,
    /// Leave out caches and trash (recommended).
    #[serde(default = "yes")]
    pub default_excludes: bool,
    /// Also leave out node_modules and Rust target folders (rebuilt from source anyway).
    #[serde(default)]
    pub exclude_build_folders: bool,
    /// Where the snapshots go: an absolute path to the repository folder (an external disk, a
    /// mounted share, a folder), or a restic REST server as `rest:https://[user@]host:port/path`
    /// (its password is in the keychain, never here; see `backup::location`).
    pub repository: String,
    /// "manual", "hourly" or "daily HH:MM" (local time).
    #[serde(default = "default_schedule")]
    pub schedule: String,
    #[serde(default = "default_keep")]
    pub keep: Keep,
    /// Fixed host name written in snapshots, so a renamed machine still finds its parent snapshot.
    #[serde(default = "default_host")]
    pub host: String,
    /// Caretaker's own database (a consistent copy) and config go along.
    #[serde(default = "yes")]
    pub include_caretaker_data: bool,
    /// Most KiB per second sent to the repository, on average (0: no limit), so an offsite
    /// backup leaves room on a home uplink.
    #[serde(default)]
    pub upload_limit_kib: u32,
    /// A scheduled backup waits while the Mac runs on battery (see `backup::power`).
    #[serde(default = "yes")]
    pub pause_on_battery: bool,
    /// A scheduled backup to another machine waits while the connection is metered, where the
    /// OS reports it (Linux's NetworkManager; macOS does not tell commands).
    #[serde(default = "yes")]
    pub pause_on_metered: bool,
}

#[cfg(test)]
impl PlanConfig {
    /// A valid plan for tests: a folder backed up daily to a disk.
    pub(crate) fn sample() -> PlanConfig {
        PlanConfig {
            name: "Docs".into(),
            sources: vec!["/Users/me/Documents".into()],
            excludes: vec![],
            default_excludes: true,
            exclude_build_folders: false,
            repository: "/Volumes/B/repo".into(),
            schedule: "daily 02:00".into(),
            keep: default_keep(),
            host: "mini".into(),
            include_caretaker_data: true,
            upload_limit_kib: 0,
            pause_on_battery: true,
            pause_on_metered: true,
        }
    }
}

fn yes() -> bool {
    true
}
fn default_schedule() -> String {
    "daily 02:00".into()
}
pub fn default_keep() -> Keep {
    Keep { last: 3, hourly: 24, daily: 7, weekly: 4, monthly: 12 }
}
/// This machine's name: two machines sharing a repository must never share a host, or each
/// one's retention would forget the other's snapshots. Empty (refused by validation) when the
/// name cannot be read.
fn default_host() -> String {
    sysinfo::System::host_name().map(|h| h.trim().to_string()).unwrap_or_default()
}

/// Why a plan name cannot be used, if it cannot: it becomes a restic tag, which must stay one
/// tag (no comma) and be the same name the person typed (no control characters, no padding).
fn name_problem(name: &str) -> Option<&'static str> {
    if name.trim().is_empty() || name.chars().count() > 64 {
        Some("needs a name of 1 to 64 characters")
    } else if name.contains(',') {
        Some("must not contain a comma (restic reads a comma as the end of a tag)")
    } else if name.chars().any(char::is_control) {
        Some("must not contain control characters (tabs, line breaks)")
    } else if name.trim() != name {
        Some("must not start or end with a space")
    } else {
        None
    }
}

/// Caches and trash, on macOS and Linux.
pub const DEFAULT_EXCLUDES: &[&str] =
    &["**/.Trash", "**/.Trashes", "**/.cache", "**/Library/Caches", "**/.local/share/Trash", "**/.DS_Store"];
pub const BUILD_EXCLUDES: &[&str] = &["**/node_modules", "**/target"];
/// The live database is never read directly: a `VACUUM INTO` copy goes instead.
pub const LIVE_DB_EXCLUDES: &[&str] = &["**/caretaker.db", "**/caretaker.db-wal", "**/caretaker.db-shm", "**/caretaker.lock"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    Manual,
    Hourly,
    /// Minute of the local day.
    Daily(u32),
}

impl Schedule {
    pub fn parse(s: &str) -> Option<Schedule> {
        let s = s.trim();
        match s {
            "manual" => Some(Schedule::Manual),
            "hourly" => Some(Schedule::Hourly),
            _ => s.strip_prefix("daily ").and_then(|t| parse_time_of_day(t.trim())).map(Schedule::Daily),
        }
    }

    /// How long after its last success a plan counts as overdue (None: never, for manual plans).
    pub fn overdue_after_ms(self) -> Option<i64> {
        match self {
            Schedule::Manual => None,
            Schedule::Hourly => Some(2 * 3_600_000),
            Schedule::Daily(_) => Some(2 * 86_400_000),
        }
    }
}

impl PlanConfig {
    pub fn schedule(&self) -> Schedule {
        Schedule::parse(&self.schedule).unwrap_or(Schedule::Manual)
    }

    /// Every exclusion this plan applies.
    pub fn all_excludes(&self) -> Vec<String> {
        let mut v: Vec<String> = self.excludes.clone();
        if self.default_excludes {
            v.extend(DEFAULT_EXCLUDES.iter().map(|s| s.to_string()));
        }
        if self.exclude_build_folders {
            v.extend(BUILD_EXCLUDES.iter().map(|s| s.to_string()));
        }
        v.extend(LIVE_DB_EXCLUDES.iter().map(|s| s.to_string()));
        v
    }

    /// The tag that marks this plan's snapshots (retention only ever touches these).
    pub fn tag(&self) -> String {
        format!("caretaker-plan:{}", self.name)
    }
}

impl BackupsConfig {
    pub fn plan(&self, name: &str) -> Option<&PlanConfig> {
        self.plans.iter().find(|p| p.name == name)
    }

    /// Problems with this section, each named by its path under `at` (`backups`).
    pub(crate) fn validate(&self, at: &str, out: &mut Vec<ConfigIssue>) {
        let mut issue = |path: String, message: String| out.push(ConfigIssue { path, message, location: None });
        if !(1..=90).contains(&self.verify_every_days) {
            issue(format!("{at}.verify_every_days"), format!("must be between 1 and 90 (got {})", self.verify_every_days));
        }
        if !(1..=365).contains(&self.read_data_every_days) {
            issue(format!("{at}.read_data_every_days"), format!("must be between 1 and 365 (got {})", self.read_data_every_days));
        }
        if !(1..=1440).contains(&self.stuck_after_minutes) {
            issue(format!("{at}.stuck_after_minutes"), format!("must be between 1 and 1440 (got {})", self.stuck_after_minutes));
        }
        let section = at;
        let mut seen = std::collections::HashSet::new();
        for (i, p) in self.plans.iter().enumerate() {
            let at = format!("{section}.plans[{i}]");
            if let Some(problem) = name_problem(&p.name) {
                issue(format!("{at}.name"), problem.into());
            } else if !seen.insert(p.name.clone()) {
                issue(format!("{at}.name"), format!("another plan is already called \"{}\"", p.name));
            }
            if p.sources.is_empty() {
                issue(format!("{at}.sources"), "needs at least one folder to back up".into());
            }
            for (j, s) in p.sources.iter().enumerate() {
                if !std::path::Path::new(s).is_absolute() {
                    issue(format!("{at}.sources[{j}]"), format!("must be an absolute path (got \"{s}\")"));
                }
            }
            for (j, g) in p.excludes.iter().enumerate() {
                if g.trim().is_empty() || g.starts_with('!') {
                    issue(format!("{at}.excludes[{j}]"), format!("must be a glob pattern such as \"*.iso\" (got \"{g}\")"));
                }
            }
            match Location::parse(&p.repository) {
                Err(problem) => issue(format!("{at}.repository"), problem),
                Ok(Location::Folder(repo)) if p.sources.iter().any(|s| repo.starts_with(s)) => {
                    issue(format!("{at}.repository"), "must not be inside a folder it backs up".into());
                }
                Ok(_) => {}
            }
            if Schedule::parse(&p.schedule).is_none() {
                issue(format!("{at}.schedule"), format!("must be \"manual\", \"hourly\" or \"daily HH:MM\" (got \"{}\")", p.schedule));
            }
            if p.keep == Keep::default() {
                issue(format!("{at}.keep"), "keeps nothing: set at least one of last, hourly, daily, weekly, monthly".into());
            }
            if p.host.trim().is_empty() {
                issue(format!("{at}.host"), "must be set to this machine's name (it could not be read)".into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_parse_and_say_when_a_plan_is_overdue() {
        assert_eq!(Schedule::parse("manual"), Some(Schedule::Manual));
        assert_eq!(Schedule::parse("hourly"), Some(Schedule::Hourly));
        assert_eq!(Schedule::parse("daily 02:30"), Some(Schedule::Daily(150)));
        assert_eq!(Schedule::parse("daily 25:00"), None);
        assert_eq!(Schedule::parse("weekly"), None);
        assert_eq!(Schedule::Hourly.overdue_after_ms(), Some(7_200_000));
        assert_eq!(Schedule::Manual.overdue_after_ms(), None);
    }

    #[test]
    fn validation_names_each_bad_field() {
        let mut cfg = BackupsConfig::default();
        cfg.plans.push(PlanConfig {
            name: "Docs".into(),
            sources: vec!["relative/path".into()],
            excludes: vec!["!x".into()],
            default_excludes: true,
            exclude_build_folders: false,
            repository: "/Volumes/Backup/caretaker".into(),
            schedule: "weekly".into(),
            keep: Keep::default(),
            host: "mini".into(),
            include_caretaker_data: true,
            upload_limit_kib: 0,
            pause_on_battery: true,
            pause_on_metered: true,
        });
        let mut issues = Vec::new();
        cfg.validate("backups", &mut issues);
        let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(
            paths,
            ["backups.plans[0].sources[0]", "backups.plans[0].excludes[0]", "backups.plans[0].schedule", "backups.plans[0].keep"]
        );
    }

    #[test]
    fn plan_names_stay_one_tag_and_hosts_default_to_this_machine() {
        let toml = "name = \"Docs\"\nsources = [\"/src\"]\nrepository = \"/repo\"\n";
        let plan: PlanConfig = toml::from_str(toml).expect("plan");
        assert!(!plan.host.is_empty() && plan.host != "caretaker", "{:?}", plan.host);
        assert_eq!(Some(plan.host.clone()), sysinfo::System::host_name().ok().map(|h| h.trim().to_string()));
        let mut cfg = BackupsConfig::default();
        for name in ["A,b", "tab\there", " padded", "ok name", "Photos (2026) é"] {
            cfg.plans.push(PlanConfig { name: name.into(), repository: format!("/repo/{}", cfg.plans.len()), ..plan.clone() });
        }
        let mut issues = Vec::new();
        cfg.validate("backups", &mut issues);
        let named: Vec<(&str, &str)> = issues.iter().map(|i| (i.path.as_str(), i.message.as_str())).collect();
        assert_eq!(
            named,
            [
                ("backups.plans[0].name", "must not contain a comma (restic reads a comma as the end of a tag)"),
                ("backups.plans[1].name", "must not contain control characters (tabs, line breaks)"),
                ("backups.plans[2].name", "must not start or end with a space"),
            ]
        );
    }

    #[test]
    fn a_rest_repository_is_checked_where_it_is_written() {
        let toml = "name = \"Docs\"\nsources = [\"/src\"]\nrepository = \"rest:http://127.0.0.1:8000/docs\"\n";
        let plan: PlanConfig = toml::from_str(toml).expect("plan");
        let mut cfg = BackupsConfig { plans: vec![plan.clone()], ..BackupsConfig::default() };
        for bad in ["rest:https://me:s3cret-pass@host/r", "rest:http://nas.lan:8000/r"] {
            cfg.plans.push(PlanConfig { name: format!("p{}", cfg.plans.len()), repository: bad.into(), ..plan.clone() });
        }
        let mut issues = Vec::new();
        cfg.validate("backups", &mut issues);
        let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(paths, ["backups.plans[1].repository", "backups.plans[2].repository"]);
        assert!(issues[0].message.contains("keychain") && !issues[0].message.contains("s3cret"), "{}", issues[0].message);
    }
}
