//! The `caretaker` binary, run as a person would run it.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_caretaker"));
    c.env_remove("CARETAKER_DATA_DIR").env("CARETAKER_LOG", "warn");
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run caretaker")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn config_check_accepts_a_valid_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.toml");
    std::fs::write(&f, "[metrics]\ninterval_secs = 10\n").unwrap();
    let out = run(&["config", "check", f.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("valid"));
}

#[test]
fn config_check_names_every_bad_field_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.toml");
    std::fs::write(&f, "[metrics]\ninterval_secs = 99999\nraw_retention_hours = 0\n").unwrap();
    let out = run(&["config", "check", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("2 problem(s)"), "{err}");
    assert!(err.contains("metrics.interval_secs: must be between 1 and 3600 (got 99999)"), "{err}");
    assert!(err.contains("metrics.raw_retention_hours: must be between 1 and 8760 (got 0)"), "{err}");

    std::fs::write(&f, "[metrics]\nintervall_secs = 5\n").unwrap();
    let out = run(&["config", "check", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("metrics.intervall_secs: unknown field"), "{}", text(&out.stderr));
}

#[test]
fn config_check_of_a_missing_file_says_so() {
    let out = run(&["config", "check", "/nonexistent/caretaker.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot read config /nonexistent/caretaker.toml"), "{}", text(&out.stderr));
}

struct Daemon(Child);
impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_daemon(data: &Path) -> Daemon {
    Daemon(bin().args(["run", "--data-dir", data.to_str().unwrap()]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap())
}

fn status_json(data: &Path) -> Option<serde_json::Value> {
    let out = run(&["status", "--json", "--data-dir", data.to_str().unwrap()]);
    out.status.success().then(|| serde_json::from_slice(&out.stdout).ok()).flatten()
}

#[test]
fn run_headless_status_while_running_and_clean_stop_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("caretaker.toml"), "[metrics]\ninterval_secs = 1\n").unwrap();
    let mut daemon = start_daemon(&data);

    let deadline = Instant::now() + Duration::from_secs(20);
    let st = loop {
        if let Some(v) = status_json(&data) {
            if v["running"] == true && v["host"]["memory"]["total_bytes"].as_u64().unwrap_or(0) > 0 {
                break v;
            }
        }
        assert!(Instant::now() < deadline, "engine never reported a sample");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(st["engine"]["pid"].as_u64(), Some(u64::from(daemon.0.id())));

    // The text form is for people.
    let out = run(&["status", "--data-dir", data.to_str().unwrap()]);
    let s = text(&out.stdout);
    assert!(s.contains("Engine:   running"), "{s}");
    assert!(s.contains("Memory:"), "{s}");

    // A second engine on the same folder is refused, naming the holder.
    let second = run(&["run", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(second.status.code(), Some(1));
    assert!(
        text(&second.stderr).contains(&format!("in use by another Caretaker engine (pid {})", daemon.0.id())),
        "{}",
        text(&second.stderr)
    );

    let kill = Command::new("kill").args(["-TERM", &daemon.0.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let code = loop {
        if let Some(c) = daemon.0.try_wait().unwrap() {
            break c;
        }
        assert!(Instant::now() < deadline, "engine did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(code.success(), "clean exit after SIGTERM: {code:?}");
    let st = status_json(&data).unwrap();
    assert_eq!(st["running"], false);
    assert_eq!(st["engine"]["state"], "stopped");
}

#[test]
fn status_of_an_empty_folder_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["status", "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no Caretaker database in"), "{}", text(&out.stderr));
}

fn poll<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {secs} s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn starts_recorded(data: &Path) -> i64 {
    let count = || -> rusqlite::Result<i64> {
        let conn = rusqlite::Connection::open_with_flags(data.join("caretaker.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.query_row("SELECT count(*) FROM engine_runs", [], |r| r.get(0))
    };
    count().unwrap_or(0)
}

#[test]
fn three_kills_in_a_row_raise_a_critical_restart_loop_alert() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("caretaker.toml"), "[metrics]\ninterval_secs = 1\n[notifications]\nenabled = false\n").unwrap();
    for n in 1..=2 {
        let mut daemon = start_daemon(&data);
        poll("the start recorded", 20, || (starts_recorded(&data) >= n).then_some(()));
        daemon.0.kill().unwrap(); // SIGKILL: no clean stop is recorded
        daemon.0.wait().unwrap();
    }
    let daemon = start_daemon(&data);
    let alert = poll("the restart-loop alert", 20, || {
        let st = status_json(&data)?;
        st["alerts"].as_array()?.iter().find(|a| a["alert_type"] == "crash_loop").cloned()
    });
    assert_eq!(alert["severity"], "critical");
    assert!(alert["message"].as_str().unwrap_or("").contains("started 3 times"), "{alert}");
    drop(daemon);
}

#[test]
fn a_database_from_a_newer_caretaker_stops_run_with_its_own_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("caretaker.db")).unwrap();
    conn.execute_batch("PRAGMA user_version = 9999;").unwrap();
    drop(conn);
    // Killed on drop should it start after all.
    let mut daemon = start_daemon(dir.path());
    let status = poll("caretaker run to give up on the newer database", 30, || daemon.0.try_wait().unwrap());
    let mut err = String::new();
    std::io::Read::read_to_string(&mut daemon.0.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(65), "{err}");
    assert!(err.contains("written by a newer Caretaker (schema version 9999"), "{err}");
    assert!(err.contains("install the newer Caretaker"), "{err}");
}
