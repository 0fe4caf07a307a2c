//! Engine scenarios against a real SQLite file in a temp dir.
#![allow(clippy::int_plus_one)] // the assertions read as written when the test was made

mod common;

use caretaker_engine::metrics::{self, RetentionPolicy, SeriesCache, SeriesPoint};
use caretaker_engine::{Engine, EngineError, EngineOptions, EngineState, Event, Resolution, SeriesQuery};
use common::write_config;
use std::path::Path;
use std::time::Duration;

async fn next_sample(rx: &mut tokio::sync::broadcast::Receiver<Event>) -> caretaker_engine::HostSample {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Ok(Event::HostSample { sample, points })) => {
                assert!(!points.is_empty());
                return sample;
            }
            Ok(Ok(_)) => continue,
            other => panic!("no host sample within 10 s: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_creates_config_and_database_and_samples() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let engine = Engine::start(EngineOptions::new(&data)).await.unwrap();
    let text = std::fs::read_to_string(data.join("caretaker.toml")).unwrap();
    assert!(text.contains("# How often the host is sampled"), "commented defaults written");
    assert!(data.join("caretaker.db").exists());

    let mut rx = engine.subscribe();
    let s1 = next_sample(&mut rx).await;
    assert!(s1.memory.total_bytes > 0);
    let snap = engine.snapshot();
    assert_eq!(snap.engine.state, EngineState::Running);
    assert!(snap.host.is_some());
    assert!(snap.capabilities.iter().any(|c| c.id == "metrics" && c.available));

    let res = engine
        .query_series(SeriesQuery { metrics: vec!["cpu_usage_percent".into()], range_secs: 900, until_ms: None, max_points: None })
        .await
        .unwrap();
    assert_eq!(res.resolution, Resolution::Raw);
    assert_eq!(res.series.len(), 1);
    assert!(!res.series[0].values.is_empty());

    engine.shutdown().await;
    assert_eq!(engine.status().state, EngineState::Stopped);
    let stored = caretaker_engine::read_status(&data, i64::MAX / 2).unwrap();
    assert_eq!(stored.engine.unwrap().state, EngineState::Stopped);
    assert!(!stored.running);
}

/// Memory pressure travels in the host sample and is stored beside the other memory series where
/// the system reports it; a config file written before it existed loads with its defaults.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_pressure_is_sampled_and_stored_where_the_system_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "[alerts]\nmemory = { warning = 80, critical = 95 }\n");
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    assert_eq!(engine.config().alerts.memory_pressure.warning, 10.0);
    assert_eq!(engine.config().alerts.swap_growth.growth_mib, 1024);
    let mut rx = engine.subscribe();
    let sample = next_sample(&mut rx).await;
    let metrics = vec!["memory_pressure_some_percent".to_string(), "memory_pressure_full_percent".into(), "memory_pressure_level".into()];
    let res = engine.query_series(SeriesQuery { metrics, range_secs: 900, until_ms: None, max_points: None }).await.unwrap();
    let mut stored: Vec<String> = res.series.iter().map(|s| format!("{} {}", s.metric, s.labels)).collect();
    stored.sort();
    let psi = cfg!(target_os = "linux") && std::fs::read_to_string("/proc/pressure/memory").is_ok();
    if psi {
        assert!(matches!(sample.memory.pressure, Some(metrics::MemoryPressure::Psi { .. })), "{:?}", sample.memory.pressure);
        assert_eq!(
            stored,
            [
                "memory_pressure_full_percent window=10s",
                "memory_pressure_full_percent window=300s",
                "memory_pressure_full_percent window=60s",
                "memory_pressure_some_percent window=10s",
                "memory_pressure_some_percent window=300s",
                "memory_pressure_some_percent window=60s"
            ]
        );
    } else if cfg!(target_os = "macos") {
        assert!(matches!(sample.memory.pressure, Some(metrics::MemoryPressure::Macos { .. })), "{:?}", sample.memory.pressure);
        assert_eq!(stored, ["memory_pressure_level "]);
    } else {
        assert_eq!((sample.memory.pressure, stored.len()), (None, 0), "no pressure reading, no series");
    }
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_engine_on_the_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    let err = Engine::start(EngineOptions::new(dir.path())).await.err().expect("second start must fail");
    assert!(matches!(err, EngineError::AlreadyRunning { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&format!("pid {}", std::process::id())), "{msg}");
    engine.shutdown().await;
    // Once released, the folder can be taken again.
    let again = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    again.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_config_keeps_monitoring_with_the_last_good_settings_and_an_alert_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "[metrics]\ninterval_secs = 7\n");
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    engine.shutdown().await;

    write_config(dir.path(), "[metrics]\ninterval_secs = 0\n");
    let engine = Engine::start(EngineOptions::new(dir.path())).await.expect("a bad file never stops Caretaker");
    assert_eq!(engine.config().metrics.interval_secs, 7, "the last good settings");
    let open = engine.open_alerts();
    let alert = open.iter().find(|a| a.rule == "config").expect("an alert says the file has mistakes");
    assert_eq!(alert.severity, caretaker_engine::Severity::Warning);
    assert!(alert.message.contains("metrics.interval_secs: must be between 1 and 3600 (got 0)"), "{}", alert.message);
    assert!(alert.message.contains(&dir.path().join("caretaker.toml").display().to_string()), "{}", alert.message);
    engine.shutdown().await;
    // Nothing else was touched: the person's file is as they wrote it.
    assert_eq!(std::fs::read_to_string(dir.path().join("caretaker.toml")).unwrap(), "[metrics]\ninterval_secs = 0\n");

    write_config(dir.path(), "[metrics]\ninterval_secs = 9\n");
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    assert_eq!(engine.config().metrics.interval_secs, 9);
    assert!(engine.open_alerts().iter().all(|a| a.rule != "config"), "fixed file, alert resolved");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_existing_data() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "[metrics]\ninterval_secs = 1\n");
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    let mut rx = engine.subscribe();
    next_sample(&mut rx).await;
    next_sample(&mut rx).await;
    engine.shutdown().await;
    let count = |p: &Path| -> i64 {
        let c = rusqlite::Connection::open(p.join("caretaker.db")).unwrap();
        c.query_row("SELECT COUNT(DISTINCT ts) FROM samples", [], |r| r.get(0)).unwrap()
    };
    let before = count(dir.path());
    assert!(before >= 2, "{before}");

    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    let mut rx = engine.subscribe();
    next_sample(&mut rx).await;
    let res = engine
        .query_series(SeriesQuery { metrics: vec!["memory_used_bytes".into()], range_secs: 900, until_ms: None, max_points: Some(10_000) })
        .await
        .unwrap();
    assert!(res.series[0].ts.len() as i64 >= before + 1, "old and new samples both visible");
    engine.shutdown().await;
}

fn point(metric: &str, labels: &str, value: f64) -> SeriesPoint {
    SeriesPoint { metric: metric.into(), labels: labels.into(), unit: "percent".into(), value }
}

const MIN: i64 = 60_000;
const HOUR: i64 = 3_600_000;

/// A synthetic database: two series sampled every 5 s for `hours`, ending at `end`.
fn synthetic(path: &Path, end: i64, hours: i64) -> rusqlite::Connection {
    let conn = caretaker_engine::store::open_and_migrate(path).unwrap();
    let mut cache = SeriesCache::default();
    let tx = conn.unchecked_transaction().unwrap();
    let start = end - hours * HOUR;
    let mut ts = start;
    let mut i = 0u64;
    while ts < end {
        let v = (i % 17) as f64 * 3.5;
        metrics::write_points(
            &tx,
            &mut cache,
            ts,
            &[point("cpu_usage_percent", "", v), point("disk_used_percent", "mount=/", 50.0 + (i % 5) as f64)],
        )
        .unwrap();
        ts += 5_000;
        i += 1;
    }
    tx.commit().unwrap();
    conn
}

/// Buckets of `table` that differ from the same aggregate computed straight from raw samples.
fn rollup_mismatches(conn: &rusqlite::Connection, table: &str, width_ms: i64) -> i64 {
    conn.query_row(
        &format!(
            "SELECT COUNT(*) FROM {table} m JOIN (
                 SELECT series_id, (ts / {width_ms}) * {width_ms} AS b, MIN(value) AS mn, MAX(value) AS mx, SUM(value) AS s, COUNT(*) AS c
                 FROM samples GROUP BY series_id, b) r
             ON r.series_id = m.series_id AND r.b = m.ts
             WHERE r.mn != m.min OR r.mx != m.max OR abs(r.s - m.sum) > 1e-9 OR r.c != m.count"
        ),
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn rollups_match_the_raw_data() {
    let dir = tempfile::tempdir().unwrap();
    let end = 1_700_000_000_000i64 / HOUR * HOUR;
    let conn = synthetic(&dir.path().join("t.db"), end, 3);
    metrics::rollup(&conn, end).unwrap();
    // Re-running is harmless.
    metrics::rollup(&conn, end).unwrap();

    // Every minute bucket equals an aggregate computed straight from raw rows.
    assert_eq!(rollup_mismatches(&conn, "rollup_minute", 60_000), 0);
    let minutes: i64 = conn.query_row("SELECT COUNT(*) FROM rollup_minute", [], |r| r.get(0)).unwrap();
    assert_eq!(minutes, 2 * 3 * 60);
    // Five-minute buckets, folded from minutes, still equal the raw aggregate.
    assert_eq!(rollup_mismatches(&conn, "rollup_5min", 300_000), 0);
    let fives: i64 = conn.query_row("SELECT COUNT(*) FROM rollup_5min", [], |r| r.get(0)).unwrap();
    assert_eq!(fives, 2 * 3 * 12);
    // Hours: three complete hours per series, each the mean of its raw samples.
    let hours: Vec<(i64, f64, i64)> = conn
        .prepare("SELECT ts, sum / count, count FROM rollup_hour WHERE series_id = (SELECT id FROM series WHERE metric = 'cpu_usage_percent') ORDER BY ts")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(hours.len(), 3);
    for (ts, mean, count) in hours {
        assert_eq!(count, 720);
        let raw: f64 = conn
            .query_row("SELECT AVG(value) FROM samples WHERE series_id = 1 AND ts >= ?1 AND ts < ?2", [ts, ts + HOUR], |r| r.get(0))
            .unwrap();
        assert!((raw - mean).abs() < 1e-9, "hour {ts}: rollup {mean} vs raw {raw}");
    }

    // A chart over 24 h reads five-minute rollups; its buckets agree with raw averages.
    let policy = RetentionPolicy { raw_ms: 48 * HOUR, minute_ms: 30 * 24 * HOUR, hour_ms: 730 * 24 * HOUR };
    let q = SeriesQuery { metrics: vec!["cpu_usage_percent".into()], range_secs: 86_400, until_ms: Some(end), max_points: None };
    let res = metrics::query_series(&conn, &q, end, 5_000, policy).unwrap();
    assert_eq!(res.resolution, Resolution::FiveMinutes);
    assert_eq!(res.step_ms, 5 * MIN);
    assert_eq!(res.series[0].ts.len(), 3 * 12);
    let (t0, v0) = (res.series[0].ts[0], res.series[0].values[0]);
    let raw: f64 = conn
        .query_row("SELECT AVG(value) FROM samples WHERE series_id = 1 AND ts >= ?1 AND ts < ?2", [t0, t0 + 5 * MIN], |r| r.get(0))
        .unwrap();
    assert!((raw - v0).abs() < 1e-9);
}

#[test]
fn retention_prunes_each_table_and_never_drops_unrolled_rows() {
    let dir = tempfile::tempdir().unwrap();
    let end = 1_700_000_000_000i64 / HOUR * HOUR;
    let conn = synthetic(&dir.path().join("t.db"), end, 6);
    let policy = RetentionPolicy { raw_ms: 2 * HOUR, minute_ms: 4 * HOUR, hour_ms: 5 * HOUR };
    let count = |t: &str| -> i64 { conn.query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get(0)).unwrap() };

    // Before any rollup, raw rows are kept even past retention: they are the only copy.
    assert_eq!(metrics::prune(&conn, end, policy).unwrap().raw, 0);

    metrics::rollup(&conn, end).unwrap();
    let p = metrics::prune(&conn, end, policy).unwrap();
    assert_eq!(p.raw as i64, 2 * 4 * 720, "4 of 6 hours of raw rows go, for 2 series");
    assert_eq!(p.minute as i64, 2 * 2 * 60);
    assert_eq!(p.five_minute as i64, 2 * 2 * 12);
    assert_eq!(p.hour as i64, 2);
    let oldest_raw: i64 = conn.query_row("SELECT MIN(ts) FROM samples", [], |r| r.get(0)).unwrap();
    assert_eq!(oldest_raw, end - 2 * HOUR);
    assert_eq!(count("rollup_minute"), 2 * 4 * 60);
    assert_eq!(count("rollup_5min"), 2 * 4 * 12);
    assert_eq!(count("rollup_hour"), 2 * 5);
}

/// The data folder holds the config (tokens, credentials in URLs): a folder Caretaker creates is
/// its owner's alone, and a folder the person made keeps the mode they gave it.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_data_folder_is_private_and_an_existing_one_is_left_alone() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("new").join("data");
    let engine = Engine::start(EngineOptions::new(&data)).await.unwrap();
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("caretaker.toml")), 0o600);
    engine.shutdown().await;

    let own = dir.path().join("own");
    std::fs::create_dir(&own).unwrap();
    std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o750)).unwrap();
    let engine = Engine::start(EngineOptions::new(&own)).await.unwrap();
    assert_eq!(mode(&own), 0o750);
    engine.shutdown().await;
}
