//! Runs one request in a worker process and turns what it says (or how it died) into a result.

use super::protocol::{ErrorKind, JobProgress, Request, WorkerEvent, WORKER_ARG};
use std::path::Path;
use std::process::Stdio;
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
    mut on_progress: impl FnMut(JobProgress) + Send,
    mut on_key: impl FnMut(String) + Send,
    cancel: &CancellationToken,
) -> Result<serde_json::Value, JobError> {
    let line = serde_json::to_string(req).map_err(|e| JobError::new(ErrorKind::Failed, format!("cannot encode the request: {e}")))?;
    let mut child = tokio::process::Command::new(exe)
        .arg(WORKER_ARG)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| JobError::new(ErrorKind::Failed, format!("cannot start the backup worker {}: {e}", exe.display())))?;
    if let Some(mut stdin) = child.stdin.take() {
        // The password goes through this pipe only.
        let sent = async {
            stdin.write_all(line.as_bytes()).await?;
            stdin.write_all(b"\n").await?;
            stdin.shutdown().await
        }
        .await;
        if let Err(e) = sent {
            return Err(JobError::new(ErrorKind::Failed, format!("cannot talk to the backup worker: {e}")));
        }
    }
    let stdout = child.stdout.take().ok_or_else(|| JobError::new(ErrorKind::Failed, "the backup worker has no stdout"))?;
    let mut stderr = child.stderr.take();
    let stderr_task = tokio::spawn(async move {
        let mut buf = Vec::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.read_to_end(&mut buf).await;
        }
        let start = buf.len().saturating_sub(STDERR_KEEP);
        String::from_utf8_lossy(&buf[start..]).into_owned()
    });
    let mut lines = BufReader::new(stdout).lines();
    let mut outcome: Option<Result<serde_json::Value, JobError>> = None;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => {
                let _ = child.kill().await;
                return Err(JobError::new(ErrorKind::Cancelled, "cancelled"));
            }
            next = lines.next_line() => match next {
                Ok(Some(l)) => match serde_json::from_str::<WorkerEvent>(&l) {
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
                },
                Ok(None) | Err(_) => break,
            }
        }
    }
    let status = tokio::select! {
        _ = cancel.cancelled() => {
            let _ = child.kill().await;
            return Err(JobError::new(ErrorKind::Cancelled, "cancelled"));
        }
        s = child.wait() => s,
    };
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
