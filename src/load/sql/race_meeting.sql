WITH src AS (
    SELECT DISTINCT ON (day, num_officiel) * FROM stg_race_meeting ORDER BY day, num_officiel
),
j AS (
    SELECT p.id AS daily_program_id, s.* FROM src s JOIN daily_program p ON p.day = s.day
),
up AS (
    INSERT INTO race_meeting AS t (daily_program_id, day, num_officiel, {values})
    SELECT daily_program_id, day, num_officiel, {values}
    FROM j
    ON CONFLICT (day, num_officiel) DO UPDATE
    SET (daily_program_id, {values}) = (EXCLUDED.daily_program_id, {EXCLUDED.values}), updated_at = now()
    WHERE (t.daily_program_id, {t.values}) IS DISTINCT FROM (EXCLUDED.daily_program_id, {EXCLUDED.values})
    RETURNING (t.xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM src)::bigint AS read,
       count(*) FILTER (WHERE inserted)::bigint AS inserted,
       count(*) FILTER (WHERE NOT inserted)::bigint AS updated,
       ((SELECT count(*) FROM src) - (SELECT count(*) FROM j))::bigint AS orphaned
FROM up
