//! Offsite repositories through rustic's openDAL backend, against real servers on loopback: an
//! S3-compatible server (moto, from PyPI) and OpenSSH's sshd with a key-only user. The real worker
//! (the `caretaker` binary) writes, the restic CLI reads and checks what it wrote.

mod repo_kit;

use caretaker_backup::locks::{Dal, MasterKey, Place, RepoLock};
use caretaker_engine::backup::location::Location;
use caretaker_engine::backup::protocol::{ConnectionReport, ErrorKind, Keep, Op, Remote};
use caretaker_engine::backup::ssh_login;
use caretaker_engine::backup::worker::call_keyed;
use repo_kit::{ok, req, round_trip, rt, run, Restic, EXE};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const KEY_ID: &str = "caretakertest";
const SECRET: &str = "s3 secret/with+odd=chars";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port")
}

fn wait_for(port: u16, what: &str, child: &mut Child) {
    for _ in 0..400 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited at start ({status})");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not start on port {port}");
}

/// A process stopped when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// moto's S3 server on a free loopback port, with one bucket.
fn s3_server(bucket: &str) -> (Running, u16) {
    let port = free_port();
    let log = std::env::temp_dir().join(format!("caretaker-test-moto-{port}.log"));
    let mut child = Command::new("python3")
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("moto's log file"))
        .spawn()
        .expect("python3 with moto[server] must be installed (cargo xtask test installs it from PyPI)");
    // A bucket is made at the provider, before Caretaker is pointed at it; the request also waits
    // for moto to listen. One full run got an empty answer once moto listened (moto had just been
    // installed; cause not found), so it is made again until moto answers, and moto's own log is
    // shown if it never does.
    let mut answer = String::new();
    for _ in 0..80 {
        answer.clear();
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let put = format!("PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            if s.write_all(put.as_bytes()).is_ok() {
                let _ = s.read_to_string(&mut answer);
            }
        }
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("moto exited ({status}): {}", std::fs::read_to_string(&log).unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "bucket not made: {answer:?}; moto said: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let _ = std::fs::remove_file(&log);
    (Running(child), port)
}

#[test]
fn an_s3_bucket_round_trips_restic_checks_it_and_locks_hold_there() {
    let (_server, port) = s3_server("house");
    let repo = format!("s3:http://{KEY_ID}@127.0.0.1:{port}/house/mini");
    let restic = Restic {
        url: format!("s3:http://127.0.0.1:{port}/house/mini"),
        env: vec![("AWS_ACCESS_KEY_ID".into(), KEY_ID.into()), ("AWS_SECRET_ACCESS_KEY".into(), SECRET.into())],
        options: vec![],
    };
    round_trip(&req(&repo, Some(SECRET), Op::Probe), &restic);

    // Lock files go to the bucket too: a prune waits for a backup that holds one.
    let mut key = None;
    rt().block_on(call_keyed(
        Path::new(EXE),
        &req(&repo, Some(SECRET), Op::Snapshots),
        |_| {},
        |k| key = Some(k),
        &CancellationToken::new(),
    ))
    .expect("open");
    let key: MasterKey = serde_json::from_str(&key.expect("the worker hands over the key")).expect("key");
    let options: BTreeMap<String, String> = [
        ("endpoint", format!("http://127.0.0.1:{port}")),
        ("bucket", "house".into()),
        ("root", "/mini".into()),
        ("region", "us-east-1".into()),
        ("access_key_id", KEY_ID.into()),
        ("secret_access_key", SECRET.into()),
        ("disable_config_load", "true".into()),
        ("disable_ec2_metadata", "true".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let held = RepoLock::acquire(Place::Dal(Dal::new("s3", &options).expect("place")), &key, false, "backing up").expect("lock");
    let keep = Keep { last: 1, ..Keep::default() };
    let forget = || run(req(&repo, Some(SECRET), Op::Forget { host: "h".into(), tag: "t".into(), keep: keep.clone() }));
    let e = forget().expect_err("a prune must wait for the writer");
    assert_eq!(e.kind, ErrorKind::Locked, "{e:?}");
    let seen = restic.run(&["list", "locks"]);
    assert_eq!(seen.lines().filter(|l| l.trim().len() == 64).count(), 1, "restic sees the lock: {seen}");
    drop(held);
    forget().expect("the lock is gone, the prune runs");
    let after = restic.run(&["list", "locks"]);
    assert_eq!(after.lines().filter(|l| l.trim().len() == 64).count(), 0, "every lock removed: {after}");

    // A bucket that does not exist is named, with no secret in the message.
    let missing = format!("s3:http://{KEY_ID}@127.0.0.1:{port}/nobucket/mini");
    let probe: ConnectionReport = ok(req(&missing, Some(SECRET), Op::Probe));
    assert!(!probe.reachable && probe.message.contains(&missing), "{probe:?}");
    assert!(!probe.message.contains(SECRET) && !probe.message.contains("odd=chars"), "{probe:?}");
}

/// moto with signatures checked (after the few unsigned requests that set it up): a bucket, and
/// a user allowed into S3 with a key made by moto's IAM. Returns the key ID and its secret.
fn s3_server_with_auth(bucket: &str) -> (Running, u16, String, String) {
    let port = free_port();
    let mut child = Command::new("python3")
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
        .env("INITIAL_NO_AUTH_ACTION_COUNT", "4")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 with moto[server] must be installed (cargo xtask test installs it from PyPI)");
    wait_for(port, "moto", &mut child);
    let setup = r#"
import boto3, json, sys
kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup")
boto3.client("s3", **kw).create_bucket(Bucket=sys.argv[2])
iam = boto3.client("iam", **kw)
iam.create_user(UserName="mini")
policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
iam.put_user_policy(UserName="mini", PolicyName="s3", PolicyDocument=json.dumps(policy))
key = iam.create_access_key(UserName="mini")["AccessKey"]
print(key["AccessKeyId"], key["SecretAccessKey"])
"#;
    let out = Command::new("python3")
        .args(["-c", setup, &format!("http://127.0.0.1:{port}"), bucket])
        .output()
        .expect("python3 with boto3 (moto[server] brings it)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "moto setup failed: {}", String::from_utf8_lossy(&out.stderr));
    let mut parts = text.split_whitespace().map(str::to_string);
    let (id, secret) = (parts.next().expect("key id"), parts.next().expect("secret"));
    (Running(child), port, id, secret)
}

#[test]
fn wrong_s3_credentials_are_named_without_the_secret() {
    let (_server, port, key_id, secret) = s3_server_with_auth("house");
    let repo = format!("s3:http://{key_id}@127.0.0.1:{port}/house/mini");
    // The server takes the right key: restic makes the repository with it. (moto's signature
    // check disagrees with openDAL's on a listing whose prefix holds a '/', so the successful
    // round trip is the unsigned server's test above; real S3 services accept both.)
    let restic = Restic {
        url: format!("s3:http://127.0.0.1:{port}/house/mini"),
        env: vec![("AWS_ACCESS_KEY_ID".into(), key_id.clone()), ("AWS_SECRET_ACCESS_KEY".into(), secret.clone())],
        options: vec![],
    };
    restic.run(&["init"]);

    let wrong_secret = "not/the+secret=at-all";
    let unknown = format!("s3:http://AKIAUNKNOWNKEY0000000@127.0.0.1:{port}/house/mini");
    for (url, given) in [(&repo, wrong_secret), (&unknown, secret.as_str())] {
        let clean = |m: &str| !m.contains(wrong_secret) && !m.contains(&secret) && !m.contains("the+secret");
        let e = run(req(url, Some(given), Op::Snapshots)).expect_err("refused");
        assert_eq!(e.kind, ErrorKind::Unreachable, "{e:?}");
        assert!(e.message.contains(url.as_str()), "the repository is named: {e:?}");
        assert!(e.message.contains("key ID") && e.message.contains("secret"), "says what was refused: {e:?}");
        assert!(clean(&e.message), "{e:?}");
        let probe: ConnectionReport = ok(req(url, Some(given), Op::Probe));
        assert!(!probe.reachable && probe.message.contains(url.as_str()), "{probe:?}");
        assert!(probe.message.contains("key ID") && clean(&probe.message), "{probe:?}");
    }
}

/// sshd on a free loopback port: a generated host key, key-only login for this user, the SFTP
/// subsystem. Its known_hosts line (written by ssh on first contact) is removed when dropped.
struct Sshd {
    _child: Running,
    port: u16,
    user: String,
    dir: tempfile::TempDir,
}

impl Sshd {
    fn start(authorized: &str) -> Sshd {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("authorized_keys"), format!("{authorized}\n")).expect("authorized_keys");
        let user = String::from_utf8(Command::new("id").arg("-un").output().expect("id").stdout).expect("utf-8").trim().to_string();
        let login = format!(
            "AuthorizedKeysFile {}\nPasswordAuthentication no\nPermitRootLogin prohibit-password\nAllowUsers {user}\n",
            dir.path().join("authorized_keys").display()
        );
        Self::spawn(dir, user, &login)
    }

    /// Password logins for `account` only; its keys in its own ~/.ssh/authorized_keys.
    fn with_password_for(account: &str) -> Sshd {
        let dir = tempfile::tempdir().expect("tempdir");
        let login =
            format!("AuthorizedKeysFile .ssh/authorized_keys\nPasswordAuthentication yes\nPermitRootLogin no\nAllowUsers {account}\n");
        Self::spawn(dir, account.to_string(), &login)
    }

    fn spawn(dir: tempfile::TempDir, user: String, login: &str) -> Sshd {
        let d = dir.path();
        let keygen = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(d.join("host_key"))
            .status()
            .expect("ssh-keygen (Debian package openssh-client)");
        assert!(keygen.success());
        let port = free_port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nPidFile {pid}\nPubkeyAuthentication yes\n{login}\
             KbdInteractiveAuthentication no\nStrictModes no\nUsePAM no\nSubsystem sftp internal-sftp\n",
            hk = d.join("host_key").display(),
            pid = d.join("sshd.pid").display(),
        );
        std::fs::write(d.join("sshd_config"), config).expect("config");
        // Privilege separation needs its empty folder when sshd runs as root.
        let _ = std::fs::create_dir_all("/run/sshd");
        let mut child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sshd (Debian package openssh-server)");
        wait_for(port, "sshd", &mut child);
        let sshd = Sshd { _child: Running(child), port, user, dir };
        sshd.forget_host();
        sshd
    }

    fn forget_host(&self) {
        let _ = Command::new("ssh-keygen").args(["-R", &format!("[127.0.0.1]:{}", self.port)]).output();
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.forget_host();
    }
}

#[test]
fn an_sftp_server_round_trips_with_caretakers_own_key_and_restic_checks_it() {
    let data = tempfile::tempdir().expect("tempdir");
    let public = rt().block_on(caretaker_engine::backup::ssh_key::public_key(data.path(), "test-mini")).expect("Caretaker's key");
    let key = caretaker_engine::backup::ssh_key::existing(data.path()).expect("private key file");
    let server = Sshd::start(&public);
    let folder = server.dir.path().join("store/mini");
    let repo = format!("sftp://{}@127.0.0.1:{}{}", server.user, server.port, folder.display());
    let with_key = |op: Op| {
        let mut r = req(&repo, None, op);
        r.remote = Remote { ssh_key: Some(key.clone()), upload_limit: None };
        r
    };

    // Without the key the server refuses the login, and the message says what to do.
    let refused: ConnectionReport = ok(req(&repo, None, Op::Probe));
    assert!(!refused.reachable && refused.message.contains("authorized_keys") && refused.message.contains(&repo), "{refused:?}");

    let ssh = format!(
        "ssh -i {} -p {} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null {}@127.0.0.1 -s sftp",
        key.display(),
        server.port,
        server.user
    );
    let restic = Restic {
        url: format!("sftp:{}@127.0.0.1:{}", server.user, folder.display()),
        env: vec![],
        options: vec![format!("sftp.command={ssh}")],
    };
    round_trip(&with_key(Op::Probe), &restic);
    assert!(folder.join("config").is_file() && folder.join("data").is_dir(), "the repository is in the folder the address names");
    // No ssh connection master outlives the worker that started it.
    // (A master asked to exit may take a moment to be gone; one that never is, fails.)
    let left = || Command::new("pgrep").args(["-f", &key.display().to_string()]).output().expect("pgrep").stdout;
    let mut still = left();
    for _ in 0..100 {
        if still.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        still = left();
    }
    assert!(still.is_empty(), "ssh processes left behind: {}", String::from_utf8_lossy(&still));
    // ssh may hash the names in known_hosts (Debian does): ask ssh-keygen to find it.
    let found = Command::new("ssh-keygen").args(["-F", &format!("[127.0.0.1]:{}", server.port)]).output().expect("ssh-keygen");
    assert!(found.status.success() && !found.stdout.is_empty(), "the server's key was remembered on first contact");
}

/// A throwaway local account with a password, for sshd's password login; removed when dropped.
struct Account {
    name: String,
    home: tempfile::TempDir,
}

impl Account {
    /// None (said loudly) for a developer who is not root; on CI, not being root fails.
    fn make(password: &str) -> Option<Account> {
        // SAFETY: geteuid cannot fail and touches no memory.
        if unsafe { libc::geteuid() } != 0 {
            assert!(std::env::var_os("CI").is_none(), "the SFTP password test needs root (to make a local account)");
            eprintln!("\n*** SKIPPED the SFTP password test: needs root to make a local account ***\n");
            return None;
        }
        let home = tempfile::tempdir().expect("tempdir");
        let name = format!("ct-sftp-{}", std::process::id());
        let _ = Command::new("userdel").arg(&name).output(); // one left by a killed run
        let made = Command::new("useradd")
            .args(["--no-create-home", "--shell", "/bin/sh", "--home-dir"])
            .arg(home.path())
            .arg(&name)
            .status()
            .expect("useradd");
        assert!(made.success(), "useradd {name}");
        let account = Account { name, home };
        let owned = Command::new("chown").arg(format!("{0}:{0}", account.name)).arg(account.home.path()).status().expect("chown");
        assert!(owned.success());
        let mut chpasswd = Command::new("chpasswd").stdin(Stdio::piped()).spawn().expect("chpasswd");
        chpasswd.stdin.take().expect("stdin").write_all(format!("{}:{password}\n", account.name).as_bytes()).expect("password");
        assert!(chpasswd.wait().expect("chpasswd").success());
        Some(account)
    }
}

impl Drop for Account {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.name).output();
    }
}

#[test]
fn a_password_lets_caretakers_key_in_once_and_backups_then_use_the_key() {
    const PASSWORD: &str = "their sftp pass:word";
    let Some(account) = Account::make(PASSWORD) else { return };
    let server = Sshd::with_password_for(&account.name);
    let data = tempfile::tempdir().expect("tempdir");
    let public = rt().block_on(caretaker_engine::backup::ssh_key::public_key(data.path(), "test-mini")).expect("Caretaker's key");
    let key = caretaker_engine::backup::ssh_key::existing(data.path()).expect("private key file");
    let folder = account.home.path().join("backups/mini");
    let repo = format!("sftp://{}@127.0.0.1:{}{}", account.name, server.port, folder.display());
    let Ok(Location::Sftp(sftp)) = Location::parse(&repo) else { panic!("an SFTP address: {repo}") };
    let work = data.path().join("ssh");
    let let_in = |password: &str| rt().block_on(ssh_login::let_key_in(&sftp, password, &public, Path::new(EXE), &work));

    let e = let_in("not their password").expect_err("a wrong password is refused");
    assert!(e.contains("did not accept the password") && e.contains(&account.name), "{e}");
    assert!(!e.contains("not their") && !e.contains(PASSWORD), "{e}");
    let authorized = account.home.path().join(".ssh/authorized_keys");
    assert!(!authorized.exists() || !std::fs::read_to_string(&authorized).unwrap_or_default().contains(&public));

    let_in(PASSWORD).expect("the right password lets the key in");
    let_in(PASSWORD).expect("and again, which changes nothing");
    let text = std::fs::read_to_string(&authorized).expect("authorized_keys on the server");
    assert_eq!(text.matches(public.as_str()).count(), 1, "the key once: {text}");
    assert!(
        std::fs::read_dir(&work).expect("work").flatten().all(|e| !e.file_name().to_string_lossy().contains("authorized")),
        "no copies left"
    );

    // From now on the key alone: the worker logs in with it, no password anywhere.
    let with_key = |op: Op| {
        let mut r = req(&repo, None, op);
        r.remote = Remote { ssh_key: Some(key.clone()), upload_limit: None };
        r
    };
    run(with_key(Op::Init)).expect("init over SFTP with the key");
    let snapshots: Vec<serde_json::Value> = ok(with_key(Op::Snapshots));
    assert!(snapshots.is_empty());
    assert!(folder.join("config").is_file(), "the repository is in the account's folder");
}
