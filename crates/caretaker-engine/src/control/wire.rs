//! What crosses the control socket: one JSON object per line.

use crate::error::ErrorPayload;
use crate::events::Event;
use serde::{Deserialize, Serialize};

/// The longest line the engine reads from a client; a longer one closes the connection.
pub const MAX_REQUEST_BYTES: usize = 4 << 20;
/// The longest line a client reads from the engine (an exported log can be large).
pub const MAX_REPLY_BYTES: usize = 256 << 20;

/// Commands the socket serves beside the contract's.
pub mod extra {
    /// `{}` → `Hello`: who answers, before anything else is asked.
    pub const HELLO: &str = "hello";
    /// `{}` → null, then every engine event as `Message::Event` on the same connection.
    pub const SUBSCRIBE: &str = "subscribe";
    /// `{}` → null, then the engine stops cleanly (a supervisor that restarts only on failure
    /// leaves it stopped).
    pub const SHUTDOWN: &str = "shutdown";
    /// `{ name }` → `CheckResult`: runs a check now.
    pub const RUN_CHECK: &str = "run_check";
    /// `{}` → `Option<JobInfo>`: the backup job running now.
    pub const BACKUP_JOB: &str = "backup_job";
    /// `{ plan, limit }` → `Vec<BackupRun>`.
    pub const BACKUP_HISTORY: &str = "backup_history";
}

/// A client's request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    pub id: u64,
    pub cmd: String,
    /// The command's arguments by name (snake_case, as in the contract); null for none.
    #[serde(default)]
    pub args: serde_json::Value,
}

/// What the engine sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    Reply {
        id: u64,
        result: Result<serde_json::Value, ErrorPayload>,
    },
    Event {
        event: Box<Event>,
    },
    /// Events were dropped because this client fell behind: re-read the snapshot.
    Resync,
}

/// The answer to `hello`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    pub version: String,
    pub pid: u32,
    pub data_dir: String,
}
