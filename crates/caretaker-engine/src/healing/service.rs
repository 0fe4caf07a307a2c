//! The healing service: reacts to alert events (an alert opening or changing is considered at
//! once), lets the guard rails decide, runs what they allow, verifies, and tells the person.
//! A slow reconciliation tick catches what an event cannot say (a cooldown that ended, a missed
//! event after a lag).

use super::clear::{preview, Protected};
use super::{approve, attached, decide, execute, finish, get, list, manual_stop, pending, set_healed, set_outcome, summaries};
use super::{dry_run, set_preview, suggest, ActionSummary, Decision, DryRun, HealingOverview, HealingQuery, HealingRecord, RunOutput};
use crate::alerts::{Alert, AlertStatus, Effects, Notice};
use crate::checks;
use crate::config::{ActionConfig, ClearFolderAction, HealingConfig};
use crate::core::Core;
use crate::error::{EngineError, Result};
use crate::events::Event;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

/// How often every open alert is looked at again, whatever the events said.
const RECONCILE: Duration = Duration::from_secs(30);

pub(crate) struct Service {
    core: Arc<Core>,
    checks: Arc<checks::service::Service>,
    /// (action, alert) pairs with a run in progress, so nothing starts the same one twice.
    in_flight: Mutex<HashSet<(String, i64)>>,
    /// Alerts to look at again: after a run was verified, or when a cooldown ends.
    again: mpsc::UnboundedSender<Alert>,
}

impl Service {
    pub fn new(core: Arc<Core>, checks: Arc<checks::service::Service>) -> (Arc<Self>, mpsc::UnboundedReceiver<Alert>) {
        let (again, rx) = mpsc::unbounded_channel();
        (Arc::new(Service { core, checks, in_flight: Mutex::new(HashSet::new()), again }), rx)
    }

    pub async fn run(self: Arc<Self>, mut again: mpsc::UnboundedReceiver<Alert>) {
        let mut events = self.core.subscribe();
        let mut tick = tokio::time::interval(RECONCILE);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = self.core.cancel.cancelled() => return,
                _ = tick.tick() => {
                    for alert in self.core.alerts.open() {
                        self.consider(alert).await;
                    }
                }
                Some(alert) = again.recv() => {
                    if let Some(open) = self.core.alerts.open().into_iter().find(|a| a.id == alert.id) {
                        self.consider(open).await;
                    }
                }
                e = events.recv() => match e {
                    Ok(Event::AlertChanged { alert }) if alert.status != AlertStatus::Resolved => self.consider(alert).await,
                    Ok(_) => {}
                    // Missed events: the open set is the truth.
                    Err(RecvError::Lagged(_)) => tick.reset_immediately(),
                    Err(RecvError::Closed) => return,
                },
            }
        }
    }

    /// Lets the guard rails decide for every action attached to `alert`.
    async fn consider(self: &Arc<Self>, alert: Alert) {
        let cfg = self.core.config().healing;
        for action in attached(&cfg, &alert).cloned().collect::<Vec<_>>() {
            let key = (action.id.clone(), alert.id);
            if self.in_flight.lock().map(|s| s.contains(&key)).unwrap_or(true) {
                continue;
            }
            let (cfg2, action2, alert2) = (cfg.clone(), action.clone(), alert.clone());
            // Asked before taking the writer: the service manager may be slow or hang.
            let stopped = action.restart_service.is_some()
                && action.respect_manual_stop
                && manual_stop::manually_stopped(&action, manual_stop::LIMIT).await;
            let now = self.core.now();
            let decided = self.core.db.write_async(move |c| decide(c, &cfg2, &action2, &alert2, stopped, now)).await;
            match decided {
                Ok(Some(record)) => self.after_decision(record, action, alert.clone()),
                Ok(None) => {}
                Err(e) => tracing::warn!("healing decision failed: {e}"),
            }
        }
    }

    /// Publishes a decision; runs the action when the decision says so.
    fn after_decision(self: &Arc<Self>, record: HealingRecord, action: ActionConfig, alert: Alert) {
        self.core.emit(Event::Healing { record: record.clone() });
        match record.decision {
            Decision::Escalated => {
                let (title, body) = match &record.outcome {
                    Some(gave_up) => (format!("Gave up healing {}", alert.subject), gave_up.clone()),
                    None => (
                        format!("Proposed: {} for {}", action.name, alert.subject),
                        "Open Caretaker → Healing to run it or dismiss it. Nothing runs until you say so.".to_string(),
                    ),
                };
                let notice = Notice { title, body, severity: alert.severity, alert_id: alert.id, recovery: false };
                match (&action.clear_folder, &record.outcome) {
                    (Some(f), None) => {
                        // Deleting files is approved knowing what goes: count it first (a dry run).
                        let (me, f, id) = (self.clone(), f.clone(), record.id);
                        tokio::spawn(async move { me.escalate_with_preview(id, f, notice).await });
                    }
                    _ => self.core.publish(Effects { changed: vec![], notices: vec![notice] }),
                }
            }
            Decision::RefusedCooldown => {
                // Look again when the cooldown is over, not only at the next reconciliation.
                let (again, wait) = (self.again.clone(), Duration::from_secs(action.cooldown_secs.saturating_add(1)));
                let core = self.core.clone();
                tokio::spawn(async move {
                    if core.sleep(wait).await {
                        let _ = again.send(alert);
                    }
                });
            }
            Decision::Ran | Decision::ApprovedByUser => {
                let key = (action.id.clone(), alert.id);
                if let Ok(mut s) = self.in_flight.lock() {
                    s.insert(key.clone());
                }
                let me = self.clone();
                tokio::spawn(async move {
                    me.run_action(record, action, Some(alert.clone())).await;
                    if let Ok(mut s) = me.in_flight.lock() {
                        s.remove(&key);
                    }
                    // Still open after the run: the guard rails say what comes next.
                    let _ = me.again.send(alert);
                });
            }
            _ => {}
        }
    }

    /// Records and announces what approving a `clear_folder` escalation would delete.
    async fn escalate_with_preview(&self, id: i64, f: ClearFolderAction, mut notice: Notice) {
        let data_dir = self.core.data_dir.clone();
        let text = tokio::task::spawn_blocking(move || preview(&f, &Protected::of(Some(&data_dir))))
            .await
            .unwrap_or_else(|e| format!("could not count what it would delete: {e}"));
        notice.body = format!("It {text}. {}", notice.body);
        let t = text.clone();
        match self.core.db.write_async(move |c| set_preview(c, id, &t)).await {
            Ok(()) => {
                if let Ok(Some(r)) = self.core.db.read_async(move |c| get(c, id)).await {
                    self.core.emit(Event::Healing { record: r });
                }
            }
            Err(e) => tracing::warn!("could not record the preview of escalation {id}: {e}"),
        }
        self.core.publish(Effects { changed: vec![], notices: vec![notice] });
    }

    /// Runs an action whose audit row is already written, records how it ended, then verifies
    /// against its alert (an approved suggestion has none: whether it healed stays unknown).
    async fn run_action(&self, record: HealingRecord, action: ActionConfig, alert: Option<Alert>) {
        let subject = record.subject.clone();
        tracing::info!(action = %action.id, subject = %subject, decision = record.decision.as_str(), "running healing action");
        let (a, data_dir) = (action.clone(), self.core.data_dir.clone());
        let out = tokio::task::spawn_blocking(move || execute(&a, &data_dir))
            .await
            .unwrap_or_else(|e| RunOutput { outcome: format!("the action crashed: {e}"), ..Default::default() });
        let id = record.id;
        let (out2, now) = (out.clone(), self.core.now());
        if let Err(e) = self.core.db.write_async(move |c| finish(c, id, &out2, now)).await {
            tracing::warn!("could not record the end of healing action {id}: {e}");
        }
        if let Some(alert) = alert {
            tokio::time::sleep(Duration::from_secs(action.verify_after_secs)).await;
            // Verify: re-run the check now; for other rules, see whether the alert is still open.
            let check = self.core.config().checks.list.into_iter().find(|c| alert.rule == "check" && c.name == alert.subject);
            let healed = match check {
                Some(c) => self.checks.run_now(&c).await,
                None => !self.core.alerts.open().iter().any(|a| a.id == alert.id),
            };
            if let Err(e) = self.core.db.write_async(move |c| set_healed(c, id, healed)).await {
                tracing::warn!("could not record whether action {id} healed: {e}");
            }
            tracing::info!(action = %action.id, subject = %subject, healed, outcome = %out.outcome, "healing action finished");
        } else {
            tracing::info!(action = %action.id, subject = %subject, outcome = %out.outcome, "healing action finished");
        }
        if let Ok(Some(r)) = self.core.db.read_async(move |c| get(c, id)).await {
            self.core.emit(Event::Healing { record: r });
        }
    }

    /// The configured actions with their counters.
    pub async fn actions(&self) -> Result<Vec<ActionSummary>> {
        let (cfg, now) = (self.core.config().healing, self.core.now());
        self.core.db.read_async(move |c| summaries(c, &cfg, now)).await
    }

    /// The actions with their counters and guard rails, and the limit for all of them.
    pub async fn overview(&self) -> Result<HealingOverview> {
        let (cfg, now) = (self.core.config().healing, self.core.now());
        self.core
            .db
            .read_async(move |c| {
                let (_, all, _) = dry_run::counts(c, "", now)?;
                Ok(HealingOverview {
                    max_actions_per_hour: cfg.max_actions_per_hour,
                    runs_last_hour: all,
                    actions: summaries(c, &cfg, now)?,
                })
            })
            .await
    }

    /// What `action` would do now and to what, with nothing done, and what the guard rails say.
    pub async fn dry_run(&self, action: ActionConfig) -> Result<DryRun> {
        let (cfg, now, id) = (self.core.config().healing, self.core.now(), action.id.clone());
        let (mine, all, last) = self.core.db.read_async(move |c| dry_run::counts(c, &id, now)).await?;
        let guard = dry_run::judge(&cfg, &action, mine, all, dry_run::cooldown_left(&action, last, now));
        let data_dir = self.core.data_dir.clone();
        tokio::task::spawn_blocking(move || dry_run::look(&action, &data_dir, guard))
            .await
            .map_err(|e| EngineError::Internal(format!("the dry run failed: {e}")))
    }

    /// After `[healing]` changed: every open alert is looked at again with the new actions.
    pub fn reconsider(&self) {
        for alert in self.core.alerts.open() {
            let _ = self.again.send(alert);
        }
    }

    pub async fn log(&self, q: HealingQuery) -> Result<Vec<HealingRecord>> {
        self.core.db.read_async(move |c| list(c, &q)).await
    }

    /// Escalations waiting for the person.
    pub async fn pending(&self) -> Result<Vec<HealingRecord>> {
        let open = self.core.alerts.open();
        self.core.db.read_async(move |c| pending(c, &open)).await
    }

    /// "Run it": the person approves an escalated action; it runs now, recorded as theirs.
    pub async fn approve(self: &Arc<Self>, id: i64) -> Result<HealingRecord> {
        let row =
            self.core.db.read_async(move |c| get(c, id)).await?.ok_or_else(|| EngineError::NotFound(format!("no escalation {id}")))?;
        let cfg = self.core.config().healing;
        let action = cfg
            .actions
            .iter()
            .find(|a| a.id == row.action_id)
            .cloned()
            .ok_or_else(|| EngineError::NotFound(format!("action {:?} is no longer configured", row.action_id)))?;
        if row.finding_id.is_some() {
            return self.approve_suggestion(row, action, cfg).await;
        }
        let alert = self
            .core
            .alerts
            .open()
            .into_iter()
            .find(|a| Some(a.id) == row.alert_id)
            .ok_or_else(|| EngineError::InvalidInput("that incident is already over".into()))?;
        let now = self.core.now();
        let (a2, al2) = (action.clone(), alert.clone());
        let record = self.core.db.write_async(move |c| approve(c, id, &a2, &al2, now)).await?;
        self.after_decision(record.clone(), action, alert);
        Ok(record)
    }

    /// Approving what log analysis suggested: the guard rails are asked again, then it runs once.
    /// There is no alert to verify against, so whether it healed is left unsaid.
    async fn approve_suggestion(self: &Arc<Self>, row: HealingRecord, action: ActionConfig, cfg: HealingConfig) -> Result<HealingRecord> {
        let (now, a2) = (self.core.now(), action.clone());
        let decided = self.core.db.write_async(move |c| suggest::approve(c, &cfg, &row, &a2, now)).await?;
        match decided {
            Err(refused) => {
                self.core.emit(Event::Healing { record: refused.clone() });
                Err(EngineError::InvalidInput(format!("not run: {}", refused.outcome.unwrap_or_default())))
            }
            Ok(record) => {
                self.core.emit(Event::Healing { record: record.clone() });
                let (me, r) = (self.clone(), record.clone());
                tokio::spawn(async move { me.run_action(r, action, None).await });
                Ok(record)
            }
        }
    }

    /// "Dismiss": nothing runs. Only an escalation still waiting can be dismissed, so a late
    /// click never rewrites how an approved one ended.
    pub async fn dismiss(&self, id: i64) -> Result<()> {
        self.core
            .db
            .write_async(move |c| match get(c, id)? {
                Some(r) if r.decision == Decision::Escalated && r.outcome.is_none() => set_outcome(c, id, "dismissed"),
                Some(_) => Err(EngineError::InvalidInput(format!("escalation {id} is no longer waiting"))),
                None => Err(EngineError::NotFound(format!("no escalation {id}"))),
            })
            .await?;
        if let Ok(Some(r)) = self.core.db.read_async(move |c| get(c, id)).await {
            self.core.emit(Event::Healing { record: r });
        }
        Ok(())
    }
}
