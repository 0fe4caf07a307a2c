//! The presence service: says once, at start, how long Caretaker was away (an info log line, and a
//! warning alert past `alerts.absence_alert_minutes`), raises a critical alert on a restart loop,
//! keeps the heartbeat moving while the engine runs, and records a clean stop.

use super::{absence, beat, crash_loop, stopped, Cause, Start, CRASH_LOOP_WINDOW_MS, HEARTBEAT_SECS, RULE};

/// A clean stop shorter than this before a start is a restart, not an absence worth a line.
const BRIEF_STOP_MS: i64 = 60_000;
use crate::alerts::{Effects, Severity};
use crate::core::Core;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub(crate) struct Service {
    core: Arc<Core>,
    start: Start,
    boot_ms: Option<i64>,
    loop_cleared: AtomicBool,
}

impl Service {
    pub fn new(core: Arc<Core>, start: Start, boot_ms: Option<i64>) -> Arc<Self> {
        Arc::new(Service { core, start, boot_ms, loop_cleared: AtomicBool::new(false) })
    }

    /// Says what the start found. Called once, after every service (the log store, the notifier,
    /// the forwarders) is listening, so the alerts go out through every channel there is.
    pub async fn announce(self: &Arc<Self>) {
        let now = self.start.started_ms;
        let gap = self.start.previous.first().map(|prev| absence(prev, now, self.boot_ms));
        let looping = crash_loop(&self.start.previous, now);
        match gap {
            // A restart on purpose (the app handing over to the service, a reinstall) is no news.
            Some(a) if a.cause == Cause::Stopped && a.to_ms - a.from_ms < BRIEF_STOP_MS => {
                tracing::debug!(from_ms = a.from_ms, to_ms = a.to_ms, "{}", a.message(&chrono::Local));
            }
            Some(a) => tracing::info!(from_ms = a.from_ms, to_ms = a.to_ms, "{}", a.message(&chrono::Local)),
            None => {}
        }
        let limit = self.core.config().alerts.absence_alert_minutes;
        let alert_gap = gap.filter(|a| limit > 0 && a.to_ms - a.from_ms > limit as i64 * 60_000);
        if alert_gap.is_none() && looping.is_none() {
            return;
        }
        let host = self.core.hostname.clone();
        let data_dir = self.core.data_dir.display().to_string();
        self.core
            .with_alerts(move |m, c, now| {
                let mut fx = Effects::default();
                if let Some(a) = alert_gap {
                    let title = format!("Caretaker was not running for {} min on {host}", a.minutes());
                    let message = format!("{}. Nothing was watched and no backup ran in that time.", a.message(&chrono::Local));
                    let details = json!({ "from_ms": a.from_ms, "to_ms": a.to_ms, "cause": a.cause.describe() });
                    fx.merge(m.raise(c, RULE, format!("absence:{}", a.from_ms), "absence", Severity::Warning, title, message, details, now)?);
                }
                if let Some(starts) = looping {
                    let title = format!("Caretaker is restarting in a loop on {host}");
                    let message = format!(
                        "It started {starts} times in the last {} minutes without stopping cleanly. Its log files in {data_dir}/logs say why.",
                        CRASH_LOOP_WINDOW_MS / 60_000
                    );
                    let details = json!({ "starts": starts, "window_minutes": CRASH_LOOP_WINDOW_MS / 60_000 });
                    fx.merge(m.raise(c, RULE, "crash_loop".into(), "crash_loop", Severity::Critical, title, message, details, now)?);
                }
                Ok(fx)
            })
            .await;
    }

    /// Moves the heartbeat forward every minute; once the engine has stayed up longer than the
    /// loop window, an open restart-loop alert recovers.
    pub async fn run(self: Arc<Self>) {
        let core = self.core.clone();
        core.every(Duration::from_secs(HEARTBEAT_SECS), || {
            let me = self.clone();
            async move {
                let (run_id, now) = (me.start.run_id, me.core.now());
                if let Err(e) = me.core.db.write_async(move |c| beat(c, run_id, now)).await {
                    tracing::warn!("could not record the heartbeat: {e}");
                }
                if now - me.start.started_ms > CRASH_LOOP_WINDOW_MS && !me.loop_cleared.swap(true, Ordering::SeqCst) {
                    me.core.with_alerts(|m, c, now| m.clear(c, RULE, "crash_loop".into(), now)).await;
                }
            }
        })
        .await;
    }

    /// Records a clean stop; the next start counts the absence from here.
    pub async fn stop(&self) {
        let (run_id, now) = (self.start.run_id, self.core.now());
        if let Err(e) = self.core.db.write_async(move |c| stopped(c, run_id, now)).await {
            tracing::warn!("could not record the clean stop: {e}");
        }
    }
}
