WITH src AS (
    SELECT s.*, (day - DATE '2000-01-01') * 1000000::bigint + num_reunion * 1000 + num_ordre AS newest
    FROM stg_past_runner s
),
probe AS (
    SELECT s.*,
           t.id AS target_id,
           s.first_day < t.reported_on AS earlier,
           CASE WHEN t.id IS NOT NULL AND ({t.values}) IS DISTINCT FROM ({s.values}) THEN NOT EXISTS (
               SELECT 1
               FROM horse_race_history h
               JOIN race_participant p ON p.horse_id = h.horse_id
               JOIN race r ON r.id = p.race_id
               JOIN performance_report l ON l.race_id = p.race_id AND l.num_pmu = p.num_pmu
               WHERE h.race_date = s.race_date AND h.hippodrome = s.hippodrome
                 AND h.nom_prix = s.nom_prix AND r.day > s.race_date
                 AND (r.day - DATE '2000-01-01') * 1000000::bigint + r.num_reunion * 1000 + r.num_ordre
                     > s.newest
                 AND l.past_runners @> ARRAY[s.key_hash]
                 AND NOT EXISTS (
                     SELECT 1 FROM stg_perf_report b
                     WHERE b.day = r.day AND b.num_reunion = r.num_reunion AND b.num_ordre = r.num_ordre)
           ) ELSE false END AS newest_report
    FROM src s
    -- One index probe per staged row (LIMIT 1: never a scan of the whole table, whatever the
    -- planner estimates for the staging table).
    LEFT JOIN LATERAL (
        SELECT * FROM past_race_runner t
        WHERE t.race_date = s.race_date AND t.hippodrome = s.hippodrome
          AND t.nom_prix = s.nom_prix AND t.nom_cheval = s.nom_cheval
        LIMIT 1
    ) t ON true
),
ins AS (
    INSERT INTO past_race_runner (race_date, hippodrome, nom_prix, nom_cheval, reported_on, {values})
    SELECT race_date, hippodrome, nom_prix, nom_cheval, first_day, {values}
    FROM probe WHERE target_id IS NULL
    RETURNING 1
),
upd AS (
    UPDATE past_race_runner t
    SET ({values}) = ({p.values}), reported_on = least(t.reported_on, p.first_day), updated_at = now()
    FROM probe p
    WHERE p.newest_report AND t.id = p.target_id
    RETURNING 1
),
upd_day AS (
    UPDATE past_race_runner t
    SET reported_on = p.first_day, updated_at = now()
    FROM probe p
    WHERE p.earlier AND NOT p.newest_report AND t.id = p.target_id
    RETURNING 1
)
SELECT (SELECT count(*) FROM src)::bigint AS read,
       (SELECT count(*) FROM ins)::bigint AS inserted,
       ((SELECT count(*) FROM upd) + (SELECT count(*) FROM upd_day))::bigint AS updated,
       0::bigint AS orphaned
