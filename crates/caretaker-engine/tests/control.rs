//! The control socket against a real engine: the contract's commands answer as they do in
//! process, events stream, the socket is private and replaced after a crash, something else in
//! its place never stops monitoring, and a client may stop the engine.

mod common;

use caretaker_engine::control::{self, Client, Incoming};
use caretaker_engine::{Alert, AlertQuery, Engine, EngineOptions, ErrorCode, Event, Snapshot};
use common::write_config;
use serde_json::json;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::time::Duration;

async fn start(dir: &std::path::Path) -> caretaker_engine::EngineHandle {
    write_config(dir, "[notifications]\nenabled = false\n");
    Engine::start(EngineOptions::new(dir)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_serves_the_contract_and_refuses_what_it_does_not_know() {
    let dir = tempfile::tempdir().unwrap();
    let engine = start(dir.path()).await;
    let path = control::socket_path(dir.path());
    let meta = std::fs::symlink_metadata(&path).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "owner only");

    let client = Client::connect(dir.path()).await.unwrap();
    assert_eq!(client.hello().pid, std::process::id());
    assert_eq!(client.hello().data_dir, dir.path().display().to_string());

    // The same answers as in process.
    let snap: Snapshot = client.call_as("snapshot", json!({})).await.unwrap();
    assert_eq!(snap.engine.pid, engine.status().pid);
    let alerts: Vec<Alert> =
        client.call_as("list_alerts", json!({ "query": AlertQuery { include_resolved: true, limit: 10, subject: None } })).await.unwrap();
    assert_eq!(alerts, engine.alerts(AlertQuery { include_resolved: true, limit: 10, subject: None }).await.unwrap());

    // Mistakes are named, and the connection stays usable after them.
    let unknown = client.call("format_disk", json!({})).await.unwrap_err();
    assert!(unknown.message.contains("unknown command \"format_disk\""), "{}", unknown.message);
    let missing = client.call("snooze_alert", json!({ "id": 1 })).await.unwrap_err();
    assert_eq!(missing.code, ErrorCode::InvalidInput);
    assert!(missing.message.contains("snooze_alert") && missing.message.contains("hours"), "{}", missing.message);
    let typo = client.call("run_maintenance", json!({ "now": true })).await.unwrap_err();
    assert!(typo.message.contains("now"), "an unknown argument is refused by name: {}", typo.message);
    let gone = client.call("resolve_alert", json!({ "id": 999 })).await.unwrap_err();
    assert!(gone.message.contains("999"), "the engine's own error crosses: {gone:?}");
    let _: Snapshot = client.call_as("snapshot", json!(null)).await.unwrap();

    // A line that is not JSON is answered, not fatal.
    let mut raw = tokio::net::UnixStream::connect(&path).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut raw, b"hello?\n").await.unwrap();
    let mut line = String::new();
    tokio::io::AsyncBufReadExt::read_line(&mut tokio::io::BufReader::new(&mut raw), &mut line).await.unwrap();
    assert!(line.contains("not a request"), "{line}");

    engine.shutdown().await;
    assert!(!path.exists(), "the socket goes with the engine");
    let after = Client::connect(dir.path()).await.err().expect("nothing answers after a stop");
    assert_eq!(after.code, ErrorCode::EngineUnreachable);
    assert!(after.message.contains(&dir.path().display().to_string()), "names the data folder: {}", after.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stream_to_a_subscriber_and_the_engine_stops_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let engine = start(dir.path()).await;
    let client = Client::connect(dir.path()).await.unwrap();
    let _first = client.subscribe().await.unwrap();
    // Subscribing again (the newest receiver gets the events) must not double every event.
    let mut events = client.subscribe().await.unwrap();
    let mut next_pause = async || {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match events.recv().await {
                    Some(Incoming::Event(e)) => {
                        if let Event::NotificationsPaused { until_ms } = *e {
                            break until_ms;
                        }
                    }
                    Some(Incoming::Resync) => continue,
                    None => panic!("the stream ended"),
                }
            }
        })
        .await
        .expect("the change arrives as an event")
    };
    let until: Option<i64> = client.call_as("pause_notifications", json!({ "minutes": 30 })).await.unwrap();
    assert!(until.is_some());
    assert_eq!(next_pause().await, until);
    let resumed: Option<i64> = client.call_as("pause_notifications", json!({ "minutes": null })).await.unwrap();
    assert_eq!(resumed, None);
    assert_eq!(next_pause().await, None, "the next event is the resume, not the pause a second time");

    client.call("shutdown", json!({})).await.expect("the stop is answered before the engine goes");
    tokio::time::timeout(Duration::from_secs(15), engine.stopping()).await.expect("the engine stops");
    tokio::time::timeout(Duration::from_secs(15), client.closed()).await.expect("the connection closes");
    let after = client.call("snapshot", json!({})).await.unwrap_err();
    assert_eq!(after.code, ErrorCode::EngineUnreachable);
    // The caller that waits for the stop returns once it is complete (the lock is free again).
    engine.shutdown().await;
    let again = Engine::start(EngineOptions::new(dir.path())).await.expect("the data folder is free after a socket stop");
    again.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_left_by_a_crash_is_replaced_and_anything_else_in_its_place_never_stops_monitoring() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "[notifications]\nenabled = false\n");
    let path = control::socket_path(dir.path());
    // A crashed engine leaves its socket file behind.
    let stale = std::os::unix::net::UnixListener::bind(&path).unwrap();
    drop(stale);
    assert!(path.exists());
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    Client::connect(dir.path()).await.expect("a fresh socket in place of the stale one");
    engine.shutdown().await;

    // A plain file by that name is not deleted; the engine runs without a socket and says why.
    std::fs::write(&path, "mine").unwrap();
    let engine = Engine::start(EngineOptions::new(dir.path())).await.expect("monitoring starts anyway");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine");
    let err = engine.status().last_error.expect("the status says the socket is missing");
    assert!(err.contains("control socket") && err.contains("caretaker.sock"), "{err}");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_sending_still_gets_its_answer_and_the_folder_is_free_after_a_stop() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let engine = start(dir.path()).await;
    assert!(caretaker_engine::data_dir_in_use(dir.path()));
    // As `echo '{…}' | nc -U -N` does: one request, then the write side closed.
    let raw = tokio::net::UnixStream::connect(control::socket_path(dir.path())).await.unwrap();
    let (read, mut write) = raw.into_split();
    write.write_all(b"{\"id\":5,\"cmd\":\"maintenance_status\"}\n").await.unwrap();
    write.shutdown().await.unwrap();
    let mut line = String::new();
    tokio::time::timeout(Duration::from_secs(10), tokio::io::BufReader::new(read).read_line(&mut line)).await.unwrap().unwrap();
    assert!(line.contains("\"id\":5") && line.contains("\"Ok\""), "{line}");
    engine.shutdown().await;
    assert!(!caretaker_engine::data_dir_in_use(dir.path()), "a stopped engine has released its folder");
}
