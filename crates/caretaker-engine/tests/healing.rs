//! Self-healing behind guard rails, with its audit trail.

mod common;

use caretaker_engine::alerts::{Alert, AlertStatus, Severity};
use caretaker_engine::config::{ActionConfig, CommandAction, HealingConfig, HealingMode};
use caretaker_engine::healing::{self, Decision};
use caretaker_engine::store::Db;
use caretaker_engine::{Engine, EngineOptions, Event, HealingQuery};
use common::free_port;
use std::time::Duration;

const MIN: i64 = 60_000;

fn action(id: &str, mode: HealingMode, argv: &[&str]) -> ActionConfig {
    ActionConfig {
        id: id.into(),
        name: format!("Action {id}"),
        mode,
        on_checks: vec!["Web".into()],
        on_alerts: vec![],
        max_per_hour: 3,
        cooldown_secs: 60,
        max_attempts: 3,
        verify_after_secs: 1,
        respect_manual_stop: true,
        restart_service: None,
        command: Some(CommandAction {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            working_dir: None,
            timeout_secs: 10,
            env_allow: vec![],
        }),
        docker_restart: None,
        kill_process: None,
        clear_folder: None,
    }
}

fn alert(id: i64, subject: &str) -> Alert {
    Alert {
        id,
        rule: "check".into(),
        subject: subject.into(),
        alert_type: "service_down".into(),
        severity: Severity::Critical,
        status: AlertStatus::Active,
        title: format!("{subject} is down"),
        message: String::new(),
        details: serde_json::json!({}),
        created_at: 0,
        acknowledged_at: None,
        resolved_at: None,
        snoozed_until: None,
        last_notified_at: None,
        flap_count: 0,
    }
}

fn decide(db: &Db, cfg: &HealingConfig, a: &ActionConfig, al: &Alert, stopped: bool, now: i64) -> Option<Decision> {
    db.write(|c| healing::decide(c, cfg, a, al, stopped, now)).unwrap().map(|r| r.decision)
}

#[test]
fn guard_rails_cooldown_rate_limits_attempts_and_manual_stop() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("t.db")).unwrap();
    let a = action("restart", HealingMode::Auto, &["/bin/true"]);
    let cfg = HealingConfig { max_actions_per_hour: 5, actions: vec![a.clone()] };
    let web = alert(1, "Web");

    assert_eq!(decide(&db, &cfg, &a, &web, false, 0), Some(Decision::Ran));
    assert_eq!(decide(&db, &cfg, &a, &web, false, 30_000), Some(Decision::RefusedCooldown));
    assert_eq!(decide(&db, &cfg, &a, &web, false, 40_000), None, "the same refusal is not recorded twice in a row");
    assert_eq!(decide(&db, &cfg, &a, &web, false, MIN + 1), Some(Decision::Ran));
    assert_eq!(decide(&db, &cfg, &a, &web, false, 2 * MIN + 2), Some(Decision::Ran));
    // Three runs for this incident: give up and hand over to the person, once.
    let gave_up = db.write(|c| healing::decide(c, &cfg, &a, &web, false, 3 * MIN + 3)).unwrap().unwrap();
    assert_eq!(gave_up.decision, Decision::Escalated);
    assert!(
        gave_up.outcome.as_deref().unwrap().starts_with("gave up: Action restart ran 3 times in 3 min, Web is still not healthy"),
        "{gave_up:?}"
    );
    assert_eq!(decide(&db, &cfg, &a, &web, false, 10 * MIN), None, "waits for the person");

    // A new incident of another subject hits the per-action hourly limit (3 runs in the hour).
    let other = alert(2, "Web");
    assert_eq!(decide(&db, &cfg, &a, &other, false, 10 * MIN), Some(Decision::RefusedRateLimit));
    // The global limit counts every action.
    let b = ActionConfig { id: "other".into(), max_per_hour: 100, ..action("other", HealingMode::Auto, &["/bin/true"]) };
    let cfg2 = HealingConfig { max_actions_per_hour: 3, actions: vec![a.clone(), b.clone()] };
    let third = alert(3, "Web");
    let r = db.write(|c| healing::decide(c, &cfg2, &b, &third, false, 10 * MIN)).unwrap().unwrap();
    assert_eq!(r.decision, Decision::RefusedRateLimit);
    assert!(r.outcome.unwrap().contains("limit 3 for all actions"));

    // A service stopped on purpose is not restarted.
    let fresh = Db::open(&dir.path().join("u.db")).unwrap();
    assert_eq!(decide(&fresh, &cfg, &a, &web, true, 0), Some(Decision::RefusedManualStop));
    // Off never does anything, and never writes.
    let off = action("off", HealingMode::Off, &["/bin/true"]);
    assert_eq!(decide(&fresh, &cfg, &off, &web, false, 0), None);
}

#[test]
fn escalate_mode_runs_nothing_until_approved() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("t.db")).unwrap();
    let a = action("ask", HealingMode::Escalate, &["/bin/true"]);
    let cfg = HealingConfig { max_actions_per_hour: 5, actions: vec![a.clone()] };
    let web = alert(9, "Web");
    let esc = db.write(|c| healing::decide(c, &cfg, &a, &web, false, 0)).unwrap().unwrap();
    assert_eq!(esc.decision, Decision::Escalated);
    assert_eq!(decide(&db, &cfg, &a, &web, false, 10 * MIN), None);
    let pending = db.read(|c| healing::pending(c, std::slice::from_ref(&web))).unwrap();
    assert_eq!(pending.len(), 1);
    let runs: i64 = db
        .read(|c| Ok(c.query_row("SELECT COUNT(*) FROM healing_actions WHERE decision IN ('ran', 'approved_by_user')", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(runs, 0, "nothing ran by itself");
    let approved = db.write(|c| healing::approve(c, esc.id, &a, &web, MIN)).unwrap();
    assert_eq!(approved.decision, Decision::ApprovedByUser);
    assert!(db.write(|c| healing::approve(c, esc.id, &a, &web, MIN)).is_err(), "an escalation is approved once");
}

#[test]
fn arguments_are_never_interpreted_by_a_shell() {
    let out =
        healing::run_argv(&["/bin/echo".into(), "hello; rm -rf /tmp/caretaker-must-not-exist".into()], None, &[], Duration::from_secs(5));
    assert!(out.ok);
    assert_eq!(out.stdout, "hello; rm -rf /tmp/caretaker-must-not-exist", "one literal argument");
    std::env::set_var("CARETAKER_TEST_SECRET", "s3cret");
    let out =
        healing::run_argv(&["/bin/sh".into(), "-c".into(), "echo \"[$CARETAKER_TEST_SECRET]\"".into()], None, &[], Duration::from_secs(5));
    assert_eq!(out.stdout, "[]", "the environment is cleared except the allow-list");
    let out = healing::run_argv(
        &["/bin/sh".into(), "-c".into(), "echo \"[$CARETAKER_TEST_SECRET]\"".into()],
        None,
        &["CARETAKER_TEST_SECRET".into()],
        Duration::from_secs(5),
    );
    assert_eq!(out.stdout, "[s3cret]", "an allowed variable passes");
    let out = healing::run_argv(&["/bin/sleep".into(), "5".into()], None, &[], Duration::from_secs(1));
    assert!(!out.ok);
    assert_eq!(out.outcome, "/bin/sleep did not finish within 1 s and was stopped");
}

fn config(dir: &std::path::Path, port: u16, mode: &str, pidfile: &std::path::Path) {
    config_with(dir, port, mode, pidfile, ">/dev/null 2>&1")
}

/// `redirect` goes after the server's command line: with none, the server keeps the action's
/// stdout and stderr open for as long as it runs.
fn config_with(dir: &std::path::Path, port: u16, mode: &str, pidfile: &std::path::Path, redirect: &str) {
    let text = format!(
        "[metrics]\ninterval_secs = 60\n[notifications]\nenabled = false\n[alerts]\ncheck_failures_before_alert = 1\n\
         [[checks.list]]\nname = \"Web\"\ninterval_secs = 5\ntimeout_secs = 2\nhttp = {{ url = \"http://127.0.0.1:{port}/\" }}\n\
         [[healing.actions]]\nid = \"start-web\"\nname = \"Start the web server\"\nmode = \"{mode}\"\non_checks = [\"Web\"]\nverify_after_secs = 2\n\
         command = {{ argv = [\"/bin/sh\", \"-c\", \"python3 -m http.server {port} --bind 127.0.0.1 {redirect} & echo $! > {}\"] }}\n",
        pidfile.display()
    );
    std::fs::write(dir.join("caretaker.toml"), text).unwrap();
}

fn start_server(port: u16, pidfile: &std::path::Path) {
    let child = std::process::Command::new("python3")
        .args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::fs::write(pidfile, child.id().to_string()).unwrap();
    std::mem::forget(child);
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the test server did not start");
}

fn kill_server(pidfile: &std::path::Path) {
    if let Ok(pid) = std::fs::read_to_string(pidfile) {
        let _ = std::process::Command::new("kill").arg(pid.trim()).status();
    }
}

struct KillOnDrop(std::path::PathBuf);
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        kill_server(&self.0);
    }
}

async fn wait_for_record(
    rx: &mut tokio::sync::broadcast::Receiver<Event>,
    secs: u64,
    f: impl Fn(&caretaker_engine::HealingRecord) -> bool,
) -> caretaker_engine::HealingRecord {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(Event::Healing { record })) if f(&record) => return record,
            Ok(_) => continue,
            Err(_) => panic!("no matching healing record within {secs} s"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_service_is_restarted_verified_and_the_incident_closes() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let pidfile = dir.path().join("web.pid");
    let _cleanup = KillOnDrop(pidfile.clone());
    config(dir.path(), port, "auto", &pidfile);
    start_server(port, &pidfile);
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    let mut rx = engine.subscribe();
    tokio::time::sleep(Duration::from_secs(1)).await;
    kill_server(&pidfile);

    let ran = wait_for_record(&mut rx, 30, |r| r.decision == Decision::Ran && r.healed.is_some()).await;
    assert_eq!(ran.healed, Some(true), "{ran:?}");
    assert_eq!(ran.exit_code, Some(0));
    assert_eq!(ran.action_id, "start-web");
    assert!(ran.started_at.is_some() && ran.ended_at.is_some());
    assert_eq!(ran.argv[0], "/bin/sh");
    // The verifying check closed the incident.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !engine.open_alerts().iter().all(|a| a.subject != "Web") {
        assert!(tokio::time::Instant::now() < deadline, "incident still open");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let log = engine.healing_log(HealingQuery { limit: 50, ..Default::default() }).await.unwrap();
    assert_eq!(log.iter().filter(|r| r.decision == Decision::Ran).count(), 1);
    let summary = engine.healing_actions().await.unwrap();
    assert_eq!((summary[0].runs_total, summary[0].healed_total), (1, 1));
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalate_mode_waits_for_the_person_then_runs_their_approval() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let pidfile = dir.path().join("web.pid");
    let _cleanup = KillOnDrop(pidfile.clone());
    config(dir.path(), port, "escalate", &pidfile);
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    let mut rx = engine.subscribe();
    let esc = wait_for_record(&mut rx, 20, |r| r.decision == Decision::Escalated).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "nothing ran by itself");
    assert_eq!(engine.pending_escalations().await.unwrap().len(), 1);
    let approved = engine.approve_escalation(esc.id).await.unwrap();
    assert_eq!(approved.decision, Decision::ApprovedByUser);
    let done = wait_for_record(&mut rx, 20, |r| r.decision == Decision::ApprovedByUser && r.healed.is_some()).await;
    assert_eq!(done.healed, Some(true));
    assert!(engine.pending_escalations().await.unwrap().is_empty());
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_started_and_ended_leaves_an_interrupted_row() {
    let dir = tempfile::tempdir().unwrap();
    {
        let conn = caretaker_engine::store::open_and_migrate(&dir.path().join("caretaker.db")).unwrap();
        conn.execute(
            "INSERT INTO healing_actions (alert_id, action_id, subject, mode, decision, argv, created_at, started_at) VALUES (1, 'x', 'Web', 'auto', 'ran', '[]', 1000, 1000)",
            [],
        )
        .unwrap();
    }
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    let log = engine.healing_log(HealingQuery { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(log[0].outcome.as_deref(), Some("interrupted: Caretaker stopped while it ran"));
    assert!(log[0].ended_at.is_some());
    engine.shutdown().await;
}

/// Healing listens to the alert events: a decision follows an alert within a second, not at the
/// next poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healing_decides_within_a_second_of_the_alert_event() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let pidfile = dir.path().join("web.pid");
    let _cleanup = KillOnDrop(pidfile.clone());
    config(dir.path(), port, "escalate", &pidfile);
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    let mut rx = engine.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut opened = None;
    let decided = loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(Event::AlertChanged { alert })) if alert.subject == "Web" && alert.status == AlertStatus::Active && opened.is_none() => {
                opened = Some(std::time::Instant::now());
            }
            Ok(Ok(Event::Healing { record })) if record.decision == Decision::Escalated => break std::time::Instant::now(),
            Ok(_) => continue,
            Err(_) => panic!("no alert and escalation within 20 s"),
        }
    };
    let opened = opened.expect("the alert event came before the decision");
    let waited = decided.duration_since(opened);
    assert!(waited < Duration::from_secs(1), "healing decided {waited:?} after the alert");
    engine.shutdown().await;
}

/// A server started in the background inherits the action's stdout and stderr and keeps them open
/// for as long as it runs; the action still ends when the shell that started it exits, the run is
/// recorded and verified, and the server keeps running (and answering) afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_that_leaves_a_server_holding_its_output_still_ends_and_is_verified() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let pidfile = dir.path().join("web.pid");
    let _cleanup = KillOnDrop(pidfile.clone());
    config_with(dir.path(), port, "auto", &pidfile, "");
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    let mut rx = engine.subscribe();
    let ran = wait_for_record(&mut rx, 30, |r| r.decision == Decision::Ran && r.healed.is_some()).await;
    assert!(ran.ended_at.is_some(), "{ran:?}");
    assert_eq!((ran.exit_code, ran.healed), (Some(0), Some(true)), "{ran:?}");
    engine.shutdown().await;
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(), "the server the action started is still running");
}

/// Before "Run it", the person sees what a `clear_folder` action would delete, where and how old.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clear_folder_escalation_shows_its_dry_run() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    std::fs::create_dir_all(cache.join("sub")).unwrap();
    for (name, days) in [("a.bin", 30), ("sub/b.bin", 30), ("fresh.bin", 0)] {
        std::fs::write(cache.join(name), vec![b'x'; 500_000]).unwrap();
        let f = std::fs::File::options().write(true).open(cache.join(name)).unwrap();
        f.set_modified(std::time::SystemTime::now() - Duration::from_secs(days * 86_400)).unwrap();
    }
    let port = free_port();
    let text = format!(
        "[metrics]\ninterval_secs = 60\n[notifications]\nenabled = false\n[alerts]\ncheck_failures_before_alert = 1\n\
         [[checks.list]]\nname = \"Web\"\ninterval_secs = 5\ntimeout_secs = 2\nhttp = {{ url = \"http://127.0.0.1:{port}/\" }}\n\
         [[healing.actions]]\nid = \"clear\"\nname = \"Clear the cache\"\non_checks = [\"Web\"]\n\
         clear_folder = {{ path = {:?}, older_than_days = 7 }}\n",
        cache.join("sub/..").display().to_string()
    );
    std::fs::write(dir.path().join("caretaker.toml"), text).unwrap();
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    let mut rx = engine.subscribe();
    let esc = wait_for_record(&mut rx, 20, |r| r.decision == Decision::Escalated && r.stdout.is_some()).await;
    let real = std::fs::canonicalize(&cache).unwrap().display().to_string();
    assert_eq!(esc.stdout.as_deref(), Some(format!("would delete 2 files, 1.0 MB, older than 7 days in {real}").as_str()));
    assert_eq!(esc.argv, ["clear-folder", real.as_str(), "--older-than-days", "7"]);
    assert!(cache.join("a.bin").exists(), "nothing is deleted before the person says so");
    let pending = engine.pending_escalations().await.unwrap();
    assert_eq!(pending[0].stdout, esc.stdout);
    engine.shutdown().await;
}
