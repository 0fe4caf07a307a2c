//! The engine's side of the control socket: accept, check the peer, answer each request in its
//! own task (a long backup verify does not hold up a status read), and stream events to a client
//! that subscribed.

use super::wire::{extra, Hello, Message, Request, MAX_REQUEST_BYTES};
use crate::error::{EngineError, ErrorPayload, Result};
use crate::handle::EngineHandle;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc, Semaphore};
use tokio_util::sync::CancellationToken;

/// Requests one connection may have in progress; the next waits (a client that sends without
/// reading cannot pile up work).
const MAX_IN_FLIGHT: u32 = 32;
/// How long a client may leave an answer unread before its connection is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long answers still being worked on are waited for after a client stops sending.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(120);

/// A listening socket and its path (removed again when the server stops).
pub struct Listener {
    listener: UnixListener,
    path: PathBuf,
}

/// Binds the socket in `data_dir`. Call only while holding the data folder's lock: a socket file
/// left there belongs to an engine that is gone and is replaced; anything else by that name is
/// left alone and refused.
pub fn bind(data_dir: &Path) -> Result<Listener> {
    let path = super::socket_path(data_dir);
    match std::fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_socket() => std::fs::remove_file(&path)
            .map_err(|e| EngineError::io(format!("cannot replace the old control socket {}", path.display()), e))?,
        Ok(_) => {
            return Err(EngineError::InvalidInput(format!(
                "{} is in the way of Caretaker's control socket and is not a socket; move it elsewhere",
                path.display()
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(EngineError::io(format!("cannot inspect {}", path.display()), e)),
    }
    let listener = UnixListener::bind(&path).map_err(|e| EngineError::io(format!("cannot listen on {}", path.display()), e))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| EngineError::io(format!("cannot make {} private", path.display()), e))?;
    Ok(Listener { listener, path })
}

/// The uid this engine runs as: the only one let in.
fn own_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Serves until `cancel`, then removes the socket file.
pub async fn serve(engine: EngineHandle, listener: Listener, cancel: CancellationToken) {
    let uid = own_uid();
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => break,
            a = listener.listener.accept() => a,
        };
        match accepted {
            Ok((stream, _)) => {
                let cred = stream.peer_cred();
                let peer_pid = cred.as_ref().ok().and_then(|c| c.pid());
                match cred.map(|c| c.uid()) {
                    Ok(p) if p == uid => {
                        tokio::spawn(connection(engine.clone(), stream, cancel.clone(), peer_pid));
                    }
                    Ok(p) => {
                        tracing::warn!(peer_uid = p, "refused a control connection from another user");
                        tokio::spawn(refuse(stream, format!("refused: this Caretaker engine belongs to uid {uid}, you are uid {p}")));
                    }
                    Err(e) => tracing::warn!("refused a control connection whose user could not be read: {e}"),
                }
            }
            Err(e) => {
                // Out of file descriptors and the like: wait a moment instead of spinning.
                tracing::warn!("control socket accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    if let Err(e) = std::fs::remove_file(&listener.path) {
        tracing::debug!("could not remove the control socket: {e}");
    }
}

async fn refuse(mut stream: UnixStream, message: String) {
    let reply = Message::Reply { id: 0, result: Err(ErrorPayload::unreachable(message)) };
    if let Ok(mut line) = serde_json::to_string(&reply) {
        line.push('\n');
        let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(line.as_bytes())).await;
    }
}

/// Reads one line of at most `max` bytes; None at the end of the stream or on an overlong line.
pub(super) async fn read_line<R: AsyncRead + Unpin>(r: &mut BufReader<R>, buf: &mut Vec<u8>, max: usize) -> std::io::Result<Option<()>> {
    buf.clear();
    loop {
        let available = r.fill_buf().await?;
        if available.is_empty() {
            return Ok(None);
        }
        let (taken, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        buf.extend_from_slice(&available[..taken]);
        r.consume(taken);
        if buf.len() > max {
            return Ok(None);
        }
        if done {
            return Ok(Some(()));
        }
    }
}

async fn connection(engine: EngineHandle, stream: UnixStream, cancel: CancellationToken, peer_pid: Option<i32>) {
    let (read, mut write) = stream.into_split();
    let (out, mut outgoing) = mpsc::channel::<Message>(256);
    let done = cancel.child_token();
    let writer = {
        let done = done.clone();
        tokio::spawn(async move {
            loop {
                // Queued answers go out before a stop closes the connection (the answer to
                // `shutdown` itself is one).
                let msg = tokio::select! {
                    biased;
                    m = outgoing.recv() => match m { Some(m) => m, None => break },
                    _ = done.cancelled() => break,
                };
                let Ok(mut line) = serde_json::to_string(&msg) else { continue };
                line.push('\n');
                match tokio::time::timeout(WRITE_TIMEOUT, write.write_all(line.as_bytes())).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => break,
                    Err(_) => {
                        tracing::warn!("a control client left its answers unread for {} s; disconnected it", WRITE_TIMEOUT.as_secs());
                        break;
                    }
                }
            }
            done.cancel();
        })
    };
    let mut reader = BufReader::new(read);
    let mut buf = Vec::new();
    let mut subscribed = false;
    let in_flight = std::sync::Arc::new(Semaphore::new(MAX_IN_FLIGHT as usize));
    loop {
        let line = tokio::select! {
            _ = done.cancelled() => break,
            l = read_line(&mut reader, &mut buf, MAX_REQUEST_BYTES) => l,
        };
        match line {
            Ok(Some(())) => {}
            Ok(None) | Err(_) => break,
        }
        let request: Request = match serde_json::from_slice(&buf) {
            Ok(r) => r,
            Err(e) => {
                let err = EngineError::InvalidInput(format!("not a request: {e}")).payload();
                let _ = out.send(Message::Reply { id: 0, result: Err(err) }).await;
                continue;
            }
        };
        match request.cmd.as_str() {
            extra::SUBSCRIBE => {
                // Once per connection: a second subscription would deliver every event twice.
                if !std::mem::replace(&mut subscribed, true) {
                    tokio::spawn(stream_events(engine.subscribe(), out.clone(), done.clone()));
                }
                let _ = out.send(Message::Reply { id: request.id, result: Ok(serde_json::Value::Null) }).await;
            }
            extra::HELLO => {
                let status = engine.status();
                let hello = Hello { version: status.version, pid: status.pid, data_dir: status.data_dir };
                let result = serde_json::to_value(hello).map_err(|e| EngineError::Internal(e.to_string()).payload());
                let _ = out.send(Message::Reply { id: request.id, result }).await;
            }
            extra::SHUTDOWN => {
                tracing::info!(peer_pid, "asked to stop through the control socket");
                let _ = out.send(Message::Reply { id: request.id, result: Ok(serde_json::Value::Null) }).await;
                let engine = engine.clone();
                tokio::spawn(async move { engine.shutdown().await });
            }
            _ => {
                let permit = tokio::select! {
                    _ = done.cancelled() => break,
                    p = in_flight.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                };
                let (engine, out) = (engine.clone(), out.clone());
                tokio::spawn(async move {
                    let result = super::dispatch(&engine, &request.cmd, request.args).await.map_err(|e| e.payload());
                    let _ = out.send(Message::Reply { id: request.id, result }).await;
                    drop(permit);
                });
            }
        }
    }
    // A client that stopped sending (a half-closed `nc -N`) still gets the answers in progress.
    if !done.is_cancelled() {
        tokio::select! {
            _ = done.cancelled() => {}
            _ = tokio::time::timeout(DRAIN_TIMEOUT, in_flight.acquire_many(MAX_IN_FLIGHT)) => {}
        }
    }
    done.cancel();
    let _ = writer.await;
}

async fn stream_events(mut events: broadcast::Receiver<crate::events::Event>, out: mpsc::Sender<Message>, done: CancellationToken) {
    loop {
        let next = tokio::select! {
            _ = done.cancelled() => return,
            e = events.recv() => e,
        };
        let msg = match next {
            Ok(event) => Message::Event { event: Box::new(event) },
            Err(broadcast::error::RecvError::Lagged(_)) => Message::Resync,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if out.send(msg).await.is_err() {
            return;
        }
    }
}
