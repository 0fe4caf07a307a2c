//! The background service as the app's switch shows it: `caretaker service status --json` writes
//! a [`ServiceState`] and the app reads it, so both name the same facts the same way.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The per-user service (LaunchAgent or systemd user unit) that keeps the engine running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ServiceState {
    /// Its file exists.
    pub installed: bool,
    /// The service manager reports it running.
    pub running: bool,
    pub pid: Option<u32>,
    /// The service manager's word for it: "running", "inactive", "failed", "not loaded", …
    pub detail: String,
    /// The service file's path.
    pub file: String,
    /// "per-user LaunchAgent", "systemd user unit", …
    pub kind: String,
    /// Why the service manager cannot be used here (no systemd user session, no launchd), if so.
    pub unavailable: Option<String>,
}

/// What the app's "keep running in the background" switch shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ServiceSwitch {
    /// None when the state could not be read (then `problem` says why).
    pub state: Option<ServiceState>,
    /// Why the switch cannot be used (no `caretaker` command beside the app, no service manager),
    /// or why the last change did not happen.
    pub problem: Option<String>,
    /// The person answered the first-run question (either way), so it is not asked again.
    pub asked: bool,
    /// The window talks to a separate engine (the service, or `caretaker run`), not its own.
    pub attached: bool,
}
