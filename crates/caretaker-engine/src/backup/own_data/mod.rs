//! Restoring Caretaker itself: its database and settings from a plan's snapshot (every plan that
//! includes Caretaker's own data carries a consistent copy of both, see `service::stage`).
//!
//! The live database cannot be swapped under a running engine, so a restore happens in two
//! steps. The running engine restores the copy into `restore-pending/` in the data folder, checks
//! it (SQLite's integrity check, the settings read as TOML) and marks it ready. The next engine
//! start, before it opens anything, moves the current files aside
//! (`caretaker.db.before-restore-<stamp>`, the same for `caretaker.toml`) and the restored ones
//! into place. Nothing is deleted: the person can go back by hand.

pub(crate) mod service;

use crate::paths::{CONFIG_FILE, DB_FILE};
use serde::Serialize;
use std::path::{Path, PathBuf};
use ts_rs::TS;

/// Where a restored copy waits for the next start.
pub const PENDING: &str = "restore-pending";
/// Written last: a pending folder without it is an interrupted restore and is ignored.
pub const READY: &str = "READY";

/// A restore of Caretaker's own data, waiting for the next start.
#[derive(Debug, Clone, Serialize, TS)]
pub struct OwnDataRestore {
    pub snapshot_id: String,
    /// Milliseconds since the epoch.
    pub snapshot_time_ms: i64,
    /// The machine the snapshot was made on.
    pub host: String,
    pub message: String,
}

/// The path inside a snapshot that holds Caretaker's own data (its staging folder).
pub fn staged_path(paths: &[String]) -> Option<&str> {
    paths.iter().map(String::as_str).find(|p| Path::new(p).file_name().is_some_and(|n| n == super::STAGING))
}

/// Below `dir`, the folder holding the database copy (a restore keeps the snapshot's full path).
pub fn find_copy(dir: &Path, depth: usize) -> Option<PathBuf> {
    if dir.join(super::DB_COPY).is_file() {
        return Some(dir.to_path_buf());
    }
    if depth == 0 {
        return None;
    }
    let entries = std::fs::read_dir(dir).ok()?;
    entries.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir())).find_map(|e| find_copy(&e.path(), depth - 1))
}

/// The restored database opens and passes SQLite's integrity check; the settings, when there,
/// read as TOML. An answer naming what is wrong otherwise.
pub fn verify(dir: &Path) -> Result<(), String> {
    let db = dir.join(super::DB_COPY);
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = rusqlite::Connection::open_with_flags(&db, flags).map_err(|e| format!("the restored database does not open: {e}"))?;
    let check: String =
        conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(|e| format!("the restored database cannot be read: {e}"))?;
    if check != "ok" {
        return Err(format!("the restored database is damaged too ({check})"));
    }
    let cfg = dir.join(CONFIG_FILE);
    if cfg.exists() {
        let text = std::fs::read_to_string(&cfg).map_err(|e| format!("the restored settings cannot be read: {e}"))?;
        text.parse::<toml::Table>().map_err(|e| format!("the restored settings are not valid TOML: {e}"))?;
    }
    Ok(())
}

/// At start, before the database and the settings are opened: puts a ready restored copy in
/// place. Returns what it did, for the log and the person; `None` when nothing was waiting.
pub fn apply_pending(data_dir: &Path, stamp: &str) -> Result<Option<String>, String> {
    let pending = data_dir.join(PENDING);
    let ready = pending.join(READY);
    // Our own folder, never followed through a link.
    if std::fs::symlink_metadata(&pending).map(|m| !m.is_dir()).unwrap_or(true) || !ready.is_file() {
        return Ok(None);
    }
    let what = std::fs::read_to_string(&ready).unwrap_or_default().trim().to_string();
    let db = data_dir.join(DB_FILE);
    let moved = |from: &Path, to: &Path| -> Result<(), String> {
        match std::fs::rename(from, to) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("cannot move {} to {}: {e}", from.display(), to.display())),
        }
    };
    for suffix in ["", "-wal", "-shm"] {
        let from = data_dir.join(format!("{DB_FILE}{suffix}"));
        moved(&from, &data_dir.join(format!("{DB_FILE}.before-restore-{stamp}{suffix}")))?;
    }
    moved(&data_dir.join(CONFIG_FILE), &data_dir.join(format!("{CONFIG_FILE}.before-restore-{stamp}")))?;
    moved(&pending.join(DB_FILE), &db)?;
    moved(&pending.join(CONFIG_FILE), &data_dir.join(CONFIG_FILE))?;
    std::fs::remove_dir_all(&pending).map_err(|e| format!("cannot remove {}: {e}", pending.display()))?;
    Ok(Some(format!(
        "Caretaker's database and settings were restored from {what}; the previous ones are kept in {} as {DB_FILE}.before-restore-{stamp} and {CONFIG_FILE}.before-restore-{stamp}",
        data_dir.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db_with(path: &Path, value: &str) {
        let c = rusqlite::Connection::open(path).expect("db");
        c.execute_batch(&format!("CREATE TABLE t(v TEXT); INSERT INTO t VALUES ('{value}');")).expect("write");
    }

    fn value(path: &Path) -> String {
        rusqlite::Connection::open(path).expect("db").query_row("SELECT v FROM t", [], |r| r.get(0)).expect("read")
    }

    #[test]
    fn the_staged_path_is_found_among_a_snapshots_paths() {
        let paths = vec!["/Users/me/Documents".to_string(), "/Users/me/Library/Caretaker/backup-staging".to_string()];
        assert_eq!(staged_path(&paths), Some("/Users/me/Library/Caretaker/backup-staging"));
        assert_eq!(staged_path(&paths[..1]), None);
    }

    #[test]
    fn a_ready_copy_replaces_the_files_at_start_and_keeps_the_old_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        db_with(&d.join(DB_FILE), "current");
        std::fs::write(d.join(CONFIG_FILE), "# current\n").expect("toml");
        let pending = d.join(PENDING);
        std::fs::create_dir_all(&pending).expect("mkdir");
        db_with(&pending.join(DB_FILE), "restored");
        std::fs::write(pending.join(CONFIG_FILE), "# restored\n").expect("toml");

        // Not marked ready (an interrupted restore): nothing moves.
        assert_eq!(apply_pending(d, "S1"), Ok(None));
        assert_eq!(value(&d.join(DB_FILE)), "current");

        std::fs::write(pending.join(READY), "snapshot 1a2b3c4d of 2026-12-01 02:00").expect("ready");
        let said = apply_pending(d, "S2").expect("applied").expect("something done");
        assert!(said.contains("snapshot 1a2b3c4d") && said.contains("before-restore-S2"), "{said}");
        assert_eq!(value(&d.join(DB_FILE)), "restored");
        assert_eq!(std::fs::read_to_string(d.join(CONFIG_FILE)).expect("toml"), "# restored\n");
        assert_eq!(value(&d.join(format!("{DB_FILE}.before-restore-S2"))), "current");
        assert_eq!(std::fs::read_to_string(d.join(format!("{CONFIG_FILE}.before-restore-S2"))).expect("old"), "# current\n");
        assert!(!pending.exists());
        assert_eq!(apply_pending(d, "S3"), Ok(None), "done once");
    }

    #[test]
    fn a_damaged_copy_is_named_and_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(crate::backup::DB_COPY), b"not a database at all, just bytes").expect("write");
        let e = verify(dir.path()).expect_err("damaged");
        assert!(e.contains("restored database"), "{e}");
        std::fs::remove_file(dir.path().join(crate::backup::DB_COPY)).expect("rm");
        db_with(&dir.path().join(crate::backup::DB_COPY), "x");
        assert_eq!(verify(dir.path()), Ok(()));
        std::fs::write(dir.path().join(CONFIG_FILE), "[metrics\n").expect("write");
        assert!(verify(dir.path()).expect_err("bad toml").contains("not valid TOML"));
    }
}
