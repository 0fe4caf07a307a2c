//! Where a plan's repository lives: a folder on this machine (a disk, a mounted share), a restic
//! REST server (rest-server, `rclone serve restic`), an S3-compatible bucket or an SFTP server,
//! written the way restic writes them: `rest:https://host:8000/path`,
//! `s3:https://KEYID@s3.eu-central-003.backblazeb2.com/bucket/path`, `sftp://user@host:22/path`.
//! The S3 and SFTP kinds live in [`super::remote`].
//!
//! The server's user name may sit in the address (`rest:https://alice@host:8000/`): it is not a
//! secret, it belongs to the address as it does in restic, and one field is less to keep in
//! step. The server's password never does: it is kept in the keychain beside the repository
//! password, and only the worker process puts it into the URL, in its own memory.
//!
//! Plain `http://` is accepted to this machine only (127.0.0.1, ::1, localhost). To another
//! machine it would carry the server password, and let anyone on the way delete or withhold the
//! backups, in the clear; the data itself stays encrypted either way. A careful person expects a
//! backup tool not to do that quietly, so it is refused with what to do instead: https
//! (rest-server `--tls`), or an SSH tunnel to a loopback port.

pub use super::remote::{S3Bucket, SftpServer};
use reqwest::Url;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

pub const REST_PREFIX: &str = "rest:";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Folder(PathBuf),
    Rest(RestServer),
    S3(S3Bucket),
    Sftp(SftpServer),
}

/// A REST server's address, without a password (parsing refuses one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestServer {
    url: Url,
}

impl Location {
    /// Reads a plan's `repository`; the error completes a sentence about that field.
    pub fn parse(repository: &str) -> Result<Location, String> {
        if let Some(address) = repository.strip_prefix(REST_PREFIX) {
            return RestServer::parse(address).map(Location::Rest);
        }
        if let Some(address) = repository.strip_prefix(super::remote::S3_PREFIX) {
            return S3Bucket::parse(address).map(Location::S3);
        }
        if repository.starts_with(super::remote::SFTP_PREFIX) {
            return SftpServer::parse(repository).map(Location::Sftp);
        }
        let path = Path::new(repository);
        if !path.is_absolute() {
            return Err(format!(
                "must be an absolute folder path, or a server address such as rest:https://host:8000/repo, \
                 s3:https://KEYID@host/bucket/repo or sftp://user@host:22/srv/repo (got \"{repository}\")"
            ));
        }
        Ok(Location::Folder(path.to_path_buf()))
    }

    /// Whether `repository` names a REST server (however well written).
    pub fn is_rest(repository: &str) -> bool {
        repository.starts_with(REST_PREFIX)
    }

    /// Whether `repository` is reached with a secret kept in the keychain beside the repository
    /// password: a REST server's password, an S3 bucket's secret access key.
    pub fn has_server_secret(repository: &str) -> bool {
        Self::is_rest(repository) || repository.starts_with(super::remote::S3_PREFIX)
    }

    /// Whether `repository` is on another machine (REST, S3, SFTP), reached over the network.
    pub fn is_remote(repository: &str) -> bool {
        !matches!(Location::parse(repository), Ok(Location::Folder(_)) | Err(_))
    }
}

/// Whether `host` (as in a URL, IPv6 in brackets or not) is this machine.
pub fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl RestServer {
    fn parse(address: &str) -> Result<RestServer, String> {
        let url = Url::parse(address)
            .map_err(|e| format!("is not a valid REST server address ({e}); write it as rest:https://host:8000/repo"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("a REST server address starts with rest:https:// or rest:http:// (got {}:)", url.scheme()));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("the REST server address has no host name".into());
        }
        if url.password().is_some() {
            return Err(
                "must not hold a password: put the password in the keychain (the server password field of the plan), not in caretaker.toml"
                    .into(),
            );
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err("a REST server address has no ?query or #fragment".into());
        }
        let server = RestServer { url };
        if server.url.scheme() == "http" && !server.is_loopback() {
            return Err(format!(
                "plain http to another machine ({}) would send the server password unencrypted: use https (rest-server --tls), \
                 or http to this machine only (127.0.0.1, an SSH tunnel for example)",
                server.url.host_str().unwrap_or_default()
            ));
        }
        Ok(server)
    }

    /// The server is this machine.
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(self.url.host_str().unwrap_or_default())
    }

    /// The user name in the address ("" when there is none).
    pub fn user(&self) -> &str {
        self.url.username()
    }

    /// The address as configured (it never holds a secret): for messages and logs.
    pub fn display(&self) -> String {
        format!("{REST_PREFIX}{}", self.url)
    }

    /// The address rustic's REST backend connects to, with the server password inside for HTTP
    /// basic authentication, and that password as it is written in the URL (percent-encoded),
    /// so the caller can keep both out of every message. For the worker's memory only.
    pub fn with_password(&self, password: Option<&str>) -> (String, Option<String>) {
        let mut url = self.url.clone();
        let mut encoded = None;
        if let Some(p) = password.filter(|p| !p.is_empty()) {
            if url.set_password(Some(p)).is_ok() {
                encoded = url.password().map(str::to_string);
            }
        }
        (format!("{REST_PREFIX}{url}"), encoded)
    }
}

/// `text` with every non-empty secret replaced by `***`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(s.as_str(), "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(s: &str) -> String {
        Location::parse(s).expect_err(s)
    }

    #[test]
    fn folders_and_rest_servers_are_told_apart() {
        assert_eq!(Location::parse("/Volumes/B/repo"), Ok(Location::Folder(PathBuf::from("/Volumes/B/repo"))));
        let Ok(Location::Rest(s)) = Location::parse("rest:http://127.0.0.1:8000/repo") else { panic!("rest") };
        assert!(s.is_loopback());
        assert_eq!(s.display(), "rest:http://127.0.0.1:8000/repo");
        let Ok(Location::Rest(s)) = Location::parse("rest:https://alice@backup.example.org/mini/") else { panic!("rest") };
        assert_eq!((s.user(), s.is_loopback()), ("alice", false));
        for ok in ["rest:http://localhost:8000/", "rest:http://[::1]:8000/r"] {
            assert!(matches!(Location::parse(ok), Ok(Location::Rest(_))), "{ok}");
        }
        assert!(problem("relative/repo").contains("absolute folder path"));
        assert!(Location::is_remote("rest:http://localhost:8000/") && !Location::is_remote("/Volumes/B/repo"));
        assert!(Location::has_server_secret("s3:https://K@h/b") && !Location::has_server_secret("sftp://u@h/r"));
        assert!(problem("rest:ftp://host/r").contains("rest:https://"));
        assert!(problem("rest:not a url").contains("not a valid REST server address"));
    }

    #[test]
    fn a_password_in_the_address_is_refused_and_never_repeated() {
        let msg = problem("rest:https://alice:hunter22@host/repo");
        assert!(msg.contains("keychain") && msg.contains("not in caretaker.toml"), "{msg}");
        assert!(!msg.contains("hunter22"), "{msg}");
    }

    #[test]
    fn plain_http_only_reaches_this_machine() {
        let msg = problem("rest:http://nas.local:8000/repo");
        assert!(msg.contains("https") && msg.contains("nas.local"), "{msg}");
        assert!(problem("rest:http://192.168.1.5:8000/").contains("unencrypted"));
        assert!(Location::parse("rest:https://192.168.1.5:8000/").is_ok());
    }

    #[test]
    fn the_password_goes_into_the_url_and_can_be_hidden_again() {
        let Ok(Location::Rest(s)) = Location::parse("rest:http://alice@127.0.0.1:8000/repo") else { panic!("rest") };
        let (url, encoded) = s.with_password(Some("p@ss word"));
        assert_eq!(url, "rest:http://alice:p%40ss%20word@127.0.0.1:8000/repo");
        let secrets = vec!["p@ss word".to_string(), encoded.unwrap_or_default()];
        assert_eq!(redact(&format!("failed for url ({url})"), &secrets), "failed for url (rest:http://alice:***@127.0.0.1:8000/repo)");
        assert_eq!(s.with_password(None).0, "rest:http://alice@127.0.0.1:8000/repo");
    }
}
