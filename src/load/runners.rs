//! The runners of a first backfill, copied straight into `race_participant` with the ids of
//! their races and horses (`load::rows::participants` says which runners, and why they cannot
//! conflict with anything).
//!
//! The batch's transaction reads the ids once its `horse` merge has run: those of the races of
//! the batch's days (`race`, merged before) and those the merge left in `stg_horse_id` for
//! every horse the batch staged. Each runner's row, as the reader wrote it, follows its race's
//! id, its `numPmu` and its horse's id: what the insert-only `race_participant` merge would
//! have inserted, without staging the runner and reading it back. A runner whose race is not
//! in `race` is an orphan, left out and counted, as the merge does.

use std::collections::HashMap;
use std::io::Write as _;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use postgres::{Row, Transaction};

use super::plans::Plans;
use super::report::TableCounts;
use super::rows::{Batch, DirectRunner, binary};
use super::sql::{self, tables};
use super::{COPY_PIECE, Refused, micros};

/// The ids of races, by their day, R and C.
#[derive(Debug, Default)]
pub struct RaceIds(HashMap<(NaiveDate, i32, i32), i64>);

impl RaceIds {
    /// Records the race of `day`, R `reunion`, C `ordre` as `id`.
    pub fn insert(&mut self, id: i64, day: NaiveDate, reunion: i32, ordre: i32) {
        self.0.insert((day, reunion, ordre), id);
    }

    /// The races of the days from `first` to `last` as `tx` sees them ([`sql::BATCH_RACE_IDS`]).
    pub fn read(tx: &mut Transaction<'_>, first: NaiveDate, last: NaiveDate) -> Result<RaceIds> {
        let rows = race_rows(tx, &first.to_string(), &last.to_string())?;
        let mut races = RaceIds::default();
        for r in &rows {
            races.insert(r.get(0), parse_day(r.get(1))?, r.get(2), r.get(3));
        }
        Ok(races)
    }

    fn get(&self, day: NaiveDate, reunion: i32, ordre: i32) -> Option<i64> {
        self.0.get(&(day, reunion, ordre)).copied()
    }
}

/// (id, day as text, R, C) of the races of the days from `first` to `last` (ISO dates), as `tx`
/// sees them ([`sql::BATCH_RACE_IDS`]).
pub fn race_rows(tx: &mut Transaction<'_>, first: &str, last: &str) -> Result<Vec<Row>> {
    tx.query(sql::BATCH_RACE_IDS, &[&first, &last])
        .context("reading the ids of the batch's races")
}

/// A day as `date::text` writes it.
pub fn parse_day(text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").with_context(|| format!("a race's day {text:?}"))
}

/// Copies the batch's direct runners into `race_participant`, once its `horse` merge has run
/// in `tx`; `races` holds the ids of its races, if they were read already. Returns the counts
/// of `race_participant`, as its merge would have given them.
pub fn copy(
    tx: &mut Transaction<'_>,
    plans: &mut Plans,
    batch: &Batch,
    races: Option<RaceIds>,
) -> Result<TableCounts> {
    let started = Instant::now();
    let runners = batch.direct_runners();
    let races = match races {
        Some(races) => races,
        None => {
            let days = || batch.direct_runners().map(|r| r.day);
            let (first, last) = (days().min(), days().max());
            let (Some(first), Some(last)) = (first, last) else {
                return Ok(TableCounts::default());
            };
            RaceIds::read(tx, first, last)?
        }
    };
    let rows = tx
        .query(sql::BATCH_HORSE_IDS, &[])
        .context("reading the ids of the batch's horses")?;
    let horses: HashMap<&str, i64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let fields = i16::try_from(3 + tables::PARTICIPANT.columns.len() - tables::HORSE_COLUMNS)
        .expect("fewer than 2^15 columns");
    let race_of = |r: &DirectRunner<'_>| {
        races.get(r.day, i32::from(r.race.reunion), i32::from(r.race.course))
    };
    let read = runners.len() as u64;
    let placed = batch
        .direct_runners()
        .filter(|r| race_of(r).is_some())
        .count() as u64;
    if placed > 0 {
        let copy: &'static str = &sql::DIRECT_PARTICIPANT;
        let mut writer = plans
            .get(tx, copy)
            .and_then(|statement| tx.copy_in(&statement))
            .context("starting COPY into race_participant")?;
        let mut buf = Vec::with_capacity(2 * COPY_PIECE);
        buf.extend_from_slice(binary::HEADER);
        for runner in runners {
            let Some(race_id) = race_of(&runner) else {
                continue;
            };
            // The field count (binary::row would add the header again to an emptied buffer).
            buf.extend_from_slice(&fields.to_be_bytes());
            binary::int8(&mut buf, race_id);
            binary::int4(&mut buf, runner.num_pmu);
            // Every horse the batch staged has an id once its merge ran (the merge's LEFT JOIN
            // would give NULL otherwise).
            match runner.horse.and_then(|h| horses.get(h)) {
                Some(&horse_id) => binary::int8(&mut buf, horse_id),
                None => binary::null(&mut buf),
            }
            buf.extend_from_slice(runner.values);
            if buf.len() >= COPY_PIECE {
                writer
                    .write_all(&buf)
                    .context("sending rows to race_participant")?;
                buf.clear();
            }
        }
        buf.extend_from_slice(&binary::TRAILER);
        writer
            .write_all(&buf)
            .context("sending rows to race_participant")?;
        writer
            .finish()
            .map_err(|e| Refused::new("COPY into race_participant".to_string(), &e))?;
    }
    let mut counts = TableCounts::direct(placed, micros(started));
    counts.read = read;
    counts.orphaned = read - placed;
    Ok(counts)
}
