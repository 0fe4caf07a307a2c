//! Detectors in a real engine: a recorded queue-depth series in a real SQLite file, the real
//! AlertManager, an injected clock, and restarts in between.

mod common;

use caretaker_engine::{AlertQuery, AlertStatus, DetectorConfig, Engine, EngineError, EngineHandle, EngineOptions};
use common::{Recorder, TestClock};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const MIN: i64 = 60_000;
const T0: i64 = 1_800_000_000_000;

const CONFIG: &str = r#"# A hand-written comment that must survive edits from the app.
[metrics]
interval_secs = 60
[alerts]
stale_after_intervals = 1000
[[checks.list]]
name = "Queue"
enabled = false
json_value = { url = "http://127.0.0.1:9/stats", pointer = "/depth", warning_above = 100000 }

[[detectors]]
name = "Queue not moving"
check = { name = "Queue", field = "value" }
stalled = { for_minutes = 5 }
"#;

/// Queue-depth readings as the json_value probe stores them, one per (time, value).
fn record(dir: &Path, readings: &[(i64, f64)]) {
    let conn = caretaker_engine::store::open_and_migrate(&dir.join("caretaker.db")).unwrap();
    for (at, v) in readings {
        conn.execute(
            "INSERT INTO service_health_checks (service_name, status, latency_ms, checked_at, error_message, probe_details, created_at)
             VALUES ('Queue', 'healthy', 4.0, ?1, NULL, ?2, ?1)",
            rusqlite::params![at, serde_json::json!({ "pointer": "/depth", "value": v }).to_string()],
        )
        .unwrap();
    }
}

async fn start(dir: &Path, clock: &Arc<TestClock>, rec: &Arc<Recorder>) -> EngineHandle {
    let mut o = EngineOptions::new(dir);
    o.clock = clock.clone();
    o.notifier = rec.clone();
    o.notification_window = Duration::from_millis(50);
    Engine::start(o).await.unwrap()
}

async fn notified(rec: &Recorder, prefix: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(t) = rec.texts().into_iter().find(|t| t.starts_with(prefix) || t.contains(&format!("• {prefix}"))) {
            return t.clone();
        }
        assert!(Instant::now() < deadline, "no notification {prefix:?}: {:?}", rec.texts());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn detector_alerts(engine: &EngineHandle) -> Vec<caretaker_engine::Alert> {
    engine.alerts(AlertQuery { include_resolved: true, limit: 50, subject: Some("Queue not moving".into()) }).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_queue_raises_one_alert_that_survives_a_restart_and_resolves_when_it_moves() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("caretaker.toml"), CONFIG).unwrap();
    // Moving for ten minutes, then stuck at 42 for the last eight.
    let mut readings: Vec<(i64, f64)> = (0..10).map(|i| (T0 - (18 - i) * MIN, 30.0 + i as f64)).collect();
    readings.extend((0..=8).map(|i| (T0 - (8 - i) * MIN, 42.0)));
    record(dir.path(), &readings);

    let clock = Arc::new(TestClock::at(T0));
    let rec = Arc::new(Recorder::default());
    let engine = start(dir.path(), &clock, &rec).await;
    let states = engine.evaluate_detectors().await.unwrap();
    assert_eq!(states.len(), 1);
    let s = &states[0];
    assert!(s.firing, "{s:?}");
    assert_eq!(s.kind, "stalled");
    assert_eq!(s.evidence["value"], 42.0);
    assert_eq!(s.evidence["unchanged_since"], T0 - 8 * MIN);
    assert_eq!(s.evidence["unchanged_minutes"], 8);
    let id = s.alert_id.expect("an open alert");

    let open = engine.open_alerts().into_iter().find(|a| a.id == id).expect("through the real alert manager");
    assert_eq!((open.rule.as_str(), open.alert_type.as_str(), open.status), ("detector", "detector", AlertStatus::Active));
    assert_eq!(open.details["evidence"]["value"], 42.0, "evidence in the alert");
    assert_eq!(open.details["kind"], "stalled");
    assert!(engine.runbook("detector").is_some());
    notified(&rec, "Queue not moving is stalled on ").await;
    assert_eq!(engine.detectors()[0].alert_id, Some(id), "the UI's list follows the evaluation");

    // A restart a minute later: the state is rebuilt from the stored series, the same alert
    // stays open (no duplicate, no second notification).
    engine.shutdown().await;
    clock.set(T0 + MIN);
    let engine = start(dir.path(), &clock, &rec).await;
    let s = engine.evaluate_detectors().await.unwrap().remove(0);
    assert!(s.firing);
    assert_eq!(s.evidence["unchanged_since"], T0 - 8 * MIN, "rebuilt from history");
    assert_eq!(s.alert_id, Some(id), "the same alert");
    assert_eq!(detector_alerts(&engine).await.len(), 1);

    // The queue moves: the alert resolves with a recovery notice.
    record(dir.path(), &[(T0 + 2 * MIN, 17.0)]);
    clock.set(T0 + 2 * MIN);
    let s = engine.evaluate_detectors().await.unwrap().remove(0);
    assert!(!s.firing, "{s:?}");
    assert_eq!(s.alert_id, None);
    let all = detector_alerts(&engine).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].status, AlertStatus::Resolved);
    assert_eq!(all[0].resolved_at, Some(T0 + 2 * MIN));
    notified(&rec, "Recovered: Queue not moving is back to normal").await;

    // And it stays resolved across another restart.
    engine.shutdown().await;
    let engine = start(dir.path(), &clock, &rec).await;
    assert!(!engine.evaluate_detectors().await.unwrap()[0].firing);
    assert!(engine.open_alerts().iter().all(|a| a.rule != "detector"));
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detectors_are_added_edited_and_removed_through_the_config_file_which_keeps_its_comments() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("caretaker.toml"), CONFIG).unwrap();
    let clock = Arc::new(TestClock::at(T0));
    let rec = Arc::new(Recorder::default());
    let engine = start(dir.path(), &clock, &rec).await;
    let path = dir.path().join("caretaker.toml");

    let slow: DetectorConfig = toml::from_str(
        "name = \"Queue slow\"\ncheck = { name = \"Queue\", field = \"latency_ms\" }\nabove_normal = { factor = 4, floor = 20 }\n",
    )
    .unwrap();
    let states = engine.save_detector(None, slow.clone()).await.unwrap();
    assert_eq!(states.iter().map(|s| s.config.name.as_str()).collect::<Vec<_>>(), vec!["Queue not moving", "Queue slow"]);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("# A hand-written comment that must survive edits from the app."));
    let reread = caretaker_engine::Config::load(&path).unwrap();
    assert_eq!(reread.detectors[1], slow);
    assert_eq!(reread.detectors[1].above_normal.as_ref().map(|r| r.baseline_minutes), Some(60), "defaults filled in");

    // A bad edit is refused with the field named, and the file is untouched.
    let mut bad = slow.clone();
    bad.check.as_mut().unwrap().name = "Nope".into();
    let err = engine.save_detector(Some("Queue slow".into()), bad).await.unwrap_err();
    assert!(matches!(err, EngineError::Config(_)));
    assert!(err.to_string().contains("detectors[1].check.name: there is no check named \"Nope\""), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);

    // Rename by editing, then remove.
    let mut renamed = slow.clone();
    renamed.name = "Queue latency".into();
    engine.save_detector(Some("Queue slow".into()), renamed).await.unwrap();
    assert_eq!(caretaker_engine::Config::load(&path).unwrap().detectors[1].name, "Queue latency");
    let states = engine.delete_detector("Queue latency".into()).await.unwrap();
    assert_eq!(states.len(), 1);
    assert_eq!(caretaker_engine::Config::load(&path).unwrap().detectors.len(), 1);
    assert!(engine.delete_detector("Queue latency".into()).await.is_err(), "already gone");
    assert!(std::fs::read_to_string(&path).unwrap().contains("# A hand-written comment"));
    engine.shutdown().await;
}
