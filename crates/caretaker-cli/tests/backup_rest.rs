//! REST repositories: Debian's `rclone serve restic` on loopback as the server, the real worker
//! (the `caretaker` binary) and the engine as clients, and the Debian `restic` CLI checking what
//! they wrote, data included.

mod repo_kit;

use caretaker_backup::locks::{MasterKey, Place, RepoLock};
use caretaker_engine::backup::config::PlanConfig;
use caretaker_engine::backup::protocol::{BackupSummary, ConnectionReport, ErrorKind, Keep, Op};
use caretaker_engine::backup::worker::{call, call_keyed};
use caretaker_engine::{Engine, EngineHandle, EngineOptions};
use repo_kit::{make_tree, ok, req, round_trip, rt, run, Restic, EXE, PASSWORD};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use tokio_util::sync::CancellationToken;

/// Characters that must be percent-encoded in a URL, to prove they reach the server intact.
const SERVER_PASSWORD: &str = "web p@ss:word/1";

/// `rclone serve restic` on a free loopback port, stopped when dropped.
struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(user: Option<(&str, &str)>) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
        let child = Self::spawn(dir.path(), port, user);
        // Dropped (and so stopped) however the wait below ends.
        let server = Server { child, port, _dir: dir };
        server.wait_ready();
        server
    }

    fn spawn(dir: &Path, port: u16, user: Option<(&str, &str)>) -> Child {
        let mut cmd = Command::new("rclone");
        cmd.args(["serve", "restic", "--addr", &format!("127.0.0.1:{port}")])
            .env("RCLONE_CONFIG", dir.join("rclone.conf"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if let Some((u, p)) = user {
            cmd.args(["--user", u, "--pass", p]);
        }
        cmd.arg(dir.join("store"))
            .spawn()
            .expect("the rclone CLI must be installed (Debian package rclone; scripts/setup-debian.sh installs it)")
    }

    /// Ready when it accepts connections (it starts in well under a second).
    fn wait_ready(&self) {
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("rclone serve restic did not start on port {}", self.port);
    }

    /// Killed (as a power cut or a crash would), then started again on the same port and store.
    fn kill_and_restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = Self::spawn(self._dir.path(), self.port, None);
        self.wait_ready();
    }

    fn store(&self) -> PathBuf {
        self._dir.path().join("store")
    }

    fn url(&self, user: Option<&str>, path: &str) -> String {
        let user = user.map(|u| format!("{u}@")).unwrap_or_default();
        format!("rest:http://{user}127.0.0.1:{}/{path}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_server_without_a_password_round_trips_and_restic_checks_it() {
    let server = Server::start(None);
    let repo = server.url(None, "mini");
    round_trip(&req(&repo, None, Op::Probe), &Restic::at(&repo));
}

#[test]
fn a_server_with_a_password_round_trips_and_wrong_credentials_are_named_without_secrets() {
    let server = Server::start(Some(("alice", SERVER_PASSWORD)));
    let repo = server.url(Some("alice"), "mini");
    let restic_url = format!("rest:http://alice:web%20p%40ss%3Aword%2F1@127.0.0.1:{}/mini", server.port);
    round_trip(&req(&repo, Some(SERVER_PASSWORD), Op::Probe), &Restic::at(&restic_url));

    let secrets = [SERVER_PASSWORD, "web%20p%40ss", "wrong server pass", "not the password"];
    let clean = |e: &str| secrets.iter().all(|s| !e.contains(s));
    // The server's password is wrong (or missing): named, a server problem, no secret in it.
    for bad in [Some("wrong server pass"), None] {
        let e = run(req(&repo, bad, Op::Snapshots)).expect_err("refused");
        assert_eq!(e.kind, ErrorKind::Unreachable, "{e:?}");
        assert!(e.message.contains(&repo) && e.message.contains("refused the user name or password"), "{e:?}");
        assert!(clean(&e.message), "{e:?}");
        let probe: ConnectionReport = ok(req(&repo, bad, Op::Probe));
        assert!(!probe.reachable && probe.message.contains(&repo) && clean(&probe.message), "{probe:?}");
    }
    // The repository's password is wrong: named too, and nothing secret in it.
    let mut wrong = req(&repo, Some(SERVER_PASSWORD), Op::Snapshots);
    wrong.password = "not the password".into();
    let e = run(wrong.clone()).expect_err("wrong password");
    assert_eq!(e.kind, ErrorKind::WrongPassword, "{e:?}");
    assert!(e.message.contains(&repo) && clean(&e.message), "{e:?}");
    wrong.op = Op::Probe;
    let probe: ConnectionReport = ok(wrong);
    assert_eq!((probe.reachable, probe.initialised, probe.password_ok), (true, true, Some(false)), "{probe:?}");
}

#[test]
fn a_server_killed_mid_upload_leaves_a_repository_the_next_run_completes_and_restic_checks_clean() {
    let mut server = Server::start(None);
    let repo = server.url(None, "cut");
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).expect("mkdir");
    // 24 files of 1 MiB that do not compress or deduplicate: several packs, sent at 4 MiB/s.
    for i in 0..24u32 {
        let data: Vec<u8> = (0..1_048_576u32).map(|j| (j.wrapping_mul(2_654_435_761).wrapping_add(i * 7919) >> 11) as u8).collect();
        std::fs::write(src.join(format!("part{i:02}.bin")), data).expect("write");
    }
    run(req(&repo, None, Op::Init)).expect("init");
    let mut limited = req(&repo, None, Op::Backup(repo_kit::job(&src)));
    limited.remote.upload_limit = Some(4 * 1024 * 1024);
    let first = std::thread::spawn(move || run(limited));
    // Once a pack has landed on the server, the server goes away mid-upload, and comes back.
    let data = server.store().join("cut/data");
    let landed = || walk_files(&data) > 0;
    for _ in 0..600 {
        if landed() || first.is_finished() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(landed(), "a pack should land before the backup ends");
    server.kill_and_restart();
    // Whatever the cut run says (rustic retries, so it may even finish), the repository stays
    // valid and the next run completes.
    let _ = first.join().expect("the cut run returns");
    let again: caretaker_engine::backup::protocol::BackupSummary = ok(req(&repo, None, Op::Backup(repo_kit::job(&src))));
    assert!(!again.snapshot_id.is_empty(), "{again:?}");
    let check = Restic::at(&repo).run(&["check", "--read-data"]);
    assert!(check.contains("no errors were found"), "{check}");
}

#[test]
fn a_backup_cut_after_a_pack_landed_resumes_without_sending_that_pack_again() {
    let server = Server::start(None);
    let repo = server.url(None, "resume");
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).expect("mkdir");
    // 96 MiB that neither compresses nor deduplicates (xorshift): three data packs of about 32 MiB.
    for i in 0..96u64 {
        std::fs::write(src.join(format!("part{i:02}.bin")), repo_kit::incompressible(1 << 20, 0x2545_f491 + i)).expect("write");
    }
    run(req(&repo, None, Op::Init)).expect("init");
    let mut limited = req(&repo, None, Op::Backup(repo_kit::job(&src)));
    limited.remote.upload_limit = Some(16 * 1024 * 1024);
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    let first = std::thread::spawn(move || rt().block_on(call(Path::new(EXE), &limited, |_| {}, &stop)));
    // Data packs go out one after another: once a second file shows in data/, the first is whole.
    let data = server.store().join("resume/data");
    for _ in 0..1500 {
        if walk_files(&data) >= 2 || first.is_finished() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    cancel.cancel();
    assert!(first.join().expect("the cut run returns").is_err(), "the backup should be cut before its end");

    // The engine asks for this after a run that did not finish.
    let mut job = repo_kit::job(&src);
    job.resume = true;
    let again: BackupSummary = ok(req(&repo, None, Op::Backup(job)));
    let total = 96u64 << 20;
    assert!(
        again.bytes_added < total - (24 << 20),
        "the resumed run sent {} of {total} bytes again, the pack that landed included",
        again.bytes_added
    );
    let check = Restic::at(&repo).run(&["check", "--read-data"]);
    assert!(check.contains("no errors were found"), "{check}");
    let restored = tmp.path().join("restored");
    Restic::at(&repo).run(&["restore", "latest", "--target", &restored.display().to_string()]);
    let copy = restored.join(src.strip_prefix("/").expect("absolute"));
    assert_eq!(repo_kit::listing(&copy), repo_kit::listing(&src), "every file restored as it was");
}

/// A loopback TCP port bound by a socket that never listens (kept while the fd is).
fn unlistened_port() -> (std::os::fd::OwnedFd, u16) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket calls on a socket this function owns; `addr` and `len` are valid for
    // each call, and the fd is handed to OwnedFd, which closes it.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0, "socket");
        let owned = std::os::fd::OwnedFd::from_raw_fd(fd);
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
        let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(libc::bind(fd, std::ptr::addr_of!(addr).cast(), len), 0, "bind");
        assert_eq!(libc::getsockname(fd, std::ptr::addr_of_mut!(addr).cast(), &mut len), 0, "getsockname");
        (owned, u16::from_be(addr.sin_port))
    }
}

fn walk_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.flatten().map(|e| if e.path().is_dir() { walk_files(&e.path()) } else { 1 }).sum()).unwrap_or(0)
}

#[test]
fn locks_on_the_server_keep_a_prune_from_running_under_a_backup() {
    let server = Server::start(Some(("alice", SERVER_PASSWORD)));
    let repo = server.url(Some("alice"), "locked");
    run(req(&repo, Some(SERVER_PASSWORD), Op::Init)).expect("init");
    let mut key = None;
    rt().block_on(call_keyed(
        Path::new(EXE),
        &req(&repo, Some(SERVER_PASSWORD), Op::Snapshots),
        |_| {},
        |k| key = Some(k),
        &CancellationToken::new(),
    ))
    .expect("open");
    let key: MasterKey = serde_json::from_str(&key.expect("the worker hands over the key")).expect("key");
    let address = format!("rest:http://alice:web%20p%40ss%3Aword%2F1@127.0.0.1:{}/locked", server.port);
    let held = RepoLock::acquire(Place::rest(&address).expect("place"), &key, false, "backing up").expect("lock");
    let keep = Keep { last: 1, ..Keep::default() };
    let forget = || run(req(&repo, Some(SERVER_PASSWORD), Op::Forget { host: "h".into(), tag: "t".into(), keep: keep.clone() }));
    let e = forget().expect_err("a prune must wait for the writer");
    assert_eq!(e.kind, ErrorKind::Locked, "{e:?}");
    drop(held);
    forget().expect("the lock is gone, the prune runs");
    let locks = Restic::at(&address).run(&["list", "locks"]);
    assert!(locks.lines().all(|l| l.trim().is_empty()), "every lock removed: {locks}");
}

#[test]
fn https_is_spoken_with_the_installed_tls_provider_and_a_dead_server_is_named() {
    // A plain http server where https is expected: the TLS handshake fails, cleanly.
    let server = Server::start(None);
    let repo = format!("rest:https://127.0.0.1:{}/tls", server.port);
    let probe: ConnectionReport = ok(req(&repo, None, Op::Probe));
    assert!(!probe.reachable && probe.message.contains(&repo), "{probe:?}");
    assert!(!probe.message.contains("crashed"), "{probe:?}");
    drop(server);
    // A port held by a socket that does not listen: refused, and no other test's server can be
    // given it meanwhile (a port freed by a stopped server could be, by the next bind).
    let (_held, port) = unlistened_port();
    let gone = format!("rest:http://127.0.0.1:{port}/gone");
    let e = run(req(&gone, None, Op::Snapshots)).expect_err("nobody listens");
    assert_eq!(e.kind, ErrorKind::Unreachable, "{e:?}");
    assert!(e.message.contains("no answer from the server") && e.message.contains(&gone), "{e:?}");
}

struct Quiet;
impl caretaker_engine::alerts::notify::Sink for Quiet {
    fn show(&self, _title: &str, _body: &str, _critical: bool) -> Result<(), String> {
        Ok(())
    }
}

async fn engine(dir: &Path) -> EngineHandle {
    std::env::set_var(caretaker_engine::backup::secret::KEYCHAIN_ENV, "off");
    std::fs::write(dir.join("caretaker.toml"), "[metrics]\ninterval_secs = 60\n[checks]\nlist = []\n").expect("config");
    let mut o = EngineOptions::new(dir);
    o.notifier = std::sync::Arc::new(Quiet);
    o.backup_worker = PathBuf::from(EXE);
    Engine::start(o).await.expect("engine")
}

#[test]
fn the_engine_tests_the_connection_then_keeps_the_server_password_out_of_the_config() {
    let server = Server::start(Some(("alice", SERVER_PASSWORD)));
    let repo = server.url(Some("alice"), "engine");
    let tmp = tempfile::tempdir().expect("tempdir");
    let (data, src) = (tmp.path().join("data"), tmp.path().join("src"));
    std::fs::create_dir_all(&data).expect("mkdir");
    make_tree(&src);
    rt().block_on(async {
        let engine = engine(&data).await;
        let t = engine.test_backup_repository(&repo, PASSWORD.into(), Some(SERVER_PASSWORD.into())).await.expect("test");
        assert!(t.reachable && !t.initialised, "{t:?}");
        let t = engine.test_backup_repository(&repo, PASSWORD.into(), Some("nope nope".into())).await.expect("test");
        assert!(!t.reachable && t.message.contains("refused") && !t.message.contains("nope nope"), "{t:?}");
        let bad = engine.test_backup_repository("rest:http://alice:pw@127.0.0.1:1/x", PASSWORD.into(), None).await.expect_err("refused");
        assert!(bad.to_string().contains("keychain") && !bad.to_string().contains(":pw@"), "{bad}");

        let plan = PlanConfig {
            name: "Remote".into(),
            sources: vec![src.display().to_string()],
            excludes: vec![],
            default_excludes: true,
            exclude_build_folders: false,
            repository: repo.clone(),
            schedule: "manual".into(),
            keep: caretaker_engine::backup::config::default_keep(),
            host: "test-mini".into(),
            include_caretaker_data: false,
            upload_limit_kib: 0,
            pause_on_battery: true,
            pause_on_metered: true,
        };
        let wrong = engine.create_backup_plan(plan.clone(), PASSWORD.into(), Some("nope nope".into())).await.expect_err("refused");
        assert!(wrong.to_string().contains(&repo) && !wrong.to_string().contains("nope nope"), "{wrong}");
        let created = engine.create_backup_plan(plan, PASSWORD.into(), Some(SERVER_PASSWORD.into())).await.expect("create");
        assert!(!created.existing_repository);
        let toml = std::fs::read_to_string(data.join("caretaker.toml")).expect("config");
        assert!(toml.contains(&repo) && !toml.contains(SERVER_PASSWORD) && !toml.contains("web%20"), "{toml}");
        // The stored server password is used for the plan's jobs.
        let snaps = engine.backup_snapshots("Remote").await.expect("snapshots with the stored server password");
        assert!(snaps.is_empty());
        engine.set_backup_server_password("Remote", "nope nope".into()).await.expect_err("the server refuses it, so it is not kept");
        assert!(engine.backup_snapshots("Remote").await.is_ok(), "the good password was kept");
    });
}
