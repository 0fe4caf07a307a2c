//! Detectors: rules over any numeric series Caretaker keeps (host metrics, check latency,
//! JSON-value probes, per-minute counts of log lines) that notice what a fixed threshold cannot:
//! a value that stopped moving, a spike in the failure rate, a value far from its own normal,
//! a job that has been in progress too long. Owns the `[[detectors]]` config section.
//!
//! A detector keeps no state of its own: each evaluation reads the series back from the
//! database, so what it knows survives a restart with the data. Its alert lives in the alert
//! engine (rule `detector`, subject = the detector's name), with the same lifecycle and dedup.

mod config;
mod evaluate;
pub(crate) mod service;
mod source;
pub mod unusual;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use ts_rs::TS;

pub use config::*;
pub use evaluate::{evaluate, Point, Verdict};

pub(crate) use source::read_series;

/// The alert rule name detector alerts are filed under.
pub const RULE: &str = "detector";

/// A detector as the UI lists it: its config, and what its last evaluation found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct DetectorState {
    pub config: DetectorConfig,
    /// `stalled`, `error_rate`, `above_normal`, `below_normal` or `stuck`.
    pub kind: String,
    pub source: String,
    pub firing: bool,
    pub summary: String,
    /// `null` until the first evaluation.
    #[ts(type = "Record<string, unknown> | null")]
    pub evidence: Value,
    pub evaluated_at: Option<i64>,
    /// The open alert this detector raised, if any.
    pub alert_id: Option<i64>,
    /// Why it could not be evaluated (the series could not be read).
    pub error: Option<String>,
}

impl DetectorState {
    pub fn new(config: DetectorConfig) -> Self {
        DetectorState {
            kind: config.rule().map_or("", |r| r.kind()).to_string(),
            source: config.source_label(),
            firing: false,
            summary: if config.enabled { "not evaluated yet".into() } else { "off".into() },
            evidence: Value::Null,
            evaluated_at: None,
            alert_id: None,
            error: None,
            config,
        }
    }
}

/// What a firing detector raises: (title, message, details).
pub fn alert_text(cfg: &DetectorConfig, v: &Verdict, host: &str, now_ms: i64) -> (String, String, Value) {
    let kind = cfg.rule().map_or("", |r| r.kind());
    let what = match kind {
        "stalled" => "stalled",
        "error_rate" => "failing often",
        "above_normal" => "far above normal",
        "below_normal" => "abnormally low",
        "stuck" => "stuck",
        _ => "unusual",
    };
    let title = format!("{} is {what} on {host}", cfg.name);
    let message = format!("{}: {}.", cfg.source_label(), v.summary);
    let details =
        json!({ "detector": cfg.name, "kind": kind, "source": cfg.source_label(), "evidence": v.evidence, "evaluated_at": now_ms });
    (title, message, details)
}

#[cfg(test)]
mod stuck_tests;
#[cfg(test)]
mod tests;
