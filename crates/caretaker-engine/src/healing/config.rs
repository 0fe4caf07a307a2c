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
    /// Alert rules (`cpu`, `memory`, `disk`) whose alerts trigger this action.
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
    #[serde(default)]
    pub older_than_days: u64,
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
                if !["cpu", "memory", "disk", "stale"].contains(&r.as_str()) {
                    bad("on_alerts", format!("unknown alert rule {r:?} (cpu, memory, disk or stale)"));
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
            if let Some(r) = &a.restart_service {
                if r.name.trim().is_empty() || r.name.contains('/') {
                    bad("restart_service.name", format!("must be a launchd label or systemd unit name (got {:?})", r.name));
                }
            }
            if let Some(f) = &a.clear_folder {
                let path = std::path::Path::new(&f.path);
                if !path.is_absolute() || path.parent().is_none() {
                    bad("clear_folder.path", format!("must be an absolute folder path, not the root (got {:?})", f.path));
                }
            }
            if let Some(k) = &a.kill_process {
                if k.name.trim().is_empty() {
                    bad("kill_process.name", "must not be empty".into());
                }
            }
        }
    }
}
