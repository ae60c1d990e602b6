//! The PMU API: endpoint URLs per stage, the politeness settings (profiles, workers, delay,
//! max-rps), and the polite HTTP client (headers, jitter, retries, backoff, ban handling) in
//! [`client`], with its pure retry classifier in [`retry`]. Network only: no lake, no payloads.

pub mod client;
pub mod retry;

use std::time::Duration;

use crate::exit::UsageError;
use crate::lake::{ObjectKey, Stage};

pub use client::{Client, ClientConfig, FetchError, Fetched};

/// Base of every retry backoff, in milliseconds, when `PMU_BACKOFF_MS` does not say otherwise.
/// Ban pauses are 30 times this base.
pub const DEFAULT_BACKOFF_MS: u64 = 500;
/// Environment variable overriding [`DEFAULT_BACKOFF_MS`] (tests use a few ms).
pub const BACKOFF_ENV: &str = "PMU_BACKOFF_MS";

/// The path of an object's endpoint, below the API base: no query string, so the default pools
/// (non-`E_` rapports) are the ones archived.
pub fn path(key: &ObjectKey) -> String {
    let day = key.day.api();
    match (key.stage, key.race) {
        (Stage::Programme, _) | (_, None) => format!("/rest/client/1/programme/{day}"),
        (stage, Some(race)) => {
            let (client, tail) = match stage {
                Stage::Participants => (61, "participants"),
                Stage::Performances => (61, "performances-detaillees/pretty"),
                _ => (1, "rapports-definitifs"),
            };
            format!(
                "/rest/client/{client}/programme/{day}/R{}/C{}/{tail}",
                race.reunion, race.course
            )
        }
    }
}

/// The full URL of an object's endpoint under `base` (as returned by [`parse_base`]).
pub fn url(base: &str, key: &ObjectKey) -> String {
    format!("{base}{}", path(key))
}

/// Checks `--api-base`: an absolute http(s) URL with a host and no query or fragment. Returns it
/// without a trailing slash.
pub fn parse_base(raw: &str) -> Result<String, UsageError> {
    let bad = |why: &str| UsageError(format!("invalid --api-base {raw:?}: {why}"));
    let url = reqwest::Url::parse(raw.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("no query string or fragment allowed"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// A random delay range before each request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Delay {
    pub min: Duration,
    pub max: Duration,
}

impl Delay {
    pub const OFF: Delay = Delay {
        min: Duration::ZERO,
        max: Duration::ZERO,
    };

    pub fn mean(&self) -> Duration {
        (self.min + self.max) / 2
    }

    /// A uniform draw in `min..=max`.
    pub fn draw(&self) -> Duration {
        if self.max <= self.min {
            return self.min;
        }
        Duration::from_secs_f64(rand::random_range(
            self.min.as_secs_f64()..=self.max.as_secs_f64(),
        ))
    }
}

/// Parses `--delay MIN..MAX` in seconds (`0.1..0.3`, `1..2`, `0..0` = off).
pub fn parse_delay(raw: &str) -> Result<Delay, UsageError> {
    let bad = |why: &str| {
        UsageError(format!(
            "invalid --delay {raw:?}: {why} (expected MIN..MAX in seconds, e.g. 0.1..0.3)"
        ))
    };
    let (min, max) = raw.trim().split_once("..").ok_or_else(|| bad("no `..`"))?;
    let secs = |s: &str| -> Result<Duration, UsageError> {
        let v: f64 = s
            .trim()
            .parse()
            .map_err(|_| bad(&format!("{s:?} is not a number")))?;
        if !v.is_finite() || !(0.0..=3600.0).contains(&v) {
            return Err(bad("each bound must be between 0 and 3600 seconds"));
        }
        Ok(Duration::from_secs_f64(v))
    };
    let (min, max) = (secs(min)?, secs(max)?);
    if max < min {
        return Err(bad("MAX is below MIN"));
    }
    Ok(Delay { min, max })
}

/// How hard the crawl may press on the API.
#[derive(Debug, Clone, PartialEq)]
pub struct Politeness {
    pub profile: &'static str,
    pub workers: usize,
    pub delay: Delay,
    pub max_rps: Option<f64>,
}

impl Politeness {
    /// The named profile, then the overrides: `--workers`, `--delay`, `--max-rps`.
    pub fn from_options(
        profile: &str,
        workers: Option<usize>,
        delay: Option<&str>,
        max_rps: Option<f64>,
    ) -> Result<Politeness, UsageError> {
        let ms = Duration::from_millis;
        let mut p = match profile.trim() {
            "production" => Politeness {
                profile: "production",
                workers: 12,
                delay: Delay {
                    min: ms(100),
                    max: ms(300),
                },
                max_rps: None,
            },
            "safe" => Politeness {
                profile: "safe",
                workers: 4,
                delay: Delay {
                    min: ms(500),
                    max: ms(1500),
                },
                max_rps: None,
            },
            other => {
                return Err(UsageError(format!(
                    "unknown --profile {other:?}: expected production or safe"
                )));
            }
        };
        if let Some(w) = workers {
            if !(1..=256).contains(&w) {
                return Err(UsageError(format!(
                    "invalid --workers {w}: expected 1 to 256"
                )));
            }
            p.workers = w;
        }
        if let Some(d) = delay {
            p.delay = parse_delay(d)?;
        }
        if let Some(rps) = max_rps {
            if !rps.is_finite() || rps <= 0.0 {
                return Err(UsageError(format!(
                    "invalid --max-rps {rps}: expected a positive number"
                )));
            }
            p.max_rps = Some(rps);
        }
        Ok(p)
    }

    /// A rough time for `requests` requests: each worker waits the mean delay plus an assumed
    /// answer time; `--max-rps` caps the rate.
    pub fn estimate(&self, requests: u64) -> Duration {
        const ASSUMED_ANSWER: f64 = 0.25;
        let per_request = self.delay.mean().as_secs_f64() + ASSUMED_ANSWER;
        let mut rps = self.workers as f64 / per_request;
        if let Some(cap) = self.max_rps {
            rps = rps.min(cap);
        }
        Duration::from_secs_f64(requests as f64 / rps)
    }

    pub fn describe(&self) -> String {
        let mut s = format!(
            "{} workers, {:.1}-{:.1} s delay",
            self.workers,
            self.delay.min.as_secs_f64(),
            self.delay.max.as_secs_f64()
        );
        if let Some(rps) = self.max_rps {
            s.push_str(&format!(", at most {rps} req/s"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::day::Day;
    use crate::lake::RaceId;

    #[test]
    fn urls_follow_the_client_number_of_each_stage() {
        let day: Day = "05112025".parse().unwrap();
        let race = RaceId::new(9, 3).unwrap();
        let base = parse_base("https://online.turfinfo.api.pmu.fr/").unwrap();
        assert_eq!(
            url(&base, &ObjectKey::programme(day)),
            "https://online.turfinfo.api.pmu.fr/rest/client/1/programme/05112025"
        );
        let k = |s| ObjectKey::race(day, race, s);
        assert_eq!(
            path(&k(Stage::Participants)),
            "/rest/client/61/programme/05112025/R9/C3/participants"
        );
        assert_eq!(
            path(&k(Stage::Performances)),
            "/rest/client/61/programme/05112025/R9/C3/performances-detaillees/pretty"
        );
        assert_eq!(
            path(&k(Stage::Rapports)),
            "/rest/client/1/programme/05112025/R9/C3/rapports-definitifs"
        );
    }

    #[test]
    fn api_base_must_be_an_http_url_without_query() {
        assert_eq!(
            parse_base("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            parse_base("http://mirror.example/pmu/").unwrap(),
            "http://mirror.example/pmu"
        );
        for bad in [
            "not a url",
            "ftp://host",
            "http://",
            "http://h/?x=1",
            "127.0.0.1:80",
            "",
        ] {
            assert!(parse_base(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn delay_parses_seconds_and_rejects_malformed_ranges() {
        assert_eq!(parse_delay("0..0").unwrap(), Delay::OFF);
        let d = parse_delay("0.1..0.3").unwrap();
        assert_eq!(
            (d.min, d.max),
            (Duration::from_millis(100), Duration::from_millis(300))
        );
        for bad in [
            "", "1", "1-2", "a..b", "2..1", "-1..1", "0..nan", "0..1e9", "..1",
        ] {
            let err = parse_delay(bad).unwrap_err().to_string();
            assert!(err.contains("--delay"), "{bad}: {err}");
        }
        for _ in 0..100 {
            let x = d.draw();
            assert!(d.min <= x && x <= d.max);
        }
    }

    #[test]
    fn profiles_then_overrides() {
        let p = Politeness::from_options("safe", None, None, None).unwrap();
        assert_eq!(
            (p.workers, p.delay.min, p.delay.max),
            (4, Duration::from_millis(500), Duration::from_millis(1500))
        );
        let p = Politeness::from_options("production", Some(3), Some("0..0"), Some(5.0)).unwrap();
        assert_eq!((p.workers, p.delay, p.max_rps), (3, Delay::OFF, Some(5.0)));
        assert!(Politeness::from_options("fast", None, None, None).is_err());
        assert!(Politeness::from_options("safe", Some(0), None, None).is_err());
        assert!(Politeness::from_options("safe", None, None, Some(0.0)).is_err());
    }

    #[test]
    fn estimate_grows_with_requests_and_shrinks_with_workers() {
        let slow = Politeness::from_options("safe", None, None, None).unwrap();
        let fast = Politeness::from_options("production", None, None, None).unwrap();
        assert!(slow.estimate(1000) > fast.estimate(1000));
        assert!(fast.estimate(2000) > fast.estimate(1000));
        let capped = Politeness::from_options("production", None, Some("0..0"), Some(1.0)).unwrap();
        assert_eq!(capped.estimate(60).as_secs(), 60);
    }
}
