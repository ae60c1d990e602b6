//! Past races already sent: the performances rows a load need not stage again.
//!
//! Every performances object repeats the horse's last five to nine races, so a backfill stages
//! each past race several times (about 1.7 times in the bench's 30 days), and the
//! `horse_race_history` merge then finds most of them unchanged. [`SeenPastRaces`] lets the
//! reader thread drop such a row before it is staged, when it is sure that PostgreSQL holds that
//! past race with the very same values. It only ever drops rows whose merge would change
//! nothing; a row it is not sure about is staged, and the merge decides as before.
//!
//! A row is dropped when it has the same key (horse, date, hippodrome, race name) and the same
//! values, byte for byte in CSV, as:
//! - the last row staged for that key in the batch being prepared (the merge groups them
//!   anyway), or
//! - the last row staged for that key by an earlier batch that PostgreSQL committed whole, and no
//!   batch still in flight stages that key.
//!
//! The horse of a row is only known here when the same batch holds both the race in its day's
//! programme and the runner (by `numPmu`) in the race's participants: then the merges are sure
//! to attach the row to that horse. Other rows (a race whose programme or participants the
//! ledger skipped, a runner without `numPmu`, a `numPmu` listed twice) are always staged.
//!
//! What an earlier batch staged is PostgreSQL's state only if the merge took it: it does, except
//! when the table already held a report from a later day than the row's (a load of older days
//! after newer ones). So only rows of days after every day the ledger had when the load started
//! are remembered across batches. A batch that PostgreSQL refused as a whole (loaded again object
//! by object) is forgotten, and the keys it staged are forgotten too. The loader reloads such a
//! batch from the lake without this filter.
//!
//! Memory is bounded: at most [`MAX_REMEMBERED`] past races are remembered across batches; past
//! that, those seen least recently are forgotten (a dropped memory only means a row is staged
//! again).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use chrono::NaiveDate;

use crate::lake::RaceId;

/// Past races remembered across batches, at most (about 20 bytes each, so a few MB).
pub const MAX_REMEMBERED: usize = 200_000;

/// What a batch decided about one key.
#[derive(Debug, Clone, Copy)]
struct InBatch {
    values: u64,
    /// Day of the row that set `values`, as days since the common era.
    day: i32,
    /// A row of this key was staged (otherwise every row of the key was dropped as known).
    staged: bool,
}

/// The filter, owned by the thread that prepares batches.
#[derive(Debug, Default)]
pub struct SeenPastRaces {
    /// Rows of days up to this one are never remembered across batches (`None`: any day).
    after: Option<i32>,
    /// key → (values, day last seen) of batches PostgreSQL committed whole.
    committed: HashMap<u64, (u64, i32)>,
    /// Batches handed to the loader whose outcome is not known yet: their keys.
    pending: Vec<(u64, HashMap<u64, InBatch>)>,
    /// The batch being prepared.
    current: HashMap<u64, InBatch>,
    /// Races of the current batch's programmes.
    races: HashSet<(NaiveDate, RaceId)>,
    /// Runners of the current batch's participants: (day, race, numPmu) → horse key, `None`
    /// when the numPmu is listed twice or has no horse key.
    runners: HashMap<(NaiveDate, RaceId, i64), Option<String>>,
    /// Batches in flight whose outcome the current batch relies on.
    depends_on: Vec<u64>,
}

/// A batch as handed to the loader.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandedOver {
    /// Past races the batch did not send at all (they count as read and unchanged).
    pub not_sent: u64,
    /// Earlier batches, still in flight when this one was prepared, that must have been
    /// committed whole for this batch's rows to be complete. If one was not, the loader loads
    /// this batch again from the lake without the filter.
    pub depends_on: Vec<u64>,
}

impl SeenPastRaces {
    /// A filter for a load that starts with the ledger's last day `ledger_max` (`None`: an
    /// empty database).
    pub fn new(ledger_max: Option<NaiveDate>) -> SeenPastRaces {
        SeenPastRaces {
            after: ledger_max.map(day_number),
            ..SeenPastRaces::default()
        }
    }

    /// A race of a programme staged in the current batch.
    pub fn race(&mut self, day: NaiveDate, race: RaceId) {
        self.races.insert((day, race));
    }

    /// A runner of a participants object staged in the current batch.
    pub fn runner(&mut self, day: NaiveDate, race: RaceId, num_pmu: i64, horse: Option<&str>) {
        self.runners
            .entry((day, race, num_pmu))
            .and_modify(|h| *h = None)
            .or_insert_with(|| horse.map(str::to_string));
    }

    /// Whether to stage a performances row of `race` on `day` for runner `num_pmu`, whose CSV
    /// holds the key fields (date, hippodrome, race name) in `key` and the compared values in
    /// `values`.
    pub fn keep(
        &mut self,
        day: NaiveDate,
        race: RaceId,
        num_pmu: Option<i64>,
        key: &[u8],
        values: &[u8],
    ) -> bool {
        let Some(num_pmu) = num_pmu else { return true };
        if !self.races.contains(&(day, race)) {
            return true;
        }
        let Some(Some(horse)) = self.runners.get(&(day, race, num_pmu)) else {
            return true;
        };
        let k = hash(&[horse.as_bytes(), key]);
        let v = hash(&[values]);
        let d = day_number(day);
        if let Some(seen) = self.current.get_mut(&k) {
            if seen.values == v {
                return false;
            }
            *seen = InBatch {
                values: v,
                day: d,
                staged: true,
            };
            return true;
        }
        // The newest batch in flight that staged this key decides: once it commits, that is
        // what PostgreSQL holds. The batch being prepared then depends on it.
        if let Some((seq, seen)) = self
            .pending
            .iter()
            .rev()
            .find_map(|(seq, keys)| keys.get(&k).map(|s| (*seq, *s)))
        {
            // A row of a day the ledger already had may have been ignored as older than the
            // table's report: it says nothing of what PostgreSQL will hold.
            let reliable = self.after.is_none_or(|after| seen.day > after);
            if seen.values != v || !reliable {
                self.current.insert(
                    k,
                    InBatch {
                        values: v,
                        day: d,
                        staged: true,
                    },
                );
                return true;
            }
            if !self.depends_on.contains(&seq) {
                self.depends_on.push(seq);
            }
            self.current.insert(
                k,
                InBatch {
                    values: v,
                    day: d,
                    staged: false,
                },
            );
            return false;
        }
        if let Some((values, last_seen)) = self.committed.get_mut(&k)
            && *values == v
        {
            *last_seen = (*last_seen).max(d);
            self.current.insert(
                k,
                InBatch {
                    values: v,
                    day: d,
                    staged: false,
                },
            );
            return false;
        }
        self.current.insert(
            k,
            InBatch {
                values: v,
                day: d,
                staged: true,
            },
        );
        true
    }

    /// The current batch is complete and handed to the loader as batch `seq`.
    pub fn hand_over(&mut self, seq: u64) -> HandedOver {
        let keys = std::mem::take(&mut self.current);
        let not_sent = keys.values().filter(|s| !s.staged).count() as u64;
        self.pending.push((seq, keys));
        self.races.clear();
        self.runners.clear();
        HandedOver {
            not_sent,
            depends_on: std::mem::take(&mut self.depends_on),
        }
    }

    /// The loader's word on batch `seq`: `committed` when PostgreSQL took it whole.
    pub fn outcome(&mut self, seq: u64, committed: bool) {
        let Some(i) = self.pending.iter().position(|(s, _)| *s == seq) else {
            return;
        };
        let (_, keys) = self.pending.remove(i);
        for (k, seen) in keys {
            let remember = committed && self.after.is_none_or(|after| seen.day > after);
            if remember {
                let entry = self.committed.entry(k).or_insert((seen.values, seen.day));
                *entry = (seen.values, entry.1.max(seen.day));
            } else {
                self.committed.remove(&k);
            }
        }
        self.evict();
    }

    /// Keeps at most half of [`MAX_REMEMBERED`] once it is exceeded, the most recently seen.
    fn evict(&mut self) {
        if self.committed.len() <= MAX_REMEMBERED {
            return;
        }
        let mut per_day: BTreeMap<i32, usize> = BTreeMap::new();
        for (_, day) in self.committed.values() {
            *per_day.entry(*day).or_default() += 1;
        }
        let mut kept = 0;
        let mut cutoff = i32::MAX;
        for (day, n) in per_day.iter().rev() {
            if kept + n > MAX_REMEMBERED / 2 {
                break;
            }
            kept += n;
            cutoff = *day;
        }
        self.committed.retain(|_, (_, day)| *day >= cutoff);
        self.committed.shrink_to_fit();
    }

    /// Past races remembered across batches.
    pub fn remembered(&self) -> usize {
        self.committed.len()
    }
}

fn day_number(d: NaiveDate) -> i32 {
    use chrono::Datelike as _;
    d.num_days_from_ce()
}

fn hash(parts: &[&[u8]]) -> u64 {
    let mut h = DefaultHasher::new();
    for p in parts {
        p.hash(&mut h);
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 1, d).unwrap()
    }

    fn race() -> RaceId {
        RaceId::new(1, 1).unwrap()
    }

    /// A filter that knows race R1C1 of `d` and its runner 1, horse "H".
    fn knowing(seen: &mut SeenPastRaces, d: u32) {
        seen.race(day(d), race());
        seen.runner(day(d), race(), 1, Some("H"));
    }

    fn keep(seen: &mut SeenPastRaces, d: u32, values: &str) -> bool {
        seen.keep(
            day(d),
            race(),
            Some(1),
            b",2024-12-01,\"X\",\"PRIX\"",
            values.as_bytes(),
        )
    }

    #[test]
    fn a_row_equal_to_the_last_one_staged_in_the_batch_is_dropped() {
        let mut seen = SeenPastRaces::new(None);
        knowing(&mut seen, 1);
        knowing(&mut seen, 2);
        assert!(keep(&mut seen, 1, "v"));
        assert!(!keep(&mut seen, 2, "v"));
        assert!(keep(&mut seen, 2, "w"));
        // v again after w: the merge must see it, to pick the newest values.
        assert!(keep(&mut seen, 2, "v"));
        assert_eq!(seen.hand_over(1).not_sent, 0);
    }

    #[test]
    fn rows_are_kept_when_the_batch_does_not_hold_their_race_and_runner() {
        let mut seen = SeenPastRaces::new(None);
        assert!(keep(&mut seen, 1, "v"));
        assert!(keep(&mut seen, 1, "v"), "no programme, no runners: kept");
        seen.race(day(1), race());
        assert!(keep(&mut seen, 1, "v"), "no runner: kept");
        seen.runner(day(1), race(), 1, Some("H"));
        seen.runner(day(1), race(), 1, Some("G"));
        assert!(keep(&mut seen, 1, "v"), "numPmu listed twice: kept");
        assert!(keep(&mut seen, 1, "v"));
        assert!(
            seen.keep(day(1), race(), None, b"k", b"v"),
            "no numPmu: kept"
        );
    }

    #[test]
    fn a_committed_batch_is_remembered_and_a_refused_one_forgotten() {
        let mut seen = SeenPastRaces::new(None);
        knowing(&mut seen, 1);
        assert!(keep(&mut seen, 1, "v"));
        assert_eq!(seen.hand_over(1), HandedOver::default());
        seen.outcome(1, true);
        assert_eq!(seen.remembered(), 1);

        knowing(&mut seen, 2);
        assert!(!keep(&mut seen, 2, "v"), "committed with the same values");
        assert!(!keep(&mut seen, 2, "v"));
        let handed = seen.hand_over(2);
        assert_eq!(handed.not_sent, 1, "one past race, counted once");
        assert!(handed.depends_on.is_empty());

        knowing(&mut seen, 3);
        assert!(keep(&mut seen, 3, "w"), "other values");
        seen.hand_over(3);
        seen.outcome(2, true);
        seen.outcome(3, false);
        assert_eq!(
            seen.remembered(),
            0,
            "batch 3 staged the key and was refused"
        );
        knowing(&mut seen, 4);
        assert!(keep(&mut seen, 4, "v"));
        assert!(keep(&mut seen, 4, "w") && !keep(&mut seen, 4, "w"));
    }

    #[test]
    fn a_row_equal_to_a_batch_in_flight_makes_the_new_batch_depend_on_it() {
        let mut seen = SeenPastRaces::new(None);
        knowing(&mut seen, 1);
        assert!(keep(&mut seen, 1, "v"));
        seen.hand_over(7);
        knowing(&mut seen, 2);
        assert!(!keep(&mut seen, 2, "v"));
        let handed = seen.hand_over(8);
        assert_eq!(handed.depends_on, vec![7]);
        assert_eq!(handed.not_sent, 1);

        // A batch in flight with other values wins over what was committed before.
        seen.outcome(7, true);
        knowing(&mut seen, 3);
        assert!(keep(&mut seen, 3, "w"));
        seen.hand_over(9);
        knowing(&mut seen, 4);
        assert!(keep(&mut seen, 4, "v"), "batch 9 in flight stages w");
        assert!(seen.hand_over(10).depends_on.is_empty());
    }

    #[test]
    fn rows_of_days_the_ledger_already_had_are_not_remembered() {
        let mut seen = SeenPastRaces::new(Some(day(2)));
        knowing(&mut seen, 2);
        assert!(keep(&mut seen, 2, "v"));
        seen.hand_over(1);
        seen.outcome(1, true);
        assert_eq!(seen.remembered(), 0, "the table may hold a newer report");
        knowing(&mut seen, 3);
        assert!(keep(&mut seen, 3, "v"));
        seen.hand_over(2);
        seen.outcome(2, true);
        assert_eq!(seen.remembered(), 1);

        // Nor is a batch in flight relied on for them.
        let mut seen = SeenPastRaces::new(Some(day(2)));
        knowing(&mut seen, 2);
        assert!(keep(&mut seen, 2, "v"));
        seen.hand_over(1);
        knowing(&mut seen, 3);
        assert!(keep(&mut seen, 3, "v"));
        assert!(seen.hand_over(2).depends_on.is_empty());
    }

    #[test]
    fn memory_stays_bounded_keeping_the_most_recent() {
        let mut seen = SeenPastRaces::new(None);
        let per_day = MAX_REMEMBERED / 4;
        for d in 1..=6u32 {
            knowing(&mut seen, d);
            for i in 0..per_day {
                let key = format!(",{d},{i}");
                assert!(seen.keep(day(d), race(), Some(1), key.as_bytes(), b"v"));
            }
            seen.hand_over(u64::from(d));
            seen.outcome(u64::from(d), true);
            assert!(seen.remembered() <= MAX_REMEMBERED, "day {d}");
        }
        knowing(&mut seen, 7);
        assert!(
            !seen.keep(day(7), race(), Some(1), b",6,0", b"v"),
            "recent: kept"
        );
        assert!(
            seen.keep(day(7), race(), Some(1), b",1,0", b"v"),
            "oldest: forgotten"
        );
    }
}
