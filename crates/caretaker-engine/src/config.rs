//! `caretaker.toml`: the types, their defaults, validation that names the field, atomic save.

use crate::error::{EngineError, Result};
use serde::{Deserialize, Serialize};
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

[alerts]
# Host thresholds, in percent. An alert fires when the value has stayed at or above a level for
# `for_secs` (default: two sampling intervals), and clears only once it drops `clear_margin`
# points below the warning line, so a value hovering at the line does not flap.
cpu = { warning = 75, critical = 90 }
memory = { warning = 80, critical = 95 }
disk = { warning = 85, critical = 95 }
# A check alerts after this many bad results in a row (down = critical, degraded = warning).
check_failures_before_alert = 2
# "Stale": a check or the sampler produced nothing for this many of its intervals.
stale_after_intervals = 3
# Unacknowledged critical alerts notify again this often, in hours (0 = never).
repeat_critical_hours = 4
# Resolved alerts are kept this many days.
retention_days = 90
# During quiet hours warnings only appear in the app; critical alerts still notify.
# quiet_hours = { start = "01:00", end = "06:00" }

[notifications]
# Native notifications (Notification Center on macOS, the desktop's notification server on Linux).
enabled = true

[logs]
# Caretaker's own log lines (INFO and above) are kept this many days.
retention_days = 14

[maintenance]
# Routine care runs every day at this local time (HH:MM); "Run now" works any time.
daily_at = "03:30"
enabled = true
# VACUUM the database when more than this share of its pages are free (percent).
vacuum_free_percent = 20
# Optional tasks, off until you configure them. Each can delete or change things: read twice.
# Delete files older than N days in a cache folder you name:
# clear_cache = { path = "/Users/me/Library/Caches/SomeApp", older_than_days = 30 }
# Run a command (argv, never a shell), e.g. Homebrew's cleanup:
# command = { argv = ["/opt/homebrew/bin/brew", "cleanup"], timeout_secs = 600 }

[healing]
# Remedial actions you define, attached to checks or alert rules. Each action's `mode`:
# "escalate" (the default: propose it to you, run nothing until you press "Run it"),
# "auto" (run it, then tell you what happened) or "off". Only these actions can ever run.
# Across all actions, at most this many run per hour:
max_actions_per_hour = 5
# Example: restart a web server when its check is down.
# [[healing.actions]]
# id = "restart-web"
# name = "Restart the web server"
# mode = "auto"
# on_checks = ["Web"]
# restart_service = { name = "homebrew.mxcl.nginx", system = false }
# (or: command = { argv = ["/usr/local/bin/restart-web"] }, docker_restart = { container = "web" },
#  kill_process = { name = "runaway", cpu_above_percent = 90 }, clear_folder = { path = "/tmp/cache" })

[analysis]
# Let a local language model read Caretaker's warnings and errors and classify what it finds.
# Any OpenAI-compatible server: Ollama (http://127.0.0.1:11434/v1), LM Studio, llama.cpp.
# Nothing leaves this machine unless you point `endpoint` elsewhere. Enable it from the app
# (Insights), which first checks that the server answers and has the model.
enabled = false
cadence_minutes = 60
endpoint = "http://127.0.0.1:11434/v1"
model = "llama3.2"
# The prompt; empty means "use the default". Edit it in the app.
prompt_template = ""
prompt_user_modified = false
max_log_lines = 500
min_level = "warn"

[http]
# An HTTP endpoint for Prometheus and scripts: /health, /metrics (JSON), /metrics/prometheus.
# Off by default. It only reads; no request changes anything. Listening on anything but
# loopback requires a bearer token (requests must send "Authorization: Bearer <token>").
enabled = false
bind = "127.0.0.1:9464"
token = ""

[backups]
# Backups go to restic-format repositories (readable by the restic CLI too). Create a plan from
# the app (Backups), which also creates the repository and keeps its password in the keychain.
# A structure check of each repository every N days, and a rotating sample of the data read
# back every M days:
verify_every_days = 7
read_data_every_days = 30
# [[backups.plans]]
# name = "Documents"
# sources = ["/Users/me/Documents"]
# excludes = ["*.iso"]
# repository = "/Volumes/Backup/caretaker"
# schedule = "daily 02:00"          # or "hourly", or "manual"
# keep = { last = 3, hourly = 24, daily = 7, weekly = 4, monthly = 12 }
# host = "mac-mini"                 # fixed, so a renamed machine still finds its last snapshot

[alertmanager]
# Forward alerts to a Prometheus Alertmanager (its API v2), e.g. one Alertmanager for several
# machines. Off by default. Open alerts are sent again every `resend_secs`, resolved ones once
# with their end time; failed deliveries are retried with growing pauses.
enabled = false
url = "http://127.0.0.1:9093"
resend_secs = 60

# Detectors watch a series for what a fixed line cannot catch. Each [[detectors]] has a name,
# one source (metric, check or logs) and one rule (stalled, error_rate, above_normal,
# below_normal or stuck). Examples:
# [[detectors]]
# name = "Queue not moving"
# check = { name = "Queue depth", field = "value" }
# stalled = { for_minutes = 5 }
#
# [[detectors]]
# name = "Web failing often"
# check = { name = "Web", field = "failed" }
# error_rate = { window_minutes = 15, above_percent = 15, min_samples = 10 }
#
# [[detectors]]
# name = "Web slower than usual"
# check = { name = "Web", field = "latency_ms" }
# above_normal = { factor = 3, baseline_minutes = 60, floor = 50 }
#
# [[detectors]]
# name = "Nightly job too fast"
# check = { name = "Nightly job minutes", field = "value" }
# below_normal = { factor = 3 }
#
# [[detectors]]
# name = "Import stuck"
# check = { name = "Import running", field = "value" }
# stuck = { older_than_minutes = 30 }
#
# [[detectors]]
# name = "Errors in Caretaker's log"
# logs = { min_level = "error" }
# above_normal = { factor = 3, floor = 5 }

[checks]
# Check results are kept this many days.
retention_days = 30

# Service checks. Each [[checks.list]] has a name, an interval (seconds, at least 5), a timeout,
# an optional latency (ms) above which a success counts as degraded, and exactly one probe:
# http, tcp, process, command or json_value. A local Ollama, to show how a check looks: when
# none runs it shows as down, which is information, not an error of the app.
[[checks.list]]
name = "Ollama"
interval_secs = 60
timeout_secs = 10
degraded_latency_ms = 2000
http = { url = "http://127.0.0.1:11434/api/version" }

# More examples:
# [[checks.list]]
# name = "Postgres"
# tcp = { host = "127.0.0.1", port = 5432 }
#
# [[checks.list]]
# name = "Queue depth"
# json_value = { url = "http://127.0.0.1:8080/stats", pointer = "/queue/depth", warning_above = 100, critical_above = 1000 }
#
# [[checks.list]]
# name = "Backups disk mounted"
# command = { argv = ["/bin/test", "-d", "/Volumes/Backup"] }
#
# [[checks.list]]
# name = "Plex"
# process = { name = "Plex Media Server" }
"#;

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
    pub backups: crate::backup::config::BackupsConfig,
    pub checks: ChecksConfig,
    /// Forwarding of alerts to a Prometheus Alertmanager; off by default.
    pub alertmanager: crate::forward::AlertmanagerConfig,
    /// Detectors over any series: stalled, error rate, far from normal, stuck.
    pub detectors: Vec<crate::detectors::DetectorConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub enabled: bool,
    pub bind: String,
    /// Required when `bind` is not a loopback address.
    pub token: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig { enabled: false, bind: "127.0.0.1:9464".into(), token: String::new() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields, default)]
pub struct AnalysisConfig {
    pub enabled: bool,
    pub cadence_minutes: u64,
    pub endpoint: String,
    pub model: String,
    pub prompt_template: String,
    pub prompt_user_modified: bool,
    pub max_log_lines: u32,
    pub min_level: crate::logs::LogLevel,
    /// How long one answer may take, in seconds.
    pub request_timeout_secs: u64,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            enabled: false,
            cadence_minutes: 60,
            endpoint: "http://127.0.0.1:11434/v1".into(),
            model: "llama3.2".into(),
            prompt_template: String::new(),
            prompt_user_modified: false,
            max_log_lines: 500,
            min_level: crate::logs::LogLevel::Warn,
            request_timeout_secs: 120,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields, default)]
pub struct HealingConfig {
    pub max_actions_per_hour: u32,
    pub actions: Vec<ActionConfig>,
}

impl Default for HealingConfig {
    fn default() -> Self {
        HealingConfig { max_actions_per_hour: 5, actions: Vec::new() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum HealingMode {
    Escalate,
    Auto,
    Off,
}

impl HealingMode {
    pub fn as_str(&self) -> &'static str {
        match self {
            HealingMode::Escalate => "escalate",
            HealingMode::Auto => "auto",
            HealingMode::Off => "off",
        }
    }
}

fn escalate() -> HealingMode {
    HealingMode::Escalate
}
fn default_action_per_hour() -> u32 {
    3
}
fn default_cooldown() -> u64 {
    300
}
fn default_attempts() -> u32 {
    3
}
fn default_verify() -> u64 {
    10
}

/// A remedial action the person defined. Exactly one kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ActionConfig {
    pub id: String,
    pub name: String,
    #[serde(default = "escalate")]
    pub mode: HealingMode,
    /// Checks whose "down" or "degraded" alert triggers this action.
    #[serde(default)]
    pub on_checks: Vec<String>,
    /// Alert rules (`cpu`, `memory`, `disk`) whose alerts trigger this action.
    #[serde(default)]
    pub on_alerts: Vec<String>,
    #[serde(default = "default_action_per_hour")]
    pub max_per_hour: u32,
    /// Seconds between two runs for the same subject.
    #[serde(default = "default_cooldown")]
    pub cooldown_secs: u64,
    /// Runs per incident before giving up and asking the person.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// Seconds to wait after running before re-checking.
    #[serde(default = "default_verify")]
    pub verify_after_secs: u64,
    /// Do not restart a service that was stopped on purpose.
    #[serde(default = "yes")]
    pub respect_manual_stop: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_service: Option<RestartServiceAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_restart: Option<DockerRestartAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_process: Option<KillProcessAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear_folder: Option<ClearFolderAction>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct RestartServiceAction {
    /// launchd label (macOS) or systemd unit (Linux).
    pub name: String,
    /// A system service (launchd `system/`, `systemctl` without `--user`).
    #[serde(default)]
    pub system: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct CommandAction {
    pub argv: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default = "default_command_timeout")]
    pub timeout_secs: u64,
    /// Environment variables passed through; everything else is cleared.
    #[serde(default)]
    pub env_allow: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct DockerRestartAction {
    pub container: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct KillProcessAction {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_above_percent: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_above_mb: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ClearFolderAction {
    pub path: String,
    #[serde(default)]
    pub older_than_days: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields, default)]
pub struct LogsConfig {
    pub retention_days: u64,
}

impl Default for LogsConfig {
    fn default() -> Self {
        LogsConfig { retention_days: 14 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields, default)]
pub struct MaintenanceConfig {
    pub enabled: bool,
    pub daily_at: String,
    pub vacuum_free_percent: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clear_cache: Option<ClearCacheTask>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandTask>,
}

impl Default for MaintenanceConfig {
    fn default() -> Self {
        MaintenanceConfig { enabled: true, daily_at: "03:30".into(), vacuum_free_percent: 20, clear_cache: None, command: None }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ClearCacheTask {
    pub path: String,
    pub older_than_days: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct CommandTask {
    pub argv: Vec<String>,
    #[serde(default = "default_command_timeout")]
    pub timeout_secs: u64,
}

fn default_command_timeout() -> u64 {
    600
}

/// Minutes after midnight of an `HH:MM` time of day.
pub fn parse_time_of_day(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && s.len() == 5).then_some(h * 60 + m)
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ThresholdRule {
    pub warning: f64,
    pub critical: f64,
    /// The value must fall this many points below `warning` before the alert clears.
    #[serde(default = "default_clear_margin")]
    pub clear_margin: f64,
    /// How long the value must stay over a line before the alert fires (default: 2 intervals).
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub for_secs: Option<u64>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn default_clear_margin() -> f64 {
    5.0
}
fn yes() -> bool {
    true
}

impl ThresholdRule {
    fn new(warning: f64, critical: f64) -> Self {
        ThresholdRule { warning, critical, clear_margin: default_clear_margin(), for_secs: None, enabled: true }
    }
}

/// A time-of-day window, local time, `HH:MM`; it may cross midnight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    pub start: String,
    pub end: String,
}

impl QuietHours {
    /// Minutes after midnight of (start, end), or the field that is wrong.
    pub fn minutes(&self) -> std::result::Result<(u32, u32), &'static str> {
        let parse = |s: &str| -> Option<u32> {
            let (h, m) = s.split_once(':')?;
            let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
            (h < 24 && m < 60 && s.len() == 5).then_some(h * 60 + m)
        };
        let start = parse(&self.start).ok_or("start")?;
        let end = parse(&self.end).ok_or("end")?;
        Ok((start, end))
    }

    pub fn contains(&self, minute_of_day: u32) -> bool {
        match self.minutes() {
            Ok((s, e)) if s <= e => minute_of_day >= s && minute_of_day < e,
            Ok((s, e)) => minute_of_day >= s || minute_of_day < e,
            Err(_) => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    pub cpu: ThresholdRule,
    pub memory: ThresholdRule,
    pub disk: ThresholdRule,
    pub check_failures_before_alert: u32,
    pub stale_after_intervals: u32,
    pub repeat_critical_hours: u64,
    pub retention_days: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHours>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            cpu: ThresholdRule::new(75.0, 90.0),
            memory: ThresholdRule::new(80.0, 95.0),
            disk: ThresholdRule::new(85.0, 95.0),
            check_failures_before_alert: 2,
            stale_after_intervals: 3,
            repeat_critical_hours: 4,
            retention_days: 90,
            quiet_hours: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationsConfig {
    pub enabled: bool,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        NotificationsConfig { enabled: true }
    }
}

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

impl Config {
    /// What a first run writes (as commented TOML): the defaults plus a check of a local Ollama.
    pub fn first_run() -> Config {
        let mut c = Config::default();
        c.checks.list.push(CheckConfig {
                name: "Ollama".into(),
                interval_secs: 60,
                timeout_secs: 10,
                degraded_latency_ms: Some(2000),
                enabled: true,
                http: Some(HttpProbe {
                    url: "http://127.0.0.1:11434/api/version".into(),
                    method: default_method(),
                    expect_status: default_status(),
                    body_contains: None,
                    json_pointer: None,
                    json_equals: None,
                }),
                tcp: None,
                process: None,
                command: None,
                json_value: None,
        });
        c
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
fn default_check_timeout() -> u64 {
    10
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
}

impl CheckConfig {
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

    /// Problems with this check, each named by its path under `prefix` (e.g. `checks.list[0]`).
    pub fn validate(&self, prefix: &str) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let mut bad = |field: &str, message: String| {
            let path = if field.is_empty() { prefix.to_string() } else { format!("{prefix}.{field}") };
            issues.push(ConfigIssue { path, message, location: None });
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
            if j.warning_above.is_none() && j.critical_above.is_none() && j.warning_below.is_none() && j.critical_below.is_none() {
                bad("json_value", "needs at least one of warning_above, critical_above, warning_below, critical_below".into());
            }
        }
        issues
    }
}

pub use crate::error::ConfigIssue;

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
        let range = |issues: &mut Vec<ConfigIssue>, path: &str, value: u64, lo: u64, hi: u64| {
            if value < lo || value > hi {
                issues.push(ConfigIssue {
                    path: path.into(),
                    message: format!("must be between {lo} and {hi} (got {value})"),
                    location: None,
                });
            }
        };
        let m = &self.metrics;
        range(&mut issues, "metrics.interval_secs", m.interval_secs, 1, 3600);
        range(&mut issues, "metrics.raw_retention_hours", m.raw_retention_hours, 1, 8760);
        range(&mut issues, "metrics.minute_retention_days", m.minute_retention_days, 1, 3650);
        range(&mut issues, "metrics.hour_retention_days", m.hour_retention_days, 1, 36500);
        range(&mut issues, "metrics.top_processes", u64::from(m.top_processes), 0, 50);
        let a = &self.alerts;
        for (name, r) in [("cpu", &a.cpu), ("memory", &a.memory), ("disk", &a.disk)] {
            let p = format!("alerts.{name}");
            if !(0.0..=100.0).contains(&r.warning) || !(0.0..=100.0).contains(&r.critical) || r.warning > r.critical {
                issues.push(ConfigIssue { path: p.clone(), message: format!("needs 0 <= warning <= critical <= 100 (got warning {}, critical {})", r.warning, r.critical), location: None });
            }
            if !(0.0..=50.0).contains(&r.clear_margin) {
                issues.push(ConfigIssue { path: format!("{p}.clear_margin"), message: format!("must be between 0 and 50 (got {})", r.clear_margin), location: None });
            }
            if let Some(f) = r.for_secs {
                range(&mut issues, &format!("{p}.for_secs"), f, 0, 86_400);
            }
        }
        range(&mut issues, "alerts.check_failures_before_alert", u64::from(a.check_failures_before_alert), 1, 100);
        range(&mut issues, "alerts.stale_after_intervals", u64::from(a.stale_after_intervals), 2, 1000);
        range(&mut issues, "alerts.repeat_critical_hours", a.repeat_critical_hours, 0, 168);
        range(&mut issues, "alerts.retention_days", a.retention_days, 1, 3650);
        if let Some(q) = &a.quiet_hours {
            if let Err(field) = q.minutes() {
                issues.push(ConfigIssue { path: format!("alerts.quiet_hours.{field}"), message: "must be a time of day as HH:MM".into(), location: None });
            }
        }
        range(&mut issues, "checks.retention_days", self.checks.retention_days, 1, 3650);
        match self.http.bind.parse::<std::net::SocketAddr>() {
            Err(_) => issues.push(ConfigIssue { path: "http.bind".into(), message: format!("must be an address and port such as 127.0.0.1:9464 (got {:?})", self.http.bind), location: None }),
            Ok(addr) if self.http.enabled && !addr.ip().is_loopback() && self.http.token.trim().len() < 16 => issues.push(ConfigIssue {
                path: "http.token".into(),
                message: format!("listening on {addr} (not loopback) needs a bearer token of at least 16 characters; refusing to expose the endpoint without one"),
                location: None,
            }),
            Ok(_) => {}
        }
        let an = &self.analysis;
        range(&mut issues, "analysis.cadence_minutes", an.cadence_minutes, 1, 10_080);
        range(&mut issues, "analysis.max_log_lines", u64::from(an.max_log_lines), 10, 100_000);
        range(&mut issues, "analysis.request_timeout_secs", an.request_timeout_secs, 1, 3600);
        if reqwest::Url::parse(&an.endpoint).map(|u| !matches!(u.scheme(), "http" | "https")).unwrap_or(true) {
            issues.push(ConfigIssue { path: "analysis.endpoint".into(), message: format!("must be an http:// or https:// URL (got {:?})", an.endpoint), location: None });
        }
        if an.model.trim().is_empty() {
            issues.push(ConfigIssue { path: "analysis.model".into(), message: "must not be empty".into(), location: None });
        }
        range(&mut issues, "healing.max_actions_per_hour", u64::from(self.healing.max_actions_per_hour), 1, 1000);
        let mut ids = std::collections::HashSet::new();
        for (i, a) in self.healing.actions.iter().enumerate() {
            let p = format!("healing.actions[{i}]");
            let mut bad = |field: &str, message: String| issues.push(ConfigIssue { path: if field.is_empty() { p.clone() } else { format!("{p}.{field}") }, message, location: None });
            if a.id.trim().is_empty() || !a.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                bad("id", format!("must be letters, digits, - or _ (got {:?})", a.id));
            } else if !ids.insert(a.id.clone()) {
                bad("id", format!("{:?} is used by another action", a.id));
            }
            let kinds = [a.restart_service.is_some(), a.command.is_some(), a.docker_restart.is_some(), a.kill_process.is_some(), a.clear_folder.is_some()];
            if kinds.iter().filter(|k| **k).count() != 1 {
                bad("", "needs exactly one of restart_service, command, docker_restart, kill_process, clear_folder".into());
            }
            if a.on_checks.is_empty() && a.on_alerts.is_empty() {
                bad("", "is attached to nothing: set on_checks or on_alerts".into());
            }
            for c in &a.on_checks {
                if !self.checks.list.iter().any(|k| &k.name == c) {
                    bad("on_checks", format!("there is no check named {c:?}"));
                }
            }
            for r in &a.on_alerts {
                if !["cpu", "memory", "disk", "stale"].contains(&r.as_str()) {
                    bad("on_alerts", format!("unknown alert rule {r:?} (cpu, memory, disk or stale)"));
                }
            }
            if !(1..=100).contains(&a.max_per_hour) {
                bad("max_per_hour", format!("must be between 1 and 100 (got {})", a.max_per_hour));
            }
            if !(1..=20).contains(&a.max_attempts) {
                bad("max_attempts", format!("must be between 1 and 20 (got {})", a.max_attempts));
            }
            if a.verify_after_secs > 3600 {
                bad("verify_after_secs", format!("must be at most 3600 (got {})", a.verify_after_secs));
            }
            if let Some(c) = &a.command {
                if c.argv.first().is_none_or(|x| x.is_empty()) {
                    bad("command.argv", "needs at least the program to run".into());
                }
                if !(1..=3600).contains(&c.timeout_secs) {
                    bad("command.timeout_secs", format!("must be between 1 and 3600 (got {})", c.timeout_secs));
                }
            }
            if let Some(r) = &a.restart_service {
                if r.name.trim().is_empty() || r.name.contains('/') {
                    bad("restart_service.name", format!("must be a launchd label or systemd unit name (got {:?})", r.name));
                }
            }
            if let Some(f) = &a.clear_folder {
                let path = std::path::Path::new(&f.path);
                if !path.is_absolute() || path.parent().is_none() {
                    bad("clear_folder.path", format!("must be an absolute folder path, not the root (got {:?})", f.path));
                }
            }
            if let Some(k) = &a.kill_process {
                if k.name.trim().is_empty() {
                    bad("kill_process.name", "must not be empty".into());
                }
            }
        }
        range(&mut issues, "logs.retention_days", self.logs.retention_days, 1, 3650);
        self.backups.validate(&mut issues);
        let mt = &self.maintenance;
        if parse_time_of_day(&mt.daily_at).is_none() {
            issues.push(ConfigIssue { path: "maintenance.daily_at".into(), message: format!("must be a time of day as HH:MM (got {:?})", mt.daily_at), location: None });
        }
        range(&mut issues, "maintenance.vacuum_free_percent", u64::from(mt.vacuum_free_percent), 1, 90);
        if let Some(c) = &mt.clear_cache {
            let p = std::path::Path::new(&c.path);
            if !p.is_absolute() || p.parent().is_none() {
                issues.push(ConfigIssue { path: "maintenance.clear_cache.path".into(), message: format!("must be an absolute folder path, not the root (got {:?})", c.path), location: None });
            }
            range(&mut issues, "maintenance.clear_cache.older_than_days", c.older_than_days, 1, 3650);
        }
        if let Some(c) = &mt.command {
            if c.argv.first().is_none_or(|a| a.is_empty()) {
                issues.push(ConfigIssue { path: "maintenance.command.argv".into(), message: "needs at least the program to run".into(), location: None });
            }
            range(&mut issues, "maintenance.command.timeout_secs", c.timeout_secs, 1, 86_400);
        }
        let mut names = std::collections::HashSet::new();
        for (i, c) in self.checks.list.iter().enumerate() {
            let prefix = format!("checks.list[{i}]");
            issues.extend(c.validate(&prefix));
            if !names.insert(c.name.trim().to_lowercase()) {
                issues.push(ConfigIssue { path: format!("{prefix}.name"), message: format!("{:?} is used by another check", c.name), location: None });
            }
        }
        issues.extend(self.alertmanager.validate("alertmanager"));
        let mut names = std::collections::HashSet::new();
        for (i, d) in self.detectors.iter().enumerate() {
            let prefix = format!("detectors[{i}]");
            issues.extend(d.validate(&prefix, &self.checks.list));
            // Metric series are read from raw samples; a longer window would silently see less.
            if let (Some(_), Some(rule)) = (&d.metric, d.rule()) {
                let kept_minutes = self.metrics.raw_retention_hours.saturating_mul(60) as i64;
                if rule.lookback_ms() / 60_000 > kept_minutes {
                    issues.push(ConfigIssue {
                        path: format!("{prefix}.{}", rule.kind()),
                        message: format!("looks back {} min, but raw metric samples are kept {} min (metrics.raw_retention_hours)", rule.lookback_ms() / 60_000, kept_minutes),
                        location: None,
                    });
                }
            }
            if !names.insert(d.name.trim().to_lowercase()) {
                issues.push(ConfigIssue { path: format!("{prefix}.name"), message: format!("{:?} is used by another detector", d.name), location: None });
            }
        }
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

/// Replaces one top-level section (`[analysis]`) of the config file with `value`, keeping the
/// rest of the file (comments included), atomically. The caller has validated the whole config.
pub(crate) fn write_section<T: Serialize>(path: &Path, key: &str, value: &T) -> Result<()> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| EngineError::InvalidInput(format!("{} is not valid TOML, fix it by hand first: {e}", path.display())))?;
    let mut wrapper = std::collections::BTreeMap::new();
    wrapper.insert(key, value);
    let fresh = toml::to_string(&wrapper).map_err(|e| EngineError::Internal(format!("cannot serialise {key}: {e}")))?;
    let fresh: toml_edit::DocumentMut = fresh.parse().map_err(|e| EngineError::Internal(format!("cannot re-read {key}: {e}")))?;
    let Some(new_table) = fresh.get(key).and_then(|i| i.as_table()) else {
        return Err(EngineError::Internal(format!("{key} did not serialise as a table")));
    };
    match doc.get_mut(key).and_then(|i| i.as_table_mut()) {
        // Update values in place so comments between keys survive.
        Some(existing) => {
            for (k, v) in new_table.iter() {
                match existing.get_mut(k).and_then(|e| e.as_value_mut()) {
                    Some(slot) if v.is_value() => {
                        let decor = slot.decor().clone();
                        if let Some(nv) = v.as_value() {
                            *slot = nv.clone();
                            *slot.decor_mut() = decor;
                        }
                    }
                    _ => {
                        existing.insert(k, v.clone());
                    }
                }
            }
        }
        None => {
            doc.insert(key, toml_edit::Item::Table(new_table.clone()));
        }
    }
    let out = doc.to_string();
    Config::from_toml_str(&out).map_err(EngineError::Config)?;
    write_atomic(path, out.as_bytes())
}

/// Replaces one array of tables (`[[checks.list]]`, `[[backups.plans]]`, `[[detectors]]`) in the
/// config file, keeping everything else (comments included), atomically. `keys` is its path. The
/// caller has validated the whole config; what would not read back is never written.
pub(crate) fn write_array<T: Serialize>(path: &Path, keys: &[&str], list: &[T]) -> Result<()> {
    let what = keys.join(".");
    let Some((last, parents)) = keys.split_last() else {
        return Err(EngineError::Internal("write_array needs a key".into()));
    };
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| EngineError::InvalidInput(format!("{} is not valid TOML, fix it by hand first: {e}", path.display())))?;
    let mut wrapper = std::collections::BTreeMap::new();
    wrapper.insert("x", list);
    let fresh = toml::to_string(&wrapper).map_err(|e| EngineError::Internal(format!("cannot serialise {what}: {e}")))?;
    let fresh: toml_edit::DocumentMut = fresh.parse().map_err(|e| EngineError::Internal(format!("cannot re-read {what}: {e}")))?;
    let item = fresh.get("x").cloned().unwrap_or(toml_edit::Item::None);
    let mut table: &mut dyn toml_edit::TableLike = doc.as_table_mut();
    for k in parents {
        if !table.contains_key(k) {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            table.insert(k, toml_edit::Item::Table(t));
        }
        table = table
            .get_mut(k)
            .and_then(|i| i.as_table_like_mut())
            .ok_or_else(|| EngineError::InvalidInput(format!("{}: `{k}` must be a table", path.display())))?;
    }
    if list.is_empty() {
        table.remove(last);
    } else {
        table.insert(last, item);
    }
    let out = doc.to_string();
    Config::from_toml_str(&out).map_err(EngineError::Config)?;
    write_atomic(path, out.as_bytes())
}

pub(crate) fn write_checks(path: &Path, list: &[CheckConfig]) -> Result<()> {
    write_array(path, &["checks", "list"], list)
}

pub(crate) fn write_detectors(path: &Path, list: &[crate::detectors::DetectorConfig]) -> Result<()> {
    write_array(path, &["detectors"], list)
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
        assert_eq!(Config::from_toml_str(DEFAULT_CONFIG_TOML), Ok(Config::first_run()));
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
    fn bad_checks_are_refused_with_the_field_named() {
        let cases = [
            ("[[checks.list]]\nname = \"a\"\nhttp = { url = \"not a url\" }\n", "checks.list[0].http.url: not a valid URL"),
            ("[[checks.list]]\nname = \"a\"\ninterval_secs = -5\ntcp = { port = 1 }\n", "checks.list[0].interval_secs: invalid value: integer `-5`"),
            ("[[checks.list]]\nname = \"a\"\ninterval_secs = 2\ntcp = { port = 1 }\n", "checks.list[0].interval_secs: must be between 5 and 86400 (got 2)"),
            ("[[checks.list]]\nname = \"a\"\nftp = { host = \"x\" }\n", "checks.list[0].ftp: unknown field `ftp`"),
            ("[[checks.list]]\nname = \"a\"\n", "checks.list[0]: needs exactly one probe"),
            ("[[checks.list]]\nname = \"a\"\ntcp = { port = 1 }\n[[checks.list]]\nname = \"A\"\ntcp = { port = 2 }\n", "checks.list[1].name: \"A\" is used by another check"),
            ("[[checks.list]]\nname = \"a\"\ncommand = { argv = [] }\n", "checks.list[0].command.argv: needs at least the program"),
            ("[[checks.list]]\nname = \"a\"\njson_value = { url = \"http://x/\", pointer = \"/a\" }\n", "checks.list[0].json_value: needs at least one of"),
            ("[alerts]\ncpu = { warning = 95, critical = 90 }\n", "alerts.cpu: needs 0 <= warning <= critical <= 100"),
            ("[alerts]\nquiet_hours = { start = \"25:00\", end = \"06:00\" }\n", "alerts.quiet_hours.start: must be a time of day"),
        ];
        for (toml, want) in cases {
            let issues = Config::from_toml_str(toml).unwrap_err();
            let text: Vec<String> = issues.iter().map(|i| i.to_string()).collect();
            assert!(text.iter().any(|t| t.starts_with(want)), "{toml:?}: wanted {want:?}, got {text:?}");
        }
    }

    #[test]
    fn quiet_hours_cross_midnight() {
        let q = QuietHours { start: "23:00".into(), end: "06:30".into() };
        assert!(q.contains(23 * 60) && q.contains(0) && q.contains(6 * 60 + 29));
        assert!(!q.contains(6 * 60 + 30) && !q.contains(12 * 60));
        let day = QuietHours { start: "01:00".into(), end: "05:00".into() };
        assert!(day.contains(60) && !day.contains(5 * 60) && !day.contains(0));
    }

    #[test]
    fn write_checks_keeps_the_rest_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("caretaker.toml");
        std::fs::write(&path, DEFAULT_CONFIG_TOML).unwrap();
        let mut c = Config::first_run();
        c.checks.list.push(CheckConfig {
            name: "Web".into(),
            interval_secs: 30,
            timeout_secs: 5,
            degraded_latency_ms: None,
            enabled: true,
            http: None,
            tcp: Some(TcpProbe { host: "127.0.0.1".into(), port: 8080 }),
            process: None,
            command: None,
            json_value: None,
        });
        write_checks(&path, &c.checks.list).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("# How often the host is sampled"), "comments kept");
        assert_eq!(Config::load(&path).unwrap(), c);
        write_checks(&path, &[]).unwrap();
        assert!(Config::load(&path).unwrap().checks.list.is_empty());
    }

    #[test]
    fn write_detectors_keeps_the_rest_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("caretaker.toml");
        std::fs::write(&path, DEFAULT_CONFIG_TOML).unwrap();
        let mut c = Config::first_run();
        let d: crate::detectors::DetectorConfig =
            toml::from_str("name = \"Ollama slow\"\ncheck = { name = \"Ollama\", field = \"latency_ms\" }\nabove_normal = { factor = 4 }\n").unwrap();
        c.detectors.push(d);
        write_detectors(&path, &c.detectors).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("# How often the host is sampled"), "comments kept");
        assert!(text.contains("# Detectors watch a series"), "comments kept");
        assert_eq!(Config::load(&path).unwrap(), c);
        write_detectors(&path, &[]).unwrap();
        assert!(Config::load(&path).unwrap().detectors.is_empty());
        assert!(std::fs::read_to_string(&path).unwrap().contains("[[checks.list]]"), "checks kept");
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
