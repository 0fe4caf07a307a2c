//! The backups overview runs on every UI refresh and every /metrics scrape; it must never ask the
//! password store (a keychain may block for tens of seconds). Alone in its binary because it
//! reads a process-wide count of lookups.

mod common;

use caretaker_engine::backup::secret;
use caretaker_engine::backup::PasswordStorage;
use caretaker_engine::{Engine, EngineOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_never_asks_the_password_store() {
    std::env::set_var(secret::KEYCHAIN_ENV, "off");
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, repo, src) = (dir.path().join("data"), dir.path().join("repo"), dir.path().join("src"));
    std::fs::create_dir_all(&src).expect("sources");
    common::write_config(
        &data,
        &format!(
            "[[backups.plans]]\nname = \"Docs\"\nsources = [\"{}\"]\nrepository = \"{}\"\nschedule = \"manual\"\nhost = \"test-mini\"\ninclude_caretaker_data = false\n",
            src.display(),
            repo.display()
        ),
    );
    let repository = repo.to_string_lossy().into_owned();
    assert_eq!(secret::store(&data, &repository, "s3cret pass").expect("store"), secret::Storage::File);

    let handle = Engine::start(EngineOptions::new(&data)).await.expect("start");
    // Learned once, in the background, shortly after start.
    common::until("the overview to know where the password is", 20, async || {
        let o = handle.backups_overview().await.ok()?;
        (o.plans.first()?.password == PasswordStorage::File).then_some(())
    })
    .await;

    let before = secret::lookups();
    for _ in 0..50 {
        let o = handle.backups_overview().await.expect("overview");
        assert_eq!(o.plans[0].password, PasswordStorage::File);
    }
    assert_eq!(secret::lookups(), before, "the overview asked the password store");
    handle.shutdown().await;
}
