//! The pure part of alerting: levels from values with hysteresis, and the `for` duration.
//! No I/O and no clock of its own, so recorded series test it instantly.

use super::Severity;
use crate::config::ThresholdRule;
use std::collections::{HashMap, VecDeque};

/// The level a value is at for a threshold rule, given the level its alert is at now.
/// Hysteresis: a level clears only once the value falls `clear_margin` below its line.
pub fn threshold_level(value: f64, rule: &ThresholdRule, current: Option<Severity>) -> Option<Severity> {
    let m = rule.clear_margin;
    if value >= rule.critical || (current == Some(Severity::Critical) && value > rule.critical - m) {
        Some(Severity::Critical)
    } else if value >= rule.warning || (current.is_some() && value > rule.warning - m) {
        Some(Severity::Warning)
    } else {
        None
    }
}

/// Tracks how long each (rule, subject) has wanted to fire.
#[derive(Debug, Default, Clone)]
pub struct Pending {
    since: HashMap<(String, String), i64>,
}

impl Pending {
    /// True once the condition has held for `for_ms`; `false` (and forgotten) when it stops.
    pub fn held(&mut self, key: &(String, String), condition: bool, now_ms: i64, for_ms: i64) -> bool {
        if !condition {
            self.since.remove(key);
            return false;
        }
        let since = *self.since.entry(key.clone()).or_insert(now_ms);
        now_ms - since >= for_ms
    }

    pub fn clear(&mut self, key: &(String, String)) {
        self.since.remove(key);
    }
}

/// At most this many samples in a window (an hour at one sample a second), whatever the config.
const WINDOW_CAP: usize = 3_600;

/// The recent (time, value) samples of one series, for a rule judged on its average. Holds only
/// the window (bounded by [`WINDOW_CAP`]); sees only the past.
#[derive(Debug, Default, Clone)]
pub struct Window {
    samples: VecDeque<(i64, f64)>,
}

impl Window {
    /// Adds a sample and forgets those older than `window_ms`. A clock set back starts over, so
    /// samples from the "future" cannot weigh on the average.
    pub fn push(&mut self, now_ms: i64, value: f64, window_ms: i64) {
        if self.samples.back().is_some_and(|(t, _)| *t > now_ms) {
            self.samples.clear();
        }
        self.samples.push_back((now_ms, value));
        while self.samples.front().is_some_and(|(t, _)| *t <= now_ms - window_ms) || self.samples.len() > WINDOW_CAP {
            self.samples.pop_front();
        }
    }

    /// The mean over the window, once it spans at least half of it (after a start or a long
    /// sleep the window refills first, so a burst in its first seconds is not "sustained").
    pub fn average(&self, now_ms: i64, window_ms: i64) -> Option<f64> {
        let (first, _) = *self.samples.front()?;
        if now_ms - first < window_ms / 2 {
            return None;
        }
        Some(self.samples.iter().map(|(_, v)| v).sum::<f64>() / self.samples.len() as f64)
    }
}

/// How far one series rose within a window: the latest value above the lowest one seen in it.
/// Keeps only the samples that could still be the lowest (each later than and above the one
/// before), so a flat or falling series holds one or two; bounded by [`WINDOW_CAP`].
#[derive(Debug, Default, Clone)]
pub struct GrowthWindow {
    rising: VecDeque<(i64, f64)>,
}

impl GrowthWindow {
    /// Adds a sample; returns the growth since the lowest point of the last `window_ms` and when
    /// that point was. A clock set back starts over, as in [`Window::push`].
    pub fn push(&mut self, now_ms: i64, value: f64, window_ms: i64) -> (f64, i64) {
        if self.rising.back().is_some_and(|(t, _)| *t > now_ms) {
            self.rising.clear();
        }
        while self.rising.back().is_some_and(|(_, v)| *v >= value) {
            self.rising.pop_back();
        }
        self.rising.push_back((now_ms, value));
        while self.rising.front().is_some_and(|(t, _)| *t <= now_ms - window_ms) || self.rising.len() > WINDOW_CAP {
            self.rising.pop_front();
        }
        let (since, low) = self.rising.front().copied().unwrap_or((now_ms, value));
        (value - low, since)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu() -> ThresholdRule {
        ThresholdRule { warning: 75.0, critical: 90.0, clear_margin: 5.0, for_secs: None, average_secs: None, enabled: true }
    }

    /// Drives a recorded CPU series through the rule at 5 s per sample with a 10 s `for`, the
    /// way the alert manager does, and returns the level of the alert after each sample.
    fn replay(series: &[f64]) -> Vec<Option<Severity>> {
        let rule = cpu();
        let key = ("cpu".to_string(), "cpu".to_string());
        let mut pending = Pending::default();
        let mut firing: Option<Severity> = None;
        let mut out = Vec::new();
        for (i, v) in series.iter().enumerate() {
            let now = i as i64 * 5_000;
            let level = threshold_level(*v, &rule, firing);
            firing = match (level, firing) {
                (Some(l), Some(_)) => Some(l),
                (Some(l), None) => pending.held(&key, true, now, 10_000).then_some(l),
                (None, _) => {
                    pending.held(&key, false, now, 10_000);
                    None
                }
            };
            out.push(firing);
        }
        out
    }

    use Severity::{Critical as C, Warning as W};

    #[test]
    fn fires_only_after_the_for_duration() {
        // 80 % for two samples (5 s apart = 5 s held) is not enough; the third (10 s) fires.
        assert_eq!(replay(&[10.0, 80.0, 80.0, 80.0, 80.0]), vec![None, None, None, Some(W), Some(W)]);
    }

    #[test]
    fn a_single_spike_does_not_fire() {
        assert_eq!(replay(&[10.0, 99.0, 10.0, 99.0, 10.0]), vec![None; 5]);
    }

    #[test]
    fn hovering_at_the_line_does_not_flap() {
        // Fires at 76, then hovers 73-77: stays warning; clears only below 70.
        let got = replay(&[76.0, 76.0, 76.0, 73.0, 77.0, 72.0, 71.0, 69.0, 74.0]);
        assert_eq!(got, vec![None, None, Some(W), Some(W), Some(W), Some(W), Some(W), None, None]);
    }

    #[test]
    fn escalates_and_steps_down_with_hysteresis() {
        // Critical holds until 5 points under its line (85), then steps down to warning.
        let got = replay(&[95.0, 95.0, 95.0, 88.0, 86.0, 84.0, 60.0]);
        assert_eq!(got, vec![None, None, Some(C), Some(C), Some(C), Some(W), None]);
    }

    #[test]
    fn a_slow_climb_fires_once_it_holds() {
        let got = replay(&[60.0, 65.0, 70.0, 74.0, 75.0, 76.0, 78.0, 80.0]);
        assert_eq!(got, vec![None, None, None, None, None, None, Some(W), Some(W)]);
    }

    #[test]
    fn a_window_averages_only_its_span_and_waits_until_half_full() {
        let mut w = Window::default();
        for i in 0..30 {
            w.push(i * 5_000, 100.0, 300_000);
        }
        assert_eq!(w.average(145_000, 300_000), None, "145 s of a 300 s window");
        w.push(150_000, 100.0, 300_000);
        assert_eq!(w.average(150_000, 300_000), Some(100.0));
        for i in 31..200 {
            w.push(i * 5_000, 0.0, 300_000);
        }
        assert_eq!(w.samples.len(), 60, "bounded by the window");
        assert_eq!(w.average(199 * 5_000, 300_000), Some(0.0));
        w.push(1_000, 50.0, 300_000);
        assert_eq!(w.samples.len(), 1, "a clock set back starts over");
    }

    #[test]
    fn growth_is_measured_from_the_lowest_point_of_the_window() {
        const MIN: i64 = 60_000;
        let mut g = GrowthWindow::default();
        // Swap steady at 3 GiB for an hour: a level, not growth.
        for i in 0..60 {
            assert_eq!(g.push(i * MIN, 3.0, 30 * MIN).0, 0.0);
        }
        assert_eq!(g.rising.len(), 1, "a flat series keeps one sample");
        // It dips to 2.5, then climbs to 4: grown 1.5 since the dip, which is when it is measured from.
        g.push(60 * MIN, 2.5, 30 * MIN);
        g.push(65 * MIN, 3.5, 30 * MIN);
        assert_eq!(g.push(70 * MIN, 4.0, 30 * MIN), (1.5, 60 * MIN));
        // Flat at 4 for half an hour: the dip leaves the window and the growth goes with it.
        let mut last = (0.0, 0);
        for i in 71..=101 {
            last = g.push(i * MIN, 4.0, 30 * MIN);
        }
        assert_eq!(last.0, 0.0);
        // A clock set back starts over.
        assert_eq!(g.push(5 * MIN, 9.0, 30 * MIN), (0.0, 5 * MIN));
    }
}
