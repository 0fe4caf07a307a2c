//! Hand edits of `caretaker.toml` apply while the engine runs: the file is watched (the
//! `notify` crate: inotify, FSEvents; polling where neither works), a valid change is swapped in
//! and each capability follows it, and an invalid one changes nothing but the config alert,
//! which names each bad field and the file's path and clears once the file loads again.

use super::EngineHandle;
use crate::config::{self, Config, ConfigProblem, Fallback};
use crate::error::{EngineError, Result};
use crate::paths;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;

/// Changes that come together (an editor's save is several writes) are read once, this long
/// after the last one.
const SETTLE: Duration = Duration::from_millis(300);
/// How often the file is looked at where no change notification works.
const POLL: Duration = Duration::from_secs(1);

/// What reading the file again did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reloaded {
    /// The file holds what already runs (an edit from the app, a save without a change).
    Same,
    /// A change was applied; these parts wait for the next start.
    Applied { at_next_start: Vec<&'static str> },
    /// The file has mistakes: nothing changed, the alert says what.
    Refused,
}

/// The parts of the configuration read only at start.
fn start_only(before: &Config, after: &Config) -> Vec<&'static str> {
    let mut out = Vec::new();
    if before.metrics.top_processes != after.metrics.top_processes {
        out.push("metrics.top_processes");
    }
    out
}

impl EngineHandle {
    /// Makes every capability follow a configuration already swapped in (`before` is the one it
    /// replaced). Returns the parts that wait for the next start.
    pub(crate) async fn apply_change(&self, before: &Config, next: &Config) -> Result<Vec<&'static str>> {
        let s = self.services();
        let (alerts, interval) = (next.alerts.clone(), next.metrics.interval_secs);
        s.core.alerts.change(move |m| m.reconfigure(alerts, interval));
        if before.checks != next.checks {
            s.checks.apply().await?;
        }
        if before.detectors != next.detectors {
            s.detectors.evaluate().await?;
        }
        if before.notifications != next.notifications {
            s.channels.apply(before.notifications.heartbeat != next.notifications.heartbeat);
        }
        if before.http != next.http {
            self.restart_http().await;
        }
        if before.alertmanager != next.alertmanager {
            self.restart_alertmanager();
        }
        if before.healing != next.healing {
            s.healing.reconsider();
        }
        Ok(start_only(before, next))
    }

    /// Reads `caretaker.toml` again and applies it when it is valid and different.
    pub async fn reload_config(&self) -> Result<Reloaded> {
        let core = &self.services().core;
        let _edit = core.edit_lock().await;
        let dir = core.data_dir.clone();
        let checked = tokio::task::spawn_blocking(move || config::check_file(&dir))
            .await
            .map_err(|e| EngineError::Internal(format!("the config reader failed: {e}")))?;
        let next = match checked {
            Ok(next) => next,
            Err(issues) => {
                let problem = ConfigProblem { path: core.data_dir.join(paths::CONFIG_FILE), issues, fallback: Fallback::Unchanged };
                tracing::warn!(problem = %problem.message(), "the edited config has mistakes; nothing changed");
                crate::engine::settle_config_alert(core, Some(problem)).await;
                return Ok(Reloaded::Refused);
            }
        };
        crate::engine::settle_config_alert(core, None).await;
        let before = core.config();
        if next == before {
            return Ok(Reloaded::Same);
        }
        core.replace_config(next.clone());
        let at_next_start = self.apply_change(&before, &next).await?;
        if at_next_start.is_empty() {
            tracing::info!("caretaker.toml changed; applied");
        } else {
            tracing::warn!("caretaker.toml changed; applied, except {} (read at start: restart Caretaker)", at_next_start.join(", "));
        }
        Ok(Reloaded::Applied { at_next_start })
    }
}

/// Watches the data folder for changes to `caretaker.toml` until the engine stops, and reloads
/// after each burst of them.
pub(crate) async fn watch(handle: EngineHandle) {
    let core = handle.services().core.clone();
    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
    let _watcher = match start_watcher(&core.data_dir, tx) {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!("cannot watch caretaker.toml for changes ({e}); edits apply at the next start");
            return;
        }
    };
    // A valid edit saved between the engine's first read and the watcher's start sent no event to
    // anyone: apply it now that changes are followed. (A file refused at start keeps the alert the
    // start raised; an unchanged one is left alone.)
    let dir = core.data_dir.clone();
    let now = tokio::task::spawn_blocking(move || config::check_file(&dir)).await;
    if matches!(now, Ok(Ok(ref next)) if *next != core.config()) {
        if let Err(e) = handle.reload_config().await {
            tracing::warn!("could not apply the changed caretaker.toml: {e}");
        }
    }
    loop {
        tokio::select! {
            _ = core.cancel.cancelled() => return,
            got = rx.recv() => if got.is_none() { return },
        }
        // Let the burst end.
        loop {
            tokio::select! {
                _ = core.cancel.cancelled() => return,
                got = rx.recv() => if got.is_none() { return },
                _ = tokio::time::sleep(SETTLE) => break,
            }
        }
        if let Err(e) = handle.reload_config().await {
            tracing::warn!("could not apply the changed caretaker.toml: {e}");
        }
    }
}

/// Change notifications for the data folder (not the file: editors replace it by renaming), with
/// polling where the platform's watcher cannot start (an inotify limit reached).
fn start_watcher(dir: &Path, tx: mpsc::UnboundedSender<()>) -> std::result::Result<Box<dyn notify::Watcher + Send>, String> {
    let file = PathBuf::from(paths::CONFIG_FILE);
    let handler = move |event: notify::Result<notify::Event>| {
        let ours = match &event {
            Ok(e) => !e.kind.is_access() && e.paths.iter().any(|p| p.file_name() == Some(file.as_os_str())),
            // The watcher lost track (an overflow): read the file again to be sure.
            Err(_) => true,
        };
        if ours {
            let _ = tx.send(());
        }
    };
    let mut watcher: Box<dyn notify::Watcher + Send> = match notify::recommended_watcher(handler.clone()) {
        Ok(w) => Box::new(w),
        Err(e) => {
            tracing::info!("file change notifications unavailable ({e}); looking at caretaker.toml every second");
            let config = notify::Config::default().with_poll_interval(POLL).with_compare_contents(true);
            Box::new(notify::PollWatcher::new(handler, config).map_err(|e| e.to_string())?)
        }
    };
    watcher.watch(dir, notify::RecursiveMode::NonRecursive).map_err(|e| e.to_string())?;
    Ok(watcher)
}
