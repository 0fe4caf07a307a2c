//! Chart-query benchmark: the 24 h all-series query the Overview makes, read from rollups as the
//! engine does, against the same answer computed from raw samples (the peer: no rollups).
//! Run: `cargo bench -p caretaker-engine --bench chart_query`.

use caretaker_engine::metrics::{self, RetentionPolicy, SeriesCache, SeriesPoint};
use caretaker_engine::SeriesQuery;
use std::time::Instant;

const HOUR: i64 = 3_600_000;
const SERIES: usize = 32; // a Mac mini: cpu, 8 cores, load, memory, 3 disks x 4, 2 interfaces x 2, temps

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.db");
    let conn = caretaker_engine::store::open_and_migrate(&path).expect("open");
    let end = 1_700_000_000_000i64 / HOUR * HOUR;
    let policy = RetentionPolicy { raw_ms: 48 * HOUR, minute_ms: 30 * 24 * HOUR, hour_ms: 730 * 24 * HOUR };
    let names: Vec<(String, String)> = (0..SERIES).map(|i| (format!("metric_{}", i / 4), format!("k={}", i % 4))).collect();

    // 48 h of raw samples every 5 s (what retention keeps), written tick by tick as the engine does.
    let t = Instant::now();
    let mut cache = SeriesCache::default();
    let start = end - 48 * HOUR;
    let tx = conn.unchecked_transaction().expect("tx");
    let mut ts = start;
    let mut n = 0u64;
    while ts < end {
        let points: Vec<SeriesPoint> = names
            .iter()
            .enumerate()
            .map(|(i, (m, l))| SeriesPoint { metric: m.clone(), labels: l.clone(), unit: String::new(), value: ((n as usize * 7 + i) % 100) as f64 })
            .collect();
        metrics::write_points(&tx, &mut cache, ts, &points).expect("write");
        ts += 5_000;
        n += 1;
    }
    tx.commit().expect("commit");
    metrics::rollup(&conn, end).expect("rollup");
    let rows: i64 = conn.query_row("SELECT COUNT(*) FROM samples", [], |r| r.get(0)).expect("count");
    eprintln!("fixture: {SERIES} series, {rows} raw rows, built in {:.1} s", t.elapsed().as_secs_f64());

    let q = SeriesQuery { metrics: vec![], range_secs: 86_400, until_ms: Some(end), max_points: None };
    let reps = 50;
    let time = |f: &mut dyn FnMut() -> usize| -> (f64, usize) {
        let mut points = f(); // warm the page cache and statement cache
        let t = Instant::now();
        for _ in 0..reps {
            points = f();
        }
        (t.elapsed().as_secs_f64() * 1000.0 / reps as f64, points)
    };

    let (engine_ms, engine_points) = time(&mut || {
        let r = metrics::query_series(&conn, &q, end, 5_000, policy).expect("query");
        r.series.iter().map(|s| s.ts.len()).sum()
    });
    let mut raw_stmt = conn
        .prepare("SELECT series_id, (ts / 180000) * 180000, AVG(value) FROM samples WHERE series_id IN (SELECT id FROM series) AND ts >= ?1 AND ts < ?2 GROUP BY 1, 2")
        .expect("prepare");
    let (raw_ms, raw_points) = time(&mut || {
        raw_stmt.query_map([end - 24 * HOUR, end + 1], |_| Ok(())).expect("raw").count()
    });

    println!("24 h, all {SERIES} series, same buckets (3 min):");
    println!("  engine (per-minute rollups): {engine_ms:8.2} ms  ({engine_points} points)");
    println!("  peer   (raw samples):        {raw_ms:8.2} ms  ({raw_points} points)");
    println!("  ratio engine / peer:         {:8.3}  ({:.0}x faster)", engine_ms / raw_ms, raw_ms / engine_ms);
    println!("  target (< 10 ms):            {}", if engine_ms < 10.0 { "met" } else { "NOT met" });
    for (label, secs) in [("15 min", 900u32), ("1 h", 3600), ("7 d", 7 * 86_400), ("30 d", 30 * 86_400)] {
        let q = SeriesQuery { metrics: vec![], range_secs: secs, until_ms: Some(end), max_points: None };
        let (ms, pts) = time(&mut || metrics::query_series(&conn, &q, end, 5_000, policy).expect("q").series.iter().map(|s| s.ts.len()).sum());
        println!("  {label:>6} all series: {ms:8.2} ms ({pts} points)");
    }
}
