//! JobProgress as JSON lines: rustic's progress bars feed one shared state, sent at most 4 times a second.

use caretaker_engine::backup::protocol::{ErrorKind, JobProgress, WorkerEvent};
use rustic_core::{ProgressBars, ProgressType, RusticProgress};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const EVERY: Duration = Duration::from_millis(250);

struct State {
    progress: JobProgress,
    /// Totals set by the job (a restore knows them before rustic does); bars then only add.
    fixed_totals: bool,
    last_sent: Option<Instant>,
    dirty: bool,
}

/// The secrets of this worker's request: no message it sends may contain one.
static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Keeps `secret` out of every error and answer this process sends from now on (rustic's and
/// reqwest's errors quote the server's URL, password included).
pub fn hide(secret: &str) {
    if !secret.is_empty() {
        SECRETS.lock().unwrap_or_else(|p| p.into_inner()).push(secret.to_string());
    }
}

pub(crate) fn redact(text: &str) -> String {
    caretaker_engine::backup::location::redact(text, &SECRETS.lock().unwrap_or_else(|p| p.into_inner()))
}

fn redact_value(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => Value::String(redact(&s)),
        Value::Array(a) => Value::Array(a.into_iter().map(redact_value).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, redact_value(v))).collect()),
        other => other,
    }
}

#[derive(Clone)]
pub struct Emitter {
    out: Arc<Mutex<Box<dyn Write + Send>>>,
    state: Arc<Mutex<State>>,
}

impl Emitter {
    pub fn stdout() -> Self {
        Self::new(Box::new(std::io::stdout()))
    }

    pub fn new(out: Box<dyn Write + Send>) -> Self {
        Emitter {
            out: Arc::new(Mutex::new(out)),
            state: Arc::new(Mutex::new(State { progress: JobProgress::default(), fixed_totals: false, last_sent: None, dirty: false })),
        }
    }

    pub fn send(&self, event: &WorkerEvent) {
        let redacted;
        let event = match event {
            WorkerEvent::Error { kind, message } => {
                redacted = WorkerEvent::Error { kind: *kind, message: redact(message) };
                &redacted
            }
            WorkerEvent::Done { result } => {
                redacted = WorkerEvent::Done { result: redact_value(result.clone()) };
                &redacted
            }
            other => other,
        };
        let Ok(line) = serde_json::to_string(event) else { return };
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        // A closed pipe means the engine went away; there is no one left to tell.
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    fn update(&self, f: impl FnOnce(&mut State)) {
        let snapshot = {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut s);
            s.dirty = true;
            let due = s.last_sent.is_none_or(|t| t.elapsed() >= EVERY);
            if !due {
                return;
            }
            s.last_sent = Some(Instant::now());
            s.dirty = false;
            s.progress.clone()
        };
        self.send(&WorkerEvent::Progress(snapshot));
    }

    pub fn flush_progress(&self) {
        let snapshot = {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if !s.dirty {
                return;
            }
            s.dirty = false;
            s.progress.clone()
        };
        self.send(&WorkerEvent::Progress(snapshot));
    }

    pub fn phase(&self, phase: &str) {
        let phase = phase.trim_end_matches('.').trim().to_string();
        if phase.is_empty() {
            return;
        }
        self.update(|s| s.progress.phase = phase);
    }

    /// Fixes the totals for the rest of the job (rustic's own bars then only add progress).
    pub fn totals(&self, phase: &str, bytes: u64, files: u64) {
        let phase = phase.to_string();
        self.update(|s| {
            s.fixed_totals = true;
            s.progress = JobProgress { phase, bytes_done: 0, bytes_total: Some(bytes), files_done: 0, files_total: Some(files) };
        });
    }

    pub fn add_bytes(&self, n: u64) {
        self.update(|s| s.progress.bytes_done += n);
    }

    pub fn add_files(&self, n: u64) {
        self.update(|s| s.progress.files_done += n);
    }

    fn bytes_bar(&self, phase: String) {
        self.update(|s| {
            if !phase.is_empty() && !s.fixed_totals {
                s.progress.phase = phase;
                s.progress.bytes_done = 0;
                s.progress.bytes_total = None;
            }
        });
    }
}

#[derive(Clone)]
pub struct JsonBars {
    emitter: Emitter,
}

impl JsonBars {
    pub fn new(emitter: Emitter) -> Self {
        JsonBars { emitter }
    }
}

impl std::fmt::Debug for JsonBars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JsonBars")
    }
}

impl ProgressBars for JsonBars {
    fn progress(&self, kind: ProgressType, prefix: &str) -> rustic_core::Progress {
        let phase = prefix.trim_end_matches('.').trim().to_string();
        match kind {
            ProgressType::Bytes => {
                self.emitter.bytes_bar(phase);
                rustic_core::Progress::new(Bar { emitter: self.emitter.clone(), bytes: true })
            }
            _ => {
                self.emitter.phase(&phase);
                rustic_core::Progress::new(Bar { emitter: self.emitter.clone(), bytes: false })
            }
        }
    }
}

struct Bar {
    emitter: Emitter,
    bytes: bool,
}

impl std::fmt::Debug for Bar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bar")
    }
}

impl RusticProgress for Bar {
    fn is_hidden(&self) -> bool {
        false
    }
    fn set_length(&self, len: u64) {
        if self.bytes {
            self.emitter.update(|s| {
                if !s.fixed_totals {
                    s.progress.bytes_total = Some(len);
                }
            });
        }
    }
    fn set_title(&self, title: &str) {
        self.emitter.phase(title);
    }
    fn inc(&self, inc: u64) {
        if self.bytes {
            self.emitter.update(|s| s.progress.bytes_done += inc);
        }
    }
    fn finish(&self) {}
}

/// rustic_core panics on some I/O errors during a restore (a full disk): the engine still gets
/// a JSON error naming the cause before the process dies.
pub fn install_panic_hook(emitter: Emitter) {
    std::panic::set_hook(Box::new(move |info| {
        let text = if let Some(s) = info.payload().downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = info.payload().downcast_ref::<String>() {
            s.clone()
        } else {
            "unknown panic".to_string()
        };
        let no_space = text.contains("No space left") || text.contains("os error 28") || text.contains("StorageFull");
        let (kind, message) = if no_space {
            (ErrorKind::NoSpace, format!("the destination disk is full: {text}"))
        } else {
            (ErrorKind::Failed, format!("the backup worker crashed: {text}"))
        };
        emitter.send(&WorkerEvent::Error { kind, message });
    }));
}
