-- One pass over the staged runners (a window gives each horse the AND of its payloads' flags
-- while the sort picks its latest row), one index probe per horse, then an UPDATE or an
-- INSERT. In first loads of 600 bench days this merge took 11.7-12.3 s in all (four runs)
-- where a GROUP BY beside the sort, a hash join over the whole horse table and an
-- INSERT … ON CONFLICT DO UPDATE took 13.3-14.3 s (three runs).
--
-- The window orders each horse's rows as the DISTINCT ON needs them, so that they are sorted
-- once (a window over the horse alone had them sorted twice). At 600 bench days this merge
-- took 9.7-11.5 s against 10.9-11.9 s, within the noise of three runs.
--
-- In a backfill almost every horse read is updated (a newer race: its source_* move), and the
-- UPDATE is about two fifths of this merge: with it left out (a test only, the sources then
-- wrong), first loads of 600 bench days took 43.3 and 43.6 s against 45.5 and 45.4 s.
-- Tried and left out:
-- - the reader staging each horse met in an earlier batch with its id (learned from this merge),
--   and a first step updating such horses by id when only their source moves, the rest of the
--   statement for the others: this merge 9.2-9.3 s against 11.2-11.4 s at 600 days, but the
--   extra COPY cost about as much, and the loads took 47.6 and 48.9 s against 44.7 and 46.9 s;
-- - the updates on the load's second session (load::side), the inserts and ids here: at 600
--   days 47.1 and 49.1 s against 45.7 and 47.4 s, at 1,500 days 127.9 s against 118.1 s; the
--   second session became the one the batches waited for (9.6 s against 1.5 s).
WITH latest AS (
    SELECT DISTINCT ON (id_cheval)
           id_cheval, day, num_reunion, num_ordre, num_pmu,
           horse_nom, horse_nom_pere, horse_nom_mere, horse_nom_pere_mere,
           horse_race, horse_pays, horse_robe_code, horse_robe_libelle,
           bool_and(id_cheval_computed) OVER (
               PARTITION BY id_cheval
               ORDER BY day DESC, num_reunion DESC, num_ordre DESC, num_pmu DESC NULLS LAST,
                        ROW(horse_nom, horse_nom_pere, horse_nom_mere, horse_nom_pere_mere,
                            horse_race, horse_pays, horse_robe_code, horse_robe_libelle)::text DESC
               ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
           ) AS id_cheval_computed
    FROM (
        SELECT day, num_reunion, num_ordre, num_pmu, id_cheval, id_cheval_computed,
               horse_nom, horse_nom_pere, horse_nom_mere, horse_nom_pere_mere,
               horse_race, horse_pays, horse_robe_code, horse_robe_libelle
        FROM stg_participant
        -- The runners a first backfill copies straight into race_participant: the same columns.
        UNION ALL
        SELECT * FROM stg_horse
    ) p WHERE id_cheval IS NOT NULL
    ORDER BY id_cheval, day DESC, num_reunion DESC, num_ordre DESC, num_pmu DESC NULLS LAST,
             ROW(horse_nom, horse_nom_pere, horse_nom_mere, horse_nom_pere_mere,
                 horse_race, horse_pays, horse_robe_code, horse_robe_libelle)::text DESC
),
src AS (
    SELECT l.*, h.id AS target_id,
           COALESCE((h.source_day, h.source_num_reunion, h.source_num_ordre,
                     COALESCE(h.source_num_pmu, -1))
                    > (l.day, l.num_reunion, l.num_ordre, COALESCE(l.num_pmu, -1)), false) AS older
    FROM latest l
    LEFT JOIN LATERAL (
        SELECT id, source_day, source_num_reunion, source_num_ordre, source_num_pmu
        FROM horse WHERE horse.id_cheval = l.id_cheval
    ) h ON true
),
flag AS (
    UPDATE horse t SET id_cheval_computed = false, updated_at = now()
    FROM src s
    WHERE s.older AND t.id = s.target_id
      AND t.id_cheval_computed AND NOT s.id_cheval_computed
    RETURNING 1
),
upd AS (
    UPDATE horse t
    SET (
        id_cheval_computed,
        nom, nom_pere, nom_mere, nom_pere_mere, race, pays, robe_code, robe_libelle,
        source_day, source_num_reunion, source_num_ordre, source_num_pmu
    ) = (
        t.id_cheval_computed AND s.id_cheval_computed,
        s.horse_nom, s.horse_nom_pere, s.horse_nom_mere, s.horse_nom_pere_mere,
        s.horse_race, s.horse_pays, s.horse_robe_code, s.horse_robe_libelle,
        s.day, s.num_reunion, s.num_ordre, s.num_pmu
    ), updated_at = now()
    FROM src s
    WHERE NOT s.older AND t.id = s.target_id
      AND (
        t.id_cheval_computed,
        t.nom, t.nom_pere, t.nom_mere, t.nom_pere_mere, t.race, t.pays, t.robe_code, t.robe_libelle,
        t.source_day, t.source_num_reunion, t.source_num_ordre, t.source_num_pmu
    ) IS DISTINCT FROM (
        t.id_cheval_computed AND s.id_cheval_computed,
        s.horse_nom, s.horse_nom_pere, s.horse_nom_mere, s.horse_nom_pere_mere,
        s.horse_race, s.horse_pays, s.horse_robe_code, s.horse_robe_libelle,
        s.day, s.num_reunion, s.num_ordre, s.num_pmu
    )
    RETURNING 1
),
ins AS (
    INSERT INTO horse (
        id_cheval, id_cheval_computed,
        nom, nom_pere, nom_mere, nom_pere_mere, race, pays, robe_code, robe_libelle,
        source_day, source_num_reunion, source_num_ordre, source_num_pmu
    )
    SELECT id_cheval, id_cheval_computed,
           horse_nom, horse_nom_pere, horse_nom_mere, horse_nom_pere_mere,
           horse_race, horse_pays, horse_robe_code, horse_robe_libelle,
           day, num_reunion, num_ordre, num_pmu
    FROM src WHERE target_id IS NULL
    RETURNING id, id_cheval
),
-- Each staged horse's id, for the race_participant merge that follows: a hash join there
-- instead of an index probe of horse per runner.
ids AS (
    INSERT INTO stg_horse_id (id_cheval, horse_id)
    SELECT id_cheval, target_id FROM src WHERE target_id IS NOT NULL
    UNION ALL
    SELECT id_cheval, id FROM ins
)
SELECT (SELECT count(*) FROM src)::bigint AS read,
       (SELECT count(*) FROM ins)::bigint AS inserted,
       ((SELECT count(*) FROM upd) + (SELECT count(*) FROM flag))::bigint AS updated,
       0::bigint AS orphaned
