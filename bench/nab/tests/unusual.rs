//! The engine's automatic detector keeps its NAB score: a change that makes it worse on the
//! corpus fails here. The floor is the score it reached when tuned, minus half a point.

use caretaker_engine::detectors::unusual::Params;
use caretaker_nab::run::run_corpus;
use caretaker_nab::score::PROFILES;
use std::path::Path;

/// Standard-profile normalized score on the whole corpus when the parameters were chosen.
const REACHED: f64 = 63.4;

#[test]
fn the_unusual_detector_keeps_its_nab_score() {
    let nab = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/nab");
    if !nab.join("labels").is_dir() {
        eprintln!("NAB corpus not at {}: nothing to check", nab.display());
        return;
    }
    let c = run_corpus(&nab, Params::default(), None).expect("run the detector over the corpus");
    let standard = c.whole[0].normalized(&PROFILES[0]);
    assert!(standard >= REACHED - 0.5, "standard score {standard:.2} fell below {REACHED} - 0.5");
    assert_eq!(c.whole[0].windows, 116, "every labelled window is scored");
}
