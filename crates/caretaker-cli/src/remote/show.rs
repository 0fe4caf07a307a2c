//! How remote answers read on a terminal.

use anyhow::Result;
use caretaker_engine::backup::protocol::SnapshotInfo;
use caretaker_engine::backup::{BackupRun, BackupsOverview};
use caretaker_engine::{Alert, CheckResult, CheckSummary, LogLine, MaintenanceStatus, RunReport};

/// An enum's wire name ("critical", "in_progress"), as the JSON output spells it.
pub fn word<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => "?".into(),
    }
}

/// A time in the machine's own zone, to the second.
pub fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "?".into())
}

pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

pub fn alerts(alerts: &[Alert]) {
    if alerts.is_empty() {
        println!("No alerts.");
        return;
    }
    println!("{:>6}  {:<8}  {:<12}  {:<19}  TITLE", "ID", "SEVERITY", "STATUS", "SINCE");
    for a in alerts {
        println!("{:>6}  {:<8}  {:<12}  {:<19}  {}", a.id, word(&a.severity), word(&a.status), when(a.created_at), a.title);
    }
}

pub fn checks(checks: &[CheckSummary]) {
    if checks.is_empty() {
        println!("No checks configured.");
        return;
    }
    println!("{:<24}  {:<10}  {:<9}  {:>9}  {:>8}  TARGET", "NAME", "KIND", "STATUS", "LATENCY", "UP 24H");
    for c in checks {
        let status = c.latest.as_ref().map_or("no result".to_string(), |r| word(&r.status));
        let status = if c.config.enabled { status } else { "disabled".into() };
        let latency = c.latest.as_ref().and_then(|r| r.latency_ms).map_or("-".into(), |l| format!("{l:.0} ms"));
        let uptime = c.uptime_24h.map_or("-".into(), |u| format!("{u:.1} %"));
        println!("{:<24}  {:<10}  {:<9}  {:>9}  {:>8}  {}", c.config.name, c.kind, status, latency, uptime, c.target);
    }
}

pub fn check_result(r: &CheckResult) {
    let latency = r.latency_ms.map_or(String::new(), |l| format!(" in {l:.0} ms"));
    println!("{}: {}{latency}", r.service_name, word(&r.status));
    if let Some(e) = &r.error_message {
        println!("  {e}");
    }
}

fn run_line(r: &RunReport) -> String {
    let failed = r.tasks.iter().filter(|t| word(&t.status) == "failed").count();
    let failed = if failed > 0 { format!(", {failed} failed") } else { String::new() };
    format!("run {} ({}) {} at {}{failed}", r.run_id, r.trigger, word(&r.status), when(r.ended_at.unwrap_or(r.started_at)))
}

pub fn maintenance(s: &MaintenanceStatus) {
    match &s.running {
        Some(r) => println!("Running: {}", run_line(r)),
        None => println!("Running: nothing"),
    }
    match &s.last_run {
        Some(r) => println!("Last:    {}", run_line(r)),
        None => println!("Last:    never ran"),
    }
    if let Some(next) = s.next_run_ms {
        println!("Next:    {}", when(next));
    }
}

pub fn report(r: &RunReport) {
    println!("{}", run_line(r));
    for t in &r.tasks {
        let message = t.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
        println!("  {:<10} {}{message}", word(&t.status), t.name);
    }
}

pub fn backups(o: &BackupsOverview) {
    if o.plans.is_empty() {
        println!("No backup plans. Create one in the app's Backups page.");
        return;
    }
    println!("{:<20}  {:<9}  {:<19}  {:<19}  STATE", "PLAN", "HEALTH", "LAST SUCCESS", "NEXT");
    for p in &o.plans {
        let last = p.last_success_ms.map_or("never".into(), when);
        let next = p.next_run_ms.map_or("-".into(), when);
        println!("{:<20}  {:<9}  {:<19}  {:<19}  {}", p.plan.name, word(&p.health), last, next, p.health_message);
    }
    if let Some(job) = &o.job {
        println!("\nRunning: {} of {} since {} ({})", word(&job.kind), job.plan, when(job.started_ms), job.progress.phase);
    }
}

pub fn run(r: &BackupRun) {
    let snapshot = r.snapshot_id.as_deref().map(|s| format!(", snapshot {}", &s[..s.len().min(8)])).unwrap_or_default();
    println!("{} of {}: {}{snapshot}", word(&r.kind), r.plan, word(&r.status));
    if r.files_new + r.files_changed + r.files_unmodified > 0 {
        println!(
            "  {} new, {} changed, {} unchanged files; {} read, {} added",
            r.files_new,
            r.files_changed,
            r.files_unmodified,
            bytes(r.bytes_processed),
            bytes(r.bytes_added)
        );
    }
    if let Some(e) = &r.error {
        println!("  {e}");
    }
}

pub fn snapshots(list: &[SnapshotInfo]) {
    if list.is_empty() {
        println!("No snapshots.");
        return;
    }
    println!("{:<10}  {:<19}  PATHS", "ID", "TIME");
    for s in list {
        println!("{:<10}  {:<19}  {}", s.short_id, when(s.time_ms), s.paths.join(", "));
    }
}

pub fn log_line(l: &LogLine, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string(l)?);
    } else {
        println!("{}  {:<5}  {}  {}", when(l.ts_ms), word(&l.level).to_uppercase(), l.target, l.message);
    }
    Ok(())
}
