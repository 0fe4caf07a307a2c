//! Caretaker's desktop shell. It only translates: UI commands in, engine events out, tray and
//! window. Every decision is the engine's.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod attach;
mod backend;
mod bridge;
mod commands;
mod consent;
mod editor;
#[cfg(test)]
mod generate;
mod lifecycle;
mod pickers;
mod service;
mod tray;

use backend::{Backend, EngineSlot};
use caretaker_engine::{paths, Engine, EngineOptions};
use std::path::PathBuf;
use std::sync::Arc;
use tauri::{Manager, RunEvent, WindowEvent};

/// Starts with the tray only, no window: how the app comes back after its window was closed
/// (see `attach::become_tray_only`).
pub const TRAY_ONLY_ARG: &str = "--tray-only";

fn page_from_args() -> Option<String> {
    std::env::args().skip(1).find_map(|a| a.strip_prefix("--page=").map(str::to_string)).filter(|p| !p.is_empty())
}

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

/// Shows the window, building it again if it was closed (closing destroys the web view, so a
/// closed window costs nothing while the tray waits).
pub fn show_main_window(app: &tauri::AppHandle) {
    open_page(app, None);
}

/// Shows the window on `page` (a tab, or `alerts/<id>`): a window that is open is told to go
/// there; one built now starts there (an event sent before its page listens would be lost).
pub fn open_page(app: &tauri::AppHandle, page: Option<&str>) {
    let window = match app.get_webview_window("main") {
        Some(w) => {
            if let Some(p) = page {
                let _ = tauri::Emitter::emit(app, tray::NAVIGATE_CHANNEL, p);
            }
            w
        }
        None => {
            let Some(mut config) = app.config().app.windows.iter().find(|w| w.label == "main").cloned() else { return };
            if let Some(p) = page {
                config.url = tauri::WebviewUrl::App(PathBuf::from(format!("index.html#{p}")));
            }
            match tauri::WebviewWindowBuilder::from_config(app, &config).and_then(|b| b.build()) {
                Ok(w) => w,
                Err(e) => {
                    tracing::warn!("could not open the window: {e}");
                    return;
                }
            }
        }
    };
    attach::window_shown(app, true);
    let _ = window.unminimize();
    let _ = window.show();
    let _ = window.set_focus();
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

/// A dashboard needs no GPU compositing. Without it WebKitGTK paints with cairo; with it, on a
/// machine without a GPU driver (a headless box, a VM, Xvfb) every repaint goes through Mesa's
/// software OpenGL: 2.6 % of a core against 1.0 % for the idle Overview, measured here. A value
/// the person set is kept.
#[cfg(target_os = "linux")]
fn paint_without_compositing() {
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
}

fn main() {
    // Started by ssh as its askpass program while Caretaker lets its key into an SFTP account.
    if caretaker_engine::backup::ssh_login::answer_askpass() {
        return;
    }
    // The app is its own backup worker: the engine runs `<this binary> __backup-worker` for each
    // backup, restore or check, so a crash there costs one job, never the window.
    if std::env::args_os().nth(1).is_some_and(|a| a == caretaker_engine::backup::protocol::WORKER_ARG) {
        std::process::exit(caretaker_backup::worker_main());
    }
    #[cfg(target_os = "linux")]
    {
        normalize_locale();
        paint_without_compositing();
    }
    let data_dir_arg = data_dir_from_args();
    let from_args = data_dir_arg.is_some();
    let data_dir = paths::resolve_data_dir(data_dir_arg);
    let tray_only = std::env::args_os().any(|a| a == TRAY_ONLY_ARG);
    if tray_only {
        attach::reap_inherited_children();
    }
    let _log = caretaker_engine::logging::init(Some(&data_dir));

    let app = tauri::Builder::default()
        // Must be first: a second launch hands over to the running app and exits.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| show_main_window(app)))
        // Native confirmations, asked from Rust only: the window gets no dialog permission.
        .plugin(tauri_plugin_dialog::init())
        .invoke_handler(commands::handler())
        .setup(move |app| {
            consent::install(app.handle());
            app.manage(service::Folder { data_dir: data_dir.clone(), from_args });
            // The running engine (the service, or `caretaker run`) if there is one; otherwise an
            // engine of the app's own, which also serves the socket for the CLI.
            let slot = match tauri::async_runtime::block_on(attach::find_engine(&data_dir)) {
                Some(client) => {
                    tracing::info!(pid = client.hello().pid, "attached to the running engine");
                    let client = Arc::new(client);
                    bridge::supervise(app.handle().clone(), data_dir.clone(), Some(client.clone()));
                    Ok(Backend::Attached(client))
                }
                None => match tauri::async_runtime::block_on(Engine::start(EngineOptions::new(data_dir.clone()))) {
                    Ok(engine) => {
                        let backend = Backend::Local(engine);
                        bridge::forward_events(app.handle().clone(), backend.clone());
                        Ok(backend)
                    }
                    Err(e) => {
                        tracing::error!("engine did not start: {e}");
                        // Another engine holds the folder (a service still starting): attach to
                        // it as soon as it answers.
                        if e.code() == caretaker_engine::ErrorCode::AlreadyRunning {
                            bridge::supervise(app.handle().clone(), data_dir.clone(), None);
                        }
                        Err(e.payload())
                    }
                },
            };
            let failure = slot.as_ref().err().cloned();
            let running = slot.is_ok();
            app.manage(EngineSlot::new(slot));
            tray::install(app.handle())?;
            if running {
                tray::refresh(app.handle());
            }
            // The window may be closed or hidden: say it where it is seen without the window too.
            if let Some(e) = failure.filter(lifecycle::leaves_unwatched) {
                tray::show_not_running(app.handle(), &e.message);
                lifecycle::announce_start_failure(caretaker_engine::alerts::notify::DesktopSink, &e);
            }
            lifecycle::quit_on_termination(app.handle());
            if !tray_only {
                // `--page=alerts/12`: opened from the tray process's menu or a clicked notification.
                open_page(app.handle(), page_from_args().as_deref());
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window destroys it (and its web view); Caretaker stays in the tray.
            if let WindowEvent::Destroyed = event {
                if window.label() == "main" {
                    attach::window_shown(window.app_handle(), false);
                    attach::become_tray_only(window.app_handle());
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
    app.run(|handle, event| match event {
        // The last window closed: the tray stays. An explicit exit (Quit) carries a code.
        RunEvent::ExitRequested { code: None, api, .. } => api.prevent_exit(),
        RunEvent::Exit => {
            if let Some(Ok(Backend::Local(engine))) = handle.try_state::<EngineSlot>().map(|s| s.get()) {
                // Idempotent: a tray Quit has already stopped it.
                tauri::async_runtime::block_on(engine.shutdown());
            }
        }
        _ => {}
    });
}
