//! The metrics worker across wall-clock jumps, with a real sampler and a real database file.

use super::service::MetricsWorker;
use super::store::{RetentionPolicy, HOUR_MS, MINUTE_MS};
use super::Sampler;
use crate::clock::{Clock, JumpWatch, TestClock};
use crate::events::{EngineState, EngineStatus};
use crate::store::Db;
use std::sync::Arc;

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
