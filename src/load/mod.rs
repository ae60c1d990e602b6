//! Loading the lake into PostgreSQL: payloads → rows → COPY into staging → set-based merge.

pub mod bench;
pub mod rows;
pub mod sql;

use anyhow::Result;

use crate::cli::{DbArgs, LoadArgs};
use crate::exit::Outcome;

pub fn run(_args: LoadArgs) -> Result<Outcome> {
    anyhow::bail!("load: not implemented yet")
}

pub fn migrate_only(_args: DbArgs) -> Result<Outcome> {
    anyhow::bail!("migrate: not implemented yet")
}
