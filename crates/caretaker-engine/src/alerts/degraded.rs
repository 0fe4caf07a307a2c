//! The degraded path: when the database cannot be written (a full or failing disk), alerting goes
//! on from memory and the person is told once, by a critical alert that clears when a write
//! succeeds again.

use super::{AlertManager, Effects, Severity};
use serde_json::json;

pub(crate) const RULE: &str = "database";
pub(crate) const SUBJECT: &str = "caretaker.db";

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
            None if ok && open => self.clear(conn, RULE, SUBJECT.into(), now_ms),
            None => Ok(Effects::default()),
        };
        // The alert's own row may not have been written; it is retried with its next change.
        self.wrote_ok = false;
        self.write_error = None;
        fx.unwrap_or_default()
    }
}
