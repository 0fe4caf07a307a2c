//! The dry run of an action, for the person editing it: what it would do and to what, right now,
//! without doing it, and whether the guard rails would let it run on its own at this moment.

use super::clear::{self, Protected};
use super::exec::{argv_of, over_limits, SERVICE_TIMEOUT_SECS};
use crate::config::{ActionConfig, HealingConfig, HealingMode};
use crate::error::Result;
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use std::path::Path;
use ts_rs::TS;

/// A process `kill_process` would stop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ProcessMatch {
    pub pid: u32,
    pub name: String,
    pub cpu_percent: f32,
    pub memory_mb: u64,
}

/// What `clear_folder` would remove.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct FolderPreview {
    /// The folder it would really clear (symlinks resolved).
    pub path: String,
    pub older_than_days: u64,
    pub files: u64,
    pub bytes: u64,
    /// Age of the oldest file that would go.
    pub oldest_age_secs: Option<u64>,
    /// The first few files that would go.
    pub first_paths: Vec<String>,
    /// A file or folder that could not be read while counting.
    pub error: Option<String>,
}

/// The guard rails for one action right now, as they stand before any alert asks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct GuardRails {
    pub mode: HealingMode,
    /// Runs of this action in the last hour, and its own limit.
    pub runs_last_hour: u32,
    pub max_per_hour: u32,
    /// Runs of every action in the last hour, and the limit for all of them.
    pub all_runs_last_hour: u32,
    pub max_actions_per_hour: u32,
    /// Seconds until its last run's cooldown is over (0: none).
    pub cooldown_left_secs: u64,
    /// Whether it would run on its own if its alert opened now.
    pub would_run: bool,
    /// Why, in words.
    pub verdict: String,
}

/// A dry run: what the action would do and to what, with nothing done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct DryRun {
    pub action_id: String,
    pub name: String,
    pub kind: String,
    /// What it would do, in one sentence.
    pub summary: String,
    /// The program and its arguments, each passed as one argument (never through a shell);
    /// empty for what Caretaker does itself (stopping processes, clearing a folder).
    pub argv: Vec<String>,
    pub working_dir: Option<String>,
    pub timeout_secs: Option<u64>,
    /// Environment variables passed through; everything else is cleared.
    pub env_allow: Vec<String>,
    pub folder: Option<FolderPreview>,
    pub processes: Option<Vec<ProcessMatch>>,
    /// Why it would do nothing at all (a folder that must never be cleared, no process list).
    pub refused: Option<String>,
    pub guard: GuardRails,
}

/// Runs of `action_id` and of every action in the hour before `now`, and its last run.
pub(crate) fn counts(conn: &Connection, action_id: &str, now: i64) -> Result<(u32, u32, Option<i64>)> {
    let hour = now - 3_600_000;
    let (mine, last): (i64, Option<i64>) = conn.query_row(
        "SELECT COALESCE(SUM(started_at >= ?2), 0), MAX(started_at) FROM healing_actions
         WHERE action_id = ?1 AND decision IN ('ran', 'approved_by_user')",
        params![action_id, hour],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let all: i64 = conn.query_row(
        "SELECT COUNT(*) FROM healing_actions WHERE started_at >= ?1 AND decision IN ('ran', 'approved_by_user')",
        [hour],
        |r| r.get(0),
    )?;
    Ok((mine.max(0) as u32, all.max(0) as u32, last))
}

/// Seconds left of the cooldown after a run at `last_run` (ms), rounded up.
pub(crate) fn cooldown_left(action: &ActionConfig, last_run: Option<i64>, now: i64) -> u64 {
    let Some(t) = last_run else { return 0 };
    let end = t.saturating_add((action.cooldown_secs as i64).saturating_mul(1000));
    if end <= now {
        0
    } else {
        ((end - now) as u64).div_ceil(1000)
    }
}

/// What the guard rails say, in the order `decide` asks them (attempts per incident and a
/// service stopped on purpose depend on the incident, so they are left out here).
pub(crate) fn judge(cfg: &HealingConfig, action: &ActionConfig, mine: u32, all: u32, cooldown_left_secs: u64) -> GuardRails {
    let (would_run, verdict) = match action.mode {
        HealingMode::Off => (false, "off: it never runs".to_string()),
        HealingMode::Escalate => (false, "asks you first: it runs only when you approve it".to_string()),
        HealingMode::Auto if cooldown_left_secs > 0 => (false, format!("cooling down: {cooldown_left_secs} s left")),
        HealingMode::Auto if mine >= action.max_per_hour => {
            (false, format!("refused: it ran {mine} times in the last hour (limit {})", action.max_per_hour))
        }
        HealingMode::Auto if all >= cfg.max_actions_per_hour => {
            (false, format!("refused: {all} actions ran in the last hour (limit {} for all actions)", cfg.max_actions_per_hour))
        }
        HealingMode::Auto => (true, "would run on its own now".to_string()),
    };
    GuardRails {
        mode: action.mode,
        runs_last_hour: mine,
        max_per_hour: action.max_per_hour,
        all_runs_last_hour: all,
        max_actions_per_hour: cfg.max_actions_per_hour,
        cooldown_left_secs,
        would_run,
        verdict,
    }
}

/// Looks at what `action` would touch (blocking: it reads the folder or the process table).
pub(crate) fn look(action: &ActionConfig, data_dir: &Path, guard: GuardRails) -> DryRun {
    let mut out = DryRun {
        action_id: action.id.clone(),
        name: action.name.clone(),
        kind: super::kind(action).to_string(),
        summary: String::new(),
        argv: Vec::new(),
        working_dir: None,
        timeout_secs: None,
        env_allow: Vec::new(),
        folder: None,
        processes: None,
        refused: None,
        guard,
    };
    if let Some(c) = &action.command {
        out.argv = c.argv.clone();
        out.working_dir = c.working_dir.clone();
        out.timeout_secs = Some(c.timeout_secs);
        out.env_allow = c.env_allow.clone();
        out.summary = format!(
            "would run {} with {} argument(s), stopped after {} s",
            shown_program(&c.argv),
            c.argv.len().saturating_sub(1),
            c.timeout_secs
        );
    } else if action.restart_service.is_some() || action.docker_restart.is_some() {
        out.argv = argv_of(action);
        out.timeout_secs = Some(SERVICE_TIMEOUT_SECS);
        out.summary = format!("would run {}", out.argv.join(" "));
    } else if let Some(k) = &action.kill_process {
        match over_limits(k) {
            Ok((_, found)) => {
                out.summary = match found.len() {
                    0 => format!("would stop nothing: no {} process is over the limits now", k.name),
                    n => format!(
                        "would send SIGTERM to {n} process(es): {}",
                        found.iter().map(|p| format!("{} ({})", p.name, p.pid)).collect::<Vec<_>>().join(", ")
                    ),
                };
                out.processes = Some(found);
            }
            Err(e) => {
                out.summary = format!("would refuse to run: {e}");
                out.refused = Some(e);
            }
        }
    } else if let Some(f) = &action.clear_folder {
        match folder_preview(f, data_dir) {
            Ok((summary, folder)) => {
                out.summary = summary;
                out.folder = Some(folder);
            }
            Err(e) => {
                out.summary = format!("would refuse to run: {e}");
                out.refused = Some(e);
            }
        }
    }
    out
}

/// What clearing `f` would remove right now, removing nothing, and the sentence saying so; Err
/// says why it would refuse to run at all. Also the preview of maintenance's cache task.
pub(crate) fn folder_preview(
    f: &crate::config::ClearFolderAction,
    data_dir: &Path,
) -> std::result::Result<(String, FolderPreview), String> {
    let (real, s) = clear::look(f, &Protected::of(Some(data_dir)))?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let summary = clear::describe(f, &real, &s);
    Ok((
        summary,
        FolderPreview {
            path: real.display().to_string(),
            older_than_days: f.older_than_days,
            files: s.files,
            bytes: s.bytes,
            oldest_age_secs: s.oldest_mtime.map(|m| now.saturating_sub(m).max(0) as u64),
            first_paths: s.sample.iter().map(|p| p.display().to_string()).collect(),
            error: s.error,
        },
    ))
}

fn shown_program(argv: &[String]) -> String {
    argv.first().map_or_else(|| "nothing".to_string(), |p| format!("{p:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(mode: &str) -> ActionConfig {
        let text = format!("id = \"a\"\nname = \"A\"\nmode = \"{mode}\"\non_alerts = [\"disk\"]\nmax_per_hour = 2\ncooldown_secs = 60\ncommand = {{ argv = [\"/bin/echo\", \"hi there\"], working_dir = \"/srv\" }}\n");
        toml::from_str(&text).unwrap()
    }

    #[test]
    fn the_guard_rails_say_why_an_action_would_not_run_now() {
        let cfg = HealingConfig { max_actions_per_hour: 3, actions: vec![] };
        assert!(judge(&cfg, &action("auto"), 0, 0, 0).would_run);
        assert!(!judge(&cfg, &action("escalate"), 0, 0, 0).would_run);
        assert_eq!(judge(&cfg, &action("off"), 0, 0, 0).verdict, "off: it never runs");
        assert_eq!(judge(&cfg, &action("auto"), 0, 0, 42).verdict, "cooling down: 42 s left");
        assert!(judge(&cfg, &action("auto"), 2, 2, 0).verdict.contains("limit 2"));
        let all = judge(&cfg, &action("auto"), 1, 3, 0);
        assert!(!all.would_run && all.verdict.contains("limit 3 for all actions"), "{all:?}");
    }

    #[test]
    fn a_cooldown_counts_down_from_the_last_run() {
        let a = action("auto");
        assert_eq!(cooldown_left(&a, None, 100_000), 0);
        assert_eq!(cooldown_left(&a, Some(100_000), 100_000), 60);
        assert_eq!(cooldown_left(&a, Some(100_000), 159_500), 1);
        assert_eq!(cooldown_left(&a, Some(100_000), 160_000), 0);
    }

    #[test]
    fn a_command_shows_its_exact_argv_and_folder_and_runs_nothing() {
        let a = action("auto");
        let cfg = HealingConfig::default();
        let d = look(&a, Path::new("/nonexistent"), judge(&cfg, &a, 0, 0, 0));
        assert_eq!(d.argv, ["/bin/echo", "hi there"]);
        assert_eq!((d.working_dir.as_deref(), d.timeout_secs), (Some("/srv"), Some(600)));
        assert!(d.summary.starts_with("would run \"/bin/echo\" with 1 argument(s)"), "{}", d.summary);
    }
}
