//! The channels service's settings part: adding, changing and removing a channel in
//! caretaker.toml, with its secrets in the keychain.

use super::outbox;
use super::service::{no_channel, Service};
use super::{secret, ChannelConfig, ChannelSecret, ChannelStatus};
use crate::core::Piece;
use crate::error::{EngineError, Result};
use std::sync::Arc;

impl Service {
    async fn store_secrets(&self, cfg: &ChannelConfig, given: Vec<ChannelSecret>) -> Result<()> {
        let mut keys = Vec::new();
        for s in &given {
            let key = cfg.secret_keys().iter().map(|(k, _)| *k).find(|k| *k == s.key);
            keys.push(key.ok_or_else(|| EngineError::InvalidInput(format!("a {} channel has no secret {:?}", cfg.kind.as_str(), s.key)))?);
        }
        let (dir, channel) = (self.core.data_dir.clone(), cfg.name.clone());
        tokio::task::spawn_blocking(move || {
            for (key, s) in keys.into_iter().zip(given) {
                if s.value.is_empty() {
                    secret::delete(&dir, &channel, key)?;
                } else {
                    secret::store(&dir, &channel, key, &s.value)?;
                }
            }
            Ok(())
        })
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))?
    }

    /// Adds a channel (`original` None) or replaces the one named `original`, in caretaker.toml
    /// (comments kept), then stores the secrets given with it. A renamed channel keeps its
    /// waiting messages and its secrets.
    pub async fn save(
        self: &Arc<Self>,
        original: Option<String>,
        channel: ChannelConfig,
        secrets: Vec<ChannelSecret>,
    ) -> Result<Vec<ChannelStatus>> {
        if let Some(s) = secrets.iter().find(|s| !channel.secret_keys().iter().any(|(k, _)| *k == s.key)) {
            return Err(EngineError::InvalidInput(format!("a {} channel has no secret {:?}", channel.kind.as_str(), s.key)));
        }
        let (old, next) = (original.clone(), channel.clone());
        let (before, _) = self
            .core
            .edit_config(Piece::Channels, move |c| {
                let list = &mut c.notifications.channels;
                match &old {
                    Some(o) => {
                        let i = list.iter().position(|x| &x.name == o).ok_or_else(|| no_channel(o))?;
                        Ok(Some(std::mem::replace(&mut list[i], next)))
                    }
                    None => {
                        list.push(next);
                        Ok(None)
                    }
                }
            })
            .await?;
        if let Some(before) = before.filter(|b| b.name != channel.name) {
            let (from, to) = (before.name.clone(), channel.name.clone());
            self.core.db.write_async(move |c| outbox::rename(c, &from, &to)).await?;
            let dir = self.core.data_dir.clone();
            let moved: Vec<ChannelSecret> = tokio::task::spawn_blocking(move || {
                let all = secret::load_all(&dir, &before);
                for key in all.keys() {
                    let _ = secret::delete(&dir, &before.name, key);
                }
                all.into_iter().map(|(k, v)| ChannelSecret { key: k.into(), value: v }).collect()
            })
            .await
            .unwrap_or_default();
            let keep: Vec<ChannelSecret> = moved.into_iter().filter(|m| channel.secret_keys().iter().any(|(k, _)| *k == m.key)).collect();
            self.store_secrets(&channel, keep).await?;
        }
        self.store_secrets(&channel, secrets).await?;
        self.ensure_senders();
        self.kick(&channel.name).notify_one();
        self.status().await
    }

    /// Removes a channel from caretaker.toml, with its secrets and what waited for it.
    pub async fn delete(self: &Arc<Self>, name: &str) -> Result<Vec<ChannelStatus>> {
        let n = name.to_string();
        let (gone, _) = self
            .core
            .edit_config(Piece::Channels, move |c| {
                let list = &mut c.notifications.channels;
                let i = list.iter().position(|x| x.name == n).ok_or_else(|| no_channel(&n))?;
                Ok(list.remove(i))
            })
            .await?;
        let n = name.to_string();
        self.core.db.write_async(move |c| outbox::forget(c, &n)).await?;
        let dir = self.core.data_dir.clone();
        tokio::task::spawn_blocking(move || {
            // Every key any kind uses: one stored under an earlier kind or login goes too.
            for key in ["password", "token", "user_key", "app_token", "bot_token", "url"] {
                if let Err(e) = secret::delete(&dir, &gone.name, key) {
                    tracing::warn!("could not remove a secret of a deleted channel: {e}");
                }
            }
        })
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))?;
        // Its sender sees the channel gone and ends.
        self.kick(name).notify_one();
        self.status().await
    }

    /// Switches this machine's own notifications on or off, in caretaker.toml and at once.
    pub async fn set_native(self: &Arc<Self>, enabled: bool) -> Result<Vec<ChannelStatus>> {
        self.core
            .edit_config(Piece::NativeNotifications, move |c| {
                c.notifications.enabled = enabled;
                Ok(())
            })
            .await?;
        self.ensure_senders();
        self.status().await
    }

    /// Follows a changed `[notifications]` (a hand edit): a sender for each new channel (a
    /// removed one's ends by itself) and, when it changed, the heartbeat.
    pub(crate) fn apply(self: &Arc<Self>, heartbeat_changed: bool) {
        self.ensure_senders();
        if heartbeat_changed {
            // Ends with the engine (a child of its cancel token), like the one it replaces.
            let _ = self.restart_heartbeat(None);
        }
    }
}
