//! SQL text of the load, all constants: the staging tables, the COPY statements that fill them,
//! and the set-based merges from staging into the target tables.
//!
//! Each staging table is declared once, in [`tables`]: its columns in COPY order, their types,
//! and where each value comes from. The staging `CREATE TEMP TABLE`, the COPY column list, the
//! merges' column lists (`{values}`, see [`expand`]) and the row writers' column checks
//! (`load::rows`) are derived from that declaration; the merges themselves are formatted SQL
//! files under `load/sql/`.
//!
//! Contract with `load/mod.rs` (the machinery):
//! - `STAGING[i].create` is run once per session (temp tables, `ON COMMIT DELETE ROWS`).
//! - For each staging table with rows, `STAGING[i].copy` (`COPY … FROM STDIN …`) is fed the
//!   bytes that [`crate::load::rows::Batch`] produced for table `i`.
//! - Then every statement of `MERGES`, in order, inside the same transaction. Each returns exactly
//!   one row of four `bigint`: (read, inserted, updated, orphaned) for its target table: `read`
//!   is the number of distinct staged rows for that target, `orphaned` those that could not be
//!   attached (no parent row, e.g. participants of a race whose programme is not loaded);
//!   unchanged = read − inserted − updated − orphaned.
//!
//! COPY format: CSV, PostgreSQL's defaults (`,`, `"` doubled inside quotes, NULL = an unquoted
//! empty field). `load::rows` quotes every non-NULL text value, so `""` is the empty string and an
//! empty unquoted field is NULL: the two never meet. The tables declared [`Table::binary`] are
//! sent in PostgreSQL's binary COPY format instead (`load::rows::binary`).
//!
//! Merges are `INSERT … SELECT … ON CONFLICT (natural key) DO UPDATE … WHERE (target) IS
//! DISTINCT FROM (excluded)`: an unchanged row is not written at all. Staged rows are deduplicated
//! per natural key first (`DISTINCT ON` / `GROUP BY`), and parents are found by joins on natural
//! keys (day, R, C → race; idCheval → horse; numPmu or name → the race's runner → horse). Inserted
//! vs updated comes from `xmax = 0` on the returned rows.
//!
//! `horse_race_history`, the largest target, is merged differently: most of its staged rows are
//! past races the table already holds (every performances object repeats a horse's last runs).
//! Its merge looks each distinct past race up once by its natural key (a `LEFT JOIN` on the
//! unique index), then inserts the ones not found with a plain `INSERT` and updates the ones
//! found with other values by `id`. An unchanged row is neither written nor locked, and the new
//! rows skip `ON CONFLICT`'s speculative insertion (110,000 past races took 2.2 s to insert
//! with it, 1.5 s without, on the bench machine). This
//! is safe because a load holds the load lock (`load::LOAD_LOCK_KEY`): no other load inserts
//! between the lookup and the insert. The runners a past performance hangs from are looked up for
//! the batch's races only (by the race key and the `(race_id, num_pmu)` index), not joined over
//! the whole `race_participant` table. Rows the loader already knows unchanged are not even
//! staged (`load::seen`).
//!
//! Update rules: most targets take the staged values (one lake object owns each row).
//! `horse`, which several objects describe, takes its attributes whole from one participants
//! row, the horse's latest: the greatest (day, num_reunion, num_ordre, num_pmu), then the greatest
//! text of the attributes among duplicates of one race. The row's race is kept in
//! `horse.source_*`; a staged row replaces the stored attributes when its key is at least the
//! stored one (equal: a re-fetched object of that race, a correction), never when it is older;
//! `id_cheval_computed` stays the AND of every payload seen. The horse lookup before the insert
//! is safe under the load lock, as for `horse_race_history` below.
//!
//! `horse_race_history` and `past_race_runner` hold what the newest loaded report says: a past
//! race's row (a runner's row) takes the values of the report with the greatest (day,
//! num_reunion, num_ordre) among the loaded reports that list it, and its `reported_on` is the
//! first day a loaded report listed it, whatever the values. Both are functions of the set of
//! objects loaded, whatever their order or batches. Within a batch the newest report's values
//! win: the `horse_race_history` merge keeps the newest of the staged copies of each key (their
//! horse is only known there), with the first day any of them was listed on; for
//! `past_race_runner` the reader thread stages one row per runner of a past race, the winning
//! copy (between reports of one race that disagree, the one of the report's own horse,
//! `itsHim`), with the batch's first day (`load::rows::past_runners`). Against the stored row,
//! the batch's values win unless a report loaded before the batch and newer than the batch's is
//! known to list the row: `performance_report` keeps, for each runner's report loaded, 32-bit
//! hashes of the keys of the rows it gave (see `load::rows::performances::KeyHash`), so the
//! merges look that up, only for a row whose stored values differ, among the reports of the
//! row's horse (`horse_race_history`), or of the horses that ran the past race
//! (`past_race_runner`, found through their `horse_race_history` rows by `race_date`). So a day
//! filled in later between two loaded days that disagree with it does not override the newer
//! one. A report of a runner without `numPmu` is not recorded, and so never counts as newer.
//! `load::seen` leaves out `stg_history` rows PostgreSQL holds unchanged, and
//! `load::seen::SeenRunners` the `stg_past_runner` rows an earlier batch of the load committed
//! with the same values.
//!
//! The merge into a table that was empty as the load began runs without its deletions and
//! conflict clauses, as a plain insert, for every table whose rows one lake object each writes
//! (the programme's, the runners', the reports' and the payouts'; [`INSERT_ONLY`]): nothing can
//! conflict in them.
//!
//! When `past_race_runner` was empty as the load began (a first backfill), a runner of a past
//! race whose key the load never sent cannot conflict with anything: it is copied straight into
//! the table ([`DIRECT_PAST_RUNNER`]), with what the merge would have inserted. That skips
//! staging and the merge's probe for most of the largest table (`load::sent`). These rows, and
//! the `past_race_runner` merge of the staged ones, go to a second session while the first one
//! runs the other merges (`load::side`); without a second session, the rows known new are copied
//! before the merges, in the batch's transaction. With the foreign keys set aside, the second
//! session runs the merges of [`SIDE_MERGES`] too, in forms that join the ids of the batch's
//! races and réunions it is given ([`on_side`]).
//!
//! When `race_participant` was empty as the load began, a race's runners are not staged either
//! (unless the race lists a `numPmu` twice, which the merge settles): their horses' columns go
//! to `stg_horse`, which the `horse` merge reads beside `stg_participant`, and each runner's
//! row is copied straight into `race_participant` with the ids of its race and horse, read once
//! that merge ran ([`DIRECT_PARTICIPANT`], `load::runners`).
//!
//! A refreshed object is the whole truth about its race: runners a participants object no longer
//! lists, and bets or paid combinations a non-empty rapports object no longer lists, are deleted
//! by the `race_participant` and `bet_report` merges (an empty rapports `[]` stages nothing and
//! deletes nothing). Likewise a programme is the whole truth about the races and réunions it
//! lists: bet offers of its races and jackpots of its réunions it no longer lists are deleted by
//! the `race_bet_offer` and `meeting_jackpot` merges. Deletions are not part of the four counts.
//!
//! Every merge follows the same pattern, written out in full in its `.sql` file so that the SQL
//! reads as it runs; only the list of a table's value columns is filled in from its declaration.
//! The row writers of `load::rows` write each field by column name, and a debug assertion checks
//! the names against the declaration's order; `tests/corpus.rs` runs every merge on PostgreSQL.

use std::ops::Deref;
use std::sync::LazyLock;

pub mod tables;

/// The SQL type of a staging column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Date,
    /// `integer`: 32 bits. A larger number is stored as NULL and reported (`rows::OutOfRange`).
    Int,
    BigInt,
    Numeric,
    Text,
    TextArray,
    /// `integer[]`: a value beyond 32 bits makes the whole array NULL, and is reported.
    IntArray,
    Boolean,
    Timestamptz,
    /// `timestamp` without zone: a local time as the API sends it.
    Timestamp,
    Jsonb,
}

impl Ty {
    pub const fn sql(self) -> &'static str {
        match self {
            Ty::Date => "date",
            Ty::Int => "integer",
            Ty::BigInt => "bigint",
            Ty::Numeric => "numeric",
            Ty::Text => "text",
            Ty::TextArray => "text[]",
            Ty::IntArray => "integer[]",
            Ty::Boolean => "boolean",
            Ty::Timestamptz => "timestamptz",
            Ty::Timestamp => "timestamp",
            Ty::Jsonb => "jsonb",
        }
    }
}

/// What the merge does with a staging column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Read by name in the merge file: the row's key, its parents' keys, or input of another
    /// target (the horse columns of `stg_participant`).
    Named,
    /// One of the merge's `{values}`: copied into the target's column of the same name,
    /// compared (`IS DISTINCT FROM`) and updated.
    Value,
}

/// One column of a staging table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub ty: Ty,
    pub role: Role,
    /// Where the value comes from in the payload, and its unit.
    pub doc: &'static str,
}

/// A column the merge reads by name (see [`Role::Named`]).
pub const fn named(name: &'static str, ty: Ty, doc: &'static str) -> Column {
    Column {
        name,
        ty,
        role: Role::Named,
        doc,
    }
}

/// A column of the merge's `{values}` (see [`Role::Value`]).
pub const fn value(name: &'static str, ty: Ty, doc: &'static str) -> Column {
    Column {
        name,
        ty,
        role: Role::Value,
        doc,
    }
}

/// The declaration of one staging table: its columns in COPY order.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    /// Its rows are sent in PostgreSQL's binary COPY format (`load::rows::binary`), not CSV.
    pub binary: bool,
    pub columns: &'static [Column],
}

impl Table {
    /// `CREATE TEMP TABLE IF NOT EXISTS …`, one column a line.
    pub fn create_sql(&self) -> String {
        let columns: Vec<String> = self
            .columns
            .iter()
            .map(|c| format!("    {} {}", c.name, c.ty.sql()))
            .collect();
        format!(
            "CREATE TEMP TABLE IF NOT EXISTS {} (\n{}\n) ON COMMIT DELETE ROWS",
            self.name,
            columns.join(",\n")
        )
    }

    /// `COPY … FROM STDIN` with every column, in declaration order.
    pub fn copy_sql(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|c| c.name).collect();
        format!(
            "COPY {} ({}) FROM STDIN (FORMAT {})",
            self.name,
            names.join(", "),
            if self.binary { "binary" } else { "csv" }
        )
    }

    /// The names of the [`Role::Value`] columns, in order.
    pub fn values(&self) -> impl Iterator<Item = &'static str> + use<> {
        let columns = self.columns;
        columns
            .iter()
            .filter(|c| c.role == Role::Value)
            .map(|c| c.name)
    }
}

/// One staging table.
#[derive(Debug)]
pub struct StagingTable {
    pub name: &'static str,
    pub create: &'static str,
    pub copy: &'static str,
}

/// One merge statement into a target table.
#[derive(Debug, Clone, Copy)]
pub struct Merge {
    /// The target table, as reports name it (`race`, `horse_race_history`, …).
    pub target: &'static str,
    pub sql: &'static str,
    /// Whether the session keeps the statement prepared, and so its plan, from batch to batch
    /// (see [`KEPT_PLANS`]).
    pub keep_plan: bool,
    /// The merge as a plain insert, for a load that began with the tables of [`INSERT_ONLY`]
    /// empty (see [`insert_only`]).
    pub insert_only: Option<&'static str>,
}

/// Merges that have an insert-only form, and the tables that must all have been empty when the
/// load began for it to be used.
///
/// A day's programme, and a race's participants, performances and payouts, are one lake object
/// each, which a load reads at most once: loaded into a table that was empty as the load began,
/// none of a batch's staged keys can be in the table already, and no row of a staged day, race
/// or meeting can have gone from its object. So the `ON CONFLICT … DO UPDATE` and the deletions
/// of rows an object no longer lists are left out ([`insert_only`]), and the merge is an
/// `INSERT … SELECT` of the same rows (each merge already keeps one staged row per key: an
/// `ON CONFLICT DO UPDATE` refuses a key twice too). In first loads of 600 bench days,
/// alternating, the merges of `race_participant`, `performance_report` and `bet_report` took
/// 28.0 and 24.8 s with them, 19.1 and 21.0 s without. `bet_report` needs `race_bet` empty too:
/// its merge deletes the bets a payouts object no longer lists. Were the premise ever wrong, the
/// unique keys would refuse the batch, which then loads object by object like any refused
/// batch: a loud failure, never a wrong row. `horse`, `horse_race_history` and
/// `past_race_runner` are not here: several objects write each of their rows.
pub const INSERT_ONLY: [(&str, &[&str]); 9] = [
    ("daily_program", &["daily_program"]),
    ("race_meeting", &["race_meeting"]),
    ("race", &["race"]),
    ("race_bet_offer", &["race_bet_offer"]),
    ("meeting_jackpot", &["meeting_jackpot"]),
    ("race_participant", &["race_participant"]),
    ("performance_report", &["performance_report"]),
    ("race_bet", &["race_bet"]),
    ("bet_report", &["race_bet", "bet_report"]),
];

/// The merges a session prepares once and plans again only now and then (`load::plans`): those
/// of the programme and the bets, a few hundred rows a batch, whose parse and plan were about
/// half their time (30 bench days, first load: `race` 40 ms of parse and plan for 37 ms of
/// running, in all). The merges of the runners and their past races are planned for each
/// batch: their plans depend most on the sizes of their inputs, which vary from batch to batch,
/// and planning is a few percent of their time. Kept for all of them, a plan of the
/// `horse_race_history` merge made on one batch once took 2.5 times as long on the next ones.
pub const KEPT_PLANS: [&str; 6] = [
    "daily_program",
    "race_meeting",
    "race",
    "race_bet_offer",
    "meeting_jackpot",
    "race_bet",
];

/// Settings of the load's session, run once before the staging tables are created.
///
/// `jit = off`: each merge is a short statement over one day of rows, but its cost estimate is
/// above `jit_above_cost`, so PostgreSQL compiled it with LLVM on every call, which took longer
/// than running it (about 90 ms of JIT for a 300 ms `horse_race_history` merge; with JIT off the
/// merges of a 30-day bench ran about 1.5× faster). The session setting leaves the server's
/// default untouched for other clients.
///
/// `work_mem = 32MB`: a batch of several days (25,000 staged rows by default) groups and sorts
/// its past races in about 11 MB; at the default 4 MB the `horse_race_history` merge spilled
/// both to disk (about 120 ms of a 580 ms merge; about 100 ms in memory). Sorts and hashes of a
/// merge stay far below the setting, which only bounds them.
///
/// `synchronous_commit = off`: a batch's commit does not wait for its WAL to reach disk (the
/// COMMITs of an 89 s first load of 300 days, a day a batch, took 3.6 s with the wait and 2.2 s
/// without; the rest is emptying the staging tables). Atomicity is untouched: a server crash
/// may forget the last batches committed (under a second of them), data and ledger rows
/// together, and the next load loads them again. Before the load reports success it waits for
/// all of it to be on disk ([`FLUSH`]), so a load that returned is durable as with synchronous
/// commits.
///
/// Measured and left alone: `ANALYZE` of the staging tables (autovacuum never analyzes temp tables,
/// but the plans for a day, from the tables' physical size, were the same with and without it,
/// and it costs a statement per table per day).
pub const SESSION: &str = "SET jit = off; SET work_mem = '32MB'; SET synchronous_commit = off";

/// How the staging tables end a transaction, as their statements create them.
pub const DELETED_AT_COMMIT: &str = "ON COMMIT DELETE ROWS";

/// The name of the temp table a `CREATE TEMP TABLE IF NOT EXISTS` statement creates.
pub fn temp_table_name(statement: &str) -> Option<&str> {
    let rest = statement.strip_prefix("CREATE TEMP TABLE IF NOT EXISTS ")?;
    rest.split([' ', '(', '\n'])
        .next()
        .filter(|name| !name.is_empty())
}

/// The ids of a batch's horses, written by the `horse` merge for the `race_participant` merge
/// that follows it (one hash join there, where an index probe of `horse` per runner, through
/// the versions each batch's update leaves, was about a quarter of that merge). In first loads
/// of 600 bench days: 12.3 and 13.6 s of `race_participant` merge against 14.7 and 15.0 s, for
/// 0.2 s more of `horse` merge. Created with the staging tables and emptied with them.
///
/// Keyed by `id_cheval` (the `horse` merge writes each staged horse once). Once `race` has
/// statistics, the planner expects the staged runners' join with `race` to give one row, and
/// without the key it scanned this whole table once per runner (a day's 938 runners against
/// its 919 horses: 861,084 rows thrown away per day); with the key it probes it. Loading 30
/// days one by one into 600 bench days, analyzed: the `race_participant` merge took 1.21 s
/// against 2.73 s, and 0.43 s against 2.54 s when the same days loaded again. First loads,
/// which hash-join it, are unchanged (600 days: 83.6 and 91.0 s against 93.8 and 88.0 s).
pub const HORSE_IDS: &str = "CREATE TEMP TABLE IF NOT EXISTS stg_horse_id (
    id_cheval text PRIMARY KEY,
    horse_id bigint NOT NULL
) ON COMMIT DELETE ROWS";

/// Run once the batches are committed. The staging tables are dropped first (the end of the
/// session would drop them, writing WAL after the load returned); then a transaction that takes
/// a transaction id commits with a WAL record, and with `synchronous_commit` back on its commit
/// waits until the WAL up to that record, every batch's commit included, is on disk.
/// `txid_current()` rather than `pg_current_xact_id()`: the same on every supported server
/// (the latter is PostgreSQL 13+).
pub const FLUSH: &str =
    "DISCARD TEMP; SET synchronous_commit = on; BEGIN; SELECT txid_current(); COMMIT";

/// The staging tables, in the order of [`tables::ALL`]: a constant that dereferences to the
/// statements derived once from the declarations (so `STAGING[i]`, `STAGING.iter()` and
/// `for t in STAGING` all work).
pub const STAGING: Staging = Staging;

/// The merges, in the order they run: the files under `load/sql/` with their `{values}` filled
/// in (see [`expand`]). Dereferences like [`STAGING`].
pub const MERGES: Merges = Merges;

/// Each merge: its target, the staging table whose declaration fills its `{values}`, its file.
/// The order is the order they run in (parents before children).
const MERGE_FILES: [(&str, &Table, &str); 12] = [
    (
        "daily_program",
        &tables::DAILY_PROGRAM,
        include_str!("sql/daily_program.sql"),
    ),
    (
        "race_meeting",
        &tables::RACE_MEETING,
        include_str!("sql/race_meeting.sql"),
    ),
    ("race", &tables::RACE, include_str!("sql/race.sql")),
    (
        "race_bet_offer",
        &tables::RACE_BET_OFFER,
        include_str!("sql/race_bet_offer.sql"),
    ),
    (
        "meeting_jackpot",
        &tables::MEETING_JACKPOT,
        include_str!("sql/meeting_jackpot.sql"),
    ),
    ("horse", &tables::PARTICIPANT, include_str!("sql/horse.sql")),
    (
        "race_participant",
        &tables::PARTICIPANT,
        include_str!("sql/race_participant.sql"),
    ),
    (
        "performance_report",
        &tables::PERF_REPORT,
        include_str!("sql/performance_report.sql"),
    ),
    (
        "horse_race_history",
        &tables::HISTORY,
        include_str!("sql/horse_race_history.sql"),
    ),
    (
        "past_race_runner",
        &tables::PAST_RUNNER,
        include_str!("sql/past_race_runner.sql"),
    ),
    (
        "race_bet",
        &tables::RACE_BET,
        include_str!("sql/race_bet.sql"),
    ),
    (
        "bet_report",
        &tables::BET_REPORT,
        include_str!("sql/bet_report.sql"),
    ),
];

/// `COPY past_race_runner (…) FROM STDIN`: the rows a first backfill knows new, the binary rows
/// of `stg_past_runner` without their first four fields (day, R, C, first_day) and `key_hash`,
/// and with `reported_on` (the row's first day) after the key: (race_date, hippodrome,
/// nom_prix, nom_cheval, reported_on, then the values in declaration order).
pub static DIRECT_PAST_RUNNER: LazyLock<String> = LazyLock::new(|| {
    let values: Vec<&str> = tables::PAST_RUNNER.values().collect();
    format!(
        "COPY past_race_runner (race_date, hippodrome, nom_prix, nom_cheval, reported_on, {}) \
         FROM STDIN (FORMAT binary)",
        values.join(", ")
    )
});

/// `COPY race_participant (…) FROM STDIN`: the runners of a first backfill, whose table was
/// empty as the load began (`load::rows::participants`), with the ids of their race and horse
/// the batch's transaction read after its `horse` merge: (race_id, num_pmu, horse_id, then the
/// values of `stg_participant` in declaration order), what the insert-only merge would have
/// inserted.
pub static DIRECT_PARTICIPANT: LazyLock<String> = LazyLock::new(|| {
    let values: Vec<&str> = tables::PARTICIPANT.values().collect();
    format!(
        "COPY race_participant (race_id, num_pmu, horse_id, {}) FROM STDIN (FORMAT binary)",
        values.join(", ")
    )
});

/// In the batch's transaction, after its `horse` merge: the id of each horse it staged (the
/// rows that merge leaves in `stg_horse_id`), for [`DIRECT_PARTICIPANT`].
pub const BATCH_HORSE_IDS: &str = "SELECT id_cheval, horse_id FROM stg_horse_id";

/// The merges a second session runs after its `past_race_runner` ones, in a first backfill
/// whose foreign keys are set aside (`load::side`): the rows of the runners' reports, of the
/// payouts and of the programme's bet offers and jackpots need nothing of their batch but the
/// ids of its races and réunions.
pub const SIDE_MERGES: [&str; 5] = [
    "race_bet_offer",
    "meeting_jackpot",
    "performance_report",
    "race_bet",
    "bet_report",
];

/// The second session's copy of the ids of a batch's races, as the first session's `race` merge
/// left them: the merges of [`SIDE_MERGES`] join it where the first session joins `race`, whose
/// rows of the batch the second session cannot see (they are not committed yet). Keyed as
/// `race` is, so that the joins probe it.
pub const RACE_IDS: &str = "CREATE TEMP TABLE IF NOT EXISTS stg_race_id (
    id bigint NOT NULL,
    day date,
    num_reunion integer,
    num_ordre integer,
    PRIMARY KEY (day, num_reunion, num_ordre)
) ON COMMIT DELETE ROWS";
pub const COPY_RACE_IDS: &str =
    "COPY stg_race_id (id, day, num_reunion, num_ordre) FROM STDIN (FORMAT csv)";

/// The same for the réunions (`race_meeting`), which the `meeting_jackpot` merge joins.
pub const MEETING_IDS: &str = "CREATE TEMP TABLE IF NOT EXISTS stg_meeting_id (
    id bigint NOT NULL,
    day date,
    num_officiel integer,
    PRIMARY KEY (day, num_officiel)
) ON COMMIT DELETE ROWS";
pub const COPY_MEETING_IDS: &str =
    "COPY stg_meeting_id (id, day, num_officiel) FROM STDIN (FORMAT csv)";

/// In the first session, once its `race` merge ran: the races of the days from a batch's first
/// to its last (every staged row's race is of its object's day), for [`COPY_RACE_IDS`].
pub const BATCH_RACE_IDS: &str = "SELECT id, day::text, num_reunion, num_ordre FROM race
    WHERE day BETWEEN $1::text::date AND $2::text::date";

/// And the réunions of those days (merged before the races), for [`COPY_MEETING_IDS`].
pub const BATCH_MEETING_IDS: &str = "SELECT id, day::text, num_officiel FROM race_meeting
    WHERE day BETWEEN $1::text::date AND $2::text::date";

/// How the merges join a race and a réunion, and how their second session's forms do
/// ([`on_side`]).
const SIDE_JOINS: [(&str, &str); 2] = [
    ("JOIN race r ON ", "JOIN stg_race_id r ON "),
    ("JOIN race_meeting m ON ", "JOIN stg_meeting_id m ON "),
];

/// Each text of the merges of [`SIDE_MERGES`] (both forms), with its second session's form.
static SIDE_SQL: LazyLock<Vec<(&'static str, &'static str)>> = LazyLock::new(|| {
    MERGE_SQL
        .iter()
        .filter(|m| SIDE_MERGES.contains(&m.target))
        .flat_map(|m| [Some(m.sql), m.insert_only].into_iter().flatten())
        .map(|sql| {
            let side = SIDE_JOINS
                .iter()
                .fold(sql.to_string(), |side, (here, there)| {
                    side.replace(here, there)
                });
            assert!(
                side != sql
                    && !side.contains(" race r")
                    && !side.contains("FROM race ")
                    && !side.contains(" race_meeting m")
                    && !side.contains("FROM race_meeting "),
                "a merge of the second session still reads race or race_meeting"
            );
            (sql, &*String::leak(side))
        })
        .collect()
});

/// `merge`, one of [`SIDE_MERGES`] in either form, as the second session runs it: its races
/// joined from `stg_race_id` instead of `race`, the same rows otherwise. `None` for another.
pub fn on_side(merge: &Merge) -> Option<Merge> {
    SIDE_SQL
        .iter()
        .find(|(sql, _)| *sql == merge.sql)
        .map(|(_, side)| Merge {
            sql: side,
            ..*merge
        })
}

static STAGING_SQL: LazyLock<Vec<StagingTable>> = LazyLock::new(|| {
    tables::ALL
        .iter()
        .map(|t| StagingTable {
            name: t.name,
            create: String::leak(t.create_sql()),
            copy: String::leak(t.copy_sql()),
        })
        .collect()
});

static MERGE_SQL: LazyLock<Vec<Merge>> = LazyLock::new(|| {
    MERGE_FILES
        .iter()
        .map(|(target, table, file)| Merge {
            target,
            sql: String::leak(expand(file, table)),
            keep_plan: KEPT_PLANS.contains(target),
            insert_only: INSERT_ONLY
                .iter()
                .any(|(t, _)| t == target)
                .then(|| &*String::leak(insert_only(target, &expand(file, table)))),
        })
        .collect()
});

/// See [`STAGING`]. The texts are built once per process and live as long as it does.
#[derive(Debug, Clone, Copy)]
pub struct Staging;

impl Deref for Staging {
    type Target = [StagingTable];
    fn deref(&self) -> &'static [StagingTable] {
        &STAGING_SQL
    }
}

impl IntoIterator for Staging {
    type Item = &'static StagingTable;
    type IntoIter = std::slice::Iter<'static, StagingTable>;
    fn into_iter(self) -> Self::IntoIter {
        STAGING_SQL.iter()
    }
}

/// See [`MERGES`].
#[derive(Debug, Clone, Copy)]
pub struct Merges;

impl Deref for Merges {
    type Target = [Merge];
    fn deref(&self) -> &'static [Merge] {
        &MERGE_SQL
    }
}

impl IntoIterator for Merges {
    type Item = &'static Merge;
    type IntoIter = std::slice::Iter<'static, Merge>;
    fn into_iter(self) -> Self::IntoIter {
        MERGE_SQL.iter()
    }
}

/// A merge file with its placeholders filled in from `table`'s declaration: `{values}` becomes
/// the names of its [`Role::Value`] columns (`a, b, c`), `{x.values}` the same names qualified
/// (`x.a, x.b, x.c`). There must be at least two value columns wherever a file writes
/// `SET ({values}) = (…)`: PostgreSQL reads a one-column `(a) = (x)` differently.
///
/// Panics on any other `{…}`: the files are part of the program, and every one is expanded by
/// the tests.
pub fn expand(template: &str, table: &Table) -> String {
    let mut out = String::with_capacity(template.len() * 2);
    let mut rest = template.trim_end();
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..]
            .find('}')
            .map(|i| open + i)
            .unwrap_or_else(|| panic!("{}: an unclosed {{ in a merge file", table.name));
        let placeholder = &rest[open + 1..close];
        let prefix = match placeholder.strip_suffix("values") {
            Some("") => String::new(),
            Some(p) if p.ends_with('.') && p[..p.len() - 1].chars().all(is_ident) => p.into(),
            _ => panic!("{}: unknown placeholder {{{placeholder}}}", table.name),
        };
        let names: Vec<String> = table.values().map(|v| format!("{prefix}{v}")).collect();
        out.push_str(&names.join(", "));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// `merge` (the merge into `target`) without its deletions (the `gone…` statements and the
/// `staged_…` ones they read) and without `ON CONFLICT`: the rows it would insert, inserted, and
/// its four counts as before (everything inserted). The merge files write each of their
/// statements as `name AS (` … `),` from the line's start, and the insert's conflict clause
/// from `ON CONFLICT` to `RETURNING (t.xmax = 0) AS inserted`.
///
/// Panics when the text does not read that way: the files are part of the program, and the
/// tests derive every insert-only form.
pub fn insert_only(target: &str, merge: &str) -> String {
    let mut kept = String::with_capacity(merge.len());
    let mut skipping = false;
    for line in merge.lines() {
        let statement = line.strip_prefix("WITH ").unwrap_or(line);
        if let Some(name) = statement.strip_suffix(" AS (")
            && !line.starts_with(' ')
        {
            skipping = name.starts_with("gone") || name.starts_with("staged_");
        }
        if !skipping {
            kept.push_str(line);
            kept.push('\n');
        } else if line == ")," {
            skipping = false;
        }
    }
    const FROM: &str = "\n    ON CONFLICT ";
    const TO: &str = "RETURNING (t.xmax = 0) AS inserted";
    let (Some(start), Some(end)) = (kept.find(FROM), kept.find(TO)) else {
        panic!("{target}: no ON CONFLICT … {TO} in its merge");
    };
    let out = format!(
        "{}\n    RETURNING true AS inserted{}",
        &kept[..start],
        &kept[end + TO.len()..]
    );
    assert!(
        !out.contains("DELETE") && !out.contains("CONFLICT") && !out.contains("gone"),
        "{target}: a deletion or a conflict clause left in its insert-only merge"
    );
    out.trim_end().to_string()
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether the statement `sql` names the table `name` (as a whole word: `stg_race` is not
/// `stg_race_id`).
pub fn names_table(sql: &str, name: &str) -> bool {
    sql.match_indices(name).any(|(at, _)| {
        let before = sql[..at].chars().next_back();
        let after = sql[at + name.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_tables_are_named_and_emptied_at_commit_as_the_second_session_expects() {
        // The second session keeps its tables' rows across commits by rewriting the clause,
        // and empties them by these names (load::side).
        let mut creates: Vec<(&str, &str)> = STAGING.iter().map(|t| (t.create, t.name)).collect();
        creates.extend([
            (RACE_IDS, "stg_race_id"),
            (MEETING_IDS, "stg_meeting_id"),
            (HORSE_IDS, "stg_horse_id"),
        ]);
        for (create, name) in creates {
            assert_eq!(temp_table_name(create), Some(name), "{create}");
            assert_eq!(create.matches(DELETED_AT_COMMIT).count(), 1, "{create}");
        }
        assert_eq!(temp_table_name(SESSION), None);
    }

    #[test]
    fn staging_texts_come_from_the_declaration() {
        const T: Table = Table {
            name: "stg_x",
            binary: false,
            columns: &[
                named("day", Ty::Date, ""),
                value("n", Ty::Int, ""),
                value("v", Ty::TextArray, ""),
            ],
        };
        let t = &T;
        assert_eq!(
            t.create_sql(),
            "CREATE TEMP TABLE IF NOT EXISTS stg_x (\n    day date,\n    n integer,\n    v text[]\n) ON COMMIT DELETE ROWS"
        );
        assert_eq!(
            t.copy_sql(),
            "COPY stg_x (day, n, v) FROM STDIN (FORMAT csv)"
        );
        let names: Vec<&str> = STAGING.iter().map(|s| s.name).collect();
        let declared: Vec<&str> = tables::ALL.iter().map(|t| t.name).collect();
        assert_eq!(names, declared);
    }

    #[test]
    fn values_placeholders_expand_to_the_value_columns() {
        const T: Table = Table {
            name: "stg_x",
            binary: false,
            columns: &[
                named("k", Ty::Int, ""),
                value("a", Ty::Text, ""),
                value("b", Ty::Int, ""),
            ],
        };
        let t = &T;
        assert_eq!(
            expand(
                "SET ({values}) = ({EXCLUDED.values}) WHERE ({t.values}) IS\n",
                t
            ),
            "SET (a, b) = (EXCLUDED.a, EXCLUDED.b) WHERE (t.a, t.b) IS"
        );
        assert!(std::panic::catch_unwind(|| expand("x {value}", t)).is_err());
        assert!(std::panic::catch_unwind(|| expand("x {a b.values}", t)).is_err());
        assert!(std::panic::catch_unwind(|| expand("x {values", t)).is_err());
    }

    #[test]
    fn every_merge_expands_and_reads_as_formatted_sql() {
        for m in MERGES {
            assert!(!m.sql.contains('{'), "{}: a placeholder left", m.target);
        }
        for (target, _, file) in MERGE_FILES {
            for (i, line) in file.lines().enumerate() {
                assert!(
                    line.len() <= 110,
                    "{target}.sql:{}: {} characters",
                    i + 1,
                    line.len()
                );
            }
        }
        let participant = MERGES
            .iter()
            .find(|m| m.target == "race_participant")
            .unwrap();
        assert!(
            participant
                .sql
                .contains("(t.horse_id, t.nom, t.age, t.sexe,")
        );
    }

    #[test]
    fn insert_only_merges_are_the_merges_without_deletions_or_conflicts() {
        for (target, tables) in INSERT_ONLY {
            let merge = MERGES.iter().find(|m| m.target == target).unwrap();
            assert!(tables.contains(&target));
            let plain = merge
                .insert_only
                .expect("derived for every INSERT_ONLY target");
            assert!(merge.sql.contains("ON CONFLICT"));
            assert!(!plain.contains("DELETE") && !plain.contains("ON CONFLICT"));
            assert!(plain.contains(&format!("INSERT INTO {target} AS t (")));
            // Lines taken out, one put in: the rest is the merge's, in its order.
            let mut lines = merge.sql.lines();
            for line in plain
                .lines()
                .filter(|l| *l != "    RETURNING true AS inserted")
            {
                assert!(
                    lines.any(|l| l == line),
                    "{target}: {line:?} is not the merge's"
                );
            }
            assert!(plain.ends_with(merge.sql.lines().last().unwrap()));
        }
        let kept = MERGES.iter().filter(|m| m.insert_only.is_some()).count();
        assert_eq!(kept, INSERT_ONLY.len());
        // A CTE named gone… goes with its closing line; the others stay whole.
        let derived = insert_only(
            "x",
            "WITH src AS (\n    SELECT 1\n),\ngone AS (\n    DELETE FROM x\n),\nup AS (\n    INSERT INTO x AS t SELECT 1\n    ON CONFLICT (a) DO UPDATE\n    SET b = 1\n    RETURNING (t.xmax = 0) AS inserted\n)\nSELECT 1",
        );
        assert_eq!(
            derived,
            "WITH src AS (\n    SELECT 1\n),\nup AS (\n    INSERT INTO x AS t SELECT 1\n    RETURNING true AS inserted\n)\nSELECT 1"
        );
    }

    #[test]
    fn the_second_sessions_merges_join_the_ids_it_is_given_where_the_merges_join_race_or_race_meeting()
     {
        for merge in MERGES.iter() {
            let forms = [Some(merge.sql), merge.insert_only];
            for sql in forms.into_iter().flatten() {
                let form = Merge { sql, ..*merge };
                let Some(side) = on_side(&form) else {
                    assert!(!SIDE_MERGES.contains(&merge.target), "{}", merge.target);
                    continue;
                };
                assert!(SIDE_MERGES.contains(&merge.target), "{}", merge.target);
                assert_eq!(side.target, merge.target);
                let count = |sql: &str, pattern: &str| sql.matches(pattern).count();
                let here: usize = SIDE_JOINS.iter().map(|(h, _)| count(sql, h)).sum();
                assert!(here > 0, "{}", merge.target);
                let there: usize = SIDE_JOINS.iter().map(|(_, t)| count(side.sql, t)).sum();
                assert_eq!(there, here, "{}", merge.target);
                // Nothing else changed.
                let back = SIDE_JOINS
                    .iter()
                    .fold(side.sql.to_string(), |back, (h, t)| back.replace(t, h));
                assert_eq!(back, sql);
            }
        }
        // Each merge in its two forms.
        assert_eq!(SIDE_SQL.len(), 2 * SIDE_MERGES.len());
    }

    #[test]
    fn stg_horse_has_the_horse_columns_of_stg_participant_which_the_horse_merge_reads_alike() {
        let named: Vec<&Column> = tables::PARTICIPANT
            .columns
            .iter()
            .filter(|c| c.role == Role::Named)
            .collect();
        assert_eq!(tables::HORSE.columns.iter().collect::<Vec<_>>(), named);
        let names: Vec<&str> = named.iter().map(|c| c.name).collect();
        let horse = MERGES.iter().find(|m| m.target == "horse").unwrap().sql;
        let words = horse.split_whitespace().collect::<Vec<_>>().join(" ");
        let union = format!(
            "SELECT {} FROM stg_participant -- The runners a first backfill copies straight into race_participant: the same columns. UNION ALL SELECT * FROM stg_horse",
            names.join(", ")
        );
        assert!(words.contains(&union), "{words}");
    }

    #[test]
    fn declarations_name_each_column_once_named_first_and_document_it() {
        for t in tables::ALL {
            let mut names: Vec<&str> = t.columns.iter().map(|c| c.name).collect();
            let first_value = t.columns.iter().position(|c| c.role == Role::Value);
            let last_named = t.columns.iter().rposition(|c| c.role == Role::Named);
            assert!(
                first_value.is_none_or(|v| last_named < Some(v)),
                "{}: named columns come first",
                t.name
            );
            // stg_horse has no merge of its own: the horse merge reads its columns by name.
            assert!(
                t.values().count() >= 2 || (t.name == "stg_horse" && t.values().count() == 0),
                "{}: SET (…) = (…) needs two values",
                t.name
            );
            assert!(
                t.columns.iter().all(|c| !c.doc.is_empty()),
                "{}: undocumented",
                t.name
            );
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), t.columns.len(), "{}: a column twice", t.name);
        }
    }
}
