//! The keys of `past_race_runner` a load has sent to PostgreSQL, as a Bloom filter: when the
//! table was empty as the load began, a key the filter has never seen is sure to be new, and its
//! row can go straight into the table (`COPY past_race_runner`) instead of through staging and
//! the merge, which costs about twice as much per row (see `load::sql`).
//!
//! A Bloom filter never says "never seen" of a key it was given. It may say "seen" of a new key
//! (a false positive): that row is then staged and merged like any other, which inserts it just
//! the same. So the filter decides only which path a row takes, never what the table holds.
//!
//! Memory is fixed: [`BITS`] bits, 16 MB, allocated when the first key is added (a load into a
//! non-empty table never allocates it). The bench's lake gives about 5,200 new keys a day: at
//! 2,500 days that is 10 bits per key, and under 1 % of new keys take the staged path; at 4,700
//! days about 8 %. As the filter fills, more do, and the load only gets slower, never wrong.

/// Bits of the filter: 2^27, 16 MB.
pub const BITS: usize = 1 << 27;

/// Bits set per key.
const PROBES: u64 = 5;

/// See the module's documentation.
#[derive(Debug, Default)]
pub struct SentKeys {
    words: Vec<u64>,
}

impl SentKeys {
    /// Records the key of 64-bit hash `hash` as sent; returns whether it is sure it had never
    /// been (`false`: it may have been).
    pub fn add(&mut self, hash: u64) -> bool {
        if self.words.is_empty() {
            self.words = vec![0; BITS / 64];
        }
        // Double hashing (Kirsch and Mitzenmacher): the i-th probe is h1 + i * h2.
        let (h1, h2) = (hash & 0xffff_ffff, (hash >> 32) | 1);
        let mut new = false;
        for i in 0..PROBES {
            let bit = (h1.wrapping_add(i.wrapping_mul(h2)) as usize) % BITS;
            let (word, mask) = (bit / 64, 1u64 << (bit % 64));
            new |= self.words[word] & mask == 0;
            self.words[word] |= mask;
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::seen::hash;

    #[test]
    fn a_key_added_is_never_new_again_and_few_new_keys_look_seen() {
        let mut sent = SentKeys::default();
        let keys: Vec<u64> = (0..200_000)
            .map(|i| hash(&[format!("2025-01-01,\"X\",{i}").as_bytes()]))
            .collect();
        let new = keys.iter().filter(|&&k| sent.add(k)).count();
        // Some of 200,000 new keys may look seen (a false positive), very few.
        assert!(new > 199_900, "{new} of 200,000 new keys were seen as new");
        assert!(keys.iter().all(|&k| !sent.add(k)));
    }
}
