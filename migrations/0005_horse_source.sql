-- A horse's attributes come from one runner row: the one of its latest race. And the
-- race_arrival view is complete: participants' ranks where the programme's is partial.
--
-- Rows loaded before this migration have no source: the next payload of the horse, from any
-- day, replaces their attributes whole (a NULL source is older than every race).

ALTER TABLE horse
    ADD COLUMN source_day         date,
    ADD COLUMN source_num_reunion integer,
    ADD COLUMN source_num_ordre   integer,
    ADD COLUMN source_num_pmu     integer;

COMMENT ON TABLE horse IS 'A horse: natural key id_cheval = UPPER(nom-nomMere-nomPere). Its attributes (nom … robe_libelle) come whole from one participants row, its latest: the greatest (day, num_reunion, num_ordre, num_pmu), then the greatest row text among duplicates; a later race or a re-fetched object of that race replaces them. So the rows are a function of the lake, whatever the order of loading or the batch size. id_cheval_computed is the exception: true while every payload seen lacked idCheval.';
COMMENT ON COLUMN horse.source_day IS 'Day of the race whose participants row gave the attributes (NULL: loaded before migration 0005).';
COMMENT ON COLUMN horse.source_num_reunion IS 'R of that race.';
COMMENT ON COLUMN horse.source_num_ordre IS 'C of that race.';
COMMENT ON COLUMN horse.source_num_pmu IS 'numPmu of the runner in that race.';

-- Competition ranking, computed from the order: rank = 1 + number of runners that finished
-- strictly ahead, so a dead heat for 2nd gives 1, 2, 2, 4. The programme's ordreArrivee comes
-- first (it groups dead heats explicitly); runners it does not list but the participants rank
-- (race_participant.ordre_arrivee) follow it, in the participants' order, equal participant
-- ranks making a dead heat. race_participant.ordre_arrivee is kept as sent and may count
-- differently after a dead heat (the project's fixtures hold both 1, 1, 3 and 1, 1, 2).
CREATE OR REPLACE VIEW race_arrival AS
WITH programme AS (
    SELECT r.id AS race_id, n.num_pmu::integer AS num_pmu, g.pos AS pos
    FROM race r
    CROSS JOIN LATERAL jsonb_array_elements(r.ordre_arrivee) WITH ORDINALITY AS g (grp, pos)
    CROSS JOIN LATERAL jsonb_array_elements_text(g.grp) AS n (num_pmu)
    WHERE jsonb_typeof(r.ordre_arrivee) = 'array' AND jsonb_typeof(g.grp) = 'array'
),
participants AS (
    SELECT p.race_id, p.num_pmu, p.ordre_arrivee::bigint AS pos
    FROM race_participant p
    WHERE p.ordre_arrivee IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM programme a WHERE a.race_id = p.race_id AND a.num_pmu = p.num_pmu)
),
ordered AS (
    SELECT race_id, num_pmu, 0 AS part, pos, 'programme'::text AS source FROM programme
    UNION ALL
    SELECT race_id, num_pmu, 1 AS part, pos, 'participants'::text AS source FROM participants
)
SELECT race_id,
       (rank() OVER (PARTITION BY race_id ORDER BY part, pos))::integer AS rank,
       (count(*) OVER (PARTITION BY race_id, part, pos) > 1) AS dead_heat,
       num_pmu,
       source
FROM ordered;
COMMENT ON VIEW race_arrival IS 'Arrival order, one row per classified runner: (race_id, rank, dead_heat, num_pmu, source). Complete: the programme''s ordreArrivee (source = programme), then the runners only the participants rank (source = participants), in their order. Dead heats: competition ranking, computed here from the order (1 + runners strictly ahead: 1, 2, 2, 4), whatever race_participant.ordre_arrivee says.';
