//! The `[[detectors]]` section: one watched series and one rule over it, and its validation.

use crate::alerts::Severity;
use crate::error::ConfigIssue;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub(super) const MINUTE_MS: i64 = 60_000;

/// One watched series and one rule over it. Exactly one source and exactly one rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct DetectorConfig {
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default = "warning")]
    pub severity: Severity,
    /// A host metric as stored (`cpu_usage_percent`, `disk_used_percent` with `mount=/`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<MetricSource>,
    /// A configured check: its JSON/command value, its latency, or whether each run failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckSource>,
    /// Caretaker's own log lines at or above a level, counted per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<LogSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stalled: Option<StalledRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<ErrorRateRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above_normal: Option<AboveNormalRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below_normal: Option<BelowNormalRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stuck: Option<StuckRule>,
}

fn yes() -> bool {
    true
}
fn warning() -> Severity {
    Severity::Warning
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct MetricSource {
    pub name: String,
    /// As stored: `mount=/`, `interface=en0`; empty for unlabelled metrics.
    #[serde(default)]
    pub labels: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CheckField {
    /// The number a json_value or command probe read.
    Value,
    LatencyMs,
    /// 1 for a run that was not healthy, 0 for one that was: the input of `error_rate`.
    Failed,
    /// Seconds since the oldest item in progress started (a json_value probe's
    /// `oldest_pointer`): with `stuck`, the age of that item is what alerts.
    OldestAgeSecs,
}

impl CheckField {
    fn as_str(self) -> &'static str {
        match self {
            CheckField::Value => "value",
            CheckField::LatencyMs => "latency_ms",
            CheckField::Failed => "failed",
            CheckField::OldestAgeSecs => "oldest_age_secs",
        }
    }
}

fn field_value() -> CheckField {
    CheckField::Value
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct CheckSource {
    pub name: String,
    #[serde(default = "field_value")]
    pub field: CheckField,
}

fn level_error() -> crate::logs::LogLevel {
    crate::logs::LogLevel::Error
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct LogSource {
    #[serde(default = "level_error")]
    pub min_level: crate::logs::LogLevel,
}

/// A value that should move has not changed for `for_minutes` while above zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct StalledRule {
    #[serde(default = "five")]
    pub for_minutes: u64,
    /// At least this many identical readings, so one old reading is not "stalled".
    #[serde(default = "three")]
    pub min_samples: u32,
}

/// Failures / attempts over the window above `above_percent`, once there are `min_samples`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ErrorRateRule {
    #[serde(default = "fifteen")]
    pub window_minutes: u64,
    #[serde(default = "fifteen_f")]
    pub above_percent: f64,
    #[serde(default = "ten")]
    pub min_samples: u32,
}

/// The latest `sustain` readings are all more than `factor` x the average of the baseline
/// window before them, and at least `floor`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct AboveNormalRule {
    #[serde(default = "three_f")]
    pub factor: f64,
    #[serde(default = "sixty")]
    pub baseline_minutes: u64,
    /// Readings below this never alert, however many times their normal they are.
    #[serde(default = "one_f")]
    pub floor: f64,
    /// Readings the baseline needs before it is trusted.
    #[serde(default = "ten")]
    pub min_samples: u32,
    /// How many latest readings must all be that high (1 = a single reading is enough).
    #[serde(default = "three")]
    pub sustain: u32,
}

/// "Abnormally fast", for durations: the latest reading is less than the baseline average
/// divided by `factor` (a job that usually takes 50 minutes finishing in 5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct BelowNormalRule {
    #[serde(default = "three_f")]
    pub factor: f64,
    /// Durations come once per job, so the default baseline is a week.
    #[serde(default = "week")]
    pub baseline_minutes: u64,
    /// A baseline below this never alerts (things that are always quick).
    #[serde(default = "one_f")]
    pub floor: f64,
    #[serde(default = "five_u32")]
    pub min_samples: u32,
    #[serde(default = "one_u32")]
    pub sustain: u32,
}

/// An item or job in progress (the value is above zero) without a break for longer than
/// `older_than_minutes`. Over a check's `oldest_age_secs`, the better form: the oldest item in
/// progress is older than that (a queue that is always busy but moving never alerts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct StuckRule {
    #[serde(default = "thirty")]
    pub older_than_minutes: u64,
}

fn five() -> u64 {
    5
}
fn five_u32() -> u32 {
    5
}
fn one_u32() -> u32 {
    1
}
fn three() -> u32 {
    3
}
fn ten() -> u32 {
    10
}
fn fifteen() -> u64 {
    15
}
fn fifteen_f() -> f64 {
    15.0
}
fn three_f() -> f64 {
    3.0
}
fn one_f() -> f64 {
    1.0
}
fn sixty() -> u64 {
    60
}
fn week() -> u64 {
    7 * 24 * 60
}
fn thirty() -> u64 {
    30
}

/// One rule, borrowed from its config.
#[derive(Debug, Clone, Copy)]
pub enum Rule<'a> {
    Stalled(&'a StalledRule),
    ErrorRate(&'a ErrorRateRule),
    AboveNormal(&'a AboveNormalRule),
    BelowNormal(&'a BelowNormalRule),
    Stuck(&'a StuckRule),
    /// `stuck` over the age of the oldest item in progress.
    StuckOldest(&'a StuckRule),
}

impl Rule<'_> {
    pub fn kind(&self) -> &'static str {
        match self {
            Rule::Stalled(_) => "stalled",
            Rule::ErrorRate(_) => "error_rate",
            Rule::AboveNormal(_) => "above_normal",
            Rule::BelowNormal(_) => "below_normal",
            Rule::Stuck(_) | Rule::StuckOldest(_) => "stuck",
        }
    }

    /// How far back the evaluation reads.
    pub fn lookback_ms(&self) -> i64 {
        let m = |x: u64| x.min(366 * 24 * 60) as i64 * MINUTE_MS;
        match self {
            // Twice the threshold: enough to see where the current run began, or that it began
            // before the window.
            Rule::Stalled(r) => 2 * m(r.for_minutes),
            Rule::ErrorRate(r) => m(r.window_minutes),
            Rule::AboveNormal(r) => m(r.baseline_minutes),
            Rule::BelowNormal(r) => m(r.baseline_minutes),
            Rule::Stuck(r) => 2 * m(r.older_than_minutes),
            // Only the latest reading counts; a window of the limit still shows a few.
            Rule::StuckOldest(r) => m(r.older_than_minutes),
        }
    }
}

impl DetectorConfig {
    pub fn rule(&self) -> Option<Rule<'_>> {
        let all = [
            self.stalled.as_ref().map(Rule::Stalled),
            self.error_rate.as_ref().map(Rule::ErrorRate),
            self.above_normal.as_ref().map(Rule::AboveNormal),
            self.below_normal.as_ref().map(Rule::BelowNormal),
            self.stuck.as_ref().map(|r| match &self.check {
                Some(c) if c.field == CheckField::OldestAgeSecs => Rule::StuckOldest(r),
                _ => Rule::Stuck(r),
            }),
        ];
        let mut set = all.into_iter().flatten();
        let first = set.next();
        if set.next().is_some() {
            return None;
        }
        first
    }

    /// What the detector watches, for lists and messages.
    pub fn source_label(&self) -> String {
        if let Some(m) = &self.metric {
            if m.labels.is_empty() {
                m.name.clone()
            } else {
                format!("{}{{{}}}", m.name, m.labels)
            }
        } else if let Some(c) = &self.check {
            format!("check {} ({})", c.name, c.field.as_str())
        } else if let Some(l) = &self.logs {
            format!("log lines at {:?} or above, per minute", l.min_level).to_lowercase()
        } else {
            String::new()
        }
    }

    /// Problems with this detector, each named by its path under `at` (`detectors[0]`). Whether
    /// its check exists and its window fits the kept samples is for the whole config to say.
    pub(crate) fn validate(&self, at: &str, out: &mut Vec<ConfigIssue>) {
        let mut bad = |field: &str, message: String| {
            let path = if field.is_empty() { at.to_string() } else { format!("{at}.{field}") };
            out.push(ConfigIssue { path, message, location: None });
        };
        if self.name.trim().is_empty() {
            bad("name", "must not be empty".into());
        }
        let sources = [self.metric.is_some(), self.check.is_some(), self.logs.is_some()];
        if sources.iter().filter(|s| **s).count() != 1 {
            bad("", "needs exactly one source: metric, check or logs".into());
        }
        if let Some(m) = &self.metric {
            if m.name.trim().is_empty() {
                bad("metric.name", "must not be empty".into());
            }
        }
        let rules = [
            self.stalled.is_some(),
            self.error_rate.is_some(),
            self.above_normal.is_some(),
            self.below_normal.is_some(),
            self.stuck.is_some(),
        ];
        if rules.iter().filter(|r| **r).count() != 1 {
            bad("", "needs exactly one rule: stalled, error_rate, above_normal, below_normal or stuck".into());
        }
        let minutes = |bad: &mut dyn FnMut(&str, String), field: &str, v: u64, lo: u64, hi: u64| {
            if !(lo..=hi).contains(&v) {
                bad(field, format!("must be between {lo} and {hi} (got {v})"));
            }
        };
        const YEAR: u64 = 366 * 24 * 60;
        if let Some(r) = &self.stalled {
            minutes(&mut bad, "stalled.for_minutes", r.for_minutes, 1, YEAR);
            minutes(&mut bad, "stalled.min_samples", u64::from(r.min_samples), 2, 100_000);
        }
        if let Some(r) = &self.error_rate {
            minutes(&mut bad, "error_rate.window_minutes", r.window_minutes, 1, YEAR);
            minutes(&mut bad, "error_rate.min_samples", u64::from(r.min_samples), 1, 100_000);
            if !(r.above_percent > 0.0 && r.above_percent < 100.0) {
                bad("error_rate.above_percent", format!("must be above 0 and below 100 (got {})", r.above_percent));
            }
            if self.check.as_ref().is_none_or(|c| c.field != CheckField::Failed) {
                bad("error_rate", "counts failed runs of a check: use check = { name = \"...\", field = \"failed\" }".into());
            }
        }
        let normal =
            |bad: &mut dyn FnMut(&str, String), kind: &str, factor: f64, baseline: u64, floor: f64, min_samples: u32, sustain: u32| {
                if !(factor > 1.0 && factor <= 1000.0) {
                    bad(&format!("{kind}.factor"), format!("must be above 1 and at most 1000 (got {factor})"));
                }
                minutes(bad, &format!("{kind}.baseline_minutes"), baseline, 1, YEAR);
                if !(floor.is_finite() && floor >= 0.0) {
                    bad(&format!("{kind}.floor"), format!("must be 0 or more (got {floor})"));
                }
                minutes(bad, &format!("{kind}.min_samples"), u64::from(min_samples), 2, 100_000);
                minutes(bad, &format!("{kind}.sustain"), u64::from(sustain), 1, 1000);
            };
        if let Some(r) = &self.above_normal {
            normal(&mut bad, "above_normal", r.factor, r.baseline_minutes, r.floor, r.min_samples, r.sustain);
        }
        if let Some(r) = &self.below_normal {
            normal(&mut bad, "below_normal", r.factor, r.baseline_minutes, r.floor, r.min_samples, r.sustain);
        }
        if let Some(r) = &self.stuck {
            minutes(&mut bad, "stuck.older_than_minutes", r.older_than_minutes, 1, YEAR);
        }
    }
}
