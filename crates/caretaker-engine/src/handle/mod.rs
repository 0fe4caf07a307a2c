//! The engine's public API. Every method is one line of delegation to the service that owns the
//! capability; the shell, the CLI, the HTTP endpoint and the tests all go through it.

mod backup_ops;
mod channel_ops;
pub(crate) mod endpoints;
mod healing_ops;
pub(crate) mod reload;
mod repair_ops;
mod settings_ops;
pub use reload::Reloaded;

use crate::alerts::{self, Alert, AlertQuery};
use crate::checks::{CheckHistoryQuery, CheckResult, CheckSummary};
use crate::config::{AnalysisConfig, CheckConfig, Config};
use crate::core::Core;
use crate::detectors::{DetectorConfig, DetectorState};
use crate::error::Result;
use crate::events::{capabilities, EngineStatus, Event, RunbookInfo, Snapshot};
use crate::healing::{ActionSummary, HealingQuery, HealingRecord};
use crate::logs::{LogLine, LogQuery};
use crate::maintenance::{MaintenanceStatus, RunReport};
use crate::metrics::store::{SeriesQuery, SeriesResult};
use crate::{analysis, backup, channels, checks, detectors, healing, lock, logs, maintenance, metrics, presence};
use crate::{Finding, PromptState, Scan};
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

/// The core and every capability's service, as composed by `engine.rs`.
pub(crate) struct Services {
    pub core: Arc<Core>,
    pub metrics: Arc<metrics::service::Service>,
    pub checks: Arc<checks::service::Service>,
    pub logs: Arc<logs::service::Service>,
    pub healing: Arc<healing::service::Service>,
    pub analysis: Arc<analysis::service::Service>,
    pub detectors: Arc<detectors::service::Service>,
    pub backup: Arc<backup::service::Service>,
    pub maintenance: Arc<maintenance::service::Service>,
    pub presence: Arc<presence::service::Service>,
    pub channels: Arc<channels::service::Service>,
    pub tasks: Mutex<Vec<JoinHandle<()>>>,
    pub lock: Mutex<Option<lock::DataDirLock>>,
    /// Cancelled when a shutdown has finished.
    pub stopped: tokio_util::sync::CancellationToken,
    /// The HTTP endpoint and the Alertmanager forwarder, restarted when their section changes.
    pub endpoints: endpoints::Endpoints,
}

impl Services {
    pub fn add_task(&self, t: JoinHandle<()>) {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner()).push(t);
    }
}

/// A running engine. Cheap to clone; every clone talks to the same engine.
#[derive(Clone)]
pub struct EngineHandle {
    s: Arc<Services>,
}

impl EngineHandle {
    pub(crate) fn new(s: Arc<Services>) -> Self {
        EngineHandle { s }
    }

    pub(crate) fn services(&self) -> &Services {
        &self.s
    }

    // ---- Engine ----

    /// Events from now on. A slow receiver that falls behind gets `Lagged` and should re-read
    /// `snapshot()`.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.s.core.subscribe()
    }

    pub fn status(&self) -> EngineStatus {
        self.s.core.status()
    }

    /// The current state, for a UI's first paint.
    pub fn snapshot(&self) -> Snapshot {
        let (alerts, paused) = {
            let m = self.s.core.alerts.manager();
            (m.open_alerts(), m.paused_until())
        };
        Snapshot {
            engine: self.status(),
            host: self.s.metrics.latest(),
            checks: self.s.checks.states(),
            worst: alerts::worst(&alerts),
            alerts,
            notifications_paused_until: paused,
            capabilities: capabilities(),
        }
    }

    pub fn config(&self) -> Config {
        self.s.core.config()
    }

    /// Each disk's trend over the last week and when it is full at that pace.
    pub fn disk_forecasts(&self) -> Vec<crate::metrics::forecast::DiskForecast> {
        self.s.metrics.forecasts()
    }

    pub fn data_dir(&self) -> &Path {
        &self.s.core.data_dir
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.s.core.now()
    }

    /// Resolves once the engine has been asked to stop (by `shutdown`, from any client).
    pub async fn stopping(&self) {
        self.s.core.cancel.cancelled().await
    }

    /// Stops every task at a safe point, records the stop, and releases the data dir.
    pub async fn shutdown(&self) {
        crate::engine::shutdown(&self.s).await
    }

    // ---- Metrics ----

    /// Time series for a chart, read from the coarsest table that gives enough points.
    pub async fn query_series(&self, query: SeriesQuery) -> Result<SeriesResult> {
        self.s.metrics.query_series(query).await
    }

    /// The database's size now and with the Sampling settings given (checked as the section is).
    pub async fn storage_estimate(&self, metrics: crate::metrics::config::MetricsConfig) -> Result<crate::metrics::StorageEstimate> {
        let mut issues = Vec::new();
        metrics.validate("metrics", &mut issues);
        if !issues.is_empty() {
            return Err(crate::EngineError::Config(issues));
        }
        self.s.metrics.storage_estimate(metrics).await
    }

    // ---- Alerts ----

    pub async fn acknowledge_alert(&self, id: i64) -> Result<Alert> {
        alerts::service::acknowledge(&self.s.core, id).await
    }

    pub async fn resolve_alert(&self, id: i64) -> Result<Alert> {
        alerts::service::resolve(&self.s.core, id).await
    }

    pub async fn snooze_alert(&self, id: i64, hours: u32) -> Result<Alert> {
        alerts::service::snooze(&self.s.core, id, hours).await
    }

    /// Pauses notifications for `minutes` (None or 0 resumes them).
    pub async fn pause_notifications(&self, minutes: Option<u32>) -> Result<Option<i64>> {
        alerts::service::pause(&self.s.core, minutes).await
    }

    pub fn open_alerts(&self) -> Vec<Alert> {
        self.s.core.alerts.open()
    }

    pub async fn alerts(&self, q: AlertQuery) -> Result<Vec<Alert>> {
        alerts::service::list(&self.s.core, q).await
    }

    pub fn runbook(&self, alert_type: &str) -> Option<String> {
        alerts::runbook(alert_type).map(str::to_string)
    }

    /// Every runbook shipped with the app, with its title.
    pub fn runbooks(&self) -> Vec<RunbookInfo> {
        alerts::service::runbooks()
    }

    // ---- Checks ----

    /// Every configured check with its latest result, uptime and recent latency.
    pub async fn checks(&self) -> Result<Vec<CheckSummary>> {
        self.s.checks.summaries().await
    }

    pub async fn check_history(&self, q: CheckHistoryQuery) -> Result<Vec<CheckResult>> {
        self.s.checks.history(q).await
    }

    /// Adds a check, or replaces the one named `original`; validated with the whole config and
    /// written to caretaker.toml atomically (the rest of the file, comments included, is kept).
    pub async fn save_check(&self, original: Option<String>, check: CheckConfig) -> Result<()> {
        self.s.checks.save(original, check).await
    }

    /// Runs a check now, outside its schedule.
    pub async fn run_check(&self, name: &str) -> Result<CheckResult> {
        self.s.checks.run_named(name).await
    }

    pub async fn delete_check(&self, name: String) -> Result<()> {
        self.s.checks.delete(name).await
    }

    // ---- Detectors ----

    /// Every configured detector with what its last evaluation found.
    pub fn detectors(&self) -> Vec<DetectorState> {
        self.s.detectors.states()
    }

    /// Evaluates every enabled detector now, raises or resolves their alerts, and publishes.
    pub async fn evaluate_detectors(&self) -> Result<Vec<DetectorState>> {
        self.s.detectors.evaluate().await
    }

    pub async fn save_detector(&self, original: Option<String>, detector: DetectorConfig) -> Result<Vec<DetectorState>> {
        self.s.detectors.save(original, detector).await
    }

    pub async fn delete_detector(&self, name: String) -> Result<Vec<DetectorState>> {
        self.s.detectors.delete(name).await
    }

    // ---- Healing ----

    /// The configured actions with their counters.
    pub async fn healing_actions(&self) -> Result<Vec<ActionSummary>> {
        self.s.healing.actions().await
    }

    pub async fn healing_log(&self, q: HealingQuery) -> Result<Vec<HealingRecord>> {
        self.s.healing.log(q).await
    }

    /// Escalations waiting for the person.
    pub async fn pending_escalations(&self) -> Result<Vec<HealingRecord>> {
        self.s.healing.pending().await
    }

    /// "Run it": the person approves an escalated action; it runs now, recorded as theirs.
    pub async fn approve_escalation(&self, id: i64) -> Result<HealingRecord> {
        self.s.healing.approve(id).await
    }

    pub async fn dismiss_escalation(&self, id: i64) -> Result<()> {
        self.s.healing.dismiss(id).await
    }

    // ---- Analysis ----

    pub async fn analysis_prompt(&self) -> Result<PromptState> {
        self.s.analysis.prompt().await
    }

    /// The models an endpoint offers.
    pub async fn list_models(&self, endpoint: String) -> Result<Vec<String>> {
        self.s.analysis.models(endpoint).await
    }

    /// Changes the analysis settings; enabling checks the endpoint and model first.
    pub async fn set_analysis(&self, enabled: bool, endpoint: String, model: String, cadence_minutes: u64) -> Result<AnalysisConfig> {
        self.s.analysis.set(enabled, endpoint, model, cadence_minutes).await
    }

    /// How much of the log a scan reads (lines, lowest level) and how long an answer may take.
    pub async fn set_analysis_reading(
        &self,
        max_log_lines: u32,
        min_level: crate::logs::LogLevel,
        request_timeout_secs: u64,
    ) -> Result<AnalysisConfig> {
        self.s.analysis.set_reading(max_log_lines, min_level, request_timeout_secs).await
    }

    /// The person's own prompt; from now on upgrades keep it.
    pub async fn set_prompt(&self, template: String) -> Result<()> {
        self.s.analysis.set_prompt(template).await
    }

    pub async fn reset_prompt(&self) -> Result<()> {
        self.s.analysis.reset_prompt().await
    }

    pub async fn analysis_scans(&self, limit: u32) -> Result<Vec<Scan>> {
        self.s.analysis.scans(limit).await
    }

    pub async fn findings(&self, include_dismissed: bool) -> Result<Vec<Finding>> {
        self.s.analysis.findings(include_dismissed).await
    }

    pub async fn dismiss_finding(&self, id: i64) -> Result<()> {
        self.s.analysis.dismiss_finding(id).await
    }

    /// A finding as a ready-to-file issue text, with its evidence lines.
    pub async fn finding_issue_text(&self, id: i64) -> Result<String> {
        self.s.analysis.issue_text(id).await
    }

    /// Starts a scan now; a second one while one runs is refused, not queued.
    pub fn run_scan(&self, trigger: &str) -> Result<i64> {
        self.s.analysis.run_scan(trigger)
    }

    // ---- Maintenance ----

    /// Starts a maintenance run now; a second call while one runs is refused ("already running").
    pub fn run_maintenance(&self) -> Result<i64> {
        self.s.maintenance.start("manual")
    }

    /// Cancels the run in progress after its current task.
    pub fn cancel_maintenance(&self) -> Result<i64> {
        self.s.maintenance.cancel()
    }

    pub async fn maintenance_status(&self) -> Result<MaintenanceStatus> {
        self.s.maintenance.status().await
    }

    pub async fn maintenance_history(&self, limit: u32) -> Result<Vec<RunReport>> {
        self.s.maintenance.history(limit).await
    }

    // ---- Logs ----

    pub async fn search_logs(&self, q: LogQuery) -> Result<Vec<LogLine>> {
        self.s.logs.search(q).await
    }

    /// The newest lines kept in memory, oldest first.
    pub fn tail_logs(&self, n: usize) -> Vec<LogLine> {
        self.s.logs.tail(n)
    }

    /// Writes the lines a search finds to a text file in `exports/` and returns its path.
    pub async fn export_logs(&self, q: LogQuery) -> Result<String> {
        self.s.logs.export(q).await
    }
}
