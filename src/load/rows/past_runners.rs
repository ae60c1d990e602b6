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
//!
//! A winning row whose key the load never sent, into a table that was empty when the load began,
//! goes into a buffer of its own instead ([`Batch::direct`]): PostgreSQL copies it straight into
//! `past_race_runner`, as the merge would have inserted it (`reported_on` the first day).

use std::ops::Range;

use super::{Batch, PAST_RUNNER};
use crate::load::seen::{Route, SeenRunners, hash};

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
    /// values (see [`SeenRunners`], which counts them).
    pub fn finish_filtered(&mut self, mut seen: Option<&mut SeenRunners>) {
        if self.finished {
            return;
        }
        self.finished = true;
        let table = &mut self.tables[PAST_RUNNER];
        let csv = &table.csv;
        let copies = &self.past_copies;
        // The copies of one key together: sorted by the key's hash (the keys of one past race
        // share their first 40 bytes or so, which a sort by the keys' bytes compared again and
        // again), then by the bytes, so that keys of one hash stay apart.
        let hashes: Vec<u64> = copies
            .iter()
            .map(|c| hash(&[&csv[c.key.clone()]]))
            .collect();
        let key = |i: usize| &csv[copies[i].key.clone()];
        let mut order: Vec<usize> = (0..copies.len()).collect();
        order.sort_unstable_by(|&a, &b| {
            (hashes[a].cmp(&hashes[b]))
                .then_with(|| key(a).cmp(key(b)))
                .then(a.cmp(&b))
        });
        let out = &mut self.spare;
        out.clear();
        let mut rows = 0;
        for group in order.chunk_by(|&a, &b| hashes[a] == hashes[b] && key(a) == key(b)) {
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
            let key = key(winner);
            if let Some(seen) = seen.as_deref_mut() {
                let route = seen.route(hashes[winner], values(winner), first);
                if route == Route::Known {
                    continue;
                }
                if route == Route::Direct {
                    // The key's fields without key_hash (an integer, the key's last field),
                    // then reported_on and the values: the columns of DIRECT_PAST_RUNNER.
                    let fields = key
                        .iter()
                        .rposition(|&b| b == b',')
                        .expect("the key has several fields");
                    let d = &mut self.direct;
                    d.csv.extend_from_slice(&key[..fields + 1]);
                    d.csv.extend_from_slice(first);
                    d.csv.push(b',');
                    d.csv.extend_from_slice(values(winner));
                    d.csv.push(b'\n');
                    d.rows += 1;
                    continue;
                }
            }
            out.extend_from_slice(&csv[c.row.start..c.first_day]);
            out.extend_from_slice(first);
            out.extend_from_slice(&csv[c.first_day + DATE_LEN..c.row.end]);
            rows += 1;
        }
        std::mem::swap(&mut table.csv, out);
        table.rows = rows;
        self.past_copies.clear();
    }
}
