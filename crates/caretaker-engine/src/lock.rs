//! Only one engine may own a data dir. The OS file lock is released by the kernel when the
//! process dies, so a crash never leaves the folder locked; the pid inside is only for the message.

use crate::error::{EngineError, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub(crate) struct DataDirLock {
    file: File,
    path: PathBuf,
}

impl DataDirLock {
    pub(crate) fn acquire(data_dir: &Path) -> Result<Self> {
        let path = data_dir.join(crate::paths::LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| EngineError::io(format!("cannot open lock file {}", path.display()), e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = pid.trim();
                return Err(EngineError::AlreadyRunning {
                    path: data_dir.to_path_buf(),
                    pid: if pid.is_empty() { "unknown".into() } else { pid.to_string() },
                });
            }
            Err(TryLockError::Error(e)) => return Err(EngineError::io(format!("cannot lock {}", path.display()), e)),
        }
        file.set_len(0)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .and_then(|_| write!(file, "{}", std::process::id()))
            .and_then(|_| file.flush())
            .map_err(|e| EngineError::io(format!("cannot write lock file {}", path.display()), e))?;
        Ok(DataDirLock { file, path })
    }
}

impl Drop for DataDirLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
        tracing::debug!(path = %self.path.display(), "released data dir lock");
    }
}

/// Whether an engine holds `data_dir` now (its lock is taken), read without taking it.
pub fn in_use(data_dir: &Path) -> bool {
    let Ok(file) = File::open(data_dir.join(crate::paths::LOCK_FILE)) else { return false };
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            false
        }
        Err(TryLockError::WouldBlock) => true,
        Err(TryLockError::Error(_)) => false,
    }
}
