//! The Healing page's editor: an action added, replaced, removed or switched to another mode,
//! and the limit for all actions; each validated with the whole file (errors name the field),
//! written into `[healing]` only with the rest of the file and its comments kept, and applied
//! at once. And the dry run: what an action would do now, with nothing done.

use super::EngineHandle;
use crate::config::{ActionConfig, HealingConfig, HealingMode};
use crate::core::Piece;
use crate::error::{EngineError, Result};
use crate::healing::{edit, DryRun, HealingOverview};

impl EngineHandle {
    /// Every action with its counters and guard rails, and the limit for all of them.
    pub async fn healing_overview(&self) -> Result<HealingOverview> {
        self.services().healing.overview().await
    }

    /// Adds an action, or replaces the one whose id is `original`.
    pub async fn save_healing_action(&self, original: Option<String>, action: ActionConfig) -> Result<HealingOverview> {
        self.edit_healing(Piece::HealingActions, move |h| edit::save(h, original.as_deref(), action)).await
    }

    pub async fn delete_healing_action(&self, id: String) -> Result<HealingOverview> {
        self.edit_healing(Piece::HealingActions, move |h| edit::remove(h, &id)).await
    }

    pub async fn set_healing_mode(&self, id: String, mode: HealingMode) -> Result<HealingOverview> {
        self.edit_healing(Piece::HealingActions, move |h| edit::set_mode(h, &id, mode)).await
    }

    /// How many actions may run in an hour, all actions together.
    pub async fn set_healing_limit(&self, max_actions_per_hour: u32) -> Result<HealingOverview> {
        self.edit_healing(Piece::HealingLimit, move |h| {
            h.max_actions_per_hour = max_actions_per_hour;
            Ok(())
        })
        .await
    }

    /// What an action would do now and to what, with nothing done: the configured one named
    /// `id`, or `action` as written in the form (checked first, its mistakes named by field).
    pub async fn dry_run_healing_action(&self, id: Option<String>, action: Option<ActionConfig>) -> Result<DryRun> {
        let action = match (action, id) {
            (Some(a), _) => {
                let mut issues = Vec::new();
                HealingConfig { actions: vec![a.clone()], ..self.services().core.config().healing }.validate("healing", &mut issues);
                if !issues.is_empty() {
                    return Err(EngineError::Config(issues));
                }
                a
            }
            (None, Some(id)) => self
                .services()
                .core
                .config()
                .healing
                .actions
                .into_iter()
                .find(|a| a.id == id)
                .ok_or_else(|| EngineError::NotFound(format!("no healing action {id:?}")))?,
            (None, None) => return Err(EngineError::InvalidInput("name an action or give one to try".into())),
        };
        self.services().healing.dry_run(action).await
    }

    async fn edit_healing(&self, piece: Piece, f: impl FnOnce(&mut HealingConfig) -> Result<()>) -> Result<HealingOverview> {
        let core = &self.services().core;
        let before = core.config();
        let ((), next) = core.edit_config(piece, move |c| f(&mut c.healing)).await?;
        self.apply_change(&before, &next).await?;
        self.healing_overview().await
    }
}
