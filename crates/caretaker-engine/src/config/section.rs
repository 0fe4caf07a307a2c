//! One section of the configuration as the app edits it: the Settings page saves a section
//! at a time, validated with the whole file and written into that table only (comments kept).

use super::Config;
use super::HttpConfig;
use crate::alerts::config::AlertsConfig;
use crate::forward::AlertmanagerConfig;
use crate::logs::config::LogsConfig;
use crate::maintenance::config::MaintenanceConfig;
use crate::metrics::config::MetricsConfig;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A section with its new content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "section", content = "value", rename_all = "snake_case")]
pub enum ConfigSection {
    Alerts(Box<AlertsConfig>),
    Metrics(MetricsConfig),
    Logs(LogsConfig),
    Maintenance(MaintenanceConfig),
    Http(HttpConfig),
    Alertmanager(AlertmanagerConfig),
}

impl ConfigSection {
    /// The table's name in caretaker.toml.
    pub fn name(&self) -> &'static str {
        match self {
            ConfigSection::Alerts(_) => "alerts",
            ConfigSection::Metrics(_) => "metrics",
            ConfigSection::Logs(_) => "logs",
            ConfigSection::Maintenance(_) => "maintenance",
            ConfigSection::Http(_) => "http",
            ConfigSection::Alertmanager(_) => "alertmanager",
        }
    }

    /// Puts this section into `c`.
    pub fn apply_to(self, c: &mut Config) {
        match self {
            ConfigSection::Alerts(v) => c.alerts = *v,
            ConfigSection::Metrics(v) => c.metrics = v,
            ConfigSection::Logs(v) => c.logs = v,
            ConfigSection::Maintenance(v) => c.maintenance = v,
            ConfigSection::Http(v) => c.http = v,
            ConfigSection::Alertmanager(v) => c.alertmanager = v,
        }
    }
}

/// The settings file to carry to another machine: the whole configuration (secrets never are
/// in it), with a header saying what it is.
pub fn export_text(c: &Config) -> crate::error::Result<String> {
    let body = toml::to_string_pretty(c).map_err(|e| crate::error::EngineError::Internal(format!("cannot write the settings: {e}")))?;
    Ok(format!(
        "# Caretaker settings, exported. Passwords and tokens are not in this file: they stay in the\n\
         # keychain of the machine they were set on; enter them again after importing.\n\n{body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_travels_as_tagged_json_and_lands_in_its_table() {
        let mut alerts = AlertsConfig::default();
        alerts.cpu.warning = 60.0;
        let s = ConfigSection::Alerts(Box::new(alerts));
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["section"], "alerts");
        assert_eq!(json["value"]["cpu"]["warning"], 60.0);
        let back: ConfigSection = serde_json::from_value(json).unwrap();
        let mut c = Config::default();
        back.apply_to(&mut c);
        assert_eq!((s.name(), c.alerts.cpu.warning), ("alerts", 60.0));
    }

    #[test]
    fn an_export_reads_back_as_the_same_settings() {
        let mut c = Config::default();
        c.maintenance.daily_at = "02:15".into();
        let text = export_text(&c).unwrap();
        assert!(text.starts_with("# Caretaker settings"));
        assert_eq!(Config::from_toml_str(&text).unwrap(), c);
    }
}
