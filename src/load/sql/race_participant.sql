WITH src AS (
    SELECT DISTINCT ON (day, num_reunion, num_ordre, num_pmu) * FROM stg_participant
    ORDER BY day, num_reunion, num_ordre, num_pmu
),
j AS (
    SELECT r.id AS race_id, h.horse_id, s.* FROM src s
    JOIN race r ON r.day = s.day AND r.num_reunion = s.num_reunion AND r.num_ordre = s.num_ordre
    -- The ids the horse merge, which runs just before, left for the batch's horses.
    LEFT JOIN stg_horse_id h ON h.id_cheval = s.id_cheval
),
gone AS (
    DELETE FROM race_participant d
    USING (SELECT DISTINCT race_id FROM j) k
    WHERE d.race_id = k.race_id
      AND (d.race_id, d.num_pmu) NOT IN (SELECT race_id, num_pmu FROM j)
),
up AS (
    INSERT INTO race_participant AS t (race_id, num_pmu, horse_id, {values})
    SELECT race_id, num_pmu, horse_id, {values}
    FROM j
    ON CONFLICT (race_id, num_pmu) DO UPDATE
    SET (horse_id, {values}) = (EXCLUDED.horse_id, {EXCLUDED.values}), updated_at = now()
    WHERE (t.horse_id, {t.values}) IS DISTINCT FROM (EXCLUDED.horse_id, {EXCLUDED.values})
    RETURNING (t.xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM src)::bigint AS read,
       count(*) FILTER (WHERE inserted)::bigint AS inserted,
       count(*) FILTER (WHERE NOT inserted)::bigint AS updated,
       ((SELECT count(*) FROM src) - (SELECT count(*) FROM j))::bigint AS orphaned
FROM up
