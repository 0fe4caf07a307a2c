//! A real `caretaker run` in a temporary data folder, and the `caretaker` CLI run against it as
//! a person would run it: separate processes, talking over the control socket.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const PASSWORD: &str = "correct horse battery staple";

/// The binary, with nothing from the caller's environment choosing a data folder, and passwords
/// kept in a file instead of a keychain that may prompt.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_caretaker"));
    c.env_remove("CARETAKER_DATA_DIR").env("CARETAKER_KEYCHAIN", "off").stdin(Stdio::null());
    c
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Calls `f` until it gives a value; fails after `secs`.
pub fn poll<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {secs} s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A loopback port nothing listens on (bound, then let go).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Every JSON value on stdout: the events a followed job printed, one a line, then its answer.
pub fn json_values(out: &Output) -> Vec<Value> {
    serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", text(&out.stdout)))
}

pub struct Engine {
    /// Holds the data folder and everything else a test makes; removed at the end.
    pub tmp: tempfile::TempDir,
    pub data: PathBuf,
    child: Child,
    stderr: PathBuf,
}

impl Engine {
    /// Starts `caretaker run` on a new data folder whose caretaker.toml is `extra` after
    /// quiet defaults (no desktop notifications), and waits until its socket answers.
    pub fn start(extra: &str) -> Engine {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        // As private as the engine makes a data folder of its own.
        std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700).create(&data).expect("data folder");
        let config = format!("[metrics]\ninterval_secs = 60\n[notifications]\nenabled = false\n{extra}");
        std::fs::write(data.join("caretaker.toml"), config).expect("config");
        let stderr = tmp.path().join("engine.log");
        let log = std::fs::File::create(&stderr).expect("engine log");
        let child = bin()
            .args(["run", "--data-dir"])
            .arg(&data)
            .env("CARETAKER_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start caretaker run");
        let mut engine = Engine { tmp, data, child, stderr };
        engine.wait_until_it_answers();
        engine
    }

    fn wait_until_it_answers(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("caretaker run exited ({status}) before answering:\n{}", self.stderr_text());
            }
            let out = self.cli(&["maintain", "status", "--json"]);
            if out.status.success() {
                return;
            }
            assert!(Instant::now() < deadline, "the control socket never answered: {}\n{}", text(&out.stderr), self.stderr_text());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn socket(&self) -> PathBuf {
        self.data.join("caretaker.sock")
    }

    /// What the engine wrote on stderr so far (for failure messages).
    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// `caretaker ARGS --data-dir DATA`, stdin not a terminal.
    pub fn cli(&self, args: &[&str]) -> Output {
        cli_at(&self.data, args)
    }

    /// `cli`, which must succeed; its stdout as one JSON value.
    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.cli(args);
        assert!(out.status.success(), "caretaker {args:?} failed: {}{}", text(&out.stderr), text(&out.stdout));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("caretaker {args:?}: not JSON ({e}): {}", text(&out.stdout)))
    }

    /// Waits for the engine process to end; its exit status.
    pub fn wait_exit(&mut self, secs: u64) -> std::process::ExitStatus {
        let child = &mut self.child;
        poll("the engine to exit", secs, || child.try_wait().expect("wait"))
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn cli_at(data: &Path, args: &[&str]) -> Output {
    bin().args(args).arg("--data-dir").arg(data).output().expect("run caretaker")
}

/// Each file under `root` (relative path) with its bytes and modification time.
pub fn tree(root: &Path) -> std::collections::BTreeMap<PathBuf, (Vec<u8>, std::time::SystemTime)> {
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<PathBuf, (Vec<u8>, std::time::SystemTime)>) {
        for entry in std::fs::read_dir(dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            if meta.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).expect("under root").to_path_buf();
                out.insert(rel, (std::fs::read(&path).expect("read"), meta.modified().expect("mtime")));
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(root, root, &mut out);
    out
}
