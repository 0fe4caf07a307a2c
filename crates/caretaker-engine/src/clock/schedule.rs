//! When a daily or hourly schedule fires, in local calendar terms. Backups and maintenance share
//! these, so both treat daylight-saving days alike:
//! - a time of day that does not exist (the spring-forward gap) fires at the first instant after
//!   the gap, once;
//! - a time of day that exists twice (the fall-back hour) fires at its first occurrence only.
//!
//! The functions take the time zone, so tests pick one without touching the process's `TZ`; the
//! engine passes [`chrono::Local`].

use chrono::{DateTime, Days, LocalResult, NaiveDate, NaiveDateTime, TimeZone};

const MINUTE_MS: i64 = 60_000;
pub(crate) const HOUR_MS: i64 = 60 * MINUTE_MS;

/// How far ahead of now a recorded time may lie before we call it a clock that went back rather
/// than a small correction.
pub(crate) const CLOCK_SKEW_MS: i64 = 5 * MINUTE_MS;

/// The instant of `minute_of_day` on `date`, local to `tz`. None only for a date chrono cannot
/// represent.
fn occurrence<Tz: TimeZone>(tz: &Tz, date: NaiveDate, minute_of_day: u32) -> Option<DateTime<Tz>> {
    let t = date.and_hms_opt(minute_of_day / 60, minute_of_day % 60, 0)?;
    match tz.from_local_datetime(&t) {
        LocalResult::Single(d) => Some(d),
        LocalResult::Ambiguous(first, _) => Some(first),
        LocalResult::None => after_gap(tz, t),
    }
}

/// The first valid local instant after `t`, which falls in a gap. Gaps are whole minutes and
/// far shorter than a day (the longest on record skipped one calendar day).
fn after_gap<Tz: TimeZone>(tz: &Tz, t: NaiveDateTime) -> Option<DateTime<Tz>> {
    let mut probe = t;
    for _ in 0..(48 * 60) {
        probe = probe.checked_add_signed(chrono::Duration::minutes(1))?;
        if let Some(d) = tz.from_local_datetime(&probe).earliest() {
            return Some(d);
        }
    }
    None
}

/// Occurrences on the days around `now`, oldest first: enough to find the one before and the
/// one after `now` even when a gap pushes a late occurrence past midnight.
fn around<Tz: TimeZone>(tz: &Tz, now_ms: i64, minute_of_day: u32) -> Vec<i64> {
    let Some(now) = tz.timestamp_millis_opt(now_ms).single() else { return Vec::new() };
    let today = now.date_naive();
    let days = [2, 1]
        .map(|n| today.checked_sub_days(Days::new(n)))
        .into_iter()
        .chain([Some(today)])
        .chain([1, 2].map(|n| today.checked_add_days(Days::new(n))));
    let mut v: Vec<i64> = days.flatten().filter_map(|d| occurrence(tz, d, minute_of_day)).map(|d| d.timestamp_millis()).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The first occurrence of the local time of day `minute_of_day` strictly after `now_ms`.
pub fn next_daily<Tz: TimeZone>(tz: &Tz, now_ms: i64, minute_of_day: u32) -> i64 {
    around(tz, now_ms, minute_of_day).into_iter().find(|t| *t > now_ms).unwrap_or(now_ms + 24 * HOUR_MS)
}

/// The latest occurrence of the local time of day `minute_of_day` at or before `now_ms`.
pub fn previous_daily<Tz: TimeZone>(tz: &Tz, now_ms: i64, minute_of_day: u32) -> i64 {
    around(tz, now_ms, minute_of_day).into_iter().rev().find(|t| *t <= now_ms).unwrap_or(now_ms - 24 * HOUR_MS)
}

/// The age of something recorded at `t`, or None when `t` lies in the future beyond a small
/// skew: the wall clock went back since, and the record says nothing about how long ago it was.
pub(crate) fn age_ms(now_ms: i64, t: i64) -> Option<i64> {
    (t <= now_ms + CLOCK_SKEW_MS).then(|| (now_ms - t).max(0))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::NaiveDate;
    use chrono_tz::{America::New_York, Europe::Berlin, Tz};

    /// Milliseconds of a local wall time in `tz`; `second` picks the later of a repeated time.
    pub(crate) fn at(tz: Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32, second: bool) -> i64 {
        let t = NaiveDate::from_ymd_opt(y, mo, d).and_then(|d| d.and_hms_opt(h, mi, 0)).expect("valid date in test");
        let r = tz.from_local_datetime(&t);
        let d = if second { r.latest() } else { r.earliest() };
        d.expect("local time exists in test").timestamp_millis()
    }

    pub(crate) fn utc(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).expect("rfc3339 in test").timestamp_millis()
    }

    #[test]
    fn a_time_in_the_spring_gap_fires_once_at_the_end_of_the_gap() {
        for (tz, day, gap_end_utc) in [(Berlin, 29, "2026-03-29T01:00:00Z"), (New_York, 8, "2026-03-08T07:00:00Z")] {
            let before = at(tz, 2026, 3, day - 1, 12, 0, false);
            assert_eq!(next_daily(&tz, before, 150), utc(gap_end_utc), "{tz}: 02:30 maps to 03:00");
            let noon = at(tz, 2026, 3, day, 12, 0, false);
            assert_eq!(previous_daily(&tz, noon, 150), utc(gap_end_utc), "{tz}");
            assert_eq!(next_daily(&tz, noon, 150), at(tz, 2026, 3, day + 1, 2, 30, false), "{tz}");
        }
    }

    #[test]
    fn a_repeated_time_fires_at_its_first_occurrence_only() {
        for (tz, day, minute) in [(Berlin, 25, 150), (New_York, 1, 90)] {
            let (mo, h) = if tz == Berlin { (10, 2) } else { (11, 1) };
            let first = at(tz, 2026, mo, day, h, 30, false);
            let second = at(tz, 2026, mo, day, h, 30, true);
            assert_eq!(second - first, HOUR_MS);
            assert_eq!(next_daily(&tz, first - MINUTE_MS, minute), first, "{tz}");
            assert_eq!(next_daily(&tz, first + MINUTE_MS, minute), at(tz, 2026, mo, day + 1, h, 30, false), "{tz}");
            assert_eq!(previous_daily(&tz, second + MINUTE_MS, minute), first, "{tz}");
        }
    }

    #[test]
    fn the_day_after_a_change_keeps_its_local_time() {
        // A day of 23 or 25 hours: the next run is at the same local time, not 24 h later.
        for (tz, y, mo, d) in [(Berlin, 2026, 3, 28), (Berlin, 2026, 10, 24), (New_York, 2026, 3, 7), (New_York, 2026, 10, 31)] {
            let just_after = at(tz, y, mo, d, 4, 1, false);
            let (ny, nmo, nd) = if d == 31 { (y, 11, 1) } else { (y, mo, d + 1) };
            assert_eq!(next_daily(&tz, just_after, 240), at(tz, ny, nmo, nd, 4, 0, false), "{tz} {y}-{mo}-{d}");
        }
    }

    #[test]
    fn ages_in_the_future_are_unknown() {
        assert_eq!(age_ms(10 * HOUR_MS, 9 * HOUR_MS), Some(HOUR_MS));
        assert_eq!(age_ms(10 * HOUR_MS, 10 * HOUR_MS + 1000), Some(0), "a small correction is not a jump");
        assert_eq!(age_ms(10 * HOUR_MS, 11 * HOUR_MS), None);
    }
}
