//! Repository passwords: in the OS keychain; where there is none (a headless Linux box, CI), in
//! a file only its owner can read, and the UI says so. Never in caretaker.toml or a log line.

use crate::error::{EngineError, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

const SERVICE: &str = "Caretaker backups";
pub use crate::secrets::{lookups, Storage, KEYCHAIN_ENV};

fn file_for(data_dir: &Path, repository: &str) -> PathBuf {
    crate::secrets::dir(data_dir).join(format!("repo-{}.password", crate::secrets::file_key(repository)))
}

fn slot<'a>(data_dir: &Path, repository: &'a str) -> crate::secrets::Slot<'a> {
    crate::secrets::Slot { service: SERVICE, account: repository, file: file_for(data_dir, repository) }
}

/// Stores the password of the repository at `repository`, and says where it went.
pub fn store(data_dir: &Path, repository: &str, password: &str) -> Result<Storage> {
    crate::secrets::store(&slot(data_dir, repository), password)
}

/// Where the password of `repository` is kept, if anywhere.
pub fn storage(data_dir: &Path, repository: &str) -> Option<Storage> {
    crate::secrets::storage(&slot(data_dir, repository))
}

/// The password of `repository`, and where it was found.
pub fn load(data_dir: &Path, repository: &str) -> Result<(String, Storage)> {
    crate::secrets::load(&slot(data_dir, repository))?.ok_or_else(|| {
        EngineError::InvalidInput(format!(
            "the password of the repository {repository} is not in the keychain: enter it on the Backups page"
        ))
    })
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
