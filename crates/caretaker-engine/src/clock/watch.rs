//! Notices the wall clock being set rather than running: between two looks it moved further (or
//! less) than the elapsed clock. Deleting rows by age is held for a while after such a jump, so
//! a glitch to a future date does not wipe history before the clock is put right.

use super::Clock;
use std::sync::Mutex;

/// Drift between the wall and elapsed clocks that is still a correction, not a jump.
pub const JUMP_TOLERANCE_MS: i64 = 2 * 60_000;
/// How long age-based deletion waits after a jump; a glitch is usually corrected well within it,
/// and a day of rows kept a little longer costs nothing.
pub const HOLD_MS: i64 = 6 * 3_600_000;

#[derive(Debug, Default)]
pub struct JumpWatch {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// (wall, elapsed) at the last look.
    last: Option<(i64, i64)>,
    /// Elapsed time until which deletion by age waits.
    hold_until: Option<i64>,
}

impl JumpWatch {
    /// Starts from the wall time last recorded before this start: a clock set while the engine
    /// was stopped, or a long stop, looks like a jump and holds deletion for a while.
    pub fn seeded(clock: &dyn Clock, last_recorded_ms: Option<i64>) -> Self {
        let w = JumpWatch::default();
        if let Some(t) = last_recorded_ms {
            w.lock().last = Some((t, clock.elapsed_ms()));
        }
        w
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Looks at the clock; the wall time when rows may be deleted by age now, None while a jump
    /// is recent. Every caller's look counts, so a jump seen by one holds deletion for all.
    pub fn settled(&self, clock: &dyn Clock) -> Option<i64> {
        let (wall, elapsed) = (clock.now_ms(), clock.elapsed_ms());
        let mut s = self.lock();
        if let Some((w0, e0)) = s.last {
            let drift = (wall - w0) - (elapsed - e0);
            if drift.abs() > JUMP_TOLERANCE_MS {
                tracing::warn!(
                    drift_secs = drift / 1000,
                    "the wall clock was set by {} s; deleting old rows waits {} h",
                    drift / 1000,
                    HOLD_MS / 3_600_000
                );
                s.hold_until = Some(elapsed + HOLD_MS);
            }
        }
        s.last = Some((wall, elapsed));
        match s.hold_until {
            Some(until) if elapsed < until => None,
            _ => Some(wall),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::TestClock;

    const DAY: i64 = 86_400_000;

    #[test]
    fn time_passing_is_no_jump_but_setting_the_clock_holds_deletion() {
        let clock = TestClock::new(1_000 * DAY);
        let w = JumpWatch::default();
        assert_eq!(w.settled(&clock), Some(1_000 * DAY));
        clock.advance(DAY);
        assert_eq!(w.settled(&clock), Some(1_001 * DAY), "a day asleep is time passing");
        clock.jump(3 * 365 * DAY);
        assert_eq!(w.settled(&clock), None);
        clock.advance(HOLD_MS / 2);
        assert_eq!(w.settled(&clock), None, "still held: the jump is recent");
        clock.advance(HOLD_MS / 2);
        assert!(w.settled(&clock).is_some(), "a date that stays is accepted after the hold");
    }

    #[test]
    fn a_clock_set_while_stopped_holds_deletion_after_start() {
        let clock = TestClock::new(2_000 * DAY);
        assert_eq!(JumpWatch::seeded(&clock, Some(1_000 * DAY)).settled(&clock), None);
        assert!(JumpWatch::seeded(&clock, Some(2_000 * DAY - 5_000)).settled(&clock).is_some());
        assert!(JumpWatch::seeded(&clock, None).settled(&clock).is_some());
    }
}
