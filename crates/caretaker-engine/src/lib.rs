//! Caretaker's engine. Knows nothing of windows: the desktop shell, the `caretaker` CLI and the
//! tests all drive it through [`Engine::start`], [`EngineHandle`] and [`Event`].

pub mod alerts;
pub mod backup;
pub mod analysis;
pub mod bindings;
pub mod checks;
pub mod clock;
pub mod config;
pub mod detectors;
mod error;
pub mod events;
pub mod forward;
pub mod healing;
pub mod http;
mod lock;
pub mod logging;
pub mod logs;
pub mod maintenance;
pub mod metrics;
pub mod paths;
pub mod store;

pub use clock::{Clock, SystemClock};
pub use config::Config;
pub use error::{ConfigIssue, EngineError, ErrorCode, ErrorKind, ErrorPayload, Result};
pub use events::{Capability, EngineState, EngineStatus, Event, RunbookInfo, Snapshot};
pub use logs::{LogLevel, LogLine, LogQuery};
pub use maintenance::{MaintenanceStatus, RunReport};
pub use healing::{ActionSummary, HealingQuery, HealingRecord};
pub use analysis::{Finding, PromptState, Scan};
pub use metrics::store::{Resolution, SeriesData, SeriesQuery, SeriesResult};
pub use metrics::HostSample;
pub use alerts::{Alert, AlertQuery, AlertStatus, Notice, Severity};
pub use checks::{CheckHistoryQuery, CheckResult, CheckStatus, CheckSummary};
pub use config::CheckConfig;
pub use detectors::{DetectorConfig, DetectorState};

use alerts::{AlertManager, Effects};
use metrics::task::{self, MetricsWorker};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How an engine is started.
pub struct EngineOptions {
    pub data_dir: PathBuf,
    pub clock: Arc<dyn Clock>,
    /// Where notifications go; the OS's notification service unless a test says otherwise.
    pub notifier: Arc<dyn alerts::notify::Sink>,
    /// How long a burst of notices is gathered into one notification.
    pub notification_window: Duration,
    /// The program run as backup worker (`<exe> __backup-worker`); this process's own binary by default.
    pub backup_worker: PathBuf,
}

impl EngineOptions {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        EngineOptions {
            data_dir: data_dir.into(),
            clock: Arc::new(SystemClock),
            notifier: Arc::new(alerts::notify::DesktopSink),
            notification_window: Duration::from_millis(1500),
            backup_worker: backup::default_worker_exe(),
        }
    }
}

pub struct Engine;

struct Inner {
    data_dir: PathBuf,
    config: RwLock<Config>,
    clock: Arc<dyn Clock>,
    events: broadcast::Sender<Event>,
    status: RwLock<EngineStatus>,
    latest: RwLock<Option<HostSample>>,
    db: Arc<store::Db>,
    alerts: Arc<Mutex<AlertManager>>,
    notices: mpsc::Sender<Notice>,
    checks_latest: RwLock<HashMap<String, CheckResult>>,
    checks_running: Mutex<Option<(CancellationToken, Vec<JoinHandle<()>>)>>,
    check_results: mpsc::Sender<(CheckResult, checks::Lag)>,
    prober: checks::Prober,
    cancel: CancellationToken,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Serialises config edits: read, change, validate, write, apply.
    config_edit: tokio::sync::Mutex<()>,
    maintenance: Arc<maintenance::Runner>,
    /// The runtime the engine started on; sync methods may be called from threads without one.
    runtime: tokio::runtime::Handle,
    log_ring: Mutex<logs::Ring>,
    log_sink: u64,
    /// (action, alert) pairs with a run in progress, so a tick never starts the same one twice.
    healing_in_flight: Mutex<std::collections::HashSet<(String, i64)>>,
    llm: analysis::LlmClient,
    /// One scan at a time: set by compare-and-swap, refused (not queued) when taken.
    scan_running: std::sync::atomic::AtomicBool,
    lock: Mutex<Option<lock::DataDirLock>>,
    backups: backup::State,
    hostname: String,
    /// What each detector's last evaluation found, for the UI.
    detector_states: RwLock<Vec<DetectorState>>,
    /// One evaluation of the detectors at a time (the tick and an explicit call).
    detector_eval: tokio::sync::Mutex<()>,
}

/// A running engine. Cheap to clone; every clone talks to the same engine.
#[derive(Clone)]
pub struct EngineHandle {
    inner: Arc<Inner>,
}

impl Engine {
    /// Takes the data dir (creating it and a commented config on first run), opens and migrates
    /// the database, and starts every capability's task. Must run inside a tokio runtime.
    pub async fn start(options: EngineOptions) -> Result<EngineHandle> {
        let data_dir = options.data_dir;
        std::fs::create_dir_all(&data_dir)
            .map_err(|e| EngineError::io(format!("cannot create data folder {}", data_dir.display()), e))?;
        let lock = lock::DataDirLock::acquire(&data_dir)?;
        let config = Config::load_or_create(&data_dir)?;
        let db_path = data_dir.join(paths::DB_FILE);
        let db = store::Db::open(&db_path)?;
        let prober = checks::Prober::new()?;
        let top_n = config.metrics.top_processes as usize;
        let sampler = tokio::task::spawn_blocking(move || metrics::Sampler::new(top_n))
            .await
            .map_err(|e| EngineError::Internal(e.to_string()))?
            .map_err(EngineError::Internal)?;

        let now = options.clock.now_ms();
        let status = EngineStatus {
            version: env!("CARGO_PKG_VERSION").into(),
            pid: std::process::id(),
            data_dir: data_dir.display().to_string(),
            state: EngineState::Running,
            started_ms: now,
            metrics_interval_secs: config.metrics.interval_secs,
            last_sample_ms: None,
            last_error: None,
        };
        db.write(|c| task::write_status(c, &status, now))?;
        let cut = db.write(|c| healing::mark_interrupted(c, now))?;
        if cut > 0 {
            tracing::warn!(rows = cut, "healing actions were running when Caretaker last stopped; recorded as interrupted");
        }
        db.write(|c| analysis::mark_interrupted(c, now))?;
        if db.write(|c| backup::store::mark_interrupted(c, now))? > 0 {
            tracing::warn!("a backup job was running when Caretaker last stopped; recorded as interrupted");
        }
        let interrupted = db.write(|c| maintenance::mark_interrupted(c, now))?;
        if interrupted > 0 {
            tracing::warn!("a maintenance run was interrupted when Caretaker last stopped; recorded as interrupted");
        }
        let hostname = sysinfo::System::host_name().unwrap_or_else(|_| "this machine".into());
        let manager = db.write(|c| AlertManager::load(c, config.alerts.clone(), config.metrics.interval_secs, hostname.clone(), now))?;
        let checks_latest: HashMap<String, CheckResult> = db.read(|c| {
            let mut m = HashMap::new();
            for ch in &config.checks.list {
                if let Some(r) = checks::store::latest(c, &ch.name)? {
                    m.insert(ch.name.clone(), r);
                }
            }
            Ok(m)
        })?;
        let (events, _) = broadcast::channel(256);
        let (notice_tx, notice_rx) = mpsc::channel(256);
        let (result_tx, result_rx) = mpsc::channel(1024);
        let (log_tx, log_rx) = mpsc::channel(4096);
        let log_sink = logs::attach(log_tx);
        let notifications_on = config.notifications.enabled;
        let inner = Arc::new(Inner {
            data_dir: data_dir.clone(),
            clock: options.clock.clone(),
            events,
            status: RwLock::new(status),
            latest: RwLock::new(None),
            db: db.clone(),
            alerts: Arc::new(Mutex::new(manager)),
            notices: notice_tx,
            checks_latest: RwLock::new(checks_latest),
            checks_running: Mutex::new(None),
            check_results: result_tx,
            prober,
            cancel: CancellationToken::new(),
            tasks: Mutex::new(Vec::new()),
            config_edit: tokio::sync::Mutex::new(()),
            maintenance: Arc::new(maintenance::Runner::default()),
            runtime: tokio::runtime::Handle::current(),
            log_ring: Mutex::new(logs::Ring::default()),
            log_sink,
            healing_in_flight: Mutex::new(Default::default()),
            llm: analysis::LlmClient::new()?,
            scan_running: std::sync::atomic::AtomicBool::new(false),
            lock: Mutex::new(Some(lock)),
            backups: backup::State::new(options.backup_worker.clone()),
            hostname: hostname.clone(),
            detector_states: RwLock::new(config.detectors.iter().cloned().map(DetectorState::new).collect()),
            detector_eval: tokio::sync::Mutex::new(()),
            config: RwLock::new(config),
        });
        let metrics_cfg = handle_config(&inner).metrics;
        let worker = MetricsWorker {
            sampler,
            db,
            cache: Default::default(),
            clock: options.clock,
            policy: (&metrics_cfg).into(),
            last_rollup_minute: i64::MIN,
            last_prune_ms: i64::MIN / 2,
        };
        let handle = EngineHandle { inner };
        let mut tasks = vec![
            tokio::spawn(run_metrics(handle.clone(), worker)),
            tokio::spawn(run_check_results(handle.clone(), result_rx)),
            tokio::spawn(run_alert_ticks(handle.clone())),
            tokio::spawn(run_log_writer(handle.clone(), log_rx)),
            tokio::spawn(run_maintenance_schedule(handle.clone())),
            tokio::spawn(run_healing(handle.clone())),
            tokio::spawn(run_analysis_schedule(handle.clone())),
            tokio::spawn(backup::run_schedule(handle.clone())),
        ];
        let http_cfg = handle.config().http;
        if http_cfg.enabled {
            match tokio::net::TcpListener::bind(&http_cfg.bind).await {
                Ok(l) => {
                    tracing::info!(bind = %http_cfg.bind, "http endpoint listening");
                    let t = tokio::spawn(http::serve(handle.clone(), l, http_cfg.token.clone()));
                    handle.lock_tasks().push(t);
                }
                Err(e) => {
                    tracing::error!("the HTTP endpoint could not listen on {}: {e}", http_cfg.bind);
                    handle.set_error(Some(format!("the HTTP endpoint could not listen on {}: {e}", http_cfg.bind)));
                }
            }
        }
        // A newer default prompt replaces an unedited one when the app is upgraded.
        if handle.config().analysis.enabled {
            if let Err(e) = handle.reconcile_prompt().await {
                tracing::warn!("could not update the analysis prompt: {e}");
            }
        }
        let am = handle.config().alertmanager;
        if am.enabled {
            let instance = if am.instance.trim().is_empty() { hostname.clone() } else { am.instance.clone() };
            let h = handle.clone();
            let source = forward::Source { events: handle.subscribe(), open: Arc::new(move || h.open_alerts()), clock: handle.inner.clock.clone(), cancel: handle.inner.cancel.clone() };
            tasks.push(tokio::spawn(forward::run(am, instance, source)));
        }
        if notifications_on {
            tasks.push(tokio::spawn(alerts::notify::run(notice_rx, options.notifier, hostname, options.notification_window, handle.inner.cancel.clone())));
        }
        handle.lock_tasks().extend(tasks);
        handle.restart_checks();
        tracing::info!(data_dir = %data_dir.display(), interval_secs = metrics_cfg.interval_secs, "engine started");
        Ok(handle)
    }
}

fn handle_config(inner: &Inner) -> Config {
    inner.config.read().map(|c| c.clone()).unwrap_or_else(|p| p.into_inner().clone())
}

/// Check results: stored (one writer), published, and handed to the alert rules.
async fn run_check_results(handle: EngineHandle, mut rx: mpsc::Receiver<(CheckResult, checks::Lag)>) {
    loop {
        let (result, _lag) = tokio::select! {
            _ = handle.inner.cancel.cancelled() => break,
            r = rx.recv() => match r { Some(r) => r, None => break },
        };
        let now = handle.inner.clock.now_ms();
        let stored = result.clone();
        if let Err(e) = handle.inner.db.write_async(move |c| checks::store::insert(c, &stored, now)).await {
            tracing::warn!("could not record a check result: {e}");
        }
        if let Ok(mut m) = handle.inner.checks_latest.write() {
            m.insert(result.service_name.clone(), result.clone());
        }
        let _ = handle.inner.events.send(Event::CheckResult { result: result.clone() });
        let interval = handle.config().checks.list.iter().find(|c| c.name == result.service_name).map_or(60, |c| c.interval_secs);
        handle.with_alerts(move |m, c, now| m.on_check_result(c, &result, interval, now)).await;
    }
}

/// Stores captured log lines in batches and publishes them for the live view.
async fn run_log_writer(handle: EngineHandle, mut rx: mpsc::Receiver<LogLine>) {
    loop {
        let first = tokio::select! {
            _ = handle.inner.cancel.cancelled() => break,
            l = rx.recv() => match l { Some(l) => l, None => break },
        };
        let mut batch = vec![first];
        while batch.len() < 500 {
            match rx.try_recv() {
                Ok(l) => batch.push(l),
                Err(_) => break,
            }
        }
        match handle.inner.db.write_async(move |c| logs::insert_batch(c, &mut batch).map(|_| batch)).await {
            Ok(lines) => {
                if let Ok(mut ring) = handle.inner.log_ring.lock() {
                    for l in &lines {
                        ring.push(l.clone());
                    }
                }
                let _ = handle.inner.events.send(Event::Log { lines });
            }
            // Not logged through tracing: that would feed this very writer.
            Err(e) => eprintln!("caretaker: could not store log lines: {e}"),
        }
    }
}

/// Looks at open alerts every two seconds and lets the guard rails decide about their actions.
async fn run_healing(handle: EngineHandle) {
    let mut ticker = tokio::time::interval(Duration::from_secs(2));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = handle.inner.cancel.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let cfg = handle.config().healing;
        if cfg.actions.is_empty() {
            continue;
        }
        for alert in handle.open_alerts() {
            for action in healing::attached(&cfg, &alert).cloned().collect::<Vec<_>>() {
                let key = (action.id.clone(), alert.id);
                if handle.inner.healing_in_flight.lock().map(|s| s.contains(&key)).unwrap_or(true) {
                    continue;
                }
                let (cfg2, action2, alert2) = (cfg.clone(), action.clone(), alert.clone());
                let now = handle.inner.clock.now_ms();
                let decided = handle
                    .inner
                    .db
                    .write_async(move |c| {
                        let stopped = action2.restart_service.is_some() && action2.respect_manual_stop && healing::manually_stopped(&action2);
                        healing::decide(c, &cfg2, &action2, &alert2, stopped, now)
                    })
                    .await;
                match decided {
                    Ok(Some(record)) => handle.after_decision(record, action, alert.clone()).await,
                    Ok(None) => {}
                    Err(e) => tracing::warn!("healing decision failed: {e}"),
                }
            }
        }
    }
}

/// Scans the log every `analysis.cadence_minutes` while analysis is enabled.
async fn run_analysis_schedule(handle: EngineHandle) {
    loop {
        let cfg = handle.config().analysis;
        let wait = if cfg.enabled { Duration::from_secs(cfg.cadence_minutes * 60) } else { Duration::from_secs(30) };
        tokio::select! {
            _ = handle.inner.cancel.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        if handle.config().analysis.enabled {
            match handle.run_scan("schedule") {
                Ok(id) => tracing::info!(scan_id = id, "scheduled log analysis started"),
                Err(e) => tracing::warn!("scheduled log analysis did not start: {e}"),
            }
        }
    }
}

/// Runs maintenance every day at `maintenance.daily_at` (local time).
async fn run_maintenance_schedule(handle: EngineHandle) {
    loop {
        let Some(next) = handle.next_maintenance_ms() else { return };
        let wait = Duration::from_millis((next - handle.inner.clock.now_ms()).max(1000) as u64);
        tokio::select! {
            _ = handle.inner.cancel.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        match handle.start_maintenance("schedule") {
            Ok(id) => tracing::info!(run_id = id, "scheduled maintenance started"),
            Err(e) => tracing::warn!("scheduled maintenance did not start: {e}"),
        }
        // Never twice for the same minute.
        tokio::time::sleep(Duration::from_secs(61)).await;
    }
}

/// Staleness, repeat notifications and retention of checks and alerts.
async fn run_alert_ticks(handle: EngineHandle) {
    let mut ticker = tokio::time::interval(Duration::from_secs(5));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_prune = i64::MIN / 2;
    loop {
        tokio::select! {
            _ = handle.inner.cancel.cancelled() => break,
            _ = ticker.tick() => {}
        }
        handle.with_alerts(|m, c, now| m.on_tick(c, now)).await;
        if let Err(e) = handle.evaluate_detectors().await {
            tracing::warn!("detectors could not be evaluated: {e}");
        }
        let now = handle.inner.clock.now_ms();
        if now - last_prune >= 600_000 {
            last_prune = now;
            let cfg = handle.config();
            let pruned = handle
                .inner
                .db
                .write_async(move |c| {
                    Ok((
                        checks::store::prune(c, now, cfg.checks.retention_days)?,
                        alerts::prune_alerts(c, now, cfg.alerts.retention_days)?,
                        logs::prune(c, now, cfg.logs.retention_days)?,
                    ))
                })
                .await;
            match pruned {
                Ok((0, 0, 0)) => {}
                Ok((checks, alerts, logs)) => tracing::info!(checks, alerts, logs, "pruned check results, resolved alerts and log lines past retention"),
                Err(e) => tracing::warn!("could not prune checks and alerts: {e}"),
            }
        }
    }
}

async fn run_metrics(handle: EngineHandle, mut worker: MetricsWorker) {
    let inner = &handle.inner;
    let period = Duration::from_secs(handle_config(inner).metrics.interval_secs);
    // The first tick comes soon (CPU usage needs a short gap after the first reading), then on period.
    let first = tokio::time::Instant::now() + period.min(Duration::from_secs(1));
    let mut ticker = tokio::time::interval_at(first, period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = inner.cancel.cancelled() => break,
            _ = ticker.tick() => {}
        }
        let status = handle.status();
        let joined = tokio::task::spawn_blocking(move || {
            let out = worker.tick(&status);
            (worker, out)
        })
        .await;
        let out;
        (worker, out) = match joined {
            Ok(v) => v,
            Err(e) => {
                tracing::error!("metrics tick panicked: {e}; metrics stopped");
                handle.set_error(Some(format!("metrics stopped: {e}")));
                return;
            }
        };
        match out {
            Ok(out) => {
                if let Ok(mut s) = inner.status.write() {
                    s.last_sample_ms = Some(out.sample.ts_ms);
                    if s.last_error.take().is_some() {
                        let _ = inner.events.send(Event::EngineStatus { status: s.clone() });
                    }
                }
                // State first, then the event: whoever reacts to the event and reads the
                // snapshot must see this sample.
                let sample = out.sample.clone();
                if let Ok(mut l) = inner.latest.write() {
                    *l = Some(out.sample.clone());
                }
                let _ = inner.events.send(task::event_for(&out));
                handle.with_alerts(move |m, c, now| m.on_host_sample(c, &sample, now)).await;
            }
            Err(e) => {
                tracing::warn!("metrics tick failed: {e}");
                handle.set_error(Some(format!("could not record metrics: {e}")));
            }
        }
    }
    let mut status = handle.status();
    status.state = EngineState::Stopped;
    let now = worker.clock.now_ms();
    let stopped = worker.db.write(|c| {
        task::write_status(c, &status, now)?;
        // Hand the WAL back to the main file so a copy of the folder is complete without -wal.
        c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        Ok(())
    });
    if let Err(e) = stopped {
        tracing::warn!("could not record engine stop: {e}");
    }
}

impl EngineHandle {
    fn lock_tasks(&self) -> std::sync::MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.inner.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_error(&self, error: Option<String>) {
        if let Ok(mut s) = self.inner.status.write() {
            s.last_error = error;
            let _ = self.inner.events.send(Event::EngineStatus { status: s.clone() });
        }
    }

    /// Events from now on. A slow receiver that falls behind gets `Lagged` and should re-read
    /// `snapshot()`.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.events.subscribe()
    }

    pub fn status(&self) -> EngineStatus {
        self.inner.status.read().map(|s| s.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// The current state, for a UI's first paint.
    pub fn snapshot(&self) -> Snapshot {
        let (alerts, paused) = {
            let m = self.inner.alerts.lock().unwrap_or_else(|p| p.into_inner());
            (m.open_alerts(), m.paused_until())
        };
        Snapshot {
            engine: self.status(),
            host: self.inner.latest.read().ok().and_then(|l| l.clone()),
            checks: self.check_states(),
            worst: alerts::worst(&alerts),
            alerts,
            notifications_paused_until: paused,
            capabilities: events::capabilities(),
        }
    }

    fn check_states(&self) -> Vec<events::CheckState> {
        let latest = self.inner.checks_latest.read().map(|m| m.clone()).unwrap_or_default();
        self.config()
            .checks
            .list
            .into_iter()
            .map(|c| {
                let (kind, target) = c.kind_and_target();
                events::CheckState { kind: kind.into(), target, latest: latest.get(&c.name).cloned(), config: c }
            })
            .collect()
    }

    pub fn config(&self) -> Config {
        handle_config(&self.inner)
    }

    /// Runs `f` on the alert manager and the writer connection, on a blocking thread.
    async fn in_alerts<T: Send + 'static>(&self, f: impl FnOnce(&mut AlertManager, &rusqlite::Connection, i64) -> Result<T> + Send + 'static) -> Result<T> {
        let inner = self.inner.clone();
        let now = inner.clock.now_ms();
        tokio::task::spawn_blocking(move || {
            let mut m = inner.alerts.lock().unwrap_or_else(|p| p.into_inner());
            inner.db.write(|c| f(&mut m, c, now))
        })
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))?
    }

    /// Feeds the alert manager, then publishes what changed and queues what must be said.
    async fn with_alerts(&self, f: impl FnOnce(&mut AlertManager, &rusqlite::Connection, i64) -> Result<Effects> + Send + 'static) {
        match self.in_alerts(f).await {
            Ok(fx) => self.publish(fx),
            Err(e) => tracing::warn!("alert rules failed: {e}"),
        }
    }

    fn publish(&self, fx: Effects) {
        for alert in fx.changed {
            let _ = self.inner.events.send(Event::AlertChanged { alert });
        }
        let native = self.config().notifications.enabled;
        for notice in fx.notices {
            let _ = self.inner.events.send(Event::Notification { notice: notice.clone() });
            if native && self.inner.notices.try_send(notice).is_err() {
                tracing::warn!("notification queue full; dropped a notice");
            }
        }
    }

    /// Runs one alert command (acknowledge, resolve, snooze) and publishes the change.
    async fn alert_command(&self, f: impl FnOnce(&mut AlertManager, &rusqlite::Connection, i64) -> Result<Alert> + Send + 'static) -> Result<Alert> {
        let alert = self.in_alerts(f).await?;
        let _ = self.inner.events.send(Event::AlertChanged { alert: alert.clone() });
        Ok(alert)
    }

    pub async fn acknowledge_alert(&self, id: i64) -> Result<Alert> {
        self.alert_command(move |m, c, now| m.acknowledge(c, id, now)).await
    }

    pub async fn resolve_alert(&self, id: i64) -> Result<Alert> {
        self.alert_command(move |m, c, now| m.resolve(c, id, now)).await
    }

    pub async fn snooze_alert(&self, id: i64, hours: u32) -> Result<Alert> {
        self.alert_command(move |m, c, now| m.snooze(c, id, hours, now)).await
    }

    /// Pauses notifications for `minutes` (None or 0 resumes them).
    pub async fn pause_notifications(&self, minutes: Option<u32>) -> Result<Option<i64>> {
        let until = self
            .in_alerts(move |m, c, now| {
                let until = minutes.filter(|m| *m > 0).map(|m| now + i64::from(m) * 60_000);
                m.pause_notifications(c, until, now).map(|_| until)
            })
            .await?;
        let _ = self.inner.events.send(Event::NotificationsPaused { until_ms: until });
        Ok(until)
    }

    pub fn open_alerts(&self) -> Vec<Alert> {
        self.inner.alerts.lock().unwrap_or_else(|p| p.into_inner()).open_alerts()
    }

    pub async fn alerts(&self, q: AlertQuery) -> Result<Vec<Alert>> {
        self.inner.db.read_async(move |c| alerts::list_alerts(c, &q)).await
    }

    pub fn runbook(&self, alert_type: &str) -> Option<String> {
        alerts::runbook(alert_type).map(str::to_string)
    }

    /// Publishes a healing decision; runs the action when the decision says so.
    async fn after_decision(&self, record: HealingRecord, action: config::ActionConfig, alert: Alert) {
        let _ = self.inner.events.send(Event::Healing { record: record.clone() });
        match record.decision {
            healing::Decision::Escalated => {
                let (title, body) = match &record.outcome {
                    Some(gave_up) => (format!("Gave up healing {}", alert.subject), gave_up.clone()),
                    None => (format!("Proposed: {} for {}", action.name, alert.subject), "Open Caretaker → Healing to run it or dismiss it. Nothing runs until you say so.".to_string()),
                };
                self.publish(Effects { changed: vec![], notices: vec![Notice { title, body, severity: alert.severity, alert_id: alert.id, recovery: false }] });
            }
            healing::Decision::Ran | healing::Decision::ApprovedByUser => {
                let key = (action.id.clone(), alert.id);
                if let Ok(mut s) = self.inner.healing_in_flight.lock() {
                    s.insert(key.clone());
                }
                let me = self.clone();
                tokio::spawn(async move {
                    me.run_action(record, action, alert).await;
                    if let Ok(mut s) = me.inner.healing_in_flight.lock() {
                        s.remove(&key);
                    }
                });
            }
            _ => {}
        }
    }

    /// Runs an action whose audit row is already written, records how it ended, then verifies.
    async fn run_action(&self, record: HealingRecord, action: config::ActionConfig, alert: Alert) {
        tracing::info!(action = %action.id, subject = %alert.subject, decision = record.decision.as_str(), "running healing action");
        let a = action.clone();
        let out = tokio::task::spawn_blocking(move || healing::execute(&a)).await.unwrap_or_else(|e| healing::RunOutput { outcome: format!("the action crashed: {e}"), ..Default::default() });
        let id = record.id;
        let out2 = out.clone();
        let now = self.inner.clock.now_ms();
        if let Err(e) = self.inner.db.write_async(move |c| healing::finish(c, id, &out2, now)).await {
            tracing::warn!("could not record the end of healing action {id}: {e}");
        }
        tokio::time::sleep(Duration::from_secs(action.verify_after_secs)).await;
        // Verify: re-run the check now; for host rules, see whether the alert is still open.
        let check = self.config().checks.list.into_iter().find(|c| alert.rule == "check" && c.name == alert.subject);
        let healed = match check {
            Some(c) => {
                let result = self.inner.prober.run(&c, self.inner.clock.now_ms()).await;
                let ok = result.status == CheckStatus::Healthy;
                let _ = self.inner.check_results.send((result, checks::Lag { due: tokio::time::Instant::now(), started: tokio::time::Instant::now() })).await;
                ok
            }
            None => !self.open_alerts().iter().any(|a| a.id == alert.id),
        };
        if let Err(e) = self.inner.db.write_async(move |c| healing::set_healed(c, id, healed)).await {
            tracing::warn!("could not record whether action {id} healed: {e}");
        }
        tracing::info!(action = %action.id, subject = %alert.subject, healed, outcome = %out.outcome, "healing action finished");
        if let Ok(Some(r)) = self.inner.db.read_async(move |c| healing::get(c, id)).await {
            let _ = self.inner.events.send(Event::Healing { record: r });
        }
    }

    /// The configured actions with their counters.
    pub async fn healing_actions(&self) -> Result<Vec<ActionSummary>> {
        let cfg = self.config().healing;
        let now = self.inner.clock.now_ms();
        self.inner.db.read_async(move |c| healing::summaries(c, &cfg, now)).await
    }

    pub async fn healing_log(&self, q: HealingQuery) -> Result<Vec<HealingRecord>> {
        self.inner.db.read_async(move |c| healing::list(c, &q)).await
    }

    /// Escalations waiting for the person.
    pub async fn pending_escalations(&self) -> Result<Vec<HealingRecord>> {
        let open = self.open_alerts();
        self.inner.db.read_async(move |c| healing::pending(c, &open)).await
    }

    /// "Run it": the person approves an escalated action; it runs now, recorded as theirs.
    pub async fn approve_escalation(&self, id: i64) -> Result<HealingRecord> {
        let row = self.inner.db.read_async(move |c| healing::get(c, id)).await?.ok_or_else(|| EngineError::InvalidInput(format!("no escalation {id}")))?;
        let action = self.config().healing.actions.into_iter().find(|a| a.id == row.action_id).ok_or_else(|| EngineError::InvalidInput(format!("action {:?} is no longer configured", row.action_id)))?;
        let alert = self.open_alerts().into_iter().find(|a| Some(a.id) == row.alert_id).ok_or_else(|| EngineError::InvalidInput("that incident is already over".into()))?;
        let now = self.inner.clock.now_ms();
        let (a2, al2) = (action.clone(), alert.clone());
        let record = self.inner.db.write_async(move |c| healing::approve(c, id, &a2, &al2, now)).await?;
        self.after_decision(record.clone(), action, alert).await;
        Ok(record)
    }

    pub async fn dismiss_escalation(&self, id: i64) -> Result<()> {
        self.inner.db.write_async(move |c| healing::set_outcome(c, id, "dismissed")).await
    }

    async fn save_analysis(&self, next: config::AnalysisConfig) -> Result<()> {
        let mut config = self.config();
        config.analysis = next.clone();
        let issues = config.validate();
        if !issues.is_empty() {
            return Err(EngineError::Config(issues));
        }
        config::write_section(&self.inner.data_dir.join(paths::CONFIG_FILE), "analysis", &next)?;
        if let Ok(mut c) = self.inner.config.write() {
            *c = config;
        }
        Ok(())
    }

    async fn prompt_version(&self) -> Result<u32> {
        Ok(self.inner.db.read_async(|c| store::kv_get(c, "analysis.prompt_version")).await?.and_then(|(v, _)| v.parse().ok()).unwrap_or(0))
    }

    /// Seeds an empty prompt, or upgrades an unedited one to a newer shipped default.
    async fn reconcile_prompt(&self) -> Result<()> {
        let _guard = self.inner.config_edit.lock().await;
        let seeded = self.prompt_version().await?;
        let (next, version) = analysis::reconcile_prompt(&self.config().analysis, seeded, &analysis::default_prompt());
        if let Some(next) = next {
            self.save_analysis(next).await?;
            let now = self.inner.clock.now_ms();
            self.inner.db.write_async(move |c| store::kv_put(c, "analysis.prompt_version", &version.to_string(), now)).await?;
            tracing::info!(version, "analysis prompt set to the shipped default");
        }
        Ok(())
    }

    pub async fn analysis_prompt(&self) -> Result<PromptState> {
        let cfg = self.config().analysis;
        let (default_version, default_template) = analysis::default_prompt();
        let seeded_version = self.prompt_version().await?;
        Ok(PromptState {
            newer_default_available: cfg.prompt_user_modified && seeded_version < default_version,
            template: cfg.prompt_template,
            user_modified: cfg.prompt_user_modified,
            default_template,
            default_version,
            seeded_version,
        })
    }

    /// The models an endpoint offers.
    pub async fn list_models(&self, endpoint: String) -> Result<Vec<String>> {
        self.inner.llm.models(&endpoint, Duration::from_secs(10)).await
    }

    /// Changes the analysis settings. Enabling checks first that the endpoint answers and has
    /// the model; when it does not, nothing is saved and analysis stays off.
    pub async fn set_analysis(&self, enabled: bool, endpoint: String, model: String, cadence_minutes: u64) -> Result<config::AnalysisConfig> {
        let mut next = self.config().analysis;
        next.endpoint = endpoint.trim().to_string();
        next.model = model.trim().to_string();
        next.cadence_minutes = cadence_minutes;
        next.enabled = enabled;
        if enabled {
            let models = self.inner.llm.models(&next.endpoint, Duration::from_secs(10)).await?;
            if !models.iter().any(|m| *m == next.model || m.split(':').next() == Some(next.model.as_str())) {
                return Err(EngineError::InvalidInput(format!(
                    "the server at {} has no model {:?} (it has: {}); pull it first or pick another",
                    next.endpoint,
                    next.model,
                    if models.is_empty() { "none".to_string() } else { models.join(", ") }
                )));
            }
        }
        {
            let _guard = self.inner.config_edit.lock().await;
            self.save_analysis(next.clone()).await?;
        }
        if enabled {
            self.reconcile_prompt().await?;
        }
        Ok(self.config().analysis)
    }

    /// The person's own prompt; from now on upgrades keep it.
    pub async fn set_prompt(&self, template: String) -> Result<()> {
        if template.trim().is_empty() {
            return Err(EngineError::InvalidInput("the prompt must not be empty; use \"Reset to default\" instead".into()));
        }
        let _guard = self.inner.config_edit.lock().await;
        let mut next = self.config().analysis;
        next.prompt_template = template;
        next.prompt_user_modified = true;
        self.save_analysis(next).await
    }

    pub async fn reset_prompt(&self) -> Result<()> {
        let (version, body) = analysis::default_prompt();
        {
            let _guard = self.inner.config_edit.lock().await;
            let mut next = self.config().analysis;
            next.prompt_template = body;
            next.prompt_user_modified = false;
            self.save_analysis(next).await?;
        }
        let now = self.inner.clock.now_ms();
        self.inner.db.write_async(move |c| store::kv_put(c, "analysis.prompt_version", &version.to_string(), now)).await
    }

    pub async fn analysis_scans(&self, limit: u32) -> Result<Vec<Scan>> {
        self.inner.db.read_async(move |c| analysis::scans(c, limit)).await
    }

    pub async fn findings(&self, include_dismissed: bool) -> Result<Vec<Finding>> {
        self.inner.db.read_async(move |c| analysis::findings(c, include_dismissed, 500)).await
    }

    pub async fn dismiss_finding(&self, id: i64) -> Result<()> {
        let now = self.inner.clock.now_ms();
        self.inner.db.write_async(move |c| analysis::dismiss(c, id, now)).await
    }

    /// A finding as a ready-to-file issue text, with its evidence lines.
    pub async fn finding_issue_text(&self, id: i64) -> Result<String> {
        self.inner
            .db
            .read_async(move |c| {
                let f = analysis::findings(c, true, 10_000)?.into_iter().find(|f| f.id == id).ok_or_else(|| EngineError::InvalidInput(format!("no finding {id}")))?;
                let mut lines = Vec::new();
                for lid in f.source_log_ids.iter().take(20) {
                    lines.extend(logs::search(c, &LogQuery { before_id: Some(lid + 1), limit: 1, ..Default::default() })?.into_iter().filter(|l| l.id == *lid));
                }
                Ok(analysis::issue_text(&f, &lines))
            })
            .await
    }

    /// Starts a scan now; a second one while one runs is refused, not queued.
    pub fn run_scan(&self, trigger: &str) -> Result<i64> {
        use std::sync::atomic::Ordering;
        if self.inner.scan_running.compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst).is_err() {
            return Err(EngineError::Busy("a log analysis scan is already running".into()));
        }
        let now = self.inner.clock.now_ms();
        let trigger = trigger.to_string();
        let begun = self.inner.db.write(|c| {
            let start = analysis::next_start(c)?;
            let end: i64 = c.query_row("SELECT COALESCE(MAX(id), 0) FROM logs", [], |r| r.get(0))?;
            let id = analysis::begin_scan(c, start, end.max(start), &trigger, now)?;
            Ok((id, start, end.max(start)))
        });
        let (id, start, end) = match begun {
            Ok(v) => v,
            Err(e) => {
                self.inner.scan_running.store(false, Ordering::SeqCst);
                return Err(e);
            }
        };
        let me = self.clone();
        self.inner.runtime.spawn(async move {
            let scan = me.scan(id, start, end).await;
            // Free the guard before announcing the end, so a reaction to the event can start the next scan.
            me.inner.scan_running.store(false, Ordering::SeqCst);
            if let Some(scan) = scan {
                let _ = me.inner.events.send(Event::AnalysisScan { scan });
            }
        });
        Ok(id)
    }

    async fn scan(&self, id: i64, start: i64, end: i64) -> Option<Scan> {
        let cfg = self.config().analysis;
        let actions: Vec<String> = self.config().healing.actions.iter().map(|a| a.id.clone()).collect();
        let level = cfg.min_level;
        let cap = cfg.max_log_lines;
        let read = self
            .inner
            .db
            .read_async(move |c| {
                let lines = logs::range(c, start, end, level, cap)?;
                let since = analysis::last_completed_at(c)?.unwrap_or(0);
                let alerts: Vec<Alert> = alerts::list_alerts(c, &AlertQuery { include_resolved: true, limit: 200, subject: None })?.into_iter().filter(|a| a.created_at > since).collect();
                Ok((lines, alerts))
            })
            .await;
        let now = || self.inner.clock.now_ms();
        let outcome: std::result::Result<Vec<analysis::parse::RawFinding>, (String, Option<String>)> = match read {
            Err(e) => Err((e.to_string(), None)),
            Ok((lines, alerts)) if lines.is_empty() && alerts.is_empty() => Ok(Vec::new()),
            Ok((lines, alerts)) => {
                let groups = analysis::group(&lines);
                let (input, _) = analysis::build_input(&groups, &alerts, &actions, 6000);
                let system = if cfg.prompt_template.trim().is_empty() { analysis::default_prompt().1 } else { cfg.prompt_template.clone() };
                match self.inner.llm.chat(&cfg, &system, &input).await {
                    Err(e) => Err((e.to_string(), None)),
                    Ok(answer) => analysis::parse::findings(&answer).map_err(|e| (e, Some(answer))),
                }
            }
        };
        let t = now();
        let stored = match outcome {
            Ok(found) => self.inner.db.write_async(move |c| analysis::complete_scan(c, id, &found, &actions, t)).await,
            Err((error, raw)) => {
                tracing::warn!(scan_id = id, "log analysis failed: {error}");
                let e2 = error.clone();
                self.inner.db.write_async(move |c| analysis::fail_scan(c, id, &e2, raw.as_deref(), t)).await.map(|_| Vec::new())
            }
        };
        match stored {
            Ok(findings) => {
                for f in findings.iter().filter(|f| f.severity == analysis::FindingSeverity::High) {
                    let f = f.clone();
                    self.with_alerts(move |m, c, now| {
                        m.raise(c, "analysis", f.title.clone(), "analysis_finding", Severity::Critical, format!("Log analysis: {}", f.title), f.body.clone(), serde_json::json!({ "finding_id": f.id, "classification": f.classification, "log_ids": f.source_log_ids }), now)
                    })
                    .await;
                }
            }
            Err(e) => tracing::warn!(scan_id = id, "could not record the scan: {e}"),
        }
        self.inner.db.read_async(move |c| Ok(analysis::scans(c, 50)?.into_iter().find(|s| s.scan_id == id))).await.ok().flatten()
    }

    /// Every runbook shipped with the app, with its title.
    pub fn runbooks(&self) -> Vec<RunbookInfo> {
        alerts::RUNBOOKS
            .iter()
            .filter_map(|id| {
                let text = alerts::runbook(id)?;
                let title = text.lines().next().unwrap_or(id).trim_start_matches('#').trim().to_string();
                Some(RunbookInfo { id: (*id).to_string(), title })
            })
            .collect()
    }

    fn next_maintenance_ms(&self) -> Option<i64> {
        let m = self.config().maintenance;
        let minute = config::parse_time_of_day(&m.daily_at)?;
        m.enabled.then(|| maintenance::next_daily(self.inner.clock.now_ms(), minute))
    }

    fn start_maintenance(&self, trigger: &str) -> Result<i64> {
        let env = maintenance::RunEnv {
            db: self.inner.db.clone(),
            config: self.config(),
            data_dir: self.inner.data_dir.clone(),
            clock: self.inner.clock.clone(),
            events: self.inner.events.clone(),
            cancel: self.inner.cancel.child_token(),
            shutdown: self.inner.cancel.clone(),
            runtime: self.inner.runtime.clone(),
            backup_task: Some(self.maintenance_backup_task()),
        };
        self.inner.maintenance.start(env, trigger)
    }

    /// Starts a maintenance run now; a second call while one runs is refused ("already running").
    pub fn run_maintenance(&self) -> Result<i64> {
        self.start_maintenance("manual")
    }

    /// Cancels the run in progress after its current task.
    pub fn cancel_maintenance(&self) -> Result<i64> {
        self.inner.maintenance.cancel()
    }

    pub async fn maintenance_status(&self) -> Result<MaintenanceStatus> {
        let running = self.inner.maintenance.running_id();
        let next = self.next_maintenance_ms();
        self.inner
            .db
            .read_async(move |c| {
                Ok(MaintenanceStatus {
                    running: match running {
                        Some(id) => maintenance::report(c, id)?,
                        None => None,
                    },
                    last_run: maintenance::last_finished(c)?,
                    next_run_ms: next,
                    tasks: maintenance::task_list(),
                })
            })
            .await
    }

    pub async fn maintenance_history(&self, limit: u32) -> Result<Vec<RunReport>> {
        self.inner.db.read_async(move |c| maintenance::history(c, limit.min(200))).await
    }

    pub async fn search_logs(&self, q: LogQuery) -> Result<Vec<LogLine>> {
        self.inner.db.read_async(move |c| logs::search(c, &q)).await
    }

    /// The newest lines kept in memory, oldest first.
    pub fn tail_logs(&self, n: usize) -> Vec<LogLine> {
        self.inner.log_ring.lock().map(|r| r.tail(n)).unwrap_or_default()
    }

    /// Writes the lines a search finds (oldest first) to a text file in the data folder's
    /// `exports/` and returns its path.
    pub async fn export_logs(&self, q: LogQuery) -> Result<String> {
        let mut lines = self.search_logs(q).await?;
        lines.reverse();
        let dir = self.inner.data_dir.join("exports");
        std::fs::create_dir_all(&dir).map_err(|e| EngineError::io(format!("cannot create {}", dir.display()), e))?;
        let now = self.inner.clock.now_ms();
        let path = dir.join(format!("caretaker-log-{now}.txt"));
        let mut text = String::new();
        for l in &lines {
            let ts = chrono::DateTime::from_timestamp_millis(l.ts_ms).map(|t| t.to_rfc3339()).unwrap_or_default();
            let level = format!("{:?}", l.level).to_uppercase();
            text.push_str(&format!("{ts} {level:5} {} {}", l.target, l.message));
            if l.fields.as_object().is_some_and(|o| !o.is_empty()) {
                text.push_str(&format!(" {}", l.fields));
            }
            text.push('\n');
        }
        config::write_atomic(&path, text.as_bytes())?;
        Ok(path.display().to_string())
    }

    /// Every configured check with its latest result, uptime and recent latency.
    pub async fn checks(&self) -> Result<Vec<CheckSummary>> {
        let states = self.check_states();
        let now = self.inner.clock.now_ms();
        self.inner
            .db
            .read_async(move |c| {
                states
                    .into_iter()
                    .map(|s| {
                        let day = 86_400_000;
                        let recent = checks::store::history(c, &s.config.name, 30, None)?;
                        Ok(CheckSummary {
                            uptime_24h: checks::store::uptime(c, &s.config.name, now - day)?,
                            uptime_7d: checks::store::uptime(c, &s.config.name, now - 7 * day)?,
                            uptime_30d: checks::store::uptime(c, &s.config.name, now - 30 * day)?,
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

    pub async fn check_history(&self, q: CheckHistoryQuery) -> Result<Vec<CheckResult>> {
        self.inner.db.read_async(move |c| checks::store::history(c, &q.service_name, q.limit.min(10_000), q.status)).await
    }

    /// Adds a check, or replaces the one named `original`; validated with the whole config and
    /// written to caretaker.toml atomically (the rest of the file, comments included, is kept).
    pub async fn save_check(&self, original: Option<String>, check: CheckConfig) -> Result<()> {
        self.edit_checks(move |list| {
            match original.as_deref() {
                Some(name) => {
                    let slot = list
                        .iter_mut()
                        .find(|c| c.name == name)
                        .ok_or_else(|| EngineError::InvalidInput(format!("there is no check named {name:?}")))?;
                    *slot = check;
                }
                None => list.push(check),
            }
            Ok(())
        })
        .await
    }

    pub async fn delete_check(&self, name: String) -> Result<()> {
        self.edit_checks(move |list| {
            let before = list.len();
            list.retain(|c| c.name != name);
            if list.len() == before {
                return Err(EngineError::InvalidInput(format!("there is no check named {name:?}")));
            }
            Ok(())
        })
        .await
    }

    async fn edit_checks(&self, f: impl FnOnce(&mut Vec<CheckConfig>) -> Result<()>) -> Result<()> {
        let _guard = self.inner.config_edit.lock().await;
        let mut config = self.config();
        f(&mut config.checks.list)?;
        let issues = config.validate();
        if !issues.is_empty() {
            return Err(EngineError::Config(issues));
        }
        let path = self.inner.data_dir.join(paths::CONFIG_FILE);
        config::write_checks(&path, &config.checks.list)?;
        let names: Vec<String> = config.checks.list.iter().map(|c| c.name.clone()).collect();
        if let Ok(mut c) = self.inner.config.write() {
            *c = config;
        }
        if let Ok(mut l) = self.inner.checks_latest.write() {
            l.retain(|k, _| names.contains(k));
        }
        let now = self.inner.clock.now_ms();
        let closed = {
            let mut m = self.inner.alerts.lock().unwrap_or_else(|p| p.into_inner());
            self.inner.db.write(|c| m.forget_checks_except(c, &names, now))?
        };
        self.publish(Effects { changed: closed, notices: Vec::new() });
        self.restart_checks();
        let _ = self.inner.events.send(Event::ChecksChanged { checks: self.check_states() });
        Ok(())
    }

    /// (Re)starts one task per enabled check from the current config.
    fn restart_checks(&self) {
        let mut running = self.inner.checks_running.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((cancel, _)) = running.take() {
            cancel.cancel();
        }
        let config = self.config();
        let now = self.inner.clock.now_ms();
        {
            let mut m = self.inner.alerts.lock().unwrap_or_else(|p| p.into_inner());
            for c in config.checks.list.iter().filter(|c| c.enabled) {
                m.watch_check(&c.name, c.interval_secs, now);
            }
        }
        let cancel = self.inner.cancel.child_token();
        let handles = checks::spawn_checks(&config.checks.list, self.inner.prober.clone(), self.inner.clock.clone(), self.inner.check_results.clone(), cancel.clone());
        *running = Some((cancel, handles));
    }

    /// Every configured detector with what its last evaluation found.
    pub fn detectors(&self) -> Vec<DetectorState> {
        self.inner.detector_states.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// Evaluates every enabled detector now from the stored series, raises or resolves their
    /// alerts, and publishes the result. The alert tick calls this every few seconds.
    pub async fn evaluate_detectors(&self) -> Result<Vec<DetectorState>> {
        let _one = self.inner.detector_eval.lock().await;
        let list = self.config().detectors;
        let now = self.inner.clock.now_ms();
        let host = self.inner.hostname.clone();
        type Found = Option<std::result::Result<detectors::Verdict, String>>;
        let evaluated: Vec<(DetectorConfig, Found)> = self
            .inner
            .db
            .read_async(move |c| {
                Ok(list
                    .into_iter()
                    .map(|d| {
                        let found = d.enabled.then(|| d.rule()).flatten().map(|r| {
                            detectors::read_series(c, &d, now - r.lookback_ms(), now).map(|points| detectors::evaluate(r, &points, now)).map_err(|e| e.to_string())
                        });
                        (d, found)
                    })
                    .collect())
            })
            .await?;
        let (states, fx) = self
            .in_alerts(move |m, c, _| {
                let mut fx = Effects::default();
                let keep: Vec<String> = evaluated.iter().filter(|(d, _)| d.enabled).map(|(d, _)| d.name.clone()).collect();
                fx.changed.extend(m.forget_subjects_except(c, detectors::RULE, &keep, now)?);
                let mut states = Vec::with_capacity(evaluated.len());
                for (d, found) in evaluated {
                    let mut st = DetectorState::new(d.clone());
                    match found {
                        None => {}
                        // An unreadable series changes nothing: an open alert stays open.
                        Some(Err(e)) => st.error = Some(e),
                        Some(Ok(v)) => {
                            let step = if v.firing {
                                let (title, message, details) = detectors::alert_text(&d, &v, &host, now);
                                m.raise(c, detectors::RULE, d.name.clone(), "detector", d.severity, title, message, details, now)?
                            } else {
                                m.clear(c, detectors::RULE, d.name.clone(), now)?
                            };
                            fx.changed.extend(step.changed);
                            fx.notices.extend(step.notices);
                            st.firing = v.firing;
                            st.summary = v.summary;
                            st.evidence = v.evidence;
                            st.evaluated_at = Some(now);
                        }
                    }
                    st.alert_id = m.open_alert(detectors::RULE, &d.name).map(|a| a.id);
                    states.push(st);
                }
                Ok((states, fx))
            })
            .await?;
        self.publish(fx);
        let was_empty = match self.inner.detector_states.write() {
            Ok(mut s) => std::mem::replace(&mut *s, states.clone()).is_empty(),
            Err(_) => false,
        };
        // Nothing configured and nothing was: no event every tick.
        if !(was_empty && states.is_empty()) {
            let _ = self.inner.events.send(Event::Detectors { detectors: states.clone() });
        }
        Ok(states)
    }

    /// Adds a detector, or replaces the one named `original`; validated with the whole config
    /// and written to caretaker.toml atomically (the rest of the file, comments included, is kept).
    pub async fn save_detector(&self, original: Option<String>, detector: DetectorConfig) -> Result<Vec<DetectorState>> {
        self.edit_detectors(move |list| {
            match original.as_deref() {
                Some(name) => {
                    let slot = list
                        .iter_mut()
                        .find(|d| d.name == name)
                        .ok_or_else(|| EngineError::InvalidInput(format!("there is no detector named {name:?}")))?;
                    *slot = detector;
                }
                None => list.push(detector),
            }
            Ok(())
        })
        .await
    }

    pub async fn delete_detector(&self, name: String) -> Result<Vec<DetectorState>> {
        self.edit_detectors(move |list| {
            let before = list.len();
            list.retain(|d| d.name != name);
            if list.len() == before {
                return Err(EngineError::InvalidInput(format!("there is no detector named {name:?}")));
            }
            Ok(())
        })
        .await
    }

    async fn edit_detectors(&self, f: impl FnOnce(&mut Vec<DetectorConfig>) -> Result<()>) -> Result<Vec<DetectorState>> {
        {
            let _guard = self.inner.config_edit.lock().await;
            let mut config = self.config();
            f(&mut config.detectors)?;
            let issues = config.validate();
            if !issues.is_empty() {
                return Err(EngineError::Config(issues));
            }
            config::write_detectors(&self.inner.data_dir.join(paths::CONFIG_FILE), &config.detectors)?;
            if let Ok(mut c) = self.inner.config.write() {
                *c = config;
            }
        }
        self.evaluate_detectors().await
    }

    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// Time series for a chart, read from the coarsest table that gives enough points.
    pub async fn query_series(&self, query: SeriesQuery) -> Result<SeriesResult> {
        let m = self.config().metrics;
        let now = self.inner.clock.now_ms();
        self.inner.db.read_async(move |c| metrics::query_series(c, &query, now, m.interval_secs as i64 * 1000, (&m).into())).await
    }

    /// Stops every task at a safe point, records the stop, and releases the data dir.
    pub async fn shutdown(&self) {
        if let Ok(mut s) = self.inner.status.write() {
            if s.state != EngineState::Running {
                return;
            }
            s.state = EngineState::Stopping;
            let _ = self.inner.events.send(Event::EngineStatus { status: s.clone() });
        }
        self.inner.cancel.cancel();
        self.inner.maintenance.stop().await;
        let mut tasks: Vec<_> = std::mem::take(&mut *self.lock_tasks());
        if let Some((_, checks)) = self.inner.checks_running.lock().unwrap_or_else(|p| p.into_inner()).take() {
            tasks.extend(checks);
        }
        for t in tasks {
            if tokio::time::timeout(Duration::from_secs(10), t).await.is_err() {
                tracing::warn!("a task did not stop within 10 s");
            }
        }
        if let Ok(mut s) = self.inner.status.write() {
            s.state = EngineState::Stopped;
            let _ = self.inner.events.send(Event::EngineStatus { status: s.clone() });
        }
        tracing::info!("engine stopped");
        logs::detach(self.inner.log_sink);
        self.inner.lock.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

/// What a data dir says about its engine, read without starting one (works while one runs).
#[derive(Debug, Clone, serde::Serialize)]
pub struct StoredStatus {
    pub data_dir: String,
    /// True when an engine is running and has recorded a sample recently.
    pub running: bool,
    pub engine: Option<EngineStatus>,
    pub host: Option<HostSample>,
    /// The latest result of every service that has one.
    pub checks: Vec<CheckResult>,
    /// Open alerts, newest first.
    pub alerts: Vec<Alert>,
}

pub fn read_status(data_dir: &Path, now_ms: i64) -> Result<StoredStatus> {
    let db = data_dir.join(paths::DB_FILE);
    if !db.exists() {
        return Err(EngineError::InvalidInput(format!(
            "no Caretaker database in {} (has an engine ever run there?)",
            data_dir.display()
        )));
    }
    let conn = store::open_reader(&db)?;
    let engine: Option<EngineStatus> =
        store::kv_get(&conn, "engine.status")?.and_then(|(v, _)| serde_json::from_str(&v).ok());
    let host: Option<HostSample> = store::kv_get(&conn, "host.latest")?.and_then(|(v, _)| serde_json::from_str(&v).ok());
    let running = engine.as_ref().is_some_and(|e| {
        let fresh = e.last_sample_ms.unwrap_or(e.started_ms);
        e.state == EngineState::Running && now_ms - fresh <= (e.metrics_interval_secs as i64 * 3 + 10) * 1000
    });
    let checks = checks::store::latest_all(&conn)?;
    let alerts = alerts::list_alerts(&conn, &AlertQuery { include_resolved: false, limit: 100, subject: None })?;
    Ok(StoredStatus { data_dir: data_dir.display().to_string(), running, engine, host, checks, alerts })
}
