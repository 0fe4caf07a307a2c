//! The metrics task: one tick = sample, write (one transaction), publish. Rollups run when a
//! minute completes; retention every ten minutes.

use super::store::{self, RetentionPolicy, SeriesCache, MINUTE_MS};
use super::{HostSample, Sampler, SeriesPoint};
use crate::clock::Clock;
use crate::error::Result;
use crate::events::{EngineStatus, Event};
use rusqlite::Connection;
use std::sync::Arc;

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
        self.db.write(|conn| {
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
                    tracing::info!(raw = p.raw, minute = p.minute, five_minute = p.five_minute, hour = p.hour, "pruned metric rows past retention");
                }
            }
            Ok(())
        })?;
        if roll {
            self.last_rollup_minute = minute;
        }
        if prune {
            self.last_prune_ms = now;
        }
        Ok(TickOutput { sample, points })
    }
}

pub(crate) fn write_status(conn: &Connection, status: &EngineStatus, now: i64) -> Result<()> {
    let json = serde_json::to_string(status).map_err(|e| crate::EngineError::Internal(e.to_string()))?;
    crate::store::kv_put(conn, "engine.status", &json, now)
}

pub(crate) fn event_for(out: &TickOutput) -> Event {
    Event::HostSample { sample: out.sample.clone(), points: out.points.clone() }
}
