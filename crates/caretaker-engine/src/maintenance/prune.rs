//! The "Prune old rows" task: every table that grows with time loses its rows past retention.
//! Histories (healing, analysis, backup and maintenance runs) are kept as long as resolved alerts,
//! less the rows something still reads to decide what to do next.

use super::tasks::{failed, Ctx};
use super::Outcome;
use crate::error::Result;
use rusqlite::Connection;

const DAY_MS: i64 = 86_400_000;

pub(super) fn prune_retention(ctx: &Ctx<'_>) -> Outcome {
    let c = ctx.config;
    let Some(now) = ctx.retention_at else {
        return Outcome::Skipped { reason: "the wall clock jumped recently; old rows are kept until it has settled".into() };
    };
    let r = ctx.db.write(|conn| {
        let m = crate::metrics::prune(conn, now, (&c.metrics).into())?;
        let checks = crate::checks::store::prune(conn, now, c.checks.retention_days)?;
        let alerts = crate::alerts::prune_alerts(conn, now, c.alerts.retention_days)?;
        let logs = crate::logs::prune(conn, now, c.logs.retention_days)?;
        let history = prune_history(conn, now, c.alerts.retention_days)?;
        Ok((m.total(), checks, alerts, logs, history))
    });
    match r {
        Ok((m, ch, al, lg, h)) => Outcome::Completed {
            message: format!("{m} metric rows, {ch} check results, {al} resolved alerts, {lg} log lines, {h} history rows"),
            rows_pruned: (m + ch + al + lg + h) as u64,
            bytes_freed: 0,
        },
        Err(e) => failed(format!("could not prune: {e}")),
    }
}

/// Healing records, analysis findings and scans, backup and maintenance runs older than `days`.
/// Each table's own `prune` says which rows it keeps regardless of age.
pub(crate) fn prune_history(conn: &Connection, now: i64, days: u64) -> Result<usize> {
    let cutoff = now - days as i64 * DAY_MS;
    let healing = crate::healing::prune(conn, cutoff)?;
    let (findings, scans) = crate::analysis::store::prune(conn, now, cutoff)?;
    let backups = crate::backup::store::prune(conn, cutoff)?;
    let maintenance = super::records::prune(conn, cutoff)?;
    Ok(healing + findings + scans + backups + maintenance)
}

#[cfg(test)]
#[path = "prune_tests.rs"]
mod tests;
