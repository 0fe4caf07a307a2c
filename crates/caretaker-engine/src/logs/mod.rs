//! Caretaker's own log: a tracing layer feeds INFO and above into the `logs` table (with an FTS5
//! index for search) and a ring buffer of the last lines for a live view. Ids only grow, so later
//! features can read "logs since id N".

pub mod config;
pub(crate) mod service;

use crate::error::Result;
use rusqlite::{params, Connection, Row};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};
use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use ts_rs::TS;

pub const RING_CAPACITY: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Info,
    Warn,
    Error,
}

impl LogLevel {
    fn num(self) -> i64 {
        match self {
            LogLevel::Info => 1,
            LogLevel::Warn => 2,
            LogLevel::Error => 3,
        }
    }
    fn from_num(n: i64) -> LogLevel {
        match n {
            3 => LogLevel::Error,
            2 => LogLevel::Warn,
            _ => LogLevel::Info,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct LogLine {
    /// 0 until stored.
    pub id: i64,
    pub ts_ms: i64,
    pub level: LogLevel,
    /// The component (`caretaker_engine::checks`).
    pub target: String,
    pub message: String,
    #[ts(type = "Record<string, unknown>")]
    pub fields: serde_json::Value,
}

/// Where captured lines go: the running engine's writer, or a bounded buffer until one attaches.
/// (A process has one engine; tests run several side by side, so every attached engine gets
/// every line.)
struct Hub {
    pending: Mutex<VecDeque<LogLine>>,
    sinks: Mutex<Vec<(u64, mpsc::Sender<LogLine>)>>,
    next_id: std::sync::atomic::AtomicU64,
}

fn hub() -> &'static Hub {
    static HUB: OnceLock<Hub> = OnceLock::new();
    HUB.get_or_init(|| Hub {
        pending: Mutex::new(VecDeque::new()),
        sinks: Mutex::new(Vec::new()),
        next_id: std::sync::atomic::AtomicU64::new(1),
    })
}

fn push(line: LogLine) {
    let h = hub();
    if let Ok(sinks) = h.sinks.lock() {
        if !sinks.is_empty() {
            // A full queue drops the line rather than blocking the code that logged it.
            for (_, tx) in sinks.iter() {
                let _ = tx.try_send(line.clone());
            }
            return;
        }
    }
    if let Ok(mut p) = h.pending.lock() {
        if p.len() >= RING_CAPACITY {
            p.pop_front();
        }
        p.push_back(line);
    }
}

/// Sends captured lines to `tx` from now on, after what was captured before. Returns the id
/// to detach with.
pub(crate) fn attach(tx: mpsc::Sender<LogLine>) -> u64 {
    let h = hub();
    if let Ok(mut p) = h.pending.lock() {
        for line in p.drain(..) {
            let _ = tx.try_send(line);
        }
    }
    let id = h.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if let Ok(mut s) = h.sinks.lock() {
        s.push((id, tx));
    }
    id
}

pub(crate) fn detach(id: u64) {
    if let Ok(mut s) = hub().sinks.lock() {
        s.retain(|(i, _)| *i != id);
    }
}

/// The tracing layer. Installed by [`crate::logging::init`].
pub struct LogLayer;

struct Fields {
    message: String,
    rest: serde_json::Map<String, serde_json::Value>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.rest.insert(field.name().to_string(), serde_json::Value::String(format!("{value:?}")));
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.rest.insert(field.name().to_string(), value.into());
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.rest.insert(field.name().to_string(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.rest.insert(field.name().to_string(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.rest.insert(field.name().to_string(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.rest.insert(field.name().to_string(), value.into());
    }
}

impl<S: Subscriber> tracing_subscriber::Layer<S> for LogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = match *event.metadata().level() {
            Level::ERROR => LogLevel::Error,
            Level::WARN => LogLevel::Warn,
            Level::INFO => LogLevel::Info,
            _ => return,
        };
        let mut f = Fields { message: String::new(), rest: serde_json::Map::new() };
        event.record(&mut f);
        use crate::Clock;
        push(LogLine {
            id: 0,
            ts_ms: crate::SystemClock.now_ms(),
            level,
            target: event.metadata().target().to_string(),
            message: f.message,
            fields: serde_json::Value::Object(f.rest),
        });
    }
}

/// Stores a batch in one transaction and gives each line its id.
pub fn insert_batch(conn: &Connection, lines: &mut [LogLine]) -> Result<()> {
    let tx = conn.unchecked_transaction()?;
    {
        let mut stmt = tx.prepare_cached("INSERT INTO logs (ts, level, target, message, fields) VALUES (?1, ?2, ?3, ?4, ?5)")?;
        for l in lines.iter_mut() {
            stmt.execute(params![l.ts_ms, l.level.num(), l.target, l.message, l.fields.to_string()])?;
            l.id = tx.last_insert_rowid();
        }
    }
    tx.commit()?;
    Ok(())
}

/// A log search. Every filter is optional; newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct LogQuery {
    /// Words that must all appear (prefix match), in the message or the component.
    #[serde(default)]
    #[ts(optional)]
    pub text: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub min_level: Option<LogLevel>,
    /// Component prefix, e.g. `caretaker_engine::checks`.
    #[serde(default)]
    #[ts(optional)]
    pub target: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub since_ms: Option<i64>,
    #[serde(default)]
    #[ts(optional)]
    pub until_ms: Option<i64>,
    /// Only lines with a smaller id (paging back).
    #[serde(default)]
    #[ts(optional)]
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// Turns what a person typed into an FTS5 query: every word, quoted, as a prefix.
fn fts_query(text: &str) -> Option<String> {
    let words: Vec<String> =
        text.split_whitespace().map(|w| w.replace('"', "\"\"")).filter(|w| !w.is_empty()).map(|w| format!("\"{w}\"*")).collect();
    (!words.is_empty()).then(|| words.join(" "))
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<LogLine> {
    let fields: String = r.get(5)?;
    Ok(LogLine {
        id: r.get(0)?,
        ts_ms: r.get(1)?,
        level: LogLevel::from_num(r.get(2)?),
        target: r.get(3)?,
        message: r.get(4)?,
        fields: serde_json::from_str(&fields).unwrap_or(serde_json::Value::Null),
    })
}

pub fn search(conn: &Connection, q: &LogQuery) -> Result<Vec<LogLine>> {
    let filters = "l.level >= ?2 AND (?3 IS NULL OR l.target >= ?3 AND l.target < ?3 || x'ff')
         AND (?4 IS NULL OR l.ts >= ?4) AND (?5 IS NULL OR l.ts <= ?5) AND (?6 IS NULL OR l.id < ?6)";
    let level = q.min_level.map_or(1, |l| l.num());
    let limit = q.limit.clamp(1, 10_000);
    let args = params![q.text.as_deref().and_then(fts_query), level, q.target, q.since_ms, q.until_ms, q.before_id, limit];
    let sql = if q.text.as_deref().and_then(fts_query).is_some() {
        // Walk the index newest first and stop at the limit.
        format!(
            "SELECT l.id, l.ts, l.level, l.target, l.message, l.fields FROM logs_fts f JOIN logs l ON l.id = f.rowid
             WHERE logs_fts MATCH ?1 AND {filters} ORDER BY f.rowid DESC LIMIT ?7"
        )
    } else {
        format!("SELECT l.id, l.ts, l.level, l.target, l.message, l.fields FROM logs l WHERE ?1 IS NULL AND {filters} ORDER BY l.id DESC LIMIT ?7")
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(args, from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Lines with `after < id <= until` at `min_level` or above, oldest first, at most `limit` (the newest).
pub fn range(conn: &Connection, after: i64, until: i64, min_level: LogLevel, limit: u32) -> Result<Vec<LogLine>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, ts, level, target, message, fields FROM (
             SELECT * FROM logs WHERE id > ?1 AND id <= ?2 AND level >= ?3 ORDER BY id DESC LIMIT ?4
         ) ORDER BY id",
    )?;
    let rows = stmt.query_map(params![after, until, min_level.num(), limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Deletes lines older than `days`.
/// The newest stored line's id (0 when there is none).
pub fn max_id(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT COALESCE(MAX(id), 0) FROM logs", [], |r| r.get(0))?)
}

pub fn prune(conn: &Connection, now_ms: i64, days: u64) -> Result<usize> {
    Ok(conn.execute("DELETE FROM logs WHERE ts < ?1", [now_ms - days as i64 * 86_400_000])?)
}

/// The in-memory tail for the live view.
#[derive(Debug, Default)]
pub struct Ring {
    lines: VecDeque<LogLine>,
}

impl Ring {
    pub fn push(&mut self, line: LogLine) {
        if self.lines.len() >= RING_CAPACITY {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }
    pub fn tail(&self, n: usize) -> Vec<LogLine> {
        self.lines.iter().rev().take(n).rev().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(ts: i64, level: LogLevel, target: &str, message: &str) -> LogLine {
        LogLine { id: 0, ts_ms: ts, level, target: target.into(), message: message.into(), fields: serde_json::json!({}) }
    }

    #[test]
    fn search_by_text_level_component_and_time() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open_and_migrate(&dir.path().join("t.db")).unwrap();
        let mut lines = vec![
            line(1_000, LogLevel::Info, "caretaker_engine::checks", "check Ollama ran"),
            line(2_000, LogLevel::Warn, "caretaker_engine::checks", "check Ollama is slow"),
            line(3_000, LogLevel::Error, "caretaker_engine::store", "disk I/O error while writing"),
            line(4_000, LogLevel::Info, "caretaker_engine::metrics", "pruned metric rows"),
        ];
        insert_batch(&conn, &mut lines).unwrap();
        assert!(lines.windows(2).all(|w| w[1].id > w[0].id), "ids grow");
        let ids = |q: LogQuery| search(&conn, &LogQuery { limit: 100, ..q }).unwrap().into_iter().map(|l| l.id).collect::<Vec<_>>();
        let id = |i: usize| lines[i].id;
        assert_eq!(ids(LogQuery::default()), vec![id(3), id(2), id(1), id(0)]);
        assert_eq!(ids(LogQuery { text: Some("ollama".into()), ..Default::default() }), vec![id(1), id(0)]);
        assert_eq!(ids(LogQuery { text: Some("Oll slo".into()), ..Default::default() }), vec![id(1)], "every word, as a prefix");
        assert_eq!(ids(LogQuery { min_level: Some(LogLevel::Warn), ..Default::default() }), vec![id(2), id(1)]);
        assert_eq!(ids(LogQuery { target: Some("caretaker_engine::checks".into()), ..Default::default() }), vec![id(1), id(0)]);
        assert_eq!(ids(LogQuery { since_ms: Some(2_000), until_ms: Some(3_000), ..Default::default() }), vec![id(2), id(1)]);
        assert_eq!(ids(LogQuery { before_id: Some(id(2)), ..Default::default() }), vec![id(1), id(0)]);
        assert_eq!(
            ids(LogQuery { text: Some("\"unbalanced".into()), ..Default::default() }),
            Vec::<i64>::new(),
            "quotes cannot break the query"
        );
        // Retention removes old lines from the table and the index.
        assert_eq!(prune(&conn, 86_400_000 + 1_500, 1).unwrap(), 1);
        assert_eq!(ids(LogQuery { text: Some("ollama".into()), ..Default::default() }), vec![id(1)]);
    }

    #[test]
    fn ring_keeps_the_last_lines() {
        let mut r = Ring::default();
        for i in 0..(RING_CAPACITY + 5) {
            r.push(line(i as i64, LogLevel::Info, "t", "m"));
        }
        let tail = r.tail(3);
        assert_eq!(tail.iter().map(|l| l.ts_ms).collect::<Vec<_>>(), vec![2002, 2003, 2004]);
        assert_eq!(r.tail(usize::MAX).len(), RING_CAPACITY);
    }
}
