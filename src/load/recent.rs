//! A fixed-size memory of one 64-bit value per 64-bit key, keeping the keys used most recently:
//! where the filters of `load::seen` remember what the batches PostgreSQL committed staged.
//!
//! Set-associative: the top half of a key picks its bucket of [`WAYS`] entries, one 64-byte
//! cache line, allocated once at the first insertion. An entry is 8 bytes: the key's low 16 bits
//! (its tag; 0 marks a free entry) and the value's low 48 bits. A bucket keeps its entries from
//! the most recently used to the least: a key found or inserted moves to the front, and a new
//! key into a full bucket forgets the last one. That is close to forgetting the least recently
//! used key of the whole memory, and uses all of it all the time.
//!
//! A bucket is one cache line so that a lookup waits for memory once. The layout before (a
//! 32-bit tag and a 64-bit value, in two arrays) waited for it at least twice on a hit, and the
//! lookups were 7-10 % of the reader thread's time (`perf`, 180 bench days); it held 1.5 million
//! runners in 18 MB where this holds 2.25 million. The two generations of hash maps before it
//! held 400,000 to 800,000 in the same memory.
//!
//! The memory cannot tell apart two keys of one bucket with one tag (a chance in 8,192 for a
//! lookup): it answers for either. The callers make that harmless: the value they store is a
//! hash of the key and its values together, so a value found under a mistaken key is never the
//! one looked for (but once in 2^48), and the row is staged as for a key never seen. Inserting or
//! removing a key drops every entry of its tag in its bucket, so that an entry of the key can
//! never be left behind with an older value. A mistake can only forget a key.

/// Entries per bucket: one cache line of 8-byte entries.
pub const WAYS: usize = 8;

/// The bits of an entry that hold its value; the others hold its tag.
const VALUE_BITS: u64 = (1 << 48) - 1;

/// One bucket, one cache line.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C, align(64))]
struct Bucket([u64; WAYS]);

/// See the module's documentation.
#[derive(Debug)]
pub struct Recent {
    /// Entries wanted; the buckets are allocated at the first insertion.
    capacity: usize,
    buckets: Vec<Bucket>,
}

impl Recent {
    /// A memory of `capacity` keys (rounded down to whole buckets, at least one), of which
    /// nothing is allocated yet.
    pub const fn new(capacity: usize) -> Recent {
        Recent {
            capacity,
            buckets: Vec::new(),
        }
    }

    /// `key`'s bucket, and its tag in place (the key's low 16 bits as the entry's top 16, never 0).
    fn bucket(&self, key: u64) -> (usize, u64) {
        let buckets = self.buckets.len() as u64;
        // Lemire's multiply-shift: the top half of the key mapped onto 0..buckets, in order, so
        // that keys looked up in ascending order sweep the memory from one end to the other.
        let bucket = ((key >> 32) * buckets) >> 32;
        (bucket as usize, (key & 0xffff).max(1) << 48)
    }

    /// Starts reading the buckets of `keys` into the cache, all at once: lookups of them that
    /// follow then find their bucket there instead of each waiting for memory in turn. Plain
    /// reads whose results are combined and kept (`black_box`), so the CPU issues them
    /// together: the safe stand-in for a prefetch instruction.
    pub fn prefetch(&self, keys: &[u64]) {
        if self.buckets.is_empty() {
            return;
        }
        let seen = keys
            .iter()
            .fold(0, |acc, &key| acc ^ self.buckets[self.bucket(key).0].0[0]);
        std::hint::black_box(seen);
    }

    /// Whether `key` is remembered with `value` (its low 48 bits); a key found becomes the most
    /// recently used, whatever its value.
    pub fn holds(&mut self, key: u64, value: u64) -> bool {
        if self.buckets.is_empty() {
            return false;
        }
        let (b, tag) = self.bucket(key);
        let entries = &mut self.buckets[b].0;
        let Some(i) = entries.iter().position(|&e| e & !VALUE_BITS == tag) else {
            return false;
        };
        // Entry i to the front, the ones before it down one place, element by element
        // (`rotate_right` went through `memcpy` calls that took 4 % of the reader thread).
        let mut entry = entries[i];
        for e in &mut entries[..=i] {
            std::mem::swap(e, &mut entry);
        }
        entries[0] == tag | (value & VALUE_BITS)
    }

    /// Remembers `value` for `key`, the most recently used key; a key of its bucket may be
    /// forgotten to make room.
    pub fn insert(&mut self, key: u64, value: u64) {
        if self.buckets.is_empty() {
            self.buckets = vec![Bucket::default(); (self.capacity / WAYS).max(1)];
        }
        let (b, tag) = self.bucket(key);
        let entries = &mut self.buckets[b].0;
        Self::drop_tag(entries, tag);
        // The last entry (free, or the least recently used) is dropped; the new one goes first.
        entries.copy_within(..WAYS - 1, 1);
        entries[0] = tag | (value & VALUE_BITS);
    }

    /// Forgets `key` (and any key of its bucket with its tag).
    pub fn remove(&mut self, key: u64) {
        if self.buckets.is_empty() {
            return;
        }
        let (b, tag) = self.bucket(key);
        Self::drop_tag(&mut self.buckets[b].0, tag);
    }

    /// Drops the entries of `tag`, keeping the order of the others; the free entries stay at the
    /// end.
    fn drop_tag(entries: &mut [u64; WAYS], tag: u64) {
        let mut kept = 0;
        for i in 0..WAYS {
            if entries[i] & !VALUE_BITS != tag {
                entries[kept] = entries[i];
                kept += 1;
            }
        }
        entries[kept..].fill(0);
    }

    /// Keys remembered.
    #[cfg(test)]
    pub fn remembered(&self) -> usize {
        self.buckets
            .iter()
            .flat_map(|b| b.0)
            .filter(|&e| e != 0)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::seen::hash;

    fn key(i: usize) -> u64 {
        hash(&[&i.to_le_bytes()])
    }

    #[test]
    fn keys_are_found_changed_and_forgotten() {
        let mut recent = Recent::new(1000);
        assert!(!recent.holds(key(1), 1), "nothing allocated yet");
        recent.remove(key(1));
        // A tenth of the capacity: no bucket overflows.
        for i in 0..100 {
            recent.insert(key(i), i as u64);
        }
        assert!((0..100).all(|i| recent.holds(key(i), i as u64)));
        recent.insert(key(7), 70);
        assert!(recent.holds(key(7), 70));
        assert!(!recent.holds(key(7), 7), "the older value is gone");
        recent.remove(key(7));
        assert!(!recent.holds(key(7), 70));
        assert_eq!(recent.remembered(), 99);
        assert!(
            (0..100)
                .filter(|&i| i != 7)
                .all(|i| recent.holds(key(i), i as u64))
        );
    }

    #[test]
    fn keys_of_one_tag_in_one_bucket_are_forgotten_together() {
        let mut recent = Recent::new(1000);
        // One bucket (the top half) and one tag (the low 16 bits); bits 16 to 31 differ.
        let (a, b) = (0x1234_5678_0001_abcd, 0x1234_5678_0002_abcd);
        recent.insert(a, 1);
        recent.insert(b, 2);
        // The memory answers for either key with the last one's entry: callers store values
        // that hash the key, so that `a` is never asked about with `b`'s value.
        assert!(recent.holds(a, 2) && recent.holds(b, 2));
        assert!(
            !recent.holds(a, 1),
            "a's older entry was dropped with b's insertion"
        );
        assert_eq!(recent.remembered(), 1);
        recent.insert(a, 3);
        recent.remove(b);
        assert!(
            !recent.holds(a, 3),
            "removing b forgets a, never leaves it behind"
        );
        assert_eq!(recent.remembered(), 0);
    }

    #[test]
    fn the_least_recently_used_keys_are_the_ones_forgotten() {
        let capacity = 100_000;
        let mut recent = Recent::new(capacity);
        // One key used again after every thousand new ones; three times the capacity of new keys.
        recent.insert(u64::MAX, 1);
        for i in 0..3 * capacity {
            recent.insert(key(i), 2);
            if i % 1000 == 0 {
                assert!(recent.holds(u64::MAX, 1), "after {i} new keys");
            }
        }
        assert!(recent.remembered() <= capacity);
        let mut kept = |keys: std::ops::Range<usize>| {
            let n = keys.len();
            keys.filter(|&i| recent.holds(key(i), 2)).count() as f64 / n as f64
        };
        // The last quarter of the capacity's keys is nearly all there; the first
        // capacity's, nearly all gone.
        let newest = kept(11 * capacity / 4..3 * capacity);
        let oldest = kept(0..capacity);
        assert!(newest > 0.99, "{newest} of the newest keys kept");
        assert!(oldest < 0.01, "{oldest} of the oldest keys kept");
        // Most of the memory is in use, not a half or a quarter of it.
        assert!(
            recent.remembered() > capacity * 95 / 100,
            "{} of {capacity}",
            recent.remembered()
        );
    }
}
