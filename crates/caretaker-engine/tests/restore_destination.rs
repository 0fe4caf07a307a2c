//! A restore into the root folder is refused by the engine before any job starts, however the
//! root is written. No worker is needed: the answer must come before one would be started.

use caretaker_engine::{Engine, EngineError, EngineOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_into_the_root_folder_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).expect("mkdir");
    let (src, repo) = (tmp.path().join("src"), tmp.path().join("repo"));
    std::fs::create_dir_all(&src).expect("mkdir");
    let config = format!(
        "[checks]\nlist = []\n\n[backups]\n[[backups.plans]]\nname = \"Home\"\nsources = [\"{}\"]\nrepository = \"{}\"\nschedule = \"manual\"\n",
        src.display(),
        repo.display()
    );
    std::fs::write(data.join("caretaker.toml"), config).expect("config");
    let mut options = EngineOptions::new(&data);
    // A worker that cannot start: the refusal must not depend on one.
    options.backup_worker = tmp.path().join("no-such-worker");
    let engine = Engine::start(options).await.expect("engine");
    for root in ["/", "/tmp/..", "/./"] {
        let e = engine.restore_backup("Home", "latest".into(), String::new(), root.into(), None).await.expect_err("refused");
        assert!(matches!(e, EngineError::InvalidInput(_)), "{root}: {e:?}");
        assert!(e.to_string().contains("is the root folder"), "{root}: {e}");
    }
    engine.shutdown().await;
}
