//! Writing below the destination without following a symbolic link. Caretaker's own writes (the
//! streamed large files) open each folder relative to the one above it with O_NOFOLLOW, so a link
//! in the destination cannot send them elsewhere. rustic_core's batch restore writes by path,
//! so its entries are checked for links just before each batch instead.

use super::names::shown;
use rustix::fs::{mkdirat, openat, renameat, unlinkat, AtFlags, Mode, OFlags, CWD};
use rustix::io::Errno;
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

const DIR_FLAGS: OFlags = OFlags::RDONLY.union(OFlags::DIRECTORY).union(OFlags::NOFOLLOW).union(OFlags::CLOEXEC);

/// The first symbolic link on the way from `root` down to `rel`, `rel` itself included.
pub(crate) fn first_link(root: &Path, rel: &Path) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    for c in rel.components() {
        path.push(c);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => return Some(path),
            Ok(_) => {}
            // Nothing below a missing entry exists yet.
            Err(_) => return None,
        }
    }
    None
}

pub(crate) fn link_refusal(link: &Path) -> String {
    format!("{} is a symbolic link; restoring through it could write outside the destination", shown(link))
}

/// The folder that holds `rel`, opened one name at a time below `root` and created where missing.
/// `root` itself is opened as given: it is the person's choice, links and all.
fn open_parent(root: &Path, rel: &Path) -> io::Result<OwnedFd> {
    std::fs::create_dir_all(root)?;
    let mut dir = openat(CWD, root, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
    let mut walked = root.to_path_buf();
    for c in rel.parent().unwrap_or(Path::new("")).components() {
        let Component::Normal(name) = c else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{} is not a plain relative path", shown(rel))));
        };
        walked.push(name);
        match mkdirat(&dir, name, Mode::RWXU | Mode::RWXG | Mode::RWXO) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(e.into()),
        }
        dir = openat(&dir, name, DIR_FLAGS, Mode::empty()).map_err(|e| {
            if std::fs::symlink_metadata(&walked).is_ok_and(|m| m.file_type().is_symlink()) {
                io::Error::other(link_refusal(&walked))
            } else {
                e.into()
            }
        })?;
    }
    Ok(dir)
}

/// A file being written under a temporary name next to its final one.
pub(crate) struct Partial {
    dir: OwnedFd,
    temp: OsString,
    name: OsString,
}

impl Partial {
    /// Creates `<folder>/.<name>.caretaker-partial` for `root/rel`. A leftover of that name, even
    /// a link someone planted, is removed first; the new file is created exclusively, so the
    /// data can only land in a fresh file.
    pub(crate) fn create(root: &Path, rel: &Path) -> io::Result<(Partial, File)> {
        let name = rel
            .file_name()
            .map(|n| n.to_os_string())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("{} does not name a file", shown(rel))))?;
        let dir = open_parent(root, rel)?;
        let mut temp = OsString::from(".");
        temp.push(&name);
        temp.push(".caretaker-partial");
        match unlinkat(&dir, &temp, AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(e) => return Err(e.into()),
        }
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let mode = Mode::RUSR | Mode::WUSR | Mode::RGRP | Mode::WGRP | Mode::ROTH | Mode::WOTH;
        let fd = openat(&dir, &temp, flags, mode)?;
        Ok((Partial { dir, temp, name }, File::from(fd)))
    }

    /// Moves the file to its final name. A link already there is replaced, not followed.
    pub(crate) fn commit(&self) -> io::Result<()> {
        renameat(&self.dir, &self.temp, &self.dir, &self.name).map_err(Into::into)
    }

    pub(crate) fn discard(&self) {
        let _ = unlinkat(&self.dir, &self.temp, AtFlags::empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_created_and_a_link_among_them_is_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (root, outside) = (tmp.path().join("dest"), tmp.path().join("outside"));
        std::fs::create_dir_all(&outside).expect("mkdir");
        let (p, mut f) = Partial::create(&root, Path::new("a/b/f.txt")).expect("create");
        std::io::Write::write_all(&mut f, b"hi").expect("write");
        p.commit().expect("commit");
        assert_eq!(std::fs::read(root.join("a/b/f.txt")).expect("read"), b"hi");
        assert_eq!(first_link(&root, Path::new("a/b/f.txt")), None);

        std::os::unix::fs::symlink(&outside, root.join("a/l")).expect("symlink");
        let e = Partial::create(&root, Path::new("a/l/g.txt")).err().expect("refused");
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(first_link(&root, Path::new("a/l/g.txt")), Some(root.join("a/l")));
        assert_eq!(std::fs::read_dir(&outside).expect("ls").count(), 0);
    }
}
