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
                crate::tray::refresh(app);
            }
        }
    }
}

/// An engine of the app's own: events for as long as it runs. Stopped from outside (`caretaker
/// stop`), it takes the app with it: a window over a stopped engine would only pretend to watch.
/// Stopped by the app itself to hand over to the background service, it does not.
pub fn forward_events(app: AppHandle, backend: Backend) {
    if let Backend::Local(engine) = &backend {
        let (app, engine) = (app.clone(), engine.clone());
        let generation = generation(&app);
        tauri::async_runtime::spawn(async move {
            engine.stopping().await;
            if self::generation(&app) != generation {
                return;
            }
            tracing::info!("the engine was asked to stop; the app stops with it");
            crate::tray::quit(app).await;
        });
    }
    tauri::async_runtime::spawn(async move { pump(&app, &backend).await });
}

fn generation(app: &AppHandle) -> u64 {
    app.try_state::<EngineSlot>().map_or(0, |s| s.generation())
}

/// Sets the window's engine unless the app changed engines since `generation`.
fn set(app: &AppHandle, generation: u64, state: Result<Backend, ErrorPayload>) -> bool {
    app.try_state::<EngineSlot>().is_some_and(|slot| slot.set_from(generation, state))
}

/// The longest pause between two attempts to reach an engine that went away.
const RECONNECT_MAX: Duration = Duration::from_secs(5);
/// How often an attached engine is asked whether it still answers, and how long it has to.
const PING_EVERY: Duration = Duration::from_secs(15);
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// Resolves when `client`'s engine is gone: its connection closed, or it stopped answering (a
/// stopped or hung process keeps its socket open).
async fn gone(client: &Client) {
    loop {
        tokio::select! {
            _ = client.closed() => return,
            _ = tokio::time::sleep(PING_EVERY) => {}
        }
        match tokio::time::timeout(PING_TIMEOUT, client.call("hello", serde_json::Value::Null)).await {
            Ok(Ok(_)) => {}
            _ => {
                tracing::warn!("the attached engine did not answer within {} s", PING_TIMEOUT.as_secs());
                return;
            }
        }
    }
}

/// Connects to the engine of `data_dir`, trying again with a short growing pause until it
/// answers; None once the app no longer wants this engine (a new generation started).
async fn reconnect(app: &AppHandle, generation: u64, data_dir: &std::path::Path) -> Option<Arc<Client>> {
    let mut pause = Duration::from_millis(250);
    loop {
        if self::generation(app) != generation {
            return None;
        }
        if let Ok(c) = Client::connect(data_dir).await {
            return Some(Arc::new(c));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(RECONNECT_MAX);
    }
}

/// Keeps the app attached to the engine of `data_dir` for as long as it runs: follows it, and
/// when it goes away says so and reconnects once it is back. `first` is the engine found at
/// launch; None when another engine holds the folder but did not answer yet (then the window
/// waits for it instead of staying on an error).
pub fn supervise(app: AppHandle, data_dir: PathBuf, first: Option<Arc<Client>>) {
    let generation = generation(&app);
    tauri::async_runtime::spawn(async move {
        let mut next = first;
        loop {
            let client = match next.take() {
                Some(c) => c,
                None => {
                    let Some(c) = reconnect(&app, generation, &data_dir).await else { return };
                    if !set(&app, generation, Ok(Backend::Attached(c.clone()))) {
                        return;
                    }
                    tracing::info!(pid = c.hello().pid, "attached to the engine");
                    let _ = app.emit(CONNECTION_CHANNEL, Connection { connected: true, message: None });
                    let _ = app.emit(RESYNC_CHANNEL, ());
                    crate::tray::refresh(&app);
                    c
                }
            };
            let backend = Backend::Attached(client.clone());
            tokio::select! {
                _ = pump(&app, &backend) => {}
                _ = gone(&client) => {}
            }
            let message = "The Caretaker engine stopped or does not answer. Reconnecting as soon as it runs again…";
            if !set(&app, generation, Err(ErrorPayload::unreachable(message))) {
                return;
            }
            tracing::warn!("the attached engine went away; reconnecting");
            let _ = app.emit(CONNECTION_CHANNEL, Connection { connected: false, message: Some(message.into()) });
            crate::tray::show_not_running(&app, "the engine stopped");
        }
    });
}
