//! The polite HTTP client: browser-like headers, a random delay before each request, a global
//! requests-per-second cap, retries with backoff and `Retry-After`, body validation (only
//! complete JSON is an answer), and a ban gate shared by every worker: each 403 pauses the whole
//! crawl for longer and slows it down; too many 403s in a row stop it. The slow-down is undone
//! step by step, one halving per [`RECOVER_AFTER`] answers without a 403, so that one refusal
//! early in a backfill of days does not slow the rest of it for good.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, Once};
use std::time::Duration;

use anyhow::{Context, Result};
use reqwest::header::{self, HeaderMap, HeaderValue};
use tokio::time::Instant;

use super::Politeness;
use super::retry::{self, AttemptError, Verdict};

/// Answers without a 403 after which the ban slow-down is halved.
pub const RECOVER_AFTER: u32 = 1000;

const USER_AGENT: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// How the client behaves; built once from the validated command line.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub politeness: Politeness,
    /// Whole-request timeout (connect, headers and body).
    pub timeout: Duration,
    /// Attempts per request, the first included.
    pub attempts: u32,
    /// Base of the exponential backoff; ban pauses are 30 times it.
    pub backoff_base: Duration,
    /// 403s in a row after which the crawl stops.
    pub ban_limit: u32,
}

/// A usable answer: a complete JSON body (2xx), or no content (204, 404) with an empty body.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub status: u16,
    pub body: Vec<u8>,
    /// Attempts beyond the first that this answer took.
    pub retries: u32,
}

impl Fetched {
    /// 204 and 404 are answers with no content: the lake keeps a marker for them.
    pub fn is_empty_answer(&self) -> bool {
        matches!(self.status, 204 | 404)
    }
}

/// Why no usable answer came.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{last} (after {attempts} attempts)")]
    GaveUp { attempts: u32, last: AttemptError },
    /// The crawl was stopped by a run of 403s; this request was not (or no longer) asked.
    #[error("not asked: the crawl stopped after {0} refusals (403) in a row")]
    Stopped(u32),
}

impl FetchError {
    /// Attempts beyond the first that were made before giving up.
    pub fn retries(&self) -> u32 {
        match self {
            FetchError::GaveUp { attempts, .. } => attempts.saturating_sub(1),
            FetchError::Stopped(_) => 0,
        }
    }

    /// The server could not be reached at all (nothing answered).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            FetchError::GaveUp {
                last: AttemptError::Connect(_) | AttemptError::Timeout,
                ..
            }
        )
    }
}

/// State shared by all workers: pauses, the rate cap and the run of 403s.
struct Gate {
    pause_until: Mutex<Option<Instant>>,
    next_slot: Mutex<Option<Instant>>,
    consecutive_403: AtomicU32,
    /// Answers since the last 403.
    clean_streak: AtomicU32,
    /// Multiplies the delay after bans (1, 2, 4, … up to 16).
    slow: AtomicU32,
    stopped: AtomicBool,
    answered: AtomicBool,
}

pub struct Client {
    http: reqwest::Client,
    cfg: ClientConfig,
    gate: Gate,
}

/// Installs the ring crypto provider for rustls, once per process (reqwest is built without one).
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // An error means a provider is already installed, which is all we need.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl Client {
    pub fn new(cfg: ClientConfig) -> Result<Client> {
        install_crypto_provider();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json, text/plain, */*"),
        );
        headers.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("fr-FR,fr;q=0.9"),
        );
        headers.insert(
            header::REFERER,
            HeaderValue::from_static("https://www.pmu.fr/"),
        );
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://www.pmu.fr"),
        );
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .default_headers(headers)
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(cfg.politeness.workers)
            .build()
            .context("building the HTTP client")?;
        let gate = Gate {
            pause_until: Mutex::new(None),
            next_slot: Mutex::new(None),
            consecutive_403: AtomicU32::new(0),
            clean_streak: AtomicU32::new(0),
            slow: AtomicU32::new(1),
            stopped: AtomicBool::new(false),
            answered: AtomicBool::new(false),
        };
        Ok(Client { http, cfg, gate })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    /// Whether any HTTP answer at all came back during the run.
    pub fn ever_answered(&self) -> bool {
        self.gate.answered.load(Ordering::Relaxed)
    }

    /// `Some(n)` when a run of `n` 403s stopped the crawl.
    pub fn stopped_by_ban(&self) -> Option<u32> {
        self.gate
            .stopped
            .load(Ordering::Relaxed)
            .then_some(self.cfg.ban_limit)
    }

    /// GETs `url` politely until it yields a usable answer or the attempts run out.
    pub async fn fetch(&self, url: &str) -> Result<Fetched, FetchError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.wait_turn().await?;
            let err = match self.attempt(url).await {
                Ok((status, body)) => {
                    self.on_answer();
                    return Ok(Fetched {
                        status,
                        body,
                        retries: attempt - 1,
                    });
                }
                Err(err) => err,
            };
            let wait = match retry::classify(&err) {
                Verdict::GiveUp => {
                    return Err(FetchError::GaveUp {
                        attempts: attempt,
                        last: err,
                    });
                }
                Verdict::Ban => self.on_ban()?,
                Verdict::Retry { after } => {
                    if !matches!(err, AttemptError::Timeout | AttemptError::Connect(_)) {
                        self.gate.consecutive_403.store(0, Ordering::Relaxed);
                    }
                    after.unwrap_or_else(|| {
                        retry::backoff(self.cfg.backoff_base, attempt, rand::random())
                    })
                }
            };
            if attempt >= self.cfg.attempts {
                return Err(FetchError::GaveUp {
                    attempts: attempt,
                    last: err,
                });
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Counts an answer: ends a run of 403s, and every [`RECOVER_AFTER`] answers since the
    /// last 403 halves the slow-down.
    fn on_answer(&self) {
        self.gate.consecutive_403.store(0, Ordering::Relaxed);
        let streak = self.gate.clean_streak.fetch_add(1, Ordering::Relaxed) + 1;
        if streak.is_multiple_of(RECOVER_AFTER) {
            let _ = self
                .gate
                .slow
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
                    Some((s / 2).max(1))
                });
        }
    }

    /// Counts a 403: pauses everyone, slows the crawl, and stops it after `ban_limit` in a row.
    fn on_ban(&self) -> Result<Duration, FetchError> {
        self.gate.clean_streak.store(0, Ordering::Relaxed);
        let n = self.gate.consecutive_403.fetch_add(1, Ordering::Relaxed) + 1;
        if n >= self.cfg.ban_limit {
            self.gate.stopped.store(true, Ordering::Relaxed);
            return Err(FetchError::Stopped(n));
        }
        let _ = self
            .gate
            .slow
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
                Some((s * 2).min(16))
            });
        let until = Instant::now() + retry::ban_pause(self.cfg.backoff_base, n);
        let mut pause = self
            .gate
            .pause_until
            .lock()
            .expect("ban gate lock is never poisoned");
        *pause = Some(pause.map_or(until, |p| p.max(until)));
        Ok(Duration::ZERO)
    }

    /// Waits for this request's turn: the random delay, any ban pause, the global rate cap.
    async fn wait_turn(&self) -> Result<(), FetchError> {
        let stopped = || self.gate.stopped.load(Ordering::Relaxed);
        if stopped() {
            return Err(FetchError::Stopped(self.cfg.ban_limit));
        }
        let slow = self.gate.slow.load(Ordering::Relaxed);
        let delay = self.cfg.politeness.delay.draw() * slow;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let pause = *self
            .gate
            .pause_until
            .lock()
            .expect("ban gate lock is never poisoned");
        if let Some(until) = pause {
            tokio::time::sleep_until(until).await;
        }
        if let Some(rps) = self.cfg.politeness.max_rps {
            let slot = {
                let mut next = self
                    .gate
                    .next_slot
                    .lock()
                    .expect("rate gate lock is never poisoned");
                let slot = next.map_or(Instant::now(), |n| n.max(Instant::now()));
                *next = Some(slot + Duration::from_secs_f64(1.0 / rps));
                slot
            };
            tokio::time::sleep_until(slot).await;
        }
        if stopped() {
            return Err(FetchError::Stopped(self.cfg.ban_limit));
        }
        Ok(())
    }

    /// One GET: the status decides, then the body must be complete JSON.
    async fn attempt(&self, url: &str) -> Result<(u16, Vec<u8>), AttemptError> {
        let resp = self.http.get(url).send().await.map_err(transport_error)?;
        self.gate.answered.store(true, Ordering::Relaxed);
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry::parse_retry_after(v, chrono::Utc::now()));
        if let Some(err) = retry::status_error(status, retry_after) {
            return Err(err);
        }
        if matches!(status, 204 | 404) {
            return Ok((status, Vec::new()));
        }
        let body = resp
            .bytes()
            .await
            .map_err(|e| AttemptError::Body(error_chain(&e)))?;
        serde_json::from_slice::<serde::de::IgnoredAny>(&body)
            .map_err(|e| AttemptError::NotJson(e.to_string()))?;
        Ok((status, body.to_vec()))
    }
}

fn transport_error(e: reqwest::Error) -> AttemptError {
    if e.is_timeout() {
        AttemptError::Timeout
    } else if e.is_connect() {
        AttemptError::Connect(error_chain(&e))
    } else if e.is_body() || e.is_decode() {
        AttemptError::Body(error_chain(&e))
    } else {
        AttemptError::Transport(error_chain(&e))
    }
}

/// The innermost causes, which say what happened ("connection refused"), not just "error
/// sending request".
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut cur = e.source();
    while let Some(err) = cur {
        parts.push(err.to_string());
        cur = err.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        let politeness = Politeness::from_options("production", None, None, None)
            .expect("the production profile is valid");
        Client::new(ClientConfig {
            politeness,
            timeout: Duration::from_secs(1),
            attempts: 3,
            backoff_base: Duration::from_millis(1),
            ban_limit: 6,
        })
        .expect("a client builds without the network")
    }

    fn slow(c: &Client) -> u32 {
        c.gate.slow.load(Ordering::Relaxed)
    }

    #[test]
    fn each_403_slows_the_crawl_and_a_long_clean_run_undoes_it_step_by_step() {
        let c = client();
        c.on_ban().unwrap();
        c.on_answer();
        c.on_ban().unwrap();
        assert_eq!(slow(&c), 4);
        for _ in 0..RECOVER_AFTER - 1 {
            c.on_answer();
        }
        assert_eq!(slow(&c), 4, "not before {RECOVER_AFTER} answers");
        c.on_answer();
        assert_eq!(slow(&c), 2);
        c.on_ban().unwrap();
        for _ in 0..RECOVER_AFTER - 1 {
            c.on_answer();
        }
        assert_eq!(slow(&c), 4, "a 403 restarts the count");
        for _ in 0..3 * RECOVER_AFTER {
            c.on_answer();
        }
        assert_eq!(slow(&c), 1, "never faster than the profile");
    }

    #[test]
    fn a_run_of_403s_stops_the_crawl() {
        let c = client();
        for _ in 0..5 {
            c.on_ban().unwrap();
        }
        assert!(matches!(c.on_ban(), Err(FetchError::Stopped(6))));
        assert_eq!(c.stopped_by_ban(), Some(6));
    }
}
