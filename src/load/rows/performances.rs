//! A race's performances → `stg_history`: for each runner, each past race with its `itsHim`
//! row, in ms and tenths of kg; and `stg_past_runner`: every runner listed for each past race.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Europe::Paris;

use super::{Batch, HISTORY, PAST_RUNNER};
use crate::lake::RaceId;
use crate::load::seen::SeenPastRaces;
use crate::pmu::performances::{PastRace, PerformancesResponse, Runner};

impl Batch {
    pub(super) fn performances(
        &mut self,
        day: NaiveDate,
        race: RaceId,
        p: &PerformancesResponse,
        mut seen: Option<&mut SeenPastRaces>,
    ) {
        let allure = p.allure.as_deref();
        for runner in &p.participants {
            for past in &runner.courses_courues {
                let seen = seen.as_deref_mut();
                self.history(day, race, runner, past, allure, seen);
                self.past_runners(day, race, past);
            }
        }
    }

    /// Every runner the report lists for a past race (its own horse's row too) with a name: the
    /// past race's key and the name are the row's key, shared by every report that lists it.
    fn past_runners(&mut self, day: NaiveDate, race: RaceId, past: &PastRace) {
        let Some(race_date) = past.date.and_then(paris_date) else {
            return;
        };
        for p in &past.participants {
            let Some(nom) = p.nom_cheval.as_deref().filter(|n| !n.trim().is_empty()) else {
                continue;
            };
            let mut r = self.row(PAST_RUNNER);
            r.race_key(day, race);
            r.boolean("its_him", Some(p.its_him == Some(true)));
            r.date("race_date", race_date);
            r.text("hippodrome", Some(past.hippodrome.as_deref().unwrap_or("")));
            r.text("nom_prix", Some(past.nom_prix.as_deref().unwrap_or("")));
            r.text("nom_cheval", Some(nom));
            r.int("num_pmu", p.num_pmu);
            r.int("place", p.place.place);
            r.text("place_raw", p.place.raw_value.as_deref());
            r.text("status_arrivee", p.place.status_arrivee.as_deref());
            r.text("nom_jockey", p.nom_jockey.as_deref());
            r.int(
                "reduction_km_ms",
                p.reduction_kilometrique.and_then(centis_to_ms),
            );
            r.int("distance_parcourue_m", p.distance_parcourue);
            r.int("poids_jockey_hg", p.poids_jockey.and_then(kg_to_hg));
            r.int("corde", p.corde);
            r.text("oeillere", p.oeillere.as_deref());
            let gap = &p.distance_avec_precedent;
            r.text("distance_avec_precedent", gap.libelle_court.as_deref());
            r.text("distance_avec_precedent_long", gap.libelle_long.as_deref());
            r.int("distance_avec_precedent_code", gap.code);
            r.text(
                "distance_avec_precedent_identifiant",
                gap.identifiant.as_deref(),
            );
            r.end();
        }
    }

    /// One past race; left out when `seen` knows PostgreSQL holds it unchanged (it compares the
    /// CSV bytes of the past race's key, `race_date`..`nom_prix`, and of its values, the rest).
    fn history(
        &mut self,
        day: NaiveDate,
        race: RaceId,
        runner: &Runner,
        past: &PastRace,
        allure: Option<&str>,
        seen: Option<&mut SeenPastRaces>,
    ) {
        let (num_pmu, nom) = (runner.num_pmu, runner.nom_cheval.as_deref());
        let Some(him) = past.subject() else { return };
        let Some(race_date) = past.date.and_then(paris_date) else {
            return;
        };
        let winner = past.participants.iter().find(|p| p.place.place == Some(1));
        let start = self.tables[HISTORY].csv.len();
        let mut r = self.row(HISTORY);
        r.race_key(day, race);
        r.int("num_pmu", num_pmu);
        r.text("nom_cheval", nom.or(him.nom_cheval.as_deref()));
        let key_start = r.buf.len();
        r.date("race_date", race_date);
        r.text("hippodrome", Some(past.hippodrome.as_deref().unwrap_or("")));
        r.text("nom_prix", Some(past.nom_prix.as_deref().unwrap_or("")));
        let values_start = r.buf.len();
        r.text("discipline", past.discipline.as_deref());
        r.int("allocation_eur", past.allocation);
        r.int("distance_m", past.distance);
        r.int("nb_participants", past.nb_participants);
        r.int(
            "temps_du_premier_ms",
            past.temps_du_premier.and_then(centis_to_ms),
        );
        r.int("place", him.place.place);
        r.text("place_raw", him.place.raw_value.as_deref());
        r.text("status_arrivee", him.place.status_arrivee.as_deref());
        r.text("nom_jockey", him.nom_jockey.as_deref());
        let reduction = him.reduction_kilometrique.and_then(centis_to_ms);
        r.int("reduction_km_ms", reduction);
        r.int("distance_parcourue_m", him.distance_parcourue);
        r.int("poids_jockey_hg", him.poids_jockey.and_then(kg_to_hg));
        r.int("corde", him.corde);
        r.text("oeillere", him.oeillere.as_deref());
        let gap = &him.distance_avec_precedent;
        let gap = gap.libelle_court.as_deref().or(gap.libelle_long.as_deref());
        r.text("distance_avec_precedent", gap);
        r.text("winner_nom", winner.and_then(|w| w.nom_cheval.as_deref()));
        r.text("allure", allure);
        r.end();
        if let Some(seen) = seen {
            let t = &mut self.tables[HISTORY];
            let (key, values) = (&t.csv[key_start..values_start], &t.csv[values_start..]);
            if !seen.keep(day, race, num_pmu, key, values) {
                t.csv.truncate(start);
                t.rows -= 1;
            }
        }
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
