//! The scorer reproduces the figure NAB published for Windowed Gaussian, from its published
//! per-row results, in all three profiles.

use caretaker_nab::corpus::score_corpus;
use caretaker_nab::score::PROFILES;
use std::path::Path;

#[test]
fn reproduces_windowed_gaussian() {
    let nab = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/nab");
    if !nab.join("published").is_dir() {
        eprintln!("NAB corpus not at {}: nothing to check", nab.display());
        return;
    }
    let results = nab.join("published/results/windowedGaussian");
    let c = score_corpus(&nab, &results, "windowedGaussian_", 1.0).expect("score the published results");
    let text = std::fs::read_to_string(nab.join("published/final_results.json")).expect("published scores");
    let published: serde_json::Value = serde_json::from_str(&text).expect("published scores are JSON");
    for (p, t) in PROFILES.iter().zip(&c.whole) {
        let theirs = published["windowedGaussian"][p.name].as_f64().expect("a published figure");
        assert!((t.normalized(p) - theirs).abs() < 1e-6, "{}: ours {} published {theirs}", p.name, t.normalized(p));
    }
    assert!((c.whole[0].normalized(&PROFILES[0]) - 39.6).abs() < 0.05);
}
