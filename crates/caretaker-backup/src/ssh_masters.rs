//! SFTP goes through ssh connection masters (OpenSSH's ControlMaster, started by the `openssh`
//! crate under openDAL). They are closed when their session is dropped, but that drop runs on a
//! runtime the worker does not drive to the end, so each job would leave an ssh process behind,
//! for good. The worker therefore gives ssh a control folder of its own (the crate places its
//! sockets under `$XDG_STATE_HOME`) and, before it exits, asks every master there to exit
//! (`ssh -S <socket> -O exit`), stops any ssh still naming the folder, and removes it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

static FOLDER: Mutex<Option<tempfile::TempDir>> = Mutex::new(None);

/// Called first thing, before any thread or connection exists. A short path in /tmp: a Unix
/// socket's path must stay under 104 bytes on macOS.
pub fn take_control_folder() {
    let Ok(dir) = tempfile::Builder::new().prefix("caretaker-ssh-").tempdir_in("/tmp") else { return };
    std::env::set_var("XDG_STATE_HOME", dir.path());
    *FOLDER.lock().unwrap_or_else(|p| p.into_inner()) = Some(dir);
}

/// The control sockets below `folder`.
pub fn sockets(folder: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else { return Vec::new() };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".ssh-connection"))
        .map(|e| e.path().join("master"))
        .filter(|m| m.exists())
        .collect()
}

/// Closes every master this worker started and removes their folder.
pub fn close_all() {
    let Some(dir) = FOLDER.lock().unwrap_or_else(|p| p.into_inner()).take() else { return };
    for socket in sockets(dir.path()) {
        let _ = Command::new("ssh")
            .arg("-S")
            .arg(&socket)
            .args(["-O", "exit", "caretaker-worker"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // The master removes its socket as it goes: wait for that, briefly.
        for _ in 0..40 {
            if !socket.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
    }
    // A master whose socket was not there to ask (still starting, or gone astray) is still
    // named by its arguments, which hold this folder's unique path.
    let folder = dir.path().to_string_lossy().into_owned();
    for _ in 0..20 {
        let left = Command::new("pgrep").args(["-f", &folder]).stdout(Stdio::null()).stderr(Stdio::null()).status();
        if !left.is_ok_and(|s| s.success()) {
            break;
        }
        let _ = Command::new("pkill").args(["-f", &folder]).stdout(Stdio::null()).stderr(Stdio::null()).status();
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(dir);
}
