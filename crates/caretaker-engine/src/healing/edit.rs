//! Changes to `[healing]` from the app: an action added, replaced, removed or switched to
//! another mode, and the limit for all actions. Pure edits of the section; validating, writing
//! and applying them is the one config edit's job.

use super::ActionSummary;
use crate::config::{ActionConfig, HealingConfig, HealingMode};
use crate::error::{EngineError, Result};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The Healing page's list: every action with its counters and guard rails, and the limit for
/// all of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct HealingOverview {
    pub max_actions_per_hour: u32,
    /// Runs of every action in the last hour.
    pub runs_last_hour: u32,
    pub actions: Vec<ActionSummary>,
}

fn find<'a>(cfg: &'a mut HealingConfig, id: &str) -> Result<&'a mut ActionConfig> {
    cfg.actions.iter_mut().find(|a| a.id == id).ok_or_else(|| EngineError::NotFound(format!("no healing action {id:?}")))
}

/// Replaces the action `original` (its id) with `action`, or adds it when `original` is None.
/// A new action with an id already in use is left for validation to name.
pub(crate) fn save(cfg: &mut HealingConfig, original: Option<&str>, action: ActionConfig) -> Result<()> {
    match original {
        Some(id) => *find(cfg, id)? = action,
        None => cfg.actions.push(action),
    }
    Ok(())
}

pub(crate) fn remove(cfg: &mut HealingConfig, id: &str) -> Result<()> {
    let before = cfg.actions.len();
    cfg.actions.retain(|a| a.id != id);
    if cfg.actions.len() == before {
        return Err(EngineError::NotFound(format!("no healing action {id:?}")));
    }
    Ok(())
}

pub(crate) fn set_mode(cfg: &mut HealingConfig, id: &str, mode: HealingMode) -> Result<()> {
    find(cfg, id)?.mode = mode;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(id: &str) -> ActionConfig {
        toml::from_str(&format!("id = \"{id}\"\nname = \"{id}\"\non_alerts = [\"disk\"]\ncommand = {{ argv = [\"/bin/true\"] }}\n"))
            .unwrap()
    }

    #[test]
    fn actions_are_added_replaced_switched_and_removed_by_id() {
        let mut cfg = HealingConfig::default();
        save(&mut cfg, None, action("a")).unwrap();
        save(&mut cfg, None, action("b")).unwrap();
        let mut renamed = action("c");
        renamed.name = "Renamed".into();
        save(&mut cfg, Some("a"), renamed).unwrap();
        assert_eq!(cfg.actions.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["c", "b"]);
        set_mode(&mut cfg, "b", HealingMode::Auto).unwrap();
        assert_eq!(cfg.actions[1].mode, HealingMode::Auto);
        remove(&mut cfg, "c").unwrap();
        assert_eq!(cfg.actions.len(), 1);
        assert!(matches!(remove(&mut cfg, "c"), Err(EngineError::NotFound(_))));
        assert!(matches!(set_mode(&mut cfg, "zzz", HealingMode::Off), Err(EngineError::NotFound(_))));
        assert!(matches!(save(&mut cfg, Some("zzz"), action("z")), Err(EngineError::NotFound(_))));
    }
}
