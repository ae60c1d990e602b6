//! `pmu-lake status`: per day, what the lake holds (the programme, and each per-race stage as
//! final, provisional, no content, missing) and, with a database, what the ledger says was
//! loaded; totals, and what the next `extract` and `load` would do, without asking the API.
//!
//! Read: each day's directory listing, manifest and programme (see [`super::survey`]), and the
//! ledger. "Changed since its load" compares the stored file's size with the size the ledger
//! recorded (a stat, not a read): a rewrite to the very same bytes (a provisional object asked
//! again, unchanged) is not a change, as for `load`; a rewrite of equal size is missed here and
//! caught by `verify`, which hashes the stored bytes as `load` does.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use serde::Serialize;

use super::survey::{self, DaySurvey, Plan, ProgrammeState, Rules, StageCounts};
use crate::api::Politeness;
use crate::day::{Day, DayRange};
use crate::db;
use crate::exit::Outcome;
use crate::lake::{Lake, Stage};
use crate::load::ledger::{self, Status};

/// Ranges longer than this are shown one line per month.
pub const DAYS_SHOWN_ONE_BY_ONE: u64 = 62;
/// Incomplete days named under a per-month table; the rest are counted (all are in `--json`).
const INCOMPLETE_NAMED: usize = 30;
/// Days of ledger read in one query.
const LEDGER_CHUNK_DAYS: u64 = 31;

#[derive(Debug, Clone)]
pub struct Settings {
    /// `None`: the whole lake, from its first day to its last.
    pub range: Option<DayRange>,
    pub lake: PathBuf,
    pub json: bool,
    pub politeness: Politeness,
    pub grace_days: u32,
    pub db: db::Settings,
}

/// The database side of a day: its body objects by what the ledger says of them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Loaded {
    pub loaded: u64,
    pub changed: u64,
    /// Loaded unchanged, by an older mapping: the next load re-derives them (reprocessed).
    pub reprocess: u64,
    pub rejected: u64,
    pub not_loaded: u64,
    /// Ledger rows whose object is no longer in the lake.
    pub ledger_gone: u64,
}

impl Loaded {
    fn add(&mut self, o: &Loaded) {
        self.loaded += o.loaded;
        self.changed += o.changed;
        self.reprocess += o.reprocess;
        self.rejected += o.rejected;
        self.not_loaded += o.not_loaded;
        self.ledger_gone += o.ledger_gone;
    }

    /// What the next load reads: new, changed, rejected (tried again) and older-mapping
    /// objects.
    pub fn to_load(&self) -> u64 {
        self.changed + self.reprocess + self.rejected + self.not_loaded
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Rejection {
    pub path: String,
    pub reason: String,
}

/// One day as reported.
#[derive(Debug, Clone, Serialize)]
pub struct DayStatus {
    pub date: String,
    pub programme: ProgrammeState,
    pub meetings: u64,
    pub races: u64,
    pub stages: BTreeMap<&'static str, StageCounts>,
    /// Requests the next extract makes for the day (more when its races are unknown).
    pub requests: u64,
    pub complete: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub db: Option<Loaded>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejections: Option<Vec<Rejection>>,
}

impl DayStatus {
    fn objects(&self) -> StageCounts {
        let mut all = StageCounts::default();
        self.stages.values().for_each(|c| all.add(c));
        all
    }

    /// Final and, with a database, loaded.
    fn done(&self) -> bool {
        self.complete && self.db.as_ref().is_none_or(|d| d.to_load() == 0)
    }

    fn trouble(&self) -> String {
        let o = self.objects();
        let mut parts = Vec::new();
        if !self.programme.is_final() {
            parts.push(format!("programme {}", self.programme.word()));
        }
        for (n, what) in [(o.provisional, "provisional"), (o.missing, "missing")] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        if let Some(d) = &self.db {
            for (n, what) in [
                (d.not_loaded, "not loaded"),
                (d.changed, "changed"),
                (d.reprocess, "of an older mapping"),
                (d.rejected, "rejected"),
            ] {
                if n > 0 {
                    parts.push(format!("{n} {what}"));
                }
            }
        }
        parts.join(", ")
    }
}

#[derive(Debug, Serialize)]
struct NextExtract {
    requests: u64,
    #[serde(flatten)]
    plan: Plan,
    seconds: u64,
    profile: String,
}

#[derive(Debug, Serialize)]
struct Totals {
    days: u64,
    complete_days: u64,
    meetings: u64,
    races: u64,
    stages: BTreeMap<&'static str, StageCounts>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    db: Option<Loaded>,
}

#[derive(Debug, Serialize)]
struct Report {
    lake: String,
    start: String,
    end: String,
    /// The database read, without its password; `null` when none is configured.
    database: Option<String>,
    days: Vec<DayStatus>,
    totals: Totals,
    next_extract: NextExtract,
    /// Objects the next load reads; `null` without a database.
    next_load: Option<u64>,
    complete: bool,
}

pub fn run(settings: &Settings) -> Result<Outcome> {
    let lake = Lake::existing(&settings.lake)?;
    let range = match settings.range {
        Some(r) => r,
        None => match lake.days()?.as_slice() {
            [first, .., last] | [first @ last] => DayRange::new(*first, *last)?,
            [] => {
                eprintln!("pmu-lake: the lake {} holds no day", lake.root().display());
                return Ok(Outcome::Partial);
            }
        },
    };
    let target = settings.db.resolve_configured()?;
    let mut client = match &target {
        Some(t) => {
            let mut c = t.connect()?;
            let has_ledger = ledger::exists(&mut c)?;
            Some((c, has_ledger))
        }
        None => None,
    };
    let rules = Rules {
        today: Day::today_paris()?,
        grace_days: settings.grace_days,
        refresh: false,
    };
    let mut days = Vec::with_capacity(usize::try_from(range.len()).unwrap_or(0));
    let mut plan = Plan::default();
    let mut known = (0, 0);
    let mut ledger_rows: HashMap<String, ledger::Row> = HashMap::new();
    let mut chunk_end: Option<Day> = None;
    let all: Vec<Day> = range.days().collect();
    for chunk in all.chunks(SURVEY_CHUNK_DAYS) {
        for survey in survey_in_parallel(&lake, chunk, &rules)? {
            let day = survey.day;
            plan.add(&survey, &mut known);
            let db = match client.as_mut() {
                Some((c, true)) => {
                    if chunk_end.is_none_or(|end| day > end) {
                        let end = chunk_last(day, &range);
                        ledger_rows = ledger::rows_between(c, day, end)?
                            .into_iter()
                            .map(|r| (r.path.clone(), r))
                            .collect();
                        chunk_end = Some(end);
                    }
                    Some(compare(&survey, &mut ledger_rows, day))
                }
                Some((_, false)) => Some(not_loaded(&survey)),
                None => None,
            };
            days.push(day_status(&survey, db));
        }
    }
    plan.finish(known);
    let report = build_report(&lake, &range, target.as_ref(), days, plan, settings);
    let mut out = std::io::stdout().lock();
    // A reader that went away (`| head`) only stops the listing: the exit code still says
    // whether the archive is complete.
    crate::exit::not_broken_pipe((|| {
        if settings.json {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        } else {
            write_table(&mut out, &report)?;
        }
        out.flush()
    })())?;
    Ok(if report.complete {
        Outcome::Complete
    } else {
        Outcome::Partial
    })
}

/// Days surveyed at once, on every core: listing a day's directory and reading its manifest
/// and programme is mostly system calls, so the days of a full-history lake (about 4,700) go
/// twice as fast on two cores; a chunk bounds what is held in memory.
const SURVEY_CHUNK_DAYS: usize = 64;

/// [`survey::day`] for each day of `days`, in order, on two threads per core.
fn survey_in_parallel(lake: &Lake, days: &[Day], rules: &Rules) -> Result<Vec<DaySurvey>> {
    let threads = 2 * std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<Result<DaySurvey>>>> =
        days.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..threads.min(days.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(day) = days.get(i) else { break };
                    let survey = survey::day(lake, *day, rules);
                    *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(survey);
                }
            });
        }
    });
    slots
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every day was surveyed")
        })
        .collect()
}

/// The last day of the ledger chunk that starts at `day`.
fn chunk_last(day: Day, range: &DayRange) -> Day {
    let mut end = day;
    for _ in 1..LEDGER_CHUNK_DAYS {
        match end.succ() {
            Some(next) if next <= range.end => end = next,
            _ => break,
        }
    }
    end
}

/// Every body of the day is still to load (no ledger at all).
fn not_loaded(survey: &DaySurvey) -> (Loaded, Vec<Rejection>) {
    let loaded = Loaded {
        not_loaded: survey.bodies.len() as u64,
        ..Loaded::default()
    };
    (loaded, Vec::new())
}

/// The day's bodies against the ledger rows of the day (taken out of `rows`).
fn compare(
    survey: &DaySurvey,
    rows: &mut HashMap<String, ledger::Row>,
    day: Day,
) -> (Loaded, Vec<Rejection>) {
    let mut l = Loaded::default();
    let mut rejections = Vec::new();
    for (key, size) in &survey.bodies {
        let name = ledger::path_of(key);
        let Some(row) = rows.remove(&name) else {
            l.not_loaded += 1;
            continue;
        };
        match row.status {
            Status::Rejected => {
                l.rejected += 1;
                rejections.push(Rejection {
                    path: name,
                    reason: row.reason.unwrap_or_default(),
                });
            }
            Status::Loaded => {
                if *size != Some(row.stored_bytes) {
                    l.changed += 1;
                } else if row.mapping_version < ledger::mapping_version(key.stage) {
                    l.reprocess += 1;
                } else {
                    l.loaded += 1;
                }
            }
        }
    }
    let gone: Vec<String> = rows
        .iter()
        .filter(|(_, r)| r.day == day)
        .map(|(p, _)| p.clone())
        .collect();
    l.ledger_gone = gone.len() as u64;
    gone.iter().for_each(|p| {
        rows.remove(p);
    });
    (l, rejections)
}

fn stage_map(stages: &[StageCounts; 3]) -> BTreeMap<&'static str, StageCounts> {
    Stage::PER_RACE
        .iter()
        .zip(stages)
        .map(|(s, c)| (s.name(), *c))
        .collect()
}

fn day_status(s: &DaySurvey, db: Option<(Loaded, Vec<Rejection>)>) -> DayStatus {
    let (db, rejections) = match db {
        Some((l, r)) => (Some(l), Some(r)),
        None => (None, None),
    };
    DayStatus {
        date: s.day.iso(),
        programme: s.programme,
        meetings: s.meetings,
        races: s.races,
        stages: stage_map(&s.stages),
        requests: s.requests,
        complete: s.complete(),
        db,
        rejections,
    }
}

fn build_report(
    lake: &Lake,
    range: &DayRange,
    target: Option<&db::Target>,
    days: Vec<DayStatus>,
    plan: Plan,
    settings: &Settings,
) -> Report {
    let mut stages = [StageCounts::default(); 3];
    let mut db = target.map(|_| Loaded::default());
    let (mut meetings, mut races, mut complete_days) = (0, 0, 0);
    for d in &days {
        for (i, s) in Stage::PER_RACE.iter().enumerate() {
            stages[i].add(&d.stages[s.name()]);
        }
        if let (Some(total), Some(l)) = (db.as_mut(), &d.db) {
            total.add(l);
        }
        meetings += d.meetings;
        races += d.races;
        complete_days += u64::from(d.complete);
    }
    let complete = days.iter().all(DayStatus::done);
    let requests = plan.requests();
    Report {
        lake: lake.root().display().to_string(),
        start: range.start.iso(),
        end: range.end.iso(),
        database: target.map(|t| t.to_string()),
        totals: Totals {
            days: days.len() as u64,
            complete_days,
            meetings,
            races,
            stages: stage_map(&stages),
            db: db.clone(),
        },
        days,
        next_extract: NextExtract {
            requests,
            seconds: settings.politeness.estimate(requests).as_secs(),
            profile: settings.politeness.profile.to_string(),
            plan,
        },
        next_load: db.map(|d| d.to_load()),
        complete,
    }
}

/// One line per day, or per month for a long range, then the incomplete days and one summary
/// line.
fn write_table(out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    let with_db = r.database.is_some();
    write!(
        out,
        "{:<10}  {:<12} {:>4} {:>6} {:>7} {:>8} {:>7} {:>7}",
        "date", "programme", "mtg", "races", "final", "no_cont", "provis", "missing"
    )?;
    if with_db {
        write!(
            out,
            "  {:>7} {:>7} {:>8} {:>10}",
            "loaded", "changed", "rejected", "not_loaded"
        )?;
    }
    writeln!(out)?;
    let by_month = r.days.len() as u64 > DAYS_SHOWN_ONE_BY_ONE;
    let groups: Vec<(String, Vec<&DayStatus>)> = if by_month {
        let mut groups: Vec<(String, Vec<&DayStatus>)> = Vec::new();
        for d in &r.days {
            let month = d.date[..7].to_string();
            match groups.last_mut() {
                Some((m, v)) if *m == month => v.push(d),
                _ => groups.push((month, vec![d])),
            }
        }
        groups
    } else {
        r.days.iter().map(|d| (d.date.clone(), vec![d])).collect()
    };
    for (label, days) in &groups {
        let programme = if let [d] = days.as_slice() {
            d.programme.word().to_string()
        } else {
            let fin = days.iter().filter(|d| d.programme.is_final()).count();
            format!("{fin}/{} final", days.len())
        };
        let mut o = StageCounts::default();
        let mut l = Loaded::default();
        for d in days {
            o.add(&d.objects());
            if let Some(x) = &d.db {
                l.add(x);
            }
        }
        let meetings: u64 = days.iter().map(|d| d.meetings).sum();
        let races: u64 = days.iter().map(|d| d.races).sum();
        write!(
            out,
            "{label:<10}  {programme:<12} {meetings:>4} {races:>6} {:>7} {:>8} {:>7} {:>7}",
            o.finals, o.no_content, o.provisional, o.missing
        )?;
        if with_db {
            write!(
                out,
                "  {:>7} {:>7} {:>8} {:>10}",
                l.loaded, l.changed, l.rejected, l.not_loaded
            )?;
        }
        writeln!(out)?;
    }
    if by_month {
        let incomplete: Vec<&DayStatus> = r.days.iter().filter(|d| !d.done()).collect();
        if !incomplete.is_empty() {
            writeln!(out, "incomplete days ({}):", incomplete.len())?;
            for d in incomplete.iter().take(INCOMPLETE_NAMED) {
                writeln!(out, "  {}  {}", d.date, d.trouble())?;
            }
            if incomplete.len() > INCOMPLETE_NAMED {
                writeln!(
                    out,
                    "  … and {} more (all of them in --json)",
                    incomplete.len() - INCOMPLETE_NAMED
                )?;
            }
        }
    }
    for d in &r.days {
        for rej in d.rejections.iter().flatten() {
            writeln!(out, "rejected: {}: {}", rej.path, rej.reason)?;
        }
    }
    writeln!(out, "{}", summary(r))?;
    Ok(())
}

fn summary(r: &Report) -> String {
    let t = &r.totals;
    let mut o = StageCounts::default();
    t.stages.values().for_each(|c| o.add(c));
    let n = &r.next_extract;
    let mut line = format!(
        "status {}..{} ({} days, {} complete): {} races; race objects: {} final, {} no content, {} provisional, {} missing; ",
        r.start,
        r.end,
        t.days,
        t.complete_days,
        t.races,
        o.finals,
        o.no_content,
        o.provisional,
        o.missing
    );
    match (&r.database, &t.db) {
        (Some(_), Some(l)) => line.push_str(&format!(
            "database: {} loaded, {} changed since their load, {} of an older mapping (the next \
             load re-derives them), {} rejected, {} not loaded; ",
            l.loaded, l.changed, l.reprocess, l.rejected, l.not_loaded
        )),
        _ => line.push_str(
            "database: none configured (DATABASE_URL, PG*, or a running local cluster); ",
        ),
    }
    line.push_str(&format!(
        "next extract: {} requests (about {} at --profile {}",
        n.requests,
        crate::extract::human_duration(std::time::Duration::from_secs(n.seconds)),
        n.profile
    ));
    if n.plan.days_races_unknown > 0 {
        line.push_str(&format!(
            ", {} of them estimated for {} days whose races are unknown",
            n.plan.race_objects_estimated, n.plan.days_races_unknown
        ));
    }
    line.push(')');
    if let Some(objects) = r.next_load {
        line.push_str(&format!("; next load: {objects} objects"));
    }
    line
}
