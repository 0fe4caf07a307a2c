//! `caretaker backup …`: plans, runs, snapshots, restores and checks, through the running engine
//! (which owns the schedule, the lock on each repository and the passwords in the keychain).

use super::{follow, output, print_json, show, Remote};
use anyhow::{anyhow, bail, Context, Result};
use caretaker_engine::backup::protocol::{ConflictPolicy, ConflictReport, SnapshotInfo};
use caretaker_engine::backup::{BackupRun, BackupsOverview, RestoreOutcome};
use caretaker_engine::control::{Client, Incoming};
use caretaker_engine::Event;
use clap::{Subcommand, ValueEnum};
use serde_json::json;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
pub enum OnConflict {
    /// Leave files that already exist alone.
    Skip,
    /// Restore next to them as "name (restored DATE).ext".
    KeepBoth,
    /// Replace them, after saving them in a safety snapshot.
    Overwrite,
}

impl From<OnConflict> for ConflictPolicy {
    fn from(c: OnConflict) -> Self {
        match c {
            OnConflict::Skip => ConflictPolicy::Skip,
            OnConflict::KeepBoth => ConflictPolicy::KeepBoth,
            OnConflict::Overwrite => ConflictPolicy::Overwrite,
        }
    }
}

#[derive(Subcommand)]
pub enum BackupCommand {
    /// Every plan with its health, last success and next run.
    List,
    /// Back up a plan now (then apply its retention), following it to the end.
    Run {
        plan: String,
        /// Print the run id and return at once.
        #[arg(long)]
        no_wait: bool,
    },
    /// Cancel the backup, check or restore job running now (it stops at a safe point).
    Cancel,
    /// The snapshots in a plan's repository, oldest first.
    Snapshots { plan: String },
    /// Recent runs of a plan (backups, checks, restores).
    History {
        plan: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Restore a snapshot (or one path in it) into a folder.
    Restore {
        plan: String,
        /// Snapshot id, a prefix of it, or "latest".
        snapshot: String,
        /// Folder to restore into (created when missing).
        #[arg(long)]
        to: PathBuf,
        /// Only this file or folder of the snapshot (default: all of it).
        #[arg(long, default_value = "")]
        path: String,
        /// What to do with files that already exist there; asked on a terminal when not given.
        #[arg(long, value_enum)]
        on_conflict: Option<OnConflict>,
    },
    /// Check the repository's structure (with --read-data, every byte of it).
    Verify {
        plan: String,
        #[arg(long)]
        read_data: bool,
    },
}

pub async fn run(remote: &Remote, command: Option<BackupCommand>) -> Result<()> {
    let client = remote.connect().await?;
    match command.unwrap_or(BackupCommand::List) {
        BackupCommand::List => {
            let o: BackupsOverview = client.call_as("backups_overview", json!({})).await?;
            output(remote.json, &o, show::backups)
        }
        BackupCommand::Run { plan, no_wait } => {
            let events = if no_wait { None } else { Some(client.subscribe().await?) };
            let run_id: i64 = client.call_as("backup_now", json!({ "plan": plan })).await?;
            let Some(events) = events else {
                return output(remote.json, &json!({ "run_id": run_id }), |_| println!("backup run {run_id} started"));
            };
            let run = follow::backup(&client, events, &plan, run_id, remote.json).await?;
            finish(remote, &run)
        }
        BackupCommand::Cancel => {
            let run_id: i64 = client.call_as("cancel_backup", json!({})).await?;
            output(remote.json, &json!({ "run_id": run_id }), |_| println!("asked backup job {run_id} to stop at its next safe point"))
        }
        BackupCommand::Snapshots { plan } => {
            let list: Vec<SnapshotInfo> = client.call_as("backup_snapshots", json!({ "plan": plan })).await?;
            output(remote.json, &list[..], show::snapshots)
        }
        BackupCommand::History { plan, limit } => {
            let runs: Vec<BackupRun> = client.call_as("backup_history", json!({ "plan": plan, "limit": limit })).await?;
            if remote.json {
                return print_json(&runs);
            }
            for r in &runs {
                print!("{}  ", show::when(r.started_ms));
                show::run(r);
            }
            Ok(())
        }
        BackupCommand::Verify { plan, read_data } => {
            let run: BackupRun = client.call_as("verify_backup", json!({ "plan": plan, "read_data": read_data })).await?;
            finish(remote, &run)
        }
        BackupCommand::Restore { plan, snapshot, to, path, on_conflict } => {
            restore(remote, &client, plan, snapshot, to, path, on_conflict).await
        }
    }
}

/// Prints a finished run; a run that did not end well is a failed command.
fn finish(remote: &Remote, run: &BackupRun) -> Result<()> {
    if remote.json {
        print_json(run)?;
    } else {
        show::run(run);
    }
    let status = show::word(&run.status);
    // Not a success to a script either: the snapshot lacks what could not be read.
    if status == "partial" {
        bail!("{} of {} completed with {} unreadable", show::word(&run.kind), run.plan, run.unreadable);
    }
    if status != "ok" {
        bail!("{} of {} {status}", show::word(&run.kind), run.plan);
    }
    Ok(())
}

/// The full id of `wanted` ("latest", an id or a unique prefix of one).
pub fn pick_snapshot(list: &[SnapshotInfo], wanted: &str) -> Result<String> {
    if wanted == "latest" {
        return list.iter().max_by_key(|s| s.time_ms).map(|s| s.id.clone()).ok_or_else(|| anyhow!("the repository has no snapshots yet"));
    }
    let matches: Vec<&SnapshotInfo> = list.iter().filter(|s| s.id.starts_with(wanted)).collect();
    match matches.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => bail!("no snapshot {wanted:?}; `caretaker backup snapshots PLAN` lists them"),
        _ => bail!("{wanted:?} matches {} snapshots; give more of the id", matches.len()),
    }
}

/// Asks what to do with files in the way, as the app's dialog does.
fn ask(report: &ConflictReport, to: &std::path::Path) -> Result<Option<ConflictPolicy>> {
    eprintln!("{} files already exist in {}, for example:", report.existing, to.display());
    for e in report.examples.iter().take(5) {
        eprintln!("  {e}");
    }
    eprint!("[s]kip them, [k]eep both, [o]verwrite (after a safety snapshot), or [c]ancel? ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(match answer.trim().to_ascii_lowercase().as_str() {
        "s" | "skip" => Some(ConflictPolicy::Skip),
        "k" | "keep" | "keep both" => Some(ConflictPolicy::KeepBoth),
        "o" | "overwrite" => Some(ConflictPolicy::Overwrite),
        _ => None,
    })
}

async fn restore(
    remote: &Remote,
    client: &Client,
    plan: String,
    snapshot: String,
    to: PathBuf,
    path: String,
    on_conflict: Option<OnConflict>,
) -> Result<()> {
    let to = std::path::absolute(&to).with_context(|| format!("cannot make {} an absolute path", to.display()))?;
    let list: Vec<SnapshotInfo> = client.call_as("backup_snapshots", json!({ "plan": plan })).await?;
    let snapshot = pick_snapshot(&list, &snapshot)?;
    let mut policy: Option<ConflictPolicy> = on_conflict.map(Into::into);
    let mut events = client.subscribe().await?;
    loop {
        let args =
            json!({ "plan": plan, "snapshot": snapshot, "path": path, "destination": to.display().to_string(), "on_conflict": policy });
        let outcome = with_progress(client.call_as::<RestoreOutcome>("restore_backup", args), &mut events, &plan, remote.json).await?;
        match outcome {
            RestoreOutcome::Done { summary } => {
                if remote.json {
                    return print_json(&summary);
                }
                println!(
                    "Restored {} files ({}) into {}; {} skipped, {} kept beside, {} overwritten",
                    summary.files_restored,
                    show::bytes(summary.bytes_restored),
                    to.display(),
                    summary.files_skipped,
                    summary.files_renamed,
                    summary.files_overwritten
                );
                if let Some(s) = summary.safety_snapshot {
                    println!("The replaced files are in safety snapshot {s}.");
                }
                return Ok(());
            }
            RestoreOutcome::Conflict { report } => {
                if policy.is_some() {
                    bail!("the restore still reports conflicts after choosing what to do with them");
                }
                if remote.json || !std::io::stdin().is_terminal() {
                    bail!(
                        "{} files already exist in {}; nothing was written. Say what to do with them: --on-conflict skip, keep-both or overwrite",
                        report.existing,
                        to.display()
                    );
                }
                match ask(&report, &to)? {
                    Some(p) => policy = Some(p),
                    None => bail!("cancelled; nothing was written"),
                }
            }
        }
    }
}

/// Awaits `call` while drawing the restore's progress.
async fn with_progress<T>(
    call: impl std::future::Future<Output = Result<T, caretaker_engine::ErrorPayload>>,
    events: &mut tokio::sync::mpsc::Receiver<Incoming>,
    plan: &str,
    json: bool,
) -> Result<T> {
    let bar = follow::bar(json);
    tokio::pin!(call);
    loop {
        tokio::select! {
            result = &mut call => {
                bar.finish_and_clear();
                return Ok(result?);
            }
            _ = tokio::signal::ctrl_c() => {
                bar.abandon();
                bail!("stopped following; the restore goes on in the engine (`caretaker backup cancel` stops it)");
            }
            Some(Incoming::Event(event)) = events.recv() => {
                if let Event::BackupProgress { job } = &*event {
                    if job.plan == plan && show::word(&job.kind) == "restore" {
                        follow::show_job(&bar, job);
                    }
                }
            }
        }
    }
}
