//! Running an action: its argv (never a shell), a timeout, a cleared environment, bounded
//! excerpts of what it printed, and whether a service was stopped on purpose.

use super::dry_run::ProcessMatch;
use crate::config::{ActionConfig, KillProcessAction};
use crate::process::{self, Ended, Leftovers, Spec};
use std::time::Duration;

/// Bounded excerpts of what an action printed.
const EXCERPT: usize = 4000;
/// How long a service manager or docker gets to restart something.
pub(crate) const SERVICE_TIMEOUT_SECS: u64 = 120;

#[cfg(target_os = "macos")]
fn launchd_domain(system: bool) -> String {
    if system {
        "system".into()
    } else {
        // SAFETY: getuid has no preconditions and cannot fail.
        format!("gui/{}", unsafe { libc::getuid() })
    }
}

/// The argv an action runs; kinds without a program show what they do.
pub fn argv_of(a: &ActionConfig) -> Vec<String> {
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    if let Some(r) = &a.restart_service {
        #[cfg(target_os = "macos")]
        return vec!["launchctl".into(), "kickstart".into(), "-k".into(), format!("{}/{}", launchd_domain(r.system), r.name)];
        #[cfg(not(target_os = "macos"))]
        return if r.system { v(&["systemctl", "restart", &r.name]) } else { v(&["systemctl", "--user", "restart", &r.name]) };
    }
    if let Some(c) = &a.command {
        return c.argv.clone();
    }
    if let Some(d) = &a.docker_restart {
        return v(&["docker", "restart", &d.container]);
    }
    if let Some(k) = &a.kill_process {
        return v(&["kill-process", &k.name]);
    }
    if let Some(f) = &a.clear_folder {
        // The folder it would really clear, which may not be the one written (`..`, symlinks).
        let real = std::fs::canonicalize(&f.path).map_or_else(|_| f.path.clone(), |p| p.display().to_string());
        return v(&["clear-folder", &real, "--older-than-days", &f.older_than_days.to_string()]);
    }
    Vec::new()
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunOutput {
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub outcome: String,
    pub ok: bool,
}

fn excerpt(text: &str) -> String {
    let t = text.trim();
    if t.len() > EXCERPT {
        let mut cut = EXCERPT;
        while !t.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}… (truncated)", &t[..cut])
    } else {
        t.to_string()
    }
}

/// Runs an argv with a timeout and a cleared environment (plus the allowed variables).
/// Each element reaches the program as one argument: nothing is ever parsed by a shell.
/// Whatever the program leaves running when it exits keeps running (starting a service in the
/// background can be the point of the action); on timeout its whole process group is stopped.
pub fn run_argv(argv: &[String], working_dir: Option<&str>, env_allow: &[String], timeout: Duration) -> RunOutput {
    let spec = Spec { argv, working_dir, env_allow, timeout, cancel: None, leftovers: Leftovers::Keep, on_line: None };
    let program = argv.first().map(String::as_str).unwrap_or("");
    let done = match process::run(&spec) {
        Ok(d) => d,
        Err(outcome) => return RunOutput { outcome, ..Default::default() },
    };
    let (stdout, stderr) = (excerpt(&done.stdout.text()), excerpt(&done.stderr.text()));
    match done.ended {
        Ended::Exited(s) => RunOutput {
            exit_code: s.code(),
            ok: s.success(),
            outcome: match s.code() {
                Some(0) => "exit 0".into(),
                Some(c) => format!("{program} exited with {c}"),
                None => format!("{program} was killed by a signal"),
            },
            stdout,
            stderr,
        },
        Ended::TimedOut | Ended::Cancelled => RunOutput {
            outcome: format!("{program} did not finish within {} s and was stopped", timeout.as_secs()),
            stdout,
            stderr,
            ..Default::default()
        },
        Ended::Lost(e) => RunOutput { outcome: format!("lost track of {program}: {e}"), stdout, stderr, ..Default::default() },
    }
}

/// Carries out an action (blocking). `data_dir` is Caretaker's data folder, which no action may clear.
pub fn execute(a: &ActionConfig, data_dir: &std::path::Path) -> RunOutput {
    if let Some(c) = &a.command {
        return run_argv(&c.argv, c.working_dir.as_deref(), &c.env_allow, Duration::from_secs(c.timeout_secs));
    }
    if a.restart_service.is_some() || a.docker_restart.is_some() {
        return run_argv(&argv_of(a), None, &[], Duration::from_secs(SERVICE_TIMEOUT_SECS));
    }
    if let Some(k) = &a.kill_process {
        let (sys, victims) = match over_limits(k) {
            Ok(v) => v,
            Err(outcome) => return RunOutput { outcome, ..Default::default() },
        };
        if victims.is_empty() {
            return RunOutput { outcome: format!("no {} process over the limits", k.name), ok: true, ..Default::default() };
        }
        let pids: Vec<String> = victims.iter().map(|p| p.pid.to_string()).collect();
        let killed = victims
            .iter()
            .filter(|v| sys.process(sysinfo::Pid::from_u32(v.pid)).is_some_and(|p| p.kill_with(sysinfo::Signal::Term).unwrap_or(false)))
            .count();
        return RunOutput {
            outcome: format!("sent SIGTERM to {killed} of {} ({})", pids.len(), pids.join(", ")),
            ok: killed == pids.len(),
            exit_code: Some(0),
            ..Default::default()
        };
    }
    if let Some(f) = &a.clear_folder {
        return match super::clear::clear(f, &super::clear::Protected::of(Some(data_dir))) {
            Err(e) => RunOutput { outcome: format!("refused: {e}"), ..Default::default() },
            Ok((real, s)) => match s.error {
                Some(e) => RunOutput {
                    outcome: format!("removed {} files in {}, then could not remove {e}", s.files, real.display()),
                    ..Default::default()
                },
                None => RunOutput {
                    outcome: format!(
                        "removed {} files ({} bytes) older than {} days in {}",
                        s.files,
                        s.bytes,
                        f.older_than_days,
                        real.display()
                    ),
                    ok: true,
                    exit_code: Some(0),
                    ..Default::default()
                },
            },
        };
    }
    RunOutput { outcome: "no action configured".into(), ..Default::default() }
}

/// The processes `kill_process` would stop right now: its name, over its limits (CPU measured
/// over half a second). The process table is returned with them, to signal them by pid.
pub(crate) fn over_limits(k: &KillProcessAction) -> Result<(sysinfo::System, Vec<ProcessMatch>), String> {
    use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System};
    let Ok(mut sys) = System::new() else { return Err("cannot list processes".into()) };
    sys.refresh_processes_specifics(ProcessesToUpdate::All, true, ProcessRefreshKind::nothing().with_cpu().with_memory());
    std::thread::sleep(Duration::from_millis(500));
    sys.refresh_processes_specifics(ProcessesToUpdate::All, true, ProcessRefreshKind::nothing().with_cpu().with_memory());
    let mut found: Vec<ProcessMatch> = sys
        .processes()
        .values()
        .filter(|p| p.thread_kind().is_none() && p.name().to_string_lossy() == k.name.as_str())
        .filter(|p| k.cpu_above_percent.is_none_or(|c| f64::from(p.cpu_usage()) > c))
        .filter(|p| k.memory_above_mb.is_none_or(|m| p.memory() > m.saturating_mul(1024 * 1024)))
        .map(|p| ProcessMatch {
            pid: p.pid().as_u32(),
            name: p.name().to_string_lossy().into_owned(),
            cpu_percent: p.cpu_usage(),
            memory_mb: p.memory() / (1024 * 1024),
        })
        .collect();
    found.sort_by_key(|p| p.pid);
    Ok((sys, found))
}
