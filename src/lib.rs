//! pmu-lake: a faithful, replayable archive of the PMU turfinfo API (`extract`) and its bulk
//! load into PostgreSQL (`load`). Data flows one way: API → lake → rows → PostgreSQL.

pub mod api;
pub mod cli;
pub mod day;
pub mod db;
pub mod exit;
pub mod extract;
pub mod lake;
pub mod load;
pub mod pmu;

use anyhow::Result;

use cli::{Cli, Command};
use exit::Outcome;

/// Runs one command. `load`, `migrate` and `db` are synchronous (the `postgres` client must not
/// run inside a tokio runtime); `extract` builds its own runtime.
pub fn run(cli: Cli) -> Result<Outcome> {
    match cli.command {
        Command::Extract(args) => extract::run(args),
        Command::Load(args) => load::run(args),
        Command::Migrate(args) => load::migrate_only(args),
        Command::Db(args) => db::local_command(args),
        Command::Bench(args) => load::bench::run(args),
    }
}
