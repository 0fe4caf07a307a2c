//! A channel's secrets (SMTP password, tokens, Pushover keys, a webhook URL with a token in it),
//! kept like backup passwords: the keychain, or a private file beside the database.

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
