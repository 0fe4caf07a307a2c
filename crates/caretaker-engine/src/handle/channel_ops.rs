//! The engine's notification operations, as [`EngineHandle`] methods: one line of delegation
//! each to the channels service.

use super::EngineHandle;
use crate::channels::config::HeartbeatConfig;
use crate::channels::{ChannelConfig, ChannelSecret, ChannelStatus, ChannelTestOutcome};
use crate::config::NotificationsConfig;
use crate::error::Result;

impl EngineHandle {
    /// Every configured channel with its last delivery, last failure and what waits.
    pub async fn channels_status(&self) -> Result<Vec<ChannelStatus>> {
        self.s.channels.status().await
    }

    /// Sends a test message through the channel's outbox; answers once it was delivered or failed.
    pub async fn channel_test(&self, name: &str) -> Result<ChannelTestOutcome> {
        self.s.channels.test(name).await
    }

    /// Adds a channel (`was` None) or replaces the one named `was`, then stores the secrets given
    /// with it (an empty value forgets one); secrets never go into caretaker.toml.
    pub async fn save_channel(&self, was: Option<String>, c: ChannelConfig, secrets: Vec<ChannelSecret>) -> Result<Vec<ChannelStatus>> {
        self.s.channels.save(was, c, secrets).await
    }

    /// Removes a channel, its secrets and what waited for it.
    pub async fn delete_channel(&self, name: &str) -> Result<Vec<ChannelStatus>> {
        self.s.channels.delete(name).await
    }

    /// `[notifications]` as it applies now: native notifications, the channels (no secrets: those
    /// are in the keychain) and the heartbeat.
    pub fn notifications_settings(&self) -> NotificationsConfig {
        self.s.core.config().notifications
    }

    /// Sets (or with None removes) the heartbeat, in caretaker.toml and at once: the pings go to
    /// the new URL at the new period from now on.
    pub async fn save_heartbeat(&self, heartbeat: Option<HeartbeatConfig>) -> Result<NotificationsConfig> {
        self.s.channels.save_heartbeat(heartbeat).await
    }

    /// Switches this machine's own notifications (the built-in channel) on or off.
    pub async fn set_native_notifications(&self, enabled: bool) -> Result<Vec<ChannelStatus>> {
        self.s.channels.set_native(enabled).await
    }
}
