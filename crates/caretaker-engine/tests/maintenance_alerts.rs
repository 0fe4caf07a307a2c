//! A maintenance task that fails raises an alert naming the task and the reason (not only a log
//! line); the next run in which it completes resolves it.

mod common;

use caretaker_engine::alerts::{AlertStatus, Severity};
use caretaker_engine::config::section::ConfigSection;
use caretaker_engine::config::CommandTask;
use caretaker_engine::maintenance::TaskStatus;
use caretaker_engine::{Engine, EngineOptions, Event};
use common::{until, wait_for, write_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_task_raises_a_warning_naming_it_and_a_later_success_resolves_it() {
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        "[metrics]\ninterval_secs = 60\n[notifications]\nenabled = false\n[maintenance.command]\nargv = [\"false\"]\n",
    );
    let engine = Engine::start(EngineOptions::new(dir.path())).await.unwrap();
    let mut rx = engine.subscribe();
    engine.run_maintenance().unwrap();
    let report = wait_for(&mut rx, 60, |e| match e {
        Event::MaintenanceComplete { report } => Some(report.clone()),
        _ => None,
    })
    .await;
    let task = report.tasks.iter().find(|t| t.task_id == "run_command").unwrap();
    assert_eq!(task.status, TaskStatus::Failed, "{task:?}");

    let alert = until("the failed task's alert", 30, async || {
        engine.snapshot().alerts.into_iter().find(|a| a.rule == "maintenance" && a.status != AlertStatus::Resolved)
    })
    .await;
    assert_eq!(alert.subject, "run_command");
    assert_eq!(alert.alert_type, "maintenance_failed");
    assert_eq!(alert.severity, Severity::Warning);
    assert!(alert.title.contains("Run a maintenance command"), "{}", alert.title);
    assert!(alert.message.contains(task.message.as_deref().unwrap_or("?")), "{} / {:?}", alert.message, task.message);
    assert!(caretaker_engine::alerts::runbook(&alert.alert_type).is_some());
    // Tasks that completed raised nothing.
    assert_eq!(engine.snapshot().alerts.iter().filter(|a| a.rule == "maintenance").count(), 1);

    let mut m = engine.config().maintenance;
    m.command = Some(CommandTask { argv: vec!["true".into()], ..m.command.clone().unwrap() });
    engine.save_config_section(ConfigSection::Maintenance(m)).await.unwrap();
    engine.run_maintenance().unwrap();
    wait_for(&mut rx, 60, |e| matches!(e, Event::MaintenanceComplete { .. }).then_some(())).await;
    until("the alert resolves", 30, async || {
        let open = engine.snapshot().alerts.into_iter().any(|a| a.rule == "maintenance" && a.status != AlertStatus::Resolved);
        (!open).then_some(())
    })
    .await;
}
