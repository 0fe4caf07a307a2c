//! Finding the engine to attach to at launch: the one that answers on the data folder's control
//! socket, or the installed service, started if it is not running. And the small platform part
//! of being a tray app (on macOS: a Dock icon only while the window is open).

use caretaker_engine::control::Client;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a starting service is waited for before the app runs an engine of its own.
const SERVICE_GRACE: Duration = Duration::from_secs(10);
/// The service's name for each service manager (as `caretaker service install` writes it).
const SYSTEMD_UNIT: &str = "caretaker.service";
const LAUNCHD_LABEL: &str = "app.caretaker.desktop";

/// The per-user service file, if `caretaker service install` wrote one.
fn service_file() -> Option<PathBuf> {
    let home = PathBuf::from(std::env::var_os("HOME")?);
    let file = if cfg!(target_os = "macos") {
        home.join("Library/LaunchAgents").join(format!("{LAUNCHD_LABEL}.plist"))
    } else {
        let config = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from).unwrap_or_else(|| home.join(".config"));
        config.join("systemd/user").join(SYSTEMD_UNIT)
    };
    file.is_file().then_some(file)
}

/// Asks the service manager to start the installed service (argv only; it answers at once).
fn start_service() {
    let argv: Vec<String> = if cfg!(target_os = "macos") {
        // SAFETY: getuid cannot fail and touches no memory.
        let uid = unsafe { libc::getuid() };
        vec!["launchctl".into(), "kickstart".into(), format!("gui/{uid}/{LAUNCHD_LABEL}")]
    } else {
        vec!["systemctl".into(), "--user".into(), "start".into(), SYSTEMD_UNIT.into()]
    };
    match std::process::Command::new(&argv[0]).args(&argv[1..]).stdin(std::process::Stdio::null()).output() {
        Ok(out) if out.status.success() => tracing::info!("started the Caretaker service"),
        Ok(out) => tracing::warn!("the service manager did not start Caretaker: {}", String::from_utf8_lossy(&out.stderr).trim()),
        Err(e) => tracing::warn!("could not run {}: {e}", argv[0]),
    }
}

/// The running engine for `data_dir`, if one answers (after starting the installed service when
/// it does not); None means the app runs an engine of its own.
pub async fn find_engine(data_dir: &Path) -> Option<Client> {
    if let Ok(client) = Client::connect(data_dir).await {
        return Some(client);
    }
    let file = service_file()?;
    tracing::info!(service = %file.display(), "no engine answers; starting the installed service");
    tokio::task::spawn_blocking(start_service).await.ok()?;
    let deadline = Instant::now() + SERVICE_GRACE;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if let Ok(client) = Client::connect(data_dir).await {
            return Some(client);
        }
    }
    tracing::warn!("the service did not answer within {} s; running an engine in the app", SERVICE_GRACE.as_secs());
    None
}

/// A menu-bar app on macOS: a Dock icon and app menu while the window is open, none while only
/// the tray is left. Verified on macOS by hand.
#[cfg(target_os = "macos")]
pub fn window_shown(app: &tauri::AppHandle, shown: bool) {
    let policy = if shown { tauri::ActivationPolicy::Regular } else { tauri::ActivationPolicy::Accessory };
    let _ = app.set_activation_policy(policy);
}

#[cfg(not(target_os = "macos"))]
pub fn window_shown(_app: &tauri::AppHandle, _shown: bool) {}

/// After the window closes, an app attached to the service becomes `caretaker-tray` (exec, same
/// process id): the tray icon and its menu attached to the engine, with no web engine or WebKit
/// library mapped at all, so a closed window costs what a tray costs. The engine is another
/// process, so nothing is interrupted; opening the window turns it back into the app. Without
/// that binary beside this one, the app starts over as itself with the tray only (the web
/// engine's state gone, its libraries still mapped). An app with an engine of its own keeps
/// running as it is. Linux only: on macOS an app re-executing itself would lose its place with
/// LaunchServices.
#[cfg(target_os = "linux")]
pub fn become_tray_only(app: &tauri::AppHandle) {
    use std::os::unix::process::CommandExt;
    use tauri::Manager;
    let attached =
        app.try_state::<crate::backend::EngineSlot>().is_some_and(|s| matches!(s.get(), Ok(crate::backend::Backend::Attached(_))));
    if !attached {
        return;
    }
    let Ok(exe) = std::env::current_exe() else { return };
    let tray = exe.with_file_name(TRAY_BIN);
    let data_dir = app.try_state::<crate::service::Folder>().map(|f| f.data_dir.clone());
    // What the runtime would tidy at exit (the tray icon's files, the log writer's queue).
    app.cleanup_before_exit();
    if let (true, Some(dir)) = (tray.is_file(), data_dir) {
        tracing::info!("window closed; continuing as {TRAY_BIN}");
        let e = std::process::Command::new(&tray).arg("--data-dir").arg(dir).exec();
        tracing::warn!("could not continue as {}: {e}", tray.display());
    }
    let mut args: Vec<std::ffi::OsString> =
        std::env::args_os().skip(1).filter(|a| a != crate::TRAY_ONLY_ARG && !a.to_string_lossy().starts_with("--page=")).collect();
    args.push(crate::TRAY_ONLY_ARG.into());
    tracing::info!("window closed; continuing with the tray only");
    // Only returns on failure; the app then simply stays as it is.
    let e = std::process::Command::new(exe).args(args).exec();
    tracing::warn!("could not restart as a tray-only app: {e}");
}

/// The light tray process's binary, installed beside the app's.
#[cfg(target_os = "linux")]
const TRAY_BIN: &str = "caretaker-tray";

#[cfg(not(target_os = "linux"))]
pub fn become_tray_only(_app: &tauri::AppHandle) {}

/// A tray-only restart inherits the web view's helper processes, which exited with the old
/// window: reaps them so they do not linger as zombies (and any that still runs when it ends).
#[cfg(target_os = "linux")]
pub fn reap_inherited_children() {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return };
    let pids: Vec<i32> = tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("children")).ok())
        .flat_map(|list| list.split_whitespace().filter_map(|p| p.parse().ok()).collect::<Vec<i32>>())
        .collect();
    if pids.is_empty() {
        return;
    }
    std::thread::spawn(move || {
        for pid in pids {
            let mut status = 0;
            // SAFETY: waits only for the given child of this process; `status` is a valid
            // pointer for the call's duration.
            unsafe { libc::waitpid(pid, &mut status, 0) };
        }
    });
}

#[cfg(not(target_os = "linux"))]
pub fn reap_inherited_children() {}
