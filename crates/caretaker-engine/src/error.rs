//! The engine's one error type. Every error crosses IPC as `{ kind, code, message, fields }`:
//! `code` is the precise, stable reason the UI branches on (`wrong_password`, `disk_full`, …),
//! `kind` the older coarse family kept for callers that match on it, `message` is written for a
//! person, and `fields` names the config paths an `invalid_config` error is about.
//!
//! Foundation layer: this file imports nothing from the rest of the crate.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use ts_rs::TS;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Every problem found in a config file, each naming its field path.
    #[error("{}", .0.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("\n"))]
    Config(Vec<ConfigIssue>),

    #[error("the data folder {} is in use by another Caretaker engine (pid {pid}); quit it first", path.display())]
    AlreadyRunning { path: PathBuf, pid: String },

    #[error("the database {} was written by a newer Caretaker (schema version {found}, this build knows up to {known}); install the newer Caretaker or point --data-dir elsewhere", path.display())]
    DatabaseTooNew { path: PathBuf, found: i64, known: i64 },

    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    #[error("{0}")]
    InvalidInput(String),

    /// A long job of this kind is already running; the caller is refused, not queued.
    #[error("{0}")]
    Busy(String),

    /// What was asked for does not exist (a plan, a check, a run, a snapshot).
    #[error("{0}")]
    NotFound(String),

    /// The OS keychain could not be used (locked, absent, refused).
    #[error("{0}")]
    Keychain(String),

    /// A backup, restore or repository job failed for a reason the worker classified.
    #[error("{message}")]
    Job { code: ErrorCode, message: String },

    #[error("the engine is shutting down")]
    ShuttingDown,

    #[error("internal error: {0}")]
    Internal(String),
}

impl EngineError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        EngineError::Io { context: context.into(), source }
    }

    /// A job failure with its precise code.
    pub(crate) fn job(code: ErrorCode, message: impl Into<String>) -> Self {
        EngineError::Job { code, message: message.into() }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            EngineError::Config(_) => ErrorKind::InvalidConfig,
            EngineError::AlreadyRunning { .. } => ErrorKind::AlreadyRunning,
            EngineError::DatabaseTooNew { .. } => ErrorKind::DatabaseTooNew,
            EngineError::Database(_) => ErrorKind::Database,
            EngineError::Io { .. } => ErrorKind::Io,
            EngineError::InvalidInput(_) => ErrorKind::InvalidInput,
            EngineError::Busy(_) => ErrorKind::AlreadyRunning,
            EngineError::ShuttingDown => ErrorKind::ShuttingDown,
            EngineError::Internal(_) => ErrorKind::Internal,
            EngineError::NotFound(_) => ErrorKind::InvalidInput,
            EngineError::Keychain(_) => ErrorKind::Io,
            EngineError::Job { code, .. } => match code {
                ErrorCode::WrongPassword | ErrorCode::Conflict | ErrorCode::InvalidInput => ErrorKind::InvalidInput,
                ErrorCode::RepositoryUnreachable | ErrorCode::DiskFull | ErrorCode::Io => ErrorKind::Io,
                ErrorCode::Busy | ErrorCode::AlreadyRunning => ErrorKind::AlreadyRunning,
                _ => ErrorKind::Internal,
            },
        }
    }

    /// The precise reason, for code to branch on.
    pub fn code(&self) -> ErrorCode {
        match self {
            EngineError::Config(_) => ErrorCode::InvalidConfig,
            EngineError::AlreadyRunning { .. } => ErrorCode::AlreadyRunning,
            EngineError::DatabaseTooNew { .. } => ErrorCode::DatabaseTooNew,
            EngineError::Database(e) if is_disk_full_sqlite(e) => ErrorCode::DiskFull,
            EngineError::Database(_) => ErrorCode::Database,
            EngineError::Io { source, .. } if is_disk_full(source) => ErrorCode::DiskFull,
            EngineError::Io { .. } => ErrorCode::Io,
            EngineError::InvalidInput(_) => ErrorCode::InvalidInput,
            EngineError::Busy(_) => ErrorCode::Busy,
            EngineError::NotFound(_) => ErrorCode::NotFound,
            EngineError::Keychain(_) => ErrorCode::KeychainUnavailable,
            EngineError::Job { code, .. } => *code,
            EngineError::ShuttingDown => ErrorCode::ShuttingDown,
            EngineError::Internal(_) => ErrorCode::Internal,
        }
    }

    pub fn payload(&self) -> ErrorPayload {
        let fields = match self {
            EngineError::Config(issues) => issues.iter().map(|i| i.path.clone()).collect(),
            _ => Vec::new(),
        };
        ErrorPayload { kind: self.kind(), code: self.code(), message: self.to_string(), fields }
    }
}

fn is_disk_full(e: &std::io::Error) -> bool {
    // ENOSPC (28 on Linux and macOS) and EDQUOT (122 Linux, 69 macOS): no room to write.
    matches!(e.raw_os_error(), Some(28)) || e.kind() == std::io::ErrorKind::StorageFull
}

fn is_disk_full_sqlite(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DiskFull)
}

/// Stable error codes the UI may branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    InvalidConfig,
    AlreadyRunning,
    DatabaseTooNew,
    Database,
    Io,
    InvalidInput,
    ShuttingDown,
    Internal,
}

/// The precise reason a command failed; the UI branches on it, never on message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The config (file or an edit) is invalid; `fields` names the paths.
    InvalidConfig,
    /// Another engine owns the data folder.
    AlreadyRunning,
    /// A job of this kind is already running; the caller is refused, not queued.
    Busy,
    DatabaseTooNew,
    Database,
    Io,
    /// No space left on the device being written.
    DiskFull,
    InvalidInput,
    NotFound,
    WrongPassword,
    /// The repository folder is missing or unreadable (an unplugged disk, an unmounted share).
    RepositoryUnreachable,
    /// A check found damage in the repository.
    RepositoryCorrupt,
    /// The OS keychain could not store or read a secret.
    KeychainUnavailable,
    /// A restore would replace existing files and no policy was chosen.
    Conflict,
    Cancelled,
    ShuttingDown,
    /// No engine answers on the control socket (not running, or it went away mid-command).
    EngineUnreachable,
    Internal,
}

impl ErrorPayload {
    /// A failure that did not come from the engine (it could not be reached).
    pub fn unreachable(message: impl Into<String>) -> Self {
        ErrorPayload { kind: ErrorKind::Io, code: ErrorCode::EngineUnreachable, message: message.into(), fields: Vec::new() }
    }
}

impl std::fmt::Display for ErrorPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ErrorPayload {}

/// One problem in a config file (or in an edit), naming the field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub path: String,
    pub message: String,
    /// 1-based line and column in the file, where known.
    pub location: Option<(usize, usize)>,
}

impl std::fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)?;
        if let Some((line, col)) = self.location {
            write!(f, " (line {line}, column {col})")?;
        }
        Ok(())
    }
}

/// What a failed command returns across IPC and the control socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ErrorPayload {
    pub kind: ErrorKind,
    pub code: ErrorCode,
    pub message: String,
    /// For `invalid_config`: the field paths at fault (e.g. `checks.list[2].http.url`).
    pub fields: Vec<String>,
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_has_its_own_code_and_keeps_its_kind() {
        let full = EngineError::io("cannot write /Volumes/Backup/x", std::io::Error::from_raw_os_error(28));
        assert_eq!((full.code(), full.kind()), (ErrorCode::DiskFull, ErrorKind::Io));
        let other = EngineError::io("cannot read", std::io::Error::from_raw_os_error(13));
        assert_eq!(other.code(), ErrorCode::Io);
        assert_eq!(EngineError::Keychain("locked".into()).code(), ErrorCode::KeychainUnavailable);
        assert_eq!(
            (EngineError::Busy("x".into()).code(), EngineError::Busy("x".into()).kind()),
            (ErrorCode::Busy, ErrorKind::AlreadyRunning)
        );
        assert_eq!(
            (EngineError::NotFound("x".into()).code(), EngineError::NotFound("x".into()).kind()),
            (ErrorCode::NotFound, ErrorKind::InvalidInput)
        );
        let issues = vec![ConfigIssue {
            path: "metrics.interval_secs".into(),
            message: "must be between 1 and 3600 (got 0)".into(),
            location: None,
        }];
        let p = EngineError::Config(issues).payload();
        assert_eq!((p.code, p.fields), (ErrorCode::InvalidConfig, vec!["metrics.interval_secs".to_string()]));
        let json = serde_json::to_value(EngineError::job(ErrorCode::WrongPassword, "wrong password").payload()).expect("json");
        assert_eq!(json["code"], "wrong_password");
        assert_eq!(json["kind"], "invalid_input");
    }
}
