//! The opt-in HTTP endpoint: `/health`, `/metrics` (JSON) and `/metrics/prometheus`. Read-only,
//! loopback by default, a bearer token required elsewhere. Every connection is its own task with
//! a header deadline, so a slow or stuck client never holds up the engine or other clients.

pub mod config;
pub mod prometheus;

use crate::EngineHandle;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 64;
const HEADER_DEADLINE: Duration = Duration::from_secs(5);

fn reply(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}

fn json(status: StatusCode, v: serde_json::Value) -> Response<Full<Bytes>> {
    reply(status, "application/json", v.to_string())
}

fn authorized(req: &Request<Incoming>, token: &str) -> bool {
    if token.is_empty() {
        return true;
    }
    let want = format!("Bearer {token}");
    let got = req.headers().get(hyper::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    // Constant-time comparison, so the token cannot be guessed byte by byte.
    got.len() == want.len() && got.bytes().zip(want.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

async fn handle(
    engine: EngineHandle,
    token: Arc<String>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    if !authorized(&req, &token) {
        let mut r =
            json(StatusCode::UNAUTHORIZED, serde_json::json!({ "error": "a bearer token is required (Authorization: Bearer <token>)" }));
        if let Ok(v) = "Bearer".parse() {
            r.headers_mut().insert(hyper::header::WWW_AUTHENTICATE, v);
        }
        return Ok(r);
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Ok(json(StatusCode::METHOD_NOT_ALLOWED, serde_json::json!({ "error": "this endpoint only reads; use GET" })));
    }
    let snap = engine.snapshot();
    let checks: Vec<(String, Option<crate::CheckResult>)> = snap.checks.iter().map(|c| (c.config.name.clone(), c.latest.clone())).collect();
    let backups = match req.uri().path() {
        "/metrics" | "/metrics/prometheus" => engine.backups_overview().await.map(|o| o.plans).unwrap_or_default(),
        _ => Vec::new(),
    };
    Ok(match req.uri().path() {
        "/health" => {
            let now = engine.now_ms();
            let fresh = snap.engine.last_sample_ms.is_some_and(|t| now - t <= (snap.engine.metrics_interval_secs as i64 * 3 + 10) * 1000);
            let status = if fresh { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
            json(
                status,
                serde_json::json!({
                    "status": if fresh { "ok" } else { "stale" },
                    "version": snap.engine.version,
                    "state": snap.engine.state,
                    "subsystems": {
                        "sampler": { "last_tick_ms": snap.engine.last_sample_ms, "interval_secs": snap.engine.metrics_interval_secs },
                        "checks": { "last_result_ms": snap.checks.iter().filter_map(|c| c.latest.as_ref().map(|r| r.checked_at)).max() },
                    },
                    "last_error": snap.engine.last_error,
                }),
            )
        }
        "/metrics" => json(
            StatusCode::OK,
            serde_json::json!({
                "host": snap.host,
                "checks": snap.checks.iter().map(|c| serde_json::json!({ "name": c.config.name, "kind": c.kind, "target": c.target, "latest": c.latest })).collect::<Vec<_>>(),
                "alerts": snap.alerts,
                "worst": snap.worst,
                "backups": backups.iter().map(|p| serde_json::json!({
                    "plan": p.plan.name,
                    "health": p.health,
                    "last_success_ms": p.last_success_ms,
                    "last_run_status": p.last_run.as_ref().map(|r| r.status),
                    "next_run_ms": p.next_run_ms,
                    "repository_bytes": p.repository_bytes,
                })).collect::<Vec<_>>(),
            }),
        ),
        "/metrics/prometheus" => {
            let mut text =
                prometheus::render(snap.host.as_ref(), &checks, &snap.alerts, snap.engine.last_sample_ms, snap.engine.started_ms);
            prometheus::render_backups(&mut text, &backups);
            reply(StatusCode::OK, prometheus::CONTENT_TYPE, text)
        }
        _ => json(StatusCode::NOT_FOUND, serde_json::json!({ "error": "not found; try /health, /metrics or /metrics/prometheus" })),
    })
}

/// Binds and serves until the engine stops. Binding fails loudly (the port is taken, ...).
pub(crate) async fn serve(engine: EngineHandle, listener: TcpListener, token: String) {
    let token = Arc::new(token);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let cancel = engine.cancel_token();
    loop {
        let permit = tokio::select! {
            _ = cancel.cancelled() => return,
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
        };
        let (stream, _) = tokio::select! {
            _ = cancel.cancelled() => return,
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("http endpoint: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let (engine, token, cancel) = (engine.clone(), token.clone(), cancel.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let svc = hyper::service::service_fn(move |req| handle(engine.clone(), token.clone(), req));
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_DEADLINE)
                .keep_alive(true)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc);
            tokio::select! {
                _ = cancel.cancelled() => {}
                // A client that never finishes its request is dropped after the deadline.
                _ = tokio::time::timeout(Duration::from_secs(60), conn) => {}
            }
        });
    }
}
