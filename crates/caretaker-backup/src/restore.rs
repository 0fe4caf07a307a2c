//! Restore of a whole snapshot, a folder or one file, in bounded batches, never replacing a file
//! without the person's say-so, and never writing outside the destination: a snapshot's names
//! are checked before anything is written, and no symbolic link below the destination is
//! followed.

mod names;
mod nofollow;

use crate::progress::Emitter;
use crate::{find_snapshot, run_backup, rustic_failure, Failure, Outcome};
use caretaker_engine::backup::protocol::{is_filesystem_root, ConflictPolicy, ConflictReport, ErrorKind, RestoreJob, RestoreSummary};
use names::{check_entry, shown, Siblings};
use nofollow::{first_link, link_refusal, Partial};
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
    /// The destination the person chose. Links above it are theirs; below it none is followed.
    root: PathBuf,
    /// Where the entries go, below `root`: nothing for a whole snapshot, else the name of the
    /// folder or of the single file restored.
    base: PathBuf,
    single_file: bool,
}

fn target_of(node: &Node, job: &RestoreJob) -> Outcome<Target> {
    let root = job.destination.clone();
    if job.path.trim_matches('/').is_empty() {
        return Ok(Target { root, base: PathBuf::new(), single_file: false });
    }
    let base = PathBuf::from(node.name().into_owned());
    check_entry(&base, node, &mut Siblings::default())?;
    Ok(Target { root, base, single_file: !node.is_dir() })
}

impl Target {
    /// Where an entry of the listing goes, relative to `root`.
    fn below(&self, rel: &Path) -> PathBuf {
        if self.single_file || rel.as_os_str().is_empty() {
            self.base.clone()
        } else {
            self.base.join(rel)
        }
    }

    fn path(&self, rel: &Path) -> PathBuf {
        let below = self.below(rel);
        if below.as_os_str().is_empty() {
            self.root.clone()
        } else {
            self.root.join(below)
        }
    }

    /// The folder (or file) rustic_core's batch restore writes to.
    fn dest(&self) -> PathBuf {
        self.path(Path::new(""))
    }

    /// Refuses when a link sits between `root` and the folder holding `below`. Entries of one
    /// folder come together, so the last folder found clean is remembered.
    fn no_link_above(&self, below: &Path, clean: &mut Option<PathBuf>) -> Outcome<()> {
        let parent = below.parent().unwrap_or(Path::new(""));
        if clean.as_deref() == Some(parent) {
            return Ok(());
        }
        if let Some(link) = first_link(&self.root, parent) {
            return Err(Failure::new(ErrorKind::Failed, link_refusal(&link)));
        }
        *clean = Some(parent.to_path_buf());
        Ok(())
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
    if is_filesystem_root(&job.destination) {
        return Err(Failure::new(
            ErrorKind::Failed,
            format!("the destination {} is the root folder; pick a folder to restore into", shown(&job.destination)),
        ));
    }
    emitter.phase("reading the snapshot");
    let indexed = repo.to_indexed().map_err(|e| rustic_failure("cannot read the repository index", &e))?;
    let inner = job.path.trim_end_matches('/');
    let node = indexed
        .node_from_snapshot_and_path(&snap, if inner.is_empty() { "/" } else { inner })
        .map_err(|e| rustic_failure(&format!("no path {} in snapshot {}", job.path, job.snapshot), &e))?;
    let target = target_of(&node, job)?;
    let ls_opts = LsOptions::default().recursive(true);
    let stream = || indexed.ls(&node, &ls_opts).map_err(|e| rustic_failure("cannot list the snapshot", &e));

    // Pass 1: whether every entry can be written inside the destination (checked before
    // anything is written, so a crafted snapshot leaves no trace), what would be replaced, and
    // how much there is to do.
    let mut conflicts: HashSet<PathBuf> = HashSet::new();
    let mut examples = Vec::new();
    let (mut bytes_total, mut files_total) = (0u64, 0u64);
    let (mut siblings, mut clean) = (Siblings::default(), None);
    for item in stream()? {
        let (rel, n) = item.map_err(|e| rustic_failure("cannot read the snapshot", &e))?;
        check_entry(&rel, &n, &mut siblings)?;
        let below = target.below(&rel);
        target.no_link_above(&below, &mut clean)?;
        let d = target.root.join(&below);
        let existing = std::fs::symlink_metadata(&d);
        if n.is_dir() {
            match existing {
                Ok(m) if m.file_type().is_symlink() => return Err(Failure::new(ErrorKind::Failed, link_refusal(&d))),
                Ok(m) if !m.is_dir() => {
                    return Err(Failure::new(ErrorKind::Conflict, format!("{} exists and is not a folder", d.display())));
                }
                _ => {}
            }
            continue;
        }
        if existing.is_ok() {
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
                let mut paths: Vec<PathBuf> = conflicts.iter().map(|rel| target.path(rel)).collect();
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
                        let below = target.below(&rel);
                        let free = free_name(&target.root.join(&below), &today);
                        renamed_dests.push((below.with_file_name(free.file_name().unwrap_or_default()), n));
                        continue;
                    }
                    _ => {}
                }
            }
            if !n.is_dir() && n.meta.size > limits.stream_above {
                stream_file(&indexed, &n, &target.root, &target.below(&rel), emitter)?;
                emitter.add_files(1);
                summary.files_restored += 1;
                continue;
            }
            batch_bytes += if n.is_dir() { 0 } else { n.meta.size };
            batch.push((rel, n));
        }
        if (done && !batch.is_empty()) || batch.len() >= limits.batch_entries || batch_bytes >= limits.batch_bytes {
            let files = batch.iter().filter(|(_, n)| !n.is_dir()).count() as u64;
            let overwrite = job.on_conflict == Some(ConflictPolicy::Overwrite);
            guard_batch(&target, &batch, &conflicts, overwrite)?;
            let dest = LocalDestination::new(&target.dest().to_string_lossy(), true, target.single_file)
                .map_err(|e| rustic_failure(&format!("cannot write to {}", target.dest().display()), &e))?;
            restore_batch(&indexed, &opts, std::mem::take(&mut batch), &dest)?;
            emitter.add_files(files);
            summary.files_restored += files;
            batch_bytes = 0;
        }
        if done {
            break;
        }
    }
    for (below, n) in renamed_dests {
        stream_file(&indexed, &n, &target.root, &below, emitter)?;
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

/// Restores one file to `root/below` by streaming its blobs in order into
/// `<dir>/.<name>.caretaker-partial`, then renaming it into place with the snapshot's
/// modification time and permissions. No link below `root` is followed on the way.
fn stream_file<S: IndexedFull>(repo: &Repository<S>, node: &Node, root: &Path, below: &Path, emitter: &Emitter) -> Outcome<()> {
    let path = &root.join(below);
    let (partial, file) = Partial::create(root, below).map_err(|e| io_failure("write", path, &e))?;
    let result = (|| -> Outcome<()> {
        let mut w = Counting { inner: std::io::BufWriter::with_capacity(1 << 20, file), emitter };
        if let Err(e) = repo.dump(node, &mut w) {
            // A write error inside dump comes back as rustic's error; ask the disk what it was.
            let mut f = rustic_failure(&format!("cannot restore {}", path.display()), &e);
            if f.kind == ErrorKind::Failed && e.display_log().contains("No space") {
                f.kind = ErrorKind::NoSpace;
            }
            return Err(f);
        }
        let file = w.inner.into_inner().map_err(|e| io_failure("write", path, e.error()))?;
        file.sync_all().map_err(|e| io_failure("write", path, &e))?;
        if let Some(t) = node.meta.mtime {
            let _ = file.set_modified(std::time::SystemTime::from(t));
        }
        #[cfg(unix)]
        if let Some(mode) = node.meta.mode {
            use std::os::unix::fs::PermissionsExt;
            let _ = file.set_permissions(std::fs::Permissions::from_mode(mode & 0o777));
        }
        partial.commit().map_err(|e| io_failure("write", path, &e))
    })();
    if result.is_err() {
        partial.discard();
    }
    result
}

/// rustic_core's batch restore writes by path and follows links, so just before it runs, no entry
/// may have a link on its way. A link where an overwritten file goes is removed (the safety
/// snapshot holds it) so the file replaces the link instead of writing through it.
fn guard_batch(target: &Target, batch: &[(PathBuf, Node)], conflicts: &HashSet<PathBuf>, overwrite: bool) -> Outcome<()> {
    let mut clean = None;
    for (rel, n) in batch {
        let below = target.below(rel);
        target.no_link_above(&below, &mut clean)?;
        let d = target.root.join(&below);
        if std::fs::symlink_metadata(&d).is_ok_and(|m| m.file_type().is_symlink()) {
            if n.is_dir() || !overwrite || !conflicts.contains(rel) {
                return Err(Failure::new(ErrorKind::Failed, link_refusal(&d)));
            }
            std::fs::remove_file(&d).map_err(|e| io_failure("replace", &d, &e))?;
        }
    }
    Ok(())
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

#[cfg(test)]
mod crafted_tests;
