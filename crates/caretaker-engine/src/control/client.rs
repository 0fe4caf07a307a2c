//! A client of the control socket: the CLI's commands and an app attached to a running engine.
//! Requests may overlap; each answer finds its caller by id. When the engine goes away, every
//! waiting call fails with `EngineUnreachable` and `closed()` resolves.

use super::server::read_line;
use super::wire::{extra, Hello, Message, Request, MAX_REPLY_BYTES, MAX_REQUEST_BYTES};
use crate::error::ErrorPayload;
use crate::events::Event;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

type Answer = Result<serde_json::Value, ErrorPayload>;

/// How long an engine has to say who it is when a client connects.
const HELLO_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// What a subscription yields.
#[derive(Debug, Clone)]
pub enum Incoming {
    Event(Box<Event>),
    /// Some events were missed: re-read the snapshot.
    Resync,
}

#[derive(Default)]
struct Shared {
    pending: HashMap<u64, oneshot::Sender<Answer>>,
    events: Option<mpsc::Sender<Incoming>>,
    /// Set once the connection is gone: later calls fail at once with it.
    gone: Option<ErrorPayload>,
}

pub struct Client {
    write: tokio::sync::Mutex<OwnedWriteHalf>,
    shared: Arc<Mutex<Shared>>,
    next: AtomicU64,
    closed: CancellationToken,
    reader: JoinHandle<()>,
    hello: Hello,
}

fn lock(shared: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

fn went_away() -> ErrorPayload {
    ErrorPayload::unreachable("the Caretaker engine went away (it stopped or restarted)")
}

impl Client {
    /// Connects to the engine that owns `data_dir` and asks who it is.
    pub async fn connect(data_dir: &Path) -> Result<Client, ErrorPayload> {
        let path = super::socket_path(data_dir);
        let stream = UnixStream::connect(&path).await.map_err(|e| {
            // Not being let in says nothing of whether an engine runs: starting one would not help.
            let message = if e.kind() == std::io::ErrorKind::PermissionDenied {
                format!(
                    "cannot reach the Caretaker engine for {} ({}: {e}); only the user it runs as may use it",
                    data_dir.display(),
                    path.display()
                )
            } else {
                format!(
                    "no Caretaker engine is running for {} (nothing answers on {}: {e}); start it with `caretaker run` or `caretaker service install`",
                    data_dir.display(),
                    path.display()
                )
            };
            ErrorPayload::unreachable(message)
        })?;
        // The socket's owner must be this user: in a folder others can write to, someone else's
        // socket could stand in for the engine and receive what is sent (a backup password).
        let own = rustix::process::geteuid().as_raw();
        match stream.peer_cred().map(|c| c.uid()) {
            Ok(uid) if uid == own => {}
            Ok(uid) => {
                return Err(ErrorPayload::unreachable(format!(
                    "{} is served by uid {uid}, not by you (uid {own}); not used",
                    path.display()
                )))
            }
            Err(e) => return Err(ErrorPayload::unreachable(format!("cannot tell who serves {}: {e}", path.display()))),
        }
        let (read, write) = stream.into_split();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let closed = CancellationToken::new();
        let reader = tokio::spawn(read_messages(BufReader::new(read), shared.clone(), closed.clone()));
        let mut client = Client {
            write: tokio::sync::Mutex::new(write),
            shared,
            next: AtomicU64::new(1),
            closed,
            reader,
            hello: Hello { version: String::new(), pid: 0, data_dir: String::new() },
        };
        // A process that holds the socket but does not answer (stopped, hung) is no engine.
        client.hello =
            tokio::time::timeout(HELLO_TIMEOUT, client.call_as(extra::HELLO, serde_json::Value::Null)).await.map_err(|_| {
                ErrorPayload::unreachable(format!(
                    "the Caretaker engine for {} did not answer within {} s",
                    data_dir.display(),
                    HELLO_TIMEOUT.as_secs()
                ))
            })??;
        Ok(client)
    }

    /// Who answered: the engine's version, pid and data folder.
    pub fn hello(&self) -> &Hello {
        &self.hello
    }

    /// Sends `cmd` with `args` (an object of named arguments, or null) and waits for its answer.
    pub async fn call(&self, cmd: &str, args: serde_json::Value) -> Answer {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut s = lock(&self.shared);
            if let Some(gone) = &s.gone {
                return Err(gone.clone());
            }
            s.pending.insert(id, tx);
        }
        let request = Request { id, cmd: cmd.to_string(), args };
        let mut line = serde_json::to_string(&request).map_err(|e| ErrorPayload::unreachable(format!("could not encode {cmd}: {e}")))?;
        line.push('\n');
        // The engine drops a connection that sends more: refuse here, with the reason.
        if line.len() > MAX_REQUEST_BYTES {
            lock(&self.shared).pending.remove(&id);
            return Err(crate::error::EngineError::InvalidInput(format!(
                "{cmd}: the request is {} KiB; at most {} KiB may be sent",
                line.len() >> 10,
                MAX_REQUEST_BYTES >> 10
            ))
            .payload());
        }
        if self.write.lock().await.write_all(line.as_bytes()).await.is_err() {
            // The engine may have said why it closed (a refusal) before the write failed: the
            // reader answers this call with that once it has read to the end.
            if let Ok(answer) = tokio::time::timeout(std::time::Duration::from_secs(2), rx).await {
                return answer.unwrap_or_else(|_| Err(went_away()));
            }
            lock(&self.shared).pending.remove(&id);
            return Err(went_away());
        }
        rx.await.unwrap_or_else(|_| Err(went_away()))
    }

    /// `call`, with the answer decoded as `T`.
    pub async fn call_as<T: DeserializeOwned>(&self, cmd: &str, args: serde_json::Value) -> Result<T, ErrorPayload> {
        let value = self.call(cmd, args).await?;
        serde_json::from_value(value).map_err(|e| {
            ErrorPayload::unreachable(format!("the engine's answer to {cmd} was not understood ({e}); is it another version?"))
        })
    }

    /// Engine events from now on, until the connection ends (then the receiver closes).
    pub async fn subscribe(&self) -> Result<mpsc::Receiver<Incoming>, ErrorPayload> {
        let (tx, rx) = mpsc::channel(1024);
        lock(&self.shared).events = Some(tx);
        self.call(extra::SUBSCRIBE, serde_json::Value::Null).await?;
        Ok(rx)
    }

    /// Resolves when the connection has ended.
    pub async fn closed(&self) {
        self.closed.cancelled().await
    }

    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

async fn read_messages(mut read: BufReader<tokio::net::unix::OwnedReadHalf>, shared: Arc<Mutex<Shared>>, closed: CancellationToken) {
    let mut buf = Vec::new();
    let mut lagged = false;
    let mut reason = went_away();
    while let Ok(Some(())) = read_line(&mut read, &mut buf, MAX_REPLY_BYTES).await {
        let msg = match serde_json::from_slice::<Message>(&buf) {
            Ok(m) => m,
            Err(e) => {
                // From another version of the engine: a reply still ends its call (with the
                // reason), and missed events are made up by a resync.
                match not_understood(&buf, &e) {
                    Some((id, err)) => {
                        if let Some(tx) = lock(&shared).pending.remove(&id) {
                            let _ = tx.send(Err(err));
                        }
                    }
                    None => lagged = deliver(&shared, Incoming::Resync, lagged),
                }
                continue;
            }
        };
        match msg {
            // Id 0 answers no request: the engine refused the connection or a garbled line.
            Message::Reply { id: 0, result: Err(e) } => reason = e,
            Message::Reply { id, result } => {
                if let Some(tx) = lock(&shared).pending.remove(&id) {
                    let _ = tx.send(result);
                }
            }
            Message::Event { event } => lagged = deliver(&shared, Incoming::Event(event), lagged),
            Message::Resync => lagged = deliver(&shared, Incoming::Resync, lagged),
        }
    }
    let mut s = lock(&shared);
    for (_, tx) in s.pending.drain() {
        let _ = tx.send(Err(reason.clone()));
    }
    s.gone = Some(reason);
    s.events = None;
    drop(s);
    closed.cancel();
}

/// The id of a reply that could not be decoded, with an error saying so; None for anything else.
fn not_understood(line: &[u8], e: &serde_json::Error) -> Option<(u64, ErrorPayload)> {
    let v: serde_json::Value = serde_json::from_slice(line).ok()?;
    if v.get("type")?.as_str()? != "reply" {
        return None;
    }
    let id = v.get("id")?.as_u64()?;
    Some((id, ErrorPayload::unreachable(format!("the engine's answer was not understood ({e}); is it another version of Caretaker?"))))
}

/// Hands `item` to the subscriber without ever blocking the reader; a full queue drops it and
/// the next delivery is preceded by a resync. Returns whether events are being dropped.
fn deliver(shared: &Mutex<Shared>, item: Incoming, lagged: bool) -> bool {
    let s = lock(shared);
    let Some(tx) = &s.events else { return false };
    if lagged && tx.try_send(Incoming::Resync).is_err() {
        return true;
    }
    tx.try_send(item).is_err()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, Write};
    use std::sync::mpsc as mpsc_std;

    /// An engine that answers `hello`; then, once told to `go`, says why it closes and closes.
    fn refusing_server(dir: &Path, go: mpsc_std::Receiver<()>, closed: mpsc_std::Sender<()>) -> std::thread::JoinHandle<()> {
        let listener = std::os::unix::net::UnixListener::bind(super::super::socket_path(dir)).expect("bind");
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().expect("accept");
            let mut line = String::new();
            std::io::BufReader::new(&stream).read_line(&mut line).expect("hello");
            let hello: Request = serde_json::from_str(&line).expect("a request");
            let who = Hello { version: "test".into(), pid: 1, data_dir: String::new() };
            let send = |reply: Message| {
                let text = format!("{}\n", serde_json::to_string(&reply).expect("encode"));
                (&stream).write_all(text.as_bytes()).expect("write");
            };
            send(Message::Reply { id: hello.id, result: Ok(serde_json::to_value(who).expect("encode")) });
            go.recv().expect("go");
            send(Message::Reply { id: 0, result: Err(ErrorPayload::unreachable("refused: not yours")) });
            drop(stream);
            closed.send(()).expect("signal");
        })
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_call_after_the_engine_closed_fails_with_the_reason_it_gave() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (go_tx, go_rx) = mpsc_std::channel();
        let (closed_tx, closed_rx) = mpsc_std::channel();
        let server = refusing_server(dir.path(), go_rx, closed_tx);
        let client = Client::connect(dir.path()).await.expect("connect");
        go_tx.send(()).expect("go");
        // Blocking the only thread keeps the client's reader from seeing the close first: the
        // request's write is what fails.
        closed_rx.recv().expect("the server closed");
        server.join().expect("server");
        let err = client.call("list_alerts", serde_json::Value::Null).await.expect_err("the connection is gone");
        assert_eq!(err.message, "refused: not yours");
        assert!(client.is_closed());
    }
}
