//! IPC commands: each is a few lines that call the engine. Errors cross as `{ kind, message }`.

use crate::EngineSlot;
use caretaker_engine::{EngineHandle, ErrorPayload, SeriesQuery, SeriesResult, Snapshot};
use tauri::State;

fn engine(slot: &EngineSlot) -> Result<EngineHandle, ErrorPayload> {
    slot.0.clone()
}

#[tauri::command]
pub fn snapshot(slot: State<'_, EngineSlot>) -> Result<Snapshot, ErrorPayload> {
    Ok(engine(&slot)?.snapshot())
}

#[tauri::command]
pub async fn query_series(slot: State<'_, EngineSlot>, query: SeriesQuery) -> Result<SeriesResult, ErrorPayload> {
    engine(&slot)?.query_series(query).await.map_err(|e| e.payload())
}
