//! Repository passwords: in the OS keychain; where there is none (a headless Linux box, CI), in
//! a file only its owner can read, and the UI says so. Never in caretaker.toml or a log line.

use crate::error::{EngineError, Result};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

const SERVICE: &str = "Caretaker backups";
/// Set to "off" to skip the keychain (tests, or a machine whose keychain prompts get in the way).
pub const KEYCHAIN_ENV: &str = "CARETAKER_KEYCHAIN";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    Keychain,
    File,
}

static LOOKUPS: AtomicU64 = AtomicU64::new(0);

/// How many times this process has consulted the password store (keychain or file). Each one may
/// block for as long as the keychain takes to answer, so callers on hot paths must not add to it.
pub fn lookups() -> u64 {
    LOOKUPS.load(Ordering::Relaxed)
}

fn keychain_allowed() -> bool {
    std::env::var(KEYCHAIN_ENV).map(|v| v != "off").unwrap_or(true)
}

fn file_for(data_dir: &Path, repository: &str) -> PathBuf {
    // FNV-1a: a stable, filename-safe name per repository path.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in repository.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    data_dir.join("secrets").join(format!("repo-{h:016x}.password"))
}

/// Stores the password of the repository at `repository`, and says where it went.
pub fn store(data_dir: &Path, repository: &str, password: &str) -> Result<Storage> {
    LOOKUPS.fetch_add(1, Ordering::Relaxed);
    if keychain_allowed() {
        match keyring::Entry::new(SERVICE, repository).and_then(|e| e.set_password(password)) {
            Ok(()) => {
                // A stale file copy must not outlive a newer keychain entry.
                let _ = std::fs::remove_file(file_for(data_dir, repository));
                return Ok(Storage::Keychain);
            }
            Err(e) => tracing::warn!("no usable keychain ({e}); keeping the backup password in a file only you can read"),
        }
    }
    let path = file_for(data_dir, repository);
    let dir = path.parent().unwrap_or(data_dir);
    std::fs::create_dir_all(dir).map_err(|e| EngineError::io(format!("cannot create {}", dir.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| EngineError::io(format!("cannot protect {}", dir.display()), e))?;
    }
    write_private(&path, password.as_bytes())?;
    Ok(Storage::File)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).map_err(|e| EngineError::io(format!("cannot write {}", tmp.display()), e))?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(|e| EngineError::io(format!("cannot write {}", tmp.display()), e))?;
    std::fs::rename(&tmp, path).map_err(|e| EngineError::io(format!("cannot write {}", path.display()), e))
}

/// Where the password of `repository` is kept, if anywhere.
pub fn storage(data_dir: &Path, repository: &str) -> Option<Storage> {
    LOOKUPS.fetch_add(1, Ordering::Relaxed);
    if file_for(data_dir, repository).exists() {
        return Some(Storage::File);
    }
    if keychain_allowed() && keyring::Entry::new(SERVICE, repository).and_then(|e| e.get_password()).is_ok() {
        return Some(Storage::Keychain);
    }
    None
}

/// The password of `repository`, and where it was found.
pub fn load(data_dir: &Path, repository: &str) -> Result<(String, Storage)> {
    LOOKUPS.fetch_add(1, Ordering::Relaxed);
    let path = file_for(data_dir, repository);
    if let Ok(mut f) = std::fs::File::open(&path) {
        let mut s = String::new();
        f.read_to_string(&mut s).map_err(|e| EngineError::io(format!("cannot read {}", path.display()), e))?;
        return Ok((s, Storage::File));
    }
    if keychain_allowed() {
        match keyring::Entry::new(SERVICE, repository).and_then(|e| e.get_password()) {
            Ok(p) => return Ok((p, Storage::Keychain)),
            Err(keyring::Error::NoEntry) => {}
            Err(e) => return Err(EngineError::Keychain(format!("cannot read the backup password from the keychain: {e}"))),
        }
    }
    Err(EngineError::InvalidInput(format!(
        "the password of the repository {repository} is not in the keychain: enter it on the Backups page"
    )))
}

/// A strong password that is easy to write down: 6 groups of 5 characters, no look-alikes.
pub fn suggest() -> Result<String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 30];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| EngineError::io("cannot read random bytes", e))?;
    let chars: Vec<char> = bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect();
    Ok(chars.chunks(5).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_fallback_is_private_and_round_trips() {
        std::env::set_var(KEYCHAIN_ENV, "off");
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(store(dir.path(), "/Volumes/B/repo", "s3cret pass").expect("store"), Storage::File);
        assert_eq!(load(dir.path(), "/Volumes/B/repo").expect("load"), ("s3cret pass".to_string(), Storage::File));
        assert_eq!(storage(dir.path(), "/Volumes/B/repo"), Some(Storage::File));
        assert!(load(dir.path(), "/elsewhere").is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(file_for(dir.path(), "/Volumes/B/repo")).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let p = suggest().expect("suggest");
        assert_eq!(p.len(), 35);
        assert_ne!(p, suggest().expect("suggest"));
    }
}
