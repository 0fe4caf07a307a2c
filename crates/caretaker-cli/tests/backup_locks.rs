//! Sharing a repository safely: restic-compatible locks against the real restic CLI, a prune
//! while restic writes, tags that stay whole, and a worker that stops when its engine is gone.

use caretaker_backup::locks::{MasterKey, RepoLock};
use caretaker_engine::backup::protocol::{BackupJob, BackupSummary, ErrorKind, Keep, Op, Request, SnapshotInfo, WORKER_ARG};
use caretaker_engine::backup::worker::{call, call_keyed, JobError};
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const PASSWORD: &str = "correct horse battery staple";
const EXE: &str = env!("CARGO_BIN_EXE_caretaker");

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

fn req(repo: &Path, op: Op) -> Request {
    Request { repository: repo.to_path_buf(), password: PASSWORD.into(), server_password: None, key: None, remote: Default::default(), op }
}

fn run(r: Request) -> Result<serde_json::Value, JobError> {
    rt().block_on(call(Path::new(EXE), &r, |_| {}, &CancellationToken::new()))
}

/// Creates the repository and returns its master key, as the worker hands it over.
fn init(repo: &Path) -> MasterKey {
    let mut key = None;
    rt().block_on(call_keyed(Path::new(EXE), &req(repo, Op::Init), |_| {}, |k| key = Some(k), &CancellationToken::new())).expect("init");
    serde_json::from_str(&key.expect("a key")).expect("key shape")
}

fn backup_job(src: &Path, tag: &str) -> BackupJob {
    BackupJob {
        sources: vec![src.to_path_buf()],
        excludes: vec![],
        host: "test-host".into(),
        tags: vec![tag.into()],
        label: "plan".into(),
        resume: false,
    }
}

fn backup(repo: &Path, src: &Path, tag: &str) -> BackupSummary {
    serde_json::from_value(run(req(repo, Op::Backup(backup_job(src, tag)))).expect("backup")).expect("summary")
}

fn forget(repo: &Path, tag: &str) -> Result<serde_json::Value, JobError> {
    run(req(repo, Op::Forget { host: "test-host".into(), tag: tag.into(), keep: Keep { last: 1, ..Keep::default() } }))
}

fn restic(repo: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("restic");
    c.arg("-r").arg(repo).args(args).env("RESTIC_PASSWORD", PASSWORD).env("RESTIC_CACHE_DIR", repo.with_extension("cache"));
    c
}

fn restic_ok(repo: &Path, args: &[&str]) -> String {
    let out = restic(repo, args).output().expect("the restic CLI must be installed");
    assert!(
        out.status.success(),
        "restic {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Incompressible files, so restic has real packs to write.
fn random_tree(root: &Path, files: usize, mib: usize) {
    std::fs::create_dir_all(root).expect("mkdir");
    let mut x: u64 = 0x2545_f491_4f6c_dd1d ^ files as u64;
    for i in 0..files {
        let data: Vec<u8> = (0..mib * 1024 * 1024)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        std::fs::write(root.join(format!("part-{i:03}.bin")), data).expect("write");
    }
}

fn files_in(dir: &Path) -> usize {
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                n += 1;
            }
        }
    }
    n
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A restic backup is writing packs no index names yet; a prune now would delete them. The
/// prune waits instead, and what restic wrote checks clean and restores.
#[test]
fn a_prune_waits_for_a_restic_backup_writing_to_the_same_repository() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (mine, theirs, repo) = (tmp.path().join("mine"), tmp.path().join("theirs"), tmp.path().join("repo"));
    random_tree(&mine, 1, 1);
    init(&repo);
    backup(&repo, &mine, "caretaker-plan:Mine");
    std::fs::write(mine.join("more.txt"), b"changed").expect("write");
    backup(&repo, &mine, "caretaker-plan:Mine");
    random_tree(&theirs, 24, 2);
    let packs_before = files_in(&repo.join("data"));

    // Throttled, so restic is still writing (and has packs on disk) when the prune comes.
    let mut writer = restic(&repo, &["backup", "--limit-upload", "4096", "--host", "elsewhere", "--json"])
        .arg(&theirs)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("restic");
    wait_for("restic's lock and first packs", 60, || files_in(&repo.join("locks")) > 0 && files_in(&repo.join("data")) > packs_before);
    let refused = forget(&repo, "caretaker-plan:Mine").expect_err("a prune while restic writes must wait");
    assert!(writer.try_wait().expect("restic").is_none(), "restic was still running when the prune came");
    assert_eq!(refused.kind, ErrorKind::Locked, "{refused:?}");
    assert!(refused.message.contains("another program is writing to it") && refused.message.contains("pruning later"), "{refused:?}");

    let status = writer.wait().expect("restic");
    let mut err = String::new();
    if let Some(mut e) = writer.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut err).expect("stderr");
    }
    assert!(status.success(), "restic backup: {err}");
    restic_ok(&repo, &["check", "--read-data"]);
    // Once restic is done, the prune runs; restic's snapshot is whole before and after it.
    forget(&repo, "caretaker-plan:Mine").expect("prune after restic finished");
    restic_ok(&repo, &["check", "--read-data"]);
    let dest = tmp.path().join("restored");
    restic_ok(&repo, &["restore", "latest", "--host", "elsewhere", "--target", dest.to_str().expect("utf-8")]);
    let copy = dest.join(theirs.strip_prefix("/").expect("absolute"));
    for i in [0, 11, 23] {
        let name = format!("part-{i:03}.bin");
        assert!(std::fs::read(copy.join(&name)).expect("restored") == std::fs::read(theirs.join(&name)).expect("source"), "{name}");
    }
}

/// The lock file is restic's own format: restic lists and decrypts it, and honours it.
#[test]
fn restic_reads_and_honours_caretakers_locks() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (src, repo) = (tmp.path().join("src"), tmp.path().join("repo"));
    random_tree(&src, 1, 1);
    let key = init(&repo);
    backup(&repo, &src, "caretaker-plan:A");

    let shared = RepoLock::acquire(&repo, &key, false, "backing up").expect("lock");
    let ids = restic_ok(&repo, &["list", "locks", "--no-lock"]);
    let ids: Vec<&str> = ids.lines().collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let lock: serde_json::Value = serde_json::from_str(&restic_ok(&repo, &["cat", "lock", ids[0], "--no-lock"])).expect("json");
    assert_eq!(lock["exclusive"], false, "{lock}");
    assert_eq!(lock["pid"], std::process::id(), "{lock}");
    let prune = restic(&repo, &["prune"]).output().expect("restic");
    assert!(!prune.status.success(), "restic must not prune while Caretaker writes");
    assert!(String::from_utf8_lossy(&prune.stderr).contains("locked"), "{}", String::from_utf8_lossy(&prune.stderr));
    drop(shared);
    assert_eq!(files_in(&repo.join("locks")), 0, "the lock goes with its holder");

    let exclusive = RepoLock::acquire(&repo, &key, true, "pruning").expect("lock");
    let out = restic(&repo, &["backup", "--host", "elsewhere"]).arg(&src).output().expect("restic");
    assert!(!out.status.success(), "restic must not back up while Caretaker prunes");
    drop(exclusive);
    restic_ok(&repo, &["backup", "--host", "elsewhere", src.to_str().expect("utf-8")]);
}

/// A tag is written whole, comma and all, and retention finds its snapshots by it.
#[test]
fn a_tag_with_a_comma_stays_one_tag() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (src, repo) = (tmp.path().join("src"), tmp.path().join("repo"));
    random_tree(&src, 1, 1);
    init(&repo);
    backup(&repo, &src, "caretaker-plan:A,b");
    backup(&repo, &src, "caretaker-plan:A");
    let snaps: Vec<SnapshotInfo> = serde_json::from_value(run(req(&repo, Op::Snapshots)).expect("snapshots")).expect("list");
    let mut tags: Vec<Vec<String>> = snaps.iter().map(|s| s.tags.clone()).collect();
    tags.sort();
    assert_eq!(tags, [vec!["caretaker-plan:A".to_string()], vec!["caretaker-plan:A,b".to_string()]]);
    let json: serde_json::Value = serde_json::from_str(&restic_ok(&repo, &["snapshots", "--json", "--no-lock"])).expect("json");
    assert!(json.as_array().is_some_and(|a| a.iter().any(|s| s["tags"] == serde_json::json!(["caretaker-plan:A,b"]))), "{json}");
    // Plan "A" keeping one snapshot leaves plan "A,b"'s alone.
    forget(&repo, "caretaker-plan:A").expect("forget");
    let snaps: Vec<SnapshotInfo> = serde_json::from_value(run(req(&repo, Op::Snapshots)).expect("snapshots")).expect("list");
    assert_eq!(snaps.len(), 2, "{snaps:?}");
}

/// A worker whose engine is gone (its stdin closed, as after `kill -9`) stops mid-job, takes
/// its lock with it, and leaves no snapshot; the repository stays good.
#[test]
fn a_worker_stops_when_its_engine_goes_away() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (src, repo) = (tmp.path().join("src"), tmp.path().join("repo"));
    random_tree(&src, 24, 4);
    init(&repo);
    let line = serde_json::to_string(&req(&repo, Op::Backup(backup_job(&src, "caretaker-plan:A")))).expect("json");
    let mut child = Command::new(EXE).arg(WORKER_ARG).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("worker");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{line}").expect("request");
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    loop {
        first.clear();
        assert!(out.read_line(&mut first).expect("read") > 0, "the worker ended before any progress");
        if first.contains("\"bytes_done\"") && !first.contains("\"bytes_done\":0,") {
            break;
        }
    }
    assert!(files_in(&repo.join("locks")) > 0, "a running backup holds a lock");
    drop(stdin);
    let rest: Vec<String> = out.lines().map_while(Result::ok).collect();
    let status = child.wait().expect("wait");
    assert!(!rest.iter().any(|l| l.contains("\"done\"")), "the worker went on to finish: {rest:?}");
    assert_eq!(status.code(), Some(3), "{status:?}");
    assert_eq!(files_in(&repo.join("locks")), 0, "its lock is removed");
    let snaps: Vec<SnapshotInfo> = serde_json::from_value(run(req(&repo, Op::Snapshots)).expect("snapshots")).expect("list");
    assert!(snaps.is_empty(), "{snaps:?}");
    restic_ok(&repo, &["check"]);
}
