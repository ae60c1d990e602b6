//! SQL text of the load, all constants: the staging tables, the COPY statements that fill them,
//! and the set-based merges from staging into the target tables.
//!
//! Contract with `load/mod.rs` (the machinery):
//! - `STAGING[i].create` is run once per session (temp tables, `ON COMMIT DELETE ROWS`).
//! - For each staging table with rows, `STAGING[i].copy` (`COPY … FROM STDIN …`) is fed the CSV
//!   bytes that [`crate::load::rows::Batch`] produced for table `i`.
//! - Then every statement of `MERGES`, in order, inside the same transaction. Each returns exactly
//!   one row of four `bigint`: (read, inserted, updated, orphaned) for its target table: `read`
//!   is the number of distinct staged rows for that target, `orphaned` those that could not be
//!   attached (no parent row, e.g. participants of a race whose programme is not loaded);
//!   unchanged = read − inserted − updated − orphaned.

/// One staging table.
#[derive(Debug)]
pub struct StagingTable {
    pub name: &'static str,
    pub create: &'static str,
    pub copy: &'static str,
}

/// One merge statement into a target table.
#[derive(Debug)]
pub struct Merge {
    /// The target table, as reports name it (`race`, `horse_race_history`, …).
    pub target: &'static str,
    pub sql: &'static str,
}

pub const STAGING: &[StagingTable] = &[];

pub const MERGES: &[Merge] = &[];
