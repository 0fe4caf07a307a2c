//! Alerts an owner keeps trusting, on recorded series with an injected clock: CPU judged on its
//! sustained level, escalation after an acknowledgement, flapping, disabled checks.
#![allow(clippy::field_reassign_with_default)] // configs read best as "default, then the one setting under test"

use caretaker_engine::alerts::{AlertManager, Effects, Severity};
use caretaker_engine::config::AlertsConfig;
use caretaker_engine::metrics::{CpuSample, DiskSample, HostSample};
use caretaker_engine::store::Db;
use caretaker_engine::{CheckResult, CheckStatus};

const SEC: i64 = 1_000;
const MIN: i64 = 60_000;
const HOUR: i64 = 3_600_000;

fn result(name: &str, status: CheckStatus, at: i64) -> CheckResult {
    CheckResult {
        service_name: name.into(),
        status,
        latency_ms: None,
        checked_at: at,
        error_message: Some("connection refused".into()),
        probe_details: serde_json::json!({}),
    }
}

fn manager(db: &Db, cfg: AlertsConfig) -> AlertManager {
    db.write(|c| AlertManager::load(c, cfg, 5, "mini".into(), 0)).unwrap()
}

fn cpu_at(m: &mut AlertManager, db: &Db, percent: f64, at: i64) -> Effects {
    let s = HostSample { ts_ms: at, cpu: CpuSample { total_percent: percent, per_core_percent: vec![] }, ..Default::default() };
    db.write(|c| m.on_host_sample(c, &s, at)).unwrap()
}

/// Feeds a recorded CPU series at one sample every 5 s from `start`; returns every notice title.
fn replay(m: &mut AlertManager, db: &Db, start: i64, series: &[(f64, i64)]) -> (Vec<String>, i64) {
    let mut at = start;
    let mut titles = Vec::new();
    for (percent, secs) in series {
        for _ in 0..secs / 5 {
            at += 5 * SEC;
            titles.extend(cpu_at(m, db, *percent, at).notices.into_iter().map(|n| n.title));
        }
    }
    (titles, at)
}

#[test]
fn a_minute_of_a_compile_is_not_an_alert_but_six_minutes_at_95_percent_is() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("t.db")).unwrap();
    let mut m = manager(&db, AlertsConfig::default());
    // An idle machine, then a 60 s build at 100 %, then idle again.
    let (titles, at) = replay(&mut m, &db, 0, &[(8.0, 600), (100.0, 60), (8.0, 300)]);
    assert!(titles.is_empty(), "{titles:?}");
    assert!(m.open_alerts().is_empty());

    let (titles, _) = replay(&mut m, &db, at, &[(95.0, 360)]);
    let cpu: Vec<_> = m.open_alerts().into_iter().filter(|a| a.rule == "cpu").collect();
    assert_eq!(cpu.len(), 1);
    assert_eq!(cpu[0].severity, Severity::Critical);
    assert_eq!(titles.len(), 2, "warning, then critical: {titles:?}");
    assert_eq!(titles[1], "CPU averaged 91 % over 5 minutes on mini");
    assert!(cpu[0].message.starts_with("CPU averaged 95 % over the last 5 minutes"), "{}", cpu[0].message);
}

#[test]
fn a_config_written_before_average_secs_existed_still_averages_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("t.db")).unwrap();
    let cfg: AlertsConfig = toml::from_str("cpu = { warning = 75, critical = 90 }\n").unwrap();
    let mut m = manager(&db, cfg);
    let (titles, _) = replay(&mut m, &db, 0, &[(8.0, 600), (100.0, 60)]);
    assert!(titles.is_empty(), "{titles:?}");
}

#[test]
fn after_a_start_the_cpu_window_refills_before_anything_fires() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("t.db")).unwrap();
    let mut m = manager(&db, AlertsConfig::default());
    // A build running as Caretaker starts: nothing until half the window has been seen.
    let (titles, _) = replay(&mut m, &db, 0, &[(100.0, 145)]);
    assert!(titles.is_empty(), "{titles:?}");
    let (titles, _) = replay(&mut m, &db, 145 * SEC, &[(100.0, 10)]);
    assert_eq!(titles.len(), 1, "{titles:?}");
}

#[test]
fn a_check_capped_at_warning_is_never_critical_and_never_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("t.db")).unwrap();
    let mut m = manager(&db, AlertsConfig::default());
    m.cap_check("Ollama", Some(Severity::Warning));
    let mut notices = Vec::new();
    for i in 0..12 * 60 {
        let at = i * MIN;
        notices.extend(db.write(|c| m.on_check_result(c, &result("Ollama", CheckStatus::Down, at), 60, at)).unwrap().notices);
        notices.extend(db.write(|c| m.on_tick(c, at + 30 * SEC)).unwrap().notices);
    }
    notices.retain(|n| n.title.starts_with("Ollama"));
    assert_eq!(notices.len(), 1, "one warning in 12 hours, no repeats: {notices:?}");
    assert_eq!(notices[0].severity, Severity::Warning);
    assert_eq!(m.open_alerts()[0].severity, Severity::Warning);
    // 12 hours span two of the 4-hour repeats a critical alert would get.
    const { assert!(12 * 60 * MIN > 2 * 4 * HOUR) };

    // Lifting the cap lets the next result be what the check says.
    m.cap_check("Ollama", None);
    let fx = db.write(|c| m.on_check_result(c, &result("Ollama", CheckStatus::Down, 13 * HOUR), 60, 13 * HOUR)).unwrap();
    assert_eq!(fx.changed[0].severity, Severity::Critical);
}

fn disk_at(m: &mut AlertManager, db: &Db, percent: f64, at: i64) -> Effects {
    let disk = DiskSample { name: "disk1".into(), mount_point: "/".into(), used_percent: percent, ..Default::default() };
    let s = HostSample { ts_ms: at, disks: vec![disk], ..Default::default() };
    db.write(|c| m.on_host_sample(c, &s, at)).unwrap()
}

#[test]
fn an_acknowledged_disk_warning_that_turns_critical_is_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("t.db")).unwrap();
    let mut m = manager(&db, AlertsConfig::default());
    let mut notices = Vec::new();
    let mut at = 0;
    let mut feed = |m: &mut AlertManager, percent: f64, samples: usize, notices: &mut Vec<_>| {
        for _ in 0..samples {
            at += 5 * SEC;
            notices.extend(disk_at(m, &db, percent, at).notices);
            notices.extend(db.write(|c| m.on_tick(c, at)).unwrap().notices);
        }
    };
    feed(&mut m, 86.0, 4, &mut notices);
    assert_eq!(notices.len(), 1, "{notices:?}");
    let id = m.open_alerts()[0].id;
    db.write(|c| m.acknowledge(c, id, 20 * SEC)).unwrap();
    notices.clear();

    feed(&mut m, 97.0, 10, &mut notices);
    assert_eq!(notices.len(), 1, "the escalation is said: {notices:?}");
    assert_eq!((notices[0].alert_id, notices[0].severity), (id, Severity::Critical));
    assert_eq!(notices[0].title, "Disk / at 97 % on mini");
    // Hovering across the critical line, and hours of it, say nothing more while acknowledged.
    notices.clear();
    feed(&mut m, 89.0, 3, &mut notices);
    feed(&mut m, 97.0, 3, &mut notices);
    feed(&mut m, 97.0, 5 * 720, &mut notices);
    assert!(notices.is_empty(), "{notices:?}");
}

#[test]
fn a_flapping_service_is_one_incident_said_once_with_its_count() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("t.db")).unwrap();
    let mut cfg = AlertsConfig::default();
    cfg.check_failures_before_alert = 2;
    let mut m = manager(&db, cfg);
    // bad, bad, good, bad, bad, good, ... for an hour at one result a minute.
    let mut notices = Vec::new();
    let mut ids = std::collections::BTreeSet::new();
    for i in 0..60 {
        let at = i * MIN;
        let status = if i % 3 == 2 { CheckStatus::Healthy } else { CheckStatus::Down };
        let fx = db.write(|c| m.on_check_result(c, &result("Web", status, at), 60, at)).unwrap();
        ids.extend(fx.changed.iter().map(|a| a.id));
        notices.extend(fx.notices);
    }
    assert_eq!(ids.len(), 1, "one incident: {ids:?}");
    let titles: Vec<&str> = notices.iter().map(|n| n.title.as_str()).collect();
    assert_eq!(titles, vec!["Web is down on mini", "Recovered: Web is healthy again", "Flapping: Web is down on mini"]);
    let rows = db
        .read(|c| {
            caretaker_engine::alerts::list_alerts(c, &caretaker_engine::AlertQuery { include_resolved: true, limit: 10, subject: None })
        })
        .unwrap();
    assert_eq!(rows.len(), 1, "the same row re-opened");
    assert_eq!(rows[0].flap_count, 19, "{:?}", rows[0]);

    // Settled for longer than the window, a new failure is a new incident.
    let at = 60 * MIN;
    db.write(|c| m.on_check_result(c, &result("Web", CheckStatus::Healthy, at), 60, at)).unwrap();
    db.write(|c| m.on_tick(c, at + 16 * MIN)).unwrap();
    for i in 0..2 {
        let at = at + 20 * MIN + i * MIN;
        notices = db.write(|c| m.on_check_result(c, &result("Web", CheckStatus::Down, at), 60, at)).unwrap().notices;
    }
    assert_eq!(notices.len(), 1);
    assert_ne!(notices[0].alert_id, *ids.first().unwrap());
    assert_eq!(m.open_alerts()[0].flap_count, 0);
}
