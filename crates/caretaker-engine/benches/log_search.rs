//! Log search benchmark: 1 million log lines, the searches the Logs tab makes, through the FTS5
//! index (as shipped) against the same searches as a LIKE scan (the peer: no index).
//! Run: `cargo bench -p caretaker-engine --bench log_search`.

use caretaker_engine::logs::{insert_batch, search, LogLevel, LogLine, LogQuery};
use std::time::Instant;

const ROWS: usize = 1_000_000;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let conn = caretaker_engine::store::open_and_migrate(&dir.path().join("bench.db")).expect("open");
    let targets = [
        "caretaker_engine::checks",
        "caretaker_engine::metrics",
        "caretaker_engine::alerts",
        "caretaker_engine::maintenance",
        "caretaker_engine",
    ];
    let words = [
        "check", "ollama", "sample", "rollup", "disk", "prune", "latency", "notify", "backup", "restart", "timeout", "refused", "healthy",
        "vacuum",
    ];
    let t = Instant::now();
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..ROWS {
        let level = match i % 50 {
            0 => LogLevel::Error,
            1..=5 => LogLevel::Warn,
            _ => LogLevel::Info,
        };
        let msg = format!(
            "{} {} {} run {i} took {} ms",
            words[i % words.len()],
            words[(i * 7 + 3) % words.len()],
            words[(i * 13 + 5) % words.len()],
            i % 997
        );
        // A rare word, as a person searches for an unusual error.
        let msg = if i % 9973 == 0 { format!("{msg} corrupted page detected") } else { msg };
        batch.push(LogLine {
            id: 0,
            ts_ms: 1_700_000_000_000 + i as i64 * 100,
            level,
            target: targets[i % targets.len()].into(),
            message: msg,
            fields: serde_json::json!({}),
        });
        if batch.len() == 10_000 {
            insert_batch(&conn, &mut batch).expect("insert");
            batch.clear();
        }
    }
    eprintln!("fixture: {ROWS} log lines in {:.1} s", t.elapsed().as_secs_f64());

    let cases: Vec<(&str, LogQuery)> = vec![
        ("newest 200, no filter", LogQuery { limit: 200, ..Default::default() }),
        ("text: common word", LogQuery { text: Some("ollama".into()), limit: 200, ..Default::default() }),
        ("text: rare phrase", LogQuery { text: Some("corrupted page".into()), limit: 200, ..Default::default() }),
        (
            "text + warn and above",
            LogQuery { text: Some("timeout".into()), min_level: Some(LogLevel::Warn), limit: 200, ..Default::default() },
        ),
        (
            "text + component + time range",
            LogQuery {
                text: Some("disk".into()),
                target: Some("caretaker_engine::checks".into()),
                since_ms: Some(1_700_000_000_000 + 20_000_000),
                until_ms: Some(1_700_000_000_000 + 60_000_000),
                limit: 200,
                ..Default::default()
            },
        ),
        ("errors only", LogQuery { min_level: Some(LogLevel::Error), limit: 200, ..Default::default() }),
    ];
    let reps = 20;
    println!("log search over {ROWS} lines (mean of {reps}; peer = the same filter as a LIKE scan)");
    println!("{:<34} {:>10} {:>10} {:>8} {:>7}", "search", "engine ms", "peer ms", "ratio", "rows");
    let mut worst: f64 = 0.0;
    for (label, q) in cases {
        let _ = search(&conn, &q).expect("warm");
        let t = Instant::now();
        let mut n = 0;
        for _ in 0..reps {
            n = search(&conn, &q).expect("search").len();
        }
        let engine_ms = t.elapsed().as_secs_f64() * 1000.0 / reps as f64;
        worst = worst.max(engine_ms);
        let like = q.text.as_deref().map(|t| format!("%{}%", t.split_whitespace().collect::<Vec<_>>().join("%"))).unwrap_or("%".into());
        let mut stmt = conn
            .prepare(
                "SELECT id FROM logs WHERE message LIKE ?1 AND level >= ?2 AND (?3 IS NULL OR target = ?3)
                 AND (?4 IS NULL OR ts >= ?4) AND (?5 IS NULL OR ts <= ?5) ORDER BY id DESC LIMIT 200",
            )
            .expect("peer");
        let level = match q.min_level {
            Some(LogLevel::Error) => 3,
            Some(LogLevel::Warn) => 2,
            _ => 1,
        };
        let peer_reps = 3;
        let t = Instant::now();
        for _ in 0..peer_reps {
            let _ = stmt
                .query_map(rusqlite::params![like, level, q.target, q.since_ms, q.until_ms], |r| r.get::<_, i64>(0))
                .expect("q")
                .count();
        }
        let peer_ms = t.elapsed().as_secs_f64() * 1000.0 / peer_reps as f64;
        println!("{label:<34} {engine_ms:>10.2} {peer_ms:>10.2} {:>8.3} {n:>7}", engine_ms / peer_ms);
    }
    println!("slowest search: {worst:.2} ms (target < 50 ms: {})", if worst < 50.0 { "met" } else { "NOT met" });
}
