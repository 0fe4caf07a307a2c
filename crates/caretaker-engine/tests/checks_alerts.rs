//! Checks and alerts against real loopback servers, a real SQLite file, and a recording
//! notification sink standing in for the desktop.

mod common;

use caretaker_engine::checks::Prober;
use caretaker_engine::config::{CheckConfig, CommandProbe, HttpProbe, TcpProbe};
use caretaker_engine::{AlertStatus, CheckStatus, Engine, EngineOptions, Event};
use common::{free_addr, until, wait_for, Recorder};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A tiny HTTP server on loopback that answers every request with `body`, until stopped.
struct Server {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn serve(addr: SocketAddr, reply: &'static [u8], hang: bool) -> Server {
    let listener = TcpListener::bind(addr).unwrap();
    listener.set_nonblocking(true).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::spawn(move || {
        let mut held = Vec::new();
        while !flag.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((mut s, _)) => {
                    let _ = s.set_nonblocking(false);
                    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
                    let mut buf = [0u8; 2048];
                    let _ = s.read(&mut buf);
                    if hang {
                        held.push(s); // never answer
                    } else {
                        let _ = s.write_all(reply);
                    }
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    Server { stop, thread: Some(thread) }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

const OK: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\nConnection: close\r\n\r\n{\"status\":\"ok\"}";

fn check(name: &str, interval: u64, timeout: u64) -> CheckConfig {
    CheckConfig {
        name: name.into(),
        interval_secs: interval,
        timeout_secs: timeout,
        degraded_latency_ms: None,
        enabled: true,
        http: None,
        tcp: None,
        process: None,
        command: None,
        json_value: None,
        max_severity: None,
    }
}

fn http_check(name: &str, addr: SocketAddr) -> CheckConfig {
    let mut c = check(name, 5, 2);
    c.http = Some(HttpProbe {
        url: format!("http://{addr}/health"),
        method: "GET".into(),
        expect_status: [200, 299],
        body_contains: None,
        json_pointer: Some("/status".into()),
        json_equals: Some("ok".into()),
    });
    c
}

fn write_config(dir: &std::path::Path, checks: &[CheckConfig]) {
    let mut cfg = caretaker_engine::Config::default();
    cfg.metrics.interval_secs = 60; // keep host alerts out of the way
    cfg.alerts.check_failures_before_alert = 1;
    cfg.checks.list = checks.to_vec();
    cfg.save(&dir.join("caretaker.toml")).unwrap();
}

fn options(dir: &std::path::Path, rec: &Arc<Recorder>) -> EngineOptions {
    let mut o = EngineOptions::new(dir);
    o.notifier = rec.clone();
    o.notification_window = Duration::from_millis(100);
    o
}

fn result_of<'a>(e: &'a Event, name: &str) -> Option<&'a caretaker_engine::CheckResult> {
    match e {
        Event::CheckResult { result } if result.service_name == name => Some(result),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_service_down_then_up_gives_one_alert_and_one_recovery_even_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let server = serve(addr, OK, false);
    write_config(dir.path(), &[http_check("Web", addr)]);
    let rec = Arc::new(Recorder::default());

    let engine = Engine::start(options(dir.path(), &rec)).await.unwrap();
    let mut rx = engine.subscribe();
    let r = wait_for(&mut rx, 15, |e| result_of(e, "Web").cloned()).await;
    assert_eq!(r.status, CheckStatus::Healthy, "{r:?}");
    assert_eq!(r.probe_details["value"], "ok");

    drop(server);
    let alert = wait_for(&mut rx, 15, |e| match e {
        Event::AlertChanged { alert } if alert.subject == "Web" => Some(alert.clone()),
        _ => None,
    })
    .await;
    assert_eq!(alert.alert_type, "service_down");
    assert_eq!(alert.status, AlertStatus::Active);
    // Shown through the outbox; then a moment more, in which nothing else may come.
    until("the notification is shown", 10, async || (!rec.shown().is_empty()).then_some(())).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    {
        let shown = rec.shown();
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert!(shown[0].0.starts_with("Web is down on "), "{shown:?}");
        assert!(shown[0].1.starts_with("Web is down: connection refused"), "{shown:?}");
    }

    // A restart while it is still down neither duplicates the alert nor notifies again.
    engine.shutdown().await;
    let engine = Engine::start(options(dir.path(), &rec)).await.unwrap();
    let mut rx = engine.subscribe();
    assert_eq!(engine.snapshot().alerts.len(), 1);
    let r = wait_for(&mut rx, 15, |e| result_of(e, "Web").cloned()).await;
    assert_eq!(r.status, CheckStatus::Down);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(rec.shown().len(), 1, "no second notification after a restart");
    assert_eq!(engine.open_alerts().len(), 1);

    let _server = serve(addr, OK, false);
    let resolved = wait_for(&mut rx, 15, |e| match e {
        Event::AlertChanged { alert } if alert.status == AlertStatus::Resolved => Some(alert.clone()),
        _ => None,
    })
    .await;
    assert_eq!(resolved.id, alert.id);
    until("the recovery is shown", 10, async || (rec.shown().len() >= 2).then_some(())).await;
    let shown = rec.shown();
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert_eq!(shown[1].0, "Recovered: Web is healthy again");
    let all = engine.alerts(caretaker_engine::AlertQuery { include_resolved: true, limit: 100, subject: None }).await.unwrap();
    assert_eq!(all.iter().filter(|a| a.subject == "Web").count(), 1, "exactly one down alert");
    let history = engine
        .check_history(caretaker_engine::CheckHistoryQuery { service_name: "Web".into(), limit: 100, status: Some(CheckStatus::Down) })
        .await
        .unwrap();
    assert!(!history.is_empty());
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_hanging_services_are_down_with_a_clear_message_and_stall_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (hang_addr, junk_addr, tcp_addr) = (free_addr(), free_addr(), free_addr());
    let _hang = serve(hang_addr, b"", true);
    let _junk = serve(junk_addr, b"\x00\x01garbage\xff\xfe not http at all\r\n\r\n", false);
    let _listener = TcpListener::bind(tcp_addr).unwrap();
    let mut hang = http_check("Hang", hang_addr);
    hang.timeout_secs = 1;
    let junk = http_check("Junk", junk_addr);
    let mut good = check("Good", 5, 2);
    good.tcp = Some(TcpProbe { host: "127.0.0.1".into(), port: tcp_addr.port() });
    write_config(dir.path(), &[hang, junk, good]);
    let rec = Arc::new(Recorder::default());
    let engine = Engine::start(options(dir.path(), &rec)).await.unwrap();
    let mut rx = engine.subscribe();
    let mut seen = std::collections::HashMap::new();
    wait_for(&mut rx, 20, |e| {
        if let Event::CheckResult { result } = e {
            seen.insert(result.service_name.clone(), result.clone());
        }
        (seen.len() == 3).then_some(())
    })
    .await;
    assert_eq!(seen["Good"].status, CheckStatus::Healthy);
    assert_eq!(seen["Hang"].status, CheckStatus::Down);
    assert_eq!(seen["Hang"].error_message.as_deref(), Some("no answer within 1 s"));
    assert_eq!(seen["Junk"].status, CheckStatus::Down);
    assert!(seen["Junk"].error_message.as_deref().unwrap_or("").starts_with("request failed"), "{:?}", seen["Junk"]);
    // The hanging check did not hold the others back: Good ran again on schedule.
    let again = wait_for(&mut rx, 8, |e| result_of(e, "Good").cloned()).await;
    assert_eq!(again.status, CheckStatus::Healthy);
    engine.shutdown().await;
}

#[tokio::test]
async fn command_probe_runs_argv_and_reads_a_number() {
    let prober = Prober::new().unwrap();
    let mut c = check("Queue", 5, 2);
    c.command = Some(CommandProbe {
        argv: vec!["/bin/echo".into(), "150".into()],
        expect_exit: 0,
        working_dir: None,
        warning_above: Some(100.0),
        critical_above: Some(1000.0),
    });
    let r = prober.run(&c, 0).await;
    assert_eq!(r.status, CheckStatus::Degraded);
    assert_eq!(r.error_message.as_deref(), Some("value 150 is above the warning threshold 100"));

    // Arguments are never interpreted by a shell: this prints them literally.
    c.command = Some(CommandProbe {
        argv: vec!["/bin/echo".into(), "a; false".into()],
        expect_exit: 0,
        working_dir: None,
        warning_above: None,
        critical_above: None,
    });
    let r = prober.run(&c, 0).await;
    assert_eq!(r.status, CheckStatus::Healthy);
    assert_eq!(r.probe_details["stdout"], "a; false");

    c.command = Some(CommandProbe {
        argv: vec!["/bin/false".into()],
        expect_exit: 0,
        working_dir: None,
        warning_above: None,
        critical_above: None,
    });
    let r = prober.run(&c, 0).await;
    assert_eq!(r.status, CheckStatus::Down);
    assert_eq!(r.error_message.as_deref(), Some("/bin/false exited with 1 (expected 0)"));

    c.command = Some(CommandProbe {
        argv: vec!["/nonexistent/tool".into()],
        expect_exit: 0,
        working_dir: None,
        warning_above: None,
        critical_above: None,
    });
    let r = prober.run(&c, 0).await;
    assert!(r.error_message.as_deref().unwrap_or("").starts_with("cannot run /nonexistent/tool"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_are_added_edited_and_deleted_through_the_engine_with_validation() {
    let dir = tempfile::tempdir().unwrap();
    let rec = Arc::new(Recorder::default());
    let engine = Engine::start(options(dir.path(), &rec)).await.unwrap();
    let first_run = caretaker_engine::Config::first_run();
    // Whether the example is on depends on this machine running Ollama; the rest does not.
    let unswitched = |l: Vec<CheckConfig>| l.into_iter().map(|c| CheckConfig { enabled: false, ..c }).collect::<Vec<_>>();
    assert_eq!(unswitched(engine.config().checks.list), unswitched(first_run.checks.list), "a new install carries the Ollama example");

    let mut bad = check("Web", 5, 2);
    bad.http = Some(HttpProbe {
        url: "localhost:80".into(),
        method: "GET".into(),
        expect_status: [200, 299],
        body_contains: None,
        json_pointer: None,
        json_equals: None,
    });
    let err = engine.save_check(None, bad).await.unwrap_err();
    assert!(err.to_string().starts_with("checks.list[1].http.url:"), "{err}");
    let before = std::fs::read_to_string(dir.path().join("caretaker.toml")).unwrap();

    let addr = free_addr();
    let _server = serve(addr, OK, false);
    engine.save_check(None, http_check("Web", addr)).await.unwrap();
    let text = std::fs::read_to_string(dir.path().join("caretaker.toml")).unwrap();
    assert_ne!(text, before);
    assert!(text.contains("# How often the host is sampled"), "the person's comments survive an edit");
    assert_eq!(caretaker_engine::Config::load(&dir.path().join("caretaker.toml")).unwrap().checks.list.len(), 2);
    let mut rx = engine.subscribe();
    let r = wait_for(&mut rx, 15, |e| result_of(e, "Web").cloned()).await;
    assert_eq!(r.status, CheckStatus::Healthy);

    let mut renamed = http_check("Website", addr);
    renamed.interval_secs = 30;
    engine.save_check(Some("Web".into()), renamed).await.unwrap();
    assert!(engine.config().checks.list.iter().any(|c| c.name == "Website" && c.interval_secs == 30));
    assert!(engine.delete_check("Nope".into()).await.is_err());
    engine.delete_check("Website".into()).await.unwrap();
    let names: Vec<String> =
        caretaker_engine::Config::load(&dir.path().join("caretaker.toml")).unwrap().checks.list.into_iter().map(|c| c.name).collect();
    assert_eq!(names, vec!["Ollama".to_string()]);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_a_check_closes_its_alert_and_a_restart_closes_one_disabled_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let mut web = check("Web", 5, 1);
    web.tcp = Some(TcpProbe { host: "127.0.0.1".into(), port: free_addr().port() });
    write_config(dir.path(), std::slice::from_ref(&web));
    let rec = Arc::new(Recorder::default());
    let engine = Engine::start(options(dir.path(), &rec)).await.unwrap();
    let mut rx = engine.subscribe();
    let open = |e: &Event| match e {
        Event::AlertChanged { alert } if alert.subject == "Web" && alert.status == AlertStatus::Active => Some(alert.clone()),
        _ => None,
    };
    let alert = wait_for(&mut rx, 15, open).await;

    engine.save_check(Some("Web".into()), CheckConfig { enabled: false, ..web.clone() }).await.unwrap();
    let closed = engine.open_alerts();
    assert!(closed.iter().all(|a| a.subject != "Web" && a.subject != "check:Web"), "{closed:?}");
    let all = engine.alerts(caretaker_engine::AlertQuery { include_resolved: true, limit: 10, subject: Some("Web".into()) }).await.unwrap();
    assert_eq!(all.iter().find(|a| a.id == alert.id).map(|a| a.status), Some(AlertStatus::Resolved));

    // On again until it alerts, then off by hand while Caretaker is stopped.
    engine.save_check(Some("Web".into()), web.clone()).await.unwrap();
    wait_for(&mut rx, 15, open).await;
    engine.shutdown().await;
    write_config(dir.path(), &[CheckConfig { enabled: false, ..web }]);
    let engine = Engine::start(options(dir.path(), &rec)).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while engine.open_alerts().iter().any(|a| a.subject == "Web") {
        assert!(std::time::Instant::now() < deadline, "the alert of a disabled check stays open");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    engine.shutdown().await;
}
