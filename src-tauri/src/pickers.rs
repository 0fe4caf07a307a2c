//! Native folder and file pickers, beside every field that asks for a path (backup sources, a
//! repository, a restore destination, a folder an action clears, a CA file), and the settings
//! file written or read where the person chose. The dialog is drawn by the OS from Rust: the
//! window gets no dialog or file-system permission, only these commands, and a file is read or
//! written only at a path the person picked in the dialog itself.

use caretaker_engine::{EngineError, ErrorPayload};
use std::path::{Path, PathBuf};
use tauri::AppHandle;
use tauri_plugin_dialog::{DialogExt, FilePath};
use tokio::sync::oneshot;

/// TEST-ONLY (debug builds): a file whose first line answers the next pick, because nobody can
/// click a native dialog under Xvfb. An empty file answers "cancelled".
pub const TEST_SWITCH: &str = "CARETAKER_TEST_PICK";

/// The most a settings file may be: caretaker.toml is a few kilobytes.
const MAX_SETTINGS_BYTES: u64 = 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Pick {
    Folder,
    File,
    Save,
}

/// The answer the test switch gives, if it is set (debug builds only).
fn test_answer() -> Option<Option<PathBuf>> {
    let file = std::env::var_os(TEST_SWITCH).filter(|_| cfg!(debug_assertions))?;
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let line = text.lines().next().unwrap_or("").trim().to_string();
    Some((!line.is_empty()).then(|| PathBuf::from(line)))
}

/// A dialog's answer as a path (a `file://` URL from a portal is turned into one).
fn as_path(p: FilePath) -> Option<PathBuf> {
    p.into_path().ok()
}

/// Shows the dialog and waits for the person, off the async runtime's threads.
async fn ask(app: &AppHandle, kind: Pick, title: &str, file_name: Option<&str>) -> Result<Option<PathBuf>, ErrorPayload> {
    if let Some(answer) = test_answer() {
        return Ok(answer);
    }
    let (tx, rx) = oneshot::channel();
    let mut dialog = app.dialog().file().set_title(title);
    if let Some(home) = std::env::var_os("HOME") {
        dialog = dialog.set_directory(home);
    }
    let reply = move |p: Option<FilePath>| {
        let _ = tx.send(p.and_then(as_path));
    };
    match kind {
        Pick::Folder => dialog.pick_folder(reply),
        Pick::File => dialog.pick_file(reply),
        Pick::Save => dialog.set_file_name(file_name.unwrap_or("caretaker.toml")).save_file(reply),
    }
    // A dialog dropped without an answer (the window went away) is a cancel.
    Ok(rx.await.unwrap_or(None))
}

fn shown(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn refused(message: String) -> ErrorPayload {
    EngineError::InvalidInput(message).payload()
}

/// A title from the window, kept short and on one line (it names what the dialog is for).
fn title(t: &str, fallback: &str) -> String {
    let t: String = t.chars().filter(|c| !c.is_control()).take(80).collect();
    if t.trim().is_empty() {
        fallback.to_string()
    } else {
        t
    }
}

#[tauri::command]
pub async fn pick_folder(app: AppHandle, title: String) -> Result<Option<String>, ErrorPayload> {
    Ok(ask(&app, Pick::Folder, &self::title(&title, "Choose a folder"), None).await?.as_deref().map(shown))
}

#[tauri::command]
pub async fn pick_file(app: AppHandle, title: String) -> Result<Option<String>, ErrorPayload> {
    Ok(ask(&app, Pick::File, &self::title(&title, "Choose a file"), None).await?.as_deref().map(shown))
}

/// Writes the exported settings where the person chose; returns that path, or nothing if they
/// cancelled.
#[tauri::command]
pub async fn save_settings_file(app: AppHandle, text: String) -> Result<Option<String>, ErrorPayload> {
    let Some(path) = ask(&app, Pick::Save, "Save Caretaker's settings", Some("caretaker-settings.toml")).await? else {
        return Ok(None);
    };
    write_new_text(&path, &text).map_err(refused)?;
    Ok(Some(shown(&path)))
}

/// Reads a settings file the person chose, for the import box; nothing if they cancelled.
#[tauri::command]
pub async fn open_settings_file(app: AppHandle) -> Result<Option<String>, ErrorPayload> {
    let Some(path) = ask(&app, Pick::File, "Import Caretaker's settings", None).await? else {
        return Ok(None);
    };
    read_small_text(&path).map(Some).map_err(refused)
}

/// Writes `text` to `path` through a temporary file beside it, so a full disk or a crash never
/// leaves half a file where the person expects their settings. Refuses a folder or a symbolic link.
fn write_new_text(path: &Path, text: &str) -> Result<(), String> {
    let parent =
        path.parent().filter(|p| !p.as_os_str().is_empty()).ok_or_else(|| format!("{} is not a file in a folder", path.display()))?;
    let parent = parent.canonicalize().map_err(|e| format!("cannot use the folder {}: {e}", parent.display()))?;
    let name = path.file_name().ok_or_else(|| format!("{} names no file", path.display()))?;
    let target = parent.join(name);
    if let Ok(meta) = std::fs::symlink_metadata(&target) {
        if !meta.is_file() {
            return Err(format!("{} exists and is not a plain file; choose another name", target.display()));
        }
    }
    let tmp = parent.join(format!(".{}.caretaker-tmp", name.to_string_lossy()));
    let written = std::fs::write(&tmp, text).and_then(|_| std::fs::rename(&tmp, &target));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {}: {e}", target.display())
    })
}

/// Reads a UTF-8 text file of at most [`MAX_SETTINGS_BYTES`].
fn read_small_text(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a file", path.display()));
    }
    if meta.len() > MAX_SETTINGS_BYTES {
        return Err(format!("{} is {} bytes; a settings file is at most 1 MiB", path.display(), meta.len()));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    String::from_utf8(bytes).map_err(|_| format!("{} is not a text file", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_file_replaces_the_old_one_whole_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.toml");
        std::fs::write(&path, "old = true\n").unwrap();
        write_new_text(&path, "[alerts]\ncpu_warning = 80\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[alerts]\ncpu_warning = 80\n");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn saving_over_a_folder_or_a_link_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let err = write_new_text(&dir.path().join("sub"), "x").unwrap_err();
        assert!(err.contains("not a plain file"), "{err}");
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("link")).unwrap();
        let err = write_new_text(&dir.path().join("link"), "x").unwrap_err();
        assert!(err.contains("not a plain file"), "{err}");
    }

    #[test]
    fn reading_refuses_large_binary_and_missing_files_with_the_path_named() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.toml");
        std::fs::write(&big, vec![b'a'; (MAX_SETTINGS_BYTES + 1) as usize]).unwrap();
        assert!(read_small_text(&big).unwrap_err().contains("at most 1 MiB"));
        let bin = dir.path().join("bin.toml");
        std::fs::write(&bin, [0xff, 0xfe, 0x00]).unwrap();
        assert!(read_small_text(&bin).unwrap_err().contains("not a text file"));
        let missing = dir.path().join("missing.toml");
        assert!(read_small_text(&missing).unwrap_err().contains("missing.toml"));
        let ok = dir.path().join("ok.toml");
        std::fs::write(&ok, "a = 1\n").unwrap();
        assert_eq!(read_small_text(&ok).unwrap(), "a = 1\n");
    }

    #[test]
    fn titles_from_the_window_are_one_short_line() {
        assert_eq!(title("Choose\nthe repository", "x"), "Choosethe repository");
        assert_eq!(title("  ", "Choose a folder"), "Choose a folder");
        assert_eq!(title(&"a".repeat(200), "x").len(), 80);
    }
}
