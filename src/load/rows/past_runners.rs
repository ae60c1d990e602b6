//! One `stg_past_runner` row per runner of a past race per batch.
//!
//! Every report that lists a past race lists its first finishers again, so a batch holds many
//! copies of one runner's row (the reports of every horse that ran that race, on every day of the
//! batch). PostgreSQL used to group them in the merge, which cost about as much as inserting the
//! rows; the reader thread does it instead, while the previous batch is in PostgreSQL, and stages
//! only the copy that wins, the rule the merge applied:
//! - the copies are grouped by their values (a hash of the fields as PostgreSQL would hold them);
//! - a group's rank is its newest report (greatest day, R, C), then whether one of its copies is
//!   the report's own horse (`itsHim`), then its values' hash (any fixed order would do: two
//!   reports of one race that disagree about a runner, neither of them its own, which only one
//!   object, and so one batch, holds);
//! - the best group wins, staged from its newest copy (whose day, R and C say which report that
//!   is), with `first_day` the first day of the batch that listed the runner, whatever its values.
//!
//! In a long backfill most copies are of rows PostgreSQL already holds with the same values:
//! 12.67 of 15.4 million in the first 600 bench days. The load's filter ([`SeenRunners`]) is
//! asked as each copy is read, from hashes of its fields ([`Fields`]), and a copy it knows is
//! never written: whichever copy of those values wins, the row is left out.
//!
//! A winning row whose key the load never sent, into a table that was empty when the load began,
//! goes into a buffer of its own instead ([`Batch::direct`]): PostgreSQL copies it straight into
//! `past_race_runner`, as the merge would have inserted it (`reported_on` the first day).
//!
//! The winners go out in the order their winning copies were read, and the staged ones are
//! moved down the buffer that holds every written copy's row, in place, rather than into a
//! second buffer. In first loads of 600 bench days (three runs each, alternating): peak memory
//! 87.0-87.5 MiB against 92.4-92.8, and the `past_race_runner` rows loaded in 55.4-63.7 s
//! against 66.7-67.4 when they went out in the order of their keys' hashes (the runners of one
//! past race are read together, and its key's entries in the unique index sit together).
//! Sorting the direct rows by their key's bytes instead gave 57.1-63.8 s, the whole load no
//! faster.

use std::ops::Range;

use chrono::NaiveDate;

use super::{Batch, PAST_RUNNER};
use crate::load::seen::{Route, SeenRunners, Via, hash_after};
use crate::load::sql::tables;

/// One copy of a runner's row: how it ranks, and where its row sits in the table's buffer
/// unless it was left unwritten.
#[derive(Debug, Clone)]
pub(super) struct Copy {
    /// A 64-bit hash of the key's fields ([`Fields`]), compared within one load only.
    pub key: u64,
    /// A 64-bit hash of the values' fields, seeded with `key`: equal for copies whose values
    /// PostgreSQL would store alike (but once in 2^64).
    pub values: u64,
    /// (day, R, C) of the report, comparable; the day is also the copy's first day.
    pub report: (i32, u16, u16),
    pub its_him: bool,
    /// What the filter of the batch's reader said of the copy as it was read.
    pub seen: Seen,
    /// Its row; `None` for a copy [`Seen::Known`], which is never written.
    pub row: Option<Written>,
}

/// What a copy's values are to PostgreSQL, as far as the load's filter knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Seen {
    /// Not asked (no filter, or a value the row writer reports as out of range, which only
    /// writing the row reports): asked when the copy wins.
    Unasked,
    /// Not known: the row is sent if the copy wins.
    New,
    /// PostgreSQL holds these values, or will: whichever copy of these values wins, the row is
    /// left out, so none of them is written.
    Known(Via),
}

/// Where a written copy's row sits in the table's buffer (binary COPY data, see [`BINARY`]):
/// byte offsets, 32 bits each (a batch holds at most a few MB of these rows) so that a copy
/// takes 72 bytes, not 112: a batch of a long backfill holds about 25,000 copies a day.
#[derive(Debug, Clone)]
pub(super) struct Written {
    /// The row starts here (its field count).
    start: u32,
    /// The bytes of the `first_day` field (without its length), the copy's own day.
    first_day: u32,
    /// `race_date` to `key_hash`, the row's natural key, is `key_start..key_end` (each field
    /// with its length); the values follow, up to the end of the row at `end`.
    key_start: u32,
    key_end: u32,
    end: u32,
}

/// `stg_past_runner` rows, and the direct ones, go to PostgreSQL in binary: a runner of a past
/// race is the largest table's row, and the server parses binary fields faster than CSV (2
/// million such rows into the indexed table by `psql`: 6.64 and 6.46 s in binary against 7.38
/// and 7.31 s in CSV). First loads of 600 bench days, alternated: the second session's
/// `past_race_runner` statements 22.4-22.6 s against 24.2 s, the loads 45.6, 45.3 and 46.4 s
/// against 46.6 and 46.7 s (and 50.0, the first run); peak memory 94 MiB against 89, a binary
/// row being longer (each field's length). The offsets of [`Written`] are of fields in that
/// format.
const BINARY: bool = tables::PAST_RUNNER.binary;
const _: () = assert!(BINARY, "the offsets of Written are of binary fields");

/// A binary row's field count, before its fields.
pub(super) const FIELD_COUNT: usize = 2;

/// A binary field's length, before its bytes.
pub(super) const LENGTH: usize = 4;

/// `key_hash`, the key's last field (an `integer`), with its length.
const KEY_HASH: usize = LENGTH + 4;

/// The columns of a direct row ([`crate::load::sql::DIRECT_PAST_RUNNER`]): the key's four
/// fields before `key_hash`, `reported_on`, the values.
fn direct_fields() -> i16 {
    let n = 5 + tables::PAST_RUNNER.values().count();
    i16::try_from(n).expect("fewer than 2^15 columns")
}

impl Written {
    /// Offsets into the table's buffer. Panics beyond 4 GiB: a batch ends once its rows reach
    /// the row budget (25,000 by default) after a day, so only one day's performances of more
    /// than ten million runners of past races could take it there.
    pub fn new(start: usize, first_day: usize, key: Range<usize>, end: usize) -> Written {
        let at = |n: usize| u32::try_from(n).expect("a batch's past runners under 4 GiB");
        Written {
            start: at(start),
            first_day: at(first_day),
            key_start: at(key.start),
            key_end: at(key.end),
            end: at(end),
        }
    }

    /// The whole row.
    fn row(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    fn first_day(&self) -> usize {
        self.first_day as usize
    }

    fn key(&self) -> Range<usize> {
        self.key_start as usize..self.key_end as usize
    }

    /// The values, after the key.
    fn values(&self) -> Range<usize> {
        self.key_end as usize..self.end as usize
    }
}

/// A row's fields as bytes to hash, as PostgreSQL would store them: two rows whose fields give
/// the same bytes here give the same row, and the other way round. A text is a 1, its bytes
/// without NUL (the staging text drops them), then a 0; NULL is a 0; a number is a 1 and its 8
/// bytes. Hashing these bytes costs a fraction of writing the row, which most copies never
/// need (see [`Batch::finish_filtered`]).
#[derive(Debug, Default)]
pub(super) struct Fields(Vec<u8>);

impl Fields {
    pub fn clear(&mut self) {
        self.0.clear();
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Keeps the first `len` bytes: the fields written before [`Fields::len`] said `len`.
    pub fn truncate(&mut self, len: usize) {
        self.0.truncate(len);
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn date(&mut self, d: NaiveDate) {
        use chrono::Datelike as _;
        self.0
            .extend_from_slice(&d.num_days_from_ce().to_le_bytes());
    }

    pub fn text(&mut self, s: Option<&str>) {
        let Some(s) = s else {
            self.0.push(0);
            return;
        };
        self.0.push(1);
        if s.as_bytes().contains(&0) {
            self.0.extend(s.bytes().filter(|&b| b != 0));
        } else {
            self.0.extend_from_slice(s.as_bytes());
        }
        self.0.push(0);
    }

    pub fn int(&mut self, v: Option<i64>) {
        match v {
            None => self.0.push(0),
            Some(v) => {
                self.0.push(1);
                self.0.extend_from_slice(&v.to_le_bytes());
            }
        }
    }

    /// The value of an `integer` column: NULL when out of range, as the row writer stores it
    /// (and reports it). Returns whether it was in range.
    pub fn int32(&mut self, v: Option<i64>) -> bool {
        let fit = v.filter(|&v| i32::try_from(v).is_ok());
        self.int(fit);
        fit == v
    }

    /// The load's hash of the bytes ([`hash_after`]), seeded with `seed`.
    pub fn hash(&self, seed: u64) -> u64 {
        hash_after(seed, &self.0)
    }
}

/// A binary `date`'s bytes.
const DATE_LEN: usize = 4;

/// A winning copy whose row is sent.
struct Sent {
    /// Its index in `Batch::past_copies`, whose written copies are in the order of their rows
    /// in the table's buffer (both are appended as a copy is read).
    copy: u32,
    /// The batch's first day listing its key, in days from the common era, as `Copy::report`.
    first_day: i32,
    /// Whether the row goes straight into `past_race_runner` (`Route::Direct`).
    direct: bool,
}

/// A day from its number of days from the common era (`Copy::report`).
fn day_of(days: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(days).expect("a report's day")
}

impl Batch {
    /// Replaces the copies of `stg_past_runner` rows with one row per runner of a past race,
    /// the winning copy with the batch's first day (see the module's documentation). Called
    /// once the batch holds all its objects; no object may be added afterwards until
    /// [`Batch::clear`].
    pub fn finish(&mut self) {
        self.finish_filtered(None);
    }

    /// [`Batch::finish`], leaving out the rows `seen` knows PostgreSQL holds with the same
    /// values (see [`SeenRunners`], which counts them). `seen` is the filter the batch's objects
    /// were added with, if any: a copy it knew as they were read was not written.
    pub fn finish_filtered(&mut self, mut seen: Option<&mut SeenRunners>) {
        if self.finished {
            return;
        }
        self.finished = true;
        // This table's rows are compacted below, and its trailer added then.
        for (i, (t, declaration)) in self.tables.iter_mut().zip(tables::ALL).enumerate() {
            if declaration.binary && t.rows > 0 && i != PAST_RUNNER {
                t.csv.extend_from_slice(&super::binary::TRAILER);
            }
        }
        let table = &mut self.tables[PAST_RUNNER];
        let copies = &self.past_copies;
        // The copies of one key together: sorted by the key's hash, then in the order read.
        let mut order: Vec<(u64, u32)> = copies
            .iter()
            .enumerate()
            .map(|(i, c)| (c.key, i as u32))
            .collect();
        order.sort_unstable();
        let mut sent: Vec<Sent> = Vec::new();
        // The first day as the filter compares it with the ledger's last day (ISO bytes).
        let mut first_iso = Vec::with_capacity("2025-01-01".len());
        for group in order.chunk_by(|a, b| a.0 == b.0) {
            let copy = |&(_, i): &(u64, u32)| &copies[i as usize];
            // A copy's group: the copies of the same values. Its rank: the group's newest report,
            // whether one of its copies is itsHim, then the values' hash.
            let rank = |c: &Copy| {
                let same = group.iter().map(copy).filter(|o| o.values == c.values);
                let newest = same.clone().map(|o| o.report).max();
                let its_him = same.clone().any(|o| o.its_him);
                (newest, its_him, c.values)
            };
            let best = group
                .iter()
                .map(copy)
                .max_by_key(|c| rank(c))
                .expect("chunks are never empty");
            let (newest, _, values) = rank(best);
            // The newest copy of the best group; any such copy left unwritten says that the
            // values are known.
            let mut winners = group
                .iter()
                .filter(|&g| copy(g).values == values && Some(copy(g).report) == newest);
            let &(_, winner) = winners
                .clone()
                .find(|&g| matches!(copy(g).seen, Seen::Known(_)))
                .or_else(|| winners.next())
                .expect("the newest copy of the best group is in the group");
            let first_day = group
                .iter()
                .map(|g| copy(g).report.0)
                .min()
                .expect("chunks are never empty");
            first_iso.clear();
            crate::day::push_iso(&mut first_iso, day_of(first_day));
            let w = &copies[winner as usize];
            let route = match (seen.as_deref_mut(), w.seen) {
                (Some(seen), Seen::Known(via)) => {
                    seen.known(via);
                    continue;
                }
                (None, Seen::Known(_)) => {
                    panic!("a batch read with a filter of past runners finished without it")
                }
                (Some(seen), Seen::New) => seen.send(w.key, values, &first_iso),
                (Some(seen), Seen::Unasked) => seen.route(w.key, values, &first_iso),
                (None, _) => Route::Staged,
            };
            let direct = match route {
                Route::Known => continue,
                Route::Direct => true,
                Route::Staged => false,
            };
            sent.push(Sent {
                copy: winner,
                first_day,
                direct,
            });
        }
        // In the order of the buffer (the order read), the staged rows are moved down in place:
        // each to at most where it was, since the rows before it moved first and none grows;
        // and a direct row, read in the same pass, lies at or after `end`, so no staged row
        // has reached its bytes.
        sent.sort_unstable_by_key(|s| s.copy);
        let csv = &mut table.csv;
        // After the binary header, which the first row written put there.
        let mut end = super::binary::HEADER.len().min(csv.len());
        let mut rows = 0;
        let direct_fields = direct_fields();
        for &Sent {
            copy,
            first_day,
            direct,
        } in &sent
        {
            let w = copies[copy as usize]
                .row
                .as_ref()
                .expect("a copy not known is written");
            let first_day = day_of(first_day);
            if direct {
                // The key's fields without key_hash (the key's last field), then reported_on
                // and the values: the columns of DIRECT_PAST_RUNNER.
                let key = &csv[w.key()];
                let hash_at = key.len() - KEY_HASH;
                debug_assert_eq!(key[hash_at..hash_at + LENGTH], 4_i32.to_be_bytes());
                let d = &mut self.direct;
                super::binary::row(&mut d.csv, direct_fields);
                d.csv.extend_from_slice(&key[..hash_at]);
                super::binary::date(&mut d.csv, first_day);
                d.csv.extend_from_slice(&csv[w.values()]);
                d.rows += 1;
            } else {
                let row = w.row();
                debug_assert!(end <= row.start, "rows only move down");
                let at = end + (w.first_day() - row.start);
                csv.copy_within(row.clone(), end);
                csv[at..at + DATE_LEN].copy_from_slice(&super::binary::date_bytes(first_day));
                end += row.len();
                rows += 1;
            }
        }
        if rows == 0 {
            end = 0;
        }
        csv.truncate(end);
        table.rows = rows;
        for t in [table, &mut self.direct] {
            if t.rows > 0 {
                t.csv.extend_from_slice(&super::binary::TRAILER);
            }
        }
        self.past_copies.clear();
        self.unwritten = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_takes_72_bytes() {
        // A batch of a long backfill holds about 25,000 copies a day, most of them unwritten.
        assert_eq!(std::mem::size_of::<Copy>(), 72);
    }
}
