//! A second PostgreSQL session for the rows a first backfill knows new (`past_race_runner` rows
//! whose key the load never sent, see `load::sent`): its own thread copies a batch's such rows
//! into the table while the first session copies the batch's staging rows and runs its merges.
//! That copy is the largest single statement of a first backfill (about a fifth of the
//! backend's time), and the two sessions run on two cores.
//!
//! Each batch is two transactions, committed in this order: the first session does all its work
//! (staging, merges, ledger rows) and this one its COPY; only when both succeeded does this one
//! commit, then the first. So:
//! - a batch PostgreSQL refuses (either session) is rolled back in both, and loads again object
//!   by object in the first session alone, all through staging, as before;
//! - a load killed between the two commits leaves in `past_race_runner` the new runners of its
//!   last batch without their ledger rows: the next load reads those objects again and finds the
//!   rows there with the same values (the table is no longer empty, so they go through the
//!   merge, which leaves them unchanged). Nothing is lost, as it would be with the other order.
//!
//! The two sessions never write the same row: within a batch, each runner of a past race is
//! routed to one path only (`load::rows::past_runners`), and the next batch starts after both
//! commits. No lock is ever waited for between them.

use std::sync::mpsc;
use std::thread::Scope;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use postgres::Client;

use super::{copy_rows, sql};

/// What the first session asks of the second.
enum Order {
    /// Open a transaction and copy these rows (of [`sql::DIRECT_PAST_RUNNER`]) in it.
    Copy(Vec<u8>),
    Commit,
    Rollback,
}

enum Answer {
    /// The COPY's time in µs, or why PostgreSQL refused it; the rows' buffer, for reuse.
    Copied(Result<u64>, Vec<u8>),
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
    /// Sets up `client` as the load's sessions are ([`sql::SESSION`]) and starts its thread in
    /// `scope`.
    pub fn start<'scope>(scope: &'scope Scope<'scope, '_>, mut client: Client) -> Result<Side> {
        client
            .batch_execute(sql::SESSION)
            .context("setting up the load's second session")?;
        let (orders, to_serve) = mpsc::channel();
        let (answer, answers) = mpsc::channel();
        scope.spawn(move || serve(&mut client, &to_serve, &answer));
        Ok(Side { orders, answers })
    }

    /// Starts copying `csv` in a transaction of the second session; [`Side::copied`] waits for it.
    pub fn copy(&mut self, csv: Vec<u8>) -> Result<()> {
        self.send(Order::Copy(csv))
    }

    /// The COPY's outcome (its time in µs, or a [`super::Refused`] when PostgreSQL refused a
    /// row), and the buffer [`Side::copy`] was given.
    pub fn copied(&mut self) -> Result<(Result<u64>, Vec<u8>)> {
        match self.answers.recv() {
            Ok(Answer::Copied(result, csv)) => Ok((result, csv)),
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
    for order in orders {
        let answer = match order {
            Order::Copy(csv) => {
                let started = Instant::now();
                let copied = client
                    .batch_execute("BEGIN")
                    .context("opening the second session's transaction")
                    .and_then(|()| {
                        copy_rows(client, &sql::DIRECT_PAST_RUNNER, "past_race_runner", &csv)
                    })
                    .map(|()| u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
                Answer::Copied(copied, csv)
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
