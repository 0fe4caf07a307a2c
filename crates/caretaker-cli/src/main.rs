//! `caretaker`: the same engine as the desktop app, without a window.

mod remote;
mod service;

use anyhow::{Context, Result};
use caretaker_engine::{paths, Config, Engine, EngineOptions, HostSample, StoredStatus};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "caretaker", version, about = "Caretaker: watches, backs up and maintains this machine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the engine headless until SIGINT or SIGTERM.
    Run {
        /// Data folder (default: CARETAKER_DATA_DIR, then the OS application-support folder).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Print the latest host sample and the engine's state (works while an engine runs).
    Status {
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Open alerts; acknowledge, snooze or resolve one (needs a running engine).
    Alerts {
        #[command(subcommand)]
        command: Option<remote::AlertsCommand>,
        #[command(flatten)]
        remote: remote::Remote,
    },
    /// Service checks: list them, or run one now (needs a running engine).
    Checks {
        #[command(subcommand)]
        command: Option<remote::ChecksCommand>,
        #[command(flatten)]
        remote: remote::Remote,
    },
    /// Notification channels: deliveries, a test message, secrets (needs a running engine).
    Channels {
        #[command(subcommand)]
        command: Option<remote::ChannelsCommand>,
        #[command(flatten)]
        remote: remote::Remote,
    },
    /// Backups: plans, runs, snapshots, restore, verify (needs a running engine).
    Backup {
        #[command(subcommand)]
        command: Option<remote::BackupCommand>,
        #[command(flatten)]
        remote: remote::Remote,
    },
    /// Maintenance: status, run now, cancel (needs a running engine).
    Maintain {
        #[command(subcommand)]
        command: Option<remote::MaintainCommand>,
        #[command(flatten)]
        remote: remote::Remote,
    },
    /// Caretaker's own log, filtered; --follow keeps printing (needs a running engine).
    Logs {
        #[command(flatten)]
        args: remote::LogsArgs,
        #[command(flatten)]
        remote: remote::Remote,
    },
    /// Stop the running engine cleanly (a service manager that restarts only after a crash
    /// leaves it stopped).
    Stop {
        #[command(flatten)]
        remote: remote::Remote,
    },
    /// Run the engine as a service: started at login (or boot) and again after a crash.
    Service {
        #[command(subcommand)]
        command: ServiceCommand,
    },
}

/// Which service: the person's own, or with `--system` one that runs before anyone logs in.
#[derive(clap::Args)]
struct ServiceScope {
    /// System-wide (a LaunchDaemon, or a systemd system unit) for a machine that boots to no
    /// logged-in user; installed with sudo. No keychain and no desktop notifications there.
    #[arg(long, long_help = service::SYSTEM_LIMITS)]
    system: bool,
    /// The account a system-wide service runs as (default: the user who ran sudo).
    #[arg(long, requires = "system")]
    user: Option<String>,
    /// Data folder the service uses (default: CARETAKER_DATA_DIR, then the OS application-support
    /// folder); required with --system.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum ServiceCommand {
    /// Write the LaunchAgent (macOS) or systemd user unit (Linux) and start it.
    Install {
        #[command(flatten)]
        scope: ServiceScope,
    },
    /// Stop the service and remove its file.
    Uninstall {
        #[command(flatten)]
        scope: ServiceScope,
    },
    /// Say whether the service is installed, where its file is, and whether it runs.
    Status {
        #[command(flatten)]
        scope: ServiceScope,
        /// Machine-readable output (what the app's switch reads).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate a config file and print every problem with its field path; exit 1 when invalid.
    Check {
        /// The file to check (default: caretaker.toml in the data folder).
        file: Option<PathBuf>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    // Started by ssh as its askpass program while Caretaker lets its key into an SFTP account.
    if caretaker_engine::backup::ssh_login::answer_askpass() {
        return ExitCode::SUCCESS;
    }
    // The backup worker: a child process the engine starts for each backup, restore or check.
    if std::env::args_os().nth(1).is_some_and(|a| a == caretaker_engine::backup::protocol::WORKER_ARG) {
        return ExitCode::from(u8::try_from(caretaker_backup::worker_main()).unwrap_or(1));
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run { data_dir } => run(paths::resolve_data_dir(data_dir)),
        Command::Status { data_dir, json } => status(paths::resolve_data_dir(data_dir), json),
        Command::Config { command: ConfigCommand::Check { file, data_dir } } => {
            let file = file.unwrap_or_else(|| paths::resolve_data_dir(data_dir).join(paths::CONFIG_FILE));
            return config_check(&file);
        }
        Command::Service { command } => service_command(command),
        Command::Alerts { command, remote } => on_engine(remote::alerts(&remote, command)),
        Command::Checks { command, remote } => on_engine(remote::checks(&remote, command)),
        Command::Channels { command, remote } => on_engine(remote::channels(&remote, command)),
        Command::Backup { command, remote } => on_engine(remote::backup(&remote, command)),
        Command::Maintain { command, remote } => on_engine(remote::maintain(&remote, command)),
        Command::Logs { args, remote } => on_engine(remote::logs(&remote, args)),
        Command::Stop { remote } => on_engine(remote::stop(&remote)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("caretaker: {e:#}");
            exit_code_of(&e)
        }
    }
}

/// The exit status for data a newer Caretaker wrote (sysexits' EX_DATAERR). Restarting cannot
/// help, so the systemd unit does not restart on it (`RestartPreventExitStatus`, keep the two in
/// step), and a script can tell it from any other failure.
const EXIT_DATABASE_TOO_NEW: u8 = 65;

/// No engine answers (sysexits' EX_UNAVAILABLE), for a script to tell "not running" from "refused".
const EXIT_ENGINE_UNREACHABLE: u8 = 69;

fn exit_code_of(e: &anyhow::Error) -> ExitCode {
    let code = e
        .downcast_ref::<caretaker_engine::EngineError>()
        .map(|e| e.code())
        .or_else(|| e.downcast_ref::<caretaker_engine::ErrorPayload>().map(|p| p.code));
    match code {
        Some(caretaker_engine::ErrorCode::DatabaseTooNew) => ExitCode::from(EXIT_DATABASE_TOO_NEW),
        Some(caretaker_engine::ErrorCode::EngineUnreachable) => ExitCode::from(EXIT_ENGINE_UNREACHABLE),
        _ => ExitCode::FAILURE,
    }
}

/// Runs a command that talks to the engine: a small runtime, no logging set-up (the engine logs).
fn on_engine(command: impl std::future::Future<Output = Result<()>>) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    rt.block_on(command)
}

/// glibc gives every thread that allocates an arena of its own; for an engine that idles between
/// samples they hold more than it uses. Must run before any thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn one_malloc_arena() {
    // SAFETY: mallopt only sets an allocator parameter; no other thread exists yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn one_malloc_arena() {}

fn run(data_dir: PathBuf) -> Result<()> {
    one_malloc_arena();
    let _log = caretaker_engine::logging::init(Some(&data_dir));
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().context("cannot start the async runtime")?;
    rt.block_on(async {
        let engine = Engine::start(EngineOptions::new(data_dir)).await?;
        tokio::select! {
            _ = wait_for_signal() => tracing::info!("signal received, shutting down"),
            // `caretaker stop`, or the app's "Stop Caretaker", through the control socket.
            _ = engine.stopping() => {}
        }
        engine.shutdown().await;
        Ok(())
    })
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(e) => {
            tracing::warn!("cannot listen for SIGTERM ({e}); only Ctrl-C stops the engine");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

fn service_command(command: ServiceCommand) -> Result<()> {
    type Act = fn(&service::Context, &dyn service::ServiceManager) -> Result<String>;
    fn status_json(ctx: &service::Context, manager: &dyn service::ServiceManager) -> Result<String> {
        Ok(serde_json::to_string_pretty(&service::state(ctx, manager))? + "\n")
    }
    let (scope, act, installing): (_, Act, _) = match command {
        ServiceCommand::Install { scope } => (scope, service::install, true),
        ServiceCommand::Uninstall { scope } => (scope, service::uninstall, false),
        ServiceCommand::Status { scope, json: false } => (scope, service::status, false),
        ServiceCommand::Status { scope, json: true } => (scope, status_json, false),
    };
    // SAFETY: getuid and geteuid cannot fail and touch no memory.
    let (uid, euid) = unsafe { (libc::getuid(), libc::geteuid()) };
    let data_dir_chosen = scope.data_dir.is_some() || std::env::var_os(paths::DATA_DIR_ENV).is_some_and(|v| !v.is_empty());
    let system_user = match (scope.system, scope.user) {
        (false, _) => None,
        (true, Some(u)) => Some(u),
        (true, None) => Some(std::env::var("SUDO_USER").context("--system needs --user NAME (the account the service runs as)")?),
    };
    if let (Some(user), true) = (&system_user, installing) {
        service::check_system_install(user, euid, data_dir_chosen)?;
    }
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from).context("HOME is not set")?;
    let exe = std::env::current_exe().and_then(|e| e.canonicalize()).context("cannot tell where the caretaker binary is")?;
    let ctx = service::Context {
        platform: service::Platform::current(),
        config_home: service::default_config_home(&home),
        home,
        system_root: PathBuf::from("/"),
        uid,
        exe,
        data_dir: paths::resolve_data_dir(scope.data_dir),
        data_dir_chosen,
        system_user,
    };
    print!("{}", act(&ctx, &service::RealManager)?);
    Ok(())
}

fn now_ms() -> i64 {
    use caretaker_engine::Clock;
    caretaker_engine::SystemClock.now_ms()
}

fn status(data_dir: PathBuf, json: bool) -> Result<()> {
    let st = caretaker_engine::read_status(&data_dir, now_ms())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&st)?);
    } else {
        print!("{}", render_status(&st, now_ms()));
    }
    Ok(())
}

fn human_bytes(b: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = b;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{v:.0} {}", UNITS[i])
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

fn render_status(st: &StoredStatus, now: i64) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let state = match (&st.engine, st.running) {
        (Some(e), true) => format!("running (pid {}, version {})", e.pid, e.version),
        (Some(e), false) => format!("not running (last seen {:?}, pid {})", e.state, e.pid).to_lowercase(),
        (None, _) => "never started".into(),
    };
    let _ = writeln!(o, "Engine:   {state}");
    let _ = writeln!(o, "Data dir: {}", st.data_dir);
    if let Some(e) = &st.engine {
        let _ = writeln!(o, "Interval: every {} s", e.metrics_interval_secs);
        if let Some(err) = &e.last_error {
            let _ = writeln!(o, "Problem:  {err}");
        }
    }
    match &st.host {
        Some(h) => write_sample(&mut o, h, now),
        None => {
            let _ = writeln!(o, "No host sample recorded yet.");
        }
    }
    for c in &st.checks {
        let latency = c.latency_ms.map_or(String::new(), |l| format!(" {l:.0} ms"));
        let why = c.error_message.as_deref().map_or(String::new(), |e| format!(" — {e}"));
        let _ = writeln!(o, "Check:    {} {}{latency}{why}", c.service_name, c.status.as_str());
    }
    if st.alerts.is_empty() {
        let _ = writeln!(o, "Alerts:   none open");
    }
    for a in &st.alerts {
        let _ = writeln!(o, "Alert:    [{}] {} ({})", a.severity.as_str(), a.title, a.status.as_str());
    }
    o
}

fn write_sample(o: &mut String, h: &HostSample, now: i64) {
    use std::fmt::Write;
    let age = ((now - h.ts_ms) as f64 / 1000.0).max(0.0);
    let _ = writeln!(o, "Sample:   {} ({age:.0} s ago)", h.hostname);
    let _ = writeln!(o, "CPU:      {:.1} % ({} cores)", h.cpu.total_percent, h.cpu.per_core_percent.len());
    if let Some(l) = &h.load {
        let _ = writeln!(o, "Load:     {:.2} {:.2} {:.2}", l.one, l.five, l.fifteen);
    }
    let m = &h.memory;
    let _ =
        writeln!(o, "Memory:   {} of {} ({:.1} %)", human_bytes(m.used_bytes as f64), human_bytes(m.total_bytes as f64), m.used_percent());
    let _ = writeln!(o, "Swap:     {} of {}", human_bytes(m.swap_used_bytes as f64), human_bytes(m.swap_total_bytes as f64));
    for d in &h.disks {
        let _ = writeln!(o, "Disk:     {} {:.1} % used, {} free", d.mount_point, d.used_percent, human_bytes(d.available_bytes as f64));
    }
    let n = &h.network_total;
    let _ = writeln!(o, "Network:  down {}/s, up {}/s", human_bytes(n.rx_bytes_per_sec), human_bytes(n.tx_bytes_per_sec));
    for t in &h.temperatures {
        let _ = writeln!(o, "Temp:     {} {:.0} °C", t.label, t.celsius);
    }
    if let Some(p) = h.top_cpu.first() {
        let _ = writeln!(o, "Top CPU:  {} (pid {}) {:.1} %", p.name, p.pid, p.cpu_percent);
    }
}

fn config_check(file: &std::path::Path) -> ExitCode {
    match Config::load(file) {
        Ok(_) => {
            println!("{}: valid", file.display());
            ExitCode::SUCCESS
        }
        Err(caretaker_engine::EngineError::Config(issues)) => {
            eprintln!("{}: {} problem(s)", file.display(), issues.len());
            for i in issues {
                eprintln!("  {i}");
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
