//! A race's participants → `stg_participant` (the runner, and its horse's attributes).

use anyhow::Result;
use chrono::NaiveDate;

use super::{Batch, PARTICIPANT};
use crate::lake::RaceId;
use crate::load::seen::SeenPastRaces;
use crate::pmu::participants::{Participant, ParticipantsResponse};

impl Batch {
    /// Every runner with a `numPmu`; `seen` learns the race's runners and their horses.
    pub(super) fn participants(
        &mut self,
        day: NaiveDate,
        race: RaceId,
        p: &ParticipantsResponse,
        mut seen: Option<&mut SeenPastRaces>,
    ) -> Result<()> {
        Batch::num_pmus_fit(p.participants.iter().map(|r| r.num_pmu), "stg_participant")?;
        for runner in &p.participants {
            let horse = runner.horse_key();
            if let (Some(seen), Some(num_pmu)) = (seen.as_deref_mut(), runner.num_pmu) {
                seen.runner(day, race, num_pmu, horse.as_deref());
            }
            self.participant(day, race, runner, horse);
        }
        Ok(())
    }

    fn participant(
        &mut self,
        day: NaiveDate,
        race: RaceId,
        p: &Participant,
        horse: Option<String>,
    ) {
        let Some(num_pmu) = p.num_pmu else { return };
        let computed =
            horse.is_some() && p.id_cheval.as_deref().is_none_or(|id| id.trim().is_empty());
        let mut r = self.row(PARTICIPANT);
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
    }
}
