WITH computed AS (
    SELECT id_cheval, bool_and(id_cheval_computed) AS id_cheval_computed
    FROM stg_participant WHERE id_cheval IS NOT NULL GROUP BY id_cheval
),
latest AS (
    SELECT DISTINCT ON (id_cheval)
           id_cheval, day, num_reunion, num_ordre, num_pmu,
           horse_nom, horse_nom_pere, horse_nom_mere, horse_nom_pere_mere,
           horse_race, horse_pays, horse_robe_code, horse_robe_libelle
    FROM stg_participant WHERE id_cheval IS NOT NULL
    ORDER BY id_cheval, day DESC, num_reunion DESC, num_ordre DESC, num_pmu DESC NULLS LAST,
             ROW(horse_nom, horse_nom_pere, horse_nom_mere, horse_nom_pere_mere,
                 horse_race, horse_pays, horse_robe_code, horse_robe_libelle)::text DESC
),
src AS (
    SELECT l.*, c.id_cheval_computed,
           COALESCE((h.source_day, h.source_num_reunion, h.source_num_ordre,
                     COALESCE(h.source_num_pmu, -1))
                    > (l.day, l.num_reunion, l.num_ordre, COALESCE(l.num_pmu, -1)), false) AS older
    FROM latest l
    JOIN computed c USING (id_cheval)
    LEFT JOIN horse h USING (id_cheval)
),
flag AS (
    UPDATE horse t SET id_cheval_computed = false, updated_at = now()
    FROM src s
    WHERE s.older AND t.id_cheval = s.id_cheval
      AND t.id_cheval_computed AND NOT s.id_cheval_computed
    RETURNING 1
),
up AS (
    INSERT INTO horse AS t (
        id_cheval, id_cheval_computed,
        nom, nom_pere, nom_mere, nom_pere_mere, race, pays, robe_code, robe_libelle,
        source_day, source_num_reunion, source_num_ordre, source_num_pmu
    )
    SELECT id_cheval, id_cheval_computed,
           horse_nom, horse_nom_pere, horse_nom_mere, horse_nom_pere_mere,
           horse_race, horse_pays, horse_robe_code, horse_robe_libelle,
           day, num_reunion, num_ordre, num_pmu
    FROM src WHERE NOT older
    ON CONFLICT (id_cheval) DO UPDATE
    SET (
        id_cheval_computed,
        nom, nom_pere, nom_mere, nom_pere_mere, race, pays, robe_code, robe_libelle,
        source_day, source_num_reunion, source_num_ordre, source_num_pmu
    ) = (
        t.id_cheval_computed AND EXCLUDED.id_cheval_computed,
        EXCLUDED.nom, EXCLUDED.nom_pere, EXCLUDED.nom_mere, EXCLUDED.nom_pere_mere,
        EXCLUDED.race, EXCLUDED.pays, EXCLUDED.robe_code, EXCLUDED.robe_libelle,
        EXCLUDED.source_day, EXCLUDED.source_num_reunion, EXCLUDED.source_num_ordre,
        EXCLUDED.source_num_pmu
    ), updated_at = now()
    WHERE (
        t.id_cheval_computed,
        t.nom, t.nom_pere, t.nom_mere, t.nom_pere_mere, t.race, t.pays, t.robe_code, t.robe_libelle,
        t.source_day, t.source_num_reunion, t.source_num_ordre, t.source_num_pmu
    ) IS DISTINCT FROM (
        t.id_cheval_computed AND EXCLUDED.id_cheval_computed,
        EXCLUDED.nom, EXCLUDED.nom_pere, EXCLUDED.nom_mere, EXCLUDED.nom_pere_mere,
        EXCLUDED.race, EXCLUDED.pays, EXCLUDED.robe_code, EXCLUDED.robe_libelle,
        EXCLUDED.source_day, EXCLUDED.source_num_reunion, EXCLUDED.source_num_ordre,
        EXCLUDED.source_num_pmu
    )
    RETURNING (t.xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM src)::bigint AS read,
       count(*) FILTER (WHERE inserted)::bigint AS inserted,
       (count(*) FILTER (WHERE NOT inserted) + (SELECT count(*) FROM flag))::bigint AS updated,
       (0)::bigint AS orphaned
FROM up
