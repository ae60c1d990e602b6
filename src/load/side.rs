//! A second PostgreSQL session for `past_race_runner`, the largest table, in a first backfill
//! (the table was empty as the load began): its own thread copies a batch's rows known new
//! straight into the table (runners whose key the load never sent, see `load::sent`), then
//! stages and merges the batch's other runners, while the first session copies the batch's
//! other staging rows and runs the other merges. In a first load of 300 bench days, that is
//! 18.9 s of COPY and 5.8 s of staging and merging out of 60.7 s of statements on one session;
//! the two sessions run on two cores.
//!
//! When the foreign keys are set aside too (`load::aside`: the load's role owns the tables),
//! this session also loads the runners' reports, the payouts and the programme's bet offers and
//! jackpots (`performance_report`, `race_bet`, `bet_report`, `race_bet_offer`,
//! `meeting_jackpot`: [`sql::SIDE_MERGES`]), which need nothing of their batch but the ids of
//! its races and réunions. The first session reads those ids once its `race` merge has run
//! ([`sql::BATCH_RACE_IDS`], [`sql::BATCH_MEETING_IDS`]) and hands them over; this session
//! copies them into `stg_race_id` and `stg_meeting_id`, which its forms of those merges join
//! where the first session's join `race` and `race_meeting` ([`sql::on_side`]), whose rows of
//! the batch it cannot see. Without the keys set aside that cannot be: the keys of these rows
//! would not find their parents, not committed yet. With the first session the bottleneck (at
//! full size its statements took about 440 s of a 460 s load, this session's 285 s), the
//! reports and payouts moved about a sixth of its work here. First loads of 600 bench days,
//! alternated: 93.9, 88.1 and 83.0 s against 95.3, 96.8 and 86.5 s. It still was: in a first
//! load of 600 bench days, the first session's statements took about 42 s, this one's 36 s, and
//! the first session ran alone at the end of each batch while this one waited to commit (a
//! sampler of the threads' states: only the first session running in 8.7 % of a 300-day load).
//! The bet offers and jackpots moved here too: 44.9, 45.4 and 46.6 s against 46.4 and 45.5 s
//! (and 53.0, the first run, after a pause). The whole forms of their merges (a load into tables
//! that were not empty) delete what a refreshed programme no longer lists, and read which races
//! and réunions the batch stages: this session is then given a copy of those staging rows.
//!
//! The `past_race_runner` merge reads, besides that table, the reports committed before the
//! batch (`horse_race_history`, `race_participant`, `race`, `performance_report`) to know
//! whether a newer one lists a row, and leaves out the reports of the races the batch stages.
//! It sees here what it sees in the first session: the committed rows, and none of the batch's
//! own reports (here they are not visible yet: the first session's, or this session's, merged
//! after it; there it leaves them out by the races in `stg_perf_report`, which this session
//! gets whole when it loads the reports, else as `day, num_reunion, num_ordre` only). The
//! first session's `horse_race_history` merge, which leaves them out the same way, gets those
//! races alone when the reports are here.
//!
//! Each batch is two transactions. Each session does all its work first (staging, merges,
//! ledger rows); only when both succeeded do they commit (this session's staging tables are
//! emptied as its transactions begin rather than at its commits, which the first session waits
//! for: see [`KEPT`]), in an order that depends on where the ledger rows are:
//! - with `past_race_runner` alone here, the first session writes every ledger row, and this
//!   session commits first: a load killed between the two commits leaves in `past_race_runner`
//!   the runners of its last batch without their ledger rows, and the next load reads those
//!   objects again and finds the rows there with the same values (the table is no longer
//!   empty, so they go through the merge, which leaves them unchanged);
//! - with the reports here, this session writes the ledger rows of the programme, performances
//!   and rapports objects, some of whose rows are here (the programme's bet offers and jackpots;
//!   the performances' rows but their `horse_race_history` ones; the rapports' all), and commits
//!   last: killed in between, the load leaves the first session's rows (the réunions and races,
//!   the runners and their past races) with the ledger rows of the participants objects, and
//!   the rest without the ledger rows of their objects, which the next load reads again (a
//!   programme read again reads its whole day again) and finds unchanged. And the race and
//!   réunion ids this session's rows reference are always committed first.
//!
//! Nothing is lost, as it would be with the other order. A batch PostgreSQL refuses (either
//! session) is rolled back in both, and loads again object by object in the first session
//! alone, all through staging, as before.
//!
//! The two sessions never write the same row: each table but the ledger is written by one
//! session only, the two write the ledger rows of different objects, and the next batch starts
//! after both commits. No lock is ever waited for between them.
//!
//! Tried and left out: `horse_race_history` here too, the first session's costliest merge. It
//! finds each horse by the runners of its race, which the first session writes, so each batch's
//! performances objects had to load with the next batch (their reports in the first session,
//! their past races here). The statements of the two sessions were then about even, but in first
//! loads of 600 bench days it took 90.6 and 104.2 s against 100.2 and 90.5 s, and 110 MiB at
//! peak against 92 (a third batch in memory): each batch waited for the slower of two even
//! sessions, and the first session's merges ran slower beside the second's on two cores
//! (`race_participant` 17.3 and 19.9 s against 13.9 and 15.1 s).

use std::sync::mpsc;
use std::thread::Scope;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use postgres::Client;

use super::ledger::{self, Entry};
use super::plans::Plans;
use super::report::TableCounts;
use super::rows::{PROGRAMME_TABLES, SIDE_TABLES, SideRows};
use super::{copy_rows, micros, run_merge, sql};
use crate::lake::Stage;

/// This session's staging tables keep their rows at commit, and each of its transactions
/// empties them first (`TRUNCATE`). A temp table `ON COMMIT DELETE ROWS` is truncated at every
/// commit of its session once it has held rows, whether the transaction used it or not (in
/// psql, twelve such tables: 2.0 ms a commit, 0.14 ms before they held rows), and the first
/// session waits for this session's commit at the end of every batch; a batch of this session
/// begins while the first one copies its own staging rows. First loads of 600 bench days,
/// alternated: 42.8, 41.7 and 42.9 s against 44.5, 43.4, 43.4 and 44.4 s; the first session
/// waited 1.8-2.1 s for this one against 0.7-1.0 s, and spent 2.7-2.9 s in its ledger rows and
/// commits against 3.5-3.9 s. A transaction rolled back leaves the previous batch's rows,
/// which the next one empties.
const KEPT: &str = "ON COMMIT PRESERVE ROWS";

/// `stg_perf_report` in this session when it loads no reports: only the races of the batch's
/// reports, which the `past_race_runner` merge reads.
const REPORTED_RACES: &str = "CREATE TEMP TABLE IF NOT EXISTS stg_perf_report (
    day date, num_reunion integer, num_ordre integer
) ON COMMIT DELETE ROWS";
/// The COPY of those races, into either form of `stg_perf_report`.
pub const COPY_REPORTED_RACES: &str =
    "COPY stg_perf_report (day, num_reunion, num_ordre) FROM STDIN (FORMAT csv)";

/// What the second session did of a batch.
#[derive(Debug)]
pub struct Loaded {
    /// The rows known new: their count and the COPY's time.
    pub direct: Option<TableCounts>,
    /// The merge of the staged rows, with its time.
    pub merged: Option<TableCounts>,
    /// The merges of [`sql::SIDE_MERGES`], when this session loads the reports: each target
    /// with its counts.
    pub reports: Vec<(&'static str, TableCounts)>,
}

/// The ids of a batch's races and réunions, as the first session's merges left them: CSV for
/// [`sql::COPY_RACE_IDS`] and [`sql::COPY_MEETING_IDS`].
#[derive(Debug)]
pub struct Ids {
    pub races: Vec<u8>,
    pub meetings: Vec<u8>,
}

/// What the first session asks of the second.
enum Order {
    /// Open a transaction and load these rows in it; with reports, write these ledger rows too
    /// once the batch's ids have come ([`Order::Ids`]).
    Load(SideRows, Vec<Entry>),
    /// The ids of the batch's races and réunions; `None` when the first session failed before
    /// it could give them.
    Ids(Option<Ids>),
    Commit,
    Rollback,
}

enum Answer {
    /// What was done, or why PostgreSQL refused it; the rows' buffers, for reuse (boxed: the
    /// counts are large, and the other answers small).
    Loaded(Box<(Result<Loaded>, SideRows)>),
    /// The commit or the rollback.
    Ended(Result<()>),
}

/// The first session's handle on the second one's thread. Dropping it ends the thread, which
/// closes the session (an open transaction is then rolled back by the server).
pub struct Side {
    orders: mpsc::Sender<Order>,
    answers: mpsc::Receiver<Answer>,
    /// The session loads the reports, payouts, bet offers and jackpots too.
    reports: bool,
    /// It runs the whole merges of the bet offers and jackpots, which read the batch's staged
    /// races and réunions: it gets a copy of them ([`PROGRAMME_TABLES`]).
    programme: bool,
}

impl Side {
    /// Sets up `client` as the load's sessions are ([`sql::SESSION`]), with the staging tables
    /// it uses, and starts its thread in `scope`. With `reports` (the merges of
    /// [`sql::SIDE_MERGES`] as the first session would run them, forms chosen), the session
    /// loads those tables too.
    pub fn start<'scope>(
        scope: &'scope Scope<'scope, '_>,
        mut client: Client,
        reports: Option<Vec<sql::Merge>>,
    ) -> Result<Side> {
        let staging = &sql::STAGING[super::rows::PAST_RUNNER];
        let mut setup = vec![sql::SESSION, staging.create];
        // Only the whole forms of the bet offers' and jackpots' merges read them (to delete
        // what a programme no longer lists); the insert-only forms delete nothing.
        let programme = reports.iter().flatten().any(|m| {
            PROGRAMME_TABLES
                .iter()
                .any(|&i| sql::names_table(m.sql, sql::STAGING[i].name))
        });
        match &reports {
            Some(_) => {
                setup.extend(SIDE_TABLES.iter().map(|&i| sql::STAGING[i].create));
                if programme {
                    setup.extend(PROGRAMME_TABLES.iter().map(|&i| sql::STAGING[i].create));
                }
                setup.push(sql::RACE_IDS);
                setup.push(sql::MEETING_IDS);
            }
            None => setup.push(REPORTED_RACES),
        }
        // Kept across commits, emptied as each transaction begins (see [`KEPT`]).
        let mut names = Vec::new();
        for statement in setup {
            names.extend(sql::temp_table_name(statement));
            client
                .batch_execute(&statement.replace(sql::DELETED_AT_COMMIT, KEPT))
                .context("setting up the load's second session")?;
        }
        // Never empty: the staged past runners' table is always there.
        let begin = format!("BEGIN; TRUNCATE {}", names.join(", "));
        let merges = reports
            .iter()
            .flatten()
            .map(|m| sql::on_side(m).expect("a merge of the second session"))
            .collect::<Vec<_>>();
        let (orders, to_serve) = mpsc::channel();
        let (answer, answers) = mpsc::channel();
        let side = Side {
            orders,
            answers,
            reports: reports.is_some(),
            programme,
        };
        scope.spawn(move || serve(&mut client, &begin, &merges, &to_serve, &answer));
        Ok(side)
    }

    /// The session loads the reports, the payouts, the bet offers and the jackpots too: every
    /// batch goes to it, with the ledger rows of the objects whose rows it loads
    /// ([`commits_last`]), and it waits for [`Side::ids`].
    pub fn reports(&self) -> bool {
        self.reports
    }

    /// Its batches need a copy of the staged programme ([`PROGRAMME_TABLES`]).
    pub fn programme(&self) -> bool {
        self.programme
    }

    /// Starts loading `rows` in a transaction of the second session, with the ledger rows
    /// `entries`; [`Side::loaded`] waits for it.
    pub fn load(&mut self, rows: SideRows, entries: Vec<Entry>) -> Result<()> {
        self.send(Order::Load(rows, entries))
    }

    /// Gives a [`Side::load`] of reports the ids of its batch's races and réunions (`None`:
    /// the first session failed, and the batch with it).
    pub fn ids(&mut self, ids: Option<Ids>) -> Result<()> {
        self.send(Order::Ids(ids))
    }

    /// The outcome of [`Side::load`] (a [`super::Refused`] when PostgreSQL refused a row), and
    /// the buffers it was given.
    pub fn loaded(&mut self) -> Result<(Result<Loaded>, SideRows)> {
        match self.answers.recv() {
            Ok(Answer::Loaded(answer)) => Ok(*answer),
            _ => Err(stopped()),
        }
    }

    /// Commits the transaction of the last [`Side::load`].
    pub fn commit(&mut self) -> Result<()> {
        self.send(Order::Commit)?;
        self.ended()
    }

    /// Rolls back the transaction of the last [`Side::load`], whatever became of it.
    pub fn rollback(&mut self) -> Result<()> {
        self.send(Order::Rollback)?;
        self.ended()
    }

    fn send(&self, order: Order) -> Result<()> {
        self.orders.send(order).map_err(|_| stopped())
    }

    fn ended(&self) -> Result<()> {
        match self.answers.recv() {
            Ok(Answer::Ended(result)) => result,
            _ => Err(stopped()),
        }
    }
}

/// Whether the ledger row of a loaded object is written by the second session when it loads
/// the reports (and the rest of [`SIDE_TABLES`]): those of the objects some of whose rows are
/// there. The programme's bet offers and jackpots are there (its réunions and races here), the
/// performances' rows but their `horse_race_history` ones, the rapports' rows all; the
/// participants' rows are all here.
pub fn commits_last(entry: &Entry) -> bool {
    matches!(
        entry.key.stage,
        Stage::Programme | Stage::Performances | Stage::Rapports
    )
}

fn stopped() -> anyhow::Error {
    anyhow!("the load's second PostgreSQL session stopped")
}

/// The second session's thread: one order at a time, until the first session drops its [`Side`].
fn serve(
    client: &mut Client,
    begin: &str,
    merges: &[sql::Merge],
    orders: &mpsc::Receiver<Order>,
    answers: &mpsc::Sender<Answer>,
) {
    let mut plans = Plans::default();
    while let Ok(order) = orders.recv() {
        let answer = match order {
            Order::Load(rows, entries) => {
                let mut loaded = client
                    .batch_execute(begin)
                    .context("opening the second session's transaction")
                    .and_then(|()| load(client, &mut plans, &rows));
                if rows.reports {
                    // Always waited for, so that the orders stay in step whatever failed.
                    let ids = match orders.recv() {
                        Ok(Order::Ids(ids)) => ids,
                        _ => break,
                    };
                    loaded = loaded.and_then(|mut done| {
                        let ids =
                            ids.ok_or_else(|| anyhow!("the batch failed in the first session"))?;
                        done.reports = load_reports(client, &mut plans, merges, &rows, &ids)?;
                        ledger::upsert(client, &entries)?;
                        Ok(done)
                    });
                }
                Answer::Loaded(Box::new((loaded, rows)))
            }
            Order::Ids(_) => break,
            Order::Commit => Answer::Ended(
                client
                    .batch_execute("COMMIT")
                    .context("committing the second session's transaction"),
            ),
            Order::Rollback => Answer::Ended(
                client
                    .batch_execute("ROLLBACK")
                    .context("rolling back the second session's transaction"),
            ),
        };
        if answers.send(answer).is_err() {
            break;
        }
    }
}

/// The rows known new, copied into the table; then the staged rows, merged as the first session
/// would have ([`sql::MERGES`]' `past_race_runner`).
fn load(client: &mut Client, plans: &mut Plans, rows: &SideRows) -> Result<Loaded> {
    let mut done = Loaded {
        direct: None,
        merged: None,
        reports: Vec::new(),
    };
    if rows.direct_rows > 0 {
        let started = Instant::now();
        copy_rows(
            client,
            plans,
            &sql::DIRECT_PAST_RUNNER,
            "past_race_runner",
            &rows.direct,
        )?;
        done.direct = Some(TableCounts::direct(rows.direct_rows, micros(started)));
    }
    if rows.reports && rows.tables[0].1 > 0 {
        // The batch's reports whole, first: the merge below reads their races, the report
        // merge (`load_reports`) the rest.
        let table = &sql::STAGING[SIDE_TABLES[0]];
        copy_rows(client, plans, table.copy, table.name, &rows.tables[0].0)?;
    }
    if rows.staged_rows > 0 {
        let started = Instant::now();
        let staging = &sql::STAGING[super::rows::PAST_RUNNER];
        if !rows.reports && !rows.reported.is_empty() {
            copy_rows(
                client,
                plans,
                COPY_REPORTED_RACES,
                "stg_perf_report",
                &rows.reported,
            )?;
        }
        copy_rows(client, plans, staging.copy, staging.name, &rows.staged)?;
        let merge = sql::MERGES
            .iter()
            .find(|m| m.target == "past_race_runner")
            .expect("past_race_runner has a merge");
        let mut counts = run_merge(client, plans, merge)?;
        // Its staging rows' COPY counts too: the first session's would have been in its phases.
        counts.merge_us = micros(started);
        done.merged = Some(counts);
    }
    Ok(done)
}

/// The reports, payouts, bet offers and jackpots of the batch: its race and réunion ids, the
/// staging rows of [`SIDE_TABLES`] not copied yet (and of [`PROGRAMME_TABLES`] when given), and
/// the merges of [`sql::SIDE_MERGES`], which join those ids where the first session's merges
/// join `race` and `race_meeting`.
fn load_reports(
    client: &mut Client,
    plans: &mut Plans,
    merges: &[sql::Merge],
    rows: &SideRows,
    ids: &Ids,
) -> Result<Vec<(&'static str, TableCounts)>> {
    let mut counts = Vec::new();
    // A staged programme without offers or jackpots still deletes those it no longer lists.
    if rows.tables.iter().chain(&rows.programme).all(|t| t.1 == 0) {
        return Ok(counts);
    }
    let started = Instant::now();
    copy_rows(client, plans, sql::COPY_RACE_IDS, "stg_race_id", &ids.races)?;
    copy_rows(
        client,
        plans,
        sql::COPY_MEETING_IDS,
        "stg_meeting_id",
        &ids.meetings,
    )?;
    // The reports (the first of them) are in already: `load` copied them.
    let tables = SIDE_TABLES.iter().zip(&rows.tables).skip(1);
    for (&i, (csv, n)) in tables.chain(PROGRAMME_TABLES.iter().zip(&rows.programme)) {
        if *n > 0 {
            let table = &sql::STAGING[i];
            copy_rows(client, plans, table.copy, table.name, csv)?;
        }
    }
    let mut copy_us = micros(started);
    for merge in merges {
        let mut done = run_merge(client, plans, merge)?;
        // The COPYs count with the first merge, as the past runners' with theirs.
        done.merge_us += std::mem::take(&mut copy_us);
        counts.push((merge.target, done));
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reported_races_table_is_named_and_emptied_at_commit_as_the_others() {
        assert_eq!(
            sql::temp_table_name(REPORTED_RACES),
            Some("stg_perf_report")
        );
        assert_eq!(REPORTED_RACES.matches(sql::DELETED_AT_COMMIT).count(), 1);
        assert!(
            !REPORTED_RACES
                .replace(sql::DELETED_AT_COMMIT, KEPT)
                .contains("DELETE")
        );
    }
}
