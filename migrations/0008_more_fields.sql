-- Fields the payloads send that the loader read and dropped until now (issue 9 §2). Rows loaded
-- before this migration hold NULL in the new columns until their object is derived again: the
-- mapping versions of the stages concerned are raised with this migration, so the next `load`
-- re-derives them from the lake.

-- Participants.
ALTER TABLE race_participant
    ADD COLUMN cote_reference_tendance_pct numeric,
    ADD COLUMN distance_cheval_precedent_code integer,
    ADD COLUMN distance_cheval_precedent_identifiant text,
    ADD COLUMN distance_cheval_precedent_libelle_long text,
    ADD COLUMN poids_condition_monte_change boolean,
    ADD COLUMN url_casaque text;

COMMENT ON COLUMN race_participant.cote_reference_tendance_pct IS 'dernierRapportReference.nombreIndicateurTendance: change of the reference odds, as sent (-1.28, 0).';
COMMENT ON COLUMN race_participant.distance_cheval_precedent IS 'distanceChevalPrecedent.libelleCourt (else identifiant): gap to the runner ahead at the finish, as sent ("3/4 L").';
COMMENT ON COLUMN race_participant.distance_cheval_precedent_code IS 'distanceChevalPrecedent.code: the gap''s code, a number as sent (33 for 3/4 of a length).';
COMMENT ON COLUMN race_participant.distance_cheval_precedent_identifiant IS 'distanceChevalPrecedent.identifiant: the gap''s name (TROIS_QUARTS_DE_LONGUEUR).';
COMMENT ON COLUMN race_participant.distance_cheval_precedent_libelle_long IS 'distanceChevalPrecedent.libelleLong: the gap in words ("3/4 de longueur").';
COMMENT ON COLUMN race_participant.poids_condition_monte_change IS 'poidsConditionMonteChange: the weight condition (poids_condition_monte_hg) changed since the declaration.';
COMMENT ON COLUMN race_participant.url_casaque IS 'urlCasaque: URL of the silks image, as sent (the host changes over the years).';

-- Programme.
ALTER TABLE race_meeting
    ADD COLUMN num_officiel_reunion_precedente integer,
    ADD COLUMN num_officiel_reunion_suivante integer;

COMMENT ON COLUMN race_meeting.num_officiel_reunion_precedente IS 'numOfficielReunionPrecedente: R number of the previous réunion, as sent; NULL for none.';
COMMENT ON COLUMN race_meeting.num_officiel_reunion_suivante IS 'numOfficielReunionSuivante: R number of the next réunion, as sent; NULL for none.';

ALTER TABLE race
    ADD COLUMN indicateur_evenement_arrivee_provisoire text,
    ADD COLUMN details_indicateur_evenement_arrivee_provisoire text,
    ADD COLUMN num_course_dedoublee integer,
    ADD COLUMN grand_prix_national_trot boolean,
    ADD COLUMN paris_evenement text[];

COMMENT ON COLUMN race.indicateur_evenement_arrivee_provisoire IS 'indicateurEvenementArriveeProvisoire: ENQUETE when the stewards held an enquiry or took an objection on the provisional arrival; NULL otherwise.';
COMMENT ON COLUMN race.details_indicateur_evenement_arrivee_provisoire IS 'detailsIndicateurEvenementArriveeProvisoire: its outcome, TERMINEE SANS MODIFICATION or TERMINEE AVEC MODIFICATION (the arrival was changed).';
COMMENT ON COLUMN race.num_course_dedoublee IS 'numCourseDedoublee: as sent (0 when the race was not split).';
COMMENT ON COLUMN race.grand_prix_national_trot IS 'grandPrixNationalTrot: a leg of the Grand National du Trot.';
COMMENT ON COLUMN race.paris_evenement IS 'The day''s event bets run on this race (codePari of the programme''s reunions[].parisEvenement[] pointing at it: QUINTE_PLUS, E_QUINTE_PLUS, PICK5…), sorted; {} for none.';

ALTER TABLE race_bet_offer
    ADD COLUMN valeurs_flexi_autorisees integer[],
    ADD COLUMN valeurs_risque_autorisees integer[],
    ADD COLUMN jackpot_mise_base_cts bigint,
    ADD COLUMN jackpot_taux_numerateur integer,
    ADD COLUMN jackpot_taux_denominateur integer,
    ADD COLUMN jackpot_taux_valeur numeric,
    ADD COLUMN option_max_mise_base_cts bigint,
    ADD COLUMN option_max_taux_numerateur integer,
    ADD COLUMN option_max_taux_denominateur integer,
    ADD COLUMN option_max_taux_valeur numeric,
    ADD COLUMN option_max_tirage jsonb;

COMMENT ON COLUMN race_bet_offer.valeurs_flexi_autorisees IS 'valeursFlexiAutorisees: the flexi percentages of the base stake allowed (25, 50…); {} when none are listed.';
COMMENT ON COLUMN race_bet_offer.valeurs_risque_autorisees IS 'valeursRisqueAutorisees: the risk values allowed, as sent; {} when none are listed.';
COMMENT ON COLUMN race_bet_offer.jackpot_mise_base_cts IS 'infosJackpot.miseBase: stake of the jackpot formula, centimes.';
COMMENT ON COLUMN race_bet_offer.jackpot_taux_numerateur IS 'infosJackpot.tauxContribution.numerateur: share of the stake that goes to the jackpot is numerateur/denominateur (1/3).';
COMMENT ON COLUMN race_bet_offer.jackpot_taux_denominateur IS 'infosJackpot.tauxContribution.denominateur.';
COMMENT ON COLUMN race_bet_offer.jackpot_taux_valeur IS 'infosJackpot.tauxContribution when sent as a plain number (25), as sent: a percentage [inferred]. NULL when sent as a fraction.';
COMMENT ON COLUMN race_bet_offer.option_max_mise_base_cts IS 'infosOptionMax.miseBase: stake of the option max, centimes.';
COMMENT ON COLUMN race_bet_offer.option_max_taux_numerateur IS 'infosOptionMax.tauxContribution.numerateur (see jackpot_taux_numerateur).';
COMMENT ON COLUMN race_bet_offer.option_max_taux_denominateur IS 'infosOptionMax.tauxContribution.denominateur.';
COMMENT ON COLUMN race_bet_offer.option_max_taux_valeur IS 'infosOptionMax.tauxContribution when sent as a plain number, as sent.';
COMMENT ON COLUMN race_bet_offer.option_max_tirage IS 'infosOptionMax.tirage: the draws [{coef, numeros:[runner numbers]}], coef as a number; NULL when none.';

-- Performances.
ALTER TABLE horse_race_history ADD COLUMN allure text;

COMMENT ON COLUMN horse_race_history.allure IS 'The performances report''s $.allure: TROT or GALOP, the gait of the race reported on and of its runners'' past races.';

CREATE TABLE past_race_runner (
    id                                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    race_date                            date NOT NULL,
    hippodrome                           text NOT NULL,
    nom_prix                             text NOT NULL,
    nom_cheval                           text NOT NULL,
    reported_on                          date NOT NULL,
    num_pmu                              integer,
    place                                integer,
    place_raw                            text,
    status_arrivee                       text,
    nom_jockey                           text,
    reduction_km_ms                      bigint,
    distance_parcourue_m                 integer,
    poids_jockey_hg                      integer,
    corde                                integer,
    oeillere                             text,
    distance_avec_precedent              text,
    distance_avec_precedent_long         text,
    distance_avec_precedent_code         integer,
    distance_avec_precedent_identifiant  text,
    updated_at                           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (race_date, hippodrome, nom_prix, nom_cheval)
);
CREATE INDEX past_race_runner_nom_cheval ON past_race_runner (nom_cheval);

COMMENT ON TABLE past_race_runner IS 'A runner of a past race as performances détaillées list them (coursesCourues[].participants[]: the first finishers and the report''s own horse, never the whole field): natural key (race_date, hippodrome, nom_prix, nom_cheval), the past race''s key as in horse_race_history plus the runner''s name. Each runner of a past race is stored once, whichever horses'' reports list it; the newest report wins (reported_on), and within one race''s report the row of the report''s own horse (itsHim).';
COMMENT ON COLUMN past_race_runner.hippodrome IS 'Display name as sent (not the programme code); '''' when absent. Joins horse_race_history.hippodrome.';
COMMENT ON COLUMN past_race_runner.nom_prix IS 'Race name as sent; '''' when absent.';
COMMENT ON COLUMN past_race_runner.nom_cheval IS 'The runner''s name as sent (no horse id in these rows; join horse.nom by name at your own risk).';
COMMENT ON COLUMN past_race_runner.reported_on IS 'Day of the race whose performances payload last set this row.';
COMMENT ON COLUMN past_race_runner.num_pmu IS 'The runner''s number in that past race (galop; NULL in trot).';
COMMENT ON COLUMN past_race_runner.place IS 'Place in that race; NULL when not placed (see status_arrivee, place_raw).';
COMMENT ON COLUMN past_race_runner.place_raw IS 'place.rawValue as sent ("2", "DP"; NULL in trot).';
COMMENT ON COLUMN past_race_runner.status_arrivee IS 'PLACE, NON_PLACE or DISQUALIFIE.';
COMMENT ON COLUMN past_race_runner.reduction_km_ms IS 'Time per km, milliseconds (the API''s centiseconds × 10).';
COMMENT ON COLUMN past_race_runner.distance_parcourue_m IS 'Distance run, metres (handicap distance included).';
COMMENT ON COLUMN past_race_runner.poids_jockey_hg IS 'Weight carried, tenths of kg (the API''s kg × 10).';
COMMENT ON COLUMN past_race_runner.corde IS 'Draw (stall number), galop.';
COMMENT ON COLUMN past_race_runner.oeillere IS 'Blinkers (SANS_OEILLERES, OEILLERES_CLASSIQUE…).';
COMMENT ON COLUMN past_race_runner.distance_avec_precedent IS 'distanceAvecPrecedent.libelleCourt: gap to the runner ahead ("Enc").';
COMMENT ON COLUMN past_race_runner.distance_avec_precedent_long IS 'distanceAvecPrecedent.libelleLong ("une encolure").';
COMMENT ON COLUMN past_race_runner.distance_avec_precedent_code IS 'distanceAvecPrecedent.code, as sent.';
COMMENT ON COLUMN past_race_runner.distance_avec_precedent_identifiant IS 'distanceAvecPrecedent.identifiant, as sent.';
