//! Which engine the window and the tray talk to: one of the app's own (in process), or the
//! background service's, attached through its control socket. Either way a command goes through
//! the engine's one dispatcher, so the window cannot tell them apart.

use caretaker_engine::control::{self, Client, Incoming};
use caretaker_engine::{EngineHandle, ErrorPayload};
use serde::de::DeserializeOwned;
use std::sync::{Arc, RwLock};

#[derive(Clone)]
pub enum Backend {
    /// The app started this engine and stops it when it quits.
    Local(EngineHandle),
    /// A running engine (the service, or `caretaker run`); it outlives the app.
    Attached(Arc<Client>),
}

impl Backend {
    pub async fn call(&self, cmd: &str, args: serde_json::Value) -> Result<serde_json::Value, ErrorPayload> {
        match self {
            Backend::Local(engine) => control::dispatch(engine, cmd, args).await.map_err(|e| e.payload()),
            Backend::Attached(client) => client.call(cmd, args).await,
        }
    }

    pub async fn call_as<T: DeserializeOwned>(&self, cmd: &str, args: serde_json::Value) -> Result<T, ErrorPayload> {
        let value = self.call(cmd, args).await?;
        serde_json::from_value(value)
            .map_err(|e| ErrorPayload::unreachable(format!("the engine's answer to {cmd} was not understood: {e}")))
    }

    /// Engine events, as the socket delivers them.
    pub async fn events(&self) -> Result<tokio::sync::mpsc::Receiver<Incoming>, ErrorPayload> {
        match self {
            Backend::Attached(client) => client.subscribe().await,
            Backend::Local(engine) => {
                let mut rx = engine.subscribe();
                let (tx, out) = tokio::sync::mpsc::channel(1024);
                tauri::async_runtime::spawn(async move {
                    use tokio::sync::broadcast::error::RecvError;
                    loop {
                        let item = match rx.recv().await {
                            Ok(e) => Incoming::Event(Box::new(e)),
                            Err(RecvError::Lagged(_)) => Incoming::Resync,
                            Err(RecvError::Closed) => return,
                        };
                        if tx.send(item).await.is_err() {
                            return;
                        }
                    }
                });
                Ok(out)
            }
        }
    }
}

/// The current engine, or why there is none (shown in the window instead of a blank page).
pub struct EngineSlot(RwLock<Result<Backend, ErrorPayload>>);

impl EngineSlot {
    pub fn new(state: Result<Backend, ErrorPayload>) -> Self {
        EngineSlot(RwLock::new(state))
    }

    pub fn get(&self) -> Result<Backend, ErrorPayload> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set(&self, state: Result<Backend, ErrorPayload>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = state;
    }
}
