//! What a first backfill sets aside and puts back when it ends, as `pg_restore` does and for
//! the same reason: the foreign keys of the loaded tables, put back validated, and the one
//! index no statement of the load reads, built again in one sort.
//!
//! Each row inserted into a table with a foreign key makes PostgreSQL look its parent up and
//! lock it (`SELECT … FOR KEY SHARE`, a trigger per row). The merges already find every parent
//! by joining it, so for the load these checks only repeat what it knows. In a first load of
//! 300 bench days they were about 18 % of the first session's CPU (`perf`: the after-row
//! triggers' queries); loading with the keys dropped took 62.0 and 55.0 s against 66.8 and
//! 60.7 s with them, and the `race_participant` merge 9.3 and 8.1 s against 11.9 and 11.2 s.
//! Adding a key back checks every row of its table in one join: about 0.1 s a key for those
//! 300 days.
//!
//! [`INDEXES`]: `past_race_runner (nom_cheval)`, for the users' queries by a runner's name. The
//! largest table's rows come in the order of their past races, so each one inserts its name at
//! a random place of that index, whose pages outgrow the server's cache as the table grows.
//! Without it, the `past_race_runner` rows of 600 bench days took 24.3 and 25.5 s to load
//! against 33.9 and 32.5 s with it, and building it afterwards 1.4 s; at 3,000 days, 100.1 s
//! against 163.2 s, and 6.2 s to build. The load reads the table by its unique key only, which
//! stays: setting that one aside too (a `race_date` index for the merge's probe meanwhile,
//! the key added back at the end) saved nothing at 600 days.
//!
//! Only in a first backfill (the same condition as the second session, `load::side`): a daily
//! load into a full database would spend far more validating the keys and building the index
//! than it saves. And only when the load's role owns the tables: otherwise they stay, and the
//! load is as before. Until the end of the backfill, queries by a runner's name scan the table.
//!
//! Never lost: the keys and the index are dropped in one transaction, before any batch, and
//! added back at the end of the load, whether it succeeded or not. A load killed in between
//! leaves them missing; every load starts, under the load lock, by adding back whichever is
//! missing ([`restore`]; not `migrate`, which could do it under a backfill that is running). A
//! key is added `NOT VALID` first (a committed constraint, checking every row written from then
//! on), then validated: if validation fails (rows without their parent, which the load does not
//! write), the key stays, not validated, a warning names it, and the next load tries again.
//!
//! The keys and the index are written out here as the migrations create them (the keys' names
//! are PostgreSQL's defaults); tests compare them with the schema the migrations give.

use anyhow::{Context, Result};
use postgres::GenericClient;

/// One foreign key of the schema: `table (column) REFERENCES parent (id)`.
#[derive(Debug)]
pub struct ForeignKey {
    pub table: &'static str,
    pub name: &'static str,
    drop: &'static str,
    add: &'static str,
    validate: &'static str,
}

macro_rules! foreign_key {
    ($table:literal, $column:literal, $parent:literal) => {
        ForeignKey {
            table: $table,
            name: concat!($table, "_", $column, "_fkey"),
            drop: concat!(
                "ALTER TABLE ",
                $table,
                " DROP CONSTRAINT IF EXISTS ",
                $table,
                "_",
                $column,
                "_fkey"
            ),
            add: concat!(
                "ALTER TABLE ",
                $table,
                " ADD CONSTRAINT ",
                $table,
                "_",
                $column,
                "_fkey ",
                "FOREIGN KEY (",
                $column,
                ") REFERENCES ",
                $parent,
                " (id) NOT VALID"
            ),
            validate: concat!(
                "ALTER TABLE ",
                $table,
                " VALIDATE CONSTRAINT ",
                $table,
                "_",
                $column,
                "_fkey"
            ),
        }
    };
}

/// Every foreign key of the loaded tables (migrations 0001, 0003 and 0009).
pub const FOREIGN_KEYS: [ForeignKey; 10] = [
    foreign_key!("race_meeting", "daily_program_id", "daily_program"),
    foreign_key!("race", "race_meeting_id", "race_meeting"),
    foreign_key!("race_participant", "race_id", "race"),
    foreign_key!("race_participant", "horse_id", "horse"),
    foreign_key!("horse_race_history", "horse_id", "horse"),
    foreign_key!("race_bet", "race_id", "race"),
    foreign_key!("bet_report", "race_bet_id", "race_bet"),
    foreign_key!("race_bet_offer", "race_id", "race"),
    foreign_key!("meeting_jackpot", "race_meeting_id", "race_meeting"),
    foreign_key!("performance_report", "race_id", "race"),
];

/// An index of the schema that no statement of the load reads.
#[derive(Debug)]
pub struct Index {
    pub table: &'static str,
    pub name: &'static str,
    drop: &'static str,
    create: &'static str,
}

/// Every index set aside (migration 0008).
pub const INDEXES: [Index; 1] = [Index {
    table: "past_race_runner",
    name: "past_race_runner_nom_cheval",
    drop: "DROP INDEX IF EXISTS past_race_runner_nom_cheval",
    create: "CREATE INDEX past_race_runner_nom_cheval ON past_race_runner (nom_cheval)",
}];

/// How long dropping the keys and the index waits for the tables' locks (a reader of the
/// tables holds one) before the load goes on with them in place.
const DROP_LOCK_WAIT: &str = "SET LOCAL lock_timeout = '5s'";

/// Drops every key and index, in one transaction. `Ok(false)` (all untouched) when PostgreSQL
/// refuses: the role does not own the tables, or a reader held them past [`DROP_LOCK_WAIT`].
pub fn set_aside(client: &mut postgres::Client) -> Result<bool> {
    const DOING: &str = "setting the foreign keys and indexes aside";
    let mut tx = client.transaction().context(DOING)?;
    let dropped = tx.batch_execute(DROP_LOCK_WAIT).and_then(|()| {
        let keys = FOREIGN_KEYS.iter().map(|key| key.drop);
        let indexes = INDEXES.iter().map(|index| index.drop);
        keys.chain(indexes)
            .try_for_each(|drop| tx.batch_execute(drop))
    });
    match dropped {
        Ok(()) => {
            tx.commit().context(DOING)?;
            Ok(true)
        }
        Err(e) if e.as_db_error().is_some() => {
            eprintln!(
                "pmu-lake: loading with the foreign keys and indexes in place: {}",
                crate::load::db_error(&e)
            );
            Ok(false)
        }
        Err(e) => Err(e).context(DOING),
    }
}

/// Adds back every key that is missing, and validates every key that is not validated.
/// PostgreSQL refusing to add a key is an error; refusing to validate one (rows without their
/// parent, which a load does not write) leaves it in place, not validated, and is one line of
/// the returned warnings, naming it: the load's own rows are not in question.
pub fn restore(client: &mut impl GenericClient) -> Result<Vec<String>> {
    // Name -> validated, for the keys there are: one query, at the start of every load. The
    // tables are found as every statement of the load finds them, through `search_path` (a
    // schema other than `public` is the user's to choose).
    let tables: Vec<&str> = FOREIGN_KEYS.iter().map(|key| key.table).collect();
    let present: Vec<(String, bool)> = client
        .query(
            "SELECT conname::text, convalidated FROM pg_constraint
             WHERE contype = 'f'
               AND conrelid IN (SELECT to_regclass(t) FROM unnest($1::text[]) t)",
            &[&tables],
        )
        .context("looking for the foreign keys")?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let mut warnings = Vec::new();
    for key in &FOREIGN_KEYS {
        let state = present
            .iter()
            .find(|(name, _)| name == key.name)
            .map(|&(_, validated)| validated);
        if state.is_none() {
            client
                .batch_execute(key.add)
                .with_context(|| format!("adding back the foreign key {}", key.name))?;
        }
        if state != Some(true)
            && let Err(e) = client.batch_execute(key.validate)
        {
            warnings.push(format!(
                "the foreign key {} stays not validated: rows of {} without their parent? {}",
                key.name,
                key.table,
                crate::load::db_error(&e)
            ));
        }
    }
    Ok(warnings)
}

/// Builds every index of [`INDEXES`] that is missing.
pub fn restore_indexes(client: &mut impl GenericClient) -> Result<()> {
    let names: Vec<&str> = INDEXES.iter().map(|index| index.name).collect();
    // Found as the tables are, through `search_path`.
    let missing: Vec<String> = client
        .query(
            "SELECT name FROM unnest($1::text[]) name WHERE to_regclass(name) IS NULL",
            &[&names],
        )
        .context("looking for the indexes")?
        .iter()
        .map(|row| row.get(0))
        .collect();
    for index in INDEXES
        .iter()
        .filter(|i| missing.iter().any(|m| m == i.name))
    {
        client
            .batch_execute(index.create)
            .with_context(|| format!("building the index {} again", index.name))?;
    }
    Ok(())
}
