WITH src AS (
    SELECT DISTINCT ON (day, num_reunion, num_ordre) * FROM stg_race ORDER BY day, num_reunion, num_ordre
),
j AS (
    SELECT m.id AS race_meeting_id, s.* FROM src s
    JOIN race_meeting m ON m.day = s.day AND m.num_officiel = s.num_reunion
),
up AS (
    INSERT INTO race AS t (race_meeting_id, day, num_reunion, num_ordre, {values})
    SELECT race_meeting_id, day, num_reunion, num_ordre, {values}
    FROM j
    ON CONFLICT (day, num_reunion, num_ordre) DO UPDATE
    SET (race_meeting_id, {values}) = (EXCLUDED.race_meeting_id, {EXCLUDED.values}), updated_at = now()
    WHERE (t.race_meeting_id, {t.values}) IS DISTINCT FROM (EXCLUDED.race_meeting_id, {EXCLUDED.values})
    RETURNING (t.xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM src)::bigint AS read,
       count(*) FILTER (WHERE inserted)::bigint AS inserted,
       count(*) FILTER (WHERE NOT inserted)::bigint AS updated,
       ((SELECT count(*) FROM src) - (SELECT count(*) FROM j))::bigint AS orphaned
FROM up
