//! Careful self-healing: the person's configured actions, run only behind the guard rails
//! (mode, rate limits, cooldown, attempts per incident, manual-stop respect), with every
//! decision in the `healing_actions` audit table, written before and after an action runs.

pub(crate) mod clear;
pub mod config;
pub mod dry_run;
pub(crate) mod edit;
mod exec;
mod manual_stop;
pub(crate) mod service;
pub(crate) mod suggest;

pub use dry_run::{DryRun, FolderPreview, GuardRails, ProcessMatch};
pub use edit::HealingOverview;
pub use exec::{argv_of, execute, run_argv, RunOutput};

use crate::alerts::{Alert, AlertStatus};
use crate::config::{ActionConfig, HealingConfig, HealingMode};
use crate::error::{EngineError, Result};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

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
    /// The log analysis finding that suggested it (then `alert_id` is None).
    pub finding_id: Option<i64>,
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
    /// Seconds until the cooldown after its last run is over (0: none).
    pub cooldown_left_secs: u64,
}

const COLS: &str =
    "id, alert_id, action_id, subject, mode, decision, argv, exit_code, stdout, stderr, created_at, started_at, ended_at, outcome, healed, finding_id";

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
        finding_id: r.get(15)?,
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

/// Escalations still waiting for the person: for alerts that are still open, and for findings of
/// log analysis the person has not dismissed.
pub fn pending(conn: &Connection, open: &[Alert]) -> Result<Vec<HealingRecord>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLS} FROM healing_actions WHERE decision = 'escalated' AND outcome IS NULL
         AND (finding_id IS NULL OR finding_id IN (SELECT id FROM analysis_findings WHERE dismissed_at IS NULL)) ORDER BY id DESC"
    ))?;
    let rows: Vec<HealingRecord> = stmt.query_map([], from_row)?.collect::<rusqlite::Result<_>>()?;
    Ok(rows.into_iter().filter(|r| r.finding_id.is_some() || r.alert_id.is_some_and(|id| open.iter().any(|a| a.id == id))).collect())
}

/// What a decision is about: an open alert, or a finding that suggested the action.
pub(crate) struct Origin<'a> {
    pub alert_id: Option<i64>,
    pub finding_id: Option<i64>,
    pub subject: &'a str,
}

impl<'a> Origin<'a> {
    fn alert(a: &'a Alert) -> Self {
        Origin { alert_id: Some(a.id), finding_id: None, subject: &a.subject }
    }
}

fn insert(
    conn: &Connection,
    alert: &Alert,
    action: &ActionConfig,
    decision: Decision,
    argv: &[String],
    outcome: Option<&str>,
    now: i64,
) -> Result<HealingRecord> {
    insert_row(conn, &Origin::alert(alert), action, decision, argv, outcome, now)
}

pub(crate) fn insert_row(
    conn: &Connection,
    origin: &Origin<'_>,
    action: &ActionConfig,
    decision: Decision,
    argv: &[String],
    outcome: Option<&str>,
    now: i64,
) -> Result<HealingRecord> {
    let started = decision.runs().then_some(now);
    conn.execute(
        "INSERT INTO healing_actions (alert_id, action_id, subject, mode, decision, argv, created_at, started_at, outcome, finding_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            origin.alert_id,
            action.id,
            origin.subject,
            action.mode.as_str(),
            decision.as_str(),
            serde_json::to_string(argv).unwrap_or_default(),
            now,
            started,
            outcome,
            origin.finding_id
        ],
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

/// Keeps what an escalated action would do (a dry run) with the escalation, for the person.
pub fn set_preview(conn: &Connection, id: i64, preview: &str) -> Result<()> {
    conn.execute("UPDATE healing_actions SET stdout = ?2 WHERE id = ?1", params![id, preview])?;
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

/// Records created before `cutoff`, except those of an incident still open (its attempts and
/// escalation guard the next decision) and runs that started and never ended.
pub fn prune(conn: &Connection, cutoff: i64) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM healing_actions WHERE created_at < ?1
         AND NOT (started_at IS NOT NULL AND ended_at IS NULL)
         AND (alert_id IS NULL OR alert_id NOT IN (SELECT id FROM alert_events WHERE status != 'resolved'))",
        [cutoff],
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
            Ok(ActionSummary {
                kind: kind(a).into(),
                config: a.clone(),
                runs_last_hour: hour as u32,
                runs_total: total as u32,
                healed_total: healed as u32,
                last_run_at: last,
                cooldown_left_secs: dry_run::cooldown_left(a, last, now),
            })
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
        "check" if a.on_checks.contains(&subject) => true,
        r => a.on_alerts.iter().any(|x| config::names_alert(x, r, &subject)),
    })
}

/// What the guard rails say for one (action, open alert) right now. Returns the record written,
/// or None when nothing needed writing (off, or the same refusal as last time).
pub fn decide(
    conn: &Connection,
    cfg: &HealingConfig,
    action: &ActionConfig,
    alert: &Alert,
    manually_stopped: bool,
    now: i64,
) -> Result<Option<HealingRecord>> {
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
        let what = match action.restart_service.is_some() {
            true => "restarted",
            false => "ran",
        };
        let msg = format!(
            "gave up: {} {what} {attempts} times in {} min, {} is still not healthy; over to you",
            action.name,
            ((now - first) / 60_000).max(1),
            alert.subject
        );
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
    let this_action = runs_of(
        "SELECT COUNT(*) FROM healing_actions WHERE action_id = ?1 AND started_at >= ?2 AND decision IN ('ran', 'approved_by_user')",
        &[&action.id, &hour],
    )?;
    if this_action >= i64::from(action.max_per_hour) {
        return write(
            Decision::RefusedRateLimit,
            &[],
            Some(&format!("{} already ran {this_action} times in the last hour (limit {})", action.name, action.max_per_hour)),
        );
    }
    let all = runs_of("SELECT COUNT(*) FROM healing_actions WHERE started_at >= ?1 AND decision IN ('ran', 'approved_by_user')", &[&hour])?;
    if all >= i64::from(cfg.max_actions_per_hour) {
        return write(
            Decision::RefusedRateLimit,
            &[],
            Some(&format!("{all} actions already ran in the last hour (limit {} for all actions)", cfg.max_actions_per_hour)),
        );
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
