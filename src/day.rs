//! A race day: parsing `05112025` and `2025-11-05`, inclusive ranges, and the Europe/Paris
//! calendar the PMU API lives in.
//!
//! "Today" is computed here and nowhere else ([`Day::today_paris`]): the current day in Paris,
//! unless the environment variable `PMU_TODAY` names a day (`2025-11-05` or `05112025`). Tests
//! set it so that a run and the test that checks it agree on "today" even across midnight; an
//! empty value counts as unset, an invalid one is a usage error.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Paris;

use crate::exit::{UsageError, usage};

/// The environment variable that sets "today" (tests).
pub const TODAY_ENV: &str = "PMU_TODAY";

/// One race day of the Paris calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(NaiveDate);

impl Day {
    pub fn new(date: NaiveDate) -> Day {
        Day(date)
    }

    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Day> {
        NaiveDate::from_ymd_opt(year, month, day).map(Day)
    }

    pub fn date(self) -> NaiveDate {
        self.0
    }

    /// The form the API puts in its paths: `DDMMYYYY`.
    pub fn api(self) -> String {
        self.0.format("%d%m%Y").to_string()
    }

    /// The ISO form used in the lake (`date=2025-11-05`) and in SQL.
    pub fn iso(self) -> String {
        let mut iso = Vec::with_capacity(10);
        push_iso(&mut iso, self.0);
        String::from_utf8(iso).expect("digits and dashes")
    }

    /// Today in Paris: the day whose programme the API currently calls "today"; `PMU_TODAY`
    /// overrides it (see the module doc).
    pub fn today_paris() -> Result<Day, UsageError> {
        Day::today_from(std::env::var_os(TODAY_ENV).as_deref())
    }

    fn today_from(var: Option<&std::ffi::OsStr>) -> Result<Day, UsageError> {
        match var.filter(|v| !v.is_empty()) {
            None => Ok(Day(Utc::now().with_timezone(&Paris).date_naive())),
            Some(v) => v
                .to_str()
                .ok_or_else(|| UsageError(format!("invalid {TODAY_ENV}: not UTF-8")))?
                .parse()
                .map_err(|e: UsageError| UsageError(format!("{TODAY_ENV}: {e}"))),
        }
    }

    pub fn succ(self) -> Option<Day> {
        self.0.checked_add_days(Days::new(1)).map(Day)
    }

    /// Whole days from `self` to `later` (negative when `later` is earlier).
    pub fn days_until(self, later: Day) -> i64 {
        (later.0 - self.0).num_days()
    }

    /// Epoch milliseconds of midnight in Paris at the start of this day (what the API sends as
    /// `programme.date`).
    pub fn paris_midnight_ms(self) -> i64 {
        let naive = self.0.and_hms_opt(0, 0, 0).expect("midnight exists");
        Paris
            .from_local_datetime(&naive)
            .earliest()
            .expect("Paris has no DST gap at midnight")
            .timestamp_millis()
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.iso())
    }
}

impl FromStr for Day {
    type Err = UsageError;

    /// Accepts `DDMMYYYY` (the API's form, `05112025`) and ISO `YYYY-MM-DD` (`2025-11-05`).
    fn from_str(s: &str) -> Result<Day, UsageError> {
        let s = s.trim();
        let bad = |why: &str| UsageError(format!("invalid date {s:?}: {why}"));
        let parsed = if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
            NaiveDate::parse_from_str(s, "%d%m%Y")
        } else if s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-' {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
        } else {
            return Err(bad(
                "expected DDMMYYYY (05112025) or YYYY-MM-DD (2025-11-05)",
            ));
        };
        let date = parsed.map_err(|_| bad("no such day in the calendar"))?;
        if !(1990..=2100).contains(&date.year()) {
            return Err(bad("year out of range 1990..=2100"));
        }
        Ok(Day(date))
    }
}

/// Written as `2025-11-05` in JSON reports.
impl serde::Serialize for Day {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.iso())
    }
}

impl<'de> serde::Deserialize<'de> for Day {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Day, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// An inclusive range of days, `start..=end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    pub start: Day,
    pub end: Day,
}

impl DayRange {
    pub fn new(start: Day, end: Day) -> anyhow::Result<DayRange> {
        if end < start {
            return Err(usage(format!(
                "the end date {end} is before the start date {start}"
            )));
        }
        Ok(DayRange { start, end })
    }

    pub fn single(day: Day) -> DayRange {
        DayRange {
            start: day,
            end: day,
        }
    }

    /// Builds the range from `--date`, or `--start`/`--end` (either alone means one day).
    pub fn from_options(
        date: Option<Day>,
        start: Option<Day>,
        end: Option<Day>,
    ) -> anyhow::Result<Option<DayRange>> {
        match (date, start, end) {
            (None, None, None) => Ok(None),
            (Some(d), None, None) => Ok(Some(DayRange::single(d))),
            (Some(_), _, _) => Err(usage("--date cannot be combined with --start/--end")),
            (None, Some(s), Some(e)) => DayRange::new(s, e).map(Some),
            (None, Some(s), None) => Ok(Some(DayRange::single(s))),
            (None, None, Some(e)) => Ok(Some(DayRange::single(e))),
        }
    }

    pub fn len(&self) -> u64 {
        self.start.days_until(self.end) as u64 + 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn contains(&self, day: Day) -> bool {
        self.start <= day && day <= self.end
    }

    pub fn days(&self) -> impl Iterator<Item = Day> + use<> {
        let end = self.end;
        std::iter::successors(Some(self.start), move |d| d.succ().filter(|n| *n <= end))
    }
}

/// Appends `date` as chrono's `%Y-%m-%d` writes it, without parsing a format string: a load
/// writes a date into every row of the past performances, millions of them, and chrono's
/// formatting was a seventh of the reader's time.
pub fn push_iso(buf: &mut Vec<u8>, date: NaiveDate) {
    match iso10(date) {
        Some(iso) => buf.extend_from_slice(&iso),
        // A sign or a fifth digit: rare enough for chrono.
        None => buf.extend_from_slice(date.format("%Y-%m-%d").to_string().as_bytes()),
    }
}

/// `date` as [`push_iso`] writes it, if that is 10 bytes (years 0 to 9999).
pub fn iso10(date: NaiveDate) -> Option<[u8; 10]> {
    if !(0..=9999).contains(&date.year()) {
        return None;
    }
    let y = date.year().unsigned_abs();
    let (m, d) = (date.month(), date.day());
    Some([
        digit(y / 1000),
        digit(y / 100),
        digit(y / 10),
        digit(y),
        b'-',
        digit(m / 10),
        digit(m),
        b'-',
        digit(d / 10),
        digit(d),
    ])
}

/// Appends `time` as chrono's `%Y-%m-%d %H:%M:%S` writes it, then, with `millis`, the
/// milliseconds as `%.3f` does (`.042`). A leap second goes through chrono.
pub fn push_iso_time(buf: &mut Vec<u8>, time: chrono::NaiveDateTime, millis: bool) {
    use chrono::Timelike as _;
    if time.nanosecond() >= 1_000_000_000 {
        let format = if millis {
            "%Y-%m-%d %H:%M:%S%.3f"
        } else {
            "%Y-%m-%d %H:%M:%S"
        };
        buf.extend_from_slice(time.format(format).to_string().as_bytes());
        return;
    }
    push_iso(buf, time.date());
    let (h, m, s) = (time.hour(), time.minute(), time.second());
    buf.extend_from_slice(&[
        b' ',
        digit(h / 10),
        digit(h),
        b':',
        digit(m / 10),
        digit(m),
        b':',
        digit(s / 10),
        digit(s),
    ]);
    if millis {
        let ms = time.nanosecond() / 1_000_000;
        buf.extend_from_slice(&[b'.', digit(ms / 100), digit(ms / 10), digit(ms)]);
    }
}

/// The last decimal digit of `v`, as an ASCII byte.
fn digit(v: u32) -> u8 {
    b'0' + (v % 10) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Day {
        s.parse().unwrap()
    }

    #[test]
    fn parses_both_forms_to_the_same_day() {
        assert_eq!(day("05112025"), day("2025-11-05"));
        assert_eq!(day("05112025").api(), "05112025");
        assert_eq!(day("05112025").iso(), "2025-11-05");
    }

    #[test]
    fn rejects_impossible_dates_with_the_input_in_the_message() {
        for bad in [
            "32012025",
            "2025-13-01",
            "abcdefgh",
            "2025-02-29",
            "5112025",
            "",
            "2025/11/05",
        ] {
            let err = bad.parse::<Day>().unwrap_err().to_string();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
        assert!("29022024".parse::<Day>().is_ok(), "2024 is a leap year");
    }

    #[test]
    fn range_is_inclusive_and_checks_order() {
        let r = DayRange::new(day("30122025"), day("02012026")).unwrap();
        let days: Vec<String> = r.days().map(|d| d.api()).collect();
        assert_eq!(days, ["30122025", "31122025", "01012026", "02012026"]);
        assert_eq!(r.len(), 4);
        let err = DayRange::new(day("02012026"), day("30122025")).unwrap_err();
        assert_eq!(crate::exit::code_for(&err), crate::exit::USAGE);
    }

    #[test]
    fn paris_midnight_matches_the_api_programme_date() {
        // pmu-api.md §3: 1762297200000 = 05/11/2025 00:00 Paris (winter, UTC+1).
        assert_eq!(day("05112025").paris_midnight_ms(), 1_762_297_200_000);
        // Summer time: UTC+2.
        assert_eq!(
            day("02042026").paris_midnight_ms() % 86_400_000,
            22 * 3_600_000
        );
    }

    #[test]
    fn today_is_paris_unless_pmu_today_names_a_day() {
        use std::ffi::OsStr;
        let paris = Utc::now().with_timezone(&Paris).date_naive();
        let now = Day::today_from(None).unwrap();
        // Around midnight the clock may tick between the two readings.
        assert!(now.date() == paris || now.date() == paris.succ_opt().unwrap());
        assert_eq!(Day::today_from(Some(OsStr::new(""))).unwrap(), now);
        for set in ["2025-11-05", "05112025"] {
            assert_eq!(
                Day::today_from(Some(OsStr::new(set))).unwrap(),
                day("05112025")
            );
        }
        let err = Day::today_from(Some(OsStr::new("tomorrow"))).unwrap_err();
        assert!(
            err.to_string().starts_with("PMU_TODAY: invalid date"),
            "{err}"
        );
    }

    #[test]
    fn options_build_a_range() {
        let r = DayRange::from_options(Some(day("05112025")), None, None)
            .unwrap()
            .unwrap();
        assert_eq!(r.len(), 1);
        assert!(
            DayRange::from_options(Some(day("05112025")), Some(day("05112025")), None).is_err()
        );
        assert!(DayRange::from_options(None, None, None).unwrap().is_none());
    }

    #[test]
    fn dates_and_times_are_written_as_chrono_formats_them() {
        use chrono::{DateTime, NaiveDateTime};
        let mut buf = Vec::new();
        let mut check = |date: NaiveDate| {
            buf.clear();
            push_iso(&mut buf, date);
            assert_eq!(buf, date.format("%Y-%m-%d").to_string().as_bytes());
        };
        let mut date = NaiveDate::from_ymd_opt(1899, 12, 25).unwrap();
        while date.year() < 2101 {
            check(date);
            date = date.succ_opt().unwrap();
        }
        for y in [-10_000, -1, 0, 1, 999, 9999, 10_000, 262_142] {
            check(NaiveDate::from_ymd_opt(y, 2, 28).unwrap());
        }
        for ms in [
            0,
            1,
            999,
            1_762_333_200_042,
            -1,
            -86_400_001,
            253_402_300_799_999,
            253_402_300_800_000,
        ] {
            let t = DateTime::from_timestamp_millis(ms).unwrap().naive_utc();
            for (millis, format) in [
                (true, "%Y-%m-%d %H:%M:%S%.3f"),
                (false, "%Y-%m-%d %H:%M:%S"),
            ] {
                buf.clear();
                push_iso_time(&mut buf, t, millis);
                assert_eq!(
                    String::from_utf8_lossy(&buf),
                    t.format(format).to_string(),
                    "{ms}"
                );
            }
        }
        let leap =
            NaiveDateTime::parse_from_str("2016-12-31T23:59:60", "%Y-%m-%dT%H:%M:%S").unwrap();
        buf.clear();
        push_iso_time(&mut buf, leap, false);
        assert_eq!(buf, leap.format("%Y-%m-%d %H:%M:%S").to_string().as_bytes());
    }
}
