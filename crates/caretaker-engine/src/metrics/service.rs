//! The metrics service: owns the sampler and the latest sample; one tick = sample, write (one
//! transaction, with the engine's status row), publish, feed the alert rules. Rollups run when a
//! minute completes; retention every ten minutes. Also answers chart queries.

use super::store::{self, RetentionPolicy, SeriesCache, MINUTE_MS};
use super::{HostSample, Sampler, SeriesPoint};
use crate::clock::Clock;
use crate::core::Core;
use crate::error::{EngineError, Result};
use crate::events::write_status;
use crate::events::{EngineState, EngineStatus, Event};
use std::sync::{Arc, RwLock};
use std::time::Duration;

const PRUNE_EVERY_MS: i64 = 10 * MINUTE_MS;

pub(crate) struct MetricsWorker {
    pub sampler: Sampler,
    pub db: Arc<crate::store::Db>,
    pub cache: SeriesCache,
    pub clock: Arc<dyn Clock>,
    pub policy: RetentionPolicy,
    pub last_rollup_minute: i64,
    pub last_prune_ms: i64,
}

pub(crate) struct TickOutput {
    pub sample: HostSample,
    pub points: Vec<SeriesPoint>,
    /// Whether the sample reached the database; the sample is used either way, so a full disk
    /// still raises disk and CPU alerts.
    pub written: Result<()>,
}

impl MetricsWorker {
    /// Runs on a blocking thread: sysinfo reads /proc (or host APIs) and SQLite writes to disk.
    pub fn tick(&mut self, status: &EngineStatus) -> Result<TickOutput> {
        let now = self.clock.now_ms();
        let sample = self.sampler.sample(now);
        let points = sample.series_points();
        let latest = serde_json::to_string(&sample).map_err(|e| crate::EngineError::Internal(e.to_string()))?;
        let mut status = status.clone();
        status.last_sample_ms = Some(now);
        let minute = now.div_euclid(MINUTE_MS);
        let roll = minute != self.last_rollup_minute;
        let prune = now - self.last_prune_ms >= PRUNE_EVERY_MS;
        let (cache, policy) = (&mut self.cache, self.policy);
        let written = self.db.write(|conn| {
            let tx = conn.unchecked_transaction()?;
            store::write_points(&tx, cache, now, &points)?;
            crate::store::kv_put(&tx, "host.latest", &latest, now)?;
            write_status(&tx, &status, now)?;
            tx.commit()?;
            if roll {
                store::rollup(conn, now)?;
            }
            if prune {
                let p = store::prune(conn, now, policy)?;
                if p.total() > 0 {
                    tracing::info!(
                        raw = p.raw,
                        minute = p.minute,
                        five_minute = p.five_minute,
                        hour = p.hour,
                        "pruned metric rows past retention"
                    );
                }
            }
            Ok(())
        });
        if written.is_err() {
            return Ok(TickOutput { sample, points, written });
        }
        if roll {
            self.last_rollup_minute = minute;
        }
        if prune {
            self.last_prune_ms = now;
        }
        Ok(TickOutput { sample, points, written })
    }
}

pub(crate) struct Service {
    core: Arc<Core>,
    latest: RwLock<Option<HostSample>>,
}

impl Service {
    /// Builds the sampler (its first reading takes a moment, so on a blocking thread).
    pub async fn new(core: Arc<Core>) -> Result<(Arc<Self>, MetricsWorker)> {
        let m = core.config().metrics;
        let top_n = m.top_processes as usize;
        let sampler = tokio::task::spawn_blocking(move || Sampler::new(top_n))
            .await
            .map_err(|e| EngineError::Internal(e.to_string()))?
            .map_err(EngineError::Internal)?;
        let worker = MetricsWorker {
            sampler,
            db: core.db.clone(),
            cache: Default::default(),
            clock: core.clock.clone(),
            policy: (&m).into(),
            last_rollup_minute: i64::MIN,
            last_prune_ms: i64::MIN / 2,
        };
        Ok((Arc::new(Service { core, latest: RwLock::new(None) }), worker))
    }

    pub fn latest(&self) -> Option<HostSample> {
        self.latest.read().ok().and_then(|l| l.clone())
    }

    /// Time series for a chart, read from the coarsest table that gives enough points.
    pub async fn query_series(&self, query: store::SeriesQuery) -> Result<store::SeriesResult> {
        let m = self.core.config().metrics;
        let now = self.core.now();
        self.core.db.read_async(move |c| store::query_series(c, &query, now, m.interval_secs as i64 * 1000, (&m).into())).await
    }

    /// Samples on the configured period until the engine stops, then records the stop.
    pub async fn run(self: Arc<Self>, mut worker: MetricsWorker) {
        let core = &self.core;
        let period = Duration::from_secs(core.config().metrics.interval_secs);
        // The first tick comes soon (CPU usage needs a short gap after the first reading), then on period.
        let first = tokio::time::Instant::now() + period.min(Duration::from_secs(1));
        let mut ticker = tokio::time::interval_at(first, period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = core.cancel.cancelled() => break,
                _ = ticker.tick() => {}
            }
            let status = core.status();
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
                    core.set_error(Some(format!("metrics stopped: {e}")));
                    return;
                }
            };
            match out {
                Ok(out) => {
                    let written = match &out.written {
                        Ok(()) => {
                            core.update_status(|s| {
                                s.last_sample_ms = Some(out.sample.ts_ms);
                                s.last_error.take().is_some()
                            });
                            Ok(())
                        }
                        Err(e) => {
                            tracing::warn!("could not record metrics: {e}");
                            core.set_error(Some(format!("could not record metrics: {e}")));
                            Err(e.to_string())
                        }
                    };
                    // State first, then the event: whoever reacts to the event and reads the
                    // snapshot must see this sample.
                    let sample = out.sample.clone();
                    if let Ok(mut l) = self.latest.write() {
                        *l = Some(out.sample.clone());
                    }
                    core.emit(Event::HostSample { sample: out.sample, points: out.points });
                    core.with_alerts(move |m, c, now| {
                        m.note_write(written);
                        m.on_host_sample(c, &sample, now)
                    })
                    .await;
                }
                Err(e) => {
                    tracing::warn!("metrics tick failed: {e}");
                    core.set_error(Some(format!("could not record metrics: {e}")));
                }
            }
        }
        let mut status = core.status();
        status.state = EngineState::Stopped;
        let now = core.now();
        let stopped = core.db.write(|c| {
            write_status(c, &status, now)?;
            // Hand the WAL back to the main file so a copy of the folder is complete without -wal.
            c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
            Ok(())
        });
        if let Err(e) = stopped {
            tracing::warn!("could not record engine stop: {e}");
        }
    }
}
