WITH src AS (
    SELECT DISTINCT ON (day) * FROM stg_daily_program ORDER BY day, pmu_timestamp DESC NULLS LAST
),
j AS (
    SELECT * FROM src
),
up AS (
    INSERT INTO daily_program AS t (day, {values})
    SELECT day, {values}
    FROM j
    ON CONFLICT (day) DO UPDATE
    SET ({values}) = ({EXCLUDED.values}), updated_at = now()
    WHERE ({t.values}) IS DISTINCT FROM ({EXCLUDED.values})
    RETURNING (t.xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM src)::bigint AS read,
       count(*) FILTER (WHERE inserted)::bigint AS inserted,
       count(*) FILTER (WHERE NOT inserted)::bigint AS updated,
       ((SELECT count(*) FROM src) - (SELECT count(*) FROM j))::bigint AS orphaned
FROM up
