//! `caretaker-nab score <results dir> [--prefix P] [--threshold T] [--published NAME]`: scores a
//! detector's NAB result files, and prints the published figure beside ours when named.
//! `caretaker-nab run [--out DIR]`: runs the engine's automatic detector over every series,
//! writes `DIR/<category>/<file>.csv` (`timestamp,anomaly_score`, 1.0 where Caretaker would open
//! an alert), then scores them at threshold 1.0.
//! `--nab DIR` points at the corpus (default: `../shared/nab` from the project root).

use caretaker_engine::detectors::unusual::Params;
use caretaker_nab::corpus::{score_corpus, Result};
use caretaker_nab::run::run_corpus;
use caretaker_nab::score::PROFILES;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().and_then(Path::parent).map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

#[derive(Clone)]
struct Args {
    command: String,
    dir: Option<PathBuf>,
    nab: PathBuf,
    out: PathBuf,
    prefix: String,
    threshold: f64,
    published: Option<String>,
}

fn parse_args() -> Result<Args> {
    let mut it = std::env::args().skip(1);
    let command = it.next().ok_or("usage: caretaker-nab <score DIR | run [--out DIR]> [options]")?;
    let mut a = Args {
        command,
        dir: None,
        nab: root().join("../shared/nab"),
        out: root().join("bench/out/nab"),
        prefix: String::new(),
        threshold: 1.0,
        published: None,
    };
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--nab" => a.nab = PathBuf::from(value()?),
            "--out" => a.out = PathBuf::from(value()?),
            "--prefix" => a.prefix = value()?,
            "--threshold" => a.threshold = value()?.parse().map_err(|_| "--threshold takes a number")?,
            "--published" => a.published = Some(value()?),
            _ if !arg.starts_with("--") && a.dir.is_none() => a.dir = Some(PathBuf::from(&arg)),
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    Ok(a)
}

/// Scores every file of the corpus from `dir/<category>/<prefix><file>` and prints the table.
fn score_dir(a: &Args, dir: &Path) -> Result<()> {
    let c = score_corpus(&a.nab, dir, &a.prefix, a.threshold)?;
    let (quiet_fp, quiet_days) = (c.quiet_detections, c.quiet_days);
    let totals = [("tuning", c.tuning), ("held-out", c.held_out), ("whole corpus", c.whole)];
    let mut out = String::new();
    let _ =
        writeln!(out, "{:<13} {:>9} {:>19} {:>19}   windows  TP  FN   FP", "split", "standard", "reward_low_FP_rate", "reward_low_FN_rate");
    for (split, t) in &totals {
        let s = &t[0];
        let _ = writeln!(
            out,
            "{split:<13} {:>9.1} {:>19.1} {:>19.1}   {:>7} {:>3} {:>3} {:>4}",
            t[0].normalized(&PROFILES[0]),
            t[1].normalized(&PROFILES[1]),
            t[2].normalized(&PROFILES[2]),
            s.windows,
            s.tp,
            s.fn_,
            s.fp
        );
    }
    {
        let t = &totals[2].1;
        let raw: Vec<String> = PROFILES.iter().zip(t).map(|(p, t)| format!("{} {:.4}", p.name, t.raw)).collect();
        let _ = writeln!(out, "raw scores (whole corpus): {}", raw.join(", "));
    }
    let _ = writeln!(
        out,
        "artificialNoAnomaly: {quiet_fp} false detections in {quiet_days:.1} scored days = {:.3} per day",
        if quiet_days > 0.0 { quiet_fp as f64 / quiet_days } else { 0.0 }
    );
    if let Some(name) = &a.published {
        let t = &totals[2].1;
        let path = a.nab.join("published/final_results.json");
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let published: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        for (p, t) in PROFILES.iter().zip(t) {
            let theirs = published[name.as_str()][p.name].as_f64().ok_or_else(|| format!("{name}/{} not published", p.name))?;
            let ours = t.normalized(p);
            let _ = writeln!(out, "{name} {:<19} ours {ours:>8.4}  published {theirs:>8.4}  diff {:+.2e}", p.name, ours - theirs);
        }
    }
    print!("{out}");
    Ok(())
}

/// Runs the engine's detector over the corpus, writes its result files, then scores them.
fn run(a: &Args) -> Result<()> {
    run_corpus(&a.nab, Params::default(), Some(&a.out))?;
    println!("results in {}; scored at threshold 1.0:", a.out.display());
    score_dir(&Args { threshold: 1.0, prefix: String::new(), ..a.clone() }, &a.out)
}

fn main() -> ExitCode {
    let result = parse_args().and_then(|a| match a.command.as_str() {
        "score" => match &a.dir {
            Some(dir) => score_dir(&a, dir),
            None => Err("score needs a results directory".into()),
        },
        "run" => run(&a),
        other => Err(format!("unknown command {other:?} (score, run)")),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("caretaker-nab: {e}");
            ExitCode::FAILURE
        }
    }
}
