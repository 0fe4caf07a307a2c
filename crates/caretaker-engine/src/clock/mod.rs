//! Time is passed in where logic depends on it, so retention and rollups test instantly; times
//! of day (`HH:MM`, local) are read here too, for schedules and quiet hours.

pub mod schedule;
mod watch;

pub use watch::JumpWatch;

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;

    /// Milliseconds since an arbitrary start, never set back and counting time asleep: the
    /// yardstick for how far the wall clock may honestly have moved. A clock that cannot tell
    /// answers its wall time, which reports no jumps.
    fn elapsed_ms(&self) -> i64 {
        self.now_ms()
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
    }

    // time_t and c_long are i64 on the 64-bit targets we ship, not everywhere.
    #[allow(clippy::unnecessary_cast)]
    fn elapsed_ms(&self) -> i64 {
        // std's Instant stops while the machine sleeps; these clocks keep counting.
        #[cfg(target_os = "linux")]
        const ID: libc::clockid_t = libc::CLOCK_BOOTTIME;
        #[cfg(not(target_os = "linux"))]
        const ID: libc::clockid_t = libc::CLOCK_MONOTONIC;
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `ts` is a valid, writable timespec and ID a clock this OS provides.
        if unsafe { libc::clock_gettime(ID, &mut ts) } != 0 {
            return self.now_ms();
        }
        ts.tv_sec as i64 * 1000 + ts.tv_nsec as i64 / 1_000_000
    }
}

/// A clock a test moves by hand: `advance` is time passing, `jump` is someone setting the wall
/// clock (an RTC or NTP glitch), which the elapsed clock does not see.
#[derive(Debug, Default)]
pub struct TestClock {
    wall: AtomicI64,
    elapsed: AtomicI64,
}

impl TestClock {
    pub fn new(now_ms: i64) -> Self {
        TestClock { wall: AtomicI64::new(now_ms), elapsed: AtomicI64::new(0) }
    }

    /// Time passes (awake or asleep): both clocks move.
    pub fn advance(&self, ms: i64) {
        self.wall.fetch_add(ms, Ordering::SeqCst);
        self.elapsed.fetch_add(ms, Ordering::SeqCst);
    }

    /// The wall clock is set by `ms` (negative: back); no time passes.
    pub fn jump(&self, ms: i64) {
        self.wall.fetch_add(ms, Ordering::SeqCst);
    }

    pub fn set(&self, now_ms: i64) {
        self.wall.store(now_ms, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.wall.load(Ordering::SeqCst)
    }

    fn elapsed_ms(&self) -> i64 {
        self.elapsed.load(Ordering::SeqCst)
    }
}

/// Whether a ticker's tick comes far later on the wall clock than its period. Tickers run on a
/// clock that stops while the machine sleeps, so the first tick after a wake (or after the wall
/// clock jumped ahead) shows a gap that nothing could have filled with data.
pub fn late_tick(last_tick: &mut Option<i64>, now_ms: i64, period_ms: i64) -> bool {
    let late = last_tick.is_some_and(|t| now_ms - t > 2 * period_ms);
    *last_tick = Some(now_ms);
    late
}

/// Minutes after midnight of an `HH:MM` time of day.
pub fn parse_time_of_day(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && s.len() == 5).then_some(h * 60 + m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_elapsed_clock_runs_and_is_not_the_wall_clock() {
        let (a, b) = (SystemClock.elapsed_ms(), SystemClock.elapsed_ms());
        assert!(a >= 0 && b >= a, "{a} then {b}");
        // Since boot, not since 1970: a clock set far back would otherwise go unnoticed.
        assert!(SystemClock.now_ms() - b > 365 * 86_400_000, "elapsed {b} looks like wall time");
    }

    #[test]
    fn a_tick_far_later_than_its_period_is_late() {
        let mut last = None;
        assert!(!late_tick(&mut last, 1_000, 5_000), "the first tick has nothing to compare with");
        assert!(!late_tick(&mut last, 7_000, 5_000));
        assert!(late_tick(&mut last, 3_607_000, 5_000), "an hour asleep");
        assert!(!late_tick(&mut last, 3_612_000, 5_000));
    }
}
