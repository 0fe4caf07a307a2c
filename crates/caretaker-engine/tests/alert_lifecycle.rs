//! The alert lifecycle, driven with recorded inputs and an injected clock: acknowledge, snooze,
//! repeat for unacknowledged criticals, quiet hours, stale sources, pause.
#![allow(clippy::field_reassign_with_default)] // configs read best as "default, then the one setting under test"

use caretaker_engine::alerts::{AlertManager, AlertStatus, Severity};
use caretaker_engine::config::{AlertsConfig, QuietHours};
use caretaker_engine::store::Db;
use caretaker_engine::{CheckResult, CheckStatus};

const MIN: i64 = 60_000;
const HOUR: i64 = 3_600_000;

fn result(name: &str, status: CheckStatus, at: i64) -> CheckResult {
    CheckResult {
        service_name: name.into(),
        status,
        latency_ms: Some(3.0),
        checked_at: at,
        error_message: Some("connection refused".into()),
        probe_details: serde_json::json!({}),
    }
}

fn manager(db: &Db, cfg: AlertsConfig) -> AlertManager {
    db.write(|c| AlertManager::load(c, cfg, 5, "mini".into(), 0)).unwrap()
}

#[test]
fn acknowledge_silences_repeats_and_unacknowledged_criticals_repeat_every_4_hours() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("t.db")).unwrap();
    let mut m = manager(&db, AlertsConfig::default());
    let down = |m: &mut AlertManager, at| db.write(|c| m.on_check_result(c, &result("NAS", CheckStatus::Down, at), 60, at)).unwrap();

    // Two failures in a row (the default) before it fires.
    assert!(down(&mut m, 0).notices.is_empty());
    let fx = down(&mut m, MIN);
    assert_eq!(fx.notices.len(), 1);
    assert_eq!(fx.notices[0].title, "NAS is down on mini");
    let id = fx.changed[0].id;

    // Still down: nothing new until the repeat interval.
    assert!(down(&mut m, 2 * MIN).notices.is_empty());
    assert!(db.write(|c| m.on_tick(c, 3 * HOUR)).unwrap().notices.iter().all(|n| n.alert_id != id));
    let fx = db.write(|c| m.on_tick(c, MIN + 4 * HOUR)).unwrap();
    let repeat: Vec<_> = fx.notices.iter().filter(|n| n.alert_id == id).collect();
    assert_eq!(repeat.len(), 1);
    assert!(repeat[0].title.starts_with("Still critical: NAS is down"));

    // Acknowledged: no more repeats, still open.
    let a = db.write(|c| m.acknowledge(c, id, 5 * HOUR)).unwrap();
    assert_eq!(a.status, AlertStatus::Acknowledged);
    let fx = db.write(|c| m.on_tick(c, 10 * HOUR)).unwrap();
    assert!(fx.notices.iter().all(|n| n.alert_id != id));

    // Recovery: one notice, even though it was acknowledged.
    let fx = db.write(|c| m.on_check_result(c, &result("NAS", CheckStatus::Healthy, 11 * HOUR), 60, 11 * HOUR)).unwrap();
    assert_eq!(fx.notices.len(), 1);
    assert!(fx.notices[0].recovery);
    assert_eq!(fx.changed[0].status, AlertStatus::Resolved);
    assert!(m.open_alerts().iter().all(|a| a.subject != "NAS"));
}

#[test]
fn snooze_and_pause_silence_notices_but_keep_the_alert() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("t.db")).unwrap();
    let mut cfg = AlertsConfig::default();
    cfg.check_failures_before_alert = 1;
    let mut m = manager(&db, cfg);
    let fx = db.write(|c| m.on_check_result(c, &result("NAS", CheckStatus::Degraded, 0), 60, 0)).unwrap();
    let id = fx.changed[0].id;
    assert_eq!(fx.changed[0].severity, Severity::Warning);
    assert!(db.write(|c| m.snooze(c, id, 3, 0)).is_err(), "only 1, 4 or 8 hours");
    db.write(|c| m.snooze(c, id, 1, 0)).unwrap();
    // Still degraded while snoozed: nothing.
    assert!(db.write(|c| m.on_check_result(c, &result("NAS", CheckStatus::Degraded, MIN / 2), 60, MIN / 2)).unwrap().notices.is_empty());
    // Escalation to critical while snoozed is news: said once, then silent again.
    let fx = db.write(|c| m.on_check_result(c, &result("NAS", CheckStatus::Down, MIN), 60, MIN)).unwrap();
    assert_eq!(fx.changed[0].severity, Severity::Critical);
    assert_eq!(fx.notices.len(), 1);
    assert_eq!(fx.notices[0].severity, Severity::Critical);
    for (i, status) in [CheckStatus::Degraded, CheckStatus::Down, CheckStatus::Down].into_iter().enumerate() {
        let at = 2 * MIN + i as i64 * MIN;
        assert!(db.write(|c| m.on_check_result(c, &result("NAS", status, at), 60, at)).unwrap().notices.is_empty());
    }

    db.write(|c| m.pause_notifications(c, Some(2 * HOUR), HOUR)).unwrap();
    let fx = db.write(|c| m.on_check_result(c, &result("Web", CheckStatus::Down, HOUR + MIN), 60, HOUR + MIN)).unwrap();
    assert_eq!(fx.changed.len(), 1, "the alert still opens");
    assert!(fx.notices.is_empty(), "but nobody is woken");
    // The pause survives a restart.
    let m2 = manager(&db, AlertsConfig::default());
    assert_eq!(m2.paused_until(), Some(2 * HOUR));
    assert_eq!(m2.open_alerts().len(), 2);
}

#[test]
fn quiet_hours_keep_warnings_in_the_app_but_criticals_still_notify() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("t.db")).unwrap();
    let mut cfg = AlertsConfig::default();
    cfg.check_failures_before_alert = 1;
    cfg.quiet_hours = Some(QuietHours { start: "01:00".into(), end: "05:00".into() });
    let mut m = manager(&db, cfg);
    m.set_local_minute(|_| 3 * 60); // 03:00 local
    let fx = db.write(|c| m.on_check_result(c, &result("Slow", CheckStatus::Degraded, 0), 60, 0)).unwrap();
    assert_eq!(fx.changed.len(), 1);
    assert!(fx.notices.is_empty());
    let fx = db.write(|c| m.on_check_result(c, &result("NAS", CheckStatus::Down, 0), 60, 0)).unwrap();
    assert_eq!(fx.notices.len(), 1);
}

#[test]
fn a_silent_source_goes_stale_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("t.db")).unwrap();
    let mut m = manager(&db, AlertsConfig::default());
    m.watch_check("Cron", 60, 0);
    // Sampler interval 5 s, check 60 s, stale after 3 intervals.
    let fx = db.write(|c| m.on_tick(c, 16_000)).unwrap();
    assert_eq!(fx.changed.len(), 1);
    assert_eq!(fx.changed[0].subject, "sampler");
    assert_eq!(fx.changed[0].alert_type, "stale");
    let fx = db.write(|c| m.on_tick(c, 181_000)).unwrap();
    assert!(fx.changed.iter().any(|a| a.subject == "check:Cron"));
    let fx = db.write(|c| m.on_check_result(c, &result("Cron", CheckStatus::Healthy, 182_000), 60, 182_000)).unwrap();
    assert!(fx.changed.is_empty());
    let fx = db.write(|c| m.on_tick(c, 183_000)).unwrap();
    assert!(fx.changed.iter().any(|a| a.subject == "check:Cron" && a.status == AlertStatus::Resolved));
}

#[test]
fn deleting_a_check_closes_its_alerts_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("t.db")).unwrap();
    let mut cfg = AlertsConfig::default();
    cfg.check_failures_before_alert = 1;
    let mut m = manager(&db, cfg);
    db.write(|c| m.on_check_result(c, &result("Old", CheckStatus::Down, 0), 60, 0)).unwrap();
    db.write(|c| m.on_check_result(c, &result("Kept", CheckStatus::Down, 0), 60, 0)).unwrap();
    let closed = db.write(|c| m.forget_checks_except(c, &["Kept".to_string()], MIN)).unwrap();
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].subject, "Old");
    assert_eq!(closed[0].status, AlertStatus::Resolved);
    let open: Vec<String> = m.open_alerts().into_iter().map(|a| a.subject).collect();
    assert_eq!(open, vec!["Kept".to_string()]);
}
