//! "Disk full in N days" on a real database: a week of hour rollups that fill this machine's
//! root disk gives a forecast and a warning alert; a flat week gives neither.

mod common;

use caretaker_engine::{Engine, EngineOptions};
use common::until;
use std::path::Path;

const H: i64 = 3_600_000;

/// Writes `hours` hour rollups of `disk_used_bytes{mount=/}` ending now, `per_hour` apart.
fn write_history(dir: &Path, now: i64, used_now: f64, per_hour: f64, hours: i64) {
    let c = rusqlite::Connection::open(dir.join("caretaker.db")).unwrap();
    c.execute("INSERT OR IGNORE INTO series (metric, labels, unit) VALUES ('disk_used_bytes', 'mount=/', 'bytes')", []).unwrap();
    let id: i64 = c.query_row("SELECT id FROM series WHERE metric = 'disk_used_bytes' AND labels = 'mount=/'", [], |r| r.get(0)).unwrap();
    c.execute("DELETE FROM rollup_hour WHERE series_id = ?1", [id]).unwrap();
    let start = (now / H - hours) * H;
    for i in 0..hours {
        let v = used_now - per_hour * (hours - i) as f64;
        c.execute(
            "INSERT INTO rollup_hour (series_id, ts, min, max, sum, count) VALUES (?1, ?2, ?3, ?3, ?3, 1)",
            rusqlite::params![id, start + i * H, v],
        )
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_filling_steadily_is_forecast_and_warned_about_and_a_flat_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("caretaker.toml"), "[metrics]\ninterval_secs = 1\n[notifications]\nenabled = false\n").unwrap();
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    let root = until("a sample with the root disk", 20, async || {
        engine.snapshot().host?.disks.into_iter().find(|d| d.mount_point == "/" && d.total_bytes > d.used_bytes)
    })
    .await;
    engine.shutdown().await;
    let now = chrono::Utc::now().timestamp_millis();
    let free = (root.total_bytes - root.used_bytes) as f64;

    // A flat week: a forecast with no growth, no alert.
    write_history(dir.path(), now, root.used_bytes as f64, 0.0, 168);
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    let flat = until("the flat forecast", 20, async || engine.disk_forecasts().into_iter().find(|f| f.mount_point == "/")).await;
    assert_eq!((flat.growth_bytes_per_day, flat.days_to_full), (Some(0.0), None), "{flat:?}");
    assert!(flat.hours >= 160, "a week of hours: {flat:?}");
    assert!(engine.open_alerts().iter().all(|a| a.rule != "disk_full"));
    engine.shutdown().await;

    // Filling so that it is full in about 5 days.
    write_history(dir.path(), now, root.used_bytes as f64, free / (5.0 * 24.0), 168);
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    let alert = until("the disk-filling alert", 20, async || engine.open_alerts().into_iter().find(|a| a.rule == "disk_full")).await;
    assert_eq!((alert.subject.as_str(), alert.alert_type.as_str()), ("disk:/", "disk_filling"));
    assert_eq!(alert.severity, caretaker_engine::Severity::Warning);
    assert!(alert.title.starts_with("Disk / full in about "), "{}", alert.title);
    let f = engine.disk_forecasts().into_iter().find(|f| f.mount_point == "/").unwrap();
    let days = f.days_to_full.expect("a forecast");
    assert!((4.0..6.0).contains(&days), "{f:?}");
    engine.shutdown().await;
}
