//! What the channel tests share: a loopback HTTP receiver that records every request, and an
//! engine set up with one check of a closed port whose alert opens at start.
#![allow(dead_code)]

use caretaker_engine::{Engine, EngineHandle, EngineOptions};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Req {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Req {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// Answers every request with `status` (0: accepts and never answers).
pub struct Receiver {
    pub addr: SocketAddr,
    reqs: Arc<Mutex<Vec<Req>>>,
    status: Arc<AtomicU16>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start(status: u16) -> Receiver {
        Self::on("127.0.0.1:0".parse().unwrap(), status).await
    }

    pub async fn on(addr: SocketAddr, status: u16) -> Receiver {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let reqs: Arc<Mutex<Vec<Req>>> = Arc::default();
        let code = Arc::new(AtomicU16::new(status));
        let (r, c) = (reqs.clone(), code.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((s, _)) = listener.accept().await else { return };
                let (r, c) = (r.clone(), c.clone());
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (r, c) = (r.clone(), c.clone());
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body.collect().await?.to_bytes();
                            let headers =
                                parts.headers.iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())).collect();
                            let path = parts.uri.path_and_query().map(|p| p.to_string()).unwrap_or_default();
                            let body = String::from_utf8_lossy(&body).into_owned();
                            let status = c.load(Ordering::SeqCst);
                            if status == 0 {
                                std::future::pending::<()>().await;
                            }
                            let echo = format!("{{\"error\":\"refused\",\"seen\":{:?}}}", headers_text(&headers));
                            r.lock().unwrap().push(Req { path, headers, body });
                            Ok::<_, hyper::Error>(hyper::Response::builder().status(status).body(Full::new(Bytes::from(echo))).unwrap())
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(s), svc).await;
                });
            }
        });
        Receiver { addr, reqs, status: code, task }
    }

    pub fn requests(&self) -> Vec<Req> {
        self.reqs.lock().unwrap().clone()
    }

    pub fn at(&self, path: &str) -> Vec<Req> {
        self.requests().into_iter().filter(|r| r.path == path).collect()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops listening (connections are refused from now on); the address stays known.
    pub fn stop(&self) {
        self.task.abort();
    }
}

fn headers_text(h: &HashMap<String, String>) -> String {
    let mut v: Vec<String> = h.iter().map(|(k, v)| format!("{k}={v}")).collect();
    v.sort();
    v.join(";")
}

/// caretaker.toml: one check of a closed port (`closed`) that alerts on its first failure, and
/// the given extra TOML (channels, heartbeat).
pub fn write_config(dir: &Path, closed: u16, extra: &str) {
    let text = format!(
        "[metrics]\ninterval_secs = 60\n[alerts]\ncheck_failures_before_alert = 1\n[[checks.list]]\nname = \"Closed\"\ninterval_secs = 3600\ntimeout_secs = 2\ntcp = {{ port = {closed} }}\n[notifications]\nenabled = false\n{extra}"
    );
    std::fs::write(dir.join("caretaker.toml"), text).unwrap();
}

pub fn options(dir: &Path) -> EngineOptions {
    std::env::set_var(caretaker_engine::secrets::KEYCHAIN_ENV, "off");
    let mut o = EngineOptions::new(dir);
    o.notification_window = Duration::from_millis(200);
    o.channel_retry = Duration::from_millis(200);
    o
}

pub async fn start(dir: &Path) -> EngineHandle {
    Engine::start(options(dir)).await.unwrap()
}

/// Makes the closed port answer and runs the check: its alert resolves.
pub async fn heal(engine: &EngineHandle, closed: u16) -> std::net::TcpListener {
    let l = std::net::TcpListener::bind(("127.0.0.1", closed)).unwrap();
    engine.run_check("Closed").await.unwrap();
    l
}

/// Saves the channel as it is configured, with one secret: what the app does when only a
/// password or token is typed in.
pub async fn set_secret(engine: &EngineHandle, channel: &str, key: &str, value: &str) -> caretaker_engine::Result<()> {
    let c = engine.config().notifications.channels.into_iter().find(|c| c.name == channel).expect("the channel is configured");
    let secret = caretaker_engine::channels::ChannelSecret { key: key.into(), value: value.into() };
    engine.save_channel(Some(channel.into()), c, vec![secret]).await.map(|_| ())
}
