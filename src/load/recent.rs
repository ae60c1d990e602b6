//! A fixed-size memory of one 64-bit value per 64-bit key, keeping the keys used most recently:
//! where the filters of `load::seen` remember what the batches PostgreSQL committed staged.
//!
//! Set-associative: the low half of a key picks its bucket of [`WAYS`] entries, and an entry
//! holds the key's high half (its tag; 0 marks a free entry) and the value, 12 bytes in all, in
//! two arrays allocated once, at the first insertion. A bucket keeps its entries from the most
//! recently used to the least: a key found or inserted moves to the front, and a new key into a
//! full bucket forgets the last one. That is close to forgetting the least recently used key of
//! the whole memory, and uses all of it all the time. The two generations of hash maps this
//! replaces (for the runners, 18 MB reserved for 800,000 keys, 22 bytes a key; the older one
//! thrown away whole when the newer filled) held between 400,000 and 800,000 keys where this
//! holds 1.5 million in the same memory, and a first backfill of 600 bench days staged 9 % of
//! its repeated `past_race_runner` rows again for want of room.
//!
//! Two keys of one bucket with the same tag are taken for one (one chance in 2^32 for each entry
//! compared). The callers make that harmless: the value they store is a hash of the key and its
//! values together, so a value found under a mistaken key is never the one looked for (but once
//! in 2^64), and the row is staged as for a key never seen. A mistake can only forget a key.

/// Entries per bucket.
pub const WAYS: usize = 8;

/// See the module's documentation.
#[derive(Debug)]
pub struct Recent {
    /// Entries wanted; the arrays are allocated at the first insertion.
    capacity: usize,
    tags: Vec<u32>,
    values: Vec<u64>,
}

impl Recent {
    /// A memory of `capacity` keys (rounded down to whole buckets, at least one), of which
    /// nothing is allocated yet.
    pub const fn new(capacity: usize) -> Recent {
        Recent {
            capacity,
            tags: Vec::new(),
            values: Vec::new(),
        }
    }

    /// The first entry of `key`'s bucket, and its tag.
    fn bucket(&self, key: u64) -> (usize, u32) {
        let buckets = (self.tags.len() / WAYS) as u64;
        // Lemire's multiply-shift: the low half of the key mapped onto 0..buckets.
        let bucket = ((key & 0xffff_ffff) * buckets) >> 32;
        ((bucket as usize) * WAYS, ((key >> 32) as u32).max(1))
    }

    /// Where `key` sits in its bucket (starting at `start`), if it is remembered.
    fn find(&self, start: usize, tag: u32) -> Option<usize> {
        self.tags[start..start + WAYS]
            .iter()
            .position(|&t| t == tag)
    }

    /// Entry `i` of the bucket starting at `start` becomes its first.
    fn promote(&mut self, start: usize, i: usize) {
        self.tags[start..=start + i].rotate_right(1);
        self.values[start..=start + i].rotate_right(1);
    }

    /// The value remembered for `key`, which becomes the most recently used.
    pub fn get(&mut self, key: u64) -> Option<u64> {
        if self.tags.is_empty() {
            return None;
        }
        let (start, tag) = self.bucket(key);
        let i = self.find(start, tag)?;
        self.promote(start, i);
        Some(self.values[start])
    }

    /// Remembers `value` for `key`, the most recently used key; a key of its bucket may be
    /// forgotten to make room.
    pub fn insert(&mut self, key: u64, value: u64) {
        if self.tags.is_empty() {
            let entries = (self.capacity / WAYS).max(1) * WAYS;
            self.tags = vec![0; entries];
            self.values = vec![0; entries];
        }
        let (start, tag) = self.bucket(key);
        // Not found: the last entry (free, or the least recently used) comes to the front.
        let i = self.find(start, tag).unwrap_or(WAYS - 1);
        self.promote(start, i);
        self.tags[start] = tag;
        self.values[start] = value;
    }

    /// Forgets `key`.
    pub fn remove(&mut self, key: u64) {
        if self.tags.is_empty() {
            return;
        }
        let (start, tag) = self.bucket(key);
        if let Some(i) = self.find(start, tag) {
            // The free entries stay at the end of the bucket.
            self.tags[start + i..start + WAYS].rotate_left(1);
            self.values[start + i..start + WAYS].rotate_left(1);
            self.tags[start + WAYS - 1] = 0;
        }
    }

    /// Keys remembered.
    #[cfg(test)]
    pub fn remembered(&self) -> usize {
        self.tags.iter().filter(|&&t| t != 0).count()
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
        assert_eq!(recent.get(key(1)), None, "nothing allocated yet");
        recent.remove(key(1));
        // A tenth of the capacity: no bucket overflows.
        for i in 0..100 {
            recent.insert(key(i), i as u64);
        }
        assert!((0..100).all(|i| recent.get(key(i)) == Some(i as u64)));
        recent.insert(key(7), 70);
        assert_eq!(recent.get(key(7)), Some(70));
        recent.remove(key(7));
        assert_eq!(recent.get(key(7)), None);
        assert_eq!(recent.remembered(), 99);
        assert!(
            (0..100)
                .filter(|&i| i != 7)
                .all(|i| recent.get(key(i)) == Some(i as u64))
        );
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
                assert_eq!(recent.get(u64::MAX), Some(1), "after {i} new keys");
            }
        }
        assert!(recent.remembered() <= capacity);
        let mut kept = |keys: std::ops::Range<usize>| {
            let n = keys.len();
            keys.filter(|&i| recent.get(key(i)).is_some()).count() as f64 / n as f64
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
