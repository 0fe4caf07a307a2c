//! The invariants, read from outside the engine: its database opened read-only (WAL lets it
//! run meanwhile), the restic CLI on the repository, and the engine's HTTP endpoint.

use super::world::{run_quiet, World, PLAN};
use super::{harness, HResult};
use rusqlite::{Connection, OpenFlags};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Tables whose history must never shrink (every retention is set beyond the run's span).
pub const HISTORY: &[&str] =
    &["samples", "rollup_minute", "rollup_5min", "rollup_hour", "service_health_checks", "alert_events", "backup_runs", "maintenance_runs"];

pub fn open(w: &World) -> Result<Connection, String> {
    let c = Connection::open_with_flags(w.data.join("caretaker.db"), OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| format!("cannot open the database: {e}"))?;
    c.busy_timeout(Duration::from_secs(5)).map_err(|e| e.to_string())?;
    Ok(c)
}

pub fn max_id(w: &World, table: &str) -> HResult<i64> {
    let c = open(w).map_err(harness)?;
    c.query_row(&format!("SELECT COALESCE(MAX(id), 0) FROM {table}"), [], |r| r.get(0)).map_err(|e| harness(format!("{table}: {e}")))
}

pub fn counts(w: &World) -> Result<BTreeMap<String, i64>, String> {
    let c = open(w)?;
    let mut m = BTreeMap::new();
    for t in HISTORY {
        let n: i64 = c.query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get(0)).map_err(|e| format!("{t}: {e}"))?;
        m.insert(t.to_string(), n);
    }
    Ok(m)
}

#[derive(Debug, Clone)]
pub struct Run {
    pub id: i64,
    pub started_at: i64,
    pub status: String,
    pub error: Option<String>,
    pub snapshot: Option<String>,
}

/// Backup runs of the plan with an id above `after`, oldest first.
pub fn backups_since(w: &World, after: i64) -> Result<Vec<Run>, String> {
    let c = open(w)?;
    let mut st = c
        .prepare("SELECT id, started_at, status, error, snapshot_id FROM backup_runs WHERE plan = ?1 AND kind = 'backup' AND id > ?2 ORDER BY id")
        .map_err(|e| e.to_string())?;
    let rows = st
        .query_map(rusqlite::params![PLAN, after], |r| {
            Ok(Run { id: r.get(0)?, started_at: r.get(1)?, status: r.get(2)?, error: r.get(3)?, snapshot: r.get(4)? })
        })
        .map_err(|e| e.to_string())?;
    rows.collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())
}

pub fn last_backup(w: &World) -> Option<Run> {
    backups_since(w, 0).ok().and_then(|mut v| v.pop())
}

/// Whether any job row (backup, retention, check, restore) is still marked running.
pub fn job_running(w: &World) -> bool {
    open(w)
        .and_then(|c| {
            c.query_row("SELECT COUNT(*) FROM backup_runs WHERE status = 'running'", [], |r| r.get::<_, i64>(0)).map_err(|e| e.to_string())
        })
        .is_ok_and(|n| n > 0)
}

#[derive(Debug, Clone)]
pub struct Alert {
    pub id: i64,
    pub rule: String,
    pub subject: String,
    pub status: String,
    pub message: String,
}

pub fn alerts_since(w: &World, after: i64) -> Result<Vec<Alert>, String> {
    let c = open(w)?;
    let mut st =
        c.prepare("SELECT id, rule, subject, status, message FROM alert_events WHERE id > ?1 ORDER BY id").map_err(|e| e.to_string())?;
    let rows = st
        .query_map([after], |r| Ok(Alert { id: r.get(0)?, rule: r.get(1)?, subject: r.get(2)?, status: r.get(3)?, message: r.get(4)? }))
        .map_err(|e| e.to_string())?;
    rows.collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())
}

pub fn integrity(w: &World) -> Result<(), String> {
    let c = open(w)?;
    let ok: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(|e| format!("integrity_check: {e}"))?;
    if ok == "ok" {
        Ok(())
    } else {
        Err(format!("PRAGMA integrity_check: {ok}"))
    }
}

/// `restic check --read-data`. A lock left in the repository by a worker that is gone stops
/// restic from checking (and from backing up, for restic's own users): that is reported, and
/// the data is then checked without taking a lock, so a damaged repository still shows.
pub fn restic_check(w: &World) -> Result<(), String> {
    let mut c = w.restic();
    c.args(["check", "--read-data"]);
    match run_quiet(&mut c) {
        Ok(_) => Ok(()),
        Err(e) if e.contains("already locked") => {
            let locks = run_quiet(w.restic().args(["--no-lock", "list", "locks"])).unwrap_or_default();
            let mut c = w.restic();
            c.args(["--no-lock", "check", "--read-data"]);
            let data = match run_quiet(&mut c) {
                Ok(_) => "the data itself checks clean without a lock".to_string(),
                Err(e) => format!("and without a lock the check fails too: {}", last_lines(&e, 3)),
            };
            let holder = e.lines().find(|l| l.contains("locked")).unwrap_or("").trim().to_string();
            let first = locks.lines().next().unwrap_or("").trim().to_string();
            let content = run_quiet(w.restic().args(["--no-lock", "cat", "lock", &first]))
                .unwrap_or_default()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            Err(format!("repository left locked ({} lock file(s)): {holder}; lock {content}; {data}", locks.lines().count()))
        }
        Err(e) => Err(last_lines(&e, 3)),
    }
}

/// Restores `snapshot` and compares the plan's source folder in it with the files the source
/// held in that round (`expected`: names; the files themselves never change once written).
pub fn restores(w: &World, snapshot: &str, expected: &[String]) -> Result<(), String> {
    let target = w.work.join("restore").join(snapshot);
    let _ = std::fs::remove_dir_all(&target);
    let mut c = w.restic();
    // Without a lock: a lock left behind is the check's finding; this one asks whether the data restores.
    c.args(["--no-lock", "restore", snapshot, "--target"]).arg(&target).arg("--include").arg(&w.src);
    let result =
        run_quiet(&mut c).map_err(|e| format!("snapshot {}: {}", &snapshot[..8.min(snapshot.len())], last_lines(&e, 2))).and_then(|_| {
            let restored = target.join(w.src.strip_prefix("/").unwrap_or(&w.src));
            compare(&restored, &w.src, expected).map_err(|e| format!("snapshot {}: {e}", &snapshot[..8.min(snapshot.len())]))
        });
    let _ = std::fs::remove_dir_all(&target);
    result
}

fn compare(restored: &Path, src: &Path, expected: &[String]) -> Result<(), String> {
    let mut got: Vec<String> = std::fs::read_dir(restored)
        .map_err(|e| format!("restored folder missing: {e}"))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    got.sort();
    let mut want = expected.to_vec();
    want.sort();
    if got != want {
        return Err(format!("restored files {:?}… differ from the source at that run {:?}…", got.len(), want.len()));
    }
    for name in &want {
        let (a, b) = (std::fs::read(restored.join(name)), std::fs::read(src.join(name)));
        match (a, b) {
            (Ok(a), Ok(b)) if a == b => {}
            (Ok(a), Ok(b)) => return Err(format!("{name}: {} bytes restored, {} bytes in the source, contents differ", a.len(), b.len())),
            (a, b) => return Err(format!("{name}: cannot compare ({:?} / {:?})", a.err(), b.err())),
        }
    }
    Ok(())
}

/// Row counts that went down since the previous round.
pub fn shrunk(before: &BTreeMap<String, i64>, after: &BTreeMap<String, i64>) -> Vec<String> {
    before.iter().filter_map(|(t, n)| after.get(t).filter(|m| *m < n).map(|m| format!("{t} {n} -> {m}"))).collect()
}

pub fn last_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    strip_ansi(&lines[lines.len().saturating_sub(n)..].join(" | "))
}

/// Without terminal colour codes (`ESC [ ... m`), for a readable report.
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_code = false;
    for ch in s.chars() {
        match (in_code, ch) {
            (false, '\u{1b}') => in_code = true,
            (true, 'm') => in_code = false,
            (true, _) => {}
            (false, c) => out.push(c),
        }
    }
    out
}
