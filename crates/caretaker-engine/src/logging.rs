//! Logging for both binaries: stderr plus a daily rolling file in `<data dir>/logs`.
//! The level comes from `CARETAKER_LOG` (tracing's filter syntax; default `info`).

use std::path::Path;
use tracing_subscriber::{fmt, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter, Layer};

pub const LOG_ENV: &str = "CARETAKER_LOG";

/// Lines waiting for the file writer. The queue is allocated and touched in full at start
/// (tracing-appender's default of 128 000 lines is 4 MiB, most of a resident engine), and only a
/// stalled disk ever fills it; past it lines are dropped rather than blocking the code that logs.
const FILE_QUEUE_LINES: usize = 4096;

/// Keep it alive for the life of the process; dropping it flushes the file writer.
pub struct LogGuard {
    _file: Option<tracing_appender::non_blocking::WorkerGuard>,
}

pub fn init(data_dir: Option<&Path>) -> LogGuard {
    let filter = || EnvFilter::try_from_env(LOG_ENV).unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr = fmt::layer().with_writer(std::io::stderr).with_filter(filter());
    let mut guard = LogGuard { _file: None };
    let mut problem = None;
    let file = data_dir.and_then(|dir| {
        let dir = dir.join(crate::paths::LOG_DIR);
        let appender = std::fs::create_dir_all(&dir).map_err(|e| e.to_string()).and_then(|_| {
            tracing_appender::rolling::Builder::new()
                .rotation(tracing_appender::rolling::Rotation::DAILY)
                .filename_prefix("caretaker")
                .filename_suffix("log")
                .max_log_files(14)
                .build(&dir)
                .map_err(|e| e.to_string())
        });
        match appender {
            Ok(a) => {
                let (writer, g) =
                    tracing_appender::non_blocking::NonBlockingBuilder::default().buffered_lines_limit(FILE_QUEUE_LINES).finish(a);
                guard._file = Some(g);
                Some(fmt::layer().with_ansi(false).with_writer(writer).with_filter(filter()))
            }
            Err(e) => {
                problem = Some(format!("cannot write log files in {}: {e}", dir.display()));
                None
            }
        }
    });
    // A second init (tests, an embedding app) keeps the first subscriber.
    // INFO and above also go to the `logs` table (searchable) once an engine attaches.
    let store = crate::logs::LogLayer.with_filter(tracing_subscriber::filter::LevelFilter::INFO);
    let _ = tracing_subscriber::registry().with(stderr).with(file).with(store).try_init();
    if let Some(p) = problem {
        tracing::warn!("{p}");
    }
    guard
}
