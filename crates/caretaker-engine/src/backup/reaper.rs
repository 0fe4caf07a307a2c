//! Pid files of running workers, and stopping the ones an engine that died left behind.
//!
//! A worker stops by itself when its engine's pipe closes; this is the second line for a worker
//! that is hung where it cannot notice (a stale mount). Each running worker has a file named by
//! its pid (also its process group's id) in `backup-workers/` of the data folder; an engine that
//! starts finds only files of a dead engine's workers there (one engine per data folder).

use super::protocol::WORKER_ARG;
use std::path::{Path, PathBuf};

pub(crate) const PID_DIR: &str = "backup-workers";

/// Removes its file when the worker's call ends.
pub(crate) struct PidFile(PathBuf);

impl PidFile {
    pub fn write(dir: &Path, pid: u32) -> Option<PidFile> {
        let path = dir.join(pid.to_string());
        let written = std::fs::create_dir_all(dir).and_then(|_| std::fs::write(&path, format!("{pid}\n")));
        match written {
            Ok(()) => Some(PidFile(path)),
            Err(e) => {
                tracing::warn!("cannot record the backup worker's pid in {}: {e}", dir.display());
                None
            }
        }
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The command line of a process, as its argv; None when it is gone or cannot be read.
fn argv(pid: i32) -> Option<Vec<String>> {
    if cfg!(target_os = "linux") {
        let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        return Some(raw.split(|b| *b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect());
    }
    let out = std::process::Command::new("ps").args(["-o", "command=", "-p", &pid.to_string()]).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !text.is_empty()).then(|| text.split_whitespace().map(str::to_string).collect())
}

/// Whether `pid` is still a backup worker (a pid file can outlive its process, and the number
/// can be reused by anything else since).
pub(crate) fn is_worker(pid: i32) -> bool {
    argv(pid).is_some_and(|a| a.iter().skip(1).any(|arg| arg == WORKER_ARG))
}

/// Stops every worker a previous engine left running (with whatever it started) and clears the
/// pid files. Returns how many were stopped.
pub(crate) fn reap(data_dir: &Path) -> usize {
    let dir = data_dir.join(PID_DIR);
    let Ok(entries) = std::fs::read_dir(&dir) else { return 0 };
    let mut stopped = 0;
    for e in entries.flatten() {
        let path = e.path();
        let pid = std::fs::read_to_string(&path).ok().and_then(|t| t.trim().parse::<i32>().ok()).filter(|p| *p > 1);
        if let Some(pid) = pid.filter(|p| is_worker(*p)) {
            // SAFETY: plain syscalls; the group was the worker's own (it is its leader).
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
                libc::kill(pid, libc::SIGKILL);
            }
            tracing::warn!(pid, "stopped a backup worker left running by an earlier Caretaker");
            stopped += 1;
        }
        let _ = std::fs::remove_file(&path);
    }
    stopped
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;
    use std::time::{Duration, Instant};

    fn alive(pid: i32) -> bool {
        // SAFETY: signal 0 only asks whether the process exists.
        unsafe { libc::kill(pid, 0) == 0 }
    }

    fn wait_gone(child: &mut std::process::Child) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    #[test]
    fn a_leftover_worker_and_what_it_started_are_stopped_and_nothing_else() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path();
        let grandchild = data.join("grandchild.pid");
        // A stand-in worker in its own group (as the engine starts one), with a child of its own.
        let script = format!("sleep 1000 & echo $! > '{}'; wait", grandchild.display());
        let mut worker =
            std::process::Command::new("sh").args(["-c", &script, WORKER_ARG]).process_group(0).spawn().expect("stand-in worker");
        let mut bystander = std::process::Command::new("sleep").arg("1000").process_group(0).spawn().expect("sleep");
        let deadline = Instant::now() + Duration::from_secs(10);
        let sleeper = loop {
            if let Some(pid) = std::fs::read_to_string(&grandchild).ok().and_then(|t| t.trim().parse::<i32>().ok()) {
                break pid;
            }
            assert!(Instant::now() < deadline, "the stand-in did not start its child");
            std::thread::sleep(Duration::from_millis(20));
        };
        let dir = data.join(PID_DIR);
        let file = PidFile::write(&dir, worker.id()).expect("pid file");
        std::mem::forget(file);
        // A pid file whose number now belongs to an unrelated program: left alone.
        std::mem::forget(PidFile::write(&dir, bystander.id()).expect("pid file"));

        assert_eq!(reap(data), 1);
        assert!(wait_gone(&mut worker), "the leftover worker was stopped");
        let deadline = Instant::now() + Duration::from_secs(10);
        while alive(sleeper) {
            assert!(Instant::now() < deadline, "the worker's own child was stopped too");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(matches!(bystander.try_wait(), Ok(None)), "an unrelated process is never killed");
        assert_eq!(std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0), 0, "the pid files are cleared");
        let _ = bystander.kill();
        let _ = bystander.wait();
    }
}
