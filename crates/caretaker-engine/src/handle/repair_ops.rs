//! The config banner's repairs, for a `caretaker.toml` the engine refused: reset one of its
//! tables to the defaults, or put the last good copy back. Either way the file as it was is kept
//! beside it first (`caretaker.before-repair.toml`), then the file is read again as a hand edit
//! would be: applied when it loads, the banner's alert resolved.

use super::{EngineHandle, Reloaded};
use crate::config::{self, LAST_GOOD_FILE};
use crate::error::{EngineError, Result};
use crate::paths::CONFIG_FILE;
use std::path::Path;

/// Where the file as it was before a repair is kept.
pub const BEFORE_REPAIR_FILE: &str = "caretaker.before-repair.toml";

impl EngineHandle {
    /// Removes the `[section]` table (with its sub-tables and lists) from caretaker.toml, so that
    /// part runs on its defaults (a table the engine does not know is removed the same way). Returns what is still wrong with the file (empty: it loads).
    pub async fn reset_file_section(&self, section: String) -> Result<Vec<String>> {
        self.repair(move |dir| {
            let path = dir.join(CONFIG_FILE);
            let text = read(&path)?;
            let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
                EngineError::InvalidInput(format!(
                    "{} is not valid TOML, so no section can be picked out of it ({}); restore the last good file or fix it by hand",
                    path.display(),
                    e.message()
                ))
            })?;
            if doc.remove(&section).is_none() {
                return Err(EngineError::NotFound(format!(
                    "{} has no [{section}] section: it already runs on its defaults",
                    path.display()
                )));
            }
            Ok(doc.to_string().into_bytes())
        })
        .await
    }

    /// Puts `caretaker.last-good.toml` (the last file that loaded) back as caretaker.toml.
    pub async fn restore_last_good_config(&self) -> Result<Vec<String>> {
        self.repair(|dir| {
            let good = dir.join(LAST_GOOD_FILE);
            if !good.exists() {
                return Err(EngineError::NotFound(format!(
                    "there is no last good copy yet ({}): reset the sections named in the problem instead",
                    good.display()
                )));
            }
            Ok(read(&good)?.into_bytes())
        })
        .await
    }

    /// Writes what `next` makes of the data folder's file (the old one kept first), then reads
    /// it again; returns what is still wrong.
    async fn repair(&self, next: impl FnOnce(&Path) -> Result<Vec<u8>> + Send + 'static) -> Result<Vec<String>> {
        let core = &self.services().core;
        let dir = core.data_dir.clone();
        {
            let _edit = core.edit_lock().await;
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || {
                let bytes = next(&dir)?;
                let path = dir.join(CONFIG_FILE);
                if let Ok(old) = std::fs::read(&path) {
                    config::write_atomic(&dir.join(BEFORE_REPAIR_FILE), &old)?;
                }
                config::write_atomic(&path, &bytes)
            })
            .await
            .map_err(|e| EngineError::Internal(format!("the settings writer failed: {e}")))??;
        }
        tracing::info!("caretaker.toml repaired from the app; the old file is kept as {BEFORE_REPAIR_FILE}");
        match self.reload_config().await? {
            Reloaded::Refused => Ok(tokio::task::spawn_blocking(move || config::check_file(&dir))
                .await
                .map_err(|e| EngineError::Internal(format!("the config reader failed: {e}")))?
                .err()
                .unwrap_or_default()
                .iter()
                .map(|i| i.to_string())
                .collect()),
            Reloaded::Same | Reloaded::Applied { .. } => Ok(Vec::new()),
        }
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| EngineError::InvalidInput(format!("cannot read {}: {e}", path.display())))
}
