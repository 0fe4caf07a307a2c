//! A database that cannot be written (a full disk) must not silence alerting: the alert state
//! goes on in memory, its notice still goes out, and the person is told once that nothing is
//! being recorded; the alert clears when writes succeed again.
#![allow(clippy::field_reassign_with_default)]

use caretaker_engine::alerts::{AlertManager, Severity};
use caretaker_engine::config::AlertsConfig;
use caretaker_engine::metrics::DiskSample;
use caretaker_engine::store::Db;
use caretaker_engine::HostSample;

fn full_disk(at: i64) -> HostSample {
    let mut s = HostSample::default();
    s.ts_ms = at;
    s.disks = vec![DiskSample { mount_point: "/".into(), used_percent: 100.0, total_bytes: 100, used_bytes: 100, ..Default::default() }];
    s
}

fn set_query_only(db: &Db, on: bool) {
    db.write(|c| Ok(c.pragma_update(None, "query_only", on)?)).unwrap();
}

#[test]
fn a_disk_alert_is_notified_when_its_row_cannot_be_written_and_the_database_alert_is_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("t.db")).unwrap();
    let mut cfg = AlertsConfig::default();
    cfg.disk.for_secs = Some(0);
    let mut m = db.write(|c| AlertManager::load(c, cfg, 5, "mini".into(), 0)).unwrap();

    // Every write now fails with a real SQLite error.
    set_query_only(&db, true);
    let (fx, health) = db
        .write(|c| {
            let fx = m.on_host_sample(c, &full_disk(1_000), 1_000)?;
            Ok((fx, m.settle_database(c, 1_000)))
        })
        .unwrap();
    assert_eq!(fx.notices.len(), 1, "{fx:?}");
    assert_eq!(fx.notices[0].severity, Severity::Critical);
    assert!(fx.notices[0].title.starts_with("Disk / at 100 %"), "{:?}", fx.notices[0]);
    assert_eq!(health.notices.len(), 1, "{health:?}");
    assert!(health.notices[0].title.starts_with("Caretaker cannot write its database: "), "{:?}", health.notices[0]);
    assert!(health.notices[0].title.contains("readonly"), "{:?}", health.notices[0]);
    assert_eq!(m.open_alerts().len(), 2);

    // Still failing: said once, not on every write.
    let again = db
        .write(|c| {
            m.on_host_sample(c, &full_disk(2_000), 2_000)?;
            m.note_write(Err("database or disk is full".into()));
            Ok(m.settle_database(c, 2_000))
        })
        .unwrap();
    assert!(again.notices.is_empty(), "{again:?}");

    // Writes work again: the database alert clears, and the rows missed meanwhile are written.
    set_query_only(&db, false);
    let recovered = db
        .write(|c| {
            m.note_write(Ok(()));
            Ok(m.settle_database(c, 3_000))
        })
        .unwrap();
    assert_eq!(recovered.notices.len(), 1, "{recovered:?}");
    assert!(recovered.notices[0].recovery);
    assert_eq!(recovered.notices[0].title, "Recovered: Caretaker can write its database again");
    let rows: Vec<(String, String)> = db
        .read(|c| {
            let mut st = c.prepare("SELECT rule, status FROM alert_events ORDER BY id")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .unwrap();
    assert_eq!(rows, vec![("disk".into(), "active".into()), ("database".into(), "resolved".into())]);
}

/// A small ext4 file system on a loop device, unmounted on drop; None where this machine cannot
/// mount one (not root, no loop devices).
struct SmallDisk {
    mount: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    fn new() -> Option<SmallDisk> {
        let dir = tempfile::tempdir().ok()?;
        let image = dir.path().join("disk.img");
        let mount = dir.path().join("mnt");
        std::fs::create_dir(&mount).ok()?;
        std::fs::File::create(&image).ok()?.set_len(8 << 20).ok()?;
        let ok =
            |prog: &str, args: &[&std::ffi::OsStr]| std::process::Command::new(prog).args(args).output().is_ok_and(|o| o.status.success());
        // No blocks reserved for root: the test runs as root and must be able to fill it.
        if !ok("mkfs.ext4", &["-q".as_ref(), "-m".as_ref(), "0".as_ref(), image.as_os_str()])
            || !ok("mount", &["-o".as_ref(), "loop".as_ref(), image.as_os_str(), mount.as_os_str()])
        {
            return None;
        }
        Some(SmallDisk { mount, _dir: dir })
    }

    /// Writes zeros until the file system says it is full.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.mount.join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 64 << 10];
        while f.write_all(&chunk).and_then(|_| f.sync_all()).is_ok() {}
        let small = [0u8; 512];
        while f.write_all(&small).and_then(|_| f.sync_all()).is_ok() {}
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.mount).output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_data_disk_still_raises_and_notifies_the_disk_alert() {
    use caretaker_engine::{Engine, EngineOptions, Event};
    use std::time::{Duration, Instant};
    let Some(disk) = SmallDisk::new() else {
        eprintln!("SKIPPED a_full_data_disk_still_raises_and_notifies_the_disk_alert: cannot mount a loop file system here (needs root and /dev/loop*)");
        return;
    };
    let data = disk.mount.join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(
        data.join("caretaker.toml"),
        "[metrics]\ninterval_secs = 1\n\n[alerts.cpu]\nwarning = 75.0\ncritical = 90.0\nenabled = false\n\n\
         [alerts.memory]\nwarning = 80.0\ncritical = 95.0\nenabled = false\n\n[alerts.disk]\nwarning = 85.0\ncritical = 95.0\nfor_secs = 0\n",
    )
    .unwrap();
    let mut options = EngineOptions::new(&data);
    options.notification_window = Duration::from_millis(10);
    let engine = Engine::start(options).await.unwrap();
    let mut rx = engine.subscribe();
    let mount = disk.mount.display().to_string();
    let disk_title = format!("Disk {mount} at ");

    let mut notices: Vec<String> = Vec::new();
    // Running, and its disk is nearly empty: no disk alert yet.
    loop {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Ok(Event::HostSample { sample, .. })) if sample.disks.iter().any(|d| d.mount_point == mount) => break,
            Ok(Ok(_)) => continue,
            other => panic!("no sample listing {mount}: {other:?}"),
        }
    }
    assert!(engine.snapshot().alerts.iter().all(|a| a.rule != "disk" || !a.subject.contains(&mount)));

    let filler = disk.fill();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(notices.iter().any(|t| t.starts_with(&disk_title))
        && notices.iter().any(|t| t.starts_with("The disk that holds Caretaker's data is full")))
    {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Ok(Event::Notification { notice })) => notices.push(notice.title),
            Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
            other => panic!("no disk alert and database notice within 30 s of filling the disk: {other:?}; notices: {notices:?}"),
        }
    }
    let open = engine.snapshot().alerts;
    assert!(open.iter().any(|a| a.alert_type == "data_disk_full"), "{open:?}");
    // The full disk explains the failing writes: one alert says so, not a second one.
    assert!(open.iter().all(|a| a.alert_type != "db_write_failed"), "{open:?}");
    assert!(!notices.iter().any(|t| t.starts_with("Caretaker cannot write its database")), "{notices:?}");

    // Space again: the data disk alert clears.
    std::fs::remove_file(filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !notices.iter().any(|t| t.starts_with("Recovered: The disk that holds Caretaker's data")) {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Ok(Event::Notification { notice })) => notices.push(notice.title),
            Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
            other => panic!("no recovery within 30 s of freeing the disk: {other:?}; notices: {notices:?}"),
        }
    }
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_runs_its_tasks_on_a_full_data_disk_even_though_it_cannot_record_them() {
    use caretaker_engine::maintenance::TaskStatus;
    use caretaker_engine::{Engine, EngineOptions, Event};
    use std::time::Duration;
    let Some(disk) = SmallDisk::new() else {
        eprintln!(
            "SKIPPED maintenance_runs_its_tasks_on_a_full_data_disk: cannot mount a loop file system here (needs root and /dev/loop*)"
        );
        return;
    };
    let data = disk.mount.join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("caretaker.toml"), "[metrics]\ninterval_secs = 60\n[notifications]\nenabled = false\n").unwrap();
    let engine = Engine::start(EngineOptions::new(&data)).await.unwrap();
    let _filler = disk.fill();
    let mut rx = engine.subscribe();
    engine.run_maintenance().expect("a run starts even when it cannot be recorded");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let report = loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(Event::MaintenanceComplete { report })) => break report,
            Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => continue,
            other => panic!("no maintenance_complete within 60 s: {other:?}"),
        }
    };
    let status = |id: &str| report.tasks.iter().find(|t| t.task_id == id).map(|t| t.status);
    assert_eq!(status("prune_retention"), Some(TaskStatus::Completed), "{report:?}");
    assert_eq!(status("clean_temp"), Some(TaskStatus::Completed), "{report:?}");
    assert_eq!(report.tasks.len(), caretaker_engine::maintenance::task_list().len(), "every task had its turn: {report:?}");
    engine.shutdown().await;
}
