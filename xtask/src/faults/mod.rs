//! `cargo xtask faults`: the fault-injection run. The headless engine runs with a backup plan on
//! a real restic repository, a maintenance schedule and an HTTP check against a loopback server;
//! each round injects one fault at a seeded random point (kinds in turn), restarts what the
//! fault killed and checks the invariants from outside the engine.
//!
//! Time: the engine (not its backup worker) runs under libfaketime, each round a little over an
//! hour of fake time after the previous one, so the hourly plan is due at every start without a
//! trigger of its own.
//!
//! Exit codes: 0 every invariant held, 1 some broke, 2 the harness itself failed.

mod check;
mod fakeclock;
mod inject;
mod probe;
mod report;
mod world;

use inject::{Aim, Kind, KINDS};
use report::{Break, Report};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use world::{sleep_ms, World};

/// An error of the harness, never a finding about the engine.
#[derive(Debug)]
pub struct Harness(pub String);
pub type HResult<T> = std::result::Result<T, Harness>;
pub fn harness(msg: impl Into<String>) -> Harness {
    Harness(msg.into())
}

/// The fake clock's first morning: fixed, so a seed repeats the same run.
const T0_MS: i64 = 1_803_871_797_000; // 2027-03-01 03:29:57 UTC
/// The watchdog setting the stop-worker kind needs (override with FAULTS_WATCHDOG_KEY).
const WATCHDOG_KEY: &str = "backups.stuck_after_minutes";

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

fn interrupted() -> HResult<()> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        Err(harness("interrupted"))
    } else {
        Ok(())
    }
}

/// splitmix64: small, seedable, the same sequence everywhere.
pub struct Rng(u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

/// When the engine next starts: an hour after the last backup attempt (half an hour after a
/// failed one, the plan's retry), so a backup is due but never overdue; a minute's second 57.
pub fn next_start(w: &World) -> i64 {
    let t = match check::last_backup(w) {
        Some(r) if r.status == "ok" => r.started_at + 61 * 60_000,
        Some(r) => r.started_at + 31 * 60_000,
        None => T0_MS,
    };
    let t = t.max(w.fake_now());
    (t + 3_000 + 59_999) / 60_000 * 60_000 - 3_000
}

struct Ctx<'a> {
    w: &'a mut World,
    rng: Rng,
    aim: Aim,
    /// Source files present in each round (the files never change once written).
    manifest: Vec<Vec<String>>,
    /// The highest backup run id before each round began.
    boundaries: Vec<i64>,
    verified_up_to: i64,
    counts: BTreeMap<String, i64>,
}

pub fn cmd_faults() -> crate::Result {
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let seed: u64 = std::env::var("SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| world::now_ms() as u64 % 1_000_000);
    eprintln!("faults: seed {seed} ({rounds} rounds; repeat with SEED={seed} ROUNDS={rounds})");
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    let bin = match std::env::var_os("CARETAKER_BIN") {
        Some(b) => PathBuf::from(b),
        None => {
            crate::step("Fault injection: building the caretaker binary");
            crate::run(crate::cargo().args(["build", "-p", "caretaker-cli"]))?;
            crate::target_dir().join("debug/caretaker")
        }
    };
    crate::step(&format!("Fault injection: {rounds} rounds, seed {seed}"));
    let mut world = World::create(bin).map_err(|h| format!("faults: harness error (not an engine finding): {}", h.0))?;
    let mut report = Report::new(rounds, seed);
    let outcome = run_all(&mut world, rounds, seed, &mut report);
    world.stop_all();
    report.save(&world);
    world.unmount_all();
    let _ = std::fs::remove_dir_all(&world.work);
    if let Err(h) = outcome {
        report.print();
        eprintln!("faults: harness error (not an engine finding): {}", h.0);
        std::process::exit(2);
    }
    report.print();
    if report.broken() > 0 {
        Err(format!("faults: {} broken invariants", report.broken()))
    } else {
        Ok(())
    }
}

fn watchdog_key(w: &World) -> Option<String> {
    let key = std::env::var("FAULTS_WATCHDOG_KEY").unwrap_or_else(|_| WATCHDOG_KEY.into());
    let (section, field) = key.split_once('.')?;
    let probe = w.work.join("watchdog-probe.toml");
    let (value, _) = world::watchdog_setting(&key);
    std::fs::write(&probe, format!("[{section}]\n{field} = {value}\n")).ok()?;
    let ok = Command::new(&w.bin).args(["config", "check"]).arg(&probe).output().is_ok_and(|o| o.status.success());
    ok.then_some(key)
}

fn run_all(w: &mut World, rounds: usize, seed: u64, report: &mut Report) -> HResult<()> {
    w.watchdog_key = watchdog_key(w);
    match &w.watchdog_key {
        Some(k) => eprintln!("faults: watchdog setting {k} = {} ({} s)", world::watchdog_setting(k).0, world::watchdog_setting(k).1),
        None => eprintln!("faults: no watchdog setting ({WATCHDOG_KEY}) in this tree: the stop-worker alert invariant is expected to fail"),
    }
    w.init_repository()?;
    let mut ctx = Ctx {
        w,
        rng: Rng(seed),
        aim: Aim { worker_ms: 300 },
        manifest: Vec::new(),
        boundaries: Vec::new(),
        verified_up_to: 0,
        counts: BTreeMap::new(),
    };
    let result = (0..rounds).try_for_each(|r| {
        interrupted()?;
        let kind = KINDS[r % KINDS.len()];
        if kind.needs_mounts() {
            if let Err(e) = &ctx.w.mounts_ok {
                report.skip(r, kind, format!("tmpfs mounts not permitted here ({e})"));
                return Ok(());
            }
        }
        round(&mut ctx, r, kind, report)
    });
    result
}

fn write_source_file(ctx: &mut Ctx<'_>, r: usize) -> HResult<()> {
    let name = format!("round-{r:03}.bin");
    let len = 64 * 1024 + ctx.rng.below(448 * 1024) as usize;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        bytes.extend_from_slice(&ctx.rng.next().to_le_bytes());
    }
    std::fs::write(ctx.w.src.join(&name), &bytes).map_err(|e| harness(format!("source file: {e}")))?;
    let mut files = ctx.manifest.last().cloned().unwrap_or_default();
    files.push(name);
    ctx.manifest.push(files);
    Ok(())
}

/// Starts the engine with the scenario's config; `wait` for its answer (worker faults do not
/// wait: the backup that starts with the engine lasts about half a second).
fn start_clean(ctx: &mut Ctx<'_>, notes: &mut Vec<String>, wait: bool) -> HResult<()> {
    let at = next_start(ctx.w);
    std::fs::write(ctx.w.config_path(), ctx.w.config_text(at)).map_err(|e| harness(format!("config: {e}")))?;
    ctx.w.start_engine(at)?;
    if wait && !ctx.w.answers(Duration::from_secs(15)) {
        notes.push(format!(
            "engine did not answer within 15 s of a clean start ({})",
            ctx.w.engine_exited().unwrap_or_else(|| "still running".into())
        ));
    }
    Ok(())
}

fn stop(ctx: &mut Ctx<'_>, notes: &mut Vec<String>) {
    if let Some(n) = ctx.w.stop_engine(Duration::from_secs(20)) {
        notes.push(n);
    }
    let strays = ctx.w.kill_strays();
    if !strays.is_empty() {
        notes.push(format!("left-over workers {strays:?} ended by the harness"));
    }
}

fn round(ctx: &mut Ctx<'_>, r: usize, kind: Kind, report: &mut Report) -> HResult<()> {
    let mut notes = Vec::new();
    let mut breaks: Vec<Break> = Vec::new();
    let mut brk = |inv: &'static str, detail: String, xfail: bool| breaks.push(Break { kind, invariant: inv, detail, xfail });
    stop(ctx, &mut notes);
    let b0 = if ctx.w.data.join("caretaker.db").exists() { check::max_id(ctx.w, "backup_runs")? } else { 0 };
    let a0 = if ctx.w.data.join("caretaker.db").exists() { check::max_id(ctx.w, "alert_events")? } else { 0 };
    ctx.boundaries.push(b0);
    write_source_file(ctx, r)?;
    start_clean(ctx, &mut notes, !matches!(kind, Kind::KillEngine | Kind::KillWorker | Kind::StopWorker | Kind::DiskRemoved))?;
    interrupted()?;

    let inj = inject::inject(kind, ctx.w, &mut ctx.rng, &mut ctx.aim)?;
    notes.extend(inj.notes.iter().cloned());
    // Let the engine see what happened (a dead worker, a failed run) before the restart.
    if ctx.w.engine_pid().is_some() && ctx.w.engine_exited().is_none() && !inject::wait_idle(ctx.w, Duration::from_secs(30)) {
        notes.push("the engine still had a job running 30 s after the fault".into());
    }
    interrupted()?;

    // Restart what the fault killed: a fresh engine start, as launchd's KeepAlive would.
    if let Some(n) = ctx.w.stop_engine(Duration::from_secs(20)) {
        notes.push(n);
    }
    let recovery_from = check::max_id(ctx.w, "backup_runs").unwrap_or(b0);
    let at = next_start(ctx.w);
    if !inj.config_left_bad {
        std::fs::write(ctx.w.config_path(), ctx.w.config_text(at)).map_err(|e| harness(format!("config: {e}")))?;
    }
    ctx.w.start_engine(at)?;
    if !ctx.w.answers(Duration::from_secs(5)) {
        let exit = ctx.w.engine_exited().map_or("still running".to_string(), |s| format!("exited: {s}"));
        brk("answering", format!("no /health answer within 5 s of the restart ({exit}); log: {}", report::log_tail(ctx.w, 2)), false);
    }
    if inj.config_left_bad {
        // The person fixes the edit; the engine must pick up the good file again.
        stop(ctx, &mut notes);
        start_clean(ctx, &mut notes, true)?;
    }
    // The recovery run: the first backup after the restart must finish.
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let finished = loop {
        let runs = check::backups_since(ctx.w, recovery_from).unwrap_or_default();
        if let Some(run) = runs.iter().find(|r| r.status != "running") {
            break Some(run.clone());
        }
        if std::time::Instant::now() > deadline {
            break None;
        }
        sleep_ms(200);
    };
    match finished {
        Some(run) if run.status == "ok" => {}
        Some(run) => notes.push(format!("recovery backup {} ended {}: {}", run.id, run.status, run.error.unwrap_or_default())),
        None => notes.push("no recovery backup finished within 90 s".into()),
    }
    if !inject::wait_idle(ctx.w, Duration::from_secs(60)) {
        notes.push("a job was still running 60 s after recovery".into());
    }
    interrupted()?;
    // Give alerts a moment to settle: every new one resolved, or 20 s.
    let settle = std::time::Instant::now() + Duration::from_secs(20);
    while std::time::Instant::now() < settle && check::alerts_since(ctx.w, a0).is_ok_and(|v| v.iter().any(|a| a.status != "resolved")) {
        sleep_ms(250);
    }

    // The invariants.
    if let Err(e) = check::integrity(ctx.w) {
        brk("integrity", e, false);
    }
    if let Err(e) = check::restic_check(ctx.w) {
        brk("restic-check", e, false);
    }
    match check::backups_since(ctx.w, ctx.verified_up_to) {
        Ok(runs) => {
            for run in runs.iter().filter(|r| r.status == "ok") {
                let round_of = ctx.boundaries.iter().rposition(|b| *b < run.id).unwrap_or(0);
                match &run.snapshot {
                    None => brk("restore", format!("backup run {} reported ok without a snapshot id", run.id), false),
                    Some(s) => {
                        if let Err(e) = check::restores(ctx.w, s, &ctx.manifest[round_of]) {
                            brk("restore", format!("run {}: {e}", run.id), false);
                        }
                    }
                }
            }
            if let Some(last) = runs.iter().rfind(|r| r.status != "running") {
                ctx.verified_up_to = ctx.verified_up_to.max(last.id);
            }
        }
        Err(e) => brk("restore", format!("cannot list backup runs: {e}"), false),
    }
    match check::alerts_since(ctx.w, a0) {
        Ok(new) => {
            // Disk alerts about other mounts of a shared machine are the machine's, not the outage's.
            let data = ctx.w.data.display().to_string();
            let (ours, theirs): (Vec<_>, Vec<_>) = new.into_iter().partition(|a| a.rule != "disk" || a.subject.contains(&data));
            for a in theirs {
                notes.push(format!("ignored: alert #{} {}/{} about another mount of this machine", a.id, a.rule, a.subject));
            }
            for (detail, xfail) in report::alert_problems(kind, &inj, &ours) {
                brk("alerts", detail, xfail);
            }
        }
        Err(e) => brk("alerts", format!("cannot read alerts: {e}"), false),
    }
    match check::counts(ctx.w) {
        Ok(now) => {
            let lost = check::shrunk(&ctx.counts, &now);
            if !lost.is_empty() {
                brk("history", lost.join(", "), false);
            }
            ctx.counts = now;
        }
        Err(e) => brk("history", format!("cannot count rows: {e}"), false),
    }
    if !ctx.w.answers(Duration::from_secs(5)) {
        brk("answering", "no /health answer within 5 s at the end of the round".into(), false);
    }
    report.record(r, kind, inj.hit, notes, breaks);
    Ok(())
}
