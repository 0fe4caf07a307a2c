//! The backup worker process (the real `caretaker` binary) against real repositories on disk,
//! and the Debian `restic` CLI reading and writing the same repositories.

mod repo_kit;

use caretaker_engine::backup::protocol::{
    BackupJob, BackupSummary, ConflictPolicy, ConflictReport, ErrorKind, JobProgress, Keep, Op, Request, RestoreJob, RestoreSummary,
    SnapshotInfo, TreeEntry, VerifySummary,
};
use caretaker_engine::backup::worker::{call, JobError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use tokio_util::sync::CancellationToken;

const PASSWORD: &str = "correct horse battery staple";
const EXE: &str = env!("CARGO_BIN_EXE_caretaker");

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

fn req(repo: &Path, op: Op) -> Request {
    Request { repository: repo.to_path_buf(), password: PASSWORD.into(), server_password: None, key: None, remote: Default::default(), op }
}

fn run_with(r: Request, cancel: &CancellationToken) -> (Result<serde_json::Value, JobError>, Vec<JobProgress>) {
    let mut seen = Vec::new();
    let out = rt().block_on(call(Path::new(EXE), &r, |p| seen.push(p), cancel));
    (out, seen)
}

fn run(r: Request) -> Result<serde_json::Value, JobError> {
    run_with(r, &CancellationToken::new()).0
}

fn ok<T: serde::de::DeserializeOwned>(r: Request) -> T {
    let what = format!("{:?}", r.op);
    let v = run(r).unwrap_or_else(|e| panic!("{what} failed: {e:?}"));
    serde_json::from_value(v).expect("result shape")
}

/// A backup of `src` with no exclusions or tags.
fn plain_backup(src: &Path) -> Op {
    Op::Backup(BackupJob {
        sources: vec![src.to_path_buf()],
        excludes: vec![],
        host: "h".into(),
        tags: vec![],
        label: "x".into(),
        resume: false,
    })
}

fn init(repo: &Path) {
    run(req(repo, Op::Init)).expect("init");
}

fn backup(repo: &Path, src: &Path, tag: &str) -> BackupSummary {
    ok(req(
        repo,
        Op::Backup(BackupJob {
            sources: vec![src.to_path_buf()],
            excludes: vec!["*.tmp".into()],
            host: "caretaker-test".into(),
            tags: vec![tag.into()],
            label: "plan".into(),
            resume: false,
        }),
    ))
}

fn restore(repo: &Path, snapshot: &str, path: &str, dest: &Path, on_conflict: Option<ConflictPolicy>) -> Result<RestoreSummary, JobError> {
    run(req(
        repo,
        Op::Restore(RestoreJob {
            snapshot: snapshot.into(),
            path: path.into(),
            destination: dest.to_path_buf(),
            on_conflict,
            host: "caretaker-test".into(),
        }),
    ))
    .map(|v| serde_json::from_value(v).expect("restore summary"))
}

/// A small tree with the awkward cases: nesting, empty files and folders, binary data, unicode.
fn make_tree(root: &Path) {
    let w = |rel: &str, data: &[u8]| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, data).expect("write");
    };
    w("notes/todo.txt", b"buy milk\n");
    w("notes/deep/er/still.txt", b"deep");
    w("empty.txt", b"");
    w("photos/caf\u{e9} \u{1f600}.jpg", &(0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect::<Vec<_>>());
    w("big.bin", &vec![7u8; 3 * 1024 * 1024]);
    w("scratch.tmp", b"excluded");
    std::fs::create_dir_all(root.join("empty-dir")).expect("mkdir");
}

/// Relative path → content, for every file under `root` (folders as None).
fn listing(root: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Option<Vec<u8>>>) {
        for e in std::fs::read_dir(dir).expect("read_dir") {
            let p = e.expect("entry").path();
            let rel = p.strip_prefix(root).expect("prefix").to_path_buf();
            if p.is_dir() {
                out.insert(rel, None);
                walk(root, &p, out);
            } else {
                out.insert(rel, Some(std::fs::read(&p).expect("read")));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn without_tmp(mut l: BTreeMap<PathBuf, Option<Vec<u8>>>) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    l.retain(|p, _| p.extension().is_none_or(|e| e != "tmp"));
    l
}

/// Where a restore of the whole snapshot puts `src`: the snapshot keeps absolute paths.
fn restored_copy(dest: &Path, src: &Path) -> PathBuf {
    dest.join(src.strip_prefix("/").expect("absolute"))
}

fn restic(repo: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new("restic")
        .arg("-r")
        .arg(repo)
        .args(args)
        .env("RESTIC_PASSWORD", PASSWORD)
        .env("RESTIC_CACHE_DIR", repo.with_extension("cache"))
        .output()
        .expect("the restic CLI must be installed (Debian package restic; scripts/setup-debian.sh installs it)");
    assert!(
        out.status.success(),
        "restic {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

#[test]
fn backup_incremental_restore_and_browse() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (src, repo) = (tmp.path().join("src"), tmp.path().join("repo"));
    make_tree(&src);
    init(&repo);
    let first = backup(&repo, &src, "plan:docs");
    assert!(first.files_new >= 5, "{first:?}");
    assert!(first.bytes_added > 0);

    // Incremental: one changed, one new, one deleted; unchanged data is not stored again.
    std::fs::write(src.join("notes/todo.txt"), b"buy milk\nand bread\n").expect("write");
    std::fs::write(src.join("new.txt"), b"new").expect("write");
    std::fs::remove_file(src.join("empty.txt")).expect("rm");
    let second = backup(&repo, &src, "plan:docs");
    assert_eq!((second.files_new, second.files_changed), (1, 1), "{second:?}");
    assert!(second.files_unmodified >= 3, "{second:?}");
    assert!(second.bytes_added < 100_000, "unchanged data was stored again: {second:?}");

    let snaps: Vec<SnapshotInfo> = ok(req(&repo, Op::Snapshots));
    assert_eq!(snaps.len(), 2);
    assert_eq!(snaps[0].id, second.snapshot_id, "newest first");
    assert_eq!(snaps[0].host, "caretaker-test");

    // Whole snapshot, byte for byte (the excluded *.tmp is absent).
    let out = tmp.path().join("restore-all");
    let summary = restore(&repo, &second.snapshot_id, "", &out, None).expect("restore");
    assert!(summary.files_restored >= 5);
    assert_eq!(listing(&restored_copy(&out, &src)), without_tmp(listing(&src)));

    // The older snapshot still has the old content.
    let old = tmp.path().join("restore-old");
    restore(&repo, &first.snapshot_id, &format!("{}/notes", src.display()), &old, None).expect("restore folder");
    assert_eq!(std::fs::read(old.join("notes/todo.txt")).expect("read"), b"buy milk\n");
    assert_eq!(std::fs::read(old.join("notes/deep/er/still.txt")).expect("read"), b"deep");

    // One file into a folder of its own choosing.
    let one = tmp.path().join("one");
    std::fs::create_dir_all(&one).expect("mkdir");
    let photo = format!("{}/photos/caf\u{e9} \u{1f600}.jpg", src.display());
    let s = restore(&repo, &second.snapshot_id, &photo, &one, None).expect("restore file");
    assert_eq!(s.files_restored, 1);
    assert_eq!(std::fs::read(one.join("caf\u{e9} \u{1f600}.jpg")).expect("read"), std::fs::read(&photo).expect("read"));

    // Browse: a folder lists its entries, folders first.
    let entries: Vec<TreeEntry> = ok(req(&repo, Op::Ls { snapshot: second.snapshot_id.clone(), path: src.display().to_string() }));
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["empty-dir", "notes", "photos", "big.bin", "new.txt"]);
    assert_eq!(entries.iter().find(|e| e.name == "big.bin").map(|e| e.size), Some(3 * 1024 * 1024));

    let check: VerifySummary = ok(req(&repo, Op::Check { read_subset: Some((1, 1)) }));
    assert!(check.errors.is_empty(), "{check:?}");
}

#[test]
fn large_files_are_streamed_back_with_their_time_and_mode() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (src, repo) = (tmp.path().join("src"), tmp.path().join("repo"));
    std::fs::create_dir_all(src.join("media")).expect("mkdir");
    // 40 MiB, half noise and half text: above the streaming threshold, several blobs.
    let mut x: u64 = 99;
    let mut data: Vec<u8> = (0..20 * 1024 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    data.extend(b"all work and no play ".iter().cycle().take(20 * 1024 * 1024));
    let big = src.join("media/film.mov");
    std::fs::write(&big, &data).expect("write");
    std::fs::write(src.join("media/notes.txt"), b"small beside it").expect("write");
    let mtime = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    std::fs::File::options().write(true).open(&big).and_then(|f| f.set_modified(mtime)).expect("mtime");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&big, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    }
    init(&repo);
    let snap = backup(&repo, &src, "plan:media").snapshot_id;
    let out = tmp.path().join("out");
    let (res, seen) = run_with(
        req(
            &repo,
            Op::Restore(RestoreJob { snapshot: snap, path: "".into(), destination: out.clone(), on_conflict: None, host: "h".into() }),
        ),
        &CancellationToken::new(),
    );
    let summary: RestoreSummary = serde_json::from_value(res.expect("restore")).expect("summary");
    assert_eq!(summary.files_restored, 2);
    let copy = restored_copy(&out, &big);
    assert!(std::fs::read(&copy).expect("read") == data, "byte for byte");
    let meta = std::fs::metadata(&copy).expect("meta");
    assert_eq!(meta.modified().expect("mtime"), mtime);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o640);
    }
    assert_eq!(listing(&restored_copy(&out, &src)), listing(&src));
    let last = seen.last().expect("progress");
    assert_eq!((last.bytes_done, last.bytes_total), (data.len() as u64 + 15, Some(data.len() as u64 + 15)), "{last:?}");
    assert_eq!((last.files_done, last.files_total), (2, Some(2)));
}

#[test]
fn restore_never_replaces_a_file_without_a_choice() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (src, repo, dest) = (tmp.path().join("src"), tmp.path().join("repo"), tmp.path().join("dest"));
    make_tree(&src);
    init(&repo);
    let snap = backup(&repo, &src, "plan:docs").snapshot_id;
    let file = format!("{}/notes/todo.txt", src.display());
    std::fs::create_dir_all(&dest).expect("mkdir");
    let mine = dest.join("todo.txt");
    std::fs::write(&mine, b"my newer edits").expect("write");

    let refused = restore(&repo, &snap, &file, &dest, None).expect_err("must refuse");
    assert_eq!(refused.kind, ErrorKind::Conflict);
    let report: ConflictReport = serde_json::from_str(&refused.message).expect("conflict report");
    assert_eq!(report.existing, 1);
    assert_eq!(std::fs::read(&mine).expect("read"), b"my newer edits", "untouched after a refusal");

    let skipped = restore(&repo, &snap, &file, &dest, Some(ConflictPolicy::Skip)).expect("skip");
    assert_eq!((skipped.files_skipped, skipped.files_restored), (1, 0));
    assert_eq!(std::fs::read(&mine).expect("read"), b"my newer edits");

    let both = restore(&repo, &snap, &file, &dest, Some(ConflictPolicy::KeepBoth)).expect("keep both");
    assert_eq!(both.files_renamed, 1);
    assert_eq!(std::fs::read(&mine).expect("read"), b"my newer edits");
    let copies: Vec<_> =
        std::fs::read_dir(&dest).expect("ls").filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    let restored = copies.iter().find(|n| n.starts_with("todo (restored ")).expect("a renamed copy");
    assert_eq!(std::fs::read(dest.join(restored)).expect("read"), b"buy milk\n");

    // Overwrite: the replaced file is first kept in a safety snapshot, and can be had back.
    let over = restore(&repo, &snap, &file, &dest, Some(ConflictPolicy::Overwrite)).expect("overwrite");
    assert_eq!(std::fs::read(&mine).expect("read"), b"buy milk\n");
    let safety = over.safety_snapshot.expect("a safety snapshot");
    let back = tmp.path().join("back");
    restore(&repo, &safety, &mine.display().to_string(), &back, None).expect("restore from safety");
    assert_eq!(std::fs::read(back.join("todo.txt")).expect("read"), b"my newer edits");
}

#[test]
fn retention_keeps_the_newest_and_the_repository_stays_clean_for_restic() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (src, repo) = (tmp.path().join("src"), tmp.path().join("repo"));
    make_tree(&src);
    init(&repo);
    let mut ids = Vec::new();
    for i in 0..4 {
        std::fs::write(src.join(format!("gen-{i}.txt")), vec![b'a' + i as u8; 50_000]).expect("write");
        ids.push(backup(&repo, &src, "plan:docs").snapshot_id);
    }
    // Another plan's snapshot in the same repository is not this policy's business.
    let other = backup(&repo, &src, "plan:other").snapshot_id;
    let _: serde_json::Value =
        ok(req(&repo, Op::Forget { host: "caretaker-test".into(), tag: "plan:docs".into(), keep: Keep { last: 2, ..Default::default() } }));
    let left: Vec<String> = ok::<Vec<SnapshotInfo>>(req(&repo, Op::Snapshots)).into_iter().map(|s| s.id).collect();
    assert_eq!(left.len(), 3, "{left:?}");
    assert!(left.contains(&ids[3]) && left.contains(&ids[2]) && left.contains(&other));
    // Pruned with instant delete: restic finds nothing to complain about, data read back included.
    let out = restic(&repo, &["check", "--read-data"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("no errors were found"));
}

#[test]
fn restic_reads_what_caretaker_writes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (src, repo) = (tmp.path().join("src"), tmp.path().join("repo"));
    make_tree(&src);
    init(&repo);
    let snap = backup(&repo, &src, "plan:docs");
    let listed = restic(&repo, &["snapshots", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("json");
    assert_eq!(v[0]["id"].as_str(), Some(snap.snapshot_id.as_str()));
    assert_eq!(v[0]["hostname"].as_str(), Some("caretaker-test"));
    let checked = restic(&repo, &["check", "--read-data"]);
    assert!(String::from_utf8_lossy(&checked.stdout).contains("no errors were found"));
    let out = tmp.path().join("by-restic");
    restic(&repo, &["restore", "latest", "--target", &out.display().to_string()]);
    assert_eq!(listing(&restored_copy(&out, &src)), without_tmp(listing(&src)));
}

#[test]
fn caretaker_restores_what_restic_writes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (src, repo) = (tmp.path().join("src"), tmp.path().join("repo"));
    make_tree(&src);
    restic(&repo, &["init"]);
    restic(&repo, &["backup", "--host", "made-by-restic", &src.display().to_string()]);
    let snaps: Vec<SnapshotInfo> = ok(req(&repo, Op::Snapshots));
    assert_eq!(snaps.len(), 1);
    assert_eq!(snaps[0].host, "made-by-restic");
    let out = tmp.path().join("by-caretaker");
    restore(&repo, &snaps[0].id, "", &out, None).expect("restore");
    // restic backs up everything it is given, the *.tmp file included.
    assert_eq!(listing(&restored_copy(&out, &src)), listing(&src));
    // And Caretaker can add to a repository restic made.
    backup(&repo, &src, "plan:docs");
    restic(&repo, &["check"]);
}

#[test]
fn caretaker_cuts_a_file_into_the_same_chunks_as_restic() {
    // Content-defined chunking: what restic stored is not stored again only if Caretaker's Rabin
    // hash (crates/rabin, with its cached tables) finds the same boundaries in the same file.
    let tmp = tempfile::tempdir().expect("tempdir");
    let (src, repo) = (tmp.path().join("src"), tmp.path().join("repo"));
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::write(src.join("big.bin"), repo_kit::incompressible(24 << 20, 0x9e37_79b9)).expect("write");
    restic(&repo, &["init"]);
    // Another host, so Caretaker does not take restic's snapshot as its parent and reads the file.
    restic(&repo, &["backup", "--host", "made-by-restic", &src.display().to_string()]);
    let s = backup(&repo, &src, "plan:docs");
    assert_eq!(s.files_new, 1, "{s:?}");
    assert_eq!(s.bytes_processed, 24 << 20, "{s:?}");
    assert!(s.bytes_added < 64 << 10, "Caretaker stored {} bytes of a file restic already holds", s.bytes_added);
}

#[test]
fn wrong_password_and_missing_repository_are_named() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path().join("repo");
    init(&repo);
    let mut r = req(&repo, Op::Snapshots);
    r.password = "not the password".into();
    let e = run(r).expect_err("wrong password");
    assert_eq!(e.kind, ErrorKind::WrongPassword, "{e:?}");
    assert!(e.message.contains("wrong password"), "{e:?}");

    let gone = tmp.path().join("unplugged-disk/repo");
    let e = run(req(&gone, Op::Snapshots)).expect_err("missing");
    assert_eq!(e.kind, ErrorKind::Unreachable, "{e:?}");
    assert!(e.message.starts_with("repository not reachable"), "{e:?}");
    let e = run(req(&gone, Op::Init)).expect_err("no parent");
    assert_eq!(e.kind, ErrorKind::Unreachable, "{e:?}");
}

#[test]
fn the_master_key_is_handed_over_once_and_spares_later_jobs_the_password() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path().join("repo");
    let keyed = |r: Request| {
        let mut key = None;
        let out = rt().block_on(caretaker_engine::backup::worker::call_keyed(
            Path::new(EXE),
            &r,
            |_| {},
            |k| key = Some(k),
            &CancellationToken::new(),
        ));
        (out, key)
    };
    let (out, created) = keyed(req(&repo, Op::Init));
    out.expect("init");
    let (out, key) = keyed(req(&repo, Op::Snapshots));
    out.expect("snapshots");
    let key = key.expect("the worker hands over the key it derived");
    assert_eq!(created.as_deref(), Some(key.as_str()), "creating the repository hands over the same key");
    // With the key, the password is not needed (a wrong one does no harm) and no key comes back.
    let mut r = req(&repo, Op::Snapshots);
    r.password = "not the password".into();
    r.key = Some(key.clone());
    let (out, again) = keyed(r);
    out.expect("opened with the key");
    assert!(again.is_none());
    // A key that no longer fits falls back to the password.
    let mut r = req(&repo, Op::Snapshots);
    r.key = Some(key.replace(|c: char| c.is_ascii_digit(), "0"));
    let (out, fresh) = keyed(r);
    out.expect("fell back to the password");
    assert_eq!(fresh.as_deref(), Some(key.as_str()));
}

#[test]
fn a_killed_backup_leaves_a_repository_that_works() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (src, repo) = (tmp.path().join("src"), tmp.path().join("repo"));
    std::fs::create_dir_all(&src).expect("mkdir");
    // Incompressible data, enough that the kill lands mid-way.
    for i in 0..24u64 {
        std::fs::write(src.join(format!("f{i}.bin")), repo_kit::incompressible(4 << 20, 0x9e37_79b9 + i)).expect("write");
    }
    init(&repo);
    let cancel = CancellationToken::new();
    let r = req(&repo, plain_backup(&src));
    let c = cancel.clone();
    let mut seen_bytes = 0;
    let out = rt().block_on(call(
        Path::new(EXE),
        &r,
        |p| {
            seen_bytes = p.bytes_done;
            if p.bytes_done > 8 * 1024 * 1024 {
                c.cancel();
            }
        },
        &cancel,
    ));
    assert_eq!(out.expect_err("cancelled").kind, ErrorKind::Cancelled);
    assert!(seen_bytes > 0, "progress was reported before the kill");
    // A cancelled worker removes its lock: one left behind makes restic refuse to prune.
    let locks: Vec<_> = std::fs::read_dir(repo.join("locks")).map(|d| d.flatten().map(|e| e.file_name()).collect()).unwrap_or_default();
    assert!(locks.is_empty(), "locks left after a cancel: {locks:?}");
    let snaps: Vec<SnapshotInfo> = ok(req(&repo, Op::Snapshots));
    assert!(snaps.is_empty(), "no half snapshot");
    let done = backup(&repo, &src, "plan:x");
    assert_eq!(done.files_new, 24);
    let check: VerifySummary = ok(req(&repo, Op::Check { read_subset: None }));
    assert!(check.errors.is_empty(), "{check:?}");
    restic(&repo, &["check"]);
}

#[test]
fn progress_reports_bytes_against_a_total() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (src, repo) = (tmp.path().join("src"), tmp.path().join("repo"));
    make_tree(&src);
    init(&repo);
    let r = req(&repo, plain_backup(&src));
    let (out, seen) = run_with(r, &CancellationToken::new());
    out.expect("backup");
    let last = seen.iter().rev().find(|p| p.bytes_total.is_some()).expect("a progress line with a total");
    assert!(last.bytes_total.unwrap_or(0) >= 3 * 1024 * 1024, "{last:?}");
    assert_eq!(Some(last.bytes_done), last.bytes_total, "{last:?}");
}
