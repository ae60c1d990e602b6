-- Which past races each loaded performances report lists, so that a past race's row is the same
-- whatever the order days are loaded in (issue 8 §2): its values come from the newest loaded
-- report that lists it, and its reported_on is the first day a loaded report listed it.

CREATE TABLE performance_report (
    race_id       bigint  NOT NULL REFERENCES race (id),
    num_pmu       integer NOT NULL,
    past_races    integer[] NOT NULL,
    past_runners  integer[] NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (race_id, num_pmu)
);

COMMENT ON TABLE performance_report IS 'One runner''s report in a loaded performances object (participants[] with a numPmu): the past races and past runners it lists, as 32-bit hashes of their natural keys. The loader reads it to decide whether a report is the newest that lists a past race; it is bookkeeping, not data to analyse. A refreshed performances object replaces its race''s rows.';
COMMENT ON COLUMN performance_report.num_pmu IS 'The runner whose coursesCourues the report lists (joins race_participant on race_id, num_pmu, hence the horse).';
COMMENT ON COLUMN performance_report.past_races IS 'FNV-1a hashes of (race_date, hippodrome, nom_prix) of each past race the report lists for its runner with an itsHim row: the keys of horse_race_history rows of that horse.';
COMMENT ON COLUMN performance_report.past_runners IS 'FNV-1a hashes of (race_date, hippodrome, nom_prix, nom_cheval) of each runner the report lists for those past races: the keys of past_race_runner rows.';

COMMENT ON TABLE horse_race_history IS 'A past race of a horse (performances détaillées, the itsHim row): natural key (horse, race_date, hippodrome, nom_prix). Its values are those of the newest loaded report that lists it (greatest day, then R, then C), whatever the order days were loaded in.';
COMMENT ON COLUMN horse_race_history.reported_on IS 'The first day (race day of the report) on which a loaded performances report listed this past race, whatever its values then: the same whatever the order days were loaded in.';
COMMENT ON TABLE past_race_runner IS 'A runner of a past race as performances détaillées list them (coursesCourues[].participants[]: the first finishers and the report''s own horse, never the whole field): natural key (race_date, hippodrome, nom_prix, nom_cheval), the past race''s key as in horse_race_history plus the runner''s name. Each runner of a past race is stored once, whichever horses'' reports list it: its values are those of the newest loaded report that lists it (greatest day, then R, then C), and within one race''s reports the row of the report''s own horse (itsHim).';
COMMENT ON COLUMN past_race_runner.reported_on IS 'The first day (race day of the report) on which a loaded performances report listed this runner of this past race: the same whatever the order days were loaded in.';
