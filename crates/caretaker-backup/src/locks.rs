//! restic-compatible repository locks in `locks/`.
//!
//! rustic_core neither writes nor reads them, yet restic (and a second machine, or a worker left
//! over from a crash) may write to the same repository: a prune that deletes every unindexed
//! pack would then delete that writer's fresh data. So the worker writes restic's lock file
//! (encrypted JSON, named by the SHA-256 of its ciphertext, refreshed every 5 minutes) and
//! refuses to go on when another program holds a lock that conflicts with its own: a prune is
//! exclusive, a backup shares the repository with other backups.

pub use crate::lock_files::{Dal, Place};
use crate::{Failure, Outcome};
use aes256ctr_poly1305aes::aead::{Aead, AeadInPlace};
use aes256ctr_poly1305aes::Aes256CtrPoly1305Aes;
use caretaker_engine::backup::protocol::ErrorKind;
use rand::Rng;
use rustic_core::jiff::Timestamp;
pub use rustic_core::repofile::MasterKey;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// restic's own threshold: a lock not refreshed for this long belongs to a dead process.
pub const STALE_AFTER: Duration = Duration::from_secs(30 * 60);
const REFRESH_EVERY: Duration = Duration::from_secs(5 * 60);

/// Lock files this process holds (where, and the file's name), removed by [`release_all`] when
/// the engine goes away.
static HELD: Mutex<Vec<(Place, String)>> = Mutex::new(Vec::new());

/// restic's `Lock` as it is stored (field names and meaning are restic's).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LockInfo {
    pub time: String,
    pub exclusive: bool,
    pub hostname: String,
    #[serde(default)]
    pub username: String,
    pub pid: i64,
    #[serde(default)]
    pub uid: u32,
    #[serde(default)]
    pub gid: u32,
}

fn cipher(key: &MasterKey) -> Outcome<Aes256CtrPoly1305Aes> {
    if key.encrypt.len() != 32 || key.mac.k.len() != 16 || key.mac.r.len() != 16 {
        return Err(Failure::new(ErrorKind::Failed, "cannot lock the repository: its key has an unexpected shape"));
    }
    let mut bytes = [0u8; 64];
    bytes[..32].copy_from_slice(&key.encrypt);
    bytes[32..48].copy_from_slice(&key.mac.k);
    bytes[48..].copy_from_slice(&key.mac.r);
    Ok(Aes256CtrPoly1305Aes::new(aes256ctr_poly1305aes::Key::from_slice(&bytes)))
}

fn encrypt(c: &Aes256CtrPoly1305Aes, plain: &[u8]) -> Outcome<Vec<u8>> {
    let mut nonce = [0u8; 16];
    rand::rng().fill_bytes(&mut nonce);
    let mut out = Vec::with_capacity(plain.len() + 32);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plain);
    let tag = c
        .encrypt_in_place_detached(aes256ctr_poly1305aes::Nonce::from_slice(&nonce), &[], &mut out[16..])
        .map_err(|_| Failure::new(ErrorKind::Failed, "cannot lock the repository: encryption failed"))?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Decrypts and, for repository format v2, decompresses (restic writes either form).
fn decrypt(c: &Aes256CtrPoly1305Aes, data: &[u8]) -> Option<LockInfo> {
    if data.len() < 32 {
        return None;
    }
    let plain = c.decrypt(aes256ctr_poly1305aes::Nonce::from_slice(&data[..16]), &data[16..]).ok()?;
    let json = match plain.first() {
        Some(b'{') => plain,
        Some(2) => zstd::decode_all(&plain[1..]).ok()?,
        _ => return None,
    };
    serde_json::from_slice(&json).ok()
}

pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its whole length; the result is cut at the first NUL.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

fn process_alive(pid: i64) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only asks whether the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Whether a lock no longer protects anything: too old, or its process on this machine is gone.
pub fn is_stale(l: &LockInfo, now: Timestamp, host: &str) -> bool {
    let age_ms = l.time.parse::<Timestamp>().map(|t| now.as_millisecond() - t.as_millisecond()).unwrap_or(i64::MAX);
    let too_old = age_ms > i64::try_from(STALE_AFTER.as_millis()).unwrap_or(i64::MAX);
    too_old || (l.hostname == host && !process_alive(l.pid))
}

/// Every lock in the repository but `except`, decrypted. A lock that cannot be read is counted as
/// a shared lock as old as its file, so a half-written lock never lets a prune through.
pub fn list(repo: impl Into<Place>, key: &MasterKey, except: Option<&str>) -> Outcome<Vec<LockInfo>> {
    Ok(read_all(&repo.into(), &cipher(key)?, except)?.into_iter().map(|(_, l)| l).collect())
}

fn read_all(place: &Place, c: &Aes256CtrPoly1305Aes, except: Option<&str>) -> Outcome<Vec<(String, LockInfo)>> {
    let mut out = Vec::new();
    for (name, data, time) in place.files()? {
        if Some(name.as_str()) == except {
            continue;
        }
        let Some(data) = data else { continue };
        let info = decrypt(c, &data).unwrap_or_else(|| LockInfo {
            time: time.unwrap_or_else(Timestamp::now).to_string(),
            exclusive: false,
            hostname: "unknown".into(),
            username: String::new(),
            pid: 0,
            uid: 0,
            gid: 0,
        });
        out.push((name, info));
    }
    Ok(out)
}

/// Removes stale locks, as `restic unlock` does: restic itself does not look past a stale lock,
/// so a worker that was killed (a cancel, a stuck job) would otherwise block restic until then.
fn remove_stale(place: &Place, c: &Aes256CtrPoly1305Aes) {
    let (now, host) = (Timestamp::now(), hostname());
    for (name, l) in read_all(place, c, None).unwrap_or_default() {
        if l.pid != 0 && is_stale(&l, now, &host) {
            place.delete(&name);
        }
    }
}

fn write(place: &Place, c: &Aes256CtrPoly1305Aes, exclusive: bool) -> Outcome<String> {
    // SAFETY: these calls cannot fail and touch no memory.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    let info = LockInfo {
        time: Timestamp::now().to_string(),
        exclusive,
        hostname: hostname(),
        username: std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_default(),
        pid: i64::from(std::process::id()),
        uid,
        gid,
    };
    let json = serde_json::to_vec(&info).map_err(|e| Failure::new(ErrorKind::Failed, format!("cannot encode the lock: {e}")))?;
    let data = encrypt(c, &json)?;
    let name = sha256_hex(&data);
    place.put(&name, data)?;
    HELD.lock().unwrap_or_else(|p| p.into_inner()).push((place.clone(), name.clone()));
    Ok(name)
}

fn remove(place: &Place, name: &str) {
    place.delete(name);
    HELD.lock().unwrap_or_else(|p| p.into_inner()).retain(|(_, n)| n != name);
}

/// Removes every lock this process holds; for a worker that exits because its engine is gone.
pub fn release_all() {
    let held = std::mem::take(&mut *HELD.lock().unwrap_or_else(|p| p.into_inner()));
    for (place, name) in held {
        place.delete(&name);
    }
}

/// restic names a repository file by the SHA-256 of what is stored.
fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

struct Shared {
    current: Mutex<String>,
    stop: Mutex<bool>,
    wake: Condvar,
    place: Place,
}

/// A lock held for as long as this value lives, refreshed in the background like restic's.
pub struct RepoLock {
    shared: Arc<Shared>,
    refresher: Option<std::thread::JoinHandle<()>>,
}

impl RepoLock {
    /// Writes our lock, then looks for a conflicting one (restic's order, so two programs
    /// starting together both see each other and neither goes on alone).
    pub fn acquire(place: impl Into<Place>, key: &MasterKey, exclusive: bool, what: &str) -> Outcome<RepoLock> {
        let (place, c) = (place.into(), cipher(key)?);
        remove_stale(&place, &c);
        let name = write(&place, &c, exclusive)?;
        let (now, host) = (Timestamp::now(), hostname());
        let others = match read_all(&place, &c, Some(&name)) {
            Ok(l) => l,
            Err(f) => {
                remove(&place, &name);
                return Err(f);
            }
        };
        if let Some((_, l)) = others.iter().find(|(_, l)| (exclusive || l.exclusive) && !is_stale(l, now, &host)) {
            remove(&place, &name);
            let holder = if l.exclusive { "holds it exclusively (a prune or a check?)" } else { "is writing to it" };
            return Err(Failure::new(
                ErrorKind::Locked,
                format!(
                    "another program {holder}: pid {} on {} since {}; {what} later",
                    l.pid,
                    if l.hostname.is_empty() { "an unknown machine" } else { &l.hostname },
                    l.time
                ),
            ));
        }
        let shared = Arc::new(Shared { current: Mutex::new(name), stop: Mutex::new(false), wake: Condvar::new(), place });
        let s = shared.clone();
        let refresher = std::thread::spawn(move || refresh(&s, &c, exclusive));
        Ok(RepoLock { shared, refresher: Some(refresher) })
    }
}

fn refresh(s: &Shared, c: &Aes256CtrPoly1305Aes, exclusive: bool) {
    every_until_stopped(&s.stop, &s.wake, REFRESH_EVERY, || {
        // The new lock first, then the old one goes: never a moment without a lock.
        if let Ok(new) = write(&s.place, c, exclusive) {
            let old = std::mem::replace(&mut *s.current.lock().unwrap_or_else(|p| p.into_inner()), new);
            remove(&s.place, &old);
        }
    });
}

/// Runs `tick` every `period` until `stop` is set (and `wake` notified). A stop set before this
/// thread got to wait counts too: the lock may be released before its refresher even started
/// (a short job on a busy machine), and waiting a whole period then would hold up the release.
fn every_until_stopped(stop: &Mutex<bool>, wake: &Condvar, period: Duration, mut tick: impl FnMut()) {
    let mut stopped = stop.lock().unwrap_or_else(|p| p.into_inner());
    while !*stopped {
        let (guard, timeout) = wake.wait_timeout(stopped, period).unwrap_or_else(|p| p.into_inner());
        stopped = guard;
        if !*stopped && timeout.timed_out() {
            tick();
        }
    }
}

impl Drop for RepoLock {
    fn drop(&mut self) {
        *self.shared.stop.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.shared.wake.notify_all();
        if let Some(t) = self.refresher.take() {
            let _ = t.join();
        }
        let name = self.shared.current.lock().unwrap_or_else(|p| p.into_inner()).clone();
        remove(&self.shared.place, &name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Runs `every_until_stopped` with an hour's period on its own thread; true when it returned
    /// within `within`.
    fn returns_within(stop: Arc<(Mutex<bool>, Condvar)>, within: Duration, ticks: Arc<Mutex<u32>>) -> (bool, std::thread::JoinHandle<()>) {
        let (tx, rx) = std::sync::mpsc::channel();
        let t = std::thread::spawn(move || {
            every_until_stopped(&stop.0, &stop.1, Duration::from_secs(3600), || *ticks.lock().unwrap_or_else(|p| p.into_inner()) += 1);
            let _ = tx.send(());
        });
        (rx.recv_timeout(within).is_ok(), t)
    }

    #[test]
    fn a_stop_set_before_the_refresher_waits_ends_it_at_once() {
        // The lock was released before its refresher thread started: the old loop waited a whole
        // period (five minutes) before it looked, and the release waited with it.
        let stop = Arc::new((Mutex::new(true), Condvar::new()));
        let ticks = Arc::new(Mutex::new(0));
        let (returned, _t) = returns_within(stop, Duration::from_secs(60), ticks.clone());
        assert!(returned, "the refresher kept waiting after the lock was released");
        assert_eq!(*ticks.lock().unwrap_or_else(|p| p.into_inner()), 0, "no refresh after the release");
    }

    #[test]
    fn a_stop_while_waiting_wakes_it() {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let ticks = Arc::new(Mutex::new(0));
        let s = stop.clone();
        let waker = std::thread::spawn(move || {
            *s.0.lock().unwrap_or_else(|p| p.into_inner()) = true;
            s.1.notify_all();
        });
        let (returned, _t) = returns_within(stop, Duration::from_secs(60), ticks.clone());
        let _ = waker.join();
        assert!(returned);
        assert_eq!(*ticks.lock().unwrap_or_else(|p| p.into_inner()), 0);
    }
}
