//! Alerts: rules over host metrics, check results and staleness; the lifecycle
//! (active -> acknowledged -> resolved, snooze, repeat, quiet hours); dedup per (rule, subject);
//! and what gets said to the person. Owns the `alert_events` table.

pub mod config;
mod degraded;
pub(crate) use degraded::data_space;
pub(crate) use degraded::{DISK_RULE, DISK_SUBJECT};
mod manager;
pub mod notify;
pub mod rules;
pub(crate) mod service;
mod store;

pub use manager::AlertManager;

pub(crate) use service::Alerts;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

crate::sql_enum! {
    /// Ordered: a critical alert outranks a warning.
    #[derive(PartialOrd, Ord)]
    pub enum Severity {
        Warning = "warning",
        Critical = "critical",
    }
}

crate::sql_enum! {
    pub enum AlertStatus {
        Active = "active",
        Acknowledged = "acknowledged",
        Resolved = "resolved",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Alert {
    pub id: i64,
    /// The rule that raised it (`cpu`, `memory`, `disk`, `check`, `stale`).
    pub rule: String,
    /// What it is about (`cpu`, `disk:/`, a check's name, ...).
    pub subject: String,
    /// `threshold_cpu`, `service_down`, ...; also the name of its runbook.
    pub alert_type: String,
    pub severity: Severity,
    pub status: AlertStatus,
    pub title: String,
    pub message: String,
    #[ts(type = "Record<string, unknown>")]
    pub details: Value,
    pub created_at: i64,
    pub acknowledged_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub snoozed_until: Option<i64>,
    pub last_notified_at: Option<i64>,
    /// How many times this incident re-opened within `flap_window_minutes` of clearing.
    #[serde(default, skip_serializing_if = "is_zero")]
    #[ts(as = "Option<u32>", optional)]
    pub flap_count: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What the person is told, natively.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Notice {
    pub title: String,
    pub body: String,
    pub severity: Severity,
    pub alert_id: i64,
    pub recovery: bool,
}

/// The outcome of feeding the manager: alerts whose state changed, and notices to send.
#[derive(Debug, Default)]
pub struct Effects {
    pub changed: Vec<Alert>,
    pub notices: Vec<Notice>,
}

impl Effects {
    pub(crate) fn merge(&mut self, other: Effects) {
        self.changed.extend(other.changed);
        self.notices.extend(other.notices);
    }
}

pub use store::{list as list_alerts, prune as prune_alerts, AlertQuery};

/// The worst state of a set of open alerts, for the tray.
pub fn worst(alerts: &[Alert]) -> Option<Severity> {
    alerts.iter().filter(|a| a.status != AlertStatus::Resolved).map(|a| a.severity).max()
}

/// Every rule that raises alerts, as healing's `on_alerts` may name them.
pub const RULES: &[&str] = &[
    "cpu",
    "memory",
    "disk",
    "disk_full",
    "check",
    "stale",
    "detector",
    "unusual",
    "backup_failed",
    "backup_overdue",
    "backup_verify_failed",
    "backup_stuck",
    "backup_unreadable",
    "db_integrity",
    "database",
    "data_disk",
    "analysis",
    "presence",
    "config",
    "maintenance",
];

pub const RUNBOOKS: &[&str] = &[
    "service_down",
    "service_degraded",
    "threshold_cpu",
    "threshold_memory",
    "threshold_disk",
    "stale",
    "analysis_finding",
    "detector",
    "backup_failed",
    "backup_overdue",
    "backup_verify_failed",
    "db_damaged",
    "db_write_failed",
    "backup_stuck",
    "backup_unreadable",
    "config_invalid",
    "data_disk_full",
    "absence",
    "crash_loop",
    "maintenance_failed",
    "unusual",
    "disk_filling",
    "swap_growth",
];

/// The markdown runbook for an alert type.
pub fn runbook(alert_type: &str) -> Option<&'static str> {
    Some(match alert_type {
        "threshold_cpu" => include_str!("../../runbooks/threshold_cpu.md"),
        "threshold_memory" => include_str!("../../runbooks/threshold_memory.md"),
        "threshold_disk" => include_str!("../../runbooks/threshold_disk.md"),
        "disk_filling" => include_str!("../../runbooks/disk_filling.md"),
        "service_down" => include_str!("../../runbooks/service_down.md"),
        "service_degraded" => include_str!("../../runbooks/service_degraded.md"),
        "stale" => include_str!("../../runbooks/stale.md"),
        "analysis_finding" => include_str!("../../runbooks/analysis_finding.md"),
        "backup_failed" => include_str!("../../runbooks/backup_failed.md"),
        "backup_overdue" => include_str!("../../runbooks/backup_overdue.md"),
        "backup_verify_failed" => include_str!("../../runbooks/backup_verify_failed.md"),
        "detector" => include_str!("../../runbooks/detector.md"),
        "db_damaged" => include_str!("../../runbooks/db_damaged.md"),
        "db_write_failed" => include_str!("../../runbooks/db_write_failed.md"),
        "backup_stuck" => include_str!("../../runbooks/backup_stuck.md"),
        "backup_unreadable" => include_str!("../../runbooks/backup_unreadable.md"),
        "config_invalid" => include_str!("../../runbooks/config_invalid.md"),
        "data_disk_full" => include_str!("../../runbooks/data_disk_full.md"),
        "absence" => include_str!("../../runbooks/absence.md"),
        "crash_loop" => include_str!("../../runbooks/crash_loop.md"),
        "swap_growth" => include_str!("../../runbooks/swap_growth.md"),
        "maintenance_failed" => include_str!("../../runbooks/maintenance_failed.md"),
        "unusual" => include_str!("../../runbooks/unusual.md"),
        _ => return None,
    })
}

#[cfg(test)]
mod sleep_tests;

#[cfg(test)]
mod tests {
    #[test]
    fn the_rules_other_modules_raise_are_listed() {
        for rule in [
            crate::detectors::RULE,
            crate::presence::RULE,
            super::degraded::RULE,
            super::degraded::DISK_RULE,
            crate::backup::health::UNREADABLE_RULE,
        ] {
            assert!(super::RULES.contains(&rule), "{rule}");
        }
    }
}
