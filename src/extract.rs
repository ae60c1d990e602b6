//! What to fetch for a range of days, fetching it with bounded concurrency, and the run report.

use anyhow::Result;

use crate::cli::ExtractArgs;
use crate::exit::Outcome;

pub fn run(_args: ExtractArgs) -> Result<Outcome> {
    anyhow::bail!("extract: not implemented yet")
}
