//! The figures of a load: per target table rows read, inserted, updated, unchanged (and orphaned)
//! per batch (one transaction of consecutive days) and in total; objects loaded, skipped and
//! rejected per day, per batch and in total; the one-line summary and the `--report FILE.json`.

use std::fs::File;
use std::io::{BufRead as _, BufReader, BufWriter, Seek as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::day::Day;
use crate::exit::Outcome;
pub use crate::load::rows::OutOfRange;
use serde::{Deserialize, Serialize};

/// Row counts of one target table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableCounts {
    /// Distinct staged rows for the table.
    pub read: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Rows that could not be attached to a parent (e.g. runners of a race whose programme is
    /// missing).
    pub orphaned: u64,
    /// Of `unchanged`, rows the load did not even send to PostgreSQL: past races that an
    /// earlier batch of the same load had sent with the same values (see `load::seen`).
    pub not_sent: u64,
    /// Time spent in the table's merge statements, in microseconds (`make bench` lists them).
    #[serde(default)]
    pub merge_us: u64,
    /// Of `inserted`, rows a first backfill knew were new and copied straight into the table,
    /// without staging or merge (`past_race_runner`, see `load::sent`).
    #[serde(default)]
    pub direct: u64,
}

impl TableCounts {
    /// From one merge's (read, inserted, updated, orphaned) row.
    pub fn from_merge(read: i64, inserted: i64, updated: i64, orphaned: i64) -> TableCounts {
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        let (read, inserted, updated, orphaned) = (n(read), n(inserted), n(updated), n(orphaned));
        let unchanged = read.saturating_sub(inserted + updated + orphaned);
        TableCounts {
            read,
            inserted,
            updated,
            unchanged,
            orphaned,
            not_sent: 0,
            merge_us: 0,
            direct: 0,
        }
    }

    /// `n` rows copied straight into the table in `us` microseconds.
    pub fn direct(n: u64, us: u64) -> TableCounts {
        TableCounts {
            read: n,
            inserted: n,
            direct: n,
            merge_us: us,
            ..TableCounts::default()
        }
    }

    /// Rows read and known unchanged without being sent.
    pub fn not_sent(n: u64) -> TableCounts {
        TableCounts {
            read: n,
            unchanged: n,
            not_sent: n,
            ..TableCounts::default()
        }
    }

    pub fn add(&mut self, other: &TableCounts) {
        self.read += other.read;
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.orphaned += other.orphaned;
        self.not_sent += other.not_sent;
        self.merge_us += other.merge_us;
        self.direct += other.direct;
    }
}

/// Counts per target table, in merge order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tables(pub Vec<TableRow>);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRow {
    pub table: String,
    #[serde(flatten)]
    pub counts: TableCounts,
}

impl Tables {
    pub fn add(&mut self, table: &str, counts: &TableCounts) {
        match self.0.iter_mut().find(|r| r.table == table) {
            Some(row) => row.counts.add(counts),
            None => self.0.push(TableRow {
                table: table.to_string(),
                counts: *counts,
            }),
        }
    }

    pub fn merge(&mut self, other: &Tables) {
        for row in &other.0 {
            self.add(&row.table, &row.counts);
        }
    }

    pub fn get(&self, table: &str) -> Option<&TableCounts> {
        self.0.iter().find(|r| r.table == table).map(|r| &r.counts)
    }

    pub fn total(&self) -> TableCounts {
        let mut total = TableCounts::default();
        for row in &self.0 {
            total.add(&row.counts);
        }
        total
    }
}

/// Object counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objects {
    pub loaded: u64,
    /// Of `loaded`, objects whose stored bytes had not changed but whose rows an older mapping
    /// produced (see `load::ledger::mapping_version`): re-derived from the lake.
    #[serde(default)]
    pub reprocessed: u64,
    /// Already loaded with the same stored bytes (ledger), not read again.
    pub skipped: u64,
    pub rejected: u64,
    /// Empty 204/404 markers: nothing to load.
    pub markers: u64,
}

impl Objects {
    pub fn add(&mut self, other: &Objects) {
        self.loaded += other.loaded;
        self.reprocessed += other.reprocessed;
        self.skipped += other.skipped;
        self.rejected += other.rejected;
        self.markers += other.markers;
    }
}

/// One rejected object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub path: String,
    pub reason: String,
}

/// Where the time went, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Phases {
    /// Reading, hashing, decompressing and turning payloads into CSV rows.
    pub read_parse: f64,
    /// `COPY … FROM STDIN` into the staging tables.
    pub copy: f64,
    /// The set-based merges into the target tables.
    pub merge: f64,
    /// Ledger reads and writes, and commits.
    pub ledger_commit: f64,
    /// Setting the foreign keys and indexes aside before a first backfill, and adding the keys
    /// back, validated, after it (`load::aside`).
    #[serde(default)]
    pub foreign_keys: f64,
    /// Building the indexes set aside again after a first backfill (`load::aside`), once the
    /// keys are back: with two sessions, another session builds them while the keys are added
    /// back, and this is the wait for it to end.
    #[serde(default)]
    pub indexes: f64,
    /// The first session idle, waiting for the lake's reader to hand over the next batch: the
    /// reader is then the slower.
    #[serde(default)]
    pub waiting_for_reader: f64,
    /// The first session done with a batch, waiting for the second one to be done with it too
    /// (`load::side`): the second session is then the slower.
    #[serde(default)]
    pub waiting_for_second: f64,
}

impl Phases {
    pub fn add(&mut self, other: &Phases) {
        self.read_parse += other.read_parse;
        self.copy += other.copy;
        self.merge += other.merge;
        self.ledger_commit += other.ledger_commit;
        self.foreign_keys += other.foreign_keys;
        self.indexes += other.indexes;
        self.waiting_for_reader += other.waiting_for_reader;
        self.waiting_for_second += other.waiting_for_second;
    }
}

/// Objects of one day (a batch holds one or more days).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DayObjects {
    pub day: String,
    pub objects: Objects,
}

/// One transaction: consecutive days loaded and committed together. Row counts are the
/// batch's (the merges see its days at once); object counts are also kept per day.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BatchReport {
    /// First and last day of the batch (the same for a one-day batch).
    pub first_day: String,
    pub last_day: String,
    pub days: Vec<DayObjects>,
    pub objects: Objects,
    pub tables: Tables,
    pub rejected: Vec<Rejection>,
    /// Whether COPY or a merge failed for the whole batch, so its objects were loaded one by
    /// one under savepoints.
    pub isolated: bool,
    /// Numbers stored as NULL because their column cannot hold them.
    #[serde(default)]
    pub out_of_range: Vec<OutOfRange>,
    pub seconds: f64,
    pub phases: Phases,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    pub days: u64,
    /// Transactions committed (batches of consecutive days).
    pub batches: u64,
    pub objects: Objects,
    pub tables: Tables,
    pub seconds: f64,
    pub phases: Phases,
    /// Peak resident memory of the process, in kB (Linux: `VmHWM`), when it can be read.
    pub peak_rss_kb: Option<u64>,
    /// PostgreSQL sessions that wrote the rows: 2 in a first backfill (see `load::side`), 1
    /// otherwise or when the server refused a second connection.
    #[serde(default)]
    pub sessions: u32,
    /// Numbers the API sent that their column cannot hold, stored as NULL (the row is kept),
    /// with the object each came from.
    #[serde(default)]
    pub out_of_range: Vec<OutOfRange>,
    /// Days asked for (`--date`, `--start/--end`) that the lake holds nothing for.
    #[serde(default)]
    pub missing_days: Vec<Day>,
}

/// Peak resident memory of this process so far, in kB (`VmHWM` of /proc/self/status; `None`
/// where there is no such file).
pub fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

impl Report {
    pub fn add_batch(&mut self, batch: BatchReport) {
        self.days += batch.days.len() as u64;
        self.batches += 1;
        self.objects.add(&batch.objects);
        self.tables.merge(&batch.tables);
        self.phases.add(&batch.phases);
        self.out_of_range.extend(batch.out_of_range.iter().cloned());
    }

    /// Rows that went into target tables, inserted or updated.
    pub fn rows_written(&self) -> u64 {
        let t = self.tables.total();
        t.inserted + t.updated
    }

    /// The one summary line printed at the end of `load`.
    /// Partial when an object was rejected, a number was stored as NULL, a day asked for is not
    /// in the lake, or the lake holds no day at all.
    pub fn outcome(&self) -> Outcome {
        let nothing = self.days == 0 && self.missing_days.is_empty();
        let altered = !self.out_of_range.is_empty();
        if self.objects.rejected > 0 || !self.missing_days.is_empty() || altered || nothing {
            Outcome::Partial
        } else {
            Outcome::Complete
        }
    }

    /// A line of totals, then one line per table (a table with a header), then what is missing:
    /// readable at a glance; `--report` has every figure.
    pub fn summary(&self) -> String {
        let o = &self.objects;
        let mut out = format!(
            "load: {} in {}, {:.1} s: {} objects loaded{}, {} unchanged (skipped), {} rejected, {} empty markers",
            plural(self.days, "day"),
            plural(self.batches, "transaction"),
            self.seconds,
            o.loaded,
            if o.reprocessed > 0 {
                format!(" ({} reprocessed: a newer mapping)", o.reprocessed)
            } else {
                String::new()
            },
            o.skipped,
            o.rejected,
            o.markers,
        );
        if !self.tables.0.is_empty() {
            let width = self
                .tables
                .0
                .iter()
                .map(|r| r.table.len())
                .max()
                .unwrap_or(0);
            out.push_str(&format!(
                "\n  {:width$}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}",
                "table", "read", "inserted", "updated", "unchanged", "orphaned"
            ));
            for r in &self.tables.0 {
                let c = &r.counts;
                out.push_str(&format!(
                    "\n  {:width$}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}",
                    r.table, c.read, c.inserted, c.updated, c.unchanged, c.orphaned
                ));
            }
        }
        if !self.out_of_range.is_empty() {
            let mut columns: Vec<&str> = self
                .out_of_range
                .iter()
                .map(|o| o.column.as_str())
                .collect();
            columns.sort_unstable();
            columns.dedup();
            out.push_str(&format!(
                "\nload: {} out of range for their column, stored as NULL (rows kept; --report lists each with its object): {}",
                plural(self.out_of_range.len() as u64, "number"),
                columns.join(", ")
            ));
        }
        if !self.missing_days.is_empty() {
            out.push_str(&format!(
                "\nload: the lake holds nothing for {} asked for: {} (run `pmu-lake extract` for them)",
                plural(self.missing_days.len() as u64, "day"),
                spans(&self.missing_days)
            ));
        } else if self.days == 0 {
            out.push_str("\nload: the lake holds no day to load (run `pmu-lake extract` first)");
        }
        out
    }

    /// Writes the report to `path`, with the batches of `batches` as its `per_batch` list (one
    /// batch a line), as the lake writes its files ([`crate::lake::write_atomic_with`]): `path`
    /// never holds half a report.
    pub fn write_json(&self, path: &Path, batches: &mut BatchLog) -> Result<()> {
        crate::lake::write_atomic_with(path, |out| {
            let head = serde_json::to_vec_pretty(self)?;
            let head = head
                .strip_suffix(b"\n}")
                .expect("a JSON object, pretty-printed");
            out.write_all(head)?;
            out.write_all(b",\n  \"per_batch\": [")?;
            for (i, line) in batches.lines()?.enumerate() {
                out.write_all(if i == 0 { b"\n    " } else { b",\n    " })?;
                out.write_all(line?.as_bytes())?;
            }
            out.write_all(b"\n  ]\n}\n")
        })
        .with_context(|| format!("writing the report {}", path.display()))
    }
}

/// The batches of a load with `--report`, written one JSON line each to a file beside the report
/// as the load goes: held in memory they would grow with the lake (a first load of the full
/// history is thousands of batches). The file is removed when the log is dropped, once the
/// report is written or the load has failed.
pub struct BatchLog {
    path: PathBuf,
    file: BufWriter<File>,
}

impl BatchLog {
    /// A new, empty log for the report `report`.
    pub fn create(report: &Path) -> Result<BatchLog> {
        let name = report.file_name().unwrap_or_default().to_string_lossy();
        let path = report.with_file_name(format!(".{name}.batches"));
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        Ok(BatchLog {
            path,
            file: BufWriter::new(file),
        })
    }

    pub fn push(&mut self, batch: &BatchReport) -> Result<()> {
        serde_json::to_writer(&mut self.file, batch)
            .map_err(std::io::Error::from)
            .and_then(|()| self.file.write_all(b"\n"))
            .with_context(|| format!("writing {}", self.path.display()))
    }

    /// The batches pushed so far, one compact JSON object a line.
    fn lines(&mut self) -> std::io::Result<std::io::Lines<BufReader<&File>>> {
        self.file.flush()?;
        let mut file = self.file.get_ref();
        file.rewind()?;
        Ok(BufReader::new(file).lines())
    }
}

impl Drop for BatchLog {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// "1 day", "3 days".
fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Sorted days as spans of consecutive days: "2025-01-01..2025-01-03, 2025-01-05".
pub fn spans(days: &[Day]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < days.len() {
        let mut j = i;
        while j + 1 < days.len() && days[j].succ() == Some(days[j + 1]) {
            j += 1;
        }
        out.push(if i == j {
            days[i].iso()
        } else {
            format!("{}..{}", days[i].iso(), days[j].iso())
        });
        i = j + 1;
    }
    out.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_days_read_as_spans() {
        let d = |s: &str| s.parse::<Day>().unwrap();
        let days = [
            d("2025-01-01"),
            d("2025-01-02"),
            d("2025-01-03"),
            d("2025-01-05"),
        ];
        assert_eq!(spans(&days), "2025-01-01..2025-01-03, 2025-01-05");
        let report = Report {
            missing_days: vec![d("2025-01-05")],
            ..Report::default()
        };
        assert_eq!(report.outcome(), Outcome::Partial);
        assert!(
            report
                .summary()
                .contains("nothing for 1 day asked for: 2025-01-05")
        );
        assert_eq!(Report::default().outcome(), Outcome::Partial);
    }

    #[test]
    fn unchanged_is_what_the_merge_neither_inserted_updated_nor_orphaned() {
        let c = TableCounts::from_merge(10, 3, 2, 1);
        assert_eq!((c.read, c.unchanged), (10, 4));
    }

    #[test]
    fn tables_sum_by_name_and_keep_first_seen_order() {
        let mut t = Tables::default();
        t.add("race", &TableCounts::from_merge(2, 2, 0, 0));
        t.add("horse", &TableCounts::from_merge(5, 1, 0, 0));
        t.add("race", &TableCounts::from_merge(3, 0, 1, 0));
        let names: Vec<_> = t.0.iter().map(|r| r.table.as_str()).collect();
        assert_eq!(names, ["race", "horse"]);
        assert_eq!(
            t.get("race")
                .map(|c| (c.read, c.inserted, c.updated, c.unchanged)),
            Some((5, 2, 1, 2))
        );
    }
}
