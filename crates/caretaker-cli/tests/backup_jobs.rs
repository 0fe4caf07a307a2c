//! The backup job slot under trouble: a worker that goes silent, a repository that hangs while a
//! plan is created, a cancelled scheduled backup, and a prune another program's lock refuses.

use caretaker_backup::locks::{MasterKey, RepoLock};
use caretaker_engine::alerts::notify::Sink;
use caretaker_engine::backup::config::PlanConfig;
use caretaker_engine::backup::protocol::{Op, Request};
use caretaker_engine::backup::BackupRun;
use caretaker_engine::{Clock, Engine, EngineOptions, Event};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
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

struct TestClock(AtomicI64);
impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn options(data: &Path, worker: &Path) -> EngineOptions {
    std::env::set_var(caretaker_engine::backup::secret::KEYCHAIN_ENV, "off");
    let mut o = EngineOptions::new(data);
    o.notifier = Arc::new(Quiet);
    o.backup_worker = worker.to_path_buf();
    o
}

fn write_config(data: &Path, extra: &str) {
    std::fs::create_dir_all(data).expect("mkdir");
    std::fs::write(data.join("caretaker.toml"), format!("[metrics]\ninterval_secs = 60\n[checks]\nlist = []\n{extra}")).expect("config");
}

/// A stand-in worker that speaks the protocol: it answers a repository's creation, then for any
/// other job reports progress once and hangs (with a child of its own, as a hung mount would
/// leave rustic). `hang_on_init` makes it hang at once, like a share that stopped answering.
fn stand_in(dir: &Path, hang_on_init: bool) -> PathBuf {
    let path = dir.join(if hang_on_init { "hanging-worker" } else { "stand-in-worker" });
    let answer_init = if hang_on_init {
        ""
    } else {
        "case \"$line\" in *'\"op\":\"init\"'*) echo '{\"event\":\"done\",\"result\":null}'; exit 0;; esac\n"
    };
    let script = format!(
        "#!/bin/sh\nread -r line\n{answer_init}echo '{{\"event\":\"progress\",\"phase\":\"scanning\",\"bytes_done\":0,\"bytes_total\":null,\"files_done\":0,\"files_total\":null}}'\necho started >> '{dir}/started'\nsleep 1000 &\necho $! > '{dir}/sleeper.pid'\nwait\n",
        dir = dir.display()
    );
    std::fs::write(&path, script).expect("script");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    path
}

fn plan(name: &str, src: &Path, repo: &Path) -> PlanConfig {
    PlanConfig {
        name: name.into(),
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
    }
}

async fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn finished(rx: &mut tokio::sync::broadcast::Receiver<Event>, id: i64) -> BackupRun {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(Event::BackupFinished { run })) if run.id == id => return run,
            Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
            other => panic!("backup run {id} did not finish: {other:?}"),
        }
    }
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only asks whether the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_stops_reporting_is_stopped_as_stuck_with_an_alert() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    write_config(&data, "");
    let mut o = options(&data, &stand_in(tmp.path(), false));
    o.backup_stuck_after = Some(Duration::from_secs(2));
    let engine = Engine::start(o).await.expect("engine");
    let mut rx = engine.subscribe();
    engine
        .create_backup_plan(plan("Docs", &tmp.path().join("src"), &tmp.path().join("repo")), PASSWORD.into(), None)
        .await
        .expect("create");

    let id = engine.backup_now("Docs").await.expect("start");
    let run = finished(&mut rx, id).await;
    assert_eq!((run.status.as_str(), run.error_kind.as_deref()), ("failed", Some("stuck")), "{run:?}");
    assert!(run.error.as_deref().unwrap_or_default().contains("made no progress for 2 seconds"), "{run:?}");
    assert!(engine.backup_job().is_none(), "the job slot is free again");
    let sleeper: i32 = std::fs::read_to_string(tmp.path().join("sleeper.pid")).expect("pid").trim().parse().expect("pid");
    until("the worker's whole process group to be stopped", || (!alive(sleeper)).then_some(())).await;
    engine.evaluate_backups().await;
    let alerts = engine.open_alerts();
    let stuck = alerts.iter().find(|a| a.rule == "backup_stuck").expect("a backup_stuck alert");
    assert!(stuck.message.contains("made no progress"), "{stuck:?}");
    assert!(!alerts.iter().any(|a| a.rule == "backup_failed"), "one alert for one stuck job: {alerts:?}");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_repository_does_not_hold_up_other_settings_while_a_plan_is_created() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    write_config(&data, "");
    let engine = Engine::start(options(&data, &stand_in(tmp.path(), true))).await.expect("engine");
    let creating = {
        let (engine, p) = (engine.clone(), plan("Docs", &tmp.path().join("src"), &tmp.path().join("repo")));
        tokio::spawn(async move { engine.create_backup_plan(p, PASSWORD.into(), None).await })
    };
    until("the worker to start", || tmp.path().join("started").exists().then_some(())).await;
    let other = tokio::time::timeout(Duration::from_secs(10), engine.delete_backup_plan("Elsewhere".into())).await;
    let err = other.expect("another settings change is not blocked by the hanging worker").expect_err("no such plan");
    assert!(err.to_string().contains("Elsewhere"), "{err}");
    engine.shutdown().await;
    assert!(creating.await.expect("task").is_err(), "the creation was stopped with the engine");
}

fn hourly_plans(tmp: &Path) -> String {
    let mut toml = String::from("[backups]\n");
    for name in ["Hourly", "Marker"] {
        let repo = tmp.join(format!("repo-{name}"));
        caretaker_engine::backup::secret::store(&tmp.join("data"), &repo.display().to_string(), PASSWORD).expect("password");
        toml += &format!(
            "[[backups.plans]]\nname = \"{name}\"\nsources = [\"{}\"]\nrepository = \"{}\"\nschedule = \"hourly\"\nhost = \"test-mini\"\ninclude_caretaker_data = false\n",
            tmp.join("src").display(),
            repo.display()
        );
    }
    toml
}

/// The person's Cancel of a scheduled backup holds: the schedule does not start it again at
/// once (the next engine start ticks at once, so a plan still due would start first).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_scheduled_backup_is_not_started_again_at_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).expect("mkdir");
    write_config(&data, &hourly_plans(tmp.path()));
    let worker = stand_in(tmp.path(), false);
    let clock = Arc::new(TestClock(AtomicI64::new(caretaker_engine::SystemClock.now_ms())));
    let start = |clock: Arc<TestClock>| {
        let mut o = options(&data, &worker);
        o.clock = clock;
        Engine::start(o)
    };

    let engine = start(clock.clone()).await.expect("engine");
    let job = until("the scheduled backup", || engine.backup_job()).await;
    assert_eq!(job.plan, "Hourly");
    engine.cancel_backup_job().expect("cancel");
    until("the job to end", || engine.backup_job().is_none().then_some(())).await;
    let runs = engine.backup_history(Some("Hourly".into()), 5).await.expect("history");
    assert_eq!((runs[0].status.as_str(), runs[0].trigger.as_str()), ("cancelled", "schedule"), "{runs:?}");
    engine.shutdown().await;

    clock.0.fetch_add(60_000, Ordering::SeqCst);
    let engine = start(clock.clone()).await.expect("engine");
    let job = until("the next scheduled backup", || engine.backup_job()).await;
    assert_eq!(job.plan, "Marker", "the cancelled plan waits for its retry");
    engine.cancel_backup_job().expect("cancel");
    until("the job to end", || engine.backup_job().is_none().then_some(())).await;
    let runs = engine.backup_history(Some("Hourly".into()), 5).await.expect("history");
    assert_eq!(runs.len(), 1, "{runs:?}");
    engine.shutdown().await;
}

fn master_key(repo: &Path) -> MasterKey {
    let r = Request {
        repository: repo.to_path_buf(),
        password: PASSWORD.into(),
        server_password: None,
        key: None,
        remote: Default::default(),
        op: Op::Snapshots,
    };
    let mut key = None;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(caretaker_engine::backup::worker::call_keyed(Path::new(EXE), &r, |_| {}, |k| key = Some(k), &CancellationToken::new()))
        .expect("snapshots");
    serde_json::from_str(&key.expect("key")).expect("key shape")
}

/// Maintenance's "Prune backups" says a prune another program's lock refused did not happen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prune_refused_by_another_programs_lock_is_not_reported_as_done() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (data, src, repo) = (tmp.path().join("data"), tmp.path().join("src"), tmp.path().join("repo"));
    write_config(&data, "");
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::write(src.join("a.txt"), b"a").expect("write");
    let engine = Engine::start(options(&data, Path::new(EXE))).await.expect("engine");
    let mut rx = engine.subscribe();
    engine.create_backup_plan(plan("Docs", &src, &repo), PASSWORD.into(), None).await.expect("create");
    let id = engine.backup_now("Docs").await.expect("start");
    assert_eq!(finished(&mut rx, id).await.status, "ok");
    until("the retention run", || engine.backup_job().is_none().then_some(())).await;

    let repo2 = repo.clone();
    let held = tokio::task::spawn_blocking(move || RepoLock::acquire(&repo2, &master_key(&repo2), false, "backing up"))
        .await
        .expect("task")
        .expect("another program's lock");
    let refused = engine.prune_backup("Docs").await.expect_err("a prune under another program's lock");
    assert!(refused.to_string().contains("pruning later"), "{refused}");
    let run_id = engine.run_maintenance().expect("maintenance");
    let report = until("the maintenance run", || {
        let status = tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(engine.maintenance_status())).ok()?;
        status.last_run.filter(|r| r.run_id == run_id)
    })
    .await;
    let task = report.tasks.iter().find(|t| t.task_id == "prune_backups").expect("the prune task");
    assert_eq!(serde_json::to_value(task.status).expect("status"), "skipped", "{task:?}");
    assert!(task.message.as_deref().unwrap_or_default().contains("another program is writing to it"), "{task:?}");
    let forgets: Vec<BackupRun> =
        engine.backup_history(Some("Docs".into()), 10).await.expect("history").into_iter().filter(|r| r.kind == "forget").collect();
    assert_eq!(forgets[0].error_kind.as_deref(), Some("locked"), "{forgets:?}");
    drop(held);
    engine.prune_backup("Docs").await.expect("a prune once the lock is gone");
    engine.shutdown().await;
}
