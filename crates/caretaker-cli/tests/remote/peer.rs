//! Another user on the machine gets nothing from the engine: the data folder keeps them from the
//! socket, and when someone loosens the modes, the engine's own peer-uid check refuses them.
//! Needs root (to be another user); CI runs as root.

use crate::common::{poll, text, Engine};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const NOBODY: u32 = 65534;

/// True when the test can run; false (after saying so loudly) for a developer who is not root.
/// On CI (`CI` set) not being root is a failure: the refusal would go untested.
fn running_as_root() -> bool {
    // SAFETY: geteuid cannot fail and touches no memory.
    let euid = unsafe { libc::geteuid() };
    if euid == 0 {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "another_user_is_refused needs root (to run the CLI as uid {NOBODY}); this runs as uid {euid}"
    );
    eprintln!("\n*** SKIPPED another_user_is_refused: needs root to act as uid {NOBODY} (this is uid {euid}) ***\n");
    false
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// The binary where uid 65534 can run it (the build folder need not be open to everyone).
fn binary_for_everyone(dir: &Path) -> PathBuf {
    let bin_dir = dir.join("bin");
    std::fs::create_dir(&bin_dir).expect("mkdir");
    chmod(&bin_dir, 0o755);
    let exe = bin_dir.join("caretaker");
    // A second name for the same file is enough (and spares copying a large debug build).
    if std::fs::hard_link(env!("CARGO_BIN_EXE_caretaker"), &exe).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_caretaker"), &exe).expect("copy the binary");
    }
    chmod(&exe, 0o755);
    exe
}

/// `exe` as uid and gid 65534, with no other groups.
fn nobody(exe: &Path) -> Command {
    let mut c = Command::new("setpriv");
    c.args(["--reuid", &NOBODY.to_string(), "--regid", &NOBODY.to_string(), "--clear-groups", "--"]).arg(exe);
    c
}

/// `caretaker ARGS --data-dir DATA` as uid 65534.
fn as_nobody(exe: &Path, data: &Path, args: &[&str]) -> Command {
    let mut c = nobody(exe);
    c.args(args)
        .arg("--data-dir")
        .arg(data)
        .env_remove("CARETAKER_DATA_DIR")
        .env("HOME", "/")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

#[test]
fn another_user_is_refused() {
    if !running_as_root() {
        return;
    }
    let engine = Engine::start("");
    // The folder above the data folder is open to all, so only the data folder's mode stands.
    chmod(engine.tmp.path(), 0o755);
    let exe = binary_for_everyone(engine.tmp.path());
    let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode(&engine.data), 0o700);
    assert_eq!(mode(&engine.socket()), 0o600);

    // The binary itself runs for that user.
    let version = nobody(&exe).arg("--version").output().expect("setpriv (util-linux)");
    assert!(version.status.success(), "uid {NOBODY} cannot run the copied binary: {}", text(&version.stderr));

    // As created: the private folder keeps the other user from the socket altogether.
    let out = as_nobody(&exe, &engine.data, &["alerts", "--json"]).output().expect("setpriv");
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert!(err.contains(&format!("cannot reach the Caretaker engine for {}", engine.data.display())), "{err}");
    assert!(err.contains("Permission denied") && err.contains("only the user it runs as may use it"), "{err}");
    assert!(!err.contains("no Caretaker engine is running"), "one is running; starting another would not help: {err}");

    // Loosened by hand: the engine's peer check is all that stands, and it refuses, naming both.
    chmod(&engine.data, 0o755);
    chmod(&engine.socket(), 0o666);
    // Several at once, as a busy machine would have them: each gets the engine's reason, whether
    // or not its first request went out before the engine closed the connection.
    let tries: Vec<&[&str]> =
        vec![&["alerts", "--json"], &["stop"], &["logs", "--follow"], &["checks", "run", "x"], &["alerts"], &["stop"]];
    let children: Vec<_> = tries.iter().map(|args| (args, as_nobody(&exe, &engine.data, args).spawn().expect("setpriv"))).collect();
    for (args, child) in children {
        let out = child.wait_with_output().expect("wait");
        let err = text(&out.stderr);
        assert!(!out.status.success(), "caretaker {args:?} as uid {NOBODY}: {}", text(&out.stdout));
        assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
        // The client sees first that the socket is not its user's; the engine refuses it too.
        assert!(err.contains(&format!("is served by uid 0, not by you (uid {NOBODY}); not used")), "{args:?}: {err}");
    }
    // A client that does not check (any program speaking the protocol) gets the engine's refusal.
    let raw = nobody(Path::new("/usr/bin/python3"))
        .args([
            "-c",
            "import socket, sys\ns = socket.socket(socket.AF_UNIX)\ns.settimeout(10)\ns.connect(sys.argv[1])\nprint(s.makefile().readline(), end='')",
        ])
        .arg(engine.socket())
        .output()
        .expect("python3 as nobody");
    let answer = text(&raw.stdout);
    assert!(
        answer.contains(&format!("refused: this Caretaker engine belongs to uid 0, you are uid {NOBODY}")),
        "{answer} {}",
        text(&raw.stderr)
    );
    assert!(!answer.contains("\"Ok\""), "nothing but the refusal: {answer}");
    // Still running for its owner, with the refusals in its log.
    let refusals = poll("the refusal in the engine's log", 20, || {
        let lines = engine.cli(&["logs", "--json", "--grep", "refused", "--lines", "10"]);
        assert!(lines.status.success(), "{}", text(&lines.stderr));
        let found: Vec<serde_json::Value> = text(&lines.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|l| l["message"].as_str().is_some_and(|m| m.contains("refused a control connection from another user")))
            .collect();
        (found.len() > tries.len()).then_some(found)
    });
    assert!(engine.stderr_text().contains("refused a control connection from another user"), "{}", engine.stderr_text());
    for line in &refusals {
        assert_eq!(line["level"], "warn", "{line}");
        assert_eq!(line["fields"]["peer_uid"], NOBODY, "{line}");
    }
}
