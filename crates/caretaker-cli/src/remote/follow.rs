//! Following a long job through the engine's events: a progress bar on a terminal (nothing drawn
//! when output is not one), one JSON object per event with --json.

use super::show;
use anyhow::{bail, Result};
use caretaker_engine::backup::{BackupRun, JobInfo};
use caretaker_engine::control::{Client, Incoming};
use caretaker_engine::{Event, LogLine, LogQuery, MaintenanceStatus};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use tokio::sync::mpsc::Receiver;

fn gone() -> anyhow::Error {
    anyhow::anyhow!("the Caretaker engine went away before the job finished; `caretaker status` says whether it runs")
}

/// A bar on stderr; indicatif draws nothing when stderr is not a terminal.
pub fn bar(json: bool) -> ProgressBar {
    if json {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:<28} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// Moves the bar to where `job` is.
pub fn show_job(bar: &ProgressBar, job: &JobInfo) {
    let p = &job.progress;
    if let Some(total) = p.bytes_total {
        bar.set_length(total);
    }
    bar.set_position(p.bytes_done);
    let files = match p.files_total {
        Some(t) => format!(" {}/{t} files", p.files_done),
        None if p.files_done > 0 => format!(" {} files", p.files_done),
        None => String::new(),
    };
    bar.set_message(format!("{}{files}", p.phase));
}

fn emit(json: bool, event: &Event) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string(event)?);
    }
    Ok(())
}

/// Follows backup run `run_id` of `plan` to its end and returns how it ended.
pub async fn backup(client: &Client, mut events: Receiver<Incoming>, plan: &str, run_id: i64, json: bool) -> Result<BackupRun> {
    let bar = bar(json);
    loop {
        let Some(incoming) = events.recv().await else {
            bar.abandon();
            return Err(gone());
        };
        match incoming {
            Incoming::Event(event) => match &*event {
                Event::BackupProgress { job } if job.run_id == run_id => {
                    emit(json, &event)?;
                    show_job(&bar, job);
                }
                Event::BackupFinished { run } if run.id == run_id => {
                    emit(json, &event)?;
                    bar.finish_and_clear();
                    return Ok(run.clone());
                }
                _ => {}
            },
            // Events were missed: the run may have ended among them.
            Incoming::Resync => {
                let runs: Vec<BackupRun> = client.call_as("backup_history", json!({ "plan": plan, "limit": 20 })).await?;
                if let Some(run) = runs.into_iter().find(|r| r.id == run_id && r.finished_ms.is_some()) {
                    bar.finish_and_clear();
                    return Ok(run);
                }
            }
        }
    }
}

/// Follows maintenance run `run_id` to its end, printing its report.
pub async fn maintenance(client: &Client, mut events: Receiver<Incoming>, run_id: i64, json: bool) -> Result<()> {
    let bar = if json { ProgressBar::hidden() } else { ProgressBar::new(0) };
    bar.set_style(ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}").unwrap_or_else(|_| ProgressStyle::default_bar()));
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let report = loop {
        let Some(incoming) = events.recv().await else {
            bar.abandon();
            return Err(gone());
        };
        match incoming {
            Incoming::Event(event) => match &*event {
                Event::MaintenanceProgress { run_id: id, task_name, index, total, status, .. } if *id == run_id => {
                    emit(json, &event)?;
                    bar.set_length(u64::from(*total));
                    bar.set_position(u64::from(*index));
                    bar.set_message(format!("{task_name}: {}", show::word(status)));
                }
                Event::MaintenanceComplete { report } if report.run_id == run_id => {
                    emit(json, &event)?;
                    break report.clone();
                }
                _ => {}
            },
            Incoming::Resync => {
                let status: MaintenanceStatus = client.call_as("maintenance_status", json!({})).await?;
                match status.last_run {
                    Some(r) if r.run_id == run_id => break r,
                    _ => {}
                }
            }
        }
    };
    bar.finish_and_clear();
    if !json {
        show::report(&report);
    }
    let status = show::word(&report.status);
    if status != "completed" {
        bail!("maintenance run {run_id} {status}");
    }
    Ok(())
}

/// Whether a line passes the same filters the engine applied to the first page.
pub fn wanted(line: &LogLine, q: &LogQuery) -> bool {
    let level_ok = q.min_level.is_none_or(|min| line.level >= min);
    let target_ok = q.target.as_deref().is_none_or(|t| line.target.starts_with(t));
    let text_ok = q.text.as_deref().is_none_or(|text| {
        let hay = format!("{} {}", line.message, line.target).to_lowercase();
        text.split_whitespace().all(|w| hay.contains(&w.to_lowercase()))
    });
    level_ok && target_ok && text_ok
}

/// Prints new log lines as the engine stores them, until interrupted or the engine stops.
pub async fn logs(mut events: Receiver<Incoming>, q: &LogQuery, mut last_id: i64, json: bool) -> Result<()> {
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            incoming = events.recv() => match incoming {
                None => bail!("the Caretaker engine stopped"),
                Some(Incoming::Event(event)) => {
                    if let Event::Log { lines } = &*event {
                        let since = last_id;
                        for line in lines.iter().filter(|l| l.id > since && wanted(l, q)) {
                            show::log_line(line, json)?;
                        }
                        last_id = lines.iter().map(|l| l.id).max().unwrap_or(since).max(since);
                    }
                }
                Some(Incoming::Resync) => eprintln!("(some lines were skipped; `caretaker logs` shows them)"),
            }
        }
    }
}
