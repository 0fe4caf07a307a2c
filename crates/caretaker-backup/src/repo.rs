//! Where the repository is and how to reach it: a folder through rustic_backend's local backend,
//! a REST server (rest-server, `rclone serve restic`) through its REST backend, an S3 bucket or
//! an SFTP server through its openDAL backend. Every message
//! names the repository as the plan writes it, which never holds a secret; the server password
//! is only ever inside the URL handed to rustic, and [`crate::progress::hide`] keeps it (and the
//! repository password) out of anything the worker says.

use crate::locks::Place;
use crate::progress::{hide, JsonBars};
use crate::{rustic_failure, Emitter, Failure, Outcome};
use caretaker_engine::backup::location::Location;
use caretaker_engine::backup::protocol::{ConnectionReport, ErrorKind, Request};
use rustic_backend::BackendOptions;
use rustic_core::repofile::MasterKey;
use rustic_core::{
    ConfigOptions, Credentials, FileType, KeyOptions, OpenStatus, Repository, RepositoryBackends, RepositoryOptions, RusticError,
};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn options<const N: usize>(pairs: [(&str, &str); N]) -> BTreeMap<String, String> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The last "caused by" of an error text, without the URL reqwest writes into its errors (the
/// repository's name in the message already says which).
fn last_cause(text: &str) -> &str {
    let cause = text.rsplit("caused by: ").next().unwrap_or_default();
    cause.split(" for url (").next().unwrap_or_default().trim()
}

/// The repository of one request.
pub struct Target {
    /// As the plan writes it: what every message names.
    pub name: String,
    kind: Kind,
    /// Bytes per second, on average, for what is written (see `pace`).
    upload_limit: Option<u64>,
}

enum Kind {
    Folder(PathBuf),
    /// The address for rustic, with the server password inside.
    Rest(String),
    /// An openDAL service ("s3", "sftp") and its options, the secret key among them.
    Dal(&'static str, BTreeMap<String, String>),
}

/// What is at the repository's place.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    Repository,
    Nothing,
}

impl Target {
    pub fn new(req: &Request) -> Outcome<Target> {
        hide(&req.password);
        let name = req.repository.to_string_lossy().into_owned();
        let location = Location::parse(&name).map_err(|m| Failure::new(ErrorKind::Failed, format!("the repository {m}")))?;
        let kind = match location {
            Location::Folder(path) => Kind::Folder(path),
            Location::Rest(server) => {
                let secret = req.server_password.as_deref();
                if let Some(p) = secret {
                    hide(p);
                }
                let (address, encoded) = server.with_password(secret);
                if let Some(e) = encoded {
                    hide(&e);
                }
                Kind::Rest(address)
            }
            Location::S3(bucket) => {
                let secret = req.server_password.clone().unwrap_or_default();
                hide(&secret);
                let mut o = options([
                    ("endpoint", bucket.endpoint()),
                    ("bucket", bucket.bucket()),
                    ("root", bucket.root()),
                    ("region", bucket.region()),
                    ("access_key_id", bucket.key_id()),
                    // Only what is given here: no ~/.aws files, no cloud metadata service.
                    ("disable_config_load", "true"),
                    ("disable_ec2_metadata", "true"),
                ]);
                o.insert("secret_access_key".into(), secret);
                Kind::Dal("s3", o)
            }
            Location::Sftp(server) => {
                let endpoint = server.endpoint();
                // A server seen for the first time is remembered in ~/.ssh/known_hosts; one whose
                // key later changes is refused (ssh's accept-new).
                let mut o = options([
                    ("endpoint", endpoint.as_str()),
                    ("user", server.user()),
                    ("root", server.path()),
                    ("known_hosts_strategy", "add"),
                ]);
                if let Some(key) = req.remote.ssh_key.as_ref().and_then(|k| k.to_str()) {
                    o.insert("key".into(), key.to_string());
                }
                Kind::Dal("sftp", o)
            }
        };
        Ok(Target { name, kind, upload_limit: req.remote.upload_limit })
    }

    fn is_remote(&self) -> bool {
        !matches!(self.kind, Kind::Folder(_))
    }

    /// `quick`: one attempt with a short timeout (a connection test, the first contact of a job)
    /// instead of the backend's retries over minutes, so a server that is down is said so at once.
    fn backends(&self, quick: bool) -> Outcome<RepositoryBackends> {
        let address = match &self.kind {
            Kind::Folder(p) => p
                .to_str()
                .ok_or_else(|| Failure::new(ErrorKind::Failed, format!("the repository path {} is not valid UTF-8", p.display())))?
                .to_string(),
            Kind::Rest(a) => a.clone(),
            Kind::Dal(scheme, _) => format!("opendal:{scheme}"),
        };
        let mut options = match &self.kind {
            Kind::Dal(_, o) => o.clone(),
            _ => BTreeMap::new(),
        };
        if quick && self.is_remote() {
            options.insert("retry".to_string(), "0".to_string());
            if let Kind::Rest(_) = self.kind {
                options.insert("timeout".to_string(), "30s".to_string());
            }
        }
        let opts = BackendOptions::default().repository(address).options(options);
        let backends = opts.to_backends().map_err(|e| rustic_failure(&format!("cannot use the repository {}", self.name), &e))?;
        Ok(match self.upload_limit {
            Some(limit) if !quick => {
                RepositoryBackends::new(std::sync::Arc::new(crate::pace::Paced::new(backends.repository(), limit)), backends.repo_hot())
            }
            _ => backends,
        })
    }

    /// A remote repository's size, from the server's listing of its files; None for a folder
    /// (the engine measures it) or when the listing fails (the size is only shown).
    pub fn remote_size(&self) -> Option<u64> {
        if !self.is_remote() {
            return None;
        }
        let be = self.backends(true).ok()?.repository();
        let mut total = 0u64;
        for tpe in [FileType::Pack, FileType::Index, FileType::Snapshot, FileType::Key] {
            total += be.list_with_size(tpe).ok()?.iter().map(|(_, size)| u64::from(*size)).sum::<u64>();
        }
        Some(total)
    }

    /// Where the repository's lock files go.
    pub fn lock_place(&self) -> Outcome<Place> {
        match &self.kind {
            Kind::Folder(p) => Ok(Place::Folder(p.clone())),
            Kind::Rest(address) => Place::rest(address),
            Kind::Dal(scheme, options) => Ok(Place::Dal(crate::lock_files::Dal::new(scheme, options)?)),
        }
    }

    fn unreachable(&self, why: String) -> Failure {
        Failure::new(ErrorKind::Unreachable, format!("repository not reachable: {why}"))
    }

    /// Why the server did not answer as a repository does, from rustic's error.
    fn server_failure(&self, e: &RusticError) -> Failure {
        let text = e.display_log();
        if let Kind::Dal(scheme, _) = self.kind {
            return self.remote_failure(scheme, &text);
        }
        if text.contains("401") || text.contains("403") {
            return self.unreachable(format!(
                "the server {} refused the user name or password (HTTP {}); check the server's user and password",
                self.name,
                if text.contains("401") { 401 } else { 403 }
            ));
        }
        self.unreachable(format!(
            "no answer from the server {} ({}); is it running, and is the address right?",
            self.name,
            last_cause(&text)
        ))
    }

    /// Why an S3 bucket or an SFTP server did not answer as a repository does.
    fn remote_failure(&self, scheme: &str, text: &str) -> Failure {
        let name = &self.name;
        let why = if scheme == "sftp" {
            if text.contains("Permission denied") {
                format!(
                    "the server {name} refused the login: add Caretaker's SSH key (Backups → Where → SFTP shows it) to the user's \
                     ~/.ssh/authorized_keys on the server"
                )
            } else if text.contains("Host key verification failed") || text.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") {
                format!(
                    "the server {name} answered with a different host key than the one recorded in ~/.ssh/known_hosts; if the server \
                     was reinstalled, remove its old line there (ssh-keygen -R host), otherwise do not connect"
                )
            } else if text.contains("failed to connect to the remote host") && self.answers() {
                format!(
                    "the server {name} answers but the login failed: add Caretaker's SSH key (Backups → Where → SFTP shows it) to \
                     the user's ~/.ssh/authorized_keys on the server, check the user name, and if the server was reinstalled, \
                     remove its old line from ~/.ssh/known_hosts (ssh-keygen -R host)"
                )
            } else {
                format!("no answer from the server {name} ({}); is it running, and is the address right?", last_cause(text))
            }
        } else if text.contains("403") || text.contains("InvalidAccessKeyId") || text.contains("SignatureDoesNotMatch") {
            format!("the bucket's server {name} refused the access key ID or the secret access key (HTTP 403); check both")
        } else if text.contains("NoSuchBucket") {
            format!("the bucket named in {name} does not exist: create it at the provider first")
        } else {
            format!("no answer from {name} ({}); is the address right?", last_cause(text))
        };
        self.unreachable(why)
    }

    /// Whether something accepts connections at an SFTP server's address (ssh reports a refused
    /// login and a dead server alike).
    fn answers(&self) -> bool {
        let Kind::Dal(_, options) = &self.kind else { return false };
        let Some(endpoint) = options.get("endpoint").and_then(|e| e.strip_prefix("ssh://")) else { return false };
        use std::net::ToSocketAddrs;
        let addrs = endpoint.to_socket_addrs().map(|a| a.collect::<Vec<_>>()).unwrap_or_default();
        addrs.iter().any(|a| std::net::TcpStream::connect_timeout(a, std::time::Duration::from_secs(5)).is_ok())
    }

    /// Looks without changing anything; an error when the place cannot be reached.
    fn found(&self) -> Outcome<Found> {
        match &self.kind {
            Kind::Folder(repo) => {
                if repo.join("config").exists() {
                    return Ok(Found::Repository);
                }
                let parent = repo.parent().filter(|p| !p.as_os_str().is_empty());
                if repo.is_dir() || parent.is_none_or(|p| p.is_dir()) {
                    Ok(Found::Nothing)
                } else {
                    Err(self.unreachable(format!("{} does not exist (is the disk connected and mounted?)", repo.display())))
                }
            }
            Kind::Rest(_) | Kind::Dal(..) => {
                let be = self.backends(true)?.repository();
                // A config answers HEAD; anything else (a refused password included) reads as "none".
                match be.list(FileType::Config) {
                    Ok(v) if !v.is_empty() => return Ok(Found::Repository),
                    Ok(_) => {}
                    Err(e) => return Err(self.server_failure(&e)),
                }
                // An S3 bucket that does not exist, or refuses the key, lists as empty above.
                if let Kind::Dal(scheme, options) = &self.kind {
                    if let Err(text) = crate::lock_files::Dal::new(scheme, options)?.reachable() {
                        return Err(self.remote_failure(scheme, &text));
                    }
                }
                // So ask for something that says why: a new place answers 404, a wrong password 401.
                match be.list(FileType::Key) {
                    Ok(_) => Ok(Found::Nothing),
                    Err(e) if e.display_log().contains("404") => Ok(Found::Nothing),
                    Err(e) => Err(self.server_failure(&e)),
                }
            }
        }
    }

    /// The repository must be there before a job opens it.
    fn reachable(&self) -> Outcome<()> {
        match (self.found()?, &self.kind) {
            (Found::Repository, _) => Ok(()),
            (Found::Nothing, Kind::Folder(repo)) if repo.is_dir() => {
                Err(self.unreachable(format!("{} is not a backup repository (no config file)", repo.display())))
            }
            (Found::Nothing, Kind::Folder(repo)) => {
                Err(self.unreachable(format!("{} does not exist (is the disk connected and mounted?)", repo.display())))
            }
            (Found::Nothing, Kind::Rest(_) | Kind::Dal(..)) => {
                Err(self.unreachable(format!("the server {} holds no backup repository there (no config file)", self.name)))
            }
        }
    }

    fn repository(&self, emitter: &Emitter) -> Outcome<Repository<()>> {
        let opts = RepositoryOptions::default().no_cache(true);
        Repository::new_with_progress(&opts, &self.backends(false)?, JsonBars::new(emitter.clone()))
            .map_err(|e| rustic_failure(&format!("cannot use the repository {}", self.name), &e))
    }

    fn open_with_password(&self, password: &str, emitter: &Emitter) -> Outcome<Repository<OpenStatus>> {
        self.repository(emitter)?.open(&Credentials::password(password)).map_err(|e| {
            let mut f = rustic_failure(&format!("cannot open the repository {}", self.name), &e);
            if f.kind == ErrorKind::WrongPassword {
                f.message = format!("wrong password: the key of the repository {} does not open with this password", self.name);
            }
            f
        })
    }

    /// Opens it with the engine's master key when that still fits, else with the password
    /// (and tells the engine the key, to spare the next job the derivation).
    pub fn open(&self, req: &Request, emitter: &Emitter) -> Outcome<Repository<OpenStatus>> {
        self.reachable()?;
        if let Some(key) = req.key.as_deref().and_then(|k| serde_json::from_str::<MasterKey>(k).ok()) {
            if let Ok(repo) = self.repository(emitter)?.open(&Credentials::Masterkey(key)) {
                return Ok(repo);
            }
        }
        let repo = self.open_with_password(&req.password, emitter)?;
        if let Ok(key) = serde_json::to_string(&repo.key()) {
            emitter.send(&caretaker_engine::backup::protocol::WorkerEvent::Key { key });
        }
        Ok(repo)
    }

    pub fn init(&self, password: &str, emitter: &Emitter) -> Outcome<()> {
        if password.chars().count() < 8 {
            return Err(Failure::new(ErrorKind::Failed, "the password must have at least 8 characters"));
        }
        if self.found()? == Found::Repository {
            return Err(Failure::new(ErrorKind::Failed, format!("{} already holds a backup repository", self.name)));
        }
        if let Kind::Folder(repo) = &self.kind {
            if repo.is_dir() && std::fs::read_dir(repo).map(|mut d| d.next().is_some()).unwrap_or(false) {
                return Err(Failure::new(
                    ErrorKind::Failed,
                    format!("{} is not empty: pick an empty folder (or a new one) for the repository", repo.display()),
                ));
            }
            std::fs::create_dir_all(repo).map_err(|e| Failure::new(ErrorKind::Failed, format!("cannot create {}: {e}", repo.display())))?;
        }
        let created = self
            .repository(emitter)?
            // zstd level 1: close to restic's default ratio (814 vs 820 MiB on the bench tree at
            // level 3) at a clearly lower CPU cost on a small machine; restic reads any level.
            .init(&Credentials::password(password), &KeyOptions::default(), &ConfigOptions::default().set_version(2u32).set_compression(1))
            .map_err(|e| rustic_failure(&format!("cannot create the repository {}", self.name), &e))?;
        // The engine keeps the key, so even the first backup skips the password derivation.
        if let Ok(key) = serde_json::to_string(&created.key()) {
            emitter.send(&caretaker_engine::backup::protocol::WorkerEvent::Key { key });
        }
        Ok(())
    }

    /// The wizard's connection test: each question in turn, answered in one sentence.
    pub fn probe(&self, password: &str, emitter: &Emitter) -> Outcome<ConnectionReport> {
        let name = &self.name;
        let found = match self.found() {
            Ok(f) => f,
            Err(f) if f.kind == ErrorKind::Unreachable => {
                return Ok(ConnectionReport { message: f.message, ..Default::default() });
            }
            Err(f) => return Err(f),
        };
        if found == Found::Nothing {
            if let Kind::Folder(repo) = &self.kind {
                if repo.is_dir() && std::fs::read_dir(repo).map(|mut d| d.next().is_some()).unwrap_or(false) {
                    return Ok(ConnectionReport {
                        reachable: true,
                        message: format!("{name} holds other files and no repository: pick an empty folder (or a new one)"),
                        ..Default::default()
                    });
                }
            }
            return Ok(ConnectionReport {
                reachable: true,
                message: format!("{name} is reachable and empty: a new repository will be created there"),
                ..Default::default()
            });
        }
        let opened = self.open_with_password(password, emitter);
        let (password_ok, message) = match opened {
            Ok(_) => (true, format!("Connected: {name} holds a repository and the password opens it")),
            Err(f) if f.kind == ErrorKind::WrongPassword => {
                (false, format!("{name} holds a repository, but this password does not open it"))
            }
            Err(f) => return Err(f),
        };
        Ok(ConnectionReport { reachable: true, initialised: true, password_ok: Some(password_ok), message })
    }
}
