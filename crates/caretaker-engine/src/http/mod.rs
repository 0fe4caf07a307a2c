//! The opt-in HTTP endpoint: `/health`, `/metrics` (JSON) and `/metrics/prometheus`. Read-only,
//! loopback by default, a bearer token required elsewhere. Every connection is its own task with
//! a header deadline, so a slow or stuck client never holds up the engine or other clients.
//! Requests naming a foreign host are refused (DNS rebinding), and what is shown leaves out
//! credentials, command arguments and command output (`redact`).

pub mod config;
pub mod prometheus;
mod redact;
mod slots;

use crate::EngineHandle;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Connections open at once; see `slots` for who makes room when they are all taken.
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

/// A refusal that also ends the connection, so a refused client gives its slot back at once.
fn refuse(mut r: Response<Full<Bytes>>) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    r.headers_mut().insert(hyper::header::CONNECTION, hyper::header::HeaderValue::from_static("close"));
    Ok(r)
}

async fn handle(
    engine: EngineHandle,
    cfg: Arc<config::HttpConfig>,
    trusted: Arc<AtomicBool>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let host = req.headers().get(hyper::header::HOST).map(|h| h.to_str().unwrap_or(""));
    if !config::host_allowed(host, &cfg.allowed_hosts) {
        return refuse(json(
            StatusCode::MISDIRECTED_REQUEST,
            serde_json::json!({ "error": "this host name is not served here; use localhost, an IP address, or add the name to http.allowed_hosts" }),
        ));
    }
    if !authorized(&req, &cfg.token) {
        let mut r =
            json(StatusCode::UNAUTHORIZED, serde_json::json!({ "error": "a bearer token is required (Authorization: Bearer <token>)" }));
        if let Ok(v) = "Bearer".parse() {
            r.headers_mut().insert(hyper::header::WWW_AUTHENTICATE, v);
        }
        return refuse(r);
    }
    trusted.store(true, Ordering::Release);
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Ok(json(StatusCode::METHOD_NOT_ALLOWED, serde_json::json!({ "error": "this endpoint only reads; use GET" })));
    }
    let snap = engine.snapshot();
    let command_checks: Vec<&str> = snap.checks.iter().filter(|c| c.config.command.is_some()).map(|c| c.config.name.as_str()).collect();
    let latest = |c: &crate::events::CheckState| c.latest.as_ref().map(|r| redact::check_result(r, c.config.command.is_some()));
    let checks: Vec<(String, Option<crate::CheckResult>)> = snap.checks.iter().map(|c| (c.config.name.clone(), latest(c))).collect();
    let alerts: Vec<crate::Alert> = snap.alerts.iter().map(|a| redact::alert(a, &command_checks)).collect();
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
                "checks": snap.checks.iter().map(|c| serde_json::json!({ "name": c.config.name, "kind": c.kind, "target": redact::target(&c.config), "latest": latest(c) })).collect::<Vec<_>>(),
                "alerts": alerts,
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
            let mut text = prometheus::render(snap.host.as_ref(), &checks, &alerts, snap.engine.last_sample_ms, snap.engine.started_ms);
            prometheus::render_backups(&mut text, &backups);
            reply(StatusCode::OK, prometheus::CONTENT_TYPE, text)
        }
        _ => json(StatusCode::NOT_FOUND, serde_json::json!({ "error": "not found; try /health, /metrics or /metrics/prometheus" })),
    })
}

/// Serves on `listener` until the engine stops.
/// Serves until `cancel` (the engine's stop, or a change of `[http]`).
pub(crate) async fn serve(
    engine: EngineHandle,
    listener: TcpListener,
    cfg: config::HttpConfig,
    cancel: tokio_util::sync::CancellationToken,
) {
    let cfg = Arc::new(cfg);
    let slots = slots::Slots::new(MAX_CONNECTIONS);
    loop {
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
        // Every slot is held by a client that was let in: this one is closed unanswered.
        let Some(slot) = slots.admit() else { continue };
        let (engine, cfg, cancel) = (engine.clone(), cfg.clone(), cancel.clone());
        tokio::spawn(async move {
            let trusted = slot.trusted.clone();
            let svc = hyper::service::service_fn(move |req| handle(engine.clone(), cfg.clone(), trusted.clone(), req));
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_DEADLINE)
                .keep_alive(true)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc);
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = slot.evicted.cancelled() => {}
                // A client that never finishes its request is dropped after the deadline.
                _ = tokio::time::timeout(Duration::from_secs(60), conn) => {}
            }
        });
    }
}
