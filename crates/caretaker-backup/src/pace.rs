//! The plan's upload limit: every file written to the repository waits its turn, so that on
//! average no more than the limit leaves the machine. Packs go out whole (a backend takes a file
//! in one piece), so the limit holds over a pack or two, not within one: a 100 KiB/s limit with
//! 16 MiB packs sends one pack at line speed, then nothing for about 160 s. That leaves the
//! uplink to the household nearly all the time, which is what the limit is for.

use bytes::Bytes;
use rustic_core::{BytesList, FileType, Id, ReadBackend, RusticResult, WriteBackend};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Paced {
    inner: Arc<dyn WriteBackend>,
    bytes_per_second: u64,
    /// When the next write may start.
    next: Mutex<Instant>,
    sleep: fn(Duration),
}

impl Paced {
    pub fn new(inner: Arc<dyn WriteBackend>, bytes_per_second: u64) -> Paced {
        Paced { inner, bytes_per_second: bytes_per_second.max(1), next: Mutex::new(Instant::now()), sleep: std::thread::sleep }
    }

    /// Reserves the time `bytes` take at the limit and waits for this write's turn.
    fn wait_turn(&self, bytes: usize) {
        let now = Instant::now();
        let start = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let start = (*next).max(now);
            *next = start + Duration::from_secs_f64(bytes as f64 / self.bytes_per_second as f64);
            start
        };
        if start > now {
            (self.sleep)(start - now);
        }
    }
}

impl ReadBackend for Paced {
    fn location(&self) -> String {
        self.inner.location()
    }
    fn list_with_size(&self, tpe: FileType) -> RusticResult<Vec<(Id, u32)>> {
        self.inner.list_with_size(tpe)
    }
    fn list(&self, tpe: FileType) -> RusticResult<Vec<Id>> {
        self.inner.list(tpe)
    }
    fn read_full(&self, tpe: FileType, id: &Id) -> RusticResult<Bytes> {
        self.inner.read_full(tpe, id)
    }
    fn read_partial(&self, tpe: FileType, id: &Id, cacheable: bool, offset: u32, length: u32) -> RusticResult<Bytes> {
        self.inner.read_partial(tpe, id, cacheable, offset, length)
    }
    fn warmup_path(&self, tpe: FileType, id: &Id) -> String {
        self.inner.warmup_path(tpe, id)
    }
    fn needs_warm_up(&self) -> bool {
        self.inner.needs_warm_up()
    }
    fn warm_up(&self, tpe: FileType, id: &Id) -> RusticResult<()> {
        self.inner.warm_up(tpe, id)
    }
}

impl WriteBackend for Paced {
    fn create(&self) -> RusticResult<()> {
        self.inner.create()
    }
    fn write_bytes(&self, tpe: FileType, id: &Id, cacheable: bool, content: BytesList) -> RusticResult<()> {
        self.wait_turn(content.size());
        self.inner.write_bytes(tpe, id, cacheable, content)
    }
    fn remove(&self, tpe: FileType, id: &Id, cacheable: bool) -> RusticResult<()> {
        self.inner.remove(tpe, id, cacheable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    static SLEPT_MS: AtomicU64 = AtomicU64::new(0);

    fn record(d: Duration) {
        SLEPT_MS.fetch_add(d.as_millis() as u64, Ordering::SeqCst);
    }

    #[test]
    fn writes_wait_for_the_time_their_bytes_take_at_the_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let local = rustic_backend::BackendOptions::default()
            .repository(dir.path().to_str().expect("utf-8"))
            .to_backends()
            .expect("backend")
            .repository();
        // 1 MiB/s, three writes of 512 KiB: the first goes at once, the next two wait their turn.
        let paced = Paced { sleep: record, ..Paced::new(local, 1024 * 1024) };
        for i in 0..3u8 {
            let id = Id::random();
            paced.write_bytes(FileType::Snapshot, &id, false, vec![i; 512 * 1024].into()).expect("write");
        }
        // The calls themselves take a few ms, so the waits are about 0.5 s and 1.0 s.
        let slept = SLEPT_MS.load(Ordering::SeqCst);
        assert!((1400..=1500).contains(&slept), "slept {slept} ms for 1.5 MiB at 1 MiB/s (0.5 s of it free)");
        assert_eq!(paced.list(FileType::Snapshot).expect("list").len(), 3, "everything arrived");
    }
}
