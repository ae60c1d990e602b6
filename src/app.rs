//! From the command line to the work: each command's arguments become plain settings once,
//! here (as ripgrep's `HiArgs`), and the command runs with them. Nothing below this module
//! sees a flag, so extract, load and connecting can be used and tested without clap.

use std::io::IsTerminal;

use anyhow::Result;

use crate::cli::{Cli, Command, DaysArgs, DbArgs, ExtractArgs, LoadArgs, LocalDbAction};
use crate::day::{Day, DayRange};
use crate::exit::{self, Outcome};
use crate::{check, db, extract, load};

/// Runs one command. `load`, `migrate` and `db` are synchronous (the `postgres` client must not
/// run inside a tokio runtime); `extract` builds its own runtime.
pub fn run(cli: Cli) -> Result<Outcome> {
    match cli.command {
        Command::Extract(args) => extract::run(extract_settings(args)),
        Command::Update(args) => {
            let range =
                match DayRange::from_options(args.days.date, args.days.start, args.days.end)? {
                    Some(range) => range,
                    None => recent_days(args.days_back)?,
                };
            let days = DaysArgs {
                date: None,
                start: Some(range.start),
                end: Some(range.end),
            };
            let extract = extract_settings(ExtractArgs {
                days: days.clone(),
                lake: args.lake.clone(),
                output: crate::cli::OutputArgs {
                    quiet: args.quiet,
                    report: None,
                },
                api: args.api,
                dry_run: false,
            });
            let load = load::Settings {
                lake: args.lake.lake,
                options: load_options(Some(range), false, args.quiet, args.batch_rows),
                report: None,
            };
            update(extract, &load, &db_settings(args.db))
        }
        Command::Load(args) => load::run(&load_settings(args.clone())?, &db_settings(args.db)),
        Command::Migrate(args) => load::migrate_only(&db_settings(args)),
        Command::Db(args) => db::local_command(
            match args.action {
                LocalDbAction::Start => db::LocalAction::Start,
                LocalDbAction::Stop => db::LocalAction::Stop,
                LocalDbAction::Url => db::LocalAction::Url,
            },
            &args.dir,
        ),
        Command::Status(args) => check::status::run(&status_settings(args)?),
        Command::Verify(args) => check::verify::run(&verify_settings(args)?),
    }
}

fn status_settings(a: crate::cli::StatusArgs) -> Result<check::status::Settings> {
    let look = a.look;
    Ok(check::status::Settings {
        range: DayRange::from_options(look.days.date, look.days.start, look.days.end)?,
        lake: look.lake.lake,
        json: a.json,
        politeness: crate::api::Politeness::from_options(
            &a.politeness.profile,
            a.politeness.workers,
            a.politeness.delay.as_deref(),
            a.politeness.max_rps,
        )?,
        grace_days: a.grace_days,
        db: db_settings(look.db),
    })
}

fn verify_settings(a: crate::cli::VerifyArgs) -> Result<check::verify::Settings> {
    let look = a.look;
    let threads = match a.threads {
        Some(0) => return Err(exit::usage("invalid --threads 0: at least one is needed")),
        Some(n) => n,
        // Two per core: a worker waiting on a read leaves its core to the other (measured on 2
        // cores, 6,060 objects: 0.40 s with 2 workers, 0.29 s with 4; `zstd -t` 0.25 s).
        None => 2 * std::thread::available_parallelism().map_or(2, |n| n.get()),
    };
    Ok(check::verify::Settings {
        range: DayRange::from_options(look.days.date, look.days.start, look.days.end)?,
        lake: look.lake.lake,
        repair: a.repair,
        deep: a.deep,
        threads,
        db: db_settings(look.db),
    })
}

/// `pmu-lake update`: extract, then load the same days whatever the extract's outcome (a
/// partial extract, or one that stopped, still leaves a consistent lake); the exit code is
/// the worse of the two (1 over 3 over 0). Bad settings of either stop it before any work.
fn update(extract: extract::Settings, load: &load::Settings, db: &db::Settings) -> Result<Outcome> {
    // The database's settings are checked before the crawl, not found bad at its end.
    if let Some(Err(e)) = db.configured() {
        return Err(e);
    }
    if let Some(path) = &load.report {
        exit::check_report_path(path)?;
    }
    let extracted = extract::run(extract);
    if let Err(e) = &extracted
        && exit::code_for(e) == exit::USAGE
    {
        return extracted;
    }
    if let Err(e) = &extracted {
        eprintln!("pmu-lake: extract stopped: {e:#}; loading what the lake holds");
    }
    let loaded = load::run(load, db);
    let word = |r: &Result<Outcome>| match r {
        Ok(Outcome::Complete) => "complete".to_string(),
        Ok(Outcome::Partial) => "partial (exit 3)".to_string(),
        Err(e) => format!("failed (exit {})", exit::code_for(e)),
    };
    // Its exit code says how the run went, whether or not this line can be written.
    let _ = exit::say(format_args!(
        "update: extract {}, load {}",
        word(&extracted),
        word(&loaded)
    ));
    match (extracted, loaded) {
        (Err(e), Ok(_)) => Err(e),
        (_, Err(e)) => Err(e),
        (Ok(a), Ok(b)) => Ok(if a == Outcome::Partial || b == Outcome::Partial {
            Outcome::Partial
        } else {
            Outcome::Complete
        }),
    }
}

/// The `n` days up to today in Paris, today included (`n` = 0: today alone).
fn recent_days(n: u32) -> Result<DayRange> {
    let today = Day::today_paris()?;
    let start = Day::new(today.date() - chrono::Days::new(u64::from(n)));
    DayRange::new(start, today)
}

fn extract_settings(a: ExtractArgs) -> extract::Settings {
    let api = a.api;
    let polite = api.politeness;
    extract::Settings {
        date: a.days.date,
        start: a.days.start,
        end: a.days.end,
        lake: a.lake.lake,
        quiet: a.output.quiet,
        report: a.output.report,
        api_base: api.api_base,
        profile: polite.profile,
        workers: polite.workers,
        delay: polite.delay,
        max_rps: polite.max_rps,
        timeout: api.timeout,
        retries: api.retries,
        grace_days: api.grace_days,
        refresh: api.refresh,
        dry_run: a.dry_run,
    }
}

fn load_settings(a: LoadArgs) -> Result<load::Settings> {
    let range = DayRange::from_options(a.days.date, a.days.start, a.days.end)?;
    Ok(load::Settings {
        lake: a.lake.lake,
        options: load_options(range, a.force, a.output.quiet, a.batch_rows),
        report: a.output.report,
    })
}

fn load_options(
    range: Option<DayRange>,
    force: bool,
    quiet: bool,
    batch_rows: Option<u64>,
) -> load::Options {
    load::Options {
        range,
        force,
        progress: !quiet && std::io::stderr().is_terminal(),
        batch_rows: batch_rows.unwrap_or(load::DEFAULT_BATCH_ROWS).max(1),
    }
}

fn db_settings(a: DbArgs) -> db::Settings {
    db::Settings {
        url: a.database_url,
        local_dir: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_help_states_the_default_batch_size() {
        let help = Cli::command()
            .find_subcommand_mut("load")
            .expect("a load subcommand")
            .render_long_help()
            .to_string();
        assert!(
            help.contains(&format!("{} unless given", load::DEFAULT_BATCH_ROWS)),
            "{help}"
        );
    }

    #[test]
    fn recent_days_end_today() {
        let r = recent_days(4).unwrap();
        assert_eq!(r.end, Day::today_paris().unwrap());
        assert_eq!(r.len(), 5);
    }
}
