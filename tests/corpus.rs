//! The sample corpus ($PMU_SAMPLES, the shared reference responses): every relevant sample is
//! parsed into staging rows, and the row counts must equal counts computed independently from
//! the JSON (`serde_json::Value`). Collectors' wrappers are removed here, not in the parser.
//!
//! [`sample_objects`] and [`write_sample_lake`] are reusable: they give the samples as lake
//! objects with the right [`ObjectKey`]s (day, R, C), for tests that load them into PostgreSQL.
//!
//! The corpus is not part of the repository, so every test that reads it, here or in another
//! module, is `#[ignore = "needs PMU_SAMPLES: make test-corpus"]`: `make test` passes on a
//! clone with nothing beside it, and `make test-corpus` (CI runs it) runs exactly the ignored
//! tests (`-- --ignored`). Without its corpus such a test fails in [`samples_dir`]; it never
//! passes.

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
            let (offers, jackpots) = offers_and_jackpots(reunions);
            vec![
                (rows::DAILY_PROGRAM, 1),
                (rows::RACE_MEETING, reunions.len() as u64),
                (rows::RACE, races),
                (rows::RACE_BET_OFFER, offers),
                (rows::MEETING_JACKPOT, jackpots),
            ]
        }
        Stage::Participants => vec![(rows::PARTICIPANT, len(&v["participants"]))],
        Stage::Performances => {
            let listed: Vec<Value> = v["participants"]
                .as_array()
                .expect("participants")
                .iter()
                .flat_map(|p| p["coursesCourues"].as_array().cloned().unwrap_or_default())
                .filter(|c| c["date"].is_i64())
                .flat_map(|c| c["participants"].as_array().cloned().unwrap_or_default())
                .collect();
            let its_him = listed
                .iter()
                .filter(|p| p["itsHim"] == Value::Bool(true))
                .count();
            // One staged row per runner of a past race, however many reports of the object
            // list it (load::rows::past_runners).
            let runners: std::collections::HashSet<String> = v["participants"]
                .as_array()
                .expect("participants")
                .iter()
                .flat_map(|p| p["coursesCourues"].as_array().cloned().unwrap_or_default())
                .filter(|c| c["date"].is_i64())
                .flat_map(|c| {
                    let race = format!("{}|{}|{}", c["date"], c["hippodrome"], c["nomPrix"]);
                    let listed = c["participants"].as_array().cloned().unwrap_or_default();
                    listed.into_iter().filter_map(move |p| {
                        let nom = p["nomCheval"].as_str()?;
                        (!nom.trim().is_empty()).then(|| format!("{race}|{nom}"))
                    })
                })
                .collect();
            vec![
                (rows::HISTORY, its_him as u64),
                (rows::PAST_RUNNER, runners.len() as u64),
            ]
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

/// Staged bet offers and jackpots of a programme's réunions, from the JSON: the `paris` with a
/// `typePari` of the races that are loaded (réunion with `numOfficiel`, course with `numOrdre`),
/// and the `cagnottes` with a `typePari` and a `numCourse` of those réunions and races.
fn offers_and_jackpots(reunions: &[Value]) -> (u64, u64) {
    let items = |v: &Value| v.as_array().cloned().unwrap_or_default();
    let keyed = |items: Vec<Value>, keys: &[&str]| {
        items
            .iter()
            .filter(|x| keys.iter().all(|k| !x[*k].is_null()))
            .count() as u64
    };
    let (mut offers, mut jackpots) = (0, 0);
    for r in reunions.iter().filter(|r| !r["numOfficiel"].is_null()) {
        jackpots += keyed(items(&r["cagnottes"]), &["typePari", "numCourse"]);
        for c in items(&r["courses"])
            .iter()
            .filter(|c| !c["numOrdre"].is_null())
        {
            offers += keyed(items(&c["paris"]), &["typePari"]);
            jackpots += keyed(items(&c["cagnottes"]), &["typePari", "numCourse"]);
        }
    }
    (offers, jackpots)
}

#[test]
#[ignore = "needs PMU_SAMPLES: make test-corpus"]
fn every_sample_parses_into_as_many_rows_as_its_json_holds() {
    let mut batch = Batch::new();
    let mut totals = [0u64; pmu_lake::load::sql::tables::ALL.len()];
    for obj in sample_objects() {
        batch.clear();
        batch
            .add_object(&obj.key, &obj.body)
            .unwrap_or_else(|e| panic!("{}: {e:#}", obj.source));
        batch.finish();
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
    // The corpus lists 392 + 85 runners of past races (pmu-api.md §8: 392 in the full file, 85
    // in its copy); the rows are one per runner of a past race and object, fewer where two
    // runners of one race ran the same past race.
    let listed: usize = sample_objects()
        .iter()
        .filter(|o| o.key.stage == Stage::Performances)
        .map(|o| {
            let v: Value = serde_json::from_slice(&o.body).unwrap();
            let races = v["participants"].as_array().cloned().unwrap_or_default();
            races
                .iter()
                .flat_map(|p| p["coursesCourues"].as_array().cloned().unwrap_or_default())
                .filter(|c| c["date"].is_i64())
                .flat_map(|c| c["participants"].as_array().cloned().unwrap_or_default())
                .filter(|p| {
                    p["nomCheval"]
                        .as_str()
                        .is_some_and(|n| !n.trim().is_empty())
                })
                .count()
        })
        .sum();
    assert_eq!(listed, 392 + 85, "runners listed for the past races");
    assert!(
        totals[rows::PAST_RUNNER] < listed as u64 && totals[rows::PAST_RUNNER] > 0,
        "{} rows for {listed} listed runners",
        totals[rows::PAST_RUNNER]
    );
    // Bet offers and jackpots per programme file (05/11 three times, 07/12, 25/12, 23/03, 02/04,
    // TurfIA, OpenBet 2018 and its two Tests copies), counted apart from this code; the jackpots
    // count the réunions' lists and their races', which repeat them.
    assert_eq!(
        totals[rows::RACE_BET_OFFER],
        3 * 706 + 976 + 242 + 628 + 486 + 26 + 628 + 798 + 665,
        "paris with a typePari in the programmes"
    );
    assert_eq!(
        totals[rows::MEETING_JACKPOT],
        29 + 6 + 24 + 8 + 4,
        "cagnottes of the réunions and of their races"
    );
    let runners = 14 + 3 + 694 + 181 + 11 + 10 + 3 + 7 + 1;
    assert_eq!(
        totals[rows::PARTICIPANT],
        runners,
        "runners in the participants samples"
    );
}

#[test]
#[ignore = "needs PMU_SAMPLES: make test-corpus"]
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
#[ignore = "needs PMU_SAMPLES: make test-corpus"]
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

// ---------------------------------------------------------------------------------------------
// The written fixtures (tests/fixtures/payloads) through the staging tables and merges of
// `load/sql.rs`, against the throwaway PostgreSQL: the schema's answers to the traps, and the
// merge rules (replay changes nothing, a refreshed object updates, the newest report wins).

mod merges {
    use std::collections::BTreeMap;
    use std::io::Write as _;

    use pmu_lake::lake::{ObjectKey, RaceId, Stage};
    use pmu_lake::load::rows::Batch;
    use pmu_lake::load::sql::{HORSE_IDS, MERGES, STAGING};
    use postgres::Client;
    use serde_json::{Value, json};

    use crate::support::pg::{self, TestDb};

    type Counts = BTreeMap<&'static str, [i64; 4]>;

    fn fixture(rel: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/fixtures/payloads/{rel}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn key(day: &str, race: Option<(i64, i64)>, stage: Stage) -> ObjectKey {
        let day = day.parse().unwrap();
        match race {
            Some((r, c)) => ObjectKey::race(day, RaceId::new(r, c).unwrap(), stage),
            None => ObjectKey::programme(day),
        }
    }

    /// Every fixture object of a day, in load order.
    fn fixture_day(day: &str) -> Vec<(ObjectKey, Vec<u8>)> {
        let dir = format!(
            "{}/tests/fixtures/payloads/{day}",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut out = vec![(
            key(day, None, Stage::Programme),
            fixture(&format!("{day}/programme.json")),
        )];
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let Some(race) = entry.file_name().to_str().and_then(RaceId::parse) else {
                continue;
            };
            for stage in Stage::PER_RACE {
                let path = entry.path().join(format!("{stage}.json"));
                if path.is_file() {
                    let k = ObjectKey::race(day.parse().unwrap(), race, stage);
                    out.push((k, std::fs::read(&path).unwrap()));
                }
            }
        }
        out.sort_by_key(|(k, _)| (k.stage, k.race));
        out
    }

    /// Stages `objects` and runs every merge in one transaction, as the contract of sql.rs says.
    fn load(client: &mut Client, objects: &[(ObjectKey, Vec<u8>)]) -> Counts {
        let mut batch = Batch::new();
        for (k, body) in objects {
            batch
                .add_object(k, body)
                .unwrap_or_else(|e| panic!("{e:#}"));
        }
        batch.finish();
        let mut tx = client.transaction().unwrap();
        let mut counts = Counts::new();
        for (i, table) in STAGING.iter().enumerate() {
            tx.batch_execute(table.create).unwrap();
            let (csv, rows) = batch.table(i);
            if rows > 0 {
                let mut w = tx.copy_in(table.copy).unwrap();
                w.write_all(csv).unwrap();
                w.finish()
                    .unwrap_or_else(|e| panic!("COPY {}: {e}", table.name));
            }
        }
        tx.batch_execute(HORSE_IDS).unwrap();
        for m in MERGES {
            let row = tx
                .query_one(m.sql, &[])
                .unwrap_or_else(|e| panic!("merge {}: {e}", m.target));
            counts.insert(m.target, [row.get(0), row.get(1), row.get(2), row.get(3)]);
        }
        tx.commit().unwrap();
        counts
    }

    fn all_fixtures() -> Vec<(ObjectKey, Vec<u8>)> {
        let mut objects = fixture_day("2018-01-01");
        objects.extend(fixture_day("2025-11-05"));
        objects
    }

    fn strings(db: &TestDb, sql: &str) -> Vec<String> {
        db.client()
            .query(sql, &[])
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .iter()
            .map(|r| r.get(0))
            .collect()
    }

    #[test]
    fn fixtures_land_with_their_traps_answered() {
        let db = pg::migrated_db("fixtures_traps");
        let counts = load(&mut db.client(), &all_fixtures());
        for (target, [read, inserted, updated, orphaned]) in &counts {
            assert_eq!(
                (*inserted, *updated, *orphaned),
                (*read, 0, 0),
                "{target}: everything new, nothing orphaned"
            );
        }
        assert_eq!(counts["race"][0], 4);
        assert_eq!(
            counts["meeting_jackpot"][0], 2,
            "the réunion's jackpot that R1C1 lists again is one row"
        );
        assert_eq!(
            db.count(
                "SELECT mise_max_cts FROM race_bet_offer WHERE type_pari = 'E_SIMPLE_GAGNANT'"
            ),
            9_999_999_999
        );
        assert_eq!(counts["race_participant"][0], 12);
        assert_eq!(
            counts["horse"][0], 11,
            "ALPHA DU TEST runs twice on 05/11 but is one horse"
        );
        // Dead heat for first: ranks 1, 1, then 3.
        let arrival = strings(
            &db,
            "SELECT a.num_pmu || ':' || a.rank || ':' || a.dead_heat FROM race_arrival a JOIN race r ON r.id = a.race_id
             WHERE r.day = '2025-11-05' AND r.num_reunion = 1 AND r.num_ordre = 1 ORDER BY a.rank, a.num_pmu",
        );
        assert_eq!(arrival, ["3:1:true", "5:1:true", "1:3:false", "4:4:false"]);
        // The non-starter is kept with its status; the foreign meeting and its mid-card race too.
        assert_eq!(
            db.count("SELECT count(*) FROM race_participant WHERE statut = 'NON_PARTANT'"),
            1
        );
        assert_eq!(db.count("SELECT count(*) FROM race r JOIN race_meeting m ON m.id = r.race_meeting_id WHERE m.pays_code = 'HKG' AND r.num_ordre = 7"), 1);
        // Units: ms from centiseconds, tenths of kg, euros vs centimes, decimal comma, instants.
        assert_eq!(db.count("SELECT temps_du_premier_ms FROM horse_race_history WHERE hippodrome = 'Pontchâteau' LIMIT 1"), 215_670);
        assert_eq!(db.count("SELECT poids_jockey_hg::bigint FROM horse_race_history WHERE nom_prix = 'PRIX GALOP'"), 585);
        assert_eq!(
            strings(
                &db,
                "SELECT penetrometre_valeur::text || ' ' || to_char(heure_depart AT TIME ZONE 'Europe/Paris', 'HH24:MI') FROM race WHERE libelle LIKE 'PRIX DU %'"
            ),
            ["4.2 13:12"]
        );
        // Past races: found through numPmu, and by name when the runner has none.
        assert_eq!(db.count("SELECT count(*) FROM horse_race_history"), 4);
        assert_eq!(
            strings(
                &db,
                "SELECT h.id_cheval FROM horse_race_history x JOIN horse h ON h.id = x.horse_id WHERE x.hippodrome = 'Vincennes'"
            ),
            ["DELTA-MERE QUATRE-PERE QUATRE"]
        );
        // 2018 payloads: the key computed the API's way, flagged.
        assert_eq!(db.count("SELECT count(*) FROM horse WHERE id_cheval = 'CUMBIA TEST-ANABLUE-MILANAIS' AND id_cheval_computed"), 1);
        // Pools and dividends per euro; a dead heat gives two winners; NP combinations kept.
        assert_eq!(
            strings(
                &db,
                "SELECT b.pool || ' ' || r.combinaison || ' ' || r.dividende_pour_un_euro_cts FROM bet_report r JOIN race_bet b ON b.id = r.race_bet_id WHERE b.bet_type = 'SIMPLE_GAGNANT' ORDER BY 1"
            ),
            ["INTERNET 3 210", "INTERNET 5 510", "SHOP 1 310"]
        );
        assert_eq!(db.count("SELECT count(*) FROM bet_report WHERE combinaison LIKE '%NP%' AND nombre_gagnants IS NULL"), 1);
    }

    #[test]
    fn replaying_the_same_objects_in_any_order_changes_nothing() {
        let db = pg::migrated_db("fixtures_replay");
        let mut client = db.client();
        load(&mut client, &all_fixtures());
        let before = db.contents();
        let again = load(&mut client, &all_fixtures());
        for (target, [read, inserted, updated, orphaned]) in &again {
            assert!(*read > 0, "{target}");
            assert_eq!((*inserted, *updated, *orphaned), (0, 0, 0), "{target}");
        }
        // One object at a time, latest day first: still nothing to write.
        let mut objects = all_fixtures();
        objects.reverse();
        for object in objects.chunks(1) {
            let counts = load(&mut client, object);
            assert!(
                counts.values().all(|c| c[1] == 0 && c[2] == 0),
                "{:?}: {counts:?}",
                object[0].0
            );
        }
        assert_eq!(db.contents(), before);
    }

    #[test]
    fn a_refetched_race_updates_its_arrival_odds_and_dividends() {
        let db = pg::migrated_db("fixtures_refresh");
        let mut client = db.client();
        load(&mut client, &fixture_day("2025-11-05"));
        // R1C2 has now been run: arrival order, final odds, a corrected dividend.
        let mut programme: Value =
            serde_json::from_slice(&fixture("2025-11-05/programme.json")).unwrap();
        let r1c2 = &mut programme["programme"]["reunions"][0]["courses"][1];
        r1c2["statut"] = json!("ARRIVEE_DEFINITIVE_COMPLETE");
        r1c2["ordreArrivee"] = json!([[2], [1]]);
        let mut runners: Value =
            serde_json::from_slice(&fixture("2025-11-05/R1C2/participants.json")).unwrap();
        runners["participants"][0]["ordreArrivee"] = json!(2);
        runners["participants"][1]["ordreArrivee"] = json!(1);
        runners["participants"][1]["dernierRapportDirect"] =
            json!({"typePari": "SIMPLE_GAGNANT", "rapport": 2.4, "dateRapport": 1762347100000_i64});
        let mut rapports: Value =
            serde_json::from_slice(&fixture("2025-11-05/R1C2/rapports.json")).unwrap();
        rapports[0]["rapports"][0]["dividendePourUnEuro"] = json!(320);
        let refreshed = [
            (
                key("2025-11-05", None, Stage::Programme),
                serde_json::to_vec(&programme).unwrap(),
            ),
            (
                key("2025-11-05", Some((1, 2)), Stage::Participants),
                serde_json::to_vec(&runners).unwrap(),
            ),
            (
                key("2025-11-05", Some((1, 2)), Stage::Rapports),
                serde_json::to_vec(&rapports).unwrap(),
            ),
        ];
        let counts = load(&mut client, &refreshed);
        assert_eq!(counts["race"], [3, 0, 1, 0]);
        assert_eq!(counts["race_participant"], [2, 0, 2, 0]);
        assert_eq!(counts["bet_report"], [2, 0, 1, 0]);
        assert_eq!(counts["horse"][1..3], [0, 0], "horses did not change");
        assert_eq!(
            strings(
                &db,
                "SELECT a.num_pmu::text FROM race_arrival a JOIN race r ON r.id = a.race_id WHERE r.num_reunion = 1 AND r.num_ordre = 2 ORDER BY a.rank"
            ),
            ["2", "1"]
        );
        let odds = "SELECT (p.cote_direct * 10)::bigint FROM race_participant p JOIN race r ON r.id = p.race_id
                    WHERE r.num_reunion = 1 AND r.num_ordre = 2 AND p.num_pmu = 2 AND p.ordre_arrivee = 1";
        assert_eq!(db.count(odds), 24);
    }

    #[test]
    fn a_refetched_object_drops_what_it_no_longer_lists_and_an_empty_one_drops_nothing() {
        let db = pg::migrated_db("fixtures_drop");
        let mut client = db.client();
        load(&mut client, &fixture_day("2025-11-05"));
        let r1c1 = "SELECT count(*) FROM bet_report x JOIN race_bet b ON b.id = x.race_bet_id JOIN race r ON r.id = b.race_id
                    WHERE r.num_reunion = 1 AND r.num_ordre = 1";
        assert_eq!(db.count(r1c1), 7);
        // Not published after all: an empty rapports deletes nothing.
        load(
            &mut client,
            &[(
                key("2025-11-05", Some((1, 1)), Stage::Rapports),
                b"[]".to_vec(),
            )],
        );
        assert_eq!(db.count(r1c1), 7);
        // The dead heat was annulled after an inquiry: one winner, and no Big 5 any more.
        let mut rapports: Value =
            serde_json::from_slice(&fixture("2025-11-05/R1C1/rapports.json")).unwrap();
        rapports[0]["rapports"].as_array_mut().unwrap().truncate(1);
        rapports.as_array_mut().unwrap().truncate(3);
        let mut runners: Value =
            serde_json::from_slice(&fixture("2025-11-05/R1C2/participants.json")).unwrap();
        runners["participants"].as_array_mut().unwrap().truncate(1);
        let refreshed = [
            (
                key("2025-11-05", Some((1, 2)), Stage::Participants),
                serde_json::to_vec(&runners).unwrap(),
            ),
            (
                key("2025-11-05", Some((1, 1)), Stage::Rapports),
                serde_json::to_vec(&rapports).unwrap(),
            ),
        ];
        let counts = load(&mut client, &refreshed);
        assert_eq!(counts["bet_report"], [5, 0, 0, 0]);
        assert_eq!(db.count(r1c1), 5);
        assert_eq!(
            db.count("SELECT count(*) FROM race_bet WHERE type_pari = 'EB5'"),
            0
        );
        assert_eq!(
            db.count("SELECT count(*) FROM race_bet WHERE type_pari = 'SIMPLE_GAGNANT'"),
            1,
            "other races keep theirs"
        );
        assert_eq!(
            db.count("SELECT count(*) FROM race_participant p JOIN race r ON r.id = p.race_id WHERE r.num_ordre = 2 AND r.num_reunion = 1"),
            1
        );
        assert_eq!(db.count("SELECT count(*) FROM race_participant"), 9);
    }

    #[test]
    fn rows_without_their_parent_are_counted_as_orphans() {
        let db = pg::migrated_db("fixtures_orphans");
        // Participants, performances and rapports of a day whose programme is not loaded.
        let objects: Vec<_> = fixture_day("2025-11-05")
            .into_iter()
            .filter(|(k, _)| k.stage != Stage::Programme)
            .collect();
        let counts = load(&mut db.client(), &objects);
        assert_eq!(counts["race_participant"], [10, 0, 0, 10]);
        assert_eq!(counts["horse_race_history"], [4, 0, 0, 4]);
        assert_eq!(counts["race_bet"], [6, 0, 0, 6]);
        assert_eq!(counts["bet_report"], [9, 0, 0, 9]);
        assert_eq!(counts["horse"][1], 9, "horses need no race");
    }

    #[test]
    #[ignore = "needs PMU_SAMPLES: make test-corpus"]
    fn every_sample_of_the_lake_copies_and_merges() {
        let db = pg::migrated_db("corpus_samples");
        let mut client = db.client();
        let mut seen = std::collections::HashSet::new();
        let objects: Vec<_> = crate::corpus::sample_objects()
            .into_iter()
            .filter(|o| o.in_lake && seen.insert(o.key))
            .map(|o| (o.key, o.body))
            .collect();
        let programmes: Vec<_> = objects
            .iter()
            .filter(|(k, _)| k.stage == Stage::Programme)
            .cloned()
            .collect();
        let rest: Vec<_> = objects
            .iter()
            .filter(|(k, _)| k.stage != Stage::Programme)
            .cloned()
            .collect();
        let first = load(&mut client, &programmes);
        let races: u64 = programmes
            .iter()
            .map(|(_, body)| {
                let v: Value = serde_json::from_slice(body).unwrap();
                let reunions = v["programme"]["reunions"].as_array().unwrap().clone();
                reunions
                    .iter()
                    .map(|r| r["courses"].as_array().map_or(0, |c| c.len() as u64))
                    .sum::<u64>()
            })
            .sum();
        assert_eq!(first["race"][1] as u64, races);
        let (offers, jackpots) = distinct_offers_and_jackpots(&programmes);
        assert_eq!(first["race_bet_offer"], [offers, offers, 0, 0]);
        assert_eq!(db.count("SELECT count(*) FROM race_bet_offer"), offers);
        assert_eq!(first["meeting_jackpot"], [jackpots, jackpots, 0, 0]);
        assert_eq!(db.count("SELECT count(*) FROM meeting_jackpot"), jackpots);
        assert_eq!(
            db.count("SELECT count(*) FROM meeting_jackpot WHERE type_cagnotte IS NOT NULL"),
            5,
            "the EB5 GARANTI jackpots only the races of 07/12 list"
        );
        let second = load(&mut client, &rest);
        let [read, inserted, _, orphaned] = second["race_participant"];
        assert_eq!(
            inserted + orphaned,
            read,
            "every runner either lands or is an orphan"
        );
        assert_eq!(db.count("SELECT count(*) FROM race_participant"), inserted);
        assert!(
            inserted > 700,
            "the 05/11 and 25/12 days have their runners: {inserted}"
        );
        assert_eq!(
            second["horse_race_history"][1], 70,
            "the 70 past races of R1C1 found their horses"
        );
        let (listed, distinct) = past_runners_of_the_lake(&objects);
        assert_eq!(second["past_race_runner"], [distinct, distinct, 0, 0]);
        assert_eq!(db.count("SELECT count(*) FROM past_race_runner"), distinct);
        assert!(
            distinct < listed,
            "runners of past races two horses share are stored once: {distinct} of {listed}"
        );
        assert_eq!(
            db.count("SELECT count(*) FROM horse_race_history WHERE allure = 'TROT'"),
            70
        );
        assert!(db.count("SELECT count(*) FROM bet_report") > 0);
        let again = load(&mut client, &objects);
        assert!(
            again.values().all(|c| c[1] == 0 && c[2] == 0),
            "replay: {again:?}"
        );
    }

    /// Runners listed for the past races of the performances objects, from the JSON: (listed
    /// with a name, distinct by past race and name).
    fn past_runners_of_the_lake(objects: &[(ObjectKey, Vec<u8>)]) -> (i64, i64) {
        let mut listed = 0;
        let mut distinct = std::collections::HashSet::new();
        let items = |v: &Value| v.as_array().cloned().unwrap_or_default();
        for (_, body) in objects
            .iter()
            .filter(|(k, _)| k.stage == Stage::Performances)
        {
            let v: Value = serde_json::from_slice(body).unwrap();
            for runner in items(&v["participants"]) {
                for past in items(&runner["coursesCourues"]) {
                    for p in items(&past["participants"]) {
                        if let Some(nom) = p["nomCheval"].as_str() {
                            listed += 1;
                            distinct.insert((
                                past["date"].to_string(),
                                past["hippodrome"].to_string(),
                                past["nomPrix"].to_string(),
                                nom.to_string(),
                            ));
                        }
                    }
                }
            }
        }
        (listed, distinct.len() as i64)
    }

    /// Distinct (race, typePari) offers and (réunion, typePari, numCourse) jackpots of the
    /// programmes, from the JSON: a réunion's jackpots are listed again by its races.
    fn distinct_offers_and_jackpots(programmes: &[(ObjectKey, Vec<u8>)]) -> (i64, i64) {
        let mut offers = std::collections::HashSet::new();
        let mut jackpots = std::collections::HashSet::new();
        let items = |v: &Value| v.as_array().cloned().unwrap_or_default();
        for (k, body) in programmes {
            let v: Value = serde_json::from_slice(body).unwrap();
            for r in items(&v["programme"]["reunions"]) {
                let num = r["numOfficiel"].to_string();
                let mut all = items(&r["cagnottes"]);
                for c in items(&r["courses"]) {
                    for p in items(&c["paris"]) {
                        offers.insert((
                            k.day,
                            num.clone(),
                            c["numOrdre"].to_string(),
                            p["typePari"].to_string(),
                        ));
                    }
                    all.extend(items(&c["cagnottes"]));
                }
                for j in all {
                    jackpots.insert((
                        k.day,
                        num.clone(),
                        j["typePari"].to_string(),
                        j["numCourse"].to_string(),
                    ));
                }
            }
        }
        (offers.len() as i64, jackpots.len() as i64)
    }

    /// A day with one race of one runner whose performances report one past race.
    fn one_runner_day(day: &str, midnight_ms: i64, place: i64) -> Vec<(ObjectKey, Vec<u8>)> {
        let programme = json!({"programme": {"date": midnight_ms, "reunions": [{"numOfficiel": 1, "courses": [{"numOrdre": 1}]}]}});
        let runners = json!({"participants": [{"numPmu": 1, "nom": "ZULU", "nomMere": "M", "nomPere": "P", "idCheval": "ZULU-M-P"}]});
        let past = json!({"participants": [{"numPmu": 1, "nomCheval": "ZULU", "coursesCourues": [
            {"date": 1759269600000_i64, "hippodrome": "Caen", "nomPrix": "PRIX X", "participants": [
                {"nomCheval": "ZULU", "itsHim": true, "place": {"place": place}}]}]}]});
        vec![
            (
                key(day, None, Stage::Programme),
                serde_json::to_vec(&programme).unwrap(),
            ),
            (
                key(day, Some((1, 1)), Stage::Participants),
                serde_json::to_vec(&runners).unwrap(),
            ),
            (
                key(day, Some((1, 1)), Stage::Performances),
                serde_json::to_vec(&past).unwrap(),
            ),
        ]
    }

    #[test]
    fn the_newest_report_of_a_past_race_wins_whatever_the_load_order() {
        let db = pg::migrated_db("fixtures_history_order");
        let mut client = db.client();
        let older = one_runner_day("2025-11-05", 1762297200000, 5);
        let newer = one_runner_day("2025-11-12", 1762902000000, 4);
        assert_eq!(
            load(&mut client, &newer)["horse_race_history"],
            [1, 1, 0, 0]
        );
        assert_eq!(
            load(&mut client, &older)["horse_race_history"],
            [1, 0, 1, 0],
            "an older report does not overwrite the values; it moves reported_on back"
        );
        assert_eq!(db.count("SELECT place::bigint FROM horse_race_history"), 4);
        assert_eq!(
            db.count("SELECT count(*) FROM horse_race_history WHERE reported_on = '2025-11-05'"),
            1
        );
        let db2 = pg::migrated_db("fixtures_history_order2");
        let mut client2 = db2.client();
        load(&mut client2, &older);
        assert_eq!(
            load(&mut client2, &newer)["horse_race_history"],
            [1, 0, 1, 0],
            "a newer report does"
        );
        assert_eq!(db.contents(), db2.contents());
    }
}
