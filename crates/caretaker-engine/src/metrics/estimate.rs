//! How large the database grows with a sampling and retention choice, before the person saves
//! it: from the series written in the last hour (the current rate) and the bytes a row takes in
//! this very file, with everything that is not a metric (logs, alerts, runs) counted as it is now.

use super::config::MetricsConfig;
use super::store::HOUR_MS;
use crate::Result;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The database's size now, and what it would level off at with the settings given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct StorageEstimate {
    /// The database file as it is now (pages in use, free pages included).
    pub current_bytes: u64,
    /// Once every table holds as much history as the settings keep.
    pub estimated_bytes: u64,
    /// Of which metrics (raw samples and the three rollup tables).
    pub estimated_metrics_bytes: u64,
    /// The series written to in the last hour: the rate the estimate is made from.
    pub series: u64,
    /// False while the rate is not known yet (a fresh database): the estimate then uses typical row sizes.
    pub measured: bool,
}

/// (table, bytes per row when too few rows exist to measure: a WITHOUT ROWID B-tree row with its
/// share of page overhead, from a filled database).
const TABLES: [(&str, f64); 4] = [("samples", 26.0), ("rollup_minute", 50.0), ("rollup_5min", 50.0), ("rollup_hour", 50.0)];

/// Below this many rows a table's size is mostly page overhead, not a rate.
const MEASURE_MIN_ROWS: u64 = 5_000;

/// Rows each series keeps in each table once retention is reached, in [`TABLES`]'s order.
fn rows_per_series(m: &MetricsConfig) -> [f64; 4] {
    let raw = (m.raw_retention_hours as f64 * 3600.0) / (m.interval_secs.max(1) as f64);
    let minute_days = m.minute_retention_days as f64;
    // The 5-minute rollup is kept as long as the minute one.
    [raw, minute_days * 1440.0, minute_days * 288.0, m.hour_retention_days as f64 * 24.0]
}

fn table_bytes(c: &Connection, table: &str) -> Result<Option<u64>> {
    // dbstat is compiled into the bundled SQLite; without it the estimate uses typical sizes.
    let bytes = c.query_row("SELECT SUM(pgsize) FROM dbstat WHERE name = ?1", [table], |r| r.get::<_, Option<i64>>(0));
    Ok(bytes.ok().flatten().map(|b| b.max(0) as u64))
}

fn count(c: &Connection, sql: &str, args: impl rusqlite::Params) -> Result<u64> {
    Ok(c.query_row(sql, args, |r| r.get::<_, i64>(0))?.max(0) as u64)
}

/// The estimate for `m`, read from `c` at `now_ms`.
pub fn estimate(c: &Connection, m: &MetricsConfig, now_ms: i64) -> Result<StorageEstimate> {
    let page_size = count(c, "PRAGMA page_size", [])?;
    let current_bytes = count(c, "PRAGMA page_count", [])? * page_size;
    let series = count(c, "SELECT COUNT(DISTINCT series_id) FROM samples WHERE ts >= ?1", [now_ms - HOUR_MS])?;
    let mut metrics_now = 0u64;
    let mut metrics_then = 0f64;
    let mut measured = series > 0;
    for ((table, typical), rows) in TABLES.iter().zip(rows_per_series(m)) {
        let n = count(c, &format!("SELECT COUNT(*) FROM {table}"), [])?;
        let size = table_bytes(c, table)?;
        metrics_now += size.unwrap_or(0);
        let per_row = match size {
            Some(b) if n >= MEASURE_MIN_ROWS => b as f64 / n as f64,
            _ => {
                if *table == "samples" {
                    measured = false;
                }
                *typical
            }
        };
        metrics_then += rows * series as f64 * per_row;
    }
    let others = current_bytes.saturating_sub(metrics_now);
    let estimated_metrics_bytes = metrics_then.round() as u64;
    Ok(StorageEstimate { current_bytes, estimated_bytes: others + estimated_metrics_bytes, estimated_metrics_bytes, series, measured })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Db;

    fn db() -> (tempfile::TempDir, std::sync::Arc<Db>) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("caretaker.db")).unwrap();
        (dir, db)
    }

    /// `series` series sampled every 5 s for `hours` hours up to `now`.
    fn fill(db: &Db, series: i64, hours: i64, now: i64) {
        db.write(|c| {
            let tx = c.unchecked_transaction()?;
            for s in 1..=series {
                tx.execute("INSERT INTO series (id, metric, labels) VALUES (?1, 'm', ?2)", rusqlite::params![s, s.to_string()])?;
                let mut ts = now - hours * HOUR_MS;
                while ts < now {
                    tx.execute(
                        "INSERT INTO samples (series_id, ts, value) VALUES (?1, ?2, ?3)",
                        rusqlite::params![s, ts, (ts % 97) as f64],
                    )?;
                    ts += 5_000;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn the_estimate_grows_with_the_history_kept_and_the_sampling_rate() {
        let (_d, db) = db();
        let now = 1_000 * HOUR_MS;
        fill(&db, 12, 2, now);
        let m = MetricsConfig::default();
        let base = db.read(|c| estimate(c, &m, now)).unwrap();
        assert_eq!(base.series, 12);
        assert!(base.measured, "{base:?}");
        assert!(base.current_bytes > 0);
        // 12 series × 48 h at 5 s = 414 720 raw rows, plus two years of hours: megabytes, not bytes or gigabytes.
        assert!((2_000_000..200_000_000).contains(&base.estimated_bytes), "{base:?}");
        let faster = db.read(|c| estimate(c, &MetricsConfig { interval_secs: 1, ..m.clone() }, now)).unwrap();
        let longer = db.read(|c| estimate(c, &MetricsConfig { hour_retention_days: 1460, ..m.clone() }, now)).unwrap();
        let shorter = db
            .read(|c| {
                estimate(c, &MetricsConfig { raw_retention_hours: 1, minute_retention_days: 1, hour_retention_days: 1, ..m.clone() }, now)
            })
            .unwrap();
        // Five times the raw samples; the rollups do not depend on the interval.
        assert!(faster.estimated_metrics_bytes > base.estimated_metrics_bytes * 3 / 2, "{faster:?} vs {base:?}");
        assert!(longer.estimated_metrics_bytes > base.estimated_metrics_bytes, "{longer:?} vs {base:?}");
        assert!(shorter.estimated_metrics_bytes < base.estimated_metrics_bytes / 10, "{shorter:?} vs {base:?}");
        // What is not metrics is carried as it is.
        assert!(base.estimated_bytes >= base.estimated_metrics_bytes);
    }

    #[test]
    fn series_silent_for_an_hour_are_not_counted_and_a_fresh_database_says_so() {
        let (_d, db) = db();
        let now = 1_000 * HOUR_MS;
        let fresh = db.read(|c| estimate(c, &MetricsConfig::default(), now)).unwrap();
        assert_eq!((fresh.series, fresh.measured, fresh.estimated_metrics_bytes), (0, false, 0));
        fill(&db, 3, 1, now - 2 * HOUR_MS);
        let stale = db.read(|c| estimate(c, &MetricsConfig::default(), now)).unwrap();
        assert_eq!(stale.series, 0, "{stale:?}");
    }
}
