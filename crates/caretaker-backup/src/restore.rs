//! Restore of a whole snapshot, a folder or one file, in bounded batches, never replacing a file
//! without the person's say-so.

use crate::progress::Emitter;
use crate::{find_snapshot, run_backup, rustic_failure, Failure, Outcome};
use caretaker_engine::backup::protocol::{ConflictPolicy, ConflictReport, ErrorKind, RestoreJob, RestoreSummary};
use rustic_core::repofile::Node;
use rustic_core::{IndexedFull, LocalDestination, LsOptions, OpenStatus, Repository, RestoreOptions};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// rustic_core keeps a restore's whole plan in memory; batches of this many entries (or this
/// many bytes of file data) hold it down on large snapshots. The byte bound also caps the data in
/// flight: rustic_core reads every pack a batch needs at once (up to 20 threads) and queues the
/// decompressed blobs for writing, so a batch can hold about twice its size in memory.
const BATCH_ENTRIES: usize = 2_000;
const BATCH_BYTES: u64 = 64 * 1024 * 1024;
/// A batch cannot split a file, so large files (which would set that floor on their own) are
/// streamed instead: blob after blob, a few in flight, written to a temporary name and renamed.
const STREAM_ABOVE: u64 = 16 * 1024 * 1024;

/// The bounds above, as one value so a test can make small data take the batch and stream paths.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub batch_entries: usize,
    pub batch_bytes: u64,
    pub stream_above: u64,
}

impl Limits {
    pub(crate) const DEFAULT: Limits = Limits { batch_entries: BATCH_ENTRIES, batch_bytes: BATCH_BYTES, stream_above: STREAM_ABOVE };
}

/// Tag on the snapshot taken before an overwrite.
pub const SAFETY_TAG: &str = "caretaker-safety";

struct Target {
    /// Where the entries go: a folder, or for a single file the file's own path.
    dest: PathBuf,
    single_file: bool,
}

fn target_of(node: &Node, job: &RestoreJob) -> Target {
    let inner = job.path.trim_matches('/');
    if inner.is_empty() {
        Target { dest: job.destination.clone(), single_file: false }
    } else {
        let name = node.name().to_string_lossy().into_owned();
        Target { dest: job.destination.join(name), single_file: !node.is_dir() }
    }
}

fn dest_path(t: &Target, rel: &Path) -> PathBuf {
    if t.single_file || rel.as_os_str().is_empty() {
        t.dest.clone()
    } else {
        t.dest.join(rel)
    }
}

/// "report.pdf" → "report (restored 2026-11-24).pdf", then " 2", " 3"... until the name is free.
pub fn free_name(path: &Path, date: &str) -> PathBuf {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let ext = path.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
    let parent = path.parent().unwrap_or(Path::new(""));
    let mut n = 1;
    loop {
        let suffix = if n == 1 { format!(" (restored {date})") } else { format!(" (restored {date} {n})") };
        let candidate = parent.join(format!("{stem}{suffix}{ext}"));
        if std::fs::symlink_metadata(&candidate).is_err() {
            return candidate;
        }
        n += 1;
    }
}

pub fn restore(repo: Repository<OpenStatus>, job: &RestoreJob, emitter: &Emitter) -> Outcome<RestoreSummary> {
    restore_with(repo, job, emitter, Limits::DEFAULT)
}

pub(crate) fn restore_with(repo: Repository<OpenStatus>, job: &RestoreJob, emitter: &Emitter, limits: Limits) -> Outcome<RestoreSummary> {
    let snap = find_snapshot(&repo, &job.snapshot)?;
    if !job.destination.is_absolute() {
        return Err(Failure::new(ErrorKind::Failed, format!("the destination {} must be an absolute path", job.destination.display())));
    }
    emitter.phase("reading the snapshot");
    let indexed = repo.to_indexed().map_err(|e| rustic_failure("cannot read the repository index", &e))?;
    let inner = job.path.trim_end_matches('/');
    let node = indexed
        .node_from_snapshot_and_path(&snap, if inner.is_empty() { "/" } else { inner })
        .map_err(|e| rustic_failure(&format!("no path {} in snapshot {}", job.path, job.snapshot), &e))?;
    let target = target_of(&node, job);
    let ls_opts = LsOptions::default().recursive(true);
    let stream = || indexed.ls(&node, &ls_opts).map_err(|e| rustic_failure("cannot list the snapshot", &e));

    // Pass 1: what would be replaced, and how much there is to do.
    let mut conflicts: HashSet<PathBuf> = HashSet::new();
    let mut examples = Vec::new();
    let (mut bytes_total, mut files_total) = (0u64, 0u64);
    for item in stream()? {
        let (rel, n) = item.map_err(|e| rustic_failure("cannot read the snapshot", &e))?;
        if n.is_dir() {
            let d = dest_path(&target, &rel);
            if d.exists() && !d.is_dir() {
                return Err(Failure::new(ErrorKind::Conflict, format!("{} exists and is not a folder", d.display())));
            }
            continue;
        }
        let d = dest_path(&target, &rel);
        if std::fs::symlink_metadata(&d).is_ok() {
            if examples.len() < 5 {
                examples.push(d.display().to_string());
            }
            conflicts.insert(rel.clone());
            if job.on_conflict == Some(ConflictPolicy::Skip) {
                continue;
            }
        }
        files_total += 1;
        bytes_total += n.meta.size;
    }
    let mut summary = RestoreSummary::default();
    if !conflicts.is_empty() {
        match job.on_conflict {
            None => {
                let report = ConflictReport { existing: conflicts.len() as u64, examples };
                let text = serde_json::to_string(&report).unwrap_or_default();
                return Err(Failure::new(ErrorKind::Conflict, text));
            }
            Some(ConflictPolicy::Overwrite) => {
                emitter.phase("saving the files about to be replaced");
                let mut paths: Vec<PathBuf> = conflicts.iter().map(|rel| dest_path(&target, rel)).collect();
                paths.sort();
                let safety = run_backup(
                    &indexed,
                    paths,
                    &[],
                    &job.host,
                    &[SAFETY_TAG.to_string()],
                    &format!("before restoring {}", job.snapshot.chars().take(8).collect::<String>()),
                )?;
                summary.safety_snapshot = Some(crate::full_id(&safety.id));
                summary.files_overwritten = conflicts.len() as u64;
            }
            Some(ConflictPolicy::Skip) => summary.files_skipped = conflicts.len() as u64,
            Some(ConflictPolicy::KeepBoth) => summary.files_renamed = conflicts.len() as u64,
        }
    }

    // Pass 2: restore in batches.
    emitter.totals("restoring", bytes_total, files_total);
    let today = rustic_core::jiff::Zoned::now().strftime("%Y-%m-%d").to_string();
    let opts = RestoreOptions::default().no_ownership(true);
    let mut batch: Vec<(PathBuf, Node)> = Vec::new();
    let mut batch_bytes = 0u64;
    let mut renamed_dests: Vec<(PathBuf, Node)> = Vec::new();
    let mut stream_iter = stream()?;
    loop {
        let next = stream_iter.next();
        let done = next.is_none();
        if let Some(item) = next {
            let (rel, n) = item.map_err(|e| rustic_failure("cannot read the snapshot", &e))?;
            if !n.is_dir() && conflicts.contains(&rel) {
                match job.on_conflict {
                    Some(ConflictPolicy::Skip) => continue,
                    Some(ConflictPolicy::KeepBoth) => {
                        // Restored on its own, to a free name next to the existing file.
                        renamed_dests.push((free_name(&dest_path(&target, &rel), &today), n));
                        continue;
                    }
                    _ => {}
                }
            }
            if !n.is_dir() && n.meta.size > limits.stream_above {
                stream_file(&indexed, &n, &dest_path(&target, &rel), emitter)?;
                emitter.add_files(1);
                summary.files_restored += 1;
                continue;
            }
            batch_bytes += if n.is_dir() { 0 } else { n.meta.size };
            batch.push((rel, n));
        }
        if (done && !batch.is_empty()) || batch.len() >= limits.batch_entries || batch_bytes >= limits.batch_bytes {
            let files = batch.iter().filter(|(_, n)| !n.is_dir()).count() as u64;
            let dest = LocalDestination::new(&target.dest.to_string_lossy(), true, target.single_file)
                .map_err(|e| rustic_failure(&format!("cannot write to {}", target.dest.display()), &e))?;
            restore_batch(&indexed, &opts, std::mem::take(&mut batch), &dest)?;
            emitter.add_files(files);
            summary.files_restored += files;
            batch_bytes = 0;
        }
        if done {
            break;
        }
    }
    for (path, n) in renamed_dests {
        stream_file(&indexed, &n, &path, emitter)?;
        emitter.add_files(1);
        summary.files_restored += 1;
    }
    summary.bytes_restored = bytes_total;
    Ok(summary)
}

fn io_failure(what: &str, path: &Path, e: &std::io::Error) -> Failure {
    let kind = if e.raw_os_error() == Some(28) { ErrorKind::NoSpace } else { ErrorKind::Failed };
    let why = if kind == ErrorKind::NoSpace { "the destination disk is full".to_string() } else { e.to_string() };
    Failure::new(kind, format!("cannot {what} {}: {why}", path.display()))
}

/// Counts what goes through, for the progress bar, and keeps the first write error.
struct Counting<'a, W: std::io::Write> {
    inner: W,
    emitter: &'a Emitter,
}

impl<W: std::io::Write> std::io::Write for Counting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.emitter.add_bytes(n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Restores one file by streaming its blobs in order into `<dir>/.<name>.caretaker-partial`,
/// then renaming it into place with the snapshot's modification time and permissions.
fn stream_file<S: IndexedFull>(repo: &Repository<S>, node: &Node, path: &Path, emitter: &Emitter) -> Outcome<()> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(dir).map_err(|e| io_failure("create", dir, &e))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let partial = dir.join(format!(".{name}.caretaker-partial"));
    let result = (|| -> Outcome<()> {
        let file = std::fs::File::create(&partial).map_err(|e| io_failure("write", &partial, &e))?;
        let mut w = Counting { inner: std::io::BufWriter::with_capacity(1 << 20, file), emitter };
        if let Err(e) = repo.dump(node, &mut w) {
            // A write error inside dump comes back as rustic's error; ask the disk what it was.
            let mut f = rustic_failure(&format!("cannot restore {}", path.display()), &e);
            if f.kind == ErrorKind::Failed && e.display_log().contains("No space") {
                f.kind = ErrorKind::NoSpace;
            }
            return Err(f);
        }
        let file = w.inner.into_inner().map_err(|e| io_failure("write", &partial, e.error()))?;
        file.sync_all().map_err(|e| io_failure("write", &partial, &e))?;
        if let Some(t) = node.meta.mtime {
            let _ = file.set_modified(std::time::SystemTime::from(t));
        }
        #[cfg(unix)]
        if let Some(mode) = node.meta.mode {
            use std::os::unix::fs::PermissionsExt;
            let _ = file.set_permissions(std::fs::Permissions::from_mode(mode & 0o777));
        }
        std::fs::rename(&partial, path).map_err(|e| io_failure("write", path, &e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

fn restore_batch<S: IndexedFull>(
    repo: &Repository<S>,
    opts: &RestoreOptions,
    batch: Vec<(PathBuf, Node)>,
    dest: &LocalDestination,
) -> Outcome<()> {
    let plan = repo
        .prepare_restore(opts, batch.iter().cloned().map(Ok), dest, false)
        .map_err(|e| rustic_failure("cannot prepare the restore", &e))?;
    repo.restore(plan, opts, batch.into_iter().map(Ok), dest).map_err(|e| rustic_failure("restore failed", &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_name_adds_a_dated_suffix_and_counts_up() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("report.pdf");
        assert_eq!(free_name(&p, "2026-11-24"), dir.path().join("report (restored 2026-11-24).pdf"));
        std::fs::write(dir.path().join("report (restored 2026-11-24).pdf"), b"x").expect("write");
        assert_eq!(free_name(&p, "2026-11-24"), dir.path().join("report (restored 2026-11-24 2).pdf"));
        let q = dir.path().join("Makefile");
        assert_eq!(free_name(&q, "2026-11-24"), dir.path().join("Makefile (restored 2026-11-24)"));
    }
}
