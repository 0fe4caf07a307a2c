//! NAB's published scoring method, as the corpus README states it: anomaly windows, the scaled
//! sigmoid that rewards early detections and forgives false ones just after a window, the three
//! cost profiles, and normalization between the null and the perfect detector.

/// The cost of each outcome in one NAB profile (`published/profiles.json`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Profile {
    pub name: &'static str,
    pub tp: f64,
    pub fp: f64,
    pub fn_: f64,
}

pub const PROFILES: [Profile; 3] = [
    Profile { name: "standard", tp: 1.0, fp: 0.11, fn_: 1.0 },
    Profile { name: "reward_low_FP_rate", tp: 1.0, fp: 0.22, fn_: 1.0 },
    Profile { name: "reward_low_FN_rate", tp: 1.0, fp: 0.11, fn_: 2.0 },
];

/// `S(y) = 2·sigmoid(−5y) − 1`, and −1 beyond 3 (a false detection far after any window).
pub fn scaled_sigmoid(y: f64) -> f64 {
    if y > 3.0 {
        -1.0
    } else {
        2.0 / (1.0 + (5.0 * y).exp()) - 1.0
    }
}

/// The first rows of a file, in which the detector learns and nothing is scored.
pub fn probation_rows(rows: usize) -> usize {
    ((rows as f64 * 0.15).floor() as usize).min(750)
}

/// One file's outcome under one profile.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FileScore {
    pub raw: f64,
    pub windows: usize,
    pub tp: usize,
    pub fn_: usize,
    /// Detections outside every window, after the probationary period.
    pub fp: usize,
}

/// A window as row indices: `left..=right`.
#[derive(Debug, Clone, Copy)]
struct Span {
    left: usize,
    right: usize,
}

impl Span {
    fn width(&self) -> usize {
        self.right - self.left + 1
    }
}

/// Turns `[start, end]` timestamps into row spans; a window that holds no row is dropped
/// (NAB's windows all hold rows, so this only guards odd input).
fn spans(ts: &[i64], windows: &[(i64, i64)]) -> Vec<Span> {
    let mut out: Vec<Span> = windows
        .iter()
        .filter_map(|&(start, end)| {
            let left = ts.partition_point(|&t| t < start);
            let right = ts.partition_point(|&t| t <= end).checked_sub(1)?;
            (left <= right).then_some(Span { left, right })
        })
        .collect();
    out.sort_by_key(|s| s.left);
    out
}

/// Scores one file: `ts` ascending, `detected[i]` whether row `i` is a detection.
pub fn score_file(ts: &[i64], detected: &[bool], windows: &[(i64, i64)], p: &Profile) -> FileScore {
    let spans = spans(ts, windows);
    let probation = probation_rows(ts.len());
    let mut best: Vec<Option<f64>> = vec![None; spans.len()];
    let mut fp_cost = 0.0;
    let mut fp = 0;
    let mut next = 0; // the first window whose right edge is not behind row i
    for (i, &hit) in detected.iter().enumerate().take(ts.len()) {
        while next < spans.len() && spans[next].right < i {
            next += 1;
        }
        if !hit || i < probation {
            continue;
        }
        match spans.get(next) {
            Some(s) if s.left <= i => {
                let y = -((s.right - i + 1) as f64) / s.width() as f64;
                let value = p.tp * scaled_sigmoid(y) / scaled_sigmoid(-1.0);
                // Each window counts once, with its best (earliest) detection.
                best[next] = Some(best[next].map_or(value, |b: f64| b.max(value)));
            }
            _ => {
                fp += 1;
                fp_cost += match next.checked_sub(1).map(|k| spans[k]) {
                    None => -p.fp,
                    Some(prev) => {
                        // A one-row window has no width to scale by; NAB's corpus has none.
                        let y = (i - prev.right) as f64 / (prev.width().max(2) - 1) as f64;
                        p.fp * scaled_sigmoid(y)
                    }
                };
            }
        }
    }
    let tp = best.iter().flatten().count();
    let tp_value: f64 = best.iter().flatten().sum();
    let fn_ = spans.len() - tp;
    FileScore { raw: tp_value - p.fn_ * fn_ as f64 + fp_cost, windows: spans.len(), tp, fn_, fp }
}

/// A corpus's totals under one profile, and the normalized score.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Total {
    pub raw: f64,
    pub windows: usize,
    pub tp: usize,
    pub fn_: usize,
    pub fp: usize,
}

impl Total {
    pub fn add(&mut self, f: &FileScore) {
        self.raw += f.raw;
        self.windows += f.windows;
        self.tp += f.tp;
        self.fn_ += f.fn_;
        self.fp += f.fp;
    }

    /// `100 × (raw − null) / (perfect − null)`: the null detector misses every window, the
    /// perfect one catches each at its first row and raises nothing else.
    pub fn normalized(&self, p: &Profile) -> f64 {
        let null = -p.fn_ * self.windows as f64;
        let perfect = p.tp * self.windows as f64;
        if perfect == null {
            return 0.0;
        }
        100.0 * (self.raw - null) / (perfect - null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STD: Profile = PROFILES[0];

    /// 40 rows one minute apart, one window on rows 20..=24 (probation is the first 6 rows).
    fn case() -> (Vec<i64>, Vec<(i64, i64)>) {
        let ts: Vec<i64> = (0..40).map(|i| i * 60).collect();
        (ts, vec![(20 * 60, 24 * 60)])
    }

    fn hits(rows: &[usize]) -> Vec<bool> {
        (0..40).map(|i| rows.contains(&i)).collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn sigmoid_is_scaled_to_plus_minus_one() {
        assert!(close(scaled_sigmoid(0.0), 0.0));
        assert!(close(scaled_sigmoid(-1.0), 2.0 / (1.0 + (-5.0f64).exp()) - 1.0));
        assert_eq!(scaled_sigmoid(3.5), -1.0);
        assert_eq!(probation_rows(40), 6);
        assert_eq!(probation_rows(100_000), 750);
    }

    #[test]
    fn the_earliest_detection_in_a_window_counts_once() {
        let (ts, w) = case();
        let first = score_file(&ts, &hits(&[20]), &w, &STD);
        assert!(close(first.raw, 1.0), "{first:?}");
        // Row 22 is the middle of a 5-row window: y = -(24 - 22 + 1) / 5 = -0.6.
        let mid = score_file(&ts, &hits(&[22]), &w, &STD);
        assert!(close(mid.raw, scaled_sigmoid(-0.6) / scaled_sigmoid(-1.0)), "{mid:?}");
        let both = score_file(&ts, &hits(&[22, 20, 24]), &w, &STD);
        assert!(close(both.raw, 1.0) && both.tp == 1 && both.fp == 0, "{both:?}");
    }

    #[test]
    fn misses_false_detections_and_probation() {
        let (ts, w) = case();
        let none = score_file(&ts, &hits(&[]), &w, &STD);
        assert_eq!((none.raw, none.fn_), (-1.0, 1));
        // Row 3 is in probation: ignored. Row 10 precedes any window: the full FP cost.
        let early = score_file(&ts, &hits(&[3, 10]), &w, &STD);
        assert!(close(early.raw, -1.0 - 0.11) && early.fp == 1, "{early:?}");
        // Row 26 is 2 rows after the right edge of a 5-row window: y = 2 / 4.
        let after = score_file(&ts, &hits(&[26]), &w, &STD);
        assert!(close(after.raw, -1.0 + 0.11 * scaled_sigmoid(0.5)), "{after:?}");
        // Far after it (y > 3) costs the full weight.
        let far = score_file(&ts, &hits(&[39]), &w, &STD);
        assert!(close(far.raw, -1.0 - 0.11), "{far:?}");
    }

    #[test]
    fn normalized_runs_from_null_to_perfect() {
        let (ts, w) = case();
        for p in PROFILES {
            let mut null = Total::default();
            null.add(&score_file(&ts, &hits(&[]), &w, &p));
            let mut perfect = Total::default();
            perfect.add(&score_file(&ts, &hits(&[20]), &w, &p));
            assert!(close(null.normalized(&p), 0.0) && close(perfect.normalized(&p), 100.0), "{}", p.name);
        }
        let mut t = Total::default();
        t.add(&score_file(&ts, &hits(&[20, 10]), &w, &PROFILES[2]));
        // (1 - 0.11 + 2) / (1 + 2)
        assert!(close(t.normalized(&PROFILES[2]), 100.0 * 2.89 / 3.0));
    }
}
