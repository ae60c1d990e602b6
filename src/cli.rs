//! The command line: clap derive structs whose doc comments are the help text, and nothing
//! else. [`crate::app`] turns them into each command's plain settings; nothing below it sees
//! a flag.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::day::Day;

/// Keep a faithful, replayable archive of the PMU turfinfo API and load it into PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "pmu-lake", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Download race days from the PMU API into the compressed lake.
    Extract(ExtractArgs),
    /// The daily job: extract the recent days (or --date, --start/--end), then load them, even
    /// when some objects failed; the exit code is the worse of the two.
    Update(UpdateArgs),
    /// Load the lake into PostgreSQL (never touches the network).
    Load(LoadArgs),
    /// Apply the schema migrations to the database, and nothing else.
    Migrate(DbArgs),
    /// Manage the local PostgreSQL cluster under data/pg used when no database is configured.
    Db(LocalDbArgs),
    /// What the lake holds per day (final, provisional, no content, missing) and, with a
    /// database, what was loaded; what the next extract and load would do. Asks the API
    /// nothing. Exit 0 when everything is final (and loaded), 3 otherwise.
    Status(StatusArgs),
    /// Read every object back against the lake's contract (zstd frame, hash, JSON, manifest,
    /// stray files) and, with a database, the ledger. Exit 0 when clean, 3 when problems.
    Verify(VerifyArgs),
}

/// Which days a command covers: `--date D`, or `--start D --end D` (inclusive).
#[derive(Debug, Clone, Args)]
pub struct DaysArgs {
    /// One race day, as 05112025 or 2025-11-05.
    #[arg(long, value_name = "DAY")]
    pub date: Option<Day>,
    /// First day of an inclusive range (05112025 or 2025-11-05).
    #[arg(long, value_name = "DAY")]
    pub start: Option<Day>,
    /// Last day of an inclusive range (05112025 or 2025-11-05).
    #[arg(long, value_name = "DAY")]
    pub end: Option<Day>,
}

#[derive(Debug, Clone, Args)]
pub struct LakeArgs {
    /// Root directory of the lake.
    #[arg(
        long,
        env = "PMU_LAKE",
        default_value = "data/lake",
        value_name = "DIR"
    )]
    pub lake: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// No progress bar (it is also hidden when stderr is not a terminal).
    #[arg(long, short)]
    pub quiet: bool,
    /// Also write the run's figures, per day, to this JSON file.
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ExtractArgs {
    #[command(flatten)]
    pub days: DaysArgs,
    #[command(flatten)]
    pub lake: LakeArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub api: ApiArgs,
    /// Print how many requests the range needs and how long it would take; fetch nothing
    /// beyond the programmes needed to count races.
    #[arg(long)]
    pub dry_run: bool,
}

/// How the PMU API is asked: where, how politely, how patiently.
#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    /// Base URL of the PMU API (a mirror, or a fake server in tests).
    #[arg(
        long,
        env = "PMU_API_BASE",
        default_value = "https://online.turfinfo.api.pmu.fr",
        value_name = "URL"
    )]
    pub api_base: String,
    #[command(flatten)]
    pub politeness: PolitenessArgs,
    /// Per-request timeout, in seconds.
    #[arg(long, default_value_t = 30.0, value_name = "SECS")]
    pub timeout: f64,
    /// Attempts per request before it counts as failed (timeouts, resets, 5xx, 429, bad bodies).
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub retries: u32,
    /// Days after a race day past which what the lake holds is final whatever it says.
    #[arg(long, default_value_t = 3, value_name = "DAYS")]
    pub grace_days: u32,
    /// Re-fetch everything in the range, even objects the lake holds in final form.
    #[arg(long)]
    pub refresh: bool,
}

/// How politely the API is asked (extract, update), or would be (status's estimate).
#[derive(Debug, Clone, Args)]
pub struct PolitenessArgs {
    /// Politeness profile: production (12 workers, 0.1-0.3 s delay) or safe (4 workers, 0.5-1.5 s).
    #[arg(
        long,
        env = "PMU_PROFILE",
        default_value = "production",
        value_name = "NAME"
    )]
    pub profile: String,
    /// Requests in flight at most (overrides the profile).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Random delay before each request, in seconds, as MIN..MAX (0..0 turns it off).
    #[arg(long, value_name = "MIN..MAX")]
    pub delay: Option<String>,
    /// Global cap on requests per second, across all workers.
    #[arg(long, value_name = "RPS")]
    pub max_rps: Option<f64>,
}

#[derive(Debug, Clone, Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub days: DaysArgs,
    /// Without --date or --start/--end: the last N days up to today (Paris time), today
    /// included. What the lake holds in final form costs no request.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub days_back: u32,
    #[command(flatten)]
    pub lake: LakeArgs,
    /// No progress bar (it is also hidden when stderr is not a terminal).
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub db: DbArgs,
    /// Commit a batch of consecutive days once its staged rows reach N (see `load --help`).
    #[arg(long, value_name = "N")]
    pub batch_rows: Option<u64>,
}

#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// PostgreSQL, as psql takes it: a URL (postgresql://user@host:port/db?sslmode=require,
    /// postgresql:///db?host=/run/postgresql for a unix socket) or key=value pairs. What it
    /// leaves out comes from the PG* variables and ~/.pgpass; with neither it nor any PG*
    /// variable, the local cluster under data/pg.
    #[arg(long, env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    #[command(flatten)]
    pub days: DaysArgs,
    #[command(flatten)]
    pub lake: LakeArgs,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Reload objects the ledger says were already loaded unchanged.
    #[arg(long)]
    pub force: bool,
    /// Commit a batch of consecutive days once its staged rows reach N (25000 unless given;
    /// at most 7 days a batch); 1 commits every day on its own.
    #[arg(long, value_name = "N")]
    pub batch_rows: Option<u64>,
}

#[derive(Debug, Clone, Args)]
pub struct LocalDbArgs {
    /// What to do with the local cluster.
    #[arg(value_enum, default_value = "start")]
    pub action: LocalDbAction,
    /// Directory of the local cluster.
    #[arg(
        long,
        env = "PMU_PGDATA",
        default_value = "data/pg",
        value_name = "DIR"
    )]
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LocalDbAction {
    /// Create the cluster if needed and start it; print its DATABASE_URL.
    Start,
    /// Stop the cluster.
    Stop,
    /// Print the DATABASE_URL of the local cluster.
    Url,
}

/// The database of `status` and `verify`: as `load` finds it, but only when configured (the
/// URL, PG* variables, or a local cluster already running); none is ever created or started.
#[derive(Debug, Clone, Args)]
pub struct LookArgs {
    #[command(flatten)]
    pub days: DaysArgs,
    #[command(flatten)]
    pub lake: LakeArgs,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Without --date or --start/--end: the whole lake, from its first day to its last.
    #[command(flatten)]
    pub look: LookArgs,
    /// The figures as JSON on stdout, for scripts.
    #[arg(long)]
    pub json: bool,
    /// How politely the next extract would ask: its time is estimated at these settings.
    #[command(flatten)]
    pub politeness: PolitenessArgs,
    /// Days after a race day past which what the lake holds is final (as extract's).
    #[arg(long, default_value_t = 3, value_name = "DAYS")]
    pub grace_days: u32,
}

#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// Without --date or --start/--end: the whole lake, stray files at its root included.
    #[command(flatten)]
    pub look: LookArgs,
    /// Move damaged objects (and temp files) into <lake>/_quarantine/<time>/, kept, and record
    /// them so that the next extract fetches them again.
    #[arg(long)]
    pub repair: bool,
    /// Read every body with its stage's model, as load does (3 to 5 times slower), not only
    /// as JSON.
    #[arg(long)]
    pub deep: bool,
    /// Threads reading objects (default: two per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}
