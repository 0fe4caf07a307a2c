//! Per-point cost of the automatic "unusual" detector, fed NAB's series (from `../shared/nab`
//! when present, else NAB-like synthetic ones: a daily swing, noise, spikes and a step), beside
//! a peer measured in the same run: a running mean and variance with a z-score test, the
//! cheapest detector that still looks at every point. Reports ns per point for both, their
//! ratio, and the bytes of state per series.
//! Run: `cargo bench -p caretaker-engine --bench unusual`.

use caretaker_engine::detectors::unusual::{Params, UnusualState};
use chrono::NaiveDateTime;
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

type Series = (Vec<i64>, Vec<f64>);

fn nab_series() -> Vec<Series> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/nab/data");
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(&data) else { return out };
    for dir in dirs.flatten() {
        let Ok(files) = std::fs::read_dir(dir.path()) else { continue };
        for file in files.flatten() {
            let Ok(text) = std::fs::read_to_string(file.path()) else { continue };
            let (mut ts, mut values) = (Vec::new(), Vec::new());
            for line in text.lines().skip(1) {
                let Some((t, v)) = line.split_once(',') else { continue };
                let (Ok(t), Ok(v)) = (NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S"), v.trim().parse()) else { continue };
                ts.push(t.and_utc().timestamp());
                values.push(v);
            }
            out.push((ts, values));
        }
    }
    out
}

fn synthetic_series() -> Vec<Series> {
    let mut seed = 42u64;
    let mut noise = move || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    (0..58)
        .map(|k| {
            let ts: Vec<i64> = (0..6300).map(|i| 1_396_310_400 + 300 * i).collect();
            let values = ts
                .iter()
                .enumerate()
                .map(|(i, &t)| {
                    let day = (t % 86_400) as f64 / 86_400.0 * std::f64::consts::TAU;
                    let step = if i > 4000 + k * 10 { 20.0 } else { 0.0 };
                    let spike = if i % 1777 == 0 { 80.0 } else { 0.0 };
                    50.0 + 10.0 * day.sin() + 5.0 * noise() + step + spike
                })
                .collect();
            (ts, values)
        })
        .collect()
}

/// The peer: Welford's running mean and variance, flagging points beyond 4 sigma.
fn peer(_ts: &[i64], values: &[f64]) -> usize {
    let (mut n, mut mean, mut m2, mut hits) = (0f64, 0f64, 0f64, 0usize);
    for &v in values {
        n += 1.0;
        let d = v - mean;
        mean += d / n;
        m2 += d * (v - mean);
        if n > 30.0 && (v - mean).abs() > 4.0 * (m2 / (n - 1.0)).sqrt() {
            hits += 1;
        }
    }
    hits
}

fn ours(ts: &[i64], values: &[f64]) -> usize {
    let mut state = UnusualState::new(Params::default());
    ts.iter().zip(values).filter(|(&t, &v)| state.observe(t, v).is_some()).count()
}

/// Best of `rounds` passes over every series, in ns per point.
fn time(series: &[Series], rounds: usize, f: fn(&[i64], &[f64]) -> usize) -> (f64, usize) {
    let points: usize = series.iter().map(|(t, _)| t.len()).sum();
    let mut best = f64::MAX;
    let mut found = 0;
    for _ in 0..rounds {
        let start = Instant::now();
        found = series.iter().map(|(t, v)| f(black_box(t), black_box(v))).sum();
        best = best.min(start.elapsed().as_nanos() as f64 / points as f64);
    }
    (best, found)
}

fn main() {
    let mut series = nab_series();
    let source = if series.is_empty() {
        series = synthetic_series();
        "NAB-like synthetic series"
    } else {
        "NAB series"
    };
    let points: usize = series.iter().map(|(t, _)| t.len()).sum();
    println!("{} {source}, {points} points; best of 5 passes", series.len());
    let (ns, opened) = time(&series, 5, ours);
    let (peer_ns, flagged) = time(&series, 5, peer);
    println!("unusual detector   {ns:>7.1} ns/point  ({opened} alerts opened)");
    println!("running z-score    {peer_ns:>7.1} ns/point  ({flagged} points flagged)");
    println!("ratio              {:>7.1}x the peer; budget 2000 ns/point: {}", ns / peer_ns, if ns <= 2000.0 { "met" } else { "MISSED" });
    let mut state = UnusualState::new(Params::default());
    if let Some((ts, values)) = series.first() {
        for (&t, &v) in ts.iter().zip(values) {
            state.observe(t, v);
        }
    }
    println!("state per series   {:>7} bytes (budget 4096)", state.memory_bytes());
}
