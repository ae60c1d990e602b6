//! The ledger of lake objects (`load_ledger`, migration 0002): what was loaded or rejected, keyed
//! by the object's path in the lake and the SHA-256 of its stored bytes, so a replay of an
//! unchanged lake skips objects without decompressing them; and which version of the mapping
//! produced each object's rows ([`mapping_version`], migration 0006), so that a release that
//! maps a stage differently re-derives that stage's objects from the lake on the next load.

use std::collections::HashMap;

use anyhow::{Context, Result};
use postgres::{Client, GenericClient};

use crate::day::Day;
use crate::lake::{FileIdentity, ObjectKey, Stage};

/// The version of the mapping of each stage's objects to rows. Raise a stage's number in the
/// release that changes the rows its objects give (a new column filled, a value read
/// differently, a rule of a merge that reads them changed): every object of that stage loaded
/// by an older version is then re-derived from the lake by the next `load`, without `--force`
/// and without the network, and counted as reprocessed. Objects that hang from it (the later
/// stages of its race; every object of the day for the programme) are loaded again with it.
///
/// History: participants 2, the horse taken whole from its latest race (migration 0005);
/// participants 3, `race_participant.cote_reference_tendance` (migration 0007); programme 2,
/// participants 4 and performances 2, the fields of migration 0008 (enquiries, event bets, meeting
/// links and offer details; the reference trend's number, the full gap, the weight change, the
/// silks; `horse_race_history.allure` and `past_race_runner`); performances 3, `performance_report`
/// and the order-free rules of `horse_race_history` and `past_race_runner` (migration 0009).
pub const fn mapping_version(stage: Stage) -> i32 {
    match stage {
        Stage::Programme => 2,
        Stage::Participants => 4,
        Stage::Performances => 3,
        Stage::Rapports => 1,
    }
}

/// What the ledger holds of a loaded object: its stored bytes' hash and size, its mapping
/// version, and the file's identity when it was read ([`file_stat`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub sha256: String,
    pub mapping_version: i32,
    pub stored_bytes: u64,
    pub stat: Option<String>,
}

/// A file's size and its identity as the ledger keeps it, `inode:mtime_ns:ctime_ns`: what a
/// replay compares instead of reading and hashing the file. A copy of the lake (`cp -a`,
/// rsync) keeps the mtime but not the inode or ctime, so its files are hashed once and then
/// known again.
pub fn file_stat(id: &FileIdentity) -> (u64, String) {
    (
        id.len,
        format!("{}:{}:{}", id.inode, id.mtime_ns, id.ctime_ns),
    )
}

/// How an object's last load ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Loaded,
    Rejected,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Loaded => "loaded",
            Status::Rejected => "rejected",
        }
    }
}

/// One ledger row to write.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: ObjectKey,
    pub sha256: String,
    pub stored_bytes: u64,
    /// [`file_stat`]'s identity of the file read, taken before reading it.
    pub stat: Option<String>,
    pub status: Status,
    pub reason: Option<String>,
}

/// Path of an object as the ledger names it (relative to the lake root).
pub fn path_of(key: &ObjectKey) -> String {
    key.display_path()
}

/// For each of `days` (in ascending order), path → what the ledger holds of its objects whose
/// last load succeeded; in one query. A day the ledger lacks maps to an empty map.
pub fn loaded_by_day(
    client: &mut Client,
    days: &[Day],
) -> Result<HashMap<Day, HashMap<String, Loaded>>> {
    let mut by_day: HashMap<Day, HashMap<String, Loaded>> =
        days.iter().map(|d| (*d, HashMap::new())).collect();
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Ok(by_day);
    };
    let rows = client
        .query(
            "SELECT day::text, path, content_sha256, mapping_version, stored_bytes, stored_stat
             FROM load_ledger
             WHERE day BETWEEN $1::text::date AND $2::text::date AND status = 'loaded'",
            &[&first.iso(), &last.iso()],
        )
        .with_context(|| format!("reading the ledger of {first}..{last}"))?;
    for r in &rows {
        let day: Day = r
            .get::<_, &str>(0)
            .parse()
            .with_context(|| format!("the ledger's day {:?}", r.get::<_, &str>(0)))?;
        let Some(known) = by_day.get_mut(&day) else {
            continue;
        };
        let loaded = Loaded {
            sha256: r.get(2),
            mapping_version: r.get(3),
            stored_bytes: u64::try_from(r.get::<_, i64>(4)).unwrap_or(u64::MAX),
            stat: r.get(5),
        };
        known.insert(r.get(1), loaded);
    }
    Ok(by_day)
}

/// Inserts or replaces the rows of `entries`, in one statement.
pub fn upsert(tx: &mut impl GenericClient, entries: &[Entry]) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut paths = Vec::with_capacity(entries.len());
    let mut days = Vec::with_capacity(entries.len());
    let mut stages = Vec::with_capacity(entries.len());
    let mut reunions: Vec<Option<i32>> = Vec::with_capacity(entries.len());
    let mut courses: Vec<Option<i32>> = Vec::with_capacity(entries.len());
    let mut hashes = Vec::with_capacity(entries.len());
    let mut sizes = Vec::with_capacity(entries.len());
    let mut statuses = Vec::with_capacity(entries.len());
    let mut reasons: Vec<Option<String>> = Vec::with_capacity(entries.len());
    let mut versions = Vec::with_capacity(entries.len());
    let mut stats: Vec<Option<&str>> = Vec::with_capacity(entries.len());
    for e in entries {
        stats.push(e.stat.as_deref());
        versions.push(mapping_version(e.key.stage));
        paths.push(path_of(&e.key));
        days.push(e.key.day.iso());
        stages.push(e.key.stage.name());
        reunions.push(e.key.race.map(|r| i32::from(r.reunion)));
        courses.push(e.key.race.map(|r| i32::from(r.course)));
        hashes.push(e.sha256.as_str());
        sizes.push(i64::try_from(e.stored_bytes).unwrap_or(i64::MAX));
        statuses.push(e.status.as_str());
        reasons.push(e.reason.as_ref().map(|r| r.replace('\0', "\\0")));
    }
    tx.execute(
        "INSERT INTO load_ledger (path, day, stage, reunion, course, content_sha256, stored_bytes,
                                  status, reason, mapping_version, stored_stat, loaded_at)
         SELECT p, d::date, s, r::smallint, c::smallint, h, b, st, re, v, fs, now()
         FROM unnest($1::text[], $2::text[], $3::text[], $4::int4[], $5::int4[], $6::text[],
                     $7::int8[], $8::text[], $9::text[], $10::int4[], $11::text[])
              AS u(p, d, s, r, c, h, b, st, re, v, fs)
         ON CONFLICT (path) DO UPDATE SET
             day = EXCLUDED.day, stage = EXCLUDED.stage, reunion = EXCLUDED.reunion,
             course = EXCLUDED.course, content_sha256 = EXCLUDED.content_sha256,
             stored_bytes = EXCLUDED.stored_bytes, status = EXCLUDED.status,
             reason = EXCLUDED.reason, mapping_version = EXCLUDED.mapping_version,
             stored_stat = EXCLUDED.stored_stat, loaded_at = EXCLUDED.loaded_at",
        &[
            &paths, &days, &stages, &reunions, &courses, &hashes, &sizes, &statuses, &reasons,
            &versions, &stats,
        ],
    )
    .context("writing the ledger")?;
    Ok(())
}

/// Records the file identity of objects a load found unchanged by their hash (a copied lake,
/// a `touch`): the next load skips them on sight. A cache: losing it costs a hash, never a row.
pub fn restat(client: &mut Client, known: &[(String, String)]) -> Result<()> {
    if known.is_empty() {
        return Ok(());
    }
    let (paths, stats): (Vec<&str>, Vec<&str>) =
        known.iter().map(|(p, s)| (p.as_str(), s.as_str())).unzip();
    client
        .execute(
            "UPDATE load_ledger l SET stored_stat = u.fs
             FROM unnest($1::text[], $2::text[]) AS u(p, fs) WHERE l.path = u.p",
            &[&paths, &stats],
        )
        .context("recording the identity of unchanged files in the ledger")?;
    Ok(())
}

/// One ledger row as read back (by `status` and `verify`).
#[derive(Debug, Clone)]
pub struct Row {
    pub path: String,
    pub day: Day,
    pub content_sha256: String,
    pub stored_bytes: u64,
    pub status: Status,
    pub reason: Option<String>,
    /// The mapping version that produced the object's rows (see [`mapping_version`]).
    pub mapping_version: i32,
}

/// Whether the ledger exists (a database `load` never ran on has none).
pub fn exists(client: &mut Client) -> Result<bool> {
    let row = client
        .query_one("SELECT to_regclass('load_ledger') IS NOT NULL", &[])
        .context("looking for the ledger")?;
    Ok(row.get(0))
}

/// The ledger rows of the days `first..=last`, by day then path.
pub fn rows_between(client: &mut Client, first: Day, last: Day) -> Result<Vec<Row>> {
    let rows = client
        .query(
            "SELECT path, day::text, content_sha256, stored_bytes, status, reason, mapping_version
             FROM load_ledger
             WHERE day BETWEEN $1::text::date AND $2::text::date ORDER BY day, path",
            &[&first.iso(), &last.iso()],
        )
        .with_context(|| format!("reading the ledger of {first}..{last}"))?;
    rows.iter()
        .map(|r| {
            let day: String = r.get(1);
            Ok(Row {
                path: r.get(0),
                day: day
                    .parse()
                    .with_context(|| format!("the ledger's day {day:?}"))?,
                content_sha256: r.get(2),
                stored_bytes: u64::try_from(r.get::<_, i64>(3)).unwrap_or(0),
                status: if r.get::<_, &str>(4) == "loaded" {
                    Status::Loaded
                } else {
                    Status::Rejected
                },
                reason: r.get(5),
                mapping_version: r.get(6),
            })
        })
        .collect()
}
