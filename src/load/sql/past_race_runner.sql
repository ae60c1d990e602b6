WITH src AS (
    SELECT DISTINCT ON (race_date, hippodrome, nom_prix, nom_cheval) *
    FROM (
        SELECT race_date, hippodrome, nom_prix, nom_cheval, {values},
               min(day) AS day, max(day) AS last_day,
               max((day - DATE '2000-01-01') * 1000000::bigint + num_reunion * 1000 + num_ordre) AS newest,
               bool_or(its_him) AS its_him
        FROM stg_past_runner
        GROUP BY race_date, hippodrome, nom_prix, nom_cheval, {values}
    ) g
    ORDER BY race_date, hippodrome, nom_prix, nom_cheval, newest DESC, its_him DESC, g::text
),
probe AS (
    SELECT s.*,
           t.id AS target_id,
           t.reported_on <= s.last_day AND ({t.values}) IS DISTINCT FROM ({s.values}) AS changed
    FROM src s
    LEFT JOIN past_race_runner t
           ON t.race_date = s.race_date AND t.hippodrome = s.hippodrome
          AND t.nom_prix = s.nom_prix AND t.nom_cheval = s.nom_cheval
),
ins AS (
    INSERT INTO past_race_runner (race_date, hippodrome, nom_prix, nom_cheval, reported_on, {values})
    SELECT race_date, hippodrome, nom_prix, nom_cheval, day, {values}
    FROM probe WHERE target_id IS NULL
    RETURNING 1
),
upd AS (
    UPDATE past_race_runner t
    SET ({values}) = ({p.values}), reported_on = p.day, updated_at = now()
    FROM probe p
    WHERE p.changed AND t.id = p.target_id
    RETURNING 1
)
SELECT (SELECT count(*) FROM src)::bigint AS read,
       (SELECT count(*) FROM ins)::bigint AS inserted,
       (SELECT count(*) FROM upd)::bigint AS updated,
       0::bigint AS orphaned
