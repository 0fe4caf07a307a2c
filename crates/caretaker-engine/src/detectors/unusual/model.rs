//! What "usual" means for one series: a bounded window of its recent history, summarised into
//! a few quantiles every so often, and how far the newest values sit from them.

use super::Params;
use serde::{Deserialize, Serialize};

/// The most history points a model keeps (bounds the state to a few KiB).
pub const MAX_HISTORY: usize = 640;
/// The most points in the short window compared against the history.
pub const MAX_RECENT: usize = 64;

/// A fixed-capacity ring of the last values, oldest first when read in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ring {
    values: Vec<f32>,
    next: usize,
    cap: usize,
}

impl Ring {
    pub fn new(cap: usize) -> Self {
        Ring { values: Vec::with_capacity(cap), next: 0, cap: cap.max(1) }
    }

    /// Adds `v`; returns the value it pushed out once full.
    pub fn push(&mut self, v: f32) -> Option<f32> {
        // A restored state may carry any numbers: keep within bounds rather than trust them.
        let cap = self.cap.clamp(1, MAX_HISTORY);
        if self.values.capacity() > cap {
            // Deserialising grows the buffer by doubling; give back what it over-allocated.
            self.values.shrink_to(cap);
        }
        if self.values.len() < cap {
            self.values.reserve_exact(cap - self.values.len());
            self.values.push(v);
            return None;
        }
        self.values.truncate(cap);
        let next = if self.next < self.values.len() { self.next } else { 0 };
        let old = std::mem::replace(&mut self.values[next], v);
        self.next = (next + 1) % cap;
        Some(old)
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn values(&self) -> &[f32] {
        &self.values
    }

    pub fn heap_bytes(&self) -> usize {
        self.values.capacity() * std::mem::size_of::<f32>()
    }
}

/// The usual range of the history, refreshed every `Params::refresh` points.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usual {
    pub low: f64,
    pub median: f64,
    pub high: f64,
    /// The interquartile range, floored so that a flat series still has a scale.
    pub spread: f64,
}

impl Usual {
    /// Summarises `history` (any order). `tail` is the quantile taken as the usual low (and
    /// `1 - tail` as the usual high).
    pub fn of(history: &[f32], tail: f64) -> Usual {
        let mut sorted = [0f32; MAX_HISTORY];
        let n = history.len().min(MAX_HISTORY);
        if n == 0 {
            return Usual::default();
        }
        let s = &mut sorted[..n];
        s.copy_from_slice(&history[..n]);
        s.sort_unstable_by(f32::total_cmp);
        let q = |p: f64| f64::from(s[((n - 1) as f64 * p).round() as usize]);
        let (low, high, median) = (q(tail), q(1.0 - tail), q(0.5));
        let iqr = q(0.75) - q(0.25);
        let floor = 1e-6 * median.abs().max(1.0) + 0.01 * (high - low);
        Usual { low, median, high, spread: iqr.max(floor).max(1e-9) }
    }

    /// How far past the usual range `x` is, in units of the range's width; 0 inside it.
    pub fn excess(&self, x: f64) -> f64 {
        let width = (self.high - self.low).max(self.spread);
        ((x - self.high).max(self.low - x) / width).max(0.0)
    }

    /// How far the recent mean is from the median, in interquartile ranges.
    pub fn shift(&self, mean: f64) -> f64 {
        (mean - self.median).abs() / self.spread
    }
}

/// How unusual the newest point is: 1.0 is the line at which an alert opens.
pub fn surprise(usual: &Usual, x: f64, recent_mean: f64, p: &Params) -> f64 {
    let point = usual.excess(x) / p.point_excess;
    let level = usual.shift(recent_mean) / p.level_shift;
    point.max(level)
}

/// Slots in the daily profile (half an hour each).
pub const SLOTS: usize = 48;
const DAY: i64 = 86_400;

/// What the series usually does at each time of day: a smoothed value per half hour, and how
/// far points usually stray from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Daily {
    mean: Vec<f32>,
    /// Mean absolute distance of a point from its slot's value.
    pub scale: f64,
    /// A smoothed mean of the recent distances (signed).
    pub drift: f64,
    start: i64,
}

impl Daily {
    pub fn new() -> Self {
        Daily { mean: Vec::with_capacity(SLOTS), scale: 0.0, drift: 0.0, start: i64::MIN }
    }

    pub fn slot(ts: i64) -> usize {
        (ts.rem_euclid(DAY) * SLOTS as i64 / DAY) as usize
    }

    pub fn heap_bytes(&self) -> usize {
        self.mean.capacity() * std::mem::size_of::<f32>()
    }

    /// Learns `x` at `ts`; returns the signed distance of `x` from its slot's usual value.
    pub fn learn(&mut self, ts: i64, x: f64, p: &Params) -> f64 {
        if self.mean.len() != SLOTS {
            self.mean = vec![x as f32; SLOTS];
            self.start = ts;
        }
        let Some(m) = self.mean.get_mut(Self::slot(ts)) else { return 0.0 };
        let usual = f64::from(*m);
        let r = x - usual;
        *m = (usual + p.daily_rate * r) as f32;
        let a = 1.0 / p.history as f64;
        self.scale += a * (r.abs() - self.scale);
        self.drift += (r - self.drift) / p.recent as f64;
        r
    }

    /// Whether a whole day has been learnt, and the profile stands out from the noise.
    pub fn strong(&self, ts: i64, p: &Params) -> bool {
        if self.mean.is_empty() || ts.saturating_sub(self.start) < p.daily_days * DAY {
            return false;
        }
        let (lo, hi) = self.mean.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &m| (lo.min(m), hi.max(m)));
        f64::from(hi - lo) > p.daily_strength * self.scale
    }

    /// How far the recent points drift from their times of day: 1.0 opens an alert.
    pub fn surprise(&self, p: &Params) -> f64 {
        self.drift.abs() / (self.scale * p.daily_shift).max(1e-12)
    }

    /// The usual range at the time of day of `ts`: its slot's value, give or take the drift
    /// that would open an alert.
    pub fn usual_range(&self, ts: i64, p: &Params) -> (f64, f64) {
        let usual = self.mean.get(Self::slot(ts)).map_or(0.0, |&m| f64::from(m));
        let margin = self.scale * p.daily_shift;
        (usual - margin, usual + margin)
    }
}

impl Default for Daily {
    fn default() -> Self {
        Self::new()
    }
}
