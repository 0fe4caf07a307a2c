//! The checks service: owns the running probes, each check's latest result and the results
//! queue; stores results, publishes them and hands them to the alert rules; edits the
//! `[[checks.list]]` part of the config.

use super::{spawn_checks, store, CheckHistoryQuery, CheckResult, CheckSummary, Lag, Prober};
use crate::alerts::Effects;
use crate::config::CheckConfig;
use crate::core::{Core, Piece};
use crate::error::{EngineError, Result};
use crate::events::{CheckState, Event};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Where probes send their results.
type Results = mpsc::Receiver<(CheckResult, Lag)>;

pub(crate) struct Service {
    core: Arc<Core>,
    latest: RwLock<HashMap<String, CheckResult>>,
    running: Mutex<Option<(CancellationToken, Vec<JoinHandle<()>>)>>,
    results: mpsc::Sender<(CheckResult, Lag)>,
    prober: Prober,
}

impl Service {
    /// Reads each configured check's last stored result; returns the service and the receiving
    /// end of the results queue for [`Service::run`].
    pub fn new(core: Arc<Core>) -> Result<(Arc<Self>, Results)> {
        let list = core.config().checks.list;
        let latest = core.db.read(|c| {
            let mut m = HashMap::new();
            for ch in &list {
                if let Some(r) = store::latest(c, &ch.name)? {
                    m.insert(ch.name.clone(), r);
                }
            }
            Ok(m)
        })?;
        let (tx, rx) = mpsc::channel(1024);
        let me = Service { core, latest: RwLock::new(latest), running: Mutex::new(None), results: tx, prober: Prober::new()? };
        Ok((Arc::new(me), rx))
    }

    /// Stores each result (one writer), publishes it and feeds the alert rules.
    pub async fn run(self: Arc<Self>, mut rx: Results) {
        let core = &self.core;
        // Alerts left open by a check that was disabled or deleted while Caretaker was stopped.
        if let Err(e) = self.close_alerts_of_unwatched().await {
            tracing::warn!("could not close the alerts of checks no longer watched: {e}");
        }
        loop {
            let (result, _lag) = tokio::select! {
                _ = core.cancel.cancelled() => break,
                r = rx.recv() => match r { Some(r) => r, None => break },
            };
            let now = core.now();
            let stored = result.clone();
            if let Err(e) = core.db.write_async(move |c| store::insert(c, &stored, now)).await {
                tracing::warn!("could not record a check result: {e}");
            }
            if let Ok(mut m) = self.latest.write() {
                m.insert(result.service_name.clone(), result.clone());
            }
            core.emit(Event::CheckResult { result: result.clone() });
            // A result still in flight when its check was disabled or deleted must not re-open
            // the alert that closed with it, nor start watching it for silence again.
            let Some(interval) =
                core.config().checks.list.iter().find(|c| c.name == result.service_name && c.enabled).map(|c| c.interval_secs)
            else {
                continue;
            };
            core.with_alerts(move |m, c, now| m.on_check_result(c, &result, interval, now)).await;
        }
    }

    /// Check results past retention, every ten minutes.
    pub async fn run_retention(self: Arc<Self>) {
        let core = self.core.clone();
        core.every(Duration::from_secs(600), || async {
            let Some(now) = core.retention_now("check results") else { return };
            let days = core.config().checks.retention_days;
            match core.db.write_async(move |c| store::prune(c, now, days)).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(checks = n, "pruned check results past retention"),
                Err(e) => tracing::warn!("could not prune check results: {e}"),
            }
        })
        .await;
    }

    /// Runs one check now and queues its result like a scheduled one; true when healthy.
    pub async fn run_now(&self, check: &CheckConfig) -> bool {
        let result = self.prober.run(check, self.core.now()).await;
        let ok = result.status == super::CheckStatus::Healthy;
        let lag = Lag { due: tokio::time::Instant::now(), started: tokio::time::Instant::now() };
        let _ = self.results.send((result, lag)).await;
        ok
    }

    /// Runs the configured check `name` now; its result is recorded like a scheduled one.
    pub async fn run_named(&self, name: &str) -> Result<CheckResult> {
        let Some(check) = self.core.config().checks.list.into_iter().find(|c| c.name == name) else {
            return Err(EngineError::NotFound(format!("no check named {name:?}")));
        };
        let result = self.prober.run(&check, self.core.now()).await;
        let lag = Lag { due: tokio::time::Instant::now(), started: tokio::time::Instant::now() };
        if self.results.send((result.clone(), lag)).await.is_err() {
            return Err(EngineError::ShuttingDown);
        }
        Ok(result)
    }

    pub fn states(&self) -> Vec<CheckState> {
        let latest = self.latest.read().map(|m| m.clone()).unwrap_or_default();
        self.core
            .config()
            .checks
            .list
            .into_iter()
            .map(|c| {
                let (kind, target) = c.kind_and_target();
                CheckState { kind: kind.into(), target, latest: latest.get(&c.name).cloned(), config: c }
            })
            .collect()
    }

    /// Every configured check with its latest result, uptime and recent latency.
    pub async fn summaries(&self) -> Result<Vec<CheckSummary>> {
        let states = self.states();
        let now = self.core.now();
        self.core
            .db
            .read_async(move |c| {
                states
                    .into_iter()
                    .map(|s| {
                        let day = 86_400_000;
                        let recent = store::history(c, &s.config.name, 30, None)?;
                        Ok(CheckSummary {
                            uptime_24h: store::uptime(c, &s.config.name, now - day)?,
                            uptime_7d: store::uptime(c, &s.config.name, now - 7 * day)?,
                            uptime_30d: store::uptime(c, &s.config.name, now - 30 * day)?,
                            recent_latency_ms: recent.iter().rev().map(|r| r.latency_ms).collect(),
                            kind: s.kind,
                            target: s.target,
                            latest: s.latest,
                            config: s.config,
                        })
                    })
                    .collect()
            })
            .await
    }

    pub async fn history(&self, q: CheckHistoryQuery) -> Result<Vec<CheckResult>> {
        self.core.db.read_async(move |c| store::history(c, &q.service_name, q.limit.min(10_000), q.status)).await
    }

    /// Adds a check, or replaces the one named `original`.
    pub async fn save(&self, original: Option<String>, mut check: CheckConfig) -> Result<()> {
        check.fill_defaults();
        self.edit(move |list| {
            match original.as_deref() {
                Some(name) => {
                    let slot = list.iter_mut().find(|c| c.name == name).ok_or_else(|| no_check(name))?;
                    *slot = check;
                }
                None => list.push(check),
            }
            Ok(())
        })
        .await
    }

    pub async fn delete(&self, name: String) -> Result<()> {
        self.edit(move |list| {
            let before = list.len();
            list.retain(|c| c.name != name);
            if list.len() == before {
                return Err(no_check(&name));
            }
            Ok(())
        })
        .await
    }

    /// Validated with the whole config and written to caretaker.toml atomically (the rest of
    /// the file, comments included, is kept); then the probes restart from the new list.
    async fn edit(&self, f: impl FnOnce(&mut Vec<CheckConfig>) -> Result<()>) -> Result<()> {
        let core = &self.core;
        core.edit_config(Piece::Checks, |c| f(&mut c.checks.list)).await?;
        self.apply().await
    }

    /// Follows the current list: forgets gone checks, closes the alerts of unwatched ones,
    /// restarts the probes and publishes the list.
    pub async fn apply(&self) -> Result<()> {
        let names: Vec<String> = self.core.config().checks.list.iter().map(|c| c.name.clone()).collect();
        if let Ok(mut l) = self.latest.write() {
            l.retain(|k, _| names.contains(k));
        }
        self.close_alerts_of_unwatched().await?;
        self.restart();
        self.core.emit(Event::ChecksChanged { checks: self.states() });
        Ok(())
    }

    /// Closes, quietly, the alerts of checks that are disabled or gone (their subject is not
    /// watched, so nothing would ever resolve them), and stops judging their silence.
    async fn close_alerts_of_unwatched(&self) -> Result<()> {
        let core = &self.core;
        let keep: Vec<String> = core.config().checks.list.into_iter().filter(|c| c.enabled).map(|c| c.name).collect();
        let closed = core.in_alerts(move |m, c, now| m.forget_checks_except(c, &keep, now)).await?;
        core.publish(Effects { changed: closed, notices: Vec::new() });
        Ok(())
    }

    /// (Re)starts one task per enabled check from the current config.
    pub fn restart(&self) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((cancel, _)) = running.take() {
            cancel.cancel();
        }
        let config = self.core.config();
        let now = self.core.now();
        self.core.alerts.change(|m| {
            for c in &config.checks.list {
                m.cap_check(&c.name, c.max_severity);
            }
            for c in config.checks.list.iter().filter(|c| c.enabled) {
                m.watch_check(&c.name, c.interval_secs, now);
            }
        });
        let cancel = self.core.cancel.child_token();
        let handles = spawn_checks(&config.checks.list, self.prober.clone(), self.core.clock.clone(), self.results.clone(), cancel.clone());
        *running = Some((cancel, handles));
    }

    /// The probes' own tasks, for shutdown to wait on.
    pub fn take_tasks(&self) -> Vec<JoinHandle<()>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).take().map(|(_, t)| t).unwrap_or_default()
    }
}

fn no_check(name: &str) -> EngineError {
    EngineError::NotFound(format!("there is no check named {name:?}"))
}
