//! `pmu-lake extract`: what to fetch for a range of days (the plan, skipping what the lake holds
//! in final form, a window of [`DAY_WINDOW`] days at a time), fetching it through one bounded
//! pool of workers (programmes first, then the three per-race stages of every race of the
//! window's days, interleaved), storing each answer with its provenance and finality, the
//! progress bar, and the run's summary and report.

mod dry;
pub mod finality;
pub mod held;
pub(crate) mod lock;
mod queue;
pub mod report;

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::Semaphore;

use crate::api::{self, Client, ClientConfig, FetchError, Politeness};
use crate::day::{Day, DayRange};
use crate::exit::{Outcome, usage};
use crate::lake::{self, Held, Lake, ManifestEntry, ObjectKey, Stage};
use crate::pmu::discovery::{self, Discovered, Race};
use finality::{Content, Finality};
use lock::{LakeLock, LockError};
use queue::{Job, Queue, Ticket};
use report::{Figures, RunReport, human_bytes};

/// 403s in a row after which the crawl stops.
pub const BAN_LIMIT: u32 = 6;

/// Days planned at once: their programme and race objects queued or being fetched. A
/// backfill of years then holds a few thousand jobs instead of a million, and a day's races
/// are asked soon after its programme; a real day (~170 requests) keeps every worker busy.
pub const DAY_WINDOW: usize = 16;

/// Runs `extract`: validates every option before touching the lake or the network, then locks
/// the lake against a second `extract` before the first write.
pub fn run(settings: Settings) -> Result<Outcome> {
    let cfg = Config::from_settings(settings)?;
    if cfg.dry_run {
        return dry::run(&cfg);
    }
    let crawl = Arc::new(Crawl::new(cfg)?);
    // A lake that exists is locked before anything is asked, so that a second run stops at
    // once; one not created yet is locked at its first write (see `Crawl::lock_lake`), so that
    // a run that writes nothing (an unreachable API) leaves no trace.
    if crawl.cfg.lake.root().is_dir() {
        crawl.lock.acquire()?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(crawl.run())
}

/// What an extract is asked to do, as the command line says it (validated by [`run`]).
#[derive(Debug, Clone)]
pub struct Settings {
    pub date: Option<Day>,
    pub start: Option<Day>,
    pub end: Option<Day>,
    pub lake: PathBuf,
    pub quiet: bool,
    pub report: Option<PathBuf>,
    pub api_base: String,
    pub profile: String,
    pub workers: Option<usize>,
    pub delay: Option<String>,
    pub max_rps: Option<f64>,
    /// Per-request timeout, in seconds.
    pub timeout: f64,
    pub retries: u32,
    pub grace_days: u32,
    pub refresh: bool,
    pub dry_run: bool,
}

/// The validated settings.
#[derive(Debug)]
struct Config {
    range: DayRange,
    lake: Lake,
    base: String,
    client: ClientConfig,
    grace_days: u32,
    refresh: bool,
    dry_run: bool,
    quiet: bool,
    report: Option<PathBuf>,
    today: Day,
}

impl Config {
    fn from_settings(a: Settings) -> Result<Config> {
        let range = DayRange::from_options(a.date, a.start, a.end)?
            .ok_or_else(|| usage("which days? give --date DAY, or --start DAY --end DAY"))?;
        let politeness =
            Politeness::from_options(&a.profile, a.workers, a.delay.as_deref(), a.max_rps)?;
        let base = api::parse_base(&a.api_base)?;
        if !(a.timeout.is_finite() && a.timeout > 0.0 && a.timeout <= 3600.0) {
            return Err(usage(format!(
                "invalid --timeout {}: expected a number of seconds above 0, at most 3600",
                a.timeout
            )));
        }
        if a.retries == 0 {
            return Err(usage("invalid --retries 0: at least one attempt is needed"));
        }
        let backoff_ms = match std::env::var(api::BACKOFF_ENV) {
            Ok(v) => v.trim().parse::<u64>().map_err(|_| {
                usage(format!(
                    "invalid {}={v:?}: expected milliseconds",
                    api::BACKOFF_ENV
                ))
            })?,
            Err(_) => api::DEFAULT_BACKOFF_MS,
        };
        if a.lake.exists() && !a.lake.is_dir() {
            return Err(usage(format!(
                "--lake {} is not a directory",
                a.lake.display()
            )));
        }
        if let Some(report) = &a.report {
            crate::exit::check_report_path(report)?;
        }
        Ok(Config {
            range,
            lake: Lake::new(a.lake),
            base,
            client: ClientConfig {
                politeness,
                timeout: Duration::from_secs_f64(a.timeout),
                attempts: a.retries,
                backoff_base: Duration::from_millis(backoff_ms),
                ban_limit: BAN_LIMIT,
            },
            grace_days: a.grace_days,
            refresh: a.refresh,
            dry_run: a.dry_run,
            quiet: a.quiet,
            report: a.report,
            today: Day::today_paris()?,
        })
    }
}

/// What the planner has put in the queue so far, for the progress bar's estimate.
#[derive(Debug, Default)]
struct Planned {
    days: u64,
    requests: u64,
}

struct Crawl {
    cfg: Config,
    client: Client,
    queue: Queue,
    report: Mutex<RunReport>,
    planned: Mutex<Planned>,
    downloaded: AtomicU64,
    progress: ProgressBar,
    unreachable: Mutex<Option<String>>,
    /// Day failures seen before the API ever answered: shown at the end, unless the API turns
    /// out to be unreachable (then one line says so).
    deferred: Mutex<Vec<String>>,
    /// The lake's writer lock, taken before the first write.
    lock: LakeLock,
    /// Set when another extract turned out to hold the lake at this run's first write: the run
    /// then asks and writes nothing more, and ends with that one line.
    busy: Mutex<Option<String>>,
    /// Set at the first error of the lake's disk (full, quota, read-only, I/O): every later
    /// write would fail too, so nothing more is asked, and the run ends with that one line.
    disk: Mutex<Option<String>>,
}

impl Crawl {
    fn new(cfg: Config) -> Result<Crawl> {
        let client = Client::new(cfg.client.clone())?;
        let progress = if cfg.quiet || !std::io::stderr().is_terminal() {
            ProgressBar::hidden()
        } else {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{pos}/{len} requests {wide_bar} {msg} {rate} ETA {eta}",
                )
                .expect("the progress template is valid")
                .with_key(
                    "rate",
                    |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.1}/s", state.per_sec());
                    },
                ),
            );
            bar.set_message("0 B");
            bar
        };
        Ok(Crawl {
            lock: LakeLock::new(cfg.lake.root()),
            busy: Mutex::new(None),
            disk: Mutex::new(None),
            cfg,
            client,
            queue: Queue::new(),
            report: Mutex::new(RunReport::default()),
            planned: Mutex::new(Planned::default()),
            downloaded: AtomicU64::new(0),
            progress,
            unreachable: Mutex::new(None),
            deferred: Mutex::new(Vec::new()),
        })
    }

    async fn run(self: Arc<Self>) -> Result<Outcome> {
        let started = Instant::now();
        let window = Arc::new(Semaphore::new(DAY_WINDOW));
        // The first window is planned before any worker starts, so its programmes go first.
        let days = {
            let (me, window) = (Arc::clone(&self), Arc::clone(&window));
            let mut days = self.cfg.range.days();
            tokio::task::spawn_blocking(move || {
                me.plan_window(&mut days, &window, false);
                days
            })
            .await
            .context("the planner panicked")?
        };
        let planner = {
            let me = Arc::clone(&self);
            tokio::task::spawn_blocking(move || {
                let mut days = days;
                me.plan_window(&mut days, &window, true);
                me.queue.finish();
            })
        };
        let workers: Vec<_> = (0..self.cfg.client.politeness.workers)
            .map(|_| tokio::spawn(Arc::clone(&self).work()))
            .collect();
        planner.await.context("the planner panicked")?;
        for w in workers {
            w.await.context("a worker panicked")?;
        }
        self.progress.finish_and_clear();
        self.finish(started.elapsed())
    }

    fn figures(&self, day: Day, f: impl FnOnce(&mut Figures)) {
        f(&mut self
            .report
            .lock()
            .expect("report lock is never poisoned")
            .day(day)
            .figures);
    }

    fn day_report(&self, day: Day, f: impl FnOnce(&mut report::DayReport)) {
        f(self
            .report
            .lock()
            .expect("report lock is never poisoned")
            .day(day));
    }

    fn warn(&self, msg: &str) {
        // Once another extract owns the lake, or its disk failed, this run's only word is that
        // (in `finish`).
        if !self.stopped() {
            self.progress.suspend(|| eprintln!("pmu-lake: {msg}"));
        }
    }

    /// Takes the lake's writer lock unless held already: every write calls this first. When
    /// another extract holds it, the run is marked busy and stops asking.
    fn lock_lake(&self) -> Result<()> {
        self.lock.acquire().map_err(|e| {
            if matches!(e, LockError::Busy { .. }) {
                self.busy
                    .lock()
                    .expect("busy lock is never poisoned")
                    .get_or_insert_with(|| e.to_string());
            }
            anyhow::Error::new(e)
        })
    }

    fn lake_busy(&self) -> bool {
        self.busy
            .lock()
            .expect("busy lock is never poisoned")
            .is_some()
    }

    /// Records `e` as the reason to stop when it is an error of the lake's disk (the first
    /// one wins); returns whether it was.
    fn note_disk_error(&self, e: &anyhow::Error) -> bool {
        if lake::disk_error(e).is_none() {
            return false;
        }
        self.disk
            .lock()
            .expect("disk lock is never poisoned")
            .get_or_insert_with(|| {
                format!(
                    "stopped: the disk of the lake {} failed ({e:#}); everything stored before is \
                     kept; free some space (or repair the disk), then run the same command again \
                     to fetch the rest",
                    self.cfg.lake.root().display()
                )
            });
        true
    }

    fn disk_failed(&self) -> bool {
        self.disk
            .lock()
            .expect("disk lock is never poisoned")
            .is_some()
    }

    /// Nothing more is asked: another extract owns the lake, or its disk failed.
    fn stopped(&self) -> bool {
        self.lake_busy() || self.disk_failed()
    }

    /// Plans the next days while the window has room for them; with `wait`, waits for room
    /// until the range is planned.
    fn plan_window(
        &self,
        days: &mut impl Iterator<Item = Day>,
        window: &Arc<Semaphore>,
        wait: bool,
    ) {
        loop {
            if self.stopped() {
                return;
            }
            let permit = match Arc::clone(window).try_acquire_owned() {
                Ok(permit) => permit,
                Err(_) if wait => tokio::runtime::Handle::current()
                    .block_on(Arc::clone(window).acquire_owned())
                    .expect("the day window is never closed"),
                Err(_) => return,
            };
            let Some(day) = days.next() else { return };
            self.plan_day(day, Arc::new(permit));
        }
    }

    /// Sweeps the day's temp files, then queues its programme, or, when the lake holds the
    /// programme in final form, the race objects it still needs.
    fn plan_day(&self, day: Day, ticket: Ticket) {
        self.day_report(day, |_| {});
        self.planned
            .lock()
            .expect("plan lock is never poisoned")
            .days += 1;
        if let Err(e) = self.try_plan_day(day, &ticket) {
            self.note_disk_error(&e);
            self.day_failed(day, 0, format!("{day}: {e:#}"));
        }
        self.show_length();
    }

    fn try_plan_day(&self, day: Day, ticket: &Ticket) -> Result<()> {
        if self.cfg.lake.day_dir(day).is_dir() {
            self.lock_lake()?;
            self.cfg
                .lake
                .sweep_temp(day)
                .with_context(|| format!("sweeping temp files of {day}"))?;
        }
        // Read even with --refresh: its unreadable lines are counted once per day.
        let read = self.cfg.lake.read_manifest(day)?;
        self.figures(day, |f| f.manifest_unreadable = read.unreadable);
        let manifest = if self.cfg.refresh {
            HashMap::new()
        } else {
            read.entries
        };
        let Some(found) = self.held_final_programme(day, &manifest)? else {
            self.queue_programme(day, ticket);
            return Ok(());
        };
        self.day_report(day, |d| {
            d.programme = "held".into();
            d.figures.already_held += 1;
        });
        self.plan_races(day, &found, &manifest, ticket)
    }

    /// The day's manifest, or nothing with `--refresh` (every object is asked again).
    fn manifest(&self, day: Day) -> Result<HashMap<String, ManifestEntry>> {
        if self.cfg.refresh {
            return Ok(HashMap::new());
        }
        Ok(self.cfg.lake.read_manifest(day)?.entries)
    }

    fn queue_programme(&self, day: Day, ticket: &Ticket) {
        self.count_planned(1);
        self.queue.push(Job::Programme {
            day,
            ticket: Arc::clone(ticket),
        });
    }

    /// The races of the stored programme when the lake holds it in final form (the manifest
    /// says so, or, without a manifest line, its content does); no races for a final marker (a
    /// day without programme); `None` when it must be fetched.
    fn held_final_programme(
        &self,
        day: Day,
        manifest: &HashMap<String, ManifestEntry>,
    ) -> Result<Option<Discovered>> {
        if self.cfg.refresh {
            return Ok(None);
        }
        let key = ObjectKey::programme(day);
        let held = self
            .cfg
            .lake
            .held(&key)
            .with_context(|| format!("reading {}", key.display_path()))?;
        let judged = held::programme(day, &held, manifest, self.cfg.today, self.cfg.grace_days);
        Ok(judged.is_final.then(|| judged.found.unwrap_or_default()))
    }

    /// Queues the per-race objects of a day that must be fetched; counts the others as held.
    fn plan_races(
        &self,
        day: Day,
        found: &Discovered,
        manifest: &HashMap<String, ManifestEntry>,
        ticket: &Ticket,
    ) -> Result<()> {
        if found.unnamed + found.duplicates > 0 {
            self.warn(&format!(
                "{day}: programme lists {} courses without usable R/C numbers and {} duplicates (skipped)",
                found.unnamed, found.duplicates
            ));
        }
        let mut jobs = Vec::new();
        let mut held = 0;
        for race in &found.races {
            let race = Arc::new(race.clone());
            for stage in Stage::PER_RACE {
                let key = ObjectKey::race(day, race.id, stage);
                if !self.cfg.refresh && self.held_final(&key, &race, manifest)? {
                    held += 1;
                } else {
                    jobs.push(Job::Object {
                        key,
                        race: Arc::clone(&race),
                        ticket: Arc::clone(ticket),
                    });
                }
            }
        }
        self.day_report(day, |d| {
            d.races = found.races.len() as u64;
            d.figures.already_held += held;
        });
        self.count_planned(jobs.len() as u64);
        jobs.into_iter().for_each(|j| self.queue.push(j));
        Ok(())
    }

    /// Adds requests to the plan and shows it.
    fn count_planned(&self, requests: u64) {
        self.planned
            .lock()
            .expect("plan lock is never poisoned")
            .requests += requests;
        self.show_length();
    }

    /// The bar's length: the requests planned so far, plus, for the days not planned yet, as
    /// many per day as the planned days have needed on average.
    fn show_length(&self) {
        if self.progress.is_hidden() {
            return;
        }
        let p = self.planned.lock().expect("plan lock is never poisoned");
        let left = self.cfg.range.len().saturating_sub(p.days);
        let per_day = p.requests as f64 / p.days.max(1) as f64;
        self.progress
            .set_length(p.requests + (left as f64 * per_day).round() as u64);
    }

    /// Whether the lake holds `key` in final form (see [`held::race_object`]).
    fn held_final(
        &self,
        key: &ObjectKey,
        race: &Race,
        manifest: &HashMap<String, ManifestEntry>,
    ) -> Result<bool> {
        let held = self
            .cfg
            .lake
            .held(key)
            .with_context(|| format!("reading {}", key.display_path()))?;
        Ok(held::race_object(
            key,
            race,
            &held,
            manifest,
            self.cfg.grace_days,
        ))
    }

    fn content_finality(
        &self,
        key: &ObjectKey,
        race: &Race,
        content: Content<'_>,
        fetched: Option<Day>,
    ) -> Finality {
        finality::race_object(
            key.stage,
            race,
            content,
            key.day,
            fetched,
            self.cfg.grace_days,
        )
    }

    async fn work(self: Arc<Self>) {
        while let Some(job) = self.queue.next().await {
            // Another extract owns the lake: what is left is neither asked nor written.
            if self.lake_busy() {
            } else if self.disk_failed() {
                // Nowhere to store it: not asked, and counted so.
                match job {
                    Job::Programme { day, .. } => self.day_report(day, |d| {
                        d.programme = "not asked".into();
                        d.figures.not_asked += 1;
                    }),
                    Job::Object { key, .. } => self.figures(key.day, |f| f.not_asked += 1),
                }
            } else {
                match job {
                    // The ticket is dropped with the job: the day leaves the window after its
                    // last.
                    Job::Programme { day, ticket } => self.programme_job(day, ticket).await,
                    Job::Object { key, race, ticket } => {
                        self.object_job(key, race).await;
                        drop(ticket);
                    }
                }
            }
            self.queue.finish();
        }
    }

    async fn programme_job(self: &Arc<Self>, day: Day, ticket: Ticket) {
        let key = ObjectKey::programme(day);
        let url = api::url(&self.cfg.base, &key);
        let fetched = self.client.fetch(&url).await;
        self.progress.inc(1);
        let fetched = match fetched {
            Ok(f) if f.is_empty_answer() => return self.no_programme(day, f, ticket).await,
            Ok(f) => f,
            Err(e) => {
                let retries = e.retries().into();
                self.note_unreachable(&e);
                if matches!(e, FetchError::Stopped(_)) {
                    self.figures(day, |f| f.not_asked += 1);
                    self.day_report(day, |d| d.programme = "not asked".into());
                    return;
                }
                return self.day_failed(
                    day,
                    retries,
                    format!("could not get the programme of {day}: {e}"),
                );
            }
        };
        let found = match discovery::discover(&fetched.body) {
            Ok(found) => found,
            Err(e) => {
                return self.day_failed(
                    day,
                    fetched.retries.into(),
                    format!("the programme of {day} does not read: {e}"),
                );
            }
        };
        self.figures(day, |f| {
            f.retried += u64::from(fetched.retries);
            f.bytes_raw += fetched.body.len() as u64;
        });
        self.show_bytes(fetched.body.len());
        let fin = finality::programme(
            day,
            self.cfg.today,
            &found,
            Some(self.cfg.today),
            self.cfg.grace_days,
        );
        let me = Arc::clone(self);
        let planned = tokio::task::spawn_blocking(move || -> Result<()> {
            let stored = me.store(&key, &url, fetched.status, &fetched.body, &fin)?;
            me.day_report(day, |d| {
                d.programme = "fetched".into();
                d.figures.fetched += 1;
                d.figures.bytes_stored += stored;
            });
            let manifest = me.manifest(day)?;
            me.plan_races(day, &found, &manifest, &ticket)
        })
        .await;
        self.after_programme(day, planned);
    }

    /// The API has no programme for the day (204, 404). Within the grace period (or for today
    /// or the future) it may still come: the day fails and is asked again on the next run.
    /// Past it, the day has no programme for good: a final marker records that, counted as no
    /// content, so that no run asks again.
    async fn no_programme(self: &Arc<Self>, day: Day, f: api::Fetched, ticket: Ticket) {
        let fin = finality::empty_programme(day, self.cfg.today, f.status, self.cfg.grace_days);
        if !fin.is_final {
            let msg = format!(
                "no programme for {day}: the API answered {} and {}; asked again on the next run \
                 (recorded as a day without programme once more than {} days old)",
                f.status, fin.reason, self.cfg.grace_days
            );
            return self.day_failed(day, f.retries.into(), msg);
        }
        self.figures(day, |c| c.retried += u64::from(f.retries));
        let key = ObjectKey::programme(day);
        let url = api::url(&self.cfg.base, &key);
        let me = Arc::clone(self);
        let planned = tokio::task::spawn_blocking(move || -> Result<()> {
            me.store(&key, &url, f.status, &f.body, &fin)?;
            me.day_report(day, |d| {
                d.programme = "no content".into();
                d.figures.no_content += 1;
            });
            // A programme an earlier run stored keeps its races: their objects are planned.
            let found = me.held_programme(day).unwrap_or_default();
            let manifest = me.manifest(day)?;
            me.plan_races(day, &found, &manifest, &ticket)
        })
        .await;
        self.after_programme(day, planned);
    }

    /// The races of the programme body the lake holds for `day`, if it holds one that reads.
    fn held_programme(&self, day: Day) -> Option<Discovered> {
        match self.cfg.lake.held(&ObjectKey::programme(day)) {
            Ok(Held::Body(path)) => held::read_programme(&path),
            _ => None,
        }
    }

    fn after_programme(&self, day: Day, planned: Result<Result<()>, tokio::task::JoinError>) {
        match planned {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                self.note_disk_error(&e);
                self.day_failed(day, 0, format!("{day}: {e:#}"));
            }
            Err(e) => self.day_failed(day, 0, format!("storing the programme of {day}: {e}")),
        }
    }

    fn day_failed(&self, day: Day, retries: u64, msg: String) {
        if self.client.ever_answered() {
            self.warn(&msg);
        } else {
            self.deferred
                .lock()
                .expect("deferred lock is never poisoned")
                .push(msg.clone());
        }
        self.day_report(day, |d| {
            d.programme = "failed".into();
            d.error = Some(msg);
            d.figures.failed += 1;
            d.figures.retried += retries;
        });
    }

    fn note_unreachable(&self, e: &FetchError) {
        if e.is_unreachable() {
            *self
                .unreachable
                .lock()
                .expect("unreachable lock is never poisoned") = Some(e.to_string());
        }
    }

    async fn object_job(self: &Arc<Self>, key: ObjectKey, race: Arc<Race>) {
        let url = api::url(&self.cfg.base, &key);
        let result = self.client.fetch(&url).await;
        self.progress.inc(1);
        let fetched = match result {
            Ok(f) => f,
            Err(e) => {
                self.note_unreachable(&e);
                let stopped = matches!(e, FetchError::Stopped(_));
                if !stopped {
                    self.warn(&format!("{}: {e}", key.display_path()));
                }
                return self.figures(key.day, |f| {
                    f.retried += u64::from(e.retries());
                    if stopped {
                        f.not_asked += 1
                    } else {
                        f.failed += 1
                    }
                });
            }
        };
        let content = if fetched.is_empty_answer() {
            Content::Empty(fetched.status)
        } else {
            Content::Body(&fetched.body)
        };
        let fin = self.content_finality(&key, &race, content, Some(self.cfg.today));
        let me = Arc::clone(self);
        let stored = tokio::task::spawn_blocking(move || {
            me.store(&key, &url, fetched.status, &fetched.body, &fin)
                .map(|s| (s, fetched))
        })
        .await;
        match stored {
            Ok(Ok((stored_bytes, fetched))) => {
                self.figures(key.day, |f| {
                    if fetched.is_empty_answer() {
                        f.no_content += 1
                    } else {
                        f.fetched += 1
                    }
                    f.retried += u64::from(fetched.retries);
                    f.bytes_raw += fetched.body.len() as u64;
                    f.bytes_stored += stored_bytes;
                });
                self.show_bytes(fetched.body.len());
            }
            Ok(Err(e)) => {
                self.note_disk_error(&e);
                self.warn(&format!("{e:#}"));
                self.figures(key.day, |f| f.failed += 1);
            }
            Err(e) => {
                self.warn(&format!("storing {}: {e}", key.display_path()));
                self.figures(key.day, |f| f.failed += 1);
            }
        }
    }

    /// Writes an answer (body or marker) and its manifest line, under the lake's writer lock;
    /// returns the bytes stored.
    fn store(
        &self,
        key: &ObjectKey,
        url: &str,
        status: u16,
        body: &[u8],
        fin: &Finality,
    ) -> Result<u64> {
        self.lock_lake()?;
        let lake = &self.cfg.lake;
        let (path, stored) = if matches!(status, 204 | 404) {
            lake.write_marker(key, status)?;
            let empty = lake::Stored {
                raw_bytes: 0,
                stored_bytes: 0,
                sha256: lake::sha256_hex(b""),
            };
            (key.marker_name(status), empty)
        } else {
            (key.body_name(), lake.write_body(key, body)?)
        };
        let entry = ManifestEntry {
            path,
            url: url.to_string(),
            status,
            fetched_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            raw_bytes: stored.raw_bytes,
            stored_bytes: stored.stored_bytes,
            sha256: stored.sha256,
            is_final: fin.is_final,
            finality: Some(fin.reason.clone()),
        };
        lake.append_manifest(key.day, &entry)
            .with_context(|| format!("recording {} in the manifest", key.display_path()))?;
        Ok(stored.stored_bytes)
    }

    /// Adds downloaded bytes to the bar (a running total: the report's total costs a walk
    /// over every day of the range).
    fn show_bytes(&self, bytes: usize) {
        let total = self.downloaded.fetch_add(bytes as u64, Ordering::Relaxed) + bytes as u64;
        if !self.progress.is_hidden() {
            self.progress.set_message(human_bytes(total));
        }
    }

    fn finish(&self, elapsed: Duration) -> Result<Outcome> {
        if let Some(busy) = self
            .busy
            .lock()
            .expect("busy lock is never poisoned")
            .take()
        {
            bail!("{busy}");
        }
        let report = self.report.lock().expect("report lock is never poisoned");
        let total = report.total();
        if let Some(err) = self
            .unreachable
            .lock()
            .expect("unreachable lock is never poisoned")
            .as_ref()
            && !self.client.ever_answered()
        {
            bail!("cannot reach the PMU API at {}: {err}", self.cfg.base);
        }
        for msg in self
            .deferred
            .lock()
            .expect("deferred lock is never poisoned")
            .iter()
        {
            eprintln!("pmu-lake: {msg}");
        }
        let banned = self.client.stopped_by_ban();
        if let Some(n) = banned {
            eprintln!(
                "pmu-lake: stopped: the API refused {n} requests in a row (403), so this address is \
                 probably banned for now. Everything fetched so far is kept. Wait an hour or more, then \
                 rerun the same command with --profile safe (or a larger --delay) to fetch the rest."
            );
        }
        // The report first: a summary nobody reads (`| head -1`) must not cost the report.
        let written = match &self.cfg.report {
            Some(path) => report.write_json(path, &self.cfg.base, elapsed, banned.is_some()),
            None => Ok(()),
        };
        crate::exit::say(report.summary(elapsed))?;
        if let Some(disk) = self
            .disk
            .lock()
            .expect("disk lock is never poisoned")
            .take()
        {
            // The report may sit on the same full disk: its failure joins the one line.
            match written {
                Ok(()) => bail!("{disk}"),
                Err(e) => bail!("{disk} (and the report: {e:#})"),
            }
        }
        written?;
        Ok(Outcome::from_failures(total.failed + total.not_asked))
    }
}

pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{:.0} s", d.as_secs_f64().ceil()),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(human_duration(Duration::from_millis(2300)), "3 s");
        assert_eq!(human_duration(Duration::from_secs(125)), "2 min 5 s");
        assert_eq!(
            human_duration(Duration::from_secs(2 * 3600 + 61)),
            "2 h 1 min"
        );
    }
}
