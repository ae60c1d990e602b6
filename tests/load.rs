//! `pmu-lake load` against a real PostgreSQL, through the binary: idempotence, updates after a
//! refreshed object, the ledger skip and `--force`, bad objects isolated (exit 3, raw files
//! untouched), a row PostgreSQL refuses isolated, and kill -9 in the middle then a rerun.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use pmu_lake::db::local::Settings;
use pmu_lake::lake::{Lake, ObjectKey, RaceId, Stage};
use serde_json::Value;

use crate::support::pg::{self, TestDb};
use crate::support::synth::{self, RaceState, Spec};

/// Runs `pmu-lake load` on `lake` into `db`; returns the process output and the JSON report.
/// A load that ran to its end (exit 0 or 3) must have written its report: a missing or
/// unreadable one fails the test. A load that stopped (exit 1, 2) gives `Null`.
fn load(db: &TestDb, lake: &Path, extra: &[&str]) -> (Output, Value) {
    load_as(&db.url, lake, extra)
}

/// [`load`] with `DATABASE_URL` set to `url`.
fn load_as(url: &str, lake: &Path, extra: &[&str]) -> (Output, Value) {
    let report = pg::server().scratch("report").join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_pmu-lake"))
        .args(["load", "--quiet", "--lake"])
        .arg(lake)
        .arg("--report")
        .arg(&report)
        .args(extra)
        .env("DATABASE_URL", url)
        .output()
        .expect("running pmu-lake load");
    let json = match out.status.code() {
        Some(0 | 3) => {
            let bytes = std::fs::read(&report).unwrap_or_else(|e| {
                panic!(
                    "the load ended ({}) without its report {}: {e}\n{}",
                    out.status,
                    report.display(),
                    String::from_utf8_lossy(&out.stderr)
                )
            });
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("the report {} is not JSON: {e}", report.display()))
        }
        _ => Value::Null,
    };
    (out, json)
}

/// The JSON body of `key` in `lake`.
fn json_of(lake: &Lake, key: &ObjectKey) -> Value {
    serde_json::from_slice(&pmu_lake::lake::read_body(&lake.body_path(key)).unwrap()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn lake_with(days: u32, races: u32) -> (PathBuf, Spec) {
    let dir = pg::server().scratch("lake");
    let spec = Spec::new(days, races);
    synth::write_lake(&Lake::new(&dir), &spec).expect("writing a synthetic lake");
    (dir, spec)
}

fn objects(report: &Value, what: &str) -> u64 {
    report["objects"][what]
        .as_u64()
        .unwrap_or_else(|| panic!("no objects.{what} in {report}"))
}

/// The counts of a target table in a report.
fn table_counts<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["tables"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["table"] == name))
        .unwrap_or_else(|| panic!("no table {name} in {report}"))
}

/// (read, inserted, updated, unchanged) of a target table in a report.
fn table(report: &Value, name: &str) -> (u64, u64, u64, u64) {
    let t = table_counts(report, name);
    let n = |k: &str| t[k].as_u64().unwrap_or(0);
    (n("read"), n("inserted"), n("updated"), n("unchanged"))
}

fn totals(report: &Value) -> (u64, u64) {
    let ts = report["tables"].as_array().cloned().unwrap_or_default();
    ts.iter().fold((0, 0), |(i, u), t| {
        (
            i + t["inserted"].as_u64().unwrap_or(0),
            u + t["updated"].as_u64().unwrap_or(0),
        )
    })
}

const TARGETS: [&str; 8] = [
    "daily_program",
    "race_meeting",
    "race",
    "horse",
    "race_participant",
    "horse_race_history",
    "race_bet",
    "bet_report",
];

#[test]
fn loading_twice_changes_nothing_and_force_rereads_without_writing() {
    let (lake, spec) = lake_with(2, 6);
    let db = pg::migrated_db("idempotent");
    let (out, first) = load(&db, &lake, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let n_objects = u64::from(spec.days) * (1 + 3 * u64::from(spec.races_per_day));
    assert_eq!(objects(&first, "loaded"), n_objects, "{first}");
    for t in TARGETS {
        assert!(
            db.count(&format!("SELECT count(*) FROM {t}")) > 0,
            "{t} is empty after the first load"
        );
        let (read, inserted, _, _) = table(&first, t);
        assert!(inserted > 0 && inserted <= read, "{t}: {first}");
    }
    assert_eq!(
        db.count("SELECT count(*) FROM race"),
        i64::from(spec.days * spec.races_per_day)
    );
    let before = db.checksums();

    let (out, second) = load(&db, &lake, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        (objects(&second, "loaded"), objects(&second, "skipped")),
        (0, n_objects),
        "{second}"
    );
    assert_eq!(totals(&second), (0, 0));
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains(&format!("{n_objects} unchanged")),
        "the summary is on stdout: {summary}"
    );
    assert_eq!(db.checksums(), before, "a replay changed the tables");

    let (out, forced) = load(&db, &lake, &["--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(objects(&forced, "loaded"), n_objects);
    assert_eq!(totals(&forced), (0, 0), "{forced}");
    let (read, _, _, unchanged) = table(&forced, "race_participant");
    assert!(read > 0 && unchanged == read, "{forced}");
    assert_eq!(db.checksums(), before, "--force changed the tables");
}

#[test]
fn only_the_requested_days_load() {
    let (lake, spec) = lake_with(3, 2);
    let db = pg::migrated_db("days");
    let (out, report) = load(&db, &lake, &["--date", &spec.day(1).iso()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(report["days"], 1);
    let days: Vec<String> = db
        .client()
        .query("SELECT day::text FROM daily_program", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(days, [spec.day(1).iso()]);
    let (out, _) = load(
        &db,
        &lake,
        &["--start", &spec.day(1).iso(), "--end", &spec.day(2).iso()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(db.count("SELECT count(*) FROM daily_program"), 2);
}

#[test]
fn a_race_loaded_before_it_ran_gets_its_arrival_and_final_odds_later() {
    let dir = pg::server().scratch("refresh");
    let lake = Lake::new(&dir);
    let spec = Spec::new(1, 10);
    synth::write_day(&lake, &spec, 0, RaceState::Scheduled).unwrap();
    let db = pg::migrated_db("refresh");
    let (out, morning) = load(&db, &dir, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        objects(&morning, "markers"),
        10,
        "rapports not published yet: {morning}"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM race WHERE ordre_arrivee IS NOT NULL"),
        0
    );
    assert_eq!(
        db.count("SELECT count(*) FROM race_participant WHERE ordre_arrivee IS NOT NULL"),
        0
    );
    assert_eq!(db.count("SELECT count(*) FROM bet_report"), 0);
    let odds_before = db.checksum("(SELECT num_pmu, cote_direct FROM race_participant)");

    synth::write_day(&lake, &spec, 0, RaceState::Finished).unwrap();
    let (out, evening) = load(&db, &dir, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, inserted, updated, _) = table(&evening, "race");
    assert_eq!((inserted, updated), (0, 10), "{evening}");
    let (_, inserted, updated, _) = table(&evening, "race_participant");
    assert_eq!(inserted, 0, "{evening}");
    assert!(updated > 0, "{evening}");
    assert_eq!(
        db.count("SELECT count(*) FROM race WHERE ordre_arrivee IS NULL"),
        0
    );
    assert!(
        db.count("SELECT count(*) FROM race_participant WHERE ordre_arrivee IS NOT NULL") >= 70
    );
    assert_ne!(
        db.checksum("(SELECT num_pmu, cote_direct FROM race_participant)"),
        odds_before,
        "odds not refreshed"
    );
    assert!(db.count("SELECT count(*) FROM bet_report") > 0);
    // Dead heats keep one rank for both horses.
    let ties = db.count(
        "SELECT count(*) FROM (SELECT race_id, ordre_arrivee FROM race_participant WHERE ordre_arrivee IS NOT NULL
         GROUP BY 1, 2 HAVING count(*) > 1) t",
    );
    assert!(ties > 0, "the synthetic day holds dead heats");
}

#[test]
fn bad_objects_are_rejected_alone_reported_and_left_untouched() {
    let (dir, spec) = lake_with(2, 4);
    let lake = Lake::new(&dir);
    let day0 = spec.day(0);
    let r = |c| RaceId::new(1, c).unwrap();
    let corrupt = lake.body_path(&ObjectKey::race(day0, r(1), Stage::Participants));
    let mut bytes = std::fs::read(&corrupt).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&corrupt, &bytes).unwrap();
    let invalid = ObjectKey::race(day0, r(2), Stage::Participants);
    lake.write_body(&invalid, b"{\"participants\": [{\"numPmu\": 1,")
        .unwrap();
    let wrong_shape = ObjectKey::race(spec.day(1), r(3), Stage::Participants);
    lake.write_body(&wrong_shape, b"\"participants\"").unwrap();
    let paths = [
        corrupt.clone(),
        lake.body_path(&invalid),
        lake.body_path(&wrong_shape),
    ];
    let raw_before: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();

    let db = pg::migrated_db("bad_objects");
    let (out, report) = load(&db, &dir, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(objects(&report, "rejected"), 3, "{report}");
    for (key, why) in [
        ("date=2025-01-01/R1C1/participants.json.zst", "zstd"),
        ("date=2025-01-01/R1C2/participants.json.zst", ""),
        ("date=2025-01-02/R1C3/participants.json.zst", ""),
    ] {
        let line = err
            .lines()
            .find(|l| l.contains(key))
            .unwrap_or_else(|| panic!("{key} not reported: {err}"));
        assert!(line.contains(why), "{line}");
    }
    assert_eq!(
        db.count("SELECT count(*) FROM load_ledger WHERE status = 'rejected' AND reason <> ''"),
        3
    );
    // Everything else loaded: 8 races, runners of 5 of them (the 3 rejected objects' runners are missing).
    assert_eq!(db.count("SELECT count(*) FROM race"), 8);
    assert_eq!(
        db.count("SELECT count(DISTINCT race_id) FROM race_participant"),
        5
    );
    assert_eq!(
        db.count("SELECT count(*) FROM race_bet rb JOIN race r ON r.id = rb.race_id"),
        db.count("SELECT count(*) FROM race_bet")
    );
    let raw_after: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert_eq!(raw_before, raw_after, "the lake was modified");

    // Rejected objects are tried again (and still fail), with what hangs from them (the
    // performances and rapports of their 3 races); everything else is skipped; nothing changes.
    let (out, again) = load(&db, &dir, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(
        (
            objects(&again, "rejected"),
            objects(&again, "loaded"),
            objects(&again, "skipped")
        ),
        (3, 3 * 2, 2 * (1 + 3 * 4) - 3 - 3 * 2),
        "{again}"
    );
    assert_eq!(totals(&again), (0, 0), "{again}");
}

/// A one-day lake of 3 races whose R1C2 participants `edit` changes; returns the lake's
/// directory, the edited object's key, its new JSON and the bytes stored.
fn lake_with_edited_participants(
    edit: impl FnOnce(&mut Value),
) -> (PathBuf, ObjectKey, Value, Vec<u8>) {
    let (dir, spec) = lake_with(1, 3);
    let lake = Lake::new(&dir);
    let key = ObjectKey::race(spec.day(0), RaceId::new(1, 2).unwrap(), Stage::Participants);
    let mut json = json_of(&lake, &key);
    edit(&mut json);
    let bytes = serde_json::to_vec(&json).unwrap();
    lake.write_body(&key, &bytes).unwrap();
    (dir, key, json, bytes)
}

#[test]
fn a_row_postgres_refuses_rejects_only_its_object() {
    // A rule only the server knows (a constraint this database adds) refuses one runner.
    let (dir, ..) = lake_with_edited_participants(|json| {
        json["participants"][0]["age"] = Value::from(45);
    });

    let db = pg::migrated_db("refused_row");
    db.client()
        .batch_execute("ALTER TABLE race_participant ADD CONSTRAINT age_below_40 CHECK (age < 40)")
        .unwrap();
    let (out, report) = load(&db, &dir, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(objects(&report, "rejected"), 1, "{report}");
    assert_eq!(report["per_batch"][0]["isolated"], true, "{report}");
    let line = err
        .lines()
        .find(|l| l.contains("R1C2/participants.json.zst"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.contains("age_below_40") && line.contains("23514"),
        "{line}"
    );
    assert_eq!(db.count("SELECT count(*) FROM race"), 3);
    assert_eq!(
        db.count("SELECT count(DISTINCT race_id) FROM race_participant"),
        2
    );
    assert_eq!(
        db.count("SELECT count(*) FROM load_ledger WHERE status = 'loaded'"),
        i64::from(1 + 3 * 3) - 1
    );
}

#[test]
fn a_number_out_of_range_costs_its_value_not_its_race() {
    // Fits an i64, not PostgreSQL's integer.
    let (dir, key, json, bytes) = lake_with_edited_participants(|json| {
        json["participants"][0]["age"] = Value::from(3_000_000_000_i64);
    });
    let lake = Lake::new(&dir);
    let num_pmu = json["participants"][0]["numPmu"].as_i64().unwrap();
    let runners = json["participants"].as_array().unwrap().len() as i64;

    let db = pg::migrated_db("out_of_range");
    let (out, report) = load(&db, &dir, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(objects(&report, "rejected"), 0, "{report}");
    let path = key.display_path();
    assert_eq!(
        report["out_of_range"],
        serde_json::json!([{"path": path, "column": "stg_participant.age", "value": 3_000_000_000_i64}]),
        "{report}"
    );
    assert!(
        err.contains(&format!(
            "{path}: stg_participant.age = 3000000000 is out of range"
        )),
        "{err}"
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("1 number out of range"), "{summary}");
    // The race keeps every runner, the one value is NULL, and the lake keeps the raw bytes.
    assert_eq!(
        db.count(
            "SELECT count(*) FROM race_participant p JOIN race r ON r.id = p.race_id
              WHERE r.num_reunion = 1 AND r.num_ordre = 2"
        ),
        runners
    );
    assert_eq!(
        db.count(&format!(
            "SELECT count(*) FROM race_participant p JOIN race r ON r.id = p.race_id
              WHERE r.num_reunion = 1 AND r.num_ordre = 2 AND p.num_pmu = {num_pmu} AND p.age IS NULL"
        )),
        1
    );
    assert_eq!(
        pmu_lake::lake::read_body(&lake.body_path(&key)).unwrap(),
        bytes
    );
}

/// The URL of `db` for a role of its own that may open one connection at a time (a user whose
/// role or server is limited), with every right on the tables the load writes.
fn one_connection_url(db: &TestDb) -> String {
    role_url(db, 1)
}

/// The URL of `db` for a role of its own, not the tables' owner, that may open `connections`
/// at a time, with every right on the tables the load writes.
fn role_url(db: &TestDb, connections: u32) -> String {
    let role = format!("role_{connections}_{}", db.name);
    db.client()
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN CONNECTION LIMIT {connections};
             GRANT ALL ON SCHEMA public TO {role};
             GRANT ALL ON ALL TABLES IN SCHEMA public TO {role};
             GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}"
        ))
        .unwrap();
    let url = db.url.replacen("postgres@", &format!("{role}@"), 1);
    assert_ne!(url, db.url, "the test server's URL names its user");
    url
}

/// What two loads of the same lake must agree on in the ledger: each object's path, bytes and
/// status.
const LEDGER: &str = "(SELECT path, content_sha256, status FROM load_ledger)";

/// Rows of `table` not written by a transaction that wrote the ledger row of a participants
/// object: those a second session wrote (the first session writes those ledger rows in each of
/// its batches).
fn from_second_session(db: &TestDb, table: &str) -> i64 {
    db.count(&format!(
        "SELECT count(*) FROM {table}
          WHERE xmin::text NOT IN (SELECT xmin::text FROM load_ledger
                                    WHERE stage = 'participants')"
    ))
}

/// Batches PostgreSQL refused whole, then loaded object by object.
fn isolated_batches(report: &Value) -> usize {
    let batches = report["per_batch"].as_array().expect("per_batch");
    batches.iter().filter(|b| b["isolated"] == true).count()
}

/// The tables the second session of a first backfill loads besides `past_race_runner` when the
/// foreign keys are set aside, and some the first session always loads.
const SIDE_TABLES: [&str; 5] = [
    "race_bet_offer",
    "meeting_jackpot",
    "performance_report",
    "race_bet",
    "bet_report",
];
const FIRST_SESSION_TABLES: [&str; 6] = [
    "daily_program",
    "race_meeting",
    "race",
    "race_participant",
    "horse",
    "horse_race_history",
];

#[test]
fn a_first_backfill_copies_new_past_runners_on_a_second_session_and_a_role_allowed_one_loads_the_same_rows()
 {
    // The last day's report lists again a past race of the first day's, with other jockeys: its
    // runners go through the merge (staged, not new), which updates them.
    let (lake, spec) = lake_with(4, 5);
    let store = Lake::new(&lake);
    let first = ObjectKey::race(spec.day(0), RaceId::new(1, 1).unwrap(), Stage::Performances);
    let mut past = json_of(&store, &first)["participants"][0]["coursesCourues"][0].clone();
    for runner in past["participants"].as_array_mut().unwrap() {
        runner["nomJockey"] = Value::from("LATER JOCKEY");
    }
    let last = ObjectKey::race(spec.day(3), RaceId::new(1, 1).unwrap(), Stage::Performances);
    let mut performances = json_of(&store, &last);
    performances["participants"][0]["coursesCourues"]
        .as_array_mut()
        .unwrap()
        .push(past);
    store
        .write_body(&last, &serde_json::to_vec(&performances).unwrap())
        .unwrap();

    let two = pg::migrated_db("two_sessions");
    let (out, report) = load(&two, &lake, &["--batch-rows", "3000"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report["sessions"], 2, "{report}");
    assert!(report["batches"].as_u64() > Some(1), "{report}");
    assert_eq!(isolated_batches(&report), 0, "{report}");
    let runners = table_counts(&report, "past_race_runner");
    let direct = runners["direct"].as_i64().unwrap();
    assert!(direct > 0, "{report}");
    assert!(runners["updated"].as_i64() > Some(0), "{report}");
    let later = "SELECT count(*) FROM past_race_runner WHERE nom_jockey = 'LATER JOCKEY'";
    assert!(two.count(later) > 0);
    // Every row of the table was committed by the second session, in transactions of its own:
    // the rows known new (copied), then updated by its merge of the staged ones.
    assert_eq!(two.count("SELECT count(*) FROM past_race_runner"), direct);
    assert_eq!(from_second_session(&two, "past_race_runner"), direct);
    // With the foreign keys set aside, the programme's bet offers and jackpots, the reports,
    // the payouts and the ledger rows of their objects too; the first session the rest.
    for table in SIDE_TABLES {
        let rows = two.count(&format!("SELECT count(*) FROM {table}"));
        assert!(rows > 0, "{table}");
        assert_eq!(from_second_session(&two, table), rows, "{table}");
        assert_eq!(
            table_counts(&report, table)["inserted"].as_i64(),
            Some(rows),
            "{report}"
        );
    }
    for table in FIRST_SESSION_TABLES {
        assert_eq!(from_second_session(&two, table), 0, "{table}");
    }
    let side_ledger =
        "SELECT count(*) FROM load_ledger l
          WHERE stage IN ('programme', 'performances', 'rapports')
            AND xmin::text NOT IN (SELECT xmin::text FROM load_ledger WHERE stage = 'participants')";
    let objects = "SELECT count(*) FROM load_ledger
                    WHERE stage IN ('programme', 'performances', 'rapports')";
    assert!(two.count(objects) > 0);
    assert_eq!(two.count(side_ledger), two.count(objects));
    // And it committed each batch after the first session: a kill in between leaves the first
    // session's rows without those ledger rows, never those ledger rows without their rows.
    let order = "SELECT count(*) FILTER (WHERE pg_xact_commit_timestamp(s.xmin)
                                              > pg_xact_commit_timestamp(f.xmin)),
                        count(*)
                 FROM load_ledger s JOIN load_ledger f ON f.day = s.day AND f.stage = 'participants'
                 WHERE s.stage IN ('programme', 'performances', 'rapports')";
    let row = two.client().query_one(order, &[]).unwrap();
    let (after, pairs): (i64, i64) = (row.get(0), row.get(1));
    assert!(pairs > 0);
    assert_eq!(after, pairs, "the second session committed first");
    // The foreign keys were set aside for the backfill, and are back as the migrations made
    // them, validated.
    assert!(
        report["phases"]["foreign_keys"].as_f64() > Some(0.0),
        "{report}"
    );
    let schema = pg::migrated_db("schema_keys");
    let schema_keys = schema.foreign_keys();
    assert_eq!(schema_keys.len(), pmu_lake::load::aside::FOREIGN_KEYS.len());
    assert!(schema_keys.iter().all(|k| k.3), "{schema_keys:?}");
    assert_eq!(two.foreign_keys(), schema_keys);
    // So was the index no statement of the load reads, built again as the migrations made it.
    let schema_indexes = schema.indexes();
    for index in &pmu_lake::load::aside::INDEXES {
        assert!(
            schema_indexes
                .iter()
                .any(|i| (i.0.as_str(), i.1.as_str()) == (index.table, index.name)),
            "{} is not an index of the schema: {schema_indexes:?}",
            index.name
        );
    }
    assert!(report["phases"]["indexes"].as_f64() > Some(0.0), "{report}");
    assert_eq!(two.indexes(), schema_indexes);
    // The first session's idle time says which of the others it waited for: the reader (for the
    // first batch at least) and the second session (at the end of every batch).
    for wait in ["waiting_for_reader", "waiting_for_second"] {
        assert!(
            report["phases"][wait].as_f64() > Some(0.0),
            "{wait}: {report}"
        );
    }

    // A role that may open one connection only: the load says so and runs on one session.
    let one = pg::migrated_db("one_session");
    let url = one_connection_url(&one);
    let (out, report) = load_as(&url, &lake, &["--batch-rows", "3000"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("loading on one session only") && err.contains("too many connections"),
        "{err}"
    );
    // Not the tables' owner: their foreign keys stay in place, checked row by row.
    assert!(
        err.contains("loading with the foreign keys and indexes in place")
            && err.contains("must be owner"),
        "{err}"
    );
    assert_eq!(
        report["phases"]["foreign_keys"].as_f64(),
        Some(0.0),
        "{report}"
    );
    assert_eq!(one.foreign_keys(), schema_keys);
    assert_eq!(report["phases"]["indexes"].as_f64(), Some(0.0), "{report}");
    assert_eq!(one.indexes(), schema_indexes);
    assert_eq!(report["sessions"], 1, "{report}");
    let waited = &report["phases"]["waiting_for_second"];
    assert_eq!(waited.as_f64(), Some(0.0), "{report}");
    assert_eq!(
        table_counts(&report, "past_race_runner")["direct"].as_i64(),
        Some(direct),
        "{report}"
    );
    for table in SIDE_TABLES.iter().chain(&FIRST_SESSION_TABLES) {
        assert_eq!(from_second_session(&one, table), 0, "{table}");
    }
    assert_eq!(from_second_session(&one, "past_race_runner"), 0);
    assert_eq!(one.contents(), two.contents());
    assert_eq!(one.checksum(LEDGER), two.checksum(LEDGER));

    // Not the owner, but allowed two connections: the keys stay, and the second session loads
    // `past_race_runner` only (the foreign keys of its reports' rows would not find their race,
    // which the first session commits after them: every batch refused, then loaded object by
    // object).
    let keyed = pg::migrated_db("two_sessions_keyed");
    let (out, report) = load_as(&role_url(&keyed, 2), &lake, &["--batch-rows", "3000"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("loading with the foreign keys and indexes in place"),
        "{err}"
    );
    assert_eq!(report["sessions"], 2, "{report}");
    assert_eq!(isolated_batches(&report), 0, "{report}");
    assert_eq!(keyed.foreign_keys(), schema_keys);
    assert_eq!(keyed.indexes(), schema_indexes);
    assert_eq!(from_second_session(&keyed, "past_race_runner"), direct);
    for table in SIDE_TABLES.iter().chain(&FIRST_SESSION_TABLES) {
        assert_eq!(from_second_session(&keyed, table), 0, "{table}");
    }
    assert_eq!(keyed.contents(), two.contents());
    assert_eq!(keyed.checksum(LEDGER), two.checksum(LEDGER));
}

#[test]
fn a_batch_refused_in_either_session_of_a_first_backfill_rejects_only_its_object() {
    // R1C2's performances of the first day: a runner of its first past race is refused by a
    // rule of the database on past_race_runner (the second session's COPY: in the first batch
    // every runner is new), or its past race is refused on horse_race_history (the first
    // session's merge, while the second one's COPY succeeded), or the report of its first
    // runner, given the number 99, on performance_report (the second session's merge, after
    // the first session's work succeeded).
    for (rule, table) in [
        (
            "ALTER TABLE past_race_runner ADD CONSTRAINT no_refused_jockey CHECK (nom_jockey IS DISTINCT FROM 'REFUSED')",
            "past_race_runner",
        ),
        (
            "ALTER TABLE horse_race_history ADD CONSTRAINT no_race_of_1000_km CHECK (distance_m < 1000000)",
            "horse_race_history",
        ),
        (
            "ALTER TABLE performance_report ADD CONSTRAINT no_runner_99 CHECK (num_pmu <> 99)",
            "performance_report",
        ),
    ] {
        let (dir, spec) = lake_with(3, 3);
        let lake = Lake::new(&dir);
        let key = ObjectKey::race(spec.day(0), RaceId::new(1, 2).unwrap(), Stage::Performances);
        let mut performances = json_of(&lake, &key);
        if table == "performance_report" {
            performances["participants"][0]["numPmu"] = Value::from(99);
        }
        let past = &mut performances["participants"][0]["coursesCourues"][0];
        past["distance"] = Value::from(2_000_000);
        for runner in past["participants"].as_array_mut().unwrap() {
            runner["nomJockey"] = Value::from("REFUSED");
        }
        lake.write_body(&key, &serde_json::to_vec(&performances).unwrap())
            .unwrap();

        let two = pg::migrated_db("refused_two_sessions");
        two.client().batch_execute(rule).unwrap();
        let (out, report) = load(&two, &dir, &["--batch-rows", "1"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{table}: {err}");
        assert_eq!(report["sessions"], 2, "{table}: {report}");
        assert_eq!(objects(&report, "rejected"), 1, "{table}: {report}");
        let line = err
            .lines()
            .find(|l| l.contains("R1C2/performances.json.zst"))
            .unwrap_or_else(|| panic!("{table}: {err}"));
        assert!(line.contains(table) && line.contains("23514"), "{line}");
        assert_eq!(
            report["per_batch"][0]["isolated"], true,
            "{table}: {report}"
        );

        let one = pg::migrated_db("refused_one_session");
        one.client().batch_execute(rule).unwrap();
        let (out, report) = load_as(&one_connection_url(&one), &dir, &["--batch-rows", "1"]);
        assert_eq!(out.status.code(), Some(3), "{table}: {}", stderr(&out));
        assert_eq!(report["sessions"], 1, "{table}: {report}");
        assert_eq!(two.contents(), one.contents(), "{table}");
        // (LEDGER leaves out the reasons: they name the refused row with its surrogate id, which
        // differ.)
        assert_eq!(two.checksum(LEDGER), one.checksum(LEDGER), "{table}");
    }
}

#[test]
fn a_batch_refused_before_its_race_ids_are_read_loads_object_by_object_as_on_one_session() {
    // The first day's programme is refused on race_meeting: the first session's merge before
    // `race`, whose ids the second session waits for to load the reports.
    let (dir, spec) = lake_with(3, 3);
    let rule = format!(
        "ALTER TABLE race_meeting ADD CONSTRAINT not_the_first_day CHECK (day <> DATE '{}')",
        spec.day(0).iso()
    );
    let mut loaded = Vec::new();
    for sessions in [2, 1] {
        let db = pg::migrated_db("refused_meeting");
        db.client().batch_execute(&rule).unwrap();
        let url = if sessions == 2 {
            db.url.clone()
        } else {
            one_connection_url(&db)
        };
        let (out, report) = load_as(&url, &dir, &["--batch-rows", "1"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{err}");
        assert_eq!(report["sessions"], sessions, "{report}");
        assert_eq!(objects(&report, "rejected"), 1, "{report}");
        let line = err
            .lines()
            .find(|l| l.contains("rejected") && l.contains("programme"))
            .unwrap_or_else(|| panic!("{err}"));
        assert!(
            line.contains("race_meeting") && line.contains("23514"),
            "{line}"
        );
        assert_eq!(report["per_batch"][0]["isolated"], true, "{report}");
        loaded.push(db);
    }
    assert_eq!(loaded[0].contents(), loaded[1].contents());
    assert_eq!(loaded[0].checksum(LEDGER), loaded[1].checksum(LEDGER));
}

#[test]
fn kill_9_during_a_load_then_a_rerun_gives_the_undisturbed_result() {
    let (lake, _) = lake_with(16, 20);
    let reference = pg::migrated_db("undisturbed");
    let (out, undisturbed) = load(&reference, &lake, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The reference commits several days per transaction; the killed load one day at a time.
    let (days, batches) = (&undisturbed["days"], &undisturbed["batches"]);
    assert!(
        batches.as_u64().unwrap() < days.as_u64().unwrap(),
        "{undisturbed}"
    );

    let db = pg::migrated_db("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pmu-lake"))
        .args(["load", "--quiet", "--batch-rows", "1", "--lake"])
        .arg(&lake)
        .env("DATABASE_URL", &db.url)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once at least one day is committed, while days remain to load.
    let mut watcher = db.client();
    let all_days = undisturbed["days"].as_i64().unwrap();
    let committed_at_kill = loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the load ended before it could be killed: the kill must land mid-load"
        );
        let days: i64 = watcher
            .query_one("SELECT count(DISTINCT day) FROM load_ledger", &[])
            .unwrap()
            .get(0);
        if days >= 1 {
            child.kill().unwrap(); // SIGKILL
            break days;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let status = child.wait().unwrap();
    // The kill landed: the process died of SIGKILL, not by exiting, with days left to load.
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "{status}");
    let committed: i64 = watcher
        .query_one("SELECT count(DISTINCT day) FROM load_ledger", &[])
        .unwrap()
        .get(0);
    assert!(
        committed >= committed_at_kill && committed < all_days,
        "killed after {committed} of {all_days} days"
    );
    // Killed in its first backfill, with the foreign keys and the index set aside: the rerun
    // adds them back.
    assert_eq!(db.foreign_keys(), vec![]);
    assert!(
        !db.indexes()
            .iter()
            .any(|i| i.1 == "past_race_runner_nom_cheval")
    );
    let (out, _) = load(&db, &lake, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(db.foreign_keys(), reference.foreign_keys());
    assert_eq!(db.indexes(), reference.indexes());
    assert_eq!(
        reference.foreign_keys().len(),
        pmu_lake::load::aside::FOREIGN_KEYS.len()
    );
    assert_eq!(db.contents(), reference.contents());
    assert_eq!(db.checksum(LEDGER), reference.checksum(LEDGER));
}

#[test]
fn a_first_backfill_killed_between_its_two_commits_loads_the_rest_on_the_rerun() {
    // A first batch whose first session committed and whose second did not: what a kill -9
    // between the two commits leaves. Made here by loading the first day alone, then removing
    // what its second session wrote (every row of its tables: they were empty) and the ledger
    // rows it wrote, those of the programme, performances and rapports objects.
    let (lake, spec) = lake_with(3, 4);
    let reference = pg::migrated_db("between_reference");
    let (out, _) = load(&reference, &lake, &[]);
    assert!(out.status.success(), "{}", stderr(&out));

    let db = pg::migrated_db("between_commits");
    let first = spec.day(0).iso();
    let (out, report) = load(&db, &lake, &["--date", &first]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(report["sessions"], 2, "{report}");
    let side_ledger = "load_ledger WHERE stage IN ('programme', 'performances', 'rapports')";
    assert!(db.count(&format!("SELECT count(*) FROM {side_ledger}")) > 0);
    let objects = db.count("SELECT count(*) FROM load_ledger");
    for table in SIDE_TABLES.iter().chain(&["past_race_runner"]) {
        assert!(
            db.count(&format!("SELECT count(*) FROM {table}")) > 0,
            "{table}"
        );
        assert_eq!(
            from_second_session(&db, table),
            db.count(&format!("SELECT count(*) FROM {table}")),
            "{table}"
        );
    }
    db.client()
        .batch_execute(&format!(
            "TRUNCATE race_bet_offer, meeting_jackpot, bet_report, race_bet, performance_report,
                      past_race_runner;
             DELETE FROM {side_ledger}"
        ))
        .unwrap();
    // What the first session committed stays: the réunions and races, the runners, their past
    // races.
    assert!(db.count("SELECT count(*) FROM race") > 0);
    assert!(db.count("SELECT count(*) FROM horse_race_history") > 0);

    // The rerun reads the first day's programme again (its ledger row is missing), and with it
    // every object of the day; finds the réunions, races, runners and past races unchanged, and
    // loads the rest.
    let (out, report) = load(&db, &lake, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let first_day = &report["per_batch"][0]["days"][0];
    assert_eq!(first_day["day"], first.as_str(), "{report}");
    assert_eq!(first_day["objects"]["loaded"], objects, "{report}");
    assert_eq!(db.contents(), reference.contents());
    assert_eq!(db.checksum(LEDGER), reference.checksum(LEDGER));
}

#[test]
fn a_foreign_key_rows_break_is_named_and_stays_not_validated_and_the_load_goes_on() {
    // A row the load did not write, without its parent, under a key dropped by hand.
    let (lake, _) = lake_with(2, 2);
    let db = pg::migrated_db("broken_key");
    db.client()
        .batch_execute(
            "ALTER TABLE race_bet_offer DROP CONSTRAINT race_bet_offer_race_id_fkey;
             INSERT INTO race_bet_offer (race_id, type_pari, pool, bet_type)
             VALUES (424242, 'E_SIMPLE_GAGNANT', 'INTERNET', 'SIMPLE_GAGNANT')",
        )
        .unwrap();
    let (out, report) = load(&db, &lake, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("the foreign key race_bet_offer_race_id_fkey stays not validated")
            && err.contains("rows of race_bet_offer without their parent")
            && err.contains("23503"),
        "{err}"
    );
    assert!(table(&report, "race").1 > 0, "{report}");
    let keys = db.foreign_keys();
    assert_eq!(keys.len(), pmu_lake::load::aside::FOREIGN_KEYS.len());
    let not_validated: Vec<&str> = keys.iter().filter(|k| !k.3).map(|k| k.1.as_str()).collect();
    assert_eq!(not_validated, ["race_bet_offer_race_id_fkey"]);
}

#[test]
fn tables_in_a_schema_of_the_users_choice_get_their_foreign_keys_and_index_back_without_a_word() {
    // The user's tables in schema `pmu`, through `search_path` in the URL, as libpq allows.
    let (lake, _) = lake_with(2, 2);
    let db = pg::fresh_db("own_schema");
    db.client().batch_execute("CREATE SCHEMA pmu").unwrap();
    let sep = if db.url.contains('?') { '&' } else { '?' };
    let url = format!("{}{sep}options=-c%20search_path%3Dpmu", db.url);
    // A first backfill (keys set aside, then back), then a load that finds them all there.
    for run in 0..2 {
        let (out, report) = load_as(&url, &lake, &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{err}");
        assert!(!err.contains("foreign key"), "{err}");
        assert_eq!(objects(&report, "loaded") > 0, run == 0, "{report}");
    }
    let keys = db
        .client()
        .query_one(
            "SELECT count(*) FILTER (WHERE convalidated), count(*) FROM pg_constraint
             WHERE contype = 'f' AND connamespace = 'pmu'::regnamespace",
            &[],
        )
        .unwrap();
    let n = pmu_lake::load::aside::FOREIGN_KEYS.len() as i64;
    assert_eq!((keys.get::<_, i64>(0), keys.get::<_, i64>(1)), (n, n));
    // And the index set aside is back beside its table.
    let index = db.count(
        "SELECT count(*) FROM pg_indexes
         WHERE schemaname = 'pmu' AND indexname = 'past_race_runner_nom_cheval'",
    );
    assert_eq!(index, 1);
}

#[test]
fn a_load_that_returned_survives_a_crash_of_the_server_right_after() {
    // Batches commit without waiting for the disk; the load waits once, before it returns.
    // A server of its own, synchronous but for the load's session, whose WAL writer syncs
    // every 10 s: without that wait, the last batches' commits are written but not yet on disk
    // as the load returns.
    let cluster = pg::own_cluster(
        "crash",
        &Settings {
            unsafe_fast: false,
            extra: vec!["wal_writer_delay = '10s'".into()],
        },
    );
    cluster.start().unwrap();
    let (lake, _) = lake_with(3, 4);
    let url = cluster.url("postgres");
    let report = pg::server().scratch("crash-report").join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_pmu-lake"))
        .args(["load", "--quiet", "--batch-rows", "1", "--lake"])
        .arg(&lake)
        .arg("--report")
        .arg(&report)
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    let mut client = pmu_lake::db::Target::parse(&url)
        .unwrap()
        .connect()
        .unwrap();
    let on_disk: bool = client
        .query_one(
            "SELECT pg_current_wal_flush_lsn() >= pg_current_wal_lsn()",
            &[],
        )
        .unwrap()
        .get(0);
    drop(client);
    let crashed = cluster
        .command("pg_ctl")
        .arg("-D")
        .arg(cluster.dir())
        .args(["-m", "immediate", "-w", "stop"])
        .status()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(on_disk, "the load returned before its WAL was on disk");
    assert!(crashed.success(), "pg_ctl stop -m immediate: {crashed}");
    let report: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let loaded = objects(&report, "loaded") as i64;
    cluster.start().unwrap();
    let log = std::fs::read_to_string(cluster.dir().join("server.log")).unwrap();
    let recovered = log.contains("not properly shut down");
    let mut client = pmu_lake::db::Target::parse(&url)
        .unwrap()
        .connect()
        .unwrap();
    let mut count = |sql: &str| -> i64 { client.query_one(sql, &[]).unwrap().get(0) };
    let (days, objects) = (
        count("SELECT count(DISTINCT day) FROM load_ledger"),
        count("SELECT count(*) FROM load_ledger"),
    );
    let runners = count("SELECT count(*) FROM race_participant");
    drop(client);
    cluster.stop().unwrap();
    // The crash landed: the server went through recovery.
    assert!(recovered, "no crash recovery in the server log:\n{log}");
    assert_eq!(days, 3, "days in the ledger after the crash");
    assert_eq!(objects, loaded, "objects in the ledger after the crash");
    assert!(runners > 0);
}

/// Sum over the fixture files named `file` of one day of the fake API of `count(json)`.
fn fixture_sum(day: &str, file: &str, count: impl Fn(&Value) -> usize) -> i64 {
    let dir = crate::support::fake_api::fixtures_dir().join(day);
    let mut total = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path().join(file);
        if let Ok(bytes) = std::fs::read(&path) {
            total += count(&serde_json::from_slice(&bytes).unwrap());
        }
    }
    total as i64
}

fn len(v: &Value) -> usize {
    v.as_array().map_or(0, Vec::len)
}

#[test]
fn extract_from_the_fake_api_then_load_gives_the_expected_rows() {
    let days = ["14032025", "15032025"];
    let api = crate::support::fake_api::FakeApi::serve_days(&days);
    let lake = pg::server().scratch("e2e-lake");
    let out = Command::new(env!("CARGO_BIN_EXE_pmu-lake"))
        .args([
            "extract",
            "--quiet",
            "--start",
            days[0],
            "--end",
            days[1],
            "--delay",
            "0..0",
            "--timeout",
            "5",
        ])
        .arg("--api-base")
        .arg(api.base_url())
        .arg("--lake")
        .arg(&lake)
        .env("PMU_BACKOFF_MS", "5")
        .output()
        .unwrap();
    assert!(out.status.success(), "extract: {}", stderr(&out));

    let db = pg::migrated_db("e2e");
    let (out, report) = load(&db, &lake, &[]);
    assert!(out.status.success(), "load: {}", stderr(&out));
    assert_eq!(objects(&report, "rejected"), 0);
    let mut expected = [0i64; 4];
    for day in days {
        let dir = crate::support::fake_api::fixtures_dir().join(day);
        let programme: Value =
            serde_json::from_slice(&std::fs::read(dir.join("programme.json")).unwrap()).unwrap();
        let reunions = programme["programme"]["reunions"].as_array().unwrap();
        expected[0] += reunions.iter().map(|r| len(&r["courses"])).sum::<usize>() as i64;
        expected[1] += fixture_sum(day, "participants.json", |v| len(&v["participants"]));
        expected[2] += fixture_sum(day, "rapports.json", len);
        expected[3] += fixture_sum(day, "rapports.json", |v| {
            v.as_array()
                .map_or(0, |bets| bets.iter().map(|b| len(&b["rapports"])).sum())
        });
    }
    let actual = [
        db.count("SELECT count(*) FROM race"),
        db.count("SELECT count(*) FROM race_participant"),
        db.count("SELECT count(*) FROM race_bet"),
        db.count("SELECT count(*) FROM bet_report"),
    ];
    assert_eq!(actual, expected, "races, runners, bets, reports");
    assert_eq!(db.count("SELECT count(*) FROM daily_program"), 2);
    assert!(db.count("SELECT count(*) FROM horse_race_history") > 0);

    let (out, again) = load(&db, &lake, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(objects(&again, "loaded"), 0, "{again}");
    assert_eq!(totals(&again), (0, 0));
}

#[test]
#[ignore = "needs PMU_SAMPLES: make test-corpus"]
fn every_full_sample_loads_through_the_binary_with_the_counts_of_its_json() {
    let dir = pg::server().scratch("samples");
    let keys = crate::corpus::write_sample_lake(&dir);
    assert!(!keys.is_empty(), "no sample objects: is PMU_SAMPLES set?");
    let lake = Lake::new(&dir);
    let db = pg::migrated_db("samples_binary");
    let (out, report) = load(&db, &dir, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(objects(&report, "loaded"), keys.len() as u64, "{report}");
    let body = |k: &ObjectKey| json_of(&lake, k);
    let courses: i64 = keys
        .iter()
        .filter(|k| k.stage == Stage::Programme)
        .map(|k| {
            body(k)["programme"]["reunions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| len(&r["courses"]) as i64)
                .sum::<i64>()
        })
        .sum();
    assert_eq!(db.count("SELECT count(*) FROM race"), courses);
    let (read, inserted, _, _) = table(&report, "race_participant");
    let orphaned = table_counts(&report, "race_participant")["orphaned"]
        .as_u64()
        .unwrap();
    let runners: u64 = keys
        .iter()
        .filter(|k| k.stage == Stage::Participants)
        .map(|k| len(&body(k)["participants"]) as u64)
        .sum();
    assert_eq!(read, runners, "one staged row per runner of the JSON");
    assert_eq!(inserted + orphaned, read);
    assert_eq!(
        db.count("SELECT count(*) FROM race_participant"),
        inserted as i64
    );
    let (out, again) = load(&db, &dir, &["--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(totals(&again), (0, 0), "{again}");
}

#[test]
fn rows_orphaned_by_a_bad_programme_load_once_the_programme_is_fixed() {
    let (dir, spec) = lake_with(1, 3);
    let lake = Lake::new(&dir);
    let programme = ObjectKey::programme(spec.day(0));
    let good = pmu_lake::lake::read_body(&lake.body_path(&programme)).unwrap();
    lake.write_body(&programme, b"{\"programme\": {\"reunions\": [")
        .unwrap();

    let db = pg::migrated_db("orphans_fixed");
    let (out, first) = load(&db, &dir, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(db.count("SELECT count(*) FROM race_participant"), 0);
    let orphaned = table_counts(&first, "race_participant")["orphaned"].as_u64();
    assert_eq!(orphaned, Some(3 * 14), "{first}");

    lake.write_body(&programme, &good).unwrap();
    let (out, second) = load(&db, &dir, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        objects(&second, "loaded"),
        1 + 3 * 3,
        "the day's objects hang from its programme: {second}"
    );
    assert_eq!(db.count("SELECT count(*) FROM race_participant"), 3 * 14);
    assert!(db.count("SELECT count(*) FROM horse_race_history") > 0);
    assert!(db.count("SELECT count(*) FROM bet_report") > 0);

    let (out, third) = load(&db, &dir, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(objects(&third, "skipped"), 1 + 3 * 3, "{third}");
}

#[test]
fn a_refetched_participants_object_reloads_the_performances_of_its_race() {
    let (dir, spec) = lake_with(1, 2);
    let lake = Lake::new(&dir);
    let key = ObjectKey::race(spec.day(0), RaceId::new(1, 1).unwrap(), Stage::Participants);
    let good = pmu_lake::lake::read_body(&lake.body_path(&key)).unwrap();
    lake.write_body(&key, b"not json").unwrap();
    let db = pg::migrated_db("perf_after_participants");
    let (out, _) = load(&db, &dir, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let history_before = db.count("SELECT count(*) FROM horse_race_history");

    lake.write_body(&key, &good).unwrap();
    let (out, report) = load(&db, &dir, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    // participants, then the performances and rapports of the same race; nothing else.
    assert_eq!(objects(&report, "loaded"), 3, "{report}");
    assert!(
        db.count("SELECT count(*) FROM horse_race_history") > history_before,
        "the race's past races found their horses"
    );
}

#[test]
fn a_second_load_on_the_same_database_waits_then_stops() {
    let (lake, _) = lake_with(1, 1);
    let db = pg::migrated_db("load_lock");
    let mut holder = db.client();
    holder
        .execute(
            "SELECT pg_advisory_lock($1)",
            &[&pmu_lake::load::LOAD_LOCK_KEY],
        )
        .unwrap();
    let (out, _) = load(&db, &lake, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("another pmu-lake load is running"),
        "{}",
        stderr(&out)
    );
    assert_eq!(db.count("SELECT count(*) FROM race"), 0);
    drop(holder);
    let (out, _) = load(&db, &lake, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Loads each day of `days` in its own `pmu-lake load --date` run: no batch ever follows
/// another in the same process, so no past race is left out as already sent.
fn load_day_by_day(db: &TestDb, lake: &Path, days: &[pmu_lake::day::Day]) -> Vec<Option<i32>> {
    days.iter()
        .map(|d| {
            let (out, _) = load(db, lake, &["--date", &d.iso()]);
            if !matches!(out.status.code(), Some(0 | 3)) {
                eprintln!("{}: {}", d.iso(), stderr(&out));
            }
            out.status.code()
        })
        .collect()
}

/// Copies race R1C1's participants and performances of day 0 over those of `to`: the same
/// runners, with the same past races, race again on that day.
fn same_runners_again(lake: &Lake, spec: &Spec, to: u32) -> Value {
    let r1c1 = RaceId::new(1, 1).unwrap();
    let mut performances = Value::Null;
    for stage in [Stage::Participants, Stage::Performances] {
        let from = ObjectKey::race(spec.day(0), r1c1, stage);
        let body = pmu_lake::lake::read_body(&lake.body_path(&from)).unwrap();
        lake.write_body(&ObjectKey::race(spec.day(to), r1c1, stage), &body)
            .unwrap();
        if stage == Stage::Performances {
            performances = serde_json::from_slice(&body).unwrap();
        }
    }
    performances
}

/// A lake of one race a day over `days` days (the copied runners run nowhere else those days)
/// where R1C1's runners of day 0 race again on each day of `again`; with day 0's performances
/// and the place its first runner's first past race has once loaded (into a probe database
/// named `probe`).
fn runners_again(
    days: u32,
    again: &[u32],
    probe: &str,
) -> (PathBuf, Spec, Lake, Value, Option<i64>) {
    let (dir, spec) = lake_with(days, 1);
    let lake = Lake::new(&dir);
    let mut performances = Value::Null;
    for day in again {
        performances = same_runners_again(&lake, &spec, *day);
    }
    let db = pg::migrated_db(probe);
    load(&db, &dir, &["--date", &spec.day(0).iso()]);
    let (place, _) = first_past_place(&db, &performances);
    (dir, spec, lake, performances, place)
}

/// Sets the place of the first runner's first past race in R1C1's performances of day `on`;
/// `unnumbered`: also drops the runner's `numPmu` (the merge then finds the horse by name).
fn set_first_past_place(
    lake: &Lake,
    spec: &Spec,
    on: u32,
    performances: &Value,
    place: i64,
    unnumbered: bool,
) {
    let mut performances = performances.clone();
    if unnumbered {
        performances["participants"][0]["numPmu"] = Value::Null;
    }
    let past = &mut performances["participants"][0]["coursesCourues"][0]["participants"];
    let him = past
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["itsHim"] == true)
        .unwrap();
    him["place"]["place"] = Value::from(place);
    let key = ObjectKey::race(
        spec.day(on),
        RaceId::new(1, 1).unwrap(),
        Stage::Performances,
    );
    lake.write_body(&key, &serde_json::to_vec(&performances).unwrap())
        .unwrap();
}

/// The place and `reported_on` of the first past race of R1C1's runner 1 in `performances`
/// (the same horse on every day [`same_runners_again`] made).
fn first_past_place(db: &TestDb, performances: &Value) -> (Option<i64>, String) {
    let nom_prix = performances["participants"][0]["coursesCourues"][0]["nomPrix"]
        .as_str()
        .unwrap();
    let sql = "SELECT DISTINCT h.place::bigint, h.reported_on::text FROM horse_race_history h
         JOIN race_participant p ON p.horse_id = h.horse_id
         JOIN race r ON r.id = p.race_id
         WHERE r.num_reunion = 1 AND r.num_ordre = 1 AND p.num_pmu = 1 AND h.nom_prix = $1";
    let row = db.client().query_one(sql, &[&nom_prix]).unwrap();
    (row.get(0), row.get(1))
}

fn not_sent(report: &Value) -> u64 {
    table_counts(report, "horse_race_history")["not_sent"]
        .as_u64()
        .unwrap_or_else(|| panic!("no horse_race_history.not_sent in {report}"))
}

#[test]
fn past_races_an_earlier_batch_sent_are_not_sent_again_and_the_rows_are_the_same() {
    changed_then_changed_back("seen", false);
}

#[test]
fn a_past_race_reported_for_a_runner_without_numpmu_is_not_taken_as_known() {
    // Day 2's change comes from a row the loader cannot tie to a horse (no numPmu); the
    // merge finds the horse by name. Day 3's report must still be applied.
    changed_then_changed_back("seen_unnumbered", true);
}

/// R1C1's runners run on days 0, 2 and 3 with the same past races; day 2 reports another
/// place for one of them, day 3 the first place again. Loaded one batch a day in one run, the
/// tables must be those of one run per day, and day 3's report the one kept.
fn changed_then_changed_back(label: &str, unnumbered: bool) {
    // One race a day: the copied runners run nowhere else that day.
    let (dir, spec, lake, performances, place) =
        runners_again(4, &[2, 3], &format!("{label}_probe"));
    let other = place.map_or(1, |p| p % 7 + 1);
    set_first_past_place(&lake, &spec, 2, &performances, other, unnumbered);
    let days: Vec<_> = (0..spec.days).map(|i| spec.day(i)).collect();

    let reference = pg::migrated_db(&format!("{label}_reference"));
    assert_eq!(load_day_by_day(&reference, &dir, &days), vec![Some(0); 4]);

    let db = pg::migrated_db(&format!("{label}_batches"));
    let (out, report) = load(&db, &dir, &["--batch-rows", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(not_sent(&report) > 0, "nothing was left out: {report}");
    let runners_not_sent = table_counts(&report, "past_race_runner")["not_sent"].as_u64();
    assert!(
        runners_not_sent.is_some_and(|n| n > 0),
        "no past runner was left out: {report}"
    );
    let (read, inserted, updated, unchanged) = table(&report, "horse_race_history");
    assert_eq!(read, inserted + updated + unchanged, "{report}");
    assert!(
        updated >= 2,
        "day 2 changed a place, day 3 changed it back: {report}"
    );
    assert_eq!(db.contents(), reference.contents());
    assert_eq!(
        first_past_place(&db, &performances),
        (place, spec.day(0).iso()),
        "day 3's report is the newest; day 0's the first"
    );
}

#[test]
fn older_days_loaded_after_newer_ones_still_take_the_newest_report() {
    // One race a day: the copied runners run nowhere else that day.
    let (dir, spec, lake, performances, place) = runners_again(3, &[1, 2], "older_probe");
    set_first_past_place(
        &lake,
        &spec,
        1,
        &performances,
        place.map_or(1, |p| p % 7 + 1),
        false,
    );

    // Day 1 first; then all three days, one batch each: day 0's report is older than what
    // the table holds (ignored), day 2's is newer and must win, although it repeats day 0's.
    let db = pg::migrated_db("older_after_newer");
    let (out, _) = load(&db, &dir, &["--date", &spec.day(1).iso()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_ne!(first_past_place(&db, &performances).0, place);
    let (out, _) = load(&db, &dir, &["--batch-rows", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        first_past_place(&db, &performances),
        (place, spec.day(0).iso()),
        "day 2's values, first reported on day 0"
    );
}

#[test]
fn a_refused_object_does_not_take_with_it_the_past_races_later_days_repeat() {
    let (dir, spec) = lake_with(3, 2);
    let lake = Lake::new(&dir);
    let mut performances = same_runners_again(&lake, &spec, 1);
    same_runners_again(&lake, &spec, 2);
    // Day 0's performances of R1C1 hold a distance this database's own rule refuses.
    let last = performances["participants"][0]["coursesCourues"]
        .as_array()
        .unwrap()
        .len()
        - 1;
    performances["participants"][0]["coursesCourues"][last]["distance"] = Value::from(2_000_000);
    let key = ObjectKey::race(spec.day(0), RaceId::new(1, 1).unwrap(), Stage::Performances);
    lake.write_body(&key, &serde_json::to_vec(&performances).unwrap())
        .unwrap();
    let days: Vec<_> = (0..spec.days).map(|i| spec.day(i)).collect();

    let refuse_long_races = |db: &TestDb| {
        db.client()
            .batch_execute(
                "ALTER TABLE horse_race_history ADD CONSTRAINT no_race_of_1000_km CHECK (distance_m < 1000000)",
            )
            .unwrap();
    };
    let reference = pg::migrated_db("refused_reference");
    refuse_long_races(&reference);
    assert_eq!(
        load_day_by_day(&reference, &dir, &days),
        vec![Some(3), Some(0), Some(0)]
    );
    let db = pg::migrated_db("refused_batches");
    refuse_long_races(&db);
    let (out, report) = load(&db, &dir, &["--batch-rows", "1"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(objects(&report, "rejected"), 1, "{report}");
    assert_eq!(db.contents(), reference.contents());
}

#[test]
fn a_refreshed_programme_that_drops_a_bet_offer_deletes_it_and_keeps_the_others() {
    let (dir, spec) = lake_with(1, 3);
    let lake = Lake::new(&dir);
    let db = pg::migrated_db("bet_offers_refresh");
    let (out, first) = load(&db, &dir, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The same, refreshed below in a first backfill (`past_race_runner` emptied): its second
    // session runs the bet offers' and jackpots' merges whole, deletions included.
    let side = pg::migrated_db("bet_offers_refresh_side");
    let (out, _) = load(&side, &dir, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let races = i64::from(spec.races_per_day);
    assert_eq!(db.count("SELECT count(*) FROM race_bet_offer"), 2 * races);
    assert_eq!(
        db.count("SELECT count(*) FROM meeting_jackpot"),
        db.count("SELECT count(*) FROM race_meeting"),
        "one jackpot per réunion: {first}"
    );
    let new_tables = ["race_bet_offer", "meeting_jackpot"];
    let before: Vec<String> = new_tables.iter().map(|t| db.checksum(t)).collect();

    // Loading again (forced, so the merges run) changes nothing in the new tables.
    let (out, again) = load(&db, &dir, &["--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    for t in new_tables {
        let (read, inserted, updated, unchanged) = table(&again, t);
        assert!(
            read > 0 && (inserted, updated, unchanged) == (0, 0, read),
            "{t}: {again}"
        );
    }
    let after: Vec<String> = new_tables.iter().map(|t| db.checksum(t)).collect();
    assert_eq!(after, before, "a replay changed the new tables");

    // The refreshed programme no longer offers E_SIMPLE_GAGNANT on its first race.
    let key = ObjectKey::programme(spec.day(0));
    let mut programme = json_of(&lake, &key);
    let first_race = &mut programme["programme"]["reunions"][0]["courses"][0];
    let (r, c) = (
        first_race["numReunion"].as_i64().unwrap(),
        first_race["numOrdre"].as_i64().unwrap(),
    );
    let paris = first_race["paris"].as_array_mut().unwrap();
    paris.retain(|p| p["typePari"] != "E_SIMPLE_GAGNANT");
    assert_eq!(paris.len(), 1);
    lake.write_body(&key, &serde_json::to_vec(&programme).unwrap())
        .unwrap();
    let (out, refreshed) = load(&db, &dir, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let offers_of = |type_pari: &str| {
        db.count(&format!(
            "SELECT count(*) FROM race_bet_offer o JOIN race x ON x.id = o.race_id
             WHERE x.num_reunion = {r} AND x.num_ordre = {c} AND o.type_pari = '{type_pari}'"
        ))
    };
    assert_eq!(
        offers_of("E_SIMPLE_GAGNANT"),
        0,
        "the dropped offer is deleted"
    );
    assert_eq!(offers_of("SIMPLE_GAGNANT"), 1, "its race keeps the other");
    assert_eq!(
        db.count("SELECT count(*) FROM race_bet_offer"),
        2 * races - 1,
        "the other races keep theirs"
    );
    assert_eq!(
        table(&refreshed, "race_bet_offer"),
        (2 * races as u64 - 1, 0, 0, 2 * races as u64 - 1)
    );
    assert_eq!(db.checksum("meeting_jackpot"), before[1]);

    side.client()
        .batch_execute("TRUNCATE past_race_runner")
        .unwrap();
    let (out, refreshed) = load(&side, &dir, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(refreshed["sessions"], 2, "{refreshed}");
    assert_eq!(
        table(&refreshed, "race_bet_offer"),
        (2 * races as u64 - 1, 0, 0, 2 * races as u64 - 1)
    );
    for t in new_tables {
        assert_eq!(side.content_checksum(t), db.content_checksum(t), "{t}");
        assert!(from_second_session(&side, t) > 0, "{t}");
    }
}

#[test]
fn update_loads_a_partial_extract_and_exits_with_the_worse_code() {
    use crate::support::fake_api::{FakeApi, Reply, race_path};
    let days = ["14032025", "15032025"];
    let api = FakeApi::serve_days(&days);
    // One race's participants keep failing: the extract is partial.
    let failing = race_path(days[0], 1, 1, "participants");
    let healthy = std::fs::read(
        crate::support::fake_api::fixtures_dir()
            .join(days[0])
            .join("R1C1/participants.json"),
    )
    .unwrap();
    api.route(&failing, vec![Reply::Empty(500)]);
    let lake = pg::server().scratch("update-lake");
    let db = pg::fresh_db("update");
    let update = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pmu-lake"))
            .args(["update", "--quiet", "--start", days[0], "--end", days[1]])
            .args(["--delay", "0..0", "--timeout", "5", "--retries", "2"])
            .arg("--api-base")
            .arg(api.base_url())
            .arg("--lake")
            .arg(&lake)
            .args(extra)
            .env("DATABASE_URL", &db.url)
            .env("PMU_BACKOFF_MS", "5")
            .output()
            .unwrap()
    };
    let out = update(&[]);
    let summary = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{summary}\n{}", stderr(&out));
    assert!(
        summary.contains("update: extract partial (exit 3), load complete"),
        "{summary}"
    );
    // Everything that was fetched is loaded: both days, every race of the programmes.
    assert_eq!(db.count("SELECT count(*) FROM daily_program"), 2);
    assert!(db.count("SELECT count(*) FROM race_participant") > 0);
    assert!(api.count(&failing) >= 2, "the failing object was asked");

    // The API heals: the next run fetches what was missing, loads it, and exits 0.
    api.route(&failing, vec![Reply::json(healthy)]);
    let before = db.count("SELECT count(*) FROM race_participant");
    let out = update(&[]);
    let summary = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{summary}\n{}", stderr(&out));
    assert!(
        summary.contains("update: extract complete, load complete"),
        "{summary}"
    );
    assert!(db.count("SELECT count(*) FROM race_participant") > before);

    // A usage error stops it before anything is asked.
    let asked = api.requests().len();
    let out = update(&["--workers", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(api.requests().len(), asked);
    // So does a bad database URL: found before the crawl, not after it.
    let out = update(&["--database-url", "postgres://u@h/pmu?sslmode=sometimes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("unknown sslmode"), "{}", stderr(&out));
    assert_eq!(api.requests().len(), asked);
}

#[test]
fn a_failure_that_is_not_about_the_data_stops_the_load_with_its_cause() {
    // Another session holds `race` locked; the load's session gives up waiting after 300 ms
    // (PGOPTIONS, as a user would set it). A lock timeout is no object's fault: the load must
    // stop with that cause (exit 1) and mark nothing rejected, not isolate every object.
    let (lake, _) = lake_with(2, 3);
    let db = pg::migrated_db("not_data");
    let mut holder = db.client();
    let mut tx = holder.transaction().unwrap();
    tx.batch_execute("LOCK TABLE race IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pmu-lake"))
        .args(["load", "--quiet", "--lake"])
        .arg(&lake)
        .env("DATABASE_URL", &db.url)
        .env("PGOPTIONS", "-c lock_timeout=300ms")
        .output()
        .unwrap();
    tx.rollback().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("lock timeout") && err.contains("55P03"),
        "{err}"
    );
    assert_eq!(db.count("SELECT count(*) FROM load_ledger"), 0, "{err}");
    // Once the lock is gone, the same load goes through.
    let (out, report) = load(&db, &lake, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(objects(&report, "rejected"), 0);
}

#[test]
fn a_bad_report_path_stops_before_any_work_and_missing_days_are_named() {
    let (lake, _) = lake_with(2, 2);
    let db = pg::migrated_db("report_path");
    let out = Command::new(env!("CARGO_BIN_EXE_pmu-lake"))
        .args([
            "load",
            "--quiet",
            "--report",
            "/nonexistent/dir/report.json",
            "--lake",
        ])
        .arg(&lake)
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--report /nonexistent/dir/report.json"));
    assert_eq!(db.count("SELECT count(*) FROM load_ledger"), 0);

    // Days asked for that the lake does not hold are named, and the run is partial.
    let (out, report) = load(
        &db,
        &lake,
        &["--start", "2024-12-30", "--end", "2025-01-01"],
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{summary}{}", stderr(&out));
    assert!(
        summary.contains("the lake holds nothing for 2 days asked for: 2024-12-30..2024-12-31"),
        "{summary}"
    );
    assert_eq!(
        report["missing_days"],
        serde_json::json!(["2024-12-30", "2024-12-31"])
    );
    // A file given as the lake is a usage error that says so.
    let out = Command::new(env!("CARGO_BIN_EXE_pmu-lake"))
        .args(["load", "--lake", "Cargo.toml"])
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is not a directory"),
        "{}",
        stderr(&out)
    );
}

/// The attributes `ORDRE`, the shared horse of [`disagreeing_horse`], has in race `k` of day `i`:
/// the breed grows and the coat code shrinks with the race, the country is sent on even days
/// only, so neither a column-wise `min()` nor "the first value loaded" gives one race's row.
fn ordre_attributes(i: u32, k: usize, tag: &str) -> (String, Option<String>, String, String) {
    let pays = i.is_multiple_of(2).then(|| format!("PAYS {i}"));
    let code = format!("{:03}", 900 - 10 * i as usize - k);
    (
        format!("BREED {i}.{k}{tag}"),
        pays,
        code,
        format!("COAT {i}.{k}{tag}"),
    )
}

/// The races of `day` with a participants object, in order.
fn participants_races(lake: &Lake, day: pmu_lake::day::Day) -> Vec<RaceId> {
    let mut races: Vec<RaceId> = lake
        .objects(day)
        .expect("listing a day")
        .into_iter()
        .filter(|o| o.marker.is_none() && o.key.stage == Stage::Participants)
        .filter_map(|o| o.key.race)
        .collect();
    races.sort();
    races
}

/// Rewrites the participants of every race of days `days` so that runner 1 is the same horse,
/// `ORDRE`, described differently in each race ([`ordre_attributes`]); its past races are
/// dropped from the performances, so only `horse` tells the payloads apart. Returns the
/// attributes of the horse's latest race (the greatest day, R, C).
fn disagreeing_horse(
    lake: &Lake,
    spec: &Spec,
    days: impl Iterator<Item = u32>,
    tag: &str,
) -> (String, Option<String>, String, String) {
    let mut latest = None;
    for i in days {
        let day = spec.day(i);
        for (k, race) in participants_races(lake, day).into_iter().enumerate() {
            let (breed, pays, code, coat) = ordre_attributes(i, k, tag);
            let key = ObjectKey::race(day, race, Stage::Participants);
            let mut v = json_of(lake, &key);
            let runner = &mut v["participants"][0];
            assert_eq!(runner["numPmu"], 1);
            for (k, s) in [
                ("idCheval", "ORDRE-MERE-PERE"),
                ("nom", "ORDRE"),
                ("nomMere", "MERE"),
                ("nomPere", "PERE"),
                ("race", breed.as_str()),
            ] {
                runner[k] = Value::from(s);
            }
            runner["robe"] =
                serde_json::json!({"code": code, "libelleCourt": coat, "libelleLong": coat});
            match &pays {
                Some(p) => runner["pays"] = Value::from(p.as_str()),
                None => {
                    runner.as_object_mut().unwrap().remove("pays");
                }
            }
            lake.write_body(&key, &serde_json::to_vec(&v).unwrap())
                .unwrap();
            let key = ObjectKey::race(day, race, Stage::Performances);
            let mut v = json_of(lake, &key);
            for p in v["participants"].as_array_mut().unwrap() {
                if p["numPmu"] == 1 {
                    p["coursesCourues"] = Value::Array(vec![]);
                }
            }
            lake.write_body(&key, &serde_json::to_vec(&v).unwrap())
                .unwrap();
            latest = Some((breed, pays, code, coat));
        }
    }
    latest.expect("at least one race")
}

/// (race, pays, robe_code, robe_libelle) of `ORDRE` in `db`.
fn ordre_row(db: &TestDb) -> (String, Option<String>, String, String) {
    let row = db
        .client()
        .query_one(
            "SELECT race, pays, robe_code, robe_libelle FROM horse WHERE id_cheval = 'ORDRE-MERE-PERE'",
            &[],
        )
        .expect("the shared horse is loaded");
    (row.get(0), row.get(1), row.get(2), row.get(3))
}

/// (table, rows, content checksum) of every table.
type Contents = Vec<(String, i64, String)>;

#[test]
fn every_table_is_the_same_whatever_the_order_of_loading_and_the_batch_size() {
    let (dir, spec) = lake_with(4, 3);
    let lake = Lake::new(&dir);
    let latest = disagreeing_horse(&lake, &spec, 0..spec.days, "");
    let day = |i: u32| spec.day(i);
    // One race lists its last runner twice, word for word: a first backfill stages that race's
    // runners for the merge, and copies the others' straight into race_participant.
    let race = participants_races(&lake, day(1))[0];
    let key = ObjectKey::race(day(1), race, Stage::Participants);
    let mut twice = json_of(&lake, &key);
    let runners = twice["participants"].as_array_mut().unwrap();
    runners.push(runners.last().unwrap().clone());
    let staged = runners.len() as i64 - 1;
    lake.write_body(&key, &serde_json::to_vec(&twice).unwrap())
        .unwrap();

    let mut loads: Vec<(&str, Contents)> = Vec::new();
    for (name, extra) in [
        ("one go", &[][..]),
        ("--batch-rows 1", &["--batch-rows", "1"][..]),
    ] {
        let db = pg::migrated_db("order");
        let (out, report) = load(&db, &dir, extra);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        assert_eq!(
            ordre_row(&db),
            latest,
            "{name}: the latest race's row, whole"
        );
        // Into an empty table, every new runner of a past race is copied straight in, and
        // the tables are the same as when they all go through staging (the loads below).
        let runners = table_counts(&report, "past_race_runner");
        assert_eq!(
            (runners["direct"].as_i64(), runners["inserted"].as_i64()),
            (
                Some(db.count("SELECT count(*) FROM past_race_runner")),
                Some(db.count("SELECT count(*) FROM past_race_runner"))
            ),
            "{name}: {report}"
        );
        let participants = table_counts(&report, "race_participant");
        let count = db.count("SELECT count(*) FROM race_participant");
        assert_eq!(
            (
                participants["direct"].as_i64(),
                participants["inserted"].as_i64(),
                participants["read"].as_i64()
            ),
            (Some(count - staged), Some(count), Some(count)),
            "{name}: {report}"
        );
        eprintln!("{name}: {:?}", db.contents());
        loads.push((name, db.contents()));
    }
    for (name, order) in [
        ("day by day", [0, 1, 2, 3]),
        ("reverse", [3, 2, 1, 0]),
        ("shuffled", [2, 0, 3, 1]),
    ] {
        let db = pg::migrated_db("order");
        let codes = load_day_by_day(&db, &dir, &order.map(day)[..1]);
        // A load into a table that is not empty sends every runner through staging.
        let (out, report) = load(&db, &dir, &["--date", &day(order[1]).iso()]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        let runners = table_counts(&report, "past_race_runner");
        assert!(runners["inserted"].as_i64() > Some(0), "{name}: {report}");
        assert_eq!(runners["direct"].as_i64(), Some(0), "{name}: {report}");
        let participants = table_counts(&report, "race_participant");
        assert!(
            participants["inserted"].as_i64() > Some(0),
            "{name}: {report}"
        );
        assert_eq!(participants["direct"].as_i64(), Some(0), "{name}: {report}");
        let codes = [codes, load_day_by_day(&db, &dir, &order.map(day)[2..])].concat();
        assert!(codes.iter().all(|c| *c == Some(0)), "{name}: {codes:?}");
        assert_eq!(
            ordre_row(&db),
            latest,
            "{name}: the latest race's row, whole"
        );
        eprintln!("{name}: {:?}", db.contents());
        loads.push((name, db.contents()));
    }
    for (name, contents) in &loads {
        eprintln!("{name}:");
        for (table, rows, sum) in contents {
            eprintln!("  {table:<20} {rows:>6} {sum}");
        }
    }
    assert_all_the_same(&loads);
}

/// Every load's contents equal the first's.
fn assert_all_the_same<N: std::fmt::Display>(loads: &[(N, Contents)]) {
    let (first, expected) = &loads[0];
    for (name, contents) in &loads[1..] {
        assert_eq!(contents, expected, "{name} differs from {first}");
    }
}

#[test]
fn a_runner_listed_twice_in_a_report_keeps_the_same_copy_whatever_their_order() {
    let (dir, spec) = lake_with(1, 1);
    let lake = Lake::new(&dir);
    let key = ObjectKey::race(spec.day(0), RaceId::new(1, 1).unwrap(), Stage::Performances);
    let mut performances = json_of(&lake, &key);
    // The second runner's report under the first one's number: two reports of one runner,
    // with different past races.
    let first = performances["participants"][0]["numPmu"].clone();
    performances["participants"][1]["numPmu"] = first.clone();
    let mut loads = Vec::new();
    for name in ["as sent", "swapped"] {
        lake.write_body(&key, &serde_json::to_vec(&performances).unwrap())
            .unwrap();
        let db = pg::migrated_db("twice");
        let (out, _) = load(&db, &dir, &[]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        let reports = db.count(&format!(
            "SELECT count(*) FROM performance_report WHERE num_pmu = {first}"
        ));
        assert_eq!(reports, 1, "{name}");
        loads.push((name, db.contents()));
        performances["participants"]
            .as_array_mut()
            .unwrap()
            .swap(0, 1);
    }
    assert_all_the_same(&loads);
}

#[test]
fn a_corrected_latest_race_reaches_horse_and_an_older_one_does_not() {
    let (dir, spec) = lake_with(2, 2);
    let lake = Lake::new(&dir);
    disagreeing_horse(&lake, &spec, 0..spec.days, "");
    let db = pg::migrated_db("horse-correction");
    let (out, _) = load(&db, &dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // The API corrects the latest day: its objects are fetched again with other values.
    let corrected = disagreeing_horse(&lake, &spec, 1..2, " CORRECTED");
    let (out, report) = load(&db, &dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(ordre_row(&db), corrected, "{report}");
    assert_eq!(
        db.count(
            "SELECT count(*) FROM horse WHERE id_cheval = 'ORDRE-MERE-PERE'
               AND (source_day, source_num_pmu) = (DATE '2025-01-02', 1)"
        ),
        1,
        "the source is the latest day's race"
    );

    // A correction of an older day changes nothing: the latest race still describes the horse.
    disagreeing_horse(&lake, &spec, 0..1, " OLD");
    let (out, report) = load(&db, &dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(ordre_row(&db), corrected, "{report}");
}

/// Removes `idCheval` from runner 1 (`ORDRE`) in the participants of day `i`, as 2018 payloads
/// lack it: the loader computes the same key, `ORDRE-MERE-PERE`, and flags it computed.
fn without_id_cheval(lake: &Lake, spec: &Spec, i: u32) {
    let day = spec.day(i);
    for race in participants_races(lake, day) {
        let key = ObjectKey::race(day, race, Stage::Participants);
        let mut v = json_of(lake, &key);
        let runner = v["participants"][0].as_object_mut().unwrap();
        assert!(runner.remove("idCheval").is_some());
        lake.write_body(&key, &serde_json::to_vec(&v).unwrap())
            .unwrap();
    }
}

/// (id_cheval_computed, source_day) of `ORDRE` in `db`.
fn ordre_flag(db: &TestDb) -> (bool, String) {
    let row = db
        .client()
        .query_one(
            "SELECT id_cheval_computed, source_day::text FROM horse WHERE id_cheval = 'ORDRE-MERE-PERE'",
            &[],
        )
        .expect("the shared horse is loaded");
    (row.get(0), row.get(1))
}

#[test]
fn a_horse_key_is_computed_only_while_every_payload_lacked_id_cheval_in_any_order() {
    let (dir, spec) = lake_with(2, 2);
    let lake = Lake::new(&dir);
    let latest = disagreeing_horse(&lake, &spec, 0..spec.days, "");
    let (old, new) = (spec.day(0).iso(), spec.day(1).iso());
    let one_day = |db: &TestDb, day: &str| {
        let (out, report) = load(db, &dir, &["--date", day]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        report
    };

    // The newest day lacks idCheval. Alone, it gives a computed key.
    without_id_cheval(&lake, &spec, 1);
    let db = pg::migrated_db("computed-newest");
    one_day(&db, &new);
    assert_eq!(ordre_flag(&db), (true, new.clone()));
    // An older payload that sends idCheval clears the flag and leaves the attributes alone.
    let report = one_day(&db, &old);
    assert_eq!(ordre_flag(&db), (false, new.clone()), "{report}");
    assert_eq!(ordre_row(&db), latest, "{report}");
    let (_, _, updated, _) = table(&report, "horse");
    assert!(updated >= 1, "the flag cleared is an update: {report}");
    // In day order, the newest payload replaces the attributes but not the flag.
    let in_order = pg::migrated_db("computed-newest-in-order");
    one_day(&in_order, &old);
    assert_eq!(ordre_flag(&in_order), (false, old.clone()));
    one_day(&in_order, &new);
    assert_eq!(ordre_flag(&in_order), (false, new.clone()));
    assert_eq!(ordre_row(&in_order), latest);
    // All at once: the same row.
    let all = pg::migrated_db("computed-newest-all");
    let (out, _) = load(&all, &dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(ordre_flag(&all), (false, new.clone()));
    assert_eq!(ordre_row(&all), latest);

    // The older day lacks idCheval instead: loaded first, then the newer one clears the flag
    // as it replaces the attributes.
    disagreeing_horse(&lake, &spec, 0..spec.days, "");
    without_id_cheval(&lake, &spec, 0);
    let db = pg::migrated_db("computed-oldest");
    let report = one_day(&db, &old);
    assert_eq!(ordre_flag(&db), (true, old.clone()));
    assert!(table(&report, "horse").1 > 0, "{report}");
    one_day(&db, &new);
    assert_eq!(ordre_flag(&db), (false, new.clone()));
    assert_eq!(ordre_row(&db), latest);
    // Loaded again, nothing changes: no update.
    let (out, report) = load(&db, &dir, &["--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(table(&report, "horse").2, 0, "{report}");
    assert_eq!(ordre_flag(&db), (false, new));
}

/// Sets the arrival of R1C1 on day 0: the programme's `ordreArrivee` to `programme`, and the
/// participants' `ordreArrivee` to `ranks` (numPmu, rank); every other runner is unranked.
fn set_arrival(lake: &Lake, spec: &Spec, programme: Value, ranks: &[(u32, i64)]) {
    let day = spec.day(0);
    let key = ObjectKey::programme(day);
    let mut v = json_of(lake, &key);
    let course = v["programme"]["reunions"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["numOfficiel"] == 1)
        .unwrap()["courses"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["numOrdre"] == 1)
        .unwrap();
    course["ordreArrivee"] = programme;
    lake.write_body(&key, &serde_json::to_vec(&v).unwrap())
        .unwrap();

    let key = ObjectKey::race(day, RaceId::new(1, 1).unwrap(), Stage::Participants);
    let mut v = json_of(lake, &key);
    for p in v["participants"].as_array_mut().unwrap() {
        let p = p.as_object_mut().unwrap();
        p.remove("ordreArrivee");
        if let Some(&(_, rank)) = ranks.iter().find(|(n, _)| p["numPmu"] == *n) {
            p.insert("ordreArrivee".into(), Value::from(rank));
        }
    }
    lake.write_body(&key, &serde_json::to_vec(&v).unwrap())
        .unwrap();
}

/// `num_pmu:rank:dead_heat` of R1C1's arrival on day 0, in rank then num_pmu order.
fn arrival(db: &TestDb, spec: &Spec) -> Vec<String> {
    db.client()
        .query(
            "SELECT a.num_pmu || ':' || a.rank || ':' || a.dead_heat FROM race_arrival a
             JOIN race r ON r.id = a.race_id
             WHERE r.day = $1::text::date AND r.num_reunion = 1 AND r.num_ordre = 1
             ORDER BY a.rank, a.num_pmu",
            &[&spec.day(0).iso()],
        )
        .expect("reading race_arrival")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[test]
fn race_arrival_completes_a_partial_programme_with_the_participants_ranks() {
    let (dir, spec) = lake_with(1, 2);
    let lake = Lake::new(&dir);
    // The programme lists 4 finishers with a dead heat for 2nd; the participants rank 8, and
    // count on after the dead heat (3, not 4), with another dead heat for their 5th place.
    set_arrival(
        &lake,
        &spec,
        serde_json::json!([[3], [1, 4], [2]]),
        &[
            (3, 1),
            (1, 2),
            (4, 2),
            (2, 3),
            (5, 4),
            (6, 5),
            (7, 5),
            (8, 6),
        ],
    );
    let db = pg::migrated_db("arrival");
    let (out, _) = load(&db, &dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        arrival(&db, &spec),
        [
            "3:1:false",
            "1:2:true",
            "4:2:true",
            "2:4:false",
            "5:5:false",
            "6:6:true",
            "7:6:true",
            "8:8:false",
        ],
        "competition ranking over the programme's order, then the participants'"
    );
    assert_eq!(
        db.count(
            "SELECT count(*) FROM race_arrival a JOIN race r ON r.id = a.race_id
             WHERE r.day = DATE '2025-01-01' AND r.num_reunion = 1 AND r.num_ordre = 1
               AND a.source = 'programme'"
        ),
        4,
        "the programme gives its 4 finishers"
    );
}

#[test]
fn race_arrival_without_a_programme_order_ranks_the_participants() {
    let (dir, spec) = lake_with(1, 2);
    let lake = Lake::new(&dir);
    set_arrival(&lake, &spec, Value::Null, &[(2, 1), (5, 1), (1, 2), (3, 3)]);
    let db = pg::migrated_db("arrival-participants");
    let (out, _) = load(&db, &dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        arrival(&db, &spec),
        ["2:1:true", "5:1:true", "1:3:false", "3:4:false"]
    );
}

#[test]
fn objects_of_an_older_mapping_are_re_derived_without_force_and_nothing_else_moves() {
    let (lake, _) = lake_with(3, 4);
    let db = pg::migrated_db("mapping_version");
    let (out, first) = load(&db, &lake, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let before = db.checksums();
    let current = |stage: &str| {
        db.count(&format!(
            "SELECT count(*) FROM load_ledger WHERE stage = '{stage}' AND status = 'loaded'"
        ))
    };
    let rapports = current("rapports") as u64;
    assert!(rapports > 0);
    assert_eq!(objects(&first, "reprocessed"), 0, "{first}");

    // As after an upgrade that raised the rapports mapping: their ledger rows are older.
    db.client()
        .batch_execute("UPDATE load_ledger SET mapping_version = 0 WHERE stage = 'rapports'")
        .unwrap();
    let (out, again) = load(&db, &lake, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(objects(&again, "reprocessed"), rapports, "{again}");
    assert_eq!(objects(&again, "loaded"), rapports, "{again}");
    assert_eq!(
        objects(&again, "skipped"),
        objects(&first, "loaded") - rapports,
        "{again}"
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains(&format!("{rapports} reprocessed: a newer mapping")),
        "{summary}"
    );
    assert_eq!(
        db.checksums(),
        before,
        "re-deriving the same mapping changed rows"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM load_ledger WHERE mapping_version < 1"),
        0,
        "the ledger records the current version"
    );

    // Participants of an older mapping take the later stages of their race with them.
    db.client()
        .batch_execute("UPDATE load_ledger SET mapping_version = 2 WHERE stage = 'participants'")
        .unwrap();
    let (out, third) = load(&db, &lake, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let participants = current("participants") as u64;
    assert_eq!(objects(&third, "reprocessed"), participants, "{third}");
    assert_eq!(
        objects(&third, "loaded"),
        participants + current("performances") as u64 + rapports,
        "{third}"
    );
    assert_eq!(db.checksums(), before);
    // And a replay after that skips everything.
    let (out, fourth) = load(&db, &lake, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(objects(&fourth, "loaded"), 0, "{fourth}");
}

#[test]
fn the_reference_odds_trend_loads_with_its_runner() {
    let (dir, spec) = lake_with(1, 1);
    let lake = Lake::new(&dir);
    let key = ObjectKey::race(spec.day(0), RaceId::new(1, 1).unwrap(), Stage::Participants);
    let mut participants = json_of(&lake, &key);
    let runners = participants["participants"].as_array_mut().unwrap();
    for (runner, trend) in runners.iter_mut().zip(["-", " "]) {
        runner["dernierRapportReference"]["indicateurTendance"] = Value::from(trend);
    }
    lake.write_body(&key, &serde_json::to_vec(&participants).unwrap())
        .unwrap();
    let db = pg::migrated_db("reference_trend");
    let (out, _) = load(&db, &dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let trends: Vec<Option<String>> = db
        .client()
        .query(
            "SELECT cote_reference_tendance FROM race_participant ORDER BY num_pmu LIMIT 3",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        trends,
        [Some("-".to_string()), Some(" ".to_string()), None],
        "as sent, a space kept; NULL where the payload has no trend"
    );
}

/// A lake holding the fixture day `tests/fixtures/payloads/2026-02-14` (galop, with the fields
/// of migration 0008) under each of `days`.
fn fixture_lake(days: &[&str]) -> PathBuf {
    let dir = pg::server().scratch("lake");
    let lake = Lake::new(&dir);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/payloads/2026-02-14");
    for day in days {
        let day: pmu_lake::day::Day = day.parse().unwrap();
        let read = |rel: &str| std::fs::read(fixtures.join(rel)).unwrap();
        lake.write_body(&ObjectKey::programme(day), &read("programme.json"))
            .unwrap();
        for (r, c) in [(1, 1), (1, 2)] {
            for stage in [Stage::Participants, Stage::Performances] {
                let key = ObjectKey::race(day, RaceId::new(r, c).unwrap(), stage);
                lake.write_body(&key, &read(&format!("R{r}C{c}/{stage}.json")))
                    .unwrap();
            }
        }
    }
    dir
}

fn texts(db: &TestDb, sql: &str) -> Vec<String> {
    db.client()
        .query(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[test]
fn the_fields_of_migration_0008_load_from_payloads_in_the_real_shapes() {
    let dir = fixture_lake(&["2026-02-14"]);
    let db = pg::migrated_db("more_fields");
    let (out, report) = load(&db, &dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    assert_eq!(
        texts(
            &db,
            "SELECT num_pmu || ' ' || coalesce(cote_reference_tendance_pct::text, '-') || ' '
                    || coalesce(distance_cheval_precedent_code::text, '-') || ' '
                    || coalesce(distance_cheval_precedent_identifiant, '-') || ' '
                    || coalesce(poids_condition_monte_change::text, '-') || ' '
                    || coalesce(substring(url_casaque from '[^/]*$'), '-')
             FROM race_participant p JOIN race r ON r.id = p.race_id
             WHERE r.num_reunion = 1 AND r.num_ordre = 1 ORDER BY num_pmu"
        ),
        [
            "1 -1.28 33 TROIS_QUARTS_DE_LONGUEUR true P1.png",
            "2 0 5 COURTE_TETE false P2.png",
            "3 - - - - -"
        ]
    );
    assert_eq!(
        texts(
            &db,
            "SELECT num_reunion || 'C' || num_ordre || ' ' || paris_evenement::text || ' '
                    || coalesce(details_indicateur_evenement_arrivee_provisoire, '-') || ' '
                    || coalesce(grand_prix_national_trot::text, '-')
             FROM race ORDER BY num_reunion, num_ordre"
        ),
        [
            "1C1 {PICK5} TERMINEE AVEC MODIFICATION false",
            "1C2 {E_PICK5,E_QUINTE_PLUS,QUINTE_PLUS} - false",
            "3C1 {} - true",
            "3C2 {} - -"
        ]
    );
    assert_eq!(
        db.count("SELECT count(*) FROM race WHERE 'QUINTE_PLUS' = ANY (paris_evenement)"),
        1
    );
    assert_eq!(
        texts(
            &db,
            "SELECT num_officiel || ':' || coalesce(num_officiel_reunion_precedente::text, '-') || ':'
                    || coalesce(num_officiel_reunion_suivante::text, '-')
             FROM race_meeting ORDER BY num_officiel"
        ),
        ["1:-:3", "3:1:-"]
    );
    assert_eq!(
        texts(
            &db,
            "SELECT type_pari || ' ' || valeurs_flexi_autorisees::text || ' '
                    || coalesce(jackpot_mise_base_cts::text, '-') || ' '
                    || coalesce(jackpot_taux_numerateur || '/' || jackpot_taux_denominateur, '-') || ' '
                    || coalesce(jackpot_taux_valeur::text, '-') || ' '
                    || coalesce(option_max_tirage->1->>'coef', '-')
             FROM race_bet_offer ORDER BY type_pari"
        ),
        [
            "E_SIMPLE_GAGNANT {} - - - -",
            "PICK5 {25,50,75,100} 200 - 25 -",
            "QUINTE_PLUS {25,50} 150 1/3 - 10.0"
        ]
    );
    assert_eq!(
        db.count("SELECT count(*) FROM horse_race_history WHERE allure = 'GALOP'"),
        4
    );

    // Three horses of the day ran the Deauville race (two in R1C1, one in R1C2): 11 rows
    // listed, 5 runners, each stored once.
    assert_eq!(table(&report, "past_race_runner"), (7, 7, 0, 0));
    let deauville =
        "FROM past_race_runner WHERE race_date = '2026-01-20' AND hippodrome = 'DEAUVILLE'
                       AND nom_prix = 'PRIX DE DEAUVILLE'";
    assert_eq!(
        texts(
            &db,
            &format!(
                "SELECT nom_cheval || ' ' || num_pmu || ' ' || coalesce(place::text, place_raw) || ' '
                        || corde || ' ' || poids_jockey_hg || ' ' || nom_jockey || ' '
                        || coalesce(distance_avec_precedent_long, '-') || ' ' || reported_on
                 {deauville} ORDER BY nom_cheval"
            )
        ),
        [
            "ALPHA GALOP 2 DP 9 570 S. PASQUIER - 2026-02-14",
            "BRAVO GALOP 7 2 11 560 M. GUYON une encolure 2026-02-14",
            "DELTA GALOP 9 5 14 555 A. LEMAITRE deux longueurs 2026-02-14",
            "X1 WINNER 4 1 3 575 M. BARZALONA - 2026-02-14",
            "X3 THIRD 1 3 1 580 C. SOUMILLON une longueur 2026-02-14"
        ]
    );
    // The past race's runners join the history rows of each horse that ran it.
    assert_eq!(
        db.count(
            "SELECT count(*) FROM horse_race_history h JOIN past_race_runner p USING (race_date, hippodrome, nom_prix)
             WHERE p.nom_cheval = 'X1 WINNER'"
        ),
        3
    );
    assert_eq!(
        db.count("SELECT count(*) FROM past_race_runner WHERE nom_prix = 'PRIX DE PAU'"),
        2,
        "a listed runner without a name has no key and is left out"
    );

    // Loading again writes nothing.
    let (out, again) = load(&db, &dir, &["--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(table(&again, "past_race_runner"), (7, 0, 0, 7));
}

/// The performances of `day` in the fixture lake, with X1 WINNER's jockey in the Deauville race
/// set to `jockey` in every report that lists it (three horses', in R1C1 and R1C2).
fn set_winner_jockey(dir: &Path, day: &str, jockey: &str) {
    for c in [1, 2] {
        set_winner_jockey_in(dir, day, RaceId::new(1, c).unwrap(), jockey);
    }
}

fn set_winner_jockey_in(dir: &Path, day: &str, race: RaceId, jockey: &str) {
    let lake = Lake::new(dir);
    let key = ObjectKey::race(day.parse().unwrap(), race, Stage::Performances);
    let mut v = json_of(&lake, &key);
    for runner in v["participants"].as_array_mut().unwrap() {
        for past in runner["coursesCourues"].as_array_mut().unwrap() {
            for p in past["participants"].as_array_mut().unwrap() {
                if p["nomCheval"] == "X1 WINNER" {
                    p["nomJockey"] = Value::from(jockey);
                }
            }
        }
    }
    lake.write_body(&key, &serde_json::to_vec(&v).unwrap())
        .unwrap();
}

#[test]
fn a_past_race_runner_takes_the_newest_report_whatever_the_load_order() {
    let days = ["2026-02-14", "2026-02-21"];
    let dir = fixture_lake(&days);
    set_winner_jockey(&dir, "2026-02-14", "OLD JOCKEY");
    set_winner_jockey(&dir, "2026-02-21", "NEW JOCKEY");
    let winner = "SELECT nom_jockey || ' ' || reported_on FROM past_race_runner WHERE nom_cheval = 'X1 WINNER'";
    let day = |s: &str| -> pmu_lake::day::Day { s.parse().unwrap() };
    for (name, order) in [("in order", [0, 1]), ("newest first", [1, 0])] {
        let db = pg::migrated_db("past_runner_order");
        let codes = load_day_by_day(&db, &dir, &order.map(|i| day(days[i])));
        assert!(codes.iter().all(|c| *c == Some(0)), "{name}: {codes:?}");
        assert_eq!(texts(&db, winner), ["NEW JOCKEY 2026-02-14"], "{name}");
        assert_eq!(
            db.count("SELECT count(*) FROM past_race_runner"),
            7,
            "{name}"
        );
    }
    // Both days at once: the newest day's values, first reported on the first day.
    let db = pg::migrated_db("past_runner_once");
    let (out, _) = load(&db, &dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(texts(&db, winner), ["NEW JOCKEY 2026-02-14"]);
}

#[test]
fn a_database_of_the_previous_mapping_gets_the_new_fields_on_the_next_load() {
    let dir = fixture_lake(&["2026-02-14"]);
    let db = pg::migrated_db("more_fields_rederive");
    let (out, _) = load(&db, &dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let full = db.contents();
    // As a database loaded before this release: the new columns empty, no past runners, and
    // the ledger at the previous versions (programme 1, participants 3, performances 1).
    db.client()
        .batch_execute(
            "DELETE FROM past_race_runner;
             UPDATE race SET paris_evenement = NULL, indicateur_evenement_arrivee_provisoire = NULL,
                             details_indicateur_evenement_arrivee_provisoire = NULL,
                             num_course_dedoublee = NULL, grand_prix_national_trot = NULL;
             UPDATE race_meeting SET num_officiel_reunion_precedente = NULL, num_officiel_reunion_suivante = NULL;
             UPDATE race_bet_offer SET valeurs_flexi_autorisees = NULL, jackpot_mise_base_cts = NULL;
             UPDATE race_participant SET url_casaque = NULL, cote_reference_tendance_pct = NULL;
             UPDATE horse_race_history SET allure = NULL;
             UPDATE load_ledger SET mapping_version = CASE stage WHEN 'participants' THEN 3 ELSE 1 END;",
        )
        .unwrap();
    let (out, report) = load(&db, &dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The programme is reprocessed, and every object of its day is loaded again with it.
    assert_eq!(objects(&report, "reprocessed"), 1, "{report}");
    assert_eq!(objects(&report, "loaded"), 5, "{report}");
    assert_eq!(table(&report, "past_race_runner").1, 7);
    assert_eq!(
        db.contents(),
        full,
        "every table as a first load of this release leaves it"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM race WHERE paris_evenement IS NULL"),
        0
    );
    assert_eq!(
        db.count("SELECT count(*) FROM race_participant WHERE url_casaque IS NOT NULL"),
        2
    );
    assert_eq!(
        db.count("SELECT count(*) FROM horse_race_history WHERE allure IS NULL"),
        0
    );
    assert_eq!(
        db.count("SELECT count(*) FROM race_meeting WHERE num_officiel_reunion_suivante = 3"),
        1
    );
}

#[test]
fn a_batch_whose_newest_report_is_newer_than_the_row_wins_even_if_its_first_is_older() {
    // Days 0, 1, 2 report the same runner's past race: day 1 says place P2, days 0 and 2 say
    // P. Day 1 is loaded first; then days 0 and 2 in one batch: day 2 is the newest report,
    // so P wins, although the batch's first day reporting P (day 0) is older than day 1.
    let (dir, spec, lake, performances, place) = runners_again(3, &[1, 2], "newest_probe");
    let other = place.map_or(1, |p| p % 7 + 1);
    set_first_past_place(&lake, &spec, 1, &performances, other, false);

    let db = pg::migrated_db("newest_wins");
    let (out, _) = load(&db, &dir, &["--date", &spec.day(1).iso()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(first_past_place(&db, &performances).0, Some(other));
    let (out, _) = load(&db, &dir, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        first_past_place(&db, &performances).0,
        place,
        "day 2, the newest report, says {place:?}"
    );
}

/// The place and `reported_on` of the `past_race_runner` row of the first runner's own row in
/// its first past race of `performances`.
fn first_past_runner_place(db: &TestDb, performances: &Value) -> (Option<i64>, String) {
    let past = &performances["participants"][0]["coursesCourues"][0];
    let him = past["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["itsHim"] == true)
        .unwrap();
    let (nom_prix, nom) = (
        past["nomPrix"].as_str().unwrap(),
        him["nomCheval"].as_str().unwrap(),
    );
    let sql = "SELECT place::bigint, reported_on::text FROM past_race_runner
               WHERE nom_prix = $1 AND nom_cheval = $2";
    let row = db.client().query_one(sql, &[&nom_prix, &nom]).unwrap();
    (row.get(0), row.get(1))
}

#[test]
fn a_day_filled_in_between_two_loaded_ones_does_not_override_the_newer_report() {
    // Days 0, 1 and 2 report the same past race of one runner: days 0 and 2 say place P, day 1
    // (a day the extract had missed, filled in later) says P2. Day 2 is the newest report
    // whatever the order the days are loaded in, so P stays; the row was first reported on day
    // 0. Loading 0, 2 then 1 used to store P2 (the row was dated from day 0, the first to give
    // its values, and day 1 is after that).
    let (dir, spec, lake, performances, place) = runners_again(3, &[1, 2], "gap_probe");
    let other = place.map_or(1, |p| p % 7 + 1);
    set_first_past_place(&lake, &spec, 1, &performances, other, false);
    let mut loads: Vec<(String, Contents)> = Vec::new();
    for order in [[0, 2, 1], [0, 1, 2], [2, 1, 0], [1, 2, 0]] {
        let name = format!("{order:?}");
        let db = pg::migrated_db("gap");
        let codes = load_day_by_day(&db, &dir, &order.map(|i| spec.day(i)));
        assert!(codes.iter().all(|c| *c == Some(0)), "{name}: {codes:?}");
        let expected = (place, spec.day(0).iso());
        assert_eq!(first_past_place(&db, &performances), expected, "{name}");
        assert_eq!(
            first_past_runner_place(&db, &performances),
            expected,
            "{name}: past_race_runner"
        );
        loads.push((name, db.contents()));
    }
    assert_all_the_same(&loads);
}

#[test]
fn an_unchanged_file_is_known_by_its_identity_and_one_rewritten_in_place_is_read_again() {
    let (dir, spec) = lake_with(1, 1);
    let lake = Lake::new(&dir);
    let key = ObjectKey::race(spec.day(0), RaceId::new(1, 1).unwrap(), Stage::Participants);
    let file = lake.body_path(&key);
    let db = pg::migrated_db("file_identity");
    let (out, first) = load(&db, &dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let objects_in_lake = objects(&first, "loaded");
    let identity = |db: &TestDb| -> Vec<String> {
        let sql = format!(
            "SELECT coalesce(stored_stat, 'NULL') FROM load_ledger WHERE path = '{}'",
            key.display_path()
        );
        texts(db, &sql)
    };
    let recorded = identity(&db);
    assert!(
        recorded.len() == 1 && recorded[0].split(':').count() == 3,
        "{recorded:?}"
    );

    // Same bytes, new identity (touch): skipped by its hash, and the new identity recorded.
    std::thread::sleep(Duration::from_millis(20));
    let status = Command::new("touch").arg(&file).status().unwrap();
    assert!(status.success());
    let (out, report) = load(&db, &dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        (objects(&report, "loaded"), objects(&report, "skipped")),
        (0, objects_in_lake)
    );
    let touched = identity(&db);
    assert_ne!(touched, recorded, "the ledger has the file's new identity");

    // Other bytes of the same size written in place, the modification time put back: the
    // inode and mtime are the same, the ctime is not, so the file is read (and, no longer a
    // valid frame, rejected).
    let mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::thread::sleep(Duration::from_millis(20));
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .and_then(|mut f| std::io::Write::write_all(&mut f, &bytes))
        .unwrap();
    let since_epoch = mtime.duration_since(std::time::UNIX_EPOCH).unwrap();
    let at = format!(
        "@{}.{:09}",
        since_epoch.as_secs(),
        since_epoch.subsec_nanos()
    );
    let status = Command::new("touch")
        .args(["-m", "-d", &at])
        .arg(&file)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(std::fs::metadata(&file).unwrap().modified().unwrap(), mtime);
    let (out, report) = load(&db, &dir, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(objects(&report, "rejected"), 1, "{report}");
}

#[test]
fn a_reader_that_goes_away_costs_neither_the_report_nor_the_exit_code() {
    // `pmu-lake load --report r.json | head -0`: stdout is a pipe nobody reads.
    let (dir, spec) = lake_with(3, 2);
    let db = pg::migrated_db("closed_stdout");
    let scratch = pg::server().scratch("closed-stdout");
    let report = scratch.join("r.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pmu-lake"))
        .args(["load", "--quiet", "--batch-rows", "1", "--lake"])
        .arg(&dir)
        .arg("--report")
        .arg(&report)
        .env("DATABASE_URL", &db.url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("running pmu-lake load");
    // The only reading end closed before the load writes anything: its summary meets EPIPE.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    // One batch a day (`--batch-rows 1`), each in the report's per_batch list, in order.
    let batches = json["per_batch"].as_array().expect("per_batch");
    assert_eq!(batches.len(), spec.days as usize, "{json}");
    let firsts: Vec<&str> = batches
        .iter()
        .map(|b| b["first_day"].as_str().unwrap())
        .collect();
    let days: Vec<String> = (0..spec.days).map(|d| spec.day(d).iso()).collect();
    assert_eq!(firsts, days, "{json}");
    let per_day = 1 + 3 * spec.races_per_day;
    assert_eq!(
        objects(&json, "loaded"),
        u64::from(spec.days * per_day),
        "{json}"
    );
    // Nothing but the report is left beside it (no batch log, no temp file).
    let left: Vec<_> = std::fs::read_dir(&scratch)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["r.json"], "{left:?}");
}
