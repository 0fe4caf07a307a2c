//! Maintenance runs on a real data dir: one run at a time, honest statuses, pruning, cancel,
//! interrupted runs, and the log store they write to.

use caretaker_engine::maintenance::{integrity_of, Outcome, RunStatus, TaskStatus};
use caretaker_engine::{Engine, EngineOptions, ErrorKind, Event, LogQuery};
use std::path::Path;
use std::time::Duration;

fn write_config(dir: &Path, extra: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("caretaker.toml"), format!("[metrics]\ninterval_secs = 60\n[notifications]\nenabled = false\n{extra}"))
        .unwrap();
}

async fn complete(rx: &mut tokio::sync::broadcast::Receiver<Event>, secs: u64) -> caretaker_engine::RunReport {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(Event::MaintenanceComplete { report })) => return report,
            Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => continue,
            other => panic!("no maintenance_complete within {secs} s: {other:?}"),
        }
    }
}

async fn started(rx: &mut tokio::sync::broadcast::Receiver<Event>, task: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(Event::MaintenanceProgress { task_id, status: TaskStatus::Started, .. })) if task_id == task => return,
            Ok(_) => continue,
            Err(_) => panic!("{task} never started"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_run_requests_make_exactly_one_run_with_honest_statuses() {
    let _log = caretaker_engine::logging::init(None);
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "[logs]\nretention_days = 1\n[checks]\nretention_days = 1\n");
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    // Rows past retention, written after the engine's own first retention pass, by another writer.
    tokio::time::sleep(Duration::from_millis(500)).await;
    {
        let conn = rusqlite::Connection::open(dir.path().join("caretaker.db")).unwrap();
        conn.busy_timeout(Duration::from_secs(5)).unwrap();
        conn.execute("INSERT INTO logs (ts, level, target, message) VALUES (1000, 1, 'old', 'an old line')", []).unwrap();
        conn.execute(
            "INSERT INTO service_health_checks (service_name, status, checked_at, created_at) VALUES ('x', 'down', 1000, 1000)",
            [],
        )
        .unwrap();
    }
    let mut rx = engine.subscribe();
    let (a, b) = tokio::join!(async { engine.run_maintenance() }, async { engine.run_maintenance() });
    let results = [a, b];
    let ok: Vec<i64> = results.iter().filter_map(|r| r.as_ref().ok().copied()).collect();
    let refused: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(ok.len(), 1, "exactly one run starts: {results:?}");
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].kind(), ErrorKind::AlreadyRunning);
    assert!(refused[0].to_string().contains("maintenance is already running"), "{}", refused[0]);

    let report = complete(&mut rx, 30).await;
    assert_eq!(report.run_id, ok[0]);
    assert_eq!(report.status, RunStatus::Completed, "{report:#?}");
    let task = |id: &str| report.tasks.iter().find(|t| t.task_id == id).unwrap().clone();
    assert_eq!(task("db_integrity").status, TaskStatus::Completed);
    assert_eq!(task("db_integrity").message.as_deref(), Some("the database is intact"));
    assert_eq!(task("verify_backups").status, TaskStatus::Skipped);
    assert_eq!(task("verify_backups").message.as_deref(), Some("backups are not configured"));
    assert_eq!(task("clear_cache").status, TaskStatus::Skipped);
    assert!(task("clear_cache").message.unwrap().starts_with("not enabled"));
    assert_eq!(task("prune_retention").status, TaskStatus::Completed);
    assert!(task("prune_retention").rows_pruned >= 2, "{:?}", task("prune_retention"));
    assert!(report.tasks.iter().all(|t| t.status != TaskStatus::Pending && t.status != TaskStatus::Started));
    assert_eq!(report.summary.completed + report.summary.skipped + report.summary.failed, report.tasks.len() as u32);

    // The last run's results stay visible, and history keeps it.
    let status = engine.maintenance_status().await.unwrap();
    assert!(status.running.is_none());
    assert_eq!(status.last_run.unwrap().run_id, report.run_id);
    assert!(status.next_run_ms.is_some());
    assert_eq!(engine.maintenance_history(10).await.unwrap().len(), 1);

    // Its progress went to the log store, searchable.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let found =
        engine.search_logs(LogQuery { text: Some("maintenance run finished".into()), limit: 10, ..Default::default() }).await.unwrap();
    assert!(!found.is_empty(), "the run's log lines are searchable");
    let old = engine.search_logs(LogQuery { text: Some("an old line".into()), limit: 10, ..Default::default() }).await.unwrap();
    assert!(old.is_empty(), "pruned past retention");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_can_be_cancelled_and_its_running_command_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "[maintenance]\ncommand = { argv = [\"/bin/sleep\", \"20\"] }\n");
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    let mut rx = engine.subscribe();
    // Started from a thread with no async runtime, as a desktop UI's main thread is.
    let e = engine.clone();
    std::thread::spawn(move || e.run_maintenance()).join().unwrap().unwrap();
    started(&mut rx, "run_command").await;
    let t = std::time::Instant::now();
    engine.cancel_maintenance().unwrap();
    let report = complete(&mut rx, 10).await;
    assert!(t.elapsed() < Duration::from_secs(5), "cancel does not wait for the 20 s command");
    assert_eq!(report.status, RunStatus::Cancelled);
    let cmd = report.tasks.iter().find(|t| t.task_id == "run_command").unwrap();
    assert_eq!(cmd.status, TaskStatus::Skipped);
    assert!(cmd.message.as_deref().unwrap().starts_with("cancelled while it ran"), "{cmd:?}");
    assert!(engine.cancel_maintenance().is_err(), "nothing left to cancel");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_cut_off_by_a_crash_is_recorded_as_interrupted_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "");
    {
        let conn = caretaker_engine::store::open_and_migrate(&dir.path().join("caretaker.db")).unwrap();
        conn.execute("INSERT INTO maintenance_runs (id, trigger, status, started_at) VALUES (7, 'manual', 'running', 1000)", []).unwrap();
        conn.execute("INSERT INTO maintenance_task_runs (run_id, idx, task_id, status) VALUES (7, 0, 'db_integrity', 'started')", [])
            .unwrap();
    }
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    let last = engine.maintenance_status().await.unwrap().last_run.unwrap();
    assert_eq!(last.run_id, 7);
    assert_eq!(last.status, RunStatus::Interrupted);
    assert_eq!(last.tasks[0].status, TaskStatus::Skipped);
    assert!(last.tasks[0].message.as_deref().unwrap().starts_with("interrupted"));
    engine.shutdown().await;
}

#[test]
fn integrity_check_passes_a_clean_database_and_fails_a_corrupted_copy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clean.db");
    let conn = caretaker_engine::store::open_and_migrate(&path).unwrap();
    conn.execute_batch("CREATE TABLE t (x TEXT); CREATE INDEX t_x ON t (x);").unwrap();
    for i in 0..2000 {
        conn.execute("INSERT INTO t VALUES (?1)", [format!("row {i} {}", "x".repeat(100))]).unwrap();
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    assert_eq!(integrity_of(&conn), Outcome::Completed { message: "the database is intact".into(), rows_pruned: 0, bytes_freed: 0 });
    drop(conn);

    let bad = dir.path().join("bad.db");
    let mut bytes = std::fs::read(&path).unwrap();
    let len = bytes.len();
    for b in &mut bytes[len / 2..len / 2 + 8192] {
        *b ^= 0x5a;
    }
    std::fs::write(&bad, bytes).unwrap();
    let conn = rusqlite::Connection::open(&bad).unwrap();
    match integrity_of(&conn) {
        Outcome::Failed { message } => {
            assert!(message.starts_with("the database is damaged") || message.starts_with("the database could not be checked"), "{message}")
        }
        other => panic!("a corrupted copy must fail: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_during_a_run_stops_it_and_records_it_as_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "[maintenance]\ncommand = { argv = [\"/bin/sleep\", \"20\"] }\n");
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    let mut rx = engine.subscribe();
    engine.run_maintenance().unwrap();
    started(&mut rx, "run_command").await;
    let t = std::time::Instant::now();
    engine.shutdown().await;
    assert!(t.elapsed() < Duration::from_secs(8), "shutdown does not wait for the command");
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    let last = engine.maintenance_status().await.unwrap().last_run.unwrap();
    assert_eq!(last.status, RunStatus::Interrupted);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_commands_output_reaches_the_log_line_by_line_while_it_runs() {
    let _log = caretaker_engine::logging::init(None);
    let dir = tempfile::tempdir().unwrap();
    let argv = r#"["/bin/sh", "-c", "echo 'pruned 3 formulae'; echo 'warning: low disk' >&2; sleep 30"]"#;
    write_config(dir.path(), &format!("[maintenance]\ncommand = {{ argv = {argv} }}\n"));
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    let mut rx = engine.subscribe();
    let run_id = engine.run_maintenance().unwrap();
    // Both lines arrive while the command still sleeps: the run is cancelled only after them.
    let mut want = vec!["/bin/sh: pruned 3 formulae", "/bin/sh: warning: low disk"];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !want.is_empty() {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(Event::Log { lines })) => {
                for l in lines {
                    if l.fields.get("run_id").and_then(|v| v.as_i64()) == Some(run_id) {
                        want.retain(|w| *w != l.message);
                    }
                }
            }
            Ok(_) => continue,
            Err(_) => panic!("the command's output never reached the log while it ran; still waiting for {want:?}"),
        }
    }
    engine.cancel_maintenance().unwrap();
    let report = complete(&mut rx, 10).await;
    assert_eq!(report.status, RunStatus::Cancelled);
    engine.shutdown().await;
}
