//! The automatic "unusual for this machine" detector: an online, per-series model of what a
//! series usually does, and the lifecycle of the alert it raises. Pure code: no I/O, no clock,
//! no database; the caller feeds `(timestamp, value)` points in order and gets a [`Finding`]
//! exactly when an alert should open. The state is small (a few KiB) and serialisable, so it
//! can be saved beside the series and survive a restart.

mod model;
pub(crate) mod service;
#[cfg(test)]
mod tests;

use model::{surprise, Daily, Ring, Usual, MAX_HISTORY, MAX_RECENT};
use serde::{Deserialize, Serialize};

/// One parameter set for every series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// Points of history that define "usual" (at most 640).
    pub history: usize,
    /// Points in the short window whose mean is compared with the history (at most 64).
    pub recent: usize,
    /// Points seen before any alert may open.
    pub warmup: usize,
    /// The usual range is recomputed every this many points.
    pub refresh: usize,
    /// Quantile of the history taken as the usual low (and `1 - tail` as the usual high).
    pub tail: f64,
    /// A point this far past the usual range (in widths of the range) is unusual.
    pub point_excess: f64,
    /// A recent mean this far from the median (in interquartile ranges) is unusual.
    pub level_shift: f64,
    /// Below this surprise (1.0 = the opening line) a point counts as usual again.
    pub close: f64,
    /// Consecutive usual points that close an open alert.
    pub clear: usize,
    /// Points for the remembered extremes (beyond the history window) to fall halfway back
    /// towards the median; 0 remembers none.
    pub extreme_half_life: f64,
    /// How fast the daily profile learns (share of each new point at its time of day).
    pub daily_rate: f64,
    /// Days before the daily profile is trusted.
    pub daily_days: i64,
    /// The profile's swing over a day, in usual distances, for it to be used at all.
    pub daily_strength: f64,
    /// A recent drift from the daily profile this many usual distances wide is unusual.
    pub daily_shift: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            history: 640,
            recent: 8,
            warmup: 300,
            refresh: 16,
            tail: 0.0,
            point_excess: 0.02,
            level_shift: 30.0,
            close: 0.5,
            clear: 60,
            extreme_half_life: 6000.0,
            daily_rate: 0.3,
            daily_days: 2,
            daily_strength: 4.0,
            daily_shift: 4.0,
        }
    }
}

/// Why an alert opened, in terms a person can read: the value, and the range that is usual for
/// this series in this context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The point that opened the alert.
    pub ts: i64,
    pub value: f64,
    /// The usual range in `context`.
    pub low: f64,
    pub high: f64,
    /// What "usual" was judged against: "the last 42 h", or a time of day ("Tuesday 02:00")
    /// when the series follows a daily pattern and the point broke it.
    pub context: String,
    /// How unusual the point was: 1.0 is the line at which an alert opens.
    pub surprise: f64,
}

/// One series' detector: its model of usual and the state of its alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnusualState {
    params: Params,
    history: Ring,
    recent: Ring,
    recent_sum: f64,
    usual: Usual,
    seen: u64,
    /// The timestamp of the oldest point still in the history, for the context label.
    first_ts: i64,
    ts_step: i64,
    last_ts: Option<i64>,
    open: bool,
    calm: usize,
    /// The highest and lowest values seen, each decaying back towards the median.
    extremes: Option<(f64, f64)>,
    daily: Daily,
}

impl UnusualState {
    pub fn new(params: Params) -> Self {
        let mut params = params;
        params.history = params.history.clamp(16, MAX_HISTORY);
        params.recent = params.recent.clamp(1, MAX_RECENT);
        params.refresh = params.refresh.max(1);
        UnusualState {
            history: Ring::new(params.history),
            recent: Ring::new(params.recent),
            params,
            recent_sum: 0.0,
            usual: Usual::default(),
            seen: 0,
            first_ts: 0,
            ts_step: 0,
            last_ts: None,
            open: false,
            calm: 0,
            extremes: None,
            daily: Daily::new(),
        }
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Whether an alert is open for this series.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Bytes this state holds: the struct and its buffers.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.history.heap_bytes() + self.recent.heap_bytes() + self.daily.heap_bytes()
    }

    /// Feeds the next point (timestamps ascending); returns a finding when an alert opens.
    /// A value that is not finite is skipped. The daily profile slices `ts` by UTC time of day:
    /// pass timestamps shifted by the machine's UTC offset for local days.
    pub fn observe(&mut self, ts: i64, value: f64) -> Option<Finding> {
        if !value.is_finite() {
            return None;
        }
        if self.seen == 0 {
            self.first_ts = ts;
        }
        if let Some(last) = self.last_ts {
            self.ts_step = ts.saturating_sub(last).max(0);
        }
        self.last_ts = Some(ts);
        self.seen += 1;
        let p = self.params;

        if let Some(old) = self.recent.push(value as f32) {
            self.recent_sum -= f64::from(old);
            if self.history.push(old).is_some() {
                self.first_ts = self.first_ts.saturating_add(self.ts_step);
            }
        }
        self.recent_sum += f64::from(value as f32);
        self.daily.learn(ts, value, &p);
        if self.history.len() < p.recent.max(8) {
            return None;
        }
        if self.seen.is_multiple_of(p.refresh as u64) || self.usual == Usual::default() {
            self.usual = Usual::of(self.history.values(), p.tail);
        }
        let usual = self.with_extremes(value);
        let mean = self.recent_sum / self.recent.len() as f64;
        let range = surprise(&usual, value, mean, &p);
        let daily = if self.daily.strong(ts, &p) { self.daily.surprise(&p) } else { 0.0 };
        let s = range.max(daily);
        if !self.lifecycle(s) {
            return None;
        }
        Some(if daily > range {
            let (low, high) = self.daily.usual_range(ts, &p);
            Finding { ts, value, low, high, context: daily_label(ts), surprise: s }
        } else {
            Finding { ts, value, low: usual.low, high: usual.high, context: span_label(ts - self.first_ts), surprise: s }
        })
    }

    /// The usual range widened to the remembered extremes, which then learn `value`: a spike
    /// stays "seen before" for a while after it leaves the history window.
    fn with_extremes(&mut self, value: f64) -> Usual {
        let mut usual = self.usual;
        let half_life = self.params.extreme_half_life;
        if half_life <= 0.0 {
            return usual;
        }
        let m = usual.median;
        let (high, low) = match self.extremes {
            None => (usual.high, usual.low),
            Some((high, low)) => {
                let keep = 0.5f64.powf(1.0 / half_life);
                (m + (high - m) * keep, m + (low - m) * keep)
            }
        };
        usual.high = usual.high.max(high);
        usual.low = usual.low.min(low);
        self.extremes = Some((high.max(value), low.min(value)));
        usual
    }

    /// The alert's lifecycle: opens when the surprise reaches 1.0 (after the warm-up), stays
    /// open until `clear` points in a row fall below `close`. True when it opens now.
    fn lifecycle(&mut self, s: f64) -> bool {
        if self.open {
            self.calm = if s < self.params.close { self.calm + 1 } else { 0 };
            if self.calm >= self.params.clear {
                self.open = false;
                self.calm = 0;
            }
            return false;
        }
        if s < 1.0 || self.seen < self.params.warmup as u64 {
            return false;
        }
        self.open = true;
        self.calm = 0;
        true
    }
}

/// "Tuesday 02:00": the half hour of the week a daily finding is judged in.
fn daily_label(ts: i64) -> String {
    let slot_start = ts - ts.rem_euclid(1800);
    chrono::DateTime::from_timestamp(slot_start, 0).map_or_else(|| "this time of day".into(), |t| t.format("%A %H:%M").to_string())
}

/// "the last 42 h", "the last 3 days": the span the usual range was learnt over.
fn span_label(span_secs: i64) -> String {
    let hours = span_secs.max(0) / 3600;
    match hours {
        0 => format!("the last {} min", span_secs.max(0) / 60),
        1..=71 => format!("the last {hours} h"),
        _ => format!("the last {} days", hours / 24),
    }
}
