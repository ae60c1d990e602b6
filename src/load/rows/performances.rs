//! A race's performances → `stg_history`: for each runner, each past race with its `itsHim`
//! row, in ms and tenths of kg; `stg_past_runner`: every runner listed for each past race; and
//! `stg_perf_report`: for each runner with a `numPmu`, the keys of the rows its report gave
//! (hashed), which the merges read to tell whether a report is the newest listing a row.

use anyhow::Result;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Europe::Paris;

use super::past_runners::{Copy, FIELD_COUNT, Fields, LENGTH, Seen, Written};
use super::{Batch, HISTORY, PAST_RUNNER, PERF_REPORT};
use crate::lake::RaceId;
use crate::load::seen::{SeenPastRaces, SeenRunners};
use crate::pmu::performances::{PastRace, PerformancesResponse, Runner};

impl Batch {
    pub(super) fn performances(
        &mut self,
        day: NaiveDate,
        race: RaceId,
        p: &PerformancesResponse,
        mut seen: Option<&mut SeenPastRaces>,
    ) -> Result<()> {
        Batch::num_pmus_fit(p.participants.iter().map(|r| r.num_pmu), "stg_perf_report")?;
        let allure = p.allure.as_deref();
        let (mut races, mut runners) = (Vec::new(), Vec::new());
        for runner in &p.participants {
            races.clear();
            runners.clear();
            for past in &runner.courses_courues {
                // The past race's day and the hash of its key, once for its rows of both tables.
                let Some(race_date) = past.date.and_then(paris_date) else {
                    continue;
                };
                let (hippodrome, nom_prix) = past_race_key(past);
                let past_key = PastKey {
                    past,
                    race_date,
                    hippodrome,
                    nom_prix,
                    hash: KeyHash::new(race_date).text(hippodrome).text(nom_prix),
                };
                let history = seen.as_deref_mut();
                races.extend(self.history(day, race, runner, &past_key, allure, history));
                let past_runners = seen.as_deref_mut().map(|s| &mut s.past_runners);
                self.past_runners(day, race, &past_key, &mut runners, past_runners);
            }
            if let Some(num_pmu) = runner.num_pmu {
                races.sort_unstable();
                races.dedup();
                runners.sort_unstable();
                runners.dedup();
                let mut r = self.row(PERF_REPORT);
                r.race_key(day, race);
                r.int("num_pmu", Some(num_pmu));
                r.int_array("past_races", &races);
                r.int_array("past_runners", &runners);
                r.end();
            }
        }
        Ok(())
    }

    /// Every runner the report lists for a past race (its own horse's row too) with a name: the
    /// past race's key and the name are the row's key, shared by every report that lists it.
    /// Adds the key hash of each row to `listed`. A copy whose values `seen` knows PostgreSQL
    /// holds is not written (see `load::rows::past_runners`).
    fn past_runners(
        &mut self,
        day: NaiveDate,
        race: RaceId,
        past_key: &PastKey,
        listed: &mut Vec<i64>,
        mut seen: Option<&mut SeenRunners>,
    ) {
        let &PastKey {
            past,
            race_date,
            hippodrome,
            nom_prix,
            hash: race_hash,
        } = past_key;
        let report = (day.num_days_from_ce(), race.reunion, race.course);
        let named = || {
            past.participants.iter().filter_map(|p| {
                let nom = p.nom_cheval.as_deref().filter(|n| !n.trim().is_empty())?;
                Some((p, nom))
            })
        };
        // The keys first, and what `seen` holds of them brought into the cache all at once:
        // its lookups waited for memory one runner after the other, 11 % of the reader's time.
        let mut keys = std::mem::take(&mut self.past_keys);
        keys.clear();
        let f = &mut self.fields;
        past_key.fields(f);
        let race_fields = f.len();
        for (_, nom) in named() {
            f.truncate(race_fields);
            f.text(Some(nom));
            keys.push(f.hash(0));
        }
        if let Some(seen) = seen.as_deref() {
            seen.prefetch(&keys);
        }
        for ((p, nom), &key) in named().zip(&keys) {
            let hash = race_hash.text(nom).value();
            listed.push(hash);
            let reduction = p.reduction_kilometrique.and_then(centis_to_ms);
            let poids = p.poids_jockey.and_then(kg_to_hg);
            let gap = &p.distance_avec_precedent;
            let f = &mut self.fields;
            f.clear();
            // A value out of range is written for the row writer to report it, and the copy
            // is not asked about.
            let mut in_range = f.int32(p.num_pmu);
            in_range &= f.int32(p.place.place);
            f.text(p.place.raw_value.as_deref());
            f.text(p.place.status_arrivee.as_deref());
            f.text(p.nom_jockey.as_deref());
            f.int(reduction);
            in_range &= f.int32(p.distance_parcourue);
            in_range &= f.int32(poids);
            in_range &= f.int32(p.corde);
            f.text(p.oeillere.as_deref());
            f.text(gap.libelle_court.as_deref());
            f.text(gap.libelle_long.as_deref());
            in_range &= f.int32(gap.code);
            f.text(gap.identifiant.as_deref());
            let values = f.hash(key);
            let seen = match seen.as_deref_mut() {
                Some(seen) if in_range => match seen.lookup(key, values) {
                    Some(via) => Seen::Known(via),
                    None => Seen::New,
                },
                _ => Seen::Unasked,
            };
            let mut copy = Copy {
                key,
                values,
                report,
                its_him: p.its_him == Some(true),
                seen,
                row: None,
            };
            if matches!(seen, Seen::Known(_)) {
                self.past_copies.push(copy);
                self.unwritten += 1;
                continue;
            }
            let mut r = self.row(PAST_RUNNER);
            // In binary: the row's field count (after the header, for the first row), each
            // field's length, then its bytes.
            let start = r.buf.len() - FIELD_COUNT;
            r.race_key(day, race);
            let first_day = r.buf.len() + LENGTH;
            r.date("first_day", day);
            let key_start = r.buf.len();
            r.date("race_date", race_date);
            r.text("hippodrome", Some(hippodrome));
            r.text("nom_prix", Some(nom_prix));
            r.text("nom_cheval", Some(nom));
            r.int("key_hash", Some(hash));
            let key_end = r.buf.len();
            r.int("num_pmu", p.num_pmu);
            r.int("place", p.place.place);
            r.text("place_raw", p.place.raw_value.as_deref());
            r.text("status_arrivee", p.place.status_arrivee.as_deref());
            r.text("nom_jockey", p.nom_jockey.as_deref());
            r.int("reduction_km_ms", reduction);
            r.int("distance_parcourue_m", p.distance_parcourue);
            r.int("poids_jockey_hg", poids);
            r.int("corde", p.corde);
            r.text("oeillere", p.oeillere.as_deref());
            r.text("distance_avec_precedent", gap.libelle_court.as_deref());
            r.text("distance_avec_precedent_long", gap.libelle_long.as_deref());
            r.int("distance_avec_precedent_code", gap.code);
            r.text(
                "distance_avec_precedent_identifiant",
                gap.identifiant.as_deref(),
            );
            r.end();
            let end = self.tables[PAST_RUNNER].csv.len();
            copy.row = Some(Written::new(start, first_day, key_start..key_end, end));
            self.past_copies.push(copy);
        }
        self.past_keys = keys;
    }

    /// One past race; left out when `seen` knows PostgreSQL holds it unchanged (it compares
    /// the fields of the past race's key, `race_date`..`nom_prix`, and of its values, the rest,
    /// as `past_runners::Fields` gives them), and then not even written unless a value is out
    /// of range (the row writer reports those). Returns the key's hash when the report gives
    /// the row (staged or left out).
    fn history(
        &mut self,
        day: NaiveDate,
        race: RaceId,
        runner: &Runner,
        past_key: &PastKey,
        allure: Option<&str>,
        seen: Option<&mut SeenPastRaces>,
    ) -> Option<i64> {
        let (num_pmu, nom) = (runner.num_pmu, runner.nom_cheval.as_deref());
        let &PastKey {
            past,
            race_date,
            hippodrome,
            nom_prix,
            hash,
        } = past_key;
        let him = past.subject()?;
        let hash = hash.value();
        let winner = past.participants.iter().find(|p| p.place.place == Some(1));
        let winner = winner.and_then(|w| w.nom_cheval.as_deref());
        let temps = past.temps_du_premier.and_then(centis_to_ms);
        let reduction = him.reduction_kilometrique.and_then(centis_to_ms);
        let poids = him.poids_jockey.and_then(kg_to_hg);
        let gap = &him.distance_avec_precedent;
        let gap = gap.libelle_court.as_deref().or(gap.libelle_long.as_deref());
        let mut keep = true;
        if let Some(seen) = seen {
            // A row with a value out of range is written for the row writer to report it.
            let mut in_range = true;
            let f = &mut self.fields;
            past_key.fields(f);
            let key_len = f.len();
            f.text(past.discipline.as_deref());
            f.int(past.allocation);
            in_range &= f.int32(past.distance);
            in_range &= f.int32(past.nb_participants);
            f.int(temps);
            in_range &= f.int32(him.place.place);
            f.text(him.place.raw_value.as_deref());
            f.text(him.place.status_arrivee.as_deref());
            f.text(him.nom_jockey.as_deref());
            f.int(reduction);
            in_range &= f.int32(him.distance_parcourue);
            in_range &= f.int32(poids);
            in_range &= f.int32(him.corde);
            f.text(him.oeillere.as_deref());
            f.text(gap);
            f.text(winner);
            f.text(allure);
            let (key, values) = f.bytes().split_at(key_len);
            keep = seen.keep(day, race, num_pmu, key, values);
            if !keep && in_range {
                return Some(hash);
            }
        }
        let start = self.tables[HISTORY].csv.len();
        let mut r = self.row(HISTORY);
        r.race_key(day, race);
        r.int("num_pmu", num_pmu);
        r.text("nom_cheval", nom.or(him.nom_cheval.as_deref()));
        r.date("race_date", race_date);
        r.text("hippodrome", Some(hippodrome));
        r.text("nom_prix", Some(nom_prix));
        r.int("key_hash", Some(hash));
        r.text("discipline", past.discipline.as_deref());
        r.int("allocation_eur", past.allocation);
        r.int("distance_m", past.distance);
        r.int("nb_participants", past.nb_participants);
        r.int("temps_du_premier_ms", temps);
        r.int("place", him.place.place);
        r.text("place_raw", him.place.raw_value.as_deref());
        r.text("status_arrivee", him.place.status_arrivee.as_deref());
        r.text("nom_jockey", him.nom_jockey.as_deref());
        r.int("reduction_km_ms", reduction);
        r.int("distance_parcourue_m", him.distance_parcourue);
        r.int("poids_jockey_hg", poids);
        r.int("corde", him.corde);
        r.text("oeillere", him.oeillere.as_deref());
        r.text("distance_avec_precedent", gap);
        r.text("winner_nom", winner);
        r.text("allure", allure);
        r.end();
        if !keep {
            // Written for the values it reports out of range only.
            let t = &mut self.tables[HISTORY];
            t.csv.truncate(start);
            t.rows -= 1;
        }
        Some(hash)
    }
}

/// A past race's hippodrome and race name as its rows key them ('' when absent).
fn past_race_key<'p>(past: &'p PastRace<'_>) -> (&'p str, &'p str) {
    (
        past.hippodrome.as_deref().unwrap_or(""),
        past.nom_prix.as_deref().unwrap_or(""),
    )
}

/// A past race read from a report, with its day, the texts of its key, and [`KeyHash`] after
/// them, which the keys of its runners continue.
struct PastKey<'p, 'a> {
    past: &'p PastRace<'a>,
    race_date: NaiveDate,
    hippodrome: &'p str,
    nom_prix: &'p str,
    hash: KeyHash,
}

impl PastKey<'_, '_> {
    /// `f` holds the fields of the past race's key alone: its day, racecourse and race name.
    fn fields(&self, f: &mut Fields) {
        f.clear();
        f.date(self.race_date);
        f.text(Some(self.hippodrome));
        f.text(Some(self.nom_prix));
    }
}

/// The 32-bit FNV-1a hash of a row's natural key as PostgreSQL stores it: the date in ISO form,
/// then each text without its NUL bytes (which the staging text drops), a NUL before each.
/// Stable across releases and platforms (`performance_report` keeps these numbers); as an
/// `integer`, two's complement ([`KeyHash::value`]). Two keys of one horse's reports, or of the
/// reports of one past race's horses, share a hash with odds of about one in a million.
///
/// Built as the key is read: FNV-1a goes byte after byte, so the runners of a past race continue
/// the hash of the race's key instead of hashing it again each (hashing every runner's whole key
/// was 4 % of the reader's time).
#[derive(Debug, Clone, Copy)]
struct KeyHash(u32);

impl KeyHash {
    const OFFSET: u32 = 0x811c_9dc5;
    const PRIME: u32 = 0x0100_0193;

    fn step(h: u32, b: u8) -> u32 {
        (h ^ u32::from(b)).wrapping_mul(Self::PRIME)
    }

    /// The hash of the date alone.
    fn new(race_date: NaiveDate) -> KeyHash {
        let h = match crate::day::iso10(race_date) {
            Some(iso) => iso.iter().fold(Self::OFFSET, |h, b| Self::step(h, *b)),
            None => {
                let mut iso = Vec::new();
                crate::day::push_iso(&mut iso, race_date);
                iso.iter().fold(Self::OFFSET, |h, b| Self::step(h, *b))
            }
        };
        KeyHash(h)
    }

    /// The hash continued with one more text.
    fn text(self, text: &str) -> KeyHash {
        let h = Self::step(self.0, 0);
        KeyHash(text.bytes().filter(|b| *b != 0).fold(h, Self::step))
    }

    /// As an `integer`, two's complement.
    fn value(self) -> i64 {
        i64::from(self.0 as i32)
    }
}

/// The Paris calendar day of an epoch-ms instant (the API's dates are Paris midnights).
fn paris_date(ms: i64) -> Option<NaiveDate> {
    DateTime::<Utc>::from_timestamp_millis(ms).map(|t| t.with_timezone(&Paris).date_naive())
}

/// Performances give durations in centiseconds; the schema keeps milliseconds.
fn centis_to_ms(cs: i64) -> Option<i64> {
    cs.checked_mul(10)
}

/// A weight in kg (float) as tenths of kg.
fn kg_to_hg(kg: f64) -> Option<i64> {
    let hg = (kg * 10.0).round();
    (hg.is_finite() && hg.abs() < 1e9).then_some(hg as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`KeyHash`] of a date and texts.
    fn key_hash(race_date: NaiveDate, texts: &[&str]) -> i64 {
        let hash = texts.iter().fold(KeyHash::new(race_date), |h, t| h.text(t));
        hash.value()
    }

    #[test]
    fn key_hashes_are_fnv_1a_of_the_stored_key_and_stable() {
        let d = NaiveDate::from_ymd_opt(2026, 1, 2).unwrap();
        // FNV-1a 32 of b"2026-01-02\0ab\0", a figure computed outside this code.
        assert_eq!(key_hash(d, &["ab", ""]), 1_370_079_859);
        // NUL bytes are dropped as the staging text drops them; the separator is not.
        assert_eq!(key_hash(d, &["a\0b", ""]), key_hash(d, &["ab", ""]));
        assert_ne!(key_hash(d, &["ab", ""]), key_hash(d, &["a", "b"]));
        let next = NaiveDate::from_ymd_opt(2026, 1, 3).unwrap();
        assert_ne!(key_hash(d, &["ab"]), key_hash(next, &["ab"]));
        // As an `integer`: two's complement, within i32.
        assert!(i32::try_from(key_hash(next, &["ab", "x"])).is_ok());
    }
}
