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

    // The HTTP endpoint too: switched on by a hand edit, it listens without a restart.
    let web = free_port();
    let http =
        edited.replace("interval_secs = 60", "interval_secs = 30") + &format!("[http]\nenabled = true\nbind = \"127.0.0.1:{web}\"\n");
    std::fs::write(dir.path().join("caretaker.toml"), &http).unwrap();
    assert_eq!(engine.reload_config().await.unwrap(), Reloaded::Applied { at_next_start: Vec::new() });
    let status = until("the endpoint answers", 10, async || get(web, "/metrics")).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    // And off again: the port is let go.
    std::fs::write(dir.path().join("caretaker.toml"), http.replace("enabled = true\nbind", "enabled = false\nbind")).unwrap();
    engine.reload_config().await.unwrap();
    until("the endpoint is gone", 10, async || get(web, "/metrics").is_none().then_some(())).await;
    engine.shutdown().await;
}

/// The status line of a GET on the loopback port, None when nothing answers.
fn get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.lines().next().map(str::to_string)
}
