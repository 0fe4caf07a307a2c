//! The person's commands on an open alert: acknowledge, resolve, snooze, and pausing every
//! notification. Each fails as a whole when its row cannot be written.

use super::{Alert, AlertManager, AlertStatus};
use crate::error::{EngineError, Result};

impl AlertManager {
    fn find_open(&mut self, id: i64) -> Result<&mut Alert> {
        self.open
            .values_mut()
            .find(|a| a.id == id)
            .ok_or_else(|| EngineError::InvalidInput(format!("alert {id} is not open (already resolved, or no such alert)")))
    }

    /// Silences repeats until the alert resolves.
    pub fn acknowledge(&mut self, conn: &rusqlite::Connection, id: i64, now_ms: i64) -> Result<Alert> {
        let a = self.find_open(id)?;
        if a.status == AlertStatus::Active {
            a.status = AlertStatus::Acknowledged;
            a.acknowledged_at = Some(now_ms);
        }
        let a = a.clone();
        self.save(conn, &a)?;
        Ok(a)
    }

    /// Closes an alert by hand; if its condition still holds it will open again after its hold time.
    pub fn resolve(&mut self, conn: &rusqlite::Connection, id: i64, now_ms: i64) -> Result<Alert> {
        let mut a = self.find_open(id)?.clone();
        a.status = AlertStatus::Resolved;
        a.resolved_at = Some(now_ms);
        self.save(conn, &a)?;
        self.open.remove(&(a.rule.clone(), a.subject.clone()));
        self.told.remove(&a.id);
        Ok(a)
    }

    pub fn snooze(&mut self, conn: &rusqlite::Connection, id: i64, hours: u32, now_ms: i64) -> Result<Alert> {
        if ![1, 4, 8].contains(&hours) {
            return Err(EngineError::InvalidInput(format!("snooze for 1, 4 or 8 hours (got {hours})")));
        }
        let a = self.find_open(id)?;
        a.snoozed_until = Some(now_ms + i64::from(hours) * 3_600_000);
        let a = a.clone();
        self.save(conn, &a)?;
        Ok(a)
    }

    /// Pauses every notification until `until_ms` (None resumes). Kept across restarts.
    pub fn pause_notifications(&mut self, conn: &rusqlite::Connection, until_ms: Option<i64>, now_ms: i64) -> Result<()> {
        self.paused_until = until_ms.filter(|t| *t > now_ms);
        crate::store::kv_put(conn, "notifications.paused_until", &self.paused_until.map_or(String::new(), |t| t.to_string()), now_ms)
    }
}
