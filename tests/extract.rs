//! `pmu-lake extract` run as a user runs it (the real binary) against the fake PMU API: what is
//! asked and how often, what lands in the lake, faults, bans, kill -9, bad input, dry runs; and
//! race discovery over every real programme sample in $PMU_SAMPLES.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::fake_api::{
    FIXTURE_DAYS, FakeApi, Gate, Reply, Request, day_objects, fixtures_dir, programme_path,
    race_path,
};
use crate::support::temp::Temp;

// ---------------------------------------------------------------------------------------------
// Helpers

/// "Today" for every run of these tests, given to the binary through `PMU_TODAY`: the tests and
/// the run never disagree on it, whatever the clock says (around midnight in Paris, say).
const TODAY: &str = "30112026";

/// `TODAY` moved by `days`, as DDMMYYYY.
fn today_plus(days: i64) -> String {
    let today = chrono::NaiveDate::parse_from_str(TODAY, "%d%m%Y").unwrap();
    (today + chrono::Duration::days(days))
        .format("%d%m%Y")
        .to_string()
}

fn extract_cmd(base: &str, lake: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pmu-lake"));
    cmd.arg("extract").arg("--lake").arg(lake);
    // Fast defaults, unless the test gives its own value.
    for (flag, value) in [
        ("--api-base", base),
        ("--delay", "0..0"),
        ("--timeout", "5"),
    ] {
        if !args.contains(&flag) {
            cmd.args([flag, value]);
        }
    }
    cmd.args(args);
    for var in ["PMU_LAKE", "PMU_API_BASE", "PMU_PROFILE"] {
        cmd.env_remove(var);
    }
    cmd.env("PMU_BACKOFF_MS", "5");
    cmd.env("PMU_TODAY", TODAY);
    cmd
}

/// A run in the background, killed if the test ends before it does.
struct Background(Option<Child>);

impl Background {
    fn spawn(mut cmd: Command) -> Background {
        let child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting pmu-lake");
        Background(Some(child))
    }

    fn output(mut self) -> Output {
        let child = self.0.take().expect("waited once");
        child.wait_with_output().expect("waiting for pmu-lake")
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits until the API has received a request for `path` (a generous deadline, no timing
/// assertion: the run waits on a gate meanwhile).
fn wait_for_request(api: &FakeApi, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while api.count(path) == 0 {
        assert!(Instant::now() < deadline, "{path} was never asked");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn extract(api: &FakeApi, lake: &Path, args: &[&str]) -> Output {
    extract_cmd(&api.base_url(), lake, args)
        .output()
        .expect("running pmu-lake")
}

fn both_days() -> [&'static str; 4] {
    ["--start", FIXTURE_DAYS[0], "--end", FIXTURE_DAYS[1]]
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited, not killed")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn assert_ok(out: &Output) {
    assert_eq!(
        code(out),
        0,
        "stdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
}

/// `date=YYYY-MM-DD` of a DDMMYYYY day.
fn day_dir(ddmmyyyy: &str) -> String {
    format!(
        "date={}-{}-{}",
        &ddmmyyyy[4..],
        &ddmmyyyy[2..4],
        &ddmmyyyy[..2]
    )
}

/// Every file of the lake, by relative path, manifests and the writer lock included.
fn files(lake: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(lake)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(lake)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    out.sort();
    out
}

/// Every object of the lake (every file but the manifests and the writer lock `.lock`), by
/// relative path, bodies decompressed.
fn snapshot(lake: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    if !lake.exists() {
        return out;
    }
    for entry in walkdir::WalkDir::new(lake) {
        let entry = entry.unwrap();
        if !entry.file_type().is_file()
            || entry.file_name() == "_manifest.jsonl"
            || entry.file_name() == ".lock"
        {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(lake)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let bytes = if rel.ends_with(".json.zst") {
            pmu_lake::lake::read_body(entry.path()).unwrap()
        } else {
            std::fs::read(entry.path()).unwrap()
        };
        out.insert(rel, bytes);
    }
    out
}

/// What the API should be asked for a fixture day, worked out here from the fixture programme
/// itself: the programme, then three paths per race of `$.programme.reunions[].courses[]`.
fn expected_paths(day: &str) -> BTreeSet<String> {
    let programme: Value = serde_json::from_slice(
        &std::fs::read(fixtures_dir().join(day).join("programme.json")).unwrap(),
    )
    .unwrap();
    let mut paths = BTreeSet::from([programme_path(day)]);
    for reunion in programme["programme"]["reunions"].as_array().unwrap() {
        for course in reunion["courses"].as_array().unwrap() {
            let (r, c) = (&reunion["numOfficiel"], &course["numOrdre"]);
            for stage in ["participants", "performances", "rapports"] {
                paths.insert(race_path(day, r, c, stage));
            }
        }
    }
    paths
}

fn all_expected_paths() -> BTreeSet<String> {
    FIXTURE_DAYS
        .iter()
        .flat_map(|d| expected_paths(d))
        .collect()
}

fn requested(api: &FakeApi) -> Vec<String> {
    api.requests().into_iter().map(|r| r.path).collect()
}

/// When the server received each request.
fn arrivals(requests: &[Request]) -> Vec<Instant> {
    requests.iter().map(|r| r.at).collect()
}

/// Each request came at least `min` after the one before (a lower bound only: a loaded
/// machine makes gaps longer, never shorter).
fn assert_spaced(times: &[Instant], min: Duration) {
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= min,
            "requests {gap:?} apart, expected at least {min:?}"
        );
    }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn manifest(lake: &Path, day: &str) -> BTreeMap<String, Value> {
    let text = std::fs::read_to_string(lake.join(day_dir(day)).join("_manifest.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|v| (v["path"].as_str().unwrap().to_string(), v))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The normal run, and reruns

#[test]
fn extract_asks_each_object_once_and_stores_exactly_what_was_served() {
    let api = FakeApi::serve_days(&FIXTURE_DAYS);
    let tmp = Temp::new("extract-once");
    let report = tmp.0.join("report.json");
    let out = extract(
        &api,
        &tmp.lake(),
        &[
            &both_days()[..],
            &["--workers", "4", "--report", report.to_str().unwrap()],
        ]
        .concat(),
    );
    assert_ok(&out);
    assert_eq!(
        stderr(&out),
        "",
        "no progress bar or warning when stderr is not a terminal"
    );

    let asked = requested(&api);
    let unique: BTreeSet<String> = asked.iter().cloned().collect();
    assert_eq!(
        asked.len(),
        unique.len(),
        "some object was asked twice: {asked:?}"
    );
    assert_eq!(unique, all_expected_paths());

    // Browser-like headers on every request.
    for r in api.requests() {
        assert!(
            r.header("user-agent").is_some_and(|v| v.contains("Chrome")),
            "{r:?}"
        );
        assert_eq!(
            r.header("accept"),
            Some("application/json, text/plain, */*")
        );
        assert_eq!(r.header("accept-language"), Some("fr-FR,fr;q=0.9"));
        assert_eq!(r.header("referer"), Some("https://www.pmu.fr/"));
        assert!(
            r.header("origin")
                .is_some_and(|v| v.starts_with("https://www.pmu.fr"))
        );
    }

    // The lake holds every served body byte for byte, a marker for each 204 and for the one
    // unrouted path (404), and nothing else.
    let lake = snapshot(&tmp.lake());
    let mut expected = BTreeMap::new();
    for day in FIXTURE_DAYS {
        for o in day_objects(day, day) {
            expected.insert(
                format!("{}/{}", day_dir(day), o.lake_rel),
                o.body.unwrap_or_default(),
            );
        }
    }
    expected.insert(
        format!("{}/R2C7/rapports.404", day_dir("14032025")),
        Vec::new(),
    );
    assert_eq!(
        lake.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (path, body) in &expected {
        assert!(lake[path] == *body, "{path} differs from what was served");
    }

    // Provenance per object; old days are final by time.
    let m = manifest(&tmp.lake(), "14032025");
    let programme = &m["programme.json.zst"];
    assert_eq!(
        programme["url"],
        format!("{}/rest/client/1/programme/14032025", api.base_url())
    );
    assert_eq!(programme["status"], 200);
    assert_eq!(programme["final"], true);
    assert_eq!(m["R2C6/performances.204"]["status"], 204);
    assert_eq!(m.len(), 22);

    // The report's figures add up to what happened.
    let bodies = expected.values().filter(|b| !b.is_empty()).count() as u64;
    let r = read_json(&report);
    assert_eq!(r["total"]["fetched"], bodies);
    assert_eq!(r["total"]["no_content"], 3);
    assert_eq!(r["total"]["failed"], 0);
    assert_eq!(
        r["total"]["bytes_raw"],
        expected.values().map(|b| b.len() as u64).sum::<u64>()
    );
    assert_eq!(r["days"].as_array().unwrap().len(), 2);
    let summary = stdout(&out);
    assert!(
        summary.contains(&format!(
            "{} requests: {bodies} fetched, 0 already held, 3 no content",
            bodies + 3
        )),
        "{summary}"
    );
}

#[test]
fn rerun_over_final_days_makes_no_request() {
    let api = FakeApi::serve_days(&FIXTURE_DAYS);
    let tmp = Temp::new("extract-rerun");
    assert_ok(&extract(&api, &tmp.lake(), &both_days()));
    let before = snapshot(&tmp.lake());
    api.clear_requests();

    // A temp file a killed writer left behind is swept, and not counted as an object.
    let stale = tmp
        .lake()
        .join(day_dir("14032025"))
        .join("R1C1/.rapports.json.zst.999.1.tmp");
    std::fs::write(&stale, b"partial").unwrap();

    let out = extract(&api, &tmp.lake(), &both_days());
    assert_ok(&out);
    assert!(!stale.exists(), "stale temp file not swept");
    assert_eq!(requested(&api), Vec::<String>::new());
    assert_eq!(snapshot(&tmp.lake()), before);
    let held = all_expected_paths().len();
    assert!(
        stdout(&out).contains(&format!("0 requests: 0 fetched, {held} already held")),
        "{}",
        stdout(&out)
    );
}

#[test]
fn an_append_after_a_torn_manifest_line_is_kept_and_the_torn_line_counted() {
    // 15032025 has a race not run yet: with a long grace period each run asks it (and the
    // programme) again, and appends their lines to the day's manifest.
    let api = FakeApi::serve_days(&["15032025"]);
    let tmp = Temp::new("extract-torn");
    let report = tmp.0.join("report.json");
    let args = [
        "--date",
        "15032025",
        "--grace-days",
        "100000",
        "--report",
        report.to_str().unwrap(),
    ];
    assert_ok(&extract(&api, &tmp.lake(), &args));
    let path = tmp.lake().join(day_dir("15032025")).join("_manifest.jsonl");
    let first = std::fs::read_to_string(&path).unwrap();
    // A crash in the middle of an append: part of a line, no newline.
    let torn = r#"{"path":"R1C2/participants.json.zst","url":"http://127.0.0.1/x","sta"#;
    std::fs::write(&path, format!("{first}{torn}")).unwrap();
    api.clear_requests();

    let out = extract(&api, &tmp.lake(), &args);
    assert_ok(&out);
    let asked = requested(&api).len();
    assert!(asked > 0);
    assert!(
        stdout(&out).contains("; 1 unreadable manifest lines skipped"),
        "{}",
        stdout(&out)
    );
    assert_eq!(read_json(&report)["total"]["manifest_unreadable"], 1);
    assert_eq!(read_json(&report)["days"][0]["manifest_unreadable"], 1);

    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), first.lines().count() + 1 + asked, "{text}");
    let unreadable: Vec<&&str> = lines
        .iter()
        .filter(|l| serde_json::from_str::<Value>(l).is_err())
        .collect();
    assert_eq!(unreadable, [&torn], "only the torn line is lost");
    // Every answer of the second run has its line.
    let paths: BTreeSet<String> = lines[first.lines().count() + 1..]
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|v| v["path"].as_str().unwrap().to_string())
        .collect();
    assert!(paths.contains("programme.json.zst"), "{paths:?}");
    assert_eq!(paths.len(), asked);
}

#[test]
fn objects_not_final_yet_are_fetched_again_and_final_ones_are_not() {
    // With a grace period longer than the fixtures' age, finality comes from the data alone.
    let api = FakeApi::serve_days(&FIXTURE_DAYS);
    let tmp = Temp::new("extract-nonfinal");
    let args = [&both_days()[..], &["--grace-days", "100000"]].concat();
    assert_ok(&extract(&api, &tmp.lake(), &args));
    let m = manifest(&tmp.lake(), "15032025");
    assert_eq!(m["programme.json.zst"]["final"], false);
    assert_eq!(
        m["R1C2/rapports.json.zst"]["final"], false,
        "an empty rapports array means not yet"
    );
    assert_eq!(m["R1C1/rapports.json.zst"]["final"], true);
    api.clear_requests();

    assert_ok(&extract(&api, &tmp.lake(), &args));
    // 15032025 R1C2 has not run (PROGRAMMEE, no arrival, rapports `[]`), so its programme and
    // its three objects are asked again; so are the rapports of 14032025 R2C7, which answered
    // 404 although the race is over. Everything else is final.
    let again: BTreeSet<String> = requested(&api).into_iter().collect();
    let expected: BTreeSet<String> = [
        "/rest/client/1/programme/15032025",
        "/rest/client/61/programme/15032025/R1/C2/participants",
        "/rest/client/61/programme/15032025/R1/C2/performances-detaillees/pretty",
        "/rest/client/1/programme/15032025/R1/C2/rapports-definitifs",
        "/rest/client/1/programme/14032025/R2/C7/rapports-definitifs",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(again, expected);
    assert_eq!(api.requests().len(), expected.len());
}

#[test]
fn an_empty_answer_after_a_stored_body_settles_the_object() {
    // Day 2's R1C2 rapports are first `[]` (not final, kept as a body), then the API answers
    // 404 past the grace period: the lake keeps the body, and the 404 is the last word.
    let api = FakeApi::serve_days(&FIXTURE_DAYS);
    let tmp = Temp::new("extract-bodythen404");
    let d2 = ["--date", "15032025"];
    assert_ok(&extract(
        &api,
        &tmp.lake(),
        &[&d2[..], &["--grace-days", "100000"]].concat(),
    ));
    let rapports = "/rest/client/1/programme/15032025/R1/C2/rapports-definitifs";
    api.route(rapports, vec![Reply::Empty(404)]);
    api.clear_requests();
    assert_ok(&extract(&api, &tmp.lake(), &d2));
    assert_eq!(api.count(rapports), 1);
    let m = manifest(&tmp.lake(), "15032025");
    assert_eq!(m["R1C2/rapports.404"]["final"], true);

    api.clear_requests();
    assert_ok(&extract(&api, &tmp.lake(), &d2));
    assert_eq!(requested(&api), Vec::<String>::new());
}

#[test]
fn programme_of_today_is_fetched_again_even_when_every_race_is_over() {
    let today = TODAY;
    let api = FakeApi::start();
    api.add_day("14032025", today);
    let tmp = Temp::new("extract-today");
    assert_ok(&extract(&api, &tmp.lake(), &["--date", today]));
    let first = api.requests().len();
    api.clear_requests();
    assert_ok(&extract(&api, &tmp.lake(), &["--date", today]));
    // The programme again, and the R2C7 rapports that answered 404; the races are over with
    // their arrivals known, so their objects stay.
    let again = requested(&api);
    assert_eq!(
        again
            .iter()
            .filter(|p| **p == format!("/rest/client/1/programme/{today}"))
            .count(),
        1,
        "{again:?}"
    );
    assert_eq!(again.len(), 2, "{again:?}");
    assert!(first > 2);
}

#[test]
fn refresh_asks_everything_again() {
    let api = FakeApi::serve_days(&FIXTURE_DAYS);
    let tmp = Temp::new("extract-refresh");
    assert_ok(&extract(&api, &tmp.lake(), &both_days()));
    api.clear_requests();
    assert_ok(&extract(
        &api,
        &tmp.lake(),
        &[&both_days()[..], &["--refresh"]].concat(),
    ));
    let again: BTreeSet<String> = requested(&api).into_iter().collect();
    assert_eq!(again, all_expected_paths());
}

#[test]
fn lake_copied_in_without_manifest_is_judged_by_its_content() {
    let api = FakeApi::serve_days(&FIXTURE_DAYS);
    let tmp = Temp::new("extract-nomanifest");
    assert_ok(&extract(&api, &tmp.lake(), &both_days()));
    for day in FIXTURE_DAYS {
        std::fs::remove_file(tmp.lake().join(day_dir(day)).join("_manifest.jsonl")).unwrap();
    }
    api.clear_requests();
    assert_ok(&extract(&api, &tmp.lake(), &both_days()));
    // Without fetch times only the data speaks: what is settled stays, what is not is asked.
    let again: BTreeSet<String> = requested(&api).into_iter().collect();
    assert!(
        again.contains("/rest/client/1/programme/15032025"),
        "{again:?}"
    );
    assert!(again.contains("/rest/client/1/programme/15032025/R1/C2/rapports-definitifs"));
    assert!(
        !again.contains("/rest/client/1/programme/14032025"),
        "day 1 is settled: {again:?}"
    );
    assert!(
        !again.iter().any(|p| p.contains("/R1/C1/")),
        "finished races stay: {again:?}"
    );
    assert_eq!(again.len(), 5, "{again:?}");
}

// ---------------------------------------------------------------------------------------------
// Politeness

#[test]
fn never_more_requests_in_flight_than_workers() {
    let api = FakeApi::serve_days(&FIXTURE_DAYS);
    api.set_latency(Duration::from_millis(80));
    let tmp = Temp::new("extract-inflight");
    assert_ok(&extract(
        &api,
        &tmp.lake(),
        &[&both_days()[..], &["--workers", "3"]].concat(),
    ));
    assert!(
        api.max_in_flight() <= 3,
        "{} in flight",
        api.max_in_flight()
    );
    assert!(
        api.max_in_flight() >= 2,
        "the races of both days should be fetched concurrently"
    );
    assert_eq!(api.requests().len(), all_expected_paths().len());
}

#[test]
fn delay_is_waited_before_each_request() {
    let api = FakeApi::serve_days(&FIXTURE_DAYS);
    let tmp = Temp::new("extract-delay");
    let out = extract_cmd(
        &api.base_url(),
        &tmp.lake(),
        &[
            "--date",
            "15032025",
            "--workers",
            "1",
            "--delay",
            "0.2..0.3",
        ],
    )
    .output()
    .unwrap();
    assert_ok(&out);
    let times = arrivals(&api.requests());
    assert_eq!(times.len(), 7);
    assert_spaced(&times, Duration::from_millis(195));
}

#[test]
fn max_rps_caps_the_rate_across_workers() {
    let api = FakeApi::serve_days(&FIXTURE_DAYS);
    let tmp = Temp::new("extract-rps");
    let out = extract(
        &api,
        &tmp.lake(),
        &["--date", "15032025", "--workers", "4", "--max-rps", "10"],
    );
    assert_ok(&out);
    let times = arrivals(&api.requests());
    assert_eq!(times.len(), 7);
    let span = *times.iter().max().unwrap() - *times.iter().min().unwrap();
    assert!(
        span >= Duration::from_millis(580),
        "7 requests at 10/s took only {span:?}"
    );
}

#[test]
fn programmes_come_first_then_the_races_of_every_day_flow_through_one_pool() {
    let api = FakeApi::serve_days(&FIXTURE_DAYS);
    let tmp = Temp::new("extract-order");
    assert_ok(&extract(
        &api,
        &tmp.lake(),
        &[&both_days()[..], &["--workers", "1"]].concat(),
    ));
    let asked = requested(&api);
    let programmes: Vec<&str> = asked[..2].iter().map(String::as_str).collect();
    assert_eq!(
        programmes,
        [
            "/rest/client/1/programme/14032025",
            "/rest/client/1/programme/15032025"
        ]
    );
    // Not stage by stage: some rapports are asked before the last participants.
    let first_rapports = asked
        .iter()
        .position(|p| p.ends_with("rapports-definitifs"))
        .unwrap();
    let last_participants = asked
        .iter()
        .rposition(|p| p.ends_with("participants"))
        .unwrap();
    assert!(first_rapports < last_participants, "{asked:#?}");
}

#[test]
fn a_long_range_is_planned_a_window_of_days_at_a_time() {
    // More days than the window: with one worker, requests are sequential, so a day is "open"
    // from its programme request to its last request. No more days are ever open at once than
    // the window holds, and the range still completes.
    let window = pmu_lake::extract::DAY_WINDOW;
    let days: Vec<String> = (1..=window + 6)
        .map(|d| format!("{:02}012024", d))
        .collect();
    let api = FakeApi::start();
    for day in &days {
        api.add_day("14032025", day);
    }
    let tmp = Temp::new("extract-window");
    let (first, last) = (days[0].as_str(), days[days.len() - 1].as_str());
    assert_ok(&extract(
        &api,
        &tmp.lake(),
        &["--start", first, "--end", last, "--workers", "1"],
    ));
    let asked = requested(&api);
    let day_of = |path: &str| days.iter().position(|d| path.contains(d.as_str())).unwrap();
    let mut last_request = vec![0; days.len()];
    for (i, p) in asked.iter().enumerate() {
        last_request[day_of(p)] = i;
    }
    let is_programme = |p: &&String| p.matches('/').count() == 5; // /rest/client/1/programme/D
    let mut most_open = 0;
    for i in 0..asked.len() {
        let open = asked[..=i]
            .iter()
            .filter(is_programme)
            .map(|p| day_of(p))
            .filter(|d| last_request[*d] >= i)
            .count();
        most_open = most_open.max(open);
    }
    assert_eq!(
        most_open, window,
        "days open at once (the first window fills up, then stays bounded)"
    );
    assert_eq!(
        asked.len(),
        days.len() * expected_paths("14032025").len(),
        "every day of the range completed"
    );
}

// ---------------------------------------------------------------------------------------------
// Faults

const D2: &str = "15032025";

fn d2_path(race: &str, stage: &str) -> String {
    let (r, c) = race[1..].split_once('C').unwrap();
    race_path(D2, r, c, stage)
}

fn d2_body(rel: &str) -> Vec<u8> {
    std::fs::read(fixtures_dir().join(D2).join(rel)).unwrap()
}

#[test]
fn transient_faults_are_retried_and_bad_bodies_never_stored() {
    let api = FakeApi::serve_days(&[D2]);
    let prog = programme_path(D2);
    api.route(
        &prog,
        vec![
            Reply::Empty(500),
            Reply::Empty(500),
            Reply::json(d2_body("programme.json")),
        ],
    );
    let ok = |rel: &str| Reply::json(d2_body(rel));
    api.route(
        &d2_path("R1C1", "participants"),
        vec![
            Reply::RetryAfter {
                status: 429,
                secs: 1,
            },
            ok("R1C1/participants.json"),
        ],
    );
    api.route(
        &d2_path("R1C1", "performances"),
        vec![
            Reply::Truncated(d2_body("R1C1/performances.json")),
            ok("R1C1/performances.json"),
        ],
    );
    api.route(
        &d2_path("R1C1", "rapports"),
        vec![Reply::html(), ok("R1C1/rapports.json")],
    );
    api.route(
        &d2_path("R1C2", "participants"),
        vec![Reply::Drop, ok("R1C2/participants.json")],
    );
    // Slower than the client's timeout by a wide margin, and a timeout wide enough that the
    // other answers never reach it on a loaded machine (a stray timeout would add a retry).
    let slow = Reply::Slow(
        Duration::from_secs(10),
        Box::new(ok("R1C2/performances.json")),
    );
    api.route(
        &d2_path("R1C2", "performances"),
        vec![slow, ok("R1C2/performances.json")],
    );
    api.route(
        &d2_path("R1C2", "rapports"),
        vec![Reply::Empty(503), ok("R1C2/rapports.json")],
    );

    let tmp = Temp::new("extract-faults");
    let report = tmp.0.join("r.json");
    let out = extract(
        &api,
        &tmp.lake(),
        &[
            "--date",
            D2,
            "--timeout",
            "3",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert_ok(&out);

    assert_eq!(api.count(&prog), 3);
    for (race, stage) in [
        ("R1C1", "participants"),
        ("R1C1", "performances"),
        ("R1C1", "rapports"),
        ("R1C2", "participants"),
        ("R1C2", "performances"),
        ("R1C2", "rapports"),
    ] {
        assert_eq!(api.count(&d2_path(race, stage)), 2, "{race} {stage}");
    }
    // Retry-After: 1 was honoured.
    let at: Vec<Instant> = api
        .requests()
        .iter()
        .filter(|r| r.path == d2_path("R1C1", "participants"))
        .map(|r| r.at)
        .collect();
    assert!(
        at[1] - at[0] >= Duration::from_millis(950),
        "Retry-After ignored: {:?}",
        at[1] - at[0]
    );

    // Only the good bodies are in the lake.
    let lake = snapshot(&tmp.lake());
    for o in day_objects(D2, D2) {
        assert!(
            lake[&format!("{}/{}", day_dir(D2), o.lake_rel)] == o.body.unwrap(),
            "{}",
            o.lake_rel
        );
    }
    assert_eq!(lake.len(), 7);
    assert_eq!(read_json(&report)["total"]["retried"], 8);
}

/// The fake API for D2, where R1C1's participants answer `n` times 403, then the body; and
/// that path.
fn participants_after_403s(n: usize) -> (FakeApi, String) {
    let api = FakeApi::serve_days(&[D2]);
    let path = d2_path("R1C1", "participants");
    let mut replies = vec![Reply::Empty(403); n];
    replies.push(Reply::json(d2_body("R1C1/participants.json")));
    api.route(&path, replies);
    (api, path)
}

#[test]
fn an_isolated_403_pauses_the_crawl_then_it_goes_on() {
    let (api, path) = participants_after_403s(2);
    let tmp = Temp::new("extract-one403");
    let out = extract(&api, &tmp.lake(), &["--date", D2, "--workers", "2"]);
    assert_ok(&out);
    let at: Vec<Instant> = api
        .requests()
        .iter()
        .filter(|r| r.path == path)
        .map(|r| r.at)
        .collect();
    assert_eq!(at.len(), 3);
    // PMU_BACKOFF_MS=5: each 403 pauses everyone at least 150 ms (longer when 403s come in a
    // row; a success in between, from the other worker, resets the run).
    for gap in [at[1] - at[0], at[2] - at[1]] {
        assert!(gap >= Duration::from_millis(145), "{gap:?}");
    }
    assert_eq!(snapshot(&tmp.lake()).len(), 7);
}

#[test]
fn a_403_slows_down_every_later_request() {
    let (api, path) = participants_after_403s(1);
    let tmp = Temp::new("extract-slow403");
    let out = extract(
        &api,
        &tmp.lake(),
        &["--date", D2, "--workers", "1", "--delay", "0.1..0.1"],
    );
    assert_ok(&out);
    let requests = api.requests();
    let refused = requests.iter().position(|r| r.path == path).unwrap();
    let after = arrivals(&requests[refused..]);
    assert_eq!(
        after.len(),
        7,
        "the refused request, its retry, then five more"
    );
    // The 0.1 s delay is doubled for everyone once the API has refused a request.
    assert_spaced(&after[1..], Duration::from_millis(195));
}

#[test]
fn an_object_that_keeps_failing_is_counted_and_the_rest_completes() {
    let api = FakeApi::serve_days(&[D2]);
    let bad = d2_path("R1C1", "rapports");
    api.route(&bad, vec![Reply::Empty(500)]);
    let tmp = Temp::new("extract-fail");
    let out = extract(&api, &tmp.lake(), &["--date", D2, "--retries", "3"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert_eq!(api.count(&bad), 3);
    assert!(
        stderr(&out).contains("R1C1/rapports.json.zst"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("1 failed"), "{}", stdout(&out));
    let lake = snapshot(&tmp.lake());
    assert!(!lake.keys().any(|k| k.contains("R1C1/rapports")));
    assert_eq!(lake.len(), 6);

    // Once the API is healthy, a rerun asks only for what is missing.
    api.route(&bad, vec![Reply::json(d2_body("R1C1/rapports.json"))]);
    api.clear_requests();
    assert_ok(&extract(&api, &tmp.lake(), &["--date", D2]));
    assert_eq!(requested(&api), vec![bad]);
}

#[test]
fn a_run_of_403_stops_the_crawl_cleanly_and_keeps_what_was_fetched() {
    let api = FakeApi::serve_days(&["14032025"]);
    // Everything but the programme and R1C1 is refused.
    let banned: Vec<String> = expected_paths("14032025")
        .into_iter()
        .filter(|p| p.contains("/R") && !p.contains("/R1/C1/"))
        .collect();
    for p in &banned {
        api.route(p, vec![Reply::Empty(403)]);
    }
    let tmp = Temp::new("extract-ban");
    let report = tmp.0.join("r.json");
    let out = extract_cmd(
        &api.base_url(),
        &tmp.lake(),
        &[
            "--date",
            "14032025",
            "--workers",
            "1",
            "--report",
            report.to_str().unwrap(),
        ],
    )
    .env("PMU_BACKOFF_MS", "1")
    .output()
    .unwrap();
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("403") && err.contains("--profile safe"),
        "{err}"
    );
    let refused = api
        .requests()
        .iter()
        .filter(|r| banned.contains(&r.path))
        .count();
    assert_eq!(refused, 6, "the crawl stops after 6 refusals in a row");
    assert_eq!(read_json(&report)["stopped_by_ban"], true);

    // What was fetched before the ban is kept.
    let lake = snapshot(&tmp.lake());
    let d = day_dir("14032025");
    for rel in [
        "programme.json.zst",
        "R1C1/participants.json.zst",
        "R1C1/performances.json.zst",
        "R1C1/rapports.json.zst",
    ] {
        assert!(
            lake.contains_key(&format!("{d}/{rel}")),
            "{rel} lost: {:?}",
            lake.keys()
        );
    }

    // The ban lifted, a rerun fetches the rest and nothing twice.
    let api2 = FakeApi::serve_days(&["14032025"]);
    assert_ok(&extract(&api2, &tmp.lake(), &["--date", "14032025"]));
    let asked: BTreeSet<String> = requested(&api2).into_iter().collect();
    assert_eq!(asked, banned.iter().cloned().collect());
}

#[test]
fn a_day_without_programme_within_the_grace_period_fails_alone_and_is_asked_again() {
    // 15032025 answers 404; with a grace period longer than its age, it may still come.
    let api = FakeApi::serve_days(&["14032025"]);
    let tmp = Temp::new("extract-noprog");
    let args = [&both_days()[..], &["--grace-days", "100000"]].concat();
    let out = extract(&api, &tmp.lake(), &args);
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains("2025-03-15"), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(", 1 failed;") && stdout(&out).contains("2 days (1 failed)"),
        "{}",
        stdout(&out)
    );
    assert!(
        !tmp.lake().join(day_dir("15032025")).exists(),
        "nothing written for the failed day"
    );
    assert_eq!(api.count(&programme_path("15032025")), 1);
    let lake = snapshot(&tmp.lake());
    assert_eq!(lake.len(), 22, "the other day completed");

    api.clear_requests();
    let out = extract(&api, &tmp.lake(), &args);
    assert_eq!(code(&out), 3);
    assert_eq!(api.count(&programme_path("15032025")), 1, "asked again");

    // Today (or later) the programme may still come, whatever the grace period: a 204 fails too.
    api.route(&programme_path(TODAY), vec![Reply::Empty(204)]);
    let out = extract(&api, &tmp.lake(), &["--date", TODAY, "--grace-days", "0"]);
    assert_eq!(code(&out), 3, "{}", stdout(&out));
    assert!(
        stderr(&out).contains(&day_dir(TODAY)["date=".len()..]),
        "{}",
        stderr(&out)
    );
    assert!(!tmp.lake().join(day_dir(TODAY)).exists());
}

#[test]
fn a_day_without_programme_past_the_grace_period_is_recorded_once_and_never_asked_again() {
    // A year old, past the default grace period: 15032025 answers 204 and 16032025 404 (no
    // racing those days). Each is a final marker, counted as no content, not as a failure.
    let api = FakeApi::serve_days(&["14032025"]);
    api.route(&programme_path("15032025"), vec![Reply::Empty(204)]);
    let tmp = Temp::new("extract-noprogfinal");
    let report = tmp.0.join("report.json");
    let range = ["--start", "14032025", "--end", "16032025"];
    let out = extract(
        &api,
        &tmp.lake(),
        &[&range[..], &["--report", report.to_str().unwrap()]].concat(),
    );
    assert_ok(&out);
    assert_eq!(stderr(&out), "");

    let lake = snapshot(&tmp.lake());
    let (d2, d3) = (day_dir("15032025"), day_dir("16032025"));
    assert_eq!(lake.get(&format!("{d2}/programme.204")), Some(&Vec::new()));
    assert_eq!(lake.get(&format!("{d3}/programme.404")), Some(&Vec::new()));
    assert_eq!(lake.len(), 22 + 2);
    for (day, marker, status) in [
        ("15032025", "programme.204", 204),
        ("16032025", "programme.404", 404),
    ] {
        let m = manifest(&tmp.lake(), day);
        assert_eq!(m.len(), 1, "{m:?}");
        let line = &m[marker];
        assert_eq!(line["status"], status);
        assert_eq!(line["final"], true);
        assert_eq!(line["raw_bytes"], 0);
        assert_eq!(
            line["url"],
            format!("{}{}", api.base_url(), programme_path(day))
        );
    }

    // The summary and the report count them as no content.
    let day1 = day_objects("14032025", "14032025");
    let day1_requests = expected_paths("14032025").len();
    let bodies = day1.iter().filter(|o| o.body.is_some()).count();
    let no_content = day1_requests - bodies + 2;
    let summary = stdout(&out);
    assert!(
        summary.contains(&format!(
            "extract: {} requests: {bodies} fetched, 0 already held, {no_content} no content, 0 retried, 0 failed;",
            day1_requests + 2
        )) && summary.contains("3 days (0 failed)"),
        "{summary}"
    );
    let r = read_json(&report);
    assert_eq!(r["total"]["no_content"], no_content);
    assert_eq!(r["total"]["failed"], 0);
    for day in &r["days"].as_array().unwrap()[1..] {
        assert_eq!(day["programme"], "no content", "{day}");
        assert_eq!(day["no_content"], 1, "{day}");
        assert_eq!(day["fetched"], 0, "{day}");
        assert_eq!(day["races"], 0, "{day}");
        assert!(day.get("error").is_none(), "{day}");
    }

    // A rerun asks nothing and says the lake holds them.
    api.clear_requests();
    let out = extract(&api, &tmp.lake(), &range);
    assert_ok(&out);
    assert_eq!(requested(&api), Vec::<String>::new());
    assert!(
        stdout(&out).contains(&format!(
            "0 requests: 0 fetched, {} already held, 0 no content",
            day1_requests + 2
        )),
        "{}",
        stdout(&out)
    );

    // Even without the manifest (a lake copied in), the markers of days this old are final.
    for day in ["15032025", "16032025"] {
        std::fs::remove_file(tmp.lake().join(day_dir(day)).join("_manifest.jsonl")).unwrap();
    }
    assert_ok(&extract(&api, &tmp.lake(), &range));
    assert_eq!(requested(&api), Vec::<String>::new());
}

#[test]
fn a_programme_gone_past_the_grace_period_keeps_the_races_already_held() {
    // Fetched while young (a long grace period): the programme is not final, R1C2 not run yet.
    let api = FakeApi::serve_days(&[D2]);
    let tmp = Temp::new("extract-proggone");
    assert_ok(&extract(
        &api,
        &tmp.lake(),
        &["--date", D2, "--grace-days", "100000"],
    ));
    // Past the grace period, the API no longer has the day's programme.
    api.route(&programme_path(D2), vec![Reply::Empty(404)]);
    api.clear_requests();
    assert_ok(&extract(&api, &tmp.lake(), &["--date", D2]));
    // The 404 is the programme's last word; the stored programme is kept, and the objects of
    // its race that were not final are asked once more (final now, by age).
    let asked: BTreeSet<String> = requested(&api).into_iter().collect();
    let mut expected = BTreeSet::from([programme_path(D2)]);
    for stage in ["participants", "performances", "rapports"] {
        expected.insert(d2_path("R1C2", stage));
    }
    assert_eq!(asked, expected);
    let lake = snapshot(&tmp.lake());
    let d = day_dir(D2);
    assert_eq!(
        lake.get(&format!("{d}/programme.json.zst")),
        Some(&d2_body("programme.json"))
    );
    assert!(lake.contains_key(&format!("{d}/programme.404")));

    api.clear_requests();
    assert_ok(&extract(&api, &tmp.lake(), &["--date", D2]));
    assert_eq!(requested(&api), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// One extract at a time per lake

/// Makes the API hold back its answer for D2's programme until the returned gate opens, so a
/// run is in the middle of its work for as long as a test needs; also returns that path.
fn hold_back_programme(api: &FakeApi) -> (Gate, String) {
    let gate = Gate::new();
    let held_back = programme_path(D2);
    api.route(
        &held_back,
        vec![Reply::Gated(
            gate.clone(),
            Box::new(Reply::json(d2_body("programme.json"))),
        )],
    );
    (gate, held_back)
}

#[test]
fn a_second_extract_on_a_lake_in_use_stops_at_once_and_writes_nothing() {
    // A long run (cron overlapping a backfill, say) holds the lake, its programme answer held
    // back by the API; a second run on the same lake must not start.
    let api = FakeApi::serve_days(&FIXTURE_DAYS);
    let (gate, held_back) = hold_back_programme(&api);
    let tmp = Temp::new("extract-lock");
    std::fs::create_dir(tmp.lake()).unwrap();
    let first = Background::spawn(extract_cmd(
        &api.base_url(),
        &tmp.lake(),
        &["--date", D2, "--timeout", "600"],
    ));
    wait_for_request(&api, &held_back);

    let out = extract(&api, &tmp.lake(), &["--date", "14032025"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("another extract is running")
            && err.contains(&tmp.lake().display().to_string()),
        "{err}"
    );
    assert_eq!(stdout(&out), "", "no summary for a run that did not run");
    assert_eq!(
        api.count(&programme_path("14032025")),
        0,
        "it asked nothing"
    );
    assert_eq!(files(&tmp.lake()), [".lock"], "it wrote nothing");

    gate.open();
    let first = first.output();
    assert_ok(&first);
    assert_eq!(snapshot(&tmp.lake()).len(), 7, "the first run completed");
    // The lock goes with the process that held it: the next run works.
    assert_ok(&extract(&api, &tmp.lake(), &["--date", "14032025"]));
    assert_eq!(snapshot(&tmp.lake()).len(), 7 + 22);
}

#[test]
fn a_lake_locked_before_the_first_write_is_left_untouched() {
    // The lake does not exist when the run starts (nothing to lock yet); by the time the first
    // answer comes, another process has created it and holds `<lake>/.lock`.
    let api = FakeApi::serve_days(&[D2]);
    let (gate, held_back) = hold_back_programme(&api);
    let tmp = Temp::new("extract-locklate");
    let run = Background::spawn(extract_cmd(
        &api.base_url(),
        &tmp.lake(),
        &["--date", D2, "--timeout", "600"],
    ));
    wait_for_request(&api, &held_back);
    std::fs::create_dir(tmp.lake()).unwrap();
    let lock = std::fs::File::create(tmp.lake().join(".lock")).unwrap();
    lock.try_lock().unwrap();
    gate.open();

    let out = run.output();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("another extract is running"), "{err}");
    assert_eq!(files(&tmp.lake()), [".lock"], "it wrote nothing");
    assert_eq!(api.requests().len(), 1, "nor asked for more");

    drop(lock);
    api.route(&held_back, vec![Reply::json(d2_body("programme.json"))]);
    assert_ok(&extract(&api, &tmp.lake(), &["--date", D2]));
    assert_eq!(snapshot(&tmp.lake()).len(), 7);
}

#[test]
fn kill_9_in_the_middle_then_rerun_gives_the_same_lake() {
    let api = FakeApi::serve_days(&FIXTURE_DAYS);
    let calm = Temp::new("extract-calm");
    assert_ok(&extract(&api, &calm.lake(), &both_days()));
    let expected = snapshot(&calm.lake());

    // One object answers only after the client's timeout, so the run cannot end by itself
    // before the kill, whatever the machine's load.
    let stuck = "/rest/client/1/programme/15032025/R1/C2/rapports-definitifs";
    let stuck_body = std::fs::read(fixtures_dir().join("15032025/R1C2/rapports.json")).unwrap();
    api.route(
        stuck,
        vec![Reply::Slow(
            Duration::from_secs(8),
            Box::new(Reply::json(stuck_body.clone())),
        )],
    );
    api.set_latency(Duration::from_millis(50));
    api.clear_requests();
    let killed = Temp::new("extract-killed");
    let mut child = extract_cmd(
        &api.base_url(),
        &killed.lake(),
        &[&both_days()[..], &["--workers", "2"]].concat(),
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while api.requests().len() < 10 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run ended before it could be killed"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let partial = snapshot(&killed.lake());
    assert!(
        partial.len() < expected.len(),
        "the kill came too late to test anything"
    );

    api.set_latency(Duration::ZERO);
    api.route(stuck, vec![Reply::json(stuck_body)]);
    assert_ok(&extract(&api, &killed.lake(), &both_days()));
    assert_eq!(
        snapshot(&killed.lake()),
        expected,
        "file set or bytes differ after kill -9 and rerun"
    );
}

// ---------------------------------------------------------------------------------------------
// Bad input, unreachable server, dry run

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let api = FakeApi::serve_days(&FIXTURE_DAYS);
    let cases: [&[&str]; 12] = [
        &["--date", "32012025"],
        &["--date", "2025-13-01"],
        &["--date", "letters!"],
        &["--start", "15032025", "--end", "14032025"],
        &["--date", "14032025", "--profile", "turbo"],
        &["--date", "14032025", "--delay", "1-2"],
        &["--date", "14032025", "--delay", "0.5..0.1"],
        &["--date", "14032025", "--workers", "0"],
        &["--date", "14032025", "--max-rps", "-1"],
        &["--date", "14032025", "--api-base", "not a url"],
        &["--date", "14032025", "--api-base", "ftp://127.0.0.1/"],
        &[],
    ];
    for args in cases {
        let tmp = Temp::new("extract-bad");
        let out = extract(&api, &tmp.lake(), args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.lines().next().is_some_and(|l| l.contains("error")),
            "{args:?}: {err}"
        );
        assert!(!tmp.lake().exists(), "{args:?} wrote to the lake");
    }
    assert_eq!(api.requests().len(), 0);
}

#[test]
fn unreachable_api_exits_1_with_one_clear_line_and_writes_nothing() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tmp = Temp::new("extract-unreachable");
    let out = extract_cmd(
        &format!("http://127.0.0.1:{port}"),
        &tmp.lake(),
        &["--date", "14032025", "--retries", "2"],
    )
    .output()
    .unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.contains("cannot reach the PMU API") && last.contains(&port.to_string()),
        "{err}"
    );
    assert!(!tmp.lake().exists());
}

#[test]
fn dry_run_asks_the_api_nothing_and_estimates_the_races_it_cannot_count() {
    let api = FakeApi::serve_days(&FIXTURE_DAYS);
    let tmp = Temp::new("extract-dry");
    let out = extract(
        &api,
        &tmp.lake(),
        &[&both_days()[..], &["--dry-run"]].concat(),
    );
    assert_ok(&out);
    let text = stdout(&out);
    // An empty lake: 2 programmes, and a typical day's 56 races x 3 objects for each day.
    assert!(
        text.contains("338 requests needed (2 programmes, 336 race objects)")
            && text.contains("asked the API nothing")
            && text.contains("336 of the race objects are an estimate for 2 days"),
        "{text}"
    );
    assert_eq!(api.requests().len(), 0, "a dry run asks nothing");
    assert!(!tmp.lake().exists(), "a dry run writes nothing");

    // With the first day held, its races count the second day's.
    assert_ok(&extract(&api, &tmp.lake(), &["--date", FIXTURE_DAYS[0]]));
    let first_day_objects = expected_paths(FIXTURE_DAYS[0]).len();
    let races = (first_day_objects - 1) / 3;
    api.clear_requests();
    let out = extract(
        &api,
        &tmp.lake(),
        &[&both_days()[..], &["--dry-run"]].concat(),
    );
    assert_ok(&out);
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "{} requests needed (1 programmes, {} race objects), {first_day_objects} objects already held final",
            1 + races * 3,
            races * 3
        )) && text.contains(&format!("({races} races a day, the average of the 1 days")),
        "{text}"
    );
    assert_eq!(api.requests().len(), 0);

    // Over a complete lake, a dry run needs nothing.
    assert_ok(&extract(&api, &tmp.lake(), &both_days()));
    api.clear_requests();
    let out = extract(
        &api,
        &tmp.lake(),
        &[&both_days()[..], &["--dry-run", "--profile", "safe"]].concat(),
    );
    assert_ok(&out);
    assert!(
        stdout(&out).contains("0 requests needed")
            && stdout(&out).contains("asked the API nothing")
            && !stdout(&out).contains("estimate"),
        "{}",
        stdout(&out)
    );
    assert_eq!(api.requests().len(), 0);
}

// ---------------------------------------------------------------------------------------------
// Corpus: race discovery over every real programme sample

/// SOURCES.md §1: every programme file.
const PROGRAMME_SAMPLES: [&str; 11] = [
    "mathis-dumont__horse-racing-prediction/pretraitement/programme_05112025.json",
    "mathis-dumont__horse-racing-prediction/pretraitement/programme_05112025_sample.json",
    "Bitzibox__pmu-pronostics/data/courses-05112025.json",
    "Bitzibox__pmu-pronostics/data/courses-07122025.json",
    "Bitzibox__pmu-pronostics/data/courses-25122025.json",
    "Pascal66__horse-racing-prediction/programmes.json",
    "Pascal66__horse-racing-prediction/doc/programmes-02042026.json",
    "Camillerimichel__TurfIA/tests/fixtures/pmu_programme_echantillon.json",
    "t0mm4rx__OpenBet/Data/Samples/programme_01012018.json",
    "t0mm4rx__OpenBet/Tests/resultat_api.json",
    "t0mm4rx__OpenBet/Tests/resultat_api2.json",
];

/// The inner `programme` object of a sample, whatever wrapper the collector added.
fn inner_programme(v: Value) -> Value {
    let v = match v {
        Value::Array(mut items) => items.swap_remove(0), // Bitzibox: [ {programme, …} ]
        other => other,
    };
    match v.get("programme") {
        Some(p) => p.clone(),
        None => v, // Pascal66 02042026: the bare programme object
    }
}

#[test]
#[ignore = "needs PMU_SAMPLES: make test-corpus"]
fn races_discovered_in_every_real_programme_sample_match_the_file() {
    let raw = crate::corpus::samples_dir().join("raw");
    let mut by_file = BTreeMap::new();
    for file in PROGRAMME_SAMPLES {
        let path = raw.join(file);
        let bytes =
            std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let inner = inner_programme(serde_json::from_slice(&bytes).unwrap());
        // Expected, straight from the JSON: (numOfficiel, numOrdre) in programme order.
        let mut expected = Vec::new();
        for reunion in inner["reunions"].as_array().unwrap() {
            for course in reunion["courses"].as_array().unwrap() {
                expected.push(format!(
                    "R{}C{}",
                    reunion["numOfficiel"], course["numOrdre"]
                ));
            }
        }
        // Discovered from the API shape, as the crawler receives it.
        let api_shape = serde_json::to_vec(&serde_json::json!({ "programme": inner })).unwrap();
        let found = pmu_lake::pmu::discovery::discover(&api_shape).unwrap();
        let got: Vec<String> = found.races.iter().map(|r| r.id.to_string()).collect();
        assert_eq!(got, expected, "{file}");
        assert_eq!((found.unnamed, found.duplicates), (0, 0), "{file}");
        by_file.insert(file, (inner, got));
    }

    let (mathis, races) = &by_file[PROGRAMME_SAMPLES[0]];
    assert_eq!(races.len(), 63);
    let gbr = mathis["reunions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["pays"]["code"] == "GBR")
        .unwrap();
    let r = &gbr["numOfficiel"];
    let gbr_races: Vec<&String> = races
        .iter()
        .filter(|id| id.starts_with(&format!("R{r}C")))
        .collect();
    assert_eq!(
        gbr_races.first().map(|s| s.as_str()),
        Some(format!("R{r}C6").as_str()),
        "Kempton starts mid-card"
    );

    let (dec7, races) = &by_file[PROGRAMME_SAMPLES[3]];
    assert_eq!(races.len(), 102);
    let shared: Vec<i64> = dec7["reunions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["numExterne"] == 10)
        .map(|r| r["numOfficiel"].as_i64().unwrap())
        .collect();
    assert_eq!(shared, [10, 11, 12, 13, 14], "R10-R14 share numExterne 10");
    for n in shared {
        assert!(
            races.iter().any(|id| id.starts_with(&format!("R{n}C"))),
            "R{n} lost to numExterne"
        );
    }
}

#[test]
fn ctrl_c_stops_with_one_line_and_exit_130_and_a_rerun_resumes() {
    let api = FakeApi::serve_days(&FIXTURE_DAYS);
    let (gate, held_back) = hold_back_programme(&api);
    let tmp = Temp::new("extract-sigint");
    let run = Background::spawn(extract_cmd(
        &api.base_url(),
        &tmp.lake(),
        &["--start", FIXTURE_DAYS[0], "--end", D2, "--timeout", "600"],
    ));
    wait_for_request(&api, &held_back);
    let pid = run.0.as_ref().expect("running").id().to_string();
    let kill = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(kill.success(), "kill -INT {pid}");
    let out = run.output();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("interrupted: what was stored in the lake and committed to the database is kept; run the same command again to resume"),
        "{err}"
    );
    gate.open();
    let out = extract(
        &api,
        &tmp.lake(),
        &["--start", FIXTURE_DAYS[0], "--end", D2],
    );
    assert_ok(&out);
    assert_eq!(
        snapshot(&tmp.lake()).len(),
        all_expected_paths().len(),
        "{:?}",
        files(&tmp.lake())
    );
}

// ---------------------------------------------------------------------------------------------
// The programme's quirks (pmu-api.md §11), read by extract as load reads them

/// A quirk of the programme, applied to the plain fixture programme of 14032025 (which already
/// has a foreign meeting starting mid-card, R2 = GBR C6–C7, and two LOCAL réunions sharing
/// `numExterne` 3, R3 and R4).
#[derive(Clone, Copy)]
enum Quirk {
    /// §11.5: R and C numbers (and other numbers) sent as strings.
    NumbersAsStrings,
    /// §11.2–3: optional keys absent, explicit nulls; R1C2 says it has run only through
    /// `isArriveeDefinitive` (no statut, no other flag).
    MissingOptionalKeys,
    /// §11.9: the foreign meeting listed first, its races out of order (C7 before C6).
    ForeignMeetingFirst,
    /// §11.9: a third LOCAL réunion sharing `numExterne` 3 and the courses' `numExterne` 1.
    SharedNumExterne,
}

fn stringify(v: &mut Value) {
    if v.is_number() {
        *v = Value::String(v.to_string());
    }
}

fn quirky_programme(quirks: &[Quirk]) -> Value {
    let mut p = read_json(&fixtures_dir().join("14032025/programme.json"));
    let reunions = p["programme"]["reunions"].as_array_mut().unwrap();
    for quirk in quirks {
        match quirk {
            Quirk::NumbersAsStrings => {
                for r in reunions.iter_mut() {
                    for k in ["numOfficiel", "numExterne", "dateReunion"] {
                        stringify(&mut r[k]);
                    }
                    for c in r["courses"].as_array_mut().unwrap() {
                        for k in [
                            "numOrdre",
                            "numReunion",
                            "numExterne",
                            "distance",
                            "montantPrix",
                        ] {
                            stringify(&mut c[k]);
                        }
                    }
                }
            }
            Quirk::MissingOptionalKeys => {
                for r in reunions.iter_mut() {
                    let r = r.as_object_mut().unwrap();
                    for k in [
                        "meteo",
                        "cagnottes",
                        "parisEvenement",
                        "hippodrome",
                        "specialites",
                    ] {
                        r.remove(k);
                    }
                    r.insert("numOfficielReunionSuivante".into(), Value::Null);
                    for c in r["courses"].as_array_mut().unwrap() {
                        let c = c.as_object_mut().unwrap();
                        for k in [
                            "corde",
                            "dureeCourse",
                            "ordreArrivee",
                            "hippodrome",
                            "paris",
                            "cagnottes",
                            "numExterneReunion",
                            "conditions",
                        ] {
                            c.remove(k);
                        }
                        c.insert("incidents".into(), Value::Null);
                        c.insert("penetrometre".into(), Value::Null);
                    }
                }
                let r1c2 = reunions[0]["courses"][1].as_object_mut().unwrap();
                for k in [
                    "statut",
                    "categorieStatut",
                    "arriveeDefinitive",
                    "rapportsDefinitifsDisponibles",
                ] {
                    r1c2.remove(k);
                }
                r1c2.insert("isArriveeDefinitive".into(), Value::Bool(true));
            }
            Quirk::ForeignMeetingFirst => {
                let gbr = reunions.remove(1);
                assert_eq!(gbr["pays"]["code"], "GBR");
                reunions.insert(0, gbr);
                reunions[0]["courses"].as_array_mut().unwrap().reverse();
            }
            Quirk::SharedNumExterne => {
                let mut third = reunions[2].clone();
                third["numOfficiel"] = Value::from(5);
                third["courses"][0]["numExterne"] = Value::from(1);
                reunions.push(third);
            }
        }
    }
    p
}

/// Extracts the plain fixture day and the quirky one (each under a recent date, with a grace
/// period long enough that only the programme's word on each race makes objects final), then
/// checks that extract read both alike: the same requests, the same objects stored, and the
/// same requests on a rerun. Returns the quirky day's first-run requests, without the day.
fn assert_read_like_the_plain_programme(quirks: &[Quirk]) -> BTreeSet<String> {
    let quirky = quirky_programme(quirks);
    let (plain_day, quirky_day) = (today_plus(-2), today_plus(-1));
    let api = FakeApi::start();
    api.add_day("14032025", &plain_day);
    api.add_day("14032025", &quirky_day);
    if quirks.iter().any(|q| matches!(q, Quirk::SharedNumExterne)) {
        // R5C1, the copy of R3C1, is served R3C1's objects.
        for o in day_objects("14032025", &quirky_day) {
            if o.lake_rel.starts_with("R3C1/") {
                let reply = o.body.map_or(Reply::Empty(204), Reply::json);
                api.route(&o.path.replace("/R3/", "/R5/"), vec![reply]);
            }
        }
    }
    let body = serde_json::to_vec_pretty(&quirky).unwrap();
    api.route(
        &programme_path(&quirky_day),
        vec![Reply::json(body.clone())],
    );
    let tmp = Temp::new("extract-quirks");
    let run = |day: &str| {
        let out = extract(
            &api,
            &tmp.lake(),
            &["--date", day, "--grace-days", "100000"],
        );
        assert_ok(&out);
        assert_eq!(stderr(&out), "", "no warning");
        let asked: BTreeSet<String> = requested(&api)
            .iter()
            .map(|p| p.replace(day, "DAY"))
            .collect();
        api.clear_requests();
        asked
    };
    let objects = |day: &str| -> BTreeMap<String, Vec<u8>> {
        let prefix = format!("{}/", day_dir(day));
        snapshot(&tmp.lake())
            .into_iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.to_string(), v)))
            .collect()
    };
    let plain_first = run(&plain_day);
    let quirky_first = run(&quirky_day);
    let plain_again = run(&plain_day);
    let quirky_again = run(&quirky_day);

    let mut expected = plain_first.clone();
    let mut expected_objects = objects(&plain_day);
    if quirks.iter().any(|q| matches!(q, Quirk::SharedNumExterne)) {
        for stage in ["participants", "performances", "rapports"] {
            expected.insert(race_path("DAY", 5, 1, stage));
        }
        for (k, v) in objects(&plain_day) {
            if let Some(rest) = k.strip_prefix("R3C1/") {
                expected_objects.insert(format!("R5C1/{rest}"), v);
            }
        }
    }
    assert_eq!(quirky_first, expected, "the races asked");
    expected_objects.insert("programme.json.zst".into(), body);
    assert_eq!(objects(&quirky_day), expected_objects, "the objects stored");
    assert_eq!(quirky_again, plain_again, "what a rerun asks again");
    assert!(
        !quirky_again.contains(&programme_path("DAY")),
        "the programme is final: every race is over or cancelled"
    );
    quirky_first
}

#[test]
fn a_programme_with_numbers_as_strings_is_read_like_the_plain_one() {
    // Before one model served both, discovery failed this day, stored nothing, every run.
    let asked = assert_read_like_the_plain_programme(&[Quirk::NumbersAsStrings]);
    for race in ["R1C1", "R1C2", "R2C6", "R2C7", "R3C1", "R4C1", "R4C2"] {
        let (r, c) = race[1..].split_once('C').unwrap();
        assert!(
            asked.contains(&race_path("DAY", r, c, "participants")),
            "{race}"
        );
    }
}

#[test]
fn a_programme_without_its_optional_keys_is_read_like_the_plain_one() {
    assert_read_like_the_plain_programme(&[Quirk::NumbersAsStrings, Quirk::MissingOptionalKeys]);
}

#[test]
fn a_foreign_meeting_listed_first_and_out_of_order_is_read_like_the_plain_one() {
    let asked = assert_read_like_the_plain_programme(&[
        Quirk::NumbersAsStrings,
        Quirk::ForeignMeetingFirst,
    ]);
    assert!(
        !asked.iter().any(|p| p.contains("/R2/C1/")),
        "no C1 invented: {asked:?}"
    );
}

#[test]
fn reunions_sharing_num_externe_are_each_fetched() {
    let asked =
        assert_read_like_the_plain_programme(&[Quirk::NumbersAsStrings, Quirk::SharedNumExterne]);
    for r in [3, 4, 5] {
        assert!(
            asked.contains(&race_path("DAY", r, 1, "participants")),
            "R{r}C1"
        );
    }
}

#[test]
fn a_programme_without_its_root_object_is_not_stored() {
    // A bare programme object (what some collectors saved) or a wrapper array is not what
    // the API sends: load refuses it, so extract must not store it as the day's programme.
    let plain = read_json(&fixtures_dir().join("14032025/programme.json"));
    let bare = plain["programme"].clone();
    let wrapped = Value::Array(vec![plain]);
    for (name, body) in [("bare", bare), ("wrapped", wrapped)] {
        let api = FakeApi::serve_days(&["14032025"]);
        api.route(
            &programme_path("14032025"),
            vec![Reply::json(serde_json::to_vec(&body).unwrap())],
        );
        let tmp = Temp::new("extract-root");
        let out = extract(&api, &tmp.lake(), &["--date", "14032025"]);
        assert_eq!(code(&out), 3, "{name}: {}", stdout(&out));
        assert!(
            stderr(&out).contains("not a programme payload"),
            "{name}: {}",
            stderr(&out)
        );
        assert!(snapshot(&tmp.lake()).is_empty(), "{name}: nothing stored");
        assert_eq!(requested(&api), [programme_path("14032025")], "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// A full disk

/// A tmpfs of `size` mounted on `dir`, unmounted on drop. It needs root, as CI has: when the
/// mount is refused the test fails, it never passes without having run.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .expect("running mount");
        assert!(
            out.status.success(),
            "mount -t tmpfs on {} failed: this test needs root (CI runs as root): {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the file system of `dir` with one file, then frees `free` bytes of it.
fn fill_leaving(dir: &Path, free: u64) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let chunk = vec![0x5a_u8; 64 * 1024];
    let err = loop {
        if let Err(e) = file.write_all(&chunk) {
            break e;
        }
    };
    assert_eq!(
        err.raw_os_error(),
        Some(28),
        "filling {}: {err}",
        dir.display()
    );
    let len = file.metadata().unwrap().len();
    file.set_len(len.saturating_sub(free)).unwrap();
    path
}

#[test]
fn a_full_disk_stops_the_crawl_at_once_and_keeps_the_lake_consistent() {
    const DAYS: [&str; 8] = [
        "01032025", "02032025", "03032025", "04032025", "05032025", "06032025", "07032025",
        "08032025",
    ];
    let tmp = Temp::new("extract-enospc");
    let fs = Tmpfs::mount(&tmp.0.join("disk"), "3m");
    let lake = fs.0.join("lake");
    let api = FakeApi::start();
    for day in DAYS {
        api.add_day("14032025", day);
    }
    // Room for a day or so of the 8 (each stored file takes at least one 4 KB page).
    let filler = fill_leaving(&fs.0, 120 * 1024);
    let range = ["--start", DAYS[0], "--end", DAYS[7], "--workers", "2"];
    let out = extract(&api, &lake, &range);

    assert_eq!(
        code(&out),
        1,
        "stdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("No space left on device") && err.contains(&lake.display().to_string()),
        "{err}"
    );

    // Consistent: no temp file, every manifest line has its object, as the line describes it.
    let mut lines = 0;
    for file in files(&lake) {
        assert!(!file.ends_with(".tmp"), "temp file left: {file}");
        let Some(day) = file.strip_suffix("/_manifest.jsonl") else {
            continue;
        };
        let text = std::fs::read_to_string(lake.join(&file)).unwrap();
        for line in text.lines().filter(|l| !l.is_empty()) {
            let Ok(entry) = serde_json::from_str::<Value>(line) else {
                continue; // a line the full disk cut short
            };
            lines += 1;
            let path = lake.join(day).join(entry["path"].as_str().unwrap());
            if path.to_string_lossy().ends_with(".json.zst") {
                let body = pmu_lake::lake::read_body(&path).unwrap();
                assert_eq!(entry["sha256"], pmu_lake::lake::sha256_hex(&body), "{line}");
            } else {
                assert!(path.is_file(), "{line}");
            }
        }
    }
    // Stopped at the first failed write: at most one answer per worker thrown away.
    let asked = api.requests().len();
    assert!(lines > 0, "something was stored before the disk filled");
    assert!(
        asked <= lines + 2,
        "{asked} requests for {lines} objects stored: the crawl went on after the disk filled"
    );

    // Space again: a rerun completes the lake.
    std::fs::remove_file(filler).unwrap();
    api.clear_requests();
    assert_ok(&extract(&api, &lake, &range));
    let held: BTreeSet<String> = snapshot(&lake).into_keys().collect();
    for day in DAYS {
        for o in day_objects("14032025", day) {
            let rel = format!("{}/{}", day_dir(day), o.lake_rel);
            assert!(held.contains(&rel), "{rel} missing");
        }
    }
    drop(fs);
}
