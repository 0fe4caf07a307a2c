//! The memory rules. macOS and Linux both keep spare RAM full of cache, so "used %" is high on a
//! healthy machine: the memory alert judges pressure where the OS reports it (Linux PSI, macOS's
//! level) and used % only where it does not. Swap is judged on growth within a window, not on
//! its level: a machine that keeps some swap is fine, one whose swap keeps climbing is not.

use super::{pct, AlertManager, Signal};
use crate::alerts::Severity;
use crate::config::ThresholdRule;
use crate::metrics::{MemoryPressure, MemorySample, PressureLevel, PsiLine};
use serde_json::json;

const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = 1024.0 * MIB;

fn gib(bytes: f64) -> String {
    format!("{:.1} GiB", bytes / GIB)
}

/// What a memory alert is read with: how full memory is, and how much is swapped out.
fn context(m: &MemorySample) -> String {
    format!("Memory used {} of {}; swap in use {}.", pct(m.used_percent()), gib(m.total_bytes as f64), gib(m.swap_used_bytes as f64))
}

impl AlertManager {
    /// The memory alert (rule and subject `memory`), on whatever this system can measure.
    /// `[alerts.memory] enabled = false` silences it whichever is judged.
    pub(super) fn memory_signal(&self, m: &MemorySample) -> Signal {
        match m.pressure.as_ref().filter(|_| self.config.memory_pressure.enabled) {
            Some(MemoryPressure::Psi { some, full }) => self.psi_signal(m, some, full.as_ref()),
            Some(MemoryPressure::Macos { level }) => self.macos_signal(m, *level),
            None => {
                let mut sig = self.threshold_signal("memory", &self.config.memory, "memory".into(), "Memory used", m.used_percent());
                if m.pressure.is_none() {
                    sig.message.push_str(" This system reports no memory pressure, so used memory is judged.");
                }
                sig.details["measured"] = json!("used_percent");
                sig
            }
        }
    }

    /// PSI `some avg60`: the share of the last minute in which at least one task waited for
    /// memory. Already a minute's average, so the usual hold of two samples is enough.
    fn psi_signal(&self, m: &MemorySample, some: &PsiLine, full: Option<&PsiLine>) -> Signal {
        let p = &self.config.memory_pressure;
        let rule = ThresholdRule {
            warning: p.warning,
            critical: p.critical,
            clear_margin: p.clear_margin,
            for_secs: p.for_secs,
            average_secs: None,
            enabled: self.config.memory.enabled,
        };
        let v = some.avg60;
        let mut sig = self.threshold_signal("memory", &rule, "memory".into(), "Memory pressure", v);
        let line = if sig.level == Some(Severity::Critical) { p.critical } else { p.warning };
        sig.title = format!("Memory pressure {} (PSI some avg60) on {}", pct(v), self.hostname);
        sig.message = format!(
            "Memory pressure {} (PSI some avg60): some task waited for memory {} of the last minute ({} over 10 s, {} over 5 min). \
             The {} line is {}; it clears below {}. {}",
            pct(v),
            pct(v),
            pct(some.avg10),
            pct(some.avg300),
            sig.level.map_or("warning", |l| l.as_str()),
            pct(line),
            pct(p.warning - p.clear_margin),
            context(m)
        );
        sig.details["measured"] = json!("psi_some_avg60");
        sig.details["psi_some"] = json!(some);
        sig.details["psi_full"] = json!(full);
        sig.details["used_percent"] = json!(m.used_percent());
        sig.details["swap_used_bytes"] = json!(m.swap_used_bytes);
        sig
    }

    /// macOS's level is its own judgement (with its own hysteresis): warning and critical map
    /// to the alert's severities, normal clears it. The hold time still applies.
    fn macos_signal(&self, m: &MemorySample, level: PressureLevel) -> Signal {
        let severity = match level {
            PressureLevel::Normal => None,
            PressureLevel::Warning => Some(Severity::Warning),
            PressureLevel::Critical => Some(Severity::Critical),
        };
        let for_ms = self.config.memory_pressure.for_secs.map_or(2 * self.metrics_interval_ms, |s| s as i64 * 1000);
        Signal {
            rule: "memory",
            subject: "memory".into(),
            level: severity.filter(|_| self.config.memory.enabled),
            alert_type: "threshold_memory".into(),
            title: format!("Memory pressure {} (macOS) on {}", level.as_str(), self.hostname),
            message: format!(
                "macOS reports memory pressure {} (kern.memorystatus_vm_pressure_level {}); the alert clears when it is normal again. {}",
                level.as_str(),
                level.kernel_value(),
                context(m)
            ),
            details: json!({
                "measured": "macos_pressure_level",
                "level": level,
                "kernel_value": level.kernel_value(),
                "used_percent": m.used_percent(),
                "swap_used_bytes": m.swap_used_bytes,
                "for_secs": for_ms / 1000,
            }),
            for_ms,
        }
    }

    /// A warning (rule `memory`, subject `swap`) when swap in use grew by more than the line
    /// within the window, measured from the window's lowest point. It clears once the growth is
    /// under half the line, so growth hovering at the line does not flap.
    pub(super) fn swap_growth_signal(&mut self, m: &MemorySample, now_ms: i64) -> Signal {
        let rule = self.config.swap_growth.clone();
        let used = m.swap_used_bytes as f64;
        let (growth, since) = self.swap_window.push(now_ms, used, rule.window_minutes as i64 * 60_000);
        let line = rule.growth_mib as f64 * MIB;
        let open = self.open.contains_key(&("memory".to_string(), "swap".to_string()));
        let firing = growth >= line || (open && growth > line / 2.0);
        let level = (rule.enabled && firing).then_some(Severity::Warning);
        let minutes = ((now_ms - since) as f64 / 60_000.0).ceil().max(1.0);
        Signal {
            rule: "memory",
            subject: "swap".into(),
            level,
            alert_type: "swap_growth".into(),
            title: format!("Swap grew {} in {minutes} min on {}", gib(growth), self.hostname),
            message: format!(
                "Swap grew {} in {minutes} min, from {} to {} (the line is {} within {} min; it clears below {}). {}",
                gib(growth),
                gib(used - growth),
                gib(used),
                gib(line),
                rule.window_minutes,
                gib(line / 2.0),
                context(m)
            ),
            details: json!({
                "measured": "swap_growth",
                "growth_bytes": growth,
                "since": since,
                "swap_used_bytes": m.swap_used_bytes,
                "growth_mib": rule.growth_mib,
                "window_minutes": rule.window_minutes,
                "for_secs": 2 * self.metrics_interval_ms / 1000,
            }),
            for_ms: 2 * self.metrics_interval_ms,
        }
    }
}
