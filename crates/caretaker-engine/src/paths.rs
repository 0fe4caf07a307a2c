//! Where Caretaker keeps its data: the OS application-support folder unless told otherwise.

use std::path::PathBuf;

pub const DATA_DIR_ENV: &str = "CARETAKER_DATA_DIR";
pub const CONFIG_FILE: &str = "caretaker.toml";
pub const DB_FILE: &str = "caretaker.db";
pub const LOCK_FILE: &str = "caretaker.lock";
pub const LOG_DIR: &str = "logs";

/// `--data-dir` wins, then `CARETAKER_DATA_DIR`, then the OS default
/// (macOS `~/Library/Application Support/Caretaker`, Linux `~/.local/share/caretaker`).
pub fn resolve_data_dir(explicit: Option<PathBuf>) -> PathBuf {
    if let Some(dir) = explicit {
        return dir;
    }
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    let name = if cfg!(target_os = "macos") { "Caretaker" } else { "caretaker" };
    dirs::data_dir().or_else(|| dirs::home_dir().map(|h| h.join(".local").join("share"))).unwrap_or_else(std::env::temp_dir).join(name)
}
