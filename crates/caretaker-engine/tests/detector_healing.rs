//! From detection to remedy, end to end: a queue served by a real loopback HTTP server stops
//! moving, the json_value check reads it, the `stalled` detector opens its alert, the healing
//! action named by `on_alerts = ["detector:<name>"]` runs (a command that "restarts" the
//! worker), the queue moves again, the detector resolves, and the run is recorded as healed.

mod common;

use caretaker_engine::healing::Decision;
use caretaker_engine::{AlertQuery, AlertStatus, Engine, EngineOptions, Event, HealingQuery};
use common::{free_port, TestClock};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const MIN: i64 = 60_000;
const T0: i64 = 1_800_000_000_000;

/// Answers `{"depth": 42}` until the flag file exists (the worker is "stuck"), then a depth that
/// falls on every request (the worker drains the queue).
const SERVER: &str = r#"
import http.server, json, os, sys
flag = sys.argv[2]
n = [40]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if os.path.exists(flag):
            n[0] -= 1
            depth = n[0]
        else:
            depth = 42
        body = json.dumps({"depth": depth}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"#;

struct Server(std::process::Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(port: u16, flag: &Path) -> Server {
    // Owned by the guard at once: killed and reaped however the test ends.
    let server = Server(
        std::process::Command::new("python3")
            .args(["-c", SERVER, &port.to_string(), &flag.display().to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return server;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the queue server did not start");
}

/// Eight minutes of the same depth before the engine starts, as the check would have stored them.
fn record_stuck(dir: &Path) {
    let conn = caretaker_engine::store::open_and_migrate(&dir.join("caretaker.db")).unwrap();
    for i in 0..=8 {
        let at = T0 - (8 - i) * MIN;
        conn.execute(
            "INSERT INTO service_health_checks (service_name, status, latency_ms, checked_at, error_message, probe_details, created_at)
             VALUES ('Queue', 'healthy', 4.0, ?1, NULL, ?2, ?1)",
            rusqlite::params![at, serde_json::json!({ "pointer": "/depth", "value": 42.0 }).to_string()],
        )
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detector_alert_runs_its_remedy_and_resolves_when_the_queue_moves() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let flag = dir.path().join("worker-restarted");
    let _server = start_server(port, &flag);
    let config = format!(
        "[metrics]\ninterval_secs = 60\n[notifications]\nenabled = false\n[alerts]\nstale_after_intervals = 1000\n\
         [[checks.list]]\nname = \"Queue\"\ninterval_secs = 5\ntimeout_secs = 2\n\
         json_value = {{ url = \"http://127.0.0.1:{port}/stats\", pointer = \"/depth\", warning_above = 100000 }}\n\
         [[detectors]]\nname = \"Queue not moving\"\ncheck = {{ name = \"Queue\", field = \"value\" }}\nstalled = {{ for_minutes = 5 }}\n\
         [[healing.actions]]\nid = \"restart-worker\"\nname = \"Restart the queue worker\"\nmode = \"auto\"\n\
         on_alerts = [\"detector:Queue not moving\"]\nverify_after_secs = 8\n\
         command = {{ argv = [\"/usr/bin/touch\", \"{}\"] }}\n",
        flag.display()
    );
    std::fs::write(dir.path().join("caretaker.toml"), config).unwrap();
    record_stuck(dir.path());

    let clock = Arc::new(TestClock::at(T0));
    let mut o = EngineOptions::new(dir.path());
    o.clock = clock.clone();
    let engine = Engine::start(o).await.unwrap();
    let mut rx = engine.subscribe();

    // The detector sees eight unchanged minutes and opens its alert.
    let s = engine.evaluate_detectors().await.unwrap().remove(0);
    assert!(s.firing, "{s:?}");
    let alert_id = s.alert_id.expect("an open detector alert");

    // Healing runs the action named for that detector's alerts, once.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let ran = loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(Event::Healing { record })) if record.decision == Decision::Ran => break record,
            Ok(_) => continue,
            Err(_) => panic!("the detector's alert did not run its remedy"),
        }
    };
    assert_eq!(ran.action_id, "restart-worker");
    assert_eq!(ran.alert_id, Some(alert_id));
    // The decision is announced as the run starts; the command itself takes a moment.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !flag.exists() {
        assert!(tokio::time::Instant::now() < deadline, "the command never ran");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The queue moves: the check stores a new depth, the detector resolves.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        clock.advance(MIN);
        let s = engine.evaluate_detectors().await.unwrap().remove(0);
        if !s.firing {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the detector still fires after the remedy: {s:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let all = engine.alerts(AlertQuery { include_resolved: true, limit: 50, subject: Some("Queue not moving".into()) }).await.unwrap();
    let alert = all.iter().find(|a| a.id == alert_id).expect("the detector's alert");
    assert_eq!(alert.status, AlertStatus::Resolved);

    // The run is verified as healed, and nothing ran twice.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let log = engine.healing_log(HealingQuery { limit: 50, ..Default::default() }).await.unwrap();
        let runs: Vec<_> = log.iter().filter(|r| r.decision == Decision::Ran).collect();
        assert_eq!(runs.len(), 1, "{runs:?}");
        if runs[0].healed.is_some() {
            assert_eq!(runs[0].healed, Some(true), "{:?}", runs[0]);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the run was never verified: {:?}", runs[0]);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    engine.shutdown().await;
}
