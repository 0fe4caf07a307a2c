use super::super::tasks::{Ctx, REGISTRY};
use super::*;
use crate::config::Config;
use rusqlite::params;

const NOW: i64 = 20_000 * DAY_MS;
/// Past the default 90 days of history.
const OLD: i64 = NOW - 100 * DAY_MS;
const RECENT: i64 = NOW - DAY_MS;

fn run(db: &crate::store::Db, dir: &std::path::Path, retention_at: Option<i64>) -> Outcome {
    let task = REGISTRY.iter().find(|t| t.0 == "prune_retention").map(|t| t.4);
    let cancel = tokio_util::sync::CancellationToken::new();
    let config = Config::default();
    task.expect("registered")(&Ctx { db, config: &config, data_dir: dir, run_id: 0, retention_at, cancel: &cancel, backup_task: None })
}

fn ids(c: &Connection, sql: &str) -> Vec<i64> {
    c.prepare(sql).unwrap().query_map([], |r| r.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap()
}

fn seed(c: &Connection) -> rusqlite::Result<()> {
    let alert = "INSERT INTO alert_events (id, rule, subject, alert_type, severity, status, message, created_at, resolved_at)
                 VALUES (?1, 'check', 'Web', 'down', 'critical', ?2, 'down', ?3, ?4)";
    c.execute(alert, params![1, "active", OLD, None::<i64>])?;
    c.execute(alert, params![2, "resolved", OLD, RECENT])?;
    let heal = "INSERT INTO healing_actions (id, alert_id, action_id, subject, mode, decision, created_at, started_at, ended_at, outcome)
                VALUES (?1, ?2, 'restart-web', 'Web', 'auto', ?3, ?4, ?5, ?6, ?7)";
    c.execute(heal, params![1, 2, "ran", OLD, OLD, OLD, "ok"])?;
    c.execute(heal, params![2, 99, "refused_cooldown", OLD, None::<i64>, None::<i64>, "cooling down"])?;
    c.execute(heal, params![3, 2, "ran", RECENT, RECENT, RECENT, "ok"])?;
    // An escalation still waiting for the person, on an incident still open.
    c.execute(heal, params![4, 1, "escalated", OLD, None::<i64>, None::<i64>, None::<String>])?;
    // Started and never ended: the next start marks it interrupted.
    c.execute(heal, params![5, 2, "ran", OLD, OLD, None::<i64>, None::<String>])?;

    let scan =
        "INSERT INTO analysis_scans (scan_id, started_at, status, log_id_start, log_id_end, raw_answer) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
    c.execute(scan, params![1, OLD, "completed", 0, 10, None::<String>])?;
    c.execute(scan, params![2, OLD, "failed", 10, 20, "garbled"])?;
    // The newest completed scan: the next one starts after its last line.
    c.execute(scan, params![3, OLD, "completed", 10, 20, None::<String>])?;
    c.execute(scan, params![4, OLD, "running", 20, 30, None::<String>])?;
    c.execute(scan, params![5, NOW - 3 * DAY_MS, "failed", 20, 30, "recent"])?;
    c.execute(scan, params![6, NOW - 8 * DAY_MS, "failed", 20, 30, "a week old"])?;
    let finding = "INSERT INTO analysis_findings (id, scan_id, classification, severity, title, body, created_at)
                   VALUES (?1, ?2, 'bug', 'low', 't', 'b', ?3)";
    c.execute(finding, params![1, 1, OLD])?;
    c.execute(finding, params![2, 5, NOW - 3 * DAY_MS])?;

    let run =
        "INSERT INTO backup_runs (id, plan, kind, trigger, started_at, status, read_data) VALUES (?1, ?2, ?3, 'schedule', ?4, ?5, ?6)";
    c.execute(run, params![1, "home", "backup", OLD, "ok", 0])?;
    c.execute(run, params![2, "home", "backup", OLD, "failed", 0])?;
    c.execute(run, params![3, "home", "backup", OLD + 1, "ok", 0])?;
    c.execute(run, params![4, "home", "backup", RECENT, "failed", 0])?;
    c.execute(run, params![5, "home", "forget", OLD, "ok", 0])?;
    c.execute(run, params![6, "home", "backup", OLD, "running", 0])?;
    for id in 100..114 {
        c.execute(run, params![id, "home", "check", OLD, "ok", 1])?;
    }

    let mrun = "INSERT INTO maintenance_runs (id, trigger, status, started_at) VALUES (?1, 'schedule', ?2, ?3)";
    c.execute(mrun, params![1, "completed", OLD])?;
    c.execute(mrun, params![2, "completed", OLD + 1])?;
    c.execute(mrun, params![3, "running", OLD + 2])?;
    for run_id in 1..=3 {
        c.execute("INSERT INTO maintenance_task_runs (run_id, idx, task_id, status) VALUES (?1, 0, 'db_optimize', 'completed')", [run_id])?;
    }
    Ok(())
}

#[test]
fn history_past_retention_goes_and_what_is_still_read_stays() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::store::Db::open(&dir.path().join("caretaker.db")).unwrap();
    db.write(|c| Ok(seed(c)?)).unwrap();

    // A recent jump of the wall clock: nothing is deleted by age.
    assert!(matches!(run(&db, dir.path(), None), Outcome::Skipped { .. }));
    let count = |c: &Connection| ids(c, "SELECT COUNT(*) FROM healing_actions UNION ALL SELECT COUNT(*) FROM backup_runs");
    assert_eq!(db.read_alone(|c| Ok(count(c))).unwrap(), vec![5, 20]);

    let outcome = run(&db, dir.path(), Some(NOW));
    assert!(matches!(outcome, Outcome::Completed { .. }), "{outcome:?}");

    db.read_alone(|c| {
        assert_eq!(ids(c, "SELECT id FROM healing_actions ORDER BY id"), vec![3, 4, 5]);
        assert_eq!(ids(c, "SELECT scan_id FROM analysis_scans ORDER BY scan_id"), vec![3, 4, 5, 6]);
        assert_eq!(ids(c, "SELECT id FROM analysis_findings"), vec![2]);
        assert_eq!(
            ids(c, "SELECT scan_id FROM analysis_scans WHERE raw_answer IS NOT NULL"),
            vec![5],
            "raw answers a week old are dropped"
        );
        assert_eq!(crate::analysis::store::next_start(c)?, 20);
        // 1 and 3: the two newest completed backups, which the unreadable-files alert compares.
        assert_eq!(ids(c, "SELECT id FROM backup_runs WHERE read_data = 0 ORDER BY id"), vec![1, 3, 4, 5, 6]);
        // Fourteen data-reading checks: one round of twelve goes, so the next reads the same slice.
        assert_eq!(ids(c, "SELECT id FROM backup_runs WHERE read_data = 1 ORDER BY id"), vec![112, 113]);
        assert_eq!(ids(c, "SELECT id FROM maintenance_runs ORDER BY id"), vec![2, 3]);
        assert_eq!(ids(c, "SELECT run_id FROM maintenance_task_runs ORDER BY run_id"), vec![2, 3]);
        Ok(())
    })
    .unwrap();
}
