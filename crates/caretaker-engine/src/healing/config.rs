//! `[healing]` in caretaker.toml: the remedial actions the person defined (the only ones that
//! can ever run), what triggers each, and its guard rails.

use crate::error::ConfigIssue;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields, default)]
pub struct HealingConfig {
    pub max_actions_per_hour: u32,
    pub actions: Vec<ActionConfig>,
}

impl Default for HealingConfig {
    fn default() -> Self {
        HealingConfig { max_actions_per_hour: 5, actions: Vec::new() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum HealingMode {
    Escalate,
    Auto,
    Off,
}

impl HealingMode {
    pub fn as_str(&self) -> &'static str {
        match self {
            HealingMode::Escalate => "escalate",
            HealingMode::Auto => "auto",
            HealingMode::Off => "off",
        }
    }
}

fn escalate() -> HealingMode {
    HealingMode::Escalate
}
fn default_action_per_hour() -> u32 {
    3
}
fn default_cooldown() -> u64 {
    300
}
fn default_attempts() -> u32 {
    3
}
fn default_verify() -> u64 {
    10
}
fn default_command_timeout() -> u64 {
    600
}
fn yes() -> bool {
    true
}

/// A remedial action the person defined. Exactly one kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ActionConfig {
    pub id: String,
    pub name: String,
    #[serde(default = "escalate")]
    pub mode: HealingMode,
    /// Checks whose "down" or "degraded" alert triggers this action.
    #[serde(default)]
    pub on_checks: Vec<String>,
    /// Alerts that trigger this action: a rule (`disk`, `detector`, `backup_failed`, ...) for
    /// all its alerts, or `rule:subject` for one (`disk:/`, `detector:Queue not moving`,
    /// `stale:check:Web`).
    #[serde(default)]
    pub on_alerts: Vec<String>,
    #[serde(default = "default_action_per_hour")]
    pub max_per_hour: u32,
    /// Seconds between two runs for the same subject.
    #[serde(default = "default_cooldown")]
    pub cooldown_secs: u64,
    /// Runs per incident before giving up and asking the person.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// Seconds to wait after running before re-checking.
    #[serde(default = "default_verify")]
    pub verify_after_secs: u64,
    /// Do not restart a service that was stopped on purpose.
    #[serde(default = "yes")]
    pub respect_manual_stop: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_service: Option<RestartServiceAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_restart: Option<DockerRestartAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_process: Option<KillProcessAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear_folder: Option<ClearFolderAction>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct RestartServiceAction {
    /// launchd label (macOS) or systemd unit (Linux).
    pub name: String,
    /// A system service (launchd `system/`, `systemctl` without `--user`).
    #[serde(default)]
    pub system: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct CommandAction {
    pub argv: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default = "default_command_timeout")]
    pub timeout_secs: u64,
    /// Environment variables passed through; everything else is cleared.
    #[serde(default)]
    pub env_allow: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct DockerRestartAction {
    pub container: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct KillProcessAction {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_above_percent: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_above_mb: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ClearFolderAction {
    pub path: String,
    /// Only files older than this go; never 0, so nothing in use is pulled away.
    #[serde(default = "default_clear_days")]
    pub older_than_days: u64,
}

fn default_clear_days() -> u64 {
    7
}

impl HealingConfig {
    /// Problems with this section, each named by its path under `at` (`healing`). Whether each
    /// `on_checks` names a configured check is for the whole config to say.
    pub(crate) fn validate(&self, at: &str, out: &mut Vec<ConfigIssue>) {
        if !(1..=1000).contains(&self.max_actions_per_hour) {
            out.push(ConfigIssue {
                path: format!("{at}.max_actions_per_hour"),
                message: format!("must be between 1 and 1000 (got {})", self.max_actions_per_hour),
                location: None,
            });
        }
        let mut ids = std::collections::HashSet::new();
        for (i, a) in self.actions.iter().enumerate() {
            let p = format!("{at}.actions[{i}]");
            let mut bad = |field: &str, message: String| {
                out.push(ConfigIssue { path: if field.is_empty() { p.clone() } else { format!("{p}.{field}") }, message, location: None })
            };
            if a.id.trim().is_empty() || !a.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                bad("id", format!("must be letters, digits, - or _ (got {:?})", a.id));
            } else if !ids.insert(a.id.clone()) {
                bad("id", format!("{:?} is used by another action", a.id));
            }
            let kinds = [
                a.restart_service.is_some(),
                a.command.is_some(),
                a.docker_restart.is_some(),
                a.kill_process.is_some(),
                a.clear_folder.is_some(),
            ];
            if kinds.iter().filter(|k| **k).count() != 1 {
                bad("", "needs exactly one of restart_service, command, docker_restart, kill_process, clear_folder".into());
            }
            if a.on_checks.is_empty() && a.on_alerts.is_empty() {
                bad("", "is attached to nothing: set on_checks or on_alerts".into());
            }
            for r in &a.on_alerts {
                let (rule, subject) = r.split_once(':').unwrap_or((r.as_str(), ""));
                if !crate::alerts::RULES.contains(&rule) {
                    bad("on_alerts", format!("unknown alert rule {rule:?} in {r:?} (one of {})", crate::alerts::RULES.join(", ")));
                } else if r.contains(':') && subject.trim().is_empty() {
                    bad("on_alerts", format!("{r:?} names no subject after the colon"));
                }
            }
            if !(1..=100).contains(&a.max_per_hour) {
                bad("max_per_hour", format!("must be between 1 and 100 (got {})", a.max_per_hour));
            }
            if !(1..=20).contains(&a.max_attempts) {
                bad("max_attempts", format!("must be between 1 and 20 (got {})", a.max_attempts));
            }
            if a.verify_after_secs > 3600 {
                bad("verify_after_secs", format!("must be at most 3600 (got {})", a.verify_after_secs));
            }
            if let Some(c) = &a.command {
                if c.argv.first().is_none_or(|x| x.is_empty()) {
                    bad("command.argv", "needs at least the program to run".into());
                }
                if !(1..=3600).contains(&c.timeout_secs) {
                    bad("command.timeout_secs", format!("must be between 1 and 3600 (got {})", c.timeout_secs));
                }
            }
            // A leading '-' would reach launchctl, systemctl or docker as an option.
            if let Some(r) = &a.restart_service {
                if r.name.trim().is_empty() || r.name.contains('/') || r.name.starts_with('-') {
                    bad("restart_service.name", format!("must be a launchd label or systemd unit name (got {:?})", r.name));
                }
            }
            if let Some(d) = &a.docker_restart {
                if d.container.trim().is_empty() || d.container.starts_with('-') {
                    bad("docker_restart.container", format!("must be a container name or id (got {:?})", d.container));
                }
            }
            if let Some(f) = &a.clear_folder {
                let data_dir = crate::paths::resolve_data_dir(None);
                if let Err(e) = super::clear::resolve(&f.path, &super::clear::Protected::of(Some(&data_dir))) {
                    bad("clear_folder.path", e);
                }
                if !(1..=3650).contains(&f.older_than_days) {
                    bad("clear_folder.older_than_days", format!("must be between 1 and 3650 days (got {})", f.older_than_days));
                }
            }
            if let Some(k) = &a.kill_process {
                if k.name.trim().is_empty() {
                    bad("kill_process.name", "must not be empty".into());
                }
                // Without a limit every process of that name would be stopped.
                if k.cpu_above_percent.is_none() && k.memory_above_mb.is_none() {
                    bad(
                        "kill_process",
                        "needs cpu_above_percent or memory_above_mb, or every process of that name would be stopped".into(),
                    );
                }
            }
        }
    }
}

/// True when an `on_alerts` entry names this alert: its rule, or its rule and subject. A subject
/// may be written with or without the rule's own prefix (`disk:/` matches the subject `disk:/`).
pub fn names_alert(entry: &str, rule: &str, subject: &str) -> bool {
    match entry.split_once(':') {
        None => entry == rule,
        Some((r, s)) => r == rule && (s == subject || subject.strip_prefix(rule).and_then(|x| x.strip_prefix(':')) == Some(s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issues(extra: &str) -> Vec<(String, String)> {
        let text = format!("[[actions]]\nid = \"a\"\nname = \"A\"\non_alerts = [\"disk\"]\n{extra}\n");
        let cfg: HealingConfig = toml::from_str(&text).unwrap();
        let mut out = Vec::new();
        cfg.validate("healing", &mut out);
        out.into_iter().map(|i| (i.path, i.message)).collect()
    }

    #[test]
    fn every_alert_rule_can_be_named_alone_or_with_its_subject() {
        for entry in ["detector", "backup_failed", "db_integrity", "analysis", "presence", "detector:Queue", "disk:/", "stale:check:Web"] {
            let text = format!("[[actions]]\nid = \"a\"\nname = \"A\"\non_alerts = [{entry:?}]\ncommand = {{ argv = [\"/bin/true\"] }}\n");
            let cfg: HealingConfig = toml::from_str(&text).unwrap();
            let mut out = Vec::new();
            cfg.validate("healing", &mut out);
            assert!(out.is_empty(), "{entry}: {out:?}");
        }
        let text = "[[actions]]\nid = \"a\"\nname = \"A\"\non_alerts = [\"bogus\", \"detector:\"]\ncommand = { argv = [\"/bin/true\"] }\n";
        let cfg: HealingConfig = toml::from_str(text).unwrap();
        let mut out = Vec::new();
        cfg.validate("healing", &mut out);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out[0].message.starts_with("unknown alert rule \"bogus\""), "{out:?}");

        assert!(names_alert("detector", "detector", "Queue"));
        assert!(names_alert("detector:Queue", "detector", "Queue"));
        assert!(!names_alert("detector:Queue", "detector", "Web slow"));
        assert!(names_alert("disk:/", "disk", "disk:/") && names_alert("disk:disk:/", "disk", "disk:/"));
        assert!(!names_alert("disk:/", "disk", "disk:/Volumes/Backup"));
        assert!(names_alert("stale:check:Web", "stale", "check:Web"));
        assert!(!names_alert("disk", "cpu", "cpu"));
    }

    #[test]
    fn a_detector_or_backup_alert_reaches_the_actions_that_name_it() {
        let text =
            "[[actions]]\nid = \"q\"\nname = \"Q\"\non_alerts = [\"detector:Queue not moving\"]\ncommand = { argv = [\"/bin/true\"] }\n\
                    [[actions]]\nid = \"b\"\nname = \"B\"\non_alerts = [\"backup_failed\"]\ncommand = { argv = [\"/bin/true\"] }\n";
        let cfg: HealingConfig = toml::from_str(text).unwrap();
        let alert = |rule: &str, subject: &str| crate::alerts::Alert {
            id: 1,
            rule: rule.into(),
            subject: subject.into(),
            alert_type: rule.into(),
            severity: crate::alerts::Severity::Warning,
            status: crate::alerts::AlertStatus::Active,
            title: String::new(),
            message: String::new(),
            details: serde_json::Value::Null,
            created_at: 0,
            acknowledged_at: None,
            resolved_at: None,
            snoozed_until: None,
            last_notified_at: None,
            flap_count: 0,
        };
        let ids = |a| crate::healing::attached(&cfg, &a).map(|x| x.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(alert("detector", "Queue not moving")), ["q"]);
        assert!(ids(alert("detector", "Web slow")).is_empty());
        assert_eq!(ids(alert("backup_failed", "Documents")), ["b"]);
    }

    #[test]
    fn kill_process_needs_a_limit() {
        let got = issues("kill_process = { name = \"node\" }");
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, "healing.actions[0].kill_process");
        assert!(got[0].1.contains("cpu_above_percent or memory_above_mb"), "{got:?}");
        assert!(issues("kill_process = { name = \"node\", memory_above_mb = 4000 }").is_empty());
        assert!(issues("kill_process = { name = \"node\", cpu_above_percent = 90.0 }").is_empty());
    }

    #[test]
    fn names_that_would_be_read_as_options_are_refused() {
        let got = issues("docker_restart = { container = \"--rm\" }");
        assert_eq!(got.iter().map(|i| i.0.as_str()).collect::<Vec<_>>(), ["healing.actions[0].docker_restart.container"]);
        let got = issues("restart_service = { name = \"-k\" }");
        assert_eq!(got.iter().map(|i| i.0.as_str()).collect::<Vec<_>>(), ["healing.actions[0].restart_service.name"]);
        assert!(issues("docker_restart = { container = \"web-1\" }").is_empty());
    }

    #[test]
    fn clear_folder_needs_a_safe_folder_and_an_age_of_at_least_a_day() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache").display().to_string();
        assert!(issues(&format!("clear_folder = {{ path = {cache:?} }}")).is_empty(), "an age of 7 days by default");
        let got = issues(&format!("clear_folder = {{ path = {cache:?}, older_than_days = 0 }}"));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0], ("healing.actions[0].clear_folder.older_than_days".into(), "must be between 1 and 3650 days (got 0)".into()));
        assert_eq!(issues(&format!("clear_folder = {{ path = {cache:?}, older_than_days = 3651 }}")).len(), 1);
        for bad in ["/..", "/tmp/x/../..", "/Users", "/usr/local"] {
            let got = issues(&format!("clear_folder = {{ path = {bad:?} }}"));
            assert_eq!(got.len(), 1, "{bad}: {got:?}");
            assert_eq!(got[0].0, "healing.actions[0].clear_folder.path");
        }
        if let Some(home) = dirs::home_dir() {
            let got = issues(&format!("clear_folder = {{ path = {:?} }}", home.display().to_string()));
            assert!(got.first().is_some_and(|i| i.1.contains("home folder") || i.1.contains("system folder")), "{got:?}");
        }
    }
}
