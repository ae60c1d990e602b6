//! The sample corpus ($PMU_SAMPLES, the shared reference responses): every relevant sample is
//! parsed into staging rows, and the row counts must equal counts computed independently from
//! the JSON (`serde_json::Value`). Collectors' wrappers are removed here, not in the parser.
//!
//! [`sample_objects`] and [`write_sample_lake`] are reusable: they give the samples as lake
//! objects with the right [`ObjectKey`]s (day, R, C), for tests that load them into PostgreSQL.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use pmu_lake::day::Day;
use pmu_lake::lake::{Lake, ObjectKey, RaceId, Stage};
use pmu_lake::load::rows::{self, Batch};
use serde_json::{Value, json};

/// How a sample file holds its payload.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    /// The API's own shape.
    Raw,
    /// `[ {programme, timestampPMU, date} ]` (Bitzibox's n8n wrapper).
    InArray,
    /// Only the inner `programme` object (Pascal66 02042026).
    BareProgramme,
    /// `[ {date, courses:[{participants:[…]}, …]} ]`: course i is the i-th course of this
    /// programme sample, in programme order (Bitzibox).
    Aggregated(&'static str),
    /// One participant object alone (OpenBet example_runner).
    OneRunner,
}

/// One sample file: where it is, which object it is, and whether it goes into the sample lake
/// (a lake holds one object per key: duplicates and trimmed copies are parsed but not stored).
struct Entry {
    path: &'static str,
    day: &'static str,
    race: Option<(i64, i64)>,
    stage: Stage,
    shape: Shape,
    in_lake: bool,
}

const fn e(
    path: &'static str,
    day: &'static str,
    race: Option<(i64, i64)>,
    stage: Stage,
    shape: Shape,
    in_lake: bool,
) -> Entry {
    Entry {
        path,
        day,
        race,
        stage,
        shape,
        in_lake,
    }
}

const BITZI_0511: &str = "Bitzibox__pmu-pronostics/data/courses-05112025.json";
const BITZI_2512: &str = "Bitzibox__pmu-pronostics/data/courses-25122025.json";

use Shape::*;
use Stage::{Participants as Pa, Performances as Pe, Programme as Pg, Rapports as Ra};

/// Every sample of SOURCES.md that is a payload (the DERIVED `_sample` copies included).
const ENTRIES: &[Entry] = &[
    e(
        "mathis-dumont__horse-racing-prediction/pretraitement/programme_05112025.json",
        "2025-11-05",
        None,
        Pg,
        Raw,
        true,
    ),
    e(
        "mathis-dumont__horse-racing-prediction/pretraitement/programme_05112025_sample.json",
        "2025-11-05",
        None,
        Pg,
        Raw,
        false,
    ),
    e(BITZI_0511, "2025-11-05", None, Pg, InArray, false),
    e(
        "Bitzibox__pmu-pronostics/data/courses-07122025.json",
        "2025-12-07",
        None,
        Pg,
        InArray,
        true,
    ),
    e(BITZI_2512, "2025-12-25", None, Pg, InArray, true),
    e(
        "Pascal66__horse-racing-prediction/programmes.json",
        "2026-03-23",
        None,
        Pg,
        Raw,
        true,
    ),
    e(
        "Pascal66__horse-racing-prediction/doc/programmes-02042026.json",
        "2026-04-02",
        None,
        Pg,
        BareProgramme,
        true,
    ),
    e(
        "Camillerimichel__TurfIA/tests/fixtures/pmu_programme_echantillon.json",
        "2026-07-07",
        None,
        Pg,
        Raw,
        true,
    ),
    e(
        "t0mm4rx__OpenBet/Data/Samples/programme_01012018.json",
        "2018-01-01",
        None,
        Pg,
        Raw,
        true,
    ),
    e(
        "t0mm4rx__OpenBet/Tests/resultat_api.json",
        "2018-12-01",
        None,
        Pg,
        Raw,
        true,
    ),
    e(
        "t0mm4rx__OpenBet/Tests/resultat_api2.json",
        "2018-06-05",
        None,
        Pg,
        Raw,
        true,
    ),
    e(
        "mathis-dumont__horse-racing-prediction/pretraitement/participants_R1_C1.json",
        "2025-11-05",
        Some((1, 1)),
        Pa,
        Raw,
        true,
    ),
    e(
        "mathis-dumont__horse-racing-prediction/pretraitement/participants_R1_C1_sample.json",
        "2025-11-05",
        Some((1, 1)),
        Pa,
        Raw,
        false,
    ),
    e(
        "Bitzibox__pmu-pronostics/data/participants-05112025.json",
        "2025-11-05",
        None,
        Pa,
        Aggregated(BITZI_0511),
        true,
    ),
    e(
        "Bitzibox__pmu-pronostics/data/participants-25122025.json",
        "2025-12-25",
        None,
        Pa,
        Aggregated(BITZI_2512),
        true,
    ),
    e(
        "Pascal66__horse-racing-prediction/doc/participants-01042026-4-9.json",
        "2026-04-01",
        Some((4, 4)),
        Pa,
        Raw,
        true,
    ),
    e(
        "Pascal66__horse-racing-prediction/doc/participants-08042026-3-2.json",
        "2026-04-08",
        Some((3, 2)),
        Pa,
        Raw,
        true,
    ),
    e(
        "Camillerimichel__TurfIA/tests/fixtures/pmu_participants_echantillon.json",
        "2026-07-07",
        Some((1, 1)),
        Pa,
        Raw,
        true,
    ),
    e(
        "t0mm4rx__OpenBet/Data/Samples/race_01012018_R3C1.json",
        "2018-01-01",
        Some((3, 1)),
        Pa,
        Raw,
        true,
    ),
    e(
        "t0mm4rx__OpenBet/Tests/example_runner.json",
        "2018-01-01",
        Some((9, 9)),
        Pa,
        OneRunner,
        false,
    ),
    e(
        "mathis-dumont__horse-racing-prediction/pretraitement/performances_R1_C1.json",
        "2025-11-05",
        Some((1, 1)),
        Pe,
        Raw,
        true,
    ),
    e(
        "mathis-dumont__horse-racing-prediction/pretraitement/performances_R1_C1_sample.json",
        "2025-11-05",
        Some((1, 1)),
        Pe,
        Raw,
        false,
    ),
    e(
        "mathis-dumont__horse-racing-prediction/pretraitement/rapports_R1_C1.json",
        "2025-11-05",
        Some((1, 1)),
        Ra,
        Raw,
        true,
    ),
    e(
        "mathis-dumont__horse-racing-prediction/pretraitement/rapports_R1_C1_sample.json",
        "2025-11-05",
        Some((1, 1)),
        Ra,
        Raw,
        false,
    ),
    e(
        "Moriah12783__elite-turf/lib/sync/__fixtures__/pmu-rapports-definitifs-20260521-R1C7.json",
        "2026-05-21",
        Some((1, 7)),
        Ra,
        Raw,
        true,
    ),
    e(
        "Moriah12783__elite-turf/lib/sync/__fixtures__/pmu-rapports-offline-20260521-R1C7.json",
        "2026-05-21",
        Some((1, 7)),
        Ra,
        Raw,
        false,
    ),
    e(
        "Moriah12783__elite-turf/lib/sync/__fixtures__/pmu-rapports-definitifs-20260830-R1C3.json",
        "2026-08-30",
        Some((1, 3)),
        Ra,
        Raw,
        true,
    ),
    e(
        "Moriah12783__elite-turf/lib/sync/__fixtures__/pmu-rapports-definitifs-20261001-R1C1.json",
        "2026-10-01",
        Some((1, 1)),
        Ra,
        Raw,
        true,
    ),
    e(
        "Moriah12783__elite-turf/lib/sync/__fixtures__/pmu-rapports-definitifs-20261008-R1C1.json",
        "2026-10-08",
        Some((1, 1)),
        Ra,
        Raw,
        true,
    ),
    e(
        "Camillerimichel__TurfIA/tests/fixtures/pmu_rapports_definitifs_echantillon.json",
        "2026-01-01",
        Some((1, 1)),
        Ra,
        Raw,
        false,
    ),
    e(
        "Camillerimichel__TurfIA/tests/fixtures/pmu_rapports_couple_2sur4_echantillon.json",
        "2026-01-01",
        Some((1, 2)),
        Ra,
        Raw,
        false,
    ),
    e(
        "Camillerimichel__TurfIA/tests/fixtures/pmu_rapports_quinte_echantillon.json",
        "2026-01-01",
        Some((1, 3)),
        Ra,
        Raw,
        false,
    ),
];

/// One sample as a lake object: its key, the API-shaped body, where it came from.
pub struct SampleObject {
    pub key: ObjectKey,
    pub body: Vec<u8>,
    pub source: String,
    /// False for duplicates and trimmed copies of an object the lake already gets.
    pub in_lake: bool,
}

/// `$PMU_SAMPLES`, required: a corpus test never passes without its corpus.
pub fn samples_dir() -> PathBuf {
    let dir = std::env::var_os("PMU_SAMPLES").unwrap_or_else(|| {
        panic!("PMU_SAMPLES is not set: it must name the shared sample corpus (the directory holding raw/ and SOURCES.md)")
    });
    let dir = PathBuf::from(dir);
    assert!(
        dir.join("raw").is_dir(),
        "PMU_SAMPLES={} has no raw/ directory",
        dir.display()
    );
    dir
}

fn read_json(rel: &str) -> Value {
    let path = samples_dir().join("raw").join(rel);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn object_key(day: &str, race: Option<(i64, i64)>, stage: Stage) -> ObjectKey {
    let day: Day = day.parse().expect("sample days are valid");
    match race {
        Some((r, c)) => ObjectKey::race(
            day,
            RaceId::new(r, c).expect("sample races are valid"),
            stage,
        ),
        None => ObjectKey::programme(day),
    }
}

/// The (R, C) of every course of a programme, in programme order.
fn races_in_order(programme: &Value) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    for reunion in programme["programme"]["reunions"]
        .as_array()
        .expect("reunions")
    {
        let r = reunion["numOfficiel"].as_i64().expect("numOfficiel");
        for course in reunion["courses"].as_array().expect("courses") {
            out.push((r, course["numOrdre"].as_i64().expect("numOrdre")));
        }
    }
    out
}

/// Removes a collector's wrapper: the body the API itself would have sent.
fn unwrap_sample(entry: &Entry, value: Value) -> Vec<(ObjectKey, Value)> {
    let first = |v: Value| {
        v.as_array()
            .and_then(|a| a.first().cloned())
            .expect("a wrapper array with one element")
    };
    match entry.shape {
        Raw => vec![(object_key(entry.day, entry.race, entry.stage), value)],
        InArray => vec![(object_key(entry.day, None, entry.stage), first(value))],
        BareProgramme => vec![(
            object_key(entry.day, None, entry.stage),
            json!({ "programme": value }),
        )],
        OneRunner => vec![(
            object_key(entry.day, entry.race, entry.stage),
            json!({ "participants": [value] }),
        )],
        Aggregated(programme) => {
            let races = races_in_order(&first(read_json(programme)));
            let courses = first(value)["courses"]
                .as_array()
                .expect("aggregated courses")
                .clone();
            assert_eq!(
                courses.len(),
                races.len(),
                "{}: one entry per course of {programme}",
                entry.path
            );
            races
                .into_iter()
                .zip(courses)
                .map(|(race, course)| (object_key(entry.day, Some(race), entry.stage), course))
                .collect()
        }
    }
}

/// Every sample payload as lake objects, in ENTRIES order.
pub fn sample_objects() -> Vec<SampleObject> {
    let mut out = Vec::new();
    for entry in ENTRIES {
        for (i, (key, value)) in unwrap_sample(entry, read_json(entry.path))
            .into_iter()
            .enumerate()
        {
            let source = match entry.shape {
                Aggregated(_) => format!("{} [course {i}]", entry.path),
                _ => entry.path.to_string(),
            };
            let body = serde_json::to_vec(&value).expect("re-serializing a sample");
            out.push(SampleObject {
                key,
                body,
                source,
                in_lake: entry.in_lake,
            });
        }
    }
    out
}

/// Writes the lake objects of the corpus under `root` (one object per key: the first full
/// capture wins) and returns their keys.
pub fn write_sample_lake(root: &Path) -> Vec<ObjectKey> {
    let lake = Lake::new(root);
    let mut written = Vec::new();
    let mut seen = HashSet::new();
    for obj in sample_objects().into_iter().filter(|o| o.in_lake) {
        if seen.insert(obj.key) {
            lake.write_body(&obj.key, &obj.body)
                .unwrap_or_else(|e| panic!("{}: {e:#}", obj.source));
            written.push(obj.key);
        }
    }
    written
}

/// Row counts computed from the JSON alone, per staging table.
fn expected_rows(key: &ObjectKey, v: &Value) -> Vec<(usize, u64)> {
    let len = |v: &Value| v.as_array().map_or(0, |a| a.len()) as u64;
    match key.stage {
        Stage::Programme => {
            let reunions = v["programme"]["reunions"].as_array().expect("reunions");
            let races: u64 = reunions.iter().map(|r| len(&r["courses"])).sum();
            vec![
                (rows::DAILY_PROGRAM, 1),
                (rows::RACE_MEETING, reunions.len() as u64),
                (rows::RACE, races),
            ]
        }
        Stage::Participants => vec![(rows::PARTICIPANT, len(&v["participants"]))],
        Stage::Performances => {
            let its_him = v["participants"]
                .as_array()
                .expect("participants")
                .iter()
                .flat_map(|p| p["coursesCourues"].as_array().cloned().unwrap_or_default())
                .flat_map(|c| c["participants"].as_array().cloned().unwrap_or_default())
                .filter(|p| p["itsHim"] == Value::Bool(true))
                .count();
            vec![(rows::HISTORY, its_him as u64)]
        }
        Stage::Rapports => {
            let bets = v.as_array().expect("rapports root is an array");
            let reports: u64 = bets.iter().map(|b| len(&b["rapports"])).sum();
            vec![
                (rows::RACE_BET, bets.len() as u64),
                (rows::BET_REPORT, reports),
            ]
        }
    }
}

#[test]
fn every_sample_parses_into_as_many_rows_as_its_json_holds() {
    let mut batch = Batch::new();
    let mut totals = [0u64; 7];
    for obj in sample_objects() {
        batch.clear();
        batch
            .add_object(&obj.key, &obj.body)
            .unwrap_or_else(|e| panic!("{}: {e:#}", obj.source));
        let value: Value = serde_json::from_slice(&obj.body).expect("sample bodies are JSON");
        for (table, expected) in expected_rows(&obj.key, &value) {
            let got = batch.table(table).1;
            assert_eq!(
                got, expected,
                "{}: rows of staging table {table}",
                obj.source
            );
            totals[table] += got;
        }
    }
    // The corpus as SOURCES.md describes it: nothing was silently left out.
    // Figures from SOURCES.md; the 05/11/2025 programme counts three times (two captures and
    // the derived copy, whose course list is whole).
    assert_eq!(
        totals[rows::RACE],
        3 * 63 + 102 + 15 + 47 + 31 + 2 + 36 + 41 + 38,
        "races in the programmes"
    );
    assert_eq!(
        totals[rows::HISTORY],
        70 + 15,
        "itsHim rows (full performances + its 3-runner copy)"
    );
    let runners = 14 + 3 + 694 + 181 + 11 + 10 + 3 + 7 + 1;
    assert_eq!(
        totals[rows::PARTICIPANT],
        runners,
        "runners in the participants samples"
    );
}

#[test]
fn the_horse_key_we_compute_is_the_one_the_api_sends() {
    let mut checked = 0;
    for obj in sample_objects()
        .into_iter()
        .filter(|o| o.key.stage == Stage::Participants)
    {
        let value: Value = serde_json::from_slice(&obj.body).expect("JSON");
        for p in value["participants"].as_array().expect("participants") {
            let Some(sent) = p["idCheval"].as_str() else {
                continue;
            };
            let computed = pmu_lake::pmu::id_cheval(
                p["nom"].as_str(),
                p["nomMere"].as_str(),
                p["nomPere"].as_str(),
            );
            assert_eq!(computed.as_deref(), Some(sent), "{}", obj.source);
            checked += 1;
        }
    }
    assert!(checked >= 900, "only {checked} runners carried idCheval");
}

#[test]
fn the_sample_lake_holds_one_object_per_key_with_the_keys_of_the_sources() {
    let root = std::env::temp_dir().join(format!(
        "pmu-lake-corpus-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let keys = write_sample_lake(&root);
    let lake = Lake::new(&root);
    let day: Day = "2025-11-05".parse().unwrap();
    let on_disk = lake.objects(day).unwrap();
    let expected = keys.iter().filter(|k| k.day == day).count();
    assert_eq!(on_disk.len(), expected);
    // 1 programme + 63 participants + 1 performances + 1 rapports for 05/11/2025.
    assert_eq!(expected, 66);
    // The mathis capture of R1C1 wins over Bitzibox's first aggregated course.
    let r1c1 = ObjectKey::race(day, RaceId::new(1, 1).unwrap(), Stage::Participants);
    let body = pmu_lake::lake::read_body(&lake.body_path(&r1c1)).unwrap();
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        v.get("spriteCasaques").is_some(),
        "the raw response, not the aggregate's slice"
    );
    std::fs::remove_dir_all(&root).unwrap();
}
