//! What a tray shows of the engine's state (its icon's level, tooltip and menu texts), computed
//! from a [`Snapshot`] in one place for both trays: the app's, and the light `caretaker-tray`
//! process that stands in for it while the window is closed.

use crate::events::Snapshot;
use crate::{HostSample, Severity};

/// Which of the three icons to show. Not running is as bad as critical: nothing is watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warning,
    Critical,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayView {
    pub level: Level,
    pub tooltip: String,
    /// "No active alerts", "1 active alert", "3 active alerts".
    pub alerts: String,
    /// The pause item's text.
    pub pause: &'static str,
    /// Open alerts: with none, a host sample only refreshes the tooltip's figures.
    pub open_alerts: usize,
}

pub const PAUSE: &str = "Pause notifications for 1 h";
pub const RESUME: &str = "Resume notifications";

/// The worst open alert's level and word.
pub fn level_of(worst: Option<Severity>) -> (Level, &'static str) {
    match worst {
        Some(Severity::Critical) => (Level::Critical, "critical"),
        Some(Severity::Warning) => (Level::Warning, "warning"),
        None => (Level::Ok, "all well"),
    }
}

pub fn view(snap: &Snapshot) -> TrayView {
    let (level, state) = level_of(snap.worst);
    let n = snap.alerts.len();
    let alerts = match n {
        0 => "No active alerts".to_string(),
        1 => "1 active alert".to_string(),
        n => format!("{n} active alerts"),
    };
    let mut tooltip = format!("Caretaker — {state}");
    if let Some(first) = snap.alerts.first() {
        tooltip.push_str(&format!(": {}", first.title));
        if n > 1 {
            tooltip.push_str(&format!(" (+{} more)", n - 1));
        }
    } else if let Some(h) = &snap.host {
        tooltip.push_str(&figures(h));
    }
    let pause = if snap.notifications_paused_until.is_some() { RESUME } else { PAUSE };
    TrayView { level, tooltip, alerts, pause, open_alerts: n }
}

/// No engine answers: critical, and the tooltip says why.
pub fn not_running(message: &str) -> (Level, String) {
    (Level::Critical, format!("Caretaker — not running: {message}"))
}

/// The tooltip while no alert is open, from a new host sample.
pub fn quiet_tooltip(h: &HostSample) -> String {
    format!("Caretaker — all well{}", figures(h))
}

fn figures(h: &HostSample) -> String {
    format!(" · CPU {:.0} %, memory {:.0} %", h.cpu.total_percent, h.memory.used_percent())
}
