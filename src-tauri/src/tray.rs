//! The tray: an icon that stays when the window closes, and a menu of everyday actions.

use caretaker_engine::Event;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager};

const TRAY_ID: &str = "caretaker";

pub fn install(app: &AppHandle) -> tauri::Result<()> {
    let open = MenuItem::with_id(app, "open", "Open Caretaker", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit Caretaker", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&open, &PredefinedMenuItem::separator(app)?, &quit])?;
    let mut builder = TrayIconBuilder::with_id(TRAY_ID)
        .tooltip("Caretaker")
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| match event.id().as_ref() {
            "open" => crate::show_main_window(app),
            "quit" => quit_app(app),
            _ => {}
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click { button: MouseButton::Left, button_state: MouseButtonState::Up, .. } = event {
                crate::show_main_window(tray.app_handle());
            }
        });
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    builder.build(app)?;
    Ok(())
}

/// Stops the engine cleanly, then exits.
fn quit_app(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        if let Some(slot) = app.try_state::<crate::EngineSlot>() {
            if let Ok(engine) = &slot.0 {
                engine.shutdown().await;
            }
        }
        app.exit(0);
    });
}

/// Keeps the tooltip current; later issues switch the icon by the worst alert state.
pub fn on_event(app: &AppHandle, event: &Event) {
    if let Event::HostSample { sample, .. } = event {
        if let Some(tray) = app.tray_by_id(TRAY_ID) {
            let tip = format!(
                "Caretaker — CPU {:.0} %, memory {:.0} %",
                sample.cpu.total_percent,
                sample.memory.used_percent()
            );
            let _ = tray.set_tooltip(Some(tip));
        }
    }
}
