//! The fake clock: libfaketime for the engine only, and nothing of it left behind.

use super::world::run_quiet;
use super::{harness, HResult};
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn find_faketime() -> HResult<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        ["/usr/lib/faketime", "/usr/local/lib/faketime", "/usr/lib64/faketime"].iter().map(PathBuf::from).collect();
    if let Ok(rd) = std::fs::read_dir("/usr/lib") {
        dirs.extend(rd.flatten().map(|e| e.path().join("faketime")));
    }
    dirs.into_iter()
        .map(|d| d.join("libfaketime.so.1"))
        .find(|p| p.exists())
        .ok_or_else(|| harness("libfaketime is needed for the clock faults (Debian: apt-get install faketime libfaketime)"))
}

/// A library whose constructor takes LD_PRELOAD out of the engine's environment once loaded, so
/// only the engine runs on the fake clock: its backup worker inherits no libfaketime (inside
/// the multi-threaded worker it made clock_gettime fail now and then, a crash of the harness's
/// making; libfaketime's own per-command switch showed the same failure).
pub fn build_unpreload(work: &Path) -> HResult<PathBuf> {
    let src = work.join("unpreload.c");
    let lib = work.join("unpreload.so");
    let code = "#include <stdlib.h>\n__attribute__((constructor)) static void unpreload(void) { unsetenv(\"LD_PRELOAD\"); }\n";
    std::fs::write(&src, code).map_err(|e| harness(format!("cannot write {}: {e}", src.display())))?;
    run_quiet(Command::new("cc").args(["-shared", "-fPIC", "-o"]).arg(&lib).arg(&src))
        .map_err(|e| harness(format!("a C compiler is needed for the fake-clock shim (Debian: build-essential): {e}")))?;
    Ok(lib)
}

/// libfaketime's shared clock of an engine that is gone (it removes them only on a clean exit).
pub fn forget_fake_clock(pid: u32) {
    let _ = std::fs::remove_file(format!("/dev/shm/faketime_shm_{pid}"));
    let _ = std::fs::remove_file(format!("/dev/shm/sem.faketime_sem_{pid}"));
}

/// Forgets an engine's fake clock files when the stop is over, however it went.
pub struct FakeClockFiles(pub u32);
impl Drop for FakeClockFiles {
    fn drop(&mut self) {
        forget_fake_clock(self.0);
    }
}
