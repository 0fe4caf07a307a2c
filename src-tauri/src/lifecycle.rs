//! The app's ends: a stop asked by the system (SIGTERM from `kill`, a logout, systemd) runs the
//! same clean shutdown as the tray's Quit, and an engine that could not start is said outside
//! the window too, where a person glancing at the machine sees it.

use caretaker_engine::alerts::notify::Sink;
use caretaker_engine::ErrorPayload;
use std::future::Future;

/// Resolves at the first SIGTERM, SIGINT or SIGHUP. Listening starts when this is called (it
/// needs the runtime), so from then on those signals no longer kill the process outright.
#[cfg(unix)]
pub fn termination() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
            _ = hup.recv() => {}
        }
    })
}

/// Waits for `signal`, then runs `shutdown` once.
pub async fn shutdown_on<S, F, Fut>(signal: S, shutdown: F)
where
    S: Future<Output = ()>,
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()>,
{
    signal.await;
    tracing::info!("asked to stop by the system; shutting down");
    shutdown().await;
}

/// On a system stop, shuts the engine down as Quit does, then exits.
#[cfg(unix)]
pub fn quit_on_termination(app: &tauri::AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        match termination() {
            Ok(signal) => shutdown_on(signal, move || crate::tray::quit(app)).await,
            Err(e) => tracing::warn!("cannot listen for SIGTERM ({e}); a system stop will skip the clean shutdown"),
        }
    });
}

#[cfg(not(unix))]
pub fn quit_on_termination(_app: &tauri::AppHandle) {}

/// Whether a start failure leaves the machine unwatched. Another engine owning the data folder
/// (the background service) is still watching it: that is no emergency.
pub fn leaves_unwatched(e: &ErrorPayload) -> bool {
    e.code != caretaker_engine::ErrorCode::AlreadyRunning
}

/// The notification for an engine that did not start: (title, body).
pub fn start_failure_notice(e: &ErrorPayload) -> (String, String) {
    ("Caretaker is not running".into(), format!("{} Nothing is being watched or backed up until this is fixed.", e.message))
}

/// Shows the start failure as a critical notification, off the caller's thread: the desktop's
/// notification service may be slow to answer, and the window should not wait for it.
pub fn announce_start_failure(sink: impl Sink, e: &ErrorPayload) -> std::thread::JoinHandle<()> {
    let (title, body) = start_failure_notice(e);
    std::thread::spawn(move || {
        if let Err(err) = sink.show(&title, &body, true) {
            tracing::warn!("could not show the start failure as a notification: {err}");
        }
    })
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
