//! The engine notices its own absence: after a stop of known length (on the test clock) it says
//! once how long it was away and why, alerts past the configured length, and raises a critical
//! alert when it is started three times in ten minutes without a clean stop.

mod common;

use caretaker_engine::{Alert, AlertQuery, Engine, EngineHandle, EngineOptions, LogQuery, Severity};
use chrono::TimeZone;
use common::{until, write_config, Recorder, TestClock};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const MIN: i64 = 60_000;

fn options(dir: &Path, clock: &Arc<TestClock>, rec: &Arc<Recorder>, boot: fn() -> Option<i64>) -> EngineOptions {
    let mut o = EngineOptions::new(dir);
    o.clock = clock.clone();
    o.notifier = rec.clone();
    o.notification_window = Duration::from_millis(50);
    o.boot_time = boot;
    o
}

/// Local 03:12 a few days ago: in the past, so the engine's log retention (which compares the
/// engine's clock with the wall-clock time of each log line) keeps what the test looks for.
fn local_0312() -> i64 {
    let today = chrono::Local::now().date_naive();
    (2..6)
        .find_map(|d| {
            let t = (today - chrono::Days::new(d)).and_hms_opt(3, 12, 0)?;
            chrono::Local.from_local_datetime(&t).earliest()
        })
        .expect("a local 03:12 in the last days")
        .timestamp_millis()
}

async fn presence_alerts(engine: &EngineHandle) -> Vec<Alert> {
    let all = engine.alerts(AlertQuery { include_resolved: true, limit: 100, subject: None }).await.expect("list alerts");
    all.into_iter().filter(|a| a.rule == "presence").collect()
}

async fn logged(engine: &EngineHandle, message: &str) -> usize {
    let q = LogQuery { text: Some("Caretaker was not running".into()), limit: 500, ..Default::default() };
    until(&format!("log line {message:?}"), 20, async || {
        let lines = engine.search_logs(q.clone()).await.ok()?;
        let n = lines.iter().filter(|l| l.message == message).count();
        (n > 0).then_some(n)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_of_known_length_is_said_once_and_alerted_only_above_the_threshold() {
    let _log = caretaker_engine::logging::init(None);
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "[metrics]\ninterval_secs = 60\n[alerts]\nabsence_alert_minutes = 30\n");
    let (clock, rec) = (Arc::new(TestClock::at(local_0312() - 5 * MIN)), Arc::new(Recorder::default()));
    let t0 = local_0312();

    let first = Engine::start(options(dir.path(), &clock, &rec, || None)).await.unwrap();
    clock.set(t0);
    first.shutdown().await;

    // 28 minutes away, and the machine booted in between: said, not alerted.
    clock.set(t0 + 28 * MIN);
    let second = Engine::start(options(dir.path(), &clock, &rec, || Some(local_0312() + 2 * MIN))).await.unwrap();
    let said = "Caretaker was not running from 03:12 to 03:40 (the machine restarted)";
    assert_eq!(logged(&second, said).await, 1, "said exactly once");
    assert!(presence_alerts(&second).await.is_empty(), "28 min is below the 30 min threshold");
    clock.set(t0 + 30 * MIN);
    second.shutdown().await;

    // 45 minutes away with no reboot: said, and a warning alert that is notified.
    clock.set(t0 + 75 * MIN);
    let third = Engine::start(options(dir.path(), &clock, &rec, || Some(local_0312() - 60 * MIN))).await.unwrap();
    let said = "Caretaker was not running from 03:42 to 04:27 (Caretaker was stopped)";
    assert_eq!(logged(&third, said).await, 1);
    let alerts = presence_alerts(&third).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!((alerts[0].severity, alerts[0].alert_type.as_str()), (Severity::Warning, "absence"));
    assert!(alerts[0].message.starts_with(said), "{}", alerts[0].message);
    assert!(alerts[0].title.contains("not running for 45 min"), "{}", alerts[0].title);
    until("the absence notification", 20, async || rec.texts().into_iter().find(|t| t.contains("not running for 45 min"))).await;
    third.shutdown().await;
}

/// Starts an engine on its own runtime and drops the runtime without a shutdown: to the data
/// folder this is a crash (no clean stop recorded, the lock released as a dying process's is).
fn crash_after_start(dir: &Path, clock: &Arc<TestClock>, rec: &Arc<Recorder>) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let engine = rt.block_on(Engine::start(options(dir, clock, rec, || None))).unwrap();
    rt.shutdown_timeout(Duration::from_secs(10));
    drop(engine);
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

#[test]
fn three_unclean_starts_in_ten_minutes_raise_a_critical_alert() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "[metrics]\ninterval_secs = 60\n");
    let (clock, rec) = (Arc::new(TestClock::at(local_0312())), Arc::new(Recorder::default()));
    crash_after_start(dir.path(), &clock, &rec);
    clock.advance(2 * MIN);
    crash_after_start(dir.path(), &clock, &rec);
    clock.advance(2 * MIN);
    let rt = runtime();
    rt.block_on(async {
        let engine = Engine::start(options(dir.path(), &clock, &rec, || None)).await.unwrap();
        // No clean stop and no reboot: said as what it was.
        let said = "Caretaker was not running from 03:14 to 03:16 (Caretaker ended without stopping cleanly: a crash or a kill)";
        assert_eq!(logged(&engine, said).await, 1);
        let alerts = presence_alerts(&engine).await;
        let looping: Vec<_> = alerts.iter().filter(|a| a.alert_type == "crash_loop").collect();
        assert_eq!(looping.len(), 1, "{alerts:?}");
        assert_eq!(looping[0].severity, Severity::Critical);
        assert!(looping[0].message.contains("started 3 times in the last 10 minutes"), "{}", looping[0].message);
        until("the crash-loop notification", 20, async || rec.texts().into_iter().find(|t| t.contains("restarting in a loop"))).await;
        engine.shutdown().await;
    });
}

#[test]
fn starts_after_clean_stops_are_no_loop() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "[metrics]\ninterval_secs = 60\n");
    let (clock, rec) = (Arc::new(TestClock::at(local_0312())), Arc::new(Recorder::default()));
    let rt = runtime();
    for _ in 0..3 {
        clock.advance(MIN);
        rt.block_on(async {
            let engine = Engine::start(options(dir.path(), &clock, &rec, || None)).await.unwrap();
            assert!(presence_alerts(&engine).await.is_empty(), "a clean stop breaks the loop");
            engine.shutdown().await;
        });
    }
    // Two crashes after those clean stops are still only two unclean starts before this one.
    crash_after_start(dir.path(), &clock, &rec);
    clock.advance(MIN);
    rt.block_on(async {
        let engine = Engine::start(options(dir.path(), &clock, &rec, || None)).await.unwrap();
        assert!(presence_alerts(&engine).await.is_empty());
        engine.shutdown().await;
    });
}
