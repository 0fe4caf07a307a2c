use super::*;
use caretaker_engine::{Engine, EngineOptions, ErrorCode};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn quiet_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("caretaker.toml"), "[notifications]\nenabled = false\n").unwrap();
    dir
}

/// SIGTERM sent to this very process (as `kill` or systemd would) stops the engine once; the
/// process lives on because the listener took the signal over.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_runs_the_engine_shutdown_once() {
    let dir = quiet_dir();
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let signal = termination().unwrap();
    let (e, r) = (engine.clone(), runs.clone());
    let task = tokio::spawn(shutdown_on(signal, move || async move {
        r.fetch_add(1, Ordering::SeqCst);
        e.shutdown().await;
    }));
    // The engine still owns its data folder: a second one is refused.
    assert!(Engine::start(EngineOptions::new(dir.path())).await.is_err());
    assert_eq!(runs.load(Ordering::SeqCst), 0, "nothing runs before the signal");

    let sent = std::process::Command::new("kill").args(["-TERM", &std::process::id().to_string()]).status().unwrap();
    assert!(sent.success());
    tokio::time::timeout(Duration::from_secs(30), task).await.expect("shutdown after SIGTERM").unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    // Shut down for real: the folder is free for the next engine.
    let next = Engine::start(EngineOptions::new(dir.path())).await.expect("the stopped engine released its data folder");
    next.shutdown().await;
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<(String, String, bool)>>>);
impl Sink for Recorder {
    fn show(&self, title: &str, body: &str, critical: bool) -> Result<(), String> {
        self.0.lock().unwrap().push((title.into(), body.into(), critical));
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_that_cannot_start_is_announced_as_critical() {
    let dir = quiet_dir();
    let db = rusqlite::Connection::open(dir.path().join("caretaker.db")).unwrap();
    db.execute_batch("PRAGMA user_version = 9999;").unwrap();
    drop(db);
    let err = match Engine::start(EngineOptions::new(dir.path())).await {
        Ok(engine) => {
            engine.shutdown().await;
            panic!("an engine started on a database from a newer Caretaker");
        }
        Err(e) => e.payload(),
    };
    assert_eq!(err.code, ErrorCode::DatabaseTooNew);
    assert!(leaves_unwatched(&err));
    let sink = Recorder::default();
    announce_start_failure(sink.clone(), &err).join().unwrap();
    let shown = sink.0.lock().unwrap().clone();
    assert_eq!(shown.len(), 1);
    let (title, body, critical) = &shown[0];
    assert_eq!(title, "Caretaker is not running");
    assert!(body.contains("written by a newer Caretaker"), "{body}");
    assert!(*critical);
    let (level, tip) = caretaker_engine::tray_view::not_running("stopped");
    assert!(tip.contains("not running: stopped"), "{tip}");
    assert_eq!(level, caretaker_engine::tray_view::level_of(Some(caretaker_engine::Severity::Critical)).0);
}
