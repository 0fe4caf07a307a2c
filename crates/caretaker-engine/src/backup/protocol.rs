//! What the engine and the backup worker process say to each other.
//!
//! The engine writes one [`Request`] as a JSON line to the worker's stdin (the password travels
//! here, never in argv or the environment) and reads [`WorkerEvent`]s, one JSON object per line,
//! from its stdout. The worker links rustic_core; the engine does not.

use serde::{Deserialize, Serialize};
use std::path::{Component, Path, PathBuf};
use ts_rs::TS;

/// The hidden subcommand that turns the `caretaker` binary (and the app) into a worker.
pub const WORKER_ARG: &str = "__backup-worker";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    /// A folder, or a REST server as `rest:https://host/path` (see `location`); kept a path on
    /// the wire so requests from an older engine still read.
    pub repository: PathBuf,
    pub password: String,
    /// The REST server's password (HTTP basic authentication), when it has one. Like the
    /// repository password it travels on this pipe only and never appears in a message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_password: Option<String>,
    /// The repository's master key from an earlier job (JSON), kept in the engine's memory only:
    /// it spares every job the deliberately slow password-to-key derivation (about 0.4 s and
    /// 128 MiB). The password is used when it is absent or no longer opens the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// How to reach a remote repository beyond its address (an SFTP key, an upload limit).
    #[serde(default, skip_serializing_if = "Remote::is_empty")]
    pub remote: Remote,
    #[serde(flatten)]
    pub op: Op,
}

/// A remote repository's connection settings that are not secrets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remote {
    /// SFTP: the private key file ssh logs in with (Caretaker's own, see `ssh_key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_key: Option<PathBuf>,
    /// Most bytes per second sent to the repository, on average; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_limit: Option<u64>,
}

impl Remote {
    pub fn is_empty(&self) -> bool {
        *self == Remote::default()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Creates a repository (format v2) in an empty or missing folder, or on a REST server.
    Init,
    /// Reachable? Initialised? Does the password open it? Answers a [`ConnectionReport`];
    /// writes nothing.
    Probe,
    Backup(BackupJob),
    /// A backup, then (only when it succeeded) the plan's retention, in one process: one open of
    /// the repository and one key derivation. Answers a [`BackupThenForget`].
    BackupThenForget {
        job: BackupJob,
        host: String,
        tag: String,
        keep: Keep,
    },
    /// Applies a retention policy to one plan's snapshots, then prunes unreferenced data.
    Forget {
        host: String,
        tag: String,
        keep: Keep,
    },
    /// `read_subset`: (n, m) reads the n-th of m slices of the pack files; none reads no data.
    Check {
        read_subset: Option<(u32, u32)>,
    },
    Snapshots,
    /// Lists one directory of a snapshot (not recursive).
    Ls {
        snapshot: String,
        path: String,
    },
    Restore(RestoreJob),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupJob {
    pub sources: Vec<PathBuf>,
    pub excludes: Vec<String>,
    pub host: String,
    pub tags: Vec<String>,
    pub label: String,
    /// The plan's last backup did not finish: first index the packs it uploaded (they are in the
    /// repository but in no index), so their data is not sent again.
    #[serde(default)]
    pub resume: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RestoreJob {
    pub snapshot: String,
    /// A path inside the snapshot ("" or "/" for all of it).
    pub path: String,
    pub destination: PathBuf,
    /// None: refuse (with a `conflict` error listing examples) when anything would be replaced.
    pub on_conflict: Option<ConflictPolicy>,
    /// Host name for the safety snapshot taken before an overwrite.
    pub host: String,
}

/// Whether a restore destination is the file system's root, written any way (`/`, `/tmp/..`) or
/// reached through a link. A restore there would lay the snapshot's folders over the system's
/// own, so both the engine and the worker refuse it.
pub fn is_filesystem_root(destination: &Path) -> bool {
    let mut depth = 0usize;
    for c in destination.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::ParentDir => depth = depth.saturating_sub(1),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    (destination.has_root() && depth == 0) || std::fs::canonicalize(destination).is_ok_and(|p| p == Path::new("/"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ConflictPolicy {
    /// Leave files that already exist alone.
    Skip,
    /// Restore next to them, as "name (restored YYYY-MM-DD).ext".
    KeepBoth,
    /// Replace them, after backing them up in a safety snapshot.
    Overwrite,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields, default)]
pub struct Keep {
    pub last: u32,
    pub hourly: u32,
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WorkerEvent {
    Progress(JobProgress),
    /// The repository's master key, after a job that had to derive it from the password.
    Key {
        key: String,
    },
    Done {
        result: serde_json::Value,
    },
    Error {
        kind: ErrorKind,
        message: String,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct JobProgress {
    /// What the worker is doing ("scanning", "backing up", "restoring", "checking", ...).
    pub phase: String,
    pub bytes_done: u64,
    /// Unknown until the source has been scanned.
    pub bytes_total: Option<u64>,
    pub files_done: u64,
    pub files_total: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The repository folder is missing or unreadable (an unplugged disk, an unmounted share).
    Unreachable,
    WrongPassword,
    /// A restore would replace existing files and no policy was chosen.
    Conflict,
    NoSpace,
    Cancelled,
    /// The repository is damaged.
    Corrupt,
    /// Another program holds a lock on the repository that this job must respect; nothing was
    /// changed and the job runs again later.
    Locked,
    /// The worker stopped reporting progress (a hung disk or network share) and was stopped.
    Stuck,
    Failed,
    /// The engine could not read the password from the keychain (locked, not answering).
    #[serde(rename = "keychain_unavailable")]
    Keychain,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::WrongPassword => "wrong_password",
            ErrorKind::Conflict => "conflict",
            ErrorKind::NoSpace => "no_space",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::Locked => "locked",
            ErrorKind::Stuck => "stuck",
            ErrorKind::Failed => "failed",
            ErrorKind::Keychain => "keychain_unavailable",
        }
    }
}

/// What a backup reports when it is done.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct BackupSummary {
    pub snapshot_id: String,
    pub files_new: u64,
    pub files_changed: u64,
    pub files_unmodified: u64,
    pub bytes_processed: u64,
    pub bytes_added: u64,
    /// Files and folders the backup could not read and left out of the snapshot (absent from
    /// an older worker's answer: none reported).
    #[serde(default)]
    pub unreadable: u64,
    /// The first [`UNREADABLE_KEPT`] of them, in the order they were met.
    #[serde(default)]
    pub unreadable_items: Vec<UnreadableItem>,
}

/// How many unreadable items a run keeps by name; the count covers all of them.
pub const UNREADABLE_KEPT: usize = 50;

/// A file or folder left out of a backup because it could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct UnreadableItem {
    /// Empty when the worker could not tell which item it was (`message` still says what happened).
    pub path: String,
    pub reason: UnreadableReason,
    /// The system's own words, for the curious and for a support request.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum UnreadableReason {
    /// The system refused (on macOS: a protected folder, until Full Disk Access is given).
    PermissionDenied,
    /// It was there when the folder was listed and gone when it was read.
    Vanished,
    /// The disk or file system failed to read it.
    Io,
}

/// The answer to `Op::BackupThenForget`: the backup happened; the retention may have failed on
/// its own (the snapshot is safe either way).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupThenForget {
    pub backup: BackupSummary,
    pub forget: std::result::Result<serde_json::Value, ForgetFailure>,
    /// A repository on another machine: the bytes its files take there, from the server's own
    /// listing after the retention (a folder's size is measured by the engine instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_bytes: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ForgetFailure {
    pub kind: ErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SnapshotInfo {
    pub id: String,
    pub short_id: String,
    /// Milliseconds since the epoch.
    pub time_ms: i64,
    pub host: String,
    pub paths: Vec<String>,
    pub tags: Vec<String>,
    pub label: String,
    pub files: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct TreeEntry {
    pub name: String,
    /// Full path inside the snapshot.
    pub path: String,
    pub is_dir: bool,
    pub size: u64,
    pub mtime_ms: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct RestoreSummary {
    pub files_restored: u64,
    pub files_skipped: u64,
    pub files_renamed: u64,
    pub files_overwritten: u64,
    pub bytes_restored: u64,
    /// The safety snapshot taken before overwriting, if any.
    pub safety_snapshot: Option<String>,
}

/// A restore refused because files exist; the UI asks what to do.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct ConflictReport {
    pub existing: u64,
    pub examples: Vec<String>,
}

/// What a connection test found, each question answered only when the one before it was yes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct ConnectionReport {
    /// The folder (or its parent, for a new one) exists, or the server answered and accepted
    /// its user name and password.
    pub reachable: bool,
    /// A repository is already there (it will be adopted, not created).
    pub initialised: bool,
    /// The repository password opens it; None when there is no repository yet.
    pub password_ok: Option<bool>,
    /// One sentence for the person, naming the repository (never a secret).
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct VerifySummary {
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    pub read_data: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_found_however_it_is_written() {
        for root in ["/", "//", "/.", "/..", "/tmp/..", "/a/b/../../.."] {
            assert!(is_filesystem_root(Path::new(root)), "{root}");
        }
        for other in ["/tmp", "/a/b/..", "relative", ""] {
            assert!(!is_filesystem_root(Path::new(other)), "{other}");
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let link = tmp.path().join("root");
        std::os::unix::fs::symlink("/", &link).expect("symlink");
        assert!(is_filesystem_root(&link), "a link to the root is the root");
    }
}
