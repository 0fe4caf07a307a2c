//! The Settings page's operations: the configuration as it runs, a section saved at a time
//! (applied at once), the defaults for "Restore defaults", and settings carried to another
//! machine as one file (secrets stay in the keychain).

use super::EngineHandle;
use crate::config::section::{export_text, ConfigSection};
use crate::config::{self, Config};
use crate::core::Piece;
use crate::error::{EngineError, Result};
use crate::paths;

impl EngineHandle {
    /// The configuration the engine runs with (no secrets: those are in the keychain).
    pub fn settings(&self) -> Config {
        self.services().core.config()
    }

    /// The defaults, for "Restore defaults" on a section.
    pub fn default_settings(&self) -> Config {
        Config::default()
    }

    /// Saves one section: validated with the whole file (errors name the field), written into
    /// that table only with the rest of the file and its comments kept, and applied at once.
    pub async fn save_config_section(&self, section: ConfigSection) -> Result<Config> {
        let core = &self.services().core;
        let before = core.config();
        let name = section.name();
        let ((), next) = core
            .edit_config(Piece::Section(name), move |c| {
                section.apply_to(c);
                Ok(())
            })
            .await?;
        self.apply_change(&before, &next).await?;
        Ok(next)
    }

    /// Every setting as one TOML file for another machine.
    pub fn export_settings(&self) -> Result<String> {
        export_text(&self.services().core.config())
    }

    /// Replaces the settings with an exported file: checked as a whole first (nothing changes
    /// when any field is wrong), the current file kept beside it as `caretaker.before-import.toml`,
    /// then applied at once.
    pub async fn import_settings(&self, text: String) -> Result<Config> {
        let next = Config::from_toml_str(&text).map_err(EngineError::Config)?;
        let core = &self.services().core;
        let _edit = core.edit_lock().await;
        let before = core.config();
        let dir = core.data_dir.clone();
        tokio::task::spawn_blocking(move || {
            let path = dir.join(paths::CONFIG_FILE);
            if let Ok(old) = std::fs::read(&path) {
                config::write_atomic(&dir.join("caretaker.before-import.toml"), &old)?;
            }
            config::write_atomic(&path, text.as_bytes())
        })
        .await
        .map_err(|e| EngineError::Internal(format!("the settings writer failed: {e}")))??;
        core.replace_config(next.clone());
        self.apply_change(&before, &next).await?;
        Ok(next)
    }
}
