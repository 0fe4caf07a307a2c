//! Restoring Caretaker itself: its database and settings from a plan's latest snapshot, checked,
//! waiting in the data folder, put in place by the next engine start with the old files kept.
//! The worker is the real `caretaker` binary, the repository a real folder.

use caretaker_engine::alerts::notify::Sink;
use caretaker_engine::backup::config::PlanConfig;
use caretaker_engine::backup::own_data::{PENDING, READY};
use caretaker_engine::{Engine, EngineHandle, EngineOptions, Event};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const PASSWORD: &str = "correct horse battery staple";

struct Quiet;
impl Sink for Quiet {
    fn show(&self, _title: &str, _body: &str, _critical: bool) -> Result<(), String> {
        Ok(())
    }
}

async fn start(dir: &Path) -> EngineHandle {
    std::env::set_var(caretaker_engine::backup::secret::KEYCHAIN_ENV, "off");
    let mut o = EngineOptions::new(dir);
    o.notifier = Arc::new(Quiet);
    o.backup_worker = PathBuf::from(env!("CARGO_BIN_EXE_caretaker"));
    Engine::start(o).await.expect("engine")
}

async fn finished(rx: &mut tokio::sync::broadcast::Receiver<Event>, kind: &str) -> caretaker_engine::backup::BackupRun {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(Event::BackupFinished { run })) if run.kind == kind => return run,
            Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
            other => panic!("no {kind} run finished: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caretakers_own_data_comes_back_from_the_latest_snapshot_at_the_next_start() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (data, src, repo) = (tmp.path().join("data"), tmp.path().join("Documents"), tmp.path().join("disk/repo"));
    for d in [&data, &src, &tmp.path().join("disk")] {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    std::fs::write(src.join("letter.txt"), b"Dear you").expect("write");
    std::fs::write(data.join("caretaker.toml"), "# as it was backed up\n[metrics]\ninterval_secs = 60\n[checks]\nlist = []\n")
        .expect("config");

    let engine = start(&data).await;
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
        include_caretaker_data: true,
        upload_limit_kib: 0,
        pause_on_battery: true,
        pause_on_metered: true,
    };
    engine.create_backup_plan(plan.clone(), PASSWORD.into(), None).await.expect("create plan");
    engine.backup_now("Docs").await.expect("start");
    assert_eq!(finished(&mut rx, "backup").await.status, "ok");
    finished(&mut rx, "forget").await;

    // Later the settings change by hand; that edit is what the restore takes back.
    let edited = std::fs::read_to_string(data.join("caretaker.toml")).expect("config") + "# edited after the backup\n";
    std::fs::write(data.join("caretaker.toml"), &edited).expect("edit");

    // A plan that leaves Caretaker's data out has nothing to give back, and says so.
    let restored = engine.restore_own_data("Docs", Some("nope".into())).await.expect_err("no such snapshot");
    assert!(restored.to_string().contains("no snapshot of the plan \"Docs\" holds Caretaker's own data with the id nope"), "{restored}");

    let ready = engine.restore_own_data("Docs", None).await.expect("restore");
    assert!(ready.message.contains("ready") && ready.host == "test-mini", "{ready:?}");
    assert!(data.join(PENDING).join(READY).is_file() && data.join(PENDING).join("caretaker.db").is_file());
    let runs = engine.backup_history(Some("Docs".into()), 10).await.expect("history");
    assert!(runs.iter().any(|r| r.kind == "restore" && r.status == "ok"), "the restore is recorded: {runs:?}");
    // Nothing changes under the running engine.
    assert_eq!(std::fs::read_to_string(data.join("caretaker.toml")).expect("config"), edited);
    engine.shutdown().await;

    let engine = start(&data).await;
    let toml = std::fs::read_to_string(data.join("caretaker.toml")).expect("config");
    assert!(toml.contains("# as it was backed up") && !toml.contains("# edited after the backup"), "{toml}");
    assert!(toml.contains("name = \"Docs\""), "the plan itself was in the backed-up settings: {toml}");
    let kept = std::fs::read_dir(&data).expect("ls").flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect::<Vec<_>>();
    assert!(kept.iter().any(|n| n.starts_with("caretaker.db.before-restore-")), "{kept:?}");
    let old_toml = kept.iter().find(|n| n.starts_with("caretaker.toml.before-restore-")).expect("the edited settings are kept");
    assert_eq!(std::fs::read_to_string(data.join(old_toml)).expect("old"), edited);
    assert!(!data.join(PENDING).exists());
    // The restored database is the copy taken while the backup ran: the restore run is not in it.
    let runs = engine.backup_history(Some("Docs".into()), 10).await.expect("history");
    assert!(!runs.iter().any(|r| r.kind == "restore"), "{runs:?}");
    assert!(engine.backup_snapshots("Docs").await.expect("the plan still opens its repository").len() == 1);
    engine.shutdown().await;
}
