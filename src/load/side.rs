//! A second PostgreSQL session for `past_race_runner`, the largest table, in a first backfill
//! (the table was empty as the load began): its own thread copies a batch's rows known new
//! straight into the table (runners whose key the load never sent, see `load::sent`), then
//! stages and merges the batch's other runners, while the first session copies the batch's
//! other staging rows and runs the other merges. In a first load of 300 bench days, that is
//! 18.9 s of COPY and 5.8 s of staging and merging out of 60.7 s of statements on one session;
//! the two sessions run on two cores.
//!
//! The merge reads, besides `past_race_runner`, the reports committed before the batch
//! (`horse_race_history`, `race_participant`, `race`, `performance_report`) to know whether a
//! newer one lists a row, and leaves out the reports of the races the batch stages. It sees
//! here what it sees in the first session: the committed rows, and none of the batch's own
//! reports (here they are not visible yet; there it leaves them out by the races in
//! `stg_perf_report`, which this session gets as `day, num_reunion, num_ordre` only).
//!
//! Each batch is two transactions, committed in this order: the first session does all its work
//! (staging, merges, ledger rows) and this one its rows; only when both succeeded does this one
//! commit, then the first. So:
//! - a batch PostgreSQL refuses (either session) is rolled back in both, and loads again object
//!   by object in the first session alone, all through staging, as before;
//! - a load killed between the two commits leaves in `past_race_runner` the runners of its last
//!   batch without their ledger rows: the next load reads those objects again and finds the
//!   rows there with the same values (the table is no longer empty, so they go through the
//!   merge, which leaves them unchanged). Nothing is lost, as it would be with the other order.
//!
//! The two sessions never write the same row: with a second session, the first one writes no
//! `past_race_runner` row, and this one nothing else; the next batch starts after both commits.
//! No lock is ever waited for between them.
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

use super::plans::Plans;
use super::report::TableCounts;
use super::rows::PastRunnerRows;
use super::{copy_rows, micros, run_merge, sql};

/// `stg_perf_report` in this session: only the races of the batch's reports, which the
/// `past_race_runner` merge reads.
const REPORTED_RACES: &str = "CREATE TEMP TABLE IF NOT EXISTS stg_perf_report (
    day date, num_reunion integer, num_ordre integer
) ON COMMIT DELETE ROWS";
const COPY_REPORTED_RACES: &str =
    "COPY stg_perf_report (day, num_reunion, num_ordre) FROM STDIN (FORMAT csv)";

/// What the second session did of a batch.
#[derive(Debug)]
pub struct Loaded {
    /// The rows known new: their count and the COPY's time.
    pub direct: Option<TableCounts>,
    /// The merge of the staged rows, with its time.
    pub merged: Option<TableCounts>,
}

/// What the first session asks of the second.
enum Order {
    /// Open a transaction and load these rows in it.
    Load(PastRunnerRows),
    Commit,
    Rollback,
}

enum Answer {
    /// What was done, or why PostgreSQL refused it; the rows' buffers, for reuse (boxed: the
    /// counts are large, and the other answers small).
    Loaded(Box<(Result<Loaded>, PastRunnerRows)>),
    /// The commit or the rollback.
    Ended(Result<()>),
}

/// The first session's handle on the second one's thread. Dropping it ends the thread, which
/// closes the session (an open transaction is then rolled back by the server).
pub struct Side {
    orders: mpsc::Sender<Order>,
    answers: mpsc::Receiver<Answer>,
}

impl Side {
    /// Sets up `client` as the load's sessions are ([`sql::SESSION`]), with the two staging
    /// tables it uses, and starts its thread in `scope`.
    pub fn start<'scope>(scope: &'scope Scope<'scope, '_>, mut client: Client) -> Result<Side> {
        let staging = &sql::STAGING[super::rows::PAST_RUNNER];
        client
            .batch_execute(sql::SESSION)
            .and_then(|()| client.batch_execute(staging.create))
            .and_then(|()| client.batch_execute(REPORTED_RACES))
            .context("setting up the load's second session")?;
        let (orders, to_serve) = mpsc::channel();
        let (answer, answers) = mpsc::channel();
        scope.spawn(move || serve(&mut client, &to_serve, &answer));
        Ok(Side { orders, answers })
    }

    /// Starts loading `rows` in a transaction of the second session; [`Side::loaded`] waits
    /// for it.
    pub fn load(&mut self, rows: PastRunnerRows) -> Result<()> {
        self.send(Order::Load(rows))
    }

    /// The outcome of [`Side::load`] (a [`super::Refused`] when PostgreSQL refused a row), and
    /// the buffers it was given.
    pub fn loaded(&mut self) -> Result<(Result<Loaded>, PastRunnerRows)> {
        match self.answers.recv() {
            Ok(Answer::Loaded(answer)) => Ok(*answer),
            _ => Err(stopped()),
        }
    }

    /// Commits the transaction of the last [`Side::copy`].
    pub fn commit(&mut self) -> Result<()> {
        self.send(Order::Commit)?;
        self.ended()
    }

    /// Rolls back the transaction of the last [`Side::copy`], whatever became of the COPY.
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

fn stopped() -> anyhow::Error {
    anyhow!("the load's second PostgreSQL session stopped")
}

/// The second session's thread: one order at a time, until the first session drops its [`Side`].
fn serve(client: &mut Client, orders: &mpsc::Receiver<Order>, answers: &mpsc::Sender<Answer>) {
    let mut plans = Plans::default();
    for order in orders {
        let answer = match order {
            Order::Load(rows) => {
                let loaded = client
                    .batch_execute("BEGIN")
                    .context("opening the second session's transaction")
                    .and_then(|()| load(client, &mut plans, &rows));
                Answer::Loaded(Box::new((loaded, rows)))
            }
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
fn load(client: &mut Client, plans: &mut Plans, rows: &PastRunnerRows) -> Result<Loaded> {
    let mut done = Loaded {
        direct: None,
        merged: None,
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
    if rows.staged_rows > 0 {
        let started = Instant::now();
        let staging = &sql::STAGING[super::rows::PAST_RUNNER];
        if !rows.reported.is_empty() {
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
