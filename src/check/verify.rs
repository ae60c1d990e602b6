//! `pmu-lake verify`: every object of the lake (or of a range) read back against the lake's
//! contract (data/README.md): the zstd frame whole (its checksum), the body's SHA-256 equal to
//! its manifest entry, the body valid JSON or, with `--deep`, read by its stage's model (the one
//! `load` reads it with); every object
//! with a manifest entry and every entry with its object; markers empty; no temp file; nothing
//! where the layout has no place; with a database, ledger rows whose object is gone or changed
//! (the SHA-256 of the stored bytes, as `load` compares).
//!
//! JSON is the costly part (`zstd -t` decompresses at ~1.5 GB/s, JSON validates at ~0.4 GB/s, a
//! model reads at ~0.1 GB/s), so by default a body is parsed only when its manifest line does not
//! vouch for it: extract stores nothing that is not JSON (its client checks every body before
//! returning it), so a body whose SHA-256 equals its manifest line's is the JSON that extract
//! checked. A body with no line, or another hash, is parsed. `--deep` parses every body with its
//! model, whatever the manifest says.
//!
//! The listing and manifests are read on the calling thread; the objects are read,
//! decompressed, hashed and parsed by `threads` workers over a bounded channel, each reusing
//! its buffers. `--repair` moves damaged objects (and temp files) into
//! `<lake>/_quarantine/<time>/`, kept, and appends a not-final manifest line for each, so that
//! the next `extract` (which fetches any object the lake does not hold) fetches them again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::Instant;

use anyhow::{Context, Result};

use crate::day::{Day, DayRange};
use crate::db;
use crate::exit::Outcome;
use crate::extract::lock::{LOCK_FILE, LakeLock};
use crate::lake::{self, Lake, MANIFEST, ManifestEntry, ObjectKey, Stage};
use crate::load::ledger::{self, Status};
use crate::pmu::participants::ParticipantsResponse;
use crate::pmu::performances::PerformancesResponse;
use crate::pmu::programme::ProgrammeResponse;
use crate::pmu::rapports::RapportsResponse;

/// The quarantine folder at the lake root; listing code ignores it (it is not `date=…`).
pub const QUARANTINE: &str = "_quarantine";
/// How a manifest line written by `--repair` starts its `finality`.
pub const QUARANTINED: &str = "quarantined by verify --repair";

#[derive(Debug, Clone)]
pub struct Settings {
    /// `None`: the whole lake, its root included.
    pub range: Option<DayRange>,
    pub lake: PathBuf,
    pub repair: bool,
    /// Read every body with its stage's model, as load does, not only as JSON.
    pub deep: bool,
    pub threads: usize,
    pub db: db::Settings,
}

/// What is wrong, one kind per line of the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// The file could not be read at all.
    Unreadable,
    /// Not a whole zstd frame: truncated, flipped bytes (checksum), not zstd.
    Frame,
    /// The body's SHA-256 differs from its manifest entry.
    Hash,
    /// The body does not read as its stage's JSON.
    Json,
    /// An object without a manifest entry.
    NoEntry,
    /// A manifest entry without its object.
    NoObject,
    /// A manifest line that does not read, or names no place of the layout.
    Manifest,
    /// A marker that is not empty.
    Marker,
    /// A writer's temp file left behind.
    Temp,
    /// A file or directory where the layout has no place.
    Stray,
    /// A ledger row whose object is no longer in the lake.
    LedgerGone,
    /// A ledger row whose object's stored bytes changed since its load.
    LedgerChanged,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Unreadable => "unreadable file",
            Kind::Frame => "damaged zstd frame",
            Kind::Hash => "hash mismatch",
            Kind::Json => "bad JSON",
            Kind::NoEntry => "object without manifest entry",
            Kind::NoObject => "manifest entry without object",
            Kind::Manifest => "bad manifest line",
            Kind::Marker => "marker not empty",
            Kind::Temp => "temp file",
            Kind::Stray => "stray file",
            Kind::LedgerGone => "ledger row, object gone",
            Kind::LedgerChanged => "changed since its load",
        }
    }

    /// Objects `--repair` moves into the quarantine (the next extract fetches them again). An
    /// intact object without a manifest line is not damaged: it stays, and gets a line.
    fn quarantined(self) -> bool {
        matches!(
            self,
            Kind::Unreadable | Kind::Frame | Kind::Hash | Kind::Json | Kind::Marker | Kind::Temp
        )
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One problem: the path relative to the lake root, what is wrong, and how.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub path: String,
    pub kind: Kind,
    pub detail: String,
}

/// One body for a worker.
struct Job {
    rel: String,
    path: PathBuf,
    stage: Stage,
    /// The manifest's SHA-256 of the raw body.
    sha256: Option<String>,
    /// The ledger's SHA-256 of the stored bytes, when the ledger has the object as loaded.
    ledger_sha256: Option<String>,
}

pub fn run(settings: &Settings) -> Result<Outcome> {
    let lake = Lake::existing(&settings.lake)?;
    // A repair holds the lake against extract from before the listing, so that an object
    // being written is never taken for a damaged one.
    let lock = LakeLock::new(lake.root());
    if settings.repair {
        lock.acquire()?;
    }
    let started = Instant::now();
    let mut problems = Vec::new();
    let days: Vec<Day> = match settings.range {
        Some(r) => lake
            .days()?
            .into_iter()
            .filter(|d| r.contains(*d))
            .collect(),
        None => {
            problems.extend(stray_at_root(&lake)?);
            lake.days()?
        }
    };
    let mut client = match settings.db.resolve_configured()? {
        Some(target) => {
            let mut c = target.connect()?;
            ledger::exists(&mut c)?.then_some(c)
        }
        None => None,
    };
    let read = AtomicU64::new(0);
    let objects = AtomicU64::new(0);
    let (job_tx, job_rx) = mpsc::sync_channel::<Job>(256);
    let (problem_tx, problem_rx) = mpsc::channel::<Problem>();
    let job_rx = Mutex::new(job_rx);
    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..settings.threads {
            let (rx, tx, read, objects) = (&job_rx, problem_tx.clone(), &read, &objects);
            let deep = settings.deep;
            scope.spawn(move || worker(rx, &tx, read, objects, deep));
        }
        drop(problem_tx);
        let listed = (|| -> Result<()> {
            for day in &days {
                let rows = match client.as_mut() {
                    Some(c) => ledger::rows_between(c, *day, *day)?,
                    None => Vec::new(),
                };
                problems.extend(list_day(&lake, *day, rows, &job_tx)?);
            }
            Ok(())
        })();
        drop(job_tx);
        listed
    })?;
    problems.extend(problem_rx.try_iter());
    problems.sort();
    for p in &problems {
        crate::exit::say(format_args!("{}: {}: {}", p.path, p.kind, p.detail))?;
    }
    let repaired = if settings.repair && !problems.is_empty() {
        Some(repair(&lake, &problems)?)
    } else {
        None
    };
    let seconds = started.elapsed().as_secs_f64();
    let bytes = read.load(Ordering::Relaxed);
    let mut line = format!(
        "verify {}: {} days, {} objects, {} read in {:.1} s ({:.0} MB/s); ",
        match settings.range {
            Some(r) => format!("{}..{}", r.start, r.end),
            None => "the whole lake".to_string(),
        },
        days.len(),
        objects.load(Ordering::Relaxed),
        crate::extract::report::human_bytes(bytes),
        seconds,
        bytes as f64 / 1e6 / seconds.max(1e-9)
    );
    if problems.is_empty() {
        line.push_str("clean");
    } else {
        let mut by_kind: BTreeMap<Kind, u64> = BTreeMap::new();
        problems
            .iter()
            .for_each(|p| *by_kind.entry(p.kind).or_default() += 1);
        let kinds: Vec<String> = by_kind.iter().map(|(k, n)| format!("{n} {k}")).collect();
        line.push_str(&format!(
            "{} problems: {}",
            problems.len(),
            kinds.join(", ")
        ));
    }
    if client.is_none() {
        line.push_str("; no database checked");
    }
    if let Some(r) = repaired {
        line.push_str(&format!("; {r}"));
    }
    crate::exit::say(line)?;
    Ok(Outcome::from_failures(problems.len() as u64))
}

/// Entries of the lake root that are neither days, the lock, nor the quarantine.
fn stray_at_root(lake: &Lake) -> Result<Vec<Problem>> {
    let mut found = Vec::new();
    let days: HashSet<String> = lake.days()?.into_iter().map(lake::day_dir_name).collect();
    for entry in
        fs::read_dir(lake.root()).with_context(|| format!("listing {}", lake.root().display()))?
    {
        let entry = entry.with_context(|| format!("listing {}", lake.root().display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if days.contains(&name) || name == QUARANTINE || name == LOCK_FILE {
            continue;
        }
        found.push(Problem {
            path: name,
            kind: Kind::Stray,
            detail: "the lake's layout has no place for it".into(),
        });
    }
    Ok(found)
}

fn is_temp(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp")
}

/// Lists one day: sends its bodies to the workers, checks the rest here.
fn list_day(
    lake: &Lake,
    day: Day,
    rows: Vec<ledger::Row>,
    jobs: &mpsc::SyncSender<Job>,
) -> Result<Vec<Problem>> {
    let dir = lake.day_dir(day);
    let day_name = lake::day_dir_name(day);
    let rel = |p: &str| format!("{day_name}/{p}");
    let mut problems = Vec::new();
    let manifest = lake.read_manifest(day)?;
    if manifest.unreadable > 0 {
        problems.push(Problem {
            path: rel(MANIFEST),
            kind: Kind::Manifest,
            detail: format!("{} lines do not read", manifest.unreadable),
        });
    }
    let mut ledger: HashMap<String, ledger::Row> =
        rows.into_iter().map(|r| (r.path.clone(), r)).collect();
    let mut on_disk: HashSet<String> = HashSet::new();
    let mut keys_held: HashSet<ObjectKey> = HashSet::new();
    let mut walk = walkdir::WalkDir::new(&dir).min_depth(1).into_iter();
    while let Some(entry) = walk.next() {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let inside = entry
            .path()
            .strip_prefix(&dir)
            .expect("walkdir stays under its root")
            .to_string_lossy()
            .into_owned();
        let name = entry.file_name().to_string_lossy().into_owned();
        let depth = entry.depth();
        let ft = entry.file_type();
        let stray = |what: &str, problems: &mut Vec<Problem>| {
            problems.push(Problem {
                path: rel(&inside),
                kind: Kind::Stray,
                detail: format!("{what}: the lake's layout has no place for it"),
            })
        };
        if ft.is_dir() {
            if depth != 1 || lake::RaceId::parse(&name).is_none() {
                stray("a directory", &mut problems);
                walk.skip_current_dir();
            }
            continue;
        }
        if !ft.is_file() {
            stray("not a regular file", &mut problems);
            continue;
        }
        if is_temp(&name) {
            problems.push(Problem {
                path: rel(&inside),
                kind: Kind::Temp,
                detail: "a writer's temp file left behind (extract sweeps it)".into(),
            });
            continue;
        }
        if depth == 1 && name == MANIFEST {
            continue;
        }
        let Some((key, marker)) = lake::parse_rel_path(day, Path::new(&inside)) else {
            stray("a file", &mut problems);
            continue;
        };
        on_disk.insert(inside.clone());
        keys_held.insert(key);
        let entry_line = manifest.entries.get(&inside);
        if entry_line.is_none() {
            problems.push(Problem {
                path: rel(&inside),
                kind: Kind::NoEntry,
                detail: "no line of the manifest names it".into(),
            });
        }
        if marker.is_some() {
            let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
            if len != 0 {
                problems.push(Problem {
                    path: rel(&inside),
                    kind: Kind::Marker,
                    detail: format!("{len} bytes; a marker is empty"),
                });
            }
            continue;
        }
        let ledger_sha256 = ledger
            .remove(&key.display_path())
            .filter(|r| r.status == Status::Loaded)
            .map(|r| r.content_sha256);
        jobs.send(Job {
            rel: rel(&inside),
            path: entry.path().to_path_buf(),
            stage: key.stage,
            sha256: entry_line.map(|e| e.sha256.clone()),
            ledger_sha256,
        })
        .context("the verify workers stopped")?;
    }
    for (path, e) in &manifest.entries {
        if on_disk.contains(path) {
            continue;
        }
        let Some((key, marker)) = lake::parse_rel_path(day, Path::new(path)) else {
            problems.push(Problem {
                path: rel(MANIFEST),
                kind: Kind::Manifest,
                detail: format!("an entry names {path:?}, no place of the layout"),
            });
            continue;
        };
        // A marker's line stays when a body (or another marker) replaced it; a line written
        // by --repair names an object moved away on purpose.
        let superseded = marker.is_some() && keys_held.contains(&key);
        let repaired = !e.is_final
            && e.finality
                .as_deref()
                .is_some_and(|f| f.starts_with(QUARANTINED));
        if !superseded && !repaired {
            problems.push(Problem {
                path: rel(path),
                kind: Kind::NoObject,
                detail: format!(
                    "the manifest has it ({}, fetched {}), the lake does not",
                    if e.is_final { "final" } else { "not final" },
                    e.fetched_at
                ),
            });
        }
    }
    for path in ledger.keys() {
        if !on_disk.contains(path.strip_prefix(&format!("{day_name}/")).unwrap_or(path)) {
            problems.push(Problem {
                path: path.clone(),
                kind: Kind::LedgerGone,
                detail: "the ledger has it, the lake does not".into(),
            });
        }
    }
    Ok(problems)
}

fn worker(
    jobs: &Mutex<mpsc::Receiver<Job>>,
    problems: &mpsc::Sender<Problem>,
    read: &AtomicU64,
    objects: &AtomicU64,
    deep: bool,
) {
    let mut stored = Vec::new();
    let mut body = Vec::new();
    let mut decompressor = zstd::bulk::Decompressor::new().ok();
    loop {
        let job = match jobs
            .lock()
            .expect("the job queue lock is never poisoned")
            .recv()
        {
            Ok(job) => job,
            Err(_) => return,
        };
        objects.fetch_add(1, Ordering::Relaxed);
        for (kind, detail) in check(&job, &mut stored, &mut body, decompressor.as_mut(), deep) {
            let _ = problems.send(Problem {
                path: job.rel.clone(),
                kind,
                detail,
            });
        }
        read.fetch_add(stored.len() as u64, Ordering::Relaxed);
    }
}

/// Checks one body; `stored` and `body` are reused buffers.
fn check(
    job: &Job,
    stored: &mut Vec<u8>,
    body: &mut Vec<u8>,
    decompressor: Option<&mut zstd::bulk::Decompressor<'static>>,
    deep: bool,
) -> Vec<(Kind, String)> {
    let mut found = Vec::new();
    stored.clear();
    if let Err(e) = File::open(&job.path).and_then(|mut f| f.read_to_end(stored)) {
        return vec![(Kind::Unreadable, e.to_string())];
    }
    if let Some(expected) = &job.ledger_sha256
        && lake::sha256_hex(stored) != *expected
    {
        found.push((
            Kind::LedgerChanged,
            "the stored bytes differ from those the ledger loaded (the next load reloads it)"
                .into(),
        ));
    }
    if let Err(e) = lake::decompress(stored, body, decompressor) {
        found.push((Kind::Frame, e));
        return found;
    }
    let mut vouched = false;
    if let Some(expected) = &job.sha256 {
        let actual = lake::sha256_hex(body);
        vouched = actual == *expected;
        if !vouched {
            found.push((
                Kind::Hash,
                format!("the body's SHA-256 is {actual}, the manifest says {expected}"),
            ));
        }
    }
    if deep {
        if let Err(e) = parse(job.stage, body) {
            found.push((Kind::Json, format!("does not read as {}: {e}", job.stage)));
        }
    } else if !vouched && let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(body) {
        found.push((Kind::Json, format!("not JSON: {e}")));
    }
    found
}

/// The body read by the model `load` reads it with.
fn parse(stage: Stage, body: &[u8]) -> Result<(), serde_json::Error> {
    match stage {
        Stage::Programme => ProgrammeResponse::parse(body).map(drop),
        Stage::Participants => serde_json::from_slice::<ParticipantsResponse>(body).map(drop),
        Stage::Performances => serde_json::from_slice::<PerformancesResponse>(body).map(drop),
        Stage::Rapports => serde_json::from_slice::<RapportsResponse>(body).map(drop),
    }
}

/// Moves the damaged objects into the quarantine and records them in their day's manifest as
/// not final, under the lake's writer lock; returns what was done, in words.
/// Moves damaged objects into the quarantine and records them (and intact objects that had
/// no manifest line) so that the next extract fetches them again. The caller holds the lake's
/// lock, taken before the lake was listed.
fn repair(lake: &Lake, problems: &[Problem]) -> Result<String> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ").to_string();
    let folder = lake.root().join(QUARANTINE).join(&stamp);
    let mut moved = HashSet::new();
    let mut recorded = 0;
    let damaged: HashSet<&str> = problems
        .iter()
        .filter(|p| p.kind.quarantined())
        .map(|p| p.path.as_str())
        .collect();
    for p in problems.iter().filter(|p| p.kind == Kind::NoEntry) {
        if !damaged.contains(p.path.as_str()) {
            record_unlisted(lake, &p.path)?;
            recorded += 1;
        }
    }
    for p in problems {
        let refetch = p.kind == Kind::NoObject;
        if !(p.kind.quarantined() || refetch) {
            continue;
        }
        let (day, inside) = split_rel(&p.path)?;
        if p.kind.quarantined() && moved.insert(p.path.clone()) {
            let to = folder.join(&p.path);
            fs::create_dir_all(to.parent().expect("quarantine paths have a parent"))
                .with_context(|| format!("creating {}", folder.display()))?;
            fs::rename(lake.root().join(&p.path), &to)
                .with_context(|| format!("moving {} into {}", p.path, folder.display()))?;
        }
        if p.kind == Kind::Temp {
            continue;
        }
        let manifest = lake.read_manifest(day)?;
        if let Some(old) = manifest.entries.get(inside) {
            let entry = ManifestEntry {
                fetched_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                is_final: false,
                finality: Some(format!(
                    "{QUARANTINED} ({}){}",
                    p.kind,
                    if refetch {
                        String::new()
                    } else {
                        format!(": moved to {QUARANTINE}/{stamp}/{}", p.path)
                    }
                )),
                ..old.clone()
            };
            lake.append_manifest(day, &entry)?;
            recorded += 1;
        }
    }
    Ok(format!(
        "repaired: {} files moved into {}, {recorded} manifest lines recorded; the next extract \
         fetches them again",
        moved.len(),
        folder.display()
    ))
}

/// A manifest line, not final, for an intact object that had none (a crash between its write
/// and its line, or a lake copied in): it stays in the lake, and the next extract asks again.
fn record_unlisted(lake: &Lake, path: &str) -> Result<()> {
    let (day, inside) = split_rel(path)?;
    let file = lake.root().join(path);
    let body = lake::read_body(&file).with_context(|| format!("reading {path}"))?;
    let stored = fs::metadata(&file)
        .with_context(|| format!("reading {path}"))?
        .len();
    let entry = ManifestEntry {
        path: inside.to_string(),
        url: String::new(),
        status: 200,
        fetched_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        raw_bytes: body.len() as u64,
        stored_bytes: stored,
        sha256: lake::sha256_hex(&body),
        is_final: false,
        finality: Some(
            "recorded by verify --repair: an object without manifest entry, kept; its line is \
             made from its stored bytes"
                .to_string(),
        ),
    };
    lake.append_manifest(day, &entry)
}

/// `date=2025-11-05/R1C1/x` → (the day, `R1C1/x`).
fn split_rel(path: &str) -> Result<(Day, &str)> {
    let (dir, inside) = path
        .split_once('/')
        .with_context(|| format!("{path}: not inside a day"))?;
    let day = dir
        .strip_prefix("date=")
        .and_then(|iso| iso.parse::<Day>().ok())
        .with_context(|| format!("{path}: not inside a day"))?;
    Ok((day, inside))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_truncated_or_flipped_frame_is_told_from_a_whole_one() {
        let body = br#"{"participants":[]}"#.repeat(40);
        let whole = lake::compress(&body).unwrap();
        let mut d = zstd::bulk::Decompressor::new().ok();
        let mut out = Vec::new();
        assert!(lake::decompress(&whole, &mut out, d.as_mut()).is_ok());
        assert_eq!(out, body);
        assert!(lake::decompress(&whole[..whole.len() - 3], &mut out, d.as_mut()).is_err());
        let mut flipped = whole.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x55;
        assert!(lake::decompress(&flipped, &mut out, d.as_mut()).is_err());
        assert!(lake::decompress(b"{}", &mut out, d.as_mut()).is_err());
    }

    #[test]
    fn bodies_are_read_by_their_stage_model() {
        assert!(parse(Stage::Rapports, b"[]").is_ok());
        assert!(parse(Stage::Rapports, br#"{"programme":{}}"#).is_err());
        assert!(parse(Stage::Programme, br#"{"programme":{}}"#).is_ok());
        assert!(parse(Stage::Participants, b"not json").is_err());
    }

    #[test]
    fn repaired_paths_split_into_day_and_place() {
        let (day, inside) = split_rel("date=2025-11-05/R1C1/rapports.json.zst").unwrap();
        assert_eq!(
            (day.iso().as_str(), inside),
            ("2025-11-05", "R1C1/rapports.json.zst")
        );
        assert!(split_rel("notes.txt").is_err());
    }
}
