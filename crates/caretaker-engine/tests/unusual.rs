//! The automatic detector in a real engine: two days of CPU history in the minute rollups of a
//! real SQLite file warm it up at start (the past raises nothing); the live samples that follow
//! are far from that history, so the first five minutes judged open one warning that says what
//! was seen and what is usual; switching the detector off in Settings resolves it.

mod common;

use caretaker_engine::alerts::AlertStatus;
use caretaker_engine::clock::Clock;
use caretaker_engine::config::section::ConfigSection;
use caretaker_engine::{Engine, EngineHandle, EngineOptions, Event};
use common::{until, wait_for, TestClock};
use std::sync::Arc;

const MIN: i64 = 60_000;
/// On a five-minute boundary.
const T0: i64 = 1_800_000_000_000;

/// CPU steady at 150 % (no machine reads that live: the live samples are surely unusual).
fn history(dir: &std::path::Path) {
    let conn = caretaker_engine::store::open_and_migrate(&dir.join("caretaker.db")).unwrap();
    conn.execute("INSERT INTO series (metric, labels, unit) VALUES ('cpu_usage_percent', '', 'percent')", []).unwrap();
    let id = conn.last_insert_rowid();
    for m in 1..=(2 * 24 * 60) {
        let v = 150.0 + (m % 7) as f64 * 0.1;
        conn.execute(
            "INSERT INTO rollup_minute (series_id, ts, min, max, sum, count) VALUES (?1, ?2, ?3, ?3, ?4, 12)",
            rusqlite::params![id, T0 - m * MIN, v, v * 12.0],
        )
        .unwrap();
    }
}

async fn open_unusual(e: &EngineHandle) -> Option<caretaker_engine::Alert> {
    e.snapshot().alerts.into_iter().find(|a| a.rule == "unusual" && a.status != AlertStatus::Resolved)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_samples_far_from_the_learnt_history_open_one_explained_warning() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("caretaker.toml"), "[metrics]\ninterval_secs = 1\n[notifications]\nenabled = false\n").unwrap();
    history(dir.path());
    let clock = Arc::new(TestClock::at(T0));
    let mut o = EngineOptions::new(dir.path());
    o.clock = clock.clone();
    let engine = Engine::start(o).await.unwrap();
    let mut rx = engine.subscribe();
    let sample = |e: &Event| matches!(e, Event::HostSample { sample, .. } if sample.ts_ms >= clock.now_ms()).then_some(());
    wait_for(&mut rx, 30, sample).await;
    assert!(open_unusual(&engine).await.is_none(), "the past raises nothing");

    // The next five minutes begin: the live ones are judged.
    clock.advance(5 * MIN);
    wait_for(&mut rx, 30, sample).await;
    let alert = until("the unusual CPU alert", 30, async || open_unusual(&engine).await).await;
    assert_eq!(alert.subject, "CPU");
    assert_eq!(alert.alert_type, "unusual");
    assert!(alert.title.starts_with("CPU is unusual on "), "{}", alert.title);
    assert!(alert.message.contains("usual over the last") && alert.message.contains("150 %"), "{}", alert.message);
    assert!(caretaker_engine::alerts::runbook("unusual").is_some());

    let mut alerts = engine.config().alerts;
    alerts.unusual = false;
    engine.save_config_section(ConfigSection::Alerts(Box::new(alerts))).await.unwrap();
    until("switched off, it resolves", 30, async || open_unusual(&engine).await.is_none().then_some(())).await;
}
