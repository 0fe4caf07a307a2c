//! What the optional maintenance tasks would do tonight, for the person editing them in Settings:
//! the files the cache task would delete (nothing is deleted to find out) and the command it
//! would run, as argv, never through a shell.

use super::config::MaintenanceConfig;
use crate::config::ClearFolderAction;
use crate::healing::dry_run::{folder_preview, FolderPreview};
use serde::{Deserialize, Serialize};
use std::path::Path;
use ts_rs::TS;

/// The optional tasks as configured in the settings given (saved or not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MaintenancePreview {
    /// What the cache task would remove; None when the task is off.
    pub clear_cache: Option<FolderPreview>,
    /// Why the cache task would remove nothing at all (a protected or missing folder).
    pub clear_cache_refused: Option<String>,
    /// The command task's program and arguments, each one argument; empty when the task is off.
    pub command: Vec<String>,
    /// One sentence per task.
    pub summary: Vec<String>,
}

/// The cache task as the guarded folder sweep takes it.
pub(crate) fn as_clear(path: &str, older_than_days: u64) -> ClearFolderAction {
    ClearFolderAction { path: path.to_string(), older_than_days }
}

pub fn preview(m: &MaintenanceConfig, data_dir: &Path) -> MaintenancePreview {
    let mut out = MaintenancePreview { clear_cache: None, clear_cache_refused: None, command: Vec::new(), summary: Vec::new() };
    if let Some(c) = &m.clear_cache {
        match folder_preview(&as_clear(&c.path, c.older_than_days), data_dir) {
            Ok((summary, folder)) => {
                out.summary.push(format!("Clear the cache: {summary}."));
                out.clear_cache = Some(folder);
            }
            Err(e) => {
                out.summary.push(format!("Clear the cache: would refuse to run: {e}."));
                out.clear_cache_refused = Some(e);
            }
        }
    }
    if let Some(c) = &m.command {
        out.command = c.argv.clone();
        let program = c.argv.first().map_or("nothing", String::as_str);
        out.summary.push(format!(
            "Run a command: {program:?} with {} argument(s), stopped after {} s.",
            c.argv.len().saturating_sub(1),
            c.timeout_secs
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maintenance::config::{ClearCacheTask, CommandTask};

    #[test]
    fn the_preview_counts_old_files_deletes_nothing_and_refuses_the_home_folder() {
        let cache = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(40 * 86_400);
        for name in ["a", "b"] {
            let p = cache.path().join(name);
            std::fs::write(&p, b"12345").unwrap();
            std::fs::File::options().write(true).open(&p).unwrap().set_modified(old).unwrap();
        }
        std::fs::write(cache.path().join("new"), b"1").unwrap();
        let mut m = MaintenanceConfig {
            clear_cache: Some(ClearCacheTask { path: cache.path().display().to_string(), older_than_days: 30 }),
            command: Some(CommandTask { argv: vec!["/usr/bin/brew".into(), "cleanup".into()], timeout_secs: 600 }),
            ..Default::default()
        };
        let p = preview(&m, data.path());
        let folder = p.clear_cache.as_ref().expect("a preview");
        assert_eq!((folder.files, folder.bytes), (2, 10));
        assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 3, "nothing deleted");
        assert_eq!(p.command, vec!["/usr/bin/brew", "cleanup"]);
        assert_eq!(p.summary.len(), 2);
        assert!(p.summary[1].contains("\"/usr/bin/brew\" with 1 argument(s), stopped after 600 s"), "{:?}", p.summary);

        m.clear_cache = Some(ClearCacheTask { path: data.path().display().to_string(), older_than_days: 30 });
        let p = preview(&m, data.path());
        assert!(p.clear_cache.is_none());
        assert!(p.clear_cache_refused.as_deref().unwrap_or("").contains("data folder"), "{p:?}");
    }
}
