-- pmu-lake schema: the seed's eight tables, loaded from the lake by `pmu-lake load`.
--
-- Conventions (every column says its unit in its name or its COMMENT):
--   * instants: timestamptz (the API's epoch milliseconds); race days: date (Europe/Paris).
--   * money: bigint, `_eur` = whole euros (prize money, as the API sends it),
--     `_cts` = centimes (gains, claiming prices, stakes, dividends). Never a float.
--   * weights: integer `_hg` = tenths of a kilogram (hectograms): 570 = 57.0 kg.
--   * durations: `_ms` = milliseconds everywhere (performances' centiseconds are scaled ×10).
--   * distances: `_m` = metres.
--   * odds (`cote_*`) and other non-integral numbers: numeric, never float.
-- Every table has a surrogate `id`, a UNIQUE natural key the loader merges on, and
-- `updated_at`: when a load last inserted or changed the row.
-- Forward-only: the migration runner wraps this file in one transaction.

CREATE TABLE daily_program (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    day                 date NOT NULL UNIQUE,
    programme_date      timestamptz,
    timezone_offset_ms  integer,
    pmu_timestamp       timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE daily_program IS 'One race day (Europe/Paris calendar): the programme object of the lake.';
COMMENT ON COLUMN daily_program.day IS 'Race day, from the lake path (date=YYYY-MM-DD).';
COMMENT ON COLUMN daily_program.programme_date IS 'programme.date: Paris midnight of the day.';
COMMENT ON COLUMN daily_program.timezone_offset_ms IS 'Europe/Paris UTC offset that day, in ms (3600000 or 7200000).';
COMMENT ON COLUMN daily_program.pmu_timestamp IS 'timestampPMU.timestamp: server time of the stored response.';

CREATE TABLE race_meeting (
    id                        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    daily_program_id          bigint NOT NULL REFERENCES daily_program (id),
    day                       date NOT NULL,
    num_officiel              integer NOT NULL,
    num_externe               integer,
    date_reunion              timestamptz,
    nature                    text,
    audience                  text,
    statut                    text,
    region_hippique           text,
    hippodrome_code           text,
    hippodrome_libelle_court  text,
    hippodrome_libelle_long   text,
    pays_code                 text,
    pays_libelle              text,
    disciplines_mere          text[],
    specialites               text[],
    meteo_date_prevision      timestamptz,
    meteo_nebulosite_code     text,
    meteo_nebulosite_libelle  text,
    meteo_temperature_c       numeric,
    meteo_force_vent_kmh      numeric,
    meteo_direction_vent      text,
    updated_at                timestamptz NOT NULL DEFAULT now(),
    UNIQUE (day, num_officiel)
);
CREATE INDEX race_meeting_daily_program_id ON race_meeting (daily_program_id);
COMMENT ON TABLE race_meeting IS 'A réunion: natural key (day, num_officiel), the R of R1C2.';
COMMENT ON COLUMN race_meeting.num_externe IS 'Not unique within a day (LOCAL réunions share it): informative only.';
COMMENT ON COLUMN race_meeting.pays_code IS 'Country of the meeting (FRA, GBR, HKG…): foreign meetings are kept.';
COMMENT ON COLUMN race_meeting.meteo_temperature_c IS 'Forecast temperature, °C.';
COMMENT ON COLUMN race_meeting.meteo_force_vent_kmh IS 'Forecast wind speed, km/h.';

CREATE TABLE race (
    id                               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    race_meeting_id                  bigint NOT NULL REFERENCES race_meeting (id),
    day                              date NOT NULL,
    num_reunion                      integer NOT NULL,
    num_ordre                        integer NOT NULL,
    num_externe                      integer,
    heure_depart                     timestamptz,
    timezone_offset_ms               integer,
    libelle                          text,
    libelle_court                    text,
    montant_prix_eur                 bigint,
    montant_total_offert_eur         bigint,
    montant_offert_1er_eur           bigint,
    montant_offert_2eme_eur          bigint,
    montant_offert_3eme_eur          bigint,
    montant_offert_4eme_eur          bigint,
    montant_offert_5eme_eur          bigint,
    distance                         integer,
    distance_unit                    text,
    parcours                         text,
    corde                            text,
    discipline                       text,
    specialite                       text,
    type_piste                       text,
    categorie_particularite          text,
    condition_age                    text,
    condition_sexe                   text,
    conditions                       text,
    nombre_declares_partants         integer,
    statut                           text,
    categorie_statut                 text,
    arrivee_definitive               boolean,
    rapports_definitifs_disponibles  boolean,
    course_exclusive_internet        boolean,
    duree_course_ms                  bigint,
    ordre_arrivee                    jsonb,
    incidents                        jsonb,
    penetrometre_valeur              numeric,
    penetrometre_intitule            text,
    penetrometre_heure_mesure        timestamp,
    penetrometre_commentaire         text,
    hippodrome_code                  text,
    updated_at                       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (day, num_reunion, num_ordre)
);
CREATE INDEX race_race_meeting_id ON race (race_meeting_id);
CREATE INDEX race_discipline_day ON race (discipline, day);
COMMENT ON TABLE race IS 'A course: natural key (day, num_reunion, num_ordre), the R and C of R1C2.';
COMMENT ON COLUMN race.montant_prix_eur IS 'Prize money, whole euros (as the API sends it).';
COMMENT ON COLUMN race.distance IS 'Race distance in distance_unit (METRE in every payload seen).';
COMMENT ON COLUMN race.duree_course_ms IS 'Winner''s time, milliseconds.';
COMMENT ON COLUMN race.ordre_arrivee IS 'Arrival order as sent: an array of arrays of num_pmu, dead heats share an inner array ([[7],[3],[1,9]]). Only classified runners. See the race_arrival view.';
COMMENT ON COLUMN race.incidents IS 'Array of {type, numeroParticipants:[num_pmu]} (disqualified, fell, stopped, non-starter…).';
COMMENT ON COLUMN race.penetrometre_valeur IS 'Going-stick reading (the API''s "4,2").';
COMMENT ON COLUMN race.penetrometre_heure_mesure IS 'Local Paris time of the reading, no zone (as sent).';

CREATE TABLE horse (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id_cheval           text NOT NULL UNIQUE,
    id_cheval_computed  boolean NOT NULL,
    nom                 text,
    nom_pere            text,
    nom_mere            text,
    nom_pere_mere       text,
    race                text,
    pays                text,
    robe_code           text,
    robe_libelle        text,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX horse_nom ON horse (nom);
COMMENT ON TABLE horse IS 'A horse: natural key id_cheval = UPPER(nom-nomMere-nomPere). Attributes are filled when first known and never overwritten, so loading days in any order gives the same rows.';
COMMENT ON COLUMN horse.id_cheval_computed IS 'True while every payload seen lacked idCheval (2018) and the key was computed the API''s way.';
COMMENT ON COLUMN horse.race IS 'Breed (TROTTEUR FRANCAIS, PUR-SANG…).';
COMMENT ON COLUMN horse.pays IS 'Country as the runner payload names it (free text, language varies).';

CREATE TABLE race_participant (
    id                           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    race_id                      bigint NOT NULL REFERENCES race (id),
    num_pmu                      integer NOT NULL,
    horse_id                     bigint REFERENCES horse (id),
    nom                          text,
    age                          integer,
    sexe                         text,
    allure                       text,
    statut                       text,
    driver                       text,
    driver_change                boolean,
    entraineur                   text,
    proprietaire                 text,
    eleveur                      text,
    oeilleres                    text,
    deferre                      text,
    indicateur_inedit            boolean,
    musique                      text,
    nombre_courses               integer,
    nombre_victoires             integer,
    nombre_places                integer,
    nombre_places_second         integer,
    nombre_places_troisieme      integer,
    gains_carriere_cts           bigint,
    gains_victoires_cts          bigint,
    gains_place_cts              bigint,
    gains_annee_en_cours_cts     bigint,
    gains_annee_precedente_cts   bigint,
    place_corde                  integer,
    handicap_distance_m          integer,
    handicap_poids_hg            integer,
    handicap_valeur              numeric,
    poids_condition_monte_hg     integer,
    jument_pleine                boolean,
    engagement                   boolean,
    supplement                   bigint,
    taux_reclamation_cts         bigint,
    pays_entrainement            text,
    ecurie                       text,
    avis_entraineur              text,
    ordre_arrivee                integer,
    incident                     text,
    temps_obtenu_ms              bigint,
    reduction_km_ms              bigint,
    distance_cheval_precedent    text,
    commentaire_apres_course     text,
    cote_direct                  numeric,
    cote_direct_type_pari        text,
    cote_direct_at               timestamptz,
    cote_direct_favori           boolean,
    cote_direct_tendance         text,
    cote_direct_tendance_pct     numeric,
    cote_reference               numeric,
    cote_reference_type_pari     text,
    cote_reference_at            timestamptz,
    cote_reference_favori        boolean,
    updated_at                   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (race_id, num_pmu)
);
CREATE INDEX race_participant_horse_id ON race_participant (horse_id);
COMMENT ON TABLE race_participant IS 'A runner: natural key (race, num_pmu). Non-starters are kept (statut NON_PARTANT).';
COMMENT ON COLUMN race_participant.horse_id IS 'NULL only when the payload names no horse at all.';
COMMENT ON COLUMN race_participant.statut IS 'PARTANT or NON_PARTANT.';
COMMENT ON COLUMN race_participant.driver IS 'Jockey or driver (the API uses driver for both).';
COMMENT ON COLUMN race_participant.handicap_poids_hg IS 'Weight carried, tenths of kg (570 = 57.0 kg).';
COMMENT ON COLUMN race_participant.poids_condition_monte_hg IS 'Weight condition (trot monté), tenths of kg.';
COMMENT ON COLUMN race_participant.supplement IS 'As sent (0 in every payload seen; unit unknown).';
COMMENT ON COLUMN race_participant.ordre_arrivee IS 'Rank at the finish; runners in a dead heat share it; NULL when not classified (see incident).';
COMMENT ON COLUMN race_participant.incident IS 'DISQUALIFIE_POUR_ALLURE_IRREGULIERE, ARRETE, TOMBE, NON_PARTANT…';
COMMENT ON COLUMN race_participant.temps_obtenu_ms IS 'Time, milliseconds (trot, after the race).';
COMMENT ON COLUMN race_participant.reduction_km_ms IS 'Time per km, milliseconds.';
COMMENT ON COLUMN race_participant.cote_direct IS 'dernierRapportDirect.rapport: last live win odds, decimal (3.1 = 3.1 to 1 incl. stake).';
COMMENT ON COLUMN race_participant.cote_direct_type_pari IS 'Pool of the odds: E_SIMPLE_GAGNANT (internet) or SIMPLE_GAGNANT (shops).';
COMMENT ON COLUMN race_participant.cote_direct_tendance_pct IS 'nombreIndicateurTendance: odds trend, as sent.';
COMMENT ON COLUMN race_participant.cote_reference IS 'dernierRapportReference.rapport: reference (morning) win odds, decimal.';

CREATE TABLE horse_race_history (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    horse_id                 bigint NOT NULL REFERENCES horse (id),
    race_date                date NOT NULL,
    hippodrome               text NOT NULL,
    nom_prix                 text NOT NULL,
    reported_on              date NOT NULL,
    discipline               text,
    allocation_eur           bigint,
    distance_m               integer,
    nb_participants          integer,
    temps_du_premier_ms      bigint,
    place                    integer,
    place_raw                text,
    status_arrivee           text,
    nom_jockey               text,
    reduction_km_ms          bigint,
    distance_parcourue_m     integer,
    poids_jockey_hg          integer,
    corde                    integer,
    oeillere                 text,
    distance_avec_precedent  text,
    winner_nom               text,
    updated_at               timestamptz NOT NULL DEFAULT now(),
    UNIQUE (horse_id, race_date, hippodrome, nom_prix)
);
CREATE INDEX horse_race_history_race_date ON horse_race_history (race_date);
COMMENT ON TABLE horse_race_history IS 'A past race of a horse (performances détaillées, the itsHim row): natural key (horse, race_date, hippodrome, nom_prix). The newest report wins (reported_on).';
COMMENT ON COLUMN horse_race_history.hippodrome IS 'Display name as sent (not the programme code); '''' when absent.';
COMMENT ON COLUMN horse_race_history.nom_prix IS 'Race name as sent; '''' when absent.';
COMMENT ON COLUMN horse_race_history.reported_on IS 'Day of the race whose performances payload last set this row.';
COMMENT ON COLUMN horse_race_history.allocation_eur IS 'Prize money of the past race, whole euros.';
COMMENT ON COLUMN horse_race_history.temps_du_premier_ms IS 'Winner''s time, milliseconds (the API''s centiseconds × 10).';
COMMENT ON COLUMN horse_race_history.nb_participants IS 'Field size of the past race.';
COMMENT ON COLUMN horse_race_history.place IS 'This horse''s place; NULL when not placed (see status_arrivee, place_raw).';
COMMENT ON COLUMN horse_race_history.reduction_km_ms IS 'This horse''s time per km, milliseconds (centiseconds × 10).';
COMMENT ON COLUMN horse_race_history.poids_jockey_hg IS 'Weight carried, tenths of kg (the API''s kg × 10).';
COMMENT ON COLUMN horse_race_history.winner_nom IS 'Name of the runner placed first in that race, when listed.';

CREATE TABLE race_bet (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    race_id          bigint NOT NULL REFERENCES race (id),
    type_pari        text NOT NULL,
    pool             text NOT NULL CHECK (pool IN ('INTERNET', 'SHOP')),
    bet_type         text NOT NULL,
    mise_base_cts    bigint,
    rembourse        boolean,
    audience         text,
    famille_pari     text,
    dividende_unite  text,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (race_id, type_pari)
);
COMMENT ON TABLE race_bet IS 'A bet type of a race (rapports définitifs): natural key (race, type_pari).';
COMMENT ON COLUMN race_bet.pool IS 'INTERNET for E_… types (and EB5), SHOP for the points of sale: the two pools pay differently.';
COMMENT ON COLUMN race_bet.bet_type IS 'type_pari without its E_ prefix, to compare pools.';
COMMENT ON COLUMN race_bet.mise_base_cts IS 'Base stake, centimes.';

CREATE TABLE bet_report (
    id                                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    race_bet_id                           bigint NOT NULL REFERENCES race_bet (id),
    combinaison                           text NOT NULL,
    libelle                               text NOT NULL,
    dividende_cts                         bigint,
    dividende_pour_un_euro_cts            bigint,
    dividende_pour_une_mise_de_base_cts   bigint,
    dividende_unite                       text,
    nombre_gagnants                       numeric,
    updated_at                            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (race_bet_id, combinaison, libelle)
);
COMMENT ON TABLE bet_report IS 'A paid combination: natural key (bet, combinaison, libelle). Dead heats give several rows.';
COMMENT ON COLUMN bet_report.combinaison IS 'Dash-separated num_pmu ("7-3"); NP = a non-starter slot; '''' when absent.';
COMMENT ON COLUMN bet_report.libelle IS 'Ordre / Désordre / Bonus… (wording varies by pool and year); '''' when absent.';
COMMENT ON COLUMN bet_report.dividende_cts IS 'As sent: centimes per 1 € or per base stake, see dividende_unite. Prefer dividende_pour_un_euro_cts.';
COMMENT ON COLUMN bet_report.dividende_pour_un_euro_cts IS 'Dividend for a 1 € stake, centimes.';
COMMENT ON COLUMN bet_report.dividende_pour_une_mise_de_base_cts IS 'Dividend for the base stake (race_bet.mise_base_cts), centimes.';
COMMENT ON COLUMN bet_report.nombre_gagnants IS 'Number of winning stakes (fractional in the API); NULL when nobody won.';

-- Arrival order, one row per classified runner: dead heats share a rank, and the next rank
-- skips accordingly ([[1,2],[3]] gives ranks 1, 1, 3).
CREATE VIEW race_arrival AS
WITH groups AS (
    SELECT r.id AS race_id, g.grp,
           1 + COALESCE(sum(jsonb_array_length(g.grp)) OVER (
               PARTITION BY r.id ORDER BY g.pos ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS rank
    FROM race r
    CROSS JOIN LATERAL jsonb_array_elements(r.ordre_arrivee) WITH ORDINALITY AS g (grp, pos)
    WHERE jsonb_typeof(r.ordre_arrivee) = 'array'
)
SELECT race_id,
       rank::integer AS rank,
       (jsonb_array_length(grp) > 1) AS dead_heat,
       n.num_pmu::integer AS num_pmu
FROM groups
CROSS JOIN LATERAL jsonb_array_elements_text(grp) AS n (num_pmu);
COMMENT ON VIEW race_arrival IS 'race.ordre_arrivee unnested: (race_id, rank, dead_heat, num_pmu).';
