//! The figures of an extract run, per day and in total: the one-line summary and the
//! `--report FILE.json` document.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::day::Day;

/// Counters of one day (or of the whole run).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Figures {
    /// Objects asked for and stored with a body.
    pub fetched: u64,
    /// Objects the lake already held in final form (not asked).
    pub already_held: u64,
    /// Answers with no content (204, 404), kept as markers.
    pub no_content: u64,
    /// Extra attempts (timeouts, resets, 5xx, 429, bad bodies, 403).
    pub retried: u64,
    /// Objects that could not be had after every attempt.
    pub failed: u64,
    /// Objects not asked because the crawl stopped (a run of 403s).
    pub not_asked: u64,
    /// Bytes of response bodies received.
    pub bytes_raw: u64,
    /// Bytes written to the lake (compressed).
    pub bytes_stored: u64,
    /// Lines of the day's `_manifest.jsonl` that did not read (torn by a crash, or foreign):
    /// skipped, their objects judged by their content.
    pub manifest_unreadable: u64,
}

impl Figures {
    pub fn add(&mut self, o: &Figures) {
        self.fetched += o.fetched;
        self.already_held += o.already_held;
        self.no_content += o.no_content;
        self.retried += o.retried;
        self.failed += o.failed;
        self.not_asked += o.not_asked;
        self.bytes_raw += o.bytes_raw;
        self.bytes_stored += o.bytes_stored;
        self.manifest_unreadable += o.manifest_unreadable;
    }

    /// Requests that got an answer or gave up.
    pub fn requests(&self) -> u64 {
        self.fetched + self.no_content + self.failed
    }
}

/// One day of the run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DayReport {
    pub date: String,
    /// `fetched`, `no content` (none past the grace period: recorded as a marker), `held`
    /// (a body or such a marker), `failed`, or `not asked`.
    pub programme: String,
    pub races: u64,
    #[serde(flatten)]
    pub figures: Figures,
    /// Why the day stopped, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
struct Document<'a> {
    start: String,
    end: String,
    api_base: &'a str,
    seconds: f64,
    stopped_by_ban: bool,
    total: Figures,
    days: Vec<&'a DayReport>,
}

/// The whole run.
#[derive(Debug, Default)]
pub struct RunReport {
    pub days: BTreeMap<Day, DayReport>,
}

impl RunReport {
    pub fn day(&mut self, day: Day) -> &mut DayReport {
        self.days.entry(day).or_insert_with(|| DayReport {
            date: day.iso(),
            ..DayReport::default()
        })
    }

    pub fn total(&self) -> Figures {
        let mut t = Figures::default();
        for d in self.days.values() {
            t.add(&d.figures);
        }
        t
    }

    pub fn failed_days(&self) -> usize {
        self.days.values().filter(|d| d.error.is_some()).count()
    }

    /// The one summary line.
    pub fn summary(&self, elapsed: Duration) -> String {
        let t = self.total();
        let mut line = format!(
            "extract: {} requests: {} fetched, {} already held, {} no content, {} retried, {} failed",
            t.requests(),
            t.fetched,
            t.already_held,
            t.no_content,
            t.retried,
            t.failed
        );
        if t.not_asked > 0 {
            line.push_str(&format!(", {} not asked", t.not_asked));
        }
        line.push_str(&format!(
            "; {} downloaded, {} stored; {} days ({} failed) in {:.1} s",
            human_bytes(t.bytes_raw),
            human_bytes(t.bytes_stored),
            self.days.len(),
            self.failed_days(),
            elapsed.as_secs_f64()
        ));
        if t.manifest_unreadable > 0 {
            line.push_str(&format!(
                "; {} unreadable manifest lines skipped",
                t.manifest_unreadable
            ));
        }
        line
    }

    /// Writes the `--report` JSON document.
    pub fn write_json(
        &self,
        path: &Path,
        api_base: &str,
        elapsed: Duration,
        stopped_by_ban: bool,
    ) -> Result<()> {
        let (Some(first), Some(last)) = (self.days.keys().next(), self.days.keys().next_back())
        else {
            return Ok(());
        };
        let doc = Document {
            start: first.iso(),
            end: last.iso(),
            api_base,
            seconds: elapsed.as_secs_f64(),
            stopped_by_ban,
            total: self.total(),
            days: self.days.values().collect(),
        };
        let mut text = serde_json::to_vec_pretty(&doc).expect("the report serializes");
        text.push(b'\n');
        std::fs::write(path, text).with_context(|| format!("writing the report {}", path.display()))
    }
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_adds_up_the_days() {
        let mut r = RunReport::default();
        let d1: Day = "05112025".parse().unwrap();
        let d2: Day = "06112025".parse().unwrap();
        r.day(d1).figures = Figures {
            fetched: 3,
            no_content: 1,
            bytes_raw: 2_500,
            bytes_stored: 700,
            ..Figures::default()
        };
        r.day(d2).figures = Figures {
            already_held: 4,
            failed: 1,
            retried: 2,
            ..Figures::default()
        };
        r.day(d2).error = Some("no programme".into());
        let line = r.summary(Duration::from_millis(1500));
        assert_eq!(
            line,
            "extract: 5 requests: 3 fetched, 4 already held, 1 no content, 2 retried, 1 failed; 2.5 KB downloaded, 700 B stored; 2 days (1 failed) in 1.5 s"
        );
        r.day(d1).figures.manifest_unreadable = 2;
        assert!(
            r.summary(Duration::from_millis(1500))
                .ends_with("in 1.5 s; 2 unreadable manifest lines skipped")
        );
    }
}
