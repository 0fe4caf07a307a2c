//! The engine's local control channel: a Unix domain socket in the data folder that serves the
//! command contract (the same table the app's window calls) and a stream of engine events, so the
//! CLI in an SSH session and an app attached to a running service drive the same engine.
//!
//! Only the engine's own user gets in: the socket is made 0600 inside the data folder (itself
//! 0700 when Caretaker made it), and every connection's peer uid is checked before a byte of it
//! is read.
//!
//! Wire format: one JSON object per line each way (see `wire`).

pub mod client;
mod dispatch;
pub mod server;
pub mod wire;

pub use client::{Client, Incoming};
pub use dispatch::{dispatch, COMMANDS};

use std::path::{Path, PathBuf};

/// The socket's name in the data folder.
pub const SOCKET_FILE: &str = "caretaker.sock";

pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET_FILE)
}
