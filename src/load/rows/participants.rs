//! A race's participants → `stg_participant` (the runner, and its horse's attributes).
//!
//! In a first backfill (`race_participant` empty as the load began, so that its merge is a
//! plain insert), a race's runners skip `stg_participant`: their horses' columns go to
//! `stg_horse`, which the `horse` merge reads beside it, and the rest of each row waits in
//! [`DirectRunners`] until the batch's transaction knows the ids of their race and horse, then
//! is copied straight into `race_participant` (`load::runners`). Those rows are the ones the
//! insert-only merge would have inserted: one per `numPmu` of the race, with the race's and
//! horse's ids, or none when the race is not in `race` (an orphan, counted as the merge counts
//! it). A race listing a `numPmu` twice is staged as before, and the merge keeps one of them.

use anyhow::Result;
use chrono::NaiveDate;

use super::{Batch, HORSE, PARTICIPANT, binary};
use crate::lake::RaceId;
use crate::load::seen::SeenPastRaces;
use crate::load::sql::tables::{self, HORSE_COLUMNS};
use crate::pmu::participants::{Participant, ParticipantsResponse};

/// A runner copied straight into `race_participant` (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectRunner<'a> {
    pub day: NaiveDate,
    pub race: RaceId,
    pub num_pmu: i32,
    /// Its horse's `id_cheval`, which the `horse` merge gives an id.
    pub horse: Option<&'a str>,
    /// Its value fields (those of `stg_participant` after [`HORSE_COLUMNS`]), in binary COPY
    /// form.
    pub values: &'a [u8],
}

/// The runners of a batch copied straight into `race_participant`, when it asks for them
/// ([`Batch::copy_runners_directly`]).
#[derive(Debug, Default)]
pub struct DirectRunners {
    /// Whether races with one row per `numPmu` go this way.
    on: bool,
    runners: Vec<At>,
    values: Vec<u8>,
    horses: String,
    /// The binary header, then one runner's whole `stg_participant` row, before it is split.
    scratch: Vec<u8>,
}

/// A runner of [`DirectRunners`], its horse and values as ranges of its buffers.
#[derive(Debug)]
struct At {
    day: NaiveDate,
    race: RaceId,
    num_pmu: i32,
    horse: Option<(usize, usize)>,
    values: (usize, usize),
}

/// Where [`DirectRunners`] stood before an object was added, to take the object back.
pub struct Mark(usize, usize, usize);

impl DirectRunners {
    pub fn len(&self) -> usize {
        self.runners.len()
    }

    pub fn clear(&mut self) {
        self.runners.clear();
        self.values.clear();
        self.horses.clear();
    }

    pub fn mark(&self) -> Mark {
        Mark(self.runners.len(), self.values.len(), self.horses.len())
    }

    pub fn truncate(&mut self, Mark(runners, values, horses): Mark) {
        self.runners.truncate(runners);
        self.values.truncate(values);
        self.horses.truncate(horses);
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = DirectRunner<'_>> {
        self.runners.iter().map(|r| DirectRunner {
            day: r.day,
            race: r.race,
            num_pmu: r.num_pmu,
            horse: r.horse.map(|(a, b)| &self.horses[a..b]),
            values: &self.values[r.values.0..r.values.1],
        })
    }
}

impl Batch {
    /// From now on (until the batch is dropped; [`Batch::clear`] keeps it), the runners of a
    /// race with one row per `numPmu` go straight into `race_participant` (see the module's
    /// documentation): for a load whose `race_participant` merge is a plain insert.
    pub fn copy_runners_directly(&mut self) {
        self.runners.on = true;
    }

    /// The runners to copy straight into `race_participant`, once the batch is
    /// [finished](Batch::finish).
    pub fn direct_runners(&self) -> impl ExactSizeIterator<Item = DirectRunner<'_>> {
        assert!(self.finished, "direct runners read before Batch::finish");
        self.runners.iter()
    }

    /// Every runner with a `numPmu`; `seen` learns the race's runners and their horses.
    pub(super) fn participants(
        &mut self,
        day: NaiveDate,
        race: RaceId,
        p: &ParticipantsResponse,
        mut seen: Option<&mut SeenPastRaces>,
    ) -> Result<()> {
        Batch::num_pmus_fit(p.participants.iter().map(|r| r.num_pmu), "stg_participant")?;
        let direct = self.runners.on && {
            let mut numbers: Vec<i64> = p.participants.iter().filter_map(|r| r.num_pmu).collect();
            numbers.sort_unstable();
            numbers.windows(2).all(|w| w[0] != w[1])
        };
        for runner in &p.participants {
            let horse = runner.horse_key();
            if let (Some(seen), Some(num_pmu)) = (seen.as_deref_mut(), runner.num_pmu) {
                seen.runner(day, race, num_pmu, horse.as_deref());
            }
            self.participant(day, race, runner, horse, direct);
        }
        Ok(())
    }

    /// The runner's row, written whole in `scratch`, split into its horse's row of `stg_horse`
    /// and its values, which wait for the ids of its race and horse.
    fn split_runner(&mut self, day: NaiveDate, race: RaceId, num_pmu: i32, horse: Option<String>) {
        let d = &mut self.runners;
        // The header, then the row's field count, then its fields.
        let fields = &d.scratch[binary::HEADER.len() + 2..];
        let at = binary::fields_len(fields, HORSE_COLUMNS);
        let t = &mut self.tables[HORSE];
        binary::row(&mut t.csv, tables::HORSE.columns.len() as i16);
        t.csv.extend_from_slice(&fields[..at]);
        t.rows += 1;
        let start = d.values.len();
        d.values.extend_from_slice(&fields[at..]);
        let horse = horse.map(|h| {
            let start = d.horses.len();
            d.horses.push_str(&h);
            (start, d.horses.len())
        });
        d.runners.push(At {
            day,
            race,
            num_pmu,
            horse,
            values: (start, d.values.len()),
        });
    }

    fn participant(
        &mut self,
        day: NaiveDate,
        race: RaceId,
        p: &Participant,
        horse: Option<String>,
        direct: bool,
    ) {
        let Some(num_pmu) = p.num_pmu else { return };
        let computed =
            horse.is_some() && p.id_cheval.as_deref().is_none_or(|id| id.trim().is_empty());
        let mut r = if direct {
            // Kept from row to row, the header is written once ([`binary::row`] writes it into
            // an empty buffer only).
            self.runners.scratch.truncate(binary::HEADER.len());
            super::Row::new(
                &mut self.runners.scratch,
                tables::ALL[PARTICIPANT],
                &mut self.out_of_range,
                &self.current,
            )
        } else {
            self.row(PARTICIPANT)
        };
        r.race_key(day, race);
        r.int("num_pmu", Some(num_pmu));
        r.text("id_cheval", horse.as_deref());
        r.boolean("id_cheval_computed", Some(computed));
        r.text("horse_nom", p.nom.as_deref());
        r.text("horse_nom_pere", p.nom_pere.as_deref());
        r.text("horse_nom_mere", p.nom_mere.as_deref());
        r.text("horse_nom_pere_mere", p.nom_pere_mere.as_deref());
        r.text("horse_race", p.race.as_deref());
        r.text(
            "horse_pays",
            p.pays.libelle.as_deref().or(p.pays.code.as_deref()),
        );
        r.text("horse_robe_code", p.robe.code.as_deref());
        r.text("horse_robe_libelle", p.robe.libelle_court.as_deref());
        r.text("nom", p.nom.as_deref());
        r.int("age", p.age);
        r.text("sexe", p.sexe.as_deref());
        r.text("allure", p.allure.as_deref());
        r.text("statut", p.statut.as_deref());
        r.text("driver", p.driver.as_deref());
        r.boolean("driver_change", p.driver_change);
        r.text("entraineur", p.entraineur.as_deref());
        r.text("proprietaire", p.proprietaire.as_deref());
        r.text("eleveur", p.eleveur.as_deref());
        r.text("oeilleres", p.oeilleres.as_deref());
        r.text("deferre", p.deferre.as_deref());
        r.boolean("indicateur_inedit", p.indicateur_inedit);
        r.text("musique", p.musique.as_deref());
        r.int("nombre_courses", p.nombre_courses);
        r.int("nombre_victoires", p.nombre_victoires);
        r.int("nombre_places", p.nombre_places);
        r.int("nombre_places_second", p.nombre_places_second);
        r.int("nombre_places_troisieme", p.nombre_places_troisieme);
        let g = &p.gains_participant;
        r.int("gains_carriere_cts", g.gains_carriere);
        r.int("gains_victoires_cts", g.gains_victoires);
        r.int("gains_place_cts", g.gains_place);
        r.int("gains_annee_en_cours_cts", g.gains_annee_en_cours);
        r.int("gains_annee_precedente_cts", g.gains_annee_precedente);
        r.int("place_corde", p.place_corde);
        r.int("handicap_distance_m", p.handicap_distance);
        r.int("handicap_poids_hg", p.handicap_poids);
        r.num("handicap_valeur", p.handicap_valeur);
        r.int("poids_condition_monte_hg", p.poids_condition_monte);
        r.boolean("jument_pleine", p.jument_pleine);
        r.boolean("engagement", p.engagement);
        r.int("supplement", p.supplement);
        r.int("taux_reclamation_cts", p.taux_reclamation);
        r.text("pays_entrainement", p.pays_entrainement.as_deref());
        r.text("ecurie", p.ecurie.as_deref());
        r.text("avis_entraineur", p.avis_entraineur.as_deref());
        r.int("ordre_arrivee", p.ordre_arrivee);
        r.text("incident", p.incident.as_deref());
        r.int("temps_obtenu_ms", p.temps_obtenu);
        r.int("reduction_km_ms", p.reduction_kilometrique);
        let gap = &p.distance_cheval_precedent;
        let gap = gap.libelle_court.as_deref().or(gap.identifiant.as_deref());
        r.text("distance_cheval_precedent", gap);
        r.text(
            "commentaire_apres_course",
            p.commentaire_apres_course.texte.as_deref(),
        );
        let live = p.dernier_rapport_direct.as_ref();
        r.num("cote_direct", live.and_then(|o| o.rapport));
        r.text(
            "cote_direct_type_pari",
            live.and_then(|o| o.type_pari.as_deref()),
        );
        r.ts_ms("cote_direct_at", live.and_then(|o| o.date_rapport));
        r.boolean("cote_direct_favori", live.and_then(|o| o.favoris));
        let trend = live.and_then(|o| o.indicateur_tendance.as_deref());
        r.text("cote_direct_tendance", trend);
        let trend_pct = live.and_then(|o| o.nombre_indicateur_tendance);
        r.num("cote_direct_tendance_pct", trend_pct);
        let reference = p.dernier_rapport_reference.as_ref();
        r.num("cote_reference", reference.and_then(|o| o.rapport));
        let pool = reference.and_then(|o| o.type_pari.as_deref());
        r.text("cote_reference_type_pari", pool);
        r.ts_ms("cote_reference_at", reference.and_then(|o| o.date_rapport));
        r.boolean("cote_reference_favori", reference.and_then(|o| o.favoris));
        let trend = reference.and_then(|o| o.indicateur_tendance.as_deref());
        r.text("cote_reference_tendance", trend);
        let trend_pct = reference.and_then(|o| o.nombre_indicateur_tendance);
        r.num("cote_reference_tendance_pct", trend_pct);
        let gap = &p.distance_cheval_precedent;
        r.int("distance_cheval_precedent_code", gap.code);
        r.text(
            "distance_cheval_precedent_identifiant",
            gap.identifiant.as_deref(),
        );
        r.text(
            "distance_cheval_precedent_libelle_long",
            gap.libelle_long.as_deref(),
        );
        r.boolean(
            "poids_condition_monte_change",
            p.poids_condition_monte_change,
        );
        r.text("url_casaque", p.url_casaque.as_deref());
        r.end();
        if direct {
            let num_pmu = i32::try_from(num_pmu).expect("numPmu checked by num_pmus_fit");
            self.split_runner(day, race, num_pmu, horse);
        }
    }
}
