//! The opt-in HTTP endpoint: real sockets, a real engine.

mod common;

use caretaker_engine::{Engine, EngineOptions, Event};
use common::free_port;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn config(dir: &std::path::Path, bind: &str, token: &str) {
    std::fs::write(
        dir.join("caretaker.toml"),
        format!("[metrics]\ninterval_secs = 1\n[notifications]\nenabled = false\n[http]\nenabled = true\nbind = \"{bind}\"\ntoken = \"{token}\"\n[[checks.list]]\nname = \"Closed\"\ninterval_secs = 5\ntimeout_secs = 1\ntcp = {{ port = {} }}\n", free_port()),
    )
    .unwrap();
}

async fn first_sample(rx: &mut tokio::sync::broadcast::Receiver<Event>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(Event::HostSample { .. })) => return,
            Ok(_) => continue,
            Err(_) => panic!("no sample"),
        }
    }
}

/// An engine with the endpoint on a free loopback port, after its first sample.
async fn sampling_engine() -> (tempfile::TempDir, u16, caretaker_engine::EngineHandle, tokio::sync::broadcast::Receiver<Event>) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    config(dir.path(), &format!("127.0.0.1:{port}"), "");
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    let mut rx = engine.subscribe();
    first_sample(&mut rx).await;
    (dir, port, engine, rx)
}

fn client() -> reqwest::Client {
    caretaker_engine::net::http_client().no_proxy().timeout(Duration::from_secs(5)).build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_health_json_and_prometheus_on_loopback_and_changes_nothing() {
    let (_dir, port, engine, _rx) = sampling_engine().await;
    let base = format!("http://127.0.0.1:{port}");
    let c = client();

    let r = c.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let h: serde_json::Value = r.json().await.unwrap();
    assert_eq!(h["status"], "ok");
    assert!(h["subsystems"]["sampler"]["last_tick_ms"].as_i64().is_some());

    let r = c.get(format!("{base}/metrics/prometheus")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    let text = r.text().await.unwrap();
    assert!(text.contains("# TYPE caretaker_cpu_usage_ratio gauge"));
    assert!(text.contains("caretaker_memory_total_bytes "));
    assert!(text.contains("caretaker_disk_total_bytes{mount=\"/\""), "{text}");

    if cfg!(target_os = "linux") {
        // Prometheus's own linter (Debian's `prometheus` package; cargo xtask test installs it).
        let mut p = std::process::Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("promtool (apt install prometheus)");
        p.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        let out = p.wait_with_output().unwrap();
        assert!(out.status.success(), "promtool: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }

    let m: serde_json::Value = c.get(format!("{base}/metrics")).send().await.unwrap().json().await.unwrap();
    assert!(m["host"]["memory"]["total_bytes"].as_u64().unwrap() > 0);
    assert_eq!(m["checks"][0]["name"], "Closed");

    assert_eq!(c.post(format!("{base}/metrics")).send().await.unwrap().status(), 405, "no endpoint changes state");
    assert_eq!(c.get(format!("{base}/nope")).send().await.unwrap().status(), 404);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_required_when_set_and_a_public_bind_without_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let public = free_port();
    config(dir.path(), &format!("0.0.0.0:{public}"), "");
    // Refused, without stopping monitoring: the engine runs its defaults (no endpoint) and says why.
    let engine = Engine::start(EngineOptions::new(dir.path())).await.expect("a bad file never stops Caretaker");
    let alert = engine.open_alerts().into_iter().find(|a| a.rule == "config").expect("the refusal is an alert");
    assert!(alert.message.contains("http.token: listening on 0.0.0.0:"), "{}", alert.message);
    assert!(TcpStream::connect(("127.0.0.1", public)).is_err(), "nothing listens on the public bind");
    engine.shutdown().await;

    let port = free_port();
    let token = "correct-horse-battery-staple";
    config(dir.path(), &format!("127.0.0.1:{port}"), token);
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    let c = client();
    let url = format!("http://127.0.0.1:{port}/metrics/prometheus");
    assert_eq!(c.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(c.get(&url).bearer_auth("wrong-token-of-the-same-len!").send().await.unwrap().status(), 401);
    assert_eq!(c.get(&url).bearer_auth(token).send().await.unwrap().status(), 200);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_do_not_stall_the_engine_or_other_clients() {
    let (_dir, port, engine, mut rx) = sampling_engine().await;
    // Twenty clients that send half a request and then dribble.
    let mut slow: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ").unwrap();
            s
        })
        .collect();
    let t = Instant::now();
    let r = client().get(format!("http://127.0.0.1:{port}/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(t.elapsed() < Duration::from_secs(2), "a normal request is answered while slow ones hang: {:?}", t.elapsed());
    // The engine keeps sampling.
    first_sample(&mut rx).await;
    first_sample(&mut rx).await;
    // A client that never finishes its headers is cut off after the deadline.
    let s = &mut slow[0];
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let t = Instant::now();
    let mut buf = [0u8; 256];
    let n = s.read(&mut buf).unwrap_or(0);
    let answer = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(n == 0 || answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(t.elapsed() < Duration::from_secs(9), "dropped after the header deadline");
    engine.shutdown().await;
}

/// The scrape config the README gives for a fleet, used by a real Prometheus against a real engine.
pub const SCRAPE_CONFIG: &str = "global:
  scrape_interval: 1s
scrape_configs:
  - job_name: caretaker
    metrics_path: /metrics/prometheus
    static_configs:
      - targets: ['127.0.0.1:PORT']
";

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prometheus_scrapes_the_engine_and_answers_queries_about_it() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    config(dir.path(), &format!("127.0.0.1:{port}"), "");
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    let prom_port = free_port();
    let yml = dir.path().join("prometheus.yml");
    std::fs::write(&yml, SCRAPE_CONFIG.replace("PORT", &port.to_string())).unwrap();
    let mut prom = std::process::Command::new("prometheus")
        .arg(format!("--config.file={}", yml.display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("tsdb").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("prometheus (apt install prometheus; cargo xtask test does)");
    let c = client();
    let url = format!("http://127.0.0.1:{prom_port}/api/v1/query?query=caretaker_memory_total_bytes");
    let deadline = Instant::now() + Duration::from_secs(40);
    let found = loop {
        if let Ok(r) = c.get(&url).send().await {
            if let Ok(v) = r.json::<serde_json::Value>().await {
                if let Some(first) = v["data"]["result"].as_array().and_then(|a| a.first()).cloned() {
                    break first;
                }
            }
        }
        if Instant::now() > deadline {
            let _ = prom.kill();
            panic!("Prometheus never had caretaker_memory_total_bytes");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let _ = prom.kill();
    let _ = prom.wait();
    assert_eq!(found["metric"]["job"], "caretaker");
    let value: f64 = found["value"][1].as_str().unwrap().parse().unwrap();
    assert!(value > 1e8, "memory total through Prometheus: {value}");
    engine.shutdown().await;
}

/// One request over a raw socket with the given Host header; the answer up to the server's close.
fn raw_get(port: u16, host: &str, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    // No `Connection: close` from us: a refused client must be disconnected by the server.
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes()).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => panic!("the server kept the connection open after answering: {e}; got {}", String::from_utf8_lossy(&out)),
        }
        if out.starts_with(b"HTTP/1.1 200") {
            break;
        }
    }
    String::from_utf8_lossy(&out).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_host_name_is_refused_and_local_names_are_served() {
    let (_dir, port, engine, _rx) = sampling_engine().await;
    let evil = tokio::task::spawn_blocking(move || raw_get(port, "evil.example", "/metrics")).await.unwrap();
    assert!(evil.starts_with("HTTP/1.1 421"), "{evil}");
    assert!(!evil.contains("\"checks\""), "nothing is shown to a foreign host: {evil}");
    let evil = tokio::task::spawn_blocking(move || raw_get(port, &format!("evil.example:{port}"), "/health")).await.unwrap();
    assert!(evil.starts_with("HTTP/1.1 421"), "{evil}");
    for host in ["localhost".to_string(), format!("localhost:{port}"), format!("127.0.0.1:{port}"), format!("[::1]:{port}")] {
        let ok = tokio::task::spawn_blocking(move || raw_get(port, &host, "/health")).await.unwrap();
        assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    }
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_no_credentials_arguments_or_command_output() {
    let dir = tempfile::tempdir().unwrap();
    let (port, closed) = (free_port(), free_port());
    std::fs::write(
        dir.path().join("caretaker.toml"),
        format!(
            r#"[metrics]
interval_secs = 1
[notifications]
enabled = false
[alerts]
check_failures_before_alert = 1
[http]
enabled = true
bind = "127.0.0.1:{port}"
[[checks.list]]
name = "Web"
interval_secs = 5
timeout_secs = 1
http = {{ url = "http://scraper:pa55word@127.0.0.1:{closed}/status?token=t0ken-value" }}
[[checks.list]]
name = "Script"
interval_secs = 5
timeout_secs = 2
command = {{ argv = ["/bin/sh", "-c", "echo out-secret-1; echo err-secret-2 >&2; exit 3", "arg-secret-3"] }}
"#
        ),
    )
    .unwrap();
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    let c = client();
    let base = format!("http://127.0.0.1:{port}");
    // Both checks have failed once and opened their alerts.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (json, raw) = loop {
        let raw = c.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
        let m: serde_json::Value = serde_json::from_str(&raw).unwrap();
        let done = m["checks"].as_array().unwrap().iter().all(|c| !c["latest"].is_null()) && m["alerts"].as_array().unwrap().len() == 2;
        if done {
            break (m, raw);
        }
        assert!(Instant::now() < deadline, "the checks never failed: {raw}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let prom = c.get(format!("{base}/metrics/prometheus")).send().await.unwrap().text().await.unwrap();
    for secret in ["scraper", "pa55word", "t0ken-value", "out-secret-1", "err-secret-2", "arg-secret-3", "echo"] {
        assert!(!raw.contains(secret), "/metrics shows {secret:?}: {raw}");
        assert!(!prom.contains(secret), "/metrics/prometheus shows {secret:?}");
    }
    let web = &json["checks"][0];
    assert_eq!(web["target"], format!("GET http://127.0.0.1:{closed}/status?redacted"));
    assert_eq!(json["checks"][1]["target"], "sh", "only the program's name");
    assert_eq!(json["checks"][1]["latest"]["probe_details"]["exit_code"], 3, "the outcome itself is still shown");
    assert_eq!(json["checks"][1]["latest"]["status"], "down");
    // The engine's own view keeps everything for the person at the machine.
    let snap = engine.snapshot();
    assert!(snap.alerts.iter().any(|a| a.details["probe"]["stdout"] == "out-secret-1"));
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_do_not_lock_out_an_authenticated_scrape() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let token = "correct-horse-battery-staple";
    config(dir.path(), &format!("127.0.0.1:{port}"), token);
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    // More silent connections than there are slots, each holding on until its header deadline.
    let idle: Vec<TcpStream> = (0..100).map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap()).collect();
    let c = caretaker_engine::net::http_client().no_proxy().timeout(Duration::from_secs(3)).build().unwrap();
    let r = c.get(format!("http://127.0.0.1:{port}/metrics/prometheus")).bearer_auth(token).send().await;
    assert_eq!(r.map(|r| r.status()).map_err(|e| e.to_string()), Ok(reqwest::StatusCode::OK), "the scrape got through");
    drop(idle);
    engine.shutdown().await;
}
