//! The fault kinds: each injects its fault at a seeded random point of a round, holds it, and
//! undoes what the harness broke (never what the engine should repair itself).

use super::check;
use super::world::{signal, sleep_ms, World};
use super::{HResult, Rng};
use std::io::Write;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    KillEngine,
    KillWorker,
    StopWorker,
    FullDisk,
    ClockJump,
    BadConfig,
    DiskRemoved,
    HangProbe,
}

pub const KINDS: [Kind; 8] = [
    Kind::KillEngine,
    Kind::KillWorker,
    Kind::StopWorker,
    Kind::FullDisk,
    Kind::ClockJump,
    Kind::BadConfig,
    Kind::DiskRemoved,
    Kind::HangProbe,
];

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::KillEngine => "kill-engine",
            Kind::KillWorker => "kill-worker",
            Kind::StopWorker => "stop-worker",
            Kind::FullDisk => "full-data-disk",
            Kind::ClockJump => "clock-jump",
            Kind::BadConfig => "bad-config",
            Kind::DiskRemoved => "repo-disk-removed",
            Kind::HangProbe => "hanging-probe",
        }
    }

    /// The alert rules that may answer this kind's outage (empty: any rule); None: no outage.
    pub fn outage_rules(self) -> Option<&'static [&'static str]> {
        match self {
            Kind::KillEngine | Kind::ClockJump => None,
            Kind::KillWorker | Kind::DiskRemoved => Some(&["backup_failed"]),
            Kind::StopWorker => Some(&["backup_stuck"]),
            Kind::HangProbe => Some(&["check"]),
            Kind::FullDisk | Kind::BadConfig => Some(&[]),
        }
    }

    pub fn needs_mounts(self) -> bool {
        matches!(self, Kind::FullDisk | Kind::DiskRemoved)
    }
}

/// What a fault did.
#[derive(Default)]
pub struct Injected {
    /// False when the fault missed its target (the worker had already finished).
    pub hit: bool,
    pub notes: Vec<String>,
    /// Set when the engine cannot meet this kind's alert invariant yet, with the reason.
    pub xfail: Option<String>,
    /// The config stays invalid for the first restart (bad-config only).
    pub config_left_bad: bool,
}

/// How long a backup worker lived in earlier rounds, to aim worker faults inside its lifetime.
pub struct Aim {
    pub worker_ms: u64,
}

pub fn inject(kind: Kind, w: &mut World, rng: &mut Rng, aim: &mut Aim) -> HResult<Injected> {
    let mut out = Injected { hit: true, ..Injected::default() };
    match kind {
        Kind::KillEngine => {
            // While the backup that starts with the engine runs: what becomes of its worker?
            let worker = w.wait_worker(Duration::from_secs(10));
            sleep_ms(rng.below(aim.worker_ms.max(50)));
            let during = worker.is_some_and(|p| w.workers().contains(&p));
            if let Some(pid) = w.kill9_engine() {
                out.notes.push(format!("engine pid {pid} killed {} its backup worker ran", if during { "while" } else { "after" }));
            }
            sleep_ms(300);
            for (pid, _) in w.marked() {
                out.notes.push(format!("worker pid {pid} outlived its killed engine"));
            }
        }
        Kind::KillWorker | Kind::StopWorker | Kind::DiskRemoved => {
            // A worker lives about half a second: when the point falls after its end, aim
            // earlier and try again with the next due backup (three tries at most).
            let mut tries = 0;
            let (pid, born, alive) = loop {
                let Some(pid) = w.wait_worker(Duration::from_secs(10)) else {
                    out.hit = false;
                    out.notes.push("no backup worker started within 10 s".into());
                    return Ok(out);
                };
                let born = Instant::now();
                sleep_ms(rng.below(aim.worker_ms.max(50)));
                let alive = w.workers().contains(&pid);
                tries += 1;
                if alive || kind == Kind::DiskRemoved || tries == 3 {
                    break (pid, born, alive);
                }
                aim.worker_ms = (born.elapsed().as_millis() as u64 * 7 / 10).max(50);
                wait_idle(w, Duration::from_secs(30));
                restart_due(w)?;
            };
            if kind == Kind::DiskRemoved {
                // The disk goes whether or not the worker still runs: the next run must notice.
                unplug(w, &mut out)?;
                wait_idle(w, Duration::from_secs(60));
                if check::last_backup(w).is_some_and(|r| r.status == "ok") {
                    // Unplugged after the run: the next scheduled run meets the missing disk.
                    restart_due(w)?;
                    sleep_ms(2_000);
                    wait_idle(w, Duration::from_secs(60));
                }
                let stray: Vec<String> = std::fs::read_dir(&w.disk)
                    .map(|rd| rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
                    .unwrap_or_default();
                if !stray.is_empty() {
                    out.notes.push(format!("written into the empty mount point of the unplugged disk: {stray:?}"));
                }
                w.plug_disk().map_err(|e| super::harness(format!("cannot plug the repository disk back: {e}")))?;
                return Ok(out);
            }
            if !alive {
                out.hit = false;
                out.notes.push(format!("worker {pid} finished before the fault point ({tries} tries)"));
                // Aim earlier next time: within the part of its life this worker was seen in.
                aim.worker_ms = (born.elapsed().as_millis() as u64 * 7 / 10).max(50);
                return Ok(out);
            }
            if kind == Kind::KillWorker {
                signal(pid, libc::SIGKILL);
                out.notes.push(format!("worker pid {pid} killed {} ms into its run", born.elapsed().as_millis()));
                return Ok(out);
            }
            signal(pid, libc::SIGSTOP);
            if w.watchdog_key.is_none() {
                out.xfail = Some("this tree has no watchdog setting, so nothing can kill a stopped worker".into());
            }
            let watchdog_secs = w.watchdog_key.as_deref().map_or(10, |k| super::world::watchdog_setting(k).1);
            let held_secs = watchdog_secs + 8;
            let hold = Instant::now() + Duration::from_secs(held_secs);
            while Instant::now() < hold && w.workers().contains(&pid) {
                sleep_ms(200);
            }
            if w.workers().contains(&pid) {
                out.notes.push(format!(
                    "worker pid {pid} still stopped after {held_secs} s (watchdog {watchdog_secs} s): resumed by the harness"
                ));
                signal(pid, libc::SIGCONT);
            } else {
                out.notes.push(format!("worker pid {pid} ended while stopped (watchdog)"));
            }
        }
        Kind::FullDisk => {
            sleep_ms(rng.below(4_000));
            let filler = w.data.join("faults-filler");
            let written = fill(&filler);
            out.notes.push(format!("data disk filled ({} MiB filler)", written >> 20));
            sleep_ms(8_000);
            if let Some(st) = w.engine_exited() {
                out.notes.push(format!("engine exited while the disk was full: {st}"));
            }
            let _ = std::fs::remove_file(&filler);
        }
        Kind::ClockJump => {
            sleep_ms(rng.below(4_000));
            let forward = rng.below(2) == 0;
            let jump: i64 = if forward { 90 * 60_000 } else { -90 * 60_000 };
            let to = w.fake_now() + jump;
            if let Some(n) = w.stop_engine(Duration::from_secs(20)) {
                out.notes.push(n);
            }
            w.start_engine(to)?;
            out.notes.push(format!("engine restarted with its clock {} 90 min", if forward { "forward" } else { "back" }));
            sleep_ms(6_000);
        }
        Kind::BadConfig => {
            sleep_ms(rng.below(4_000));
            let path = w.config_path();
            let text = std::fs::read_to_string(&path).map_err(|e| super::harness(format!("config: {e}")))?;
            let bad = text.replacen("interval_secs = 1\n", "interval_secs = 0\n", 1);
            std::fs::write(&path, bad).map_err(|e| super::harness(format!("config: {e}")))?;
            out.notes.push("metrics.interval_secs edited to 0 (valid: 1-3600)".into());
            out.config_left_bad = true;
            sleep_ms(3_000);
        }
        Kind::HangProbe => {
            sleep_ms(rng.below(5_000));
            w.probe.set_hang(true);
            // Two failed checks at 5 s intervals with a 1 s timeout, and a margin.
            sleep_ms(14_000);
            w.probe.set_hang(false);
        }
    }
    Ok(out)
}

/// A restart at the plan's next due time, with the scenario's config.
fn restart_due(w: &mut World) -> HResult<()> {
    let _ = w.stop_engine(Duration::from_secs(20));
    let at = super::next_start(w);
    std::fs::write(w.config_path(), w.config_text(at)).map_err(|e| super::harness(format!("config: {e}")))?;
    w.start_engine(at)
}

fn unplug(w: &World, out: &mut Injected) -> HResult<()> {
    w.unplug_disk().map_err(|e| super::harness(format!("cannot unplug the repository disk: {e}")))?;
    out.notes.push(format!(
        "repository disk unplugged{}",
        if w.workers().is_empty() { " (no worker running)" } else { " under a running worker" }
    ));
    Ok(())
}

/// Writes zeros until the file system says it is full; returns the bytes written.
fn fill(path: &std::path::Path) -> u64 {
    let Ok(mut f) = std::fs::File::create(path) else { return 0 };
    let chunk = vec![0u8; 1 << 20];
    let mut n = 0u64;
    while f.write_all(&chunk).is_ok() {
        n += chunk.len() as u64;
    }
    let _ = f.sync_all();
    n
}

/// Waits until no job is recorded as running and no worker process is left, up to `within`.
pub fn wait_idle(w: &World, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if !check::job_running(w) && w.workers().is_empty() {
            return true;
        }
        sleep_ms(200);
    }
    false
}
