//! Alert forwarding against a real Alertmanager (Debian `prometheus-alertmanager`; CI installs
//! it through scripts/setup-debian.sh): the labels arrive, the README's route sends a critical
//! alert to the README's pager receiver, a resolved alert leaves, and an alert raised while the
//! Alertmanager is down still arrives once it comes up.
#![cfg(target_os = "linux")]

mod common;

use caretaker_engine::{AlertQuery, Engine, EngineHandle, EngineOptions};
use common::{free_port, until};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = "prometheus-alertmanager";

/// The fenced block of `lang` that first follows `heading` in the README.
fn readme_block(heading: &str, lang: &str) -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap();
    let section = &readme[readme.find(heading).unwrap_or_else(|| panic!("README has no {heading:?}"))..];
    let open = format!("```{lang}\n");
    let start = section.find(&open).unwrap_or_else(|| panic!("no ```{lang} block after {heading:?}")) + open.len();
    let len = section[start..].find("```").unwrap();
    section[start..start + len].to_string()
}

const HEADING: &str = "### Alerts into an Alertmanager";

/// A running Alertmanager, killed when dropped.
struct Am(Child);

impl Drop for Am {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_alertmanager(dir: &Path, port: u16) -> Am {
    let yml = dir.join("alertmanager.yml");
    std::fs::write(&yml, readme_block(HEADING, "yaml")).unwrap();
    let child = Command::new(BINARY)
        .arg(format!("--config.file={}", yml.display()))
        .arg(format!("--storage.path={}", dir.join("am-data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        // No gossip port: a single instance, nothing bound beyond loopback.
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start {BINARY} ({e}); install it with `apt install prometheus-alertmanager` (scripts/setup-debian.sh does)")
        });
    Am(child)
}

/// caretaker.toml: the README's forwarding snippet pointed at `am_port`, plus one check of a
/// closed port that runs once (interval an hour) and alerts on its first failure.
fn write_config(dir: &Path, am_port: u16) {
    let forwarding = readme_block(HEADING, "toml")
        .replace("127.0.0.1:9093", &format!("127.0.0.1:{am_port}"))
        .replace("resend_secs = 60", "resend_secs = 1");
    assert!(
        forwarding.contains(&format!("127.0.0.1:{am_port}")) && forwarding.contains("enabled = true"),
        "README snippet changed shape: {forwarding}"
    );
    let text = format!(
        "{forwarding}instance = \"test-box\"\n[metrics]\ninterval_secs = 60\n[notifications]\nenabled = false\n[alerts]\ncheck_failures_before_alert = 1\n[[checks.list]]\nname = \"Closed\"\ninterval_secs = 3600\ntimeout_secs = 2\ntcp = {{ port = {} }}\n",
        free_port()
    );
    std::fs::write(dir.join("caretaker.toml"), text).unwrap();
}

fn client() -> reqwest::Client {
    caretaker_engine::net::http_client().no_proxy().timeout(Duration::from_secs(5)).build().unwrap()
}

/// Alertmanager's current alerts (GET /api/v2/alerts), or None while it does not answer.
async fn am_alerts(port: u16) -> Option<Vec<serde_json::Value>> {
    let r = client().get(format!("http://127.0.0.1:{port}/api/v2/alerts")).send().await.ok()?;
    r.json::<Vec<serde_json::Value>>().await.ok()
}

async fn closed_alert_id(engine: &EngineHandle) -> i64 {
    until("the check's alert opens", 20, async || engine.open_alerts().into_iter().find(|a| a.subject == "Closed").map(|a| a.id)).await
}

fn caretaker_alert(alerts: &[serde_json::Value]) -> Option<serde_json::Value> {
    alerts.iter().find(|a| a["labels"]["subject"] == "Closed" && a["labels"]["source"] == "caretaker").cloned()
}

#[test]
fn the_readme_route_is_a_valid_alertmanager_config() {
    let dir = tempfile::tempdir().unwrap();
    let yml = dir.path().join("alertmanager.yml");
    std::fs::write(&yml, readme_block(HEADING, "yaml")).unwrap();
    let out = Command::new("amtool").arg("check-config").arg(&yml).output().expect("amtool (apt install prometheus-alertmanager)");
    assert!(out.status.success(), "amtool: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let routed = |labels: &[&str]| {
        let out = Command::new("amtool").args(["config", "routes", "test", "--config.file"]).arg(&yml).args(labels).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(routed(&["source=caretaker", "severity=critical", "alertname=service_down"]), "caretaker-pager");
    assert_eq!(routed(&["source=caretaker", "severity=warning", "alertname=detector"]), "caretaker-digest");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_alertmanager_gets_the_alert_with_its_labels_routed_by_the_readme_and_then_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let am_port = free_port();
    let _am = start_alertmanager(dir.path(), am_port);
    until("Alertmanager answers", 30, async || am_alerts(am_port).await).await;

    write_config(dir.path(), am_port);
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    let id = closed_alert_id(&engine).await;

    let got = until("the alert reaches Alertmanager", 30, async || caretaker_alert(&am_alerts(am_port).await?)).await;
    assert_eq!(got["labels"]["alertname"], "service_down");
    assert_eq!(got["labels"]["severity"], "critical");
    assert_eq!(got["labels"]["instance"], "test-box");
    assert_eq!(got["labels"]["subject"], "Closed");
    assert!(got["annotations"]["summary"].as_str().unwrap().starts_with("Closed is down on "), "{got}");
    assert_eq!(got["generatorURL"], format!("caretaker://test-box/alerts/{id}"));
    assert_eq!(got["receivers"][0]["name"], "caretaker-pager", "the README's route pages on critical: {got}");
    assert_eq!(got["status"]["state"], "active");

    // Resolved by hand: it is sent with its end time and Alertmanager stops listing it.
    let resolved = engine.resolve_alert(id).await.unwrap();
    assert!(resolved.resolved_at.is_some());
    until("Alertmanager drops the resolved alert", 30, async || am_alerts(am_port).await.filter(|a| caretaker_alert(a).is_none())).await;
    assert!(engine.alerts(AlertQuery { include_resolved: false, limit: 10, subject: Some("Closed".into()) }).await.unwrap().is_empty());
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_raised_while_alertmanager_is_down_arrives_once_it_is_up() {
    let _log = caretaker_engine::logging::init(None);
    let dir = tempfile::tempdir().unwrap();
    let am_port = free_port();
    write_config(dir.path(), am_port);
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    closed_alert_id(&engine).await;
    // The engine has tried and failed (its log says so) before Alertmanager exists.
    until("a failed delivery is logged", 30, async || {
        engine.tail_logs(500).into_iter().find(|l| l.message.contains("could not deliver alerts to Alertmanager"))
    })
    .await;
    assert!(am_alerts(am_port).await.is_none(), "nothing listens yet");

    let _am = start_alertmanager(dir.path(), am_port);
    let got = until("the queued alert arrives after Alertmanager starts", 60, async || caretaker_alert(&am_alerts(am_port).await?)).await;
    assert_eq!(got["labels"]["alertname"], "service_down");
    assert_eq!(got["labels"]["instance"], "test-box");
    until("the engine logs that delivery recovered", 30, async || {
        engine.tail_logs(500).into_iter().find(|l| l.message.contains("Alertmanager reachable again"))
    })
    .await;
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alertmanager_that_never_answers_does_not_hold_up_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    // Bound but never accepting: connections complete in the kernel, requests are never read.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    write_config(dir.path(), silent.local_addr().unwrap().port());
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    let mut rx = engine.subscribe();
    let id = closed_alert_id(&engine).await;
    // The forwarder is now stuck in a POST (10 s client timeout); alert work goes on regardless.
    let t = Instant::now();
    let acked = engine.acknowledge_alert(id).await.unwrap();
    assert_eq!(acked.status, caretaker_engine::AlertStatus::Acknowledged);
    engine.evaluate_detectors().await.unwrap();
    let resolved = engine.resolve_alert(id).await.unwrap();
    assert!(resolved.resolved_at.is_some());
    assert!(t.elapsed() < Duration::from_secs(3), "alert commands waited on delivery: {:?}", t.elapsed());
    let seen = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            if let Ok(caretaker_engine::Event::AlertChanged { alert }) = rx.recv().await {
                if alert.id == id && alert.resolved_at.is_some() {
                    return alert;
                }
            }
        }
    })
    .await
    .expect("the resolution is published while delivery hangs");
    assert_eq!(seen.status, caretaker_engine::AlertStatus::Resolved);
    engine.shutdown().await;
    drop(silent);
}
