//! The figures of a load: per target table rows read, inserted, updated, unchanged (and orphaned)
//! per batch (one transaction of consecutive days) and in total; objects loaded, skipped and
//! rejected per day, per batch and in total; the one-line summary and the `--report FILE.json`.

use std::path::Path;

use anyhow::{Context, Result};
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
    /// Already loaded with the same stored bytes (ledger), not read again.
    pub skipped: u64,
    pub rejected: u64,
    /// Empty 204/404 markers: nothing to load.
    pub markers: u64,
}

impl Objects {
    pub fn add(&mut self, other: &Objects) {
        self.loaded += other.loaded;
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
}

impl Phases {
    pub fn add(&mut self, other: &Phases) {
        self.read_parse += other.read_parse;
        self.copy += other.copy;
        self.merge += other.merge;
        self.ledger_commit += other.ledger_commit;
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
    pub per_batch: Vec<BatchReport>,
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
        self.per_batch.push(batch);
    }

    /// Rows that went into target tables, inserted or updated.
    pub fn rows_written(&self) -> u64 {
        let t = self.tables.total();
        t.inserted + t.updated
    }

    /// The one summary line printed at the end of `load`.
    pub fn summary(&self) -> String {
        let tables: Vec<String> = self
            .tables
            .0
            .iter()
            .map(|r| {
                let c = &r.counts;
                let orphaned = if c.orphaned > 0 {
                    format!(", {} orphaned", c.orphaned)
                } else {
                    String::new()
                };
                format!(
                    "{} {} read, {} inserted, {} updated, {} unchanged{orphaned}",
                    r.table, c.read, c.inserted, c.updated, c.unchanged
                )
            })
            .collect();
        let o = &self.objects;
        format!(
            "load: {} day(s) in {} transaction(s), {:.1} s; objects {} loaded, {} unchanged (skipped), {} rejected, {} empty markers; \
             rows: {}",
            self.days,
            self.batches,
            self.seconds,
            o.loaded,
            o.skipped,
            o.rejected,
            o.markers,
            if tables.is_empty() {
                "none".to_string()
            } else {
                tables.join("; ")
            }
        )
    }

    pub fn write_json(&self, path: &Path) -> Result<()> {
        let mut json = serde_json::to_vec_pretty(self).context("serializing the load report")?;
        json.push(b'\n');
        std::fs::write(path, json).with_context(|| format!("writing the report {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
