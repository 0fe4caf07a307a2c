//! Time Machine's latest backup, on macOS: a second signal beside Caretaker's own backups (a
//! Mac whose Time Machine is also stale has a problem beyond one plan).

use chrono::{NaiveDateTime, TimeZone};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TimeMachine {
    /// When the latest backup started (milliseconds since the epoch).
    pub latest_ms: i64,
    /// The backup's folder on the Time Machine destination.
    pub path: String,
}

/// Reads what `tmutil latestbackup` printed. It names the latest backup's folder after its local
/// start time: `/Volumes/TM/Backups.backupdb/mini/2026-11-30-031502` on an HFS+ destination,
/// `…/2026-11-30-031502.backup` on an APFS one (macOS 11 on). Everything else it may print (no
/// destination, no backup yet, the destination not mounted, Full Disk Access missing) holds no
/// time: None, as when Time Machine is off.
pub fn parse_latest<Tz: TimeZone>(tz: &Tz, stdout: &str) -> Option<TimeMachine> {
    let path = stdout.lines().map(str::trim).rfind(|l| l.starts_with('/'))?;
    let name = path.trim_end_matches('/').rsplit('/').next()?;
    let stamp = name.strip_suffix(".backup").unwrap_or(name);
    let local = NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d-%H%M%S").ok()?;
    // A time repeated when the clocks went back is taken at its first occurrence.
    let at = tz.from_local_datetime(&local).earliest()?;
    Some(TimeMachine { latest_ms: at.timestamp_millis(), path: path.to_string() })
}

#[cfg(target_os = "macos")]
mod mac {
    use super::TimeMachine;
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    /// tmutil may mount a network destination to answer, so it is asked at most this often
    /// (the overview is read at every page refresh and metrics scrape).
    const FRESH_FOR: Duration = Duration::from_secs(5 * 60);
    static CACHE: Mutex<Option<(Instant, Option<TimeMachine>)>> = Mutex::new(None);

    /// Time Machine's latest backup; None when it has none (or is off).
    pub async fn latest() -> Option<TimeMachine> {
        if let Some((at, tm)) = CACHE.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            if at.elapsed() < FRESH_FOR {
                return tm.clone();
            }
        }
        let run = tokio::process::Command::new("/usr/bin/tmutil").arg("latestbackup").kill_on_drop(true).output();
        let tm = match tokio::time::timeout(Duration::from_secs(10), run).await {
            Ok(Ok(out)) if out.status.success() => super::parse_latest(&chrono::Local, &String::from_utf8_lossy(&out.stdout)),
            _ => None,
        };
        *CACHE.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), tm.clone()));
        tm
    }
}

#[cfg(target_os = "macos")]
pub use mac::latest;

/// Time Machine's latest backup: none off macOS.
#[cfg(not(target_os = "macos"))]
pub async fn latest() -> Option<TimeMachine> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use chrono_tz::Europe::Berlin;

    fn ms(rfc3339: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(rfc3339).expect("time").timestamp_millis()
    }

    #[test]
    fn both_folder_forms_give_the_backups_local_start_time() {
        let hfs = "/Volumes/TM/Backups.backupdb/mini/2026-11-30-031502\n";
        let tm = parse_latest(&Utc, hfs).expect("a backup");
        assert_eq!(tm.latest_ms, ms("2026-11-30T03:15:02Z"));
        assert_eq!(tm.path, "/Volumes/TM/Backups.backupdb/mini/2026-11-30-031502");

        let apfs = "/Volumes/.timemachine/6A1B2C3D-0000-4E5F-8A9B-112233445566/2026-11-30-031502.backup/2026-11-30-031502.backup\n";
        assert_eq!(parse_latest(&Utc, apfs).map(|t| t.latest_ms), Some(ms("2026-11-30T03:15:02Z")));
        // The name is local time: in Berlin in winter, an hour ahead of UTC.
        assert_eq!(parse_latest(&Berlin, apfs).map(|t| t.latest_ms), Some(ms("2026-11-30T02:15:02Z")));
    }

    #[test]
    fn outputs_without_a_backup_give_none() {
        for out in [
            "",
            "\n",
            "No machine directory found for host.\n",
            "Unable to locate machine directory for host.\n",
            "Failed to mount backup destination, error: Error Domain=TMBackupOptionsErrorDomain Code=1 \"(null)\"\n",
            "tmutil: latestbackup requires Full Disk Access privileges.\nTo allow this operation, select Full Disk Access in the Privacy\ntab of the Security & Privacy preference pane, and add Terminal\nto the list of applications which are allowed Full Disk Access.\n",
            "/Volumes/TM/Backups.backupdb/mini/Latest\n",
            "/Volumes/TM/Backups.backupdb/mini/2026-13-40-999999\n",
        ] {
            assert_eq!(parse_latest(&Utc, out), None, "{out:?}");
        }
    }

    #[test]
    fn elsewhere_there_is_no_time_machine() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        if !cfg!(target_os = "macos") {
            assert_eq!(rt.block_on(latest()), None);
        }
    }
}
