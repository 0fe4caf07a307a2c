//! Backups: plans, the worker process that runs them, records, freshness and restore.

pub mod protocol;
pub mod worker;
