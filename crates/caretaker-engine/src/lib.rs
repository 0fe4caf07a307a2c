//! Caretaker's engine. Knows nothing of windows: the desktop shell, the `caretaker` CLI and the
//! tests all drive it through [`Engine::start`], [`EngineHandle`] and [`Event`].
//!
//! Layers, each importing only from the layers below it (`tests/layering.rs` enforces this):
//! - foundation: `error`, `clock`, `paths`, `store`, `lock`, `sql_enum`;
//! - models: each capability's data types, config section, storage and pure decisions
//!   (`<capability>/*.rs` except `service.rs`), and the aggregators `events` and `config`;
//! - core: `core` (shared resources only: db, clock, bus, cancel, config cell, alerts);
//! - services: `<capability>/service.rs`, owning its state, loop and operations;
//! - composition: `engine` (start and stop order), `handle` (the public API, delegation only);
//! - adapters: `http` and `control` (started by `engine`, the sanctioned upward edges) and
//!   `logging` here;
//!   the desktop shell and the CLI outside the crate.

pub mod alerts;
pub mod analysis;
pub mod backup;
pub mod bindings;
pub mod channels;
pub mod checks;
pub mod clock;
pub mod config;
pub mod consent;
#[cfg(unix)]
pub mod control;
mod core;
pub mod detectors;
mod engine;
mod error;
pub mod events;
pub mod forward;
mod handle;
pub mod healing;
pub mod http;
mod lock;
pub mod logging;
pub mod logs;
pub mod maintenance;
pub mod metrics;
pub mod net;
pub mod paths;
pub mod presence;
mod process;
pub mod secrets;
mod sql_enum;
pub mod store;
pub mod tray_view;

// The command contract names its types by the crate's public paths.
extern crate self as caretaker_engine;

pub use alerts::{Alert, AlertQuery, AlertStatus, Notice, Severity};
pub use analysis::{Finding, PromptState, Scan};
pub use checks::{CheckHistoryQuery, CheckResult, CheckStatus, CheckSummary};
pub use clock::{Clock, SystemClock};
pub use config::{CheckConfig, Config};
pub use detectors::{DetectorConfig, DetectorState};
pub use engine::{read_status, Engine, EngineOptions, StoredStatus};
pub use error::{ConfigIssue, EngineError, ErrorCode, ErrorKind, ErrorPayload, Result};
pub use events::{Capability, EngineState, EngineStatus, Event, RunbookInfo, Snapshot};
pub use handle::{EngineHandle, Reloaded};
pub use healing::{ActionSummary, DryRun, HealingOverview, HealingQuery, HealingRecord};
pub use lock::in_use as data_dir_in_use;
pub use logs::{LogLevel, LogLine, LogQuery};
pub use maintenance::{MaintenanceStatus, RunReport};
pub use metrics::store::{Resolution, SeriesData, SeriesQuery, SeriesResult};
pub use metrics::HostSample;
