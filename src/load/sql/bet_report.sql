WITH src AS (
    SELECT DISTINCT ON (day, num_reunion, num_ordre, type_pari, combinaison, libelle) * FROM stg_bet_report
    ORDER BY day, num_reunion, num_ordre, type_pari, combinaison, libelle,
             dividende_pour_un_euro_cts DESC NULLS LAST
),
j AS (
    SELECT b.id AS race_bet_id, s.* FROM src s
    JOIN race r ON r.day = s.day AND r.num_reunion = s.num_reunion AND r.num_ordre = s.num_ordre
    JOIN race_bet b ON b.race_id = r.id AND b.type_pari = s.type_pari
),
staged_races AS (
    SELECT DISTINCT r.id AS race_id FROM stg_race_bet s
    JOIN race r ON r.day = s.day AND r.num_reunion = s.num_reunion AND r.num_ordre = s.num_ordre
),
gone_reports AS (
    DELETE FROM bet_report d
    USING race_bet b, staged_races k
    WHERE d.race_bet_id = b.id AND b.race_id = k.race_id
      AND (d.race_bet_id, d.combinaison, d.libelle) NOT IN (
          SELECT race_bet_id, combinaison, libelle FROM j)
),
gone_bets AS (
    DELETE FROM race_bet d
    USING staged_races k
    WHERE d.race_id = k.race_id
      AND (d.race_id, d.type_pari) NOT IN (
          SELECT r.id, s.type_pari FROM stg_race_bet s
          JOIN race r ON r.day = s.day AND r.num_reunion = s.num_reunion AND r.num_ordre = s.num_ordre
          WHERE s.type_pari IS NOT NULL)
),
up AS (
    INSERT INTO bet_report AS t (race_bet_id, combinaison, libelle, {values})
    SELECT race_bet_id, combinaison, libelle, {values}
    FROM j
    ON CONFLICT (race_bet_id, combinaison, libelle) DO UPDATE
    SET ({values}) = ({EXCLUDED.values}), updated_at = now()
    WHERE ({t.values}) IS DISTINCT FROM ({EXCLUDED.values})
    RETURNING (t.xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM src)::bigint AS read,
       count(*) FILTER (WHERE inserted)::bigint AS inserted,
       count(*) FILTER (WHERE NOT inserted)::bigint AS updated,
       ((SELECT count(*) FROM src) - (SELECT count(*) FROM j))::bigint AS orphaned
FROM up
