//! Caretaker on NAB, the Numenta Anomaly Benchmark: the scorer (`score`) and the corpus reader
//! (`corpus`). The runner (`main.rs`) feeds every series to the engine's own automatic detector.

pub mod corpus;
pub mod score;
