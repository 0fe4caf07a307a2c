//! The metrics service: owns the sampler and the latest sample; one tick = sample, write (one
//! transaction, with the engine's status row), publish, feed the alert rules. Rollups run when a
//! minute completes; retention every ten minutes. Also answers chart queries.

use super::store::{self, RetentionPolicy, SeriesCache, MINUTE_MS};
use super::{HostSample, Sampler, SeriesPoint};
use crate::clock::{Clock, JumpWatch};
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
    pub watch: Arc<JumpWatch>,
    pub policy: RetentionPolicy,
    pub last_rollup_minute: i64,
    /// Elapsed-clock time of the last prune, so setting the wall clock back does not stop it.
    pub last_prune_elapsed: Option<i64>,
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
        let elapsed = self.clock.elapsed_ms();
        // Looked at every tick, so a jump is seen on the tick it happens.
        let settled = self.watch.settled(self.clock.as_ref());
        let sample = self.sampler.sample(now);
        let points = sample.series_points();
        let latest = serde_json::to_string(&sample).map_err(|e| crate::EngineError::Internal(e.to_string()))?;
        let mut status = status.clone();
        status.last_sample_ms = Some(now);
        let minute = now.div_euclid(MINUTE_MS);
        let roll = minute != self.last_rollup_minute;
        let prune = self.last_prune_elapsed.is_none_or(|t| elapsed - t >= PRUNE_EVERY_MS);
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
            if !prune {
                return Ok(());
            }
            let Some(at) = settled else {
                tracing::warn!("metric rows past retention kept for now: the wall clock jumped recently");
                return Ok(());
            };
            let p = store::prune(conn, at, policy)?;
            if p.total() > 0 {
                tracing::info!(
                    raw = p.raw,
                    minute = p.minute,
                    five_minute = p.five_minute,
                    hour = p.hour,
                    "pruned metric rows past retention"
                );
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
            self.last_prune_elapsed = Some(elapsed);
        }
        Ok(TickOutput { sample, points, written })
    }
}

pub(crate) struct Service {
    core: Arc<Core>,
    latest: RwLock<Option<HostSample>>,
    /// Each disk's trend, refreshed by the forecast loop (`schedule`).
    pub(super) forecasts: RwLock<Vec<super::forecast::DiskForecast>>,
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
            watch: core.clock_watch.clone(),
            policy: (&m).into(),
            last_rollup_minute: i64::MIN,
            last_prune_elapsed: None,
        };
        Ok((Arc::new(Service { core, latest: RwLock::new(None), forecasts: RwLock::new(Vec::new()) }), worker))
    }

    pub(super) fn core(&self) -> &Arc<Core> {
        &self.core
    }

    pub fn latest(&self) -> Option<HostSample> {
        self.latest.read().ok().and_then(|l| l.clone())
    }

    /// How large the database would grow with `m` (the Sampling settings being edited).
    pub async fn storage_estimate(&self, m: super::config::MetricsConfig) -> Result<super::StorageEstimate> {
        let now = self.core.now();
        self.core.db.read_async(move |c| super::estimate::estimate(c, &m, now)).await
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
        let mut period = Duration::from_secs(core.config().metrics.interval_secs);
        let mut changes = core.config_changes();
        // The first tick comes soon (CPU usage needs a short gap after the first reading), then on period.
        let first = tokio::time::Instant::now() + period.min(Duration::from_secs(1));
        let mut ticker = tokio::time::interval_at(first, period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = core.cancel.cancelled() => break,
                _ = ticker.tick() => {}
                r = changes.changed() => {
                    if r.is_err() {
                        break;
                    }
                    // A new interval or retention applies from the next sample.
                    let m = core.config().metrics;
                    worker.policy = (&m).into();
                    if Duration::from_secs(m.interval_secs) != period {
                        period = Duration::from_secs(m.interval_secs);
                        ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
                        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    }
                    continue;
                }
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
                    let space = crate::alerts::data_space(&core.data_dir);
                    let dir = core.data_dir.display().to_string();
                    core.with_alerts(move |m, c, now| {
                        m.note_write(written);
                        let mut fx = m.on_host_sample(c, &sample, now)?;
                        fx.merge(m.settle_data_disk(c, space, &dir, now));
                        Ok(fx)
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

/// The worker across wall-clock jumps, with a real sampler and a real database file.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::TestClock;
    use crate::metrics::store::HOUR_MS;
    use crate::store::Db;

    const DAY: i64 = 24 * HOUR_MS;
    const TICK: i64 = 10 * MINUTE_MS;
    const T0: i64 = 1_780_000_000_000; // 2026-05-28

    fn worker(dir: &std::path::Path, clock: &Arc<TestClock>) -> MetricsWorker {
        MetricsWorker {
            sampler: Sampler::new(2).expect("sampler"),
            db: Db::open(&dir.join("caretaker.db")).expect("db"),
            cache: Default::default(),
            clock: clock.clone(),
            watch: Arc::new(JumpWatch::default()),
            policy: RetentionPolicy { raw_ms: 48 * HOUR_MS, minute_ms: 30 * DAY, hour_ms: 730 * DAY },
            last_rollup_minute: i64::MIN,
            last_prune_elapsed: None,
        }
    }

    fn ticks(w: &mut MetricsWorker, clock: &TestClock, n: usize) {
        let status = EngineStatus {
            version: "test".into(),
            pid: 1,
            data_dir: String::new(),
            state: EngineState::Running,
            started_ms: T0,
            metrics_interval_secs: 600,
            last_sample_ms: None,
            last_error: None,
        };
        for _ in 0..n {
            clock.advance(TICK);
            w.tick(&status).expect("tick");
        }
    }

    /// Rows of `table` with `from <= ts < to`.
    fn rows(w: &MetricsWorker, table: &str, from: i64, to: i64) -> i64 {
        count(w, &format!("SELECT COUNT(*) FROM {table} WHERE ts >= ?1 AND ts < ?2"), from, to)
    }

    /// Distinct times (buckets) of `table` with `from <= ts < to`.
    fn buckets(w: &MetricsWorker, table: &str, from: i64, to: i64) -> i64 {
        count(w, &format!("SELECT COUNT(DISTINCT ts) FROM {table} WHERE ts >= ?1 AND ts < ?2"), from, to)
    }

    fn count(w: &MetricsWorker, sql: &str, from: i64, to: i64) -> i64 {
        w.db.read(|c| Ok(c.query_row(sql, [from, to], |r| r.get(0))?)).expect("count")
    }

    #[test]
    fn a_clock_run_years_ahead_and_set_back_neither_wipes_history_nor_stops_rollups() {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = Arc::new(TestClock::new(T0));
        let mut w = worker(dir.path(), &clock);
        ticks(&mut w, &clock, (3 * DAY / TICK) as usize);
        let jumped_at = clock.now_ms();
        let before: Vec<i64> = ["samples", "rollup_minute", "rollup_hour"].iter().map(|t| rows(&w, t, 0, jumped_at)).collect();
        assert!(before.iter().all(|n| *n > 0), "history to lose: {before:?}");

        // An NTP or RTC glitch three years ahead, for two ticks; then the clock is put right.
        let ahead = 3 * 365 * DAY;
        clock.jump(ahead);
        ticks(&mut w, &clock, 2);
        clock.jump(-ahead);
        let back_at = clock.now_ms();
        ticks(&mut w, &clock, (2 * DAY / TICK) as usize);

        // The glitch deleted nothing; raw samples (kept 48 h) have aged out normally since.
        let after: Vec<i64> = ["samples", "rollup_minute", "rollup_hour"].iter().map(|t| rows(&w, t, 0, jumped_at)).collect();
        assert!(after[1] >= before[1] && after[2] >= before[2], "minute and hour history kept: {before:?} before, {after:?} after");
        // What was sampled after the clock came back is folded.
        let now = clock.now_ms();
        assert!(buckets(&w, "rollup_minute", back_at, now) >= 2 * DAY / TICK - 2, "minute rollups of the last two days");
        assert!(buckets(&w, "rollup_hour", back_at, now) >= 2 * DAY / HOUR_MS - 2, "hour rollups of the last two days");
    }

    #[test]
    fn a_clock_set_back_keeps_pruning_on_schedule() {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = Arc::new(TestClock::new(T0 + 400 * DAY));
        let mut w = worker(dir.path(), &clock);
        ticks(&mut w, &clock, 1);
        clock.jump(-365 * DAY);
        // Past the hold after the jump, then three days of samples: raw rows older than 48 h go.
        ticks(&mut w, &clock, (3 * DAY / TICK) as usize);
        let now = clock.now_ms();
        assert_eq!(rows(&w, "samples", 0, now - 49 * HOUR_MS), 0, "raw samples past retention pruned");
    }
}
