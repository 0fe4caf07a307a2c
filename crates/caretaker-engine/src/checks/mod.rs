//! Service checks: probes (http, tcp, process, command, json value), their scheduler, history
//! and retention. Owns the `service_health_checks` table.

pub mod config;
mod oldest;
mod probe;
pub(crate) mod service;
pub(crate) mod store;

pub use probe::Prober;

use crate::config::CheckConfig;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

crate::sql_enum! {
    pub enum CheckStatus {
        Healthy = "healthy",
        Degraded = "degraded",
        Down = "down",
    }
}

/// One run of one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct CheckResult {
    pub service_name: String,
    pub status: CheckStatus,
    pub latency_ms: Option<f64>,
    pub checked_at: i64,
    pub error_message: Option<String>,
    /// What the probe saw (status code, value read, exit code...).
    #[ts(type = "Record<string, unknown>")]
    pub probe_details: serde_json::Value,
}

/// A check as the Services page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct CheckSummary {
    pub config: CheckConfig,
    pub kind: String,
    pub target: String,
    pub latest: Option<CheckResult>,
    /// Share of healthy-or-degraded results, in percent, or null without results.
    pub uptime_24h: Option<f64>,
    pub uptime_7d: Option<f64>,
    pub uptime_30d: Option<f64>,
    /// Latency of the most recent results, oldest first, for a sparkline.
    pub recent_latency_ms: Vec<Option<f64>>,
}

/// A request for a check's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct CheckHistoryQuery {
    pub service_name: String,
    pub limit: u32,
    #[serde(default)]
    #[ts(optional)]
    pub status: Option<CheckStatus>,
}

/// When a check's run was due and when it actually started: the scheduler's lag.
#[derive(Debug, Clone, Copy)]
pub struct Lag {
    pub due: tokio::time::Instant,
    pub started: tokio::time::Instant,
}

/// Starts one task per enabled check. Each runs on a fixed schedule (no drift: a slow probe
/// skips a beat rather than shifting every later run) and sends its results to `out`.
pub fn spawn_checks(
    checks: &[CheckConfig],
    prober: Prober,
    clock: std::sync::Arc<dyn crate::Clock>,
    out: mpsc::Sender<(CheckResult, Lag)>,
    cancel: CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    checks
        .iter()
        .filter(|c| c.enabled)
        .enumerate()
        .map(|(i, c)| {
            let (c, prober, clock, out, cancel) = (c.clone(), prober.clone(), clock.clone(), out.clone(), cancel.clone());
            tokio::spawn(async move {
                let period = Duration::from_secs(c.interval_secs);
                // Spread first runs over a second so a hundred checks do not all fire at once.
                let offset = Duration::from_millis((i as u64 * 37) % 1000);
                let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                loop {
                    let due = tokio::select! {
                        _ = cancel.cancelled() => break,
                        due = ticker.tick() => due,
                    };
                    let started = tokio::time::Instant::now();
                    let result = tokio::select! {
                        _ = cancel.cancelled() => break,
                        r = prober.run(&c, clock.now_ms()) => r,
                    };
                    if out.send((result, Lag { due, started })).await.is_err() {
                        break;
                    }
                }
            })
        })
        .collect()
}
