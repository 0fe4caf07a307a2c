//! A channel's secrets (SMTP password, tokens, Pushover keys, a webhook URL with a token in it),
//! kept like backup passwords: the keychain, or a private file beside the database.

use super::config::ChannelConfig;
use super::send::Secrets;
use crate::error::Result;
use crate::secrets::{self, Slot, Storage};
use std::path::Path;

const SERVICE: &str = "Caretaker notifications";

fn slot<'a>(data_dir: &Path, account: &'a str) -> Slot<'a> {
    Slot { service: SERVICE, account, file: secrets::dir(data_dir).join(format!("channel-{}.secret", secrets::file_key(account))) }
}

fn account(channel: &str, key: &str) -> String {
    format!("{channel}/{key}")
}

pub fn store(data_dir: &Path, channel: &str, key: &str, value: &str) -> Result<Storage> {
    secrets::store(&slot(data_dir, &account(channel, key)), value)
}

pub fn load(data_dir: &Path, channel: &str, key: &str) -> Result<Option<String>> {
    Ok(secrets::load(&slot(data_dir, &account(channel, key)))?.map(|(v, _)| v))
}

pub fn delete(data_dir: &Path, channel: &str, key: &str) -> Result<()> {
    secrets::delete(&slot(data_dir, &account(channel, key)))
}

/// Every secret of a channel that is stored; one that cannot be read is said in the log.
pub fn load_all(data_dir: &Path, c: &ChannelConfig) -> Secrets {
    let mut out = Secrets::new();
    for (key, _) in c.secret_keys() {
        match load(data_dir, &c.name, key) {
            Ok(Some(v)) => {
                out.insert(*key, v);
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(channel = %c.name, "cannot read the secret {key}: {e}"),
        }
    }
    out
}

/// The required secrets of a channel that are not stored.
pub fn missing(data_dir: &Path, c: &ChannelConfig) -> Vec<String> {
    let have = load_all(data_dir, c);
    c.secret_keys().iter().filter(|(k, required)| *required && !have.contains_key(k)).map(|(k, _)| k.to_string()).collect()
}
