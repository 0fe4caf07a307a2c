//! Check-scheduler benchmark: 200 checks every 10 s against loopback HTTP and TCP servers on
//! this machine, for 60 s. Reports how late each run started against its due time (p50, p99,
//! max), beside a peer measured in the same run: bare tokio intervals doing no work, which is
//! the floor any scheduler on this runtime can reach.
//! Run: `cargo bench -p caretaker-engine --bench check_schedule` (BENCH_SECS to change 60).

use caretaker_engine::checks::{spawn_checks, Prober};
use caretaker_engine::config::{CheckConfig, HttpProbe, TcpProbe};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const CHECKS: usize = 200;
const INTERVAL: u64 = 10;

fn http_server() -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut s = s;
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
            });
        }
    });
    addr
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let secs: u64 = std::env::var("BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let http = http_server();
    let tcp = TcpListener::bind("127.0.0.1:0").expect("bind");
    let tcp_port = tcp.local_addr().expect("addr").port();
    std::thread::spawn(move || for _ in tcp.incoming() {});

    let checks: Vec<CheckConfig> = (0..CHECKS)
        .map(|i| {
            let mut c = CheckConfig {
                name: format!("c{i}"),
                interval_secs: INTERVAL,
                timeout_secs: 5,
                degraded_latency_ms: None,
                enabled: true,
                http: None,
                tcp: None,
                process: None,
                command: None,
                json_value: None,
                max_severity: None,
            };
            if i % 2 == 0 {
                c.http = Some(HttpProbe {
                    url: format!("http://{http}/health"),
                    method: "GET".into(),
                    expect_status: [200, 299],
                    body_contains: Some("ok".into()),
                    json_pointer: None,
                    json_equals: None,
                });
            } else {
                c.tcp = Some(TcpProbe { host: "127.0.0.1".into(), port: tcp_port });
            }
            c
        })
        .collect();

    let (lags, healthy, total, peer) = rt.block_on(async move {
        let cancel = CancellationToken::new();
        let (tx, mut rx) = tokio::sync::mpsc::channel(4096);
        let clock: Arc<dyn caretaker_engine::Clock> = Arc::new(caretaker_engine::SystemClock);
        let handles = spawn_checks(&checks, Prober::new().expect("prober"), clock, tx, cancel.clone());

        // The peer: the same number of bare intervals, no probe, measured at the same time.
        let (ptx, mut prx) = tokio::sync::mpsc::channel::<f64>(4096);
        let peer_cancel = cancel.clone();
        for i in 0..CHECKS {
            let (ptx, peer_cancel) = (ptx.clone(), peer_cancel.clone());
            tokio::spawn(async move {
                let start = tokio::time::Instant::now() + Duration::from_millis((i as u64 * 37) % 1000);
                let mut t = tokio::time::interval_at(start, Duration::from_secs(INTERVAL));
                loop {
                    let due = tokio::select! { _ = peer_cancel.cancelled() => break, d = t.tick() => d };
                    let _ = ptx.send(due.elapsed().as_secs_f64() * 1000.0).await;
                }
            });
        }
        drop(ptx);

        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        let (mut lags, mut healthy, mut total, mut peer) = (Vec::new(), 0usize, 0usize, Vec::new());
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                Some((r, lag)) = rx.recv() => {
                    let lag: caretaker_engine::checks::Lag = lag;
                    lags.push(lag.started.duration_since(lag.due).as_secs_f64() * 1000.0);
                    total += 1;
                    if r.status == caretaker_engine::CheckStatus::Healthy { healthy += 1; }
                }
                Some(p) = prx.recv() => peer.push(p),
            }
        }
        cancel.cancel();
        for h in handles {
            let _ = h.await;
        }
        (lags, healthy, total, peer)
    });

    let mut lags = lags;
    let mut peer = peer;
    lags.sort_by(f64::total_cmp);
    peer.sort_by(f64::total_cmp);
    let expected = CHECKS as u64 * secs / INTERVAL;
    println!(
        "{CHECKS} checks every {INTERVAL} s for {secs} s on {} cores (half HTTP, half TCP, loopback)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("  runs: {total} (expected about {expected}), healthy: {healthy}");
    println!(
        "  schedule lag, checks:      p50 {:7.2} ms  p99 {:7.2} ms  max {:7.2} ms",
        percentile(&lags, 0.5),
        percentile(&lags, 0.99),
        lags.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "  schedule lag, bare timers: p50 {:7.2} ms  p99 {:7.2} ms  max {:7.2} ms",
        percentile(&peer, 0.5),
        percentile(&peer, 0.99),
        peer.last().copied().unwrap_or(f64::NAN)
    );
    println!("  p99 ratio checks / bare timers: {:.2}", percentile(&lags, 0.99) / percentile(&peer, 0.99).max(0.001));
}
