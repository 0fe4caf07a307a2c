//! One evaluation of a rule over a series: pure, no I/O, no clock of its own.

use super::config::{Rule, MINUTE_MS};
use serde_json::{json, Value};

/// One reading of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub ts: i64,
    pub value: f64,
}

/// What one evaluation concluded.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub firing: bool,
    /// One sentence for a person.
    pub summary: String,
    /// The numbers behind it: values, baseline, window, sample counts.
    pub evidence: Value,
}

fn minutes_text(ms: i64) -> String {
    format!("{} min", ms.max(0) / MINUTE_MS)
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// Evaluates one rule over `points` (oldest first, none after `now_ms`).
pub fn evaluate(rule: Rule<'_>, points: &[Point], now_ms: i64) -> Verdict {
    let quiet = |summary: String, evidence: Value| Verdict { firing: false, summary, evidence };
    match rule {
        Rule::Stalled(r) => {
            let Some(last) = points.last() else { return quiet("no readings yet".into(), json!({ "samples": 0 })) };
            let run: Vec<&Point> = points.iter().rev().take_while(|p| p.value == last.value).collect();
            let since = run.last().map_or(last.ts, |p| p.ts);
            let unchanged_ms = now_ms - since;
            let threshold_ms = r.for_minutes as i64 * MINUTE_MS;
            let evidence = json!({
                "value": last.value, "unchanged_since": since, "unchanged_minutes": unchanged_ms / MINUTE_MS,
                "for_minutes": r.for_minutes, "samples": run.len(), "min_samples": r.min_samples,
            });
            let firing = last.value > 0.0 && unchanged_ms >= threshold_ms && run.len() >= r.min_samples as usize;
            let summary = if firing {
                format!("stuck at {} for {} (should move within {} min)", num(last.value), minutes_text(unchanged_ms), r.for_minutes)
            } else {
                format!("{} for {}", num(last.value), minutes_text(unchanged_ms))
            };
            Verdict { firing, summary, evidence }
        }
        Rule::ErrorRate(r) => {
            let from = now_ms - r.window_minutes as i64 * MINUTE_MS;
            let window: Vec<&Point> = points.iter().filter(|p| p.ts > from).collect();
            let attempts = window.len();
            let failures = window.iter().filter(|p| p.value > 0.0).count();
            let rate = if attempts == 0 { 0.0 } else { failures as f64 * 100.0 / attempts as f64 };
            let evidence = json!({
                "failures": failures, "attempts": attempts, "rate_percent": rate, "above_percent": r.above_percent,
                "window_minutes": r.window_minutes, "min_samples": r.min_samples,
            });
            let enough = attempts >= r.min_samples as usize;
            let firing = enough && rate > r.above_percent;
            let summary = if !enough {
                format!("{attempts} of {} runs needed in the last {} min", r.min_samples, r.window_minutes)
            } else {
                format!(
                    "{failures} of {attempts} runs failed in the last {} min ({rate:.0} %, alerts above {} %)",
                    r.window_minutes,
                    num(r.above_percent)
                )
            };
            Verdict { firing, summary, evidence }
        }
        Rule::AboveNormal(r) => normal(points, now_ms, r.baseline_minutes, r.min_samples, r.sustain, true, r.factor, r.floor),
        Rule::BelowNormal(r) => normal(points, now_ms, r.baseline_minutes, r.min_samples, r.sustain, false, r.factor, r.floor),
        Rule::Stuck(r) => {
            let Some(last) = points.last() else { return quiet("no readings yet".into(), json!({ "samples": 0 })) };
            let run: Vec<&Point> = points.iter().rev().take_while(|p| p.value > 0.0).collect();
            let Some(first) = run.last() else {
                return quiet("nothing in progress".into(), json!({ "value": last.value, "older_than_minutes": r.older_than_minutes }));
            };
            let age_ms = now_ms - first.ts;
            let firing = age_ms >= r.older_than_minutes as i64 * MINUTE_MS;
            let evidence = json!({
                "value": last.value, "in_progress_since": first.ts, "age_minutes": age_ms / MINUTE_MS,
                "older_than_minutes": r.older_than_minutes, "samples": run.len(),
            });
            let summary = if firing {
                format!("in progress for {} (limit {} min), now at {}", minutes_text(age_ms), r.older_than_minutes, num(last.value))
            } else {
                format!("in progress for {}", minutes_text(age_ms))
            };
            Verdict { firing, summary, evidence }
        }
        Rule::StuckOldest(r) => {
            let Some(last) = points.last() else { return quiet("no readings yet".into(), json!({ "samples": 0 })) };
            // The age as the check read it, not extrapolated: a check that stopped answering says
            // nothing about whether the item finished since.
            let age_ms = (last.value * 1000.0) as i64;
            let firing = age_ms >= r.older_than_minutes as i64 * MINUTE_MS;
            let evidence = json!({
                "oldest_age_secs": last.value, "read_at": last.ts, "age_minutes": age_ms / MINUTE_MS,
                "older_than_minutes": r.older_than_minutes,
            });
            let summary = match (firing, last.value > 0.0) {
                (true, _) => format!("the oldest item in progress is {} old (limit {} min)", minutes_text(age_ms), r.older_than_minutes),
                (false, true) => format!("the oldest item in progress is {} old", minutes_text(age_ms)),
                (false, false) => "nothing in progress".into(),
            };
            Verdict { firing, summary, evidence }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn normal(
    points: &[Point],
    now_ms: i64,
    baseline_minutes: u64,
    min_samples: u32,
    sustain: u32,
    above: bool,
    factor: f64,
    floor: f64,
) -> Verdict {
    let from = now_ms - baseline_minutes as i64 * MINUTE_MS;
    let window: Vec<f64> = points.iter().filter(|p| p.ts > from).map(|p| p.value).collect();
    let sustain = (sustain.max(1) as usize).min(window.len());
    let (base, recent) = window.split_at(window.len() - sustain);
    let baseline = if base.is_empty() { 0.0 } else { base.iter().sum::<f64>() / base.len() as f64 };
    let current = recent.last().copied();
    let evidence = json!({
        "current": current, "recent": recent, "baseline_average": baseline, "baseline_samples": base.len(),
        "baseline_minutes": baseline_minutes, "factor": factor, "floor": floor, "min_samples": min_samples,
        "ratio": current.filter(|_| baseline > 0.0).map(|c| c / baseline),
    });
    let Some(current) = current else {
        return Verdict { firing: false, summary: "no readings yet".into(), evidence };
    };
    if base.len() < min_samples as usize || recent.is_empty() {
        let summary = format!("learning its normal: {} of {min_samples} readings", base.len());
        return Verdict { firing: false, summary, evidence };
    }
    let firing = if above {
        recent.iter().all(|v| *v >= floor && *v > factor * baseline)
    } else {
        baseline >= floor && recent.iter().all(|v| *v < baseline / factor)
    };
    let summary = match (firing, above) {
        (true, true) => format!(
            "{} is {:.1} x its normal of {} (alerts above {} x)",
            num(current),
            current / baseline.max(f64::MIN_POSITIVE),
            num(baseline),
            num(factor)
        ),
        (true, false) if current > 0.0 => {
            format!("{} is {} x below its normal of {}", num(current), num((baseline / current * 10.0).round() / 10.0), num(baseline))
        }
        (true, false) => format!("{} where {} is normal", num(current), num(baseline)),
        (false, _) => format!("{} against a normal of {}", num(current), num(baseline)),
    };
    Verdict { firing, summary, evidence }
}
