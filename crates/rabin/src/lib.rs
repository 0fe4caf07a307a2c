//! Rabin fingerprints over a sliding window: the rolling hash behind restic's content-defined
//! chunker, with the API of `rustic_cdc` 0.3.1 (`Polynom`, `Polynom64`, `Rabin64`, `RollingHash64`)
//! that `rustic_core` 0.13 uses.
//!
//! Why this crate exists: the hash needs two 256-entry tables that depend only on the repository's
//! polynomial and the window size, and `rustic_core` builds a fresh `Rabin64` for every file it
//! backs up. `rustic_cdc` recomputes both tables each time (about 16 000 polynomial reductions);
//! on a first backup of many small files that was a third of the worker's CPU time. Here the
//! tables are computed once per (polynomial, window) and shared, so a new hash costs one small
//! allocation. The fingerprints are the same numbers, so chunk boundaries (and deduplication
//! against what restic wrote) do not change; tests check the hash against a direct reduction and
//! `crates/caretaker-cli/tests/backup_worker.rs` checks deduplication against the restic CLI.

use std::sync::{Arc, Mutex, PoisonError};

/// A polynomial over GF(2), one coefficient per bit.
pub trait Polynom {
    /// The degree (the highest set bit), -1 for the zero polynomial.
    fn degree(&self) -> i32;

    /// The remainder of the division by `m`.
    #[must_use]
    fn modulo(&self, m: &Self) -> Self;
}

/// A polynomial of degree below 64.
pub type Polynom64 = u64;

impl Polynom for Polynom64 {
    #[allow(clippy::cast_possible_wrap)] // leading_zeros() <= 64
    fn degree(&self) -> i32 {
        63 - self.leading_zeros() as i32
    }

    fn modulo(&self, m: &Self) -> Self {
        let mut p = *self;
        let dm = m.degree();
        if dm < 0 {
            return p; // dividing by zero: nothing to reduce by (never a repository's polynomial)
        }
        while p.degree() >= dm {
            p ^= m << (p.degree() - dm);
        }
        p
    }
}

/// Constants of the original crate that callers may name.
pub mod constants {
    use crate::Polynom64;

    /// The polynomial `Rabin64::new` uses (restic's default in its tests).
    pub const MOD_POLYNOM: Polynom64 = 0x003D_A335_8B4D_C173;
}

/// A rolling hash over 64-bit polynomials.
pub trait RollingHash64 {
    /// Empties the window and zeroes the hash.
    fn reset(&mut self);

    /// Slides in up to `window size - 1` bytes; returns how many were read.
    fn prefill_window<I>(&mut self, iter: &mut I) -> usize
    where
        I: Iterator<Item = u8>;

    /// `reset` followed by `prefill_window`.
    fn reset_and_prefill_window<I>(&mut self, iter: &mut I) -> usize
    where
        I: Iterator<Item = u8>;

    /// Takes the oldest byte out of the window and the hash, and puts `byte` in.
    fn slide(&mut self, byte: u8);

    /// The fingerprint of the bytes in the window.
    fn get_hash(&self) -> &Polynom64;
}

/// The tables of one (polynomial, window size) pair.
struct Tables {
    polynom: Polynom64,
    window_size: usize,
    /// `out[b]`: the contribution of byte `b` when it leaves the window, `b·x^(8·(window-1)) mod P`.
    out: [Polynom64; 256],
    /// `reduce[b]`: what cancels the 8 bits `b` that a shift pushed to degree ≥ deg P, and adds their
    /// remainder: `(b·x^deg P) mod P` with `b·x^deg P` itself.
    reduce: [Polynom64; 256],
    shift: i32,
}

impl Tables {
    fn compute(polynom: Polynom64, window_size: usize) -> Self {
        let k = polynom.degree();
        let mut out = [0; 256];
        let mut reduce = [0; 256];
        for b in 0..256u64 {
            let mut h = b.modulo(&polynom);
            for _ in 1..window_size {
                h = (h << 8).modulo(&polynom);
            }
            out[b as usize] = h;
            let high = b << k;
            reduce[b as usize] = high.modulo(&polynom) | high;
        }
        Self { polynom, window_size, out, reduce, shift: k - 8 }
    }

    /// The shared tables for this pair, computed on first use.
    fn shared(polynom: Polynom64, window_size: usize) -> Arc<Self> {
        // A process opens one repository or a few; a short list is all the cache needs.
        static CACHE: Mutex<Vec<Arc<Tables>>> = Mutex::new(Vec::new());
        let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(t) = cache.iter().find(|t| t.polynom == polynom && t.window_size == window_size) {
            return Arc::clone(t);
        }
        let tables = Arc::new(Self::compute(polynom, window_size));
        cache.push(Arc::clone(&tables));
        tables
    }
}

/// Rabin's rolling fingerprint of the last `window size` bytes.
pub struct Rabin64 {
    tables: Arc<Tables>,
    window: Vec<u8>,
    window_index: usize,
    window_mask: usize,
    /// The fingerprint of the window (read directly by `rustic_core`).
    pub hash: Polynom64,
}

impl Rabin64 {
    /// A hash with the default polynomial and a window of `2^window_size_nb_bits` bytes.
    #[must_use]
    pub fn new(window_size_nb_bits: u32) -> Self {
        Self::new_with_polynom(window_size_nb_bits, &constants::MOD_POLYNOM)
    }

    /// A hash with polynomial `mod_polynom` (degree 9 to 63) and a window of
    /// `2^window_size_nb_bits` bytes.
    #[must_use]
    pub fn new_with_polynom(window_size_nb_bits: u32, mod_polynom: &Polynom64) -> Self {
        let window_size = 1usize << window_size_nb_bits;
        Self {
            tables: Tables::shared(*mod_polynom, window_size),
            window: vec![0; window_size],
            window_index: 0,
            window_mask: window_size - 1,
            hash: 0,
        }
    }

    #[inline]
    fn push(&mut self, byte: u8) {
        self.window[self.window_index] = byte;
        let index = (self.hash >> self.tables.shift) & 255;
        self.hash = ((self.hash << 8) | Polynom64::from(byte)) ^ self.tables.reduce[index as usize];
        self.window_index = (self.window_index + 1) & self.window_mask;
    }
}

impl RollingHash64 for Rabin64 {
    fn reset(&mut self) {
        self.window.fill(0);
        self.window_index = 0;
        self.hash = 0;
    }

    fn prefill_window<I>(&mut self, iter: &mut I) -> usize
    where
        I: Iterator<Item = u8>,
    {
        let mut read = 0;
        for b in iter.take(self.tables.window_size - 1) {
            self.slide(b);
            read += 1;
        }
        read
    }

    fn reset_and_prefill_window<I>(&mut self, iter: &mut I) -> usize
    where
        I: Iterator<Item = u8>,
    {
        // As the original: the window's old bytes are not taken out (the hash starts at zero), and
        // the slot the next slide removes is zeroed.
        self.hash = 0;
        let mut read = 0;
        for b in iter.take(self.tables.window_size - 1) {
            self.push(b);
            read += 1;
        }
        self.window[self.window_index] = 0;
        read
    }

    #[inline]
    fn slide(&mut self, byte: u8) {
        let leaving = self.window[self.window_index];
        self.hash ^= self.tables.out[leaving as usize];
        self.push(byte);
    }

    #[inline]
    fn get_hash(&self) -> &Polynom64 {
        &self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fingerprint computed from scratch: the bytes as one polynomial, reduced.
    fn direct(bytes: &[u8], p: Polynom64) -> Polynom64 {
        bytes.iter().fold(0, |h, &b| ((h << 8) | Polynom64::from(b)).modulo(&p))
    }

    /// Deterministic pseudo-random bytes (xorshift), so a failure repeats.
    fn bytes(n: usize, mut seed: u64) -> Vec<u8> {
        (0..n)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed >> 32) as u8
            })
            .collect()
    }

    #[test]
    fn degree_and_modulo() {
        assert_eq!(0u64.degree(), -1);
        assert_eq!(1u64.degree(), 0);
        assert_eq!(constants::MOD_POLYNOM.degree(), 53);
        assert_eq!(0b1011u64.modulo(&0b11), 1); // x³+x+1 = (x+1)(x²+x) + 1
        assert_eq!(5u64.modulo(&0), 5);
    }

    #[test]
    fn the_rolling_hash_is_the_fingerprint_of_the_last_64_bytes() {
        // Another degree-53 polynomial too, as a repository's own is random.
        for p in [constants::MOD_POLYNOM, 0x0038_47fe_5fc1_7b71] {
            let data = bytes(5000, p);
            let mut h = Rabin64::new_with_polynom(6, &p);
            for (i, &b) in data.iter().enumerate() {
                h.slide(b);
                let start = (i + 1).saturating_sub(64);
                assert_eq!(*h.get_hash(), direct(&data[start..=i], p), "byte {i}, polynomial {p:#x}");
            }
        }
    }

    #[test]
    fn prefill_after_a_reset_equals_sliding_from_an_empty_window() {
        let p = constants::MOD_POLYNOM;
        let data = bytes(300, 7);
        let mut a = Rabin64::new_with_polynom(6, &p);
        for &b in &data[..100] {
            a.slide(b); // leave state behind that the reset must forget
        }
        assert_eq!(a.reset_and_prefill_window(&mut data[100..].iter().copied()), 63);
        let mut b = Rabin64::new_with_polynom(6, &p);
        b.reset();
        assert_eq!(b.prefill_window(&mut data[100..].iter().copied()), 63);
        assert_eq!(a.hash, b.hash);
        for &x in &data[163..] {
            a.slide(x);
            b.slide(x);
            assert_eq!(a.hash, b.hash);
        }
        assert_eq!(a.hash, direct(&data[300 - 64..], p));
    }

    #[test]
    fn tables_are_computed_once_per_polynomial_and_window() {
        let p = 0x0020_0000_0000_0053;
        let a = Rabin64::new_with_polynom(6, &p);
        let b = Rabin64::new_with_polynom(6, &p);
        let c = Rabin64::new_with_polynom(5, &p);
        assert!(Arc::ptr_eq(&a.tables, &b.tables));
        assert!(!Arc::ptr_eq(&a.tables, &c.tables));
    }
}
