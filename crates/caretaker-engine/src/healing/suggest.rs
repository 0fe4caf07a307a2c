//! A remedy suggested by log analysis. It is resolved against the person's configured actions
//! (the only ones that can ever run) and becomes an ordinary escalation: audited in
//! `healing_actions`, counted against the action's limits, and run only when the person
//! approves it, whatever the action's mode. The guard rails are asked when it is proposed and
//! again when it is approved, since time passes in between.

use super::clear::{resolve as resolve_folder, Protected};
use super::dry_run::{cooldown_left, counts};
use super::{argv_of, get, insert_row, kind, set_outcome, Decision, HealingRecord, Origin, COLS};
use crate::config::{ActionConfig, HealingConfig, HealingMode};
use crate::error::{EngineError, Result};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

/// The kinds a suggestion may name with a target instead of an action id. A command is only
/// ever named by its id: its argv is the person's, never the model's.
pub const KINDS: &[&str] = &["restart_service", "docker_restart", "kill_process", "clear_folder"];

/// What the model suggested, as it said it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Suggested<'a> {
    pub id: &'a str,
    pub kind: Option<&'a str>,
    pub target: Option<&'a str>,
}

impl Suggested<'_> {
    pub fn is_empty(&self) -> bool {
        self.id.trim().is_empty() && self.kind.is_none_or(|k| k.trim().is_empty())
    }

    /// The suggestion in words, for the person.
    pub fn describe(&self) -> String {
        let id = self.id.trim();
        let what = match (id.is_empty(), self.kind) {
            (false, _) => id.to_string(),
            (true, Some(k)) => k.trim().to_string(),
            (true, None) => String::new(),
        };
        match self.target.map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => format!("{what} {t}"),
            None => what,
        }
    }
}

/// What an action acts on, in words.
fn scope(a: &ActionConfig) -> String {
    if let Some(r) = &a.restart_service {
        return format!("the service {}", r.name);
    }
    if let Some(d) = &a.docker_restart {
        return format!("the container {}", d.container);
    }
    if let Some(k) = &a.kill_process {
        return format!("processes named {}", k.name);
    }
    if let Some(f) = &a.clear_folder {
        return format!("the folder {}", f.path);
    }
    "its own command".into()
}

/// Whether `target` is exactly what `a` acts on. A folder is compared after resolving both
/// (links, `~`), so a different spelling of the same folder matches and a sub- or parent folder
/// does not: the action clears its own folder, never another one.
fn targets(a: &ActionConfig, target: &str, data_dir: &Path) -> bool {
    let t = target.trim();
    if let Some(r) = &a.restart_service {
        return r.name == t;
    }
    if let Some(d) = &a.docker_restart {
        return d.container == t;
    }
    if let Some(k) = &a.kill_process {
        return k.name == t;
    }
    if let Some(f) = &a.clear_folder {
        let p = Protected::of(Some(data_dir));
        return matches!((resolve_folder(&f.path, &p), resolve_folder(t, &p)), (Ok(a), Ok(b)) if a == b);
    }
    false
}

/// The configured action a suggestion names, or why it can only be read.
pub fn resolve<'c>(cfg: &'c HealingConfig, s: &Suggested<'_>, data_dir: &Path) -> std::result::Result<&'c ActionConfig, String> {
    let target = s.target.map(str::trim).filter(|t| !t.is_empty());
    let id = s.id.trim();
    let action = if !id.is_empty() {
        let a = cfg
            .actions
            .iter()
            .find(|a| a.id == id || a.name.eq_ignore_ascii_case(id))
            .ok_or_else(|| format!("no configured action is called {id:?}; only the actions set up under Healing can run"))?;
        if let Some(k) = s.kind.map(str::trim).filter(|k| !k.is_empty() && *k != kind(a)) {
            return Err(format!("{} is a {} action, not {k}", a.name, kind(a)));
        }
        if let Some(t) = target.filter(|t| !targets(a, t, data_dir)) {
            return Err(format!("{t:?} is outside what {} may act on ({})", a.name, scope(a)));
        }
        a
    } else {
        let k = s.kind.map(str::trim).unwrap_or_default();
        if !KINDS.contains(&k) {
            return Err(format!("{k:?} is not something a suggestion can run (one of {}, or a configured action)", KINDS.join(", ")));
        }
        let t = target.ok_or_else(|| format!("a {k} suggestion needs a concrete target"))?;
        let same: Vec<&ActionConfig> = cfg.actions.iter().filter(|a| kind(a) == k).collect();
        if same.is_empty() {
            return Err(format!("no {k} action is configured; set one up under Healing to allow it"));
        }
        let scopes = same.iter().map(|a| scope(a)).collect::<Vec<_>>().join("; ");
        same.into_iter()
            .find(|a| targets(a, t, data_dir))
            .ok_or_else(|| format!("{t:?} is outside what the configured {k} actions may act on ({scopes})"))?
    };
    if action.mode == HealingMode::Off {
        return Err(format!("{} is switched off", action.name));
    }
    Ok(action)
}

/// Why the guard rails would not let `action` run now, if they would not.
fn refusal(conn: &Connection, cfg: &HealingConfig, action: &ActionConfig, now: i64) -> Result<Option<(Decision, String)>> {
    let (mine, all, last) = counts(conn, &action.id, now)?;
    let left = cooldown_left(action, last, now);
    Ok(if left > 0 {
        Some((Decision::RefusedCooldown, format!("cooling down: {left} s left of the {} s between runs", action.cooldown_secs)))
    } else if mine >= action.max_per_hour {
        Some((
            Decision::RefusedRateLimit,
            format!("{} already ran {mine} times in the last hour (limit {})", action.name, action.max_per_hour),
        ))
    } else if all >= cfg.max_actions_per_hour {
        Some((
            Decision::RefusedRateLimit,
            format!("{all} actions already ran in the last hour (limit {} for all actions)", cfg.max_actions_per_hour),
        ))
    } else {
        None
    })
}

/// Proposes `action` for the finding: an escalation waiting for the person, or a refusal
/// recorded with its reason. Err(note) when nothing was written because the same action already
/// waits for the person under another finding.
pub(crate) fn propose(
    conn: &Connection,
    cfg: &HealingConfig,
    action: &ActionConfig,
    finding_id: i64,
    subject: &str,
    now: i64,
) -> Result<std::result::Result<HealingRecord, String>> {
    let waiting: Option<i64> = conn
        .query_row(
            "SELECT h.finding_id FROM healing_actions h JOIN analysis_findings f ON f.id = h.finding_id
             WHERE h.action_id = ?1 AND h.decision = 'escalated' AND h.outcome IS NULL AND f.dismissed_at IS NULL LIMIT 1",
            [&action.id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(other) = waiting {
        return Ok(Err(format!("{} already waits for you under an earlier finding (#{other})", action.name)));
    }
    let origin = Origin { alert_id: None, finding_id: Some(finding_id), subject };
    let record = match refusal(conn, cfg, action, now)? {
        Some((decision, why)) => insert_row(conn, &origin, action, decision, &[], Some(&why), now)?,
        None => insert_row(conn, &origin, action, Decision::Escalated, &argv_of(action), None, now)?,
    };
    Ok(Ok(record))
}

/// "Run it" on a suggested action. Ok(the run's record) when it may run now; Err(the refusal's
/// record) when the guard rails say no, with the escalation left waiting for a later try.
pub(crate) fn approve(
    conn: &Connection,
    cfg: &HealingConfig,
    escalation: &HealingRecord,
    action: &ActionConfig,
    now: i64,
) -> Result<std::result::Result<HealingRecord, HealingRecord>> {
    let finding_id = escalation.finding_id.ok_or_else(|| EngineError::InvalidInput("that escalation belongs to an alert".into()))?;
    let row = get(conn, escalation.id)?.ok_or_else(|| EngineError::NotFound(format!("no escalation {}", escalation.id)))?;
    if row.decision != Decision::Escalated || row.outcome.is_some() {
        return Err(EngineError::InvalidInput(format!("escalation {} is no longer waiting", row.id)));
    }
    let dismissed: Option<Option<i64>> =
        conn.query_row("SELECT dismissed_at FROM analysis_findings WHERE id = ?1", [finding_id], |r| r.get(0)).optional()?;
    if !matches!(dismissed, Some(None)) {
        return Err(EngineError::InvalidInput("the finding that suggested it was dismissed or is gone".into()));
    }
    let origin = Origin { alert_id: None, finding_id: Some(finding_id), subject: &row.subject };
    if let Some((decision, why)) = refusal(conn, cfg, action, now)? {
        return Ok(Err(insert_row(conn, &origin, action, decision, &[], Some(&why), now)?));
    }
    set_outcome(conn, row.id, "approved")?;
    Ok(Ok(insert_row(conn, &origin, action, Decision::ApprovedByUser, &argv_of(action), None, now)?))
}

/// Every decision about a finding's suggestion, the newest first.
pub fn of_finding(conn: &Connection, finding_id: i64) -> Result<Vec<HealingRecord>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLS} FROM healing_actions WHERE finding_id = ?1 ORDER BY id DESC LIMIT 20"))?;
    let rows = stmt.query_map([finding_id], super::from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A dismissed finding takes its waiting escalation with it.
pub(crate) fn dismiss_with_finding(conn: &Connection, finding_id: i64) -> Result<()> {
    conn.execute(
        "UPDATE healing_actions SET outcome = 'dismissed with its finding' WHERE finding_id = ?1 AND decision = 'escalated' AND outcome IS NULL",
        params![finding_id],
    )?;
    Ok(())
}

#[cfg(test)]
#[path = "suggest_tests.rs"]
mod tests;
