//! Rewriting caretaker.toml in place: one section or one array of tables at a time, keeping the
//! rest of the file (the person's comments included), and always atomically.

use super::Config;
use crate::error::{EngineError, Result};
use serde::Serialize;
use std::path::Path;

/// Replaces one top-level section (`[analysis]`) of the config file with `value`, keeping the
/// rest of the file (comments included), atomically. The caller has validated the whole config.
pub(crate) fn write_section<T: Serialize>(path: &Path, key: &str, value: &T) -> Result<()> {
    let text = read_existing(path)?;
    let mut doc: toml_edit::DocumentMut =
        text.parse().map_err(|e| EngineError::InvalidInput(format!("{} is not valid TOML, fix it by hand first: {e}", path.display())))?;
    let mut wrapper = std::collections::BTreeMap::new();
    wrapper.insert(key, value);
    let fresh = toml::to_string(&wrapper).map_err(|e| EngineError::Internal(format!("cannot serialise {key}: {e}")))?;
    let fresh: toml_edit::DocumentMut = fresh.parse().map_err(|e| EngineError::Internal(format!("cannot re-read {key}: {e}")))?;
    let Some(new_table) = fresh.get(key).and_then(|i| i.as_table()) else {
        return Err(EngineError::Internal(format!("{key} did not serialise as a table")));
    };
    match doc.get_mut(key).and_then(|i| i.as_table_mut()) {
        // Update values in place so comments between keys survive.
        Some(existing) => {
            for (k, v) in new_table.iter() {
                match existing.get_mut(k).and_then(|e| e.as_value_mut()) {
                    Some(slot) if v.is_value() => {
                        let decor = slot.decor().clone();
                        if let Some(nv) = v.as_value() {
                            *slot = nv.clone();
                            *slot.decor_mut() = decor;
                        }
                    }
                    _ => {
                        existing.insert(k, v.clone());
                    }
                }
            }
        }
        None => {
            doc.insert(key, toml_edit::Item::Table(new_table.clone()));
        }
    }
    let out = doc.to_string();
    Config::from_toml_str(&out).map_err(EngineError::Config)?;
    write_atomic(path, out.as_bytes())
}

/// Replaces one array of tables (`[[checks.list]]`, `[[backups.plans]]`, `[[detectors]]`) in the
/// config file, keeping everything else (comments included), atomically. `keys` is its path. The
/// caller has validated the whole config; what would not read back is never written.
pub(crate) fn write_array<T: Serialize>(path: &Path, keys: &[&str], list: &[T]) -> Result<()> {
    let what = keys.join(".");
    let Some((last, parents)) = keys.split_last() else {
        return Err(EngineError::Internal("write_array needs a key".into()));
    };
    let text = read_existing(path)?;
    let mut doc: toml_edit::DocumentMut =
        text.parse().map_err(|e| EngineError::InvalidInput(format!("{} is not valid TOML, fix it by hand first: {e}", path.display())))?;
    let mut wrapper = std::collections::BTreeMap::new();
    wrapper.insert("x", list);
    let fresh = toml::to_string(&wrapper).map_err(|e| EngineError::Internal(format!("cannot serialise {what}: {e}")))?;
    let fresh: toml_edit::DocumentMut = fresh.parse().map_err(|e| EngineError::Internal(format!("cannot re-read {what}: {e}")))?;
    let item = fresh.get("x").cloned().unwrap_or(toml_edit::Item::None);
    let mut table: &mut dyn toml_edit::TableLike = doc.as_table_mut();
    for k in parents {
        if !table.contains_key(k) {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            table.insert(k, toml_edit::Item::Table(t));
        }
        table = table
            .get_mut(k)
            .and_then(|i| i.as_table_like_mut())
            .ok_or_else(|| EngineError::InvalidInput(format!("{}: `{k}` must be a table", path.display())))?;
    }
    if list.is_empty() {
        table.remove(last);
    } else {
        table.insert(last, item);
    }
    let out = doc.to_string();
    Config::from_toml_str(&out).map_err(EngineError::Config)?;
    write_atomic(path, out.as_bytes())
}

pub(crate) fn write_checks(path: &Path, list: &[crate::checks::config::CheckConfig]) -> Result<()> {
    write_array(path, &["checks", "list"], list)
}

pub(crate) fn write_detectors(path: &Path, list: &[crate::detectors::DetectorConfig]) -> Result<()> {
    write_array(path, &["detectors"], list)
}

/// Replaces `[[backups.plans]]` in the config file, keeping the rest of it.
pub(crate) fn write_plans(path: &Path, plans: &[crate::backup::config::PlanConfig]) -> Result<()> {
    write_array(path, &["backups", "plans"], plans)
}

/// Replaces `[[healing.actions]]` in the config file, keeping the rest of it.
pub(crate) fn write_healing_actions(path: &Path, list: &[crate::healing::config::ActionConfig]) -> Result<()> {
    write_array(path, &["healing", "actions"], list)
}

/// Replaces `[[notifications.channels]]` in the config file, keeping the rest of it.
pub(crate) fn write_channels(path: &Path, list: &[crate::channels::config::ChannelConfig]) -> Result<()> {
    write_array(path, &["notifications", "channels"], list)
}

/// Replaces (or with None removes) `[notifications.heartbeat]`, keeping the rest of the file.
pub(crate) fn write_heartbeat(path: &Path, heartbeat: Option<&crate::channels::config::HeartbeatConfig>) -> Result<()> {
    let item = match heartbeat {
        Some(h) => {
            let fresh = toml::to_string(h).map_err(|e| EngineError::Internal(format!("cannot serialise the heartbeat: {e}")))?;
            let fresh: toml_edit::DocumentMut =
                fresh.parse().map_err(|e| EngineError::Internal(format!("cannot re-read the heartbeat: {e}")))?;
            Some(toml_edit::Item::Table(fresh.as_table().clone()))
        }
        None => None,
    };
    write_notifications_item(path, "heartbeat", item)
}

/// Sets `enabled` in `[notifications]` (this machine's own notifications), keeping the rest.
pub(crate) fn write_native_notifications(path: &Path, enabled: bool) -> Result<()> {
    write_notifications_item(path, "enabled", Some(toml_edit::value(enabled)))
}

/// Sets `max_actions_per_hour` in `[healing]`, keeping the rest (its actions included).
pub(crate) fn write_healing_limit(path: &Path, max_actions_per_hour: u32) -> Result<()> {
    write_item(path, "healing", "max_actions_per_hour", Some(toml_edit::value(i64::from(max_actions_per_hour))))
}

fn write_notifications_item(path: &Path, key: &str, item: Option<toml_edit::Item>) -> Result<()> {
    write_item(path, "notifications", key, item)
}

/// Sets (or with None removes) one key of a top-level table, keeping the rest of the file.
fn write_item(path: &Path, table: &str, key: &str, item: Option<toml_edit::Item>) -> Result<()> {
    let text = read_existing(path)?;
    let mut doc: toml_edit::DocumentMut =
        text.parse().map_err(|e| EngineError::InvalidInput(format!("{} is not valid TOML, fix it by hand first: {e}", path.display())))?;
    if !doc.contains_key(table) {
        doc.insert(table, toml_edit::Item::Table(toml_edit::Table::new()));
    }
    let Some(section) = doc.get_mut(table).and_then(|i| i.as_table_like_mut()) else {
        return Err(EngineError::InvalidInput(format!("{}: `{table}` must be a table", path.display())));
    };
    match item {
        // A plain value keeps the comment beside it.
        Some(toml_edit::Item::Value(mut v)) if section.get(key).is_some_and(|i| i.is_value()) => {
            if let Some(old) = section.get_mut(key).and_then(|i| i.as_value_mut()) {
                *v.decor_mut() = old.decor().clone();
                *old = v;
            }
        }
        Some(item) => {
            section.insert(key, item);
        }
        None => {
            section.remove(key);
        }
    }
    let out = doc.to_string();
    Config::from_toml_str(&out).map_err(EngineError::Config)?;
    write_atomic(path, out.as_bytes())
}

/// The config file's text before an edit; a missing file is an empty one. A file that is there
/// but cannot be read must not be taken for empty: the edit would be written over every other
/// setting in it.
fn read_existing(path: &Path) -> Result<String> {
    let refused = |e| EngineError::io(format!("cannot read {}, so nothing was saved and it was left as it is", path.display()), e);
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => return Err(refused(e)),
        // A FIFO would block the read forever; a folder cannot be read at all.
        Ok(m) if !m.is_file() => {
            return Err(EngineError::InvalidInput(format!(
                "{} is not a regular file, so nothing was saved and it was left as it is",
                path.display()
            )))
        }
        Ok(_) => {}
    }
    std::fs::read_to_string(path).map_err(refused)
}

/// Replaces `path` with `bytes` all at once. The new file is readable by its owner only, whatever
/// the old one was: caretaker.toml may hold the http token and credentials in URLs.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let ctx = |what: &str| format!("cannot {what} {}", path.display());
    // A leftover from a crash would keep its own mode through the open below.
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).map_err(|e| EngineError::io(ctx("write"), e))?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        EngineError::io(ctx("write"), e)
    })?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        EngineError::io(ctx("replace"), e)
    })?;
    // The rename is durable only once the folder is synced. Not every file system can sync a
    // folder, and the new file is already in place, so a failure here is not the save's failure.
    #[cfg(unix)]
    let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    Ok(())
}
