//! `caretaker channels`: each notification channel's deliveries, a test message through its
//! outbox, and its secrets, read from standard input (never from the command line, where other
//! users of the machine could read them in the process list).

use super::{output, print_json, show, Remote};
use anyhow::{anyhow, bail, Result};
use caretaker_engine::channels::{ChannelStatus, ChannelTestOutcome};
use caretaker_engine::{paths, Config};
use clap::Subcommand;
use serde_json::json;

#[derive(Subcommand)]
pub enum ChannelsCommand {
    /// Every channel with its last delivery, last failure and what waits.
    List,
    /// Send a test message through the channel and wait for the answer (exit 1 when it failed).
    Test { name: String },
    /// Store a secret of a channel (password, token, user_key, app_token, bot_token or url), read
    /// from standard input; an empty line forgets it.
    Secret { name: String, key: String },
}

fn print(list: &[ChannelStatus]) {
    if list.iter().all(|c| c.kind == caretaker_engine::channels::ChannelKind::Desktop) {
        println!("no notification channels besides this screen (add [[notifications.channels]] to caretaker.toml)");
    }
    for c in list {
        let state = if c.enabled { "on" } else { "off" };
        println!("{}  {} ({state}), {} waiting", c.name, show::word(&c.kind), c.pending);
        if let Some(t) = c.last_success_at {
            println!("  last delivered {}", show::when(t));
        }
        if let (Some(t), Some(e)) = (c.last_failure_at, &c.last_error) {
            println!("  last failed {}: {e}", show::when(t));
        }
        if !c.missing_secrets.is_empty() {
            println!("  missing secrets: {} (caretaker channels secret {} KEY)", c.missing_secrets.join(", "), c.name);
        }
    }
}

pub async fn run(remote: &Remote, command: Option<ChannelsCommand>) -> Result<()> {
    let client = remote.connect().await?;
    match command.unwrap_or(ChannelsCommand::List) {
        ChannelsCommand::List => {
            let list: Vec<ChannelStatus> = client.call_as("channels_status", json!({})).await?;
            output(remote.json, &list[..], print)
        }
        ChannelsCommand::Test { name } => {
            let outcome: ChannelTestOutcome = client.call_as("channel_test", json!({ "name": name })).await?;
            if remote.json {
                print_json(&outcome)?;
            } else if outcome.delivered {
                println!("delivered to {name}");
            }
            if !outcome.delivered {
                bail!("not delivered to {name}: {}", outcome.error.unwrap_or_default());
            }
            Ok(())
        }
        ChannelsCommand::Secret { name, key } => {
            let dir = paths::resolve_data_dir(remote.data_dir.clone());
            let config = Config::load(&dir.join(paths::CONFIG_FILE))?;
            let channel = config.notifications.channels.into_iter().find(|c| c.name == name);
            let channel = channel.ok_or_else(|| anyhow!("there is no notification channel named {name:?} in caretaker.toml"))?;
            let mut value = String::new();
            std::io::stdin().read_line(&mut value)?;
            let value = value.trim_end_matches(['\r', '\n']);
            let secrets = json!([{ "key": key, "value": value }]);
            let list: Vec<ChannelStatus> =
                client.call_as("save_channel", json!({ "original": name, "channel": channel, "secrets": secrets })).await?;
            output(remote.json, &list[..], print)
        }
    }
}
