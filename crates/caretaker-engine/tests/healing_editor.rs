//! The Healing page's editor on a real engine and file: an action added from the app is
//! validated with the field named, written into `[healing]` only (comments kept) and used at
//! once; a dry run says what an action would do and to what, and does none of it.

use caretaker_engine::config::{ActionConfig, HealingMode};
use caretaker_engine::{Engine, EngineHandle, EngineOptions};
use std::time::{Duration, SystemTime};

fn action(id: &str, kind: &str) -> ActionConfig {
    toml::from_str(&format!("id = \"{id}\"\nname = \"Action {id}\"\non_alerts = [\"disk\"]\n{kind}\n")).unwrap()
}

async fn start(dir: &std::path::Path, body: &str) -> EngineHandle {
    std::fs::write(dir.join("caretaker.toml"), body).unwrap();
    Engine::start(EngineOptions::new(dir)).await.unwrap()
}

/// Whether `pid` is still running (a zombie counts as gone).
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')),
        Err(_) if std::path::Path::new("/proc/self").exists() => false,
        Err(_) => std::process::Command::new("kill").args(["-0", &pid.to_string()]).status().is_ok_and(|s| s.success()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_saved_from_the_app_is_in_the_file_and_in_force_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("caretaker.toml");
    let engine = start(
        dir.path(),
        "# my machine\n[metrics]\ninterval_secs = 60 # slow on purpose\n[notifications]\nenabled = false\n\n[healing]\n# tuned by hand\nmax_actions_per_hour = 4\n",
    )
    .await;

    let added = engine.save_healing_action(None, action("web", "command = { argv = [\"/bin/echo\", \"restart web\"] }")).await.unwrap();
    assert_eq!(added.actions.iter().map(|a| a.config.id.as_str()).collect::<Vec<_>>(), ["web"]);
    assert_eq!(engine.healing_actions().await.unwrap().len(), 1, "the healing service lists it at once");
    assert_eq!(engine.config().healing.actions[0].command.as_ref().unwrap().argv, ["/bin/echo", "restart web"]);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("# my machine") && text.contains("interval_secs = 60 # slow on purpose"), "{text}");
    assert!(text.contains("# tuned by hand") && text.contains("[[healing.actions]]") && text.contains("restart web"), "{text}");

    // A second action, then a bad one: refused with its field named, nothing changed.
    engine.save_healing_action(None, action("tmp", "kill_process = { name = \"node\", memory_above_mb = 4000 }")).await.unwrap();
    let before = std::fs::read_to_string(&path).unwrap();
    let err = engine.save_healing_action(None, action("bad", "command = { argv = [\"/bin/true\"], timeout_secs = 0 }")).await.unwrap_err();
    assert!(err.to_string().contains("healing.actions[2].command.timeout_secs"), "{err}");
    assert_eq!(err.payload().fields, ["healing.actions[2].command.timeout_secs"]);
    let err = engine.save_healing_action(None, action("web", "command = { argv = [\"/bin/true\"] }")).await.unwrap_err();
    assert!(err.to_string().contains("healing.actions[2].id"), "an id in use: {err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before, "the file is untouched");
    assert_eq!(engine.config().healing.actions.len(), 2);

    // Edit in place, switch its mode, change the limit for all actions.
    let mut web = engine.config().healing.actions[0].clone();
    web.name = "Restart the web app".into();
    engine.save_healing_action(Some("web".into()), web).await.unwrap();
    let switched = engine.set_healing_mode("web".into(), HealingMode::Off).await.unwrap();
    assert_eq!((switched.actions[0].config.name.as_str(), switched.actions[0].config.mode), ("Restart the web app", HealingMode::Off));
    let limited = engine.set_healing_limit(9).await.unwrap();
    assert_eq!(limited.max_actions_per_hour, 9);
    let err = engine.set_healing_limit(0).await.unwrap_err();
    assert!(err.to_string().contains("healing.max_actions_per_hour"), "{err}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("# tuned by hand\nmax_actions_per_hour = 9"), "{text}");
    assert!(text.contains("mode = \"off\""), "{text}");

    // Remove.
    let left = engine.delete_healing_action("web".into()).await.unwrap();
    assert_eq!(left.actions.iter().map(|a| a.config.id.as_str()).collect::<Vec<_>>(), ["tmp"]);
    assert!(engine.delete_healing_action("web".into()).await.is_err(), "gone already");
    engine.delete_healing_action("tmp".into()).await.unwrap();
    assert!(engine.healing_actions().await.unwrap().is_empty());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("[[healing.actions]]") && text.contains("# my machine"), "{text}");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_of_clear_folder_counts_what_would_go_and_deletes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let engine = start(dir.path(), "[notifications]\nenabled = false\n").await;
    let target = tempfile::tempdir().unwrap();
    let cache = target.path().join("cache");
    std::fs::create_dir_all(cache.join("sub")).unwrap();
    let now = SystemTime::now();
    let day = Duration::from_secs(86_400);
    for (name, size, days) in [("old-a.log", 1000, 10), ("sub/old-b.log", 2500, 30), ("new.log", 700, 1)] {
        let p = cache.join(name);
        std::fs::write(&p, vec![b'x'; size]).unwrap();
        std::fs::File::options().write(true).open(&p).unwrap().set_modified(now - day * days).unwrap();
    }
    let cfg = action("cache", &format!("clear_folder = {{ path = {:?}, older_than_days = 7 }}", cache.display().to_string()));

    // Unsaved, from the form.
    let run = engine.dry_run_healing_action(None, Some(cfg.clone())).await.unwrap();
    let f = run.folder.as_ref().expect("a folder preview");
    assert_eq!((f.files, f.bytes), (2, 3500), "{run:?}");
    let oldest = f.oldest_age_secs.unwrap();
    assert!((29 * 86_400..31 * 86_400).contains(&oldest), "the oldest is 30 days old: {oldest}");
    assert_eq!(f.first_paths.len(), 2);
    assert!(f.first_paths.iter().all(|p| p.ends_with("old-a.log") || p.ends_with("old-b.log")), "{:?}", f.first_paths);
    assert!(run.argv.is_empty() && run.refused.is_none());
    assert!(run.summary.starts_with("would delete 2 files"), "{}", run.summary);
    assert_eq!((run.guard.mode, run.guard.would_run), (HealingMode::Escalate, false));
    for name in ["old-a.log", "sub/old-b.log", "new.log"] {
        assert!(cache.join(name).exists(), "{name} is still there");
    }

    // Saved, by its id; and an unsafe folder is refused with its field named.
    engine.save_healing_action(None, cfg).await.unwrap();
    let run = engine.dry_run_healing_action(Some("cache".into()), None).await.unwrap();
    assert_eq!(run.folder.map(|f| f.files), Some(2));
    let err = engine.dry_run_healing_action(None, Some(action("root", "clear_folder = { path = \"/\" }"))).await.unwrap_err();
    assert!(err.to_string().contains("clear_folder.path"), "{err}");
    assert!(engine.dry_run_healing_action(Some("nope".into()), None).await.is_err());
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_of_kill_process_lists_what_matches_and_stops_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let engine = start(dir.path(), "[notifications]\nenabled = false\n").await;
    let mut child = std::process::Command::new("sleep").arg("300.4242").spawn().unwrap();
    let pid = child.id();

    let cfg = action("sleepers", "mode = \"auto\"\nkill_process = { name = \"sleep\", memory_above_mb = 0 }");
    let run = engine.dry_run_healing_action(None, Some(cfg)).await.unwrap();
    let alive = running(pid);
    let _ = child.kill();
    let _ = child.wait();
    let found = run.processes.expect("a process list");
    assert!(found.iter().any(|p| p.pid == pid && p.name == "sleep"), "{found:?}");
    assert!(run.summary.contains(&pid.to_string()), "{}", run.summary);
    assert!(alive, "the dry run stopped nothing");
    assert!(run.guard.would_run, "auto, no runs yet: {:?}", run.guard);

    // A command shows its exact argv, folder and timeout.
    let cmd = action("cmd", "command = { argv = [\"/bin/echo\", \"a b\", \"$HOME\"], working_dir = \"/\", timeout_secs = 30 }");
    let run = engine.dry_run_healing_action(None, Some(cmd)).await.unwrap();
    assert_eq!(run.argv, ["/bin/echo", "a b", "$HOME"]);
    assert_eq!((run.working_dir.as_deref(), run.timeout_secs), (Some("/"), Some(30)));
    engine.shutdown().await;
}
