//! `[analysis]` in caretaker.toml: the language model that reads Caretaker's warnings, where it
//! runs, how often, and the prompt it is given.

use crate::error::ConfigIssue;
use crate::logs::LogLevel;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields, default)]
pub struct AnalysisConfig {
    pub enabled: bool,
    pub cadence_minutes: u64,
    pub endpoint: String,
    pub model: String,
    pub prompt_template: String,
    pub prompt_user_modified: bool,
    pub max_log_lines: u32,
    pub min_level: LogLevel,
    /// How long one answer may take, in seconds.
    pub request_timeout_secs: u64,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            enabled: false,
            cadence_minutes: 60,
            endpoint: "http://127.0.0.1:11434/v1".into(),
            model: "llama3.2".into(),
            prompt_template: String::new(),
            prompt_user_modified: false,
            max_log_lines: 500,
            min_level: LogLevel::Warn,
            request_timeout_secs: 120,
        }
    }
}

impl AnalysisConfig {
    /// Problems with this section, each named by its path under `at` (`analysis`).
    pub(crate) fn validate(&self, at: &str, out: &mut Vec<ConfigIssue>) {
        let mut bad = |field: &str, message: String| out.push(ConfigIssue { path: format!("{at}.{field}"), message, location: None });
        for (field, value, lo, hi) in [
            ("cadence_minutes", self.cadence_minutes, 1, 10_080),
            ("max_log_lines", u64::from(self.max_log_lines), 10, 100_000),
            ("request_timeout_secs", self.request_timeout_secs, 1, 3600),
        ] {
            if !(lo..=hi).contains(&value) {
                bad(field, format!("must be between {lo} and {hi} (got {value})"));
            }
        }
        if reqwest::Url::parse(&self.endpoint).map(|u| !matches!(u.scheme(), "http" | "https")).unwrap_or(true) {
            bad("endpoint", format!("must be an http:// or https:// URL (got {:?})", self.endpoint));
        }
        if self.model.trim().is_empty() {
            bad("model", "must not be empty".into());
        }
    }
}
