//! One declaration per staging table: its columns in COPY order, their SQL types, and where each
//! value comes from (the payload's JSON path, relative to the object the row is made of) with
//! its unit. The staging `CREATE TABLE`, the COPY column list, the merges' `{values}` lists and
//! the row writers' checks are all derived from these declarations (see `load/sql.rs`).
//!
//! A column is either [`named`] (the merge file reads it by name: the row's natural key, its
//! parents' keys, or input of another target such as `horse`) or a [`value`] (copied into the
//! target's column of the same name, compared and updated by the merge through `{values}`).
//! The named columns come first. The day, R and C always come from the lake path, never from
//! the payload. Units: `_ms` milliseconds, `_cts` centimes, `_eur` whole euros, `_hg` tenths
//! of kg, `_m` metres; see also the column comments of `migrations/`.
//!
//! Left unformatted by rustfmt (`#[rustfmt::skip]`): one column a line, so that a table reads
//! as a table, on one screen.

use super::{Table, named, value};
use crate::load::sql::Ty::*;

/// `programme` (the day's programme object).
#[rustfmt::skip]
pub const DAILY_PROGRAM: Table = Table {
    name: "stg_daily_program",
    binary: false,
    columns: &[
        named("day", Date, "the lake path's day"),
        value("programme_date", Timestamptz, "programme.date (epoch ms)"),
        value("timezone_offset_ms", Int, "programme.timezoneOffset (ms)"),
        value("pmu_timestamp", Timestamptz, "timestampPMU.timestamp (epoch ms)"),
    ],
};

/// `programme.reunions[]` with a `numOfficiel`.
#[rustfmt::skip]
pub const RACE_MEETING: Table = Table {
    name: "stg_race_meeting",
    binary: false,
    columns: &[
        named("day", Date, "the lake path's day"),
        named("num_officiel", Int, "numOfficiel (R)"),
        value("num_externe", Int, "numExterne"),
        value("date_reunion", Timestamptz, "dateReunion (epoch ms)"),
        value("nature", Text, "nature"),
        value("audience", Text, "audience"),
        value("statut", Text, "statut"),
        value("region_hippique", Text, "regionHippique"),
        value("hippodrome_code", Text, "hippodrome.code"),
        value("hippodrome_libelle_court", Text, "hippodrome.libelleCourt"),
        value("hippodrome_libelle_long", Text, "hippodrome.libelleLong"),
        value("pays_code", Text, "pays.code"),
        value("pays_libelle", Text, "pays.libelle"),
        value("disciplines_mere", TextArray, "disciplinesMere[]"),
        value("specialites", TextArray, "specialites[]"),
        value("meteo_date_prevision", Timestamptz, "meteo.datePrevision (epoch ms)"),
        value("meteo_nebulosite_code", Text, "meteo.nebulositeCode"),
        value("meteo_nebulosite_libelle", Text, "meteo.nebulositeLibelleCourt"),
        value("meteo_temperature_c", Numeric, "meteo.temperature (°C)"),
        value("meteo_force_vent_kmh", Numeric, "meteo.forceVent (km/h)"),
        value("meteo_direction_vent", Text, "meteo.directionVent"),
        value("num_officiel_reunion_precedente", Int, "numOfficielReunionPrecedente (R)"),
        value("num_officiel_reunion_suivante", Int, "numOfficielReunionSuivante (R)"),
    ],
};

/// `programme.reunions[].courses[]` with a `numOrdre`.
#[rustfmt::skip]
pub const RACE: Table = Table {
    name: "stg_race",
    binary: false,
    columns: &[
        named("day", Date, "the lake path's day"),
        named("num_reunion", Int, "the réunion's numOfficiel (R)"),
        named("num_ordre", Int, "numOrdre (C)"),
        value("num_externe", Int, "numExterne"),
        value("heure_depart", Timestamptz, "heureDepart (epoch ms)"),
        value("timezone_offset_ms", Int, "timezoneOffset (ms)"),
        value("libelle", Text, "libelle"),
        value("libelle_court", Text, "libelleCourt"),
        value("montant_prix_eur", BigInt, "montantPrix (€)"),
        value("montant_total_offert_eur", BigInt, "montantTotalOffert (€)"),
        value("montant_offert_1er_eur", BigInt, "montantOffert1er (€)"),
        value("montant_offert_2eme_eur", BigInt, "montantOffert2eme (€)"),
        value("montant_offert_3eme_eur", BigInt, "montantOffert3eme (€)"),
        value("montant_offert_4eme_eur", BigInt, "montantOffert4eme (€)"),
        value("montant_offert_5eme_eur", BigInt, "montantOffert5eme (€)"),
        value("distance", Int, "distance (in distance_unit)"),
        value("distance_unit", Text, "distanceUnit"),
        value("parcours", Text, "parcours"),
        value("corde", Text, "corde"),
        value("discipline", Text, "discipline"),
        value("specialite", Text, "specialite"),
        value("type_piste", Text, "typePiste"),
        value("categorie_particularite", Text, "categorieParticularite"),
        value("condition_age", Text, "conditionAge"),
        value("condition_sexe", Text, "conditionSexe"),
        value("conditions", Text, "conditions"),
        value("nombre_declares_partants", Int, "nombreDeclaresPartants"),
        value("statut", Text, "statut"),
        value("categorie_statut", Text, "categorieStatut"),
        value("arrivee_definitive", Boolean, "arriveeDefinitive"),
        value("rapports_definitifs_disponibles", Boolean, "rapportsDefinitifsDisponibles"),
        value("course_exclusive_internet", Boolean, "courseExclusiveInternet"),
        value("duree_course_ms", BigInt, "dureeCourse (ms)"),
        value("ordre_arrivee", Jsonb, "ordreArrivee, as sent"),
        value("incidents", Jsonb, "incidents, as sent; NULL when empty"),
        value("penetrometre_valeur", Numeric, "penetrometre.valeurMesure"),
        value("penetrometre_intitule", Text, "penetrometre.intitule"),
        value("penetrometre_heure_mesure", Timestamp, "penetrometre.heureMesure (Paris)"),
        value("penetrometre_commentaire", Text, "penetrometre.commentaire"),
        value("hippodrome_code", Text, "hippodrome.code"),
        value("indicateur_evenement_arrivee_provisoire", Text, "indicateurEvenement…"),
        value("details_indicateur_evenement_arrivee_provisoire", Text, "detailsIndicateur…"),
        value("num_course_dedoublee", Int, "numCourseDedoublee"),
        value("grand_prix_national_trot", Boolean, "grandPrixNationalTrot"),
        value("paris_evenement", TextArray, "réunions' parisEvenement[].codePari → this race"),
    ],
};

/// `participants[]` with a `numPmu`: the runner (→ `race_participant`) and its horse (→ `horse`).
#[rustfmt::skip]
pub const PARTICIPANT: Table = Table {
    name: "stg_participant",
    binary: true,
    columns: &[
        named("day", Date, "the lake path's day"),
        named("num_reunion", Int, "the lake path's R"),
        named("num_ordre", Int, "the lake path's C"),
        named("num_pmu", Int, "numPmu"),
        named("id_cheval", Text, "idCheval, or computed the API's way (2018)"),
        named("id_cheval_computed", Boolean, "whether id_cheval was computed"),
        named("horse_nom", Text, "nom"),
        named("horse_nom_pere", Text, "nomPere"),
        named("horse_nom_mere", Text, "nomMere"),
        named("horse_nom_pere_mere", Text, "nomPereMere"),
        named("horse_race", Text, "race (breed)"),
        named("horse_pays", Text, "pays.libelle, else pays.code"),
        named("horse_robe_code", Text, "robe.code"),
        named("horse_robe_libelle", Text, "robe.libelleCourt"),
        value("nom", Text, "nom"),
        value("age", Int, "age (years)"),
        value("sexe", Text, "sexe"),
        value("allure", Text, "allure"),
        value("statut", Text, "statut"),
        value("driver", Text, "driver"),
        value("driver_change", Boolean, "driverChange"),
        value("entraineur", Text, "entraineur"),
        value("proprietaire", Text, "proprietaire"),
        value("eleveur", Text, "eleveur"),
        value("oeilleres", Text, "oeilleres"),
        value("deferre", Text, "deferre"),
        value("indicateur_inedit", Boolean, "indicateurInedit"),
        value("musique", Text, "musique"),
        value("nombre_courses", Int, "nombreCourses"),
        value("nombre_victoires", Int, "nombreVictoires"),
        value("nombre_places", Int, "nombrePlaces"),
        value("nombre_places_second", Int, "nombrePlacesSecond"),
        value("nombre_places_troisieme", Int, "nombrePlacesTroisieme"),
        value("gains_carriere_cts", BigInt, "gainsParticipant.gainsCarriere (cts)"),
        value("gains_victoires_cts", BigInt, "gainsParticipant.gainsVictoires (cts)"),
        value("gains_place_cts", BigInt, "gainsParticipant.gainsPlace (cts)"),
        value("gains_annee_en_cours_cts", BigInt, "gainsParticipant.gainsAnneeEnCours (cts)"),
        value("gains_annee_precedente_cts", BigInt, "gainsParticipant.gainsAnneePrecedente (cts)"),
        value("place_corde", Int, "placeCorde"),
        value("handicap_distance_m", Int, "handicapDistance (m)"),
        value("handicap_poids_hg", Int, "handicapPoids (tenths of kg)"),
        value("handicap_valeur", Numeric, "handicapValeur"),
        value("poids_condition_monte_hg", Int, "poidsConditionMonte (tenths of kg)"),
        value("jument_pleine", Boolean, "jumentPleine"),
        value("engagement", Boolean, "engagement"),
        value("supplement", BigInt, "supplement (as sent)"),
        value("taux_reclamation_cts", BigInt, "tauxReclamation (cts)"),
        value("pays_entrainement", Text, "paysEntrainement"),
        value("ecurie", Text, "ecurie"),
        value("avis_entraineur", Text, "avisEntraineur"),
        value("ordre_arrivee", Int, "ordreArrivee (rank)"),
        value("incident", Text, "incident"),
        value("temps_obtenu_ms", BigInt, "tempsObtenu (ms)"),
        value("reduction_km_ms", BigInt, "reductionKilometrique (ms)"),
        value("distance_cheval_precedent", Text, "distanceChevalPrecedent.libelleCourt"),
        value("commentaire_apres_course", Text, "commentaireApresCourse.texte"),
        value("cote_direct", Numeric, "dernierRapportDirect.rapport (decimal odds)"),
        value("cote_direct_type_pari", Text, "dernierRapportDirect.typePari"),
        value("cote_direct_at", Timestamptz, "dernierRapportDirect.dateRapport"),
        value("cote_direct_favori", Boolean, "dernierRapportDirect.favoris"),
        value("cote_direct_tendance", Text, "dernierRapportDirect.indicateurTendance"),
        value("cote_direct_tendance_pct", Numeric, "…Direct.nombreIndicateurTendance"),
        value("cote_reference", Numeric, "dernierRapportReference.rapport"),
        value("cote_reference_type_pari", Text, "dernierRapportReference.typePari"),
        value("cote_reference_at", Timestamptz, "dernierRapportReference.dateRapport"),
        value("cote_reference_favori", Boolean, "dernierRapportReference.favoris"),
        value("cote_reference_tendance", Text, "dernierRapportReference.indicateurTendance"),
        value("cote_reference_tendance_pct", Numeric, "…Reference.nombreIndicateurTendance"),
        value("distance_cheval_precedent_code", Int, "distanceChevalPrecedent.code"),
        value("distance_cheval_precedent_identifiant", Text, "distanceChevalPrecedent.identifiant"),
        value("distance_cheval_precedent_libelle_long", Text, "distanceChevalPrecedent.libelleLong"),
        value("poids_condition_monte_change", Boolean, "poidsConditionMonteChange"),
        value("url_casaque", Text, "urlCasaque (the silks image)"),
    ],
};

/// `participants[].coursesCourues[]` of a performances object, with the `itsHim` runner's row.
/// `seen` compares the fields from `race_date` to `nom_prix` (the past race's key) and from
/// `discipline` to the end (its values): keep them in that order, values last.
#[rustfmt::skip]
pub const HISTORY: Table = Table {
    name: "stg_history",
    binary: true,
    columns: &[
        named("day", Date, "the lake path's day"),
        named("num_reunion", Int, "the lake path's R"),
        named("num_ordre", Int, "the lake path's C"),
        named("num_pmu", Int, "participants[].numPmu"),
        named("nom_cheval", Text, "participants[].nomCheval, else the itsHim runner's"),
        named("race_date", Date, "date (epoch ms of a Paris midnight)"),
        named("hippodrome", Text, "hippodrome; '' when absent"),
        named("nom_prix", Text, "nomPrix; '' when absent"),
        named("key_hash", Int, "FNV-1a of (race_date, hippodrome, nom_prix): see PERF_REPORT"),
        value("discipline", Text, "discipline"),
        value("allocation_eur", BigInt, "allocation (€)"),
        value("distance_m", Int, "distance (m)"),
        value("nb_participants", Int, "nbParticipants"),
        value("temps_du_premier_ms", BigInt, "tempsDuPremier (cs × 10)"),
        value("place", Int, "itsHim: place.place"),
        value("place_raw", Text, "itsHim: place.rawValue"),
        value("status_arrivee", Text, "itsHim: place.statusArrivee"),
        value("nom_jockey", Text, "itsHim: nomJockey"),
        value("reduction_km_ms", BigInt, "itsHim: reductionKilometrique (cs × 10)"),
        value("distance_parcourue_m", Int, "itsHim: distanceParcourue (m)"),
        value("poids_jockey_hg", Int, "itsHim: poidsJockey (kg × 10)"),
        value("corde", Int, "itsHim: corde"),
        value("oeillere", Text, "itsHim: oeillere"),
        value("distance_avec_precedent", Text, "itsHim: distanceAvecPrecedent.libelleCourt"),
        value("winner_nom", Text, "nomCheval of the runner placed 1"),
        value("allure", Text, "the report's $.allure (TROT, GALOP)"),
    ],
};

/// `participants[].coursesCourues[].participants[]` of a performances object with a
/// `nomCheval`: every runner a report lists for a past race, its own horse's included; one row
/// per runner of a past race per batch, the copy that wins (see `load::rows::past_runners`).
#[rustfmt::skip]
pub const PAST_RUNNER: Table = Table {
    name: "stg_past_runner",
    binary: true,
    columns: &[
        named("day", Date, "the lake path's day of the report whose values win in the batch"),
        named("num_reunion", Int, "its R"),
        named("num_ordre", Int, "its C"),
        named("first_day", Date, "the batch's first day listing this runner of this past race"),
        named("race_date", Date, "date (epoch ms of a Paris midnight)"),
        named("hippodrome", Text, "hippodrome; '' when absent"),
        named("nom_prix", Text, "nomPrix; '' when absent"),
        named("nom_cheval", Text, "nomCheval"),
        named("key_hash", Int, "FNV-1a of (race_date, hippodrome, nom_prix, nom_cheval)"),
        value("num_pmu", Int, "numPmu (galop; null in trot)"),
        value("place", Int, "place.place"),
        value("place_raw", Text, "place.rawValue"),
        value("status_arrivee", Text, "place.statusArrivee"),
        value("nom_jockey", Text, "nomJockey"),
        value("reduction_km_ms", BigInt, "reductionKilometrique (cs × 10)"),
        value("distance_parcourue_m", Int, "distanceParcourue (m)"),
        value("poids_jockey_hg", Int, "poidsJockey (kg × 10)"),
        value("corde", Int, "corde (the draw)"),
        value("oeillere", Text, "oeillere"),
        value("distance_avec_precedent", Text, "distanceAvecPrecedent.libelleCourt"),
        value("distance_avec_precedent_long", Text, "distanceAvecPrecedent.libelleLong"),
        value("distance_avec_precedent_code", Int, "distanceAvecPrecedent.code"),
        value("distance_avec_precedent_identifiant", Text, "distanceAvecPrecedent.identifiant"),
    ],
};

/// Rapports: each bet type (array item) with a `typePari`.
#[rustfmt::skip]
pub const RACE_BET: Table = Table {
    name: "stg_race_bet",
    binary: false,
    columns: &[
        named("day", Date, "the lake path's day"),
        named("num_reunion", Int, "the lake path's R"),
        named("num_ordre", Int, "the lake path's C"),
        named("type_pari", Text, "typePari"),
        value("pool", Text, "INTERNET for E_… (and EB5), else SHOP"),
        value("bet_type", Text, "typePari without E_"),
        value("mise_base_cts", BigInt, "miseBase (cts)"),
        value("rembourse", Boolean, "rembourse"),
        value("audience", Text, "audience"),
        value("famille_pari", Text, "famillePari"),
        value("dividende_unite", Text, "dividendeUnite"),
    ],
};

/// Rapports: `[].rapports[]` of a bet type with a `typePari`.
#[rustfmt::skip]
pub const BET_REPORT: Table = Table {
    name: "stg_bet_report",
    binary: false,
    columns: &[
        named("day", Date, "the lake path's day"),
        named("num_reunion", Int, "the lake path's R"),
        named("num_ordre", Int, "the lake path's C"),
        named("type_pari", Text, "the bet type's typePari"),
        named("combinaison", Text, "combinaison; '' when absent"),
        named("libelle", Text, "libelle; '' when absent"),
        value("dividende_cts", BigInt, "dividende (cts)"),
        value("dividende_pour_un_euro_cts", BigInt, "dividendePourUnEuro (cts)"),
        value("dividende_pour_une_mise_de_base_cts", BigInt, "dividendePourUneMiseDeBase"),
        value("dividende_unite", Text, "dividendeUnite, else the bet type's"),
        value("nombre_gagnants", Numeric, "nombreGagnants"),
    ],
};

/// `programme.reunions[].courses[].paris[]` with a `typePari`.
#[rustfmt::skip]
pub const RACE_BET_OFFER: Table = Table {
    name: "stg_race_bet_offer",
    binary: false,
    columns: &[
        named("day", Date, "the lake path's day"),
        named("num_reunion", Int, "the réunion's numOfficiel (R)"),
        named("num_ordre", Int, "the course's numOrdre (C)"),
        named("type_pari", Text, "typePari"),
        value("pool", Text, "INTERNET for E_… (and EB5), else SHOP"),
        value("bet_type", Text, "typePari without E_"),
        value("mise_base_cts", BigInt, "miseBase (cts)"),
        value("mise_max_cts", BigInt, "miseMax (cts)"),
        value("en_vente", Boolean, "enVente"),
        value("reportable", Boolean, "reportable"),
        value("mis_en_paiement", Boolean, "misEnPaiement"),
        value("spot_autorise", Boolean, "spotAutorise"),
        value("ordre", Boolean, "ordre"),
        value("combine", Boolean, "combine"),
        value("complement", Boolean, "complement"),
        value("nouveau_quinte", Boolean, "nouveauQuinte"),
        value("cagnotte", BigInt, "cagnotte (€, inferred)"),
        value("audience", Text, "audience"),
        value("nb_chevaux_reglementaire", Int, "nbChevauxReglementaire"),
        value("pool_id", Text, "poolId"),
        value("valeurs_flexi_autorisees", IntArray, "valeursFlexiAutorisees[] (%)"),
        value("valeurs_risque_autorisees", IntArray, "valeursRisqueAutorisees[]"),
        value("jackpot_mise_base_cts", BigInt, "infosJackpot.miseBase (cts)"),
        value("jackpot_taux_numerateur", Int, "infosJackpot.tauxContribution.numerateur"),
        value("jackpot_taux_denominateur", Int, "infosJackpot.tauxContribution.denominateur"),
        value("jackpot_taux_valeur", Numeric, "infosJackpot.tauxContribution as a number"),
        value("option_max_mise_base_cts", BigInt, "infosOptionMax.miseBase (cts)"),
        value("option_max_taux_numerateur", Int, "infosOptionMax.tauxContribution.numerateur"),
        value("option_max_taux_denominateur", Int, "…tauxContribution.denominateur"),
        value("option_max_taux_valeur", Numeric, "infosOptionMax.tauxContribution as a number"),
        value("option_max_tirage", Jsonb, "infosOptionMax.tirage; NULL when empty"),
    ],
};

/// `cagnottes[]` of a réunion or of one of its courses, with `typePari` and `numCourse`.
#[rustfmt::skip]
pub const MEETING_JACKPOT: Table = Table {
    name: "stg_meeting_jackpot",
    binary: false,
    columns: &[
        named("day", Date, "the lake path's day"),
        named("num_officiel", Int, "the réunion's numOfficiel (R)"),
        named("type_pari", Text, "typePari"),
        named("num_course", Int, "numCourse"),
        value("montant_eur", BigInt, "montant (€)"),
        value("cagnotte_internet", Boolean, "cagnotteInternet"),
        value("type_cagnotte", Text, "typeCagnotte"),
    ],
};

/// `participants[]` of a performances object with a `numPmu`: what each runner's report lists,
/// as FNV-1a hashes of the natural keys of the rows it gives (see `load::rows::key_hash`).
#[rustfmt::skip]
pub const PERF_REPORT: Table = Table {
    name: "stg_perf_report",
    binary: true,
    columns: &[
        named("day", Date, "the lake path's day"),
        named("num_reunion", Int, "the lake path's R"),
        named("num_ordre", Int, "the lake path's C"),
        named("num_pmu", Int, "participants[].numPmu"),
        value("past_races", IntArray, "key_hash of each stg_history row of the runner"),
        value("past_runners", IntArray, "key_hash of each stg_past_runner row of the runner"),
    ],
};

/// How many of [`PARTICIPANT`]'s columns, from the first, describe the runner's race and horse:
/// the columns of [`HORSE`]. Its value columns follow them.
pub const HORSE_COLUMNS: usize = 14;

/// The horse columns of [`PARTICIPANT`] alone, for the runners a first backfill copies straight
/// into `race_participant` (`load::rows::participants`): the `horse` merge reads this table
/// beside `stg_participant`.
pub const HORSE: Table = Table {
    name: "stg_horse",
    binary: true,
    columns: PARTICIPANT.columns.split_at(HORSE_COLUMNS).0,
};

/// Every staging table, in the order of [`crate::load::sql::STAGING`] (and of the indexes of
/// `load::rows`).
#[rustfmt::skip]
pub const ALL: [&Table; 12] = [
    &DAILY_PROGRAM,
    &RACE_MEETING,
    &RACE,
    &PARTICIPANT,
    &HISTORY,
    &RACE_BET,
    &BET_REPORT,
    &RACE_BET_OFFER,
    &MEETING_JACKPOT,
    &PAST_RUNNER,
    &PERF_REPORT,
    &HORSE,
];
