//! Connection slots. A peer that opens connections and never sends an allowed request must not
//! keep a scraper out, so when every slot is taken the oldest connection that has not yet been
//! let in is dropped to make room; connections that have made an allowed request are kept.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

struct Entry {
    id: u64,
    trusted: Arc<AtomicBool>,
    evict: CancellationToken,
}

pub(crate) struct Slots {
    max: usize,
    next: AtomicU64,
    open: Mutex<Vec<Entry>>,
}

/// One admitted connection; its slot frees when this is dropped.
pub(crate) struct Slot {
    slots: Arc<Slots>,
    id: u64,
    /// Set once the connection made a request that passed the host and token checks.
    pub(crate) trusted: Arc<AtomicBool>,
    /// Cancelled when a newer connection needs the slot.
    pub(crate) evicted: CancellationToken,
}

impl Slots {
    pub(crate) fn new(max: usize) -> Arc<Self> {
        Arc::new(Slots { max, next: AtomicU64::new(0), open: Mutex::new(Vec::new()) })
    }

    /// A slot for a new connection, or `None` when every slot is held by a trusted connection.
    pub(crate) fn admit(self: &Arc<Self>) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.len() >= self.max {
            // Oldest first: entries are kept in the order they were admitted.
            let i = open.iter().position(|e| !e.trusted.load(Ordering::Acquire))?;
            open.remove(i).evict.cancel();
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (trusted, evict) = (Arc::new(AtomicBool::new(false)), CancellationToken::new());
        open.push(Entry { id, trusted: trusted.clone(), evict: evict.clone() });
        Some(Slot { slots: self.clone(), id, trusted, evicted: evict })
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|p| p.into_inner());
        open.retain(|e| e.id != self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_table_drops_the_oldest_untrusted_connection_and_keeps_trusted_ones() {
        let slots = Slots::new(3);
        let a = slots.admit().unwrap();
        a.trusted.store(true, Ordering::Release);
        let b = slots.admit().unwrap();
        let c = slots.admit().unwrap();
        let d = slots.admit().unwrap();
        assert!(!a.evicted.is_cancelled());
        assert!(b.evicted.is_cancelled(), "the oldest untrusted connection makes room");
        assert!(!c.evicted.is_cancelled() && !d.evicted.is_cancelled());
        assert_eq!(slots.len(), 3);
        drop(b);
        assert_eq!(slots.len(), 3, "an evicted slot was already given up");
        c.trusted.store(true, Ordering::Release);
        d.trusted.store(true, Ordering::Release);
        assert!(slots.admit().is_none(), "trusted connections are never dropped for a newcomer");
        drop(d);
        assert!(slots.admit().is_some());
    }
}
