//! The load's statements prepared once per session and run batch after batch.
//!
//! A merge is one statement of a few KB over the staging tables; sent as text, PostgreSQL
//! parses, analyzes and plans it again for every batch. For the small merges of the programme
//! and the bets (`load::sql::KEPT_PLANS`) that was about half their time. A statement prepared
//! once (a named statement of the session) is parsed once and, having no parameters, planned
//! once: PostgreSQL keeps its generic plan and runs it again for each batch. The COPY
//! statements are kept too (one round trip a table and batch fewer; COPY has no plan).
//!
//! A kept plan does not see the tables grow: it is planned again when PostgreSQL invalidates it
//! (an `ANALYZE` of a table it reads, autovacuum's included) and, whatever happens, after
//! [`REPLAN_AFTER`] runs, when the statement is prepared anew. So a plan made while the targets
//! were empty, at the start of a first backfill, serves a few batches, not the whole load.
//!
//! A session's statements belong to it: each session (the load's first, and the second one of
//! `load::side`) has its own [`Plans`].

use postgres::{GenericClient, Statement};

/// Runs of a prepared statement after which it is prepared (and planned) again.
pub const REPLAN_AFTER: u32 = 16;

/// The statements of one session, keyed by their text (constants of `load::sql`).
#[derive(Default)]
pub struct Plans {
    kept: Vec<Kept>,
}

struct Kept {
    sql: &'static str,
    statement: Statement,
    runs: u32,
}

impl Plans {
    /// The statement for `sql` on this session: the one kept, or a newly prepared one when
    /// there is none yet or it ran [`REPLAN_AFTER`] times.
    pub fn get(
        &mut self,
        client: &mut impl GenericClient,
        sql: &'static str,
    ) -> Result<Statement, postgres::Error> {
        // A few dozen constants: found by address, without hashing KBs of SQL text.
        let found = self.kept.iter().position(|k| std::ptr::eq(k.sql, sql));
        if let Some(i) = found {
            let kept = &mut self.kept[i];
            if kept.runs < REPLAN_AFTER {
                kept.runs += 1;
                return Ok(kept.statement.clone());
            }
            // Dropping the old statement closes it on the server.
            self.kept.swap_remove(i);
        }
        let statement = client.prepare(sql)?;
        self.kept.push(Kept {
            sql,
            statement: statement.clone(),
            runs: 1,
        });
        Ok(statement)
    }
}
