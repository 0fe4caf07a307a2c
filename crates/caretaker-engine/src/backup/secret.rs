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

const SERVER_SERVICE: &str = "Caretaker backup servers";

/// The REST server's password of a repository (HTTP basic authentication), kept beside the
/// repository's own password under a service of its own.
fn server_slot<'a>(data_dir: &Path, repository: &'a str) -> crate::secrets::Slot<'a> {
    let file = crate::secrets::dir(data_dir).join(format!("server-{}.password", crate::secrets::file_key(repository)));
    crate::secrets::Slot { service: SERVER_SERVICE, account: repository, file }
}

/// Stores the server password of `repository`; an empty one removes it (a server without one).
pub fn store_server(data_dir: &Path, repository: &str, password: &str) -> Result<Option<Storage>> {
    if password.is_empty() {
        crate::secrets::delete(&server_slot(data_dir, repository))?;
        return Ok(None);
    }
    crate::secrets::store(&server_slot(data_dir, repository), password).map(Some)
}

/// The server password of `repository`; None when its server has none.
pub fn load_server(data_dir: &Path, repository: &str) -> Result<Option<String>> {
    Ok(crate::secrets::load(&server_slot(data_dir, repository))?.map(|(p, _)| p))
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
        let server = "rest:https://me@host/repo";
        assert_eq!(load_server(dir.path(), server).expect("none yet"), None);
        assert_eq!(store_server(dir.path(), server, "web pass").expect("store"), Some(Storage::File));
        assert_eq!(load_server(dir.path(), server).expect("load"), Some("web pass".to_string()));
        assert_eq!(load(dir.path(), server).ok(), None, "the server password is not the repository's");
        assert_eq!(store_server(dir.path(), server, "").expect("remove"), None);
        assert_eq!(load_server(dir.path(), server).expect("gone"), None);
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
