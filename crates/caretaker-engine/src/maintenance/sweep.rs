//! Deleting old files under a folder without ever leaving it: every directory is opened relative
//! to its parent's handle with `O_NOFOLLOW`, every file is removed relative to the handle of the
//! directory it was seen in, and a directory on another device (a mount point) is not entered.
//! Swapping a sub-folder for a symlink while the sweep runs therefore cannot send it elsewhere:
//! the open fails and that entry is skipped.

use rustix::fs::{fstat, openat, statat, unlinkat, AtFlags, Dir, FileType, Mode, OFlags, Stat};
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Deeper trees are left alone: each level holds a descriptor open.
const MAX_DEPTH: usize = 128;
/// How many of the files that went (or would go) are named, for a person to recognise them.
const SAMPLE: usize = 5;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Swept {
    pub files: u64,
    pub bytes: u64,
    /// The first file that could not be removed, and why.
    pub error: Option<String>,
    /// The modification time (Unix seconds) of the oldest file that went.
    pub oldest_mtime: Option<i64>,
    /// The first few files that went, in the order they were met.
    pub sample: Vec<PathBuf>,
}

pub(crate) struct Sweep<'a> {
    /// Files modified longer ago than this go.
    pub age: Duration,
    pub filter: &'a dyn Fn(&Path) -> bool,
    pub recursive: bool,
    /// Count what would go, remove nothing.
    pub dry_run: bool,
}

#[allow(clippy::unnecessary_cast)] // dev_t and time_t differ between platforms
fn dev_of(st: &Stat) -> u64 {
    st.st_dev as u64
}

#[allow(clippy::unnecessary_cast)]
fn mtime_of(st: &Stat) -> i64 {
    st.st_mtime as i64
}

pub(crate) fn dir_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

/// Opens `path` one component at a time, refusing a symlink anywhere on the way. The path must be
/// free of symlinks already (canonical); a component swapped for one since makes this fail.
pub(crate) fn open_dir_strict(path: &Path) -> std::io::Result<OwnedFd> {
    let mut fd = if path.is_absolute() {
        rustix::fs::open("/", dir_flags(), Mode::empty())?
    } else {
        openat(rustix::fs::CWD, ".", dir_flags(), Mode::empty())?
    };
    for c in path.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(name) => fd = openat(&fd, name, dir_flags(), Mode::empty())?,
            Component::ParentDir | Component::Prefix(_) => {
                return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path is not canonical"))
            }
        }
    }
    Ok(fd)
}

/// Sweeps `dir` after resolving its symlinks; a missing folder has nothing to sweep.
pub(crate) fn sweep(dir: &Path, how: &Sweep<'_>) -> Swept {
    match std::fs::canonicalize(dir) {
        Ok(real) => sweep_canonical(&real, how),
        Err(_) => Swept::default(),
    }
}

/// Sweeps a folder whose path is already canonical (see [`open_dir_strict`]).
pub(crate) fn sweep_canonical(dir: &Path, how: &Sweep<'_>) -> Swept {
    let mut out = Swept::default();
    let fd = match open_dir_strict(dir) {
        Ok(fd) => fd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return out,
        Err(e) => {
            out.error = Some(format!("{}: {e}", dir.display()));
            return out;
        }
    };
    let Ok(root) = fstat(&fd) else { return out };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    walk(&fd, dir, dev_of(&root), now, how, 0, &mut out);
    out
}

fn walk(dir: &OwnedFd, shown: &Path, dev: u64, now: i64, how: &Sweep<'_>, depth: usize, out: &mut Swept) {
    let Ok(entries) = Dir::read_from(dir) else { return };
    // Names first: removing entries while the directory stream is open may skip some.
    let names: Vec<std::ffi::CString> =
        entries.flatten().map(|e| e.file_name().to_owned()).filter(|n| n.as_bytes() != b"." && n.as_bytes() != b"..").collect();
    for name in names {
        let Ok(st) = statat(dir, &name, AtFlags::SYMLINK_NOFOLLOW) else { continue };
        let path: PathBuf = shown.join(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(name.as_bytes()));
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory if how.recursive && depth < MAX_DEPTH && dev_of(&st) == dev => {
                // Opened without following links: a directory swapped for a symlink fails here.
                let Ok(sub) = openat(dir, &name, dir_flags(), Mode::empty()) else { continue };
                match fstat(&sub) {
                    Ok(s) if dev_of(&s) == dev && FileType::from_raw_mode(s.st_mode) == FileType::Directory => {
                        walk(&sub, &path, dev, now, how, depth + 1, out)
                    }
                    _ => continue,
                }
            }
            FileType::RegularFile if (how.filter)(&path) && now - mtime_of(&st) > how.age.as_secs() as i64 => {
                // Removing relative to the directory handle: if the name now points at something
                // else, that is what goes (a symlink itself, never its target).
                let removed = if how.dry_run { Ok(()) } else { unlinkat(dir, &name, AtFlags::empty()) };
                match removed {
                    Ok(()) => {
                        out.files += 1;
                        out.bytes += st.st_size as u64;
                        let mtime = mtime_of(&st);
                        out.oldest_mtime = Some(out.oldest_mtime.map_or(mtime, |o| o.min(mtime)));
                        if out.sample.len() < SAMPLE {
                            out.sample.push(path);
                        }
                    }
                    Err(e) => {
                        out.error.get_or_insert_with(|| format!("{}: {e}", path.display()));
                    }
                }
            }
            _ => {}
        }
    }
}
