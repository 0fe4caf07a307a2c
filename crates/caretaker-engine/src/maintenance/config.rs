//! `[maintenance]` in caretaker.toml: when routine care runs, and the optional tasks the person
//! configured (clearing a cache folder, running a command).

use crate::clock::parse_time_of_day;
use crate::error::ConfigIssue;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields, default)]
pub struct MaintenanceConfig {
    pub enabled: bool,
    pub daily_at: String,
    pub vacuum_free_percent: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clear_cache: Option<ClearCacheTask>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandTask>,
}

impl Default for MaintenanceConfig {
    fn default() -> Self {
        MaintenanceConfig { enabled: true, daily_at: "03:30".into(), vacuum_free_percent: 20, clear_cache: None, command: None }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ClearCacheTask {
    pub path: String,
    pub older_than_days: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct CommandTask {
    pub argv: Vec<String>,
    #[serde(default = "default_command_timeout")]
    pub timeout_secs: u64,
}

fn default_command_timeout() -> u64 {
    600
}

impl MaintenanceConfig {
    /// Problems with this section, each named by its path under `at` (`maintenance`).
    pub(crate) fn validate(&self, at: &str, out: &mut Vec<ConfigIssue>) {
        let mut bad = |field: &str, message: String| out.push(ConfigIssue { path: format!("{at}.{field}"), message, location: None });
        let range = |bad: &mut dyn FnMut(&str, String), field: &str, value: u64, lo: u64, hi: u64| {
            if !(lo..=hi).contains(&value) {
                bad(field, format!("must be between {lo} and {hi} (got {value})"));
            }
        };
        if parse_time_of_day(&self.daily_at).is_none() {
            bad("daily_at", format!("must be a time of day as HH:MM (got {:?})", self.daily_at));
        }
        range(&mut bad, "vacuum_free_percent", u64::from(self.vacuum_free_percent), 1, 90);
        if let Some(c) = &self.clear_cache {
            let p = std::path::Path::new(&c.path);
            if !p.is_absolute() || p.parent().is_none() {
                bad("clear_cache.path", format!("must be an absolute folder path, not the root (got {:?})", c.path));
            }
            range(&mut bad, "clear_cache.older_than_days", c.older_than_days, 1, 3650);
        }
        if let Some(c) = &self.command {
            if c.argv.first().is_none_or(|a| a.is_empty()) {
                bad("command.argv", "needs at least the program to run".into());
            }
            range(&mut bad, "command.timeout_secs", c.timeout_secs, 1, 86_400);
        }
    }
}
