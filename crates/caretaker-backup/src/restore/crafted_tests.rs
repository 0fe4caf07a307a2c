//! Restores of snapshots crafted to escape the destination. Each tree is written through
//! rustic_core's archiver from a source that sets every entry's name itself, which is how anyone
//! with the repository's key can produce names no real folder has. Nothing may then appear
//! outside the destination, and the error must name the entry.

use super::{restore_with, Limits};
use crate::progress::Emitter;
use caretaker_engine::backup::protocol::{ConflictPolicy, RestoreJob};
use rustic_backend::BackendOptions;
use rustic_core::repofile::{MasterKey, Metadata, Node, NodeType};
use rustic_core::{
    BackupOptions, ConfigOptions, Credentials, KeyOptions, OpenStatus, ReadSource, ReadSourceEntry, Repository, RepositoryOptions,
    RusticResult, SnapshotOptions,
};
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::io::Cursor;
use std::path::{Path, PathBuf};

/// Entries in archive order: the path only places the entry in the tree (a file goes into its
/// path's parent folder); the node carries the name that ends up in the snapshot.
struct Crafted(Vec<(PathBuf, Node, Option<Vec<u8>>)>);

impl ReadSource for Crafted {
    type Open = Cursor<Vec<u8>>;
    type Iter = std::vec::IntoIter<RusticResult<ReadSourceEntry<Cursor<Vec<u8>>>>>;
    fn size(&self) -> RusticResult<Option<u64>> {
        Ok(None)
    }
    fn entries(&self) -> Self::Iter {
        let all = self
            .0
            .iter()
            .map(|(path, node, data)| Ok(ReadSourceEntry { path: path.clone(), node: node.clone(), open: data.clone().map(Cursor::new) }));
        all.collect::<Vec<_>>().into_iter()
    }
}

fn file(at: &str, name: &str, data: &[u8]) -> (PathBuf, Node, Option<Vec<u8>>) {
    // The size is what a real source reads from the file system; the restore's choice of path
    // (batch or stream) goes by it.
    let meta = Metadata { mode: Some(0o644), size: data.len() as u64, ..Default::default() };
    (PathBuf::from(at), Node::new_node(OsStr::new(name), NodeType::File, meta), Some(data.to_vec()))
}

fn dir(at: &str, name: &str) -> (PathBuf, Node, Option<Vec<u8>>) {
    let meta = Metadata { mode: Some(0o755), ..Default::default() };
    (PathBuf::from(at), Node::new_node(OsStr::new(name), NodeType::Dir, meta), None)
}

fn link(at: &str, name: &str, target: &Path) -> (PathBuf, Node, Option<Vec<u8>>) {
    (PathBuf::from(at), Node::new_node(OsStr::new(name), NodeType::from_link(target), Metadata::default()), None)
}

/// A scratch folder holding a repository, a destination and whatever a test plants outside it.
struct Scene {
    tmp: tempfile::TempDir,
    key: MasterKey,
}

impl Scene {
    fn new() -> Scene {
        let tmp = tempfile::tempdir().expect("tempdir");
        let key = MasterKey::new();
        repo_at(tmp.path()).init(&Credentials::Masterkey(key.clone()), &KeyOptions::default(), &ConfigOptions::default()).expect("init");
        Scene { tmp, key }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    fn open(&self) -> Repository<OpenStatus> {
        repo_at(self.tmp.path()).open(&Credentials::Masterkey(self.key.clone())).expect("open")
    }

    /// Saves a snapshot of exactly these entries and returns its id.
    fn snapshot(&self, entries: Vec<(PathBuf, Node, Option<Vec<u8>>)>) -> String {
        let repo = self.open().to_indexed_ids().expect("index");
        let snap = SnapshotOptions::default().to_snapshot().expect("snapshot");
        let saved = repo.archive(&BackupOptions::default(), &Crafted(entries), snap, &[PathBuf::from("/")]).expect("archive");
        crate::full_id(&saved.id)
    }

    /// Restores all of `snapshot` into `dest`; small limits make every entry its own batch and
    /// send files over 1 KiB down the streaming path.
    fn restore(&self, snapshot: &str, dest: &Path, on_conflict: Option<ConflictPolicy>) -> Result<(), String> {
        let job = RestoreJob {
            snapshot: snapshot.into(),
            path: String::new(),
            destination: dest.to_path_buf(),
            on_conflict,
            host: "test".into(),
        };
        let limits = Limits { batch_entries: 1, batch_bytes: 1 << 20, stream_above: 1024 };
        restore_with(self.open(), &job, &Emitter::new(Box::new(std::io::sink())), limits).map(|_| ()).map_err(|f| f.message)
    }

    /// Every path in the scratch folder outside the repository and the destination.
    fn outside(&self) -> BTreeSet<PathBuf> {
        fn walk(dir: &Path, out: &mut BTreeSet<PathBuf>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                out.insert(p.clone());
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    walk(&p, out);
                }
            }
        }
        let mut all = BTreeSet::new();
        walk(self.tmp.path(), &mut all);
        all.into_iter().filter(|p| !p.starts_with(self.path("repo")) && !p.starts_with(self.path("dest"))).collect()
    }
}

fn repo_at(path: &Path) -> Repository<()> {
    let backends = BackendOptions::default().repository(path.join("repo").to_str().expect("utf-8 path")).to_backends().expect("backends");
    Repository::new(&RepositoryOptions::default().no_cache(true), &backends).expect("repository")
}

/// Restores a crafted snapshot and checks the refusal: an error naming `name`, nothing written
/// outside the destination, and (since the check comes before any write) nothing inside it.
fn refused(scene: &Scene, entries: Vec<(PathBuf, Node, Option<Vec<u8>>)>, name: &str) {
    let snap = scene.snapshot(entries);
    let dest = scene.path("dest");
    let before = scene.outside();
    let result = scene.restore(&snap, &dest, None);
    let after = scene.outside();
    assert_eq!(after, before, "written outside the destination (restore said {result:?})");
    let message = result.expect_err("a crafted snapshot must be refused");
    assert!(message.contains(&format!("{name:?}")), "the message must name {name:?}: {message}");
    let inside: Vec<_> = std::fs::read_dir(&dest).into_iter().flatten().flatten().map(|e| e.path()).collect();
    assert!(inside.is_empty(), "nothing is restored from a refused snapshot: {inside:?}");
}

#[test]
fn a_name_that_climbs_out_is_refused() {
    let scene = Scene::new();
    refused(&scene, vec![file("/f", "../escaped.txt", b"escaped")], "../escaped.txt");
}

#[test]
fn a_name_with_a_separator_is_refused() {
    let scene = Scene::new();
    // The folder `a` makes `dest/a/../../x` resolve, so an unchecked restore writes `x` next to `dest`.
    let entries = vec![dir("/a", "a"), file("/f", "a/../../x", b"escaped")];
    refused(&scene, entries, "a/../../x");
}

#[test]
fn an_absolute_name_is_refused() {
    let scene = Scene::new();
    let target = scene.path("abs-escaped.txt");
    let name = target.to_str().expect("utf-8 path").to_string();
    refused(&scene, vec![file("/f", &name, b"escaped")], &name);
}

#[test]
fn a_folder_named_dot_dot_is_refused() {
    let scene = Scene::new();
    refused(&scene, vec![dir("/d", ".."), file("/d/f", "escaped.txt", b"escaped")], "..");
}

#[test]
fn an_entry_named_dot_is_refused() {
    let scene = Scene::new();
    refused(&scene, vec![dir("/d", "."), file("/d/f", "inner.txt", b"data")], ".");
}

#[test]
fn a_link_followed_by_a_folder_of_the_same_name_is_refused() {
    let scene = Scene::new();
    let outside = scene.path("outside");
    std::fs::create_dir_all(&outside).expect("mkdir");
    // The link is restored in its own batch first; the folder's large file is then streamed
    // through `dest/link`, which an unchecked restore follows into `outside`.
    let entries = vec![link("/l", "link", &outside), dir("/link", "link"), file("/link/big", "big.bin", &[7u8; 4096])];
    refused(&scene, entries, "link");
}

#[test]
fn a_link_already_in_the_destination_is_not_followed() {
    let scene = Scene::new();
    let (outside, dest) = (scene.path("outside"), scene.path("dest"));
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::create_dir_all(&dest).expect("mkdir");
    std::os::unix::fs::symlink(&outside, dest.join("sub")).expect("symlink");
    let snap = scene.snapshot(vec![dir("/sub", "sub"), file("/sub/big", "big.bin", &[7u8; 4096]), file("/sub/small", "small.txt", b"hi")]);
    let message = scene.restore(&snap, &dest, None).expect_err("a link in the way must be refused");
    assert!(message.contains("symbolic link") && message.contains(&format!("{:?}", dest.join("sub").display().to_string())), "{message}");
    assert_eq!(std::fs::read_dir(&outside).expect("ls").count(), 0, "nothing may be written through the link");
}

#[test]
fn a_planted_partial_file_link_is_replaced_not_followed() {
    let scene = Scene::new();
    let (victim, dest) = (scene.path("victim.txt"), scene.path("dest"));
    std::fs::write(&victim, b"keep me").expect("write");
    std::fs::create_dir_all(&dest).expect("mkdir");
    std::os::unix::fs::symlink(&victim, dest.join(".big.bin.caretaker-partial")).expect("symlink");
    let snap = scene.snapshot(vec![file("/big", "big.bin", &[7u8; 4096])]);
    scene.restore(&snap, &dest, None).expect("restore");
    assert_eq!(std::fs::read(&victim).expect("read"), b"keep me");
    assert_eq!(std::fs::read(dest.join("big.bin")).expect("read"), vec![7u8; 4096]);
    assert!(std::fs::symlink_metadata(dest.join(".big.bin.caretaker-partial")).is_err(), "the partial name is gone after the rename");
}

#[test]
fn the_root_folder_is_refused_as_a_destination() {
    let scene = Scene::new();
    let name = format!(".caretaker-restore-root-test-{}", std::process::id());
    let snap = scene.snapshot(vec![file("/f", &name, b"data")]);
    struct Cleanup(PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let written = Cleanup(Path::new("/").join(&name));
    for root in ["/", "/tmp/..", "//."] {
        let message = scene.restore(&snap, Path::new(root), None).expect_err("the root folder is refused");
        assert!(message.contains("root"), "{root}: {message}");
        assert!(std::fs::symlink_metadata(&written.0).is_err(), "{root}: nothing is written to the root folder");
    }
}

#[test]
fn overwriting_a_link_replaces_the_link_not_what_it_points_to() {
    let scene = Scene::new();
    let (victim, dest) = (scene.path("victim.txt"), scene.path("dest"));
    std::fs::write(&victim, b"keep me").expect("write");
    std::fs::create_dir_all(&dest).expect("mkdir");
    std::os::unix::fs::symlink(&victim, dest.join("small.txt")).expect("symlink");
    let snap = scene.snapshot(vec![file("/small", "small.txt", b"restored")]);
    scene.restore(&snap, &dest, Some(ConflictPolicy::Overwrite)).expect("restore");
    assert_eq!(std::fs::read(&victim).expect("read"), b"keep me");
    let restored = dest.join("small.txt");
    assert!(std::fs::symlink_metadata(&restored).is_ok_and(|m| m.is_file()), "the link is replaced by the file");
    assert_eq!(std::fs::read(&restored).expect("read"), b"restored");
}
