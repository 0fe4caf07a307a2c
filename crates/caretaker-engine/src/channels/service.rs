//! The channels service: turns the alert pipeline's notices into outbox rows (one ordered
//! writer, off the alert path), runs one sender per channel, the heartbeat, and the operations
//! the app calls (status, send a test).

use super::message::{fold, Message, Outgoing};
use super::outbox::{self, Row};
use super::send::{self, Secrets};
use super::{backoff, payload, secret, wants, ChannelConfig, ChannelKind, ChannelStatus, ChannelTestOutcome};
use crate::alerts::notify::Sink;
use crate::core::Core;
use crate::error::{EngineError, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;

/// At most this many transitions are folded into one message.
const BURST_MAX: u32 = 20;
/// How long a stop waits for a delivery under way.
const STOP_GRACE: Duration = Duration::from_secs(5);

pub(crate) struct Service {
    pub(super) core: Arc<Core>,
    /// The running heartbeat, replaced when it is changed from the app.
    pub(super) heartbeat: Mutex<super::schedule::Running>,
    /// Built on first use: most machines have no channel.
    client: OnceLock<reqwest::Client>,
    /// Rung when rows were written.
    written: watch::Sender<u64>,
    /// Rung when a delivery attempt ended.
    settled: watch::Sender<u64>,
    /// Per channel: wakes its sender at once, past any backoff ("Send a test").
    kicks: Mutex<HashMap<String, Arc<Notify>>>,
    /// The sender task of each channel; taken at shutdown.
    senders: Mutex<Option<HashMap<String, JoinHandle<()>>>>,
    /// Where this machine's own notifications are shown.
    sink: Arc<dyn Sink>,
    burst: Duration,
    retry_base: Duration,
}

fn minute_of_day(ms: i64) -> u32 {
    use chrono::{Local, TimeZone, Timelike};
    Local.timestamp_millis_opt(ms).single().map_or(0, |t| t.hour() * 60 + t.minute())
}

impl Service {
    pub fn new(core: Arc<Core>, sink: Arc<dyn Sink>, burst: Duration, retry_base: Duration) -> Arc<Self> {
        Arc::new(Service {
            core,
            sink,
            client: OnceLock::new(),
            written: watch::channel(0).0,
            settled: watch::channel(0).0,
            kicks: Mutex::new(HashMap::new()),
            senders: Mutex::new(Some(HashMap::new())),
            heartbeat: Mutex::new(super::schedule::Running::default()),
            burst,
            retry_base,
        })
    }

    /// The configured channels and the built-in one of this machine's own notifications.
    pub(super) fn channels(&self) -> Vec<ChannelConfig> {
        let n = self.core.config().notifications;
        let mut all = n.channels;
        all.insert(0, ChannelConfig::desktop(n.enabled));
        all
    }

    pub(super) fn client(&self) -> Result<reqwest::Client> {
        if let Some(c) = self.client.get() {
            return Ok(c.clone());
        }
        let c = crate::net::http_client()
            .timeout(send::TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| EngineError::Internal(format!("cannot build an HTTP client: {e}")))?;
        Ok(self.client.get_or_init(|| c).clone())
    }

    /// Starts the writer of outbox rows, a sender per enabled channel and the heartbeat.
    pub fn start(
        self: &Arc<Self>,
        notices: mpsc::UnboundedReceiver<Vec<Message>>,
        heartbeat_period: Option<Duration>,
        digest_tick: Duration,
    ) -> Vec<JoinHandle<()>> {
        let mut tasks = vec![
            tokio::spawn(self.clone().write_rows(notices)),
            tokio::spawn(self.clone().prune()),
            tokio::spawn(self.clone().run_digests(digest_tick)),
        ];
        self.ensure_senders();
        tasks.extend(self.restart_heartbeat(heartbeat_period));
        tasks
    }

    /// Writes each transition, in the order the alert pipeline produced them, once per channel
    /// that wants it.
    async fn write_rows(self: Arc<Self>, mut rx: mpsc::UnboundedReceiver<Vec<Message>>) {
        loop {
            let batch = tokio::select! {
                _ = self.core.cancel.cancelled() => return,
                b = rx.recv() => match b { Some(b) => b, None => return },
            };
            let channels = self.channels();
            let now = self.core.now();
            let minute = minute_of_day(now);
            let rows: Vec<(String, Message)> = batch
                .into_iter()
                .flat_map(|m| channels.iter().filter(|c| wants(c, &m, minute)).map(|c| (c.name.clone(), m.clone())).collect::<Vec<_>>())
                .collect();
            if rows.is_empty() {
                continue;
            }
            let written = self
                .core
                .db
                .write_async(move |c| {
                    for (channel, m) in &rows {
                        outbox::enqueue(c, channel, m, now)?;
                    }
                    Ok(())
                })
                .await;
            match written {
                Ok(()) => self.rows_written(),
                Err(e) => tracing::warn!("could not queue alerts for the notification channels: {e}"),
            }
        }
    }

    /// Wakes the senders: rows were written.
    pub(super) fn rows_written(&self) {
        self.written.send_modify(|n| *n += 1);
    }

    /// Delivered and failed rows are kept 30 days, to show the history of a channel.
    async fn prune(self: Arc<Self>) {
        self.core
            .every(Duration::from_secs(3600), || async {
                let Some(now) = self.core.retention_now("delivered notifications") else { return };
                let before = now - 30 * 86_400_000;
                if let Err(e) = self.core.db.write_async(move |c| outbox::prune(c, before)).await {
                    tracing::warn!("could not prune the notification outbox: {e}");
                }
            })
            .await;
    }

    /// A sender for every configured channel that has none running (a saved or renamed one).
    pub(super) fn ensure_senders(self: &Arc<Self>) {
        let mut senders = self.senders.lock().unwrap_or_else(|p| p.into_inner());
        let Some(senders) = senders.as_mut() else { return };
        senders.retain(|_, t| !t.is_finished());
        for c in self.channels() {
            if !senders.contains_key(&c.name) {
                senders.insert(c.name.clone(), tokio::spawn(self.clone().sender(c.name)));
            }
        }
    }

    /// The sender tasks, for the shutdown to wait for; none is started afterwards.
    pub fn take_tasks(&self) -> Vec<JoinHandle<()>> {
        self.senders.lock().unwrap_or_else(|p| p.into_inner()).take().map(|m| m.into_values().collect()).unwrap_or_default()
    }

    pub(super) fn kick(&self, channel: &str) -> Arc<Notify> {
        self.kicks.lock().unwrap_or_else(|p| p.into_inner()).entry(channel.to_string()).or_default().clone()
    }

    /// One channel's sender: delivers what is pending (after a burst window), retries with a
    /// growing pause, wakes on new rows or a kick.
    async fn sender(self: Arc<Self>, name: String) {
        let mut written = self.written.subscribe();
        let kick = self.kick(&name);
        let mut failures = 0u32;
        let mut next_try = tokio::time::Instant::now();
        loop {
            // A deleted channel's sender ends; a switched-off one waits.
            let Some(cfg) = self.channels().into_iter().find(|c| c.name == name) else { return };
            if cfg.enabled && tokio::time::Instant::now() >= next_try {
                match self.deliver_due(&name).await {
                    Some(Ok(())) => {
                        if failures > 0 {
                            tracing::info!(channel = %name, "notification channel reachable again");
                        }
                        failures = 0;
                        continue;
                    }
                    Some(Err(e)) => {
                        failures = failures.saturating_add(1);
                        if failures == 1 {
                            tracing::warn!(channel = %name, "could not deliver to the notification channel ({e}); retrying with growing pauses");
                        }
                        next_try = tokio::time::Instant::now() + backoff(self.retry_base, failures);
                    }
                    None => {}
                }
            }
            tokio::select! {
                _ = self.core.cancel.cancelled() => return,
                _ = kick.notified() => next_try = tokio::time::Instant::now(),
                r = written.changed() => {
                    if r.is_err() {
                        return;
                    }
                    // A burst gathers before it is sent as one message.
                    if !self.core.sleep(self.burst).await {
                        return;
                    }
                }
                _ = tokio::time::sleep_until(next_try), if failures > 0 => {}
            }
        }
    }

    /// Sends the oldest pending rows as one message; None when nothing was waiting.
    async fn deliver_due(&self, name: &str) -> Option<std::result::Result<(), String>> {
        let cfg = self.channels().into_iter().find(|c| c.name == name && c.enabled)?;
        let channel = name.to_string();
        let rows = match self.core.db.read_async(move |c| outbox::pending(c, &channel, BURST_MAX)).await {
            Ok(r) => r,
            Err(e) => return Some(Err(format!("cannot read the outbox: {e}"))),
        };
        let first = rows.first()?.created_at;
        let burst_ms = self.burst.as_millis() as i64;
        let take =
            if payload::batches_per_message(&cfg) { 1 } else { rows.iter().take_while(|r| r.created_at <= first + burst_ms).count() };
        let batch: Vec<Row> = rows.into_iter().take(take).collect();
        let ids: Vec<i64> = batch.iter().map(|r| r.id).collect();
        let out = fold(batch.into_iter().map(|r| r.message).collect())?;
        let secrets = self.secrets(&cfg).await;
        let (channel, marked) = (name.to_string(), ids.clone());
        if let Err(e) = self.core.db.write_async(move |c| outbox::mark_sending(c, &marked)).await {
            return Some(Err(format!("cannot write the outbox: {e}")));
        }
        let sending = self.send(&cfg, &out, &secrets);
        tokio::pin!(sending);
        let result = tokio::select! {
            r = &mut sending => r,
            // A clean stop lets a request under way finish and be recorded, so it is not sent
            // again after the restart; one that takes longer is left "sending" and sent once more.
            _ = self.core.cancel.cancelled() => match tokio::time::timeout(STOP_GRACE, &mut sending).await {
                Ok(r) => r,
                Err(_) => return None,
            },
        };
        let now = self.core.now();
        let error = result.as_ref().err().cloned();
        let retry = cfg.kind != ChannelKind::Desktop;
        let recorded = self
            .core
            .db
            .write_async(move |c| match &error {
                None => outbox::mark_delivered(c, &channel, &ids, now),
                Some(e) => outbox::mark_failed(c, &channel, &ids, e, retry, now),
            })
            .await;
        if let Err(e) = recorded {
            tracing::warn!("could not record a delivery in the outbox: {e}");
        }
        self.settled.send_modify(|n| *n += 1);
        match result {
            // Not retried: the next notice is shown at once, not after a pause.
            Err(e) if !retry => {
                tracing::warn!("could not show a notification: {e}");
                Some(Ok(()))
            }
            r => Some(r),
        }
    }

    /// One attempt: this machine's notification, or a request to the channel's server.
    async fn send(&self, cfg: &ChannelConfig, out: &Outgoing, secrets: &Secrets) -> std::result::Result<(), String> {
        if cfg.kind == ChannelKind::Desktop {
            return super::desktop::show(self.sink.clone(), out, self.core.bus()).await;
        }
        send::deliver(&self.client().map_err(|e| e.to_string())?, cfg, out, secrets).await
    }

    async fn secrets(&self, cfg: &ChannelConfig) -> Secrets {
        let (dir, cfg) = (self.core.data_dir.clone(), cfg.clone());
        tokio::task::spawn_blocking(move || secret::load_all(&dir, &cfg)).await.unwrap_or_default()
    }

    pub async fn status(&self) -> Result<Vec<ChannelStatus>> {
        let (channels, dir, db) = (self.channels(), self.core.data_dir.clone(), self.core.db.clone());
        tokio::task::spawn_blocking(move || outbox::statuses(&db, &dir, channels))
            .await
            .map_err(|e| EngineError::Internal(e.to_string()))?
    }

    /// Queues a test message for `name` through the outbox and answers once it was delivered
    /// or failed.
    pub async fn test(&self, name: &str) -> Result<ChannelTestOutcome> {
        let cfg = self.channels().into_iter().find(|c| c.name == name);
        let cfg = cfg.ok_or_else(|| no_channel(name))?;
        if !cfg.enabled {
            return Err(EngineError::InvalidInput(format!("the channel {name:?} is switched off")));
        }
        let mut settled = self.settled.subscribe();
        let now = self.core.now();
        let m = Message::test(name, &self.core.hostname, now);
        let channel = name.to_string();
        let id = self.core.db.write_async(move |c| outbox::enqueue(c, &channel, &m, now)).await?;
        self.kick(name).notify_one();
        let deadline = tokio::time::Instant::now() + send::TIMEOUT * 3;
        loop {
            let state = self.core.db.read_async(move |c| outbox::row_state(c, id)).await?;
            match state {
                Some((s, _)) if s == "delivered" => return Ok(ChannelTestOutcome { delivered: true, error: None }),
                Some((s, error)) if s == "failed" => return Ok(ChannelTestOutcome { delivered: false, error }),
                _ => {}
            }
            tokio::select! {
                _ = self.core.cancel.cancelled() => return Err(EngineError::ShuttingDown),
                _ = tokio::time::sleep_until(deadline) => {
                    return Ok(ChannelTestOutcome { delivered: false, error: Some("no answer yet; the message stays queued".into()) })
                }
                _ = settled.changed() => {}
            }
        }
    }
}

pub(super) fn no_channel(name: &str) -> EngineError {
    EngineError::NotFound(format!("there is no notification channel named {name:?}"))
}
