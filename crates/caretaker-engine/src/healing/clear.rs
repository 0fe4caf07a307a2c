//! The `clear_folder` action's safety: which folders may be cleared at all (checked when the
//! config is loaded and again, on the resolved path, right before each run), and the dry run the
//! person reads before approving one.

use crate::config::ClearFolderAction;
use crate::maintenance::sweep::{self, Sweep, Swept};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// Folders that are never cleared, nor anything that contains them.
const SYSTEM_ROOTS: &[&str] = &[
    "/",
    "/Applications",
    "/Library",
    "/System",
    "/Users",
    "/Volumes",
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/home",
    "/lib",
    "/lib32",
    "/lib64",
    "/media",
    "/mnt",
    "/opt",
    "/private",
    "/private/etc",
    "/private/tmp",
    "/private/var",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/snap",
    "/srv",
    "/sys",
    "/tmp",
    "/usr",
    "/usr/local",
    "/var",
    "/var/tmp",
];
/// Trees owned by the operating system: nothing inside them is cleared either.
const SYSTEM_TREES: &[&str] = &[
    "/System",
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/private/etc",
    "/proc",
    "/sbin",
    "/sys",
    "/usr/bin",
    "/usr/lib",
    "/usr/libexec",
    "/usr/sbin",
    "/usr/share",
];

/// The folders of this person and this install that must survive any clear.
#[derive(Debug, Clone, Default)]
pub(crate) struct Protected {
    pub home: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
}

impl Protected {
    /// The running user's home and the given data folder.
    pub(crate) fn of(data_dir: Option<&Path>) -> Protected {
        Protected { home: dirs::home_dir(), data_dir: data_dir.map(Path::to_path_buf) }
    }
}

/// `path` with its symlinks resolved; when its tail does not exist yet, the existing part is
/// resolved and the rest appended (it may not climb with `..`).
fn resolve_lexically(path: &Path) -> Result<PathBuf, String> {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(&existing) {
            let mut out = real;
            for c in rest.iter().rev() {
                out.push(c);
            }
            return Ok(out);
        }
        match existing.components().next_back() {
            Some(Component::Normal(name)) => {
                rest.push(name.to_os_string());
                existing.pop();
            }
            _ => return Err(format!("cannot resolve {}", path.display())),
        }
    }
}

fn canonical_or_same(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The folder `path` really names, or why it must never be cleared.
pub(crate) fn resolve(path: &str, protected: &Protected) -> Result<PathBuf, String> {
    let p = Path::new(path);
    if !p.is_absolute() {
        return Err(format!("must be an absolute folder path (got {path:?})"));
    }
    let real = resolve_lexically(p)?;
    let shown = if real.as_path() == p { format!("{path:?}") } else { format!("{path:?} (which is {})", real.display()) };
    for root in SYSTEM_ROOTS {
        let root = Path::new(root);
        if [root.to_path_buf(), canonical_or_same(root)].iter().any(|r| r.starts_with(&real)) {
            return Err(format!("{shown} is or contains the system folder {}; name a cache folder inside it instead", root.display()));
        }
    }
    for tree in SYSTEM_TREES {
        let tree = Path::new(tree);
        if [tree.to_path_buf(), canonical_or_same(tree)].iter().any(|t| real.starts_with(t)) {
            return Err(format!("{shown} is inside the system folder {}", tree.display()));
        }
    }
    if let Some(home) = &protected.home {
        if canonical_or_same(home).starts_with(&real) || home.starts_with(&real) {
            return Err(format!("{shown} is or contains your home folder {}", home.display()));
        }
    }
    if let Some(data) = &protected.data_dir {
        if canonical_or_same(data).starts_with(&real) || data.starts_with(&real) {
            return Err(format!("{shown} is or contains Caretaker's data folder {}", data.display()));
        }
    }
    Ok(real)
}

fn how(f: &ClearFolderAction, dry_run: bool) -> Sweep<'static> {
    Sweep { age: Duration::from_secs(f.older_than_days.saturating_mul(86_400)), filter: &|_| true, recursive: true, dry_run }
}

/// Resolves and checks the folder again (it may have become a symlink since the config was
/// loaded), then clears it. Err says why nothing was removed.
pub(crate) fn clear(f: &ClearFolderAction, protected: &Protected) -> Result<(PathBuf, Swept), String> {
    let real = resolve(&f.path, protected)?;
    Ok((real.clone(), sweep::sweep_canonical(&real, &how(f, false))))
}

/// What clearing the folder would remove, removing nothing: the resolved folder and what a dry
/// sweep met there. Err says why it would refuse to run at all.
pub(crate) fn look(f: &ClearFolderAction, protected: &Protected) -> Result<(PathBuf, Swept), String> {
    let real = resolve(&f.path, protected)?;
    Ok((real.clone(), sweep::sweep_canonical(&real, &how(f, true))))
}

/// One sentence on what a dry sweep found: "would delete 12 files, 3.4 MB, older than 7 days in
/// /resolved/path".
pub(crate) fn describe(f: &ClearFolderAction, real: &Path, s: &Swept) -> String {
    format!("would delete {} files, {:.1} MB, older than {} days in {}", s.files, s.bytes as f64 / 1e6, f.older_than_days, real.display())
}

/// What approving the action would do, for the person deciding.
pub(crate) fn preview(f: &ClearFolderAction, protected: &Protected) -> String {
    match look(f, protected) {
        Ok((real, s)) => describe(f, &real, &s),
        Err(e) => format!("would refuse to run: {e}"),
    }
}

#[cfg(test)]
#[path = "clear_tests.rs"]
mod tests;
