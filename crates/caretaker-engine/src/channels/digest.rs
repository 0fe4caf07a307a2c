//! The daily digest: once a day, at the time a channel names (`digest_at`, local), one message
//! with the open alerts, the last backup of each plan, the last maintenance run and the disk
//! space, so that silence from Caretaker means "all good", not "nobody is listening". It goes
//! through the outbox like any alert, so it is retried and survives restarts; the outbox also
//! remembers which day was sent.

use super::message::{Message, Transition};
use crate::alerts::{Alert, Severity};
use crate::metrics::HostSample;
use chrono::{Local, NaiveDate, TimeZone};
use rusqlite::{Connection, OptionalExtension};

/// A digest more than this late (the machine was off at the time) waits for the next day.
const LATE_LIMIT_MINUTES: i64 = 6 * 60;

/// The last run of something: when it ended and how.
#[derive(Debug, Clone, PartialEq)]
pub struct LastRun {
    pub name: String,
    pub at: i64,
    pub status: String,
}

/// What a digest says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Facts {
    pub open: Vec<(Severity, String)>,
    pub backups: Vec<LastRun>,
    pub maintenance: Option<LastRun>,
    /// (mount point, free bytes, used %)
    pub disks: Vec<(String, u64, f64)>,
}

fn local_day(ms: i64) -> Option<NaiveDate> {
    Local.timestamp_millis_opt(ms).single().map(|t| t.date_naive())
}

fn local_time(ms: i64) -> String {
    Local.timestamp_millis_opt(ms).single().map_or_else(|| ms.to_string(), |t| t.format("%a %H:%M").to_string())
}

/// Whether the digest at `minute_of_day` is due at `now`, given the day the last one was sent.
pub fn due(now: i64, minute_of_day: u32, last_sent: Option<i64>) -> bool {
    let Some(t) = Local.timestamp_millis_opt(now).single() else { return false };
    use chrono::Timelike;
    let minute = i64::from(t.hour() * 60 + t.minute());
    let late = minute - i64::from(minute_of_day);
    let sent_today = last_sent.and_then(local_day) == Some(t.date_naive());
    (0..LATE_LIMIT_MINUTES).contains(&late) && !sent_today
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// The digest as a message: quiet unless something is open.
pub fn compose(f: &Facts, host: &str, now: i64) -> Message {
    let mut body = Vec::new();
    if f.open.is_empty() {
        body.push("No open alerts.".to_string());
    } else {
        body.push(format!("{} open alert{}:", f.open.len(), if f.open.len() == 1 { "" } else { "s" }));
        body.extend(f.open.iter().take(10).map(|(s, t)| format!("• [{}] {t}", s.as_str())));
    }
    if f.backups.is_empty() {
        body.push("Backups: no plan has run yet.".into());
    }
    for b in &f.backups {
        body.push(format!("Backup {}: {} ({})", b.name, b.status, local_time(b.at)));
    }
    match &f.maintenance {
        Some(m) => body.push(format!("Maintenance: {} ({})", m.status, local_time(m.at))),
        None => body.push("Maintenance: not run yet.".into()),
    }
    for (mount, free, used) in &f.disks {
        body.push(format!("Disk {mount}: {} free ({used:.0} % used)", gib(*free)));
    }
    let title = match f.open.len() {
        0 => format!("Caretaker on {host}: all good"),
        n => format!("Caretaker on {host}: {n} open alert{}", if n == 1 { "" } else { "s" }),
    };
    let worst = f.open.iter().map(|(s, _)| *s).max().unwrap_or(Severity::Warning);
    Message {
        transition: Transition::Digest,
        alert_id: 0,
        rule: "digest".into(),
        subject: String::new(),
        severity: worst,
        status: if f.open.is_empty() { "ok".into() } else { "open alerts".into() },
        title,
        body: body.join("\n"),
        started: now,
        resolved: None,
        host: host.to_string(),
    }
}

/// Reads what a digest says from the database (the latest host sample, the last runs).
pub(crate) fn gather(c: &Connection, open: &[Alert]) -> crate::error::Result<Facts> {
    let mut backups = Vec::new();
    let mut stmt = c.prepare(
        "SELECT plan, MAX(COALESCE(finished_at, started_at)), status FROM backup_runs WHERE kind = 'backup' AND status != 'running' GROUP BY plan ORDER BY plan",
    )?;
    for row in stmt.query_map([], |r| Ok(LastRun { name: r.get(0)?, at: r.get(1)?, status: r.get(2)? }))? {
        backups.push(row?);
    }
    let maintenance = c
        .query_row(
            "SELECT COALESCE(ended_at, started_at), status FROM maintenance_runs WHERE status != 'running' ORDER BY started_at DESC LIMIT 1",
            [],
            |r| Ok(LastRun { name: "maintenance".into(), at: r.get(0)?, status: r.get(1)? }),
        )
        .optional()?;
    let sample: Option<HostSample> = crate::store::kv_get(c, "host.latest")?.and_then(|(v, _)| serde_json::from_str(&v).ok());
    let disks =
        sample.map(|s| s.disks.iter().map(|d| (d.mount_point.clone(), d.available_bytes, d.used_percent)).collect()).unwrap_or_default();
    let open = open.iter().map(|a| (a.severity, a.title.clone())).collect();
    Ok(Facts { open, backups, maintenance, disks })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: u32, h: u32, m: u32) -> i64 {
        Local.with_ymd_and_hms(2026, 3, day, h, m, 0).earliest().map(|t| t.timestamp_millis()).unwrap_or_default()
    }

    #[test]
    fn due_once_a_day_from_its_time_and_not_hours_late() {
        let eight = 8 * 60;
        assert!(!due(at(10, 7, 59), eight, None));
        assert!(due(at(10, 8, 0), eight, None));
        assert!(due(at(10, 9, 30), eight, Some(at(9, 8, 0))), "yesterday's does not count");
        assert!(!due(at(10, 9, 30), eight, Some(at(10, 8, 1))), "sent today");
        assert!(!due(at(10, 14, 30), eight, None), "more than six hours late: tomorrow");
        assert!(due(at(11, 8, 0), eight, Some(at(10, 8, 1))));
    }

    #[test]
    fn says_all_good_quietly_or_lists_what_is_open() {
        let mut f = Facts {
            backups: vec![LastRun { name: "Home".into(), at: at(10, 2, 0), status: "ok".into() }],
            disks: vec![("/".into(), 50 << 30, 42.4)],
            ..Facts::default()
        };
        let m = compose(&f, "mini", at(10, 8, 0));
        assert_eq!(m.title, "Caretaker on mini: all good");
        assert!(m.recovery(), "an all-good digest goes out at the quiet priority");
        assert!(m.body.contains("No open alerts.") && m.body.contains("Backup Home: ok (Tue 02:00)"), "{}", m.body);
        assert!(m.body.contains("Maintenance: not run yet.") && m.body.contains("Disk /: 50.0 GiB free (42 % used)"), "{}", m.body);
        f.open = vec![(Severity::Warning, "Disk 91 %".into()), (Severity::Critical, "Web is down".into())];
        let m = compose(&f, "mini", at(10, 8, 0));
        assert_eq!((m.title.as_str(), m.severity), ("Caretaker on mini: 2 open alerts", Severity::Critical));
        assert!(m.body.contains("• [critical] Web is down"), "{}", m.body);
    }
}
