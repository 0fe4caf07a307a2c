//! Caretaker on NAB, the Numenta Anomaly Benchmark: the scorer (`score`), the corpus reader
//! (`corpus`) and the runner (`run`) that feeds every series to the engine's own automatic
//! detector.

pub mod corpus;
pub mod run;
pub mod score;
