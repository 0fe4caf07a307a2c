//! The config banner's repairs: a refused caretaker.toml is mended from the app, by resetting the
//! bad section to its defaults or by putting the last good copy back. The file as it was is kept;
//! the repaired file applies at once and the config alert resolves; the rest of the file stays.

mod common;

use caretaker_engine::alerts::AlertStatus;
use caretaker_engine::{Engine, EngineHandle, EngineOptions};
use common::until;

const GOOD: &str = "# my notes\n[metrics]\ninterval_secs = 60\n[notifications]\nenabled = false\n[maintenance]\ndaily_at = \"04:45\"\n";

async fn config_alert_open(e: &EngineHandle) -> bool {
    e.snapshot().alerts.into_iter().any(|a| a.rule == "config" && a.status != AlertStatus::Resolved)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_a_bad_section_and_restore_the_last_good_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("caretaker.toml");
    std::fs::write(&file, GOOD).unwrap();
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    assert_eq!(engine.config().maintenance.daily_at, "04:45");

    // A bad alerts table: refused, monitoring goes on with what ran.
    let broken = format!("{GOOD}[alerts.cpu]\nwarning = 250\n");
    std::fs::write(&file, &broken).unwrap();
    let _ = engine.reload_config().await.unwrap();
    assert!(config_alert_open(&engine).await);

    // A section that is not in the file is refused, naming it; nothing is written.
    let err = engine.reset_file_section("checks".into()).await.unwrap_err();
    assert!(err.to_string().contains("[checks]"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), broken);

    let left = engine.reset_file_section("alerts".into()).await.unwrap();
    assert!(left.is_empty(), "{left:?}");
    let now = std::fs::read_to_string(&file).unwrap();
    assert!(!now.contains("[alerts"), "{now}");
    assert!(now.contains("# my notes") && now.contains("daily_at = \"04:45\""), "the rest of the file stays: {now}");
    assert_eq!(std::fs::read_to_string(dir.path().join("caretaker.before-repair.toml")).unwrap(), broken, "the old file is kept");
    assert!(!config_alert_open(&engine).await, "the alert resolves once the file loads");

    // Not TOML at all: no section can be picked out, the last good copy can be put back.
    std::fs::write(&file, "[maintenance\ndaily_at = 3\n").unwrap();
    let _ = engine.reload_config().await.unwrap();
    assert!(config_alert_open(&engine).await);
    let err = engine.reset_file_section("maintenance".into()).await.unwrap_err();
    assert!(err.to_string().contains("not valid TOML"), "{err}");
    let left = engine.restore_last_good_config().await.unwrap();
    assert!(left.is_empty(), "{left:?}");
    assert!(std::fs::read_to_string(&file).unwrap().contains("# my notes"));
    until("the alert resolves", 10, async || (!config_alert_open(&engine).await).then_some(())).await;
    assert_eq!(engine.config().maintenance.daily_at, "04:45");
}
