//! A backup of folders holding files the process cannot read: the real worker and engine, a real
//! repository that the Debian `restic` CLI reads back. Such a run is "partial" with the count and
//! the paths, never "ok"; two in a row raise an alert, a clean one resolves it.
//!
//! Tests here often run as root, for whom mode 000 blocks nothing (CAP_DAC_OVERRIDE). Then the
//! worker is started through `setpriv` without the two capabilities that bypass file
//! permissions, so mode 000 refuses it as it would refuse any user's process.

use caretaker_engine::alerts::notify::Sink;
use caretaker_engine::backup::config::PlanConfig;
use caretaker_engine::backup::protocol::{BackupJob, BackupSummary, Op, Request, UnreadableReason};
use caretaker_engine::backup::worker::call;
use caretaker_engine::backup::BackupRun;
use caretaker_engine::{Engine, EngineHandle, EngineOptions, Event};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const PASSWORD: &str = "correct horse battery staple";
const EXE: &str = env!("CARGO_BIN_EXE_caretaker");

struct Quiet;
impl Sink for Quiet {
    fn show(&self, _title: &str, _body: &str, _critical: bool) -> Result<(), String> {
        Ok(())
    }
}

/// The worker to start: the binary itself, or (as root) a wrapper that drops the capabilities
/// that let root read anything.
fn worker_exe(dir: &Path) -> PathBuf {
    // SAFETY: a plain syscall with no arguments.
    if unsafe { libc::geteuid() } != 0 {
        return PathBuf::from(EXE);
    }
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].into_iter().find(|p| Path::new(p).exists());
    let setpriv = setpriv.expect("running as root: setpriv (util-linux) is needed to start the worker without CAP_DAC_OVERRIDE");
    let wrapper = dir.join("worker-without-dac.sh");
    let script = format!("#!/bin/sh\nexec {setpriv} --bounding-set=-dac_override,-dac_read_search {EXE} \"$@\"\n");
    std::fs::write(&wrapper, script).expect("wrapper");
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).expect("chmod wrapper");
    wrapper
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A folder with one readable file, one file and one folder nobody may read.
fn make_source(src: &Path) {
    std::fs::create_dir_all(src.join("locked")).expect("mkdir");
    std::fs::write(src.join("readable.txt"), b"hello").expect("write");
    std::fs::write(src.join("secret.txt"), b"private").expect("write");
    std::fs::write(src.join("locked/inner.txt"), b"inside").expect("write");
    chmod(&src.join("secret.txt"), 0o000);
    chmod(&src.join("locked"), 0o000);
}

/// Gives the source back its permissions, so the temporary folder can be removed.
fn unlock(src: &Path) {
    chmod(&src.join("secret.txt"), 0o644);
    chmod(&src.join("locked"), 0o755);
}

fn restic(repo: &Path, args: &[&str]) -> String {
    let out = Command::new("restic")
        .arg("-r")
        .arg(repo)
        .args(args)
        .env("RESTIC_PASSWORD", PASSWORD)
        .env("RESTIC_CACHE_DIR", repo.with_extension("cache"))
        .output()
        .expect("the restic CLI must be installed (Debian package restic)");
    assert!(out.status.success(), "restic {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_worker_reports_what_it_could_not_read() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (src, repo) = (tmp.path().join("src"), tmp.path().join("repo"));
    make_source(&src);
    let exe = worker_exe(tmp.path());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let run = |op: Op| {
        let req = Request {
            repository: repo.clone(),
            password: PASSWORD.into(),
            server_password: None,
            key: None,
            remote: Default::default(),
            op,
        };
        rt.block_on(call(&exe, &req, |_| {}, &CancellationToken::new()))
    };
    run(Op::Init).expect("init");
    let job = BackupJob {
        sources: vec![src.clone()],
        excludes: vec![],
        host: "test".into(),
        tags: vec!["t".into()],
        label: "p".into(),
        resume: false,
    };
    let answer = run(Op::Backup(job));
    unlock(&src);
    let summary: BackupSummary = serde_json::from_value(answer.expect("the backup completes")).expect("summary");

    assert_eq!(summary.unreadable, 2, "{summary:?}");
    let mut items: Vec<(String, UnreadableReason)> = summary.unreadable_items.iter().map(|i| (i.path.clone(), i.reason)).collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let path = |rel: &str| src.join(rel).display().to_string();
    assert_eq!(items, vec![(path("locked"), UnreadableReason::PermissionDenied), (path("secret.txt"), UnreadableReason::PermissionDenied)]);
    assert!(summary.unreadable_items.iter().all(|i| i.message.contains("denied")), "{:?}", summary.unreadable_items);
    // The readable file is in the snapshot; the unreadable one is not.
    let listed = restic(&repo, &["ls", "latest"]);
    assert!(listed.contains(&path("readable.txt")), "{listed}");
    assert!(!listed.contains(&path("secret.txt")), "{listed}");
}

async fn engine(data: &Path, worker: PathBuf) -> EngineHandle {
    std::env::set_var(caretaker_engine::backup::secret::KEYCHAIN_ENV, "off");
    std::fs::write(data.join("caretaker.toml"), "[metrics]\ninterval_secs = 60\n[checks]\nlist = []\n").expect("config");
    let mut o = EngineOptions::new(data);
    o.notifier = Arc::new(Quiet);
    o.backup_worker = worker;
    Engine::start(o).await.expect("engine")
}

async fn back_up(engine: &EngineHandle, rx: &mut tokio::sync::broadcast::Receiver<Event>) -> BackupRun {
    let id = engine.backup_now("Docs").await.expect("start");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let run = loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(Event::BackupFinished { run })) if run.id == id => break run,
            Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
            other => panic!("backup {id} did not finish: {other:?}"),
        }
    };
    // The retention that follows holds the job slot; the next backup waits for it.
    while engine.backup_job().is_some() {
        assert!(tokio::time::Instant::now() < deadline, "the retention did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    run
}

/// The unreadable-files alert as the alert list has it after the backup's own evaluation.
async fn alert_open(engine: &EngineHandle, want: bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let open = engine.open_alerts().into_iter().any(|a| a.rule == "backup_unreadable");
        if open == want || tokio::time::Instant::now() > deadline {
            return open;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_runs_warn_and_two_in_a_row_raise_an_alert_that_a_clean_run_resolves() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (data, src, repo) = (tmp.path().join("data"), tmp.path().join("Documents"), tmp.path().join("repo"));
    std::fs::create_dir_all(&data).expect("mkdir");
    make_source(&src);
    let engine = engine(&data, worker_exe(tmp.path())).await;
    let mut rx = engine.subscribe();
    let plan = PlanConfig {
        name: "Docs".into(),
        sources: vec![src.display().to_string()],
        excludes: vec![],
        default_excludes: true,
        exclude_build_folders: false,
        repository: repo.display().to_string(),
        schedule: "manual".into(),
        keep: caretaker_engine::backup::config::default_keep(),
        host: "test-mini".into(),
        include_caretaker_data: false,
        upload_limit_kib: 0,
        pause_on_battery: true,
        pause_on_metered: true,
    };
    engine.create_backup_plan(plan, PASSWORD.into(), None).await.expect("create plan");

    let first = back_up(&engine, &mut rx).await;
    assert_eq!(first.status, "partial", "{first:?}");
    assert_eq!(first.unreadable, 2);
    assert!(first.unreadable_items.iter().any(|i| i.path == src.join("secret.txt").display().to_string()), "{first:?}");
    assert!(first.snapshot_id.is_some(), "a partial backup still saves a snapshot");
    let overview = engine.backups_overview().await.expect("overview");
    assert_eq!(overview.plans[0].health, "partial");
    assert_eq!(overview.plans[0].health_message, "Completed with 2 unreadable");
    let listed = engine.backup_history(Some("Docs".into()), 10).await.expect("history");
    assert_eq!(listed.iter().find(|r| r.id == first.id).map(|r| r.unreadable_items.len()), Some(2), "kept with the run");
    assert!(!alert_open(&engine, false).await, "one partial run warns on the card, no alert yet");

    let second = back_up(&engine, &mut rx).await;
    assert_eq!(second.status, "partial");
    assert!(alert_open(&engine, true).await, "two in a row raise the alert");
    let alert = engine.open_alerts().into_iter().find(|a| a.rule == "backup_unreadable").expect("alert");
    assert_eq!(alert.severity, "warning");
    assert!(alert.message.contains("secret.txt"), "{}", alert.message);

    unlock(&src);
    let clean = back_up(&engine, &mut rx).await;
    assert_eq!(clean.status, "ok", "{clean:?}");
    assert_eq!(clean.unreadable, 0);
    assert!(!alert_open(&engine, false).await, "a clean run resolves the alert");
    assert_eq!(engine.backups_overview().await.expect("overview").plans[0].health, "ok");
    engine.shutdown().await;
}
