//! Carrying out healing actions: what a command leaves running, what a timeout stops, and what
//! a `clear_folder` action refuses to touch.

use caretaker_engine::config::{ActionConfig, ClearFolderAction, HealingMode};
use caretaker_engine::healing;
use std::time::Duration;

/// Whether `pid` is still a running process (a zombie waiting for its reaper counts as gone).
fn running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')),
        Err(_) if std::path::Path::new("/proc/self").exists() => false,
        // No /proc (macOS): signal 0 only asks whether the process exists.
        Err(_) => std::process::Command::new("kill").args(["-0", &pid.to_string()]).status().is_ok_and(|s| s.success()),
    }
}

/// Runs `run_argv` on a thread and fails (instead of hanging the suite) if it does not return.
fn run_argv_within(argv: &[&str], timeout_secs: u64, within: Duration) -> healing::RunOutput {
    let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(healing::run_argv(&argv, None, &[], Duration::from_secs(timeout_secs)));
    });
    rx.recv_timeout(within).unwrap_or_else(|_| panic!("run_argv did not return within {within:?}"))
}

#[test]
fn a_background_child_holding_the_pipes_does_not_hold_up_the_action() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("bg.pid");
    let script = format!("sleep 60 & echo $! > {}; echo started", pidfile.display());
    let out = run_argv_within(&["/bin/sh", "-c", &script], 30, Duration::from_secs(10));
    let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    let still_running = running(pid);
    let _ = std::process::Command::new("kill").arg(pid.to_string()).status();
    assert!(out.ok, "{out:?}");
    assert_eq!(out.stdout, "started");
    assert!(still_running, "what the action started on purpose is left running");
}

#[test]
fn a_timeout_stops_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("bg.pid");
    let script = format!("sleep 60 & echo $! > {}; sleep 60", pidfile.display());
    let out = run_argv_within(&["/bin/sh", "-c", &script], 1, Duration::from_secs(15));
    assert!(!out.ok);
    assert_eq!(out.outcome, "/bin/sh did not finish within 1 s and was stopped");
    let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while running(pid) {
        if std::time::Instant::now() > deadline {
            let _ = std::process::Command::new("kill").arg(pid.to_string()).status();
            panic!("the background child {pid} outlived the timeout");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The folder is checked again when the action runs: a symlink that now points at Caretaker's
/// data folder is refused, and nothing in it is touched.
#[test]
fn clear_folder_refuses_at_run_time_a_link_to_the_data_folder() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("caretaker.db"), b"db").unwrap();
    let old = std::time::SystemTime::now() - Duration::from_secs(30 * 86_400);
    std::fs::File::options().write(true).open(data.join("caretaker.db")).unwrap().set_modified(old).unwrap();
    let link = dir.path().join("cache");
    std::os::unix::fs::symlink(&data, &link).unwrap();
    let a = ActionConfig {
        id: "clear".into(),
        name: "Clear".into(),
        mode: HealingMode::Auto,
        on_checks: vec![],
        on_alerts: vec!["disk".into()],
        max_per_hour: 3,
        cooldown_secs: 60,
        max_attempts: 3,
        verify_after_secs: 1,
        respect_manual_stop: true,
        restart_service: None,
        command: None,
        docker_restart: None,
        kill_process: None,
        clear_folder: Some(ClearFolderAction { path: link.display().to_string(), older_than_days: 7 }),
    };
    let out = healing::execute(&a, &data);
    assert!(!out.ok, "{out:?}");
    assert!(out.outcome.starts_with("refused: ") && out.outcome.contains("Caretaker's data folder"), "{}", out.outcome);
    assert!(data.join("caretaker.db").exists());
}
