//! Caretaker's engine. Knows nothing of windows: the desktop shell, the `caretaker` CLI and the
//! tests all drive it through [`Engine::start`], [`EngineHandle`] and [`Event`].

pub mod bindings;
pub mod clock;
pub mod config;
mod error;
pub mod events;
mod lock;
pub mod logging;
pub mod metrics;
pub mod paths;
pub mod store;

pub use clock::{Clock, SystemClock};
pub use config::Config;
pub use error::{EngineError, ErrorKind, ErrorPayload, Result};
pub use events::{Capability, EngineState, EngineStatus, Event, Snapshot};
pub use metrics::store::{Resolution, SeriesData, SeriesQuery, SeriesResult};
pub use metrics::HostSample;

use metrics::task::{self, MetricsWorker};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How an engine is started.
pub struct EngineOptions {
    pub data_dir: PathBuf,
    pub clock: Arc<dyn Clock>,
}

impl EngineOptions {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        EngineOptions { data_dir: data_dir.into(), clock: Arc::new(SystemClock) }
    }
}

pub struct Engine;

struct Inner {
    data_dir: PathBuf,
    config: Config,
    clock: Arc<dyn Clock>,
    events: broadcast::Sender<Event>,
    status: RwLock<EngineStatus>,
    latest: RwLock<Option<HostSample>>,
    reader: Mutex<rusqlite::Connection>,
    cancel: CancellationToken,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    lock: Mutex<Option<lock::DataDirLock>>,
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
        let conn = store::open_and_migrate(&db_path)?;
        let reader = store::open_reader(&db_path)?;
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
        task::write_status(&conn, &status, now)?;
        let (events, _) = broadcast::channel(256);
        let inner = Arc::new(Inner {
            data_dir: data_dir.clone(),
            clock: options.clock.clone(),
            events,
            status: RwLock::new(status),
            latest: RwLock::new(None),
            reader: Mutex::new(reader),
            cancel: CancellationToken::new(),
            tasks: Mutex::new(Vec::new()),
            lock: Mutex::new(Some(lock)),
            config,
        });
        let worker = MetricsWorker {
            sampler,
            conn,
            cache: Default::default(),
            clock: options.clock,
            policy: (&inner.config.metrics).into(),
            last_rollup_minute: i64::MIN,
            last_prune_ms: i64::MIN / 2,
        };
        let handle = EngineHandle { inner };
        let t = tokio::spawn(run_metrics(handle.clone(), worker));
        handle.lock_tasks().push(t);
        tracing::info!(data_dir = %data_dir.display(), interval_secs = handle.inner.config.metrics.interval_secs, "engine started");
        Ok(handle)
    }
}

async fn run_metrics(handle: EngineHandle, mut worker: MetricsWorker) {
    let inner = &handle.inner;
    let period = Duration::from_secs(inner.config.metrics.interval_secs);
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
                let _ = inner.events.send(task::event_for(&out));
                if let Ok(mut l) = inner.latest.write() {
                    *l = Some(out.sample);
                }
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
    if let Err(e) = task::write_status(&worker.conn, &status, now) {
        tracing::warn!("could not record engine stop: {e}");
    }
    // Hand the WAL back to the main file so a copy of the folder is complete without -wal.
    let _ = worker.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
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
        Snapshot {
            engine: self.status(),
            host: self.inner.latest.read().ok().and_then(|l| l.clone()),
            capabilities: events::capabilities(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// Time series for a chart, read from the coarsest table that gives enough points.
    pub async fn query_series(&self, query: SeriesQuery) -> Result<SeriesResult> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner.reader.lock().unwrap_or_else(|p| p.into_inner());
            let m = &inner.config.metrics;
            metrics::query_series(&conn, &query, inner.clock.now_ms(), m.interval_secs as i64 * 1000, m.into())
        })
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))?
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
        let tasks: Vec<_> = std::mem::take(&mut *self.lock_tasks());
        for t in tasks {
            if tokio::time::timeout(Duration::from_secs(10), t).await.is_err() {
                tracing::warn!("a task did not stop within 10 s");
            }
        }
        if let Ok(mut s) = self.inner.status.write() {
            s.state = EngineState::Stopped;
            let _ = self.inner.events.send(Event::EngineStatus { status: s.clone() });
        }
        self.inner.lock.lock().unwrap_or_else(|p| p.into_inner()).take();
        tracing::info!("engine stopped");
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
    Ok(StoredStatus { data_dir: data_dir.display().to_string(), running, engine, host })
}
