//! The tray: an icon showing the worst open alert (ok / warning / critical) that stays when the
//! window closes, and a menu of everyday actions.

use caretaker_engine::{EngineHandle, Event, Severity};
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Emitter, Manager, Wry};

const TRAY_ID: &str = "caretaker";
/// Asks the window to show a page (the UI listens on this channel).
pub const NAVIGATE_CHANNEL: &str = "navigate";

const ICON_OK: &[u8] = include_bytes!("../icons/tray-ok.png");
const ICON_WARNING: &[u8] = include_bytes!("../icons/tray-warning.png");
const ICON_CRITICAL: &[u8] = include_bytes!("../icons/tray-critical.png");

/// Menu items whose text follows the engine's state.
struct TrayItems {
    alerts: MenuItem<Wry>,
    pause: MenuItem<Wry>,
}

pub fn install(app: &AppHandle) -> tauri::Result<()> {
    let open = MenuItem::with_id(app, "open", "Open Caretaker", true, None::<&str>)?;
    let alerts = MenuItem::with_id(app, "alerts-count", "No active alerts", false, None::<&str>)?;
    let open_alerts = MenuItem::with_id(app, "open-alerts", "Open Alerts", true, None::<&str>)?;
    let pause = MenuItem::with_id(app, "pause", "Pause notifications for 1 h", true, None::<&str>)?;
    let maintain = MenuItem::with_id(app, "maintain", "Run maintenance", true, None::<&str>)?;
    let backup = MenuItem::with_id(app, "backup", "Back up now", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit Caretaker", true, None::<&str>)?;
    let sep = || PredefinedMenuItem::separator(app);
    let menu = Menu::with_items(app, &[&open, &sep()?, &alerts, &open_alerts, &pause, &sep()?, &backup, &maintain, &sep()?, &quit])?;
    TrayIconBuilder::with_id(TRAY_ID)
        .tooltip("Caretaker")
        .icon(Image::from_bytes(ICON_OK)?)
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| match event.id().as_ref() {
            "open" => crate::show_main_window(app),
            "open-alerts" => {
                crate::show_main_window(app);
                let _ = app.emit(NAVIGATE_CHANNEL, "alerts");
            }
            "pause" => toggle_pause(app),
            "maintain" => {
                if let Some(engine) = engine(app) {
                    match engine.run_maintenance() {
                        Ok(_) => {
                            crate::show_main_window(app);
                            let _ = app.emit(NAVIGATE_CHANNEL, "monitor");
                        }
                        Err(e) => tracing::warn!("maintenance did not start: {e}"),
                    }
                }
            }
            "backup" => back_up_now(app),
            "quit" => quit_app(app),
            _ => {}
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click { button: MouseButton::Left, button_state: MouseButtonState::Up, .. } = event {
                crate::show_main_window(tray.app_handle());
            }
        })
        .build(app)?;
    app.manage(TrayItems { alerts, pause });
    Ok(())
}

/// Backs up the first plan (the one that holds Caretaker's own data by default) and shows the
/// Backups page; with no plan yet, the page's wizard creates one.
fn back_up_now(app: &AppHandle) {
    let Some(engine) = engine(app) else { return };
    crate::show_main_window(app);
    let _ = app.emit(NAVIGATE_CHANNEL, "backups");
    let Some(plan) = engine.config().backups.plans.first().map(|p| p.name.clone()) else { return };
    tauri::async_runtime::spawn(async move {
        if let Err(e) = engine.backup_now(&plan).await {
            tracing::warn!("backup did not start: {e}");
        }
    });
}

fn engine(app: &AppHandle) -> Option<EngineHandle> {
    app.try_state::<crate::EngineSlot>().and_then(|s| s.0.as_ref().ok().cloned())
}

fn toggle_pause(app: &AppHandle) {
    let Some(engine) = engine(app) else { return };
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let paused = engine.snapshot().notifications_paused_until.is_some();
        let minutes = if paused { None } else { Some(60) };
        if let Err(e) = engine.pause_notifications(minutes).await {
            tracing::warn!("could not change the notification pause: {e}");
        }
        refresh(&app, &engine);
    });
}

fn quit_app(app: &AppHandle) {
    tauri::async_runtime::spawn(quit(app.clone()));
}

/// Stops the engine cleanly, then exits: the tray's Quit, and a stop asked by the system.
pub async fn quit(app: AppHandle) {
    if let Some(engine) = engine(&app) {
        engine.shutdown().await;
    }
    app.exit(0);
}

/// The icon and the word for the worst open alert; an engine that is not running is as bad as
/// a critical alert, since nothing is watched.
pub fn state_of(worst: Option<Severity>, not_running: bool) -> (&'static [u8], &'static str) {
    match (not_running, worst) {
        (true, _) => (ICON_CRITICAL, "not running"),
        (false, Some(Severity::Critical)) => (ICON_CRITICAL, "critical"),
        (false, Some(Severity::Warning)) => (ICON_WARNING, "warning"),
        (false, None) => (ICON_OK, "all well"),
    }
}

/// The engine did not start: the icon turns critical and the tooltip says why.
pub fn show_start_failure(app: &AppHandle, message: &str) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else { return };
    let (icon, state) = state_of(None, true);
    if let Ok(img) = Image::from_bytes(icon) {
        let _ = tray.set_icon(Some(img));
    }
    let _ = tray.set_tooltip(Some(format!("Caretaker — {state}: {message}")));
}

/// Icon, tooltip and menu from the engine's current state.
pub fn refresh(app: &AppHandle, engine: &EngineHandle) {
    let snap = engine.snapshot();
    let Some(tray) = app.tray_by_id(TRAY_ID) else { return };
    let (icon, state) = state_of(snap.worst, false);
    if let Ok(img) = Image::from_bytes(icon) {
        let _ = tray.set_icon(Some(img));
    }
    let n = snap.alerts.len();
    let count = match n {
        0 => "No active alerts".to_string(),
        1 => "1 active alert".to_string(),
        n => format!("{n} active alerts"),
    };
    let mut tip = format!("Caretaker — {state}");
    if let Some(first) = snap.alerts.first() {
        tip.push_str(&format!(": {}", first.title));
        if n > 1 {
            tip.push_str(&format!(" (+{} more)", n - 1));
        }
    } else if let Some(h) = &snap.host {
        tip.push_str(&format!(" · CPU {:.0} %, memory {:.0} %", h.cpu.total_percent, h.memory.used_percent()));
    }
    let _ = tray.set_tooltip(Some(tip));
    if let Some(items) = app.try_state::<TrayItems>() {
        let _ = items.alerts.set_text(count);
        let _ = items.pause.set_text(if snap.notifications_paused_until.is_some() {
            "Resume notifications"
        } else {
            "Pause notifications for 1 h"
        });
    }
}

/// Called for every engine event; only state changes touch the tray.
pub fn on_event(app: &AppHandle, event: &Event) {
    if matches!(event, Event::AlertChanged { .. } | Event::NotificationsPaused { .. } | Event::HostSample { .. }) {
        if let Some(engine) = engine(app) {
            refresh(app, &engine);
        }
    }
}
