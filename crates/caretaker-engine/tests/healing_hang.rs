//! A hung service manager must not stall the engine: with `systemctl` replaced by one that never
//! answers, metrics keep being written and the snapshot answers at once. Its own test binary,
//! because it changes PATH for the whole process.
#![cfg(target_os = "linux")]

mod common;

use caretaker_engine::{read_status, Engine, EngineOptions};
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_systemctl_stalls_neither_metrics_nor_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let fake = bin.join("systemctl");
    std::fs::write(&fake, "#!/bin/sh\nexec sleep 600\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::env::set_var("PATH", format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()));

    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let port = common::free_port();
    std::fs::write(
        data.join("caretaker.toml"),
        format!(
            "[metrics]\ninterval_secs = 1\n[notifications]\nenabled = false\n[alerts]\ncheck_failures_before_alert = 1\n\
             [[checks.list]]\nname = \"Web\"\ninterval_secs = 5\ntimeout_secs = 1\ntcp = {{ host = \"127.0.0.1\", port = {port} }}\n\
             [[healing.actions]]\nid = \"restart-web\"\nname = \"Restart the web server\"\nmode = \"auto\"\non_checks = [\"Web\"]\n\
             respect_manual_stop = true\nrestart_service = {{ name = \"web.service\" }}\n"
        ),
    )
    .unwrap();
    let engine = Engine::start(EngineOptions::new(&data)).await.unwrap();

    // The check fails, its alert opens, and healing asks systemctl (which hangs).
    let deadline = Instant::now() + Duration::from_secs(30);
    while !engine.snapshot().alerts.iter().any(|a| a.subject == "Web") {
        assert!(Instant::now() < deadline, "the Web alert never opened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sample_at = |data: &std::path::Path| read_status(data, i64::MAX / 2).unwrap().engine.and_then(|e| e.last_sample_ms).unwrap_or(0);
    let before = sample_at(&data);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut written = 0;
    let mut last = before;
    while written < 3 {
        assert!(Instant::now() < deadline, "metrics stopped being written while systemctl hangs ({written} new samples)");
        let h = engine.clone();
        let t = Instant::now();
        let snap = tokio::time::timeout(Duration::from_secs(2), tokio::task::spawn_blocking(move || h.snapshot())).await;
        assert!(snap.is_ok(), "snapshot() did not answer within 2 s");
        assert!(t.elapsed() < Duration::from_secs(2));
        let now = sample_at(&data);
        if now > last {
            written += 1;
            last = now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    engine.shutdown().await;
}
