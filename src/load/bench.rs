//! `make bench`: a synthetic lake in the real payload shapes, loaded, replayed, and compared
//! with `psql \copy` of the same rows.

use anyhow::Result;

use crate::cli::BenchArgs;
use crate::exit::Outcome;

pub fn run(_args: BenchArgs) -> Result<Outcome> {
    anyhow::bail!("bench: not implemented yet")
}
