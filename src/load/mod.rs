//! Loading the lake into PostgreSQL: payloads → rows → COPY into staging → set-based merge.
//!
//! Per batch of consecutive days, in one transaction: every object whose stored bytes changed
//! since the ledger last saw them is decompressed and turned into staging rows
//! ([`rows::Batch`]); each staging table is filled by one `COPY … FROM STDIN`; the merges of
//! [`sql::MERGES`] run in order; the ledger rows are written; commit. A batch takes days until it
//! holds [`Options::batch_rows`] staged rows or [`MAX_BATCH_DAYS`] days: fewer, larger
//! transactions spread the fixed cost of a merge (planning, the scans of the targets' indexes,
//! the commit) over more rows, and the merges' keys all include the day, so several days in one
//! batch give the same rows as one day at a time. A bad object (corrupt frame, invalid JSON,
//! wrong shape) is rejected on its own; a row PostgreSQL refuses makes the batch roll back and
//! load again object by object under savepoints, so only the culprit is rejected. A crash rolls
//! back the open batch only; the ledger then says which days are still to load. Nothing here
//! touches the network.
//!
//! An object is skipped when the ledger loaded the very same stored bytes and nothing it hangs from
//! (its day's programme, the earlier stages of its race) is loaded again in this run. A reader
//! thread prepares batch N+1 while batch N is in PostgreSQL, and a thread ahead of it reads the
//! files it will read, so that a lake the page cache does not hold (a backfill of years) comes off
//! the disk while the reader parses (cold lake, 600 bench days: 47 s instead of 49.5; warm, the
//! same); one load per database at a time. Past races that an earlier batch of the same load sent
//! with the same values are not staged again ([`seen`]): a backfill stages each past race about
//! once instead of once per later report of its horse. In a first backfill, a second session loads
//! `past_race_runner` (and, when the tables' foreign keys and the index no statement of the load
//! reads could be set aside until the end, [`aside`], the runners' reports, the payouts and the
//! programme's bet offers and jackpots) while the first one loads the other tables ([`side`]),
//! and the merges of the tables one object each writes are plain inserts ([`sql::INSERT_ONLY`]).
//! The statements that run batch after batch with the same plan are prepared once per session
//! ([`plans`]).

pub mod aside;
pub mod ledger;
pub mod migrate;
pub mod plans;
pub mod recent;
pub mod report;
pub mod rows;
mod runners;
pub mod seen;
pub mod sent;
pub mod side;
pub mod sql;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use postgres::{Client, GenericClient, Transaction};

use crate::day::{Day, DayRange};
use crate::db;
use crate::exit::Outcome;
use crate::lake::{Lake, LakeObject, sha256_hex};
use ledger::{Entry, Status};
use plans::Plans;
use report::{
    BatchLog, BatchReport, DayObjects, Objects, Phases, Rejection, Report, TableCounts, Tables,
};
use rows::Batch;
use seen::{HandedOver, SeenPastRaces};
use side::Side;

/// Staged rows after which a batch is committed (the day that reaches it is the batch's last;
/// see [`Batch::rows`] for how copies of past runners left out count): in a first backfill of
/// the bench's 67 races a day, one day while most rows are new, then two. A few MB of CSV per
/// batch. Each batch costs a commit and a dozen COPY and merge statements whatever its size:
/// a first load of 600 bench days in 600 batches took 92.8-105.0 s (7 runs) and 85 MiB at
/// peak, in 307 batches 84.6 s and 92.5 MiB, in 150 batches (`--batch-rows 100000`)
/// 80.6-85.4 s (5 runs) but 157 MiB.
pub const DEFAULT_BATCH_ROWS: u64 = 25_000;

/// Most days in one batch, whatever their rows: bounds the ledger look-ahead, the work a crash
/// rolls back, and memory. Past races known unchanged are not staged, so the staged rows of a
/// day shrink as a backfill goes on and its batches would take ever more days: at 14 days a
/// batch, peak memory of a 30, 60 and 120-day bench load went 48, 55, 62 MB; at 7 days, 47, 52,
/// 52 MB.
pub const MAX_BATCH_DAYS: usize = 7;

/// Threads listing the lake's days ahead of the reader (see [`load_lake`]), and how many days'
/// listings each may hold ready (a few hundred objects a day: tens of KB). Listing is system
/// calls and, on a cold cache, disk reads: a replay of 300 bench days after dropping the page
/// cache took 1.7 s with 2 scouts, 1.4 s with 8 (warm: 0.5–0.6 s with either).
const SCOUTS: usize = 8;
const SCOUT_DAYS: usize = 2;

/// How a load runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Only these days (all the lake's days when `None`).
    pub range: Option<DayRange>,
    /// Reload objects the ledger has as loaded unchanged.
    pub force: bool,
    /// Progress bar on stderr.
    pub progress: bool,
    /// A batch (one transaction) ends with the day that brings its staged rows to this many;
    /// 1 commits every day on its own.
    pub batch_rows: u64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            range: None,
            force: false,
            progress: false,
            batch_rows: DEFAULT_BATCH_ROWS,
        }
    }
}

/// What `pmu-lake load` is asked to do, once the command line is read.
#[derive(Debug, Clone)]
pub struct Settings {
    pub lake: PathBuf,
    pub options: Options,
    /// Also write the report, as JSON, to this file.
    pub report: Option<PathBuf>,
}

/// `pmu-lake load`: checks the lake and the report's path before any work, connects, migrates,
/// loads, prints the summary on stdout. Days of the range the lake does not hold are named
/// and make the run partial.
pub fn run(settings: &Settings, db: &db::Settings) -> Result<Outcome> {
    let lake = Lake::existing(&settings.lake)?;
    if let Some(path) = &settings.report {
        crate::exit::check_report_path(path)?;
    }
    let target = db.resolve()?;
    let mut client = target.connect()?;
    migrate::run(&mut client).map_err(|e| anyhow!("{}", target.scrub(&format!("{e:#}"))))?;
    let mut batches = settings
        .report
        .as_deref()
        .map(BatchLog::create)
        .transpose()?;
    let second = || target.connect();
    let mut report = load_lake(
        &mut client,
        &second,
        &lake,
        &settings.options,
        batches.as_mut(),
    )?;
    report.missing_days = missing_days(&lake, settings.options.range)?;
    // The report first: a summary nobody reads (`| head -1`) must not cost the report.
    if let (Some(path), Some(batches)) = (&settings.report, &mut batches) {
        report.write_json(path, batches)?;
    }
    crate::exit::say(report.summary())?;
    Ok(report.outcome())
}

/// The days of `range` the lake holds nothing for (with no range: none, unless the lake is empty).
fn missing_days(lake: &Lake, range: Option<DayRange>) -> Result<Vec<Day>> {
    let held: HashSet<Day> = lake.days()?.into_iter().collect();
    Ok(match range {
        Some(range) => range.days().filter(|d| !held.contains(d)).collect(),
        None => Vec::new(),
    })
}

/// `pmu-lake migrate`.
pub fn migrate_only(db: &db::Settings) -> Result<Outcome> {
    let target = db.resolve()?;
    let mut client = target.connect()?;
    let applied =
        migrate::run(&mut client).map_err(|e| anyhow!("{}", target.scrub(&format!("{e:#}"))))?;
    let versions: Vec<String> = applied.applied.iter().map(|v| format!("{v:04}")).collect();
    if versions.is_empty() {
        crate::exit::say(format_args!(
            "migrate: the schema is up to date ({} migrations)",
            applied.present
        ))?;
    } else {
        crate::exit::say(format_args!(
            "migrate: applied {} ({} already present)",
            versions.join(", "),
            applied.present
        ))?;
    }
    Ok(Outcome::Complete)
}

/// Loads the days of `lake` (those of `options.range`) into an already migrated database.
///
/// Two threads: a reader turns the days of batch N+1 into staging rows while this thread sends
/// batch N to PostgreSQL; [`SCOUTS`] more list the reader's next days. At most two batches of
/// rows are in memory, whatever the size of the lake, and the ledger is read at most
/// [`MAX_BATCH_DAYS`] days ahead of the batch in hand.
/// Each batch's report goes to `batches` as it commits (the returned report has the totals).
/// In a first backfill, `second` opens a second session to the same database ([`side`]); when
/// it cannot, the load says why on stderr and runs on `client` alone.
pub fn load_lake(
    client: &mut Client,
    second: &dyn Fn() -> Result<Client>,
    lake: &Lake,
    options: &Options,
    batches: Option<&mut BatchLog>,
) -> Result<Report> {
    let started = Instant::now();
    let days: Vec<Day> = lake
        .days()?
        .into_iter()
        .filter(|d| options.range.is_none_or(|r| r.contains(*d)))
        .collect();
    lock(client)?;
    let result = load_locked(client, second, lake, options, &days, batches).and_then(|report| {
        // Batches committed without waiting for the disk (sql::SESSION): wait once, now.
        client
            .batch_execute(sql::FLUSH)
            .context("waiting for the loaded batches to reach the disk")?;
        Ok(report)
    });
    // Released now rather than when the server notices the session is gone, so that a load
    // started right after this one (the next day of a backfill script) does not find it held.
    if !client.is_closed() {
        let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&LOAD_LOCK_KEY]);
    }
    let mut report = result?;
    report.seconds = started.elapsed().as_secs_f64();
    report.peak_rss_kb = report::peak_rss_kb();
    Ok(report)
}

/// [`load_lake`] once the load lock is held.
fn load_locked(
    client: &mut Client,
    second: &dyn Fn() -> Result<Client>,
    lake: &Lake,
    options: &Options,
    days: &[Day],
    batches: Option<&mut BatchLog>,
) -> Result<Report> {
    create_staging(client)?;
    // Keys and indexes a load killed in its first backfill left aside. Loading without them is
    // still right (every merge joins its parents, and no statement reads the index), so one
    // that cannot be added back only gets a warning.
    match aside::restore(client) {
        Ok(warnings) => warn(&warnings),
        Err(e) => eprintln!("pmu-lake: {e:#}"),
    }
    if let Err(e) = aside::restore_indexes(client) {
        eprintln!("pmu-lake: {e:#}");
    }
    let mut seen = SeenPastRaces::new(ledger_last_day(client)?);
    // Rows known new can only exist in a first backfill: only then is a second session useful,
    // and setting the foreign keys aside worth their validation at the end.
    let mut second_session = None;
    let mut keys_aside = None;
    if table_is_empty(client, "past_race_runner")? {
        seen.past_runners.into_empty_table();
        let started = Instant::now();
        if aside::set_aside(client)? {
            keys_aside = Some(started.elapsed().as_secs_f64());
        }
        match second() {
            Ok(client) => second_session = Some(client),
            Err(e) => eprintln!("pmu-lake: loading on one session only: {e:#}"),
        }
    }
    // Merges that can be plain inserts: their tables were empty as the load began (each table
    // looked at once).
    let mut empty_tables = HashMap::new();
    for table in sql::INSERT_ONLY
        .iter()
        .flat_map(|(_, tables)| tables.iter())
    {
        if !empty_tables.contains_key(table) {
            empty_tables.insert(*table, table_is_empty(client, table)?);
        }
    }
    let insert_only = |target: &str| {
        sql::INSERT_ONLY
            .iter()
            .any(|(t, tables)| *t == target && tables.iter().all(|t| empty_tables[t]))
    };
    // The statements this load runs, decided once: each merge, or its insert-only form.
    let merges = sql::MERGES
        .iter()
        .map(|m| match m.insert_only {
            Some(sql) if insert_only(m.target) => sql::Merge { sql, ..*m },
            _ => *m,
        })
        .collect();
    let two_sessions = second_session.is_some();
    let empty = Empty {
        second_session,
        merges,
        keys_aside: keys_aside.is_some(),
        direct_runners: insert_only("race_participant"),
    };
    let loaded = load_days(client, lake, options, days, batches, seen, empty);
    let Some(set_aside) = keys_aside else {
        return loaded;
    };
    // Back whatever became of the load: a failed one leaves no key or index missing either.
    let started = Instant::now();
    // The load's second session is gone; another one builds the indexes if a second session
    // could be opened for the batches.
    let other = two_sessions.then(second).and_then(|other| {
        other
            .map_err(|e| eprintln!("pmu-lake: building the indexes after the foreign keys: {e:#}"))
            .ok()
    });
    let (restored, keys_back, indexes) = keys_and_indexes_back(client, other);
    let mut report = loaded?;
    warn(&restored?);
    indexes?;
    report.phases.foreign_keys = set_aside + keys_back;
    report.phases.indexes = started.elapsed().as_secs_f64() - keys_back;
    Ok(report)
}

/// The keys set aside back ([`aside::restore`]) on `client`, while `other`, another session,
/// builds the indexes again ([`aside::restore_indexes`]): no key is of the indexes' table, so
/// neither waits for the other's locks, and the index build no longer waits for the keys'
/// validation (at full bench size 6.6 s of index and 4.7 s of keys, one after the other).
/// Without `other`, the indexes are built here after the keys. Returns the keys' outcome, the
/// seconds until they were back, and the indexes' outcome.
fn keys_and_indexes_back(
    client: &mut Client,
    other: Option<Client>,
) -> (Result<Vec<String>>, f64, Result<()>) {
    let started = Instant::now();
    std::thread::scope(|scope| {
        let building =
            other.map(|mut other| scope.spawn(move || aside::restore_indexes(&mut other)));
        let restored = aside::restore(client);
        let keys_back = started.elapsed().as_secs_f64();
        let indexes = match building {
            Some(building) => building
                .join()
                .unwrap_or_else(|_| Err(anyhow!("the thread building the indexes panicked"))),
            None => aside::restore_indexes(client),
        };
        (restored, keys_back, indexes)
    })
}

fn warn(warnings: &[String]) {
    for w in warnings {
        eprintln!("pmu-lake: {w}");
    }
}

/// The batches of [`load_locked`], on `client` and, when given, a second session.
fn load_days(
    client: &mut Client,
    lake: &Lake,
    options: &Options,
    days: &[Day],
    mut batches: Option<&mut BatchLog>,
    mut seen: SeenPastRaces,
    empty: Empty,
) -> Result<Report> {
    let Empty {
        second_session,
        merges,
        keys_aside,
        direct_runners,
    } = empty;
    let bar = progress_bar(days.len() as u64, options.progress);
    let mut report = Report::default();
    let budget = options.batch_rows.max(1);
    std::thread::scope(|scope| -> Result<()> {
        // Owned here, so that the second session's thread ends (its handle dropped) before the
        // scope waits for it, whichever way this closure returns.
        let side = second_session
            .map(|client| {
                // The reports, payouts, offers and jackpots go to the second session only
                // without their foreign keys: with them, PostgreSQL would refuse its rows, whose
                // races and réunions the first session commits after them (a foreign key
                // violation, every batch refused).
                let reports = keys_aside.then(|| {
                    merges
                        .iter()
                        .filter(|m| sql::SIDE_MERGES.contains(&m.target))
                        .copied()
                        .collect()
                });
                Side::start(scope, client, reports)
            })
            .transpose()?;
        report.sessions = 1 + u32::from(side.is_some());
        let mut loader = Loader {
            client,
            side,
            batch: Batch::new(),
            phases: Phases::default(),
            not_whole: HashSet::new(),
            plans: Plans::default(),
            merges,
        };
        // Requests are bounded by the protocol below (never more than MAX_BATCH_DAYS waiting);
        // a prepared batch is handed over only when this thread takes it (rendezvous), so the
        // reader holds one batch while this thread loads the other.
        let (request, requests) = mpsc::channel::<Ask>();
        let (prepared_tx, prepared) = mpsc::sync_channel::<Result<Prepared>>(0);
        let (recycle, recycled) = mpsc::channel::<Batch>();
        // The loader's word on each batch (its number, whether PostgreSQL took it whole).
        let (outcome_tx, outcomes) = mpsc::channel::<(u64, bool)>();
        // Scouts list the days ahead of the reader, in turn (directory entries and each file's
        // identity: all that a replay looks at), so that listing a replay's days takes both
        // cores and, on a cold cache, keeps more than one disk read in flight.
        let listings: Vec<_> = (0..SCOUTS)
            .map(|k| {
                let (listed, listing) = mpsc::sync_channel(SCOUT_DAYS);
                scope.spawn(move || {
                    for &day in days.iter().skip(k).step_by(SCOUTS) {
                        if listed.send((day, lake.objects(day))).is_err() {
                            break;
                        }
                    }
                });
                listing
            })
            .collect();
        // The files the reader will read, read a day or two ahead of it: a lake the page cache
        // does not hold (a backfill of years) is otherwise read from the disk by the reader, one
        // file after the other, each read a wait.
        let (ahead_tx, ahead) = mpsc::sync_channel::<(Ask, Result<Vec<LakeObject>>)>(1);
        scope.spawn(move || {
            let mut buf = Vec::new();
            // Asks come in the order of `days`, which the scouts take in turn.
            for (n, ask) in requests.into_iter().enumerate() {
                let Ok((day, objects)) = listings[n % SCOUTS].recv() else {
                    break;
                };
                debug_assert_eq!(day, ask.day);
                if let Ok(objects) = &objects {
                    read_ahead(objects, &ask.known, &mut buf);
                }
                if ahead_tx.send((ask, objects)).is_err() {
                    break;
                }
            }
        });
        scope.spawn(move || {
            let mut current: Option<Prepared> = None;
            let mut seq = 0;
            for (ask, objects) in ahead {
                while let Ok((done, whole)) = outcomes.try_recv() {
                    seen.outcome(done, whole);
                }
                let input = current.get_or_insert_with(|| {
                    let mut batch = recycled.try_recv().unwrap_or_default();
                    if direct_runners {
                        batch.copy_runners_directly();
                    }
                    Prepared::new(batch)
                });
                let day = ask.day;
                if let Err(e) = objects
                    .and_then(|objects| prepare_day(day, objects, &ask.known, input, &mut seen))
                    .with_context(|| format!("reading {}", lake.day_dir(ask.day).display()))
                {
                    let _ = prepared_tx.send(Err(e));
                    break;
                }
                let full = input.days.len() >= MAX_BATCH_DAYS || input.batch.rows() >= budget;
                if !(ask.last || full) {
                    continue;
                }
                if let Some(mut input) = current.take() {
                    seq += 1;
                    input.batch.finish_filtered(Some(&mut seen.past_runners));
                    input.seq = seq;
                    input.handed = seen.hand_over(seq);
                    if prepared_tx.send(Ok(input)).is_err() {
                        break;
                    }
                }
            }
        });
        // The reader ends a batch after MAX_BATCH_DAYS days at most, so asking that many days
        // beyond those received is always enough for it to hand the next batch over; one more,
        // for the files of the batch after it to be read ahead meanwhile.
        const ASKED_AHEAD: usize = MAX_BATCH_DAYS + 1;
        let mut asked = 0;
        // The ledger of the next LEDGER_DAYS days, read in one query.
        let mut ledger_ahead: HashMap<Day, Known> = HashMap::new();
        let mut ask_until = |loader: &mut Loader<'_>, until: usize| -> Result<()> {
            while asked < until.min(days.len()) {
                let day = days[asked];
                if !options.force && !ledger_ahead.contains_key(&day) {
                    let ahead = &days[asked..days.len().min(asked + LEDGER_DAYS)];
                    ledger_ahead = ledger::loaded_by_day(loader.client, ahead)?;
                }
                let known = ledger_ahead.remove(&day).unwrap_or_default();
                asked += 1;
                let ask = Ask {
                    day,
                    known,
                    last: asked == days.len(),
                };
                request
                    .send(ask)
                    .map_err(|_| anyhow!("the lake reader stopped"))?;
            }
            Ok(())
        };
        ask_until(&mut loader, ASKED_AHEAD)?;
        let mut received = 0;
        while received < days.len() {
            let waited = Instant::now();
            let input = prepared
                .recv()
                .map_err(|_| anyhow!("the lake reader stopped"))??;
            let waited = waited.elapsed().as_secs_f64();
            received += input.days.len();
            ask_until(&mut loader, received + ASKED_AHEAD)?;
            let span = input.span();
            let seq = input.seq;
            bar.set_message(span.clone());
            let n_days = input.days.len() as u64;
            let (mut batch_report, batch) = loader
                .load_batch(input)
                .with_context(|| format!("loading {} from {}", span, lake.root().display()))?;
            batch_report.phases.waiting_for_reader = waited;
            let _ = recycle.send(batch);
            let _ = outcome_tx.send((seq, !loader.not_whole.contains(&seq)));
            for r in &batch_report.rejected {
                bar.suspend(|| eprintln!("pmu-lake: rejected {}: {}", r.path, r.reason));
            }
            if let Some(log) = batches.as_deref_mut() {
                log.push(&batch_report)?;
            }
            report.add_batch(batch_report);
            bar.inc(n_days);
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    Ok(report)
}

fn progress_bar(len: u64, visible: bool) -> ProgressBar {
    if !visible {
        return ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new(len);
    let style =
        ProgressStyle::with_template("load {bar:30} {pos}/{len} days {msg} ({elapsed}, eta {eta})")
            .expect("the progress template is valid");
    bar.set_style(style);
    bar
}

/// Key of the session advisory lock held by a load ("pmu-load" in ASCII).
pub const LOAD_LOCK_KEY: i64 = 0x706d_752d_6c6f_6164;

/// How long a load waits for another one to release the load lock.
pub const LOCK_WAIT: &str = "5s";

/// One load per database at a time: a second one (an overlapping cron run) stops rather than
/// fight over the same rows. It waits [`LOCK_WAIT`] first: a load killed with `kill -9` keeps
/// the lock until its server session notices, which is once the statement it was running ends,
/// and a rerun started right away must not take that for a live load. The lock goes with the
/// session.
fn lock(client: &mut Client) -> Result<()> {
    client
        .batch_execute(&format!("SET lock_timeout = '{LOCK_WAIT}'"))
        .context("taking the load lock")?;
    let taken = client.execute("SELECT pg_advisory_lock($1)", &[&LOAD_LOCK_KEY]);
    client
        .batch_execute("RESET lock_timeout")
        .context("taking the load lock")?;
    match taken {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) => bail!(
            "another pmu-lake load is running on this database (waited {LOCK_WAIT}); try again when it ends"
        ),
        Err(e) => Err(anyhow!("taking the load lock: {}", db_error(&e))),
    }
}

/// The last day the ledger has, which [`SeenPastRaces`] needs: `None` for an empty database,
/// the latest possible day when past races are there without a ledger (nothing is then
/// remembered across batches).
fn ledger_last_day(client: &mut Client) -> Result<Option<chrono::NaiveDate>> {
    let row = client
        .query_one(
            "SELECT (SELECT max(day) FROM load_ledger)::text, EXISTS (SELECT FROM horse_race_history)",
            &[],
        )
        .context("reading the ledger's last day")?;
    let last: Option<String> = row.get(0);
    let any_history: bool = row.get(1);
    Ok(match last {
        Some(day) => Some(
            chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d")
                .with_context(|| format!("the ledger's last day {day:?}"))?,
        ),
        None if any_history => Some(chrono::NaiveDate::MAX),
        None => None,
    })
}

/// Whether `table` (a constant of this module) has no row. Under the load lock, no other load
/// adds any while this one runs.
fn table_is_empty(client: &mut Client, table: &'static str) -> Result<bool> {
    let row = client
        .query_one(&format!("SELECT NOT EXISTS (SELECT FROM {table})"), &[])
        .with_context(|| format!("looking for rows in {table}"))?;
    Ok(row.get(0))
}

/// The session's settings ([`sql::SESSION`]) and temp staging tables (`ON COMMIT DELETE ROWS`).
fn create_staging(client: &mut Client) -> Result<()> {
    client
        .batch_execute(sql::SESSION)
        .context("setting up the load session")?;
    for table in sql::STAGING {
        client
            .batch_execute(table.create)
            .with_context(|| format!("creating staging table {}", table.name))?;
    }
    client
        .batch_execute(sql::HORSE_IDS)
        .context("creating staging table stg_horse_id")?;
    Ok(())
}

/// path → stored-bytes hash of the objects the ledger has as loaded.
type Known = HashMap<String, ledger::Loaded>;

/// Days of the ledger read in one query ahead of the reader: a replay of the full history (4,700
/// days) makes 74 queries instead of 4,700, holding about 13,000 ledger rows at a time.
const LEDGER_DAYS: usize = 64;

/// A day the reader is asked to add to its batch, with what the ledger has of it.
struct Ask {
    day: Day,
    known: Known,
    /// The last day of the load: the batch ends with it.
    last: bool,
}

/// An object of the batch that decoded and produced rows.
struct Good {
    object: LakeObject,
    entry: Entry,
}

/// Consecutive days read from the lake and turned into staging rows, ready for PostgreSQL.
struct Prepared {
    batch: Batch,
    /// The batch's days in order, with their markers and skipped objects (loaded and rejected
    /// are counted once PostgreSQL has had its say).
    days: Vec<(Day, Objects)>,
    good: Vec<Good>,
    rejected: Vec<Entry>,
    read_parse: f64,
    /// The batch's number in this load (from 1).
    seq: u64,
    /// Past races the batch left out as already sent, and what that relies on.
    handed: HandedOver,
    /// Objects found unchanged by their hash whose file identity the ledger lacks: (path,
    /// identity), recorded after the batch ([`ledger::restat`]).
    restat: Vec<(String, String)>,
}

impl Prepared {
    fn new(mut batch: Batch) -> Prepared {
        batch.clear();
        Prepared {
            batch,
            days: Vec::new(),
            good: Vec::new(),
            rejected: Vec::new(),
            read_parse: 0.0,
            seq: 0,
            handed: HandedOver::default(),
            restat: Vec::new(),
        }
    }

    /// "2025-01-01" or "2025-01-01..2025-01-05".
    fn span(&self) -> String {
        match (self.days.first(), self.days.last()) {
            (Some((a, _)), Some((b, _))) if a != b => format!("{}..{}", a.iso(), b.iso()),
            (Some((a, _)), _) => a.iso(),
            _ => String::new(),
        }
    }
}

/// Adds a day's objects to `prepared`: markers counted, objects the ledger has with the same
/// stored bytes skipped (the same file by its size and identity: not even read; else hashed,
/// never decompressed), the others decompressed and parsed into its batch; bad ones set aside
/// as rejected.
fn prepare_day(
    day: Day,
    objects: Vec<LakeObject>,
    known: &Known,
    prepared: &mut Prepared,
    seen: &mut SeenPastRaces,
) -> Result<()> {
    let started = Instant::now();
    let mut counts = Objects::default();
    // An object is skipped only if the ledger loaded these very bytes and nothing it hangs from
    // (the day's programme, the earlier stages of its race) is loaded again now: rows that were
    // orphans last time (their parent was missing or rejected) find their parent this time.
    let mut day_dirty = false;
    let mut dirty_races = HashSet::new();
    for object in objects {
        if object.marker.is_some() {
            counts.markers += 1;
            continue;
        }
        let upstream_dirty = day_dirty || object.key.race.is_some_and(|r| dirty_races.contains(&r));
        let mut mark_dirty = || match object.key.race {
            None => day_dirty = true,
            Some(race) => {
                dirty_races.insert(race);
            }
        };
        let path = ledger::path_of(&object.key);
        let known_entry = known.get(&path).filter(|_| !upstream_dirty);
        let current = known_entry
            .is_some_and(|k| k.mapping_version >= ledger::mapping_version(object.key.stage));
        // Taken as the day was listed, before reading: should the file change in between, the
        // next load sees another identity and hashes it again.
        let stat = object.identity.as_ref().map(ledger::file_stat);
        // The same file the ledger loaded (same size, inode and times): skipped without reading.
        if loaded_as_is(known_entry, &object, stat.as_ref()) {
            counts.skipped += 1;
            continue;
        }
        let bytes = match std::fs::read(&object.path) {
            Ok(bytes) => bytes,
            Err(e) => {
                mark_dirty();
                let reason = format!("cannot read the file: {e}");
                prepared
                    .rejected
                    .push(rejection(&object, String::new(), 0, reason));
                continue;
            }
        };
        let sha256 = sha256_hex(&bytes);
        let same_bytes = known_entry.filter(|k| k.sha256 == sha256);
        // Loaded before with these very bytes, by an older mapping: re-derived, and counted
        // as reprocessed once its rows are in the batch.
        let mut reprocess = false;
        if same_bytes.is_some() {
            if current {
                counts.skipped += 1;
                if let Some((_, id)) = stat {
                    prepared.restat.push((path, id));
                }
                continue;
            }
            reprocess = true;
        }
        let stat = stat.map(|(_, id)| id);
        mark_dirty();
        let stored_bytes = bytes.len() as u64;
        let added = decode(&bytes).and_then(|body| {
            prepared
                .batch
                .add_object_filtered(&object.key, &body, Some(&mut *seen))
        });
        match added {
            Ok(()) => {
                counts.reprocessed += u64::from(reprocess);
                let entry = Entry {
                    key: object.key,
                    sha256,
                    stored_bytes,
                    stat,
                    status: Status::Loaded,
                    reason: None,
                };
                prepared.good.push(Good { object, entry });
            }
            Err(e) => {
                let reason = format!("{e:#}");
                prepared
                    .rejected
                    .push(rejection(&object, sha256, stored_bytes, reason));
            }
        }
    }
    prepared.days.push((day, counts));
    prepared.read_parse += started.elapsed().as_secs_f64();
    Ok(())
}

/// Whether `known`, the ledger's entry of `object`, is that of the file listed with `stat` (its
/// size and identity, [`ledger::file_stat`]), loaded by the current mapping: the very file,
/// which nothing needs to read again.
fn loaded_as_is(
    known: Option<&ledger::Loaded>,
    object: &LakeObject,
    stat: Option<&(u64, String)>,
) -> bool {
    matches!((known, stat), (Some(k), Some((size, id)))
        if k.mapping_version >= ledger::mapping_version(object.key.stage)
            && k.stored_bytes == *size
            && k.stat.as_deref() == Some(id.as_str()))
}

/// Reads the files of a day's `objects` that [`prepare_day`] will read, as far as the ledger's
/// `known` entries say, and drops their bytes: ahead of the reader, so that it finds them in the
/// page cache. `buf` is reused from file to file. A file that cannot be read is left to the
/// reader, which says why.
fn read_ahead(objects: &[LakeObject], known: &Known, buf: &mut Vec<u8>) {
    use std::io::Read as _;
    for object in objects.iter().filter(|o| o.marker.is_none()) {
        let entry = known.get(&ledger::path_of(&object.key));
        let stat = object.identity.as_ref().map(ledger::file_stat);
        if loaded_as_is(entry, object, stat.as_ref()) {
            continue;
        }
        buf.clear();
        if let Ok(mut file) = std::fs::File::open(&object.path) {
            let _ = file.read_to_end(buf);
        }
    }
}

struct Loader<'a> {
    client: &'a mut Client,
    /// The second session of a first backfill, which loads `past_race_runner` and perhaps the
    /// reports, payouts, bet offers and jackpots ([`side`]).
    side: Option<Side>,
    /// Rows of one object at a time, when a batch is loaded object by object.
    batch: Batch,
    /// Time spent in COPY and merges for the batch being loaded.
    phases: Phases,
    /// Batches of this load in which PostgreSQL refused an object.
    not_whole: HashSet<u64>,
    /// The statements this session prepared.
    plans: Plans,
    /// The merges this load runs, in order ([`Empty::merges`]).
    merges: Vec<sql::Merge>,
}

impl Loader<'_> {
    /// Sends a prepared batch to PostgreSQL; gives its rows' buffers back for reuse.
    fn load_batch(&mut self, input: Prepared) -> Result<(BatchReport, Batch)> {
        let started = Instant::now();
        let span = input.span();
        let Prepared {
            mut batch,
            days,
            mut good,
            mut rejected,
            read_parse,
            seq,
            handed,
            restat,
        } = input;
        let mut report = BatchReport {
            first_day: days.first().map(|(d, _)| d.iso()).unwrap_or_default(),
            last_day: days.last().map(|(d, _)| d.iso()).unwrap_or_default(),
            ..BatchReport::default()
        };
        self.phases = Phases {
            read_parse,
            ..Phases::default()
        };
        // Rows this batch left out stand for rows of earlier batches: if one of those was not
        // committed whole, the batch is loaded again from the lake, object by object, in full.
        let complete = !handed.depends_on.iter().any(|s| self.not_whole.contains(s));
        if !good.is_empty() || !rejected.is_empty() {
            let whole = if complete {
                let span_days = (days[0].0, days[days.len() - 1].0);
                self.commit_batch(&mut batch, &good, &rejected, &span, span_days)
            } else {
                Err(anyhow!("an earlier batch was not committed whole"))
            };
            match whole {
                Ok(mut tables) => {
                    if handed.not_sent > 0 {
                        let not_sent = TableCounts::not_sent(handed.not_sent);
                        tables.add("horse_race_history", &not_sent);
                    }
                    if handed.runners_not_sent > 0 {
                        let not_sent = TableCounts::not_sent(handed.runners_not_sent);
                        tables.add("past_race_runner", &not_sent);
                    }
                    report.tables = tables;
                }
                Err(e) if self.client.is_closed() => return Err(e),
                // Only rows PostgreSQL refuses as data are some object's fault; anything else
                // would fail object by object too, and mark them all with a wrong reason.
                Err(e) if complete && !is_data_error(&e) => return Err(e),
                Err(_) => {
                    report.isolated = true;
                    let (tables, refused) = self.commit_one_by_one(&good, &rejected, &span)?;
                    report.tables = tables;
                    if !refused.is_empty() {
                        self.not_whole.insert(seq);
                    }
                    good.retain(|g| !refused.iter().any(|r| r.key == g.entry.key));
                    rejected.extend(refused);
                }
            }
        }
        report.out_of_range = batch
            .out_of_range()
            .iter()
            .filter(|o| good.iter().any(|g| g.entry.key.display_path() == o.path))
            .cloned()
            .collect();
        for o in &report.out_of_range {
            eprintln!(
                "pmu-lake: {}: {} = {} is out of range for its column: stored as NULL",
                o.path, o.column, o.value
            );
        }
        for (day, mut objects) in days {
            objects.loaded = good.iter().filter(|g| g.entry.key.day == day).count() as u64;
            objects.rejected = rejected.iter().filter(|e| e.key.day == day).count() as u64;
            report.objects.add(&objects);
            report.days.push(DayObjects {
                day: day.iso(),
                objects,
            });
        }
        report.rejected = rejected
            .into_iter()
            .map(|e| Rejection {
                path: ledger::path_of(&e.key),
                reason: e.reason.unwrap_or_default(),
            })
            .collect();
        ledger::restat(self.client, &restat)?;
        let db_seconds = started.elapsed().as_secs_f64();
        report.seconds = read_parse + db_seconds;
        let p = &mut self.phases;
        p.ledger_commit = (db_seconds - p.copy - p.merge - p.waiting_for_second).max(0.0);
        report.phases = *p;
        Ok((report, batch))
    }

    /// The whole batch in one transaction; with a second session, its `past_race_runner` rows
    /// in a transaction of that session, committed just before this one, or, when that session
    /// loads the reports too, those rows, the reports, payouts, bet offers and jackpots and the
    /// ledger rows of their objects, committed just after this one ([`side`]).
    fn commit_batch(
        &mut self,
        batch: &mut Batch,
        good: &[Good],
        rejected: &[Entry],
        span: &str,
        days: (Day, Day),
    ) -> Result<Tables> {
        let mut entries: Vec<Entry> = good
            .iter()
            .map(|g| g.entry.clone())
            .chain(rejected.iter().cloned())
            .collect();
        // The rows the second session loads go to it first: it loads them while this one sends
        // the rest.
        let mut aside = None;
        if let Some(side) = self.side.as_mut() {
            let reports = side.reports();
            let rows = batch.take_for_side(reports, side.programme());
            if reports || rows.rows() > 0 {
                // The ledger rows of the objects whose rows are all or partly there.
                let (there, here): (Vec<Entry>, Vec<Entry>) = entries
                    .into_iter()
                    .partition(|e| reports && e.status == Status::Loaded && side::commits_last(e));
                entries = here;
                side.load(rows, there)?;
                aside = Some(reports);
            } else {
                batch.put_back(rows);
            }
        }
        let mut tx = self
            .client
            .transaction()
            .with_context(|| format!("opening the transaction of {span}"))?;
        let mut merging = Merging {
            plans: &mut self.plans,
            merges: &self.merges,
            aside: aside.is_some(),
            ids: match (aside, self.side.as_mut()) {
                (Some(true), Some(side)) => Some((side, days)),
                _ => None,
            },
        };
        let here = copy_and_merge(&mut tx, &mut merging, batch, &mut self.phases)
            .and_then(|tables| ledger::upsert(&mut tx, &entries).map(|()| tables));
        if let Some((side, _)) = merging.ids.take() {
            // Failed before the ids were sent: the second session gives up the batch.
            side.ids(None)?;
        }
        let (Some(reports), Some(side)) = (aside, self.side.as_mut()) else {
            let tables = here?;
            tx.commit().with_context(|| format!("committing {span}"))?;
            return Ok(tables);
        };
        let waited = Instant::now();
        let (loaded, rows) = side.loaded()?;
        batch.put_back(rows);
        self.phases.waiting_for_second += waited.elapsed().as_secs_f64();
        match (here, loaded) {
            (Ok(mut tables), Ok(loaded)) => {
                // The session that writes the ledger rows of its objects commits last: killed in
                // between, the load leaves rows of those objects without their ledger rows, read
                // again and found unchanged by the next load, never the reverse. A first commit
                // that fails leaves nothing committed (the other session is rolled back, and the
                // batch may load again object by object); a second one cannot be undone, so its
                // failure ends the load.
                let first =
                    |tx: Transaction<'_>| tx.commit().with_context(|| format!("committing {span}"));
                if reports {
                    if let Err(e) = first(tx) {
                        side.rollback()?;
                        return Err(e);
                    }
                    side.commit().map_err(after_first_commit)?;
                } else {
                    side.commit()?;
                    first(tx).map_err(after_first_commit)?;
                }
                for counts in [loaded.direct, loaded.merged].iter().flatten() {
                    tables.add("past_race_runner", counts);
                }
                for (target, counts) in &loaded.reports {
                    tables.add(target, counts);
                }
                Ok(tables)
            }
            (Err(e), _) | (Ok(_), Err(e)) => {
                side.rollback()?;
                Err(e)
            }
        }
    }

    /// After PostgreSQL refused the batch: each object under its own savepoint (in day and
    /// load order), so only the objects it refuses are rejected. Returns the counts and the
    /// refused objects.
    fn commit_one_by_one(
        &mut self,
        good: &[Good],
        rejected: &[Entry],
        span: &str,
    ) -> Result<(Tables, Vec<Entry>)> {
        let mut tables = Tables::default();
        let mut refused = Vec::new();
        let mut entries = Vec::new();
        let mut tx = self
            .client
            .transaction()
            .with_context(|| format!("opening the transaction of {span}"))?;
        for g in good {
            self.batch.clear();
            let added = std::fs::read(&g.object.path)
                .map_err(anyhow::Error::from)
                .and_then(|bytes| decode(&bytes))
                .and_then(|body| self.batch.add_object(&g.object.key, &body))
                .map(|()| self.batch.finish());
            if let Err(e) = added {
                refused.push(Entry {
                    status: Status::Rejected,
                    reason: Some(format!("{e:#}")),
                    ..g.entry.clone()
                });
                continue;
            }
            let mut savepoint = tx.transaction().context("opening a savepoint")?;
            let mut merging = Merging {
                plans: &mut self.plans,
                merges: &self.merges,
                aside: false,
                ids: None,
            };
            match copy_and_merge(&mut savepoint, &mut merging, &self.batch, &mut self.phases)
                .and_then(|t| truncate_staging(&mut savepoint).map(|()| t))
            {
                Ok(t) => {
                    savepoint.commit().context("releasing a savepoint")?;
                    tables.merge(&t);
                    entries.push(g.entry.clone());
                }
                Err(e) if !is_data_error(&e) => {
                    return Err(e.context(format!("loading {}", ledger::path_of(&g.entry.key))));
                }
                Err(e) => {
                    drop(savepoint); // rolls back to the savepoint
                    let reason = format!("PostgreSQL refused its rows: {e:#}");
                    refused.push(Entry {
                        status: Status::Rejected,
                        reason: Some(reason),
                        ..g.entry.clone()
                    });
                }
            }
        }
        entries.extend(rejected.iter().cloned());
        entries.extend(refused.iter().cloned());
        ledger::upsert(&mut tx, &entries)?;
        tx.commit().with_context(|| format!("committing {span}"))?;
        Ok((tables, refused))
    }
}

fn rejection(object: &LakeObject, sha256: String, stored_bytes: u64, reason: String) -> Entry {
    Entry {
        key: object.key,
        sha256,
        stored_bytes,
        stat: None,
        status: Status::Rejected,
        reason: Some(reason),
    }
}

/// Decompresses a stored body (one zstd frame, its checksum verified).
fn decode(stored: &[u8]) -> Result<Vec<u8>> {
    // One zstd context per thread, reused: creating one per object was 3.4 % of the reader's
    // time. A frame that does not give its size, or one it fails on, goes through the
    // streaming decoder, whose error is the one reported.
    thread_local! {
        static CONTEXT: RefCell<Option<zstd::bulk::Decompressor<'static>>> =
            RefCell::new(zstd::bulk::Decompressor::new().ok());
    }
    let mut body = Vec::new();
    if CONTEXT.with_borrow_mut(|d| crate::lake::decompress(stored, &mut body, d.as_mut()).is_ok()) {
        return Ok(body);
    }
    zstd::stream::decode_all(stored).map_err(|e| anyhow!("not a valid zstd frame: {e}"))
}

/// A commit that failed once the other session of its batch had committed: the batch is
/// half committed, which loading it again object by object cannot mend, so this is never a
/// data error (the text says what PostgreSQL said). The next load reads the objects whose ledger
/// rows are missing again.
fn after_first_commit(e: anyhow::Error) -> anyhow::Error {
    anyhow!("{e:#} (after the batch's other session committed)")
}

/// What a load does differently because tables were empty when it began.
struct Empty {
    /// A second session for `past_race_runner`, and perhaps the reports, payouts, bet offers
    /// and jackpots ([`side`]).
    second_session: Option<Client>,
    /// [`sql::MERGES`], each in its insert-only form where its tables were empty
    /// ([`sql::INSERT_ONLY`]).
    merges: Vec<sql::Merge>,
    /// The foreign keys are set aside ([`aside`]): the second session may load the reports and
    /// payouts too ([`side`]).
    keys_aside: bool,
    /// The batches copy their runners straight into `race_participant` ([`runners`]).
    direct_runners: bool,
}

/// How the first session runs a batch's merges.
struct Merging<'a> {
    plans: &'a mut Plans,
    /// The merges to run, in order ([`Empty::merges`]).
    merges: &'a [sql::Merge],
    /// A second session loads `past_race_runner` (see [`side`]).
    aside: bool,
    /// A second session loads the reports, payouts, bet offers and jackpots too: it is given
    /// the ids of the races and réunions of the batch's days (from the first to the last) once
    /// the `race` merge has run, and this is then `None`.
    ids: Option<(&'a mut Side, (Day, Day))>,
}

/// COPY every non-empty staging table, then every merge, summing the counts per target; all
/// but those of the tables a second session loads.
fn copy_and_merge(
    tx: &mut Transaction<'_>,
    merging: &mut Merging<'_>,
    batch: &Batch,
    phases: &mut Phases,
) -> Result<Tables> {
    let copy_started = Instant::now();
    for (i, table) in sql::STAGING.iter().enumerate() {
        let (csv, rows) = batch.table(i);
        if rows == 0 {
            continue;
        }
        copy_rows(tx, merging.plans, table.copy, table.name, csv)?;
    }
    let reports_aside = merging.ids.is_some();
    if reports_aside {
        // The reports are on the second session: the `horse_race_history` merge only needs
        // their races.
        let (csv, rows) = batch.reported();
        if rows > 0 {
            let copy = side::COPY_REPORTED_RACES;
            copy_rows(tx, merging.plans, copy, "stg_perf_report", csv)?;
        }
    }
    phases.copy += copy_started.elapsed().as_secs_f64();
    let merge_started = Instant::now();
    let mut tables = Tables::default();
    // The ids of the batch's races, when read for the second session.
    let mut races = None;
    // Rows known new go straight into their table: the insert the merge would have done.
    let (csv, rows) = batch.direct();
    let mut direct = None;
    if rows > 0 {
        let started = Instant::now();
        let copy = &sql::DIRECT_PAST_RUNNER;
        copy_rows(tx, merging.plans, copy, "past_race_runner", csv)?;
        direct = Some(TableCounts::direct(rows, micros(started)));
    }
    for merge in merging.merges {
        let on_side = (merging.aside && merge.target == "past_race_runner")
            || (reports_aside && sql::SIDE_MERGES.contains(&merge.target));
        if on_side {
            continue;
        }
        if merge.target == "race_participant" && batch.direct_runners().len() > 0 {
            let counts = runners::copy(tx, merging.plans, batch, races.take())?;
            tables.add(merge.target, &counts);
            // The merge still loads the runners staged (of races listing a numPmu twice).
            if batch.table(rows::PARTICIPANT).1 == 0 {
                continue;
            }
        }
        tables.add(merge.target, &run_merge(tx, merging.plans, merge)?);
        if merge.target == "race"
            && let Some((side, (first, last))) = merging.ids.take()
        {
            // Given whatever happens: the second session waits for them.
            match batch_ids(tx, first, last) {
                Ok((ids, race_ids)) => {
                    races = Some(race_ids);
                    side.ids(Some(ids))?;
                }
                Err(e) => {
                    side.ids(None)?;
                    return Err(e);
                }
            }
        }
    }
    if let Some(direct) = &direct {
        tables.add("past_race_runner", direct);
    }
    phases.merge += merge_started.elapsed().as_secs_f64();
    Ok(tables)
}

/// The ids of the races and réunions of the days from `first` to `last`, as this session sees
/// them, as CSV for [`sql::COPY_RACE_IDS`] and [`sql::COPY_MEETING_IDS`], and the races' for
/// [`runners::copy`].
fn batch_ids(
    tx: &mut Transaction<'_>,
    first: Day,
    last: Day,
) -> Result<(side::Ids, runners::RaceIds)> {
    let (first, last) = (first.iso(), last.iso());
    let rows = runners::race_rows(tx, &first, &last)?;
    let mut races = Vec::with_capacity(rows.len() * 24);
    let mut race_ids = runners::RaceIds::default();
    for r in &rows {
        let (id, day, reunion, ordre): (i64, &str, i32, i32) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        writeln!(races, "{id},{day},{reunion},{ordre}").expect("writing to a Vec");
        race_ids.insert(id, runners::parse_day(day)?, reunion, ordre);
    }
    let rows = tx
        .query(sql::BATCH_MEETING_IDS, &[&first, &last])
        .context("reading the ids of the batch's réunions")?;
    let mut meetings = Vec::with_capacity(rows.len() * 20);
    for r in &rows {
        let (id, day, officiel): (i64, &str, i32) = (r.get(0), r.get(1), r.get(2));
        writeln!(meetings, "{id},{day},{officiel}").expect("writing to a Vec");
    }
    Ok((side::Ids { races, meetings }, race_ids))
}

/// Runs one merge statement: its four counts ([`sql`]) and its time; PostgreSQL refusing a row
/// is a [`Refused`].
fn run_merge(
    client: &mut impl GenericClient,
    plans: &mut Plans,
    merge: &sql::Merge,
) -> Result<TableCounts> {
    let started = Instant::now();
    let row = if merge.keep_plan {
        plans
            .get(client, merge.sql)
            .and_then(|statement| client.query_one(&statement, &[]))
    } else {
        client.query_one(merge.sql, &[])
    };
    let row = row.map_err(|e| Refused::new(format!("merging into {}", merge.target), &e))?;
    let mut counts = TableCounts::from_merge(row.get(0), row.get(1), row.get(2), row.get(3));
    counts.merge_us = micros(started);
    Ok(counts)
}

/// Microseconds since `started`, for the report.
fn micros(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// Bytes handed to a COPY writer at a time (see [`copy_rows`]).
const COPY_PIECE: usize = 64 * 1024;

/// `COPY table … FROM STDIN` (the statement `copy`) of the rows `csv` (CSV, or binary for the
/// tables sent so); PostgreSQL refusing them is a [`Refused`].
fn copy_rows(
    tx: &mut impl GenericClient,
    plans: &mut Plans,
    copy: &'static str,
    table: &str,
    csv: &[u8],
) -> Result<()> {
    let mut writer = plans
        .get(tx, copy)
        .and_then(|statement| tx.copy_in(&statement))
        .with_context(|| format!("starting COPY into {table}"))?;
    // In pieces: the writer copies what it is given into its buffer before sending it, and a
    // table's rows of a batch are megabytes.
    for piece in csv.chunks(COPY_PIECE) {
        writer
            .write_all(piece)
            .with_context(|| format!("sending rows to {table}"))?;
    }
    writer
        .finish()
        .map_err(|e| Refused::new(format!("COPY into {table}"), &e))?;
    Ok(())
}

fn truncate_staging(tx: &mut Transaction<'_>) -> Result<()> {
    if sql::STAGING.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = sql::STAGING.iter().map(|t| t.name).collect();
    tx.batch_execute(&format!("TRUNCATE {}, stg_horse_id", names.join(", ")))
        .context("emptying the staging tables")
}

/// PostgreSQL refused a statement of the load. Only a data error (SQLSTATE class 22, data
/// exception, or 23, integrity constraint violation) is the fault of some object's rows and
/// may be isolated object by object; anything else (a lock timeout, a full disk, a
/// serialization failure, a bug in a merge) stops the run with its cause.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {text}")]
pub struct Refused {
    what: String,
    text: String,
    sqlstate: Option<String>,
}

impl Refused {
    fn new(what: String, e: &postgres::Error) -> Refused {
        Refused {
            what,
            text: db_error(e),
            sqlstate: e.code().map(|c| c.code().to_string()),
        }
    }

    /// SQLSTATE class 22 or 23.
    pub fn is_data_error(&self) -> bool {
        self.sqlstate.as_deref().is_some_and(is_data_sqlstate)
    }
}

/// Whether `e` is PostgreSQL refusing some object's data (see [`Refused`]).
fn is_data_error(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<Refused>()
            .is_some_and(Refused::is_data_error)
            || c.downcast_ref::<postgres::Error>()
                .and_then(postgres::Error::code)
                .is_some_and(|code| is_data_sqlstate(code.code()))
    })
}

/// SQLSTATE class 22 (data exception) or 23 (integrity constraint violation).
fn is_data_sqlstate(code: &str) -> bool {
    code.starts_with("22") || code.starts_with("23")
}

/// A PostgreSQL error as one readable line: message, detail and where (the COPY line).
fn db_error(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut text = format!("{} ({})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                text.push_str(&format!("; {detail}"));
            }
            if let Some(place) = db.where_() {
                text.push_str(&format!("; at {place}"));
            }
            text.replace('\n', " ")
        }
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corrupt_frame_is_an_error_not_a_panic() {
        let mut stored = crate::lake::compress(b"{\"a\":1}").unwrap();
        let last = stored.len() - 1;
        stored[last] ^= 0xff; // the content checksum
        assert!(
            decode(&stored)
                .unwrap_err()
                .to_string()
                .contains("not a valid zstd frame")
        );
        assert!(decode(b"{\"not\":\"zstd\"}").is_err());
        assert_eq!(
            decode(&crate::lake::compress(b"[]").unwrap()).unwrap(),
            b"[]"
        );
    }
}
