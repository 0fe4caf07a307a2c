//! Prometheus text exposition (version 0.0.4) of what the engine knows: one HELP and TYPE line
//! per family, base units in names, labels escaped.

use crate::alerts::{Alert, AlertStatus, Severity};
use crate::checks::{CheckResult, CheckStatus};
use crate::metrics::HostSample;
use std::fmt::Write;

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

struct Family<'a> {
    out: &'a mut String,
}

impl<'a> Family<'a> {
    fn new(out: &'a mut String, name: &str, kind: &str, help: &str) -> Self {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        Family { out }
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        if !value.is_finite() {
            return;
        }
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }
}

/// Renders everything; `host` is the latest sample, `checks` the latest result per check.
/// (metric name, help, how to read it off one disk).
type DiskFamily = (&'static str, &'static str, fn(&crate::metrics::DiskSample) -> f64);

pub fn render(
    host: Option<&HostSample>,
    checks: &[(String, Option<CheckResult>)],
    alerts: &[Alert],
    last_sample_ms: Option<i64>,
    started_ms: i64,
) -> String {
    let mut o = String::with_capacity(8 * 1024);
    {
        let mut f = Family::new(&mut o, "caretaker_build_info", "gauge", "Caretaker's version, as a label.");
        f.sample("caretaker_build_info", &[("version", env!("CARGO_PKG_VERSION"))], 1.0);
    }
    {
        let mut f = Family::new(&mut o, "caretaker_start_time_seconds", "gauge", "When the engine started, Unix time.");
        f.sample("caretaker_start_time_seconds", &[], started_ms as f64 / 1000.0);
    }
    if let Some(t) = last_sample_ms {
        let mut f = Family::new(&mut o, "caretaker_last_sample_timestamp_seconds", "gauge", "When the host was last sampled, Unix time.");
        f.sample("caretaker_last_sample_timestamp_seconds", &[], t as f64 / 1000.0);
    }
    if let Some(h) = host {
        Family::new(&mut o, "caretaker_cpu_usage_ratio", "gauge", "CPU busy share of all cores, 0 to 1.").sample(
            "caretaker_cpu_usage_ratio",
            &[],
            h.cpu.total_percent / 100.0,
        );
        {
            let mut f = Family::new(&mut o, "caretaker_cpu_core_usage_ratio", "gauge", "CPU busy share per core, 0 to 1.");
            for (i, v) in h.cpu.per_core_percent.iter().enumerate() {
                f.sample("caretaker_cpu_core_usage_ratio", &[("core", &i.to_string())], v / 100.0);
            }
        }
        if let Some(l) = &h.load {
            let mut f = Family::new(&mut o, "caretaker_load_average", "gauge", "System load average.");
            f.sample("caretaker_load_average", &[("window", "1m")], l.one);
            f.sample("caretaker_load_average", &[("window", "5m")], l.five);
            f.sample("caretaker_load_average", &[("window", "15m")], l.fifteen);
        }
        let m = &h.memory;
        Family::new(&mut o, "caretaker_memory_total_bytes", "gauge", "Physical memory.").sample(
            "caretaker_memory_total_bytes",
            &[],
            m.total_bytes as f64,
        );
        Family::new(&mut o, "caretaker_memory_used_bytes", "gauge", "Physical memory in use.").sample(
            "caretaker_memory_used_bytes",
            &[],
            m.used_bytes as f64,
        );
        Family::new(&mut o, "caretaker_swap_total_bytes", "gauge", "Swap space.").sample(
            "caretaker_swap_total_bytes",
            &[],
            m.swap_total_bytes as f64,
        );
        Family::new(&mut o, "caretaker_swap_used_bytes", "gauge", "Swap space in use.").sample(
            "caretaker_swap_used_bytes",
            &[],
            m.swap_used_bytes as f64,
        );
        let families: [DiskFamily; 4] = [
            ("caretaker_disk_total_bytes", "Size of each mounted volume.", |d| d.total_bytes as f64),
            ("caretaker_disk_available_bytes", "Free space of each mounted volume.", |d| d.available_bytes as f64),
            ("caretaker_disk_read_bytes_per_second", "Read rate of each volume.", |d| d.read_bytes_per_sec),
            ("caretaker_disk_written_bytes_per_second", "Write rate of each volume.", |d| d.write_bytes_per_sec),
        ];
        for (name, help, get) in families {
            let mut f = Family::new(&mut o, name, "gauge", help);
            for d in &h.disks {
                f.sample(name, &[("mount", &d.mount_point), ("device", &d.name)], get(d));
            }
        }
        {
            let mut f = Family::new(&mut o, "caretaker_network_receive_bytes_per_second", "gauge", "Receive rate per interface.");
            for n in &h.networks {
                f.sample("caretaker_network_receive_bytes_per_second", &[("interface", &n.interface)], n.rx_bytes_per_sec);
            }
        }
        {
            let mut f = Family::new(&mut o, "caretaker_network_transmit_bytes_per_second", "gauge", "Transmit rate per interface.");
            for n in &h.networks {
                f.sample("caretaker_network_transmit_bytes_per_second", &[("interface", &n.interface)], n.tx_bytes_per_sec);
            }
        }
        if !h.temperatures.is_empty() {
            let mut f = Family::new(&mut o, "caretaker_temperature_celsius", "gauge", "Sensor temperatures.");
            for t in &h.temperatures {
                f.sample("caretaker_temperature_celsius", &[("sensor", &t.label)], t.celsius);
            }
        }
    }
    {
        let mut f = Family::new(
            &mut o,
            "caretaker_check_up",
            "gauge",
            "1 when a service check's latest result is healthy or degraded, 0 when down.",
        );
        for (name, r) in checks {
            if let Some(r) = r {
                f.sample("caretaker_check_up", &[("check", name)], if r.status == CheckStatus::Down { 0.0 } else { 1.0 });
            }
        }
    }
    {
        let mut f =
            Family::new(&mut o, "caretaker_check_status", "gauge", "The latest status of each check, one series per status set to 1.");
        for (name, r) in checks {
            if let Some(r) = r {
                for s in [CheckStatus::Healthy, CheckStatus::Degraded, CheckStatus::Down] {
                    f.sample("caretaker_check_status", &[("check", name), ("status", s.as_str())], if r.status == s { 1.0 } else { 0.0 });
                }
            }
        }
    }
    {
        let mut f = Family::new(&mut o, "caretaker_check_latency_seconds", "gauge", "How long the latest run of each check took.");
        for (name, r) in checks {
            if let Some(l) = r.as_ref().and_then(|r| r.latency_ms) {
                f.sample("caretaker_check_latency_seconds", &[("check", name)], l / 1000.0);
            }
        }
    }
    {
        let mut f = Family::new(&mut o, "caretaker_alerts_open", "gauge", "Open alerts by severity and status.");
        for sev in [Severity::Warning, Severity::Critical] {
            for st in [AlertStatus::Active, AlertStatus::Acknowledged] {
                let n = alerts.iter().filter(|a| a.severity == sev && a.status == st).count();
                f.sample("caretaker_alerts_open", &[("severity", sev.as_str()), ("status", st.as_str())], n as f64);
            }
        }
    }
    o
}

/// Backup freshness per plan, appended to the exposition.
pub fn render_backups(o: &mut String, plans: &[crate::backup::PlanStatus]) {
    if plans.is_empty() {
        return;
    }
    {
        let mut f = Family::new(
            o,
            "caretaker_backup_last_success_timestamp_seconds",
            "gauge",
            "When each plan's last successful backup finished (Unix time).",
        );
        for p in plans {
            if let Some(t) = p.last_success_ms {
                f.sample("caretaker_backup_last_success_timestamp_seconds", &[("plan", &p.plan.name)], t as f64 / 1000.0);
            }
        }
    }
    {
        let mut f =
            Family::new(o, "caretaker_backup_last_run_ok", "gauge", "1 when each plan's last backup run succeeded, 0 when it failed.");
        for p in plans {
            if let Some(r) = &p.last_run {
                f.sample("caretaker_backup_last_run_ok", &[("plan", &p.plan.name)], if r.status == "ok" { 1.0 } else { 0.0 });
            }
        }
    }
    {
        let mut f = Family::new(
            o,
            "caretaker_backup_overdue",
            "gauge",
            "1 when a plan's last good backup is older than twice its schedule allows.",
        );
        for p in plans {
            f.sample("caretaker_backup_overdue", &[("plan", &p.plan.name)], if p.health == "overdue" { 1.0 } else { 0.0 });
        }
    }
    {
        let mut f = Family::new(
            o,
            "caretaker_backup_repository_size_bytes",
            "gauge",
            "Size of each plan's repository folder after its last good backup.",
        );
        for p in plans {
            if let Some(b) = p.repository_bytes {
                f.sample("caretaker_backup_repository_size_bytes", &[("plan", &p.plan.name)], b as f64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_have_help_and_type_and_labels_are_escaped() {
        let r = CheckResult {
            service_name: "Web \"A\"\\B".into(),
            status: CheckStatus::Down,
            latency_ms: Some(12.0),
            checked_at: 0,
            error_message: None,
            probe_details: serde_json::json!({}),
        };
        let text = render(Some(&HostSample::default()), &[("Web \"A\"\\B".into(), Some(r))], &[], Some(2_000), 1_000);
        assert!(text.contains("# HELP caretaker_cpu_usage_ratio "));
        assert!(text.contains("# TYPE caretaker_cpu_usage_ratio gauge\ncaretaker_cpu_usage_ratio 0\n"));
        assert!(text.contains(r#"caretaker_check_up{check="Web \"A\"\\B"} 0"#), "{text}");
        assert!(text.contains(r#"caretaker_check_status{check="Web \"A\"\\B",status="down"} 1"#));
        assert!(text.contains("caretaker_check_latency_seconds{check=\"Web \\\"A\\\"\\\\B\"} 0.012"));
        assert!(text.contains("caretaker_alerts_open{severity=\"critical\",status=\"active\"} 0"));
        // Every sample line belongs to a family declared just before.
        let mut declared = std::collections::HashSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                declared.insert(rest.split(' ').next().unwrap().to_string());
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                assert!(declared.contains(name), "{name} has no TYPE line");
            }
        }
    }
}
