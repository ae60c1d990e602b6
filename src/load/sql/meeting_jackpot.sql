WITH src AS (
    SELECT DISTINCT ON (day, num_officiel, type_pari, num_course) * FROM stg_meeting_jackpot
    ORDER BY day, num_officiel, type_pari, num_course,
             type_cagnotte NULLS LAST, montant_eur DESC NULLS LAST, cagnotte_internet
),
j AS (
    SELECT m.id AS race_meeting_id, s.* FROM src s
    JOIN race_meeting m ON m.day = s.day AND m.num_officiel = s.num_officiel
),
staged_meetings AS (
    SELECT DISTINCT m.id AS race_meeting_id FROM stg_race_meeting s
    JOIN race_meeting m ON m.day = s.day AND m.num_officiel = s.num_officiel
),
gone_jackpots AS (
    DELETE FROM meeting_jackpot d
    USING staged_meetings k
    WHERE d.race_meeting_id = k.race_meeting_id
      AND (d.race_meeting_id, d.type_pari, d.num_course) NOT IN (
          SELECT race_meeting_id, type_pari, num_course FROM j)
),
up AS (
    INSERT INTO meeting_jackpot AS t (race_meeting_id, type_pari, num_course, {values})
    SELECT race_meeting_id, type_pari, num_course, {values}
    FROM j
    ON CONFLICT (race_meeting_id, type_pari, num_course) DO UPDATE
    SET ({values}) = ({EXCLUDED.values}), updated_at = now()
    WHERE ({t.values}) IS DISTINCT FROM ({EXCLUDED.values})
    RETURNING (t.xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM src)::bigint AS read,
       count(*) FILTER (WHERE inserted)::bigint AS inserted,
       count(*) FILTER (WHERE NOT inserted)::bigint AS updated,
       ((SELECT count(*) FROM src) - (SELECT count(*) FROM j))::bigint AS orphaned
FROM up
