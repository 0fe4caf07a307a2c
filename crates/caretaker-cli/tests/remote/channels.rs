//! `caretaker channels` against a real `caretaker run`: a secret typed on standard input reaches
//! the channel (and not caretaker.toml), a test message is delivered to a loopback ntfy
//! stand-in, and the list shows the delivery.

use crate::common::{self, poll, text, Engine};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

/// Answers every request 200 and keeps each one's head and body as text.
fn receiver() -> (u16, Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let keep = seen.clone();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let mut r = BufReader::new(s);
            let (mut head, mut len) = (String::new(), 0usize);
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut body = vec![0u8; len];
            let _ = r.read_exact(&mut body);
            keep.lock().expect("lock").push(format!("{head}\r\n{}", String::from_utf8_lossy(&body)));
            let _ = r.get_mut().write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
        }
    });
    (port, seen)
}

#[test]
fn a_secret_from_stdin_a_test_message_and_the_list() {
    let (port, seen) = receiver();
    let engine = Engine::start(&format!(
        "[[notifications.channels]]\nname = \"phone\"\nkind = \"ntfy\"\nserver = \"http://127.0.0.1:{port}\"\ntopic = \"mini\"\n"
    ));
    let mut child = common::bin()
        .args(["channels", "secret", "phone", "token", "--data-dir"])
        .arg(&engine.data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("caretaker channels secret");
    child.stdin.take().expect("stdin").write_all(b"tk_from_stdin\n").expect("write the token");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{}{}", text(&out.stderr), text(&out.stdout));
    let toml = std::fs::read_to_string(engine.data.join("caretaker.toml")).expect("config");
    assert!(!toml.contains("tk_from_stdin"), "{toml}");

    let out = engine.cli(&["channels", "test", "phone"]);
    assert!(out.status.success(), "{}{}", text(&out.stderr), engine.stderr_text());
    assert_eq!(text(&out.stdout).trim(), "delivered to phone");
    let got = poll("the test reaches the receiver", 10, || seen.lock().expect("lock").first().cloned());
    assert!(got.starts_with("POST /mini "), "{got}");
    assert!(got.to_ascii_lowercase().contains("authorization: bearer tk_from_stdin"), "{got}");

    let list = engine.json(&["channels", "--json"]);
    assert_eq!((list[0]["name"].as_str(), list[0]["kind"].as_str()), (Some("This computer"), Some("desktop")), "{list}");
    assert_eq!(list[1]["name"], "phone");
    assert_eq!(list[1]["pending"], 0);
    assert!(list[1]["last_success_at"].is_i64(), "{list}");
    let out = engine.cli(&["channels", "test", "nope"]);
    assert!(!out.status.success());
}
