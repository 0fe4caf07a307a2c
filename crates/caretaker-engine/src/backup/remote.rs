//! The two remote kinds reached through rustic's openDAL backend: an S3-compatible bucket (AWS,
//! Backblaze B2's S3 API, Wasabi, MinIO, …) and an SFTP server. Addresses are written as restic
//! writes them, so a person can point restic at the same repository:
//!
//! - `s3:https://KEYID@s3.eu-central-003.backblazeb2.com/bucket/path`: the access key ID sits in
//!   the address like a user name (it names the key, it does not open anything); the secret
//!   access key is kept in the keychain, never here. The signing region is read from the
//!   provider's host name (`s3.<region>.amazonaws.com`, `s3.<region>.backblazeb2.com`,
//!   `s3.<region>.wasabisys.com`, `<region>.digitaloceanspaces.com`), else `us-east-1`, which is
//!   what MinIO and most self-hosted servers expect.
//! - `sftp://user@host:22/srv/restic` or restic's short form `sftp:user@host:/srv/restic`: ssh
//!   logs in with Caretaker's own key (see `backup::ssh_key`) or the person's ssh setup; there is
//!   no password to keep. The path is absolute.
//!
//! Plain `http://` to S3 is accepted to this machine only, as for REST servers.

use super::location::is_loopback_host;
use reqwest::Url;

pub const S3_PREFIX: &str = "s3:";
pub const SFTP_PREFIX: &str = "sftp:";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Bucket {
    /// `https://host[:port]`, without the key ID or a path.
    endpoint: String,
    key_id: String,
    bucket: String,
    /// The repository's folder inside the bucket, `/` for the bucket's top.
    root: String,
    region: String,
    display: String,
}

impl S3Bucket {
    pub(super) fn parse(address: &str) -> Result<S3Bucket, String> {
        let full = if address.contains("://") { address.to_string() } else { format!("https://{address}") };
        let url =
            Url::parse(&full).map_err(|e| format!("is not a valid S3 address ({e}); write it as s3:https://KEYID@host/bucket/path"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("an S3 address starts with s3:https:// or s3:http:// (got {}:)", url.scheme()));
        }
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or("the S3 address has no host name")?.to_string();
        if url.password().is_some() {
            return Err(
                "must not hold the secret access key: it goes in the keychain (the plan's secret key field), not in caretaker.toml".into(),
            );
        }
        if url.username().is_empty() {
            return Err("names no access key ID: write it before the host, as in s3:https://KEYID@host/bucket".into());
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err("an S3 address has no ?query or #fragment".into());
        }
        let mut parts = url.path().trim_matches('/').splitn(2, '/');
        let bucket =
            parts.next().filter(|b| !b.is_empty()).ok_or("names no bucket: write it after the host, as in s3:https://KEYID@host/bucket")?;
        let root = format!("/{}", parts.next().unwrap_or_default().trim_matches('/'));
        if url.scheme() == "http" && !is_loopback_host(&host) {
            return Err(format!(
                "plain http to another machine ({host}) would let anyone on the way read what is stored and withhold it: use https, \
                 or http to this machine only"
            ));
        }
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        let endpoint = format!("{}://{host}{port}", url.scheme());
        let region = region_of(&host);
        let display = format!("{S3_PREFIX}{}://{}@{host}{port}/{bucket}{}", url.scheme(), url.username(), root.trim_end_matches('/'));
        Ok(S3Bucket { endpoint, key_id: url.username().to_string(), bucket: bucket.to_string(), root, region, display })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
    pub fn bucket(&self) -> &str {
        &self.bucket
    }
    pub fn root(&self) -> &str {
        &self.root
    }
    pub fn region(&self) -> &str {
        &self.region
    }
    /// The address as configured, normalised (it never holds a secret).
    pub fn display(&self) -> &str {
        &self.display
    }
}

/// The signing region, read off the providers' host names; `us-east-1` otherwise.
fn region_of(host: &str) -> String {
    let host = host.to_ascii_lowercase();
    for suffix in [".amazonaws.com", ".backblazeb2.com", ".wasabisys.com"] {
        if let Some(rest) = host.strip_suffix(suffix) {
            let mut labels = rest.rsplit('.');
            if let Some(region) = labels.next().filter(|r| *r != "s3" && r.contains('-')) {
                return region.trim_start_matches("s3-").to_string();
            }
        }
    }
    if let Some(rest) = host.strip_suffix(".digitaloceanspaces.com") {
        if let Some(region) = rest.rsplit('.').next() {
            return region.to_string();
        }
    }
    "us-east-1".into()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SftpServer {
    user: String,
    host: String,
    port: u16,
    path: String,
}

impl SftpServer {
    pub(super) fn parse(address: &str) -> Result<SftpServer, String> {
        let (user, host, port, path) = if address.starts_with("sftp://") {
            let url =
                Url::parse(address).map_err(|e| format!("is not a valid SFTP address ({e}); write it as sftp://user@host:22/srv/repo"))?;
            if url.password().is_some() {
                return Err("must not hold a password: Caretaker logs in to SFTP servers with an SSH key".into());
            }
            let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_string();
            let path = percent_decode(url.path());
            (url.username().to_string(), host, url.port().unwrap_or(22), path)
        } else {
            // restic's short form: sftp:user@host:/path
            let rest = address.strip_prefix(SFTP_PREFIX).unwrap_or(address);
            let (login, path) = rest
                .split_once(':')
                .ok_or("is not a valid SFTP address: write it as sftp://user@host:22/srv/repo or sftp:user@host:/srv/repo")?;
            let (user, host) = login.rsplit_once('@').unwrap_or(("", login));
            (user.to_string(), host.to_string(), 22, path.to_string())
        };
        if host.is_empty() {
            return Err("the SFTP address has no host name".into());
        }
        if user.is_empty() {
            return Err("names no user: write it before the host, as in sftp://user@host/srv/repo".into());
        }
        if !path.starts_with('/') || path.trim_matches('/').is_empty() {
            return Err(format!(
                "must name the repository's folder on the server as an absolute path, such as /srv/restic (got \"{path}\")"
            ));
        }
        if path.split('/').any(|c| c == "..") {
            return Err("the folder on the server must not contain \"..\"".into());
        }
        Ok(SftpServer { user, host, port, path: path.trim_end_matches('/').to_string() })
    }

    pub fn user(&self) -> &str {
        &self.user
    }
    pub fn port(&self) -> u16 {
        self.port
    }
    /// `user@host`, as ssh and sftp take it.
    pub fn login(&self) -> String {
        if self.host.contains(':') {
            format!("{}@[{}]", self.user, self.host)
        } else {
            format!("{}@{}", self.user, self.host)
        }
    }
    /// What ssh connects to: `ssh://host:port`.
    pub fn endpoint(&self) -> String {
        if self.host.contains(':') {
            format!("ssh://[{}]:{}", self.host, self.port)
        } else {
            format!("ssh://{}:{}", self.host, self.port)
        }
    }
    pub fn path(&self) -> &str {
        &self.path
    }
    /// The address as configured, normalised.
    pub fn display(&self) -> String {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        format!("sftp://{}@{host}:{}{}", self.user, self.port, self.path)
    }
}

fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::super::location::Location;
    use super::*;

    fn s3(a: &str) -> S3Bucket {
        match Location::parse(a) {
            Ok(Location::S3(b)) => b,
            other => panic!("{a}: {other:?}"),
        }
    }

    fn sftp(a: &str) -> SftpServer {
        match Location::parse(a) {
            Ok(Location::Sftp(s)) => s,
            other => panic!("{a}: {other:?}"),
        }
    }

    #[test]
    fn s3_addresses_name_endpoint_key_bucket_folder_and_region() {
        let b = s3("s3:https://0042abc@s3.eu-central-003.backblazeb2.com/house-backups/mini/");
        assert_eq!(
            (b.endpoint(), b.key_id(), b.bucket(), b.root(), b.region()),
            ("https://s3.eu-central-003.backblazeb2.com", "0042abc", "house-backups", "/mini", "eu-central-003")
        );
        assert_eq!(b.display(), "s3:https://0042abc@s3.eu-central-003.backblazeb2.com/house-backups/mini");
        assert_eq!(s3("s3:AKIA1@s3.eu-west-1.amazonaws.com/b").region(), "eu-west-1");
        assert_eq!(s3("s3:https://AKIA1@s3.amazonaws.com/b").region(), "us-east-1");
        assert_eq!(s3("s3:https://K@s3.us-east-2.wasabisys.com/b").region(), "us-east-2");
        assert_eq!(s3("s3:https://K@fra1.digitaloceanspaces.com/b").region(), "fra1");
        let local = s3("s3:http://minio@127.0.0.1:9000/bucket");
        assert_eq!((local.endpoint(), local.root(), local.region()), ("http://127.0.0.1:9000", "/", "us-east-1"));
    }

    #[test]
    fn s3_addresses_refuse_secrets_missing_parts_and_plain_http_away() {
        let e = Location::parse("s3:https://KEY:topsecret@host/b").expect_err("secret");
        assert!(e.contains("keychain") && !e.contains("topsecret"), "{e}");
        assert!(Location::parse("s3:https://host/b").expect_err("key id").contains("access key ID"));
        assert!(Location::parse("s3:https://K@host/").expect_err("bucket").contains("bucket"));
        assert!(Location::parse("s3:http://K@nas.local:9000/b").expect_err("http").contains("https"));
        assert!(Location::parse("s3:ftp://K@h/b").expect_err("scheme").contains("s3:https://"));
    }

    #[test]
    fn sftp_addresses_in_both_forms() {
        let a = sftp("sftp://backup@nas.local:2222/srv/restic/mini/");
        assert_eq!((a.user(), a.endpoint(), a.path()), ("backup", "ssh://nas.local:2222".to_string(), "/srv/restic/mini"));
        assert_eq!(a.display(), "sftp://backup@nas.local:2222/srv/restic/mini");
        let b = sftp("sftp:me@192.168.1.4:/volume1/restic");
        assert_eq!((b.user(), b.endpoint(), b.path()), ("me", "ssh://192.168.1.4:22".to_string(), "/volume1/restic"));
        assert_eq!(sftp("sftp://u@[::1]:22/r%20s").endpoint(), "ssh://[::1]:22");
        assert_eq!(sftp("sftp://u@[::1]:22/r%20s").path(), "/r s");
    }

    #[test]
    fn sftp_addresses_refuse_what_cannot_work() {
        assert!(Location::parse("sftp://host/srv/r").expect_err("user").contains("user"));
        assert!(Location::parse("sftp:me@host:restic").expect_err("relative").contains("absolute path"));
        assert!(Location::parse("sftp://me@host/").expect_err("root").contains("absolute path"));
        assert!(Location::parse("sftp:me@host:/srv/../etc").expect_err("dots").contains(".."));
        let e = Location::parse("sftp://me:pw123@host/srv/r").expect_err("password");
        assert!(e.contains("SSH key") && !e.contains("pw123"), "{e}");
        assert!(Location::parse("sftp:nohost").is_err());
    }
}
