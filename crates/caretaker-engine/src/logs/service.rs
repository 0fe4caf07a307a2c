//! The logs service: stores the lines the tracing layer captures (in batches), keeps the newest
//! in memory for the live view, searches and exports them, and prunes past retention.

use super::{attach, detach, insert_batch, prune, search, LogLine, LogQuery, Ring};
use crate::core::Core;
use crate::error::{EngineError, Result};
use crate::events::Event;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

pub(crate) struct Service {
    core: Arc<Core>,
    ring: Mutex<Ring>,
    sink: u64,
}

impl Service {
    /// Attaches to the tracing layer; returns the receiving end for [`Service::run`].
    pub fn new(core: Arc<Core>) -> (Arc<Self>, mpsc::Receiver<LogLine>) {
        let (tx, rx) = mpsc::channel(4096);
        let sink = attach(tx);
        (Arc::new(Service { core, ring: Mutex::new(Ring::default()), sink }), rx)
    }

    /// Stores captured log lines in batches and publishes them for the live view.
    pub async fn run(self: Arc<Self>, mut rx: mpsc::Receiver<LogLine>) {
        let core = &self.core;
        loop {
            let first = tokio::select! {
                _ = core.cancel.cancelled() => break,
                l = rx.recv() => match l { Some(l) => l, None => break },
            };
            let mut batch = vec![first];
            while batch.len() < 500 {
                match rx.try_recv() {
                    Ok(l) => batch.push(l),
                    Err(_) => break,
                }
            }
            match core.db.write_async(move |c| insert_batch(c, &mut batch).map(|_| batch)).await {
                Ok(lines) => {
                    if let Ok(mut ring) = self.ring.lock() {
                        for l in &lines {
                            ring.push(l.clone());
                        }
                    }
                    core.emit(Event::Log { lines });
                }
                // Not logged through tracing: that would feed this very writer.
                Err(e) => eprintln!("caretaker: could not store log lines: {e}"),
            }
        }
    }

    /// Log lines past retention, every ten minutes.
    pub async fn run_retention(self: Arc<Self>) {
        let core = self.core.clone();
        core.every(Duration::from_secs(600), || async {
            let Some(now) = core.retention_now("log lines") else { return };
            let days = core.config().logs.retention_days;
            match core.db.write_async(move |c| prune(c, now, days)).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(logs = n, "pruned log lines past retention"),
                Err(e) => tracing::warn!("could not prune log lines: {e}"),
            }
        })
        .await;
    }

    pub fn detach(&self) {
        detach(self.sink);
    }

    pub async fn search(&self, q: LogQuery) -> Result<Vec<LogLine>> {
        self.core.db.read_async(move |c| search(c, &q)).await
    }

    /// The newest lines kept in memory, oldest first.
    pub fn tail(&self, n: usize) -> Vec<LogLine> {
        self.ring.lock().map(|r| r.tail(n)).unwrap_or_default()
    }

    /// Writes the lines a search finds (oldest first) to a text file in the data folder's
    /// `exports/` and returns its path.
    pub async fn export(&self, q: LogQuery) -> Result<String> {
        let mut lines = self.search(q).await?;
        lines.reverse();
        let dir = self.core.data_dir.join("exports");
        std::fs::create_dir_all(&dir).map_err(|e| EngineError::io(format!("cannot create {}", dir.display()), e))?;
        let path = dir.join(format!("caretaker-log-{}.txt", self.core.now()));
        let mut text = String::new();
        for l in &lines {
            let ts = chrono::DateTime::from_timestamp_millis(l.ts_ms).map(|t| t.to_rfc3339()).unwrap_or_default();
            let level = format!("{:?}", l.level).to_uppercase();
            text.push_str(&format!("{ts} {level:5} {} {}", l.target, l.message));
            if l.fields.as_object().is_some_and(|o| !o.is_empty()) {
                text.push_str(&format!(" {}", l.fields));
            }
            text.push('\n');
        }
        crate::config::write_atomic(&path, text.as_bytes())?;
        Ok(path.display().to_string())
    }
}
