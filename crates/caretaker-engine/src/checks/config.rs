//! `[checks]` in caretaker.toml: how long results are kept, and the service checks, each with
//! its common settings and exactly one probe (http, tcp, process, command or json_value).

use crate::error::ConfigIssue;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields, default)]
pub struct ChecksConfig {
    pub retention_days: u64,
    pub list: Vec<CheckConfig>,
}

impl Default for ChecksConfig {
    fn default() -> Self {
        ChecksConfig { retention_days: 30, list: Vec::new() }
    }
}

impl ChecksConfig {
    /// Problems with this section, each named by its path under `at` (`checks`).
    pub(crate) fn validate(&self, at: &str, out: &mut Vec<ConfigIssue>) {
        if !(1..=3650).contains(&self.retention_days) {
            out.push(ConfigIssue {
                path: format!("{at}.retention_days"),
                message: format!("must be between 1 and 3650 (got {})", self.retention_days),
                location: None,
            });
        }
        let mut names = std::collections::HashSet::new();
        for (i, c) in self.list.iter().enumerate() {
            let prefix = format!("{at}.list[{i}]");
            c.validate(&prefix, out);
            if !names.insert(c.name.trim().to_lowercase()) {
                out.push(ConfigIssue {
                    path: format!("{prefix}.name"),
                    message: format!("{:?} is used by another check", c.name),
                    location: None,
                });
            }
        }
    }
}

/// One service check: common settings and exactly one probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct CheckConfig {
    pub name: String,
    #[serde(default = "default_check_interval")]
    pub interval_secs: u64,
    #[serde(default = "default_check_timeout")]
    pub timeout_secs: u64,
    /// A success slower than this (ms) counts as degraded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degraded_latency_ms: Option<u64>,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The most this check's alert can be (`"warning"`): a check that is information, not a
    /// duty, is never critical by itself and so never repeats as one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_severity: Option<crate::alerts::Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpProbe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpProbe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<ProcessProbe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandProbe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_value: Option<JsonValueProbe>,
}

fn default_check_interval() -> u64 {
    60
}
/// A check's timeout when none is given: this, or its interval when that is shorter.
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;
/// Stands for "not given" between reading and [`CheckConfig::fill_defaults`]; no TOML integer
/// or UI field can be this large, so it is never a value someone wrote.
const TIMEOUT_NOT_GIVEN: u64 = u64::MAX;

fn default_check_timeout() -> u64 {
    TIMEOUT_NOT_GIVEN
}
fn default_method() -> String {
    "GET".into()
}
fn default_status() -> [u16; 2] {
    [200, 399]
}
fn default_host() -> String {
    "127.0.0.1".into()
}
fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct HttpProbe {
    pub url: String,
    #[serde(default = "default_method")]
    pub method: String,
    /// Inclusive range of statuses that count as up.
    #[serde(default = "default_status")]
    pub expect_status: [u16; 2],
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
    /// A JSON pointer (`/status`) into the body; with `json_equals`, the value it must have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_pointer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_equals: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct TcpProbe {
    #[serde(default = "default_host")]
    pub host: String,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ProcessProbe {
    /// Exact process name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Text that must appear in the process's command line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_line_contains: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct CommandProbe {
    /// Program and arguments; never run through a shell.
    pub argv: Vec<String>,
    #[serde(default)]
    pub expect_exit: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// When set, stdout is read as a number and compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning_above: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical_above: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct JsonValueProbe {
    pub url: String,
    /// JSON pointer to a number, e.g. `/queue/depth`.
    pub pointer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning_above: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical_above: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning_below: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical_below: Option<f64>,
    /// JSON pointer to the oldest item in progress: when it started (an RFC 3339 time, or Unix
    /// seconds or milliseconds) or its age in seconds (a number below 10^9); null there means
    /// nothing is in progress. Kept as `oldest_age_secs`, what a `stuck` detector reads best.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_pointer: Option<String>,
}

impl HttpProbe {
    /// A GET of `url` that counts any 2xx or 3xx as up.
    pub(crate) fn get(url: impl Into<String>) -> Self {
        HttpProbe {
            url: url.into(),
            method: default_method(),
            expect_status: default_status(),
            body_contains: None,
            json_pointer: None,
            json_equals: None,
        }
    }
}

impl CheckConfig {
    /// Defaults that depend on other fields: a timeout not given is capped at the interval (a
    /// check written with `interval_secs = 5` and no timeout is valid, not refused).
    pub fn fill_defaults(&mut self) {
        if self.timeout_secs == TIMEOUT_NOT_GIVEN {
            self.timeout_secs = DEFAULT_TIMEOUT_SECS.min(self.interval_secs).max(1);
        }
    }

    /// The probe's kind and what it looks at, for lists and messages.
    pub fn kind_and_target(&self) -> (&'static str, String) {
        if let Some(h) = &self.http {
            ("http", format!("{} {}", h.method, h.url))
        } else if let Some(t) = &self.tcp {
            ("tcp", format!("{}:{}", t.host, t.port))
        } else if let Some(p) = &self.process {
            ("process", p.name.clone().or_else(|| p.command_line_contains.clone()).unwrap_or_default())
        } else if let Some(c) = &self.command {
            ("command", c.argv.join(" "))
        } else if let Some(j) = &self.json_value {
            ("json_value", format!("{} {}", j.url, j.pointer))
        } else {
            ("none", String::new())
        }
    }

    /// Problems with this check, each named by its path under `at` (e.g. `checks.list[0]`).
    pub(crate) fn validate(&self, at: &str, out: &mut Vec<ConfigIssue>) {
        let mut bad = |field: &str, message: String| {
            let path = if field.is_empty() { at.to_string() } else { format!("{at}.{field}") };
            out.push(ConfigIssue { path, message, location: None });
        };
        if self.name.trim().is_empty() {
            bad("name", "must not be empty".into());
        }
        if !(5..=86_400).contains(&self.interval_secs) {
            bad("interval_secs", format!("must be between 5 and 86400 (got {})", self.interval_secs));
        }
        if !(1..=300).contains(&self.timeout_secs) {
            bad("timeout_secs", format!("must be between 1 and 300 (got {})", self.timeout_secs));
        } else if self.timeout_secs > self.interval_secs {
            bad("timeout_secs", format!("must not exceed interval_secs ({})", self.interval_secs));
        }
        let kinds = [self.http.is_some(), self.tcp.is_some(), self.process.is_some(), self.command.is_some(), self.json_value.is_some()];
        if kinds.iter().filter(|k| **k).count() != 1 {
            bad("", "needs exactly one probe: http, tcp, process, command or json_value".into());
        }
        let url_ok = |u: &str| -> std::result::Result<(), String> {
            let parsed = reqwest::Url::parse(u).map_err(|e| format!("not a valid URL ({e}): {u:?}"))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                return Err(format!("must be an http:// or https:// URL with a host (got {u:?})"));
            }
            Ok(())
        };
        if let Some(h) = &self.http {
            if let Err(e) = url_ok(&h.url) {
                bad("http.url", e);
            }
            if !["GET", "HEAD", "POST", "PUT", "OPTIONS"].contains(&h.method.as_str()) {
                bad("http.method", format!("must be GET, HEAD, POST, PUT or OPTIONS (got {:?})", h.method));
            }
            let [lo, hi] = h.expect_status;
            if !(100..=599).contains(&lo) || !(100..=599).contains(&hi) || lo > hi {
                bad("http.expect_status", format!("must be [low, high] within 100-599 (got [{lo}, {hi}])"));
            }
            if let Some(p) = &h.json_pointer {
                if !p.is_empty() && !p.starts_with('/') {
                    bad("http.json_pointer", format!("must start with / (got {p:?})"));
                }
            }
            if h.json_equals.is_some() && h.json_pointer.is_none() {
                bad("http.json_equals", "needs json_pointer".into());
            }
        }
        if let Some(t) = &self.tcp {
            if t.host.trim().is_empty() {
                bad("tcp.host", "must not be empty".into());
            }
            if t.port == 0 {
                bad("tcp.port", "must be between 1 and 65535".into());
            }
        }
        if let Some(p) = &self.process {
            if p.name.as_deref().unwrap_or("").is_empty() && p.command_line_contains.as_deref().unwrap_or("").is_empty() {
                bad("process", "needs name or command_line_contains".into());
            }
        }
        if let Some(c) = &self.command {
            if c.argv.first().is_none_or(|a| a.is_empty()) {
                bad("command.argv", "needs at least the program to run".into());
            }
        }
        if let Some(j) = &self.json_value {
            if let Err(e) = url_ok(&j.url) {
                bad("json_value.url", e);
            }
            if !j.pointer.starts_with('/') {
                bad("json_value.pointer", format!("must start with / (got {:?})", j.pointer));
            }
            if let Some(p) = j.oldest_pointer.as_ref().filter(|p| !p.starts_with('/')) {
                bad("json_value.oldest_pointer", format!("must start with / (got {p:?})"));
            }
            let thresholds = [j.warning_above, j.critical_above, j.warning_below, j.critical_below];
            if thresholds.iter().all(Option::is_none) && j.oldest_pointer.is_none() {
                bad(
                    "json_value",
                    "needs at least one of warning_above, critical_above, warning_below, critical_below or oldest_pointer".into(),
                );
            }
        }
    }
}
