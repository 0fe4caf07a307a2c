//! Where a repository keeps its `locks/` files, and how they are listed, read, written and removed.
//!
//! A folder is read and written directly. On S3 and SFTP the worker opens the same openDAL
//! service rustic's backend uses, with the same options, on `locks/`. On a REST server the same files are reached through
//! restic's REST protocol (`GET /locks/`, `GET|POST|DELETE /locks/<name>`): rustic's backends have
//! no lock file type, because rustic neither writes nor reads locks, so these four calls are the
//! only HTTP the worker makes itself. They reuse the address rustic is given (its user name and
//! password are sent as HTTP basic authentication) and never put it in a message.

use crate::{Failure, Outcome};
use caretaker_engine::backup::protocol::ErrorKind;
use rustic_core::jiff::Timestamp;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One lock file: its name, its content (None: unreadable) and when it was written, if known.
pub(crate) type LockFile = (String, Option<Vec<u8>>, Option<Timestamp>);

#[derive(Clone)]
pub enum Place {
    Folder(PathBuf),
    Rest { client: reqwest::blocking::Client, locks: reqwest::Url },
    Dal(Dal),
}

/// An openDAL operator with the runtime its blocking calls run on.
#[derive(Clone)]
pub struct Dal {
    op: opendal::blocking::Operator,
    _runtime: std::sync::Arc<tokio::runtime::Runtime>,
}

impl Dal {
    /// `scheme` ("s3", "sftp") and the options rustic's openDAL backend is given.
    pub fn new(scheme: &str, options: &std::collections::BTreeMap<String, String>) -> Outcome<Dal> {
        const OPEN: &str = "cannot lock the repository";
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().map_err(|e| failure(OPEN, e))?;
        let _in = runtime.enter();
        let wanted = ["bucket", "root", "endpoint", "region", "access_key_id", "secret_access_key", "user", "key", "known_hosts_strategy"];
        let opts =
            options.iter().filter(|(k, _)| wanted.contains(&k.as_str()) || k.starts_with("disable_")).map(|(k, v)| (k.clone(), v.clone()));
        // openDAL's errors name the service and what failed, never the options' values.
        let op = opendal::Operator::via_iter(scheme, opts).map_err(|e| failure(OPEN, e.kind()))?;
        let op = opendal::blocking::Operator::new(op).map_err(|e| failure(OPEN, e.kind()))?;
        Ok(Dal { op, _runtime: std::sync::Arc::new(runtime) })
    }

    /// Whether the place itself is there (an S3 bucket that does not exist lists as empty
    /// through rustic's backend): the service's own error text when it is not.
    pub fn reachable(&self) -> Result<(), String> {
        self.op.list("/").map(drop).map_err(|e| e.to_string())
    }
}

impl From<&Path> for Place {
    fn from(p: &Path) -> Place {
        Place::Folder(p.to_path_buf())
    }
}

impl From<&PathBuf> for Place {
    fn from(p: &PathBuf) -> Place {
        Place::Folder(p.clone())
    }
}

fn failure(what: &str, e: impl std::fmt::Display) -> Failure {
    Failure::new(ErrorKind::Failed, format!("{what}: {e}"))
}

/// reqwest's errors quote the URL, credentials included: only what went wrong is kept.
fn http_failure(what: &str, e: &reqwest::Error) -> Failure {
    let why = match e.status() {
        Some(s) => format!("the server answered {s}"),
        None if e.is_timeout() => "the server did not answer in time".into(),
        None if e.is_connect() => "no connection to the server".into(),
        None => "the request failed".into(),
    };
    failure(what, why)
}

impl Place {
    /// The lock folder of the REST repository at `address` (`rest:http://user:pass@host/path`).
    pub fn rest(address: &str) -> Outcome<Place> {
        let base = address.strip_prefix("rest:").unwrap_or(address);
        let base = if base.ends_with('/') { base.to_string() } else { format!("{base}/") };
        let locks = reqwest::Url::parse(&base)
            .and_then(|u| u.join("locks/"))
            .map_err(|e| failure("cannot lock the repository: its address does not read", e))?;
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| http_failure("cannot lock the repository", &e))?;
        Ok(Place::Rest { client, locks })
    }

    fn url(locks: &reqwest::Url, name: &str) -> Outcome<reqwest::Url> {
        locks.join(name).map_err(|e| failure("cannot lock the repository", e))
    }

    /// Every lock file.
    pub(crate) fn files(&self) -> Outcome<Vec<LockFile>> {
        const READ: &str = "cannot read the repository's locks";
        match self {
            Place::Folder(repo) => {
                let entries = match std::fs::read_dir(repo.join("locks")) {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                    Err(e) => return Err(failure(READ, e)),
                };
                Ok(entries
                    .flatten()
                    .map(|e| {
                        let time = e.metadata().and_then(|m| m.modified()).ok().and_then(|t| Timestamp::try_from(t).ok());
                        (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).ok(), time)
                    })
                    .collect())
            }
            Place::Rest { client, locks } => {
                #[derive(serde::Deserialize)]
                struct Entry {
                    name: String,
                }
                let answer = client
                    .get(locks.clone())
                    .header("Accept", "application/vnd.x.restic.rest.v2")
                    .send()
                    .map_err(|e| http_failure(READ, &e))?;
                if answer.status() == reqwest::StatusCode::NOT_FOUND {
                    return Ok(Vec::new());
                }
                let body = answer.error_for_status().and_then(|a| a.bytes()).map_err(|e| http_failure(READ, &e))?;
                let entries: Option<Vec<Entry>> = serde_json::from_slice(&body).map_err(|e| failure(READ, e))?;
                let mut out = Vec::new();
                for Entry { name } in entries.unwrap_or_default() {
                    let data = client
                        .get(Self::url(locks, &name)?)
                        .send()
                        .and_then(|a| a.error_for_status())
                        .and_then(|a| a.bytes())
                        .ok()
                        .map(|b| b.to_vec());
                    out.push((name, data, None));
                }
                Ok(out)
            }
            Place::Dal(Dal { op, .. }) => {
                let entries = match op.list("locks/") {
                    Ok(e) => e,
                    Err(e) if e.kind() == opendal::ErrorKind::NotFound => return Ok(Vec::new()),
                    Err(e) => return Err(failure(READ, e.kind())),
                };
                Ok(entries
                    .into_iter()
                    .filter(|e| e.metadata().is_file())
                    .map(|e| {
                        let name = e.name().to_string();
                        let data = op.read(&format!("locks/{name}")).ok().map(|b| b.to_vec());
                        (name, data, None)
                    })
                    .collect())
            }
        }
    }

    pub(crate) fn put(&self, name: &str, data: Vec<u8>) -> Outcome<()> {
        const WRITE: &str = "cannot lock the repository";
        match self {
            Place::Folder(repo) => {
                let dir = repo.join("locks");
                let failed = |e: std::io::Error| failure(WRITE, format!("{}: {e}", dir.display()));
                std::fs::create_dir_all(&dir).map_err(failed)?;
                std::fs::write(dir.join(name), data).map_err(failed)
            }
            Place::Rest { client, locks } => client
                .post(Self::url(locks, name)?)
                .header("Content-Type", "application/octet-stream")
                .body(data)
                .send()
                .and_then(|a| a.error_for_status())
                .map(drop)
                .map_err(|e| http_failure(WRITE, &e)),
            Place::Dal(Dal { op, .. }) => op.write(&format!("locks/{name}"), data).map(drop).map_err(|e| failure(WRITE, e.kind())),
        }
    }

    pub(crate) fn delete(&self, name: &str) {
        match self {
            Place::Folder(repo) => {
                let _ = std::fs::remove_file(repo.join("locks").join(name));
            }
            Place::Rest { client, locks } => {
                if let Ok(url) = Self::url(locks, name) {
                    let _ = client.delete(url).send();
                }
            }
            Place::Dal(Dal { op, .. }) => {
                let _ = op.delete(&format!("locks/{name}"));
            }
        }
    }
}
