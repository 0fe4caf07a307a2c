//! Whether Caretaker was there: one `engine_runs` row per start, with a heartbeat moved forward
//! every minute and the time of a clean stop. A start reads the rows before it to say how long
//! the engine was away and why (the machine restarted, Caretaker was stopped, or it crashed), and
//! whether it is restarting in a loop. Owns the `engine_runs` table; decisions here are pure.

pub mod boot;
pub(crate) mod service;
pub mod switch;

pub use switch::{ServiceState, ServiceSwitch};

use crate::error::Result;
use chrono::{TimeZone, Utc};
use rusqlite::{params, Connection};

/// How often the running engine moves its heartbeat forward.
pub const HEARTBEAT_SECS: u64 = 60;
/// A restart loop: this many starts, each within this window of now, none after a clean stop.
pub const CRASH_LOOP_STARTS: usize = 3;
pub const CRASH_LOOP_WINDOW_MS: i64 = 10 * 60_000;
/// The alert rule for both presence alerts (`absence:<from>` and `crash_loop` subjects).
pub const RULE: &str = "presence";
/// Rows kept: enough history to read, small enough never to matter.
const KEEP_RUNS: i64 = 200;

/// One start of the engine as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub id: i64,
    pub started_ms: i64,
    pub heartbeat_ms: i64,
    /// Set by a clean stop; None while running or after a crash or a kill.
    pub stopped_ms: Option<i64>,
}

/// Why the engine was not running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The machine booted after the engine's last sign of life.
    MachineRestarted,
    /// A clean stop was recorded (`caretaker stop`, the service stopped, the app quit).
    Stopped,
    /// No clean stop and no reboot since: a crash or a kill.
    Crashed,
}

impl Cause {
    pub fn describe(self) -> &'static str {
        match self {
            Cause::MachineRestarted => "the machine restarted",
            Cause::Stopped => "Caretaker was stopped",
            Cause::Crashed => "Caretaker ended without stopping cleanly: a crash or a kill",
        }
    }
}

/// A time the engine was away: from its last sign of life to this start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Absence {
    pub from_ms: i64,
    pub to_ms: i64,
    pub cause: Cause,
}

impl Absence {
    pub fn minutes(&self) -> i64 {
        (self.to_ms - self.from_ms).max(0) / 60_000
    }

    /// "Caretaker was not running from 03:12 to 03:40 (the machine restarted)", in `tz`; the date
    /// is added when the two ends fall on different days.
    pub fn message<Tz: TimeZone>(&self, tz: &Tz) -> String
    where
        Tz::Offset: std::fmt::Display,
    {
        let at = |ms: i64| tz.from_utc_datetime(&Utc.timestamp_millis_opt(ms).single().unwrap_or_default().naive_utc());
        let (from, to) = (at(self.from_ms), at(self.to_ms));
        let pattern = if from.date_naive() == to.date_naive() { "%H:%M" } else { "%Y-%m-%d %H:%M" };
        format!("Caretaker was not running from {} to {} ({})", from.format(pattern), to.format(pattern), self.cause.describe())
    }
}

/// How long the engine was away before `now_ms`, given the run before this start. The last sign of
/// life is the clean stop when there was one, else the last heartbeat. The machine counts as
/// restarted only when it booted after that.
pub fn absence(previous: &Run, now_ms: i64, boot_ms: Option<i64>) -> Absence {
    let from_ms = previous.stopped_ms.unwrap_or(previous.heartbeat_ms).max(previous.heartbeat_ms);
    let cause = match (boot_ms.is_some_and(|b| b > from_ms), previous.stopped_ms) {
        (true, _) => Cause::MachineRestarted,
        (false, Some(_)) => Cause::Stopped,
        (false, None) => Cause::Crashed,
    };
    Absence { from_ms, to_ms: now_ms, cause }
}

/// How many starts, this one included, came within the window without a clean stop in between;
/// `previous` is newest first. Some(n) once that reaches [`CRASH_LOOP_STARTS`].
pub fn crash_loop(previous: &[Run], now_ms: i64) -> Option<usize> {
    let unclean = previous.iter().take_while(|r| r.stopped_ms.is_none() && now_ms - r.started_ms <= CRASH_LOOP_WINDOW_MS).count();
    let starts = unclean + 1;
    (starts >= CRASH_LOOP_STARTS).then_some(starts)
}

/// What a start found: the run id it recorded and the runs before it, newest first.
#[derive(Debug, Clone)]
pub struct Start {
    pub run_id: i64,
    pub started_ms: i64,
    pub previous: Vec<Run>,
}

/// Records this start (its heartbeat is its start) and returns the recent runs before it.
pub fn begin(conn: &Connection, now_ms: i64) -> Result<Start> {
    let tx = conn.unchecked_transaction()?;
    let previous = {
        let mut stmt = tx.prepare_cached("SELECT id, started_ms, heartbeat_ms, stopped_ms FROM engine_runs ORDER BY id DESC LIMIT ?1")?;
        let rows = stmt.query_map([CRASH_LOOP_STARTS as i64], |r| {
            Ok(Run { id: r.get(0)?, started_ms: r.get(1)?, heartbeat_ms: r.get(2)?, stopped_ms: r.get(3)? })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    tx.execute("INSERT INTO engine_runs (started_ms, heartbeat_ms) VALUES (?1, ?1)", [now_ms])?;
    let run_id = tx.last_insert_rowid();
    tx.execute("DELETE FROM engine_runs WHERE id <= ?1", [run_id - KEEP_RUNS])?;
    tx.commit()?;
    Ok(Start { run_id, started_ms: now_ms, previous })
}

pub fn beat(conn: &Connection, run_id: i64, now_ms: i64) -> Result<()> {
    conn.prepare_cached("UPDATE engine_runs SET heartbeat_ms = ?2 WHERE id = ?1")?.execute(params![run_id, now_ms])?;
    Ok(())
}

/// Marks the run as cleanly stopped (its heartbeat too, so the absence starts here).
pub fn stopped(conn: &Connection, run_id: i64, now_ms: i64) -> Result<()> {
    conn.execute("UPDATE engine_runs SET heartbeat_ms = ?2, stopped_ms = ?2 WHERE id = ?1", params![run_id, now_ms])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    const MIN: i64 = 60_000;

    fn run(started: i64, beat: i64, stopped: Option<i64>) -> Run {
        Run { id: 1, started_ms: started, heartbeat_ms: beat, stopped_ms: stopped }
    }

    #[test]
    fn absence_runs_from_the_clean_stop_or_the_last_heartbeat() {
        let crashed = absence(&run(0, 10 * MIN, None), 40 * MIN, None);
        assert_eq!((crashed.from_ms, crashed.to_ms, crashed.minutes()), (10 * MIN, 40 * MIN, 30));
        assert_eq!(crashed.cause, Cause::Crashed);
        let stopped = absence(&run(0, 10 * MIN, Some(12 * MIN)), 40 * MIN, Some(5 * MIN));
        assert_eq!((stopped.from_ms, stopped.cause), (12 * MIN, Cause::Stopped));
    }

    #[test]
    fn the_machine_restarted_only_when_it_booted_after_the_last_sign_of_life() {
        let prev = run(0, 10 * MIN, None);
        assert_eq!(absence(&prev, 40 * MIN, Some(11 * MIN)).cause, Cause::MachineRestarted);
        assert_eq!(absence(&prev, 40 * MIN, Some(10 * MIN)).cause, Cause::Crashed);
        assert_eq!(absence(&prev, 40 * MIN, Some(9 * MIN)).cause, Cause::Crashed);
        assert_eq!(absence(&prev, 40 * MIN, None).cause, Cause::Crashed);
    }

    #[test]
    fn the_message_says_local_times_and_the_date_only_across_midnight() {
        // 1970-01-01 03:12 and 03:40 at UTC+2 are 01:12 and 01:40 UTC.
        let a = Absence { from_ms: 72 * MIN, to_ms: 100 * MIN, cause: Cause::MachineRestarted };
        let tz = FixedOffset::east_opt(2 * 3600).unwrap();
        assert_eq!(a.message(&tz), "Caretaker was not running from 03:12 to 03:40 (the machine restarted)");
        let night = Absence { from_ms: 23 * 60 * MIN, to_ms: 25 * 60 * MIN, cause: Cause::Crashed };
        assert_eq!(
            night.message(&Utc),
            "Caretaker was not running from 1970-01-01 23:00 to 1970-01-02 01:00 (Caretaker ended without stopping cleanly: a crash or a kill)"
        );
    }

    #[test]
    fn three_unclean_starts_within_ten_minutes_are_a_loop() {
        let now = 100 * MIN;
        let two_crashes = [run(now - 2 * MIN, now - 2 * MIN, None), run(now - 5 * MIN, now - 5 * MIN, None)];
        assert_eq!(crash_loop(&two_crashes, now), Some(3));
        assert_eq!(crash_loop(&two_crashes[..1], now), None, "two starts are not a loop");
        let old = [run(now - 2 * MIN, now - 2 * MIN, None), run(now - 11 * MIN, now - 11 * MIN, None)];
        assert_eq!(crash_loop(&old, now), None, "a start outside the window does not count");
        let clean_between = [run(now - 2 * MIN, now - 2 * MIN, None), run(now - 5 * MIN, now - 4 * MIN, Some(now - 4 * MIN))];
        assert_eq!(crash_loop(&clean_between, now), None, "a clean stop breaks the loop");
        let clean_last = [run(now - 2 * MIN, now - MIN, Some(now - MIN)), run(now - 5 * MIN, now - 5 * MIN, None)];
        assert_eq!(crash_loop(&clean_last, now), None);
    }

    #[test]
    fn begin_beat_and_stop_round_trip_through_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open_and_migrate(&dir.path().join("t.db")).unwrap();
        let first = begin(&conn, 1000).unwrap();
        assert!(first.previous.is_empty());
        beat(&conn, first.run_id, 61_000).unwrap();
        let second = begin(&conn, 70_000).unwrap();
        assert_eq!(second.previous, vec![Run { id: first.run_id, started_ms: 1000, heartbeat_ms: 61_000, stopped_ms: None }]);
        stopped(&conn, second.run_id, 80_000).unwrap();
        let third = begin(&conn, 90_000).unwrap();
        assert_eq!(third.previous[0], Run { id: second.run_id, started_ms: 70_000, heartbeat_ms: 80_000, stopped_ms: Some(80_000) });
        assert_eq!(third.previous.len(), 2);
    }
}
