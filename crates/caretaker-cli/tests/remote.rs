//! The CLI's commands that act on a running engine, end to end: a real `caretaker run`, the
//! real `caretaker` commands as separate processes, their `--json` output and exit codes.

#[path = "remote/backup.rs"]
mod backup;
#[path = "remote/channels.rs"]
mod channels;
mod common;
#[path = "remote/peer.rs"]
mod peer;

use common::{json_values, poll, text, Engine};
use serde_json::Value;
use std::io::BufRead;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn without_an_engine_every_remote_command_says_which_folder_and_how_to_start_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // A folder with no engine, and one that does not exist at all.
    for data in [tmp.path().to_path_buf(), tmp.path().join("missing")] {
        let to = tmp.path().join("restored");
        let to = to.to_str().expect("utf-8");
        let commands: &[&[&str]] = &[
            &["alerts"],
            &["alerts", "list", "--json"],
            &["alerts", "ack", "1"],
            &["alerts", "snooze", "1", "--hours", "4"],
            &["alerts", "resolve", "1"],
            &["checks"],
            &["checks", "list", "--json"],
            &["checks", "run", "web"],
            &["channels"],
            &["channels", "test", "phone"],
            &["backup"],
            &["backup", "list", "--json"],
            &["backup", "run", "Docs"],
            &["backup", "snapshots", "Docs"],
            &["backup", "history"],
            &["backup", "restore", "Docs", "latest", "--to", to],
            &["backup", "verify", "Docs", "--read-data"],
            &["maintain"],
            &["maintain", "status", "--json"],
            &["maintain", "run"],
            &["maintain", "cancel"],
            &["logs", "--lines", "5"],
            &["logs", "--follow", "--json"],
            &["stop"],
        ];
        for args in commands {
            let out = common::cli_at(&data, args);
            let err = text(&out.stderr);
            assert!(!out.status.success(), "caretaker {args:?} succeeded without an engine: {}", text(&out.stdout));
            assert!(err.contains(&format!("no Caretaker engine is running for {}", data.display())), "caretaker {args:?}: {err}");
            assert!(err.contains("start it with `caretaker run`"), "caretaker {args:?}: {err}");
            assert!(out.stdout.is_empty(), "caretaker {args:?} printed: {}", text(&out.stdout));
        }
        assert!(!tmp.path().join("restored").exists(), "nothing is created without an engine");
    }
}

fn find_alert(list: &Value, id: i64) -> Option<&Value> {
    list.as_array().expect("an array of alerts").iter().find(|a| a["id"] == id)
}

#[test]
fn a_failing_check_raises_an_alert_that_can_be_acknowledged_snoozed_and_resolved() {
    let port = common::free_port();
    let engine = Engine::start(&format!(
        "[alerts]\ncheck_failures_before_alert = 1\n\
         [[checks.list]]\nname = \"closed port\"\ninterval_secs = 5\ntimeout_secs = 2\ntcp = {{ port = {port} }}\n"
    ));
    let alert = poll("the check's alert", 30, || {
        let list = engine.json(&["alerts", "--json"]);
        list.as_array()?.iter().find(|a| a["rule"] == "check" && a["subject"] == "closed port").cloned()
    });
    assert_eq!(alert["status"], "active", "{alert}");
    assert!(alert["snoozed_until"].is_null() && alert["acknowledged_at"].is_null(), "{alert}");
    let id = alert["id"].as_i64().expect("id");
    let id_arg = id.to_string();

    let acked = engine.json(&["alerts", "ack", &id_arg, "--json"]);
    assert_eq!(acked[0]["id"], id);
    assert_eq!(acked[0]["status"], "acknowledged", "{acked}");
    assert!(acked[0]["acknowledged_at"].is_i64(), "{acked}");
    let listed = engine.json(&["alerts", "list", "--json"]);
    assert_eq!(find_alert(&listed, id).expect("still open")["status"], "acknowledged");

    // The engine snoozes for 1, 4 or 8 hours; another length is refused, saying which.
    let out = engine.cli(&["alerts", "snooze", &id_arg, "--hours", "2", "--json"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("snooze for 1, 4 or 8 hours (got 2)"), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let listed = engine.json(&["alerts", "list", "--json"]);
    assert!(find_alert(&listed, id).expect("still open")["snoozed_until"].is_null(), "a refused snooze changes nothing");

    let before = now_ms();
    let snoozed = engine.json(&["alerts", "snooze", &id_arg, "--hours", "4", "--json"]);
    let after = now_ms();
    let until = snoozed[0]["snoozed_until"].as_i64().expect("snoozed_until");
    assert!((before + 4 * 3_600_000..=after + 4 * 3_600_000).contains(&until), "{snoozed}");
    assert_eq!(snoozed[0]["status"], "acknowledged", "snoozing keeps the acknowledgement");
    let listed = engine.json(&["alerts", "list", "--json"]);
    assert_eq!(find_alert(&listed, id).expect("still open")["snoozed_until"], until);

    let resolved = engine.json(&["alerts", "resolve", &id_arg, "--json"]);
    assert_eq!(resolved[0]["status"], "resolved", "{resolved}");
    assert!(resolved[0]["resolved_at"].is_i64(), "{resolved}");
    let open = engine.json(&["alerts", "list", "--json"]);
    assert!(find_alert(&open, id).is_none(), "a resolved alert is no longer listed as open: {open}");
    let all = engine.json(&["alerts", "list", "--all", "--json"]);
    assert_eq!(find_alert(&all, id).expect("listed with --all")["status"], "resolved");

    // Acting on an alert that is closed is refused by the engine.
    let out = engine.cli(&["alerts", "ack", &id_arg]);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains(&format!("alert {id} is not open")), "{}", text(&out.stderr));
}

fn now_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970");
    i64::try_from(now.as_millis()).expect("fits")
}

#[test]
fn checks_are_listed_and_run_now_with_an_exit_code_for_their_health() {
    // Accepts connections (the kernel completes them) for as long as the test holds it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let up = listener.local_addr().expect("addr").port();
    let down = common::free_port();
    let engine = Engine::start(&format!(
        "[[checks.list]]\nname = \"web\"\ninterval_secs = 3600\ntcp = {{ port = {up} }}\n\
         [[checks.list]]\nname = \"db\"\ninterval_secs = 3600\ntimeout_secs = 2\ntcp = {{ port = {down} }}\n"
    ));
    let list = engine.json(&["checks", "list", "--json"]);
    let names: Vec<&str> = list.as_array().expect("array").iter().filter_map(|c| c["config"]["name"].as_str()).collect();
    assert_eq!(names, ["web", "db"], "{list}");
    assert_eq!(list[0]["kind"], "tcp");
    assert!(list[0]["target"].as_str().is_some_and(|t| t.contains(&up.to_string())), "{list}");
    // The scheduler may have run them in between: the same checks, not the same results.
    let configs = |v: &Value| v.as_array().map(|a| a.iter().map(|c| c["config"].clone()).collect::<Vec<_>>());
    assert_eq!(configs(&engine.json(&["checks", "--json"])), configs(&list), "list is the default");

    let out = engine.cli(&["checks", "run", "web", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!((result["service_name"].as_str(), result["status"].as_str()), (Some("web"), Some("healthy")), "{result}");

    let out = engine.cli(&["checks", "run", "db", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).expect("the result is printed even when it is bad");
    assert_eq!(result["service_name"], "db");
    assert_ne!(result["status"], "healthy", "{result}");
    assert!(result["error_message"].is_string(), "{result}");
    assert!(text(&out.stderr).contains(&format!("db is {}", result["status"].as_str().unwrap_or("?"))), "{}", text(&out.stderr));

    let out = engine.cli(&["checks", "run", "nosuch"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no check named \"nosuch\""), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));

    // The run-now results were recorded as the latest ones.
    let list = engine.json(&["checks", "list", "--json"]);
    assert_eq!(list[0]["latest"]["status"], "healthy", "{list}");
    assert_ne!(list[1]["latest"]["status"], "healthy", "{list}");
    drop(listener);
}

#[test]
fn maintenance_status_run_to_the_end_and_cancel_with_nothing_running() {
    let engine = Engine::start("");
    let status = engine.json(&["maintain", "status", "--json"]);
    assert!(status["running"].is_null() && status["last_run"].is_null(), "{status}");
    assert!(status["next_run_ms"].is_i64(), "{status}");
    assert_eq!(engine.json(&["maintain", "--json"]), status, "status is the default");

    let out = engine.cli(&["maintain", "run", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let values = json_values(&out);
    let last = values.last().expect("at least the end of the run");
    assert_eq!(last["type"], "maintenance_complete", "{last}");
    let report = &last["report"];
    assert_eq!(report["status"], "completed", "{report}");
    let tasks = report["tasks"].as_array().expect("tasks");
    assert!(!tasks.is_empty(), "{report}");
    assert!(tasks.iter().all(|t| t["status"] != "failed"), "{report}");
    let run_id = report["run_id"].as_i64().expect("run id");
    assert!(
        values[..values.len() - 1].iter().all(|v| v["type"] == "maintenance_progress" && v["run_id"] == run_id),
        "only this run's progress comes before its end: {values:?}"
    );

    let status = engine.json(&["maintain", "status", "--json"]);
    assert_eq!(status["last_run"]["run_id"], run_id, "{status}");
    assert!(status["running"].is_null(), "{status}");

    let out = engine.cli(&["maintain", "cancel"]);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("no maintenance run is in progress"), "{}", text(&out.stderr));
}

/// Reads the child's stdout lines on a thread, so the test can wait for them with a deadline.
fn lines_of(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// The next printed log line that `wanted` accepts, as JSON.
fn next_line(rx: &std::sync::mpsc::Receiver<String>, deadline: Instant, mut wanted: impl FnMut(&Value) -> bool) -> Value {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).unwrap_or_else(|e| panic!("no such log line in time ({e})"));
        let value: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        if wanted(&value) {
            return value;
        }
    }
}

#[test]
fn logs_print_json_lines_and_follow_new_ones() {
    let engine = Engine::start("");
    // The engine's own start-up lines are stored shortly after it answers.
    let out = poll("stored log lines", 20, || {
        let out = engine.cli(&["logs", "--json", "--lines", "5"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        (!out.stdout.is_empty()).then_some(out)
    });
    let lines: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not one JSON object a line ({e}): {l}")))
        .collect();
    assert!((1..=5).contains(&lines.len()), "{lines:?}");
    for l in &lines {
        assert!(l["id"].is_i64() && l["ts_ms"].is_i64() && l["message"].is_string() && l["target"].is_string(), "{l}");
        assert!(["info", "warn", "error"].contains(&l["level"].as_str().unwrap_or("")), "{l}");
    }
    let ids: Vec<i64> = lines.iter().filter_map(|l| l["id"].as_i64()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first: {ids:?}");

    let mut follower = common::bin()
        .args(["logs", "--follow", "--json", "--lines", "1", "--data-dir"])
        .arg(&engine.data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start logs --follow");
    let rx = lines_of(&mut follower);
    let deadline = Instant::now() + Duration::from_secs(30);
    // Its first page printed: it is subscribed, so whatever is logged from now on reaches it.
    let first = next_line(&rx, deadline, |_| true);
    let first_id = first["id"].as_i64().expect("id");

    let out = engine.cli(&["maintain", "run", "--no-wait", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let started = next_line(&rx, deadline, |l| l["message"].as_str().is_some_and(|m| m.contains("maintenance run started")));
    assert!(started["id"].as_i64().is_some_and(|id| id > first_id), "{started}");
    assert_eq!(started["level"], "info");
    assert!(follower.try_wait().expect("wait").is_none(), "--follow keeps running");
    follower.kill().expect("kill");
    follower.wait().expect("reap");
}

#[test]
fn stop_ends_the_engine_cleanly_and_a_second_stop_finds_none() {
    let mut engine = Engine::start("");
    assert!(engine.socket().exists());
    let stopped = engine.json(&["stop", "--json"]);
    assert_eq!(stopped["stopped_pid"].as_u64(), Some(u64::from(engine.pid())), "{stopped}");
    let status = engine.wait_exit(30);
    assert!(status.success(), "caretaker run exited with {status}:\n{}", engine.stderr_text());
    assert!(!engine.socket().exists(), "the socket is removed when the engine stops");
    assert!(engine.stderr_text().contains("asked to stop through the control socket"), "{}", engine.stderr_text());

    let out = engine.cli(&["stop"]);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("no Caretaker engine is running for"), "{}", text(&out.stderr));
}
