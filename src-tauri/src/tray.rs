//! The tray: an icon showing the worst open alert (ok / warning / critical) that stays when the
//! window closes, and a menu of everyday actions.

use crate::backend::{Backend, EngineSlot};
use caretaker_engine::tray_view::{self, Level};
use caretaker_engine::{Event, Snapshot};
use serde_json::json;
use std::sync::Mutex;
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Wry};

const TRAY_ID: &str = "caretaker";
/// Asks the window to show a page (the UI listens on this channel).
pub const NAVIGATE_CHANNEL: &str = "navigate";

const ICON_OK: &[u8] = include_bytes!("../icons/tray-ok.png");
const ICON_WARNING: &[u8] = include_bytes!("../icons/tray-warning.png");
const ICON_CRITICAL: &[u8] = include_bytes!("../icons/tray-critical.png");

/// Menu items whose text follows the engine's state, and how many alerts are open (a host
/// sample only updates the tooltip when none is).
struct TrayItems {
    alerts: MenuItem<Wry>,
    pause: MenuItem<Wry>,
    open_alerts: Mutex<usize>,
}

pub fn install(app: &AppHandle) -> tauri::Result<()> {
    let open = MenuItem::with_id(app, "open", "Open Caretaker", true, None::<&str>)?;
    let alerts = MenuItem::with_id(app, "alerts-count", "No active alerts", false, None::<&str>)?;
    let open_alerts = MenuItem::with_id(app, "open-alerts", "Open Alerts", true, None::<&str>)?;
    let pause = MenuItem::with_id(app, "pause", tray_view::PAUSE, true, None::<&str>)?;
    let maintain = MenuItem::with_id(app, "maintain", "Run maintenance", true, None::<&str>)?;
    let backup = MenuItem::with_id(app, "backup", "Back up now", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let stop = MenuItem::with_id(app, "stop", "Stop Caretaker", true, None::<&str>)?;
    let sep = || PredefinedMenuItem::separator(app);
    let menu = Menu::with_items(app, &[&open, &sep()?, &alerts, &open_alerts, &pause, &sep()?, &backup, &maintain, &sep()?, &quit, &stop])?;
    TrayIconBuilder::with_id(TRAY_ID)
        .tooltip("Caretaker")
        .icon(Image::from_bytes(ICON_OK)?)
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| match event.id().as_ref() {
            "open" => crate::show_main_window(app),
            "open-alerts" => crate::open_page(app, Some("alerts")),
            "pause" => toggle_pause(app),
            "maintain" => run_maintenance(app),
            "backup" => back_up_now(app),
            "quit" => quit_app(app),
            "stop" => stop_engine(app),
            _ => {}
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click { button: MouseButton::Left, button_state: MouseButtonState::Up, .. } = event {
                crate::show_main_window(tray.app_handle());
            }
        })
        .build(app)?;
    app.manage(TrayItems { alerts, pause, open_alerts: Mutex::new(0) });
    Ok(())
}

fn run_maintenance(app: &AppHandle) {
    let Some(engine) = engine(app) else { return };
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        match engine.call("run_maintenance", json!({})).await {
            Ok(_) => crate::open_page(&app, Some("monitor")),
            Err(e) => tracing::warn!("maintenance did not start: {e}"),
        }
    });
}

/// Backs up the first plan (the one that holds Caretaker's own data by default) and shows the
/// Backups page; with no plan yet, the page's wizard creates one.
fn back_up_now(app: &AppHandle) {
    let Some(engine) = engine(app) else { return };
    crate::open_page(app, Some("backups"));
    tauri::async_runtime::spawn(async move {
        let overview: Result<caretaker_engine::backup::BackupsOverview, _> = engine.call_as("backups_overview", json!({})).await;
        let Some(plan) = overview.ok().and_then(|o| o.plans.first().map(|p| p.plan.name.clone())) else { return };
        if let Err(e) = engine.call("backup_now", json!({ "plan": plan })).await {
            tracing::warn!("backup did not start: {e}");
        }
    });
}

fn engine(app: &AppHandle) -> Option<Backend> {
    app.try_state::<EngineSlot>().and_then(|s| s.get().ok())
}

fn toggle_pause(app: &AppHandle) {
    let Some(engine) = engine(app) else { return };
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let Ok(snap) = engine.call_as::<Snapshot>("snapshot", json!({})).await else { return };
        let minutes = if snap.notifications_paused_until.is_some() { None } else { Some(60) };
        if let Err(e) = engine.call("pause_notifications", json!({ "minutes": minutes })).await {
            tracing::warn!("could not change the notification pause: {e}");
        }
        refresh(&app);
    });
}

fn quit_app(app: &AppHandle) {
    tauri::async_runtime::spawn(quit(app.clone()));
}

/// Leaves: an engine of the app's own is stopped cleanly first; an attached one (the service)
/// keeps watching. The tray's Quit, and a stop asked by the system.
pub async fn quit(app: AppHandle) {
    if let Some(Backend::Local(engine)) = engine(&app) {
        engine.shutdown().await;
    }
    app.exit(0);
}

/// "Stop Caretaker": the engine itself stops (a service manager that restarts only after a
/// crash leaves it stopped), then the app leaves.
fn stop_engine(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        if !crate::consent::confirm_stop().await {
            return;
        }
        if let Some(Backend::Attached(client)) = engine(&app) {
            match client.call("shutdown", json!({})).await {
                Ok(_) => client.closed().await,
                Err(e) => tracing::warn!("could not stop the engine: {e}"),
            }
        }
        quit(app).await;
    });
}

/// The icon for a level of [`tray_view`].
pub fn icon_of(level: Level) -> &'static [u8] {
    match level {
        Level::Ok => ICON_OK,
        Level::Warning => ICON_WARNING,
        Level::Critical => ICON_CRITICAL,
    }
}

/// No engine runs (it did not start, or the attached one went away): the icon turns critical
/// and the tooltip says why.
pub fn show_not_running(app: &AppHandle, message: &str) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else { return };
    let (level, tip) = tray_view::not_running(message);
    if let Ok(img) = Image::from_bytes(icon_of(level)) {
        let _ = tray.set_icon(Some(img));
    }
    let _ = tray.set_tooltip(Some(tip));
}

/// Icon, tooltip and menu from the engine's current state, read off the caller's thread.
pub fn refresh(app: &AppHandle) {
    let Some(engine) = engine(app) else { return };
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        match engine.call_as::<Snapshot>("snapshot", json!({})).await {
            Ok(snap) => apply(&app, &tray_view::view(&snap)),
            Err(e) => tracing::debug!("could not read the engine's state for the tray: {e}"),
        }
    });
}

fn apply(app: &AppHandle, view: &tray_view::TrayView) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else { return };
    if let Ok(img) = Image::from_bytes(icon_of(view.level)) {
        let _ = tray.set_icon(Some(img));
    }
    let _ = tray.set_tooltip(Some(view.tooltip.clone()));
    if let Some(items) = app.try_state::<TrayItems>() {
        *items.open_alerts.lock().unwrap_or_else(|p| p.into_inner()) = view.open_alerts;
        let _ = items.alerts.set_text(&view.alerts);
        let _ = items.pause.set_text(view.pause);
    }
}

/// Called for every engine event; only state changes touch the tray. A host sample, the most
/// frequent event, only rewrites the tooltip's figures, without asking the engine anything.
pub fn on_event(app: &AppHandle, event: &Event) {
    match event {
        Event::AlertChanged { .. } | Event::NotificationsPaused { .. } => refresh(app),
        // A click on one of this machine's notifications: the window opens on that alert.
        Event::NotificationClicked { alert_id } => {
            let page = alert_id.map_or_else(|| "alerts".to_string(), |id| format!("alerts/{id}"));
            let app = app.clone();
            // Windows are built on the main thread.
            let shown = app.clone().run_on_main_thread(move || crate::open_page(&app, Some(&page)));
            if let Err(e) = shown {
                tracing::warn!("could not open the window on a clicked notification: {e}");
            }
        }
        Event::HostSample { sample, .. } => {
            let quiet = app.try_state::<TrayItems>().is_some_and(|i| *i.open_alerts.lock().unwrap_or_else(|p| p.into_inner()) == 0);
            if let (true, Some(tray)) = (quiet, app.tray_by_id(TRAY_ID)) {
                let _ = tray.set_tooltip(Some(tray_view::quiet_tooltip(sample)));
            }
        }
        _ => {}
    }
}
