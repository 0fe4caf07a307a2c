//! Flapping: a (rule, subject) that clears and comes back within `flap_window_minutes` is the
//! same incident. Its row re-opens with a count, and the person hears of the flapping once, not
//! of every return and every recovery.

use super::{AlertManager, Signal};
use crate::alerts::{Alert, AlertStatus, Effects, Notice, Severity};
use crate::error::Result;

impl AlertManager {
    fn flap_window_ms(&self) -> i64 {
        self.config.flap_window_minutes as i64 * 60_000
    }

    /// Keeps a just-resolved alert for the window, so a quick return re-opens it.
    pub(super) fn remember_resolved(&mut self, a: &Alert) {
        if self.flap_window_ms() > 0 {
            self.recent.insert((a.rule.clone(), a.subject.clone()), a.clone());
        } else {
            self.told.remove(&a.id);
        }
    }

    /// Forgets the incidents that stayed resolved for the whole window.
    pub(super) fn forget_settled(&mut self, now_ms: i64) {
        let window = self.flap_window_ms();
        let told = &mut self.told;
        self.recent.retain(|_, a| {
            let keep = a.resolved_at.is_some_and(|t| now_ms - t < window);
            if !keep {
                told.remove(&a.id);
            }
            keep
        });
    }

    /// True when `key` resolved within the window, so its return is the same incident.
    pub(super) fn flapping(&mut self, key: &(String, String), now_ms: i64) -> bool {
        self.forget_settled(now_ms);
        self.recent.contains_key(key)
    }

    /// Re-opens the incident of `key` (see [`Self::flapping`]). Its first return is said, as
    /// flapping; later ones only when they are worse than anything said before.
    pub(super) fn reopen(
        &mut self,
        conn: &rusqlite::Connection,
        key: (String, String),
        sig: Signal,
        level: Severity,
        now_ms: i64,
    ) -> Result<Effects> {
        let mut fx = Effects::default();
        let Some(mut alert) = self.recent.remove(&key) else { return Ok(fx) };
        alert.flap_count = alert.flap_count.saturating_add(1);
        alert.status = AlertStatus::Active;
        alert.acknowledged_at = None;
        alert.resolved_at = None;
        alert.severity = level;
        alert.alert_type = sig.alert_type;
        alert.title = sig.title;
        alert.message = sig.message;
        alert.details = sig.details;
        self.persist(conn, &alert);
        self.open.insert(key, alert.clone());
        fx.changed.push(alert.clone());
        let worse = self.told.get(&alert.id).is_none_or(|t| level > *t);
        if alert.flap_count == 1 || worse {
            let minutes = self.config.flap_window_minutes;
            let notice = Notice {
                title: format!("Flapping: {}", alert.title),
                body: format!(
                    "{} It cleared and came back within {minutes} min; it stays one alert, and further returns only show in the app.",
                    alert.message
                ),
                severity: level,
                alert_id: alert.id,
                recovery: false,
            };
            fx.merge(self.notify(conn, alert, notice, now_ms)?);
        }
        Ok(fx)
    }
}
