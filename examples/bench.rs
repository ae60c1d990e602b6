//! `make bench`: a synthetic lake in the real payload shapes, loaded into a throwaway cluster,
//! replayed, and compared with the ceiling: `psql \copy` of the same final rows from CSV files
//! into the same, empty tables. Two lake sizes (half, full) show that peak memory stays flat:
//! each load runs as a `pmu-lake load` process of its own and reports its own peak.
//! The full size and the ceiling run `--runs` times each, on fresh databases, a load then a
//! ceiling, and the summary compares their medians: on a shared 2-core machine one run of
//! either varies by a third, and its speed drifts over a long bench.
//! Figures only: nothing here asserts a time.
//!
//! A development tool, not the product: a Cargo example (never installed, not in `pmu-lake
//! --help`) that drives the release `pmu-lake` binary as a user would, and reaches the library
//! only through its public API. The generator is the tests' own `tests/support/synth.rs`.
//!
//! `cargo build --release && cargo run --release --example bench -- [--days N] [--runs N]
//! [--races-per-day N] [--dir DIR] [--pmu-lake PATH]` (`make bench DAYS=… RUNS=… RACES=…`).

#[path = "../tests/support/synth.rs"]
#[allow(dead_code)]
mod synth;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Parser;
use postgres::Client;

use pmu_lake::day::DayRange;
use pmu_lake::db::Target;
use pmu_lake::db::local::{self, Cluster};
use pmu_lake::lake::Lake;
use pmu_lake::load::migrate;
use pmu_lake::load::report::{Phases, Report};

use synth::Spec;

/// Threads writing the synthetic lake.
const GENERATORS: u32 = 8;

/// Load speed of `pmu-lake load` on a synthetic lake, against `psql \copy` of the same rows.
#[derive(Debug, Parser)]
#[command(name = "bench", max_term_width = 100)]
struct Args {
    /// Days of synthetic data (the real history since 2013 is about 4,700 days).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    days: u32,
    /// Races per day.
    #[arg(long, default_value_t = 67, value_parser = clap::value_parser!(u32).range(1..))]
    races_per_day: u32,
    /// Times to run the full-size load and the ceiling (each on a fresh database); the
    /// summary compares their medians.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// Working directory: the synthetic lake (kept, and reused while its spec is the same),
    /// the throwaway cluster, the CSV files.
    #[arg(long, default_value = "data/bench", value_name = "DIR")]
    dir: PathBuf,
    /// The `pmu-lake` binary to measure [default: `pmu-lake` next to this example's directory,
    /// i.e. target/release/pmu-lake for a release build].
    #[arg(long, value_name = "PATH")]
    pmu_lake: Option<PathBuf>,
    /// Only write the synthetic lake (or find it there), measure nothing: a full-history lake
    /// takes a while to write, and can be written ahead.
    #[arg(long)]
    lake_only: bool,
    /// No reprocessing run (a full-history reprocess takes as long as a first load).
    #[arg(long)]
    no_reprocess: bool,
    /// No half-size load (it shows that peak memory does not grow with the lake; at the
    /// full-history size it takes a quarter of an hour).
    #[arg(long)]
    no_half: bool,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<()> {
    let exe = match args.pmu_lake {
        Some(path) => path,
        None => default_binary()?,
    };
    if !exe.is_file() {
        bail!(
            "no pmu-lake binary at {}: build it first (cargo build --release; make bench does)",
            exe.display()
        );
    }
    fs::create_dir_all(&args.dir).with_context(|| format!("creating {}", args.dir.display()))?;
    let spec = Spec::new(args.days, args.races_per_day);
    let lake_dir = args.dir.join("lake");
    let generated = ensure_lake(&lake_dir, &spec)?;
    eprintln!("bench: lake {} ({generated})", lake_dir.display());
    if args.lake_only {
        return Ok(());
    }
    eprintln!("bench: measuring {}", exe.display());

    let cluster = fresh_cluster(&args.dir.join("pg"))?;
    let bench = Bench {
        exe: &exe,
        cluster: &cluster,
        lake: &Lake::new(&lake_dir),
        scratch: &args.dir.join("csv"),
    };
    let result = bench.measure(&spec, args.runs, !args.no_reprocess, !args.no_half);
    let stopped = cluster.stop();
    let runs = result?;
    stopped?;
    print_table(&spec, &runs);
    Ok(())
}

/// `pmu-lake` in the directory above this example's (target/<profile>/examples/bench).
fn default_binary() -> Result<PathBuf> {
    let me = std::env::current_exe().context("finding the bench's own path")?;
    let profile_dir = me
        .parent()
        .and_then(Path::parent)
        .context("the bench is not in target/<profile>/examples")?;
    Ok(profile_dir.join("pmu-lake"))
}

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
    /// CPU seconds (user + system) of the `pmu-lake` process, and of the server's processes that
    /// ended during the run: its sessions, and any autovacuum worker (the ceiling: `psql`'s
    /// session). See [`Cpu`].
    cpu: Option<(f64, f64)>,
    phases: Option<Phases>,
    /// Seconds in each target table's merges (loads), or its `\copy` (the ceiling), slowest first.
    merges: Vec<(String, f64)>,
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
    let written = write_lake_in_parallel(&Lake::new(dir), spec)?;
    fs::write(&stamp, wanted).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(format!(
        "generated {} objects, {:.1} MB of JSON, {:.1} MB stored, in {:.1} s",
        written.objects,
        written.raw_bytes as f64 / 1e6,
        written.stored_bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    ))
}

/// [`synth::write_lake`] on [`GENERATORS`] threads, each taking the next day to write: every
/// object is fsynced with its directory, so one thread spends most of its time waiting for the
/// disk (a 30-day lake took 77 s on one thread). A day depends only on its index, so the lake
/// is the same.
fn write_lake_in_parallel(lake: &Lake, spec: &Spec) -> Result<synth::Written> {
    let next = AtomicU32::new(0);
    let total = Mutex::new(synth::Written::default());
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..GENERATORS)
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= spec.days {
                            return Ok(());
                        }
                        let w = synth::write_day(lake, spec, i, synth::RaceState::Finished)?;
                        let mut t = total.lock().expect("no generator panics holding the lock");
                        t.objects += w.objects;
                        t.raw_bytes += w.raw_bytes;
                        t.stored_bytes += w.stored_bytes;
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().expect("a generator thread panicked"))
    })?;
    Ok(total.into_inner().expect("the generators are done"))
}

/// A new cluster in `dir` (an old one is stopped and removed first). Its socket is in `dir`
/// and it listens on no TCP port, so it does not meet any other cluster of the machine.
fn fresh_cluster(dir: &Path) -> Result<Cluster> {
    if dir.exists() {
        let old = Cluster::new(dir, local::DEFAULT_PORT)?;
        if old.is_running() {
            old.stop()?;
        }
        fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let cluster = Cluster::new(dir, local::DEFAULT_PORT)?;
    cluster.init(&local::Settings::default())?;
    cluster.start()?;
    Ok(cluster)
}

/// What every measure shares.
struct Bench<'a> {
    /// The `pmu-lake` binary under test.
    exe: &'a Path,
    cluster: &'a Cluster,
    lake: &'a Lake,
    /// The load reports and the ceiling's CSV files.
    scratch: &'a Path,
}

/// A load measured in a process of its own, so that its peak memory is its alone.
struct ChildLoad {
    run: Run,
    rejected: u64,
    /// The target tables, in the report's order (merge order, which is foreign-key order).
    tables: Vec<String>,
}

impl Bench<'_> {
    /// A new, migrated database of the cluster; its URL.
    fn new_db(&self, name: &str) -> Result<String> {
        self.cluster.create_database(name)?;
        let url = self.cluster.url(name);
        migrate::run(&mut Target::parse(&url)?.connect()?)?;
        Ok(url)
    }

    /// Drops database `name` of the cluster: a full-history database is several GB, and the
    /// bench makes one per run.
    fn drop_db(&self, name: &str) -> Result<()> {
        let mut admin = Target::parse(&self.cluster.url("postgres"))?.connect()?;
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .with_context(|| format!("dropping database {name}"))
    }

    fn measure(
        &self,
        spec: &Spec,
        runs: u32,
        reprocess: bool,
        with_half: bool,
    ) -> Result<Vec<Run>> {
        let mut measured = Vec::new();
        // The half-size lake once, for peak memory.
        let half = (spec.days / 2).max(1);
        if with_half && half < spec.days {
            let (url, name) = self.new_db_for(half, "half")?;
            self.first_and_replay(spec, &url, half, false, &mut measured)?;
            self.drop_db(&name)?;
        }
        // The full size `runs` times, each first load followed by a ceiling run: the machine's
        // speed drifts over a long bench (one 45-minute bench of the same code gave 68 %, the
        // next 55 %, with its three loads all before its three ceilings), and alternating puts
        // both sides in the same weather. The ceiling's rows are exported after the first load.
        let mut exported: Option<Exported> = None;
        for i in 0..runs.max(1) {
            let (url, name) = self.new_db_for(spec.days, &i.to_string())?;
            let tables = self.first_and_replay(spec, &url, spec.days, reprocess, &mut measured)?;
            if exported.is_none() {
                exported = Some(self.export(&url, &tables)?);
            }
            self.drop_db(&name)?;
            let files = exported.as_ref().expect("exported after the first load");
            measured.push(self.ceiling(files, spec.days, i)?);
        }
        Ok(measured)
    }

    /// A fresh database for a load of `days` days.
    fn new_db_for(&self, days: u32, run: &str) -> Result<(String, String)> {
        let name = format!("bench_{days}d_{run}");
        Ok((self.new_db(&name)?, name))
    }

    /// A first load of the lake's first `days` days into `url`, its replay, and with
    /// `reprocess` a reprocessing of all of it; the loaded tables in foreign-key order.
    fn first_and_replay(
        &self,
        spec: &Spec,
        url: &str,
        days: u32,
        reprocess: bool,
        measured: &mut Vec<Run>,
    ) -> Result<Vec<String>> {
        let range = DayRange::new(spec.day(0), spec.day(days - 1))?;
        let first = self.load_in_child(url, range)?;
        if first.rejected > 0 {
            bail!("the synthetic lake had {} rejected objects", first.rejected);
        }
        let mut loaded = Target::parse(url)?.connect()?;
        let tables = tables_in_fk_order(&mut loaded, &first.tables)?;
        let rows = count_rows(&mut loaded, &tables)?;
        measured.push(Run {
            label: format!("first load, {days} days"),
            rows,
            ..first.run
        });
        let replay = self.load_in_child(url, range)?;
        measured.push(Run {
            label: format!("replay, {days} days"),
            rows,
            peak_rss_kb: None,
            phases: None,
            merges: Vec::new(),
            ..replay.run
        });
        if reprocess {
            // As after a release that raised every stage's mapping version: the next load
            // re-derives every object from the lake (issue: at least as fast as a first load).
            loaded
                .batch_execute("UPDATE load_ledger SET mapping_version = 0")
                .context("marking every object as mapped by an older version")?;
            let reprocess = self.load_in_child(url, range)?;
            measured.push(Run {
                label: format!("reprocess, {days} days"),
                rows,
                ..reprocess.run
            });
        }
        Ok(tables)
    }

    /// Runs `pmu-lake load` on `range` of the lake into `url`, and reads its `--report`: time,
    /// staged rows, phases and peak memory, all measured inside the child.
    fn load_in_child(&self, url: &str, range: DayRange) -> Result<ChildLoad> {
        let scratch = self.scratch;
        fs::create_dir_all(scratch).with_context(|| format!("creating {}", scratch.display()))?;
        let report_path = scratch.join("load-report.json");
        let cpu = Cpu::start(self.cluster);
        let out = Command::new(self.exe)
            .args(["load", "--quiet", "--lake"])
            .arg(self.lake.root())
            .args(["--start", &range.start.iso(), "--end", &range.end.iso()])
            .arg("--report")
            .arg(&report_path)
            .env("DATABASE_URL", url)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {} load", self.exe.display()))?;
        let cpu = cpu.and_then(|c| c.since());
        // Exit 3 (partial) still writes the report: its rejected objects are checked by the
        // caller.
        if !(out.status.success() || out.status.code() == Some(3)) {
            bail!(
                "pmu-lake load failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let bytes =
            fs::read(&report_path).with_context(|| format!("reading {}", report_path.display()))?;
        let report: Report = serde_json::from_slice(&bytes)
            .with_context(|| format!("parsing {}", report_path.display()))?;
        let total = report.tables.total();
        let mut merges: Vec<(String, f64)> = report
            .tables
            .0
            .iter()
            .map(|t| (t.table.clone(), t.counts.merge_us as f64 / 1e6))
            .collect();
        merges.sort_by(|a, b| b.1.total_cmp(&a.1));
        Ok(ChildLoad {
            run: Run {
                label: String::new(),
                rows: 0,
                staged: total.read - total.not_sent,
                seconds: report.seconds,
                peak_rss_kb: report.peak_rss_kb,
                cpu,
                phases: Some(report.phases),
                merges,
            },
            rejected: report.objects.rejected,
            tables: report.tables.0.into_iter().map(|t| t.table).collect(),
        })
    }

    /// Exports the loaded rows of `tables` to CSV files, in that order; their row count.
    fn export(&self, loaded_url: &str, tables: &[String]) -> Result<Exported> {
        let csv_dir = self.scratch;
        fs::create_dir_all(csv_dir).with_context(|| format!("creating {}", csv_dir.display()))?;
        let mut source = Target::parse(loaded_url)?.connect()?;
        let mut files: Vec<(String, PathBuf)> = Vec::new();
        for table in tables {
            let path = csv_dir.join(format!("{table}.csv"));
            let mut file =
                fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
            let mut reader = source.copy_out(&format!("COPY {table} TO STDOUT (FORMAT csv)"))?;
            std::io::copy(&mut reader, &mut file).with_context(|| format!("exporting {table}"))?;
            drop(reader);
            files.push((table.clone(), path));
        }
        let rows = count_rows(&mut source, tables)?;
        Ok(Exported { files, rows })
    }

    /// Times `psql \copy` of the exported rows into an empty database (a fresh one, dropped
    /// after): run `i` of the ceiling.
    fn ceiling(&self, exported: &Exported, days: u32, i: u32) -> Result<Run> {
        let Exported { files, rows } = exported;
        let rows = *rows;
        let name = format!("bench_ceiling_{i}");
        let url = self.new_db(&name)?;
        let mut psql = Command::new(self.cluster.bindir().join("psql"));
        psql.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-d", &url]);
        // "Time: … ms" after each \copy: the ceiling of each table, beside its merge.
        psql.args(["-c", "\\timing on"]);
        for (table, path) in files {
            psql.arg("-c").arg(format!(
                "\\copy {table} FROM '{}' (FORMAT csv)",
                path.display().to_string().replace('\'', "''")
            ));
        }
        let cpu = Cpu::start(self.cluster);
        let started = Instant::now();
        let out = psql.stdin(Stdio::null()).output().context("running psql")?;
        let seconds = started.elapsed().as_secs_f64();
        let cpu = cpu.and_then(|c| c.since());
        if !out.status.success() {
            bail!(
                "psql \\copy failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        self.drop_db(&name)?;
        let times = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("Time: "))
            .filter_map(|t| t.split(' ').next()?.parse::<f64>().ok())
            .map(|ms| ms / 1e3)
            .collect::<Vec<f64>>();
        let mut merges: Vec<(String, f64)> = files
            .iter()
            .map(|(table, _)| table.clone())
            .zip(times)
            .collect();
        merges.sort_by(|a, b| b.1.total_cmp(&a.1));
        Ok(Run {
            label: format!("ceiling: psql \\copy, {days} days"),
            rows,
            staged: rows,
            seconds,
            peak_rss_kb: None,
            cpu,
            phases: None,
            merges,
        })
    }
}

/// CPU time of the process under measure and of the server, from `/proc`: the `cutime` and
/// `cstime` of this process (the child it waited for: `pmu-lake`, `psql`) and of the
/// postmaster (the sessions the run opened, and any worker that ended in between).
/// Long-lived server processes (checkpointer, WAL writer) are not counted.
struct Cpu {
    postmaster: u32,
    /// The postmaster's children at the start: its long-lived processes.
    resident: Vec<u32>,
    bench: f64,
    server: f64,
}

impl Cpu {
    /// None where `/proc` or the cluster's `postmaster.pid` cannot be read: the columns stay
    /// empty.
    fn start(cluster: &Cluster) -> Option<Cpu> {
        let pid = fs::read_to_string(cluster.dir().join("postmaster.pid")).ok()?;
        let postmaster: u32 = pid.lines().next()?.trim().parse().ok()?;
        Some(Cpu {
            postmaster,
            resident: children(postmaster)
                .into_iter()
                .map(|(pid, _)| pid)
                .collect(),
            bench: children_cpu("self")?,
            server: children_cpu(&postmaster.to_string())?,
        })
    }

    /// (the waited-for child's CPU seconds, the server's) since [`Cpu::start`], once the
    /// sessions the run opened are reaped: a client's exit does not wait for its sessions', and
    /// the postmaster counts a session's time only when it has reaped it (up to a second
    /// later). An autovacuum worker still running is not waited for (nor counted).
    fn since(&self) -> Option<(f64, f64)> {
        let deadline = Instant::now() + std::time::Duration::from_secs(30);
        while Instant::now() < deadline
            && children(self.postmaster).iter().any(|(pid, cmdline)| {
                !self.resident.contains(pid) && !cmdline.starts_with("postgres: autovacuum worker")
            })
        {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Some((
            children_cpu("self")? - self.bench,
            children_cpu(&self.postmaster.to_string())? - self.server,
        ))
    }
}

/// The children of process `parent`, with their command lines (empty for one exiting).
fn children(parent: u32) -> Vec<(u32, String)> {
    let Ok(procs) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            let fields = stat_fields(&pid.to_string());
            fields.and_then(|f| f.get(1)?.parse().ok()) == Some(parent)
        })
        .map(|pid| {
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            (pid, String::from_utf8_lossy(&cmdline).into_owned())
        })
        .collect()
}

/// `cutime + cstime` of `/proc/<pid>/stat`, seconds: the CPU of the children `pid` waited for.
fn children_cpu(pid: &str) -> Option<f64> {
    let fields = stat_fields(pid)?;
    // cutime (16th field) and cstime (17th).
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    // /proc counts in USER_HZ, 100 a second on Linux whatever the kernel's own tick.
    Some((ticks(13)? + ticks(14)?) as f64 / 100.0)
}

/// The fields of `/proc/<pid>/stat` after the command name (which may hold spaces): the state
/// (3rd field) first, then the parent's pid.
fn stat_fields(pid: &str) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, fields) = stat.rsplit_once(')')?;
    Some(fields.split_whitespace().map(str::to_owned).collect())
}

/// The ceiling's input: one CSV file per target table, in foreign-key order.
struct Exported {
    files: Vec<(String, PathBuf)>,
    rows: u64,
}

/// `tables` ordered so that a table comes after those its foreign keys reference (the
/// ceiling's `\copy` checks them row by row; a first load sets them aside and validates them
/// at its end, `load::aside`), from the catalog rather than from the loader's code, which may
/// reorder its merges.
fn tables_in_fk_order(client: &mut Client, tables: &[String]) -> Result<Vec<String>> {
    let edges: Vec<(String, String)> = client
        .query(
            "SELECT conrelid::regclass::text, confrelid::regclass::text \
             FROM pg_constraint WHERE contype = 'f' AND conrelid <> confrelid",
            &[],
        )
        .context("reading the foreign keys")?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut left: Vec<&String> = tables.iter().collect();
    let mut ordered: Vec<String> = Vec::new();
    while !left.is_empty() {
        let ready = left.iter().position(|t| {
            edges
                .iter()
                .all(|(from, to)| from != *t || !left.contains(&to))
        });
        let Some(i) = ready else {
            bail!("the foreign keys between {left:?} form a cycle");
        };
        ordered.push(left.remove(i).clone());
    }
    Ok(ordered)
}

/// Rows in the target tables: the same measure for the loads and the ceiling.
fn count_rows(client: &mut Client, tables: &[String]) -> Result<u64> {
    let mut rows = 0;
    for table in tables {
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
        "{:<34} {:>10} {:>10} {:>10} {:>12} {:>14} {:>12} {:>12}",
        "run",
        "rows",
        "staged",
        "seconds",
        "rows/s",
        "peak RSS (MiB)",
        "client CPU s",
        "server CPU s"
    );
    for r in runs {
        let rss = r
            .peak_rss_kb
            .map(|kb| format!("{:.1}", kb as f64 / 1024.0))
            .unwrap_or_default();
        let (client, server) = r
            .cpu
            .map(|(c, s)| (format!("{c:.1}"), format!("{s:.1}")))
            .unwrap_or_default();
        println!(
            "{:<34} {:>10} {:>10} {:>10.2} {:>12.0} {:>14} {:>12} {:>12}",
            r.label,
            r.rows,
            r.staged,
            r.seconds,
            r.rate(),
            rss,
            client,
            server
        );
    }
    let full = |prefix: &str| -> Vec<&Run> {
        runs.iter()
            .filter(|r| r.label == format!("{prefix}, {} days", spec.days))
            .collect()
    };
    let (firsts, replays, reprocesses, ceilings) = (
        full("first load"),
        full("replay"),
        full("reprocess"),
        full("ceiling: psql \\copy"),
    );
    if let Some(p) = median_run(&firsts).and_then(|r| r.phases) {
        println!(
            "first load time (median run): {:.2} s read+parse, {:.2} s COPY, {:.2} s merges, {:.2} s ledger+commit, {:.2} s foreign keys set aside and validated, {:.2} s more for the indexes built again beside them",
            p.read_parse, p.copy, p.merge, p.ledger_commit, p.foreign_keys, p.indexes
        );
        // The first session's idle time, and what it waited for: where the load's critical
        // path runs.
        println!(
            "first session idle in that run: {:.2} s waiting for the lake reader, {:.2} s for the second session",
            p.waiting_for_reader, p.waiting_for_second
        );
    }
    if let Some(r) = median_run(&firsts) {
        println!("merges of that run, seconds: {}", per_table(r));
    }
    if let (Some((client, server)), Some((psql, ceiling))) = (
        median_run(&firsts).and_then(|r| r.cpu),
        median_run(&ceilings).and_then(|r| r.cpu),
    ) {
        // On n cores a run takes at least its CPU seconds / n: what bounds the ratio below.
        println!(
            "CPU seconds (user+sys) of the median runs: first load {client:.1} in pmu-lake + {server:.1} in PostgreSQL = {:.1}; ceiling {psql:.1} in psql + {ceiling:.1} in PostgreSQL = {:.1}",
            client + server,
            psql + ceiling
        );
    }
    if let Some(r) = median_run(&ceilings) {
        println!(
            "\\copy of each table in the median ceiling, seconds: {}",
            per_table(r)
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
    if firsts.len() > 1 && firsts.len() == ceilings.len() {
        // Each load beside the ceiling run that followed it, in the same weather.
        let pairs: Vec<String> = firsts
            .iter()
            .zip(&ceilings)
            .map(|(f, c)| {
                format!(
                    "{:.0} %",
                    100.0 * f.rate() / c.rate().max(f64::MIN_POSITIVE)
                )
            })
            .collect();
        println!(
            "each first load / the ceiling run after it: {}",
            pairs.join(", ")
        );
    }
    if let (Some(first), Some(reprocess)) = (median_run(&firsts), median_run(&reprocesses)) {
        println!(
            "reprocessing the whole lake after a mapping bump (median): {:.2} s, {:.2}x the first load's time",
            reprocess.seconds,
            reprocess.seconds / first.seconds.max(1e-9)
        );
    }
}

/// "table seconds, …" of a run's [`Run::merges`].
fn per_table(run: &Run) -> String {
    let tables: Vec<String> = run
        .merges
        .iter()
        .map(|(t, s)| format!("{t} {s:.2}"))
        .collect();
    tables.join(", ")
}

/// The run of median time (the upper one of an even count).
fn median_run<'a>(runs: &[&'a Run]) -> Option<&'a Run> {
    let mut sorted = runs.to_vec();
    sorted.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    sorted.get(sorted.len() / 2).copied()
}
