//! SQLite: one file per data dir, WAL, forward-only numbered migrations.
//! Never edit a migration that has shipped; add a new one.

use crate::error::{EngineError, Result};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Index = version - 1. Append only.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_metrics.sql"),
    include_str!("migrations/0002_checks_alerts.sql"),
    include_str!("migrations/0003_logs_maintenance.sql"),
    include_str!("migrations/0004_healing.sql"),
    include_str!("migrations/0005_analysis.sql"),
    include_str!("migrations/0006_backups.sql"),
    include_str!("migrations/0007_presence.sql"),
    include_str!("migrations/0008_channels.sql"),
    include_str!("migrations/0009_backup_unreadable.sql"),
    include_str!("migrations/0010_suggestions.sql"),
];

pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // A WAL that grew during a burst is cut back after its next checkpoint, so a nearly full
    // disk is not held by a journal of old pages.
    conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)?;
    Ok(())
}

const JOURNAL_SIZE_LIMIT: i64 = 32 << 20;

/// Opens the database for writing, switches it to WAL and applies pending migrations.
/// A database whose schema is newer than this build is refused, never downgraded.
/// Public for tools and tests that work on a database without an engine.
pub fn open_and_migrate(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(mode, "SQLite refused WAL mode; continuing with {mode}");
    }
    configure(&conn)?;
    migrate(&conn, path)?;
    Ok(conn)
}

/// A second connection for readers; it never migrates.
pub fn open_reader(path: &Path) -> Result<Connection> {
    let conn =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    check_not_newer(&conn, path)?;
    Ok(conn)
}

fn user_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

fn check_not_newer(conn: &Connection, path: &Path) -> Result<i64> {
    let found = user_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(EngineError::DatabaseTooNew { path: path.to_path_buf(), found, known: SCHEMA_VERSION });
    }
    Ok(found)
}

fn migrate(conn: &Connection, path: &Path) -> Result<()> {
    let current = check_not_newer(conn, path)?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = i as i64 + 1;
        // Each migration and its version bump commit together, so a crash never half-applies one.
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        tracing::info!(version, "applied database migration");
    }
    Ok(())
}

/// The engine's database: one writer connection (every capability writes through it, so writes
/// never contend inside SQLite) and one reader connection for queries.
pub struct Db {
    path: PathBuf,
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

impl Db {
    pub fn open(path: &Path) -> Result<Arc<Db>> {
        let writer = open_and_migrate(path)?;
        let reader = open_reader(path)?;
        Ok(Arc::new(Db { path: path.to_path_buf(), writer: Mutex::new(writer), reader: Mutex::new(reader) }))
    }

    /// Opens the database; one SQLite cannot read at all (damaged, or not a database) is moved
    /// aside with its `-wal` and `-shm` files as `<name>.damaged-<stamp>` and a fresh one is
    /// started. Returns where the old file went. A newer schema is never moved: it is a newer
    /// Caretaker's data, refused with its own error.
    pub fn open_or_set_aside(path: &Path, stamp: &str) -> Result<(Arc<Db>, Option<PathBuf>)> {
        // Looked at read-only first: a writable connection that fails would, on closing, drop a
        // -wal that belongs with the damaged file.
        if path.exists() {
            let probe = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .and_then(|c| c.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)).map(|_| ()));
            // The probe's connection is closed by now (it lived inside `and_then`).
            if let Err(e) = &probe {
                if is_damage(e) {
                    let aside = set_aside(path, stamp)?;
                    tracing::error!(
                        "the database {} could not be read ({e}); moved it to {} and started a fresh one",
                        path.display(),
                        aside.display()
                    );
                    return Ok((Db::open(path)?, Some(aside)));
                }
            }
        }
        match Db::open(path) {
            Err(EngineError::Database(e)) if is_damage(&e) => {
                let aside = set_aside(path, stamp)?;
                tracing::error!(
                    "the database {} could not be read ({e}); moved it to {} and started a fresh one",
                    path.display(),
                    aside.display()
                );
                Ok((Db::open(path)?, Some(aside)))
            }
            other => other.map(|db| (db, None)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the writer connection (blocking: call from a blocking thread).
    pub fn write<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn)
    }

    /// Runs `f` on the reader connection (blocking: call from a blocking thread).
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn)
    }

    /// Runs `f` on a connection of its own, opened for this call: for long reads (the integrity
    /// check, `VACUUM INTO`) that must not hold the shared reader while the UI and HTTP wait.
    pub fn read_alone<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = open_reader(&self.path)?;
        f(&conn)
    }

    pub async fn read_alone_async<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.read_alone(f)).await.map_err(|e| EngineError::Internal(e.to_string()))?
    }

    pub async fn write_async<T: Send + 'static>(self: &Arc<Self>, f: impl FnOnce(&Connection) -> Result<T> + Send + 'static) -> Result<T> {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.write(f)).await.map_err(|e| EngineError::Internal(e.to_string()))?
    }

    pub async fn read_async<T: Send + 'static>(self: &Arc<Self>, f: impl FnOnce(&Connection) -> Result<T> + Send + 'static) -> Result<T> {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.read(f)).await.map_err(|e| EngineError::Internal(e.to_string()))?
    }
}

fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if matches!(f.code, rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase))
}

fn set_aside(path: &Path, stamp: &str) -> Result<PathBuf> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "caretaker.db".into());
    let aside = path.with_file_name(format!("{name}.damaged-{stamp}"));
    for suffix in ["-wal", "-shm", ""] {
        let from = path.with_file_name(format!("{name}{suffix}"));
        let to = path.with_file_name(format!("{name}.damaged-{stamp}{suffix}"));
        match std::fs::rename(&from, &to) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(EngineError::io(format!("cannot move the damaged database {} aside", from.display()), e)),
        }
    }
    Ok(aside)
}

pub(crate) fn kv_put(conn: &Connection, key: &str, value: &str, now_ms: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO kv (key, value, updated_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms",
    )?
    .execute(rusqlite::params![key, value, now_ms])?;
    Ok(())
}

pub fn kv_get(conn: &Connection, key: &str) -> Result<Option<(String, i64)>> {
    Ok(conn.query_row("SELECT value, updated_ms FROM kv WHERE key = ?1", [key], |r| Ok((r.get(0)?, r.get(1)?))).optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_from_empty_and_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let conn = open_and_migrate(&path).unwrap();
        assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION);
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert_eq!(fk, 1);
        drop(conn);
        let conn = open_and_migrate(&path).unwrap();
        assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn every_earlier_version_upgrades() {
        for start in 0..SCHEMA_VERSION {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("t.db");
            let conn = Connection::open(&path).unwrap();
            for sql in &MIGRATIONS[..start as usize] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", start).unwrap();
            drop(conn);
            let conn = open_and_migrate(&path).unwrap();
            assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION, "from version {start}");
        }
    }

    #[test]
    fn backup_runs_recorded_before_unreadable_counts_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let conn = Connection::open(&path).unwrap();
        for sql in &MIGRATIONS[..8] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 8).unwrap();
        conn.execute(
            "INSERT INTO backup_runs (plan, kind, trigger, started_at, finished_at, status, snapshot_id, files_new)
             VALUES ('Docs', 'backup', 'schedule', 1000, 2000, 'ok', 'abc', 3)",
            [],
        )
        .unwrap();
        drop(conn);
        let conn = open_and_migrate(&path).unwrap();
        let runs = crate::backup::store::history(&conn, 10).unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!((runs[0].status, runs[0].files_new, runs[0].unreadable), (crate::backup::BackupRunStatus::Ok, 3, 0));
        assert!(runs[0].unreadable_items.is_empty());
        // The rebuilt table takes the new status.
        conn.execute("UPDATE backup_runs SET status = 'partial', unreadable = 2 WHERE plan = 'Docs'", []).unwrap();
    }

    #[test]
    fn newer_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 7).unwrap();
        drop(conn);
        let err = open_and_migrate(&path).unwrap_err();
        assert!(matches!(err, EngineError::DatabaseTooNew { .. }));
        assert!(err.to_string().contains("newer Caretaker"), "{err}");
    }
}
