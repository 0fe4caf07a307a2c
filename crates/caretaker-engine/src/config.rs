//! `caretaker.toml`: the types, their defaults, validation that names the field, atomic save.

use crate::error::{EngineError, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;
use ts_rs::TS;

/// Written on first run; every line a person might want to change is here, commented.
pub const DEFAULT_CONFIG_TOML: &str = r#"# Caretaker configuration.
# Edit by hand or from the app; Caretaker checks every value when it starts and names the
# field of anything it cannot accept. Lines starting with # are comments.

[metrics]
# How often the host is sampled, in seconds (1-3600).
interval_secs = 5
# How long raw samples are kept, in hours (1-8760).
raw_retention_hours = 48
# How long per-minute averages are kept, in days (1-3650).
minute_retention_days = 30
# How long per-hour averages are kept, in days (1-36500). 730 days = 2 years.
hour_retention_days = 730
# How many top processes (by CPU and by memory) each sample lists (0-50).
top_processes = 8
"#;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, TS)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub metrics: MetricsConfig,
}

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
        MetricsConfig {
            interval_secs: 5,
            raw_retention_hours: 48,
            minute_retention_days: 30,
            hour_retention_days: 730,
            top_processes: 8,
        }
    }
}

/// One problem in a config, named by its field path (`metrics.interval_secs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub path: String,
    pub message: String,
    /// 1-based line and column in the file, where known.
    pub location: Option<(usize, usize)>,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)?;
        if let Some((line, col)) = self.location {
            write!(f, " (line {line}, column {col})")?;
        }
        Ok(())
    }
}

impl Config {
    /// Parses and validates TOML text; every issue found is returned, each with its field path.
    pub fn from_toml_str(text: &str) -> std::result::Result<Config, Vec<ConfigIssue>> {
        let de = toml::Deserializer::parse(text).map_err(|e| vec![toml_issue(text, "(file)", &e)])?;
        let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            vec![toml_issue(text, if path == "." { "(file)" } else { &path }, &inner)]
        })?;
        let issues = config.validate();
        if issues.is_empty() {
            Ok(config)
        } else {
            Err(issues)
        }
    }

    /// Range and consistency checks that the type system cannot express.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let mut range = |path: &str, value: u64, lo: u64, hi: u64| {
            if value < lo || value > hi {
                issues.push(ConfigIssue {
                    path: path.into(),
                    message: format!("must be between {lo} and {hi} (got {value})"),
                    location: None,
                });
            }
        };
        let m = &self.metrics;
        range("metrics.interval_secs", m.interval_secs, 1, 3600);
        range("metrics.raw_retention_hours", m.raw_retention_hours, 1, 8760);
        range("metrics.minute_retention_days", m.minute_retention_days, 1, 3650);
        range("metrics.hour_retention_days", m.hour_retention_days, 1, 36500);
        range("metrics.top_processes", u64::from(m.top_processes), 0, 50);
        issues
    }

    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| EngineError::io(format!("cannot read config {}", path.display()), e))?;
        Config::from_toml_str(&text).map_err(EngineError::Config)
    }

    /// Loads `caretaker.toml` from the data dir, writing the commented defaults on first run.
    pub fn load_or_create(data_dir: &Path) -> Result<Config> {
        let path = data_dir.join(crate::paths::CONFIG_FILE);
        if !path.exists() {
            write_atomic(&path, DEFAULT_CONFIG_TOML.as_bytes())?;
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
        let text = toml::to_string_pretty(self)
            .map_err(|e| EngineError::Internal(format!("cannot serialise config: {e}")))?;
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

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let ctx = |what: &str| format!("cannot {what} {}", path.display());
    let mut f = std::fs::File::create(&tmp).map_err(|e| EngineError::io(ctx("write"), e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| EngineError::io(ctx("write"), e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        EngineError::io(ctx("replace"), e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_template_parses_to_defaults() {
        assert_eq!(Config::from_toml_str(DEFAULT_CONFIG_TOML), Ok(Config::default()));
    }

    #[test]
    fn empty_file_means_defaults() {
        assert_eq!(Config::from_toml_str(""), Ok(Config::default()));
    }

    #[test]
    fn out_of_range_names_the_field() {
        let issues = Config::from_toml_str("[metrics]\ninterval_secs = 0\ntop_processes = 99\n").unwrap_err();
        let text: Vec<String> = issues.iter().map(|i| i.to_string()).collect();
        assert_eq!(
            text,
            vec![
                "metrics.interval_secs: must be between 1 and 3600 (got 0)",
                "metrics.top_processes: must be between 0 and 50 (got 99)",
            ]
        );
    }

    #[test]
    fn unknown_key_names_the_field_and_line() {
        let issues = Config::from_toml_str("[metrics]\ninterval_secs = 5\nintervall = 3\n").unwrap_err();
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].path, "metrics.intervall");
        assert!(issues[0].message.contains("unknown field `intervall`"), "{}", issues[0].message);
        assert_eq!(issues[0].location.map(|l| l.0), Some(3));
    }

    #[test]
    fn unknown_section_is_rejected() {
        let issues = Config::from_toml_str("[metircs]\n").unwrap_err();
        assert_eq!(issues[0].path, "metircs");
    }

    #[test]
    fn wrong_type_names_the_field() {
        let issues = Config::from_toml_str("[metrics]\ninterval_secs = \"fast\"\n").unwrap_err();
        assert_eq!(issues[0].path, "metrics.interval_secs");
        assert!(issues[0].message.contains("invalid type"), "{}", issues[0].message);
    }

    #[test]
    fn broken_toml_gives_a_location() {
        let issues = Config::from_toml_str("[metrics\n").unwrap_err();
        assert_eq!(issues[0].location.map(|l| l.0), Some(1));
    }

    #[test]
    fn save_round_trips_and_refuses_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        let mut c = Config::default();
        c.metrics.interval_secs = 10;
        c.save(&path).unwrap();
        assert_eq!(Config::load(&path).unwrap(), c);
        c.metrics.interval_secs = 0;
        assert!(matches!(c.save(&path), Err(EngineError::Config(_))));
        assert_eq!(Config::load(&path).unwrap().metrics.interval_secs, 10, "invalid save must not touch the file");
    }
}
