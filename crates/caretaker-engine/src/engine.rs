//! Composition: start-up order (lock, config, database, recovery of work a stop interrupted, the
//! core, then each service and its loops), shutdown in reverse, and the status read without an
//! engine.

use crate::alerts::{self, AlertManager, AlertQuery, Alerts};
use crate::clock::{Clock, SystemClock};
use crate::core::Core;
use crate::error::{EngineError, Result};
use crate::events::{write_status, EngineState, EngineStatus};
use crate::handle::{EngineHandle, Services};
use crate::{analysis, backup, channels, checks, detectors, healing, lock, logs, maintenance, metrics, paths, presence, store};
use crate::{Alert, CheckResult, HostSample};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How an engine is started.
pub struct EngineOptions {
    pub data_dir: PathBuf,
    pub clock: Arc<dyn Clock>,
    /// Where notifications go; the OS's notification service unless a test says otherwise.
    pub notifier: Arc<dyn alerts::notify::Sink>,
    /// How long a burst of notices is gathered into one notification.
    pub notification_window: Duration,
    /// The program run as backup worker (`<exe> __backup-worker`); this process's own binary by default.
    pub backup_worker: PathBuf,
    /// Overrides `backups.stuck_after_minutes` (a test's worker goes quiet in seconds).
    pub backup_stuck_after: Option<Duration>,
    /// When the machine booted (ms since the epoch), to tell a restart from a crash; the OS's.
    pub boot_time: fn() -> Option<i64>,
    /// The first pause before a notification channel is tried again (it doubles, up to a day).
    pub channel_retry: Duration,
    /// Overrides `notifications.heartbeat.interval_minutes` (a test pings every fraction of a second).
    pub heartbeat_period: Option<Duration>,
    /// How often the daily digests are looked at against the engine's clock (a test's clock
    /// jumps to the digest time).
    pub digest_tick: Duration,
}

impl EngineOptions {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        EngineOptions {
            data_dir: data_dir.into(),
            clock: Arc::new(SystemClock),
            notifier: Arc::new(alerts::notify::DesktopSink),
            notification_window: Duration::from_millis(1500),
            backup_worker: backup::default_worker_exe(),
            backup_stuck_after: None,
            boot_time: presence::boot::boot_time_ms,
            channel_retry: Duration::from_secs(5),
            heartbeat_period: None,
            digest_tick: Duration::from_secs(30),
        }
    }
}

pub struct Engine;

/// Rows a stop left "running" are recorded as interrupted, each capability's own.
fn recover_interrupted(db: &store::Db, now: i64) -> Result<()> {
    if db.write(|c| healing::mark_interrupted(c, now))? > 0 {
        tracing::warn!("healing actions were running when Caretaker last stopped; recorded as interrupted");
    }
    db.write(|c| analysis::mark_interrupted(c, now))?;
    if db.write(|c| backup::store::mark_interrupted(c, now))? > 0 {
        tracing::warn!("a backup job was running when Caretaker last stopped; recorded as interrupted");
    }
    if db.write(channels::outbox::reset_sending)? > 0 {
        tracing::warn!("notifications were being sent when Caretaker last stopped; they will be sent again");
    }
    if db.write(|c| maintenance::mark_interrupted(c, now))? > 0 {
        tracing::warn!("a maintenance run was interrupted when Caretaker last stopped; recorded as interrupted");
    }
    Ok(())
}

/// Says, by a critical alert, that the database could not be read and where the old file is.
async fn tell_database_set_aside(core: &Arc<Core>, old: PathBuf) {
    let where_ = old.display().to_string();
    core.with_alerts(move |m, c, now| {
        m.raise(
            c,
            "db_integrity",
            "caretaker.db".into(),
            "db_damaged",
            alerts::Severity::Critical,
            "Caretaker's database was damaged; started a fresh one".into(),
            format!(
                "The database could not be read, so Caretaker moved it to {where_} and started with an empty one. \
                 History, alert records and settings changed in the app are in the old file. To get them back from a backup: \
                 Backups → the plan → Restore Caretaker's data… puts the database and settings of its latest snapshot back at the next start."
            ),
            serde_json::json!({ "moved_to": where_ }),
            now,
        )
    })
    .await;
}

/// The alert for a `caretaker.toml` that could not be used: raised (warning) naming each bad
/// field and the file's path, resolved once the file loads again.
pub(crate) async fn settle_config_alert(core: &Arc<Core>, problem: Option<crate::config::ConfigProblem>) {
    core.with_alerts(move |m, c, now| {
        let subject = paths::CONFIG_FILE.to_string();
        match problem {
            None => m.clear(c, "config", subject, now),
            Some(p) => {
                let fields: Vec<String> = p.issues.iter().map(|i| i.path.clone()).collect();
                let details = serde_json::json!({ "path": p.path.display().to_string(), "fields": fields, "last_good": p.fallback == crate::config::Fallback::LastGood });
                m.settle(c, "config", subject, "config_invalid", Some(alerts::Severity::Warning), p.title(), p.message(), details, now)
            }
        }
    })
    .await;
}

impl Engine {
    /// Takes the data dir (creating it and a commented config on first run), opens and migrates
    /// the database, and starts every capability's task. Must run inside a tokio runtime.
    pub async fn start(options: EngineOptions) -> Result<EngineHandle> {
        let data_dir = options.data_dir;
        // A data folder Caretaker makes is its owner's alone (the config may hold tokens); one the
        // person made is left as it is.
        let mut new_dir = std::fs::DirBuilder::new();
        new_dir.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut new_dir, 0o700);
        new_dir.create(&data_dir).map_err(|e| EngineError::io(format!("cannot create data folder {}", data_dir.display()), e))?;
        let lock = lock::DataDirLock::acquire(&data_dir)?;
        // Holding the lock, any worker recorded here belongs to an engine that died: it must
        // not keep writing to a repository this engine is about to prune.
        backup::reaper::reap(&data_dir);
        // A restore of Caretaker's own data waits for this moment: nothing is open yet.
        let now = options.clock.now_ms();
        let stamp =
            chrono::DateTime::from_timestamp_millis(now).map_or_else(|| now.to_string(), |t| t.format("%Y%m%dT%H%M%SZ").to_string());
        // A restore that cannot be put in place leaves everything as it was, and starts anyway.
        match backup::own_data::apply_pending(&data_dir, &stamp) {
            Ok(Some(done)) => tracing::warn!("{done}"),
            Ok(None) => {}
            Err(e) => tracing::error!("the restored copy of Caretaker's data could not be put in place, so the current one is used: {e}"),
        }
        // No configuration mistake stops monitoring: a bad file runs the last good copy.
        let crate::config::Loaded { config, problem: config_problem } = crate::config::load_for_start(&data_dir)?;
        let (db, set_aside) = store::Db::open_or_set_aside(&data_dir.join(paths::DB_FILE), &stamp)?;
        let status = EngineStatus {
            version: env!("CARGO_PKG_VERSION").into(),
            pid: std::process::id(),
            data_dir: data_dir.display().to_string(),
            state: EngineState::Running,
            started_ms: now,
            metrics_interval_secs: config.metrics.interval_secs,
            last_sample_ms: None,
            last_error: None,
        };
        db.write(|c| write_status(c, &status, now))?;
        recover_interrupted(&db, now)?;
        let start = db.write(|c| presence::begin(c, now))?;
        let hostname = sysinfo::System::host_name().unwrap_or_else(|_| "this machine".into());
        let manager = db.write(|c| AlertManager::load(c, config.alerts.clone(), config.metrics.interval_secs, hostname.clone(), now))?;
        let (outbox_tx, outbox_rx) = mpsc::unbounded_channel();
        let core = Arc::new(Core::new(
            data_dir.clone(),
            hostname.clone(),
            options.clock.clone(),
            db,
            Alerts::new(manager),
            outbox_tx,
            config,
            status,
        ));

        if let Some(old) = set_aside {
            tell_database_set_aside(&core, old).await;
        }
        settle_config_alert(&core, config_problem).await;
        let (metrics, sampler) = metrics::service::Service::new(core.clone()).await?;
        let (checks, results) = checks::service::Service::new(core.clone())?;
        let (logs, lines) = logs::service::Service::new(core.clone());
        let (healing, again) = healing::service::Service::new(core.clone(), checks.clone());
        let analysis = analysis::service::Service::new(core.clone())?;
        let detectors = detectors::service::Service::new(core.clone());
        let backup = backup::service::Service::new(core.clone(), options.backup_worker.clone(), options.backup_stuck_after);
        let maintenance = maintenance::service::Service::new(core.clone());
        maintenance.set_backup_task(backup.maintenance_task());
        let presence = presence::service::Service::new(core.clone(), start, (options.boot_time)());
        let channels = channels::service::Service::new(core.clone(), options.notifier, options.notification_window, options.channel_retry);

        let mut tasks: Vec<JoinHandle<()>> = vec![
            tokio::spawn(metrics.clone().run(sampler)),
            tokio::spawn(metrics.clone().run_forecasts()),
            tokio::spawn(checks.clone().run(results)),
            tokio::spawn(checks.clone().run_retention()),
            tokio::spawn(alerts::service::run(core.clone())),
            tokio::spawn(logs.clone().run(lines)),
            tokio::spawn(logs.clone().run_retention()),
            tokio::spawn(detectors.clone().run()),
            tokio::spawn(detectors::unusual::service::Service::new(core.clone()).run()),
            tokio::spawn(maintenance.clone().run()),
            tokio::spawn(maintenance.clone().watch_results()),
            tokio::spawn(healing.clone().run(again)),
            tokio::spawn(analysis.clone().run()),
            tokio::spawn(backup.clone().run()),
            tokio::spawn(presence.clone().run()),
        ];
        tasks.extend(channels.start(outbox_rx, options.heartbeat_period, options.digest_tick));
        let services = Services {
            core: core.clone(),
            metrics,
            checks,
            logs,
            healing,
            analysis,
            detectors,
            backup,
            maintenance,
            presence: presence.clone(),
            channels,
            tasks: Mutex::new(tasks),
            lock: Mutex::new(Some(lock)),
            stopped: Default::default(),
            endpoints: Default::default(),
        };
        let handle = EngineHandle::new(Arc::new(services));
        // Hand edits of caretaker.toml apply while running.
        handle.services().add_task(tokio::spawn(crate::handle::reload::watch(handle.clone())));
        handle.restart_http().await;
        start_control(&handle, &data_dir);
        // A newer default prompt replaces an unedited one when the app is upgraded.
        if core.config().analysis.enabled {
            if let Err(e) = handle.services().analysis.reconcile_prompt().await {
                tracing::warn!("could not update the analysis prompt: {e}");
            }
        }
        handle.restart_alertmanager();
        handle.services().checks.restart();
        presence.announce().await;
        tracing::info!(data_dir = %data_dir.display(), interval_secs = core.config().metrics.interval_secs, "engine started");
        Ok(handle)
    }
}

/// The control socket for the CLI and an attached app. Without it the engine still watches the
/// machine, so a failure is said, not fatal.
#[cfg(unix)]
fn start_control(handle: &EngineHandle, data_dir: &Path) {
    let core = &handle.services().core;
    match crate::control::server::bind(data_dir) {
        Ok(l) => handle.services().add_task(tokio::spawn(crate::control::server::serve(handle.clone(), l, core.cancel.clone()))),
        Err(e) => {
            tracing::error!("the control socket could not start: {e}");
            core.set_error(Some(format!("the control socket could not start ({e}); the CLI and the app cannot reach this engine")));
        }
    }
}

#[cfg(not(unix))]
fn start_control(_: &EngineHandle, _: &Path) {}

const STOP_DEADLINE: Duration = Duration::from_secs(10);

/// Waits for every handle in parallel; false when `deadline` passed first.
async fn join_all_within(tasks: Vec<JoinHandle<()>>, deadline: Duration) -> bool {
    let mut set = tokio::task::JoinSet::new();
    for t in tasks {
        set.spawn(async move {
            let _ = t.await;
        });
    }
    tokio::time::timeout(deadline, async { while set.join_next().await.is_some() {} }).await.is_ok()
}

/// Stops every task at a safe point, records the stop, and releases the data dir. Order:
/// maintenance first (it waits for its current task), then the loops, then the probes.
pub(crate) async fn shutdown(s: &Services) {
    let core = &s.core;
    let mut running = false;
    core.update_status(|st| {
        running = st.state == EngineState::Running;
        if running {
            st.state = EngineState::Stopping;
        }
        running
    });
    if !running {
        // Another caller is stopping it: return when that is done, as if this one had.
        s.stopped.cancelled().await;
        return;
    }
    // Whatever happens below (even a panic), callers waiting for the stop are let go.
    let _done = s.stopped.clone().drop_guard();
    core.cancel.cancel();
    s.maintenance.stop().await;
    let mut tasks: Vec<_> = std::mem::take(&mut *s.tasks.lock().unwrap_or_else(|p| p.into_inner()));
    tasks.extend(s.checks.take_tasks());
    tasks.extend(s.channels.take_tasks());
    tasks.extend(s.endpoints.take_tasks());
    // All at once, under one deadline: a slow task does not make the next one wait its turn.
    let n = tasks.len();
    if !join_all_within(tasks, STOP_DEADLINE).await {
        tracing::warn!("not every one of {n} tasks stopped within {} s", STOP_DEADLINE.as_secs());
    }
    s.presence.stop().await;
    let c = core.clone();
    let _ = tokio::task::spawn_blocking(move || c.alerts.flush(&c.db)).await;
    core.update_status(|st| {
        st.state = EngineState::Stopped;
        true
    });
    tracing::info!("engine stopped");
    s.logs.detach();
    s.lock.lock().unwrap_or_else(|p| p.into_inner()).take();
}

/// What a data dir says about its engine, read without starting one (works while one runs).
#[derive(Debug, Clone, serde::Serialize)]
pub struct StoredStatus {
    pub data_dir: String,
    /// True when an engine is running and has recorded a sample recently.
    pub running: bool,
    pub engine: Option<EngineStatus>,
    pub host: Option<HostSample>,
    /// The latest result of every service that has one.
    pub checks: Vec<CheckResult>,
    /// Open alerts, newest first.
    pub alerts: Vec<Alert>,
}

pub fn read_status(data_dir: &Path, now_ms: i64) -> Result<StoredStatus> {
    let db = data_dir.join(paths::DB_FILE);
    if !db.exists() {
        return Err(EngineError::NotFound(format!("no Caretaker database in {} (has an engine ever run there?)", data_dir.display())));
    }
    let conn = store::open_reader(&db)?;
    let engine: Option<EngineStatus> = store::kv_get(&conn, "engine.status")?.and_then(|(v, _)| serde_json::from_str(&v).ok());
    let host: Option<HostSample> = store::kv_get(&conn, "host.latest")?.and_then(|(v, _)| serde_json::from_str(&v).ok());
    let running = engine.as_ref().is_some_and(|e| {
        let fresh = e.last_sample_ms.unwrap_or(e.started_ms);
        e.state == EngineState::Running && now_ms - fresh <= (e.metrics_interval_secs as i64 * 3 + 10) * 1000
    });
    let checks = checks::store::latest_all(&conn)?;
    let alerts = alerts::list_alerts(&conn, &AlertQuery { include_resolved: false, limit: 100, subject: None })?;
    Ok(StoredStatus { data_dir: data_dir.display().to_string(), running, engine, host, checks, alerts })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stuck_tasks_share_one_deadline_instead_of_one_each() {
        let stuck: Vec<JoinHandle<()>> = (0..5).map(|_| tokio::spawn(std::future::pending::<()>())).collect();
        let t = std::time::Instant::now();
        assert!(!join_all_within(stuck, Duration::from_secs(1)).await);
        // One deadline, not five in a row.
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());

        let quick: Vec<JoinHandle<()>> = (0..5).map(|_| tokio::spawn(async {})).collect();
        assert!(join_all_within(quick, Duration::from_secs(5)).await);
    }
}
