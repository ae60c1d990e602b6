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
    -- The newest copy of each key, with the first day any copy was listed on: one sort of the
    -- staged rows, the window's, which orders each key's copies as the DISTINCT ON needs them
    -- (over the whole key, so that the minimum is the key's). A window over the key alone
    -- sorted them twice, and a GROUP BY over every value column three times.
    SELECT DISTINCT ON (horse_id, race_date, hippodrome, nom_prix)
           horse_id, race_date, hippodrome, nom_prix, key_hash, {values},
           min(day) OVER (
               PARTITION BY horse_id, race_date, hippodrome, nom_prix
               ORDER BY (day - DATE '2000-01-01') * 1000000::bigint + num_reunion * 1000 + num_ordre DESC
               ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
           ) AS first_day,
           (day - DATE '2000-01-01') * 1000000::bigint + num_reunion * 1000 + num_ordre AS newest
    FROM res WHERE horse_id IS NOT NULL
    ORDER BY horse_id, race_date, hippodrome, nom_prix, newest DESC
),
probe AS (
    SELECT s.*,
           t.id AS target_id,
           s.first_day < t.reported_on AS earlier,
           CASE WHEN t.id IS NOT NULL AND ({t.values}) IS DISTINCT FROM ({s.values}) THEN NOT EXISTS (
               SELECT 1
               FROM race_participant p
               JOIN race r ON r.id = p.race_id
               JOIN performance_report l ON l.race_id = p.race_id AND l.num_pmu = p.num_pmu
               WHERE p.horse_id = s.horse_id AND r.day > s.race_date
                 AND (r.day - DATE '2000-01-01') * 1000000::bigint + r.num_reunion * 1000 + r.num_ordre
                     > s.newest
                 AND l.past_races @> ARRAY[s.key_hash]
                 AND NOT EXISTS (
                     SELECT 1 FROM stg_perf_report b
                     WHERE b.day = r.day AND b.num_reunion = r.num_reunion AND b.num_ordre = r.num_ordre)
           ) ELSE false END AS newest_report
    FROM src s
    -- One index probe per staged row (LIMIT 1: never a scan of the whole table, whatever the
    -- planner estimates for the staging table).
    LEFT JOIN LATERAL (
        SELECT * FROM horse_race_history t
        WHERE t.horse_id = s.horse_id AND t.race_date = s.race_date
          AND t.hippodrome = s.hippodrome AND t.nom_prix = s.nom_prix
        LIMIT 1
    ) t ON true
),
ins AS (
    INSERT INTO horse_race_history (horse_id, race_date, hippodrome, nom_prix, reported_on, {values})
    SELECT horse_id, race_date, hippodrome, nom_prix, first_day, {values}
    FROM probe WHERE target_id IS NULL
    RETURNING 1
),
upd AS (
    UPDATE horse_race_history t
    SET ({values}) = ({p.values}), reported_on = least(t.reported_on, p.first_day), updated_at = now()
    FROM probe p
    WHERE p.newest_report AND t.id = p.target_id
    RETURNING 1
),
upd_day AS (
    UPDATE horse_race_history t
    SET reported_on = p.first_day, updated_at = now()
    FROM probe p
    WHERE p.earlier AND NOT p.newest_report AND t.id = p.target_id
    RETURNING 1
)
SELECT ((SELECT count(*) FROM src) + (SELECT n FROM orphans))::bigint AS read,
       (SELECT count(*) FROM ins)::bigint AS inserted,
       ((SELECT count(*) FROM upd) + (SELECT count(*) FROM upd_day))::bigint AS updated,
       (SELECT n FROM orphans)::bigint AS orphaned
