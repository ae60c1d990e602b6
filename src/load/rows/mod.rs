//! Payloads → staging rows: one lake object's JSON turned into COPY records for the staging
//! tables declared in `load/sql/tables.rs`, one file per payload (as `pmu/` is split).
//!
//! Every field is written by its column's name (`r.int("age", p.age)`): the writer knows the
//! declaration, so an `integer` column is known as such (see [`OutOfRange`]), and in debug builds
//! (every test) it checks that the names come in the declaration's order, each once, with a
//! writer method of the column's type. A field's position in the COPY row is therefore never a
//! convention kept by hand: a swapped or missing column fails every test that writes that row.
//!
//! The day, R and C of every row come from the [`ObjectKey`] (the lake path), never from payload
//! text; only the programme names its réunions and courses. Units are normalised here or kept
//! as the schema says (ms, centimes, tenths of kg); see `migrations/0001_schema.sql`.
//!
//! CSV encoding (PostgreSQL's `FORMAT csv` defaults): NULL is an unquoted empty field and every
//! non-NULL text value is quoted, so `""` is the empty string. This is why fields are encoded by
//! [`Row`] rather than the csv crate's writer, whose quoting styles cannot mix a bare NULL with
//! always-quoted text; the csv crate reads the output back in the tests.
//!
//! The tables whose text the server is slowest to parse (`Table::binary`: the runners, their
//! past races and the runners of those, the reports' key arrays) are sent in PostgreSQL's
//! binary COPY format instead ([`binary`]), by the same [`Row`] methods: the writer of a row
//! does not know which format its table uses. A key out of its column's range cannot be sent
//! as is there (in CSV PostgreSQL refuses it, naming it): the writers of those payloads check
//! their keys first, and reject the object before writing any row of it.

pub(crate) mod binary;
mod participants;
mod past_runners;
mod performances;
mod programme;
mod rapports;

pub use participants::DirectRunner;

use std::io::Write as _;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;

use crate::lake::{ObjectKey, RaceId, Stage};
use crate::load::seen::SeenPastRaces;
use crate::load::sql::{Column, Table as Declaration, Ty, tables};
use crate::pmu::participants::ParticipantsResponse;
use crate::pmu::performances::PerformancesResponse;
use crate::pmu::programme::ProgrammeResponse;
use crate::pmu::rapports::{RapportsResponse, is_internet_pool};

/// Indexes into [`tables::ALL`] (and `sql::STAGING`), one per staging table.
pub const DAILY_PROGRAM: usize = 0;
pub const RACE_MEETING: usize = 1;
pub const RACE: usize = 2;
pub const PARTICIPANT: usize = 3;
pub const HISTORY: usize = 4;
pub const RACE_BET: usize = 5;
pub const BET_REPORT: usize = 6;
pub const RACE_BET_OFFER: usize = 7;
pub const MEETING_JACKPOT: usize = 8;
pub const PAST_RUNNER: usize = 9;
pub const PERF_REPORT: usize = 10;
pub const HORSE: usize = 11;

#[derive(Debug, Default)]
struct Table {
    csv: Vec<u8>,
    rows: u64,
}

/// A number the API sent that its column cannot hold (a 2^31 age, a huge `numPmu`): the row is
/// kept with NULL there, and the value is reported with the object it came from. The raw bytes
/// stay in the lake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct OutOfRange {
    /// The lake path of the object.
    pub path: String,
    /// `staging_table.column`.
    pub column: String,
    pub value: i64,
}

/// The staging tables whose rows a second session loads, besides `past_race_runner`'s, when
/// it loads the reports, the payouts and the programme's bet offers and jackpots too
/// (`load::side`, the merges of [`crate::load::sql::SIDE_MERGES`]); the reports first (the
/// `past_race_runner` merge reads them).
pub const SIDE_TABLES: [usize; 5] = [
    PERF_REPORT,
    RACE_BET,
    BET_REPORT,
    RACE_BET_OFFER,
    MEETING_JACKPOT,
];

/// The staging tables a second session loading [`SIDE_TABLES`] gets a copy of when it runs the
/// whole merges of the bet offers and jackpots (not their insert-only forms): those delete the
/// offers and jackpots of the batch's programmes that these no longer list, and so read which
/// races and réunions the batch stages. The first session keeps them: its merges read them too.
pub const PROGRAMME_TABLES: [usize; 2] = [RACE_MEETING, RACE];

/// A batch's rows taken out of it for a second session ([`Batch::take_for_side`]): its
/// `past_race_runner` rows, and with `reports` those of [`SIDE_TABLES`].
#[derive(Debug, Default)]
pub struct SideRows {
    /// Rows sure to be new, in the columns of [`crate::load::sql::DIRECT_PAST_RUNNER`].
    pub direct: Vec<u8>,
    pub direct_rows: u64,
    /// `stg_past_runner` rows, to be merged.
    pub staged: Vec<u8>,
    pub staged_rows: u64,
    /// Without `reports`: `day,num_reunion,num_ordre` of the races whose reports the batch
    /// stages (the merge leaves them out of its "a newer report lists the row" test). With
    /// `reports`, the first session keeps them ([`Batch::reported`]): its
    /// `horse_race_history` merge needs them, and the second session has the reports whole.
    pub reported: Vec<u8>,
    /// The second session loads the rows of [`SIDE_TABLES`] too.
    pub reports: bool,
    /// With `reports`: the COPY data and row count of each of [`SIDE_TABLES`], in its order.
    pub tables: Vec<(Vec<u8>, u64)>,
    /// When asked for: a copy of the rows of each of [`PROGRAMME_TABLES`], in its order.
    pub programme: Vec<(Vec<u8>, u64)>,
}

impl SideRows {
    /// Rows of any table but the copies of [`PROGRAMME_TABLES`].
    pub fn rows(&self) -> u64 {
        self.direct_rows + self.staged_rows + self.tables.iter().map(|t| t.1).sum::<u64>()
    }
}

/// Staging rows of a batch (a day, or one object when isolating a failure): one CSV buffer per
/// entry of [`tables::ALL`], in the same order. Buffers are reused across batches.
#[derive(Debug)]
pub struct Batch {
    tables: Vec<Table>,
    /// Values stored as NULL because their column cannot hold them, in this batch.
    out_of_range: Vec<OutOfRange>,
    /// The object being added (its lake path), for [`OutOfRange::path`].
    current: String,
    /// The `stg_past_runner` rows written, until [`Batch::finish`] keeps one per key.
    past_copies: Vec<past_runners::Copy>,
    /// The fields of a past runner's copy, hashed as it is read.
    fields: past_runners::Fields,
    /// The keys of the past runners of the past race being read (a buffer kept for reuse).
    past_keys: Vec<u64>,
    /// Copies of `past_copies` not written, until [`Batch::finish`].
    unwritten: u64,
    /// `past_race_runner` rows sure to be new ([`crate::load::seen::Route::Direct`]), in the
    /// columns of [`crate::load::sql::DIRECT_PAST_RUNNER`]: copied straight into the table.
    direct: Table,
    /// `day,num_reunion,num_ordre` of each performances object that staged `stg_perf_report`
    /// rows: what the `past_race_runner` merge needs of them on a second session, or the
    /// `horse_race_history` merge on the first when the reports are on the second.
    reported: Table,
    /// Runners of races whose participants go straight into `race_participant` (see
    /// [`Batch::copy_runners_directly`]), their horses staged in `stg_horse`.
    runners: participants::DirectRunners,
    /// [`Batch::finish`] ran since the last object was added.
    finished: bool,
}

impl Default for Batch {
    fn default() -> Batch {
        Batch {
            tables: tables::ALL.iter().map(|_| Table::default()).collect(),
            out_of_range: Vec::new(),
            current: String::new(),
            past_copies: Vec::new(),
            fields: past_runners::Fields::default(),
            past_keys: Vec::new(),
            unwritten: 0,
            direct: Table::default(),
            reported: Table::default(),
            runners: participants::DirectRunners::default(),
            finished: false,
        }
    }
}

impl Batch {
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Empties every buffer, keeping their capacity.
    pub fn clear(&mut self) {
        for t in &mut self.tables {
            t.csv.clear();
            t.rows = 0;
        }
        self.out_of_range.clear();
        self.past_copies.clear();
        self.unwritten = 0;
        self.direct.csv.clear();
        self.direct.rows = 0;
        self.reported.csv.clear();
        self.reported.rows = 0;
        self.runners.clear();
        self.finished = false;
    }

    /// The values of this batch stored as NULL because their column cannot hold them.
    pub fn out_of_range(&self) -> &[OutOfRange] {
        &self.out_of_range
    }

    /// Adds the rows of one object. `key` (from the lake path) says which day, race and payload
    /// it is; `body` is the decompressed JSON. On error nothing of this object stays in the
    /// batch, and the error says why (wrong shape, invalid JSON…).
    pub fn add_object(&mut self, key: &ObjectKey, body: &[u8]) -> Result<()> {
        self.add_object_filtered(key, body, None)
    }

    /// [`Batch::add_object`], leaving out the performances rows `seen` knows PostgreSQL holds
    /// unchanged (see [`SeenPastRaces`]), and telling it the batch's races and runners.
    pub fn add_object_filtered(
        &mut self,
        key: &ObjectKey,
        body: &[u8],
        seen: Option<&mut SeenPastRaces>,
    ) -> Result<()> {
        assert!(!self.finished, "an object added to a finished batch");
        let marks: Vec<(usize, u64)> = self.tables.iter().map(|t| (t.csv.len(), t.rows)).collect();
        let (overflows, copies) = (self.out_of_range.len(), self.past_copies.len());
        let unwritten = self.unwritten;
        let runners = self.runners.mark();
        self.current = key.display_path();
        let result = self
            .add_rows(key, body, seen)
            .with_context(|| format!("rows of {}", key.display_path()));
        if result.is_ok()
            && let Some(race) = key.race
            && self.tables[PERF_REPORT].rows > marks[PERF_REPORT].1
        {
            let r = &mut self.reported;
            crate::day::push_iso(&mut r.csv, key.day.date());
            let mut n = itoa::Buffer::new();
            r.csv.push(b',');
            r.csv.extend_from_slice(n.format(race.reunion).as_bytes());
            r.csv.push(b',');
            r.csv.extend_from_slice(n.format(race.course).as_bytes());
            r.csv.push(b'\n');
            r.rows += 1;
        }
        if result.is_err() {
            for (t, (len, rows)) in self.tables.iter_mut().zip(marks) {
                t.csv.truncate(len);
                t.rows = rows;
            }
            self.out_of_range.truncate(overflows);
            self.past_copies.truncate(copies);
            self.unwritten = unwritten;
            self.runners.truncate(runners);
        }
        result
    }

    /// The COPY data (CSV, or binary for a `binary` table) and row count of staging table `i`
    /// (index into [`tables::ALL`]), once the batch is [finished](Batch::finish).
    pub fn table(&self, i: usize) -> (&[u8], u64) {
        assert!(self.finished, "staging rows read before Batch::finish");
        let t = &self.tables[i];
        (&t.csv, t.rows)
    }

    /// CSV bytes and row count of the `past_race_runner` rows to copy straight into the table
    /// ([`crate::load::sql::DIRECT_PAST_RUNNER`]), once the batch is [finished](Batch::finish).
    pub fn direct(&self) -> (&[u8], u64) {
        assert!(self.finished, "direct rows read before Batch::finish");
        (&self.direct.csv, self.direct.rows)
    }

    /// `day,num_reunion,num_ordre` of the races whose reports the batch stages, as CSV, and
    /// their count, once the batch is [finished](Batch::finish).
    pub fn reported(&self) -> (&[u8], u64) {
        assert!(self.finished, "reported races read before Batch::finish");
        (&self.reported.csv, self.reported.rows)
    }

    /// Takes the rows a second session loads out of the batch (`load::side`): the rows
    /// [`Batch::direct`] gives and the `stg_past_runner` rows; with `reports`, the rows of
    /// [`SIDE_TABLES`], else the races whose reports the batch stages. The batch then has none
    /// of them; [`Batch::put_back`] returns the buffers, for their capacity. With `programme`
    /// (and `reports`), a copy of the rows of [`PROGRAMME_TABLES`] too, which the batch keeps.
    pub fn take_for_side(&mut self, reports: bool, programme: bool) -> SideRows {
        assert!(self.finished, "rows taken before Batch::finish");
        let take = |t: &mut Table| (std::mem::take(&mut t.csv), std::mem::take(&mut t.rows));
        let (direct, direct_rows) = take(&mut self.direct);
        let (staged, staged_rows) = take(&mut self.tables[PAST_RUNNER]);
        let mut rows = SideRows {
            direct,
            direct_rows,
            staged,
            staged_rows,
            reports,
            ..SideRows::default()
        };
        if reports {
            rows.tables = SIDE_TABLES
                .iter()
                .map(|&i| take(&mut self.tables[i]))
                .collect();
            if programme {
                rows.programme = PROGRAMME_TABLES
                    .iter()
                    .map(|&i| (self.tables[i].csv.clone(), self.tables[i].rows))
                    .collect();
            }
        } else {
            rows.reported = take(&mut self.reported).0;
        }
        rows
    }

    /// Gives back the buffers of [`Batch::take_for_side`], emptied: the batch keeps having
    /// none of those rows, and reuses their capacity.
    pub fn put_back(&mut self, rows: SideRows) {
        let SideRows {
            direct,
            staged,
            reported,
            reports,
            tables,
            ..
        } = rows;
        // A buffer goes back only where the batch has none (it has none of those rows).
        let give_back = |table: &mut Table, mut csv: Vec<u8>| {
            if table.csv.is_empty() {
                csv.clear();
                table.csv = csv;
            }
        };
        give_back(&mut self.direct, direct);
        give_back(&mut self.tables[PAST_RUNNER], staged);
        if !reports {
            give_back(&mut self.reported, reported);
        }
        for (&i, (csv, _)) in SIDE_TABLES.iter().zip(tables) {
            give_back(&mut self.tables[i], csv);
        }
    }

    /// Total rows written, all tables, and a third of the copies of past runners not written
    /// (known to PostgreSQL already): what a batch's size is measured by. A copy not written
    /// takes 72 bytes until [`Batch::finish`], a written one about three times that with its
    /// row. Late in a long backfill a day of the bench writes about 8,500 rows and leaves
    /// 21,000 copies unwritten: two days a batch (one when every copy counted as a row; a first
    /// load of 600 bench days: 307 batches in 84.6 s and 92.5 MiB, against 600 in 92.8-105.0 s
    /// and 85 MiB).
    ///
    /// A runner copied straight into `race_participant` counts once, as a staged one does: its
    /// horse's row in `stg_horse` is a part of it.
    pub fn rows(&self) -> u64 {
        let staged: u64 = self.tables.iter().map(|t| t.rows).sum();
        staged - self.tables[HORSE].rows + self.runners.len() as u64 + self.unwritten / 3
    }

    fn add_rows(
        &mut self,
        key: &ObjectKey,
        body: &[u8],
        seen: Option<&mut SeenPastRaces>,
    ) -> Result<()> {
        let day = key.day.date();
        // serde would read a struct from an array by position: the root's kind is checked first.
        let (root, kind) = if key.stage == Stage::Rapports {
            (b'[', "an array")
        } else {
            (b'{', "an object")
        };
        if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&root) {
            bail!("not a {} payload: its root must be {kind}", key.stage);
        }
        // One check of the whole payload, then a parser that trusts it: serde_json checks each
        // string of a byte slice on its own (5.5 % of the reader's time in a first backfill).
        let body = std::str::from_utf8(body)
            .map_err(|e| anyhow::anyhow!("not a {} payload: not UTF-8 text ({e})", key.stage))?;
        match (key.stage, key.race) {
            (Stage::Programme, _) => {
                let p: ProgrammeResponse = serde_json::from_str(body)
                    .context("not a programme payload ({programme:{…}} expected)")?;
                self.programme(day, &p, seen);
                Ok(())
            }
            (Stage::Participants, Some(race)) => {
                let p: ParticipantsResponse = serde_json::from_str(body)
                    .context("not a participants payload ({participants:[…]} expected)")?;
                self.participants(day, race, &p, seen)
            }
            (Stage::Performances, Some(race)) => {
                let p: PerformancesResponse = serde_json::from_str(body)
                    .context("not a performances payload ({participants:[…]} expected)")?;
                self.performances(day, race, &p, seen)
            }
            (Stage::Rapports, Some(race)) => {
                let p: RapportsResponse = serde_json::from_str(body)
                    .context("not a rapports payload (an array of bet types expected)")?;
                self.rapports(day, race, &p);
                Ok(())
            }
            (stage, None) => bail!("a {stage} object must belong to a race"),
        }
    }

    /// Fails when a runner's `numPmu` does not fit `table.num_pmu` (an `integer`). That key
    /// goes to PostgreSQL in binary, which cannot carry it as sent: the writers of the payloads
    /// with runners check it before they write any row of the object or tell `seen` of any.
    fn num_pmus_fit(num_pmus: impl IntoIterator<Item = Option<i64>>, table: &str) -> Result<()> {
        if let Some(n) = num_pmus
            .into_iter()
            .flatten()
            .find(|n| i32::try_from(*n).is_err())
        {
            bail!("participants[].numPmu {n} does not fit {table}.num_pmu (an integer)");
        }
        Ok(())
    }

    fn row(&mut self, table: usize) -> Row<'_> {
        let t = &mut self.tables[table];
        t.rows += 1;
        Row::new(
            &mut t.csv,
            tables::ALL[table],
            &mut self.out_of_range,
            &self.current,
        )
    }
}

/// One CSV record being written, field by field in the declaration's column order.
struct Row<'a> {
    buf: &'a mut Vec<u8>,
    table: &'static Declaration,
    /// Index of the column the next field goes in.
    col: usize,
    out_of_range: &'a mut Vec<OutOfRange>,
    path: &'a str,
}

impl<'a> Row<'a> {
    /// Starts a record of `table` at the end of `buf` (after the binary header when `buf` is
    /// empty and the table is sent in binary).
    fn new(
        buf: &'a mut Vec<u8>,
        table: &'static Declaration,
        out_of_range: &'a mut Vec<OutOfRange>,
        path: &'a str,
    ) -> Row<'a> {
        if table.binary {
            let fields = i16::try_from(table.columns.len()).expect("fewer than 2^15 columns");
            binary::row(buf, fields);
        }
        Row {
            buf,
            table,
            col: 0,
            out_of_range,
            path,
        }
    }

    /// Starts the field of column `name`, which must be the next one of the declaration and of
    /// one of the types `tys` (checked in debug builds). Returns its declaration.
    fn field(&mut self, name: &str, tys: &[Ty]) -> Option<&'static Column> {
        let column = self.table.columns.get(self.col);
        debug_assert!(
            column.is_some_and(|c| c.name == name && tys.contains(&c.ty)),
            "{}: `{name}` ({tys:?}) written where the declaration has {:?}",
            self.table.name,
            column.map(|c| (c.name, c.ty)),
        );
        if self.col > 0 && !self.table.binary {
            self.buf.push(b',');
        }
        self.col += 1;
        column
    }

    /// The writers of the types no binary table has ([`binary::TYPES`]) write CSV only.
    fn csv_only(&self, name: &str) {
        assert!(
            !self.table.binary,
            "{}.{name}: no binary writer for its type",
            self.table.name
        );
    }

    /// A NULL field: nothing in CSV, length -1 in binary.
    fn null(&mut self) {
        if self.table.binary {
            binary::null(self.buf);
        }
    }

    /// Text, always quoted (so `""` is the empty string and never NULL). NUL bytes, which
    /// PostgreSQL text cannot hold, are dropped.
    fn text(&mut self, name: &str, v: Option<&str>) {
        self.field(name, &[Ty::Text]);
        match v {
            Some(s) if self.table.binary => binary::text(self.buf, s),
            Some(_) => self.quoted(v),
            None => self.null(),
        }
    }

    fn quoted(&mut self, v: Option<&str>) {
        let Some(s) = v else { return };
        self.buf.push(b'"');
        for b in s.bytes() {
            match b {
                b'"' => self.buf.extend_from_slice(b"\"\""),
                0 => {}
                _ => self.buf.push(b),
            }
        }
        self.buf.push(b'"');
    }

    /// Records `value`, which `column` cannot hold (the field is left NULL).
    fn too_large(&mut self, column: &str, value: i64) {
        self.out_of_range.push(OutOfRange {
            path: self.path.to_string(),
            column: format!("{}.{column}", self.table.name),
            value,
        });
    }

    /// An integer; NULL, and reported, where its value column is an `integer` too small for
    /// it. A key (a `Named` column: numPmu, R, C…) is written as sent: NULL there would lose
    /// the row anyway, and PostgreSQL's refusal names the real cause.
    ///
    /// In binary a key must fit its column: the payload's writer checks that before it writes
    /// any row of the object, and rejects the object otherwise.
    fn int(&mut self, name: &str, v: Option<i64>) {
        let column = self.field(name, &[Ty::Int, Ty::BigInt]);
        let Some(v) = v else { return self.null() };
        let int4 = column.is_some_and(|c| c.ty == Ty::Int);
        if let Some(c) = column.filter(|c| {
            c.ty == Ty::Int
                && (c.role == crate::load::sql::Role::Value || self.table.binary)
                && i32::try_from(v).is_err()
        }) {
            debug_assert!(
                c.role == crate::load::sql::Role::Value,
                "{}.{} = {v}: a key out of range reached the binary writer",
                self.table.name,
                c.name
            );
            self.too_large(c.name, v);
            return self.null();
        }
        match (self.table.binary, int4) {
            (true, true) => binary::int4(self.buf, v as i32),
            (true, false) => binary::int8(self.buf, v),
            (false, _) => self
                .buf
                .extend_from_slice(itoa::Buffer::new().format(v).as_bytes()),
        }
    }

    /// A decimal for a `numeric` column: Rust prints the shortest exact decimal, never an exponent.
    /// In binary, the same decimal as `numeric`'s binary form (see [`binary::numeric`]).
    fn num(&mut self, name: &str, v: Option<f64>) {
        self.field(name, &[Ty::Numeric]);
        let Some(v) = v.filter(|v| v.is_finite()) else {
            return self.null();
        };
        if self.table.binary {
            binary::numeric(self.buf, &v.to_string());
        } else {
            write!(self.buf, "{v}").expect("writing to a Vec");
        }
    }

    fn boolean(&mut self, name: &str, v: Option<bool>) {
        self.field(name, &[Ty::Boolean]);
        match v {
            Some(v) if self.table.binary => binary::boolean(self.buf, v),
            Some(v) => self.buf.push(if v { b't' } else { b'f' }),
            None => self.null(),
        }
    }

    fn date(&mut self, name: &str, d: NaiveDate) {
        self.field(name, &[Ty::Date]);
        if self.table.binary {
            binary::date(self.buf, d);
        } else {
            crate::day::push_iso(self.buf, d);
        }
    }

    /// Epoch milliseconds as a UTC timestamptz literal.
    fn ts_ms(&mut self, name: &str, ms: Option<i64>) {
        self.field(name, &[Ty::Timestamptz]);
        let Some(t) = ms.and_then(DateTime::<Utc>::from_timestamp_millis) else {
            return self.null();
        };
        if self.table.binary {
            binary::timestamp(self.buf, t.naive_utc());
        } else {
            crate::day::push_iso_time(self.buf, t.naive_utc(), true);
            self.buf.extend_from_slice(b"+00");
        }
    }

    /// A local time without zone as the API writes it (`2025-11-05T09:00`); NULL if unreadable.
    fn local_ts(&mut self, name: &str, v: Option<&str>) {
        self.csv_only(name);
        self.field(name, &[Ty::Timestamp]);
        let parsed = v.and_then(|s| {
            let s = s.trim();
            NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
                .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
                .ok()
        });
        if let Some(t) = parsed {
            crate::day::push_iso_time(self.buf, t, false);
        }
    }

    fn json<T: Serialize>(&mut self, name: &str, v: Option<&T>) {
        self.csv_only(name);
        self.field(name, &[Ty::Jsonb]);
        let text = v.map(|v| serde_json::to_string(v).expect("plain data serializes"));
        self.quoted(text.as_deref());
    }

    /// A PostgreSQL array literal (`{"TROT","PLAT"}`) for a `text[]` column.
    fn array(&mut self, name: &str, items: &[String]) {
        self.csv_only(name);
        self.field(name, &[Ty::TextArray]);
        let mut lit = String::from("{");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                lit.push(',');
            }
            lit.push('"');
            for ch in item.chars() {
                if matches!(ch, '"' | '\\') {
                    lit.push('\\');
                }
                lit.push(ch);
            }
            lit.push('"');
        }
        lit.push('}');
        self.quoted(Some(&lit));
    }

    /// A PostgreSQL array literal (`{25,50}`) for an `integer[]` column; NULL, and reported,
    /// when an element does not fit 32 bits.
    fn int_array(&mut self, name: &str, items: &[i64]) {
        let column = self.field(name, &[Ty::IntArray]);
        if let Some(&v) = items.iter().find(|v| i32::try_from(**v).is_err()) {
            self.too_large(column.map_or(name, |c| c.name), v);
            return self.null();
        }
        if self.table.binary {
            return binary::int4_array(self.buf, items.iter().map(|&v| v as i32));
        }
        // Quoted like any text; digits, commas and braces need no escaping.
        self.buf.extend_from_slice(b"\"{");
        let mut digits = itoa::Buffer::new();
        for (i, v) in items.iter().enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            self.buf.extend_from_slice(digits.format(*v).as_bytes());
        }
        self.buf.extend_from_slice(b"}\"");
    }

    /// `day`, `num_reunion`, `num_ordre`: the race the lake path names.
    fn race_key(&mut self, day: NaiveDate, race: RaceId) {
        self.date("day", day);
        self.int("num_reunion", Some(race.reunion.into()));
        self.int("num_ordre", Some(race.course.into()));
    }

    /// `type_pari`, `pool` (INTERNET or SHOP), `bet_type` (without `E_`).
    fn pool(&mut self, type_pari: &str) {
        let internet = is_internet_pool(type_pari);
        self.text("type_pari", Some(type_pari));
        self.text("pool", Some(if internet { "INTERNET" } else { "SHOP" }));
        self.text(
            "bet_type",
            Some(type_pari.strip_prefix("E_").unwrap_or(type_pari)),
        );
    }

    /// Ends the record; every column of the declaration must have been written (checked in
    /// debug builds).
    fn end(self) {
        debug_assert_eq!(
            self.col,
            self.table.columns.len(),
            "{}: fields written, columns declared",
            self.table.name
        );
        if !self.table.binary {
            self.buf.push(b'\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::day::Day;
    use crate::load::sql::named;

    type Fields = HashMap<String, Option<String>>;

    fn fixture(rel: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/fixtures/payloads/{rel}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn day(iso: &str) -> Day {
        iso.parse().unwrap()
    }

    fn key(iso: &str, race: Option<(i64, i64)>, stage: Stage) -> ObjectKey {
        match race {
            Some((r, c)) => ObjectKey::race(day(iso), RaceId::new(r, c).unwrap(), stage),
            None => ObjectKey::programme(day(iso)),
        }
    }

    /// The columns of a staging table, from its COPY statement.
    fn columns(table: usize) -> Vec<String> {
        let copy = crate::load::sql::STAGING[table].copy;
        let list = &copy[copy.find('(').unwrap() + 1..copy.find(')').unwrap()];
        list.split(',').map(|c| c.trim().to_string()).collect()
    }

    /// Reads CSV the way PostgreSQL's `FORMAT csv` does: an unquoted empty field is NULL.
    fn parse_pg_csv(bytes: &[u8]) -> Vec<Vec<Option<String>>> {
        let text = std::str::from_utf8(bytes).unwrap();
        let mut rows = Vec::new();
        let (mut row, mut field, mut quoted, mut in_quotes) =
            (Vec::new(), String::new(), false, false);
        let mut chars = text.chars().peekable();
        while let Some(ch) = chars.next() {
            match (in_quotes, ch) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => in_quotes = false,
                (true, c) => field.push(c),
                (false, '"') => (in_quotes, quoted) = (true, true),
                (false, ',' | '\n') => {
                    let value = std::mem::take(&mut field);
                    row.push((quoted || !value.is_empty()).then_some(value));
                    quoted = false;
                    if ch == '\n' {
                        rows.push(std::mem::take(&mut row));
                    }
                }
                (false, c) => field.push(c),
            }
        }
        assert!(
            field.is_empty() && row.is_empty(),
            "the last record is terminated"
        );
        rows
    }

    fn rows(batch: &Batch, table: usize) -> Vec<Fields> {
        let (bytes, count) = batch.table(table);
        let cols = columns(table);
        let declaration = tables::ALL[table];
        assert_eq!(
            bytes.is_empty(),
            count == 0,
            "{}: bytes without rows, or rows without bytes",
            declaration.name
        );
        let parsed = if declaration.binary {
            let types: Vec<Ty> = declaration.columns.iter().map(|c| c.ty).collect();
            binary::parse(bytes, &types)
        } else {
            let parsed = parse_pg_csv(bytes);
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(bytes);
            for (record, fields) in reader.records().zip(&parsed) {
                assert_eq!(
                    record.unwrap().len(),
                    fields.len(),
                    "the csv crate reads the same fields"
                );
            }
            parsed
        };
        assert_eq!(
            parsed.len() as u64,
            count,
            "{}: row count",
            declaration.name
        );
        parsed
            .into_iter()
            .map(|fields| {
                assert_eq!(
                    fields.len(),
                    cols.len(),
                    "{}: fields per row",
                    tables::ALL[table].name
                );
                cols.iter().cloned().zip(fields).collect()
            })
            .collect()
    }

    fn get<'a>(row: &'a Fields, col: &str) -> Option<&'a str> {
        row.get(col)
            .unwrap_or_else(|| panic!("no column {col}"))
            .as_deref()
    }

    fn find<'a>(rows: &'a [Fields], col: &str, value: &str) -> &'a Fields {
        rows.iter()
            .find(|r| get(r, col) == Some(value))
            .unwrap_or_else(|| panic!("no row with {col}={value}"))
    }

    fn loaded(objects: &[(ObjectKey, &str)]) -> Batch {
        let mut batch = Batch::new();
        for (key, rel) in objects {
            batch
                .add_object(key, &fixture(rel))
                .unwrap_or_else(|e| panic!("{rel}: {e:#}"));
        }
        batch.finish();
        batch
    }

    /// A row of `table` written with `write`, as CSV text.
    fn written(table: &'static Declaration, write: impl FnOnce(&mut Row<'_>)) -> String {
        let (mut buf, mut out_of_range) = (Vec::new(), Vec::new());
        let mut r = Row {
            buf: &mut buf,
            table,
            col: 0,
            out_of_range: &mut out_of_range,
            path: "",
        };
        write(&mut r);
        r.end();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn fields_are_written_by_name_in_the_declaration_order() {
        let ok = written(&tables::RACE_BET, |r| {
            r.race_key(
                NaiveDate::from_ymd_opt(2025, 11, 5).unwrap(),
                RaceId::new(1, 2).unwrap(),
            );
            r.pool("E_SIMPLE_GAGNANT");
            r.int("mise_base_cts", Some(150));
            r.boolean("rembourse", None);
            r.text("audience", Some("NATIONAL"));
            r.text("famille_pari", Some("Simple"));
            r.text("dividende_unite", None);
        });
        assert_eq!(
            ok,
            "2025-11-05,1,2,\"E_SIMPLE_GAGNANT\",\"INTERNET\",\"SIMPLE_GAGNANT\",150,,\"NATIONAL\",\"Simple\",\n"
        );
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(
        expected = "`famille_pari` ([Text]) written where the declaration has Some((\"audience\""
    )]
    fn two_text_columns_written_in_swapped_order_are_caught() {
        written(&tables::RACE_BET, |r| {
            r.race_key(
                NaiveDate::from_ymd_opt(2025, 11, 5).unwrap(),
                RaceId::new(1, 2).unwrap(),
            );
            r.pool("E_SIMPLE_GAGNANT");
            r.int("mise_base_cts", Some(150));
            r.boolean("rembourse", None);
            r.text("famille_pari", Some("Simple"));
            r.text("audience", Some("NATIONAL"));
            r.text("dividende_unite", None);
        });
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "stg_meeting_jackpot: fields written, columns declared")]
    fn a_column_left_out_is_caught() {
        written(&tables::MEETING_JACKPOT, |r| {
            r.date("day", NaiveDate::from_ymd_opt(2025, 11, 5).unwrap());
            r.int("num_officiel", Some(1));
        });
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "`num_officiel` ([Numeric])")]
    fn a_field_written_with_the_wrong_type_is_caught() {
        written(&tables::MEETING_JACKPOT, |r| {
            r.date("day", NaiveDate::from_ymd_opt(2025, 11, 5).unwrap());
            r.num("num_officiel", Some(1.0));
        });
    }

    #[test]
    fn a_number_its_column_cannot_hold_is_null_and_reported_and_the_row_kept() {
        let text = String::from_utf8(fixture("2025-11-05/R1C1/participants.json")).unwrap();
        let mut body: serde_json::Value = serde_json::from_str(&text).unwrap();
        body["participants"][0]["age"] = serde_json::json!(2_147_483_648_i64);
        let key = key("2025-11-05", Some((1, 1)), Stage::Participants);
        let mut batch = Batch::new();
        batch
            .add_object(&key, &serde_json::to_vec(&body).unwrap())
            .unwrap();
        batch.finish();
        let runners = rows(&batch, PARTICIPANT);
        assert_eq!(runners.len(), 6, "every runner kept");
        let num_pmu = body["participants"][0]["numPmu"].to_string();
        assert_eq!(get(find(&runners, "num_pmu", &num_pmu), "age"), None);
        assert_eq!(
            batch.out_of_range(),
            [OutOfRange {
                path: key.display_path(),
                column: "stg_participant.age".to_string(),
                value: 2_147_483_648,
            }]
        );
        batch.clear();
        assert!(batch.out_of_range().is_empty());
    }

    #[test]
    fn table_indexes_name_the_staging_tables() {
        let names: Vec<_> = tables::ALL.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "stg_daily_program",
                "stg_race_meeting",
                "stg_race",
                "stg_participant",
                "stg_history",
                "stg_race_bet",
                "stg_bet_report",
                "stg_race_bet_offer",
                "stg_meeting_jackpot",
                "stg_past_runner",
                "stg_perf_report",
                "stg_horse"
            ]
        );
        assert_eq!(
            [
                DAILY_PROGRAM,
                RACE_MEETING,
                RACE,
                PARTICIPANT,
                HISTORY,
                RACE_BET,
                BET_REPORT,
                RACE_BET_OFFER,
                MEETING_JACKPOT,
                PAST_RUNNER,
                PERF_REPORT
            ],
            [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
        );
    }

    #[test]
    fn null_and_empty_string_stay_distinct_in_the_copy_text() {
        const T: Declaration = Declaration {
            name: "stg_test",
            binary: false,
            columns: &[
                named("a", Ty::Text, "-"),
                named("b", Ty::Text, "-"),
                named("c", Ty::Text, "-"),
                named("d", Ty::Int, "-"),
                named("e", Ty::Int, "-"),
                named("f", Ty::Numeric, "-"),
                named("g", Ty::Boolean, "-"),
                named("h", Ty::TextArray, "-"),
            ],
        };
        let text = written(&T, |r| {
            r.text("a", None);
            r.text("b", Some(""));
            r.text("c", Some("a\"b,c\nd\0"));
            r.int("d", None);
            r.int("e", Some(-7));
            r.num("f", Some(3.1));
            r.boolean("g", Some(false));
            r.array("h", &["TROT".into(), "a\"b\\c".into()]);
        });
        assert_eq!(
            text,
            ",\"\",\"a\"\"b,c\nd\",,-7,3.1,f,\"{\"\"TROT\"\",\"\"a\\\"\"b\\\\c\"\"}\"\n"
        );
        let fields = &parse_pg_csv(text.as_bytes())[0];
        assert_eq!(fields[0], None);
        assert_eq!(fields[1].as_deref(), Some(""));
        assert_eq!(fields[2].as_deref(), Some("a\"b,c\nd"));
        assert_eq!(fields[3], None);
    }

    #[test]
    fn programme_gives_the_day_its_meetings_and_races_with_dead_heats_kept() {
        let b = loaded(&[(
            key("2025-11-05", None, Stage::Programme),
            "2025-11-05/programme.json",
        )]);
        let days = rows(&b, DAILY_PROGRAM);
        assert_eq!(days.len(), 1);
        assert_eq!(
            get(&days[0], "programme_date"),
            Some("2025-11-04 23:00:00.000+00")
        );
        assert_eq!(
            get(&days[0], "pmu_timestamp"),
            Some("2025-11-05 19:35:07.102+00")
        );
        let meetings = rows(&b, RACE_MEETING);
        assert_eq!(meetings.len(), 2);
        let hkg = find(&meetings, "num_officiel", "2");
        assert_eq!(
            (get(hkg, "pays_code"), get(hkg, "pays_libelle")),
            (Some("HKG"), Some("Hong-Kong"))
        );
        assert_eq!(
            get(hkg, "meteo_temperature_c"),
            None,
            "no meteo for this meeting"
        );
        let nantes = find(&meetings, "num_officiel", "1");
        assert_eq!(
            get(nantes, "specialites"),
            Some("{\"TROT_MONTE\",\"TROT_ATTELE\"}")
        );
        assert_eq!(get(nantes, "meteo_temperature_c"), Some("18"));
        let races = rows(&b, RACE);
        let keys: Vec<_> = races
            .iter()
            .map(|r| (get(r, "num_reunion"), get(r, "num_ordre")))
            .collect();
        assert_eq!(
            keys,
            [
                (Some("1"), Some("1")),
                (Some("1"), Some("2")),
                (Some("2"), Some("7"))
            ]
        );
        let r1c1 = &races[0];
        assert_eq!(get(r1c1, "ordre_arrivee"), Some("[[3,5],[1],[4]]"));
        assert_eq!(get(r1c1, "libelle"), Some("PRIX DU \"TEST\", MONTÉ"));
        assert_eq!(get(r1c1, "penetrometre_valeur"), Some("4.2"));
        assert_eq!(
            get(r1c1, "penetrometre_heure_mesure"),
            Some("2025-11-05 09:00:00")
        );
        assert_eq!(get(r1c1, "penetrometre_commentaire"), Some(""));
        assert_eq!(
            get(r1c1, "heure_depart"),
            Some("2025-11-05 12:12:00.000+00")
        );
        assert!(
            get(r1c1, "incidents")
                .unwrap()
                .contains("{\"type\":\"NON_PARTANT\",\"numeroParticipants\":[2]}")
        );
        let r1c2 = &races[1];
        assert_eq!(
            (get(r1c2, "distance"), get(r1c2, "montant_prix_eur")),
            (Some("2850"), Some("25000"))
        );
        assert_eq!(
            get(r1c2, "heure_depart"),
            Some("2025-11-05 12:50:00.000+00")
        );
        assert_eq!(get(r1c2, "ordre_arrivee"), None, "not run yet");
        assert_eq!(get(r1c2, "incidents"), None);
    }

    #[test]
    fn an_internet_offer_keeps_its_pool_and_a_stake_beyond_i32() {
        let b = loaded(&[(
            key("2025-11-05", None, Stage::Programme),
            "2025-11-05/programme.json",
        )]);
        let offers = rows(&b, RACE_BET_OFFER);
        assert_eq!(offers.len(), 1, "R1C1 offers one bet, R1C2 none");
        let e = find(&offers, "type_pari", "E_SIMPLE_GAGNANT");
        assert_eq!(
            (get(e, "num_reunion"), get(e, "num_ordre")),
            (Some("1"), Some("1"))
        );
        assert_eq!(
            (get(e, "pool"), get(e, "bet_type")),
            (Some("INTERNET"), Some("SIMPLE_GAGNANT"))
        );
        assert_eq!(
            (get(e, "mise_base_cts"), get(e, "mise_max_cts")),
            (Some("100"), Some("9999999999"))
        );
        assert_eq!(get(e, "en_vente"), None, "not sent: NULL");
    }

    #[test]
    fn offers_and_jackpots_read_lenient_numbers_and_skip_what_has_no_key() {
        let body = br#"{"programme":{"reunions":[{"numOfficiel":1,
            "cagnottes":[{"typePari":"QUINTE_PLUS","numCourse":"4","montant":1000000,"cagnotteInternet":false},
                         {"numCourse":4,"montant":5}],
            "courses":[{"numOrdre":4,
                "cagnottes":[{"typePari":"EB5","numCourse":4,"montant":1000000.0,"typeCagnotte":"GARANTI","cagnotteInternet":true}],
                "paris":[{"typePari":"SIMPLE_PLACE","miseBase":"200","miseMax":9999999999.0,"enVente":true,"cagnotte":30000,"nbChevauxReglementaire":"4","poolId":"ab-12"},
                         {"codePari":"TRIO","miseBase":100}]}]}]}}"#;
        let mut b = Batch::new();
        b.add_object(&key("2025-11-05", None, Stage::Programme), body)
            .unwrap();
        b.finish();
        let offers = rows(&b, RACE_BET_OFFER);
        assert_eq!(offers.len(), 1, "an offer without typePari has no key");
        let shop = &offers[0];
        assert_eq!(
            (get(shop, "pool"), get(shop, "bet_type")),
            (Some("SHOP"), Some("SIMPLE_PLACE"))
        );
        assert_eq!(
            (get(shop, "mise_base_cts"), get(shop, "mise_max_cts")),
            (Some("200"), Some("9999999999"))
        );
        assert_eq!(
            (get(shop, "en_vente"), get(shop, "cagnotte")),
            (Some("t"), Some("30000"))
        );
        assert_eq!(get(shop, "nb_chevaux_reglementaire"), Some("4"));
        assert_eq!(get(shop, "pool_id"), Some("ab-12"));
        let jackpots = rows(&b, MEETING_JACKPOT);
        assert_eq!(jackpots.len(), 2, "the réunion's keyed one and the race's");
        let quinte = find(&jackpots, "type_pari", "QUINTE_PLUS");
        assert_eq!(
            (get(quinte, "num_course"), get(quinte, "montant_eur")),
            (Some("4"), Some("1000000"))
        );
        assert_eq!(get(quinte, "type_cagnotte"), None);
        let eb5 = find(&jackpots, "type_pari", "EB5");
        assert_eq!(
            (get(eb5, "cagnotte_internet"), get(eb5, "type_cagnotte")),
            (Some("t"), Some("GARANTI"))
        );
    }

    #[test]
    fn a_programme_without_paris_or_cagnottes_gives_no_offer_or_jackpot_rows() {
        let b = loaded(&[(
            key("2018-01-01", None, Stage::Programme),
            "2018-01-01/programme.json",
        )]);
        assert!(b.table(RACE).1 > 0);
        assert_eq!(b.table(RACE_BET_OFFER).1, 0);
        assert_eq!(b.table(MEETING_JACKPOT).1, 0);
    }

    #[test]
    fn participants_keep_non_starters_shared_ranks_odds_and_computed_horse_ids() {
        let b = loaded(&[(
            key("2025-11-05", Some((1, 1)), Stage::Participants),
            "2025-11-05/R1C1/participants.json",
        )]);
        let runners = rows(&b, PARTICIPANT);
        assert_eq!(runners.len(), 6);
        assert!(
            runners
                .iter()
                .all(|r| get(r, "day") == Some("2025-11-05") && get(r, "num_ordre") == Some("1"))
        );
        let scratched = find(&runners, "num_pmu", "2");
        assert_eq!(
            (get(scratched, "statut"), get(scratched, "incident")),
            (Some("NON_PARTANT"), Some("NON_PARTANT"))
        );
        let winners: Vec<_> = runners
            .iter()
            .filter(|r| get(r, "ordre_arrivee") == Some("1"))
            .map(|r| get(r, "num_pmu"))
            .collect();
        assert_eq!(
            winners,
            [Some("3"), Some("5")],
            "dead heat: two runners ranked 1"
        );
        let alpha = find(&runners, "num_pmu", "1");
        assert_eq!(get(alpha, "cote_direct"), Some("3.1"));
        assert_eq!(
            get(alpha, "cote_direct_type_pari"),
            Some("E_SIMPLE_GAGNANT")
        );
        assert_eq!(get(alpha, "cote_direct_tendance"), Some(" "));
        assert_eq!(get(alpha, "cote_reference"), Some("4"));
        assert_eq!(get(alpha, "cote_reference_tendance"), Some("+"));
        assert_eq!(get(alpha, "handicap_poids_hg"), Some("570"));
        assert_eq!(get(alpha, "gains_carriere_cts"), Some("1403500"));
        assert_eq!(get(alpha, "horse_robe_code"), Some("020"));
        assert_eq!(get(alpha, "proprietaire"), Some("Ecurie \"A\""));
        assert_eq!(get(alpha, "id_cheval_computed"), Some("f"));
        let charlie = find(&runners, "num_pmu", "3");
        assert_eq!(
            (get(charlie, "cote_direct"), get(charlie, "handicap_valeur")),
            (Some("83"), Some("27.5"))
        );
        assert_eq!(get(charlie, "horse_pays"), Some("France"));
        let delta = find(&runners, "num_pmu", "4");
        assert_eq!(
            (get(delta, "age"), get(delta, "handicap_poids_hg")),
            (Some("7"), Some("575"))
        );
        let echo = find(&runners, "num_pmu", "5");
        assert_eq!(get(echo, "id_cheval"), Some("ECHO-MERE CINQ-PERE CINQ"));
        assert_eq!(get(echo, "id_cheval_computed"), Some("t"));
        assert_eq!(get(echo, "cote_direct"), None);
    }

    #[test]
    fn payloads_of_2018_get_the_horse_key_the_api_would_have_sent() {
        let b = loaded(&[(
            key("2018-01-01", Some((3, 1)), Stage::Participants),
            "2018-01-01/R3C1/participants.json",
        )]);
        let runners = rows(&b, PARTICIPANT);
        let ids: Vec<_> = runners.iter().map(|r| get(r, "id_cheval")).collect();
        assert_eq!(
            ids,
            [
                Some("CUMBIA TEST-ANABLUE-MILANAIS"),
                Some("SECOND TEST-MERE-PERE")
            ]
        );
        assert!(
            runners
                .iter()
                .all(|r| get(r, "id_cheval_computed") == Some("t"))
        );
    }

    #[test]
    fn runners_copied_directly_are_the_staged_rows_split_and_a_race_with_a_num_pmu_twice_is_staged()
    {
        let path = "2025-11-05/R1C1/participants.json";
        let k = key("2025-11-05", Some((1, 1)), Stage::Participants);
        let staged = rows(&loaded(&[(k, path)]), PARTICIPANT);
        let mut b = Batch::new();
        b.copy_runners_directly();
        b.clear(); // a batch reused keeps copying its runners directly
        b.add_object(&k, &fixture(path)).unwrap();
        b.finish();
        assert!(rows(&b, PARTICIPANT).is_empty(), "nothing staged");
        assert_eq!(b.rows(), staged.len() as u64, "a runner counts once");
        let horses = rows(&b, HORSE);
        let runners: Vec<DirectRunner<'_>> = b.direct_runners().collect();
        assert_eq!((horses.len(), runners.len()), (staged.len(), staged.len()));
        let values: Vec<&Column> = tables::PARTICIPANT
            .columns
            .iter()
            .filter(|c| c.role == crate::load::sql::Role::Value)
            .collect();
        let types: Vec<Ty> = values.iter().map(|c| c.ty).collect();
        for ((whole, horse), runner) in staged.iter().zip(&horses).zip(&runners) {
            for (name, value) in horse {
                assert_eq!(whole.get(name), Some(value), "{name}");
            }
            assert_eq!(horse.len(), tables::HORSE_COLUMNS);
            assert_eq!(get(whole, "id_cheval"), runner.horse);
            assert_eq!(get(whole, "num_pmu"), Some(&*runner.num_pmu.to_string()));
            assert_eq!((runner.day, runner.race), (k.day.date(), k.race.unwrap()));
            let mut one = binary::HEADER.to_vec();
            one.extend_from_slice(&(values.len() as i16).to_be_bytes());
            one.extend_from_slice(runner.values);
            one.extend_from_slice(&binary::TRAILER);
            let parsed = binary::parse(&one, &types).remove(0);
            for (column, value) in values.iter().zip(parsed) {
                assert_eq!(get(whole, column.name), value.as_deref(), "{}", column.name);
            }
        }

        // The same race listing its first runner twice: staged whole, for the merge.
        let mut payload: serde_json::Value = serde_json::from_slice(&fixture(path)).unwrap();
        let first = payload["participants"][0].clone();
        payload["participants"].as_array_mut().unwrap().push(first);
        b.clear();
        b.add_object(&k, &serde_json::to_vec(&payload).unwrap())
            .unwrap();
        b.finish();
        assert_eq!(b.direct_runners().len(), 0);
        assert!(rows(&b, HORSE).is_empty());
        assert_eq!(rows(&b, PARTICIPANT).len(), staged.len() + 1);
    }

    #[test]
    fn performances_stage_the_itshim_row_of_each_past_race_in_ms_and_tenths_of_kg() {
        let b = loaded(&[(
            key("2025-11-05", Some((1, 1)), Stage::Performances),
            "2025-11-05/R1C1/performances.json",
        )]);
        let past = rows(&b, HISTORY);
        assert_eq!(
            past.len(),
            4,
            "the past race without an itsHim row is not stored"
        );
        let alpha = find(&past, "nom_cheval", "ALPHA DU TEST");
        assert_eq!(get(alpha, "race_date"), Some("2025-11-01"));
        assert_eq!(get(alpha, "hippodrome"), Some("Pontchâteau"));
        assert_eq!(get(alpha, "temps_du_premier_ms"), Some("215670"));
        assert_eq!(get(alpha, "reduction_km_ms"), Some("77300"));
        assert_eq!(
            (get(alpha, "place"), get(alpha, "winner_nom")),
            (Some("4"), Some("CHARLIE"))
        );
        let galop = find(&past, "nom_prix", "PRIX GALOP");
        assert_eq!(
            get(galop, "race_date"),
            Some("2025-10-01"),
            "a summer-time Paris midnight"
        );
        assert_eq!(
            (get(galop, "place"), get(galop, "place_raw")),
            (None, Some("DP"))
        );
        assert_eq!(get(galop, "poids_jockey_hg"), Some("585"));
        assert_eq!(get(galop, "allocation_eur"), Some("12000"));
        assert_eq!(get(galop, "distance_avec_precedent"), Some("Enc"));
        let by_name = find(&past, "nom_cheval", "DELTA");
        assert_eq!(get(by_name, "num_pmu"), None, "found later by name");
    }

    #[test]
    fn each_runner_with_a_num_pmu_reports_the_keys_of_its_past_races_in_binary() {
        let b = loaded(&[(
            key("2025-11-05", Some((1, 1)), Stage::Performances),
            "2025-11-05/R1C1/performances.json",
        )]);
        let (bytes, _) = b.table(PERF_REPORT);
        assert!(
            bytes.starts_with(b"PGCOPY\n\xff\r\n\0"),
            "the binary header"
        );
        assert!(bytes.ends_with(&binary::TRAILER), "the trailer");
        let reports = rows(&b, PERF_REPORT);
        let past = rows(&b, HISTORY);
        assert!(!reports.is_empty());
        for report in &reports {
            assert_eq!(get(report, "day"), Some("2025-11-05"));
            assert_eq!(
                (get(report, "num_reunion"), get(report, "num_ordre")),
                (Some("1"), Some("1"))
            );
            // The hashes of the runner's stg_history rows, sorted: what the merges look up.
            let mut hashes: Vec<i64> = past
                .iter()
                .filter(|p| get(p, "num_pmu") == get(report, "num_pmu"))
                .map(|p| get(p, "key_hash").unwrap().parse().unwrap())
                .collect();
            hashes.sort_unstable();
            hashes.dedup();
            let listed: Vec<String> = hashes.iter().map(i64::to_string).collect();
            assert_eq!(
                get(report, "past_races"),
                Some(format!("{{{}}}", listed.join(",")).as_str()),
                "runner {:?}",
                get(report, "num_pmu")
            );
            assert!(get(report, "past_runners").is_some_and(|a| a.starts_with('{')));
        }
        assert!(
            reports
                .iter()
                .any(|r| get(r, "past_races").is_some_and(|a| a.len() > 2)),
            "some runner has past races"
        );
    }

    #[test]
    fn tables_sent_in_binary_have_only_types_with_a_binary_writer() {
        let binary: Vec<&str> = tables::ALL
            .iter()
            .filter(|t| t.binary)
            .map(|t| t.name)
            .collect();
        assert_eq!(
            binary,
            [
                "stg_participant",
                "stg_history",
                "stg_past_runner",
                "stg_perf_report",
                "stg_horse"
            ]
        );
        for t in tables::ALL.iter().filter(|t| t.binary) {
            for c in t.columns {
                assert!(
                    binary::TYPES.contains(&c.ty),
                    "{}.{}: {:?}",
                    t.name,
                    c.name,
                    c.ty
                );
            }
        }
        assert!(
            crate::load::sql::STAGING[PARTICIPANT]
                .copy
                .ends_with("(FORMAT binary)")
        );
    }

    #[test]
    fn numerics_in_binary_read_back_as_the_decimal_written() {
        for v in [
            0.0,
            -0.0,
            3.1,
            4.0,
            -1.28,
            12.5,
            0.0001,
            1234.5678,
            10000.0,
            99999.99999,
            1e21,
            -0.5,
            123456789.0,
            0.1 + 0.2,
        ] {
            let mut buf = Vec::new();
            binary::row(&mut buf, 1);
            binary::numeric(&mut buf, &v.to_string());
            buf.extend_from_slice(&binary::TRAILER);
            let text = binary::parse(&buf, &[Ty::Numeric]).remove(0).remove(0);
            let expected = if v == 0.0 {
                "0".to_string()
            } else {
                v.to_string()
            };
            assert_eq!(text.as_deref(), Some(expected.as_str()), "{v}");
        }
    }

    #[test]
    fn an_empty_list_of_past_races_is_an_empty_array_not_null() {
        let mut buf = Vec::new();
        binary::row(&mut buf, 2);
        binary::int4_array(&mut buf, std::iter::empty());
        binary::int4_array(&mut buf, [7, -3].into_iter());
        buf.extend_from_slice(&binary::TRAILER);
        let parsed = binary::parse(&buf, &[Ty::IntArray, Ty::IntArray]);
        assert_eq!(
            parsed,
            vec![vec![Some("{}".to_string()), Some("{7,-3}".to_string())]]
        );
    }

    #[test]
    fn a_num_pmu_past_32_bits_rejects_its_object_before_any_row() {
        for (stage, file, runner, num_pmu) in [
            (
                Stage::Performances,
                "performances.json",
                None,
                4_294_967_296_i64,
            ),
            (
                Stage::Participants,
                "participants.json",
                Some(1),
                -2_147_483_649_i64,
            ),
        ] {
            let text = String::from_utf8(fixture(&format!("2025-11-05/R1C1/{file}"))).unwrap();
            let mut body: serde_json::Value = serde_json::from_str(&text).unwrap();
            let last = body["participants"].as_array().unwrap().len() - 1;
            body["participants"][runner.unwrap_or(last)]["numPmu"] = serde_json::json!(num_pmu);
            let mut batch = Batch::new();
            let mut seen = SeenPastRaces::new(None);
            let key = key("2025-11-05", Some((1, 1)), stage);
            let err = batch
                .add_object_filtered(&key, &serde_json::to_vec(&body).unwrap(), Some(&mut seen))
                .unwrap_err();
            let message = format!("{err:#}");
            assert!(
                message.contains(&format!("numPmu {num_pmu}")) && message.contains("R1C1"),
                "{message}"
            );
            batch.finish();
            assert_eq!(batch.rows(), 0, "{file}: nothing of the object is staged");
        }
    }

    #[test]
    fn rapports_keep_pools_dead_heats_np_and_array_combinations() {
        let b = loaded(&[
            (
                key("2025-11-05", Some((1, 1)), Stage::Rapports),
                "2025-11-05/R1C1/rapports.json",
            ),
            (
                key("2025-11-05", Some((1, 2)), Stage::Rapports),
                "2025-11-05/R1C2/rapports.json",
            ),
        ]);
        let bets = rows(&b, RACE_BET);
        assert_eq!(bets.len(), 6);
        let pools: Vec<_> = bets
            .iter()
            .map(|r| (get(r, "type_pari"), get(r, "pool"), get(r, "bet_type")))
            .collect();
        assert_eq!(
            pools[0],
            (
                Some("E_SIMPLE_GAGNANT"),
                Some("INTERNET"),
                Some("SIMPLE_GAGNANT")
            )
        );
        assert_eq!(pools[3], (Some("EB5"), Some("INTERNET"), Some("EB5")));
        assert_eq!(
            pools[4],
            (Some("SIMPLE_GAGNANT"), Some("SHOP"), Some("SIMPLE_GAGNANT"))
        );
        let reports = rows(&b, BET_REPORT);
        assert_eq!(reports.len(), 9);
        let winners: Vec<_> = reports
            .iter()
            .filter(|r| get(r, "type_pari") == Some("E_SIMPLE_GAGNANT"))
            .map(|r| get(r, "combinaison"))
            .collect();
        assert_eq!(winners, [Some("3"), Some("5")]);
        let np = find(&reports, "combinaison", "3-NP");
        assert_eq!(
            (
                get(np, "dividende_pour_un_euro_cts"),
                get(np, "nombre_gagnants")
            ),
            (Some("0"), None)
        );
        assert_eq!(
            get(find(&reports, "combinaison", "3-5"), "nombre_gagnants"),
            Some("812.5")
        );
        assert!(
            reports
                .iter()
                .any(|r| get(r, "combinaison") == Some("5-3-1"))
        );
        let deux = find(&reports, "type_pari", "DEUX_SUR_QUATRE");
        assert_eq!(get(deux, "dividende_pour_un_euro_cts"), Some("370"));
        assert_eq!(get(deux, "dividende_unite"), Some("PourUneMiseDeBase"));
    }

    #[test]
    fn the_day_comes_from_the_lake_path_not_from_the_payload() {
        let b = loaded(&[(
            key("2025-11-06", None, Stage::Programme),
            "2025-11-05/programme.json",
        )]);
        assert!(
            rows(&b, RACE)
                .iter()
                .all(|r| get(r, "day") == Some("2025-11-06"))
        );
        assert_eq!(
            get(&rows(&b, DAILY_PROGRAM)[0], "programme_date"),
            Some("2025-11-04 23:00:00.000+00")
        );
    }

    #[test]
    fn empty_rapports_mean_not_published_yet_and_stage_nothing() {
        let mut b = Batch::new();
        b.add_object(&key("2025-11-05", Some((2, 7)), Stage::Rapports), b"[]")
            .unwrap();
        assert_eq!(b.rows(), 0);
    }

    #[test]
    fn a_rejected_object_leaves_nothing_in_the_batch() {
        let mut b = Batch::new();
        for (k, rel) in [
            (Stage::Participants, "2025-11-05/R1C1/participants.json"),
            (Stage::Performances, "2025-11-05/R1C1/performances.json"),
        ] {
            b.add_object(&key("2025-11-05", Some((1, 1)), k), &fixture(rel))
                .unwrap();
        }
        let snapshot = |b: &Batch| -> (Vec<Vec<u8>>, usize) {
            let csv = b.tables.iter().map(|t| t.csv.clone()).collect();
            (csv, b.past_copies.len())
        };
        let before = snapshot(&b);
        assert!(before.1 > 0, "the performances gave past runners");
        let cases = [
            (
                key("2025-11-05", Some((1, 1)), Stage::Rapports),
                "broken/rapports_object.json",
                "must be an array",
            ),
            (
                key("2025-11-05", Some((1, 1)), Stage::Participants),
                "broken/participants_array.json",
                "must be an object",
            ),
            (
                key("2025-11-05", None, Stage::Programme),
                "broken/programme_truncated.json",
                "programme",
            ),
            (
                key("2025-11-05", None, Stage::Programme),
                "broken/programme_unwrapped.json",
                "programme",
            ),
        ];
        for (k, rel, why) in cases {
            let err = b.add_object(&k, &fixture(rel)).expect_err(rel);
            let msg = format!("{err:#}");
            assert!(
                msg.contains(why) && msg.contains(&k.display_path()),
                "{rel}: {msg}"
            );
        }
        // A name in Latin-1 (0xE2 for "â"), as an old collector might have saved it.
        let latin1 = b"{\"participants\":[{\"numPmu\":1,\"nom\":\"CH\xE2TEAU\"}]}";
        let k = key("2025-11-05", Some((1, 1)), Stage::Participants);
        let msg = format!("{:#}", b.add_object(&k, latin1).expect_err("Latin-1"));
        assert!(
            msg.contains("not UTF-8") && msg.contains(&k.display_path()),
            "{msg}"
        );
        assert_eq!(before, snapshot(&b));
        b.finish();
        assert_eq!(b.table(PARTICIPANT).1, 6);
        b.clear();
        assert_eq!(b.rows(), 0);
    }

    #[test]
    fn a_programme_failing_after_some_rows_is_rolled_back_whole() {
        // Valid JSON up to the second réunion, whose `courses` is an object: a wrong shape.
        let body = br#"{"programme":{"date":1762297200000,"reunions":[{"numOfficiel":1,"courses":[{"numOrdre":1}]},{"numOfficiel":2,"courses":{"numOrdre":1}}]}}"#;
        let mut b = Batch::new();
        assert!(
            b.add_object(&key("2025-11-05", None, Stage::Programme), body)
                .is_err()
        );
        assert_eq!(b.rows(), 0);
    }

    #[test]
    fn participants_keep_the_full_gap_the_reference_trend_the_weight_change_and_the_silks() {
        let b = loaded(&[(
            key("2026-02-14", Some((1, 1)), Stage::Participants),
            "2026-02-14/R1C1/participants.json",
        )]);
        let runners = rows(&b, PARTICIPANT);
        let alpha = find(&runners, "num_pmu", "1");
        assert_eq!(get(alpha, "cote_reference_tendance"), Some("-"));
        assert_eq!(get(alpha, "cote_reference_tendance_pct"), Some("-1.28"));
        assert_eq!(get(alpha, "distance_cheval_precedent"), Some("3/4 L"));
        assert_eq!(get(alpha, "distance_cheval_precedent_code"), Some("33"));
        assert_eq!(
            get(alpha, "distance_cheval_precedent_identifiant"),
            Some("TROIS_QUARTS_DE_LONGUEUR")
        );
        assert_eq!(
            get(alpha, "distance_cheval_precedent_libelle_long"),
            Some("3/4 de longueur")
        );
        assert_eq!(get(alpha, "poids_condition_monte_change"), Some("t"));
        assert_eq!(
            get(alpha, "url_casaque"),
            Some("https://www.pmu.fr/back-assets/hippique/casaques/14022026/R1/C1/P1.png")
        );
        let bravo = find(&runners, "num_pmu", "2");
        assert_eq!(
            (
                get(bravo, "distance_cheval_precedent_code"),
                get(bravo, "cote_reference_tendance_pct"),
                get(bravo, "poids_condition_monte_change"),
            ),
            (Some("5"), Some("0"), Some("f")),
            "a code sent as a string, a 0.0 trend, a false flag"
        );
        let charlie = find(&runners, "num_pmu", "3");
        for col in [
            "cote_reference_tendance_pct",
            "distance_cheval_precedent_code",
            "distance_cheval_precedent_identifiant",
            "distance_cheval_precedent_libelle_long",
            "poids_condition_monte_change",
            "url_casaque",
        ] {
            assert_eq!(get(charlie, col), None, "{col}: not sent, NULL");
        }
    }

    #[test]
    fn programme_keeps_enquiries_event_bets_meeting_links_and_the_offers_jackpot_details() {
        let b = loaded(&[(
            key("2026-02-14", None, Stage::Programme),
            "2026-02-14/programme.json",
        )]);
        let meetings = rows(&b, RACE_MEETING);
        let r1 = find(&meetings, "num_officiel", "1");
        assert_eq!(
            (
                get(r1, "num_officiel_reunion_precedente"),
                get(r1, "num_officiel_reunion_suivante")
            ),
            (None, Some("3"))
        );
        let r3 = find(&meetings, "num_officiel", "3");
        assert_eq!(get(r3, "num_officiel_reunion_precedente"), Some("1"));
        let races = rows(&b, RACE);
        let c1 = find(&races, "libelle", "PRIX DE L'ENQUETE");
        assert_eq!(
            get(c1, "indicateur_evenement_arrivee_provisoire"),
            Some("ENQUETE")
        );
        assert_eq!(
            get(c1, "details_indicateur_evenement_arrivee_provisoire"),
            Some("TERMINEE AVEC MODIFICATION")
        );
        assert_eq!(get(c1, "paris_evenement"), Some("{\"PICK5\"}"));
        let c2 = find(&races, "libelle", "PRIX DU QUINTE");
        assert_eq!(
            get(c2, "paris_evenement"),
            Some("{\"E_PICK5\",\"E_QUINTE_PLUS\",\"QUINTE_PLUS\"}"),
            "sorted, each once"
        );
        assert_eq!(get(c2, "indicateur_evenement_arrivee_provisoire"), None);
        let gnt = find(&races, "libelle", "PRIX DU GNT");
        assert_eq!(
            (
                get(gnt, "num_course_dedoublee"),
                get(gnt, "grand_prix_national_trot")
            ),
            (Some("1"), Some("t"))
        );
        assert_eq!(
            get(gnt, "paris_evenement"),
            Some("{}"),
            "an event bet of another day is not this race's"
        );
        let bare = find(&races, "libelle", "PRIX SANS RIEN");
        assert_eq!(
            (
                get(bare, "num_course_dedoublee"),
                get(bare, "grand_prix_national_trot")
            ),
            (None, None)
        );
        let offers = rows(&b, RACE_BET_OFFER);
        let quinte = find(&offers, "type_pari", "QUINTE_PLUS");
        assert_eq!(get(quinte, "valeurs_flexi_autorisees"), Some("{25,50}"));
        assert_eq!(get(quinte, "valeurs_risque_autorisees"), Some("{1,2}"));
        assert_eq!(
            (
                get(quinte, "jackpot_mise_base_cts"),
                get(quinte, "jackpot_taux_numerateur"),
                get(quinte, "jackpot_taux_denominateur"),
                get(quinte, "jackpot_taux_valeur"),
            ),
            (Some("150"), Some("1"), Some("3"), None)
        );
        assert_eq!(
            (
                get(quinte, "option_max_mise_base_cts"),
                get(quinte, "option_max_taux_numerateur"),
                get(quinte, "option_max_taux_denominateur"),
            ),
            (Some("300"), Some("1"), Some("3"))
        );
        assert_eq!(
            get(quinte, "option_max_tirage"),
            Some(r#"[{"coef":2.0,"numeros":[12,13]},{"coef":10.0,"numeros":[20]}]"#),
            "coef 2.0 and 10 both as numbers"
        );
        let pick5 = find(&offers, "type_pari", "PICK5");
        assert_eq!(
            (
                get(pick5, "jackpot_mise_base_cts"),
                get(pick5, "jackpot_taux_numerateur"),
                get(pick5, "jackpot_taux_valeur"),
            ),
            (Some("200"), None, Some("25")),
            "a contribution sent as a plain number"
        );
        assert_eq!(get(pick5, "valeurs_risque_autorisees"), Some("{}"));
        assert_eq!(get(pick5, "option_max_tirage"), None);
        let simple = find(&offers, "type_pari", "E_SIMPLE_GAGNANT");
        assert_eq!(get(simple, "valeurs_flexi_autorisees"), Some("{}"));
        assert_eq!(get(simple, "jackpot_mise_base_cts"), None);
    }

    #[test]
    fn an_int_array_element_beyond_32_bits_makes_the_array_null_and_is_reported() {
        let body = br#"{"programme":{"reunions":[{"numOfficiel":1,"courses":[{"numOrdre":1,
            "paris":[{"typePari":"TRIO","valeursFlexiAutorisees":[25,4294967296]}]}]}]}}"#;
        let k = key("2026-02-14", None, Stage::Programme);
        let mut b = Batch::new();
        b.add_object(&k, body).unwrap();
        b.finish();
        let offers = rows(&b, RACE_BET_OFFER);
        assert_eq!(get(&offers[0], "valeurs_flexi_autorisees"), None);
        assert_eq!(
            b.out_of_range(),
            [OutOfRange {
                path: k.display_path(),
                column: "stg_race_bet_offer.valeurs_flexi_autorisees".to_string(),
                value: 4_294_967_296,
            }]
        );
    }

    #[test]
    fn performances_stage_every_listed_runner_of_each_past_race_and_the_reports_allure() {
        let b = loaded(&[(
            key("2026-02-14", Some((1, 1)), Stage::Performances),
            "2026-02-14/R1C1/performances.json",
        )]);
        let history = rows(&b, HISTORY);
        assert_eq!(history.len(), 3);
        assert!(history.iter().all(|r| get(r, "allure") == Some("GALOP")));
        let runners = rows(&b, PAST_RUNNER);
        assert_eq!(
            runners.len(),
            4 + 2,
            "ALPHA's two past races (a runner without a name left out); BRAVO's one is the first \
             of them, listed again: one row per runner of a past race"
        );
        assert!(
            runners
                .iter()
                .all(|r| get(r, "first_day") == Some("2026-02-14"))
        );
        let bravo = runners
            .iter()
            .find(|r| get(r, "nom_cheval") == Some("BRAVO GALOP"))
            .unwrap();
        assert_eq!(get(bravo, "race_date"), Some("2026-01-20"));
        assert_eq!(
            (get(bravo, "hippodrome"), get(bravo, "nom_prix")),
            (Some("DEAUVILLE"), Some("PRIX DE DEAUVILLE"))
        );
        assert_eq!(
            (
                get(bravo, "num_pmu"),
                get(bravo, "place"),
                get(bravo, "place_raw"),
                get(bravo, "corde"),
                get(bravo, "poids_jockey_hg"),
            ),
            (Some("7"), Some("2"), Some("2"), Some("11"), Some("560"))
        );
        assert_eq!(get(bravo, "nom_jockey"), Some("M. GUYON"));
        assert_eq!(get(bravo, "oeillere"), Some("OEILLERES_AUSTRALIENNES"));
        assert_eq!(
            (
                get(bravo, "distance_avec_precedent"),
                get(bravo, "distance_avec_precedent_long"),
                get(bravo, "distance_avec_precedent_code"),
                get(bravo, "distance_avec_precedent_identifiant"),
            ),
            (
                Some("Enc"),
                Some("une encolure"),
                Some("8"),
                Some("ENCOLURE")
            )
        );
        let third = find(&runners, "nom_cheval", "X3 THIRD");
        assert_eq!(get(third, "poids_jockey_hg"), Some("580"), "kg as a string");
        let alpha = runners
            .iter()
            .find(|r| {
                get(r, "nom_cheval") == Some("ALPHA GALOP")
                    && get(r, "nom_prix") == Some("PRIX DE DEAUVILLE")
            })
            .unwrap();
        assert_eq!(
            (
                get(alpha, "place"),
                get(alpha, "place_raw"),
                get(alpha, "status_arrivee")
            ),
            (None, Some("DP"), Some("DISQUALIFIE"))
        );
        assert_eq!(get(alpha, "distance_parcourue_m"), Some("1900"));
    }

    /// Loads `objects` as one batch through the filter `seen`, committed whole as batch `seq`:
    /// the `stg_past_runner` rows staged, the rows left out, and the copies written as CSV.
    fn through_filter(
        seen: &mut SeenPastRaces,
        seq: u64,
        objects: &[(ObjectKey, &[u8])],
    ) -> (Vec<Fields>, u64, usize) {
        let mut b = Batch::new();
        for (k, body) in objects {
            b.add_object_filtered(k, body, Some(&mut *seen)).unwrap();
        }
        let written = b.past_copies.iter().filter(|c| c.row.is_some()).count();
        b.finish_filtered(Some(&mut seen.past_runners));
        let handed = seen.hand_over(seq);
        seen.outcome(seq, true);
        (rows(&b, PAST_RUNNER), handed.runners_not_sent, written)
    }

    /// A performances payload, and the same with CHARLIE's jockey in PRIX JEAN changed.
    fn performances_and_a_jockey_changed() -> (Vec<u8>, Vec<u8>) {
        let body = fixture("2025-11-05/R1C1/performances.json");
        let changed = String::from_utf8(body.clone())
            .unwrap()
            .replace("L. DRIVER", "M. NOUVEAU")
            .into_bytes();
        assert_ne!(changed, body);
        (body, changed)
    }

    #[test]
    fn copies_the_filter_knows_are_never_written_and_win_or_lose_by_their_report() {
        let (body, changed) = performances_and_a_jockey_changed();
        let perf = |d: &str, c: i64| key(d, Some((1, c)), Stage::Performances);
        let jockeys = |staged: &[Fields]| -> Vec<String> {
            let mut j: Vec<String> = staged
                .iter()
                .map(|r| get(r, "nom_jockey").unwrap_or("").to_string())
                .collect();
            j.sort();
            j
        };
        let mut seen = SeenPastRaces::new(None);
        let (staged, left_out, written) =
            through_filter(&mut seen, 1, &[(perf("2025-11-05", 1), &body)]);
        assert_eq!((staged.len(), left_out, written), (5, 0, 7));
        // The same report a day later: PostgreSQL holds every row, and only the copy that lost
        // (ALPHA's row of PRIX JEAN as CHARLIE's report gives it, not ALPHA's own) is written.
        let (staged, left_out, written) =
            through_filter(&mut seen, 2, &[(perf("2025-11-06", 1), &body)]);
        assert_eq!((staged.len(), left_out, written), (0, 5, 1));
        // A newer report of the day (C2) changes CHARLIE's jockey in PRIX JEAN: that row is
        // staged with its values; the rest are left out. Written: that row's two copies (in
        // ALPHA's and CHARLIE's reports) and the losing copy of each report.
        let (staged, left_out, written) = through_filter(
            &mut seen,
            3,
            &[
                (perf("2025-11-07", 1), &body),
                (perf("2025-11-07", 2), &changed),
            ],
        );
        assert_eq!(jockeys(&staged), ["M. NOUVEAU"]);
        assert_eq!((left_out, written), (4, 4));
        // The other way round: the older report (C1) has the values PostgreSQL now holds, the
        // newer one (C2) the first ones, which win and are staged. C1's two copies of the row
        // are known, and not written.
        let (staged, left_out, written) = through_filter(
            &mut seen,
            4,
            &[
                (perf("2025-11-08", 1), &changed),
                (perf("2025-11-08", 2), &body),
            ],
        );
        assert_eq!(jockeys(&staged), ["L. DRIVER"]);
        assert_eq!((left_out, written), (4, 4));
        // Known values in the newer report win over values written for the older one: nothing
        // is staged, though the older report's copies of the row were written.
        let (staged, left_out, written) = through_filter(
            &mut seen,
            5,
            &[
                (perf("2025-11-09", 1), &changed),
                (perf("2025-11-09", 2), &body),
            ],
        );
        assert_eq!((staged.len(), left_out, written), (0, 5, 4));
    }

    #[test]
    fn rows_first_listed_after_the_ledgers_last_day_are_relied_on_by_the_next_batch() {
        // The ledger had days up to the 4th: a report of the 5th is newer than any loaded, so
        // what it stages is PostgreSQL's once committed, and the same report a day later
        // stages none of its past runners.
        let (body, _) = performances_and_a_jockey_changed();
        let perf = |d: &str| key(d, Some((1, 1)), Stage::Performances);
        let ledger_max = NaiveDate::from_ymd_opt(2025, 11, 4);
        let mut seen = SeenPastRaces::new(ledger_max);
        let (staged, left_out, _) = through_filter(&mut seen, 1, &[(perf("2025-11-05"), &body)]);
        assert_eq!((staged.len(), left_out), (5, 0));
        let (staged, left_out, _) = through_filter(&mut seen, 2, &[(perf("2025-11-06"), &body)]);
        assert_eq!((staged.len(), left_out), (0, 5));
    }

    #[test]
    fn direct_and_staged_past_runners_are_the_rows_of_the_batch() {
        // past_race_runner's key.
        const KEY: [&str; 4] = ["race_date", "hippodrome", "nom_prix", "nom_cheval"];
        let (first, changed) = performances_and_a_jockey_changed();
        let other = fixture("2026-02-14/R1C1/performances.json");
        let perf = |d: &str, c: i64| key(d, Some((1, c)), Stage::Performances);
        let mut seen = SeenPastRaces::new(None);
        seen.past_runners.into_empty_table();
        let (staged, _, _) = through_filter(&mut seen, 1, &[(perf("2025-11-05", 1), &first)]);
        assert!(staged.is_empty(), "every key is new: sent direct");
        // A key sent before, with new values, is staged; the keys never sent go direct. The
        // staged row wins from the second object, its row written after others: it moves down
        // the buffer, and its first_day is the first object's.
        let objects = [
            (perf("2025-11-06", 1), changed.as_slice()),
            (perf("2025-11-07", 1), changed.as_slice()),
            (perf("2025-11-07", 2), other.as_slice()),
        ];
        let mut b = Batch::new();
        for (k, body) in &objects {
            b.add_object_filtered(k, body, Some(&mut seen)).unwrap();
        }
        b.finish_filtered(Some(&mut seen.past_runners));
        let staged = rows(&b, PAST_RUNNER);
        let (bytes, count) = b.direct();
        let direct_names: Vec<String> = KEY
            .into_iter()
            .chain(["first_day"])
            .chain(tables::PAST_RUNNER.values())
            .map(String::from)
            .collect();
        let column = |name: &str| {
            let c = tables::PAST_RUNNER.columns.iter().find(|c| c.name == name);
            c.map_or(Ty::Date, |c| c.ty) // first_day: reported_on, a date
        };
        let direct_types: Vec<Ty> = direct_names.iter().map(|n| column(n)).collect();
        let direct: Vec<Fields> = binary::parse(bytes, &direct_types)
            .into_iter()
            .map(|r| direct_names.iter().cloned().zip(r).collect())
            .collect();
        assert_eq!(direct.len() as u64, count);
        // The same objects without a filter: every row staged, as the merge would take them.
        let mut all = Batch::new();
        for (k, body) in &objects {
            all.add_object(k, body).unwrap();
        }
        all.finish();
        let all = rows(&all, PAST_RUNNER);
        let key_of = |r: &Fields| -> Vec<Option<String>> {
            KEY.iter().map(|c| get(r, c).map(String::from)).collect()
        };
        assert_eq!(
            staged
                .iter()
                .map(|r| ["nom_jockey", "day", "first_day"].map(|c| get(r, c)))
                .collect::<Vec<_>>(),
            [[Some("M. NOUVEAU"), Some("2025-11-07"), Some("2025-11-06")]]
        );
        // The rest, known unchanged since the first batch, are left out.
        let left_out = seen.hand_over(2).runners_not_sent as usize;
        assert_eq!((staged.len(), direct.len(), left_out), (1, 6, 4));
        assert_eq!(staged.len() + direct.len() + left_out, all.len());
        for row in staged.iter().chain(&direct) {
            let whole = all
                .iter()
                .find(|a| key_of(a) == key_of(row))
                .expect("a row of the batch");
            for (column, value) in row {
                assert_eq!(
                    whole.get(column),
                    Some(value),
                    "{column} of {:?}",
                    key_of(row)
                );
            }
        }
    }

    #[test]
    fn trot_past_runners_keep_their_times_in_ms_and_their_nulls() {
        let b = loaded(&[(
            key("2025-11-05", Some((1, 1)), Stage::Performances),
            "2025-11-05/R1C1/performances.json",
        )]);
        let runners = rows(&b, PAST_RUNNER);
        assert_eq!(
            runners.len(),
            5,
            "every named runner of each past race, once, with or without itsHim"
        );
        let charlie = runners
            .iter()
            .find(|r| {
                get(r, "nom_cheval") == Some("CHARLIE")
                    && get(r, "nom_prix") == Some("PRIX JEAN (Grp A)")
            })
            .unwrap();
        // ALPHA DU TEST in that race: its own report (itsHim, 7730 cs a km) wins over CHARLIE's
        // report of the same race, which has no time for it.
        let alpha = runners
            .iter()
            .find(|r| get(r, "nom_cheval") == Some("ALPHA DU TEST"))
            .unwrap();
        assert_eq!(get(alpha, "reduction_km_ms"), Some("77300"));
        assert_eq!(get(charlie, "reduction_km_ms"), Some("77000"));
        assert_eq!(
            (get(charlie, "num_pmu"), get(charlie, "corde")),
            (None, None)
        );
        let autre = find(&runners, "nom_cheval", "AUTRE");
        assert_eq!(
            get(autre, "nom_prix"),
            Some("PRIX SANS LUI"),
            "a past race without an itsHim row still has runners"
        );
    }
}
