//! Hand edits of caretaker.toml while the engine runs: a valid one applies without a restart
//! (noticed by the file watcher, no call from the test), an invalid one changes nothing but an
//! alert naming the field and the file, which clears when the file is fixed.

mod common;

use caretaker_engine::{Engine, EngineOptions, Reloaded};
use common::{free_port, until};
use std::path::Path;

/// Writes the file the way editors save: a new file renamed over the old one.
fn save_as_an_editor_does(dir: &Path, text: &str) {
    let tmp = dir.join(".caretaker.toml.swp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, dir.join("caretaker.toml")).unwrap();
}

fn config(port: u16, extra: &str) -> String {
    format!(
        "[metrics]\ninterval_secs = 60\n[notifications]\nenabled = false\n[maintenance]\ndaily_at = \"03:30\"\n\
         [[checks.list]]\nname = \"First\"\ninterval_secs = 3600\ntimeout_secs = 2\ntcp = {{ port = {port} }}\n{extra}"
    )
}

/// The checks the engine runs, by name.
async fn names(e: &caretaker_engine::EngineHandle) -> Vec<String> {
    e.checks().await.unwrap().into_iter().map(|c| c.config.name).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_edits_apply_while_running_and_a_bad_one_stops_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(dir.path().join("caretaker.toml"), config(port, "")).unwrap();
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    assert_eq!(names(&engine).await, vec!["First"]);

    // A valid edit: a second check, new CPU lines, maintenance at another time.
    let second = format!("[[checks.list]]\nname = \"Second\"\ninterval_secs = 3600\ntimeout_secs = 2\ntcp = {{ port = {port} }}\n");
    let edited = config(port, &second).replace("daily_at = \"03:30\"", "daily_at = \"04:45\"")
        + "[alerts.cpu]\nwarning = 70.0\ncritical = 90.0\nclear_margin = 5.0\n";
    save_as_an_editor_does(dir.path(), &edited);
    until("the new check runs", 10, async || (names(&engine).await == ["First", "Second"]).then_some(())).await;
    assert_eq!(engine.config().alerts.cpu.warning, 70.0);
    assert_eq!(engine.config().maintenance.daily_at, "04:45");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("caretaker.last-good.toml")).unwrap(),
        edited,
        "the good file is kept as the last good copy"
    );

    // A mistake: refused, everything keeps running as it was, an alert says where.
    save_as_an_editor_does(dir.path(), &edited.replace("interval_secs = 60", "interval_secs = 0"));
    let alert = until("the mistake is said", 10, async || engine.open_alerts().into_iter().find(|a| a.rule == "config")).await;
    assert!(alert.message.contains("metrics.interval_secs: must be between 1 and 3600 (got 0)"), "{}", alert.message);
    assert!(alert.message.contains(&dir.path().join("caretaker.toml").display().to_string()), "{}", alert.message);
    assert!(alert.title.contains("the settings it had before this change"), "{}", alert.title);
    assert_eq!(engine.config().metrics.interval_secs, 60);
    assert_eq!(names(&engine).await, vec!["First", "Second"]);
    assert_eq!(engine.reload_config().await.unwrap(), Reloaded::Refused);

    // Fixed: the alert clears, the change applies.
    save_as_an_editor_does(dir.path(), &edited.replace("interval_secs = 60", "interval_secs = 30"));
    until("the alert clears", 10, async || engine.open_alerts().iter().all(|a| a.rule != "config").then_some(())).await;
    until("the fix applies", 10, async || (engine.config().metrics.interval_secs == 30).then_some(())).await;
    assert_eq!(engine.reload_config().await.unwrap(), Reloaded::Same, "nothing new in the file");

    // A part read only at start is said, not silently ignored.
    let http = edited.replace("interval_secs = 60", "interval_secs = 30") + "[http]\nenabled = true\nbind = \"127.0.0.1:0\"\n";
    std::fs::write(dir.path().join("caretaker.toml"), &http).unwrap();
    let outcome = engine.reload_config().await.unwrap();
    assert!(
        matches!(&outcome, Reloaded::Applied { at_next_start } if at_next_start == &["http"]) || outcome == Reloaded::Same,
        "{outcome:?}"
    );
    assert!(engine.config().http.enabled);
    engine.shutdown().await;
}
