//! Engine events -> webview and tray, on one channel with typed payloads; and, for an attached
//! engine, the connection: when the engine goes away (a crash, a restart by the service manager,
//! `caretaker stop`) the window is told, and the app reconnects by itself when it is back.

use crate::backend::{Backend, EngineSlot};
use caretaker_engine::control::{Client, Incoming};
use caretaker_engine::ErrorPayload;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tauri::{AppHandle, Emitter, Manager};

pub const EVENT_CHANNEL: &str = "engine-event";
/// Sent when the webview fell behind (or reconnected) and should re-read the snapshot.
pub const RESYNC_CHANNEL: &str = "engine-resync";
/// Whether the window's engine is reachable.
pub const CONNECTION_CHANNEL: &str = "engine-connection";

/// What the window is told about its engine.
#[derive(Debug, Clone, Serialize)]
pub struct Connection {
    pub connected: bool,
    pub message: Option<String>,
}

/// Forwards `backend`'s events until its connection (or engine) ends.
async fn pump(app: &AppHandle, backend: &Backend) {
    let mut events = match backend.events().await {
        Ok(rx) => rx,
        Err(e) => {
            tracing::warn!("could not follow the engine's events: {e}");
            return;
        }
    };
    while let Some(item) = events.recv().await {
        match item {
            Incoming::Event(event) => {
                crate::tray::on_event(app, &event);
                if let Err(e) = app.emit(EVENT_CHANNEL, &*event) {
                    tracing::debug!("could not emit event to the window: {e}");
                }
            }
            Incoming::Resync => {
                tracing::debug!("window fell behind engine events");
                let _ = app.emit(RESYNC_CHANNEL, ());
            }
        }
    }
}

/// An engine of the app's own: events for as long as it runs.
pub fn forward_events(app: AppHandle, backend: Backend) {
    tauri::async_runtime::spawn(async move { pump(&app, &backend).await });
}

fn set(app: &AppHandle, state: Result<Backend, ErrorPayload>) {
    if let Some(slot) = app.try_state::<EngineSlot>() {
        slot.set(state);
    }
}

/// The longest pause between two attempts to reach an engine that went away.
const RECONNECT_MAX: Duration = Duration::from_secs(5);

/// An attached engine: follows it, and when it goes away says so and reconnects, with a short
/// growing pause, for as long as the app runs.
pub fn supervise(app: AppHandle, data_dir: PathBuf, first: Arc<Client>) {
    tauri::async_runtime::spawn(async move {
        let mut client = first;
        loop {
            let backend = Backend::Attached(client.clone());
            pump(&app, &backend).await;
            client.closed().await;
            let message = "The Caretaker engine stopped. Waiting for it to come back (the service manager restarts it after a crash)…";
            tracing::warn!("the attached engine went away; reconnecting");
            set(&app, Err(ErrorPayload::unreachable(message)));
            let _ = app.emit(CONNECTION_CHANNEL, Connection { connected: false, message: Some(message.into()) });
            crate::tray::show_not_running(&app, "the engine stopped");
            let mut pause = Duration::from_millis(250);
            client = loop {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(RECONNECT_MAX);
                if let Ok(c) = Client::connect(&data_dir).await {
                    break Arc::new(c);
                }
            };
            tracing::info!(pid = client.hello().pid, "reattached to the engine");
            set(&app, Ok(Backend::Attached(client.clone())));
            let _ = app.emit(CONNECTION_CHANNEL, Connection { connected: true, message: None });
            let _ = app.emit(RESYNC_CHANNEL, ());
            crate::tray::refresh(&app);
        }
    });
}
