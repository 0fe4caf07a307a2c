//! Where each repository's password is kept, as the backup service knows it. The keychain is
//! slow and may block: a locked Secret Service collection answers after about 25 s, and a macOS
//! access prompt waits for a person. So the overview (asked on every UI refresh and every
//! /metrics scrape) only reads what is remembered here, and every keychain call runs on a
//! blocking thread with a deadline instead of on the async threads.

use super::secret::{self, Storage};
use crate::error::{EngineError, Result};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Long enough for a keychain that answers, short enough that a stuck one fails a job clearly.
pub(crate) const KEYCHAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The password store itself; every call may block.
pub(crate) trait Backend: Send + Sync + 'static {
    fn store(&self, repository: &str, password: &str) -> Result<Storage>;
    fn storage(&self, repository: &str) -> Option<Storage>;
    fn load(&self, repository: &str) -> Result<(String, Storage)>;
    /// A REST server's password ("" removes it); None: the server has none.
    fn store_server(&self, repository: &str, password: &str) -> Result<Option<Storage>>;
    fn load_server(&self, repository: &str) -> Result<Option<String>>;
}

/// The OS keychain, or the private file where there is none.
struct System {
    data_dir: PathBuf,
}

impl Backend for System {
    fn store(&self, repository: &str, password: &str) -> Result<Storage> {
        secret::store(&self.data_dir, repository, password)
    }
    fn storage(&self, repository: &str) -> Option<Storage> {
        secret::storage(&self.data_dir, repository)
    }
    fn load(&self, repository: &str) -> Result<(String, Storage)> {
        secret::load(&self.data_dir, repository)
    }
    fn store_server(&self, repository: &str, password: &str) -> Result<Option<Storage>> {
        secret::store_server(&self.data_dir, repository, password)
    }
    fn load_server(&self, repository: &str) -> Result<Option<String>> {
        secret::load_server(&self.data_dir, repository)
    }
}

pub(crate) struct Passwords {
    backend: Arc<dyn Backend>,
    timeout: Duration,
    /// By repository: where its password is (None: asked, and it is nowhere). A repository not
    /// in here has not been asked about yet.
    known: Mutex<HashMap<String, Option<Storage>>>,
}

impl Passwords {
    pub fn new(backend: Arc<dyn Backend>, timeout: Duration) -> Self {
        Passwords { backend, timeout, known: Mutex::new(HashMap::new()) }
    }

    pub fn system(data_dir: PathBuf) -> Self {
        Self::new(Arc::new(System { data_dir }), KEYCHAIN_TIMEOUT)
    }

    fn known(&self) -> MutexGuard<'_, HashMap<String, Option<Storage>>> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Where the password of `repository` is, as last learned; never asks the keychain.
    pub fn remembered(&self, repository: &str) -> Option<Storage> {
        self.known().get(repository).copied().flatten()
    }

    /// Asks the store once about every repository not asked about yet (at start, and for plans
    /// added by editing the file). An answer that comes too late is asked for again next time.
    pub async fn learn(&self, repositories: Vec<String>) {
        for repository in repositories {
            if self.known().contains_key(&repository) {
                continue;
            }
            let (backend, repo) = (self.backend.clone(), repository.clone());
            match self.off_thread(move || Ok(backend.storage(&repo))).await {
                // A store or load that finished meanwhile knows better.
                Ok(found) => {
                    self.known().entry(repository).or_insert(found);
                }
                Err(e) => tracing::warn!("cannot tell where a backup password is kept: {e}"),
            }
        }
    }

    pub async fn store(&self, repository: &str, password: String) -> Result<Storage> {
        let (backend, repo) = (self.backend.clone(), repository.to_string());
        let stored = self.off_thread(move || backend.store(&repo, &password)).await;
        match &stored {
            Ok(s) => {
                self.known().insert(repository.to_string(), Some(*s));
            }
            Err(_) => self.forget(repository),
        }
        stored
    }

    pub async fn load(&self, repository: &str) -> Result<String> {
        let (backend, repo) = (self.backend.clone(), repository.to_string());
        match self.off_thread(move || backend.load(&repo)).await {
            Ok((password, s)) => {
                self.known().insert(repository.to_string(), Some(s));
                Ok(password)
            }
            Err(e) => {
                // A keychain that did not answer says nothing about where the password is.
                if !matches!(e, EngineError::Keychain(_)) {
                    self.known().insert(repository.to_string(), None);
                }
                Err(e)
            }
        }
    }

    /// Stores (or, when empty, removes) the REST server password of `repository`.
    pub async fn store_server(&self, repository: &str, password: String) -> Result<Option<Storage>> {
        let (backend, repo) = (self.backend.clone(), repository.to_string());
        self.off_thread(move || backend.store_server(&repo, &password)).await
    }

    pub async fn load_server(&self, repository: &str) -> Result<Option<String>> {
        let (backend, repo) = (self.backend.clone(), repository.to_string());
        self.off_thread(move || backend.load_server(&repo)).await
    }

    /// Drops what is known of `repository`, so that it is asked about again.
    pub fn forget(&self, repository: &str) {
        self.known().remove(repository);
    }

    /// Runs `f` on a blocking thread. Past the deadline the caller gets a clear error; the thread
    /// itself cannot be stopped and ends when the keychain answers.
    async fn off_thread<T: Send + 'static>(&self, f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
        match tokio::time::timeout(self.timeout, tokio::task::spawn_blocking(f)).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => Err(EngineError::Keychain(format!("the password store failed: {e}"))),
            Err(_) => Err(EngineError::Keychain(format!(
                "the keychain did not answer within {} s; unlock it (or set {}=off to keep backup passwords in a private file) and try again",
                self.timeout.as_secs(),
                secret::KEYCHAIN_ENV
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use std::sync::mpsc;

    /// A keychain that never answers until the test lets it go.
    struct Stuck(Mutex<mpsc::Receiver<()>>);

    impl Stuck {
        fn wait(&self) {
            let _ = self.0.lock().unwrap_or_else(|p| p.into_inner()).recv();
        }
    }

    impl Backend for Stuck {
        fn store(&self, _: &str, _: &str) -> Result<Storage> {
            self.wait();
            Ok(Storage::Keychain)
        }
        fn storage(&self, _: &str) -> Option<Storage> {
            self.wait();
            Some(Storage::Keychain)
        }
        fn load(&self, _: &str) -> Result<(String, Storage)> {
            self.wait();
            Ok(("late".into(), Storage::Keychain))
        }
        fn store_server(&self, _: &str, _: &str) -> Result<Option<Storage>> {
            self.wait();
            Ok(None)
        }
        fn load_server(&self, _: &str) -> Result<Option<String>> {
            self.wait();
            Ok(None)
        }
    }

    #[tokio::test]
    async fn a_keychain_that_does_not_answer_fails_with_keychain_unavailable() {
        let (release, rx) = mpsc::channel();
        let passwords = Passwords::new(Arc::new(Stuck(Mutex::new(rx))), Duration::from_millis(50));
        let err = passwords.load("/Volumes/B/repo").await.expect_err("a stuck keychain must not hang the job");
        assert_eq!(err.code(), ErrorCode::KeychainUnavailable);
        assert!(err.to_string().contains("did not answer"), "{err}");
        let err = passwords.store("/Volumes/B/repo", "s3cret".into()).await.expect_err("store must time out too");
        assert_eq!(err.code(), ErrorCode::KeychainUnavailable);
        assert!(!err.to_string().contains("s3cret"));
        passwords.learn(vec!["/Volumes/B/repo".into()]).await;
        assert_eq!(passwords.remembered("/Volumes/B/repo"), None);
        drop(release);
    }
}
