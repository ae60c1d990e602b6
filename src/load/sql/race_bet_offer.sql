WITH src AS (
    SELECT DISTINCT ON (day, num_reunion, num_ordre, type_pari) * FROM stg_race_bet_offer s
    ORDER BY day, num_reunion, num_ordre, type_pari, s::text
),
j AS (
    SELECT r.id AS race_id, s.* FROM src s
    JOIN race r ON r.day = s.day AND r.num_reunion = s.num_reunion AND r.num_ordre = s.num_ordre
),
staged_races AS (
    SELECT DISTINCT r.id AS race_id FROM stg_race s
    JOIN race r ON r.day = s.day AND r.num_reunion = s.num_reunion AND r.num_ordre = s.num_ordre
),
gone_offers AS (
    DELETE FROM race_bet_offer d
    USING staged_races k
    WHERE d.race_id = k.race_id
      AND (d.race_id, d.type_pari) NOT IN (SELECT race_id, type_pari FROM j)
),
up AS (
    INSERT INTO race_bet_offer AS t (race_id, type_pari, {values})
    SELECT race_id, type_pari, {values}
    FROM j
    ON CONFLICT (race_id, type_pari) DO UPDATE
    SET ({values}) = ({EXCLUDED.values}), updated_at = now()
    WHERE ({t.values}) IS DISTINCT FROM ({EXCLUDED.values})
    RETURNING (t.xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM src)::bigint AS read,
       count(*) FILTER (WHERE inserted)::bigint AS inserted,
       count(*) FILTER (WHERE NOT inserted)::bigint AS updated,
       ((SELECT count(*) FROM src) - (SELECT count(*) FROM j))::bigint AS orphaned
FROM up
