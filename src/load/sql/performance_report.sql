WITH dup AS (
    SELECT day, num_reunion, num_ordre, num_pmu FROM stg_perf_report
    GROUP BY day, num_reunion, num_ordre, num_pmu HAVING count(*) > 1
),
src AS (
    -- A runner listed twice keeps the copy of least text; the text of the rows (their arrays)
    -- is the merge's costliest expression, so it is computed for such runners only.
    SELECT DISTINCT ON (day, num_reunion, num_ordre, num_pmu) * FROM stg_perf_report s
    ORDER BY day, num_reunion, num_ordre, num_pmu,
             CASE WHEN num_pmu IS NULL
                    OR (day, num_reunion, num_ordre, num_pmu) IN (SELECT * FROM dup)
                  THEN s::text END
),
j AS (
    SELECT r.id AS race_id, s.* FROM src s
    JOIN race r ON r.day = s.day AND r.num_reunion = s.num_reunion AND r.num_ordre = s.num_ordre
),
gone AS (
    DELETE FROM performance_report d
    USING (SELECT DISTINCT race_id FROM j) k
    WHERE d.race_id = k.race_id
      AND (d.race_id, d.num_pmu) NOT IN (SELECT race_id, num_pmu FROM j)
),
up AS (
    INSERT INTO performance_report AS t (race_id, num_pmu, {values})
    SELECT race_id, num_pmu, {values}
    FROM j
    ON CONFLICT (race_id, num_pmu) DO UPDATE
    SET ({values}) = ({EXCLUDED.values}), updated_at = now()
    WHERE ({t.values}) IS DISTINCT FROM ({EXCLUDED.values})
    RETURNING (t.xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM src)::bigint AS read,
       count(*) FILTER (WHERE inserted)::bigint AS inserted,
       count(*) FILTER (WHERE NOT inserted)::bigint AS updated,
       ((SELECT count(*) FROM src) - (SELECT count(*) FROM j))::bigint AS orphaned
FROM up
