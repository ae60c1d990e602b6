//! Past races already sent: the performances rows a load need not stage again.
//!
//! Every performances object repeats the horse's last five to nine races, so a backfill stages
//! each past race several times (about 1.7 times in the bench's 30 days), and the
//! `horse_race_history` merge then finds most of them unchanged. [`SeenPastRaces`] lets the
//! reader thread drop such a row before it is staged, when it is sure that PostgreSQL holds that
//! past race with the very same values. It only ever drops rows whose merge would change
//! nothing; a row it is not sure about is staged, and the merge decides as before.
//! [`SeenRunners`], which it owns and hands over with its own batches, does the same for the
//! `stg_past_runner` rows (one per runner of a past race per batch, see `load::rows`).
//!
//! A row is dropped when it has the same key (horse, date, hippodrome, race name) and the same
//! values, as PostgreSQL would store them (compared by a hash of their fields, see
//! `load::rows::past_runners::Fields`), as:
//! - the last row staged for that key in the batch being prepared (the merge groups them
//!   anyway), when the key's first row in the batch is of a day after every day the ledger had
//!   (else the newer copy may be what makes the report win over a stored row), or
//! - the last row staged for that key by the newest batch still in flight that stages it (the
//!   batch being prepared then depends on that one: should it not be committed whole, the
//!   loader loads the dependent batch again from the lake, in full), or
//! - the last row staged for that key by an earlier batch that PostgreSQL committed whole.
//!
//! The horse of a row is only known here when the same batch holds both the race in its day's
//! programme and the runner (by `numPmu`) in the race's participants: then the merges are sure
//! to attach the row to that horse. Other rows (a race whose programme or participants the
//! ledger skipped, a runner without `numPmu`, a `numPmu` listed twice) are always staged, and
//! since the merge may give them to any horse (by name, or through runners loaded earlier),
//! their past race becomes uncertain for the rest of the load: its rows are all staged, for
//! every horse, and none is remembered.
//!
//! What a batch staged is PostgreSQL's state once it commits only if the merge took it. It does,
//! except:
//! - when a report loaded before (`performance_report`) is newer than the batch's newest copy of
//!   the values: a load of older days after newer ones. So a key is only relied on if its first
//!   row in the batch is of a day after every day the ledger had when the load started;
//! - when one race gave the key two different values (the merge keeps either): such a key's rows
//!   are all staged, and it is not relied on;
//! - when PostgreSQL refused an object of the batch: the batch is forgotten, with every key it
//!   staged.
//!
//! Memory is bounded: at most [`MAX_REMEMBERED`] past races are remembered across batches (a
//! table allocated once, see `load::recent`); past that, those seen least recently are
//! forgotten (a dropped memory only means a row is staged again). At most [`MAX_UNCERTAIN`]
//! past races are uncertain; past that, the filter stops dropping rows for the rest of the load.

// foldhash: the maps' keys are mostly 64-bit hashes already; std's SipHash on them and on the
// (day, race) keys was 4 % of the reader's time in a first backfill.
use foldhash::{HashMap, HashMapExt as _, HashSet};

use chrono::NaiveDate;

use crate::lake::RaceId;
use crate::load::recent::Recent;
use crate::load::sent::SentKeys;

/// Past races remembered across batches, at most: 8 bytes each, 6.5 MB allocated once.
pub const MAX_REMEMBERED: usize = 810_000;

/// Past races that rows without a known horse made uncertain, at most; past that, the
/// filter stops dropping rows for the rest of the load.
pub const MAX_UNCERTAIN: usize = 100_000;

/// What a batch decided about one key.
#[derive(Debug, Clone, Copy)]
struct InBatch {
    values: u64,
    /// Hash of the past race without the horse (see [`SeenPastRaces::uncertain`]).
    past_race: u64,
    /// Day and race of the row that set `values`; days since the common era.
    day: i32,
    race: RaceId,
    /// The first day of the batch with a row of this key: the day the `after` rule looks at (no
    /// report loaded before the load is newer than it when it is after every ledger day).
    first_day: i32,
    /// A row of this key was staged (otherwise every row of the key was dropped as known).
    staged: bool,
    /// Two rows of one race gave the key different values: which one the merge keeps is not
    /// known here, so the key's rows are all staged and the key is not remembered.
    tied: bool,
}

/// The filter, owned by the thread that prepares batches.
#[derive(Debug)]
pub struct SeenPastRaces {
    /// The filter of `stg_past_runner` rows, which hands its batches over with this one's.
    pub past_runners: SeenRunners,
    /// Rows of days up to this one are never remembered across batches (`None`: any day).
    after: Option<i32>,
    /// key → values of batches PostgreSQL committed whole, those seen most recently.
    committed: Recent,
    /// Batches handed to the loader whose outcome is not known yet: their keys.
    pending: Vec<(u64, HashMap<u64, InBatch>)>,
    /// The batch being prepared.
    current: HashMap<u64, InBatch>,
    /// Past races (without the horse) that a row of unknown horse reported in this load: the
    /// merge may find that row's horse by name or through runners loaded earlier, and change
    /// any horse's row of that past race. Their rows are always staged, never remembered.
    uncertain: HashSet<u64>,
    /// Too many uncertain past races: the filter drops nothing more in this load.
    off: bool,
    /// Races of the current batch's programmes.
    races: HashSet<(NaiveDate, RaceId)>,
    /// Runners of the current batch's participants: (day, race, numPmu) → horse key, `None`
    /// when the numPmu is listed twice or has no horse key.
    runners: HashMap<(NaiveDate, RaceId, i64), Option<String>>,
    /// Batches in flight whose outcome the current batch relies on.
    depends_on: Vec<u64>,
    /// Emptied maps of settled batches, reused for the next batches.
    spare: Vec<HashMap<u64, InBatch>>,
}

/// A batch as handed to the loader.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandedOver {
    /// Past races the batch did not send at all (they count as read and unchanged).
    pub not_sent: u64,
    /// `past_race_runner` rows the batch did not send ([`SeenRunners`]), unchanged likewise.
    pub runners_not_sent: u64,
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
            // Allocated once at its bound: growing it would leave the old tables' pages to the
            // allocator, and peak memory would creep up with the lake.
            committed: Recent::new(MAX_REMEMBERED),
            past_runners: SeenRunners::new(ledger_max),
            pending: Vec::new(),
            current: HashMap::new(),
            uncertain: HashSet::default(),
            off: false,
            races: HashSet::default(),
            runners: HashMap::new(),
            depends_on: Vec::new(),
            spare: Vec::new(),
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

    /// Whether to stage a performances row of `race` on `day` for runner `num_pmu`, whose key
    /// fields (date, hippodrome, race name) are `key` and compared values `values`, as bytes
    /// that are equal when PostgreSQL would store the fields alike (`load::rows` gives them as
    /// `past_runners::Fields` writes them).
    pub fn keep(
        &mut self,
        day: NaiveDate,
        race: RaceId,
        num_pmu: Option<i64>,
        key: &[u8],
        values: &[u8],
    ) -> bool {
        if self.off {
            return true;
        }
        let past_race = hash(&[key]);
        let horse = num_pmu
            .filter(|_| self.races.contains(&(day, race)))
            .and_then(|n| self.runners.get(&(day, race, n)))
            .and_then(Option::as_deref);
        let Some(horse) = horse else {
            self.uncertain.insert(past_race);
            if self.uncertain.len() > MAX_UNCERTAIN {
                self.off = true;
            }
            return true;
        };
        if self.uncertain.contains(&past_race) {
            return true;
        }
        let k = hash(&[horse.as_bytes(), key]);
        // The key's hash and its values' together (see `load::recent`).
        let v = hash_after(k, values);
        let d = day_number(day);
        let row = |staged: bool| InBatch {
            values: v,
            past_race,
            day: d,
            race,
            first_day: d,
            staged,
            tied: false,
        };
        if let Some(seen) = self.current.get_mut(&k) {
            if seen.tied {
                return true;
            }
            if seen.values == v {
                // The merge takes a group's values unless a report loaded before the batch is
                // newer than the group's newest: a newer copy matters unless the group's first
                // day is after every day the ledger had (then no loaded report can be newer).
                return self.after.is_some_and(|after| seen.first_day <= after);
            }
            let tied = seen.day == d && seen.race == race;
            *seen = InBatch {
                first_day: seen.first_day,
                tied,
                ..row(true)
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
            if seen.values != v || !self.reliable(&seen) {
                self.current.insert(k, row(true));
                return true;
            }
            if !self.depends_on.contains(&seq) {
                self.depends_on.push(seq);
            }
            self.current.insert(k, row(false));
            return false;
        }
        if self.committed.holds(k, v) {
            self.current.insert(k, row(false));
            return false;
        }
        self.current.insert(k, row(true));
        true
    }

    /// Whether what a batch staged for a key is what PostgreSQL holds once it commits whole.
    /// Not for a row whose values group may date from a day the ledger already had (the table
    /// may hold a newer report, and the merge then leaves it), nor for a tie, nor for a past
    /// race a row of unknown horse reported.
    fn reliable(&self, seen: &InBatch) -> bool {
        self.after.is_none_or(|after| seen.first_day > after)
            && !seen.tied
            && !self.uncertain.contains(&seen.past_race)
    }

    /// The current batch is complete and handed to the loader as batch `seq`.
    pub fn hand_over(&mut self, seq: u64) -> HandedOver {
        let keys = std::mem::replace(&mut self.current, self.spare.pop().unwrap_or_default());
        // A key whose past race became uncertain after its rows were dropped may still be
        // staged by a row of unknown horse: the merge counts it then.
        let not_sent = keys
            .values()
            .filter(|s| !s.staged && !self.uncertain.contains(&s.past_race))
            .count() as u64;
        self.pending.push((seq, keys));
        self.races.clear();
        self.runners.clear();
        let (runners_not_sent, runners_depend_on) = self.past_runners.hand_over(seq);
        let mut depends_on = std::mem::take(&mut self.depends_on);
        for s in runners_depend_on {
            if !depends_on.contains(&s) {
                depends_on.push(s);
            }
        }
        HandedOver {
            not_sent,
            runners_not_sent,
            depends_on,
        }
    }

    /// The loader's word on batch `seq`: `committed` when PostgreSQL took it whole.
    pub fn outcome(&mut self, seq: u64, committed: bool) {
        self.past_runners.outcome(seq, committed);
        let Some(i) = self.pending.iter().position(|(s, _)| *s == seq) else {
            return;
        };
        let (_, mut keys) = self.pending.remove(i);
        for (k, seen) in keys.drain() {
            if committed && self.reliable(&seen) {
                self.committed.insert(k, seen.values);
            } else {
                self.committed.remove(k);
            }
        }
        self.spare.push(keys);
    }

    /// Past races remembered across batches.
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.committed.remembered()
    }
}

/// Runners of past races remembered across the batches of one load, at most: 8 bytes each,
/// 18 MB allocated once (see `load::recent`: those used least recently are forgotten, and
/// forgetting only means a row is staged again). A horse runs every two to four weeks and its
/// reports list its last five to nine races, so a runner of a past race is listed again for
/// months. In a first backfill of 600 bench days, the two generations of hash maps of 400,000
/// keys each that the same memory held before staged 1.38 million of the 12.67 million runners
/// listed again (9 %), and with 1.6 million keys (two generations of 800,000) about 2,000;
/// 1.5 million keys of 12 bytes (`load::recent` before its entries were 8 bytes) staged 26,584
/// of them again (0.2 %), and 160,614 of 65 million at 3,000 days.
pub const MAX_RUNNERS_REMEMBERED: usize = 2_250_000;

/// Why a batch may leave a `stg_past_runner` row out ([`SeenRunners::lookup`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// A batch PostgreSQL committed whole staged these values.
    Committed,
    /// This batch in flight staged them: the current batch depends on it.
    InFlight(u64),
}

/// Where a batch sends a `stg_past_runner` row ([`SeenRunners::route`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// Left out: PostgreSQL holds these values, or will once the batch relied on commits.
    Known,
    /// Staged and merged.
    Staged,
    /// Sure to be new to `past_race_runner` (the table was empty as the load began and no batch
    /// of the load sent the key): copied straight into the table.
    Direct,
}

/// The `past_race_runner` rows a load need not stage again, owned by the thread that prepares
/// batches. A batch's row for a runner of a past race is left out when its values are (by the
/// hash of their fields) those the last earlier batch of the same load that staged that key
/// staged (committed whole, or still in flight), and that earlier batch's first day for the
/// key is after every day the ledger had when the load started. The merge would then change
/// nothing: the earlier batch's values were taken (no report loaded before it can be newer,
/// since days load in order), nothing since changed them, and `reported_on`, the first day,
/// is already older. The earlier batch may still be in flight (the reader prepares a batch while
/// PostgreSQL loads the one before): the batch then depends on it, and is loaded again from the
/// lake in full should it not be committed whole.
#[derive(Debug)]
pub struct SeenRunners {
    /// Keys whose first day in a batch is up to this day (`YYYY-MM-DD`) are never remembered
    /// (`None`: any day is after the ledger's).
    after: Option<String>,
    /// key → values of the rows of batches PostgreSQL committed whole, those seen most recently
    /// (see [`MAX_RUNNERS_REMEMBERED`]).
    committed: Recent,
    /// Batches handed to the loader whose outcome is not known yet: key → values, `None` for a
    /// key that must not be remembered.
    pending: Vec<(u64, HashMap<u64, Option<u64>>)>,
    /// Every key this load sent, when `past_race_runner` was empty as it began (`None`
    /// otherwise): a key it never sent is a new row, which may skip staging ([`SentKeys`]).
    sent: Option<SentKeys>,
    /// The batch being finished.
    current: HashMap<u64, Option<u64>>,
    /// Batches in flight whose rows the batch being finished left out rows for.
    depends_on: Vec<u64>,
    /// Rows the batch being finished left out.
    not_sent: u64,
}

impl SeenRunners {
    /// A memory for a load that starts with the ledger's last day `after` (`None`: an empty
    /// database).
    fn new(after: Option<NaiveDate>) -> SeenRunners {
        SeenRunners {
            after: after.map(|d| d.format("%Y-%m-%d").to_string()),
            committed: Recent::new(MAX_RUNNERS_REMEMBERED),
            pending: Vec::new(),
            sent: None,
            current: HashMap::new(),
            depends_on: Vec::new(),
            not_sent: 0,
        }
    }

    /// Whether the current batch must stage the row of `key` with `values` ([`Route::Known`]
    /// when it need not), first listed in the batch on `first_day` (ISO bytes).
    #[cfg(test)]
    fn stage(&mut self, key: &[u8], values: &[u8], first_day: &[u8]) -> bool {
        let k = hash(&[key]);
        self.route(k, hash_after(k, values), first_day) != Route::Known
    }

    /// Where the current batch sends the row of the key of hash `k` with values of hash `v`
    /// (see `load::rows::past_runners`: `v` is seeded with `k`), first listed in the batch on
    /// `first_day` (ISO bytes): [`SeenRunners::lookup`], then [`SeenRunners::known`] or
    /// [`SeenRunners::send`].
    pub(crate) fn route(&mut self, k: u64, v: u64, first_day: &[u8]) -> Route {
        match self.lookup(k, v) {
            Some(via) => {
                self.known(via);
                Route::Known
            }
            None => self.send(k, v, first_day),
        }
    }

    /// Whether PostgreSQL holds the row of key `k` with values `v`, or will once a batch in
    /// flight is committed (then [`Via::InFlight`] says which). Changes nothing but which keys
    /// the memory of committed rows used most recently: a key found there becomes the most
    /// recently used (a runner listed again and again, by every run of its horses, is not
    /// forgotten). Nothing that happens to the current batch's own rows changes the answer, so
    /// it may be asked as a row is read, long before the batch is finished.
    pub(crate) fn lookup(&mut self, k: u64, v: u64) -> Option<Via> {
        // The newest batch in flight that staged the key, else what was committed.
        let in_flight = self
            .pending
            .iter()
            .rev()
            .find_map(|(seq, keys)| keys.get(&k).map(|staged| (*seq, *staged)));
        match in_flight {
            Some((seq, staged)) => (staged == Some(v)).then_some(Via::InFlight(seq)),
            None => self.committed.holds(k, v).then_some(Via::Committed),
        }
    }

    /// Brings into the cache what [`SeenRunners::lookup`] will read of the keys of hashes
    /// `keys`, all at once (see [`Recent::prefetch`]).
    pub(crate) fn prefetch(&self, keys: &[u64]) {
        self.committed.prefetch(keys);
    }

    /// The current batch leaves out a row [`SeenRunners::lookup`] found, as it said.
    pub(crate) fn known(&mut self, via: Via) {
        if let Via::InFlight(seq) = via
            && !self.depends_on.contains(&seq)
        {
            self.depends_on.push(seq);
        }
        self.not_sent += 1;
    }

    /// The current batch sends the row of key `k` with values `v`, which
    /// [`SeenRunners::lookup`] did not find, first listed in the batch on `first_day` (ISO
    /// bytes): [`Route::Direct`] for a key the load never sent into a table empty as it began,
    /// else [`Route::Staged`].
    pub(crate) fn send(&mut self, k: u64, v: u64, first_day: &[u8]) -> Route {
        let reliable = self.after.as_ref().is_none_or(|a| first_day > a.as_bytes());
        self.current.insert(k, reliable.then_some(v));
        // Every key staged goes through the filter of sent keys: one it never had is new.
        if self.sent.as_mut().is_some_and(|sent| sent.add(k)) {
            Route::Direct
        } else {
            Route::Staged
        }
    }

    /// `past_race_runner` was empty when the load began: from now on, [`SeenRunners::route`]
    /// says which rows are new ([`Route::Direct`]).
    pub fn into_empty_table(&mut self) {
        self.sent = Some(SentKeys::default());
    }

    /// The current batch is handed to the loader as batch `seq`: returns the rows it left out
    /// and the batches in flight it relies on (see [`HandedOver`]).
    fn hand_over(&mut self, seq: u64) -> (u64, Vec<u64>) {
        let keys = std::mem::take(&mut self.current);
        self.pending.push((seq, keys));
        (
            std::mem::take(&mut self.not_sent),
            std::mem::take(&mut self.depends_on),
        )
    }

    /// The loader's word on batch `seq`: `committed` when PostgreSQL took it whole.
    fn outcome(&mut self, seq: u64, committed: bool) {
        let Some(i) = self.pending.iter().position(|(s, _)| *s == seq) else {
            return;
        };
        let (_, keys) = self.pending.remove(i);
        for (k, v) in keys {
            match v.filter(|_| committed) {
                Some(v) => self.committed.insert(k, v),
                None => self.committed.remove(k),
            }
        }
    }
}

fn day_number(d: NaiveDate) -> i32 {
    use chrono::Datelike as _;
    d.num_days_from_ce()
}

/// A 64-bit hash of `parts` (XXH3; each part seeds the next, so that their boundaries count).
/// Only compared within one load, never stored. SipHash (std's) took 3 % of the reader's time.
pub(crate) fn hash(parts: &[&[u8]]) -> u64 {
    parts.iter().fold(0, |seed, p| hash_after(seed, p))
}

/// The hash of the parts whose hash is `seed` followed by `part`: `hash(&[a, b, c])` is
/// `hash_after(hash(&[a, b]), c)`, without hashing `a` and `b` again.
pub(crate) fn hash_after(seed: u64, part: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(part, seed)
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
        knowing(&mut seen, 5);
        assert!(keep(&mut seen, 4, "v"));
        assert!(keep(&mut seen, 5, "w") && !keep(&mut seen, 5, "w"));
    }

    #[test]
    fn a_row_of_unknown_horse_makes_its_past_race_uncertain_for_every_horse() {
        let mut seen = SeenPastRaces::new(None);
        knowing(&mut seen, 1);
        assert!(keep(&mut seen, 1, "v"));
        seen.hand_over(1);
        seen.outcome(1, true);
        assert_eq!(seen.remembered(), 1);

        // Day 2: the same past race from a race whose runners this batch does not hold (the
        // merge may still give it to our horse), then again from a known runner.
        knowing(&mut seen, 3);
        assert!(keep(&mut seen, 2, "w"), "unknown horse: staged");
        assert!(
            keep(&mut seen, 3, "v"),
            "equal to what was committed, but uncertain"
        );
        seen.hand_over(2);
        seen.outcome(2, true);
        knowing(&mut seen, 4);
        assert!(
            keep(&mut seen, 4, "v"),
            "and it stays uncertain for the whole load"
        );

        // A key staged before a row of unknown horse in the same batch is not remembered.
        let mut seen = SeenPastRaces::new(None);
        knowing(&mut seen, 1);
        assert!(keep(&mut seen, 1, "v"));
        assert!(seen.keep(day(2), race(), None, b",2024-12-01,\"X\",\"PRIX\"", b"w"));
        seen.hand_over(1);
        seen.outcome(1, true);
        assert_eq!(seen.remembered(), 0, "not remembered");
    }

    #[test]
    fn a_key_given_two_values_by_one_race_is_staged_and_not_remembered() {
        let mut seen = SeenPastRaces::new(None);
        knowing(&mut seen, 1);
        knowing(&mut seen, 2);
        assert!(keep(&mut seen, 1, "v"));
        assert!(keep(&mut seen, 1, "w"), "the same race says otherwise");
        assert!(
            keep(&mut seen, 2, "w"),
            "which of v and w the merge keeps is not known"
        );
        seen.hand_over(1);
        seen.outcome(1, true);
        assert_eq!(seen.remembered(), 0);
    }

    #[test]
    fn a_key_whose_first_row_in_the_batch_is_of_a_ledger_day_is_not_remembered() {
        // The table may hold a report of day 8; the batch says v on day 5, w on 11, v on 12:
        // the merge dates v from day 5, older than day 8, and leaves the table as it was.
        let mut seen = SeenPastRaces::new(Some(day(10)));
        for d in [5, 11, 12] {
            knowing(&mut seen, d);
        }
        assert!(keep(&mut seen, 5, "v"));
        assert!(keep(&mut seen, 11, "w"));
        assert!(keep(&mut seen, 12, "v"));
        seen.hand_over(1);
        knowing(&mut seen, 14);
        assert!(
            keep(&mut seen, 14, "v"),
            "batch 1, in flight, is not relied on"
        );
        assert!(seen.hand_over(2).depends_on.is_empty());
        seen.outcome(1, true);
        assert_eq!(seen.remembered(), 0);
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
        let key = |d: u32, i: usize| format!(",{d},{i}");
        // Ten days of new keys, each a quarter of the memory.
        for d in 1..=10u32 {
            knowing(&mut seen, d);
            for i in 0..per_day {
                assert!(seen.keep(day(d), race(), Some(1), key(d, i).as_bytes(), b"v"));
            }
            seen.hand_over(u64::from(d));
            seen.outcome(u64::from(d), true);
            assert!(seen.remembered() <= MAX_REMEMBERED, "day {d}");
        }
        knowing(&mut seen, 11);
        let mut known = |d: u32| {
            (0..per_day)
                .filter(|&i| !seen.keep(day(11), race(), Some(1), key(d, i).as_bytes(), b"v"))
                .count()
        };
        let (recent, oldest) = (known(10), known(1));
        assert!(
            recent > per_day * 99 / 100,
            "recent: {recent} of {per_day} kept"
        );
        assert!(oldest < per_day / 100, "oldest: {oldest} of {per_day} kept");
    }

    #[test]
    fn hashing_one_more_part_after_a_hash_is_hashing_all_the_parts() {
        let (a, b, c): (&[u8], &[u8], &[u8]) = (b"horse", b"2025-01-01,X", b"1,2");
        assert_eq!(hash(&[a, b, c]), hash_after(hash(&[a, b]), c));
        assert_ne!(hash(&[a, b, c]), hash(&[a, c, b]));
    }

    fn iso_day(s: &str) -> Option<NaiveDate> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn a_runner_listed_again_and_again_is_remembered_while_others_come_and_go() {
        let mut seen = SeenRunners::new(None);
        let day = b"2025-01-02";
        assert!(seen.stage(b"listed again", b"v", day));
        seen.hand_over(1);
        seen.outcome(1, true);
        // Batches of new keys, each a quarter of the memory: two and a half times the memory.
        for batch in 2..12u64 {
            assert!(
                !seen.stage(b"listed again", b"v", day),
                "batch {batch}: forgotten"
            );
            for i in 0..MAX_RUNNERS_REMEMBERED / 4 {
                assert!(seen.stage(format!("{batch} {i}").as_bytes(), b"v", day));
            }
            seen.hand_over(batch);
            seen.outcome(batch, true);
            assert!(seen.committed.remembered() <= MAX_RUNNERS_REMEMBERED);
        }
        // A key of an early batch, never listed again, is forgotten.
        assert!(seen.stage(b"2 0", b"v", day));
    }

    #[test]
    fn values_an_earlier_batch_staged_after_the_ledger_are_left_out_until_it_fails() {
        let mut seen = SeenRunners::new(iso_day("2025-01-01"));
        // Batch 1 stages k1 (after the ledger) and k2 (first listed on the ledger's last day).
        assert!(seen.stage(b"k1", b"v", b"2025-01-02"));
        assert!(seen.stage(b"k2", b"v", b"2025-01-01"));
        assert_eq!(seen.hand_over(1).1, Vec::<u64>::new());
        // Batch 1 in flight: k1's same values are left out, and batch 2 depends on batch 1.
        assert!(!seen.stage(b"k1", b"v", b"2025-01-03"));
        assert!(
            seen.stage(b"k2", b"v", b"2025-01-03"),
            "dated on a ledger day"
        );
        assert!(seen.stage(b"k3", b"v", b"2025-01-03"));
        assert_eq!(seen.hand_over(2).1, vec![1]);
        seen.outcome(1, true);
        // Batch 2 (in flight) staged k3 with v: another value is staged, without depending.
        assert!(seen.stage(b"k3", b"w", b"2025-01-04"));
        assert_eq!(seen.hand_over(3).1, Vec::<u64>::new());
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
        assert_eq!(seen.hand_over(4).1, Vec::<u64>::new());
        // Batch 4 was not committed whole: what it staged is forgotten, k1's older values too.
        seen.outcome(4, false);
        assert!(seen.stage(b"k1", b"v", b"2025-01-06"), "forgotten");
        assert!(!seen.stage(b"k2", b"v", b"2025-01-06"), "still known");
        seen.hand_over(5);
        seen.outcome(5, true);
        assert!(!seen.stage(b"k1", b"v", b"2025-01-07"));
    }
}
