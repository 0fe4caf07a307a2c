//! `[alerts]` and `[notifications]` in caretaker.toml: host thresholds, check and staleness
//! rules, repeats, retention, quiet hours, and whether native notifications are shown.

use crate::clock::parse_time_of_day;
use crate::error::ConfigIssue;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

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
    /// Judge the average over this many seconds instead of the latest value (0: the latest
    /// value). Absent means 300 for CPU (a few seconds of a compile are not a problem, five
    /// minutes of it are; files older than this setting get it too) and 0 for the others.
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average_secs: Option<u64>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// CPU is judged on its 5-minute average, like the peers that average over minutes.
pub const DEFAULT_CPU_AVERAGE_SECS: u64 = 300;

fn default_clear_margin() -> f64 {
    5.0
}
fn yes() -> bool {
    true
}

impl ThresholdRule {
    fn new(warning: f64, critical: f64) -> Self {
        ThresholdRule { warning, critical, clear_margin: default_clear_margin(), for_secs: None, average_secs: None, enabled: true }
    }
}

/// `[alerts.memory_pressure]`: what the memory alert judges where the OS reports pressure.
/// Linux: PSI `some avg60`, the percent of the last minute in which some task waited for memory;
/// about 0 on a healthy machine, however full its cache. macOS: its own level (warning,
/// critical). Where neither exists, `[alerts.memory]` (used %) is judged instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields, default)]
pub struct MemoryPressureRule {
    /// Judge pressure where the OS reports it (false: judge used % everywhere, as before).
    pub enabled: bool,
    /// PSI lines, in percent of time stalled.
    pub warning: f64,
    pub critical: f64,
    /// The value must fall this many points below `warning` before the alert clears.
    pub clear_margin: f64,
    /// How long a level must hold before the alert fires (default: 2 sampling intervals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_secs: Option<u64>,
}

impl Default for MemoryPressureRule {
    fn default() -> Self {
        // Tasks losing 1 s in 10 to memory waits is felt; 3 s in 10 for a minute is a machine
        // in trouble, yet half of what systemd-oomd acts on (60 %), so there is time to look.
        MemoryPressureRule { enabled: true, warning: 10.0, critical: 30.0, clear_margin: 5.0, for_secs: None }
    }
}

/// `[alerts.swap_growth]`: a warning when swap in use grew by more than `growth_mib` within
/// `window_minutes`. Growth, not level: a Mac that keeps a few GiB swapped out is fine; one whose
/// swap climbs by a GiB in half an hour has something leaking or loading more than fits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields, default)]
pub struct SwapGrowthRule {
    pub enabled: bool,
    /// How much growth (MiB, from the lowest point within the window) raises the warning.
    pub growth_mib: u64,
    pub window_minutes: u64,
}

impl Default for SwapGrowthRule {
    fn default() -> Self {
        SwapGrowthRule { enabled: true, growth_mib: 1024, window_minutes: 30 }
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
        let start = parse_time_of_day(&self.start).ok_or("start")?;
        let end = parse_time_of_day(&self.end).ok_or("end")?;
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
    /// A warning alert when Caretaker was not running for longer than this, in minutes (0 = never).
    pub absence_alert_minutes: u64,
    /// An alert that clears and returns within this many minutes is the same incident, re-opened
    /// with a flap count and said once (0 = every return is a new alert).
    pub flap_window_minutes: u64,
    /// A warning when a disk's trend over the last week says it is full within this many days
    /// (0 = never).
    pub disk_full_days: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHours>,
    pub memory_pressure: MemoryPressureRule,
    pub swap_growth: SwapGrowthRule,
    /// The automatic detector: a warning when CPU, memory, disk or network traffic is far from
    /// what is usual for this machine (learnt from its own history, no line to set).
    pub unusual: bool,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            cpu: ThresholdRule { average_secs: Some(DEFAULT_CPU_AVERAGE_SECS), ..ThresholdRule::new(75.0, 90.0) },
            memory: ThresholdRule::new(80.0, 95.0),
            disk: ThresholdRule::new(85.0, 95.0),
            check_failures_before_alert: 2,
            stale_after_intervals: 3,
            repeat_critical_hours: 4,
            retention_days: 90,
            absence_alert_minutes: 30,
            flap_window_minutes: 15,
            disk_full_days: 14,
            quiet_hours: None,
            memory_pressure: MemoryPressureRule::default(),
            swap_growth: SwapGrowthRule::default(),
            unusual: true,
        }
    }
}

impl AlertsConfig {
    /// Problems with this section, each named by its path under `at` (`alerts`).
    pub(crate) fn validate(&self, at: &str, out: &mut Vec<ConfigIssue>) {
        let range = |out: &mut Vec<ConfigIssue>, path: String, value: u64, lo: u64, hi: u64| {
            if !(lo..=hi).contains(&value) {
                out.push(ConfigIssue { path, message: format!("must be between {lo} and {hi} (got {value})"), location: None });
            }
        };
        for (name, r) in [("cpu", &self.cpu), ("memory", &self.memory), ("disk", &self.disk)] {
            let p = format!("{at}.{name}");
            if !(0.0..=100.0).contains(&r.warning) || !(0.0..=100.0).contains(&r.critical) || r.warning > r.critical {
                out.push(ConfigIssue {
                    path: p.clone(),
                    message: format!("needs 0 <= warning <= critical <= 100 (got warning {}, critical {})", r.warning, r.critical),
                    location: None,
                });
            }
            if !(0.0..=50.0).contains(&r.clear_margin) {
                out.push(ConfigIssue {
                    path: format!("{p}.clear_margin"),
                    message: format!("must be between 0 and 50 (got {})", r.clear_margin),
                    location: None,
                });
            }
            if let Some(f) = r.for_secs {
                range(out, format!("{p}.for_secs"), f, 0, 86_400);
            }
            if let Some(a) = r.average_secs {
                range(out, format!("{p}.average_secs"), a, 0, 3_600);
            }
        }
        range(out, format!("{at}.disk_full_days"), u64::from(self.disk_full_days), 0, 365);
        range(out, format!("{at}.check_failures_before_alert"), u64::from(self.check_failures_before_alert), 1, 100);
        range(out, format!("{at}.stale_after_intervals"), u64::from(self.stale_after_intervals), 2, 1000);
        range(out, format!("{at}.repeat_critical_hours"), self.repeat_critical_hours, 0, 168);
        range(out, format!("{at}.retention_days"), self.retention_days, 1, 3650);
        range(out, format!("{at}.absence_alert_minutes"), self.absence_alert_minutes, 0, 10_080);
        range(out, format!("{at}.flap_window_minutes"), self.flap_window_minutes, 0, 1_440);
        let p = &self.memory_pressure;
        let mp = format!("{at}.memory_pressure");
        if !(0.0..=100.0).contains(&p.warning) || !(0.0..=100.0).contains(&p.critical) || p.warning > p.critical {
            out.push(ConfigIssue {
                path: mp.clone(),
                message: format!("needs 0 <= warning <= critical <= 100 (got warning {}, critical {})", p.warning, p.critical),
                location: None,
            });
        }
        if !(0.0..=50.0).contains(&p.clear_margin) {
            out.push(ConfigIssue {
                path: format!("{mp}.clear_margin"),
                message: format!("must be between 0 and 50 (got {})", p.clear_margin),
                location: None,
            });
        }
        if let Some(f) = p.for_secs {
            range(out, format!("{mp}.for_secs"), f, 0, 86_400);
        }
        // Below 64 MiB is the noise of an idle machine; growth over more than four hours is a trend
        // for a chart, not news for an alert.
        range(out, format!("{at}.swap_growth.growth_mib"), self.swap_growth.growth_mib, 64, 1_048_576);
        range(out, format!("{at}.swap_growth.window_minutes"), self.swap_growth.window_minutes, 1, 240);
        if let Some(q) = &self.quiet_hours {
            if let Err(field) = q.minutes() {
                out.push(ConfigIssue {
                    path: format!("{at}.quiet_hours.{field}"),
                    message: "must be a time of day as HH:MM".into(),
                    location: None,
                });
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationsConfig {
    /// Native notifications on this machine's screen.
    pub enabled: bool,
    /// Where else alerts are delivered: mail, ntfy, Pushover, Telegram, webhooks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<crate::channels::config::ChannelConfig>,
    /// A ping to an outside service that says when this machine goes silent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heartbeat: Option<crate::channels::config::HeartbeatConfig>,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        NotificationsConfig { enabled: true, channels: Vec::new(), heartbeat: None }
    }
}

impl NotificationsConfig {
    pub(crate) fn validate(&self, at: &str, out: &mut Vec<ConfigIssue>) {
        crate::channels::config::validate_channels(&self.channels, &format!("{at}.channels"), out);
        if let Some(h) = &self.heartbeat {
            h.validate(&format!("{at}.heartbeat"), out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_secs_is_read_and_bounded() {
        let c: AlertsConfig =
            toml::from_str("cpu = { warning = 75, critical = 90 }\nmemory = { warning = 80, critical = 95 }\n").expect("parse");
        assert_eq!((c.cpu.average_secs, c.memory.average_secs), (None, None), "absent: each rule's own default");
        let off: AlertsConfig = toml::from_str("cpu = { warning = 75, critical = 90, average_secs = 0 }\n").expect("parse");
        assert_eq!(off.cpu.average_secs, Some(0));
        assert_eq!(AlertsConfig::default().cpu.average_secs, Some(300));
        let mut out = Vec::new();
        AlertsConfig { cpu: ThresholdRule { average_secs: Some(7200), ..c.cpu }, ..c }.validate("alerts", &mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].path, "alerts.cpu.average_secs");
    }

    #[test]
    fn absence_alert_minutes_is_validated_by_name() {
        let mut c = AlertsConfig { absence_alert_minutes: 20_000, ..AlertsConfig::default() };
        let mut out = Vec::new();
        c.validate("alerts", &mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].path, "alerts.absence_alert_minutes");
        assert_eq!(out[0].message, "must be between 0 and 10080 (got 20000)");
        c.absence_alert_minutes = 0;
        out.clear();
        c.validate("alerts", &mut out);
        assert!(out.is_empty(), "0 turns the alert off: {out:?}");
    }

    #[test]
    fn a_file_from_before_memory_pressure_loads_with_its_defaults() {
        let old =
            "cpu = { warning = 75, critical = 90 }\nmemory = { warning = 80, critical = 95 }\ndisk = { warning = 85, critical = 95 }\n";
        let c: AlertsConfig = toml::from_str(old).expect("parse");
        assert_eq!(
            c.memory_pressure,
            MemoryPressureRule { enabled: true, warning: 10.0, critical: 30.0, clear_margin: 5.0, for_secs: None }
        );
        assert_eq!(c.swap_growth, SwapGrowthRule { enabled: true, growth_mib: 1024, window_minutes: 30 });
        let tuned: AlertsConfig =
            toml::from_str("[memory_pressure]\nwarning = 20\n[swap_growth]\ngrowth_mib = 2048\n").expect("parse a sub-table");
        assert_eq!((tuned.memory_pressure.warning, tuned.memory_pressure.critical), (20.0, 30.0));
        assert_eq!((tuned.swap_growth.growth_mib, tuned.swap_growth.window_minutes), (2048, 30));
        assert!(toml::from_str::<AlertsConfig>("[swap_growth]\ngrowth_gib = 1\n").is_err(), "a misspelt field is refused");
    }

    #[test]
    fn memory_pressure_and_swap_growth_are_validated_by_name() {
        let mut c = AlertsConfig::default();
        c.memory_pressure.warning = 40.0;
        c.memory_pressure.clear_margin = 60.0;
        c.swap_growth.growth_mib = 0;
        c.swap_growth.window_minutes = 600;
        let mut out = Vec::new();
        c.validate("alerts", &mut out);
        let paths: Vec<&str> = out.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "alerts.memory_pressure",
                "alerts.memory_pressure.clear_margin",
                "alerts.swap_growth.growth_mib",
                "alerts.swap_growth.window_minutes"
            ]
        );
        assert_eq!(out[0].message, "needs 0 <= warning <= critical <= 100 (got warning 40, critical 30)");
        assert_eq!(out[3].message, "must be between 1 and 240 (got 600)");
    }
}
