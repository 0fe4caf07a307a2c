//! Careful self-healing: the person's configured actions, run only behind the guard rails
//! (mode, rate limits, cooldown, attempts per incident, manual-stop respect), with every
//! decision in the `healing_actions` audit table, written before and after an action runs.

pub mod config;

use crate::alerts::{Alert, AlertStatus};
use crate::config::{ActionConfig, HealingConfig, HealingMode};
use crate::error::{EngineError, Result};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use ts_rs::TS;

/// Bounded excerpts of what an action printed.
const EXCERPT: usize = 4000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Ran,
    ApprovedByUser,
    Escalated,
    RefusedRateLimit,
    RefusedCooldown,
    RefusedMaxAttempts,
    RefusedManualStop,
}

impl Decision {
    pub fn as_str(&self) -> &'static str {
        match self {
            Decision::Ran => "ran",
            Decision::ApprovedByUser => "approved_by_user",
            Decision::Escalated => "escalated",
            Decision::RefusedRateLimit => "refused_rate_limit",
            Decision::RefusedCooldown => "refused_cooldown",
            Decision::RefusedMaxAttempts => "refused_max_attempts",
            Decision::RefusedManualStop => "refused_manual_stop",
        }
    }
    fn parse(s: &str) -> Decision {
        match s {
            "ran" => Decision::Ran,
            "approved_by_user" => Decision::ApprovedByUser,
            "refused_rate_limit" => Decision::RefusedRateLimit,
            "refused_cooldown" => Decision::RefusedCooldown,
            "refused_max_attempts" => Decision::RefusedMaxAttempts,
            "refused_manual_stop" => Decision::RefusedManualStop,
            _ => Decision::Escalated,
        }
    }
    fn runs(&self) -> bool {
        matches!(self, Decision::Ran | Decision::ApprovedByUser)
    }
}

/// One row of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct HealingRecord {
    pub id: i64,
    pub alert_id: Option<i64>,
    pub action_id: String,
    pub subject: String,
    pub mode: String,
    pub decision: Decision,
    pub argv: Vec<String>,
    pub exit_code: Option<i32>,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    /// What happened, for a person: "exit 0", "gave up: …", "dismissed", "interrupted".
    pub outcome: Option<String>,
    pub healed: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct HealingQuery {
    #[serde(default)]
    #[ts(optional)]
    pub action_id: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub decision: Option<Decision>,
    pub limit: u32,
}

/// An action with its counters, for the Healing page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ActionSummary {
    pub config: ActionConfig,
    pub kind: String,
    pub runs_last_hour: u32,
    pub runs_total: u32,
    pub healed_total: u32,
    pub last_run_at: Option<i64>,
}

const COLS: &str = "id, alert_id, action_id, subject, mode, decision, argv, exit_code, stdout, stderr, created_at, started_at, ended_at, outcome, healed";

fn from_row(r: &Row<'_>) -> rusqlite::Result<HealingRecord> {
    let argv: String = r.get(6)?;
    Ok(HealingRecord {
        id: r.get(0)?,
        alert_id: r.get(1)?,
        action_id: r.get(2)?,
        subject: r.get(3)?,
        mode: r.get(4)?,
        decision: Decision::parse(&r.get::<_, String>(5)?),
        argv: serde_json::from_str(&argv).unwrap_or_default(),
        exit_code: r.get(7)?,
        stdout: r.get(8)?,
        stderr: r.get(9)?,
        created_at: r.get(10)?,
        started_at: r.get(11)?,
        ended_at: r.get(12)?,
        outcome: r.get(13)?,
        healed: r.get::<_, Option<i64>>(14)?.map(|v| v != 0),
    })
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<HealingRecord>> {
    Ok(conn.query_row(&format!("SELECT {COLS} FROM healing_actions WHERE id = ?1"), [id], from_row).optional()?)
}

pub fn list(conn: &Connection, q: &HealingQuery) -> Result<Vec<HealingRecord>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLS} FROM healing_actions WHERE (?1 IS NULL OR action_id = ?1) AND (?2 IS NULL OR decision = ?2) ORDER BY id DESC LIMIT ?3"
    ))?;
    let rows = stmt.query_map(params![q.action_id, q.decision.map(|d| d.as_str()), q.limit.clamp(1, 10_000)], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Escalations still waiting for the person, for alerts that are still open.
pub fn pending(conn: &Connection, open: &[Alert]) -> Result<Vec<HealingRecord>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLS} FROM healing_actions WHERE decision = 'escalated' AND outcome IS NULL ORDER BY id DESC"))?;
    let rows: Vec<HealingRecord> = stmt.query_map([], from_row)?.collect::<rusqlite::Result<_>>()?;
    Ok(rows.into_iter().filter(|r| r.alert_id.is_some_and(|id| open.iter().any(|a| a.id == id))).collect())
}

fn insert(conn: &Connection, alert: &Alert, action: &ActionConfig, decision: Decision, argv: &[String], outcome: Option<&str>, now: i64) -> Result<HealingRecord> {
    let started = decision.runs().then_some(now);
    conn.execute(
        "INSERT INTO healing_actions (alert_id, action_id, subject, mode, decision, argv, created_at, started_at, outcome)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![alert.id, action.id, alert.subject, action.mode.as_str(), decision.as_str(), serde_json::to_string(argv).unwrap_or_default(), now, started, outcome],
    )?;
    let id = conn.last_insert_rowid();
    get(conn, id)?.ok_or_else(|| EngineError::Internal("audit row vanished".into()))
}

/// Records how a run ended.
pub fn finish(conn: &Connection, id: i64, out: &RunOutput, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE healing_actions SET exit_code = ?2, stdout = ?3, stderr = ?4, ended_at = ?5, outcome = ?6 WHERE id = ?1",
        params![id, out.exit_code, out.stdout, out.stderr, now, out.outcome],
    )?;
    Ok(())
}

pub fn set_healed(conn: &Connection, id: i64, healed: bool) -> Result<()> {
    conn.execute("UPDATE healing_actions SET healed = ?2 WHERE id = ?1", params![id, healed])?;
    Ok(())
}

pub fn set_outcome(conn: &Connection, id: i64, outcome: &str) -> Result<()> {
    conn.execute("UPDATE healing_actions SET outcome = ?2 WHERE id = ?1", params![id, outcome])?;
    Ok(())
}

/// Runs that started but never ended: Caretaker stopped in between.
pub fn mark_interrupted(conn: &Connection, now: i64) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE healing_actions SET outcome = 'interrupted: Caretaker stopped while it ran', ended_at = ?1 WHERE started_at IS NOT NULL AND ended_at IS NULL",
        [now],
    )?)
}

pub fn summaries(conn: &Connection, cfg: &HealingConfig, now: i64) -> Result<Vec<ActionSummary>> {
    cfg.actions
        .iter()
        .map(|a| {
            let (hour, total, healed, last): (i64, i64, i64, Option<i64>) = conn.query_row(
                "SELECT COALESCE(SUM(created_at >= ?2), 0), COUNT(*), COALESCE(SUM(healed = 1), 0), MAX(started_at)
                 FROM healing_actions WHERE action_id = ?1 AND decision IN ('ran', 'approved_by_user')",
                params![a.id, now - 3_600_000],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
            Ok(ActionSummary { kind: kind(a).into(), config: a.clone(), runs_last_hour: hour as u32, runs_total: total as u32, healed_total: healed as u32, last_run_at: last })
        })
        .collect()
}

pub fn kind(a: &ActionConfig) -> &'static str {
    if a.restart_service.is_some() {
        "restart_service"
    } else if a.command.is_some() {
        "command"
    } else if a.docker_restart.is_some() {
        "docker_restart"
    } else if a.kill_process.is_some() {
        "kill_process"
    } else {
        "clear_folder"
    }
}

/// The actions attached to an alert.
pub fn attached<'a>(cfg: &'a HealingConfig, alert: &Alert) -> impl Iterator<Item = &'a ActionConfig> {
    let (rule, subject) = (alert.rule.clone(), alert.subject.clone());
    cfg.actions.iter().filter(move |a| match rule.as_str() {
        "check" => a.on_checks.contains(&subject),
        r => a.on_alerts.iter().any(|x| x == r),
    })
}

/// What the guard rails say for one (action, open alert) right now. Returns the record written,
/// or None when nothing needed writing (off, or the same refusal as last time).
pub fn decide(conn: &Connection, cfg: &HealingConfig, action: &ActionConfig, alert: &Alert, manually_stopped: bool, now: i64) -> Result<Option<HealingRecord>> {
    if action.mode == HealingMode::Off || alert.status == AlertStatus::Resolved {
        return Ok(None);
    }
    let count = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> Result<i64> { Ok(conn.query_row(sql, p, |r| r.get(0))?) };
    let last: Option<(String, Option<String>)> = conn
        .query_row(
            "SELECT decision, outcome FROM healing_actions WHERE alert_id = ?1 AND action_id = ?2 ORDER BY id DESC LIMIT 1",
            params![alert.id, action.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    // Once escalated for this incident, wait for the person (or for the incident to end).
    if last.as_ref().is_some_and(|(d, _)| d == "escalated") {
        return Ok(None);
    }
    let write = |decision: Decision, argv: &[String], outcome: Option<&str>| -> Result<Option<HealingRecord>> {
        // A refusal repeated every few seconds would drown the log; record it when it changes.
        if !decision.runs() && last.as_ref().is_some_and(|(d, _)| d == decision.as_str()) {
            return Ok(None);
        }
        insert(conn, alert, action, decision, argv, outcome, now).map(Some)
    };
    let attempts = count(
        "SELECT COUNT(*) FROM healing_actions WHERE alert_id = ?1 AND action_id = ?2 AND decision IN ('ran', 'approved_by_user')",
        &[&alert.id, &action.id],
    )?;
    if attempts >= i64::from(action.max_attempts) {
        let first: i64 = conn.query_row(
            "SELECT MIN(started_at) FROM healing_actions WHERE alert_id = ?1 AND action_id = ?2 AND decision IN ('ran', 'approved_by_user')",
            params![alert.id, action.id],
            |r| r.get(0),
        )?;
        let what = match action.restart_service.is_some() { true => "restarted", false => "ran" };
        let msg = format!("gave up: {} {what} {attempts} times in {} min, {} is still not healthy; over to you", action.name, ((now - first) / 60_000).max(1), alert.subject);
        // Giving up is an escalation to the person.
        return insert(conn, alert, action, Decision::Escalated, &argv_of(action), Some(&msg), now).map(Some);
    }
    if action.mode == HealingMode::Escalate {
        return write(Decision::Escalated, &argv_of(action), None);
    }
    let runs_of = |sql: &str, p: &[&dyn rusqlite::ToSql]| count(sql, p);
    let last_run: Option<i64> = conn.query_row(
        "SELECT MAX(started_at) FROM healing_actions WHERE action_id = ?1 AND subject = ?2 AND decision IN ('ran', 'approved_by_user')",
        params![action.id, alert.subject],
        |r| r.get(0),
    )?;
    if last_run.is_some_and(|t| now - t < action.cooldown_secs as i64 * 1000) {
        return write(Decision::RefusedCooldown, &[], Some(&format!("cooling down: {} s between runs", action.cooldown_secs)));
    }
    let hour = now - 3_600_000;
    let this_action = runs_of("SELECT COUNT(*) FROM healing_actions WHERE action_id = ?1 AND started_at >= ?2 AND decision IN ('ran', 'approved_by_user')", &[&action.id, &hour])?;
    if this_action >= i64::from(action.max_per_hour) {
        return write(Decision::RefusedRateLimit, &[], Some(&format!("{} already ran {this_action} times in the last hour (limit {})", action.name, action.max_per_hour)));
    }
    let all = runs_of("SELECT COUNT(*) FROM healing_actions WHERE started_at >= ?1 AND decision IN ('ran', 'approved_by_user')", &[&hour])?;
    if all >= i64::from(cfg.max_actions_per_hour) {
        return write(Decision::RefusedRateLimit, &[], Some(&format!("{all} actions already ran in the last hour (limit {} for all actions)", cfg.max_actions_per_hour)));
    }
    if manually_stopped && action.respect_manual_stop {
        return write(Decision::RefusedManualStop, &[], Some("the service was stopped on purpose; not restarting it"));
    }
    write(Decision::Ran, &argv_of(action), None)
}

/// Approving an escalation: the person's own request, recorded, and run.
pub fn approve(conn: &Connection, escalation_id: i64, action: &ActionConfig, alert: &Alert, now: i64) -> Result<HealingRecord> {
    let row = get(conn, escalation_id)?.ok_or_else(|| EngineError::InvalidInput(format!("no escalation {escalation_id}")))?;
    if row.decision != Decision::Escalated || row.outcome.is_some() {
        return Err(EngineError::InvalidInput(format!("escalation {escalation_id} is no longer waiting")));
    }
    set_outcome(conn, escalation_id, "approved")?;
    insert(conn, alert, action, Decision::ApprovedByUser, &argv_of(action), None, now)
}

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
        return v(&["clear-folder", &f.path]);
    }
    Vec::new()
}

/// Whether a service was stopped on purpose (and so must not be restarted).
pub fn manually_stopped(a: &ActionConfig) -> bool {
    let Some(r) = &a.restart_service else { return false };
    #[cfg(target_os = "macos")]
    {
        // A service the person booted out is not loaded at all.
        let out = std::process::Command::new("launchctl").args(["print", &format!("{}/{}", launchd_domain(r.system), r.name)]).output();
        out.map(|o| !o.status.success()).unwrap_or(false)
    }
    #[cfg(not(target_os = "macos"))]
    {
        let mut cmd = std::process::Command::new("systemctl");
        if !r.system {
            cmd.arg("--user");
        }
        let out = cmd.args(["show", "-p", "ActiveState", "-p", "Result", &r.name]).output();
        match out {
            Ok(o) if o.status.success() => {
                let text = String::from_utf8_lossy(&o.stdout);
                // Stopped cleanly (by `systemctl stop`), not crashed.
                text.contains("ActiveState=inactive") && text.contains("Result=success")
            }
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunOutput {
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub outcome: String,
    pub ok: bool,
}

fn excerpt(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    let t = s.trim();
    if t.len() > EXCERPT {
        let mut cut = EXCERPT;
        while !t.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}…", &t[..cut])
    } else {
        t.to_string()
    }
}

/// Runs an argv with a timeout and a cleared environment (plus the allowed variables).
/// Each element reaches the program as one argument: nothing is ever parsed by a shell.
pub fn run_argv(argv: &[String], working_dir: Option<&str>, env_allow: &[String], timeout: Duration) -> RunOutput {
    let Some((program, args)) = argv.split_first() else {
        return RunOutput { outcome: "nothing to run".into(), ..Default::default() };
    };
    let mut cmd = std::process::Command::new(program);
    cmd.args(args).env_clear().stdin(std::process::Stdio::null()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    for k in ["PATH", "HOME", "LANG", "USER"].iter().map(|s| s.to_string()).chain(env_allow.iter().cloned()) {
        if let Some(v) = std::env::var_os(&k) {
            cmd.env(&k, v);
        }
    }
    if let Some(d) = working_dir {
        cmd.current_dir(d);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return RunOutput { outcome: format!("cannot run {program}: {e}"), ..Default::default() },
    };
    // Read output on threads so a chatty program cannot fill a pipe and hang.
    let mut out_pipe = child.stdout.take();
    let mut err_pipe = child.stderr.take();
    let read = |p: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = p {
                let _ = std::io::Read::read_to_end(&mut p, &mut buf);
            }
            buf
        })
    };
    let out_t = read(out_pipe.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>));
    let err_t = read(err_pipe.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>));
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if std::time::Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Err(_) => break None,
        }
    };
    let stdout = excerpt(&out_t.join().unwrap_or_default());
    let stderr = excerpt(&err_t.join().unwrap_or_default());
    match status {
        Some(s) => RunOutput {
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
        None => RunOutput { outcome: format!("{program} did not finish within {} s and was stopped", timeout.as_secs()), stdout, stderr, ..Default::default() },
    }
}

/// Carries out an action (blocking).
pub fn execute(a: &ActionConfig) -> RunOutput {
    if let Some(c) = &a.command {
        return run_argv(&c.argv, c.working_dir.as_deref(), &c.env_allow, Duration::from_secs(c.timeout_secs));
    }
    if a.restart_service.is_some() || a.docker_restart.is_some() {
        return run_argv(&argv_of(a), None, &[], Duration::from_secs(120));
    }
    if let Some(k) = &a.kill_process {
        use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, Signal, System};
        let Ok(mut sys) = System::new() else { return RunOutput { outcome: "cannot list processes".into(), ..Default::default() } };
        sys.refresh_processes_specifics(ProcessesToUpdate::All, true, ProcessRefreshKind::nothing().with_cpu().with_memory());
        std::thread::sleep(Duration::from_millis(500));
        sys.refresh_processes_specifics(ProcessesToUpdate::All, true, ProcessRefreshKind::nothing().with_cpu().with_memory());
        let victims: Vec<_> = sys
            .processes()
            .values()
            .filter(|p| p.thread_kind().is_none() && p.name().to_string_lossy() == k.name.as_str())
            .filter(|p| k.cpu_above_percent.is_none_or(|c| f64::from(p.cpu_usage()) > c))
            .filter(|p| k.memory_above_mb.is_none_or(|m| p.memory() > m * 1024 * 1024))
            .collect();
        if victims.is_empty() {
            return RunOutput { outcome: format!("no {} process over the limits", k.name), ok: true, ..Default::default() };
        }
        let pids: Vec<String> = victims.iter().map(|p| p.pid().to_string()).collect();
        let killed = victims.iter().filter(|p| p.kill_with(Signal::Term).unwrap_or(false)).count();
        return RunOutput { outcome: format!("sent SIGTERM to {killed} of {} ({})", pids.len(), pids.join(", ")), ok: killed == pids.len(), exit_code: Some(0), ..Default::default() };
    }
    if let Some(f) = &a.clear_folder {
        let (n, bytes, err) = crate::maintenance::tasks::delete_old_files(std::path::Path::new(&f.path), Duration::from_secs(f.older_than_days * 86_400), &|_| true);
        return match err {
            Some(e) => RunOutput { outcome: format!("removed {n} files, then could not remove {e}"), ..Default::default() },
            None => RunOutput { outcome: format!("removed {n} files ({bytes} bytes)"), ok: true, exit_code: Some(0), ..Default::default() },
        };
    }
    RunOutput { outcome: "no action configured".into(), ..Default::default() }
}
