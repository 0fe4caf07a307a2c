//! A damaged database is never silent: at start it is moved aside and the person is told where
//! it went; at run time a failed integrity check raises a critical alert.

use caretaker_engine::{Engine, EngineOptions, Event, Severity};
use std::path::Path;
use std::time::Duration;

fn write_config(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("caretaker.toml"), "[metrics]\ninterval_secs = 60\n[notifications]\nenabled = false\n").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_database_is_moved_aside_and_the_engine_starts_fresh_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path());
    let garbage = "this is not a database ".repeat(400);
    std::fs::write(dir.path().join("caretaker.db"), &garbage).unwrap();
    std::fs::write(dir.path().join("caretaker.db-wal"), "stale wal").unwrap();

    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    let names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    let moved =
        names.iter().find(|n| n.starts_with("caretaker.db.damaged-") && !n.ends_with("-wal") && !n.ends_with("-shm")).expect("moved aside");
    assert!(names.iter().any(|n| n == &format!("{moved}-wal")), "its -wal goes with it: {names:?}");
    assert_eq!(std::fs::read_to_string(dir.path().join(moved)).unwrap(), garbage, "the old file is kept as it was");

    let alert = engine.snapshot().alerts.into_iter().find(|a| a.alert_type == "db_damaged").expect("the person is told");
    assert_eq!(alert.severity, Severity::Critical);
    assert!(alert.message.contains(&dir.path().join(moved).display().to_string()), "{}", alert.message);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_integrity_check_raises_a_critical_db_damaged_alert() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path());
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    let path = dir.path().join("caretaker.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.busy_timeout(Duration::from_secs(5)).unwrap();
        conn.execute_batch("CREATE TABLE filler (x TEXT); CREATE INDEX filler_x ON filler (x);").unwrap();
        let tx = conn.unchecked_transaction().unwrap();
        for i in 0..2000 {
            tx.execute("INSERT INTO filler VALUES (?1)", [format!("row {i} {}", "x".repeat(100))]).unwrap();
        }
        tx.commit().unwrap();
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    }
    // Damage the filler's pages in place, under the running engine.
    let mut bytes = std::fs::read(&path).unwrap();
    let len = bytes.len();
    for b in &mut bytes[len / 2..len / 2 + 8192] {
        *b ^= 0x5a;
    }
    std::fs::write(&path, bytes).unwrap();

    let mut rx = engine.subscribe();
    engine.run_maintenance().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(Event::AlertChanged { alert })) if alert.alert_type == "db_damaged" => {
                assert_eq!(alert.severity, Severity::Critical);
                assert!(alert.message.contains("damaged") || alert.message.contains("could not be checked"), "{}", alert.message);
                break;
            }
            Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => continue,
            other => panic!("no db_damaged alert within 60 s: {other:?}"),
        }
    }
    engine.shutdown().await;
}
