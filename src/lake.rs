//! The on-disk lake: its layout, atomic writes of zstd objects and status markers, reading them
//! back, listing days and objects, and the per-day manifest of where each object came from.
//!
//! ```text
//! <root>/date=2025-11-05/programme.json.zst
//! <root>/date=2025-11-05/R1C1/participants.json.zst
//! <root>/date=2025-11-05/R1C1/performances.json.zst
//! <root>/date=2025-11-05/R1C1/rapports.json.zst
//! <root>/date=2025-11-05/R9C3/performances.204      (empty: the API answered 204)
//! <root>/date=2025-11-05/_manifest.jsonl            (one JSON line per write)
//! ```
//!
//! Every path is built from a validated [`Day`] and numbers, never from text the API sent.

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::day::Day;

/// zstd level for stored bodies: JSON shrinks ~10x at this level for a few ms per MB.
pub const ZSTD_LEVEL: i32 = 6;
pub const MANIFEST: &str = "_manifest.jsonl";
const TEMP_SUFFIX: &str = ".tmp";

/// The four payloads of a race day, in foreign-key order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Programme,
    Participants,
    Performances,
    Rapports,
}

impl Stage {
    pub const ALL: [Stage; 4] = [
        Stage::Programme,
        Stage::Participants,
        Stage::Performances,
        Stage::Rapports,
    ];
    pub const PER_RACE: [Stage; 3] = [Stage::Participants, Stage::Performances, Stage::Rapports];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Programme => "programme",
            Stage::Participants => "participants",
            Stage::Performances => "performances",
            Stage::Rapports => "rapports",
        }
    }

    pub fn from_name(name: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A race of a day: R = `reunions[].numOfficiel`, C = `courses[].numOrdre`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RaceId {
    pub reunion: u16,
    pub course: u16,
}

impl RaceId {
    /// R and C are small positive numbers; anything else is not a race we can name on disk.
    pub fn new(reunion: i64, course: i64) -> Option<RaceId> {
        let ok = |n: i64| (1..=999).contains(&n);
        (ok(reunion) && ok(course)).then_some(RaceId {
            reunion: reunion as u16,
            course: course as u16,
        })
    }

    /// Parses a lake directory name such as `R1C12`.
    pub fn parse(name: &str) -> Option<RaceId> {
        let rest = name.strip_prefix('R')?;
        let (r, c) = rest.split_once('C')?;
        let num = |s: &str| {
            (!s.is_empty()
                && s.len() <= 3
                && s.bytes().all(|b| b.is_ascii_digit())
                && !s.starts_with('0'))
            .then(|| s.parse::<i64>().ok())
            .flatten()
        };
        RaceId::new(num(r)?, num(c)?)
    }
}

impl fmt::Display for RaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "R{}C{}", self.reunion, self.course)
    }
}

/// Names one object of the lake: the programme of a day, or one stage of one race.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    pub day: Day,
    pub race: Option<RaceId>,
    pub stage: Stage,
}

impl ObjectKey {
    pub fn programme(day: Day) -> ObjectKey {
        ObjectKey {
            day,
            race: None,
            stage: Stage::Programme,
        }
    }

    pub fn race(day: Day, race: RaceId, stage: Stage) -> ObjectKey {
        debug_assert!(stage != Stage::Programme);
        ObjectKey {
            day,
            race: Some(race),
            stage,
        }
    }

    /// Path of the body relative to the day directory: `R1C1/participants.json.zst`.
    pub fn body_name(&self) -> String {
        self.in_day(&format!("{}.json.zst", self.stage))
    }

    /// Path of a status marker relative to the day directory: `R9C3/performances.204`.
    pub fn marker_name(&self, status: u16) -> String {
        self.in_day(&format!("{}.{status:03}", self.stage))
    }

    fn in_day(&self, file: &str) -> String {
        match self.race {
            Some(race) => format!("{race}/{file}"),
            None => file.to_string(),
        }
    }

    /// `date=2025-11-05/R1C1/participants.json.zst`: how errors and reports name the object.
    pub fn display_path(&self) -> String {
        format!("{}/{}", day_dir_name(self.day), self.body_name())
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.race {
            Some(race) => write!(f, "{} {race} {}", self.day, self.stage),
            None => write!(f, "{} {}", self.day, self.stage),
        }
    }
}

pub fn day_dir_name(day: Day) -> String {
    format!("date={}", day.iso())
}

/// What the lake holds for one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    /// A stored response body.
    Body(PathBuf),
    /// An empty marker: the API answered this status with no content.
    Marker(u16, PathBuf),
    Missing,
}

/// One object found on disk while listing a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LakeObject {
    pub key: ObjectKey,
    pub path: PathBuf,
    /// `None` for a body, `Some(status)` for an empty marker.
    pub marker: Option<u16>,
    /// The file's size and identity when it was listed; `None` where it could not be taken.
    pub identity: Option<FileIdentity>,
}

/// A file's size and identity: what a replay compares instead of reading and hashing the file
/// (see `load::ledger::file_stat`). Writing a file changes its mtime and ctime, and replacing it
/// (as extract does, by renaming a temp file) its inode too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileIdentity {
    pub len: u64,
    pub inode: u64,
    /// Nanoseconds since the epoch.
    pub mtime_ns: i128,
    pub ctime_ns: i128,
}

impl FileIdentity {
    /// `None` where the platform has no such identity.
    pub fn of(meta: &fs::Metadata) -> Option<FileIdentity> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
            Some(FileIdentity {
                len: meta.len(),
                inode: meta.ino(),
                mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
                ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            None
        }
    }
}

/// Sizes and hash of a stored body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub raw_bytes: u64,
    pub stored_bytes: u64,
    pub sha256: String,
}

/// One line of `_manifest.jsonl`: where an object came from. The last line for a path wins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Relative to the day directory, as [`ObjectKey::body_name`] or [`ObjectKey::marker_name`].
    pub path: String,
    pub url: String,
    pub status: u16,
    /// When the answer came: RFC 3339 in UTC as extract writes it (`2025-11-05T10:00:00.123Z`);
    /// read with [`ManifestEntry::fetched_instant`], never compared as text.
    pub fetched_at: String,
    pub raw_bytes: u64,
    pub stored_bytes: u64,
    /// SHA-256 of the raw (uncompressed) body, hex; the empty body's hash for markers.
    pub sha256: String,
    /// Whether the object can no longer change, so a rerun need not ask for it again.
    #[serde(rename = "final")]
    pub is_final: bool,
    /// Why it is (or is not) final, for people reading the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finality: Option<String>,
}

impl ManifestEntry {
    /// `fetched_at` as an instant. Accepted: RFC 3339 with any offset and any number of
    /// fractional digits (`2025-11-05T10:00:00Z`, `…T10:00:00.123Z`, `…T11:00:00+01:00`: what
    /// extract has written, and what other writers of RFC 3339 write), and the same without
    /// an offset, read as UTC (`2025-11-05T10:00:00`, `2025-11-05 10:00:00.5`), which the
    /// manifest's doc has always said it is. `None` for anything else.
    pub fn fetched_instant(&self) -> Option<DateTime<Utc>> {
        parse_instant(&self.fetched_at)
    }
}

fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|t| t.and_utc())
}

/// A day's manifest as read: the last entry per path, and how many lines did not read (a line
/// torn by a crash, or one not written by extract). Blank lines are not counted.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    pub entries: HashMap<String, ManifestEntry>,
    pub unreadable: u64,
}

#[derive(Debug, Clone)]
pub struct Lake {
    root: PathBuf,
}

impl Lake {
    pub fn new(root: impl Into<PathBuf>) -> Lake {
        Lake { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The lake a reader (`load`, `status`, `verify`) needs: a file there is a usage error
    /// (exit 2), a missing directory says to run `extract` first.
    pub fn existing(root: impl Into<PathBuf>) -> Result<Lake> {
        let lake = Lake::new(root);
        if lake.root.exists() && !lake.root.is_dir() {
            return Err(crate::exit::usage(format!(
                "--lake {} is not a directory",
                lake.root.display()
            )));
        }
        if !lake.root.is_dir() {
            bail!(
                "the lake {} does not exist (run `pmu-lake extract` first, or pass --lake DIR)",
                lake.root.display()
            );
        }
        Ok(lake)
    }

    pub fn day_dir(&self, day: Day) -> PathBuf {
        self.root.join(day_dir_name(day))
    }

    pub fn body_path(&self, key: &ObjectKey) -> PathBuf {
        self.day_dir(key.day).join(key.body_name())
    }

    pub fn marker_path(&self, key: &ObjectKey, status: u16) -> PathBuf {
        self.day_dir(key.day).join(key.marker_name(status))
    }

    /// What the lake holds for `key`: a body wins over any marker.
    pub fn held(&self, key: &ObjectKey) -> io::Result<Held> {
        let body = self.body_path(key);
        if body.is_file() {
            return Ok(Held::Body(body));
        }
        let dir = body.parent().expect("object paths have a parent");
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Held::Missing),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let name = entry?.file_name();
            if let Some((stage, Some(status))) = name.to_str().and_then(parse_file_name)
                && stage == key.stage
            {
                return Ok(Held::Marker(status, dir.join(name)));
            }
        }
        Ok(Held::Missing)
    }

    /// Stores `body` for `key` atomically as one zstd frame (with content size and checksum),
    /// then removes any marker the key had.
    pub fn write_body(&self, key: &ObjectKey, body: &[u8]) -> Result<Stored> {
        let path = self.body_path(key);
        let compressed =
            compress(body).with_context(|| format!("compressing {}", key.display_path()))?;
        write_atomic(&path, &compressed).with_context(|| format!("writing {}", path.display()))?;
        self.remove_markers(key)?;
        Ok(Stored {
            raw_bytes: body.len() as u64,
            stored_bytes: compressed.len() as u64,
            sha256: sha256_hex(body),
        })
    }

    /// Records that the API answered `status` with no content. Never replaces a stored body:
    /// data once held is not thrown away because a later answer was empty.
    pub fn write_marker(&self, key: &ObjectKey, status: u16) -> Result<PathBuf> {
        let path = self.marker_path(key, status);
        write_atomic(&path, b"").with_context(|| format!("writing {}", path.display()))?;
        for stale in self.markers_of(key)? {
            if stale != path {
                remove_if_exists(&stale)?;
            }
        }
        Ok(path)
    }

    fn markers_of(&self, key: &ObjectKey) -> Result<Vec<PathBuf>> {
        let dir = self
            .body_path(key)
            .parent()
            .expect("object paths have a parent")
            .to_path_buf();
        let Ok(entries) = fs::read_dir(&dir) else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        for entry in entries {
            let name = entry?.file_name();
            if let Some((stage, Some(_))) = name.to_str().and_then(parse_file_name)
                && stage == key.stage
            {
                found.push(dir.join(name));
            }
        }
        Ok(found)
    }

    fn remove_markers(&self, key: &ObjectKey) -> Result<()> {
        for marker in self.markers_of(key)? {
            remove_if_exists(&marker)?;
        }
        Ok(())
    }

    /// Appends one line to the day's manifest (a single `write` on an `O_APPEND` file, one
    /// append at a time in the process). When the file does not end in a newline (a line torn
    /// by a crash), the line starts with one, so that it is not glued onto the torn one: the
    /// torn line alone is lost (and counted on read), never the new one.
    pub fn append_manifest(&self, day: Day, entry: &ManifestEntry) -> Result<()> {
        let dir = self.day_dir(day);
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(MANIFEST);
        // One append at a time in this process (one extract per lake holds the lake's lock):
        // another worker's write in progress can show a partial last line to the check below,
        // which would then start a needless blank line.
        static APPENDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one_at_a_time = APPENDING.lock().unwrap_or_else(|e| e.into_inner());
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        let torn = ends_without_newline(&mut file)
            .with_context(|| format!("reading the end of {}", path.display()))?;
        let mut line = Vec::with_capacity(512);
        if torn {
            line.push(b'\n');
        }
        serde_json::to_writer(&mut line, entry).expect("manifest entries serialize");
        line.push(b'\n');
        file.write_all(&line)
            .with_context(|| format!("appending to {}", path.display()))?;
        file.sync_data()
            .with_context(|| format!("syncing {}", path.display()))
    }

    /// The day's manifest, last entry per path. Missing manifest: empty (a lake of object
    /// files alone is valid).
    pub fn read_manifest(&self, day: Day) -> Result<Manifest> {
        let path = self.day_dir(day).join(MANIFEST);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Manifest::default()),
            Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
        };
        let mut manifest = Manifest::default();
        for line in BufReader::new(file).split(b'\n') {
            let line = line.with_context(|| format!("reading {}", path.display()))?;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            // A line cut by a crash does not parse: skip it (the object is judged by its
            // content) and count it.
            match serde_json::from_slice::<ManifestEntry>(&line) {
                Ok(entry) => {
                    manifest.entries.insert(entry.path.clone(), entry);
                }
                Err(_) => manifest.unreadable += 1,
            }
        }
        Ok(manifest)
    }

    /// The days present in the lake, sorted. Directories that are not `date=YYYY-MM-DD` are
    /// ignored.
    pub fn days(&self) -> Result<Vec<Day>> {
        let entries = match fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("listing {}", self.root.display())),
        };
        let mut days = Vec::new();
        for entry in entries {
            let entry = entry.with_context(|| format!("listing {}", self.root.display()))?;
            let name = entry.file_name();
            let Some(iso) = name.to_str().and_then(|n| n.strip_prefix("date=")) else {
                continue;
            };
            if iso.len() == 10
                && let Ok(day) = iso.parse::<Day>()
                && entry.path().is_dir()
            {
                days.push(day);
            }
        }
        days.sort();
        Ok(days)
    }

    /// Every object of a day, sorted in load order: the programme, then all participants, all
    /// performances, all rapports, each by race. Temp files, symbolic links and unknown names
    /// are skipped. Each file's identity is taken as it is listed, relative to its directory
    /// (`fstatat`, no walk of the whole path): a replay compares it and reads nothing more.
    pub fn objects(&self, day: Day) -> Result<Vec<LakeObject>> {
        let dir = self.day_dir(day);
        let mut found = Vec::new();
        list_objects(&dir, day, None, &mut found)?;
        found.sort_by_key(|o| (o.key.stage, o.key.race, o.marker.is_some()));
        // A body wins over a marker of the same key (a marker left by an older run).
        found.dedup_by(|later, earlier| later.key == earlier.key);
        Ok(found)
    }

    /// Removes temp files a killed writer left in a day directory.
    pub fn sweep_temp(&self, day: Day) -> Result<usize> {
        let dir = self.day_dir(day);
        let mut removed = 0;
        for entry in walkdir::WalkDir::new(&dir).min_depth(1).max_depth(2) {
            let Ok(entry) = entry else { continue };
            let is_temp = entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.starts_with('.') && n.ends_with(TEMP_SUFFIX));
            if entry.file_type().is_file() && is_temp {
                remove_if_exists(entry.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// The error of the disk itself somewhere in `e`'s chain: no space left (ENOSPC), quota
/// exceeded (EDQUOT), read-only file system (EROFS), an I/O error of the device (EIO). Every
/// later write to the lake would fail the same way, so a crawl stops at the first.
pub fn disk_error(e: &anyhow::Error) -> Option<&io::Error> {
    /// EIO on every Unix; std gives it no kind of its own.
    const EIO: i32 = 5;
    e.chain()
        .filter_map(|c| c.downcast_ref::<io::Error>())
        .find(|io| {
            matches!(
                io.kind(),
                io::ErrorKind::StorageFull
                    | io::ErrorKind::QuotaExceeded
                    | io::ErrorKind::ReadOnlyFilesystem
            ) || io.raw_os_error() == Some(EIO)
        })
}

/// Whether a non-empty file's last byte is not a newline.
fn ends_without_newline(file: &mut File) -> io::Result<bool> {
    use std::io::{Seek, SeekFrom};
    if file.metadata()?.len() == 0 {
        return Ok(false);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8];
    file.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

/// The objects of `dir` into `found`: a day directory (`race` is `None`; its race directories
/// are listed in turn) or a race directory.
fn list_objects(
    dir: &Path,
    day: Day,
    race: Option<RaceId>,
    found: &mut Vec<LakeObject>,
) -> Result<()> {
    let listing = || format!("listing {}", dir.display());
    for entry in fs::read_dir(dir).with_context(listing)? {
        let entry = entry.with_context(listing)?;
        let kind = entry.file_type().with_context(listing)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if kind.is_dir() {
            if race.is_none()
                && let Some(race) = RaceId::parse(name)
            {
                list_objects(&entry.path(), day, Some(race), found)?;
            }
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        let Some((key, marker)) = object_key(day, race, name) else {
            continue;
        };
        found.push(LakeObject {
            key,
            identity: entry.metadata().ok().as_ref().and_then(FileIdentity::of),
            path: entry.path(),
            marker,
        });
    }
    Ok(())
}

/// The object a file `name` of a day directory (`race` `None`) or of a race directory names.
fn object_key(day: Day, race: Option<RaceId>, name: &str) -> Option<(ObjectKey, Option<u16>)> {
    let (stage, marker) = parse_file_name(name)?;
    match race {
        None => (stage == Stage::Programme).then_some((ObjectKey::programme(day), marker)),
        Some(race) => {
            (stage != Stage::Programme).then(|| (ObjectKey::race(day, race, stage), marker))
        }
    }
}

/// `participants.json.zst` → (Participants, None); `performances.204` → (Performances, Some(204)).
fn parse_file_name(name: &str) -> Option<(Stage, Option<u16>)> {
    if let Some(stage) = name.strip_suffix(".json.zst") {
        return Stage::from_name(stage).map(|s| (s, None));
    }
    let (stage, status) = name.rsplit_once('.')?;
    let status = (status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit()))
        .then(|| status.parse::<u16>().ok())
        .flatten()?;
    Stage::from_name(stage).map(|s| (s, Some(status)))
}

/// Parses a path relative to a day directory into a key; `None` for anything else.
pub fn parse_rel_path(day: Day, rel: &Path) -> Option<(ObjectKey, Option<u16>)> {
    let parts: Vec<&str> = rel.iter().map(|p| p.to_str()).collect::<Option<_>>()?;
    match parts.as_slice() {
        [file] => object_key(day, None, file),
        [race, file] => object_key(day, Some(RaceId::parse(race)?), file),
        _ => None,
    }
}

pub fn compress(body: &[u8]) -> io::Result<Vec<u8>> {
    let mut c = zstd::bulk::Compressor::new(ZSTD_LEVEL)?;
    c.include_checksum(true)?;
    c.include_contentsize(true)?;
    c.compress(body)
}

/// A body larger than this is not decompressed in one piece (no payload comes close).
const MAX_BODY: u64 = 1 << 30;

/// Decompresses one whole frame that gives its content size into `body`, with `decompressor`
/// (a context reused from body to body); its checksum is checked by zstd. Frames of
/// [`compress`] always give their size.
pub fn decompress(
    stored: &[u8],
    body: &mut Vec<u8>,
    decompressor: Option<&mut zstd::bulk::Decompressor<'static>>,
) -> Result<(), String> {
    body.clear();
    let size = match zstd::zstd_safe::get_frame_content_size(stored) {
        Ok(Some(n)) if n <= MAX_BODY => n as usize,
        Ok(Some(n)) => return Err(format!("the frame announces {n} bytes")),
        Ok(None) => return Err("the frame does not give its content size".into()),
        Err(_) => return Err("not a zstd frame".into()),
    };
    body.reserve(size);
    let Some(d) = decompressor else {
        return Err("no zstd decompressor (out of memory)".into());
    };
    let n = d
        .decompress_to_buffer(stored, body)
        .map_err(|e| format!("{e} (truncated or damaged)"))?;
    if n != size {
        return Err(format!("{n} bytes out of the {size} announced"));
    }
    Ok(())
}

/// Reads and decompresses a stored body, checking the frame's checksum.
pub fn read_body(path: &Path) -> Result<Vec<u8>> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut out = Vec::new();
    zstd::stream::read::Decoder::new(file)
        .and_then(|mut d| d.read_to_end(&mut out))
        .with_context(|| format!("decompressing {}: not a valid zstd frame", path.display()))?;
    Ok(out)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for b in digest {
        use fmt::Write as _;
        write!(hex, "{b:02x}").expect("writing to a String");
    }
    hex
}

/// Writes `bytes` to `path` atomically: a temp file in the same directory → write → fsync →
/// rename → fsync the directory.
/// A crash at any instant leaves either the old file or the new one, never a partial one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, |file| file.write_all(bytes))
}

/// [`write_atomic`] of what `write` writes, streamed (through a buffer) rather than held.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(
        ".{name}.{}.{}{TEMP_SUFFIX}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let result = (|| {
        let mut file = BufWriter::new(
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)?,
        );
        write(&mut file)?;
        let file = file.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

fn remove_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing {}", path.display())),
    }
}

/// Checks that a lake root is usable (exists or can be created, is a directory).
pub fn ensure_root(root: &Path) -> Result<()> {
    if root.exists() && !root.is_dir() {
        bail!("lake root {} is not a directory", root.display());
    }
    fs::create_dir_all(root).with_context(|| format!("creating lake root {}", root.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> Day {
        "05112025".parse().unwrap()
    }

    #[test]
    fn layout_names_match_the_documented_contract() {
        let race = RaceId::new(9, 3).unwrap();
        let k = ObjectKey::race(day(), race, Stage::Performances);
        assert_eq!(k.body_name(), "R9C3/performances.json.zst");
        assert_eq!(k.marker_name(204), "R9C3/performances.204");
        assert_eq!(
            ObjectKey::programme(day()).display_path(),
            "date=2025-11-05/programme.json.zst"
        );
    }

    #[test]
    fn race_ids_reject_what_is_not_a_small_number() {
        assert_eq!(RaceId::parse("R1C12"), RaceId::new(1, 12));
        for bad in [
            "R0C1", "R1C0", "R01C1", "R1C", "RC1", "R1C1000", "R-1C2", "X1C1", "R1C1x",
        ] {
            assert_eq!(RaceId::parse(bad), None, "{bad}");
        }
        assert_eq!(RaceId::new(1, 0), None);
    }

    #[test]
    fn rel_paths_parse_back_to_keys() {
        let (k, m) = parse_rel_path(day(), Path::new("R9C3/performances.204")).unwrap();
        assert_eq!(
            (k.stage, k.race, m),
            (Stage::Performances, RaceId::new(9, 3), Some(204))
        );
        let (k, m) = parse_rel_path(day(), Path::new("programme.json.zst")).unwrap();
        assert_eq!((k.stage, m), (Stage::Programme, None));
        for junk in [
            "R1C1/programme.json.zst",
            "participants.json.zst",
            "R1C1/.x.tmp",
            "_manifest.jsonl",
            "R1C1/notes.txt",
        ] {
            assert!(parse_rel_path(day(), Path::new(junk)).is_none(), "{junk}");
        }
    }

    #[test]
    fn bodies_round_trip_byte_for_byte_and_markers_yield_to_bodies() {
        let tmp = tempdir();
        let lake = Lake::new(&tmp);
        let key = ObjectKey::race(day(), RaceId::new(1, 1).unwrap(), Stage::Rapports);
        assert_eq!(lake.held(&key).unwrap(), Held::Missing);
        lake.write_marker(&key, 204).unwrap();
        assert!(matches!(lake.held(&key).unwrap(), Held::Marker(204, _)));
        let body = "[{\"typePari\":\"SIMPLE_GAGNANT\",\"libellé\":\"é\"}]\n".repeat(50);
        let stored = lake.write_body(&key, body.as_bytes()).unwrap();
        assert_eq!(stored.raw_bytes, body.len() as u64);
        assert!(stored.stored_bytes < stored.raw_bytes);
        let Held::Body(path) = lake.held(&key).unwrap() else {
            panic!("body expected")
        };
        assert_eq!(read_body(&path).unwrap(), body.as_bytes());
        assert_eq!(
            lake.objects(day()).unwrap().len(),
            1,
            "marker removed once the body arrived"
        );
        let _ = fs::remove_dir_all(&tmp);
    }

    #[test]
    fn objects_come_in_load_order_and_skip_temp_files() {
        let tmp = tempdir();
        let lake = Lake::new(&tmp);
        let r = |c| RaceId::new(1, c).unwrap();
        lake.write_body(&ObjectKey::race(day(), r(2), Stage::Participants), b"{}")
            .unwrap();
        lake.write_body(&ObjectKey::race(day(), r(1), Stage::Rapports), b"[]")
            .unwrap();
        lake.write_body(&ObjectKey::programme(day()), b"{}")
            .unwrap();
        lake.write_marker(&ObjectKey::race(day(), r(1), Stage::Performances), 204)
            .unwrap();
        fs::write(
            lake.day_dir(day()).join("R1C1/.rapports.json.zst.1.2.tmp"),
            b"partial",
        )
        .unwrap();
        // Neither a link to a body nor a race directory without a race's name is an object.
        #[cfg(unix)]
        std::os::unix::fs::symlink(
            lake.day_dir(day()).join("R1C2/participants.json.zst"),
            lake.day_dir(day()).join("R1C1/participants.json.zst"),
        )
        .unwrap();
        fs::create_dir_all(lake.day_dir(day()).join("old")).unwrap();
        fs::write(lake.day_dir(day()).join("old/rapports.json.zst"), b"x").unwrap();
        let objects = lake.objects(day()).unwrap();
        let order: Vec<_> = objects.iter().map(|o| o.key.stage).collect();
        assert_eq!(
            order,
            [
                Stage::Programme,
                Stage::Participants,
                Stage::Performances,
                Stage::Rapports
            ]
        );
        for o in &objects {
            let listed = o.identity.expect("an identity on this platform");
            let now = FileIdentity::of(&fs::metadata(&o.path).unwrap()).unwrap();
            assert_eq!(listed, now, "{}", o.path.display());
            assert!(listed.inode != 0 && listed.mtime_ns > 0, "{listed:?}");
        }
        assert_eq!(lake.sweep_temp(day()).unwrap(), 1);
        assert_eq!(lake.days().unwrap(), [day()]);
        let _ = fs::remove_dir_all(&tmp);
    }

    #[test]
    fn manifest_keeps_the_last_entry_and_skips_a_torn_line() {
        let tmp = tempdir();
        let lake = Lake::new(&tmp);
        let mut e = ManifestEntry {
            path: "programme.json.zst".into(),
            url: "http://x/programme/05112025".into(),
            status: 200,
            fetched_at: "2025-11-05T10:00:00Z".into(),
            raw_bytes: 2,
            stored_bytes: 15,
            sha256: sha256_hex(b"{}"),
            is_final: false,
            finality: None,
        };
        lake.append_manifest(day(), &e).unwrap();
        e.is_final = true;
        lake.append_manifest(day(), &e).unwrap();
        let mut f = OpenOptions::new()
            .append(true)
            .open(lake.day_dir(day()).join(MANIFEST))
            .unwrap();
        f.write_all(b"{\"path\":\"R1C1/partic").unwrap();
        let m = lake.read_manifest(day()).unwrap();
        assert_eq!((m.entries.len(), m.unreadable), (1, 1));
        assert!(m.entries["programme.json.zst"].is_final);
        let _ = fs::remove_dir_all(&tmp);
    }

    #[test]
    fn errors_of_the_disk_itself_are_told_apart() {
        let wrapped = |e: io::Error| {
            anyhow::Error::new(e)
                .context("writing /lake/date=2025-11-05/programme.json.zst")
                .context("storing")
        };
        // ENOSPC, EDQUOT, EROFS, EIO on Linux.
        for errno in [28, 122, 30, 5] {
            assert!(
                disk_error(&wrapped(io::Error::from_raw_os_error(errno))).is_some(),
                "{errno}"
            );
        }
        for other in [
            io::Error::from_raw_os_error(13), // EACCES
            io::Error::from(io::ErrorKind::NotFound),
        ] {
            assert!(disk_error(&wrapped(other)).is_none());
        }
        assert!(disk_error(&anyhow::anyhow!("no space left on device")).is_none());
    }

    #[test]
    fn concurrent_appends_leave_whole_lines_only() {
        let tmp = tempdir();
        let lake = Lake::new(&tmp);
        let long = "R1C1/".repeat(150);
        std::thread::scope(|s| {
            for t in 0..8 {
                let (lake, long) = (&lake, &long);
                s.spawn(move || {
                    for i in 0..100 {
                        let path = format!("{long}{t}-{i}.json.zst");
                        lake.append_manifest(day(), &entry(&path, "2025-11-05T10:00:00Z"))
                            .unwrap();
                    }
                });
            }
        });
        let text = fs::read_to_string(lake.day_dir(day()).join(MANIFEST)).unwrap();
        assert_eq!(text.lines().count(), 800);
        assert!(text.lines().all(|l| l.starts_with('{') && l.ends_with('}')));
        let m = lake.read_manifest(day()).unwrap();
        assert_eq!((m.entries.len(), m.unreadable), (800, 0));
        let _ = fs::remove_dir_all(&tmp);
    }

    fn entry(path: &str, fetched_at: &str) -> ManifestEntry {
        ManifestEntry {
            path: path.into(),
            url: "http://x/".into(),
            status: 200,
            fetched_at: fetched_at.into(),
            raw_bytes: 2,
            stored_bytes: 15,
            sha256: sha256_hex(b"{}"),
            is_final: true,
            finality: None,
        }
    }

    #[test]
    fn an_append_after_a_torn_line_starts_on_a_line_of_its_own() {
        let tmp = tempdir();
        let lake = Lake::new(&tmp);
        lake.append_manifest(day(), &entry("programme.json.zst", "2025-11-05T10:00:00Z"))
            .unwrap();
        let path = lake.day_dir(day()).join(MANIFEST);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"path\":\"R1C1/partic").unwrap();
        lake.append_manifest(
            day(),
            &entry("R1C1/participants.json.zst", "2025-11-05T10:00:01Z"),
        )
        .unwrap();
        lake.append_manifest(
            day(),
            &entry("R1C1/rapports.json.zst", "2025-11-05T10:00:02Z"),
        )
        .unwrap();
        let m = lake.read_manifest(day()).unwrap();
        let mut paths: Vec<&str> = m.entries.keys().map(String::as_str).collect();
        paths.sort();
        assert_eq!(
            paths,
            [
                "R1C1/participants.json.zst",
                "R1C1/rapports.json.zst",
                "programme.json.zst"
            ]
        );
        assert_eq!(m.unreadable, 1, "the torn line alone is lost");
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("}\n") && text.lines().count() == 4, "{text}");
        let _ = fs::remove_dir_all(&tmp);
    }

    #[test]
    fn blank_lines_are_not_counted_as_unreadable() {
        let tmp = tempdir();
        let lake = Lake::new(&tmp);
        lake.append_manifest(day(), &entry("programme.json.zst", "2025-11-05T10:00:00Z"))
            .unwrap();
        let path = lake.day_dir(day()).join(MANIFEST);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"\n  \nnot json\n").unwrap();
        let m = lake.read_manifest(day()).unwrap();
        assert_eq!((m.entries.len(), m.unreadable), (1, 1));
        let _ = fs::remove_dir_all(&tmp);
    }

    #[test]
    fn fetched_at_reads_as_an_instant_whatever_its_format() {
        let at = |s: &str| entry("p", s).fetched_instant();
        let ten = at("2025-11-05T10:00:00Z").unwrap();
        for same in [
            "2025-11-05T10:00:00.000Z",
            "2025-11-05T10:00:00+00:00",
            "2025-11-05T11:00:00+01:00",
            "2025-11-05T10:00:00",
            "2025-11-05 10:00:00.0",
        ] {
            assert_eq!(at(same), Some(ten), "{same}");
        }
        // Compared as text, both of these come out the other way round.
        assert!(at("2025-11-05T10:00:00.5Z") > at("2025-11-05T10:00:00Z"));
        assert!(at("2025-11-05T10:30:00+01:00") < at("2025-11-05T10:00:00Z"));
        assert_eq!(at("yesterday"), None);
    }

    fn tempdir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "pmu-lake-unit-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }
}
