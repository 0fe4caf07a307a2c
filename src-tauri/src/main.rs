//! Caretaker's desktop shell. It only translates: UI commands in, engine events out, tray and
//! window. Every decision is the engine's.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod bridge;
mod commands;
mod consent;
#[cfg(test)]
mod generate;
mod lifecycle;
mod tray;

use caretaker_engine::{paths, Engine, EngineHandle, EngineOptions, ErrorPayload};
use std::path::PathBuf;
use tauri::{Manager, RunEvent, WindowEvent};

/// The engine, or why it could not start (shown in the window instead of a blank page).
pub struct EngineSlot(pub Result<EngineHandle, ErrorPayload>);

fn data_dir_from_args() -> Option<PathBuf> {
    let mut args = std::env::args_os().skip(1);
    while let Some(a) = args.next() {
        if a == "--data-dir" {
            return args.next().map(PathBuf::from);
        }
        if let Some(v) = a.to_str().and_then(|s| s.strip_prefix("--data-dir=")) {
            return Some(PathBuf::from(v));
        }
    }
    None
}

pub fn show_main_window(app: &tauri::AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

/// WebKitGTK turns a `C`/`POSIX` locale into `navigator.language = "C"`, which is not a valid
/// BCP 47 tag: `Intl` constructors then throw and the page never starts (seen with uPlot under
/// systemd services and CI, where LANG is unset). Give the webview a real language tag.
#[cfg(target_os = "linux")]
fn normalize_locale() {
    let effective = ["LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"].iter().find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()));
    let is_c = effective.as_deref().is_none_or(|v| {
        let base = v.split(['.', '@', ':']).next().unwrap_or(v);
        base == "C" || base == "POSIX"
    });
    if is_c {
        // WebKit reads the process locale, not LANGUAGE. en_US needs no installed locale here:
        // libc falls back to C for formats, while the webview gets a valid tag.
        for k in ["LANGUAGE", "LC_ALL", "LC_MESSAGES"] {
            std::env::remove_var(k);
        }
        std::env::set_var("LANG", "en_US.UTF-8");
    }
}

fn main() {
    // The app is its own backup worker: the engine runs `<this binary> __backup-worker` for each
    // backup, restore or check, so a crash there costs one job, never the window.
    if std::env::args_os().nth(1).is_some_and(|a| a == caretaker_engine::backup::protocol::WORKER_ARG) {
        std::process::exit(caretaker_backup::worker_main());
    }
    #[cfg(target_os = "linux")]
    normalize_locale();
    let data_dir = paths::resolve_data_dir(data_dir_from_args());
    let _log = caretaker_engine::logging::init(Some(&data_dir));

    let app = tauri::Builder::default()
        // Must be first: a second launch hands over to the running app and exits.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| show_main_window(app)))
        // Native confirmations, asked from Rust only: the window gets no dialog permission.
        .plugin(tauri_plugin_dialog::init())
        .invoke_handler(commands::handler())
        .setup(move |app| {
            consent::install(app.handle());
            let started = tauri::async_runtime::block_on(Engine::start(EngineOptions::new(data_dir.clone())));
            let slot = match started {
                Ok(engine) => {
                    bridge::forward_events(app.handle().clone(), &engine);
                    Ok(engine)
                }
                Err(e) => {
                    tracing::error!("engine did not start: {e}");
                    Err(e.payload())
                }
            };
            let engine = slot.as_ref().ok().cloned();
            let failure = slot.as_ref().err().cloned();
            app.manage(EngineSlot(slot));
            tray::install(app.handle())?;
            if let Some(engine) = engine {
                tray::refresh(app.handle(), &engine);
            }
            // The window may be closed or hidden: say it where it is seen without the window too.
            if let Some(e) = failure.filter(lifecycle::leaves_unwatched) {
                tray::show_start_failure(app.handle(), &e.message);
                lifecycle::announce_start_failure(caretaker_engine::alerts::notify::DesktopSink, &e);
            }
            lifecycle::quit_on_termination(app.handle());
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window keeps Caretaker running in the tray.
            if let WindowEvent::CloseRequested { api, .. } = event {
                if window.label() == "main" {
                    api.prevent_close();
                    let _ = window.hide();
                }
            }
        })
        .build(tauri::generate_context!());

    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("Caretaker could not start its window: {e}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        if let RunEvent::Exit = event {
            if let Some(slot) = handle.try_state::<EngineSlot>() {
                if let Ok(engine) = &slot.0 {
                    // Idempotent: a tray Quit has already stopped it.
                    tauri::async_runtime::block_on(engine.shutdown());
                }
            }
        }
    });
}
