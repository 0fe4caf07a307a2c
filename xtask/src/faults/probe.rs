//! The probe target of the scenario's HTTP check: a loopback server that answers 200, or, while
//! told to hang, accepts connections and never answers them.

use super::{harness, HResult};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The probe target: answers 200, or (while `hang` is set) accepts and never answers.
pub struct ProbeServer {
    pub port: u16,
    hang: Arc<AtomicBool>,
    held: Arc<Mutex<Vec<TcpStream>>>,
}

impl ProbeServer {
    pub fn start() -> HResult<ProbeServer> {
        let l = TcpListener::bind("127.0.0.1:0").map_err(|e| harness(format!("probe server: {e}")))?;
        let port = l.local_addr().map_err(|e| harness(format!("probe server: {e}")))?.port();
        let hang = Arc::new(AtomicBool::new(false));
        let held = Arc::new(Mutex::new(Vec::new()));
        let (h, k) = (hang.clone(), held.clone());
        std::thread::spawn(move || {
            for mut s in l.incoming().flatten() {
                if h.load(Ordering::SeqCst) {
                    if let Ok(mut v) = k.lock() {
                        v.push(s);
                    }
                    continue;
                }
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = [0u8; 2048];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
            }
        });
        Ok(ProbeServer { port, hang, held })
    }

    pub fn set_hang(&self, on: bool) {
        self.hang.store(on, Ordering::SeqCst);
        if !on {
            if let Ok(mut v) = self.held.lock() {
                v.clear();
            }
        }
    }
}
