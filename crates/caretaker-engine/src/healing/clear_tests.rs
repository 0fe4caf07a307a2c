use super::*;
use std::fs::File;
use std::time::SystemTime;

fn old_file(path: &Path, bytes: usize, days: u64) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, vec![b'x'; bytes]).unwrap();
    let f = File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(days * 86_400)).unwrap();
}

fn action(path: &Path, days: u64) -> ClearFolderAction {
    ClearFolderAction { path: path.display().to_string(), older_than_days: days }
}

/// A home and a data folder of our own, so the test never depends on the real ones.
fn sandbox() -> (tempfile::TempDir, Protected) {
    let t = tempfile::tempdir().unwrap();
    let home = t.path().join("home/me");
    let data = t.path().join("home/me/Library/Caretaker");
    std::fs::create_dir_all(&data).unwrap();
    (t, Protected { home: Some(home), data_dir: Some(data) })
}

#[test]
fn the_root_system_folders_home_and_data_folder_are_refused() {
    let (t, p) = sandbox();
    for bad in ["/..", "/", "/tmp/..", "/usr", "/etc/ssh", "/tmp", "/var", "/home", "/Users", "/private/tmp"] {
        let e = resolve(bad, &p).unwrap_err();
        assert!(e.contains("system folder"), "{bad}: {e}");
    }
    let home = t.path().join("home/me");
    let e = resolve(&home.display().to_string(), &p).unwrap_err();
    assert!(e.contains("your home folder"), "{e}");
    // The folder holding every home (`/Users`, `/home`) is an ancestor of this home.
    let e = resolve(&t.path().join("home").display().to_string(), &p).unwrap_err();
    assert!(e.contains("your home folder"), "{e}");
    let e = resolve(&format!("{}/home/me/Library/Caretaker/../Caretaker", t.path().display()), &p).unwrap_err();
    assert!(e.contains("Caretaker's data folder"), "{e}");
    let e = resolve(&home.join("Library").display().to_string(), &p).unwrap_err();
    assert!(e.contains("Caretaker's data folder"), "{e}");
    assert!(resolve("cache", &p).unwrap_err().contains("absolute"));
    // A symlink is judged by what it points at.
    let link = t.path().join("innocent");
    std::os::unix::fs::symlink(&home, &link).unwrap();
    let e = resolve(&link.display().to_string(), &p).unwrap_err();
    assert!(e.contains("your home folder") && e.contains("which is"), "{e}");
    // A cache inside the home is fine, even before it exists.
    let cache = home.join("Library/Caches/app");
    assert_eq!(
        resolve(&cache.display().to_string(), &p).unwrap(),
        std::fs::canonicalize(t.path()).unwrap().join("home/me/Library/Caches/app")
    );
}

#[test]
fn a_symlink_inside_the_folder_is_removed_never_followed() {
    let (t, p) = sandbox();
    let cache = t.path().join("cache");
    let outside = t.path().join("precious");
    old_file(&outside.join("keep.txt"), 10, 90);
    old_file(&cache.join("old.bin"), 100, 90);
    old_file(&cache.join("sub/old.bin"), 100, 90);
    old_file(&cache.join("new.bin"), 100, 0);
    std::os::unix::fs::symlink(&outside, cache.join("to-dir")).unwrap();
    std::os::unix::fs::symlink(outside.join("keep.txt"), cache.join("to-file")).unwrap();
    let (real, swept) = clear(&action(&cache, 7), &p).unwrap();
    assert_eq!(real, std::fs::canonicalize(&cache).unwrap());
    assert_eq!((swept.files, swept.bytes, swept.error), (2, 200, None));
    assert!(outside.join("keep.txt").exists(), "the target of a link is untouched");
    assert!(cache.join("new.bin").exists() && !cache.join("old.bin").exists() && !cache.join("sub/old.bin").exists());
}

/// The race a path-based delete loses: a sub-folder already listed is swapped for a symlink to
/// a folder outside. Opening it without following links refuses, so nothing outside goes.
#[test]
fn a_sub_folder_swapped_for_a_symlink_is_not_entered() {
    let (t, _) = sandbox();
    let cache = std::fs::canonicalize(t.path()).unwrap().join("cache");
    let outside = t.path().join("precious");
    old_file(&outside.join("keep.txt"), 10, 90);
    old_file(&cache.join("d/old.bin"), 10, 90);
    let dir = crate::maintenance::sweep::open_dir_strict(&cache).unwrap();
    // The swap happens between listing `d` and opening it.
    std::fs::rename(cache.join("d"), cache.join("d.bak")).unwrap();
    std::os::unix::fs::symlink(&outside, cache.join("d")).unwrap();
    assert!(rustix::fs::openat(&dir, "d", crate::maintenance::sweep::dir_flags(), rustix::fs::Mode::empty()).is_err());
    let swept = sweep::sweep_canonical(&cache, &how(&action(&cache, 7), false));
    assert_eq!(swept.files, 1, "only the file in the real folder: {swept:?}");
    assert!(outside.join("keep.txt").exists());
    // A path through a symlink is refused outright by the strict open.
    assert!(crate::maintenance::sweep::open_dir_strict(&cache.join("d")).is_err());
}

#[test]
fn the_preview_names_the_resolved_folder_the_age_and_what_would_go() {
    let (t, p) = sandbox();
    let cache = t.path().join("cache");
    old_file(&cache.join("a"), 1_500_000, 30);
    old_file(&cache.join("b/c"), 1_000_000, 30);
    old_file(&cache.join("fresh"), 1_000_000, 1);
    let via = t.path().join("cache/b/..");
    let text = preview(&action(&via, 7), &p);
    let real = std::fs::canonicalize(&cache).unwrap();
    assert_eq!(text, format!("would delete 2 files, 2.5 MB, older than 7 days in {}", real.display()));
    assert!(cache.join("a").exists(), "a dry run removes nothing");
    assert!(preview(&action(Path::new("/"), 7), &p).starts_with("would refuse to run: \"/\" is or contains the system folder /"));
}
