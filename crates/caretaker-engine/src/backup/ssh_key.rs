//! Caretaker's own SSH key for SFTP repositories: made once with the system's `ssh-keygen`
//! (ed25519, no passphrase, since nobody is there to type one at 02:00), kept in the data folder
//! (`ssh/caretaker_ed25519`, folder 0700, key 0600), and shown to the person as one line to add
//! to the server's `~/.ssh/authorized_keys`. Only the public half ever leaves the file.
//!
//! ssh itself still reads the person's own setup (`~/.ssh/config`, the agent, their keys), so a
//! server they already reach works as it does in a terminal.

use std::path::{Path, PathBuf};

pub const SSH_DIR: &str = "ssh";
pub const KEY_FILE: &str = "caretaker_ed25519";

/// Where the private key is (or will be) kept.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(SSH_DIR).join(KEY_FILE)
}

/// The key to log in with, when it has been made.
pub fn existing(data_dir: &Path) -> Option<PathBuf> {
    let p = path(data_dir);
    p.is_file().then_some(p)
}

/// The public key line (`ssh-ed25519 AAAA… caretaker@host`), made first when there is none.
pub async fn public_key(data_dir: &Path, host: &str) -> Result<String, String> {
    let key = path(data_dir);
    let public = key.with_extension("pub");
    if !key.is_file() {
        let dir = data_dir.join(SSH_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| format!("cannot make {} private: {e}", dir.display()))?;
        }
        // A half-made pair (no private key) is replaced, never appended to.
        let _ = std::fs::remove_file(&public);
        let comment = format!("caretaker@{}", if host.is_empty() { "this-mac" } else { host });
        let out = tokio::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", &comment, "-f"])
            .arg(&key)
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .map_err(|e| format!("cannot run ssh-keygen to make Caretaker's SSH key: {e}"))?;
        if !out.status.success() {
            return Err(format!("ssh-keygen could not make Caretaker's SSH key: {}", String::from_utf8_lossy(&out.stderr).trim()));
        }
    }
    let line = std::fs::read_to_string(&public).map_err(|e| format!("cannot read {}: {e}", public.display()))?;
    let line = line.trim();
    if !line.starts_with("ssh-") {
        return Err(format!("{} does not hold an SSH public key", public.display()));
    }
    Ok(line.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_key_is_made_once_private_and_only_the_public_half_is_shown() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(existing(dir.path()).is_none());
        let first = public_key(dir.path(), "mini").await.expect("made");
        assert!(first.starts_with("ssh-ed25519 ") && first.ends_with("caretaker@mini"), "{first}");
        assert_eq!(public_key(dir.path(), "mini").await.expect("again"), first, "the same key, not a new one");
        let key = existing(dir.path()).expect("private key");
        let private = std::fs::read_to_string(&key).expect("read");
        assert!(private.contains("PRIVATE KEY") && !first.contains("PRIVATE"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&key).expect("meta").permissions().mode() & 0o077, 0, "owner only");
            assert_eq!(std::fs::metadata(key.parent().expect("dir")).expect("meta").permissions().mode() & 0o777, 0o700);
        }
    }
}
