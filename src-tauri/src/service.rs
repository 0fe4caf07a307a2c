//! The window's "keep Caretaker running in the background" switch and the first-run question.
//! The service itself is the `caretaker` command's (`caretaker service install | uninstall |
//! status`, one template per platform): the app runs that command beside it, argv only, and
//! moves the window between its own engine and the service's without a restart.

use crate::backend::{Backend, EngineSlot};
use crate::bridge::{self, Connection, CONNECTION_CHANNEL, RESYNC_CHANNEL};
use caretaker_engine::presence::{ServiceState, ServiceSwitch};
use caretaker_engine::{Engine, EngineOptions, ErrorCode, ErrorPayload};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tauri::{AppHandle, Emitter, Manager, State};

/// Where the `caretaker` command is when it is not beside the app (development, tests).
pub const CLI_ENV: &str = "CARETAKER_CLI";
/// In the data folder: the person answered the first-run question.
const ANSWERED_FILE: &str = "service-question.answered";
/// How long a stopping engine gets to let go of the data folder before the app starts its own.
const HANDOVER_GRACE: Duration = Duration::from_secs(15);

/// The data folder the app uses, and whether it was given on its command line (then the
/// service is told it too; one chosen through the environment reaches the command by itself).
#[derive(Clone)]
pub struct Folder {
    pub data_dir: PathBuf,
    pub from_args: bool,
}

/// The `caretaker` command: named by CARETAKER_CLI, or installed beside the app's executable
/// (the bundles put it there).
fn cli() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os(CLI_ENV).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot tell where the app is installed: {e}"))?;
    let beside = exe.with_file_name(if cfg!(windows) { "caretaker.exe" } else { "caretaker" });
    if beside.is_file() {
        return Ok(beside);
    }
    Err(format!(
        "The caretaker command is not installed beside the app (looked for {}), so the app cannot set up the background service.",
        beside.display()
    ))
}

/// Runs `caretaker service <verb> [--data-dir …] [extra]` and returns what it printed.
fn run_cli(folder: &Folder, verb: &str, extra: &[&str]) -> Result<String, String> {
    let cli = cli()?;
    let mut cmd = std::process::Command::new(&cli);
    cmd.arg("service").arg(verb).args(extra).stdin(std::process::Stdio::null());
    if folder.from_args {
        cmd.arg("--data-dir").arg(&folder.data_dir);
    }
    let out = cmd.output().map_err(|e| format!("cannot run {}: {e}", cli.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let err = err.trim().strip_prefix("Error: ").unwrap_or(err.trim());
        return Err(format!("`caretaker service {verb}` failed: {err}"));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn parse_state(text: &str) -> Result<ServiceState, String> {
    serde_json::from_str(text).map_err(|e| format!("`caretaker service status --json` answered something else: {e}"))
}

/// [`run_cli`] off the async runtime (it waits for the service manager).
async fn run_cli_blocking(app: &AppHandle, verb: &'static str, extra: &'static [&'static str]) -> Result<String, String> {
    let folder = app.state::<Folder>().inner().clone();
    tauri::async_runtime::spawn_blocking(move || run_cli(&folder, verb, extra))
        .await
        .unwrap_or_else(|e| Err(format!("`caretaker service {verb}` did not finish: {e}")))
}

fn answered(data_dir: &Path) -> bool {
    data_dir.join(ANSWERED_FILE).exists()
}

fn record_answer(data_dir: &Path) {
    if let Err(e) = std::fs::write(data_dir.join(ANSWERED_FILE), b"") {
        tracing::warn!("could not record the answer to the background-service question: {e}");
    }
}

async fn switch_state(app: &AppHandle, problem: Option<String>) -> ServiceSwitch {
    let folder = app.state::<Folder>();
    let attached = matches!(app.state::<EngineSlot>().get(), Ok(Backend::Attached(_)));
    let read = run_cli_blocking(app, "status", &["--json"]).await.and_then(|text| parse_state(&text));
    let (state, read_problem) = match read {
        Ok(s) => {
            let why = s.unavailable.clone();
            (Some(s), why)
        }
        Err(e) => (None, Some(e)),
    };
    ServiceSwitch { state, problem: problem.or(read_problem), asked: answered(&folder.data_dir), attached }
}

fn announce(app: &AppHandle, connected: bool, message: Option<&str>) {
    let _ = app.emit(CONNECTION_CHANNEL, Connection { connected, message: message.map(String::from) });
    if connected {
        let _ = app.emit(RESYNC_CHANNEL, ());
        crate::tray::refresh(app);
    }
}

/// Starts an engine of the app's own on the data folder, waiting for a stopping one to let go.
async fn run_own_engine(app: &AppHandle, generation: u64) -> Result<(), String> {
    let data_dir = app.state::<Folder>().data_dir.clone();
    let deadline = Instant::now() + HANDOVER_GRACE;
    let engine = loop {
        match Engine::start(EngineOptions::new(data_dir.clone())).await {
            Ok(engine) => break engine,
            Err(e) if e.code() == ErrorCode::AlreadyRunning && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(format!("Caretaker could not start its own engine: {e}")),
        }
    };
    let backend = Backend::Local(engine.clone());
    if !app.state::<EngineSlot>().set_from(generation, Ok(backend.clone())) {
        engine.shutdown().await;
        return Ok(());
    }
    bridge::forward_events(app.clone(), backend);
    announce(app, true, None);
    Ok(())
}

/// Turns the background service on: the app's own engine (if it has one) stops, the service
/// takes the data folder over, and the window follows it. A failure gives the app its engine back.
async fn turn_on(app: &AppHandle) -> Option<String> {
    let slot = app.state::<EngineSlot>();
    let own = match slot.get() {
        Ok(Backend::Local(engine)) => Some(engine),
        _ => None,
    };
    let moving = "Caretaker is moving to its background service…";
    let generation = match &own {
        Some(engine) => {
            let generation = slot.replace(Err(ErrorPayload::unreachable(moving)));
            announce(app, false, Some(moving));
            engine.shutdown().await;
            Some(generation)
        }
        None => None,
    };
    let installed = run_cli_blocking(app, "install", &[]).await;
    let Some(generation) = generation else { return installed.err() };
    match installed {
        Ok(_) => {
            tracing::info!("the background service is on; following its engine");
            bridge::supervise(app.clone(), app.state::<Folder>().data_dir.clone(), None);
            None
        }
        Err(e) => {
            tracing::warn!("{e}; the app runs its own engine again");
            match run_own_engine(app, generation).await {
                Ok(()) => Some(e),
                Err(start) => Some(format!("{e}. {start}")),
            }
        }
    }
}

/// Turns the background service off: it stops and its file goes; if the window was following
/// it, the app runs its own engine from then on.
async fn turn_off(app: &AppHandle) -> Option<String> {
    // Read before: stopping the service is seen by the window's follower at once, so afterwards
    // the slot says "gone", not "attached".
    let has_own = matches!(app.state::<EngineSlot>().get(), Ok(Backend::Local(_)));
    if let Err(e) = run_cli_blocking(app, "uninstall", &[]).await {
        return Some(e);
    }
    let folder = app.state::<Folder>();
    if has_own {
        return None;
    }
    // Another engine (a `caretaker run` in a terminal) may still answer: then the window stays with it.
    if caretaker_engine::control::Client::connect(&folder.data_dir).await.is_ok() {
        return None;
    }
    let generation = app.state::<EngineSlot>().replace(Err(ErrorPayload::unreachable("Caretaker is starting its own engine…")));
    run_own_engine(app, generation).await.err()
}

/// The switch as it stands.
#[tauri::command]
pub async fn service_switch(app: AppHandle) -> Result<ServiceSwitch, ErrorPayload> {
    Ok(switch_state(&app, None).await)
}

/// Turns the background service on or off (and answers the first-run question).
#[tauri::command]
pub async fn set_service(app: AppHandle, enabled: bool, folder: State<'_, Folder>) -> Result<ServiceSwitch, ErrorPayload> {
    record_answer(&folder.data_dir);
    let problem = if enabled { turn_on(&app).await } else { turn_off(&app).await };
    Ok(switch_state(&app, problem).await)
}

/// "Not now" to the first-run question: the app keeps its own engine and does not ask again.
#[tauri::command]
pub async fn skip_service_question(app: AppHandle, folder: State<'_, Folder>) -> Result<ServiceSwitch, ErrorPayload> {
    record_answer(&folder.data_dir);
    Ok(switch_state(&app, None).await)
}

include!("shell_commands.rs");
