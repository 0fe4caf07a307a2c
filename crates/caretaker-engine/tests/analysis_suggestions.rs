//! From finding to remedy: an action suggested by log analysis becomes an escalation that waits
//! for the person, runs once when approved, runs nothing when dismissed, and is refused by the
//! guard rails like any other healing decision. The model is a loopback OpenAI-compatible stub.

use caretaker_engine::healing::{Decision, HealingQuery};
use caretaker_engine::{Engine, EngineHandle, EngineOptions, Event};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A model server that answers each chat request with the next queued answer.
fn stub(replies: Arc<Mutex<VecDeque<String>>>) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let mut reader = BufReader::new(s.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let _ = reader.read_exact(&mut vec![0; len]);
            let content = replies.lock().unwrap().pop_front().unwrap_or_else(|| "[]".into());
            let body = serde_json::json!({ "id": "x", "object": "chat.completion", "choices": [ { "index": 0, "message": { "role": "assistant", "content": content }, "finish_reason": "stop" } ] }).to_string();
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

fn insert_log(dir: &Path, message: &str) {
    let conn = rusqlite::Connection::open(dir.join("caretaker.db")).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    conn.execute(
        "INSERT INTO logs (ts, level, target, message) VALUES (?1, 3, 'caretaker_engine::checks', ?2)",
        rusqlite::params![now, message],
    )
    .unwrap();
}

fn finding(title: &str, suggestion: serde_json::Value) -> String {
    serde_json::json!([{ "title": title, "classification": "resource", "severity": "medium", "evidence_log_ids": [1],
        "next_step": "do something", "suggested_action": suggestion }])
    .to_string()
}

/// Scans once and returns the newest finding (with its healing decisions).
async fn scan(engine: &EngineHandle, dir: &Path) -> caretaker_engine::analysis::Finding {
    insert_log(dir, "web keeps failing");
    let mut rx = engine.subscribe();
    let id = engine.run_scan("manual").unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(Event::AnalysisScan { scan })) if scan.scan_id == id => break,
            Ok(_) => continue,
            Err(_) => panic!("scan {id} did not finish"),
        }
    }
    engine.findings(true).await.unwrap().into_iter().next().unwrap()
}

async fn lines_of(path: &Path, want: usize) -> usize {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let n = std::fs::read_to_string(path).map(|t| t.lines().count()).unwrap_or(0);
        if n >= want || tokio::time::Instant::now() > deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suggested_action_waits_for_approval_runs_once_and_is_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let replies: Arc<Mutex<VecDeque<String>>> = Default::default();
    let port = stub(replies.clone());
    let (mark, other) = (dir.path().join("mark.txt"), dir.path().join("other.txt"));
    let action = |id: &str, file: &Path, per_hour: u32| {
        format!(
            "[[healing.actions]]\nid = \"{id}\"\nname = \"{id}\"\non_alerts = [\"disk:/nowhere\"]\nmax_per_hour = {per_hour}\ncooldown_secs = 0\n\
             command = {{ argv = [\"/bin/sh\", \"-c\", \"echo ran >> {}\"] }}\n",
            file.display()
        )
    };
    std::fs::write(
        dir.path().join("caretaker.toml"),
        format!(
            "[metrics]\ninterval_secs = 60\n[notifications]\nenabled = false\n[analysis]\nendpoint = \"http://127.0.0.1:{port}/v1\"\nmodel = \"m\"\nrequest_timeout_secs = 5\n{}{}",
            action("write-mark", &mark, 1),
            action("write-other", &other, 5)
        ),
    )
    .unwrap();
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();

    // 1. The suggestion becomes a pending escalation; nothing runs.
    replies.lock().unwrap().push_back(finding("Web keeps failing", serde_json::json!({ "id": "write-mark", "confidence": 0.8 })));
    let f = scan(&engine, dir.path()).await;
    assert_eq!(f.suggested_action.as_deref(), Some("write-mark"));
    assert_eq!(f.healing.len(), 1, "{f:?}");
    let esc = &f.healing[0];
    assert_eq!((esc.decision, esc.finding_id, esc.outcome.as_deref()), (Decision::Escalated, Some(f.id), None));
    assert_eq!(engine.pending_escalations().await.unwrap().iter().map(|r| r.id).collect::<Vec<_>>(), [esc.id]);
    assert!(!mark.exists(), "nothing runs before the person approves");

    // 2. Run it: it runs once, recorded as the person's, and a second click runs nothing.
    let ran = engine.approve_escalation(esc.id).await.unwrap();
    assert!(engine.dismiss_escalation(esc.id).await.is_err(), "an approved escalation stays approved");
    assert_eq!(ran.decision, Decision::ApprovedByUser);
    assert_eq!(lines_of(&mark, 1).await, 1);
    assert!(engine.approve_escalation(esc.id).await.is_err());
    let log = engine.healing_log(HealingQuery { limit: 50, action_id: Some("write-mark".into()), decision: None }).await.unwrap();
    assert_eq!(log.iter().filter(|r| r.decision == Decision::ApprovedByUser && r.finding_id == Some(f.id)).count(), 1, "{log:?}");
    assert!(engine.pending_escalations().await.unwrap().is_empty());

    // 3. The same action suggested again within the hour: its limit (1) refuses it, with the reason.
    replies.lock().unwrap().push_back(finding("Web still failing", serde_json::json!({ "id": "write-mark" })));
    let f2 = scan(&engine, dir.path()).await;
    assert_eq!(f2.healing.iter().map(|r| r.decision).collect::<Vec<_>>(), [Decision::RefusedRateLimit]);
    assert_eq!(f2.healing[0].outcome.as_deref(), Some("write-mark already ran 1 times in the last hour (limit 1)"));
    assert!(engine.pending_escalations().await.unwrap().is_empty());

    // 4. Dismiss: nothing runs, and it cannot be approved afterwards.
    replies.lock().unwrap().push_back(finding("Other thing", serde_json::json!({ "id": "write-other" })));
    let f3 = scan(&engine, dir.path()).await;
    let esc3 = f3.healing[0].id;
    engine.dismiss_escalation(esc3).await.unwrap();
    assert!(engine.approve_escalation(esc3).await.is_err());
    assert!(engine.pending_escalations().await.unwrap().is_empty());
    let log = engine.healing_log(HealingQuery { limit: 50, action_id: Some("write-other".into()), decision: None }).await.unwrap();
    assert_eq!(log.iter().map(|r| (r.decision, r.outcome.as_deref())).collect::<Vec<_>>(), [(Decision::Escalated, Some("dismissed"))]);

    // 5. An unknown action or a target outside the action's scope is text only, with the reason.
    replies.lock().unwrap().push_back(finding("Disk full", serde_json::json!({ "kind": "clear_folder", "target": "/" })));
    let f4 = scan(&engine, dir.path()).await;
    assert_eq!((f4.suggested_action.as_deref(), f4.suggestion.as_deref()), (None, Some("clear_folder /")));
    assert_eq!(f4.suggestion_note.as_deref(), Some("no clear_folder action is configured; set one up under Healing to allow it"));
    assert!(f4.healing.is_empty());
    assert!(!other.exists(), "the dismissed action never ran");
    assert_eq!(std::fs::read_to_string(&mark).unwrap().lines().count(), 1, "the approved action ran exactly once");
    engine.shutdown().await;
}
