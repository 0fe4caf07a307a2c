//! The names inside a snapshot are data from the repository, not trusted paths: anyone holding
//! the repository's key can write a tree whose entries are named `../x`, `a/../../x` or `/etc/x`,
//! or hold a link and a folder of the same name. Every entry is checked here before anything is
//! written, the way restic's own restorer refuses such names.

use crate::{Failure, Outcome};
use caretaker_engine::backup::protocol::ErrorKind;
use rustic_core::repofile::Node;
use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// Why `name` cannot be one entry of a folder, if it cannot.
pub(crate) fn name_problem(name: &OsStr) -> Option<&'static str> {
    let bytes = name.as_bytes();
    if bytes.is_empty() {
        Some("an empty name")
    } else if bytes == b"." || bytes == b".." {
        Some("a name that means a folder itself or its parent")
    } else if bytes.contains(&b'/') {
        Some("a name with a path separator")
    } else if bytes.contains(&0) {
        Some("a name with a NUL byte")
    } else {
        None
    }
}

/// A relative path made only of plain names (no root, no `.` or `..`).
pub(crate) fn is_plain_relative(rel: &Path) -> bool {
    rel.components().all(|c| matches!(c, Component::Normal(_)))
}

/// Refuses an entry (at `rel` in the listing) that could be written anywhere but at its own
/// place below the destination.
pub(crate) fn check_entry(rel: &Path, node: &Node, siblings: &mut Siblings) -> Outcome<()> {
    let name = node.name();
    let problem = name_problem(&name)
        .or_else(|| (!is_plain_relative(rel)).then_some("a path that leaves its folder"))
        .or_else(|| (!siblings.insert(rel)).then_some("a name used twice in one folder"));
    match problem {
        None => Ok(()),
        Some(why) => Err(Failure::new(
            ErrorKind::Corrupt,
            format!(
                "the snapshot holds an entry named {} ({why}) at {}; it could be written outside the destination, so nothing was restored",
                shown(Path::new(&name)),
                shown(rel)
            ),
        )),
    }
}

/// A name quoted and escaped for a message: control characters and odd bytes cannot garble the
/// text a person reads.
pub(crate) fn shown(p: &Path) -> String {
    format!("{:?}", p.to_string_lossy())
}

/// Names seen in each folder on the way from the top of the snapshot to the current entry.
///
/// The tree is listed depth first, so a folder's entries are interleaved with its subfolders';
/// a stack of the open folders finds a repeated name while holding only one path's worth of
/// folders, not the whole snapshot.
#[derive(Default)]
pub(crate) struct Siblings {
    open: Vec<(PathBuf, HashSet<OsString>)>,
}

impl Siblings {
    /// Records `rel`; false when its folder already held an entry of that name.
    pub(crate) fn insert(&mut self, rel: &Path) -> bool {
        let (Some(parent), Some(name)) = (rel.parent(), rel.file_name()) else {
            return true;
        };
        while let Some((dir, _)) = self.open.last() {
            if parent.starts_with(dir) {
                break;
            }
            self.open.pop();
        }
        if self.open.last().is_none_or(|(dir, _)| dir != parent) {
            self.open.push((parent.to_path_buf(), HashSet::new()));
        }
        self.open.last_mut().is_none_or(|(_, names)| names.insert(name.to_os_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_pass() {
        for bad in ["", ".", "..", "../x", "a/b", "/etc", "a\0b"] {
            assert!(name_problem(OsStr::new(bad)).is_some(), "{bad:?}");
        }
        for good in ["x", "...", ".hidden", "a b", "ü", "a\\b"] {
            assert_eq!(name_problem(OsStr::new(good)), None, "{good:?}");
        }
        assert!(is_plain_relative(Path::new("a/b/c")));
        for bad in ["/a", "a/../b", "./a", "../a"] {
            assert!(!is_plain_relative(Path::new(bad)), "{bad:?}");
        }
        assert_eq!(shown(Path::new("a\nb\"c")), r#""a\nb\"c""#);
    }

    #[test]
    fn a_repeated_name_in_one_folder_is_found_across_subfolders() {
        let mut s = Siblings::default();
        for rel in ["a", "a/x", "a/y", "a/y/z", "b", "b/x", "c"] {
            assert!(s.insert(Path::new(rel)), "{rel}");
        }
        assert!(!s.insert(Path::new("a")), "a second `a` at the top");
        let mut s = Siblings::default();
        for rel in ["d", "d/link", "d/sub", "d/sub/f"] {
            assert!(s.insert(Path::new(rel)), "{rel}");
        }
        assert!(!s.insert(Path::new("d/link")), "a second `link` in d after a subfolder");
    }
}
