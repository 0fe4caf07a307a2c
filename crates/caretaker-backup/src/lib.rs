//! The backup worker: one request in on stdin, JSON progress lines out on stdout.
//!
//! It runs in its own process because rustic_core cannot be cancelled (the engine kills the
//! worker instead), panics on some write errors during a restore (a full disk), and holds a
//! restore's whole plan in memory. A crash here costs one job, never the app.

mod lock_files;
pub mod locks;
mod pace;
mod progress;
mod repo;
mod restore;
mod ssh_masters;
mod unreadable;

use caretaker_engine::backup::protocol::{
    BackupJob, BackupSummary, BackupThenForget, ErrorKind, ForgetFailure, Keep, Op, Request, SnapshotInfo, TreeEntry, VerifySummary,
    WorkerEvent,
};
use progress::Emitter;
use repo::Target;
use rustic_core::repofile::SnapshotFile;
use rustic_core::{
    BackupOptions, CheckOptions, Excludes, KeepOptions, OpenStatus, PathList, PruneOptions, ReadSubsetOption, RepairIndexOptions,
    Repository, RusticError, SnapshotOptions,
};
use std::io::BufRead;

/// A failure the engine can name: what kind, and a sentence for the person.
#[derive(Debug)]
pub struct Failure {
    pub kind: ErrorKind,
    pub message: String,
}

impl Failure {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Failure { kind, message: message.into() }
    }
}

pub type Outcome<T> = std::result::Result<T, Failure>;

/// The full 64-hex-digit id (rustic's Display shows the short form).
pub(crate) fn full_id(id: &rustic_core::Id) -> String {
    id.to_hex().as_str().to_string()
}

/// Maps rustic's errors onto what the engine reports, with its own wording kept.
pub(crate) fn rustic_failure(context: &str, e: &RusticError) -> Failure {
    let text = e.display_log();
    let kind = if e.is_incorrect_password() {
        ErrorKind::WrongPassword
    } else if text.contains("No space left") || text.contains("os error 28") {
        ErrorKind::NoSpace
    } else {
        ErrorKind::Failed
    };
    let message = match kind {
        ErrorKind::WrongPassword => "wrong password: the repository's key does not open with this password".to_string(),
        ErrorKind::NoSpace => format!("{context}: the destination disk is full ({})", text.trim_start_matches("Error: ")),
        _ => format!("{context}: {}", text.trim_start_matches("Error: ")),
    };
    Failure::new(kind, message)
}

/// Entry point of `caretaker __backup-worker`. Returns the process exit code.
pub fn worker_main() -> i32 {
    ssh_masters::take_control_folder();
    let code = serve();
    ssh_masters::close_all();
    code
}

fn serve() -> i32 {
    let emitter = Emitter::stdout();
    progress::install_panic_hook(emitter.clone());
    // Before rustic's REST backend builds its HTTP client (see `net::install_tls_provider`).
    caretaker_engine::net::install_tls_provider();
    unreadable::install();
    let mut line = String::new();
    if let Err(e) = std::io::stdin().lock().read_line(&mut line) {
        emitter.send(&WorkerEvent::Error { kind: ErrorKind::Failed, message: format!("cannot read the request: {e}") });
        return 2;
    }
    watch_parent();
    let request: Request = match serde_json::from_str(&line) {
        Ok(r) => r,
        Err(e) => {
            emitter.send(&WorkerEvent::Error { kind: ErrorKind::Failed, message: format!("invalid request: {e}") });
            return 2;
        }
    };
    match run(&request, &emitter) {
        Ok(result) => {
            emitter.flush_progress();
            emitter.send(&WorkerEvent::Done { result });
            0
        }
        Err(f) => {
            emitter.flush_progress();
            emitter.send(&WorkerEvent::Error { kind: f.kind, message: f.message });
            1
        }
    }
}

/// The engine keeps the worker's stdin open for the whole job and never writes to it again, so
/// end of file means the engine is gone (killed with -9 included: the kernel closes the pipe).
/// A worker left running then would keep writing to the repository unsupervised, and a later
/// prune would delete its unindexed packs: it stops instead, removing its locks.
fn watch_parent() {
    std::thread::spawn(|| {
        use std::io::Read;
        let mut buf = [0u8; 64];
        let mut stdin = std::io::stdin();
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        locks::release_all();
        ssh_masters::close_all();
        std::process::exit(3);
    });
}

fn to_json<T: serde::Serialize>(v: &T) -> Outcome<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| Failure::new(ErrorKind::Failed, format!("cannot encode the result: {e}")))
}

pub fn run(req: &Request, emitter: &Emitter) -> Outcome<serde_json::Value> {
    let target = Target::new(req)?;
    let open = |r: &Request| target.open(r, emitter);
    match &req.op {
        Op::Init => {
            target.init(&req.password, emitter)?;
            Ok(serde_json::Value::Null)
        }
        Op::Probe => to_json(&target.probe(&req.password, emitter)?),
        Op::Backup(job) => to_json(&backup(open(req)?, job, &target)?),
        Op::BackupThenForget { job, host, tag, keep } => {
            let repo = open(req)?;
            // The second open reuses the master key: no second password derivation.
            let again = Request { key: serde_json::to_string(&repo.key()).ok(), op: Op::Snapshots, ..req.clone() };
            let backup = backup(repo, job, &target)?;
            let forget = open(&again)
                .and_then(|r| forget(&r, &target, host, tag, keep))
                .and_then(|s| to_json(&s))
                .map_err(|f| ForgetFailure { kind: f.kind, message: f.message });
            to_json(&BackupThenForget { backup, forget, repository_bytes: target.remote_size() })
        }
        Op::Forget { host, tag, keep } => to_json(&forget(&open(req)?, &target, host, tag, keep)?),
        Op::Check { read_subset } => to_json(&check(&open(req)?, *read_subset)?),
        Op::Snapshots => to_json(&snapshots(&open(req)?)?),
        Op::Ls { snapshot, path } => to_json(&ls(open(req)?, snapshot, path)?),
        Op::Restore(job) => to_json(&restore::restore(open(req)?, job, emitter)?),
    }
}

pub(crate) fn run_backup<S: rustic_core::IndexedIds>(
    repo: &Repository<S>,
    sources: Vec<std::path::PathBuf>,
    excludes: &[String],
    host: &str,
    tags: &[String],
    label: &str,
) -> Outcome<SnapshotFile> {
    for s in &sources {
        if !s.exists() {
            return Err(Failure::new(
                ErrorKind::Failed,
                format!("the folder {} does not exist (moved, renamed or on a disk that is not connected?)", s.display()),
            ));
        }
    }
    let source =
        PathList::from_iter(sources).sanitize().map_err(|e| Failure::new(ErrorKind::Failed, format!("invalid source folder: {e}")))?;
    // Exclusions are ignore-style overrides: a leading "!" excludes.
    let globs: Vec<String> = excludes.iter().map(|g| format!("!{g}")).collect();
    let opts = BackupOptions::default().excludes(Excludes::default().globs(globs));
    let snap_opts = SnapshotOptions::default().host(Some(host.to_string())).label(Some(label.to_string()));
    let mut snap = snap_opts.to_snapshot().map_err(|e| rustic_failure("cannot prepare the snapshot", &e))?;
    // Each tag whole: rustic's `add_tags` reads a comma-separated list, which would split a plan
    // name with a comma into several tags and mix its snapshots up with another plan's.
    for t in tags {
        snap.tags.add(t.clone());
    }
    repo.backup(&opts, &source, snap).map_err(|e| rustic_failure("backup failed", &e))
}

fn backup(repo: Repository<OpenStatus>, job: &BackupJob, target: &Target) -> Outcome<BackupSummary> {
    if job.resume {
        index_leftovers(&repo, target);
    }
    let _lock = locks::RepoLock::acquire(target.lock_place()?, &repo.key(), false, "backing up")?;
    let repo = repo.to_indexed_ids().map_err(|e| rustic_failure("cannot read the repository index", &e))?;
    unreadable::reset();
    let snap = run_backup(&repo, job.sources.clone(), &job.excludes, &job.host, &job.tags, &job.label)?;
    let (unreadable, unreadable_items) = unreadable::take();
    let s = snap.summary.clone().unwrap_or_default();
    Ok(BackupSummary {
        snapshot_id: full_id(&snap.id),
        files_new: s.files_new,
        files_changed: s.files_changed,
        files_unmodified: s.files_unmodified,
        bytes_processed: s.total_bytes_processed,
        bytes_added: s.data_added_packed,
        unreadable,
        unreadable_items,
    })
}

/// A backup that did not finish (killed, cancelled, its server gone) leaves the packs it uploaded
/// in the repository but in no index, and rustic's backup would read and send their data again.
/// `repair index` (restic has the same command) reads the headers of the unindexed packs and
/// indexes them. It also drops index entries of packs that are gone, and the packs of a backup
/// still running elsewhere are unindexed too, so it runs only under an exclusive lock. When the
/// lock cannot be had (another program is at work) or the repair fails, the backup goes ahead
/// and sends those bytes again: nothing is lost either way.
fn index_leftovers(repo: &Repository<OpenStatus>, target: &Target) {
    let what = "indexing what an interrupted backup uploaded";
    let repaired = target
        .lock_place()
        .and_then(|place| locks::RepoLock::acquire(place, &repo.key(), true, what))
        .and_then(|_lock| repo.repair_index(&RepairIndexOptions::default(), false).map_err(|e| rustic_failure(what, &e)));
    if let Err(f) = repaired {
        eprintln!("{what}: skipped ({})", progress::redact(&f.message));
    }
}

fn info(s: &SnapshotFile) -> SnapshotInfo {
    let id = full_id(&s.id);
    let summary = s.summary.clone().unwrap_or_default();
    SnapshotInfo {
        short_id: id.chars().take(8).collect(),
        id,
        time_ms: s.time.timestamp().as_millisecond(),
        host: s.hostname.clone(),
        paths: s.paths.iter().cloned().collect(),
        tags: s.tags.iter().cloned().collect(),
        label: s.label.clone(),
        files: summary.total_files_processed,
        bytes: summary.total_bytes_processed,
    }
}

fn snapshots(repo: &Repository<OpenStatus>) -> Outcome<Vec<SnapshotInfo>> {
    let mut all = repo.get_all_snapshots().map_err(|e| rustic_failure("cannot list snapshots", &e))?;
    all.sort_by(|a, b| b.time.cmp(&a.time));
    Ok(all.iter().map(info).collect())
}

pub(crate) fn find_snapshot(repo: &Repository<OpenStatus>, id: &str) -> Outcome<SnapshotFile> {
    repo.get_snapshot_from_str(id, |_| true).map_err(|e| {
        let mut f = rustic_failure(&format!("no snapshot {id}"), &e);
        f.kind = ErrorKind::Failed;
        f
    })
}

fn ls(repo: Repository<OpenStatus>, snapshot: &str, path: &str) -> Outcome<Vec<TreeEntry>> {
    let snap = find_snapshot(&repo, snapshot)?;
    let repo = repo.to_indexed().map_err(|e| rustic_failure("cannot read the repository index", &e))?;
    let base = path.trim_end_matches('/');
    let node = repo
        .node_from_snapshot_and_path(&snap, if base.is_empty() { "/" } else { base })
        .map_err(|e| rustic_failure(&format!("no path {path} in snapshot {snapshot}"), &e))?;
    let mut out = Vec::new();
    if !node.is_dir() {
        return Err(Failure::new(ErrorKind::Failed, format!("{path} is a file, not a folder")));
    }
    let tree_id = node.subtree.ok_or_else(|| Failure::new(ErrorKind::Corrupt, format!("folder {path} has no tree")))?;
    let tree = repo.get_tree(&tree_id).map_err(|e| rustic_failure("cannot read a folder of the snapshot", &e))?;
    for n in tree.nodes {
        let name = n.name().to_string_lossy().into_owned();
        out.push(TreeEntry {
            path: format!("{base}/{name}"),
            name,
            is_dir: n.is_dir(),
            size: n.meta.size,
            mtime_ms: n.meta.mtime.map(|t| t.as_millisecond()),
        });
    }
    out.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));
    Ok(out)
}

fn keep_options(k: &Keep) -> KeepOptions {
    let n = |v: u32| (v > 0).then(|| i32::try_from(v).unwrap_or(i32::MAX));
    KeepOptions::default()
        .keep_last(n(k.last))
        .keep_hourly(n(k.hourly))
        .keep_daily(n(k.daily))
        .keep_weekly(n(k.weekly))
        .keep_monthly(n(k.monthly))
}

#[derive(serde::Serialize)]
struct ForgetSummary {
    removed: Vec<String>,
    kept: usize,
}

fn forget(repo: &Repository<OpenStatus>, target: &Target, host: &str, tag: &str, keep: &Keep) -> Outcome<ForgetSummary> {
    if keep == &Keep::default() {
        return Err(Failure::new(ErrorKind::Failed, "the retention policy keeps nothing; refusing to forget every snapshot"));
    }
    // Exclusive, like restic's prune: the prune below deletes every pack no index names, which
    // includes the packs a concurrent writer has not indexed yet.
    let _lock = locks::RepoLock::acquire(target.lock_place()?, &repo.key(), true, "pruning")?;
    let all = repo.get_all_snapshots().map_err(|e| rustic_failure("cannot list snapshots", &e))?;
    let mine: Vec<SnapshotFile> = all.into_iter().filter(|s| s.hostname == host && s.tags.iter().any(|t| t == tag)).collect();
    let now = rustic_core::jiff::Zoned::now();
    let decided = keep_options(keep).apply(mine, &now).map_err(|e| rustic_failure("invalid retention policy", &e))?;
    let kept = decided.iter().filter(|f| f.keep).count();
    let remove: Vec<_> = decided.iter().filter(|f| !f.keep).map(|f| f.snapshot.id).collect();
    if !remove.is_empty() {
        repo.delete_snapshots(&remove).map_err(|e| rustic_failure("cannot remove old snapshots", &e))?;
    }
    // Instant delete, as restic's own prune does under its exclusive lock: nothing is left
    // "marked for deletion" (an index extension restic does not read), so `restic check` stays clean.
    let opts = PruneOptions::default().instant_delete(true);
    let plan = repo.prune_plan(&opts).map_err(|e| rustic_failure("cannot plan the prune", &e))?;
    repo.prune(&opts, plan).map_err(|e| rustic_failure("prune failed", &e))?;
    Ok(ForgetSummary { removed: remove.iter().map(|id| full_id(id)).collect(), kept })
}

fn check(repo: &Repository<OpenStatus>, read_subset: Option<(u32, u32)>) -> Outcome<VerifySummary> {
    let mut opts = CheckOptions::default();
    if let Some((n, m)) = read_subset {
        opts = opts.read_data(true).read_data_subset(ReadSubsetOption::IdSubSet((n.max(1), m.max(1))));
    }
    let results = repo.check(opts).map_err(|e| rustic_failure("check failed", &e))?;
    let mut summary = VerifySummary { read_data: read_subset.is_some(), ..Default::default() };
    for (level, err) in &results.0 {
        let text = err.to_string();
        if format!("{level:?}") == "Error" {
            summary.errors.push(text);
        } else {
            summary.warnings.push(text);
        }
    }
    Ok(summary)
}
