//! What the remote repository tests share: worker requests, a tree to back up, a byte-for-byte
//! comparison, the restic CLI as the peer, and the round trip every kind of repository must pass.
#![allow(dead_code)]

use caretaker_engine::backup::protocol::{
    BackupJob, BackupSummary, BackupThenForget, ConnectionReport, Keep, Op, Remote, Request, RestoreJob, RestoreSummary, SnapshotInfo,
};
use caretaker_engine::backup::worker::{call, JobError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use tokio_util::sync::CancellationToken;

pub const PASSWORD: &str = "correct horse battery staple";
pub const EXE: &str = env!("CARGO_BIN_EXE_caretaker");

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

pub fn req(repo: &str, server_password: Option<&str>, op: Op) -> Request {
    Request {
        repository: PathBuf::from(repo),
        password: PASSWORD.into(),
        server_password: server_password.map(str::to_string),
        key: None,
        remote: Remote::default(),
        op,
    }
}

pub fn run(r: Request) -> Result<serde_json::Value, JobError> {
    rt().block_on(call(Path::new(EXE), &r, |_| {}, &CancellationToken::new()))
}

pub fn ok<T: serde::de::DeserializeOwned>(r: Request) -> T {
    let what = format!("{:?}", r.op);
    serde_json::from_value(run(r).unwrap_or_else(|e| panic!("{what} failed: {e:?}"))).expect("result shape")
}

/// `len` bytes that neither compress nor deduplicate (xorshift from `seed`, never 0).
pub fn incompressible(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

pub fn job(src: &Path) -> BackupJob {
    BackupJob {
        sources: vec![src.to_path_buf()],
        excludes: vec![],
        host: "remote-test".into(),
        tags: vec!["plan:remote".into()],
        label: "remote".into(),
        resume: false,
    }
}

pub fn make_tree(root: &Path) {
    let w = |rel: &str, data: &[u8]| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, data).expect("write");
    };
    w("notes/todo.txt", b"buy milk\n");
    w("empty.txt", b"");
    w("noise.bin", &(0..3_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect::<Vec<_>>());
    w("caf\u{e9} \u{1f600}.txt", "unicode".as_bytes());
}

pub fn listing(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(dir).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(p.strip_prefix(root).expect("prefix").to_path_buf(), std::fs::read(&p).expect("read"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// The restic CLI pointed at the same repository: its own address for it, and what else it
/// needs to reach it (credentials in its environment, `-o` options).
#[derive(Default, Clone)]
pub struct Restic {
    pub url: String,
    pub env: Vec<(String, String)>,
    pub options: Vec<String>,
}

impl Restic {
    pub fn at(url: &str) -> Restic {
        Restic { url: url.to_string(), ..Restic::default() }
    }

    pub fn run(&self, args: &[&str]) -> String {
        let cache = tempfile::tempdir().expect("tempdir");
        let mut cmd = Command::new("restic");
        cmd.arg("-r").arg(&self.url);
        for o in &self.options {
            cmd.args(["-o", o]);
        }
        let out = cmd
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("RESTIC_PASSWORD", PASSWORD)
            .env("RESTIC_CACHE_DIR", cache.path())
            .output()
            .expect("the restic CLI must be installed (Debian package restic)");
        let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "restic {args:?} failed: {text}");
        text
    }
}

/// Init, backup, incremental, restore byte for byte, retention as the app runs it, and restic's
/// own `check --read-data` against the same repository. `base` carries the server secret and
/// the remote options; its operation is replaced.
pub fn round_trip(base: &Request, restic: &Restic) {
    let repo = base.repository.to_string_lossy().into_owned();
    let with = |op: Op| Request { op, ..base.clone() };
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("src");
    make_tree(&src);
    let fresh: ConnectionReport = ok(with(Op::Probe));
    assert!(fresh.reachable && !fresh.initialised && fresh.password_ok.is_none(), "{fresh:?}");
    run(with(Op::Init)).expect("init");

    let first: BackupSummary = ok(with(Op::Backup(job(&src))));
    assert!(first.files_new >= 4 && first.bytes_added > 0, "{first:?}");
    std::fs::write(src.join("notes/todo.txt"), b"buy milk\nand bread\n").expect("write");
    std::fs::write(src.join("new.txt"), b"new").expect("write");
    let second: BackupSummary = ok(with(Op::Backup(job(&src))));
    assert_eq!((second.files_new, second.files_changed), (1, 1), "{second:?}");
    assert!(second.bytes_added < 100_000, "unchanged data was stored again: {second:?}");

    let out = tmp.path().join("restored");
    let r: RestoreSummary = ok(with(Op::Restore(RestoreJob {
        snapshot: second.snapshot_id.clone(),
        path: String::new(),
        destination: out.clone(),
        on_conflict: None,
        host: "remote-test".into(),
    })));
    assert!(r.files_restored >= 5, "{r:?}");
    assert_eq!(listing(&out.join(src.strip_prefix("/").expect("absolute"))), listing(&src), "restored byte for byte");

    // Retention as a plan runs it: a backup, then forget and prune in the same worker.
    let keep = Keep { last: 1, ..Keep::default() };
    let op = Op::BackupThenForget { job: job(&src), host: "remote-test".into(), tag: "plan:remote".into(), keep };
    let both: BackupThenForget = ok(with(op));
    // The server's listing gives the repository's size: at least the data the first backup
    // packed (still referenced by the snapshot that is kept), plus keys, index and snapshots.
    let size = both.repository_bytes.expect("a remote repository's size");
    assert!(size > first.bytes_added + 1000, "{size} bytes listed, {} packed by the first backup", first.bytes_added);
    let forget = both.forget.expect("retention");
    assert_eq!(forget["removed"].as_array().map(Vec::len), Some(2), "{forget}");
    let snaps: Vec<SnapshotInfo> = ok(with(Op::Snapshots));
    assert_eq!(snaps.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), [both.backup.snapshot_id.as_str()]);

    let check = restic.run(&["check", "--read-data"]);
    assert!(check.contains("no errors were found"), "{check}");
    let listed = restic.run(&["snapshots", "--json"]);
    assert!(listed.contains(&both.backup.snapshot_id), "{listed}");
    let known: ConnectionReport = ok(with(Op::Probe));
    assert_eq!((known.reachable, known.initialised, known.password_ok), (true, true, Some(true)), "{known:?}");
    assert!(known.message.contains(&repo), "{known:?}");
}
