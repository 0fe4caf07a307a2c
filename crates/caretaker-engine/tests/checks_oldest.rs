//! A json_value check that reports the oldest item in progress: read from a real HTTP answer at
//! the engine's clock, stored with the run, and why not when it cannot be read.

mod common;

use caretaker_engine::{Engine, EngineOptions};
use common::TestClock;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;

const MIN: i64 = 60_000;
/// 2027-01-15T08:00:00Z.
const T0: i64 = 1_800_000_000_000;

/// Answers every request with `body`.
fn serve(body: &'static str) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let mut reader = BufReader::new(s.try_clone().unwrap());
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
            }
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oldest_item_in_progress_is_read_as_an_age_at_the_engines_clock() {
    let dir = tempfile::tempdir().unwrap();
    let port = serve(r#"{"depth": 12, "oldest": {"started_at": "2027-01-15T08:00:00Z", "age": 754}, "none": null}"#);
    let check = |name: &str, pointer: &str| {
        format!(
            "[[checks.list]]\nname = \"{name}\"\ninterval_secs = 3600\njson_value = {{ url = \"http://127.0.0.1:{port}/stats\", pointer = \"/depth\", warning_above = 100, oldest_pointer = \"{pointer}\" }}\n"
        )
    };
    let config = ["Started", "Age", "Idle", "Typo"]
        .iter()
        .zip(["/oldest/started_at", "/oldest/age", "/none", "/oldest/startd_at"])
        .map(|(n, p)| check(n, p))
        .collect::<String>();
    common::write_config(dir.path(), &format!("[metrics]\ninterval_secs = 60\n[notifications]\nenabled = false\n{config}"));
    let clock = Arc::new(TestClock::at(T0 + 40 * MIN));
    let mut o = EngineOptions::new(dir.path());
    o.clock = clock.clone();
    let engine = Engine::start(o).await.unwrap();

    let details = |r: caretaker_engine::CheckResult| r.probe_details;
    let started = details(engine.run_check("Started").await.unwrap());
    assert_eq!(started["oldest_age_secs"], 2400.0, "{started}");
    assert_eq!(started["value"], 12.0);
    assert_eq!(details(engine.run_check("Age").await.unwrap())["oldest_age_secs"], 754.0);
    assert_eq!(details(engine.run_check("Idle").await.unwrap())["oldest_age_secs"], 0.0, "null: nothing in progress");
    let typo = engine.run_check("Typo").await.unwrap();
    assert_eq!(typo.status, caretaker_engine::CheckStatus::Healthy, "the depth is still read: {typo:?}");
    assert!(typo.probe_details.get("oldest_age_secs").is_none());
    assert_eq!(typo.probe_details["oldest_error"], "/oldest/startd_at: the response has nothing there");
    engine.shutdown().await;
}
