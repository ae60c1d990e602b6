//! `make bench`: a synthetic lake in the real payload shapes, loaded into a throwaway cluster,
//! replayed, and compared with the ceiling: `psql \copy` of the same final rows from CSV files
//! into the same, empty tables. Two lake sizes (half, full) show that peak memory stays flat:
//! each load runs as a `pmu-lake load` process of its own and reports its own peak.
//! The full size and the ceiling run `--runs` times each, on fresh databases, and the summary
//! compares their medians: on a shared 2-core machine one run of either varies by a third.
//! Figures only: nothing here asserts a time.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use postgres::Client;

use crate::day::DayRange;
use crate::db::Target;
use crate::db::local::{self, Cluster};
use crate::exit::Outcome;
use crate::lake::Lake;
use crate::load::report::Report;
use crate::load::synth::{self, Spec};
use crate::load::{migrate, sql};

/// One measured run.
#[derive(Debug, Clone)]
struct Run {
    label: String,
    /// Rows in the target tables at the end: the measure all runs share.
    rows: u64,
    /// Distinct rows the run sent through staging and merges, per batch (a past race that two
    /// batches send counts twice; one the load knew unchanged and did not send, not at all):
    /// the work behind `rows` (the same as `rows` for the ceiling, 0 for a replay).
    staged: u64,
    seconds: f64,
    peak_rss_kb: Option<u64>,
    phases: Option<crate::load::report::Phases>,
}

impl Run {
    fn rate(&self) -> f64 {
        if self.seconds > 0.0 {
            self.rows as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// What `pmu-lake bench` is asked to do.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Days of synthetic data.
    pub days: u32,
    pub races_per_day: u32,
    /// Working directory: the synthetic lake, the throwaway cluster, the CSV files.
    pub dir: PathBuf,
    /// Times to run the full-size load and the ceiling.
    pub runs: u32,
}

pub fn run(args: Settings) -> Result<Outcome> {
    if args.days == 0 || args.races_per_day == 0 {
        return Err(crate::exit::usage(
            "--days and --races-per-day must be at least 1",
        ));
    }
    fs::create_dir_all(&args.dir).with_context(|| format!("creating {}", args.dir.display()))?;
    let spec = Spec::new(args.days, args.races_per_day);
    let lake_dir = args.dir.join("lake");
    let generated = ensure_lake(&lake_dir, &spec)?;
    eprintln!("bench: lake {} ({generated})", lake_dir.display());

    let cluster = fresh_cluster(&args.dir.join("pg"))?;
    let result = measure(
        &cluster,
        &Lake::new(&lake_dir),
        &spec,
        &args.dir.join("csv"),
        args.runs,
    );
    let stopped = cluster.stop();
    let runs = result?;
    stopped?;
    print_table(&spec, &runs);
    Ok(Outcome::Complete)
}

/// Generates the lake unless one made from the same spec is there.
fn ensure_lake(dir: &Path, spec: &Spec) -> Result<String> {
    let stamp = dir.join(".bench-spec");
    // Bump the version when the generator changes, so an old lake is not reused.
    let wanted = format!("synth v4 {spec:?}");
    if fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        return Ok("reused".to_string());
    }
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let started = Instant::now();
    let written = synth::write_lake(&Lake::new(dir), spec)?;
    fs::write(&stamp, wanted).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(format!(
        "generated {} objects, {:.1} MB of JSON, {:.1} MB stored, in {:.1} s",
        written.objects,
        written.raw_bytes as f64 / 1e6,
        written.stored_bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    ))
}

/// A new cluster in `dir` (an old one is stopped and removed first).
fn fresh_cluster(dir: &Path) -> Result<Cluster> {
    if dir.exists() {
        let old = Cluster::new(dir, crate::db::local::DEFAULT_PORT)?;
        if old.is_running() {
            old.stop()?;
        }
        fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let cluster = Cluster::new(dir, crate::db::local::DEFAULT_PORT)?;
    cluster.init(&local::Settings::default())?;
    cluster.start()?;
    Ok(cluster)
}

fn connect_new_db(cluster: &Cluster, name: &str) -> Result<(Client, String)> {
    cluster.create_database(name)?;
    let url = cluster.url(name);
    let mut client = Target::parse(&url)?.connect()?;
    migrate::run(&mut client)?;
    Ok((client, url))
}

fn measure(
    cluster: &Cluster,
    lake: &Lake,
    spec: &Spec,
    csv_dir: &Path,
    runs: u32,
) -> Result<Vec<Run>> {
    let mut measured = Vec::new();
    let half = (spec.days / 2).max(1);
    // The half-size lake once, for peak memory; the full size `runs` times, as the ceiling.
    let mut sizes: Vec<u32> = if half < spec.days { vec![half] } else { vec![] };
    sizes.extend(std::iter::repeat_n(spec.days, runs.max(1) as usize));
    let mut full_url = String::new();
    for (i, days) in sizes.into_iter().enumerate() {
        let range = DayRange::new(spec.day(0), spec.day(days - 1))?;
        let (client, url) = connect_new_db(cluster, &format!("bench_{days}d_{i}"))?;
        drop(client);
        let first = load_in_child(&url, lake, range, csv_dir)?;
        if first.rejected > 0 {
            bail!("the synthetic lake had {} rejected objects", first.rejected);
        }
        let rows = count_rows(&mut Target::parse(&url)?.connect()?)?;
        measured.push(Run {
            label: format!("first load, {days} days"),
            rows,
            ..first.run
        });
        let replay = load_in_child(&url, lake, range, csv_dir)?;
        measured.push(Run {
            label: format!("replay, {days} days"),
            rows,
            peak_rss_kb: None,
            phases: None,
            ..replay.run
        });
        full_url = url;
    }
    measured.extend(ceiling(cluster, &full_url, csv_dir, spec.days, runs)?);
    Ok(measured)
}

/// A load measured in a process of its own, so that its peak memory is its alone.
struct ChildLoad {
    run: Run,
    rejected: u64,
}

/// Runs `pmu-lake load` (this very binary) on `range` of `lake` into `url`, and reads its
/// `--report`: time, staged rows, phases and peak memory, all measured inside the child.
fn load_in_child(url: &str, lake: &Lake, range: DayRange, scratch: &Path) -> Result<ChildLoad> {
    fs::create_dir_all(scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let report_path = scratch.join("load-report.json");
    let exe = std::env::current_exe().context("finding the pmu-lake binary")?;
    let out = Command::new(exe)
        .args(["load", "--quiet", "--lake"])
        .arg(lake.root())
        .args(["--start", &range.start.iso(), "--end", &range.end.iso()])
        .arg("--report")
        .arg(&report_path)
        .env("DATABASE_URL", url)
        .stdin(Stdio::null())
        .output()
        .context("running pmu-lake load")?;
    // Exit 3 (partial) still writes the report: its rejected objects are checked by the caller.
    if !(out.status.success() || out.status.code() == Some(3)) {
        bail!(
            "pmu-lake load failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let bytes =
        fs::read(&report_path).with_context(|| format!("reading {}", report_path.display()))?;
    let report: Report = serde_json::from_slice(&bytes)
        .with_context(|| format!("parsing {}", report_path.display()))?;
    let total = report.tables.total();
    Ok(ChildLoad {
        run: Run {
            label: String::new(),
            rows: 0,
            staged: total.read - total.not_sent,
            seconds: report.seconds,
            peak_rss_kb: report.peak_rss_kb,
            phases: Some(report.phases),
        },
        rejected: report.objects.rejected,
    })
}

/// The target tables in foreign-key order, as the merges name them.
fn targets() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for m in sql::MERGES {
        if !names.contains(&m.target) {
            names.push(m.target);
        }
    }
    names
}

/// Exports the loaded rows to CSV, then times `psql \copy` of them into an empty database,
/// `runs` times (a fresh database each time).
fn ceiling(
    cluster: &Cluster,
    loaded_url: &str,
    csv_dir: &Path,
    days: u32,
    runs: u32,
) -> Result<Vec<Run>> {
    fs::create_dir_all(csv_dir).with_context(|| format!("creating {}", csv_dir.display()))?;
    let mut source = Target::parse(loaded_url)?.connect()?;
    let mut files: Vec<(&str, PathBuf)> = Vec::new();
    for table in targets() {
        let path = csv_dir.join(format!("{table}.csv"));
        let mut file =
            fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        let mut reader = source.copy_out(&format!("COPY {table} TO STDOUT (FORMAT csv)"))?;
        std::io::copy(&mut reader, &mut file).with_context(|| format!("exporting {table}"))?;
        drop(reader);
        files.push((table, path));
    }
    let rows = count_rows(&mut source)?;
    let mut measured = Vec::new();
    for i in 0..runs.max(1) {
        let (client, url) = connect_new_db(cluster, &format!("bench_ceiling_{i}"))?;
        drop(client);
        let mut psql = Command::new(cluster.bindir().join("psql"));
        psql.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-d", &url]);
        for (table, path) in &files {
            psql.arg("-c").arg(format!(
                "\\copy {table} FROM '{}' (FORMAT csv)",
                path.display().to_string().replace('\'', "''")
            ));
        }
        let started = Instant::now();
        let out = psql.stdin(Stdio::null()).output().context("running psql")?;
        let seconds = started.elapsed().as_secs_f64();
        if !out.status.success() {
            bail!(
                "psql \\copy failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        measured.push(Run {
            label: format!("ceiling: psql \\copy, {days} days"),
            rows,
            staged: rows,
            seconds,
            peak_rss_kb: None,
            phases: None,
        });
    }
    Ok(measured)
}

/// Rows in the target tables: the same measure for the loads and the ceiling.
fn count_rows(client: &mut Client) -> Result<u64> {
    let mut rows = 0;
    for table in targets() {
        let n: i64 = client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])?
            .get(0);
        rows += u64::try_from(n).unwrap_or(0);
    }
    Ok(rows)
}

fn print_table(spec: &Spec, runs: &[Run]) {
    println!(
        "pmu-lake bench: {} days x {} races x {} runners (5-9 past races each), seed {:#x}",
        spec.days, spec.races_per_day, spec.runners, spec.seed
    );
    println!(
        "{:<34} {:>10} {:>10} {:>10} {:>12} {:>14}",
        "run", "rows", "staged", "seconds", "rows/s", "peak RSS (MB)"
    );
    for r in runs {
        let rss = r
            .peak_rss_kb
            .map(|kb| format!("{:.1}", kb as f64 / 1024.0))
            .unwrap_or_default();
        println!(
            "{:<34} {:>10} {:>10} {:>10.2} {:>12.0} {:>14}",
            r.label,
            r.rows,
            r.staged,
            r.seconds,
            r.rate(),
            rss
        );
    }
    let full = |prefix: &str| -> Vec<&Run> {
        runs.iter()
            .filter(|r| r.label == format!("{prefix}, {} days", spec.days))
            .collect()
    };
    let (firsts, replays, ceilings) = (
        full("first load"),
        full("replay"),
        full("ceiling: psql \\copy"),
    );
    if let Some(p) = median_run(&firsts).and_then(|r| r.phases) {
        println!(
            "first load time (median run): {:.2} s read+parse, {:.2} s COPY, {:.2} s merges, {:.2} s ledger+commit",
            p.read_parse, p.copy, p.merge, p.ledger_commit
        );
    }
    if let (Some(first), Some(replay), Some(ceiling)) = (
        median_run(&firsts),
        median_run(&replays),
        median_run(&ceilings),
    ) {
        println!(
            "medians of {} runs: first load / ceiling: {:.0} % of the ceiling's rows/s; replay speed-up over the first load: {:.0}x",
            firsts.len(),
            100.0 * first.rate() / ceiling.rate().max(f64::MIN_POSITIVE),
            first.seconds / replay.seconds.max(1e-9)
        );
    }
}

/// The run of median time (the upper one of an even count).
fn median_run<'a>(runs: &[&'a Run]) -> Option<&'a Run> {
    let mut sorted = runs.to_vec();
    sorted.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    sorted.get(sorted.len() / 2).copied()
}
