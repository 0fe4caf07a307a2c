//! `caretaker backup …` against a running engine and a real repository (restic's format, made
//! by the engine): run, snapshots, verify, and restores that never replace a file unasked.

use crate::common::{json_values, text, tree, Engine, PASSWORD};
use serde_json::{json, Value};
use std::path::Path;

/// Creates a plan the way the app does: through the control socket (the CLI has no command
/// for it; choosing folders and a password is the window's job).
fn create_plan(data: &Path, name: &str, src: &Path, repo: &Path) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let client = caretaker_engine::control::Client::connect(data).await.expect("connect");
        let plan = json!({
            "name": name,
            "sources": [src.display().to_string()],
            "repository": repo.display().to_string(),
            "schedule": "manual",
            "include_caretaker_data": false,
        });
        client.call("create_backup_plan", json!({ "plan": plan, "password": PASSWORD })).await.expect("create the plan")
    })
}

/// The restore's summary printed by `--json`.
fn restored(engine: &Engine, plan: &str, to: &Path, on_conflict: &str) -> Value {
    engine.json(&["backup", "restore", plan, "latest", "--to", to.to_str().expect("utf-8"), "--on-conflict", on_conflict, "--json"])
}

#[test]
fn back_up_list_verify_and_restore_without_replacing_anything_unasked() {
    let engine = Engine::start("");
    let (src, repo) = (engine.tmp.path().join("Documents"), engine.tmp.path().join("disk/repo"));
    std::fs::create_dir_all(src.join("letters")).expect("mkdir");
    // The disk is there; the repository in it is the engine's to make.
    std::fs::create_dir_all(engine.tmp.path().join("disk")).expect("mkdir");
    std::fs::write(src.join("letters/dear.txt"), b"Dear you,\n").expect("write");
    let photo: Vec<u8> = (0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(src.join("photo.raw"), &photo).expect("write");
    std::fs::write(src.join("notes.md"), b"# notes\n").expect("write");
    let created = create_plan(&engine.data, "Docs", &src, &repo);
    assert_eq!(created["existing_repository"], false, "{created}");
    assert!(repo.join("config").is_file(), "the engine made the repository");

    let out = engine.cli(&["backup", "run", "Docs", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let values = json_values(&out);
    let run = values.last().expect("the run");
    assert_eq!((run["kind"].as_str(), run["status"].as_str(), run["plan"].as_str()), (Some("backup"), Some("ok"), Some("Docs")), "{run}");
    let snapshot = run["snapshot_id"].as_str().expect("a snapshot id").to_string();
    assert_eq!(snapshot.len(), 64);
    assert_eq!(run["files_new"], 3, "{run}");
    assert!(
        values[..values.len() - 1].iter().all(|v| v["type"] == "backup_progress" || v["type"] == "backup_finished"),
        "progress events, then the run: {values:?}"
    );

    let snapshots = engine.json(&["backup", "snapshots", "Docs", "--json"]);
    let list = snapshots.as_array().expect("array");
    assert_eq!(list.len(), 1, "{snapshots}");
    assert_eq!(list[0]["id"], snapshot.as_str());
    assert_eq!(list[0]["paths"], json!([src.display().to_string()]));

    let out = engine.cli(&["backup", "verify", "Docs", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let check: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!((check["kind"].as_str(), check["status"].as_str()), (Some("check"), Some("ok")), "{check}");

    // Into an empty folder: byte for byte. A whole snapshot keeps its absolute paths.
    let to = engine.tmp.path().join("restored");
    std::fs::create_dir(&to).expect("mkdir");
    let summary = engine.json(&["backup", "restore", "Docs", "latest", "--to", to.to_str().expect("utf-8"), "--json"]);
    assert_eq!((summary["files_restored"].as_u64(), summary["files_skipped"].as_u64()), (Some(3), Some(0)), "{summary}");
    let copy = to.join(src.strip_prefix("/").expect("absolute"));
    let contents = |t: std::collections::BTreeMap<_, (Vec<u8>, _)>| t.into_iter().map(|(p, (b, _))| (p, b)).collect::<Vec<_>>();
    assert_eq!(contents(tree(&copy)), contents(tree(&src)));

    // A changed file in the way, then the same restore with no choice and no terminal to ask on.
    std::fs::write(copy.join("notes.md"), b"# my newer notes\n").expect("write");
    let before = tree(&to);
    let out = engine.cli(&["backup", "restore", "Docs", "latest", "--to", to.to_str().expect("utf-8")]);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert!(err.contains("3 files already exist") && err.contains("nothing was written"), "{err}");
    assert!(err.contains("--on-conflict skip, keep-both or overwrite"), "{err}");
    assert_eq!(tree(&to), before, "not a byte or a timestamp changed");

    let summary = restored(&engine, "Docs", &to, "skip");
    assert_eq!((summary["files_skipped"].as_u64(), summary["files_restored"].as_u64()), (Some(3), Some(0)), "{summary}");
    assert_eq!(tree(&to), before, "skipping leaves every file alone");

    let summary = restored(&engine, "Docs", &to, "keep-both");
    assert_eq!((summary["files_renamed"].as_u64(), summary["files_restored"].as_u64()), (Some(3), Some(3)), "{summary}");
    let after = tree(&to);
    for (path, kept) in &before {
        assert_eq!(after.get(path), Some(kept), "{} is left as it was", path.display());
    }
    let beside: Vec<_> = after.keys().filter(|p| !before.contains_key(*p)).collect();
    assert_eq!(beside.len(), 3, "{beside:?}");
    let notes_copy = beside
        .iter()
        .find(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("notes (restored ") && n.ends_with(".md")))
        .unwrap_or_else(|| panic!("a copy of notes.md beside it: {beside:?}"));
    assert_eq!(after[*notes_copy].0, b"# notes\n");

    let summary = restored(&engine, "Docs", &to, "overwrite");
    assert_eq!(summary["files_overwritten"].as_u64(), Some(3), "{summary}");
    assert!(summary["safety_snapshot"].as_str().is_some_and(|s| s.len() == 64), "{summary}");
    assert_eq!(std::fs::read(copy.join("notes.md")).expect("read"), b"# notes\n");
    assert_eq!(std::fs::read(copy.join("photo.raw")).expect("read"), photo);
    assert_eq!(tree(&to).len(), 6, "the copies kept beside stay");

    let history = engine.json(&["backup", "history", "Docs", "--json"]);
    let kinds: Vec<&str> = history.as_array().expect("array").iter().filter_map(|r| r["kind"].as_str()).collect();
    for kind in ["backup", "forget", "check", "restore"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
}
