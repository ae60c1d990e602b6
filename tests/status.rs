//! `pmu-lake status` and `pmu-lake verify` run as a user runs them, on lakes extracted from the
//! fake API and then damaged or edited in known ways, with and without a database.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pmu_lake::day::Day;
use pmu_lake::lake::{self, Lake, ManifestEntry, ObjectKey, RaceId, Stage};
use serde_json::Value;

use crate::support::fake_api::{FIXTURE_DAYS, FakeApi};
use crate::support::pg;
use crate::support::temp::Temp;

/// Far past the fixture days: everything extracted is final.
const TODAY: &str = "30112026";

/// The binary with no database configured (no URL, no PG*, no local cluster), unless `db`.
fn cmd(tmp: &Temp, args: &[&str], db: Option<&str>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pmu-lake"));
    cmd.args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("PG") || name == "DATABASE_URL" || name.starts_with("PMU_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("PMU_TODAY", TODAY)
        .env("PMU_PGDATA", tmp.0.join("no-local-cluster"))
        .env("PMU_BACKOFF_MS", "5");
    if let Some(url) = db {
        cmd.env("DATABASE_URL", url);
    }
    cmd
}

fn run(tmp: &Temp, args: &[&str], db: Option<&str>) -> Output {
    cmd(tmp, args, db).output().expect("running pmu-lake")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited, not killed")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        stdout(out),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn extract(tmp: &Temp, api: &FakeApi) -> Output {
    let lake = tmp.lake();
    let args = [
        "extract",
        "--quiet",
        "--lake",
        lake.to_str().unwrap(),
        "--api-base",
        &api.base_url(),
        "--delay",
        "0..0",
        "--start",
        FIXTURE_DAYS[0],
        "--end",
        FIXTURE_DAYS[1],
    ];
    run(tmp, &args, None)
}

fn lake_cmd<'a>(command: &'a str, tmp: &'a Temp, extra: &[&'a str]) -> Vec<String> {
    let mut v = vec![
        command.to_string(),
        "--lake".into(),
        tmp.lake().to_str().unwrap().into(),
    ];
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn verify(tmp: &Temp, extra: &[&str], db: Option<&str>) -> Output {
    let args = lake_cmd("verify", tmp, extra);
    run(
        tmp,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        db,
    )
}

fn status_json(tmp: &Temp, db: Option<&str>) -> (i32, Value) {
    let args = lake_cmd("status", tmp, &["--json"]);
    let out = run(
        tmp,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        db,
    );
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("status --json is not JSON: {e}\n{}", show(&out)));
    (code(&out), json)
}

/// A lake of both fixture days, extracted from the fake API, verified clean.
fn fixture_lake(tmp: &Temp) -> FakeApi {
    let api = FakeApi::serve_days(&FIXTURE_DAYS);
    let out = extract(tmp, &api);
    assert_eq!(code(&out), 0, "{}", show(&out));
    api
}

fn day(i: usize) -> Day {
    FIXTURE_DAYS[i].parse().unwrap()
}

fn key(d: usize, r: i64, c: i64, stage: Stage) -> ObjectKey {
    ObjectKey::race(day(d), RaceId::new(r, c).unwrap(), stage)
}

/// Every file of the lake but the manifests, the lock and the quarantine: bodies decompressed.
fn contents(lake: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(lake) {
        let entry = entry.unwrap();
        let rel = entry
            .path()
            .strip_prefix(lake)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if !entry.file_type().is_file()
            || rel.starts_with("_quarantine")
            || rel.ends_with(lake::MANIFEST)
            || rel == ".lock"
        {
            continue;
        }
        // A damaged body is kept as it is stored.
        let bytes = if rel.ends_with(".json.zst") {
            lake::read_body(entry.path()).unwrap_or_else(|_| std::fs::read(entry.path()).unwrap())
        } else {
            std::fs::read(entry.path()).unwrap()
        };
        out.insert(rel, bytes);
    }
    out
}

/// Appends a manifest line for `key`'s `name` copied from its last one, changed by `edit`.
fn relabel(lake: &Lake, key: &ObjectKey, name: &str, edit: impl FnOnce(&mut ManifestEntry)) {
    let manifest = lake.read_manifest(key.day).unwrap();
    let mut entry = manifest
        .entries
        .values()
        .find(|e| e.path == key.body_name())
        .unwrap_or_else(|| panic!("{} has no manifest line", key.body_name()))
        .clone();
    entry.path = name.to_string();
    entry.fetched_at = "2030-01-01T00:00:00.000Z".into();
    edit(&mut entry);
    lake.append_manifest(key.day, &entry).unwrap();
}

/// Removes every manifest line of `name` in `day`.
fn drop_lines(lake: &Lake, day: Day, name: &str) {
    let path = lake.day_dir(day).join(lake::MANIFEST);
    let text = std::fs::read_to_string(&path).unwrap();
    let needle = format!("\"path\":\"{name}\"");
    let kept: String = text
        .lines()
        .filter(|l| !l.contains(&needle))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(kept.len(), text.len(), "{name} had no line");
    std::fs::write(&path, kept).unwrap();
}

/// Problem lines of verify (all stdout lines but the summary) as (path, kind).
fn problems(out: &Output) -> BTreeSet<(String, String)> {
    let text = stdout(out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.last().is_some_and(|l| l.starts_with("verify ")),
        "no summary line: {}",
        show(out)
    );
    lines[..lines.len() - 1]
        .iter()
        .map(|l| {
            let mut parts = l.splitn(3, ": ");
            let path = parts.next().unwrap().to_string();
            let kind = parts
                .next()
                .unwrap_or_else(|| panic!("not a problem line: {l}"))
                .to_string();
            (path, kind)
        })
        .collect()
}

/// Damages the fixture lake in each way verify must see; returns the problem lines expected.
fn damage(lake: &Lake) -> BTreeSet<(String, String)> {
    let root = lake.root();
    let p = |k: &ObjectKey| k.display_path();
    let mut expected = BTreeSet::new();
    let mut add = |path: String, kind: &str| expected.insert((path, kind.to_string()));

    // Flipped bytes in the middle of a frame.
    let flipped = key(0, 1, 1, Stage::Participants);
    let path = lake.body_path(&flipped);
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    bytes[mid + 1] ^= 0x5a;
    std::fs::write(&path, bytes).unwrap();
    add(p(&flipped), "damaged zstd frame");

    // A frame cut short.
    let truncated = key(0, 1, 2, Stage::Performances);
    let path = lake.body_path(&truncated);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 7]).unwrap();
    add(p(&truncated), "damaged zstd frame");

    // A whole frame of valid JSON whose hash is not the manifest's.
    let rehashed = key(0, 2, 6, Stage::Rapports);
    let path = lake.body_path(&rehashed);
    let mut body = lake::read_body(&path).unwrap();
    body.extend_from_slice(b"\n");
    std::fs::write(&path, lake::compress(&body).unwrap()).unwrap();
    add(p(&rehashed), "hash mismatch");

    // An object whose manifest line is gone.
    let unlisted = key(0, 2, 7, Stage::Participants);
    drop_lines(lake, unlisted.day, &unlisted.body_name());
    add(p(&unlisted), "object without manifest entry");

    // A manifest entry whose object is gone.
    let gone = key(0, 3, 1, Stage::Performances);
    std::fs::remove_file(lake.body_path(&gone)).unwrap();
    add(p(&gone), "manifest entry without object");

    // A writer's temp file left behind.
    let temp = lake
        .day_dir(day(0))
        .join("R4C1/.rapports.json.zst.4242.77.tmp");
    std::fs::write(&temp, b"partial").unwrap();
    add(
        "date=2025-03-14/R4C1/.rapports.json.zst.4242.77.tmp".to_string(),
        "temp file",
    );

    // A body that is not JSON (an error page written over it): its hash is not the manifest's
    // either.
    let html = key(1, 1, 1, Stage::Participants);
    lake.write_body(&html, b"<html>Service indisponible</html>")
        .unwrap();
    add(p(&html), "hash mismatch");
    add(p(&html), "bad JSON");
    assert!(root.join(p(&html)).is_file());
    expected
}

#[test]
fn verify_reports_each_damage_exactly_and_nothing_on_a_clean_lake() {
    let tmp = Temp::new("status-verify");
    let _api = fixture_lake(&tmp);
    let clean = verify(&tmp, &[], None);
    assert_eq!(code(&clean), 0, "{}", show(&clean));
    assert!(problems(&clean).is_empty(), "{}", show(&clean));
    assert!(stdout(&clean).contains("clean"), "{}", show(&clean));

    let lake = Lake::new(tmp.lake());
    let mut expected = damage(&lake);
    std::fs::write(tmp.lake().join("notes.txt"), b"mine").unwrap();
    expected.insert(("notes.txt".into(), "stray file".into()));
    let out = verify(&tmp, &[], None);
    assert_eq!(code(&out), 3, "{}", show(&out));
    assert_eq!(problems(&out), expected, "{}", show(&out));
    assert!(
        stdout(&out).contains(&format!("{} problems", expected.len())),
        "{}",
        show(&out)
    );

    // A range sees only its days (and not the root).
    let out = verify(&tmp, &["--date", FIXTURE_DAYS[1]], None);
    assert_eq!(code(&out), 3, "{}", show(&out));
    assert_eq!(
        problems(&out),
        BTreeSet::from(["hash mismatch", "bad JSON"].map(|kind| (
            "date=2025-03-15/R1C1/participants.json.zst".to_string(),
            kind.to_string()
        ))),
        "{}",
        show(&out)
    );
}

#[test]
fn verify_deep_reads_bodies_with_their_stage_model() {
    let tmp = Temp::new("status-deep");
    let _api = fixture_lake(&tmp);
    let lake = Lake::new(tmp.lake());
    // Valid JSON, its manifest line matching, but not rapports (an array): only the model sees.
    // And a body not JSON whose manifest line vouches for it (a hand-made manifest): only
    // --deep parses it.
    let odd = key(1, 1, 2, Stage::Rapports);
    let body = br#"{"programme":{}}"#;
    lake.write_body(&odd, body).unwrap();
    relabel(&lake, &odd, &odd.body_name(), |e| {
        e.sha256 = lake::sha256_hex(body)
    });
    let html = key(1, 1, 1, Stage::Participants);
    lake.write_body(&html, b"<html/>").unwrap();
    relabel(&lake, &html, &html.body_name(), |e| {
        e.sha256 = lake::sha256_hex(b"<html/>")
    });
    let out = verify(&tmp, &[], None);
    assert_eq!(code(&out), 0, "{}", show(&out));
    let out = verify(&tmp, &["--deep"], None);
    assert_eq!(code(&out), 3, "{}", show(&out));
    assert_eq!(
        problems(&out),
        BTreeSet::from([
            (odd.display_path(), "bad JSON".to_string()),
            (html.display_path(), "bad JSON".to_string())
        ]),
        "{}",
        show(&out)
    );
    assert!(
        stdout(&out).contains("does not read as rapports"),
        "{}",
        show(&out)
    );
}

#[test]
fn repair_then_extract_restores_an_identical_lake() {
    let tmp = Temp::new("status-repair");
    let api = fixture_lake(&tmp);
    let lake = Lake::new(tmp.lake());
    let before = contents(&tmp.lake());
    let expected = damage(&lake);
    assert_ne!(contents(&tmp.lake()), before);

    let out = verify(&tmp, &["--repair"], None);
    assert_eq!(code(&out), 3, "{}", show(&out));
    assert_eq!(problems(&out), expected, "{}", show(&out));
    // Kept, never deleted: every damaged file is in the quarantine.
    let quarantine: Vec<PathBuf> = std::fs::read_dir(tmp.lake().join("_quarantine"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(quarantine.len(), 1);
    for (path, kind) in &expected {
        match kind.as_str() {
            "manifest entry without object" => {}
            // Intact, only unlisted: it stays where it is and gets a line (not final).
            "object without manifest entry" => {
                assert!(tmp.lake().join(path).is_file(), "{path} moved");
                assert!(!quarantine[0].join(path).exists(), "{path} quarantined");
            }
            _ => {
                assert!(quarantine[0].join(path).is_file(), "{path} not kept");
                assert!(!tmp.lake().join(path).exists(), "{path} still in place");
            }
        }
    }
    // What is left is a clean lake, short of what the next extract fetches.
    let out = verify(&tmp, &[], None);
    assert_eq!(code(&out), 0, "{}", show(&out));
    let out = extract(&tmp, &api);
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert_eq!(contents(&tmp.lake()), before, "the lake is whole again");
    let out = verify(&tmp, &[], None);
    assert_eq!(code(&out), 0, "{}", show(&out));
}

/// The figures of day `i` of a status report.
fn day_of(json: &Value, i: usize) -> &Value {
    let iso = day(i).iso();
    json["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["date"] == iso.as_str())
        .unwrap_or_else(|| panic!("no {iso} in {json}"))
}

fn stage(json: &Value, i: usize, stage: &str) -> [u64; 4] {
    let s = &day_of(json, i)["stages"][stage];
    ["final", "provisional", "no_content", "missing"].map(|k| s[k].as_u64().unwrap())
}

/// Races of a fixture day, from the lake's directories.
fn races_on_disk(lake: &Lake, i: usize) -> u64 {
    std::fs::read_dir(lake.day_dir(day(i)))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_dir())
        .count() as u64
}

/// Makes known objects provisional, missing and no-content: returns nothing; the test knows.
fn edit_for_status(lake: &Lake) {
    // Provisional: a body and a marker the manifest says are not final yet.
    let provisional = key(0, 1, 1, Stage::Rapports);
    relabel(lake, &provisional, &provisional.body_name(), |e| {
        e.is_final = false
    });
    let marker = key(0, 1, 2, Stage::Rapports);
    std::fs::remove_file(lake.body_path(&marker)).unwrap();
    lake.write_marker(&marker, 204).unwrap();
    relabel(lake, &marker, &marker.marker_name(204), |e| {
        e.status = 204;
        e.is_final = false;
    });
    // No content for good.
    let nothing = key(0, 1, 1, Stage::Performances);
    std::fs::remove_file(lake.body_path(&nothing)).unwrap();
    lake.write_marker(&nothing, 404).unwrap();
    relabel(lake, &nothing, &nothing.marker_name(404), |e| {
        e.status = 404;
        e.is_final = true;
    });
    // Missing: two objects of the second day.
    for k in [
        key(1, 1, 1, Stage::Participants),
        key(1, 1, 2, Stage::Participants),
    ] {
        std::fs::remove_file(lake.body_path(&k)).unwrap();
    }
}

#[test]
fn status_counts_what_the_lake_holds_without_a_database() {
    let tmp = Temp::new("status-status");
    let api = fixture_lake(&tmp);
    let lake = Lake::new(tmp.lake());
    let races = [races_on_disk(&lake, 0), races_on_disk(&lake, 1)];
    let (code0, json) = status_json(&tmp, None);
    assert_eq!(code0, 0, "{json}");
    // The fixture's own markers: R2C6 and R2C7 performances (204), R2C7 rapports (404).
    let markers = |i, s: &str| match (i, s) {
        (0, "performances") => 2,
        (0, "rapports") => 1,
        _ => 0,
    };
    for (i, races) in races.iter().enumerate() {
        assert_eq!(day_of(&json, i)["races"], *races);
        assert_eq!(day_of(&json, i)["programme"], "final");
        for s in ["participants", "performances", "rapports"] {
            let m = markers(i, s);
            assert_eq!(stage(&json, i, s), [races - m, 0, m, 0], "{s}");
        }
        assert!(day_of(&json, i).get("loaded").is_none(), "no database");
    }
    assert_eq!(json["database"], Value::Null);
    assert_eq!(json["next_extract"]["requests"], 0);

    edit_for_status(&lake);
    let (code1, json) = status_json(&tmp, None);
    assert_eq!(code1, 3, "{json}");
    let r = races[0];
    assert_eq!(stage(&json, 0, "rapports"), [r - 3, 2, 1, 0]);
    assert_eq!(stage(&json, 0, "performances"), [r - 3, 0, 3, 0]);
    assert_eq!(stage(&json, 0, "participants"), [r, 0, 0, 0]);
    assert_eq!(stage(&json, 1, "participants"), [races[1] - 2, 0, 0, 2]);
    assert_eq!(day_of(&json, 0)["complete"], false);
    assert_eq!(json["next_extract"]["requests"], 4);

    // The terminal table: one line per day, and the summary.
    let args = lake_cmd("status", &tmp, &[]);
    let out = run(
        &tmp,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        None,
    );
    assert_eq!(code(&out), 3);
    let text = stdout(&out);
    assert!(text.contains("2025-03-15  final"), "{text}");
    assert!(
        text.lines()
            .last()
            .unwrap()
            .contains("next extract: 4 requests")
            && text.contains("database: none configured"),
        "{text}"
    );
    // The next extract asks exactly those four, and the lake is complete again.
    api.clear_requests();
    let out = extract(&tmp, &api);
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert_eq!(api.requests().len(), 4, "{:?}", api.requests());
}

#[test]
fn status_with_a_database_counts_loaded_changed_rejected_and_not_loaded() {
    let tmp = Temp::new("status-status-db");
    let _api = fixture_lake(&tmp);
    let lake = Lake::new(tmp.lake());
    let db = pg::fresh_db("status");
    let bodies_of = |i: usize| {
        contents(&tmp.lake())
            .keys()
            .filter(|p| {
                p.ends_with(".json.zst") && p.starts_with(&format!("date={}", day(i).iso()))
            })
            .count() as u64
    };
    let bodies = bodies_of(0) + bodies_of(1);
    let (c, json) = status_json(&tmp, Some(&db.url));
    assert_eq!(c, 3, "nothing loaded yet: {json}");
    assert_eq!(json["totals"]["not_loaded"], bodies);
    assert_eq!(json["next_load"], bodies);

    let load = |tmp: &Temp| {
        let args = lake_cmd("load", tmp, &["--quiet"]);
        run(
            tmp,
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
            Some(&db.url),
        )
    };
    let out = load(&tmp);
    assert_eq!(code(&out), 0, "{}", show(&out));
    let (c, json) = status_json(&tmp, Some(&db.url));
    assert_eq!(c, 0, "{json}");
    assert_eq!(json["totals"]["loaded"], bodies);
    assert_eq!(json["next_load"], 0);

    // Loaded by an older mapping (as after an upgrade): to be re-derived by the next load.
    db.client()
        .batch_execute("UPDATE load_ledger SET mapping_version = 0 WHERE stage = 'rapports'")
        .unwrap();
    let rapports = db.count("SELECT count(*) FROM load_ledger WHERE stage = 'rapports'") as u64;
    let (c, json) = status_json(&tmp, Some(&db.url));
    assert_eq!(c, 3, "{json}");
    assert_eq!(json["totals"]["reprocess"], rapports, "{json}");
    assert_eq!(json["next_load"], rapports, "{json}");
    let out = load(&tmp);
    assert_eq!(code(&out), 0, "{}", show(&out));
    let (c, json) = status_json(&tmp, Some(&db.url));
    assert_eq!((c, &json["next_load"]), (0, &Value::from(0)), "{json}");

    // Changed: a body rewritten with other content; rejected: one load cannot read.
    let changed = key(0, 1, 1, Stage::Rapports);
    let mut body = lake::read_body(&lake.body_path(&changed)).unwrap();
    body.extend_from_slice(&b" ".repeat(4000));
    lake.write_body(&changed, &body).unwrap();
    let rejected = key(1, 1, 2, Stage::Performances);
    lake.write_body(&rejected, b"{\"participants\":").unwrap();
    let (c, json) = status_json(&tmp, Some(&db.url));
    assert_eq!(c, 3);
    assert_eq!(day_of(&json, 0)["changed"], 1, "{json}");
    assert_eq!(day_of(&json, 1)["changed"], 1, "{json}");
    assert_eq!(json["next_load"], 2);
    let out = load(&tmp);
    assert_eq!(code(&out), 3, "{}", show(&out));
    let (c, json) = status_json(&tmp, Some(&db.url));
    assert_eq!(c, 3);
    assert_eq!(day_of(&json, 0)["loaded"], bodies_of(0), "{json}");
    assert_eq!(day_of(&json, 1)["rejected"], 1, "{json}");
    assert_eq!(day_of(&json, 1)["loaded"], bodies_of(1) - 1, "{json}");
    let reasons = day_of(&json, 1)["rejections"].as_array().unwrap();
    assert_eq!(reasons.len(), 1);
    assert_eq!(
        reasons[0]["path"],
        "date=2025-03-15/R1C2/performances.json.zst"
    );
    assert!(!reasons[0]["reason"].as_str().unwrap().is_empty());

    // verify with the database: the ledger's view of a changed and a vanished object.
    let out = verify(&tmp, &[], Some(&db.url));
    let found = problems(&out);
    assert!(
        found.contains(&(
            "date=2025-03-15/R1C2/performances.json.zst".into(),
            "hash mismatch".into()
        )),
        "{}",
        show(&out)
    );
    let gone = key(0, 2, 7, Stage::Participants);
    std::fs::remove_file(lake.body_path(&gone)).unwrap();
    let changed_again = key(0, 3, 1, Stage::Rapports);
    let mut body = lake::read_body(&lake.body_path(&changed_again)).unwrap();
    body.push(b' ');
    let compressed = lake::compress(&body).unwrap();
    std::fs::write(lake.body_path(&changed_again), compressed).unwrap();
    let out = verify(&tmp, &[], Some(&db.url));
    let found = problems(&out);
    for (path, kind) in [
        (gone.display_path(), "ledger row, object gone"),
        (changed_again.display_path(), "changed since its load"),
    ] {
        assert!(
            found.contains(&(path.clone(), kind.to_string())),
            "{path} {kind}: {}",
            show(&out)
        );
    }
}
