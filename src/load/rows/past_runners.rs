//! One `stg_past_runner` row per runner of a past race per batch.
//!
//! Every report that lists a past race lists its first finishers again, so a batch holds many
//! copies of one runner's row (the reports of every horse that ran that race, on every day of the
//! batch). PostgreSQL used to group them in the merge, which cost about as much as inserting the
//! rows; the reader thread does it instead, while the previous batch is in PostgreSQL, and stages
//! only the copy that wins, the rule the merge applied:
//! - the copies are grouped by their values (the CSV bytes after the key);
//! - a group's rank is its newest report (greatest day, R, C), then whether one of its copies is
//!   the report's own horse (`itsHim`), then its values' bytes (any fixed order would do: two
//!   reports of one race that disagree about a runner, neither of them its own);
//! - the best group wins, staged from its newest copy (whose day, R and C say which report that
//!   is), with `first_day` the first day of the batch that listed the runner, whatever its values.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::ops::Range;

use super::{Batch, PAST_RUNNER};

/// Where one copy's row sits in the table's CSV buffer, and how it ranks.
#[derive(Debug, Clone)]
pub(super) struct Copy {
    /// The whole row, its newline included.
    pub row: Range<usize>,
    /// The `first_day` field (10 bytes, `YYYY-MM-DD`), the copy's own day until [`Batch::finish`].
    pub first_day: usize,
    /// `race_date` to `key_hash`: the row's natural key.
    pub key: Range<usize>,
    /// The values, after the key (without the newline).
    pub values: Range<usize>,
    /// (day, R, C) of the report, comparable.
    pub report: (i32, u16, u16),
    pub its_him: bool,
}

const DATE_LEN: usize = "2025-01-01".len();

impl Batch {
    /// Replaces the copies of `stg_past_runner` rows with one row per runner of a past race,
    /// the winning copy with the batch's first day (see the module's documentation). Called
    /// once the batch holds all its objects; no object may be added afterwards until
    /// [`Batch::clear`].
    pub fn finish(&mut self) {
        self.finish_filtered(None);
    }

    /// [`Batch::finish`], leaving out the rows `seen` knows PostgreSQL holds with the same
    /// values (see [`SeenRunners`]); returns how many.
    pub fn finish_filtered(&mut self, mut seen: Option<&mut SeenRunners>) -> u64 {
        if self.finished {
            return 0;
        }
        let mut not_sent = 0;
        self.finished = true;
        let table = &mut self.tables[PAST_RUNNER];
        let csv = &table.csv;
        let copies = &self.past_copies;
        let mut order: Vec<usize> = (0..copies.len()).collect();
        order.sort_by(|&a, &b| csv[copies[a].key.clone()].cmp(&csv[copies[b].key.clone()]));
        let out = &mut self.spare;
        out.clear();
        let mut rows = 0;
        for group in
            order.chunk_by(|&a, &b| csv[copies[a].key.clone()] == csv[copies[b].key.clone()])
        {
            let values = |i: usize| &csv[copies[i].values.clone()];
            // A copy's group: the copies of the same values. Its rank: the group's newest report,
            // whether one of its copies is itsHim, then the values.
            let rank = |i: usize| {
                let same = group.iter().filter(|&&j| values(j) == values(i));
                let newest = same.clone().map(|&j| copies[j].report).max();
                let its_him = same.clone().any(|&j| copies[j].its_him);
                (newest, its_him, values(i))
            };
            let best = group
                .iter()
                .copied()
                .max_by(|&a, &b| rank(a).cmp(&rank(b)))
                .expect("chunks are never empty");
            let (newest, _, _) = rank(best);
            let winner = group
                .iter()
                .copied()
                .find(|&j| values(j) == values(best) && Some(copies[j].report) == newest)
                .expect("the newest copy of the best group is in the group");
            let first = group
                .iter()
                .map(|&j| &csv[copies[j].first_day..copies[j].first_day + DATE_LEN])
                .min()
                .expect("chunks are never empty");
            let c = &copies[winner];
            if let Some(seen) = seen.as_deref_mut()
                && !seen.stage(&csv[c.key.clone()], values(winner), first)
            {
                not_sent += 1;
                continue;
            }
            out.extend_from_slice(&csv[c.row.start..c.first_day]);
            out.extend_from_slice(first);
            out.extend_from_slice(&csv[c.first_day + DATE_LEN..c.row.end]);
            rows += 1;
        }
        std::mem::swap(&mut table.csv, out);
        table.rows = rows;
        self.past_copies.clear();
        not_sent
    }
}

/// Runners of past races remembered across the batches of one load: at most this many.
/// Past that the memory starts again empty (forgetting only means a row is staged again).
pub const MAX_RUNNERS_REMEMBERED: usize = 400_000;

/// The `past_race_runner` rows a load need not stage again, owned by the thread that prepares
/// batches. A batch's row for a runner of a past race is left out when its values are, byte for
/// byte, those the last earlier batch of the same load that staged that key staged (committed
/// whole, or still in flight), and that earlier batch's first day for the
/// key is after every day the ledger had when the load started. The merge would then change
/// nothing: the earlier batch's values were taken (no report loaded before it can be newer,
/// since days load in order), nothing since changed them, and `reported_on`, the first day,
/// is already older. The earlier batch may still be in flight (the reader prepares a batch while
/// PostgreSQL loads the one before): the batch then depends on it, and is loaded again from the
/// lake in full should it not be committed whole.
#[derive(Debug, Default)]
pub struct SeenRunners {
    /// Keys whose first day in a batch is up to this day (`YYYY-MM-DD`) are never remembered
    /// (`None`: any day is after the ledger's).
    after: Option<String>,
    /// key → values of the rows of batches PostgreSQL committed whole.
    committed: HashMap<u64, u64>,
    /// Batches handed to the loader whose outcome is not known yet: key → values, `None` for a
    /// key that must not be remembered.
    pending: Vec<(u64, HashMap<u64, Option<u64>>)>,
    /// The batch being finished.
    current: HashMap<u64, Option<u64>>,
    /// Batches in flight whose rows the batch being finished left out rows for.
    depends_on: Vec<u64>,
}

impl SeenRunners {
    /// A memory for a load that starts with the ledger's last day `after` (`None`: an empty
    /// database).
    pub fn new(after: Option<chrono::NaiveDate>) -> SeenRunners {
        SeenRunners {
            after: after.map(|d| d.format("%Y-%m-%d").to_string()),
            ..SeenRunners::default()
        }
    }

    /// Whether the current batch must stage the row of `key` with `values`, first listed in the
    /// batch on `first_day` (ISO bytes).
    fn stage(&mut self, key: &[u8], values: &[u8], first_day: &[u8]) -> bool {
        let (k, v) = (hash(key), hash(values));
        // The newest batch in flight that staged the key, else what was committed.
        let in_flight = self
            .pending
            .iter()
            .rev()
            .find_map(|(seq, keys)| keys.get(&k).map(|staged| (*seq, *staged)));
        match in_flight {
            Some((seq, staged)) if staged == Some(v) => {
                if !self.depends_on.contains(&seq) {
                    self.depends_on.push(seq);
                }
                return false;
            }
            Some(_) => {}
            None if self.committed.get(&k) == Some(&v) => return false,
            None => {}
        }
        let reliable = self.after.as_ref().is_none_or(|a| first_day > a.as_bytes());
        self.current.insert(k, reliable.then_some(v));
        true
    }

    /// The current batch is handed to the loader as batch `seq`. Returns the batches in flight
    /// it relies on: should one of them not be committed whole, the loader loads this one again
    /// from the lake, in full (as for [`crate::load::seen::HandedOver::depends_on`]).
    pub fn hand_over(&mut self, seq: u64) -> Vec<u64> {
        let keys = std::mem::take(&mut self.current);
        self.pending.push((seq, keys));
        std::mem::take(&mut self.depends_on)
    }

    /// The loader's word on batch `seq`: `committed` when PostgreSQL took it whole.
    pub fn outcome(&mut self, seq: u64, committed: bool) {
        let Some(i) = self.pending.iter().position(|(s, _)| *s == seq) else {
            return;
        };
        let (_, keys) = self.pending.remove(i);
        if committed && self.committed.len() + keys.len() > MAX_RUNNERS_REMEMBERED {
            self.committed.clear();
        }
        for (k, v) in keys {
            match v.filter(|_| committed) {
                Some(v) => {
                    self.committed.insert(k, v);
                }
                None => {
                    self.committed.remove(&k);
                }
            }
        }
    }
}

fn hash(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Option<chrono::NaiveDate> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn values_an_earlier_batch_staged_after_the_ledger_are_left_out_until_it_fails() {
        let mut seen = SeenRunners::new(day("2025-01-01"));
        // Batch 1 stages k1 (after the ledger) and k2 (first listed on the ledger's last day).
        assert!(seen.stage(b"k1", b"v", b"2025-01-02"));
        assert!(seen.stage(b"k2", b"v", b"2025-01-01"));
        assert_eq!(seen.hand_over(1), Vec::<u64>::new());
        // Batch 1 in flight: k1's same values are left out, and batch 2 depends on batch 1.
        assert!(!seen.stage(b"k1", b"v", b"2025-01-03"));
        assert!(
            seen.stage(b"k2", b"v", b"2025-01-03"),
            "dated on a ledger day"
        );
        assert!(seen.stage(b"k3", b"v", b"2025-01-03"));
        assert_eq!(seen.hand_over(2), vec![1]);
        seen.outcome(1, true);
        // Batch 2 (in flight) staged k3 with v: another value is staged, without depending.
        assert!(seen.stage(b"k3", b"w", b"2025-01-04"));
        assert_eq!(seen.hand_over(3), Vec::<u64>::new());
        seen.outcome(2, true);
        seen.outcome(3, true);
        assert!(
            !seen.stage(b"k1", b"v", b"2025-01-05"),
            "committed, same values"
        );
        assert!(
            !seen.stage(b"k3", b"w", b"2025-01-05"),
            "the last values staged"
        );
        assert!(
            !seen.stage(b"k2", b"v", b"2025-01-05"),
            "batch 2 staged it after the ledger"
        );
        assert!(seen.stage(b"k1", b"x", b"2025-01-05"), "other values");
        assert_eq!(seen.hand_over(4), Vec::<u64>::new());
        // Batch 4 was not committed whole: what it staged is forgotten, k1's older values too.
        seen.outcome(4, false);
        assert!(seen.stage(b"k1", b"v", b"2025-01-06"), "forgotten");
        assert!(!seen.stage(b"k2", b"v", b"2025-01-06"), "still known");
        seen.hand_over(5);
        seen.outcome(5, true);
        assert!(!seen.stage(b"k1", b"v", b"2025-01-07"));
    }
}
