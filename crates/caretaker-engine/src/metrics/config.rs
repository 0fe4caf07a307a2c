//! `[metrics]` in caretaker.toml: how often the host is sampled and how long each resolution is kept.

use crate::error::ConfigIssue;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    pub interval_secs: u64,
    pub raw_retention_hours: u64,
    pub minute_retention_days: u64,
    pub hour_retention_days: u64,
    pub top_processes: u32,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig { interval_secs: 5, raw_retention_hours: 48, minute_retention_days: 30, hour_retention_days: 730, top_processes: 8 }
    }
}

impl MetricsConfig {
    /// Problems with this section, each named by its path under `at` (`metrics`).
    pub(crate) fn validate(&self, at: &str, out: &mut Vec<ConfigIssue>) {
        let mut range = |field: &str, value: u64, lo: u64, hi: u64| {
            if !(lo..=hi).contains(&value) {
                out.push(ConfigIssue {
                    path: format!("{at}.{field}"),
                    message: format!("must be between {lo} and {hi} (got {value})"),
                    location: None,
                });
            }
        };
        range("interval_secs", self.interval_secs, 1, 3600);
        range("raw_retention_hours", self.raw_retention_hours, 1, 8760);
        range("minute_retention_days", self.minute_retention_days, 1, 3650);
        range("hour_retention_days", self.hour_retention_days, 1, 36500);
        range("top_processes", u64::from(self.top_processes), 0, 50);
    }
}
