//! The maintenance tasks. Each one says what it did, or why it did not run: never "completed"
//! for something that did not happen.

use super::{sweep, Outcome};
use crate::config::Config;
use crate::process::{self, Ended, Leftovers, Spec};
use rusqlite::Connection;
use std::path::Path;
use std::time::Duration;

pub(crate) struct Ctx<'a> {
    pub db: &'a crate::store::Db,
    pub config: &'a Config,
    pub data_dir: &'a Path,
    /// The run these tasks belong to (0 in tests), on every line they log.
    pub run_id: i64,
    /// The wall time to delete rows by age at; None while a jump of the wall clock is recent.
    pub retention_at: Option<i64>,
    pub cancel: &'a tokio_util::sync::CancellationToken,
    pub backup_task: Option<&'a (dyn Fn(super::BackupChore) -> Outcome + Send + Sync)>,
}

pub(crate) type TaskFn = fn(&Ctx<'_>) -> Outcome;

/// (id, name, description, optional, function). The list drives both the run and the status
/// grid, so the two cannot drift apart.
pub(crate) const REGISTRY: &[(&str, &str, &str, bool, TaskFn)] = &[
    ("db_integrity", "Database integrity check", "Asks SQLite to verify every page and index of caretaker.db.", false, db_integrity),
    ("db_optimize", "Optimize the database", "Refreshes query statistics (ANALYZE, PRAGMA optimize).", false, db_optimize),
    ("db_vacuum", "Compact the database", "VACUUM when many pages are free, giving the space back to the disk.", false, db_vacuum),
    (
        "prune_retention",
        "Prune old rows",
        "Removes metrics, check results, resolved alerts, log lines and the history of healing, analysis, backup and maintenance runs past their retention.",
        false,
        super::prune::prune_retention,
    ),
    ("rotate_logs", "Delete old log files", "Removes log files in the data folder older than the log retention.", false, rotate_logs),
    ("verify_backups", "Verify latest backups", "Checks the structure of each backup plan's repository.", false, verify_backups),
    ("prune_backups", "Prune backups", "Applies each backup plan's retention (forget, then prune).", false, prune_backups),
    (
        "clean_temp",
        "Clean Caretaker's temporary files",
        "Removes leftovers of interrupted saves and old temporary files.",
        false,
        clean_temp,
    ),
    ("disk_report", "Report disk space", "Records the free space of every volume.", false, disk_report),
    (
        "clear_cache",
        "Clear a cache folder",
        "Optional: deletes files older than N days in the folder you configured. Off by default.",
        true,
        clear_cache,
    ),
    (
        "run_command",
        "Run a maintenance command",
        "Optional: runs the command you configured (e.g. brew cleanup), never through a shell. Off by default.",
        true,
        run_command,
    ),
];

pub(super) fn done(message: impl Into<String>) -> Outcome {
    Outcome::Completed { message: message.into(), rows_pruned: 0, bytes_freed: 0 }
}

pub(super) fn failed(message: impl Into<String>) -> Outcome {
    Outcome::Failed { message: message.into() }
}

/// Runs SQLite's integrity check on `conn`; public for the test of a corrupted copy.
pub fn integrity_of(conn: &Connection) -> Outcome {
    let rows: rusqlite::Result<Vec<String>> =
        conn.prepare("PRAGMA integrity_check(20)").and_then(|mut s| s.query_map([], |r| r.get(0))?.collect());
    match rows {
        Ok(r) if r.len() == 1 && r[0] == "ok" => done("the database is intact"),
        Ok(r) => failed(format!("the database is damaged: {} (Backups → Restore Caretaker's data… puts it back)", r.join("; "))),
        Err(e) => failed(format!("the database could not be checked, it may be damaged: {e}")),
    }
}

fn db_integrity(ctx: &Ctx<'_>) -> Outcome {
    ctx.db.read_alone(|c| Ok(integrity_of(c))).unwrap_or_else(|e| failed(e.to_string()))
}

fn db_optimize(ctx: &Ctx<'_>) -> Outcome {
    match ctx.db.write(|c| Ok(c.execute_batch("ANALYZE; PRAGMA optimize;")?)) {
        Ok(()) => done("query statistics refreshed"),
        Err(e) => failed(format!("could not optimize: {e}")),
    }
}

fn db_vacuum(ctx: &Ctx<'_>) -> Outcome {
    let threshold = f64::from(ctx.config.maintenance.vacuum_free_percent);
    let r = ctx.db.write(|c| {
        let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        let free: i64 = c.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
        let size: i64 = c.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        let pct = if pages > 0 { free as f64 * 100.0 / pages as f64 } else { 0.0 };
        if pct < threshold || free < 64 {
            return Ok(Outcome::Skipped {
                reason: format!("only {pct:.0} % of pages are free ({free} of {pages}); compacting starts at {threshold:.0} %"),
            });
        }
        c.execute_batch("VACUUM;")?;
        let after: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        let freed = ((pages - after).max(0) * size) as u64;
        Ok(Outcome::Completed { message: format!("compacted from {pages} to {after} pages"), rows_pruned: 0, bytes_freed: freed })
    });
    r.unwrap_or_else(|e| failed(format!("could not compact the database: {e}")))
}

/// Deletes regular files under `dir` (recursively, never following links, never leaving its
/// device) older than `age`. Returns (files, bytes) removed and the first error met, if any.
pub(crate) fn delete_old_files(dir: &Path, age: Duration, filter: &dyn Fn(&Path) -> bool) -> (u64, u64, Option<String>) {
    delete_old(dir, age, filter, true)
}

fn delete_old(dir: &Path, age: Duration, filter: &dyn Fn(&Path) -> bool, recursive: bool) -> (u64, u64, Option<String>) {
    let s = sweep::sweep(dir, &sweep::Sweep { age, filter, recursive, dry_run: false });
    (s.files, s.bytes, s.error)
}

fn rotate_logs(ctx: &Ctx<'_>) -> Outcome {
    let dir = ctx.data_dir.join(crate::paths::LOG_DIR);
    let days = ctx.config.logs.retention_days;
    if !dir.exists() {
        return Outcome::Skipped { reason: "no log folder (logging to files is off)".into() };
    }
    let (n, bytes, err) = delete_old_files(&dir, Duration::from_secs(days * 86_400), &|p| {
        p.file_name().is_some_and(|f| f.to_string_lossy().starts_with("caretaker"))
    });
    match err {
        Some(e) => failed(format!("removed {n} files, then could not remove {e}")),
        None => Outcome::Completed { message: format!("{n} log files older than {days} days removed"), rows_pruned: 0, bytes_freed: bytes },
    }
}

fn backup_task(ctx: &Ctx<'_>, what: super::BackupChore) -> Outcome {
    if ctx.config.backups.plans.is_empty() {
        return Outcome::Skipped { reason: "backups are not configured".into() };
    }
    match ctx.backup_task {
        Some(f) => f(what),
        None => Outcome::Skipped { reason: "backups cannot run here".into() },
    }
}

fn verify_backups(ctx: &Ctx<'_>) -> Outcome {
    backup_task(ctx, super::BackupChore::Verify)
}

fn prune_backups(ctx: &Ctx<'_>) -> Outcome {
    backup_task(ctx, super::BackupChore::Prune)
}

fn clean_temp(ctx: &Ctx<'_>) -> Outcome {
    let tmp = ctx.data_dir.join("tmp");
    let day = Duration::from_secs(86_400);
    let (a, b, e1) = delete_old_files(&tmp, day, &|_| true);
    // Leftovers of interrupted atomic saves sit beside the file they were replacing.
    let (c, d, e2) = delete_old(ctx.data_dir, day, &|p| p.file_name().is_some_and(|f| f.to_string_lossy().contains(".tmp-")), false);
    match e1.or(e2) {
        Some(e) => failed(format!("could not remove {e}")),
        None => Outcome::Completed { message: format!("{} temporary files removed", a + c), rows_pruned: 0, bytes_freed: b + d },
    }
}

fn disk_report(_: &Ctx<'_>) -> Outcome {
    let disks = match sysinfo::Disks::new_with_refreshed_list() {
        Ok(d) => d,
        Err(e) => return failed(format!("cannot list volumes: {e}")),
    };
    let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
    let mut parts: Vec<String> = disks
        .iter()
        .filter(|d| d.total_space() > 0)
        .map(|d| {
            let used = 100.0 * (1.0 - d.available_space() as f64 / d.total_space() as f64);
            format!(
                "{} {:.1} GiB free of {:.1} GiB ({used:.0} % used)",
                d.mount_point().display(),
                gib(d.available_space()),
                gib(d.total_space())
            )
        })
        .collect();
    parts.sort();
    parts.dedup();
    if parts.is_empty() {
        return Outcome::Skipped { reason: "no volumes visible".into() };
    }
    done(parts.join("; "))
}

fn clear_cache(ctx: &Ctx<'_>) -> Outcome {
    let Some(c) = &ctx.config.maintenance.clear_cache else {
        return Outcome::Skipped { reason: "not enabled (set maintenance.clear_cache in caretaker.toml)".into() };
    };
    if !Path::new(&c.path).is_dir() {
        return failed(format!("{} is not a folder", c.path));
    }
    // The same guarded sweep as a healing action's (and as the preview in Settings): the folder is
    // resolved and checked again now, so a symlink swapped in since never leads into a protected one.
    let protected = crate::healing::clear::Protected::of(Some(ctx.data_dir));
    let swept = match crate::healing::clear::clear(&super::preview::as_clear(&c.path, c.older_than_days), &protected) {
        Ok((_, s)) => s,
        Err(e) => return failed(format!("refused to clear {}: {e}", c.path)),
    };
    let (n, bytes) = (swept.files, swept.bytes);
    match swept.error {
        Some(e) => failed(format!("removed {n} files, then could not remove {e}")),
        None => Outcome::Completed {
            message: format!("{n} files older than {} days removed from {}", c.older_than_days, c.path),
            rows_pruned: 0,
            bytes_freed: bytes,
        },
    }
}

/// The most lines of a maintenance command's output logged one by one.
const FOLLOWED_LINES: usize = 500;

fn run_command(ctx: &Ctx<'_>) -> Outcome {
    let Some(c) = &ctx.config.maintenance.command else {
        return Outcome::Skipped { reason: "not enabled (set maintenance.command in caretaker.toml)".into() };
    };
    let Some(program) = c.argv.first() else {
        return failed("no program configured");
    };
    // Each line it writes goes to the log as it comes, so the Monitor follows a long command live;
    // a chatty one is cut after FOLLOWED_LINES lines (the capture below still keeps head and tail).
    let run_id = ctx.run_id;
    let logged = std::sync::atomic::AtomicUsize::new(0);
    let follow = |stderr: bool, line: &str| {
        let n = logged.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n < FOLLOWED_LINES {
            let stream = if stderr { "stderr" } else { "stdout" };
            tracing::info!(run_id, task = "command", stream, "{program}: {line}");
        } else if n == FOLLOWED_LINES {
            tracing::info!(run_id, task = "command", "{program}: more output not logged line by line");
        }
    };
    // Whatever the command leaves behind goes with it: a chore that is over is over.
    let spec = Spec {
        argv: &c.argv,
        working_dir: None,
        env_allow: &[],
        timeout: Duration::from_secs(c.timeout_secs),
        cancel: Some(ctx.cancel),
        leftovers: Leftovers::Kill,
        on_line: Some(&follow),
    };
    let finished = match process::run(&spec) {
        Ok(d) => d,
        Err(e) => return failed(e),
    };
    let status = match finished.ended {
        Ended::Exited(s) => s,
        Ended::Cancelled => return Outcome::Skipped { reason: format!("cancelled while it ran; {program} was stopped") },
        Ended::TimedOut => return failed(format!("{program} did not finish within {} s and was stopped", c.timeout_secs)),
        Ended::Lost(e) => return failed(format!("lost track of {program}: {e}")),
    };
    let out = finished.stdout.text();
    let last = out.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
    if status.success() {
        done_msg(program, &last)
    } else {
        failed(format!("{program} exited with {}", status.code().map_or("a signal".into(), |c| c.to_string())))
    }
}

fn done_msg(program: &str, last: &str) -> Outcome {
    done(if last.is_empty() { format!("{program} finished") } else { format!("{program}: {last}") })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::time::SystemTime;

    struct Fixture {
        dir: tempfile::TempDir,
        db: std::sync::Arc<crate::store::Db>,
        config: Config,
        cancel: tokio_util::sync::CancellationToken,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::store::Db::open(&dir.path().join("caretaker.db")).unwrap();
        Fixture { dir, db, config: Config::default(), cancel: Default::default() }
    }

    impl Fixture {
        fn run(&self, id: &str) -> Outcome {
            let f = REGISTRY.iter().find(|t| t.0 == id).unwrap().4;
            f(&Ctx {
                db: &self.db,
                config: &self.config,
                data_dir: self.dir.path(),
                run_id: 0,
                retention_at: Some(crate::Clock::now_ms(&crate::SystemClock)),
                cancel: &self.cancel,
                backup_task: None,
            })
        }
    }

    fn old_file(path: &Path, bytes: usize, days: u64) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, vec![b'x'; bytes]).unwrap();
        let f = File::options().write(true).open(path).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(days * 86_400)).unwrap();
    }

    #[test]
    fn vacuum_skips_a_tight_database_and_compacts_a_loose_one() {
        let fx = fixture();
        assert!(matches!(fx.run("db_vacuum"), Outcome::Skipped { .. }));
        fx.db
            .write(|c| {
                c.execute_batch("CREATE TABLE big (b BLOB);")?;
                for _ in 0..400 {
                    c.execute("INSERT INTO big VALUES (zeroblob(8000))", [])?;
                }
                c.execute_batch("DELETE FROM big;")?;
                Ok(())
            })
            .unwrap();
        match fx.run("db_vacuum") {
            Outcome::Completed { bytes_freed, .. } => assert!(bytes_freed > 2_000_000, "{bytes_freed}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn old_log_files_and_temp_files_go_new_ones_stay() {
        let fx = fixture();
        let logs = fx.dir.path().join("logs");
        old_file(&logs.join("caretaker.2026-01-01.log"), 1000, 30);
        old_file(&logs.join("caretaker.2026-11-20.log"), 1000, 1);
        old_file(&logs.join("someone-else.log"), 1000, 30);
        assert_eq!(
            fx.run("rotate_logs"),
            Outcome::Completed { message: "1 log files older than 14 days removed".into(), rows_pruned: 0, bytes_freed: 1000 }
        );
        assert!(!logs.join("caretaker.2026-01-01.log").exists());
        assert!(logs.join("caretaker.2026-11-20.log").exists() && logs.join("someone-else.log").exists());

        old_file(&fx.dir.path().join("tmp/a/b.part"), 500, 2);
        old_file(&fx.dir.path().join(".caretaker.toml.tmp-123"), 100, 2);
        old_file(&fx.dir.path().join("tmp/fresh"), 100, 0);
        assert_eq!(
            fx.run("clean_temp"),
            Outcome::Completed { message: "2 temporary files removed".into(), rows_pruned: 0, bytes_freed: 600 }
        );
        assert!(fx.dir.path().join("tmp/fresh").exists());
    }

    #[test]
    fn optional_tasks_skip_until_configured_then_do_only_what_they_say() {
        let mut fx = fixture();
        assert!(matches!(fx.run("clear_cache"), Outcome::Skipped { reason } if reason.starts_with("not enabled")));
        assert!(matches!(fx.run("run_command"), Outcome::Skipped { reason } if reason.starts_with("not enabled")));
        let cache = fx.dir.path().join("cache");
        old_file(&cache.join("old.bin"), 2048, 40);
        old_file(&cache.join("new.bin"), 2048, 1);
        fx.config.maintenance.clear_cache = Some(crate::config::ClearCacheTask { path: cache.display().to_string(), older_than_days: 30 });
        match fx.run("clear_cache") {
            Outcome::Completed { bytes_freed, .. } => assert_eq!(bytes_freed, 2048),
            other => panic!("{other:?}"),
        }
        assert!(!cache.join("old.bin").exists() && cache.join("new.bin").exists());
        fx.config.maintenance.command = Some(crate::config::CommandTask {
            argv: vec!["/bin/sh".into(), "-c".into(), "echo cleaned 3 items; exit 0".into()],
            timeout_secs: 10,
        });
        assert_eq!(
            fx.run("run_command"),
            Outcome::Completed { message: "/bin/sh: cleaned 3 items".into(), rows_pruned: 0, bytes_freed: 0 }
        );
        fx.config.maintenance.command = Some(crate::config::CommandTask { argv: vec!["/bin/false".into()], timeout_secs: 10 });
        assert_eq!(fx.run("run_command"), Outcome::Failed { message: "/bin/false exited with 1".into() });
    }

    /// A command that prints more than a pipe holds finishes instead of blocking until its timeout.
    #[test]
    fn a_chatty_command_completes() {
        let mut fx = fixture();
        let argv = vec!["/bin/sh".into(), "-c".into(), "yes | head -c 200000; echo; echo all done".into()];
        fx.config.maintenance.command = Some(crate::config::CommandTask { argv, timeout_secs: 5 });
        let started = std::time::Instant::now();
        assert_eq!(fx.run("run_command"), done("/bin/sh: all done"));
        assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    }

    /// The command sees the same short environment as every program the engine runs.
    #[test]
    fn a_command_does_not_see_the_engines_environment() {
        let mut fx = fixture();
        std::env::set_var("CARETAKER_TASKS_TEST_SECRET", "s3cret");
        let argv = vec!["/bin/sh".into(), "-c".into(), "echo \"[$CARETAKER_TASKS_TEST_SECRET]\"".into()];
        fx.config.maintenance.command = Some(crate::config::CommandTask { argv, timeout_secs: 5 });
        assert_eq!(fx.run("run_command"), done("/bin/sh: []"));
    }

    #[test]
    fn disk_report_names_the_root_volume() {
        let fx = fixture();
        match fx.run("disk_report") {
            Outcome::Completed { message, .. } => assert!(message.contains("GiB free of"), "{message}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(fx.run("verify_backups"), Outcome::Skipped { reason } if reason == "backups are not configured"));
    }
}
