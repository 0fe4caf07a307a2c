//! The alert pipeline's shared part (the manager, held by the core)
//! and the alert operations: acknowledge, resolve, snooze, pause, list, runbooks, and the tick
//! that handles staleness, repeats and retention.

use super::{list_alerts, prune_alerts, runbook, Alert, AlertManager, AlertQuery, Effects, RUNBOOKS};
use crate::core::Core;
use crate::error::Result;
use crate::events::{Event, RunbookInfo};
use crate::store::Db;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The alert manager; lives in the core because every
/// capability raises alerts through it.
pub(crate) struct Alerts {
    /// The current state; held only to read it or to swap in the next one, never across a write.
    manager: Mutex<AlertManager>,
    /// Serialises changes: whoever holds it works on a copy and swaps it in.
    turn: Mutex<()>,
}

impl Alerts {
    pub fn new(manager: AlertManager) -> Self {
        Alerts { manager: Mutex::new(manager), turn: Mutex::new(()) }
    }

    /// The current state, to read. Changes go through [`Alerts::change`] or [`Alerts::transition`].
    pub fn manager(&self) -> MutexGuard<'_, AlertManager> {
        self.manager.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An in-memory change that needs no database.
    pub fn change<T>(&self, f: impl FnOnce(&mut AlertManager) -> T) -> T {
        let _turn = self.turn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut self.manager())
    }

    /// Copies the state, lets `f` change the copy while holding the database writer, then swaps
    /// it in: readers (snapshot, open alerts) never wait for the writer. A failing `f` changes
    /// nothing. Blocking: call from a blocking thread. Also returns what the database's health
    /// changed (its own alert), to publish.
    pub fn transition<T>(
        &self,
        db: &Db,
        now: i64,
        f: impl FnOnce(&mut AlertManager, &rusqlite::Connection, i64) -> Result<T>,
    ) -> Result<(T, Effects)> {
        let _turn = self.turn.lock().unwrap_or_else(|p| p.into_inner());
        let mut next = self.manager().clone();
        let out = db.write(|c| {
            let out = f(&mut next, c, now)?;
            Ok((out, next.settle_database(c, now)))
        })?;
        *self.manager() = next;
        Ok(out)
    }

    /// Writes the alert rows that could not be written when they changed (a full disk).
    pub fn flush(&self, db: &Db) {
        let _turn = self.turn.lock().unwrap_or_else(|p| p.into_inner());
        let all = db.write(|c| Ok(self.manager().flush_unsaved(c))).unwrap_or(false);
        if !all {
            tracing::warn!("some alert records could not be written before stopping (is the disk full?)");
        }
    }

    pub fn open(&self) -> Vec<Alert> {
        self.manager().open_alerts()
    }
}

type Command = dyn FnOnce(&mut AlertManager, &rusqlite::Connection, i64) -> Result<Alert> + Send + 'static;

/// Runs one alert command (acknowledge, resolve, snooze) and publishes the change.
async fn command(core: &Arc<Core>, f: Box<Command>) -> Result<Alert> {
    let alert = core.in_alerts(f).await?;
    core.emit(Event::AlertChanged { alert: alert.clone() });
    Ok(alert)
}

pub(crate) async fn acknowledge(core: &Arc<Core>, id: i64) -> Result<Alert> {
    command(core, Box::new(move |m, c, now| m.acknowledge(c, id, now))).await
}

pub(crate) async fn resolve(core: &Arc<Core>, id: i64) -> Result<Alert> {
    command(core, Box::new(move |m, c, now| m.resolve(c, id, now))).await
}

pub(crate) async fn snooze(core: &Arc<Core>, id: i64, hours: u32) -> Result<Alert> {
    command(core, Box::new(move |m, c, now| m.snooze(c, id, hours, now))).await
}

/// Pauses notifications for `minutes` (None or 0 resumes them).
pub(crate) async fn pause(core: &Arc<Core>, minutes: Option<u32>) -> Result<Option<i64>> {
    let until = core
        .in_alerts(move |m, c, now| {
            let until = minutes.filter(|m| *m > 0).map(|m| now + i64::from(m) * 60_000);
            m.pause_notifications(c, until, now).map(|_| until)
        })
        .await?;
    core.emit(Event::NotificationsPaused { until_ms: until });
    Ok(until)
}

pub(crate) async fn list(core: &Core, q: AlertQuery) -> Result<Vec<Alert>> {
    core.db.read_async(move |c| list_alerts(c, &q)).await
}

/// Every runbook shipped with the app, with its title.
pub(crate) fn runbooks() -> Vec<RunbookInfo> {
    RUNBOOKS
        .iter()
        .filter_map(|id| {
            let text = runbook(id)?;
            let title = text.lines().next().unwrap_or(id).trim_start_matches('#').trim().to_string();
            Some(RunbookInfo { id: (*id).to_string(), title })
        })
        .collect()
}

const TICK_MS: i64 = 5_000;

/// Staleness and repeat notifications every 5 s; resolved alerts past retention every 10 min.
pub(crate) async fn run(core: Arc<Core>) {
    // On the elapsed clock: a wall clock set back must not stop pruning until it catches up.
    let mut last_prune: Option<i64> = None;
    let mut last_tick: Option<i64> = None;
    core.every(Duration::from_millis(TICK_MS as u64), || {
        let core = core.clone();
        let woke = crate::clock::late_tick(&mut last_tick, core.now(), TICK_MS);
        let elapsed = core.clock.elapsed_ms();
        let prune = last_prune.is_none_or(|t| elapsed - t >= 600_000);
        if prune {
            last_prune = Some(elapsed);
        }
        async move {
            core.with_alerts(move |m, c, now| {
                if woke {
                    m.resumed(now);
                }
                m.on_tick(c, now)
            })
            .await;
            if prune {
                let days = core.config().alerts.retention_days;
                let Some(now) = core.retention_now("resolved alerts") else { return };
                match core.db.write_async(move |c| prune_alerts(c, now, days)).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(alerts = n, "pruned resolved alerts past retention"),
                    Err(e) => tracing::warn!("could not prune alerts: {e}"),
                }
            }
        }
    })
    .await;
}
