//! `caretaker-tray`: what stays of Caretaker on Linux while its window is closed and the engine
//! runs as a service. The app, when its window closes, becomes this process (exec, same pid): the
//! tray icon with the app's menu, attached to the engine over its control socket, and no web
//! engine. Opening the window (the menu, a clicked notification, launching the app again) turns
//! it back into the app. About 19 MiB PSS against the 60-odd of the app without a window.
//!
//! macOS keeps the app itself in the menu bar (a process that re-executes itself would lose its
//! place with LaunchServices), so there this binary only says so.

#[cfg(target_os = "linux")]
mod linux;

#[cfg(target_os = "linux")]
fn main() {
    std::process::exit(linux::main());
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("caretaker-tray is Linux's tray; on macOS the app itself stays in the menu bar");
    std::process::exit(2);
}
