//! `caretaker.toml`: the root of the config, loading and saving it, and the checks that span
//! sections. Each section's type, defaults and validation live with the capability that owns it
//! (`metrics/config.rs`, `checks/config.rs`, ...); this module assembles them and re-exports
//! them, so `config::MetricsConfig` and friends keep working.

mod file;
pub mod section;
mod start;
#[cfg(test)]
mod tests;

pub use crate::alerts::config::{AlertsConfig, NotificationsConfig, QuietHours, ThresholdRule};
pub use crate::analysis::config::AnalysisConfig;
pub use crate::backup::config::BackupsConfig;
pub use crate::checks::config::{CheckConfig, ChecksConfig, CommandProbe, HttpProbe, JsonValueProbe, ProcessProbe, TcpProbe};
pub use crate::clock::parse_time_of_day;
pub use crate::detectors::DetectorConfig;
pub use crate::error::ConfigIssue;
pub use crate::forward::AlertmanagerConfig;
pub use crate::healing::config::{
    ActionConfig, ClearFolderAction, CommandAction, DockerRestartAction, HealingConfig, HealingMode, KillProcessAction,
    RestartServiceAction,
};
pub use crate::http::config::HttpConfig;
pub use crate::logs::config::LogsConfig;
pub use crate::maintenance::config::{ClearCacheTask, CommandTask, MaintenanceConfig};
pub use crate::metrics::config::MetricsConfig;
pub(crate) use file::{
    write_atomic, write_channels, write_checks, write_detectors, write_healing_actions, write_healing_limit, write_heartbeat,
    write_native_notifications, write_plans, write_section,
};
pub use start::{check_file, load_for_start, ConfigProblem, Fallback, Loaded, LAST_GOOD_FILE};

use crate::error::{EngineError, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use ts_rs::TS;

/// Written on first run; every line a person might want to change is here, commented.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("default.toml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, TS)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub metrics: MetricsConfig,
    pub alerts: AlertsConfig,
    pub notifications: NotificationsConfig,
    pub logs: LogsConfig,
    pub maintenance: MaintenanceConfig,
    pub healing: HealingConfig,
    pub analysis: AnalysisConfig,
    pub http: HttpConfig,
    pub backups: BackupsConfig,
    pub checks: ChecksConfig,
    /// Forwarding of alerts to a Prometheus Alertmanager; off by default.
    pub alertmanager: AlertmanagerConfig,
    /// Detectors over any series: stalled, error rate, far from normal, stuck.
    pub detectors: Vec<DetectorConfig>,
}

impl Config {
    /// What a first run writes (as commented TOML): the defaults plus a check of a local Ollama.
    pub fn first_run() -> Config {
        let mut c = Config::default();
        c.checks.list.push(CheckConfig {
            name: "Ollama".into(),
            interval_secs: 60,
            timeout_secs: 10,
            degraded_latency_ms: Some(2000),
            // Only a first run that finds something on Ollama's port turns it on.
            enabled: false,
            max_severity: Some(crate::alerts::Severity::Warning),
            http: Some(HttpProbe::get("http://127.0.0.1:11434/api/version")),
            tcp: None,
            process: None,
            command: None,
            json_value: None,
        });
        c
    }

    /// Parses and validates TOML text; every issue found is returned, each with its field path.
    pub fn from_toml_str(text: &str) -> std::result::Result<Config, Vec<ConfigIssue>> {
        let de = toml::Deserializer::parse(text).map_err(|e| vec![toml_issue(text, "(file)", &e)])?;
        let mut config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            vec![toml_issue(text, if path == "." { "(file)" } else { &path }, &inner)]
        })?;
        config.checks.list.iter_mut().for_each(CheckConfig::fill_defaults);
        let issues = config.validate();
        if issues.is_empty() {
            Ok(config)
        } else {
            Err(issues)
        }
    }

    /// Range and consistency checks that the type system cannot express: each section's own,
    /// then those that read one section against another.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        self.metrics.validate("metrics", &mut issues);
        self.alerts.validate("alerts", &mut issues);
        self.notifications.validate("notifications", &mut issues);
        self.http.validate("http", &mut issues);
        self.analysis.validate("analysis", &mut issues);
        self.healing.validate("healing", &mut issues);
        self.healing_targets_exist(&mut issues);
        self.logs.validate("logs", &mut issues);
        self.backups.validate("backups", &mut issues);
        self.maintenance.validate("maintenance", &mut issues);
        self.checks.validate("checks", &mut issues);
        self.alertmanager.validate("alertmanager", &mut issues);
        self.validate_detectors(&mut issues);
        issues
    }

    /// Every check a healing action is attached to must exist.
    fn healing_targets_exist(&self, issues: &mut Vec<ConfigIssue>) {
        for (i, a) in self.healing.actions.iter().enumerate() {
            for c in &a.on_checks {
                if !self.checks.list.iter().any(|k| &k.name == c) {
                    issues.push(ConfigIssue {
                        path: format!("healing.actions[{i}].on_checks"),
                        message: format!("there is no check named {c:?}"),
                        location: None,
                    });
                }
            }
        }
    }

    /// Each detector on its own, then against the checks it reads and the samples kept for it;
    /// names are unique regardless of case.
    fn validate_detectors(&self, issues: &mut Vec<ConfigIssue>) {
        let mut names = std::collections::HashSet::new();
        for (i, d) in self.detectors.iter().enumerate() {
            let prefix = format!("detectors[{i}]");
            d.validate(&prefix, issues);
            if let Some(c) = &d.check {
                let check = self.checks.list.iter().find(|k| k.name == c.name);
                if check.is_none() {
                    issues.push(ConfigIssue {
                        path: format!("{prefix}.check.name"),
                        message: format!("there is no check named {:?}", c.name),
                        location: None,
                    });
                }
                let reports_oldest = check.and_then(|k| k.json_value.as_ref()).is_some_and(|j| j.oldest_pointer.is_some());
                if check.is_some() && c.field == crate::detectors::CheckField::OldestAgeSecs && !reports_oldest {
                    issues.push(ConfigIssue {
                        path: format!("{prefix}.check.field"),
                        message: format!("check {:?} reports no oldest item: give its json_value an oldest_pointer", c.name),
                        location: None,
                    });
                }
            }
            // Metric series are read from raw samples; a longer window would silently see less.
            if let (Some(_), Some(rule)) = (&d.metric, d.rule()) {
                let kept_minutes = self.metrics.raw_retention_hours.saturating_mul(60) as i64;
                if rule.lookback_ms() / 60_000 > kept_minutes {
                    issues.push(ConfigIssue {
                        path: format!("{prefix}.{}", rule.kind()),
                        message: format!(
                            "looks back {} min, but raw metric samples are kept {} min (metrics.raw_retention_hours)",
                            rule.lookback_ms() / 60_000,
                            kept_minutes
                        ),
                        location: None,
                    });
                }
            }
            if !names.insert(d.name.trim().to_lowercase()) {
                issues.push(ConfigIssue {
                    path: format!("{prefix}.name"),
                    message: format!("{:?} is used by another detector", d.name),
                    location: None,
                });
            }
        }
    }

    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| EngineError::io(format!("cannot read config {}", path.display()), e))?;
        Config::from_toml_str(&text).map_err(EngineError::Config)
    }

    /// Loads `caretaker.toml` from the data dir, writing the commented defaults on first run.
    pub fn load_or_create(data_dir: &Path) -> Result<Config> {
        let path = data_dir.join(crate::paths::CONFIG_FILE);
        if !path.exists() {
            write_atomic(&path, start::first_run_text().as_bytes())?;
            tracing::info!(path = %path.display(), "wrote default config");
        }
        Config::load(&path)
    }

    /// Validates, then replaces the file atomically (write beside it, fsync, rename), so a crash
    /// mid-save leaves either the old or the new file, never half of one.
    pub fn save(&self, path: &Path) -> Result<()> {
        let issues = self.validate();
        if !issues.is_empty() {
            return Err(EngineError::Config(issues));
        }
        let text = toml::to_string_pretty(self).map_err(|e| EngineError::Internal(format!("cannot serialise config: {e}")))?;
        write_atomic(path, text.as_bytes())
    }
}

fn toml_issue(text: &str, path: &str, err: &toml::de::Error) -> ConfigIssue {
    let location = err.span().map(|span| line_col(text, span.start));
    ConfigIssue { path: path.to_string(), message: err.message().trim().to_string(), location }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}
