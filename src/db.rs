//! Connecting to PostgreSQL: URL / PG* variables, TLS, and the local default cluster.

use anyhow::Result;

use crate::cli::LocalDbArgs;
use crate::exit::Outcome;

pub fn local_command(_args: LocalDbArgs) -> Result<Outcome> {
    anyhow::bail!("db: not implemented yet")
}
