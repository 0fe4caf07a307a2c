//! `[logs]` in caretaker.toml: how long Caretaker's own log lines are kept.

use crate::error::ConfigIssue;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields, default)]
pub struct LogsConfig {
    pub retention_days: u64,
}

impl Default for LogsConfig {
    fn default() -> Self {
        LogsConfig { retention_days: 14 }
    }
}

impl LogsConfig {
    pub(crate) fn validate(&self, at: &str, out: &mut Vec<ConfigIssue>) {
        if !(1..=3650).contains(&self.retention_days) {
            out.push(ConfigIssue {
                path: format!("{at}.retention_days"),
                message: format!("must be between 1 and 3650 (got {})", self.retention_days),
                location: None,
            });
        }
    }
}
