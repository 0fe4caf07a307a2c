//! "Open in editor" on the config banner: caretaker.toml opened with the person's own text
//! editor, through the OS's opener (argv, never a shell). The window only names the action; the
//! path is the shell's own data folder.

use crate::service::Folder;
use caretaker_engine::{EngineError, ErrorPayload};
use std::path::Path;
use std::process::{Command, Stdio};
use tauri::State;

/// The opener's argv for a text file on this platform.
fn opener(path: &Path) -> Vec<std::ffi::OsString> {
    let program = if cfg!(target_os = "macos") { vec!["open", "-t"] } else { vec!["xdg-open"] };
    program.into_iter().map(Into::into).chain([path.as_os_str().to_owned()]).collect()
}

#[tauri::command]
pub async fn open_config_file(folder: State<'_, Folder>) -> Result<(), ErrorPayload> {
    let path = folder.data_dir.join(caretaker_engine::paths::CONFIG_FILE);
    let path = path.canonicalize().map_err(|e| refused(format!("cannot find {}: {e}", path.display())))?;
    let argv = opener(&path);
    let (program, args) = argv.split_first().ok_or_else(|| refused("no opener".into()))?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| refused(format!("cannot open {} ({:?}: {e}); open it with a text editor yourself", path.display(), program)))?;
    // The opener returns once the editor is asked; reaped off the async runtime.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}

fn refused(message: String) -> ErrorPayload {
    EngineError::InvalidInput(message).payload()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_file_is_one_argument_after_the_platforms_opener() {
        let argv = super::opener(std::path::Path::new("/data/with space/caretaker.toml"));
        let last = argv.last().and_then(|a| a.to_str());
        assert_eq!(last, Some("/data/with space/caretaker.toml"));
        assert!(argv.len() == 2 || argv.len() == 3, "{argv:?}");
    }
}
