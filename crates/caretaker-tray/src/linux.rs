//! The GTK tray (main thread) and its engine connection (a thread of its own), talking through
//! GLib's main loop one way and a channel the other.

use caretaker_engine::control::{Client, Incoming};
use caretaker_engine::tray_view::{self, Level, TrayView};
use caretaker_engine::{paths, Event, Snapshot};
use gtk::glib;
use gtk::prelude::*;
use serde_json::json;
use std::cell::RefCell;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::mpsc;
use tray_icon::menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tray_icon::{Icon, TrayIcon, TrayIconBuilder};

const ICON_OK: &[u8] = include_bytes!("../../../src-tauri/icons/tray-ok.png");
const ICON_WARNING: &[u8] = include_bytes!("../../../src-tauri/icons/tray-warning.png");
const ICON_CRITICAL: &[u8] = include_bytes!("../../../src-tauri/icons/tray-critical.png");
/// The app's binary, beside this one (as the package installs both).
const APP_BIN: &str = "caretaker-app";
/// How often an engine that is gone is looked for again (a service manager restarts it).
const RECONNECT: Duration = Duration::from_secs(3);

/// What the engine side asks the tray to show or do.
enum Update {
    View(TrayView),
    Tooltip(String),
    Down(String),
    OpenWindow(Option<String>),
    Quit,
}

/// What the menu asks of the engine.
enum Action {
    TogglePause,
    BackUp,
    Maintain,
    Stop,
}

struct Ui {
    tray: TrayIcon,
    alerts: MenuItem,
    pause: MenuItem,
}

thread_local! {
    static UI: RefCell<Option<Ui>> = const { RefCell::new(None) };
}
static DATA_DIR: OnceLock<PathBuf> = OnceLock::new();
static ACTIONS: OnceLock<mpsc::UnboundedSender<Action>> = OnceLock::new();

pub fn main() -> i32 {
    reap_inherited_children();
    let data_dir = paths::resolve_data_dir(data_dir_from_args());
    let _log = caretaker_engine::logging::init(Some(&data_dir));
    let _ = DATA_DIR.set(data_dir.clone());
    // A tray icon draws nothing with OpenGL and needs no accessibility bus of its own: without
    // these, GTK maps Mesa's LLVM (26 MiB) and starts the AT-SPI bus. A value already set is kept.
    for (k, v) in [("GDK_GL", "disable"), ("NO_AT_BRIDGE", "1")] {
        if std::env::var_os(k).is_none() {
            std::env::set_var(k, v);
        }
    }
    if let Err(e) = gtk::init() {
        tracing::error!("the tray cannot start without a display: {e}");
        return 1;
    }
    let ui = match build() {
        Ok(ui) => ui,
        Err(e) => {
            tracing::error!("the tray icon could not be made: {e}");
            return 1;
        }
    };
    UI.with(|cell| *cell.borrow_mut() = Some(ui));
    let (tx, rx) = mpsc::unbounded_channel();
    let _ = ACTIONS.set(tx);
    MenuEvent::set_event_handler(Some(|e: MenuEvent| {
        let id = e.id().0.clone();
        glib::idle_add_once(move || on_menu(&id));
    }));
    std::thread::spawn(move || engine_thread(data_dir, rx));
    tracing::info!("window closed; the tray stays, attached to the engine");
    gtk::main();
    0
}

/// The app's web processes were this process's children before the exec; they exit with the
/// window, and are reaped here so none lingers as a zombie. The tray starts no child of its own.
fn reap_inherited_children() {
    std::thread::spawn(|| loop {
        let mut status = 0;
        // SAFETY: waits for any child of this process; `status` is valid for the call.
        if unsafe { libc::waitpid(-1, &mut status, 0) } < 0 {
            break; // ECHILD: none left
        }
    });
}

fn data_dir_from_args() -> Option<PathBuf> {
    let mut args = std::env::args_os().skip(1);
    while let Some(a) = args.next() {
        if a == "--data-dir" {
            return args.next().map(PathBuf::from);
        }
    }
    None
}

fn build() -> Result<Ui, String> {
    let item = |id: &str, text: &str, enabled: bool| MenuItem::with_id(id, text, enabled, None);
    let alerts = item("alerts-count", "No active alerts", false);
    let pause = item("pause", tray_view::PAUSE, true);
    let menu = Menu::new();
    let sep = PredefinedMenuItem::separator;
    menu.append_items(&[
        &item("open", "Open Caretaker", true),
        &sep(),
        &alerts,
        &item("open-alerts", "Open Alerts", true),
        &pause,
        &sep(),
        &item("backup", "Back up now", true),
        &item("maintain", "Run maintenance", true),
        &sep(),
        &item("quit", "Quit", true),
        &item("stop", "Stop Caretaker", true),
    ])
    .map_err(|e| e.to_string())?;
    let tray = TrayIconBuilder::new()
        .with_id("caretaker")
        .with_tooltip("Caretaker")
        .with_icon(icon(Level::Ok)?)
        .with_menu(Box::new(menu))
        .build()
        .map_err(|e| e.to_string())?;
    Ok(Ui { tray, alerts, pause })
}

/// The level's PNG as the RGBA pixels tray-icon takes.
fn icon(level: Level) -> Result<Icon, String> {
    let bytes = match level {
        Level::Ok => ICON_OK,
        Level::Warning => ICON_WARNING,
        Level::Critical => ICON_CRITICAL,
    };
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8() | png::Transformations::ALPHA);
    let mut reader = decoder.read_info().map_err(|e| format!("tray icon: {e}"))?;
    let mut buf = vec![0; reader.output_buffer_size().ok_or("tray icon: too large")?];
    let frame = reader.next_frame(&mut buf).map_err(|e| format!("tray icon: {e}"))?;
    buf.truncate(frame.buffer_size());
    if frame.color_type != png::ColorType::Rgba {
        return Err(format!("tray icon: {:?} pixels, RGBA expected", frame.color_type));
    }
    Icon::from_rgba(buf, frame.width, frame.height).map_err(|e| format!("tray icon: {e}"))
}

/// Runs `update` on the GTK thread.
fn post(update: Update) {
    glib::idle_add_once(move || apply(update));
}

fn apply(update: Update) {
    match update {
        Update::OpenWindow(page) => open_window(page.as_deref()),
        Update::Quit => gtk::main_quit(),
        update => UI.with(|cell| {
            let cell = cell.borrow();
            let Some(ui) = cell.as_ref() else { return };
            let (level, tooltip) = match update {
                Update::View(v) => {
                    ui.alerts.set_text(&v.alerts);
                    ui.pause.set_text(v.pause);
                    (Some(v.level), v.tooltip)
                }
                Update::Down(message) => {
                    let (level, tip) = tray_view::not_running(&message);
                    (Some(level), tip)
                }
                Update::Tooltip(tip) => (None, tip),
                Update::OpenWindow(_) | Update::Quit => return,
            };
            if let Some(level) = level {
                match icon(level) {
                    Ok(i) => {
                        let _ = ui.tray.set_icon(Some(i));
                    }
                    Err(e) => tracing::warn!("{e}"),
                }
            }
            let _ = ui.tray.set_tooltip(Some(tooltip));
        }),
    }
}

fn on_menu(id: &str) {
    let send = |a: Action| {
        if let Some(tx) = ACTIONS.get() {
            let _ = tx.send(a);
        }
    };
    match id {
        "open" => open_window(None),
        "open-alerts" => open_window(Some("alerts")),
        "pause" => send(Action::TogglePause),
        "backup" => send(Action::BackUp),
        "maintain" => send(Action::Maintain),
        "quit" => gtk::main_quit(),
        "stop" if confirm_stop() => send(Action::Stop),
        _ => {}
    }
}

/// The same question the app asks before it stops the engine.
fn confirm_stop() -> bool {
    let dialog = gtk::MessageDialog::new(
        None::<&gtk::Window>,
        gtk::DialogFlags::MODAL,
        gtk::MessageType::Question,
        gtk::ButtonsType::YesNo,
        "Stop Caretaker?",
    );
    dialog.set_secondary_text(Some(
        "Nothing on this machine will be watched or backed up until Caretaker is started again (by opening the app, or at the next login).",
    ));
    let answer = dialog.run();
    dialog.close();
    answer == gtk::ResponseType::Yes
}

/// Becomes the app again (same process id), with its window open on `page`. On failure the tray
/// simply stays.
fn open_window(page: Option<&str>) {
    let Some(data_dir) = DATA_DIR.get() else { return };
    let app = match std::env::current_exe() {
        Ok(exe) => exe.with_file_name(APP_BIN),
        Err(e) => {
            tracing::warn!("cannot find the app to open its window: {e}");
            return;
        }
    };
    let mut cmd = std::process::Command::new(&app);
    cmd.arg("--data-dir").arg(data_dir);
    if let Some(p) = page {
        cmd.arg(format!("--page={p}"));
    }
    let e = cmd.exec();
    tracing::warn!("could not open the window ({}): {e}", app.display());
}

fn engine_thread(data_dir: PathBuf, mut actions: mpsc::UnboundedReceiver<Action>) {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            post(Update::Down(format!("the tray cannot reach the engine: {e}")));
            return;
        }
    };
    rt.block_on(async move {
        // A second launch of the app asks this process to open the window (see `handover`).
        let _handover = handover::serve().await;
        loop {
            match Client::connect(&data_dir).await {
                Ok(client) => {
                    follow(&client, &mut actions).await;
                    post(Update::Down("the engine stopped; waiting for it to come back".into()));
                }
                Err(e) => post(Update::Down(e.message)),
            }
            // Menu choices made meanwhile have no engine to go to.
            while actions.try_recv().is_ok() {}
            tokio::time::sleep(RECONNECT).await;
        }
    });
}

/// Shows the engine's state and carries out menu choices until the connection ends.
async fn follow(client: &Client, actions: &mut mpsc::UnboundedReceiver<Action>) {
    let mut events = match client.subscribe().await {
        Ok(rx) => rx,
        Err(e) => {
            tracing::warn!("the tray could not follow the engine's events: {}", e.message);
            return;
        }
    };
    let mut open_alerts = refresh(client).await;
    loop {
        tokio::select! {
            item = events.recv() => match item {
                None => return,
                Some(Incoming::Resync) => open_alerts = refresh(client).await,
                Some(Incoming::Event(event)) => match &*event {
                    Event::AlertChanged { .. } | Event::NotificationsPaused { .. } => open_alerts = refresh(client).await,
                    Event::NotificationClicked { alert_id } => {
                        post(Update::OpenWindow(Some(alert_id.map_or_else(|| "alerts".to_string(), |id| format!("alerts/{id}")))));
                    }
                    Event::HostSample { sample, .. } if open_alerts == 0 => post(Update::Tooltip(tray_view::quiet_tooltip(sample))),
                    _ => {}
                },
            },
            Some(action) = actions.recv() => {
                act(client, action).await;
                open_alerts = refresh(client).await;
            }
        }
    }
}

/// Reads the engine's state and shows it; returns how many alerts are open.
async fn refresh(client: &Client) -> usize {
    match client.call_as::<Snapshot>("snapshot", json!({})).await {
        Ok(snap) => {
            let view = tray_view::view(&snap);
            let open = view.open_alerts;
            post(Update::View(view));
            open
        }
        Err(e) => {
            tracing::debug!("could not read the engine's state for the tray: {}", e.message);
            0
        }
    }
}

async fn act(client: &Client, action: Action) {
    let result = match action {
        Action::TogglePause => match client.call_as::<Snapshot>("snapshot", json!({})).await {
            Ok(snap) => {
                let minutes = if snap.notifications_paused_until.is_some() { None } else { Some(60) };
                client.call("pause_notifications", json!({ "minutes": minutes })).await.map(|_| ())
            }
            Err(e) => Err(e),
        },
        // The first plan (the one that keeps Caretaker's own data by default), as the app's tray.
        Action::BackUp => match client.call_as::<caretaker_engine::backup::BackupsOverview>("backups_overview", json!({})).await {
            Ok(o) => match o.plans.first() {
                Some(p) => client.call("backup_now", json!({ "plan": p.plan.name })).await.map(|_| ()),
                None => {
                    post(Update::OpenWindow(Some("backups".into())));
                    Ok(())
                }
            },
            Err(e) => Err(e),
        },
        Action::Maintain => client.call("run_maintenance", json!({})).await.map(|_| ()),
        Action::Stop => match client.call("shutdown", json!({})).await {
            Ok(_) => {
                client.closed().await;
                post(Update::Quit);
                Ok(())
            }
            Err(e) => Err(e),
        },
    };
    if let Err(e) = result {
        tracing::warn!("the tray's request failed: {}", e.message);
    }
}

/// A second launch of the app finds a running instance through the single-instance plugin's
/// D-Bus name and asks it to show its window (then exits). While the window is closed, this
/// process holds that name and answers the same call by opening the window, so launching the
/// app again works as before. The name and interface are the plugin's (tauri.conf.json's
/// identifier); `tests/e2e/test_window.py` fails if they drift.
mod handover {
    use super::{post, Update};

    const NAME: &str = "app.caretaker.desktop.SingleInstance";
    const PATH: &str = "/app/caretaker/desktop/SingleInstance";

    struct Handover;

    #[zbus::interface(name = "org.SingleInstance.DBus")]
    impl Handover {
        fn execute_callback(&self, _argv: Vec<String>, _cwd: String) {
            post(Update::OpenWindow(None));
        }
    }

    /// The connection holding the name (released when dropped, or at exec), when there is a
    /// session bus.
    pub async fn serve() -> Option<zbus::Connection> {
        match zbus::connection::Builder::session().name(NAME).serve_at(PATH, Handover).build().await {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::info!("no single-instance handover (a second launch opens its own window): {e}");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The menu's engine side against a real engine over its control socket (no GTK loop runs:
    /// what `post` queues for it is never shown, which is all this test leaves out).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_menu_pauses_notifications_starts_maintenance_and_stops_the_engine() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("caretaker.toml"), "[notifications]\nenabled = false\n[maintenance]\nenabled = false\n")
            .expect("config");
        let engine = caretaker_engine::Engine::start(caretaker_engine::EngineOptions::new(dir.path())).await.expect("engine");
        let client = Client::connect(dir.path()).await.expect("the tray attaches");
        async fn paused(c: &Client) -> Option<i64> {
            c.call_as::<Snapshot>("snapshot", json!({})).await.expect("snapshot").notifications_paused_until
        }
        async fn maintained(c: &Client) -> bool {
            let s: caretaker_engine::maintenance::MaintenanceStatus = c.call_as("maintenance_status", json!({})).await.expect("status");
            s.running.is_some() || s.last_run.is_some()
        }
        assert_eq!(refresh(&client).await, 0, "no alert open");

        act(&client, Action::TogglePause).await;
        assert!(paused(&client).await.is_some(), "paused for an hour");
        act(&client, Action::TogglePause).await;
        assert!(paused(&client).await.is_none(), "and resumed");

        assert!(!maintained(&client).await, "no maintenance yet (its schedule is off here)");
        act(&client, Action::Maintain).await;
        assert!(maintained(&client).await, "a maintenance run started");

        act(&client, Action::Stop).await;
        assert!(client.is_closed(), "the engine stopped and closed the connection");
        assert!(Client::connect(dir.path()).await.is_err(), "nothing answers after Stop Caretaker");
        drop(engine);
    }

    /// The engine going away (a crash, a stop) ends `follow`, so the thread says "not running"
    /// and looks for it again, rather than waiting on a dead connection.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn following_ends_when_the_engine_goes_away() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("caretaker.toml"), "[notifications]\nenabled = false\n").expect("config");
        let engine = caretaker_engine::Engine::start(caretaker_engine::EngineOptions::new(dir.path())).await.expect("engine");
        let client = Client::connect(dir.path()).await.expect("the tray attaches");
        let (_tx, mut rx) = mpsc::unbounded_channel();
        let following = tokio::spawn(async move { follow(&client, &mut rx).await });
        engine.shutdown().await;
        let ended = tokio::time::timeout(Duration::from_secs(60), following).await;
        assert!(ended.is_ok_and(|r| r.is_ok()), "follow kept waiting on an engine that stopped");
    }

    #[test]
    fn each_level_has_an_rgba_icon() {
        for level in [Level::Ok, Level::Warning, Level::Critical] {
            icon(level).unwrap_or_else(|e| panic!("{level:?}: {e}"));
        }
    }
}
