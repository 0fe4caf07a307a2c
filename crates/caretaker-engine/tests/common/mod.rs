//! Helpers the engine's scenario tests share: ports, a notification recorder, a settable clock,
//! and waits that poll what the engine reports against a deadline (never a fixed sleep).
//! Each test binary uses a different subset.
#![allow(dead_code)]

use caretaker_engine::alerts::notify::Sink;
use caretaker_engine::{Clock, Event};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A loopback address nothing listens on (the OS picked it free a moment ago).
pub fn free_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    l.local_addr().expect("local address")
}

pub fn free_port() -> u16 {
    free_addr().port()
}

/// Writes `caretaker.toml` into `dir` (created if missing).
pub fn write_config(dir: &Path, body: &str) {
    std::fs::create_dir_all(dir).expect("create the data folder");
    std::fs::write(dir.join("caretaker.toml"), body).expect("write caretaker.toml");
}

/// A notification sink that keeps what it was asked to show.
#[derive(Default)]
pub struct Recorder(Mutex<Vec<(String, String)>>);

impl Sink for Recorder {
    fn show(&self, title: &str, body: &str, _critical: bool) -> Result<(), String> {
        self.0.lock().expect("recorder lock").push((title.to_string(), body.to_string()));
        Ok(())
    }
}

impl Recorder {
    /// Every notification shown so far as (title, body).
    pub fn shown(&self) -> Vec<(String, String)> {
        self.0.lock().expect("recorder lock").clone()
    }

    /// Every notification shown so far as "title\nbody" (a burst is folded into one
    /// notification that lists each title in its body).
    pub fn texts(&self) -> Vec<String> {
        self.shown().into_iter().map(|(t, b)| format!("{t}\n{b}")).collect()
    }
}

/// A clock the test sets by hand.
pub struct TestClock(AtomicI64);

impl TestClock {
    pub fn at(ms: i64) -> Self {
        TestClock(AtomicI64::new(ms))
    }

    pub fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }

    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Polls `f` until it returns something, failing the test after `secs` seconds.
pub async fn until<T>(what: &str, secs: u64, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {secs} s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for the first event `f` picks, failing the test after `secs` seconds.
pub async fn wait_for<T>(rx: &mut tokio::sync::broadcast::Receiver<Event>, secs: u64, mut f: impl FnMut(&Event) -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(e)) => {
                if let Some(v) = f(&e) {
                    return v;
                }
            }
            Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => continue,
            other => panic!("event not seen within {secs} s: {other:?}"),
        }
    }
}
