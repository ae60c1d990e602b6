//! Exit codes and the error kinds that choose them: 0 ok, 1 failure, 2 usage, 3 partial.

pub const OK: u8 = 0;
pub const FAILURE: u8 = 1;
pub const USAGE: u8 = 2;
pub const PARTIAL: u8 = 3;
/// Interrupted (Ctrl-C): 128 + SIGINT, as shells report it.
pub const INTERRUPTED: u8 = 130;

/// How a command that ran to its end went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything asked for was done.
    Complete,
    /// Some objects or days failed; they were counted and reported.
    Partial,
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Complete => OK,
            Outcome::Partial => PARTIAL,
        }
    }

    pub fn from_failures(failures: u64) -> Outcome {
        if failures == 0 {
            Outcome::Complete
        } else {
            Outcome::Partial
        }
    }
}

/// Bad input from the user (a date, a range, an option): exit code 2, nothing done.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Shorthand to build a usage error as an `anyhow::Error`.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// `--report FILE`: a file in a directory that exists, checked before any work (a report found
/// impossible to write at the end of a long run would turn it into a failure).
pub fn check_report_path(path: &std::path::Path) -> anyhow::Result<()> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    if path.is_dir() {
        return Err(usage(format!("--report {} is a directory", path.display())));
    }
    if !parent.is_dir() {
        return Err(usage(format!(
            "--report {}: no such directory {}",
            path.display(),
            parent.display()
        )));
    }
    Ok(())
}

/// Writes `text` and a newline to stdout. A reader that went away (`| head -1`) is not an error:
/// what the command did still stands and its exit code still says how it went.
pub fn say(text: impl std::fmt::Display) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    not_broken_pipe(writeln!(out, "{text}").and_then(|()| out.flush()))
}

/// `result`, with a broken pipe (the reader of stdout went away) taken as success.
pub fn not_broken_pipe(result: std::io::Result<()>) -> std::io::Result<()> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// The exit code for an error that stopped a command: 2 when the cause is the user's input.
pub fn code_for(err: &anyhow::Error) -> u8 {
    if err.chain().any(|cause| cause.is::<UsageError>()) {
        USAGE
    } else {
        FAILURE
    }
}

/// On Ctrl-C (SIGINT) or SIGTERM: one line saying what is kept, and exit 130 (143 for
/// SIGTERM). Stopping at any point is safe by construction, as after `kill -9`: the lake is
/// written by atomic renames (a temp file left behind is swept by the next run) and a load
/// commits whole batches of days (the open one rolls back with the connection).
pub fn stop_cleanly_on_signals() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            eprintln!(
                "pmu-lake: interrupted: what was stored in the lake and committed to the database \
                 is kept; run the same command again to resume"
            );
            std::process::exit(128 + signal);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn usage_error_keeps_code_2_through_context() {
        let err = Err::<(), _>(usage("bad date"))
            .context("parsing --date")
            .unwrap_err();
        assert_eq!(code_for(&err), USAGE);
        assert_eq!(code_for(&anyhow::anyhow!("disk full")), FAILURE);
    }

    #[test]
    fn failures_make_a_partial_outcome() {
        assert_eq!(Outcome::from_failures(0).code(), OK);
        assert_eq!(Outcome::from_failures(2).code(), PARTIAL);
    }
}
