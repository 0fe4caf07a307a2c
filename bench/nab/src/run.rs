//! Runs the engine's automatic detector (`detectors::unusual`) over every NAB series, point by
//! point as Caretaker would see them, and marks the rows where Caretaker would open an alert.

use crate::corpus::{read_table, score_with, CorpusScore, Result};
use caretaker_engine::detectors::unusual::{Params, UnusualState};
use std::fmt::Write as _;
use std::path::Path;

/// Whether an alert opened at each row of one series, fed from its first row.
pub fn detect(ts: &[i64], values: &[f64], params: Params) -> Vec<bool> {
    let mut state = UnusualState::new(params);
    ts.iter().zip(values).map(|(&t, &v)| state.observe(t, v).is_some()).collect()
}

/// Runs the detector with `params` over the corpus at `nab` and scores it; with `out`, also
/// writes `out/<category>/<file>` (`timestamp,anomaly_score`: 1.0 where an alert opened).
pub fn run_corpus(nab: &Path, params: Params, out: Option<&Path>) -> Result<CorpusScore> {
    score_with(nab, |cat, file| {
        let table = read_table(&nab.join("data").join(cat).join(file))?;
        let detected = detect(&table.ts, &table.values, params);
        if let Some(out) = out {
            let dir = out.join(cat);
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let mut csv = String::from("timestamp,anomaly_score\n");
            for (stamp, &d) in table.stamps.iter().zip(&detected) {
                let _ = writeln!(csv, "{stamp},{}", if d { "1.0" } else { "0.0" });
            }
            let path = dir.join(file);
            std::fs::write(&path, csv).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok((table.ts, detected))
    })
}
