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

/// The current engine, or why there is none (shown in the window instead of a blank page), with
/// a generation that moves on each time the app changes engines on purpose (the background
/// service switched on or off): tasks that follow an older engine then stand down instead of
/// reporting its departure or quitting the app.
pub struct EngineSlot(RwLock<(u64, Result<Backend, ErrorPayload>)>);

impl EngineSlot {
    pub fn new(state: Result<Backend, ErrorPayload>) -> Self {
        EngineSlot(RwLock::new((0, state)))
    }

    pub fn get(&self) -> Result<Backend, ErrorPayload> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).1.clone()
    }

    pub fn generation(&self) -> u64 {
        self.0.read().unwrap_or_else(|p| p.into_inner()).0
    }

    /// Sets the state if no engine change happened since `generation`; says whether it did.
    pub fn set_from(&self, generation: u64, state: Result<Backend, ErrorPayload>) -> bool {
        let mut slot = self.0.write().unwrap_or_else(|p| p.into_inner());
        if slot.0 != generation {
            return false;
        }
        slot.1 = state;
        true
    }

    /// Starts a new generation with `state`; returns it.
    pub fn replace(&self, state: Result<Backend, ErrorPayload>) -> u64 {
        let mut slot = self.0.write().unwrap_or_else(|p| p.into_inner());
        slot.0 += 1;
        slot.1 = state;
        slot.0
    }
}
