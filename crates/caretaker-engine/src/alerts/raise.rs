//! How other capabilities (backups, detectors, analysis, the database's health) raise, settle
//! and clear their own alerts, and close those whose subject went away.

use super::{AlertManager, Signal};
use crate::alerts::{Alert, Effects, Severity};
use crate::error::Result;
use serde_json::Value;

impl AlertManager {
    /// Opens (or keeps) an alert raised by another part of the engine, such as a high-severity
    /// finding of the log analysis. It stays open until the person resolves it.
    #[allow(clippy::too_many_arguments)]
    pub fn raise(
        &mut self,
        conn: &rusqlite::Connection,
        rule: &'static str,
        subject: String,
        alert_type: &str,
        level: Severity,
        title: String,
        message: String,
        details: Value,
        now_ms: i64,
    ) -> Result<Effects> {
        self.observe(
            conn,
            Signal { rule, subject, level: Some(level), alert_type: alert_type.into(), title, message, details, for_ms: 0 },
            now_ms,
        )
    }

    /// Opens, keeps, or (with `level` None) resolves an alert whose condition another part of the
    /// engine evaluates, such as a backup plan being overdue.
    #[allow(clippy::too_many_arguments)]
    pub fn settle(
        &mut self,
        conn: &rusqlite::Connection,
        rule: &'static str,
        subject: String,
        alert_type: &str,
        level: Option<Severity>,
        title: String,
        message: String,
        details: Value,
        now_ms: i64,
    ) -> Result<Effects> {
        self.observe(conn, Signal { rule, subject, level, alert_type: alert_type.into(), title, message, details, for_ms: 0 }, now_ms)
    }

    /// Resolves the open alert of (`rule`, `subject`) because its condition cleared, with the
    /// usual recovery notice. Nothing happens when none is open.
    pub fn clear(&mut self, conn: &rusqlite::Connection, rule: &'static str, subject: String, now_ms: i64) -> Result<Effects> {
        let sig = Signal {
            rule,
            subject,
            level: None,
            alert_type: String::new(),
            title: String::new(),
            message: String::new(),
            details: Value::Null,
            for_ms: 0,
        };
        self.observe(conn, sig, now_ms)
    }

    /// The open alert of (`rule`, `subject`), if any.
    pub fn open_alert(&self, rule: &str, subject: &str) -> Option<&Alert> {
        self.open.get(&(rule.to_string(), subject.to_string()))
    }

    /// Closes, quietly, the open alerts of `rule` whose subject is not in `keep` (a detector
    /// that was deleted or switched off).
    pub fn forget_subjects_except(&mut self, conn: &rusqlite::Connection, rule: &str, keep: &[String], now_ms: i64) -> Result<Vec<Alert>> {
        let gone: Vec<(String, String)> = self.open.keys().filter(|(r, s)| r == rule && !keep.contains(s)).cloned().collect();
        self.close_quietly(conn, gone, now_ms)
    }
}
