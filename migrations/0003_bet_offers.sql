-- The programme's bet offers (courses[].paris[]) and jackpots (reunions[].cagnottes[] and
-- courses[].cagnottes[]): which pools a race offered, with their stakes, and the jackpots
-- carried over. Conventions of 0001: units in column names or COMMENTs, money in bigint.
-- Forward-only: the migration runner wraps this file in one transaction.

CREATE TABLE race_bet_offer (
    id                        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    race_id                   bigint NOT NULL REFERENCES race (id),
    type_pari                 text NOT NULL,
    pool                      text NOT NULL CHECK (pool IN ('INTERNET', 'SHOP')),
    bet_type                  text NOT NULL,
    mise_base_cts             bigint,
    mise_max_cts              bigint,
    en_vente                  boolean,
    reportable                boolean,
    mis_en_paiement           boolean,
    spot_autorise             boolean,
    ordre                     boolean,
    combine                   boolean,
    complement                boolean,
    nouveau_quinte            boolean,
    cagnotte                  bigint,
    audience                  text,
    nb_chevaux_reglementaire  integer,
    pool_id                   text,
    updated_at                timestamptz NOT NULL DEFAULT now(),
    UNIQUE (race_id, type_pari)
);
COMMENT ON TABLE race_bet_offer IS 'A bet type the programme offers on a race (courses[].paris[]): natural key (race, type_pari). A refreshed programme replaces its races'' offers.';
COMMENT ON COLUMN race_bet_offer.pool IS 'INTERNET for E_… types (and EB5), SHOP for the points of sale, as in race_bet.';
COMMENT ON COLUMN race_bet_offer.bet_type IS 'type_pari without its E_ prefix, to compare pools.';
COMMENT ON COLUMN race_bet_offer.mise_base_cts IS 'Base stake, centimes.';
COMMENT ON COLUMN race_bet_offer.mise_max_cts IS 'Maximum stake, centimes; 9999999999 (no practical limit) is sent as is.';
COMMENT ON COLUMN race_bet_offer.cagnotte IS 'paris[].cagnotte as sent: pmu-api.md gives no unit. In every sample where it is not 0 it equals the meeting jackpot montant of the same bet type and race (meeting_jackpot.montant_eur), so euros [INFERRED].';
COMMENT ON COLUMN race_bet_offer.nb_chevaux_reglementaire IS 'Runners required for the bet type to be offered (nbChevauxReglementaire).';
COMMENT ON COLUMN race_bet_offer.pool_id IS 'poolId: a UUID string, when sent.';

CREATE TABLE meeting_jackpot (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    race_meeting_id    bigint NOT NULL REFERENCES race_meeting (id),
    type_pari          text NOT NULL,
    num_course         integer NOT NULL,
    montant_eur        bigint,
    cagnotte_internet  boolean,
    type_cagnotte      text,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (race_meeting_id, type_pari, num_course)
);
COMMENT ON TABLE meeting_jackpot IS 'A jackpot of a réunion: natural key (meeting, type_pari, num_course). From reunions[].cagnottes[] and courses[].cagnottes[] (the courses repeat the réunion''s and add some, e.g. EB5 GARANTI). A refreshed programme replaces its meetings'' jackpots.';
COMMENT ON COLUMN meeting_jackpot.type_pari IS 'Bet type; E_… (and EB5) are the internet pool, the internet flag says so too.';
COMMENT ON COLUMN meeting_jackpot.num_course IS 'numCourse: the C of the race the jackpot is added to (race.num_ordre of the same meeting).';
COMMENT ON COLUMN meeting_jackpot.montant_eur IS 'Jackpot amount, whole euros (cagnottes[].montant).';
COMMENT ON COLUMN meeting_jackpot.cagnotte_internet IS 'cagnotteInternet: the jackpot of the internet pool.';
COMMENT ON COLUMN meeting_jackpot.type_cagnotte IS 'typeCagnotte (GARANTI…), only sent in courses[].cagnottes[]; NULL otherwise.';
