//! The degraded path: when the database cannot be written (a full or failing disk), alerting goes
//! on from memory and the person is told once, by a critical alert that clears when a write
//! succeeds again.

use super::{AlertManager, Effects, Severity};
use serde_json::json;

pub(crate) const RULE: &str = "database";
pub(crate) const SUBJECT: &str = "caretaker.db";
pub(crate) const DISK_RULE: &str = "data_disk";
pub(crate) const DISK_SUBJECT: &str = "data folder";
const MIB: u64 = 1024 * 1024;

/// Space on the volume that holds the data folder: (available to Caretaker, total), in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DataSpace {
    pub available: u64,
    pub total: u64,
}

impl DataSpace {
    /// Nearly full: less than 64 MiB left, or less than 5 % of a small volume. Below that SQLite
    /// soon cannot write, and a disk-usage threshold may not see this volume at all (a tmpfs, a
    /// volume the host metrics do not list).
    pub fn nearly_full(&self) -> bool {
        self.available < (64 * MIB).min(self.total / 20)
    }
}

/// Reads the space of the volume holding `dir`; None when the OS will not say.
pub fn data_space(dir: &std::path::Path) -> Option<DataSpace> {
    let st = rustix::fs::statvfs(dir).ok()?;
    Some(DataSpace { available: st.f_bavail.saturating_mul(st.f_frsize), total: st.f_blocks.saturating_mul(st.f_frsize) })
}

impl AlertManager {
    /// Records the outcome of a write made outside the manager (the metrics tick).
    pub fn note_write(&mut self, outcome: std::result::Result<(), String>) {
        match outcome {
            Ok(()) => self.wrote_ok = true,
            Err(e) => self.write_error = Some(e),
        }
    }

    /// Raises or clears the "cannot write its database" alert from what the writes since the
    /// last call said. Writes that this alert itself makes do not count.
    pub fn settle_database(&mut self, conn: &rusqlite::Connection, now_ms: i64) -> Effects {
        let (ok, failed) = (std::mem::take(&mut self.wrote_ok), self.write_error.take());
        let open = self.open_alert(RULE, SUBJECT).is_some();
        // A full data disk has its own alert, which says why writes fail: one alert, not two.
        let explained = self.open_alert(DISK_RULE, DISK_SUBJECT).is_some();
        let failed = failed.filter(|_| !explained);
        let fx = match failed {
            Some(reason) => self.raise(
                conn,
                RULE,
                SUBJECT.into(),
                "db_write_failed",
                Severity::Critical,
                format!("Caretaker cannot write its database: {reason}"),
                format!(
                    "Alerts still reach you, but nothing is being recorded ({reason}). Free space on the disk that holds \
                     Caretaker's data folder, or check that disk."
                ),
                json!({ "reason": reason }),
                now_ms,
            ),
            None if (ok || explained) && open => self.clear(conn, RULE, SUBJECT.into(), now_ms),
            None => Ok(Effects::default()),
        };
        // The alert's own row may not have been written; it is retried with its next change.
        self.wrote_ok = false;
        self.write_error = None;
        fx.unwrap_or_default()
    }

    /// Raises (critical) or clears the alert for a nearly full data folder volume, checked on
    /// every metrics tick, so the person hears of it even when nothing can be written any more.
    pub fn settle_data_disk(&mut self, conn: &rusqlite::Connection, space: Option<DataSpace>, dir: &str, now_ms: i64) -> Effects {
        let Some(space) = space else { return Effects::default() };
        let fx = if space.nearly_full() {
            let left = format!("{:.1} MiB", space.available as f64 / MIB as f64);
            self.settle(
                conn,
                DISK_RULE,
                DISK_SUBJECT.into(),
                "data_disk_full",
                Some(Severity::Critical),
                format!("The disk that holds Caretaker's data is full ({left} left)"),
                format!(
                    "Only {left} is left on the disk that holds {dir}. Caretaker keeps watching and alerting, but history, \
                     alert records and logs cannot be saved. Free space on that disk."
                ),
                json!({ "available_bytes": space.available, "total_bytes": space.total, "path": dir }),
                now_ms,
            )
        } else if self.open_alert(DISK_RULE, DISK_SUBJECT).is_some() {
            self.clear(conn, DISK_RULE, DISK_SUBJECT.into(), now_ms)
        } else {
            Ok(Effects::default())
        };
        fx.unwrap_or_default()
    }
}

#[cfg(test)]
mod data_disk_tests {
    use super::*;

    #[test]
    fn nearly_full_means_little_left_in_absolute_or_relative_terms() {
        let gib = 1024 * MIB;
        assert!(DataSpace { available: 10 * MIB, total: 500 * gib }.nearly_full());
        assert!(!DataSpace { available: 100 * MIB, total: 500 * gib }.nearly_full());
        // A small volume: 5 % of 96 MiB is 4.8 MiB.
        assert!(!DataSpace { available: 40 * MIB, total: 96 * MIB }.nearly_full());
        assert!(DataSpace { available: MIB, total: 96 * MIB }.nearly_full());
    }

    #[test]
    fn the_data_folder_volume_is_measured() {
        let dir = tempfile::tempdir().expect("tempdir");
        let space = data_space(dir.path()).expect("statvfs answers for a real folder");
        assert!(space.total > 0 && space.available <= space.total, "{space:?}");
    }
}
