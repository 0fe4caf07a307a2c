//! The shared core every capability service is given: resources only, never a capability's own
//! state. It offers the few things every service needs the same way: `now`, `emit`, the config
//! (read, and the one edit transaction), the alert pipeline, and `every` (the ticker skeleton).

use crate::alerts::{AlertManager, Alerts, Effects};
use crate::channels::Message;
use crate::clock::{Clock, JumpWatch};
use crate::config::{self, Config};
use crate::error::{EngineError, Result};
use crate::events::{EngineStatus, Event};
use crate::{paths, store};
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;

/// Which part of caretaker.toml an edit rewrites; the rest of the file (comments too) is kept.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Piece {
    /// A top-level table such as `[analysis]`.
    Section(&'static str),
    Checks,
    Detectors,
    BackupPlans,
    /// `[backups]`'s own keys, its plans left as they are.
    BackupSettings,
    Channels,
    /// `[notifications.heartbeat]`.
    Heartbeat,
    /// `enabled` in `[notifications]`: this machine's own notifications.
    NativeNotifications,
    /// `[[healing.actions]]`.
    HealingActions,
    /// `max_actions_per_hour` in `[healing]`.
    HealingLimit,
}

/// Why [`Core::sleep_or_reconfigured`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    Elapsed,
    Reconfigured,
    Stopped,
}

pub(crate) struct Core {
    pub data_dir: PathBuf,
    pub hostname: String,
    pub clock: Arc<dyn Clock>,
    /// Whether the wall clock jumped lately; deletion by age waits while it did.
    pub clock_watch: Arc<JumpWatch>,
    pub db: Arc<store::Db>,
    pub cancel: CancellationToken,
    /// The runtime the engine started on; sync methods may be called from threads without one.
    pub runtime: tokio::runtime::Handle,
    pub alerts: Alerts,
    /// Transitions for the notification channels' outbox, in the order they happened.
    outbox: mpsc::UnboundedSender<Vec<Message>>,
    bus: broadcast::Sender<Event>,
    config: RwLock<Config>,
    /// Serialises config edits: read, change, validate, write, apply.
    /// Counts configuration swaps (an edit from the app, a hand edit of the file), for loops
    /// that hold a value taken from it (a period, a time of day).
    config_rev: watch::Sender<u64>,
    config_edit: tokio::sync::Mutex<()>,
    status: RwLock<EngineStatus>,
}

impl Core {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        data_dir: PathBuf,
        hostname: String,
        clock: Arc<dyn Clock>,
        db: Arc<store::Db>,
        alerts: Alerts,
        outbox: mpsc::UnboundedSender<Vec<Message>>,
        config: Config,
        status: EngineStatus,
    ) -> Self {
        let (bus, _) = broadcast::channel(256);
        // The last sample the previous run wrote: a clock set while the engine was stopped shows.
        let last_sample = db.read(|c| store::kv_get(c, "host.latest")).ok().flatten().map(|(_, t)| t);
        let clock_watch = Arc::new(JumpWatch::seeded(clock.as_ref(), last_sample));
        Core {
            data_dir,
            hostname,
            clock_watch,
            clock,
            db,
            cancel: CancellationToken::new(),
            runtime: tokio::runtime::Handle::current(),
            alerts,
            outbox,
            bus,
            config: RwLock::new(config),
            config_edit: tokio::sync::Mutex::new(()),
            config_rev: watch::channel(0).0,
            status: RwLock::new(status),
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The wall time to delete `what` by age at, or None (said in the log) while a jump of the
    /// wall clock is recent: a clock run ahead would otherwise delete history it cannot restore.
    pub fn retention_now(&self, what: &str) -> Option<i64> {
        let now = self.clock_watch.settled(self.clock.as_ref());
        if now.is_none() {
            tracing::warn!("{what} past retention kept for now: the wall clock jumped recently");
        }
        now
    }

    /// Publishes an event; nobody listening is not an error.
    pub fn emit(&self, event: Event) {
        let _ = self.bus.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.bus.subscribe()
    }

    /// A sender onto the event bus, for work that runs off the runtime (maintenance tasks).
    pub fn bus(&self) -> broadcast::Sender<Event> {
        self.bus.clone()
    }

    pub fn config(&self) -> Config {
        self.config.read().map(|c| c.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Holds the edit lock for a change that must do slow work between reading and writing.
    pub async fn edit_lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.config_edit.lock().await
    }

    /// The one config edit: (under the edit lock) clone, mutate, validate the whole config, write
    /// only `piece` to the file, swap. Returns the new config. Nothing changes when any step fails.
    pub async fn edit_config<T>(&self, piece: Piece, f: impl FnOnce(&mut Config) -> Result<T>) -> Result<(T, Config)> {
        let _guard = self.config_edit.lock().await;
        let mut next = self.config();
        let out = f(&mut next)?;
        self.commit_config(piece, next.clone())?;
        Ok((out, next))
    }

    /// Validates, writes `piece` and swaps. The caller holds [`Core::edit_lock`].
    pub fn commit_config(&self, piece: Piece, next: Config) -> Result<()> {
        let issues = next.validate();
        if !issues.is_empty() {
            return Err(EngineError::Config(issues));
        }
        let path = self.data_dir.join(paths::CONFIG_FILE);
        match piece {
            Piece::Section(key) => {
                let whole = toml::Value::try_from(&next).map_err(|e| EngineError::Internal(format!("cannot serialise config: {e}")))?;
                let value = whole.get(key).ok_or_else(|| EngineError::Internal(format!("config has no section {key}")))?;
                config::write_section(&path, key, value)?
            }
            Piece::Checks => config::write_checks(&path, &next.checks.list)?,
            Piece::Detectors => config::write_detectors(&path, &next.detectors)?,
            Piece::BackupPlans => config::write_plans(&path, &next.backups.plans)?,
            Piece::BackupSettings => config::write_section(&path, "backups", &crate::backup::plan_edit::BackupSettings::of(&next.backups))?,
            Piece::Channels => config::write_channels(&path, &next.notifications.channels)?,
            Piece::Heartbeat => config::write_heartbeat(&path, next.notifications.heartbeat.as_ref())?,
            Piece::NativeNotifications => config::write_native_notifications(&path, next.notifications.enabled)?,
            Piece::HealingActions => config::write_healing_actions(&path, &next.healing.actions)?,
            Piece::HealingLimit => config::write_healing_limit(&path, next.healing.max_actions_per_hour)?,
        }
        self.replace_config(next);
        Ok(())
    }

    /// Swaps in a configuration already validated (and already in the file) and tells the loops.
    pub fn replace_config(&self, next: Config) {
        if let Ok(mut c) = self.config.write() {
            *c = next;
        }
        self.config_rev.send_modify(|n| *n += 1);
    }

    /// Follows configuration swaps.
    pub fn config_changes(&self) -> watch::Receiver<u64> {
        self.config_rev.subscribe()
    }

    pub fn status(&self) -> EngineStatus {
        self.status.read().map(|s| s.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Changes the engine status; publishes it when `f` says it changed something visible.
    pub fn update_status(&self, f: impl FnOnce(&mut EngineStatus) -> bool) {
        if let Ok(mut s) = self.status.write() {
            if f(&mut s) {
                let _ = self.bus.send(Event::EngineStatus { status: s.clone() });
            }
        }
    }

    pub fn set_error(&self, error: Option<String>) {
        self.update_status(|s| {
            s.last_error = error;
            true
        });
    }

    /// Runs `f` on a copy of the alert state with the writer connection, on a blocking thread,
    /// then swaps the copy in (see [`Alerts::transition`]). The database's own alert, raised or
    /// cleared by how the writes went, is published here.
    pub async fn in_alerts<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut AlertManager, &rusqlite::Connection, i64) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let me = self.clone();
        let now = me.now();
        let (out, health) = tokio::task::spawn_blocking(move || me.alerts.transition(&me.db, now, f))
            .await
            .map_err(|e| EngineError::Internal(e.to_string()))??;
        self.publish(health);
        Ok(out)
    }

    /// Feeds the alert manager, then publishes what changed and queues what must be said.
    pub async fn with_alerts(
        self: &Arc<Self>,
        f: impl FnOnce(&mut AlertManager, &rusqlite::Connection, i64) -> Result<Effects> + Send + 'static,
    ) {
        match self.in_alerts(f).await {
            Ok(fx) => self.publish(fx),
            Err(e) => tracing::warn!("alert rules failed: {e}"),
        }
    }

    /// State first, then the event: each changed alert, then each notice (also to the
    /// notification channels' outbox, this machine's own notifications included).
    pub fn publish(&self, fx: Effects) {
        let config = self.config();
        // This machine's own notifications are a channel too (the built-in one).
        let any_channel = config.notifications.enabled || !config.notifications.channels.is_empty();
        if !fx.notices.is_empty() && any_channel {
            let now = self.now();
            let open = self.alerts.open();
            let messages = fx
                .notices
                .iter()
                .map(|n| {
                    let changed = fx.changed.iter().rev().find(|a| a.id == n.alert_id);
                    let current = open.iter().find(|a| a.id == n.alert_id);
                    // Notified in the step that opened it: its notice time is its start.
                    let first = current.is_some_and(|a| a.last_notified_at == Some(a.created_at));
                    Message::from_notice(n, changed.or(current), changed.is_some(), first, &self.hostname, now)
                })
                .collect();
            // Never blocks: the channels service writes the rows on its own task.
            let _ = self.outbox.send(messages);
        }
        for alert in fx.changed {
            self.emit(Event::AlertChanged { alert });
        }
        for notice in fx.notices {
            self.emit(Event::Notification { notice });
        }
    }

    /// Calls `f` at once and then every `period` until the engine stops. A tick that overruns
    /// delays the next one instead of bunching them up.
    pub async fn every<F, Fut>(&self, period: Duration, mut f: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = self.cancel.cancelled() => return,
                _ = ticker.tick() => {}
            }
            f().await;
        }
    }

    /// Sleeps `d`, or returns false when the engine stops first.
    pub async fn sleep(&self, d: Duration) -> bool {
        tokio::select! {
            _ = self.cancel.cancelled() => false,
            _ = tokio::time::sleep(d) => true,
        }
    }

    /// Sleeps `d` (None: until woken), cut short when the configuration changes.
    pub async fn sleep_or_reconfigured(&self, d: Option<Duration>, changes: &mut watch::Receiver<u64>) -> Wake {
        let sleep = async {
            match d {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = self.cancel.cancelled() => Wake::Stopped,
            _ = sleep => Wake::Elapsed,
            r = changes.changed() => if r.is_ok() { Wake::Reconfigured } else { Wake::Stopped },
        }
    }
}
