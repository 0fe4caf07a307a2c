//! Runs one request in a worker process and turns what it says (or how it died) into a result.

use super::protocol::{ErrorKind, JobProgress, Request, WorkerEvent, WORKER_ARG};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, PartialEq)]
pub struct JobError {
    pub kind: ErrorKind,
    pub message: String,
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl JobError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        JobError { kind, message: message.into() }
    }
}

const STDERR_KEEP: usize = 4096;

/// How long a job may go without a word from its worker before it counts as stuck.
pub const DEFAULT_STUCK_AFTER: Duration = Duration::from_secs(30 * 60);

/// How workers are started and watched.
#[derive(Debug, Clone)]
pub struct Worker {
    pub exe: PathBuf,
    /// Where each running worker leaves a pid file, so the next engine can stop a leftover one.
    pub pid_dir: Option<PathBuf>,
    /// A worker silent for this long is killed and its job fails as stuck.
    pub stuck_after: Duration,
}

impl Worker {
    pub fn new(exe: &Path) -> Self {
        Worker { exe: exe.to_path_buf(), pid_dir: None, stuck_after: DEFAULT_STUCK_AFTER }
    }
}

/// Starts `exe __backup-worker`, sends `req`, reports progress, and returns the worker's result.
/// Cancelling kills the worker; the repository stays valid (rustic writes a snapshot last).
pub async fn call(
    exe: &Path,
    req: &Request,
    on_progress: impl FnMut(JobProgress) + Send,
    cancel: &CancellationToken,
) -> Result<serde_json::Value, JobError> {
    call_keyed(exe, req, on_progress, |_| {}, cancel).await
}

/// [`call`], also handing over the repository's master key when the worker derived it.
pub async fn call_keyed(
    exe: &Path,
    req: &Request,
    on_progress: impl FnMut(JobProgress) + Send,
    on_key: impl FnMut(String) + Send,
    cancel: &CancellationToken,
) -> Result<serde_json::Value, JobError> {
    Worker::new(exe).run(req, on_progress, on_key, cancel).await
}

/// The worker runs in a process group of its own (it is the leader, so its pid is the group's
/// id): stopping it stops whatever it started too, and nothing it does reaches the engine's group.
fn kill_group(pid: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = pid.and_then(|p| libc::pid_t::try_from(p).ok()).filter(|p| *p > 0) {
        // SAFETY: a plain syscall; a group that is already gone only yields ESRCH.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

/// How long a cancelled worker gets to remove its repository locks and exit on its own.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Cancels a worker the way its protocol allows: closing its stdin tells it the engine is gone,
/// so it removes its repository locks (a lock left behind makes restic refuse to prune until
/// someone runs `restic unlock`) and exits. One that does not within [`STOP_GRACE`] (a hung
/// disk) is killed with its group, as is anything it started.
async fn stop(child: &mut tokio::process::Child, stdin: &mut Option<tokio::process::ChildStdin>, pid: Option<u32>) {
    drop(stdin.take());
    let _ = tokio::time::timeout(STOP_GRACE, child.wait()).await;
    kill_group(pid);
    let _ = child.wait().await;
}

/// Keeps the last `STDERR_KEEP` bytes of what the worker writes to stderr, however much that is.
async fn stderr_tail(stderr: Option<tokio::process::ChildStderr>) -> String {
    let mut keep: Vec<u8> = Vec::with_capacity(STDERR_KEEP * 2);
    if let Some(mut s) = stderr {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = s.read(&mut chunk).await {
            if n == 0 {
                break;
            }
            keep.extend_from_slice(&chunk[..n]);
            if keep.len() > STDERR_KEEP {
                keep.drain(..keep.len() - STDERR_KEEP);
            }
        }
    }
    String::from_utf8_lossy(&keep).into_owned()
}

impl Worker {
    pub async fn run(
        &self,
        req: &Request,
        mut on_progress: impl FnMut(JobProgress) + Send,
        mut on_key: impl FnMut(String) + Send,
        cancel: &CancellationToken,
    ) -> Result<serde_json::Value, JobError> {
        let line = serde_json::to_string(req).map_err(|e| JobError::new(ErrorKind::Failed, format!("cannot encode the request: {e}")))?;
        let mut cmd = tokio::process::Command::new(&self.exe);
        cmd.arg(WORKER_ARG).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        #[cfg(unix)]
        cmd.process_group(0);
        let mut child = cmd
            .spawn()
            .map_err(|e| JobError::new(ErrorKind::Failed, format!("cannot start the backup worker {}: {e}", self.exe.display())))?;
        let pid = child.id();
        let _pid_file = self.pid_dir.as_deref().zip(pid).and_then(|(dir, pid)| super::reaper::PidFile::write(dir, pid));
        // Dropping the worker (the caller's future given up) must not leave its group running.
        let mut group = GroupGuard(pid);
        // The password goes through this pipe only. The pipe then stays open without another
        // byte: the worker takes its closing as the engine's death and stops.
        let mut stdin = child.stdin.take();
        if let Some(s) = stdin.as_mut() {
            let sent = async {
                s.write_all(line.as_bytes()).await?;
                s.write_all(b"\n").await?;
                s.flush().await
            }
            .await;
            if let Err(e) = sent {
                return Err(JobError::new(ErrorKind::Failed, format!("cannot talk to the backup worker: {e}")));
            }
        }
        let stdout = child.stdout.take().ok_or_else(|| JobError::new(ErrorKind::Failed, "the backup worker has no stdout"))?;
        let stderr_task = tokio::spawn(stderr_tail(child.stderr.take()));
        let stuck = || {
            JobError::new(
                ErrorKind::Stuck,
                format!(
                    "the backup worker made no progress for {} and was stopped (a disk or network share that no longer answers?)",
                    describe_duration(self.stuck_after)
                ),
            )
        };
        let mut lines = BufReader::new(stdout).lines();
        let mut outcome: Option<Result<serde_json::Value, JobError>> = None;
        let mut deadline = tokio::time::Instant::now() + self.stuck_after;
        // Read its lines until stdout closes, then wait for it to exit; a Cancel or the stuck
        // deadline can end either phase.
        let mut reading = true;
        let status = loop {
            tokio::select! {
                _ = cancel.cancelled() => {
                    stop(&mut child, &mut stdin, pid).await;
                    group.0 = None;
                    return Err(JobError::new(ErrorKind::Cancelled, "cancelled"));
                }
                _ = tokio::time::sleep_until(deadline) => {
                    kill_group(pid);
                    let _ = child.wait().await;
                    group.0 = None;
                    return Err(stuck());
                }
                next = lines.next_line(), if reading => match next {
                    Ok(Some(l)) => {
                        deadline = tokio::time::Instant::now() + self.stuck_after;
                        match serde_json::from_str::<WorkerEvent>(&l) {
                            Ok(WorkerEvent::Progress(p)) => on_progress(p),
                            Ok(WorkerEvent::Key { key }) => on_key(key),
                            Ok(WorkerEvent::Done { result }) => outcome = Some(Ok(result)),
                            Ok(WorkerEvent::Error { kind, message }) => {
                                // The first error is the cause; a panic after it only repeats it.
                                if !matches!(outcome, Some(Err(_))) {
                                    outcome = Some(Err(JobError::new(kind, message)));
                                }
                            }
                            Err(_) => tracing::debug!(line = %l, "backup worker said something unexpected"),
                        }
                    }
                    Ok(None) | Err(_) => reading = false,
                },
                s = child.wait(), if !reading => break s,
            }
        };
        // Reaped: its pid may be reused from now on, so no more signals to that number.
        group.0 = None;
        drop(stdin);
        let stderr_text = stderr_task.await.unwrap_or_default();
        match outcome {
            Some(r) => r,
            None => {
                let how = match status {
                    Ok(s) => describe_exit(s),
                    Err(e) => format!("could not be waited for ({e})"),
                };
                let kind = if stderr_text.contains("No space left") { ErrorKind::NoSpace } else { ErrorKind::Failed };
                let tail = stderr_text.trim();
                let tail = if tail.is_empty() { String::new() } else { format!(": {}", tail.lines().last().unwrap_or_default()) };
                Err(JobError::new(kind, format!("the backup worker stopped unexpectedly ({how}){tail}")))
            }
        }
    }
}

/// Kills the worker's group when the call is given up before the worker was reaped.
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        kill_group(self.0);
    }
}

fn describe_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 120 {
        format!("{} minutes", s / 60)
    } else {
        format!("{s} seconds")
    }
}

fn describe_exit(s: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = s.signal() {
            return format!("killed by signal {sig}");
        }
    }
    match s.code() {
        Some(c) => format!("exit code {c}"),
        None => "no exit code".into(),
    }
}
