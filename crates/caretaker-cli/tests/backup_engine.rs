//! The engine's backup service end to end: plan creation, Back up now, run records, Caretaker's
//! own database in the default plan, restore through the engine, freshness and failure alerts,
//! a full disk during a restore. The worker is the real `caretaker` binary.

use caretaker_engine::alerts::notify::Sink;
use caretaker_engine::backup::config::PlanConfig;
use caretaker_engine::backup::protocol::ConflictPolicy;
use caretaker_engine::backup::{BackupRun, RestoreOutcome};
use caretaker_engine::{AlertQuery, Clock, Engine, EngineHandle, EngineOptions, Event};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PASSWORD: &str = "correct horse battery staple";

#[derive(Default)]
struct Quiet(Mutex<Vec<String>>);
impl Sink for Quiet {
    fn show(&self, title: &str, _body: &str, _critical: bool) -> Result<(), String> {
        self.0.lock().map_err(|e| e.to_string())?.push(title.to_string());
        Ok(())
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port")
}

async fn start(dir: &Path) -> EngineHandle {
    start_with(dir, "").await
}

async fn start_with(dir: &Path, extra: &str) -> EngineHandle {
    std::env::set_var(caretaker_engine::backup::secret::KEYCHAIN_ENV, "off");
    std::fs::write(dir.join("caretaker.toml"), format!("[metrics]\ninterval_secs = 60\n{extra}[checks]\nlist = []\n")).expect("config");
    let mut o = EngineOptions::new(dir);
    o.notifier = Arc::new(Quiet::default());
    o.backup_worker = PathBuf::from(env!("CARGO_BIN_EXE_caretaker"));
    Engine::start(o).await.expect("engine")
}

fn plan(name: &str, src: &Path, repo: &Path) -> PlanConfig {
    PlanConfig {
        name: name.into(),
        sources: vec![src.display().to_string()],
        excludes: vec!["*.tmp".into()],
        default_excludes: true,
        exclude_build_folders: false,
        repository: repo.display().to_string(),
        schedule: "manual".into(),
        keep: caretaker_engine::backup::config::default_keep(),
        host: "test-mini".into(),
        include_caretaker_data: true,
        upload_limit_kib: 0,
        pause_on_battery: true,
        pause_on_metered: true,
    }
}

async fn finished(rx: &mut tokio::sync::broadcast::Receiver<Event>, id: i64) -> BackupRun {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(Event::BackupFinished { run })) if run.id == id => return run,
            Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(e)) => panic!("event stream ended: {e}"),
            Err(_) => panic!("backup run {id} did not finish in time"),
        }
    }
}

/// Waits for the retention run that follows a good backup.
async fn retention_done(rx: &mut tokio::sync::broadcast::Receiver<Event>) -> BackupRun {
    loop {
        match tokio::time::timeout(Duration::from_secs(60), rx.recv()).await {
            Ok(Ok(Event::BackupFinished { run })) if run.kind == "forget" => return run,
            Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
            other => panic!("no retention run: {other:?}"),
        }
    }
}

async fn open_alert(engine: &EngineHandle, rule: &str) -> Option<caretaker_engine::alerts::Alert> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(a) = engine.open_alerts().into_iter().find(|a| a.rule == rule) {
            return Some(a);
        }
        if tokio::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_up_now_records_the_run_and_includes_caretakers_own_database() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (data, src, repo) = (tmp.path().join("data"), tmp.path().join("Documents"), tmp.path().join("disk/repo"));
    std::fs::create_dir_all(&data).expect("mkdir");
    std::fs::create_dir_all(src.join("letters")).expect("mkdir");
    std::fs::create_dir_all(tmp.path().join("disk")).expect("mkdir");
    std::fs::write(src.join("letters/dear.txt"), b"Dear you").expect("write");
    std::fs::write(src.join("draft.tmp"), b"skip me").expect("write");
    let port = free_port();
    let engine = start_with(&data, &format!("[http]\nenabled = true\nbind = \"127.0.0.1:{port}\"\n")).await;
    let mut rx = engine.subscribe();

    let created = engine.create_backup_plan(plan("Docs", &src, &repo), PASSWORD.into(), None).await.expect("create plan");
    assert_eq!(created.password_stored_in, "file");
    assert!(!created.existing_repository);
    let toml = std::fs::read_to_string(data.join("caretaker.toml")).expect("config");
    assert!(toml.contains("[[backups.plans]]") && toml.contains("name = \"Docs\""), "{toml}");
    assert!(!toml.contains(PASSWORD), "the password never goes into the config file");

    let id = engine.backup_now("Docs").await.expect("start");
    // One job at a time: a second press is refused while the first runs.
    let busy = engine.backup_now("Docs").await;
    let run = finished(&mut rx, id).await;
    assert!(busy.is_err());
    assert_eq!(run.status, "ok", "{run:?}");
    assert!(run.snapshot_id.as_deref().is_some_and(|s| s.len() == 64));
    assert!(run.files_new >= 3, "the letter, the database copy and the config: {run:?}");
    assert!(run.bytes_added > 0 && run.repository_bytes.unwrap_or(0) > 0);
    // Retention runs right after a good backup.
    let forget = retention_done(&mut rx).await;
    assert_eq!(forget.status, "ok", "{forget:?}");

    // Backup freshness reaches Prometheus, in an exposition promtool accepts.
    let text = get(port, "/metrics/prometheus");
    assert!(text.contains("caretaker_backup_last_run_ok{plan=\"Docs\"} 1"), "{text}");
    assert!(text.contains("caretaker_backup_last_success_timestamp_seconds{plan=\"Docs\"}"), "{text}");
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus)");
    std::io::Write::write_all(&mut promtool.stdin.take().expect("stdin"), text.as_bytes()).expect("write");
    let out = promtool.wait_with_output().expect("promtool");
    assert!(out.status.success(), "promtool: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_str(&get(port, "/metrics")).expect("json");
    assert_eq!(json["backups"][0]["plan"], "Docs");
    assert_eq!(json["backups"][0]["last_run_status"], "ok");

    let overview = engine.backups_overview().await.expect("overview");
    assert_eq!(overview.plans[0].health, "ok");
    assert_eq!(overview.plans[0].password, "file");
    assert!(overview.job.is_none());

    // The snapshot holds a usable copy of the database, never the live file.
    let snaps = engine.backup_snapshots("Docs").await.expect("snapshots");
    assert_eq!(snaps.len(), 1);
    let staging = data.join("backup-staging");
    let listed = engine.backup_ls("Docs", snaps[0].id.clone(), staging.display().to_string()).await.expect("ls");
    let names: Vec<&str> = listed.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["caretaker-snapshot.db", "caretaker.toml"]);
    let out = tmp.path().join("restored");
    std::fs::create_dir_all(&out).expect("mkdir");
    let db_copy = staging.join("caretaker-snapshot.db").display().to_string();
    let r = engine.restore_backup("Docs", snaps[0].id.clone(), db_copy, out.display().to_string(), None).await.expect("restore");
    assert!(matches!(r, RestoreOutcome::Done { .. }), "{r:?}");
    let conn = rusqlite::Connection::open(out.join("caretaker-snapshot.db")).expect("open copy");
    let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("integrity");
    assert_eq!(ok, "ok");
    let runs: i64 = conn.query_row("SELECT COUNT(*) FROM backup_runs", [], |r| r.get(0)).expect("the copy has the schema");
    assert!(runs >= 1);

    // Restore of a file that exists asks first, and writes nothing until told.
    let letter = src.join("letters/dear.txt").display().to_string();
    std::fs::write(out.join("dear.txt"), b"changed since").expect("write");
    let r = engine.restore_backup("Docs", snaps[0].id.clone(), letter.clone(), out.display().to_string(), None).await.expect("restore");
    match r {
        RestoreOutcome::Conflict { report } => assert_eq!(report.existing, 1),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(std::fs::read(out.join("dear.txt")).expect("read"), b"changed since");
    let r = engine
        .restore_backup("Docs", snaps[0].id.clone(), letter, out.display().to_string(), Some(ConflictPolicy::KeepBoth))
        .await
        .expect("restore");
    assert!(matches!(r, RestoreOutcome::Done { ref summary } if summary.files_renamed == 1), "{r:?}");

    let history = engine.backup_history(Some("Docs".into()), 10).await.expect("history");
    let kinds: Vec<&str> = history.iter().map(|r| r.kind.as_str()).collect();
    assert!(kinds.contains(&"backup") && kinds.contains(&"forget") && kinds.contains(&"restore"), "{kinds:?}");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unplugged_disk_fails_the_run_with_an_alert_and_recovers() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (data, src, disk) = (tmp.path().join("data"), tmp.path().join("src"), tmp.path().join("disk"));
    std::fs::create_dir_all(&data).expect("mkdir");
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::create_dir_all(&disk).expect("mkdir");
    std::fs::write(src.join("a.txt"), b"a").expect("write");
    let repo = disk.join("repo");
    let engine = start(&data).await;
    let mut rx = engine.subscribe();
    engine.create_backup_plan(plan("Docs", &src, &repo), PASSWORD.into(), None).await.expect("create plan");

    // The disk goes away.
    let unplugged = tmp.path().join("disk-unplugged");
    std::fs::rename(&disk, &unplugged).expect("unplug");
    let id = engine.backup_now("Docs").await.expect("start");
    let run = finished(&mut rx, id).await;
    assert_eq!(run.status, "failed");
    assert_eq!(run.error_kind.as_deref(), Some("unreachable"));
    assert!(run.error.as_deref().is_some_and(|e| e.starts_with("repository not reachable")), "{run:?}");
    let alert = open_alert(&engine, "backup_failed").await.expect("a backup_failed alert");
    assert!(alert.message.contains("repository not reachable"), "{alert:?}");
    assert_eq!(engine.runbook(&alert.alert_type).map(|t| t.starts_with("# A backup failed")), Some(true));
    assert_eq!(engine.backups_overview().await.expect("overview").plans[0].health, "failing");

    // Plugged back in: the next run succeeds and the alert resolves.
    std::fs::rename(&unplugged, &disk).expect("plug");
    let id = engine.backup_now("Docs").await.expect("start");
    assert_eq!(finished(&mut rx, id).await.status, "ok");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while engine.open_alerts().iter().any(|a| a.rule == "backup_failed") {
        assert!(tokio::time::Instant::now() < deadline, "the alert did not resolve");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let resolved = engine.alerts(AlertQuery { include_resolved: true, limit: 50, subject: None }).await.expect("alerts");
    assert!(resolved.iter().any(|a| a.rule == "backup_failed" && a.resolved_at.is_some()));
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_refused_at_plan_creation() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (data, src, repo) = (tmp.path().join("data"), tmp.path().join("src"), tmp.path().join("repo"));
    std::fs::create_dir_all(&data).expect("mkdir");
    std::fs::create_dir_all(&src).expect("mkdir");
    let engine = start(&data).await;
    engine.create_backup_plan(plan("One", &src, &repo), PASSWORD.into(), None).await.expect("create");
    // A second plan adopting the same repository must know its password.
    let e = engine.create_backup_plan(plan("Two", &src, &repo), "not the password".into(), None).await.expect_err("refused");
    assert!(e.to_string().contains("wrong password"), "{e}");
    let toml = std::fs::read_to_string(data.join("caretaker.toml")).expect("config");
    assert!(!toml.contains("name = \"Two\""), "nothing written on failure");
    engine.shutdown().await;
}

struct TestClock(AtomicI64);
impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_whose_last_good_backup_is_too_old_is_overdue_and_a_cancelled_run_is_recorded() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (data, src, repo) = (tmp.path().join("data"), tmp.path().join("src"), tmp.path().join("repo"));
    std::fs::create_dir_all(&data).expect("mkdir");
    std::fs::create_dir_all(&src).expect("mkdir");
    // Enough incompressible data that a cancel lands mid-run.
    let mut x: u64 = 7;
    for i in 0..8 {
        let data: Vec<u8> = (0..4 * 1024 * 1024)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        std::fs::write(src.join(format!("f{i}.bin")), data).expect("write");
    }
    std::env::set_var(caretaker_engine::backup::secret::KEYCHAIN_ENV, "off");
    std::fs::write(data.join("caretaker.toml"), "[metrics]\ninterval_secs = 60\n[checks]\nlist = []\n").expect("config");
    let clock = Arc::new(TestClock(AtomicI64::new(caretaker_engine::SystemClock.now_ms())));
    let mut o = EngineOptions::new(&data);
    o.notifier = Arc::new(Quiet::default());
    o.backup_worker = PathBuf::from(env!("CARGO_BIN_EXE_caretaker"));
    o.clock = clock.clone();
    let engine = Engine::start(o).await.expect("engine");
    let mut rx = engine.subscribe();
    let mut p = plan("Daily", &src, &repo);
    p.schedule = "manual".into();
    engine.create_backup_plan(p, PASSWORD.into(), None).await.expect("create");

    // Cancel on the first sign of progress: recorded as cancelled, and the slot is free again.
    let id = engine.backup_now("Daily").await.expect("start");
    loop {
        match tokio::time::timeout(Duration::from_secs(60), rx.recv()).await {
            Ok(Ok(Event::BackupProgress { job })) if job.progress.bytes_done > 0 => break,
            Ok(Ok(_)) => {}
            other => panic!("no progress: {other:?}"),
        }
    }
    assert_eq!(engine.cancel_backup_job().expect("cancel"), id);
    let run = finished(&mut rx, id).await;
    assert_eq!(run.status, "cancelled", "{run:?}");
    assert!(engine.backup_job().is_none());
    let id = engine.backup_now("Daily").await.expect("start again");
    assert_eq!(finished(&mut rx, id).await.status, "ok");
    retention_done(&mut rx).await;
    let check = engine.verify_backup("Daily", false, "manual").await.expect("check");
    assert_eq!(check.status, "ok", "{check:?}");

    // Switch the plan to daily and let three days pass without a backup.
    let mut cfg = std::fs::read_to_string(data.join("caretaker.toml")).expect("config");
    cfg = cfg.replace("schedule = \"manual\"", "schedule = \"daily 02:00\"");
    engine.shutdown().await;
    std::fs::write(data.join("caretaker.toml"), cfg).expect("config");
    let mut o = EngineOptions::new(&data);
    o.notifier = Arc::new(Quiet::default());
    o.backup_worker = PathBuf::from(env!("CARGO_BIN_EXE_caretaker"));
    o.clock = clock.clone();
    let engine = Engine::start(o).await.expect("engine");
    engine.evaluate_backups().await;
    assert!(!engine.open_alerts().iter().any(|a| a.rule == "backup_overdue"), "fresh right after a backup");
    clock.0.fetch_add(3 * 86_400_000, Ordering::SeqCst);
    engine.evaluate_backups().await;
    let alert = open_alert(&engine, "backup_overdue").await.expect("an overdue alert");
    assert!(alert.message.contains("3 days ago"), "{alert:?}");
    assert_eq!(alert.details["plan"], "Daily");
    let overview = engine.backups_overview().await.expect("overview");
    assert!(matches!(overview.plans[0].health.as_str(), "overdue" | "running"), "{:?}", overview.plans[0].health);
    // Removing the plan closes its alerts; its repository stays on disk.
    while engine.backup_job().is_some() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    engine.delete_backup_plan("Daily".into()).await.expect("delete");
    assert!(!engine.open_alerts().iter().any(|a| a.rule.starts_with("backup_")), "{:?}", engine.open_alerts());
    assert!(repo.join("config").exists());
    engine.shutdown().await;
}

/// A restore onto a disk that fills up reports "full" and the app carries on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_onto_a_full_disk_is_a_clear_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (data, src, repo) = (tmp.path().join("data"), tmp.path().join("src"), tmp.path().join("repo"));
    std::fs::create_dir_all(&data).expect("mkdir");
    std::fs::create_dir_all(&src).expect("mkdir");
    let mut x: u32 = 1;
    let mut noise = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    };
    // One file restored through rustic_core's batch restore, one large enough to be streamed.
    std::fs::write(src.join("big.bin"), noise(6 * 1024 * 1024)).expect("write");
    std::fs::write(src.join("huge.bin"), noise(20 * 1024 * 1024)).expect("write");
    let small = tmp.path().join("small-disk");
    std::fs::create_dir_all(&small).expect("mkdir");
    let mounted = Command::new("mount").args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"]).arg(&small).status().expect("mount");
    assert!(mounted.success(), "this test mounts a 1 MiB tmpfs and needs root (CI runs as root)");
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = Unmount(small.clone());

    let engine = start(&data).await;
    let mut rx = engine.subscribe();
    let mut p = plan("Big", &src, &repo);
    p.include_caretaker_data = false;
    engine.create_backup_plan(p, PASSWORD.into(), None).await.expect("create");
    let id = engine.backup_now("Big").await.expect("start");
    assert_eq!(finished(&mut rx, id).await.status, "ok");
    retention_done(&mut rx).await;
    let snap = engine.backup_snapshots("Big").await.expect("snapshots")[0].id.clone();
    for file in ["big.bin", "huge.bin"] {
        let e = engine
            .restore_backup("Big", snap.clone(), src.join(file).display().to_string(), small.display().to_string(), None)
            .await
            .expect_err("the disk is too small");
        assert!(e.to_string().contains("disk is full"), "{file}: {e}");
    }
    // Nothing half-written is left behind by the streamed restore.
    let left: Vec<_> = std::fs::read_dir(&small).expect("ls").filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
    assert!(!left.iter().any(|n| n.to_string_lossy().contains("caretaker-partial")), "{left:?}");
    // The engine is still there and the repository is fine.
    let history = engine.backup_history(Some("Big".into()), 5).await.expect("history");
    assert_eq!(history[0].kind, "restore");
    assert_eq!(history[0].error_kind.as_deref(), Some("no_space"), "{:?}", history[0]);
    let check = engine.verify_backup("Big", true, "manual").await.expect("check");
    assert_eq!(check.status, "ok", "{check:?}");
    engine.shutdown().await;
}

use std::process::Command;

/// A plain HTTP/1.1 GET on loopback; returns the body.
fn get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").expect("send");
    let mut buf = String::new();
    s.read_to_string(&mut buf).expect("read");
    buf.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default()
}

/// One "Back up now" is one worker process: the backup and its retention share it (one open of
/// the repository, one key derivation), and both are still recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_up_now_starts_one_worker_process_for_backup_and_retention() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (data, src, repo) = (tmp.path().join("data"), tmp.path().join("src"), tmp.path().join("repo"));
    std::fs::create_dir_all(&data).expect("mkdir");
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::write(src.join("a.txt"), b"a").expect("write");
    // A worker that counts its starts, then is the real one.
    let starts = tmp.path().join("starts");
    let counting = tmp.path().join("counting-worker");
    let script = format!("#!/bin/sh\necho started >> '{}'\nexec '{}' \"$@\"\n", starts.display(), env!("CARGO_BIN_EXE_caretaker"));
    std::fs::write(&counting, script).expect("script");
    std::fs::set_permissions(&counting, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    std::env::set_var(caretaker_engine::backup::secret::KEYCHAIN_ENV, "off");
    std::fs::write(data.join("caretaker.toml"), "[metrics]\ninterval_secs = 60\n[checks]\nlist = []\n").expect("config");
    let mut o = EngineOptions::new(&data);
    o.notifier = Arc::new(Quiet::default());
    o.backup_worker = counting;
    let engine = Engine::start(o).await.expect("engine");
    let mut rx = engine.subscribe();
    let mut p = plan("Docs", &src, &repo);
    p.include_caretaker_data = false;
    engine.create_backup_plan(p, PASSWORD.into(), None).await.expect("create plan");
    let before = std::fs::read_to_string(&starts).map(|s| s.lines().count()).unwrap_or(0);

    let id = engine.backup_now("Docs").await.expect("start");
    assert_eq!(finished(&mut rx, id).await.status, "ok");
    assert_eq!(retention_done(&mut rx).await.status, "ok");
    let after = std::fs::read_to_string(&starts).map(|s| s.lines().count()).unwrap_or(0);
    assert_eq!(after - before, 1, "worker processes for one Back up now");
    let kinds: Vec<String> =
        engine.backup_history(Some("Docs".into()), 10).await.expect("history").iter().map(|r| r.kind.to_string()).collect();
    assert_eq!(kinds, ["forget", "backup"]);
    assert!(engine.backup_job().is_none(), "the slot is free once both are recorded");
    engine.shutdown().await;
}

/// Each failure reaches the caller with its own code, not a message to parse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_failures_carry_their_error_codes() {
    use caretaker_engine::ErrorCode;
    let tmp = tempfile::tempdir().expect("tempdir");
    let (data, src, disk) = (tmp.path().join("data"), tmp.path().join("src"), tmp.path().join("disk"));
    std::fs::create_dir_all(&data).expect("mkdir");
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::create_dir_all(&disk).expect("mkdir");
    let engine = start(&data).await;
    let mut p = plan("Docs", &src, &disk.join("repo"));
    p.include_caretaker_data = false;
    engine.create_backup_plan(p.clone(), PASSWORD.into(), None).await.expect("create plan");

    let code = |r: Result<Vec<caretaker_engine::backup::protocol::SnapshotInfo>, caretaker_engine::EngineError>| {
        r.expect_err("must fail").payload().code
    };
    assert_eq!(code(engine.backup_snapshots("Nope").await), ErrorCode::NotFound);
    let wrong = engine.set_backup_password("Docs", "not the password at all".into()).await.expect_err("wrong password");
    assert_eq!(wrong.payload().code, ErrorCode::WrongPassword, "{wrong}");
    std::fs::rename(&disk, tmp.path().join("unplugged")).expect("unplug");
    assert_eq!(code(engine.backup_snapshots("Docs").await), ErrorCode::RepositoryUnreachable);
    let mut bad = p.clone();
    bad.name = "Second".into();
    bad.sources = vec![];
    let invalid = engine.create_backup_plan(bad, PASSWORD.into(), None).await.expect_err("invalid plan");
    let payload = invalid.payload();
    assert_eq!(payload.code, ErrorCode::InvalidConfig, "{invalid}");
    assert!(payload.fields.iter().all(|f| f.starts_with("backups.plans[1]")) && !payload.fields.is_empty(), "{:?}", payload.fields);
    engine.shutdown().await;
}
