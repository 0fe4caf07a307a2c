//! Reading the NAB corpus: `data/<category>/<file>.csv` (`timestamp,value`), the labelled
//! windows in `labels/combined_windows.json`, and result files (`timestamp,anomaly_score`).

use crate::score::{probation_rows, score_file, Total, PROFILES};
use chrono::NaiveDateTime;
use std::collections::BTreeMap;
use std::path::Path;

pub type Result<T> = std::result::Result<T, String>;

/// The folders NAB says to tune on; the other four are held out.
pub const TUNING: [&str; 3] = ["artificialWithAnomaly", "artificialNoAnomaly", "realKnownCause"];

/// Seconds since the epoch of a NAB timestamp (`2014-04-01 00:05:00`, fraction optional).
pub fn parse_ts(s: &str) -> Option<i64> {
    NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M:%S%.f").ok().map(|t| t.and_utc().timestamp())
}

/// One CSV of `timestamp,<number>`: the raw timestamps as written, their seconds, the numbers.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub stamps: Vec<String>,
    pub ts: Vec<i64>,
    pub values: Vec<f64>,
}

pub fn read_table(path: &Path) -> Result<Table> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut t = Table::default();
    for (n, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let bad = || format!("{}:{}: expected `timestamp,number`, got {line:?}", path.display(), n + 1);
        let (stamp, value) = line.split_once(',').ok_or_else(bad)?;
        t.ts.push(parse_ts(stamp).ok_or_else(bad)?);
        t.values.push(value.trim().parse().map_err(|_| bad())?);
        t.stamps.push(stamp.to_string());
    }
    Ok(t)
}

/// `<category>/<file>.csv` → its windows as `(start, end)` seconds.
pub fn read_windows(path: &Path) -> Result<BTreeMap<String, Vec<(i64, i64)>>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let raw: BTreeMap<String, Vec<[String; 2]>> = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = BTreeMap::new();
    for (key, windows) in raw {
        let mut spans = Vec::with_capacity(windows.len());
        for [a, b] in windows {
            match (parse_ts(&a), parse_ts(&b)) {
                (Some(a), Some(b)) => spans.push((a, b)),
                _ => return Err(format!("{}: bad window {a:?}..{b:?} for {key}", path.display())),
            }
        }
        out.insert(key, spans);
    }
    Ok(out)
}

/// The category of a corpus key (`realKnownCause/nyc_taxi.csv` → `realKnownCause`).
pub fn category(key: &str) -> &str {
    key.split_once('/').map_or(key, |(c, _)| c)
}

/// A corpus scored under the three profiles (in `PROFILES` order), per split.
#[derive(Debug, Clone, Default)]
pub struct CorpusScore {
    pub tuning: [Total; 3],
    pub held_out: [Total; 3],
    pub whole: [Total; 3],
    /// Detections after probation on the `artificialNoAnomaly` files, and the days they span.
    pub quiet_detections: usize,
    pub quiet_days: f64,
}

/// Scores every file of the corpus at `nab` from `dir/<category>/<prefix><file>`, a row being a
/// detection when its score is at least `threshold`.
pub fn score_corpus(nab: &Path, dir: &Path, prefix: &str, threshold: f64) -> Result<CorpusScore> {
    score_with(nab, |cat, file| {
        let result = read_table(&dir.join(cat).join(format!("{prefix}{file}")))?;
        let detected = result.values.iter().map(|&s| s >= threshold).collect();
        Ok((result.ts, detected))
    })
}

/// Scores every file of the corpus at `nab`, `detect(category, file)` giving each file's
/// timestamps and whether each row is a detection.
pub fn score_with<F>(nab: &Path, mut detect: F) -> Result<CorpusScore>
where
    F: FnMut(&str, &str) -> Result<(Vec<i64>, Vec<bool>)>,
{
    let windows = read_windows(&nab.join("labels/combined_windows.json"))?;
    let mut c = CorpusScore::default();
    for (key, spans) in &windows {
        let (cat, file) = key.split_once('/').ok_or_else(|| format!("odd corpus key {key:?}"))?;
        let (ts, detected) = detect(cat, file)?;
        let split = if TUNING.contains(&cat) { &mut c.tuning } else { &mut c.held_out };
        for (k, p) in PROFILES.iter().enumerate() {
            let f = score_file(&ts, &detected, spans, p);
            split[k].add(&f);
            c.whole[k].add(&f);
        }
        if cat == "artificialNoAnomaly" {
            let from = probation_rows(ts.len());
            c.quiet_detections += detected.iter().skip(from).filter(|&&d| d).count();
            if let (Some(first), Some(last)) = (ts.get(from), ts.last()) {
                c.quiet_days += (last - first) as f64 / 86_400.0;
            }
        }
    }
    Ok(c)
}
