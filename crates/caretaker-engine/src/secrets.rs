//! Secrets kept out of caretaker.toml and the log: in the OS keychain under (service, account);
//! where there is none (a headless Linux box, CI), in a file of the data folder's `secrets/`
//! directory that only its owner can read. Each capability names its own service and file.

use crate::error::{EngineError, Result};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Set to "off" to skip the keychain (tests, or a machine whose keychain prompts get in the way).
pub const KEYCHAIN_ENV: &str = "CARETAKER_KEYCHAIN";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    Keychain,
    File,
}

/// Where one secret lives: its keychain entry and its fallback file.
pub struct Slot<'a> {
    pub service: &'a str,
    pub account: &'a str,
    pub file: PathBuf,
}

static LOOKUPS: AtomicU64 = AtomicU64::new(0);

/// How many times this process has consulted the secret store (keychain or file). Each one may
/// block for as long as the keychain takes to answer, so callers on hot paths must not add to it.
pub fn lookups() -> u64 {
    LOOKUPS.load(Ordering::Relaxed)
}

fn keychain_allowed() -> bool {
    std::env::var(KEYCHAIN_ENV).map(|v| v != "off").unwrap_or(true)
}

/// A stable, filename-safe name for `key` (FNV-1a).
pub fn file_key(key: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The folder of the fallback files.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("secrets")
}

/// Stores a secret, and says where it went.
pub fn store(slot: &Slot<'_>, secret: &str) -> Result<Storage> {
    LOOKUPS.fetch_add(1, Ordering::Relaxed);
    if keychain_allowed() {
        match keyring::Entry::new(slot.service, slot.account).and_then(|e| e.set_password(secret)) {
            Ok(()) => {
                // A stale file copy must not outlive a newer keychain entry.
                let _ = std::fs::remove_file(&slot.file);
                return Ok(Storage::Keychain);
            }
            Err(e) => tracing::warn!("no usable keychain ({e}); keeping the secret in a file only you can read"),
        }
    }
    let dir = slot.file.parent().ok_or_else(|| EngineError::Internal("a secret file has no folder".into()))?;
    std::fs::create_dir_all(dir).map_err(|e| EngineError::io(format!("cannot create {}", dir.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| EngineError::io(format!("cannot protect {}", dir.display()), e))?;
    }
    write_private(&slot.file, secret.as_bytes())?;
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

/// Where a secret is kept, if anywhere.
pub fn storage(slot: &Slot<'_>) -> Option<Storage> {
    LOOKUPS.fetch_add(1, Ordering::Relaxed);
    if slot.file.exists() {
        return Some(Storage::File);
    }
    if keychain_allowed() && keyring::Entry::new(slot.service, slot.account).and_then(|e| e.get_password()).is_ok() {
        return Some(Storage::Keychain);
    }
    None
}

/// The secret and where it was found; None when it is in neither place.
pub fn load(slot: &Slot<'_>) -> Result<Option<(String, Storage)>> {
    LOOKUPS.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut f) = std::fs::File::open(&slot.file) {
        let mut s = String::new();
        f.read_to_string(&mut s).map_err(|e| EngineError::io(format!("cannot read {}", slot.file.display()), e))?;
        return Ok(Some((s, Storage::File)));
    }
    if keychain_allowed() {
        match keyring::Entry::new(slot.service, slot.account).and_then(|e| e.get_password()) {
            Ok(p) => return Ok(Some((p, Storage::Keychain))),
            Err(keyring::Error::NoEntry) => {}
            Err(e) => return Err(EngineError::Keychain(format!("cannot read {} from the keychain: {e}", slot.service))),
        }
    }
    Ok(None)
}

/// Forgets a secret in both places; one that was never stored is not an error.
pub fn delete(slot: &Slot<'_>) -> Result<()> {
    LOOKUPS.fetch_add(1, Ordering::Relaxed);
    match std::fs::remove_file(&slot.file) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(EngineError::io(format!("cannot remove {}", slot.file.display()), e)),
    }
    if keychain_allowed() {
        match keyring::Entry::new(slot.service, slot.account).and_then(|e| e.delete_credential()) {
            Ok(()) | Err(keyring::Error::NoEntry) => {}
            Err(e) => tracing::warn!("could not remove a secret from the keychain: {e}"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_fallback_is_private_round_trips_and_deletes() {
        std::env::set_var(KEYCHAIN_ENV, "off");
        let d = tempfile::tempdir().expect("tempdir");
        let slot = Slot { service: "Caretaker test", account: "a/b", file: dir(d.path()).join("x.secret") };
        assert_eq!(load(&slot).expect("load"), None);
        assert_eq!(store(&slot, "s3cret").expect("store"), Storage::File);
        assert_eq!(load(&slot).expect("load"), Some(("s3cret".to_string(), Storage::File)));
        assert_eq!(storage(&slot), Some(Storage::File));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&slot.file).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        delete(&slot).expect("delete");
        delete(&slot).expect("deleting twice is fine");
        assert_eq!(storage(&slot), None);
    }
}
