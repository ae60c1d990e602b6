//! The day's programme → `stg_daily_program`, `stg_race_meeting`, `stg_race`,
//! `stg_race_bet_offer`, `stg_meeting_jackpot`.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::{Batch, DAILY_PROGRAM, MEETING_JACKPOT, RACE, RACE_BET_OFFER, RACE_MEETING};
use crate::lake::RaceId;
use crate::load::seen::SeenPastRaces;
use crate::pmu::programme::{Cagnotte, Course, Pari, Programme, ProgrammeResponse, Reunion};

impl Batch {
    /// The day is the lake's (the path), even where `programme.date` says otherwise: a fixture
    /// served under another date is loaded under that date.
    pub(super) fn programme(
        &mut self,
        day: NaiveDate,
        p: &ProgrammeResponse,
        mut seen: Option<&mut SeenPastRaces>,
    ) {
        let prog = &p.programme;
        let events = event_bets(prog);
        let mut r = self.row(DAILY_PROGRAM);
        r.date("day", day);
        r.ts_ms("programme_date", prog.date);
        r.int("timezone_offset_ms", prog.timezone_offset);
        let pmu_timestamp = p.timestamp_pmu.as_ref().and_then(|t| t.timestamp);
        r.ts_ms("pmu_timestamp", pmu_timestamp);
        r.end();
        for reunion in &prog.reunions {
            let Some(num) = reunion.num_officiel else {
                continue;
            };
            self.reunion(day, num, reunion);
            self.jackpots(day, num, &reunion.cagnottes);
            for course in &reunion.courses {
                if let Some(c) = course.num_ordre {
                    let events = events.get(&(num, c)).map_or(&[][..], Vec::as_slice);
                    self.course(day, num, c, course, events);
                    self.jackpots(day, num, &course.cagnottes);
                    for pari in &course.paris {
                        self.offer(day, num, c, pari);
                    }
                    if let (Some(seen), Some(race)) = (seen.as_deref_mut(), RaceId::new(num, c)) {
                        seen.race(day, race);
                    }
                }
            }
        }
    }

    fn reunion(&mut self, day: NaiveDate, num: i64, m: &Reunion) {
        let mut r = self.row(RACE_MEETING);
        r.date("day", day);
        r.int("num_officiel", Some(num));
        r.int("num_externe", m.num_externe);
        r.ts_ms("date_reunion", m.date_reunion);
        r.text("nature", m.nature.as_deref());
        r.text("audience", m.audience.as_deref());
        r.text("statut", m.statut.as_deref());
        r.text("region_hippique", m.region_hippique.as_deref());
        r.text("hippodrome_code", m.hippodrome.code.as_deref());
        r.text(
            "hippodrome_libelle_court",
            m.hippodrome.libelle_court.as_deref(),
        );
        r.text(
            "hippodrome_libelle_long",
            m.hippodrome.libelle_long.as_deref(),
        );
        r.text("pays_code", m.pays.code.as_deref());
        r.text("pays_libelle", m.pays.libelle.as_deref());
        r.array("disciplines_mere", &m.disciplines_mere);
        r.array("specialites", &m.specialites);
        let meteo = m.meteo.as_ref();
        r.ts_ms("meteo_date_prevision", meteo.and_then(|w| w.date_prevision));
        r.text(
            "meteo_nebulosite_code",
            meteo.and_then(|w| w.nebulosite_code.as_deref()),
        );
        let nebulosite = meteo.and_then(|w| w.nebulosite_libelle_court.as_deref());
        r.text("meteo_nebulosite_libelle", nebulosite);
        r.num("meteo_temperature_c", meteo.and_then(|w| w.temperature));
        r.num("meteo_force_vent_kmh", meteo.and_then(|w| w.force_vent));
        r.text(
            "meteo_direction_vent",
            meteo.and_then(|w| w.direction_vent.as_deref()),
        );
        r.int(
            "num_officiel_reunion_precedente",
            m.num_officiel_reunion_precedente,
        );
        r.int(
            "num_officiel_reunion_suivante",
            m.num_officiel_reunion_suivante,
        );
        r.end();
    }

    fn course(&mut self, day: NaiveDate, reunion: i64, num: i64, c: &Course, events: &[String]) {
        let mut r = self.row(RACE);
        r.date("day", day);
        r.int("num_reunion", Some(reunion));
        r.int("num_ordre", Some(num));
        r.int("num_externe", c.num_externe);
        r.ts_ms("heure_depart", c.heure_depart);
        r.int("timezone_offset_ms", c.timezone_offset);
        r.text("libelle", c.libelle.as_deref());
        r.text("libelle_court", c.libelle_court.as_deref());
        r.int("montant_prix_eur", c.montant_prix);
        r.int("montant_total_offert_eur", c.montant_total_offert);
        r.int("montant_offert_1er_eur", c.montant_offert1er);
        r.int("montant_offert_2eme_eur", c.montant_offert2eme);
        r.int("montant_offert_3eme_eur", c.montant_offert3eme);
        r.int("montant_offert_4eme_eur", c.montant_offert4eme);
        r.int("montant_offert_5eme_eur", c.montant_offert5eme);
        r.int("distance", c.distance);
        r.text("distance_unit", c.distance_unit.as_deref());
        r.text("parcours", c.parcours.as_deref());
        r.text("corde", c.corde.as_deref());
        r.text("discipline", c.discipline.as_deref());
        r.text("specialite", c.specialite.as_deref());
        r.text("type_piste", c.type_piste.as_deref());
        r.text(
            "categorie_particularite",
            c.categorie_particularite.as_deref(),
        );
        r.text("condition_age", c.condition_age.as_deref());
        r.text("condition_sexe", c.condition_sexe.as_deref());
        r.text("conditions", c.conditions.as_deref());
        r.int("nombre_declares_partants", c.nombre_declares_partants);
        r.text("statut", c.statut.as_deref());
        r.text("categorie_statut", c.categorie_statut.as_deref());
        r.boolean("arrivee_definitive", c.arrivee_definitive);
        r.boolean(
            "rapports_definitifs_disponibles",
            c.rapports_definitifs_disponibles,
        );
        r.boolean("course_exclusive_internet", c.course_exclusive_internet);
        r.int("duree_course_ms", c.duree_course);
        r.json("ordre_arrivee", c.ordre_arrivee.as_ref());
        r.json(
            "incidents",
            (!c.incidents.is_empty()).then_some(&c.incidents),
        );
        let pen = c.penetrometre.as_ref();
        r.num("penetrometre_valeur", pen.and_then(|p| p.valeur_mesure));
        r.text(
            "penetrometre_intitule",
            pen.and_then(|p| p.intitule.as_deref()),
        );
        let heure_mesure = pen.and_then(|p| p.heure_mesure.as_deref());
        r.local_ts("penetrometre_heure_mesure", heure_mesure);
        r.text(
            "penetrometre_commentaire",
            pen.and_then(|p| p.commentaire.as_deref()),
        );
        r.text("hippodrome_code", c.hippodrome.code.as_deref());
        r.text(
            "indicateur_evenement_arrivee_provisoire",
            c.indicateur_evenement_arrivee_provisoire.as_deref(),
        );
        r.text(
            "details_indicateur_evenement_arrivee_provisoire",
            c.details_indicateur_evenement_arrivee_provisoire.as_deref(),
        );
        r.int("num_course_dedoublee", c.num_course_dedoublee);
        r.boolean("grand_prix_national_trot", c.grand_prix_national_trot);
        r.array("paris_evenement", events);
        r.end();
    }

    /// A bet type offered on a race; one without `typePari` has no key and is skipped.
    fn offer(&mut self, day: NaiveDate, reunion: i64, course: i64, p: &Pari) {
        let Some(type_pari) = p.type_pari.as_deref() else {
            return;
        };
        let mut r = self.row(RACE_BET_OFFER);
        r.date("day", day);
        r.int("num_reunion", Some(reunion));
        r.int("num_ordre", Some(course));
        r.pool(type_pari);
        r.int("mise_base_cts", p.mise_base);
        r.int("mise_max_cts", p.mise_max);
        r.boolean("en_vente", p.en_vente);
        r.boolean("reportable", p.reportable);
        r.boolean("mis_en_paiement", p.mis_en_paiement);
        r.boolean("spot_autorise", p.spot_autorise);
        r.boolean("ordre", p.ordre);
        r.boolean("combine", p.combine);
        r.boolean("complement", p.complement);
        r.boolean("nouveau_quinte", p.nouveau_quinte);
        r.int("cagnotte", p.cagnotte);
        r.text("audience", p.audience.as_deref());
        r.int("nb_chevaux_reglementaire", p.nb_chevaux_reglementaire);
        r.text("pool_id", p.pool_id.as_deref());
        r.int_array("valeurs_flexi_autorisees", &p.valeurs_flexi_autorisees);
        r.int_array("valeurs_risque_autorisees", &p.valeurs_risque_autorisees);
        let jackpot = p.infos_jackpot.as_ref();
        r.int("jackpot_mise_base_cts", jackpot.and_then(|j| j.mise_base));
        let taux = jackpot.map(|j| &j.taux_contribution);
        r.int("jackpot_taux_numerateur", taux.and_then(|t| t.numerateur));
        r.int(
            "jackpot_taux_denominateur",
            taux.and_then(|t| t.denominateur),
        );
        r.num("jackpot_taux_valeur", taux.and_then(|t| t.valeur));
        let max = p.infos_option_max.as_ref();
        r.int("option_max_mise_base_cts", max.and_then(|m| m.mise_base));
        let taux = max.map(|m| &m.taux_contribution);
        r.int(
            "option_max_taux_numerateur",
            taux.and_then(|t| t.numerateur),
        );
        r.int(
            "option_max_taux_denominateur",
            taux.and_then(|t| t.denominateur),
        );
        r.num("option_max_taux_valeur", taux.and_then(|t| t.valeur));
        let tirage = max.map(|m| &m.tirage).filter(|t| !t.is_empty());
        r.json("option_max_tirage", tirage);
        r.end();
    }

    /// Jackpots of a réunion, from its own list or from one of its races' (the merge keeps one
    /// row per key); one without `typePari` or `numCourse` has no key and is skipped.
    fn jackpots(&mut self, day: NaiveDate, reunion: i64, jackpots: &[Cagnotte]) {
        for j in jackpots {
            let (Some(type_pari), Some(num_course)) = (j.type_pari.as_deref(), j.num_course) else {
                continue;
            };
            let mut r = self.row(MEETING_JACKPOT);
            r.date("day", day);
            r.int("num_officiel", Some(reunion));
            r.text("type_pari", Some(type_pari));
            r.int("num_course", Some(num_course));
            r.int("montant_eur", j.montant);
            r.boolean("cagnotte_internet", j.cagnotte_internet);
            r.text("type_cagnotte", j.type_cagnotte.as_deref());
            r.end();
        }
    }
}

/// The event bets of the day by race (R, C): the `codePari` of every réunion's `parisEvenement`
/// pointing at it, sorted, each once. One that names another day than the programme's (when
/// both are sent) is not this programme's race and is left out.
fn event_bets(prog: &Programme) -> HashMap<(i64, i64), Vec<String>> {
    let mut out: HashMap<(i64, i64), Vec<String>> = HashMap::new();
    for e in prog.reunions.iter().flat_map(|r| &r.paris_evenement) {
        let c = &e.course;
        let other_day = matches!((c.date_programme, prog.date), (Some(a), Some(b)) if a != b);
        if let (Some(code), Some(r), Some(n), false) =
            (&e.code_pari, c.num_reunion, c.num_ordre, other_day)
        {
            out.entry((r, n)).or_default().push(code.clone());
        }
    }
    for codes in out.values_mut() {
        codes.sort();
        codes.dedup();
    }
    out
}
