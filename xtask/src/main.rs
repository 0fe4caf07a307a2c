//! `cargo xtask <run|test|bench|bundle|faults|nab>`: the project's one build driver.
//! Each step says what it runs; the first failure stops everything with its exit code.

mod faults;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: cargo xtask <command>

  run      install what is missing, build the UI and the app, open Caretaker
  test     format and lints, then every test: engine and CLI (cargo), UI (vitest), the built app
           end to end (WebDriver)
  bench    host-overhead benchmark against node_exporter, and the chart-query benchmark
  bundle   release installers (.app/.dmg on macOS, .deb on Linux)
  faults   fault injection against the headless engine (ROUNDS=50, SEED=n; Linux, as root)
  nab      the automatic detector over NAB, the Numenta Anomaly Benchmark (../shared/nab): writes
           bench/out/nab and prints its score per split and profile (--out DIR, --nab DIR)";

type Result<T = ()> = std::result::Result<T, String>;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

/// Where cargo puts builds: `CARGO_TARGET_DIR` when set, else `target/` in the workspace.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).map_or_else(|| root().join("target"), |d| root().join(d))
}

fn step(title: &str) {
    eprintln!("\n==> {title}");
}

fn run(cmd: &mut Command) -> Result {
    eprintln!("$ {:?}", cmd);
    let status = cmd.status().map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{:?} failed ({status})", cmd.get_program()))
    }
}

fn have(program: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {program} >/dev/null 2>&1")).status().is_ok_and(|s| s.success())
}

fn npm() -> Command {
    let mut c = Command::new("npm");
    c.current_dir(root().join("ui"));
    c
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

fn system_deps() -> Result {
    if cfg!(target_os = "linux") && Path::new("/usr/bin/dpkg-query").exists() {
        step("System packages (Debian)");
        run(Command::new("bash").arg(root().join("scripts/setup-debian.sh")))?;
    }
    if !have("npm") {
        return Err("Node.js and npm are needed to build the UI: install Node 20 or newer (https://nodejs.org)".into());
    }
    Ok(())
}

/// Servers the backup tests reach on loopback that Debian does not package: an S3-compatible one.
fn test_servers() -> Result {
    let has_moto = Command::new("python3").args(["-c", "import moto.server"]).status().is_ok_and(|s| s.success());
    if !has_moto {
        step("S3-compatible test server (moto, from PyPI)");
        run(Command::new("python3").args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "moto[server]==5.2.5"]))?;
    }
    Ok(())
}

fn ui_build() -> Result {
    step("UI dependencies");
    // `npm install`, not `npm ci`: the lock holds only the Tauri CLI binaries the registry served
    // here, and `npm ci` refuses a lock without every platform's optional binary.
    run(npm().args(["install", "--no-audit", "--no-fund", "--loglevel=error"]))?;
    step("UI build (typecheck + bundle)");
    run(npm().args(["run", "build"]))
}

fn app_build(release: bool) -> Result {
    step("App build");
    let mut c = cargo();
    // The tray process the app becomes while its window is closed (Linux) goes beside it.
    c.args(["build", "-p", "caretaker-app", "-p", "caretaker-cli", "-p", "caretaker-tray"]);
    if release {
        c.arg("--release");
    }
    run(&mut c)
}

fn cmd_run() -> Result {
    system_deps()?;
    ui_build()?;
    app_build(false)?;
    step("Opening Caretaker");
    let mut app = Command::new(target_dir().join("debug/caretaker-app"));
    app.args(std::env::args().skip(2));
    run(&mut app)
}

fn e2e() -> Result {
    if !cfg!(target_os = "linux") {
        eprintln!("(end-to-end tests need WebKitWebDriver, which exists on Linux only; skipped on this OS)");
        return Ok(());
    }
    step("E2E prerequisites");
    let driver = dirs_cargo_bin().join("tauri-driver");
    if !have("tauri-driver") && !driver.exists() {
        run(cargo().args(["install", "tauri-driver", "--locked", "--version", "2.1.0"]))?;
    }
    let has_selenium = Command::new("python3").args(["-c", "import selenium"]).status().is_ok_and(|s| s.success());
    if !has_selenium {
        run(Command::new("python3").args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "selenium==4.51.0"]))?;
    }
    // Once attached to a separately started engine (as to the background service), once with
    // the app's own engine (the fallback when none runs).
    for engine in ["attached", "in-process"] {
        step(&format!("E2E: the built app under Xvfb, through WebDriver ({engine} engine)"));
        let mut c = Command::new("xvfb-run");
        c.current_dir(root())
            .args(["-a", "-s", "-screen 0 1440x1080x24", "dbus-run-session", "--", "python3", "tests/e2e/test_overview.py"])
            .env("CARETAKER_APP", target_dir().join("debug/caretaker-app"))
            .env("CARETAKER_CLI", target_dir().join("debug/caretaker"))
            .env("E2E_ENGINE", engine)
            .env("PATH", format!("{}:{}", dirs_cargo_bin().display(), std::env::var("PATH").unwrap_or_default()));
        run(&mut c)?;
    }
    step("E2E: closing the window leaves the tray (window manager's close button)");
    let mut c = Command::new("xvfb-run");
    c.current_dir(root())
        .args(["-a", "-s", "-screen 0 1440x1080x24", "dbus-run-session", "--", "python3", "tests/e2e/test_window.py"])
        .env("CARETAKER_APP", target_dir().join("debug/caretaker-app"))
        .env("CARETAKER_CLI", target_dir().join("debug/caretaker"));
    run(&mut c)?;
    step("E2E: notification channels added from Settings deliver a test (SMTP and a webhook on loopback)");
    let mut c = Command::new("xvfb-run");
    c.current_dir(root())
        .args(["-a", "-s", "-screen 0 1440x1080x24", "dbus-run-session", "--", "python3", "tests/e2e/test_settings.py"])
        .env("CARETAKER_APP", target_dir().join("debug/caretaker-app"))
        .env("PATH", format!("{}:{}", dirs_cargo_bin().display(), std::env::var("PATH").unwrap_or_default()));
    run(&mut c)?;
    step("E2E: the background-service switch moves the engine into the service and back");
    let mut c = Command::new("xvfb-run");
    c.current_dir(root())
        .args(["-a", "-s", "-screen 0 1440x1080x24", "dbus-run-session", "--", "python3", "tests/e2e/test_service.py"])
        .env("CARETAKER_APP", target_dir().join("debug/caretaker-app"))
        .env("CARETAKER_CLI", target_dir().join("debug/caretaker"))
        .env("PATH", format!("{}:{}", dirs_cargo_bin().display(), std::env::var("PATH").unwrap_or_default()));
    run(&mut c)
}

fn dirs_cargo_bin() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
        .join("bin")
}

/// Formatting and lints first: they take seconds and fail fast. Installs the two rustup
/// components when this toolchain lacks them.
fn lint() -> Result {
    step("Format and lints (cargo fmt --check, cargo clippy -D warnings)");
    for (tool, component) in [("fmt", "rustfmt"), ("clippy", "clippy")] {
        let present = cargo()
            .args([tool, "--version"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !present && have("rustup") {
            run(Command::new("rustup").args(["component", "add", component]))?;
        }
    }
    run(cargo().args(["fmt", "--all", "--check"]))?;
    run(cargo().args(["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"]))
}

fn cmd_test() -> Result {
    system_deps()?;
    test_servers()?;
    ui_build()?;
    lint()?;
    step("UI unit tests");
    run(npm().args(["test"]))?;
    step("Rust tests (engine, CLI, shell; includes the bindings freshness check)");
    // On Linux the notification test talks to a real D-Bus session bus of its own.
    if cfg!(target_os = "linux") {
        let mut c = Command::new("dbus-run-session");
        c.current_dir(root()).arg("--").arg(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())).args([
            "test",
            "--workspace",
            "--locked",
        ]);
        run(&mut c)?;
    } else {
        run(cargo().args(["test", "--workspace", "--locked"]))?;
    }
    app_build(false)?;
    e2e()?;
    faults_short()
}

/// One round of each fault kind (about three minutes), where the run can mount tmpfs.
fn faults_short() -> Result {
    if !cfg!(target_os = "linux") {
        eprintln!("(the fault-injection run needs Linux: tmpfs mounts and libfaketime; skipped on this OS)");
        return Ok(());
    }
    step("Fault injection: one round of each kind (ROUNDS=8)");
    std::env::set_var("ROUNDS", std::env::var("FAULTS_CI_ROUNDS").unwrap_or_else(|_| "8".into()));
    faults::cmd_faults()
}

fn cmd_bench() -> Result {
    system_deps()?;
    step("Chart query benchmark (cargo bench)");
    run(cargo().args(["bench", "-p", "caretaker-engine", "--bench", "chart_query"]))?;
    step("Log search benchmark: 1 million lines");
    run(cargo().args(["bench", "-p", "caretaker-engine", "--bench", "log_search"]))?;
    step("Check scheduler benchmark: 200 checks every 10 s against loopback servers");
    run(cargo().args(["bench", "-p", "caretaker-engine", "--bench", "check_schedule"]))?;
    step("Host overhead benchmark against node_exporter");
    run(cargo().args(["build", "--release", "-p", "caretaker-cli"]))?;
    run(Command::new("bash").arg(root().join("bench/host_overhead.sh")))
}

fn cmd_bundle() -> Result {
    system_deps()?;
    ui_build()?;
    step("Release bundle");
    // The `caretaker` command goes beside the app in each bundle: the background service runs it,
    // and the app's switch installs the service through it. On Linux the light tray process too.
    run(cargo().args(["build", "--release", "-p", "caretaker-cli", "-p", "caretaker-tray"]))?;
    run(npm().args(["run", "tauri", "--", "build"]).env("TAURI_APP_PATH", "../src-tauri"))
}

/// The engine's automatic detector over the NAB corpus, in release (the corpus has ~365k points).
fn cmd_nab() -> Result {
    step("NAB: the automatic detector over every series, then scored");
    run(cargo().args(["run", "--release", "-p", "caretaker-nab", "--", "run"]).args(std::env::args().skip(2)))
}

fn main() -> ExitCode {
    let result = match std::env::args().nth(1).as_deref() {
        Some("run") => cmd_run(),
        Some("test") => cmd_test(),
        Some("bench") => cmd_bench(),
        Some("bundle") => cmd_bundle(),
        Some("faults") => faults::cmd_faults(),
        Some("nab") => cmd_nab(),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nxtask: {e}");
            ExitCode::FAILURE
        }
    }
}
