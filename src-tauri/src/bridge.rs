//! Engine events -> webview, on one channel with typed payloads.

use caretaker_engine::EngineHandle;
use tauri::{AppHandle, Emitter};
use tokio::sync::broadcast::error::RecvError;

pub const EVENT_CHANNEL: &str = "engine-event";
/// Sent when the webview fell behind and should re-read the snapshot.
pub const RESYNC_CHANNEL: &str = "engine-resync";

pub fn forward_events(app: AppHandle, engine: &EngineHandle) {
    let mut rx = engine.subscribe();
    tauri::async_runtime::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(event) => {
                    crate::tray::on_event(&app, &event);
                    if let Err(e) = app.emit(EVENT_CHANNEL, &event) {
                        tracing::debug!("could not emit event to the window: {e}");
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::debug!(missed = n, "window fell behind engine events");
                    let _ = app.emit(RESYNC_CHANNEL, ());
                }
                Err(RecvError::Closed) => break,
            }
        }
    });
}
