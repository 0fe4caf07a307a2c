//! `Event`: the only thing the UI listens to. Serialised as `{ "type": "...", ... }`.

use crate::alerts::{Alert, Notice, Severity};
use crate::checks::CheckResult;
use crate::config::CheckConfig;
use crate::metrics::{HostSample, SeriesPoint};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A new host sample, with the flat series points a live chart appends.
    HostSample {
        sample: HostSample,
        points: Vec<SeriesPoint>,
    },
    /// The engine's own state changed (started, a sampler error, stopping).
    EngineStatus {
        status: EngineStatus,
    },
    /// A check ran.
    CheckResult {
        result: CheckResult,
    },
    /// The set of checks changed (added, edited, deleted).
    ChecksChanged {
        checks: Vec<CheckState>,
    },
    /// An alert opened, changed severity, was acknowledged, snoozed or resolved.
    AlertChanged {
        alert: Alert,
    },
    /// A notice was (or, when notifications are paused, would have been) sent.
    Notification {
        notice: Notice,
    },
    NotificationsPaused {
        until_ms: Option<i64>,
    },
    /// The person clicked one of this machine's notifications: the app opens on that alert (None:
    /// a burst of several, the Alerts page).
    NotificationClicked {
        alert_id: Option<i64>,
    },
    /// A maintenance task started, completed, failed or was skipped.
    MaintenanceProgress {
        run_id: i64,
        task_id: String,
        task_name: String,
        index: u32,
        total: u32,
        status: crate::maintenance::TaskStatus,
        message: Option<String>,
    },
    MaintenanceComplete {
        report: crate::maintenance::RunReport,
    },
    /// New lines of Caretaker's own log, already stored (ids assigned).
    Log {
        lines: Vec<crate::logs::LogLine>,
    },
    /// A log-analysis scan finished (completed or failed).
    AnalysisScan {
        scan: crate::analysis::Scan,
    },
    /// A backup, retention, check or restore job started or moved on.
    BackupProgress {
        job: crate::backup::JobInfo,
    },
    /// A backup job ended (ok, failed or cancelled).
    BackupFinished {
        run: crate::backup::BackupRun,
    },
    /// A healing decision was recorded, or an action finished.
    Healing {
        record: crate::healing::HealingRecord,
    },
    /// The detectors were evaluated (or their list changed): each one's state and evidence.
    Detectors {
        detectors: Vec<crate::detectors::DetectorState>,
    },
}

/// A runbook shipped with the app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RunbookInfo {
    pub id: String,
    pub title: String,
}

/// A configured check and its latest result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct CheckState {
    pub config: CheckConfig,
    pub kind: String,
    pub target: String,
    pub latest: Option<CheckResult>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum EngineState {
    Running,
    Stopping,
    Stopped,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct EngineStatus {
    pub version: String,
    pub pid: u32,
    pub data_dir: String,
    pub state: EngineState,
    pub started_ms: i64,
    pub metrics_interval_secs: u64,
    pub last_sample_ms: Option<i64>,
    /// The last sampler or storage error, cleared by the next good tick.
    pub last_error: Option<String>,
}

/// A capability the Overview lists: what runs today and what is coming.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Capability {
    pub id: String,
    pub name: String,
    pub available: bool,
    pub summary: String,
}

/// Everything the UI needs for its first paint; afterwards it follows events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Snapshot {
    pub engine: EngineStatus,
    pub host: Option<HostSample>,
    pub checks: Vec<CheckState>,
    /// Open alerts (active or acknowledged), worst first.
    pub alerts: Vec<Alert>,
    /// The worst open alert's severity; null when all is well.
    pub worst: Option<Severity>,
    pub notifications_paused_until: Option<i64>,
    pub capabilities: Vec<Capability>,
}

pub(crate) fn capabilities() -> Vec<Capability> {
    let c = |id: &str, name: &str, available: bool, summary: &str| Capability {
        id: id.into(),
        name: name.into(),
        available,
        summary: summary.into(),
    };
    vec![
        c("metrics", "Host metrics", true, "CPU, memory, disks, network and temperatures, kept for two years as rollups."),
        c("services", "Service checks", true, "HTTP, TCP, process, command and JSON-value probes, such as the local Ollama."),
        c("alerts", "Alerts", true, "Thresholds with hold times and recovery notices, as native notifications."),
        c("backups", "Backups", true, "Scheduled, verified, restic-compatible backups with one-click restore."),
        c("maintenance", "Maintenance", true, "Routine care on a schedule, with live progress and a log viewer."),
        c("healing", "Healing", true, "Your own remedial actions, behind rate limits and cooldowns; asks you first by default."),
        c("insights", "Insights", true, "A local language model reads Caretaker's warnings and errors and classifies what it finds."),
        c("fleet", "Prometheus endpoint", true, "Opt-in /metrics/prometheus so several machines can be scraped together."),
        c(
            "detectors",
            "Detectors",
            true,
            "Stalled values, error-rate spikes, values far from their own normal and stuck jobs, on any series.",
        ),
        c("alertmanager", "Alertmanager forwarding", true, "Opt-in: alerts go to a Prometheus Alertmanager, retried until delivered."),
    ]
}

/// Records the engine's status row (read by `caretaker status` while an engine runs).
pub(crate) fn write_status(conn: &rusqlite::Connection, status: &EngineStatus, now: i64) -> crate::error::Result<()> {
    let json = serde_json::to_string(status).map_err(|e| crate::error::EngineError::Internal(e.to_string()))?;
    crate::store::kv_put(conn, "engine.status", &json, now)
}
