//! The Settings page's operations on a real engine and file: a section saved from the app is
//! validated with the field named, written into its table only (comments kept) and applied at
//! once; settings exported from one machine import on another, checked first.

use caretaker_engine::config::section::ConfigSection;
use caretaker_engine::{Engine, EngineOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_section_saved_from_the_app_applies_at_once_and_keeps_the_rest_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("caretaker.toml");
    std::fs::write(&path, "# my machine\n[metrics]\ninterval_secs = 60 # slow on purpose\n[notifications]\nenabled = false\n").unwrap();
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();

    let mut alerts = engine.settings().alerts;
    alerts.cpu.warning = 60.0;
    alerts.cpu.for_secs = Some(120);
    let saved = engine.save_config_section(ConfigSection::Alerts(Box::new(alerts.clone()))).await.unwrap();
    assert_eq!((saved.alerts.cpu.warning, saved.alerts.cpu.for_secs), (60.0, Some(120)));
    assert_eq!(engine.settings().alerts, alerts, "in force at once");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("# my machine") && text.contains("interval_secs = 60 # slow on purpose"), "{text}");
    assert!(text.contains("[alerts.cpu]") && text.contains("warning = 60.0"), "{text}");

    // A wrong value is refused with its field named, and nothing changes.
    let mut bad = alerts.clone();
    bad.cpu.warning = 120.0;
    let err = engine.save_config_section(ConfigSection::Alerts(Box::new(bad))).await.unwrap_err().to_string();
    assert!(err.contains("alerts.cpu"), "{err}");
    assert_eq!(engine.settings().alerts.cpu.warning, 60.0);

    // Restore defaults for one section.
    let defaults = engine.default_settings().alerts;
    engine.save_config_section(ConfigSection::Alerts(Box::new(defaults.clone()))).await.unwrap();
    assert_eq!(engine.settings().alerts, defaults);

    // Export here, import on a second machine.
    let mut maintenance = engine.settings().maintenance;
    maintenance.daily_at = "02:10".into();
    engine.save_config_section(ConfigSection::Maintenance(maintenance)).await.unwrap();
    let exported = engine.export_settings().unwrap();
    engine.shutdown().await;

    let other = tempfile::tempdir().unwrap();
    let second = Engine::start(EngineOptions::new(other.path())).await.unwrap();
    let err = second.import_settings(exported.replace("daily_at = \"02:10\"", "daily_at = \"25:99\"")).await.unwrap_err().to_string();
    assert!(err.contains("maintenance.daily_at"), "{err}");
    assert_ne!(second.settings().maintenance.daily_at, "02:10", "a bad file changes nothing");
    let imported = second.import_settings(exported).await.unwrap();
    assert_eq!((imported.maintenance.daily_at.as_str(), imported.metrics.interval_secs), ("02:10", 60));
    assert_eq!(second.settings(), imported);
    assert!(other.path().join("caretaker.before-import.toml").exists(), "the replaced file is kept");
    second.shutdown().await;
}
