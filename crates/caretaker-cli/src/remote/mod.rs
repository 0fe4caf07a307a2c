//! Commands that act on a running engine through its control socket: what the window does for
//! alerts, checks, backups, maintenance and logs, from a shell (an SSH session is how many people
//! reach a Mac mini in a cupboard). Without a running engine they refuse and say how to start one.

mod backup;
mod channels;
mod follow;
mod show;

use anyhow::{bail, Result};
use caretaker_engine::control::Client;
use caretaker_engine::{paths, Alert, AlertQuery, CheckResult, CheckSummary, LogLevel, LogLine, LogQuery, MaintenanceStatus};
use clap::{Args, Subcommand};
use serde_json::json;
use std::path::PathBuf;

pub use backup::run as backup;
pub use backup::BackupCommand;
pub use channels::run as channels;
pub use channels::ChannelsCommand;

/// Options every remote command takes.
#[derive(Args, Clone)]
pub struct Remote {
    /// Data folder of the engine to talk to (default: CARETAKER_DATA_DIR, then the OS
    /// application-support folder).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Machine-readable output: the engine's answer as JSON (one object per line when following).
    #[arg(long, global = true)]
    pub json: bool,
}

impl Remote {
    async fn connect(&self) -> Result<Client> {
        let dir = paths::resolve_data_dir(self.data_dir.clone());
        Ok(Client::connect(&dir).await?)
    }
}

#[derive(Subcommand)]
pub enum AlertsCommand {
    /// Open alerts, most recent first (with --all, resolved ones too).
    List {
        #[arg(long)]
        all: bool,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Acknowledge: stop reminders until it resolves or gets worse.
    Ack { id: i64 },
    /// Silence an alert for some hours.
    Snooze {
        id: i64,
        #[arg(long, default_value_t = 4)]
        hours: u32,
    },
    /// Mark an alert resolved by hand.
    Resolve { id: i64 },
}

#[derive(Subcommand)]
pub enum ChecksCommand {
    /// Every check with its latest result and uptime.
    List,
    /// Run a check now and print its result (exit 1 when it is not healthy).
    Run { name: String },
}

#[derive(Subcommand)]
pub enum MaintainCommand {
    /// The run in progress, the last run and when the next is due.
    Status,
    /// Start a maintenance run now and follow it to the end.
    Run {
        /// Print the run id and return at once.
        #[arg(long)]
        no_wait: bool,
    },
    /// Cancel the run in progress (at the next safe point).
    Cancel,
}

/// Filters for `caretaker logs`.
#[derive(Args)]
pub struct LogsArgs {
    /// Keep printing new lines as they are written.
    #[arg(long, short)]
    pub follow: bool,
    /// Lowest level shown: info, warn or error.
    #[arg(long)]
    pub level: Option<String>,
    /// Words that must all appear (prefix match).
    #[arg(long)]
    pub grep: Option<String>,
    /// Component prefix, e.g. caretaker_engine::checks.
    #[arg(long)]
    pub target: Option<String>,
    /// How many recent lines to print first.
    #[arg(long, default_value_t = 50)]
    pub lines: u32,
}

fn print_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// The answer as JSON with --json, else as `human` prints it.
fn output<T: serde::Serialize + ?Sized>(json: bool, value: &T, human: impl FnOnce(&T)) -> Result<()> {
    if json {
        print_json(value)
    } else {
        human(value);
        Ok(())
    }
}

pub async fn alerts(remote: &Remote, command: Option<AlertsCommand>) -> Result<()> {
    let client = remote.connect().await?;
    let command = command.unwrap_or(AlertsCommand::List { all: false, limit: 50 });
    let changed: Alert = match command {
        AlertsCommand::List { all, limit } => {
            let query = AlertQuery { include_resolved: all, limit, subject: None };
            let alerts: Vec<Alert> = client.call_as("list_alerts", json!({ "query": query })).await?;
            return output(remote.json, &alerts[..], show::alerts);
        }
        AlertsCommand::Ack { id } => client.call_as("acknowledge_alert", json!({ "id": id })).await?,
        AlertsCommand::Snooze { id, hours } => client.call_as("snooze_alert", json!({ "id": id, "hours": hours })).await?,
        AlertsCommand::Resolve { id } => client.call_as("resolve_alert", json!({ "id": id })).await?,
    };
    output(remote.json, std::slice::from_ref(&changed), show::alerts)
}

pub async fn checks(remote: &Remote, command: Option<ChecksCommand>) -> Result<()> {
    let client = remote.connect().await?;
    match command.unwrap_or(ChecksCommand::List) {
        ChecksCommand::List => {
            let checks: Vec<CheckSummary> = client.call_as("list_checks", json!({})).await?;
            output(remote.json, &checks[..], show::checks)
        }
        ChecksCommand::Run { name } => {
            let result: CheckResult = client.call_as("run_check", json!({ "name": name })).await?;
            if remote.json {
                print_json(&result)?;
            } else {
                show::check_result(&result);
            }
            if result.status != caretaker_engine::CheckStatus::Healthy {
                bail!("{} is {}", result.service_name, show::word(&result.status));
            }
            Ok(())
        }
    }
}

pub async fn maintain(remote: &Remote, command: Option<MaintainCommand>) -> Result<()> {
    let client = remote.connect().await?;
    match command.unwrap_or(MaintainCommand::Status) {
        MaintainCommand::Status => {
            let status: MaintenanceStatus = client.call_as("maintenance_status", json!({})).await?;
            output(remote.json, &status, show::maintenance)
        }
        MaintainCommand::Run { no_wait } => {
            // Listening before asking, so no progress of this run is missed.
            let events = if no_wait { None } else { Some(client.subscribe().await?) };
            let run_id: i64 = client.call_as("run_maintenance", json!({})).await?;
            match events {
                None => {
                    if remote.json {
                        print_json(&json!({ "run_id": run_id }))
                    } else {
                        println!("maintenance run {run_id} started");
                        Ok(())
                    }
                }
                Some(events) => follow::maintenance(&client, events, run_id, remote.json).await,
            }
        }
        MaintainCommand::Cancel => {
            let run_id: i64 = client.call_as("cancel_maintenance", json!({})).await?;
            if remote.json {
                print_json(&json!({ "run_id": run_id }))
            } else {
                println!("asked maintenance run {run_id} to stop at its next safe point");
                Ok(())
            }
        }
    }
}

fn level_of(text: &str) -> Result<LogLevel> {
    serde_json::from_value(json!(text.to_ascii_lowercase())).map_err(|_| anyhow::anyhow!("--level {text:?}: use info, warn or error"))
}

pub async fn logs(remote: &Remote, args: LogsArgs) -> Result<()> {
    let min_level = args.level.as_deref().map(level_of).transpose()?;
    let client = remote.connect().await?;
    let events = if args.follow { Some(client.subscribe().await?) } else { None };
    let query = LogQuery {
        text: args.grep.clone(),
        min_level,
        target: args.target.clone(),
        since_ms: None,
        until_ms: None,
        before_id: None,
        limit: args.lines,
    };
    let mut lines: Vec<LogLine> = client.call_as("search_logs", json!({ "query": query })).await?;
    // Newest first from the engine; a terminal reads oldest first.
    lines.reverse();
    let last_id = lines.last().map_or(0, |l| l.id);
    for line in &lines {
        show::log_line(line, remote.json)?;
    }
    if let Some(events) = events {
        follow::logs(events, &query, last_id, remote.json).await?;
    }
    Ok(())
}

/// How long `caretaker stop` waits for the engine to finish stopping.
const STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// `caretaker stop`: asks the engine to stop cleanly and waits until it has (its data folder is
/// released), so `caretaker stop && …` may touch the folder.
pub async fn stop(remote: &Remote) -> Result<()> {
    let dir = paths::resolve_data_dir(remote.data_dir.clone());
    let client = remote.connect().await?;
    let pid = client.hello().pid;
    // The engine may close the connection before its answer arrives; either means it is stopping.
    let _ = client.call("shutdown", json!({})).await;
    let deadline = std::time::Instant::now() + STOP_WAIT;
    while caretaker_engine::data_dir_in_use(&dir) {
        if std::time::Instant::now() > deadline {
            bail!("Caretaker (pid {pid}) was asked to stop but still holds {} after {} s", dir.display(), STOP_WAIT.as_secs());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    output(remote.json, &json!({ "stopped_pid": pid }), |_| println!("Caretaker (pid {pid}) stopped"))
}
