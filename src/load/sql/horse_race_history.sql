WITH runners AS (
    SELECT r.day, r.num_reunion, r.num_ordre, p.num_pmu, p.horse_id
    FROM (SELECT DISTINCT day, num_reunion, num_ordre FROM stg_history) k
    JOIN race r ON r.day = k.day AND r.num_reunion = k.num_reunion AND r.num_ordre = k.num_ordre
    JOIN race_participant p ON p.race_id = r.id
),
res AS (
    SELECT COALESCE(p1.horse_id, (
               SELECT p.horse_id
               FROM race r JOIN race_participant p ON p.race_id = r.id
               WHERE r.day = s.day AND r.num_reunion = s.num_reunion AND r.num_ordre = s.num_ordre
                 AND upper(btrim(p.nom)) = upper(btrim(s.nom_cheval))
               ORDER BY p.num_pmu
               LIMIT 1
           )) AS horse_id, s.*
    FROM stg_history s
    LEFT JOIN runners p1
           ON p1.day = s.day AND p1.num_reunion = s.num_reunion AND p1.num_ordre = s.num_ordre
          AND p1.num_pmu = s.num_pmu
),
orphans AS (
    SELECT count(*) AS n FROM (
        SELECT DISTINCT day, num_reunion, num_ordre, num_pmu, nom_cheval, race_date, hippodrome, nom_prix
        FROM res WHERE horse_id IS NULL
    ) o
),
src AS (
    SELECT DISTINCT ON (horse_id, race_date, hippodrome, nom_prix) *
    FROM (
        SELECT horse_id, race_date, hippodrome, nom_prix, {values},
               min(day) AS day, max(day) AS last_day,
               max((day - DATE '2000-01-01') * 1000000::bigint + num_reunion * 1000 + num_ordre) AS newest
        FROM res WHERE horse_id IS NOT NULL
        GROUP BY horse_id, race_date, hippodrome, nom_prix, {values}
    ) g
    ORDER BY horse_id, race_date, hippodrome, nom_prix, newest DESC
),
probe AS (
    SELECT s.*,
           t.id AS target_id,
           t.reported_on <= s.last_day AND ({t.values}) IS DISTINCT FROM ({s.values}) AS changed
    FROM src s
    LEFT JOIN horse_race_history t
           ON t.horse_id = s.horse_id AND t.race_date = s.race_date
          AND t.hippodrome = s.hippodrome AND t.nom_prix = s.nom_prix
),
ins AS (
    INSERT INTO horse_race_history (horse_id, race_date, hippodrome, nom_prix, reported_on, {values})
    SELECT horse_id, race_date, hippodrome, nom_prix, day, {values}
    FROM probe WHERE target_id IS NULL
    RETURNING 1
),
upd AS (
    UPDATE horse_race_history t
    SET ({values}) = ({p.values}), reported_on = p.day, updated_at = now()
    FROM probe p
    WHERE p.changed AND t.id = p.target_id
    RETURNING 1
)
SELECT ((SELECT count(*) FROM src) + (SELECT n FROM orphans))::bigint AS read,
       (SELECT count(*) FROM ins)::bigint AS inserted,
       (SELECT count(*) FROM upd)::bigint AS updated,
       (SELECT n FROM orphans)::bigint AS orphaned
