//! SQL text of the load, all constants: the staging tables, the COPY statements that fill them,
//! and the set-based merges from staging into the target tables.
//!
//! Contract with `load/mod.rs` (the machinery):
//! - `STAGING[i].create` is run once per session (temp tables, `ON COMMIT DELETE ROWS`).
//! - For each staging table with rows, `STAGING[i].copy` (`COPY … FROM STDIN …`) is fed the CSV
//!   bytes that [`crate::load::rows::Batch`] produced for table `i`.
//! - Then every statement of `MERGES`, in order, inside the same transaction. Each returns exactly
//!   one row of four `bigint`: (read, inserted, updated, orphaned) for its target table: `read`
//!   is the number of distinct staged rows for that target, `orphaned` those that could not be
//!   attached (no parent row, e.g. participants of a race whose programme is not loaded);
//!   unchanged = read − inserted − updated − orphaned.
//!
//! COPY format: CSV, PostgreSQL's defaults (`,`, `"` doubled inside quotes, NULL = an unquoted
//! empty field). `rows.rs` quotes every non-NULL text value, so `""` is the empty string and an
//! empty unquoted field is NULL: the two never meet.
//!
//! Merges are `INSERT … SELECT … ON CONFLICT (natural key) DO UPDATE … WHERE (target) IS
//! DISTINCT FROM (excluded)`: an unchanged row is not written at all. Staged rows are deduplicated
//! per natural key first (`DISTINCT ON` / `GROUP BY`), and parents are found by joins on natural
//! keys (day, R, C → race; idCheval → horse; numPmu or name → the race's runner → horse). Inserted
//! vs updated comes from `xmax = 0` on the returned rows.
//!
//! `horse_race_history`, the largest target, is merged differently: most of its staged rows are
//! past races the table already holds (every performances object repeats a horse's last runs).
//! Its merge looks each distinct past race up once by its natural key (a `LEFT JOIN` on the
//! unique index), then inserts the ones not found with a plain `INSERT` and updates the ones
//! found with other values by `id`. An unchanged row is neither written nor locked, and the new
//! rows skip `ON CONFLICT`'s speculative insertion (110,000 past races took 2.2 s to insert
//! with it, 1.5 s without, on the bench machine). This
//! is safe because a load holds the load lock (`load::LOAD_LOCK_KEY`): no other load inserts
//! between the lookup and the insert. The runners a past performance hangs from are looked up for
//! the batch's races only (by the race key and the `(race_id, num_pmu)` index), not joined over
//! the whole `race_participant` table. Rows the loader already knows unchanged are not even
//! staged (`load::seen`).
//!
//! Update rules: most targets take the staged values (one lake object owns each row).
//! `horse`, which several objects describe, takes its attributes whole from one participants
//! row, the horse's latest: the greatest (day, num_reunion, num_ordre, num_pmu), then the greatest
//! text of the attributes among duplicates of one race. The row's race is kept in
//! `horse.source_*`; a staged row replaces the stored attributes when its key is at least the
//! stored one (equal: a re-fetched object of that race, a correction), never when it is older;
//! `id_cheval_computed` stays the AND of every payload seen. The horse lookup before the upsert
//! is safe under the load lock, as for `horse_race_history` below. `horse_race_history` takes a
//! report only if it comes from a day at least as recent as the one that last set the row. Each
//! rule makes the rows a function of the objects loaded, whatever their order or batches.
//!
//! A batch may hold several days, and its rows must not depend on where batches start and end.
//! When several days of a batch report the same past race, the newest report's values win and
//! `reported_on` is the first of the batch's days that reported those values: what loading the
//! days one at a time gives, since a report that changes nothing does not set the row. (Values
//! that change and change back within one batch are the exception: `reported_on` is then the
//! first day with the final values, not the first day after the last change.)
//!
//! A refreshed object is the whole truth about its race: runners a participants object no longer
//! lists, and bets or paid combinations a non-empty rapports object no longer lists, are deleted
//! by the `race_participant` and `bet_report` merges (an empty rapports `[]` stages nothing and
//! deletes nothing). Likewise a programme is the whole truth about the races and réunions it
//! lists: bet offers of its races and jackpots of its réunions it no longer lists are deleted by
//! the `race_bet_offer` and `meeting_jackpot` merges. Deletions are not part of the four counts.
//!
//! Every merge follows the same pattern, written out in full so that the SQL reads as it runs.
//! Staging columns are in the CSV order of `rows.rs`; `rows::tests` checks that each CSV row has
//! as many fields as its COPY column list, and `tests/corpus.rs` runs them all on PostgreSQL.

/// One staging table.
#[derive(Debug)]
pub struct StagingTable {
    pub name: &'static str,
    pub create: &'static str,
    pub copy: &'static str,
}

/// One merge statement into a target table.
#[derive(Debug)]
pub struct Merge {
    /// The target table, as reports name it (`race`, `horse_race_history`, …).
    pub target: &'static str,
    pub sql: &'static str,
}

/// Settings of the load's session, run once before the staging tables are created.
///
/// `jit = off`: each merge is a short statement over one day of rows, but its cost estimate is
/// above `jit_above_cost`, so PostgreSQL compiled it with LLVM on every call, which took longer
/// than running it (about 90 ms of JIT for a 300 ms `horse_race_history` merge; with JIT off the
/// merges of a 30-day bench ran about 1.5× faster). The session setting leaves the server's
/// default untouched for other clients.
///
/// `work_mem = 32MB`: a batch of several days (25,000 staged rows by default) groups and sorts
/// its past races in about 11 MB; at the default 4 MB the `horse_race_history` merge spilled
/// both to disk (about 120 ms of a 580 ms merge; about 100 ms in memory). Sorts and hashes of a
/// merge stay far below the setting, which only bounds them.
///
/// Measured and left alone: `ANALYZE` of the staging tables (autovacuum never analyzes temp tables,
/// but the plans for a day, from the tables' physical size, were the same with and without it,
/// and it costs a statement per table per day); `synchronous_commit = off` (about 4 % of a
/// first load committing every day, less with batches of days; not worth a server crash losing
/// days the load reported as committed).
pub const SESSION: &str = "SET jit = off; SET work_mem = '32MB'";

pub const STAGING: &[StagingTable] = &[
    StagingTable {
        name: "stg_daily_program",
        create: "CREATE TEMP TABLE IF NOT EXISTS stg_daily_program (
    day date,
    programme_date timestamptz,
    timezone_offset_ms integer,
    pmu_timestamp timestamptz
) ON COMMIT DELETE ROWS",
        copy: "COPY stg_daily_program (day, programme_date, timezone_offset_ms, pmu_timestamp) FROM STDIN (FORMAT csv)",
    },
    StagingTable {
        name: "stg_race_meeting",
        create: "CREATE TEMP TABLE IF NOT EXISTS stg_race_meeting (
    day date,
    num_officiel integer,
    num_externe integer,
    date_reunion timestamptz,
    nature text,
    audience text,
    statut text,
    region_hippique text,
    hippodrome_code text,
    hippodrome_libelle_court text,
    hippodrome_libelle_long text,
    pays_code text,
    pays_libelle text,
    disciplines_mere text[],
    specialites text[],
    meteo_date_prevision timestamptz,
    meteo_nebulosite_code text,
    meteo_nebulosite_libelle text,
    meteo_temperature_c numeric,
    meteo_force_vent_kmh numeric,
    meteo_direction_vent text
) ON COMMIT DELETE ROWS",
        copy: "COPY stg_race_meeting (day, num_officiel, num_externe, date_reunion, nature, audience, statut, region_hippique, hippodrome_code, hippodrome_libelle_court, hippodrome_libelle_long, pays_code, pays_libelle, disciplines_mere, specialites, meteo_date_prevision, meteo_nebulosite_code, meteo_nebulosite_libelle, meteo_temperature_c, meteo_force_vent_kmh, meteo_direction_vent) FROM STDIN (FORMAT csv)",
    },
    StagingTable {
        name: "stg_race",
        create: "CREATE TEMP TABLE IF NOT EXISTS stg_race (
    day date,
    num_reunion integer,
    num_ordre integer,
    num_externe integer,
    heure_depart timestamptz,
    timezone_offset_ms integer,
    libelle text,
    libelle_court text,
    montant_prix_eur bigint,
    montant_total_offert_eur bigint,
    montant_offert_1er_eur bigint,
    montant_offert_2eme_eur bigint,
    montant_offert_3eme_eur bigint,
    montant_offert_4eme_eur bigint,
    montant_offert_5eme_eur bigint,
    distance integer,
    distance_unit text,
    parcours text,
    corde text,
    discipline text,
    specialite text,
    type_piste text,
    categorie_particularite text,
    condition_age text,
    condition_sexe text,
    conditions text,
    nombre_declares_partants integer,
    statut text,
    categorie_statut text,
    arrivee_definitive boolean,
    rapports_definitifs_disponibles boolean,
    course_exclusive_internet boolean,
    duree_course_ms bigint,
    ordre_arrivee jsonb,
    incidents jsonb,
    penetrometre_valeur numeric,
    penetrometre_intitule text,
    penetrometre_heure_mesure timestamp,
    penetrometre_commentaire text,
    hippodrome_code text
) ON COMMIT DELETE ROWS",
        copy: "COPY stg_race (day, num_reunion, num_ordre, num_externe, heure_depart, timezone_offset_ms, libelle, libelle_court, montant_prix_eur, montant_total_offert_eur, montant_offert_1er_eur, montant_offert_2eme_eur, montant_offert_3eme_eur, montant_offert_4eme_eur, montant_offert_5eme_eur, distance, distance_unit, parcours, corde, discipline, specialite, type_piste, categorie_particularite, condition_age, condition_sexe, conditions, nombre_declares_partants, statut, categorie_statut, arrivee_definitive, rapports_definitifs_disponibles, course_exclusive_internet, duree_course_ms, ordre_arrivee, incidents, penetrometre_valeur, penetrometre_intitule, penetrometre_heure_mesure, penetrometre_commentaire, hippodrome_code) FROM STDIN (FORMAT csv)",
    },
    StagingTable {
        name: "stg_participant",
        create: "CREATE TEMP TABLE IF NOT EXISTS stg_participant (
    day date,
    num_reunion integer,
    num_ordre integer,
    num_pmu integer,
    id_cheval text,
    id_cheval_computed boolean,
    horse_nom text,
    horse_nom_pere text,
    horse_nom_mere text,
    horse_nom_pere_mere text,
    horse_race text,
    horse_pays text,
    horse_robe_code text,
    horse_robe_libelle text,
    nom text,
    age integer,
    sexe text,
    allure text,
    statut text,
    driver text,
    driver_change boolean,
    entraineur text,
    proprietaire text,
    eleveur text,
    oeilleres text,
    deferre text,
    indicateur_inedit boolean,
    musique text,
    nombre_courses integer,
    nombre_victoires integer,
    nombre_places integer,
    nombre_places_second integer,
    nombre_places_troisieme integer,
    gains_carriere_cts bigint,
    gains_victoires_cts bigint,
    gains_place_cts bigint,
    gains_annee_en_cours_cts bigint,
    gains_annee_precedente_cts bigint,
    place_corde integer,
    handicap_distance_m integer,
    handicap_poids_hg integer,
    handicap_valeur numeric,
    poids_condition_monte_hg integer,
    jument_pleine boolean,
    engagement boolean,
    supplement bigint,
    taux_reclamation_cts bigint,
    pays_entrainement text,
    ecurie text,
    avis_entraineur text,
    ordre_arrivee integer,
    incident text,
    temps_obtenu_ms bigint,
    reduction_km_ms bigint,
    distance_cheval_precedent text,
    commentaire_apres_course text,
    cote_direct numeric,
    cote_direct_type_pari text,
    cote_direct_at timestamptz,
    cote_direct_favori boolean,
    cote_direct_tendance text,
    cote_direct_tendance_pct numeric,
    cote_reference numeric,
    cote_reference_type_pari text,
    cote_reference_at timestamptz,
    cote_reference_favori boolean
) ON COMMIT DELETE ROWS",
        copy: "COPY stg_participant (day, num_reunion, num_ordre, num_pmu, id_cheval, id_cheval_computed, horse_nom, horse_nom_pere, horse_nom_mere, horse_nom_pere_mere, horse_race, horse_pays, horse_robe_code, horse_robe_libelle, nom, age, sexe, allure, statut, driver, driver_change, entraineur, proprietaire, eleveur, oeilleres, deferre, indicateur_inedit, musique, nombre_courses, nombre_victoires, nombre_places, nombre_places_second, nombre_places_troisieme, gains_carriere_cts, gains_victoires_cts, gains_place_cts, gains_annee_en_cours_cts, gains_annee_precedente_cts, place_corde, handicap_distance_m, handicap_poids_hg, handicap_valeur, poids_condition_monte_hg, jument_pleine, engagement, supplement, taux_reclamation_cts, pays_entrainement, ecurie, avis_entraineur, ordre_arrivee, incident, temps_obtenu_ms, reduction_km_ms, distance_cheval_precedent, commentaire_apres_course, cote_direct, cote_direct_type_pari, cote_direct_at, cote_direct_favori, cote_direct_tendance, cote_direct_tendance_pct, cote_reference, cote_reference_type_pari, cote_reference_at, cote_reference_favori) FROM STDIN (FORMAT csv)",
    },
    StagingTable {
        name: "stg_history",
        create: "CREATE TEMP TABLE IF NOT EXISTS stg_history (
    day date,
    num_reunion integer,
    num_ordre integer,
    num_pmu integer,
    nom_cheval text,
    race_date date,
    hippodrome text,
    nom_prix text,
    discipline text,
    allocation_eur bigint,
    distance_m integer,
    nb_participants integer,
    temps_du_premier_ms bigint,
    place integer,
    place_raw text,
    status_arrivee text,
    nom_jockey text,
    reduction_km_ms bigint,
    distance_parcourue_m integer,
    poids_jockey_hg integer,
    corde integer,
    oeillere text,
    distance_avec_precedent text,
    winner_nom text
) ON COMMIT DELETE ROWS",
        copy: "COPY stg_history (day, num_reunion, num_ordre, num_pmu, nom_cheval, race_date, hippodrome, nom_prix, discipline, allocation_eur, distance_m, nb_participants, temps_du_premier_ms, place, place_raw, status_arrivee, nom_jockey, reduction_km_ms, distance_parcourue_m, poids_jockey_hg, corde, oeillere, distance_avec_precedent, winner_nom) FROM STDIN (FORMAT csv)",
    },
    StagingTable {
        name: "stg_race_bet",
        create: "CREATE TEMP TABLE IF NOT EXISTS stg_race_bet (
    day date,
    num_reunion integer,
    num_ordre integer,
    type_pari text,
    pool text,
    bet_type text,
    mise_base_cts bigint,
    rembourse boolean,
    audience text,
    famille_pari text,
    dividende_unite text
) ON COMMIT DELETE ROWS",
        copy: "COPY stg_race_bet (day, num_reunion, num_ordre, type_pari, pool, bet_type, mise_base_cts, rembourse, audience, famille_pari, dividende_unite) FROM STDIN (FORMAT csv)",
    },
    StagingTable {
        name: "stg_bet_report",
        create: "CREATE TEMP TABLE IF NOT EXISTS stg_bet_report (
    day date,
    num_reunion integer,
    num_ordre integer,
    type_pari text,
    combinaison text,
    libelle text,
    dividende_cts bigint,
    dividende_pour_un_euro_cts bigint,
    dividende_pour_une_mise_de_base_cts bigint,
    dividende_unite text,
    nombre_gagnants numeric
) ON COMMIT DELETE ROWS",
        copy: "COPY stg_bet_report (day, num_reunion, num_ordre, type_pari, combinaison, libelle, dividende_cts, dividende_pour_un_euro_cts, dividende_pour_une_mise_de_base_cts, dividende_unite, nombre_gagnants) FROM STDIN (FORMAT csv)",
    },
    StagingTable {
        name: "stg_race_bet_offer",
        create: "CREATE TEMP TABLE IF NOT EXISTS stg_race_bet_offer (
    day date,
    num_reunion integer,
    num_ordre integer,
    type_pari text,
    pool text,
    bet_type text,
    mise_base_cts bigint,
    mise_max_cts bigint,
    en_vente boolean,
    reportable boolean,
    mis_en_paiement boolean,
    spot_autorise boolean,
    ordre boolean,
    combine boolean,
    complement boolean,
    nouveau_quinte boolean,
    cagnotte bigint,
    audience text,
    nb_chevaux_reglementaire integer,
    pool_id text
) ON COMMIT DELETE ROWS",
        copy: "COPY stg_race_bet_offer (day, num_reunion, num_ordre, type_pari, pool, bet_type, mise_base_cts, mise_max_cts, en_vente, reportable, mis_en_paiement, spot_autorise, ordre, combine, complement, nouveau_quinte, cagnotte, audience, nb_chevaux_reglementaire, pool_id) FROM STDIN (FORMAT csv)",
    },
    StagingTable {
        name: "stg_meeting_jackpot",
        create: "CREATE TEMP TABLE IF NOT EXISTS stg_meeting_jackpot (
    day date,
    num_officiel integer,
    type_pari text,
    num_course integer,
    montant_eur bigint,
    cagnotte_internet boolean,
    type_cagnotte text
) ON COMMIT DELETE ROWS",
        copy: "COPY stg_meeting_jackpot (day, num_officiel, type_pari, num_course, montant_eur, cagnotte_internet, type_cagnotte) FROM STDIN (FORMAT csv)",
    },
];

pub const MERGES: &[Merge] = &[
    Merge {
        target: "daily_program",
        sql: "WITH src AS (
    SELECT DISTINCT ON (day) * FROM stg_daily_program ORDER BY day, pmu_timestamp DESC NULLS LAST
),
j AS (
    SELECT * FROM src
),
up AS (
    INSERT INTO daily_program AS t (day, programme_date, timezone_offset_ms, pmu_timestamp)
    SELECT day,
           programme_date,
           timezone_offset_ms,
           pmu_timestamp
    FROM j
    ON CONFLICT (day) DO UPDATE
    SET (programme_date, timezone_offset_ms, pmu_timestamp) = (EXCLUDED.programme_date, EXCLUDED.timezone_offset_ms, EXCLUDED.pmu_timestamp), updated_at = now()
    WHERE (t.programme_date, t.timezone_offset_ms, t.pmu_timestamp) IS DISTINCT FROM (EXCLUDED.programme_date, EXCLUDED.timezone_offset_ms, EXCLUDED.pmu_timestamp)
    RETURNING (t.xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM src)::bigint AS read,
       count(*) FILTER (WHERE inserted)::bigint AS inserted,
       count(*) FILTER (WHERE NOT inserted)::bigint AS updated,
       ((SELECT count(*) FROM src) - (SELECT count(*) FROM j))::bigint AS orphaned
FROM up",
    },
    Merge {
        target: "race_meeting",
        sql: "WITH src AS (
    SELECT DISTINCT ON (day, num_officiel) * FROM stg_race_meeting ORDER BY day, num_officiel
),
j AS (
    SELECT p.id AS daily_program_id, s.* FROM src s JOIN daily_program p ON p.day = s.day
),
up AS (
    INSERT INTO race_meeting AS t (daily_program_id, day, num_officiel, num_externe, date_reunion, nature, audience, statut, region_hippique, hippodrome_code, hippodrome_libelle_court, hippodrome_libelle_long, pays_code, pays_libelle, disciplines_mere, specialites, meteo_date_prevision, meteo_nebulosite_code, meteo_nebulosite_libelle, meteo_temperature_c, meteo_force_vent_kmh, meteo_direction_vent)
    SELECT daily_program_id,
           day,
           num_officiel,
           num_externe,
           date_reunion,
           nature,
           audience,
           statut,
           region_hippique,
           hippodrome_code,
           hippodrome_libelle_court,
           hippodrome_libelle_long,
           pays_code,
           pays_libelle,
           disciplines_mere,
           specialites,
           meteo_date_prevision,
           meteo_nebulosite_code,
           meteo_nebulosite_libelle,
           meteo_temperature_c,
           meteo_force_vent_kmh,
           meteo_direction_vent
    FROM j
    ON CONFLICT (day, num_officiel) DO UPDATE
    SET (daily_program_id, num_externe, date_reunion, nature, audience, statut, region_hippique, hippodrome_code, hippodrome_libelle_court, hippodrome_libelle_long, pays_code, pays_libelle, disciplines_mere, specialites, meteo_date_prevision, meteo_nebulosite_code, meteo_nebulosite_libelle, meteo_temperature_c, meteo_force_vent_kmh, meteo_direction_vent) = (EXCLUDED.daily_program_id, EXCLUDED.num_externe, EXCLUDED.date_reunion, EXCLUDED.nature, EXCLUDED.audience, EXCLUDED.statut, EXCLUDED.region_hippique, EXCLUDED.hippodrome_code, EXCLUDED.hippodrome_libelle_court, EXCLUDED.hippodrome_libelle_long, EXCLUDED.pays_code, EXCLUDED.pays_libelle, EXCLUDED.disciplines_mere, EXCLUDED.specialites, EXCLUDED.meteo_date_prevision, EXCLUDED.meteo_nebulosite_code, EXCLUDED.meteo_nebulosite_libelle, EXCLUDED.meteo_temperature_c, EXCLUDED.meteo_force_vent_kmh, EXCLUDED.meteo_direction_vent), updated_at = now()
    WHERE (t.daily_program_id, t.num_externe, t.date_reunion, t.nature, t.audience, t.statut, t.region_hippique, t.hippodrome_code, t.hippodrome_libelle_court, t.hippodrome_libelle_long, t.pays_code, t.pays_libelle, t.disciplines_mere, t.specialites, t.meteo_date_prevision, t.meteo_nebulosite_code, t.meteo_nebulosite_libelle, t.meteo_temperature_c, t.meteo_force_vent_kmh, t.meteo_direction_vent) IS DISTINCT FROM (EXCLUDED.daily_program_id, EXCLUDED.num_externe, EXCLUDED.date_reunion, EXCLUDED.nature, EXCLUDED.audience, EXCLUDED.statut, EXCLUDED.region_hippique, EXCLUDED.hippodrome_code, EXCLUDED.hippodrome_libelle_court, EXCLUDED.hippodrome_libelle_long, EXCLUDED.pays_code, EXCLUDED.pays_libelle, EXCLUDED.disciplines_mere, EXCLUDED.specialites, EXCLUDED.meteo_date_prevision, EXCLUDED.meteo_nebulosite_code, EXCLUDED.meteo_nebulosite_libelle, EXCLUDED.meteo_temperature_c, EXCLUDED.meteo_force_vent_kmh, EXCLUDED.meteo_direction_vent)
    RETURNING (t.xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM src)::bigint AS read,
       count(*) FILTER (WHERE inserted)::bigint AS inserted,
       count(*) FILTER (WHERE NOT inserted)::bigint AS updated,
       ((SELECT count(*) FROM src) - (SELECT count(*) FROM j))::bigint AS orphaned
FROM up",
    },
    Merge {
        target: "race",
        sql: "WITH src AS (
    SELECT DISTINCT ON (day, num_reunion, num_ordre) * FROM stg_race ORDER BY day, num_reunion, num_ordre
),
j AS (
    SELECT m.id AS race_meeting_id, s.* FROM src s
    JOIN race_meeting m ON m.day = s.day AND m.num_officiel = s.num_reunion
),
up AS (
    INSERT INTO race AS t (race_meeting_id, day, num_reunion, num_ordre, num_externe, heure_depart, timezone_offset_ms, libelle, libelle_court, montant_prix_eur, montant_total_offert_eur, montant_offert_1er_eur, montant_offert_2eme_eur, montant_offert_3eme_eur, montant_offert_4eme_eur, montant_offert_5eme_eur, distance, distance_unit, parcours, corde, discipline, specialite, type_piste, categorie_particularite, condition_age, condition_sexe, conditions, nombre_declares_partants, statut, categorie_statut, arrivee_definitive, rapports_definitifs_disponibles, course_exclusive_internet, duree_course_ms, ordre_arrivee, incidents, penetrometre_valeur, penetrometre_intitule, penetrometre_heure_mesure, penetrometre_commentaire, hippodrome_code)
    SELECT race_meeting_id,
           day,
           num_reunion,
           num_ordre,
           num_externe,
           heure_depart,
           timezone_offset_ms,
           libelle,
           libelle_court,
           montant_prix_eur,
           montant_total_offert_eur,
           montant_offert_1er_eur,
           montant_offert_2eme_eur,
           montant_offert_3eme_eur,
           montant_offert_4eme_eur,
           montant_offert_5eme_eur,
           distance,
           distance_unit,
           parcours,
           corde,
           discipline,
           specialite,
           type_piste,
           categorie_particularite,
           condition_age,
           condition_sexe,
           conditions,
           nombre_declares_partants,
           statut,
           categorie_statut,
           arrivee_definitive,
           rapports_definitifs_disponibles,
           course_exclusive_internet,
           duree_course_ms,
           ordre_arrivee,
           incidents,
           penetrometre_valeur,
           penetrometre_intitule,
           penetrometre_heure_mesure,
           penetrometre_commentaire,
           hippodrome_code
    FROM j
    ON CONFLICT (day, num_reunion, num_ordre) DO UPDATE
    SET (race_meeting_id, num_externe, heure_depart, timezone_offset_ms, libelle, libelle_court, montant_prix_eur, montant_total_offert_eur, montant_offert_1er_eur, montant_offert_2eme_eur, montant_offert_3eme_eur, montant_offert_4eme_eur, montant_offert_5eme_eur, distance, distance_unit, parcours, corde, discipline, specialite, type_piste, categorie_particularite, condition_age, condition_sexe, conditions, nombre_declares_partants, statut, categorie_statut, arrivee_definitive, rapports_definitifs_disponibles, course_exclusive_internet, duree_course_ms, ordre_arrivee, incidents, penetrometre_valeur, penetrometre_intitule, penetrometre_heure_mesure, penetrometre_commentaire, hippodrome_code) = (EXCLUDED.race_meeting_id, EXCLUDED.num_externe, EXCLUDED.heure_depart, EXCLUDED.timezone_offset_ms, EXCLUDED.libelle, EXCLUDED.libelle_court, EXCLUDED.montant_prix_eur, EXCLUDED.montant_total_offert_eur, EXCLUDED.montant_offert_1er_eur, EXCLUDED.montant_offert_2eme_eur, EXCLUDED.montant_offert_3eme_eur, EXCLUDED.montant_offert_4eme_eur, EXCLUDED.montant_offert_5eme_eur, EXCLUDED.distance, EXCLUDED.distance_unit, EXCLUDED.parcours, EXCLUDED.corde, EXCLUDED.discipline, EXCLUDED.specialite, EXCLUDED.type_piste, EXCLUDED.categorie_particularite, EXCLUDED.condition_age, EXCLUDED.condition_sexe, EXCLUDED.conditions, EXCLUDED.nombre_declares_partants, EXCLUDED.statut, EXCLUDED.categorie_statut, EXCLUDED.arrivee_definitive, EXCLUDED.rapports_definitifs_disponibles, EXCLUDED.course_exclusive_internet, EXCLUDED.duree_course_ms, EXCLUDED.ordre_arrivee, EXCLUDED.incidents, EXCLUDED.penetrometre_valeur, EXCLUDED.penetrometre_intitule, EXCLUDED.penetrometre_heure_mesure, EXCLUDED.penetrometre_commentaire, EXCLUDED.hippodrome_code), updated_at = now()
    WHERE (t.race_meeting_id, t.num_externe, t.heure_depart, t.timezone_offset_ms, t.libelle, t.libelle_court, t.montant_prix_eur, t.montant_total_offert_eur, t.montant_offert_1er_eur, t.montant_offert_2eme_eur, t.montant_offert_3eme_eur, t.montant_offert_4eme_eur, t.montant_offert_5eme_eur, t.distance, t.distance_unit, t.parcours, t.corde, t.discipline, t.specialite, t.type_piste, t.categorie_particularite, t.condition_age, t.condition_sexe, t.conditions, t.nombre_declares_partants, t.statut, t.categorie_statut, t.arrivee_definitive, t.rapports_definitifs_disponibles, t.course_exclusive_internet, t.duree_course_ms, t.ordre_arrivee, t.incidents, t.penetrometre_valeur, t.penetrometre_intitule, t.penetrometre_heure_mesure, t.penetrometre_commentaire, t.hippodrome_code) IS DISTINCT FROM (EXCLUDED.race_meeting_id, EXCLUDED.num_externe, EXCLUDED.heure_depart, EXCLUDED.timezone_offset_ms, EXCLUDED.libelle, EXCLUDED.libelle_court, EXCLUDED.montant_prix_eur, EXCLUDED.montant_total_offert_eur, EXCLUDED.montant_offert_1er_eur, EXCLUDED.montant_offert_2eme_eur, EXCLUDED.montant_offert_3eme_eur, EXCLUDED.montant_offert_4eme_eur, EXCLUDED.montant_offert_5eme_eur, EXCLUDED.distance, EXCLUDED.distance_unit, EXCLUDED.parcours, EXCLUDED.corde, EXCLUDED.discipline, EXCLUDED.specialite, EXCLUDED.type_piste, EXCLUDED.categorie_particularite, EXCLUDED.condition_age, EXCLUDED.condition_sexe, EXCLUDED.conditions, EXCLUDED.nombre_declares_partants, EXCLUDED.statut, EXCLUDED.categorie_statut, EXCLUDED.arrivee_definitive, EXCLUDED.rapports_definitifs_disponibles, EXCLUDED.course_exclusive_internet, EXCLUDED.duree_course_ms, EXCLUDED.ordre_arrivee, EXCLUDED.incidents, EXCLUDED.penetrometre_valeur, EXCLUDED.penetrometre_intitule, EXCLUDED.penetrometre_heure_mesure, EXCLUDED.penetrometre_commentaire, EXCLUDED.hippodrome_code)
    RETURNING (t.xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM src)::bigint AS read,
       count(*) FILTER (WHERE inserted)::bigint AS inserted,
       count(*) FILTER (WHERE NOT inserted)::bigint AS updated,
       ((SELECT count(*) FROM src) - (SELECT count(*) FROM j))::bigint AS orphaned
FROM up",
    },
    Merge {
        target: "race_bet_offer",
        sql: "WITH src AS (
    SELECT DISTINCT ON (day, num_reunion, num_ordre, type_pari) * FROM stg_race_bet_offer s
    ORDER BY day, num_reunion, num_ordre, type_pari, s::text
),
j AS (
    SELECT r.id AS race_id, s.* FROM src s
    JOIN race r ON r.day = s.day AND r.num_reunion = s.num_reunion AND r.num_ordre = s.num_ordre
),
staged_races AS (
    SELECT DISTINCT r.id AS race_id FROM stg_race s
    JOIN race r ON r.day = s.day AND r.num_reunion = s.num_reunion AND r.num_ordre = s.num_ordre
),
gone_offers AS (
    DELETE FROM race_bet_offer d
    USING staged_races k
    WHERE d.race_id = k.race_id
      AND (d.race_id, d.type_pari) NOT IN (SELECT race_id, type_pari FROM j)
),
up AS (
    INSERT INTO race_bet_offer AS t (race_id, type_pari, pool, bet_type, mise_base_cts, mise_max_cts, en_vente, reportable, mis_en_paiement, spot_autorise, ordre, combine, complement, nouveau_quinte, cagnotte, audience, nb_chevaux_reglementaire, pool_id)
    SELECT race_id,
           type_pari,
           pool,
           bet_type,
           mise_base_cts,
           mise_max_cts,
           en_vente,
           reportable,
           mis_en_paiement,
           spot_autorise,
           ordre,
           combine,
           complement,
           nouveau_quinte,
           cagnotte,
           audience,
           nb_chevaux_reglementaire,
           pool_id
    FROM j
    ON CONFLICT (race_id, type_pari) DO UPDATE
    SET (pool, bet_type, mise_base_cts, mise_max_cts, en_vente, reportable, mis_en_paiement, spot_autorise, ordre, combine, complement, nouveau_quinte, cagnotte, audience, nb_chevaux_reglementaire, pool_id) = (EXCLUDED.pool, EXCLUDED.bet_type, EXCLUDED.mise_base_cts, EXCLUDED.mise_max_cts, EXCLUDED.en_vente, EXCLUDED.reportable, EXCLUDED.mis_en_paiement, EXCLUDED.spot_autorise, EXCLUDED.ordre, EXCLUDED.combine, EXCLUDED.complement, EXCLUDED.nouveau_quinte, EXCLUDED.cagnotte, EXCLUDED.audience, EXCLUDED.nb_chevaux_reglementaire, EXCLUDED.pool_id), updated_at = now()
    WHERE (t.pool, t.bet_type, t.mise_base_cts, t.mise_max_cts, t.en_vente, t.reportable, t.mis_en_paiement, t.spot_autorise, t.ordre, t.combine, t.complement, t.nouveau_quinte, t.cagnotte, t.audience, t.nb_chevaux_reglementaire, t.pool_id) IS DISTINCT FROM (EXCLUDED.pool, EXCLUDED.bet_type, EXCLUDED.mise_base_cts, EXCLUDED.mise_max_cts, EXCLUDED.en_vente, EXCLUDED.reportable, EXCLUDED.mis_en_paiement, EXCLUDED.spot_autorise, EXCLUDED.ordre, EXCLUDED.combine, EXCLUDED.complement, EXCLUDED.nouveau_quinte, EXCLUDED.cagnotte, EXCLUDED.audience, EXCLUDED.nb_chevaux_reglementaire, EXCLUDED.pool_id)
    RETURNING (t.xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM src)::bigint AS read,
       count(*) FILTER (WHERE inserted)::bigint AS inserted,
       count(*) FILTER (WHERE NOT inserted)::bigint AS updated,
       ((SELECT count(*) FROM src) - (SELECT count(*) FROM j))::bigint AS orphaned
FROM up",
    },
    Merge {
        target: "meeting_jackpot",
        sql: "WITH src AS (
    SELECT DISTINCT ON (day, num_officiel, type_pari, num_course) * FROM stg_meeting_jackpot
    ORDER BY day, num_officiel, type_pari, num_course, type_cagnotte NULLS LAST, montant_eur DESC NULLS LAST, cagnotte_internet
),
j AS (
    SELECT m.id AS race_meeting_id, s.* FROM src s
    JOIN race_meeting m ON m.day = s.day AND m.num_officiel = s.num_officiel
),
staged_meetings AS (
    SELECT DISTINCT m.id AS race_meeting_id FROM stg_race_meeting s
    JOIN race_meeting m ON m.day = s.day AND m.num_officiel = s.num_officiel
),
gone_jackpots AS (
    DELETE FROM meeting_jackpot d
    USING staged_meetings k
    WHERE d.race_meeting_id = k.race_meeting_id
      AND (d.race_meeting_id, d.type_pari, d.num_course) NOT IN (SELECT race_meeting_id, type_pari, num_course FROM j)
),
up AS (
    INSERT INTO meeting_jackpot AS t (race_meeting_id, type_pari, num_course, montant_eur, cagnotte_internet, type_cagnotte)
    SELECT race_meeting_id,
           type_pari,
           num_course,
           montant_eur,
           cagnotte_internet,
           type_cagnotte
    FROM j
    ON CONFLICT (race_meeting_id, type_pari, num_course) DO UPDATE
    SET (montant_eur, cagnotte_internet, type_cagnotte) = (EXCLUDED.montant_eur, EXCLUDED.cagnotte_internet, EXCLUDED.type_cagnotte), updated_at = now()
    WHERE (t.montant_eur, t.cagnotte_internet, t.type_cagnotte) IS DISTINCT FROM (EXCLUDED.montant_eur, EXCLUDED.cagnotte_internet, EXCLUDED.type_cagnotte)
    RETURNING (t.xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM src)::bigint AS read,
       count(*) FILTER (WHERE inserted)::bigint AS inserted,
       count(*) FILTER (WHERE NOT inserted)::bigint AS updated,
       ((SELECT count(*) FROM src) - (SELECT count(*) FROM j))::bigint AS orphaned
FROM up",
    },
    Merge {
        target: "horse",
        sql: "WITH computed AS (
    SELECT id_cheval, bool_and(id_cheval_computed) AS id_cheval_computed
    FROM stg_participant WHERE id_cheval IS NOT NULL GROUP BY id_cheval
),
latest AS (
    SELECT DISTINCT ON (id_cheval)
           id_cheval, day, num_reunion, num_ordre, num_pmu,
           horse_nom, horse_nom_pere, horse_nom_mere, horse_nom_pere_mere, horse_race, horse_pays, horse_robe_code, horse_robe_libelle
    FROM stg_participant WHERE id_cheval IS NOT NULL
    ORDER BY id_cheval, day DESC, num_reunion DESC, num_ordre DESC, num_pmu DESC NULLS LAST,
             ROW(horse_nom, horse_nom_pere, horse_nom_mere, horse_nom_pere_mere, horse_race, horse_pays, horse_robe_code, horse_robe_libelle)::text DESC
),
src AS (
    SELECT l.*, c.id_cheval_computed,
           COALESCE((h.source_day, h.source_num_reunion, h.source_num_ordre, COALESCE(h.source_num_pmu, -1))
                    > (l.day, l.num_reunion, l.num_ordre, COALESCE(l.num_pmu, -1)), false) AS older
    FROM latest l
    JOIN computed c USING (id_cheval)
    LEFT JOIN horse h USING (id_cheval)
),
flag AS (
    UPDATE horse t SET id_cheval_computed = false, updated_at = now()
    FROM src s
    WHERE s.older AND t.id_cheval = s.id_cheval AND t.id_cheval_computed AND NOT s.id_cheval_computed
    RETURNING 1
),
up AS (
    INSERT INTO horse AS t (id_cheval, id_cheval_computed, nom, nom_pere, nom_mere, nom_pere_mere, race, pays, robe_code, robe_libelle, source_day, source_num_reunion, source_num_ordre, source_num_pmu)
    SELECT id_cheval,
           id_cheval_computed,
           horse_nom,
           horse_nom_pere,
           horse_nom_mere,
           horse_nom_pere_mere,
           horse_race,
           horse_pays,
           horse_robe_code,
           horse_robe_libelle,
           day,
           num_reunion,
           num_ordre,
           num_pmu
    FROM src WHERE NOT older
    ON CONFLICT (id_cheval) DO UPDATE
    SET (id_cheval_computed, nom, nom_pere, nom_mere, nom_pere_mere, race, pays, robe_code, robe_libelle, source_day, source_num_reunion, source_num_ordre, source_num_pmu) = (t.id_cheval_computed AND EXCLUDED.id_cheval_computed, EXCLUDED.nom, EXCLUDED.nom_pere, EXCLUDED.nom_mere, EXCLUDED.nom_pere_mere, EXCLUDED.race, EXCLUDED.pays, EXCLUDED.robe_code, EXCLUDED.robe_libelle, EXCLUDED.source_day, EXCLUDED.source_num_reunion, EXCLUDED.source_num_ordre, EXCLUDED.source_num_pmu), updated_at = now()
    WHERE (t.id_cheval_computed, t.nom, t.nom_pere, t.nom_mere, t.nom_pere_mere, t.race, t.pays, t.robe_code, t.robe_libelle, t.source_day, t.source_num_reunion, t.source_num_ordre, t.source_num_pmu) IS DISTINCT FROM (t.id_cheval_computed AND EXCLUDED.id_cheval_computed, EXCLUDED.nom, EXCLUDED.nom_pere, EXCLUDED.nom_mere, EXCLUDED.nom_pere_mere, EXCLUDED.race, EXCLUDED.pays, EXCLUDED.robe_code, EXCLUDED.robe_libelle, EXCLUDED.source_day, EXCLUDED.source_num_reunion, EXCLUDED.source_num_ordre, EXCLUDED.source_num_pmu)
    RETURNING (t.xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM src)::bigint AS read,
       count(*) FILTER (WHERE inserted)::bigint AS inserted,
       (count(*) FILTER (WHERE NOT inserted) + (SELECT count(*) FROM flag))::bigint AS updated,
       (0)::bigint AS orphaned
FROM up",
    },
    Merge {
        target: "race_participant",
        sql: "WITH src AS (
    SELECT DISTINCT ON (day, num_reunion, num_ordre, num_pmu) * FROM stg_participant
    ORDER BY day, num_reunion, num_ordre, num_pmu
),
j AS (
    SELECT r.id AS race_id, h.id AS horse_id, s.* FROM src s
    JOIN race r ON r.day = s.day AND r.num_reunion = s.num_reunion AND r.num_ordre = s.num_ordre
    LEFT JOIN horse h ON h.id_cheval = s.id_cheval
),
gone AS (
    DELETE FROM race_participant d
    USING (SELECT DISTINCT race_id FROM j) k
    WHERE d.race_id = k.race_id
      AND (d.race_id, d.num_pmu) NOT IN (SELECT race_id, num_pmu FROM j)
),
up AS (
    INSERT INTO race_participant AS t (race_id, num_pmu, horse_id, nom, age, sexe, allure, statut, driver, driver_change, entraineur, proprietaire, eleveur, oeilleres, deferre, indicateur_inedit, musique, nombre_courses, nombre_victoires, nombre_places, nombre_places_second, nombre_places_troisieme, gains_carriere_cts, gains_victoires_cts, gains_place_cts, gains_annee_en_cours_cts, gains_annee_precedente_cts, place_corde, handicap_distance_m, handicap_poids_hg, handicap_valeur, poids_condition_monte_hg, jument_pleine, engagement, supplement, taux_reclamation_cts, pays_entrainement, ecurie, avis_entraineur, ordre_arrivee, incident, temps_obtenu_ms, reduction_km_ms, distance_cheval_precedent, commentaire_apres_course, cote_direct, cote_direct_type_pari, cote_direct_at, cote_direct_favori, cote_direct_tendance, cote_direct_tendance_pct, cote_reference, cote_reference_type_pari, cote_reference_at, cote_reference_favori)
    SELECT race_id,
           num_pmu,
           horse_id,
           nom,
           age,
           sexe,
           allure,
           statut,
           driver,
           driver_change,
           entraineur,
           proprietaire,
           eleveur,
           oeilleres,
           deferre,
           indicateur_inedit,
           musique,
           nombre_courses,
           nombre_victoires,
           nombre_places,
           nombre_places_second,
           nombre_places_troisieme,
           gains_carriere_cts,
           gains_victoires_cts,
           gains_place_cts,
           gains_annee_en_cours_cts,
           gains_annee_precedente_cts,
           place_corde,
           handicap_distance_m,
           handicap_poids_hg,
           handicap_valeur,
           poids_condition_monte_hg,
           jument_pleine,
           engagement,
           supplement,
           taux_reclamation_cts,
           pays_entrainement,
           ecurie,
           avis_entraineur,
           ordre_arrivee,
           incident,
           temps_obtenu_ms,
           reduction_km_ms,
           distance_cheval_precedent,
           commentaire_apres_course,
           cote_direct,
           cote_direct_type_pari,
           cote_direct_at,
           cote_direct_favori,
           cote_direct_tendance,
           cote_direct_tendance_pct,
           cote_reference,
           cote_reference_type_pari,
           cote_reference_at,
           cote_reference_favori
    FROM j
    ON CONFLICT (race_id, num_pmu) DO UPDATE
    SET (horse_id, nom, age, sexe, allure, statut, driver, driver_change, entraineur, proprietaire, eleveur, oeilleres, deferre, indicateur_inedit, musique, nombre_courses, nombre_victoires, nombre_places, nombre_places_second, nombre_places_troisieme, gains_carriere_cts, gains_victoires_cts, gains_place_cts, gains_annee_en_cours_cts, gains_annee_precedente_cts, place_corde, handicap_distance_m, handicap_poids_hg, handicap_valeur, poids_condition_monte_hg, jument_pleine, engagement, supplement, taux_reclamation_cts, pays_entrainement, ecurie, avis_entraineur, ordre_arrivee, incident, temps_obtenu_ms, reduction_km_ms, distance_cheval_precedent, commentaire_apres_course, cote_direct, cote_direct_type_pari, cote_direct_at, cote_direct_favori, cote_direct_tendance, cote_direct_tendance_pct, cote_reference, cote_reference_type_pari, cote_reference_at, cote_reference_favori) = (EXCLUDED.horse_id, EXCLUDED.nom, EXCLUDED.age, EXCLUDED.sexe, EXCLUDED.allure, EXCLUDED.statut, EXCLUDED.driver, EXCLUDED.driver_change, EXCLUDED.entraineur, EXCLUDED.proprietaire, EXCLUDED.eleveur, EXCLUDED.oeilleres, EXCLUDED.deferre, EXCLUDED.indicateur_inedit, EXCLUDED.musique, EXCLUDED.nombre_courses, EXCLUDED.nombre_victoires, EXCLUDED.nombre_places, EXCLUDED.nombre_places_second, EXCLUDED.nombre_places_troisieme, EXCLUDED.gains_carriere_cts, EXCLUDED.gains_victoires_cts, EXCLUDED.gains_place_cts, EXCLUDED.gains_annee_en_cours_cts, EXCLUDED.gains_annee_precedente_cts, EXCLUDED.place_corde, EXCLUDED.handicap_distance_m, EXCLUDED.handicap_poids_hg, EXCLUDED.handicap_valeur, EXCLUDED.poids_condition_monte_hg, EXCLUDED.jument_pleine, EXCLUDED.engagement, EXCLUDED.supplement, EXCLUDED.taux_reclamation_cts, EXCLUDED.pays_entrainement, EXCLUDED.ecurie, EXCLUDED.avis_entraineur, EXCLUDED.ordre_arrivee, EXCLUDED.incident, EXCLUDED.temps_obtenu_ms, EXCLUDED.reduction_km_ms, EXCLUDED.distance_cheval_precedent, EXCLUDED.commentaire_apres_course, EXCLUDED.cote_direct, EXCLUDED.cote_direct_type_pari, EXCLUDED.cote_direct_at, EXCLUDED.cote_direct_favori, EXCLUDED.cote_direct_tendance, EXCLUDED.cote_direct_tendance_pct, EXCLUDED.cote_reference, EXCLUDED.cote_reference_type_pari, EXCLUDED.cote_reference_at, EXCLUDED.cote_reference_favori), updated_at = now()
    WHERE (t.horse_id, t.nom, t.age, t.sexe, t.allure, t.statut, t.driver, t.driver_change, t.entraineur, t.proprietaire, t.eleveur, t.oeilleres, t.deferre, t.indicateur_inedit, t.musique, t.nombre_courses, t.nombre_victoires, t.nombre_places, t.nombre_places_second, t.nombre_places_troisieme, t.gains_carriere_cts, t.gains_victoires_cts, t.gains_place_cts, t.gains_annee_en_cours_cts, t.gains_annee_precedente_cts, t.place_corde, t.handicap_distance_m, t.handicap_poids_hg, t.handicap_valeur, t.poids_condition_monte_hg, t.jument_pleine, t.engagement, t.supplement, t.taux_reclamation_cts, t.pays_entrainement, t.ecurie, t.avis_entraineur, t.ordre_arrivee, t.incident, t.temps_obtenu_ms, t.reduction_km_ms, t.distance_cheval_precedent, t.commentaire_apres_course, t.cote_direct, t.cote_direct_type_pari, t.cote_direct_at, t.cote_direct_favori, t.cote_direct_tendance, t.cote_direct_tendance_pct, t.cote_reference, t.cote_reference_type_pari, t.cote_reference_at, t.cote_reference_favori) IS DISTINCT FROM (EXCLUDED.horse_id, EXCLUDED.nom, EXCLUDED.age, EXCLUDED.sexe, EXCLUDED.allure, EXCLUDED.statut, EXCLUDED.driver, EXCLUDED.driver_change, EXCLUDED.entraineur, EXCLUDED.proprietaire, EXCLUDED.eleveur, EXCLUDED.oeilleres, EXCLUDED.deferre, EXCLUDED.indicateur_inedit, EXCLUDED.musique, EXCLUDED.nombre_courses, EXCLUDED.nombre_victoires, EXCLUDED.nombre_places, EXCLUDED.nombre_places_second, EXCLUDED.nombre_places_troisieme, EXCLUDED.gains_carriere_cts, EXCLUDED.gains_victoires_cts, EXCLUDED.gains_place_cts, EXCLUDED.gains_annee_en_cours_cts, EXCLUDED.gains_annee_precedente_cts, EXCLUDED.place_corde, EXCLUDED.handicap_distance_m, EXCLUDED.handicap_poids_hg, EXCLUDED.handicap_valeur, EXCLUDED.poids_condition_monte_hg, EXCLUDED.jument_pleine, EXCLUDED.engagement, EXCLUDED.supplement, EXCLUDED.taux_reclamation_cts, EXCLUDED.pays_entrainement, EXCLUDED.ecurie, EXCLUDED.avis_entraineur, EXCLUDED.ordre_arrivee, EXCLUDED.incident, EXCLUDED.temps_obtenu_ms, EXCLUDED.reduction_km_ms, EXCLUDED.distance_cheval_precedent, EXCLUDED.commentaire_apres_course, EXCLUDED.cote_direct, EXCLUDED.cote_direct_type_pari, EXCLUDED.cote_direct_at, EXCLUDED.cote_direct_favori, EXCLUDED.cote_direct_tendance, EXCLUDED.cote_direct_tendance_pct, EXCLUDED.cote_reference, EXCLUDED.cote_reference_type_pari, EXCLUDED.cote_reference_at, EXCLUDED.cote_reference_favori)
    RETURNING (t.xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM src)::bigint AS read,
       count(*) FILTER (WHERE inserted)::bigint AS inserted,
       count(*) FILTER (WHERE NOT inserted)::bigint AS updated,
       ((SELECT count(*) FROM src) - (SELECT count(*) FROM j))::bigint AS orphaned
FROM up",
    },
    Merge {
        target: "horse_race_history",
        sql: "WITH runners AS (
    SELECT r.day, r.num_reunion, r.num_ordre, p.num_pmu, p.horse_id
    FROM (SELECT DISTINCT day, num_reunion, num_ordre FROM stg_history) k
    JOIN race r ON r.day = k.day AND r.num_reunion = k.num_reunion AND r.num_ordre = k.num_ordre
    JOIN race_participant p ON p.race_id = r.id
),
res AS (
    SELECT COALESCE(p1.horse_id, (
               SELECT p.horse_id
               FROM race r JOIN race_participant p ON p.race_id = r.id
               WHERE r.day = s.day AND r.num_reunion = s.num_reunion AND r.num_ordre = s.num_ordre
                 AND upper(btrim(p.nom)) = upper(btrim(s.nom_cheval))
               ORDER BY p.num_pmu
               LIMIT 1
           )) AS horse_id, s.*
    FROM stg_history s
    LEFT JOIN runners p1
           ON p1.day = s.day AND p1.num_reunion = s.num_reunion AND p1.num_ordre = s.num_ordre AND p1.num_pmu = s.num_pmu
),
orphans AS (
    SELECT count(*) AS n FROM (
        SELECT DISTINCT day, num_reunion, num_ordre, num_pmu, nom_cheval, race_date, hippodrome, nom_prix
        FROM res WHERE horse_id IS NULL
    ) o
),
src AS (
    SELECT DISTINCT ON (horse_id, race_date, hippodrome, nom_prix) *
    FROM (
        SELECT horse_id, race_date, hippodrome, nom_prix, discipline, allocation_eur, distance_m, nb_participants, temps_du_premier_ms, place, place_raw, status_arrivee, nom_jockey, reduction_km_ms, distance_parcourue_m, poids_jockey_hg, corde, oeillere, distance_avec_precedent, winner_nom,
               min(day) AS day,
               max((day - DATE '2000-01-01') * 1000000::bigint + num_reunion * 1000 + num_ordre) AS newest
        FROM res WHERE horse_id IS NOT NULL
        GROUP BY horse_id, race_date, hippodrome, nom_prix, discipline, allocation_eur, distance_m, nb_participants, temps_du_premier_ms, place, place_raw, status_arrivee, nom_jockey, reduction_km_ms, distance_parcourue_m, poids_jockey_hg, corde, oeillere, distance_avec_precedent, winner_nom
    ) g
    ORDER BY horse_id, race_date, hippodrome, nom_prix, newest DESC
),
probe AS (
    SELECT s.*,
           t.id AS target_id,
           t.reported_on <= s.day AND (t.discipline, t.allocation_eur, t.distance_m, t.nb_participants, t.temps_du_premier_ms, t.place, t.place_raw, t.status_arrivee, t.nom_jockey, t.reduction_km_ms, t.distance_parcourue_m, t.poids_jockey_hg, t.corde, t.oeillere, t.distance_avec_precedent, t.winner_nom) IS DISTINCT FROM (s.discipline, s.allocation_eur, s.distance_m, s.nb_participants, s.temps_du_premier_ms, s.place, s.place_raw, s.status_arrivee, s.nom_jockey, s.reduction_km_ms, s.distance_parcourue_m, s.poids_jockey_hg, s.corde, s.oeillere, s.distance_avec_precedent, s.winner_nom) AS changed
    FROM src s
    LEFT JOIN horse_race_history t
           ON t.horse_id = s.horse_id AND t.race_date = s.race_date AND t.hippodrome = s.hippodrome AND t.nom_prix = s.nom_prix
),
ins AS (
    INSERT INTO horse_race_history (horse_id, race_date, hippodrome, nom_prix, reported_on, discipline, allocation_eur, distance_m, nb_participants, temps_du_premier_ms, place, place_raw, status_arrivee, nom_jockey, reduction_km_ms, distance_parcourue_m, poids_jockey_hg, corde, oeillere, distance_avec_precedent, winner_nom)
    SELECT horse_id,
           race_date,
           hippodrome,
           nom_prix,
           day,
           discipline,
           allocation_eur,
           distance_m,
           nb_participants,
           temps_du_premier_ms,
           place,
           place_raw,
           status_arrivee,
           nom_jockey,
           reduction_km_ms,
           distance_parcourue_m,
           poids_jockey_hg,
           corde,
           oeillere,
           distance_avec_precedent,
           winner_nom
    FROM probe WHERE target_id IS NULL
    RETURNING 1
),
upd AS (
    UPDATE horse_race_history t
    SET (discipline, allocation_eur, distance_m, nb_participants, temps_du_premier_ms, place, place_raw, status_arrivee, nom_jockey, reduction_km_ms, distance_parcourue_m, poids_jockey_hg, corde, oeillere, distance_avec_precedent, winner_nom) = (p.discipline, p.allocation_eur, p.distance_m, p.nb_participants, p.temps_du_premier_ms, p.place, p.place_raw, p.status_arrivee, p.nom_jockey, p.reduction_km_ms, p.distance_parcourue_m, p.poids_jockey_hg, p.corde, p.oeillere, p.distance_avec_precedent, p.winner_nom), reported_on = p.day, updated_at = now()
    FROM probe p
    WHERE p.changed AND t.id = p.target_id
    RETURNING 1
)
SELECT ((SELECT count(*) FROM src) + (SELECT n FROM orphans))::bigint AS read,
       (SELECT count(*) FROM ins)::bigint AS inserted,
       (SELECT count(*) FROM upd)::bigint AS updated,
       (SELECT n FROM orphans)::bigint AS orphaned",
    },
    Merge {
        target: "race_bet",
        sql: "WITH src AS (
    SELECT DISTINCT ON (day, num_reunion, num_ordre, type_pari) * FROM stg_race_bet
    ORDER BY day, num_reunion, num_ordre, type_pari
),
j AS (
    SELECT r.id AS race_id, s.* FROM src s
    JOIN race r ON r.day = s.day AND r.num_reunion = s.num_reunion AND r.num_ordre = s.num_ordre
),
up AS (
    INSERT INTO race_bet AS t (race_id, type_pari, pool, bet_type, mise_base_cts, rembourse, audience, famille_pari, dividende_unite)
    SELECT race_id,
           type_pari,
           pool,
           bet_type,
           mise_base_cts,
           rembourse,
           audience,
           famille_pari,
           dividende_unite
    FROM j
    ON CONFLICT (race_id, type_pari) DO UPDATE
    SET (pool, bet_type, mise_base_cts, rembourse, audience, famille_pari, dividende_unite) = (EXCLUDED.pool, EXCLUDED.bet_type, EXCLUDED.mise_base_cts, EXCLUDED.rembourse, EXCLUDED.audience, EXCLUDED.famille_pari, EXCLUDED.dividende_unite), updated_at = now()
    WHERE (t.pool, t.bet_type, t.mise_base_cts, t.rembourse, t.audience, t.famille_pari, t.dividende_unite) IS DISTINCT FROM (EXCLUDED.pool, EXCLUDED.bet_type, EXCLUDED.mise_base_cts, EXCLUDED.rembourse, EXCLUDED.audience, EXCLUDED.famille_pari, EXCLUDED.dividende_unite)
    RETURNING (t.xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM src)::bigint AS read,
       count(*) FILTER (WHERE inserted)::bigint AS inserted,
       count(*) FILTER (WHERE NOT inserted)::bigint AS updated,
       ((SELECT count(*) FROM src) - (SELECT count(*) FROM j))::bigint AS orphaned
FROM up",
    },
    Merge {
        target: "bet_report",
        sql: "WITH src AS (
    SELECT DISTINCT ON (day, num_reunion, num_ordre, type_pari, combinaison, libelle) * FROM stg_bet_report
    ORDER BY day, num_reunion, num_ordre, type_pari, combinaison, libelle, dividende_pour_un_euro_cts DESC NULLS LAST
),
j AS (
    SELECT b.id AS race_bet_id, s.* FROM src s
    JOIN race r ON r.day = s.day AND r.num_reunion = s.num_reunion AND r.num_ordre = s.num_ordre
    JOIN race_bet b ON b.race_id = r.id AND b.type_pari = s.type_pari
),
staged_races AS (
    SELECT DISTINCT r.id AS race_id FROM stg_race_bet s
    JOIN race r ON r.day = s.day AND r.num_reunion = s.num_reunion AND r.num_ordre = s.num_ordre
),
gone_reports AS (
    DELETE FROM bet_report d
    USING race_bet b, staged_races k
    WHERE d.race_bet_id = b.id AND b.race_id = k.race_id
      AND (d.race_bet_id, d.combinaison, d.libelle) NOT IN (SELECT race_bet_id, combinaison, libelle FROM j)
),
gone_bets AS (
    DELETE FROM race_bet d
    USING staged_races k
    WHERE d.race_id = k.race_id
      AND (d.race_id, d.type_pari) NOT IN (
          SELECT r.id, s.type_pari FROM stg_race_bet s
          JOIN race r ON r.day = s.day AND r.num_reunion = s.num_reunion AND r.num_ordre = s.num_ordre
          WHERE s.type_pari IS NOT NULL)
),
up AS (
    INSERT INTO bet_report AS t (race_bet_id, combinaison, libelle, dividende_cts, dividende_pour_un_euro_cts, dividende_pour_une_mise_de_base_cts, dividende_unite, nombre_gagnants)
    SELECT race_bet_id,
           combinaison,
           libelle,
           dividende_cts,
           dividende_pour_un_euro_cts,
           dividende_pour_une_mise_de_base_cts,
           dividende_unite,
           nombre_gagnants
    FROM j
    ON CONFLICT (race_bet_id, combinaison, libelle) DO UPDATE
    SET (dividende_cts, dividende_pour_un_euro_cts, dividende_pour_une_mise_de_base_cts, dividende_unite, nombre_gagnants) = (EXCLUDED.dividende_cts, EXCLUDED.dividende_pour_un_euro_cts, EXCLUDED.dividende_pour_une_mise_de_base_cts, EXCLUDED.dividende_unite, EXCLUDED.nombre_gagnants), updated_at = now()
    WHERE (t.dividende_cts, t.dividende_pour_un_euro_cts, t.dividende_pour_une_mise_de_base_cts, t.dividende_unite, t.nombre_gagnants) IS DISTINCT FROM (EXCLUDED.dividende_cts, EXCLUDED.dividende_pour_un_euro_cts, EXCLUDED.dividende_pour_une_mise_de_base_cts, EXCLUDED.dividende_unite, EXCLUDED.nombre_gagnants)
    RETURNING (t.xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM src)::bigint AS read,
       count(*) FILTER (WHERE inserted)::bigint AS inserted,
       count(*) FILTER (WHERE NOT inserted)::bigint AS updated,
       ((SELECT count(*) FROM src) - (SELECT count(*) FROM j))::bigint AS orphaned
FROM up",
    },
];
