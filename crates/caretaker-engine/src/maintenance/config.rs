//! `[maintenance]` in caretaker.toml: when routine care runs, and the optional tasks the person
//! configured (clearing a cache folder, running a command).

use crate::clock::parse_time_of_day;
use crate::error::ConfigIssue;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

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

impl MaintenanceConfig {
    /// When the scheduled run comes next after `now_ms`, in the local calendar of `tz`; None
    /// when maintenance is off or `daily_at` is not a time of day.
    pub fn next_run<Tz: chrono::TimeZone>(&self, tz: &Tz, now_ms: i64) -> Option<i64> {
        let minute = parse_time_of_day(&self.daily_at)?;
        self.enabled.then(|| crate::clock::schedule::next_daily(tz, now_ms, minute))
    }

    /// Problems with this section, each named by its path under `at` (`maintenance`).
    pub(crate) fn validate(&self, at: &str, out: &mut Vec<ConfigIssue>) {
        let mut bad = |field: &str, message: String| out.push(ConfigIssue { path: format!("{at}.{field}"), message, location: None });
        let range = |bad: &mut dyn FnMut(&str, String), field: &str, value: u64, lo: u64, hi: u64| {
            if !(lo..=hi).contains(&value) {
                bad(field, format!("must be between {lo} and {hi} (got {value})"));
            }
        };
        if parse_time_of_day(&self.daily_at).is_none() {
            bad("daily_at", format!("must be a time of day as HH:MM (got {:?})", self.daily_at));
        }
        range(&mut bad, "vacuum_free_percent", u64::from(self.vacuum_free_percent), 1, 90);
        if let Some(c) = &self.clear_cache {
            let p = std::path::Path::new(&c.path);
            if !p.is_absolute() || p.parent().is_none() {
                bad("clear_cache.path", format!("must be an absolute folder path, not the root (got {:?})", c.path));
            }
            range(&mut bad, "clear_cache.older_than_days", c.older_than_days, 1, 3650);
        }
        if let Some(c) = &self.command {
            if c.argv.first().is_none_or(|a| a.is_empty()) {
                bad("command.argv", "needs at least the program to run".into());
            }
            range(&mut bad, "command.timeout_secs", c.timeout_secs, 1, 86_400);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::schedule::tests::{at, utc};
    use chrono_tz::{America::New_York, Europe::Berlin};

    fn daily(at: &str) -> MaintenanceConfig {
        MaintenanceConfig { daily_at: at.into(), ..Default::default() }
    }

    #[test]
    fn the_run_in_the_spring_gap_comes_once_right_after_it_and_keeps_local_time_around_it() {
        for (tz, day, gap_end) in [(Berlin, 29, "2026-03-29T01:00:00Z"), (New_York, 8, "2026-03-08T07:00:00Z")] {
            let after_saturday_run = at(tz, 2026, 3, day - 1, 2, 31, false);
            assert_eq!(daily("02:30").next_run(&tz, after_saturday_run), Some(utc(gap_end)), "{tz}");
            let after_sunday_run = utc(gap_end) + 61_000;
            assert_eq!(daily("02:30").next_run(&tz, after_sunday_run), Some(at(tz, 2026, 3, day + 1, 2, 30, false)), "{tz}");
            // Computed the day before, a run after the gap stays at its local time (not 24 h on).
            let saturday = at(tz, 2026, 3, day - 1, 4, 1, false);
            assert_eq!(daily("04:00").next_run(&tz, saturday), Some(at(tz, 2026, 3, day, 4, 0, false)), "{tz}");
        }
    }

    #[test]
    fn the_run_in_the_repeated_hour_comes_once() {
        // (zone, the day before, the change day, the day after, the repeated hour)
        let cases = [(Berlin, (10, 24), (10, 25), (10, 26), 2), (New_York, (10, 31), (11, 1), (11, 2), 1)];
        for (tz, (pmo, pday), (mo, day), (nmo, nday), hour) in cases {
            let time = format!("{hour:02}:30");
            let first = at(tz, 2026, mo, day, hour, 30, false);
            assert_eq!(daily(&time).next_run(&tz, first - 60_000), Some(first), "{tz}");
            // The loop looks again 61 s after starting a run: the next is tomorrow, not in an hour.
            assert_eq!(daily(&time).next_run(&tz, first + 61_000), Some(at(tz, 2026, nmo, nday, hour, 30, false)), "{tz}");
            let saturday = at(tz, 2026, pmo, pday, 4, 1, false);
            assert_eq!(daily("04:00").next_run(&tz, saturday), Some(at(tz, 2026, mo, day, 4, 0, false)), "{tz}");
        }
        assert_eq!(MaintenanceConfig { enabled: false, ..daily("02:30") }.next_run(&Berlin, 0), None);
    }
}
