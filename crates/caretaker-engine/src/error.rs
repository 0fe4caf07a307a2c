//! The engine's one error type. Every error crosses IPC as `{ kind, message }`: `kind` is stable
//! for code to branch on, `message` is written for a person.

use serde::Serialize;
use std::path::PathBuf;
use ts_rs::TS;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Every problem found in a config file, each naming its field path.
    #[error("{}", .0.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("\n"))]
    Config(Vec<crate::config::ConfigIssue>),

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

    #[error("the engine is shutting down")]
    ShuttingDown,

    #[error("internal error: {0}")]
    Internal(String),
}

impl EngineError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        EngineError::Io { context: context.into(), source }
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
        }
    }

    pub fn payload(&self) -> ErrorPayload {
        ErrorPayload { kind: self.kind(), message: self.to_string() }
    }
}

/// Stable error codes the UI may branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
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

/// What a failed command returns across IPC.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ErrorPayload {
    pub kind: ErrorKind,
    pub message: String,
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;
