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
            .map(|(i, (m, l))| SeriesPoint {
                metric: m.clone(),
                labels: l.clone(),
                unit: String::new(),
                value: ((n as usize * 7 + i) % 100) as f64,
            })
            .collect();
        metrics::write_points(&tx, &mut cache, ts, &points).expect("write");
        ts += 5_000;
        n += 1;
    }
    tx.commit().expect("commit");
    metrics::rollup(&conn, end).expect("rollup");
    let rows: i64 = conn.query_row("SELECT COUNT(*) FROM samples", [], |r| r.get(0)).expect("count");
    eprintln!("fixture: {SERIES} series, {rows} raw rows, built in {:.1} s", t.elapsed().as_secs_f64());

    if std::env::var_os("BENCH_MMAP").is_some() {
        conn.execute_batch("PRAGMA mmap_size = 268435456; PRAGMA cache_size = -32000;").expect("pragma");
    }
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
    // The peer reads the same buckets the same way, from raw samples: what a chart costs without rollups.
    let mut raw_stmt =
        conn.prepare("SELECT ts, value FROM samples WHERE series_id = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts").expect("prepare");
    let ids: Vec<i64> =
        conn.prepare("SELECT id FROM series").expect("ids").query_map([], |r| r.get(0)).expect("ids").map(|r| r.expect("id")).collect();
    let (raw_ms, raw_points) = time(&mut || {
        let step = 300_000;
        let mut points = 0;
        for id in &ids {
            let mut rows = raw_stmt.query([*id, end - 24 * HOUR, end + 1]).expect("raw");
            let (mut cur, mut sum, mut n) = (i64::MIN, 0.0, 0u32);
            let mut out: Vec<(i64, f64)> = Vec::new();
            while let Some(r) = rows.next().expect("row") {
                let b = r.get::<_, i64>(0).expect("ts") / step * step;
                if n > 0 && b != cur {
                    out.push((cur, sum / f64::from(n)));
                    (sum, n) = (0.0, 0);
                }
                cur = b;
                sum += r.get::<_, f64>(1).expect("v");
                n += 1;
            }
            if n > 0 {
                out.push((cur, sum / f64::from(n)));
            }
            points += out.len();
        }
        points
    });

    println!("24 h, all {SERIES} series, same buckets (5 min):");
    println!("  engine (per-minute rollups): {engine_ms:8.2} ms  ({engine_points} points)");
    println!("  peer   (raw samples):        {raw_ms:8.2} ms  ({raw_points} points)");
    println!("  ratio engine / peer:         {:8.3}  ({:.0}x faster)", engine_ms / raw_ms, raw_ms / engine_ms);
    println!("  target (< 10 ms):            {}", if engine_ms < 10.0 { "met" } else { "NOT met" });
    for (label, secs) in [("15 min", 900u32), ("1 h", 3600), ("7 d", 7 * 86_400), ("30 d", 30 * 86_400)] {
        let q = SeriesQuery { metrics: vec![], range_secs: secs, until_ms: Some(end), max_points: None };
        let (ms, pts) =
            time(&mut || metrics::query_series(&conn, &q, end, 5_000, policy).expect("q").series.iter().map(|s| s.ts.len()).sum());
        println!("  {label:>6} all series: {ms:8.2} ms ({pts} points)");
    }
}
