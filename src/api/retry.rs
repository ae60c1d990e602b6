//! What one HTTP attempt can go wrong with, and the pure decisions about it: is it worth another
//! try, after how long (exponential backoff with jitter, `Retry-After`), and is it a ban.

use std::time::Duration;

/// Why one attempt did not produce a usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttemptError {
    #[error("timed out")]
    Timeout,
    #[error("cannot connect: {0}")]
    Connect(String),
    /// Reset or dropped connection, or any other transport failure before the body.
    #[error("connection failed: {0}")]
    Transport(String),
    /// The body was cut short (fewer bytes than announced) or could not be read.
    #[error("body cut short: {0}")]
    Body(String),
    /// A 200 whose body is not one complete JSON document (an HTML page, a truncated body).
    #[error("answer is not valid JSON ({0})")]
    NotJson(String),
    #[error("rate limited (429)")]
    RateLimited { retry_after: Option<Duration> },
    #[error("server error ({status})")]
    Server {
        status: u16,
        retry_after: Option<Duration>,
    },
    #[error("refused (403): the API is banning this address")]
    Banned,
    /// Any other status: asking again will not change it.
    #[error("unexpected status {0}")]
    Status(u16),
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Try again, after the server's `Retry-After` when it gave one, else after a backoff.
    Retry { after: Option<Duration> },
    /// A 403: the whole crawl slows down, and the request is tried again after the pause.
    Ban,
    /// Not worth asking again.
    GiveUp,
}

/// The retry classifier: transient faults are retried, a 403 is a ban, anything else is final.
pub fn classify(err: &AttemptError) -> Verdict {
    match err {
        AttemptError::Timeout
        | AttemptError::Connect(_)
        | AttemptError::Transport(_)
        | AttemptError::Body(_)
        | AttemptError::NotJson(_) => Verdict::Retry { after: None },
        AttemptError::RateLimited { retry_after } | AttemptError::Server { retry_after, .. } => {
            Verdict::Retry {
                after: *retry_after,
            }
        }
        AttemptError::Banned => Verdict::Ban,
        AttemptError::Status(_) => Verdict::GiveUp,
    }
}

/// Maps a status that is not an answer to its attempt error (`None` for statuses that are
/// answers: 2xx, 404).
pub fn status_error(status: u16, retry_after: Option<Duration>) -> Option<AttemptError> {
    match status {
        200..=299 | 404 => None,
        403 => Some(AttemptError::Banned),
        429 => Some(AttemptError::RateLimited { retry_after }),
        408 => Some(AttemptError::Timeout),
        500..=599 => Some(AttemptError::Server {
            status,
            retry_after,
        }),
        other => Some(AttemptError::Status(other)),
    }
}

/// Longest wait honoured from a `Retry-After` header, and longest backoff.
pub const MAX_WAIT: Duration = Duration::from_secs(300);

/// Backoff before attempt `attempt + 1` (attempt counts from 1): `base × 2^(attempt-1)`,
/// capped, with jitter drawn in its upper half so that workers do not retry in step.
pub fn backoff(base: Duration, attempt: u32, jitter: f64) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let capped = exp.min(MAX_WAIT);
    capped.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// The pause that follows the `n`-th 403 in a row: 30 backoff bases, doubling, capped.
pub fn ban_pause(base: Duration, consecutive: u32) -> Duration {
    base.saturating_mul(30)
        .saturating_mul(1u32 << consecutive.saturating_sub(1).min(16))
        .min(MAX_WAIT * 2)
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP date, capped at [`MAX_WAIT`].
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    let wait = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
        (at.with_timezone(&chrono::Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_WAIT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_faults_are_retried_and_others_are_not() {
        for e in [
            AttemptError::Timeout,
            AttemptError::Connect("refused".into()),
            AttemptError::Transport("reset".into()),
            AttemptError::Body("eof".into()),
            AttemptError::NotJson("expected value".into()),
        ] {
            assert_eq!(classify(&e), Verdict::Retry { after: None }, "{e}");
        }
        assert_eq!(classify(&AttemptError::Banned), Verdict::Ban);
        assert_eq!(classify(&AttemptError::Status(400)), Verdict::GiveUp);
    }

    #[test]
    fn statuses_map_to_the_right_kind() {
        let ra = Some(Duration::from_secs(2));
        assert_eq!(status_error(200, None), None);
        assert_eq!(status_error(204, None), None);
        assert_eq!(
            status_error(404, None),
            None,
            "404 is an answer: no content for this race"
        );
        assert_eq!(
            classify(&status_error(429, ra).unwrap()),
            Verdict::Retry { after: ra }
        );
        assert_eq!(
            classify(&status_error(503, ra).unwrap()),
            Verdict::Retry { after: ra }
        );
        assert_eq!(
            classify(&status_error(500, None).unwrap()),
            Verdict::Retry { after: None }
        );
        assert_eq!(classify(&status_error(403, None).unwrap()), Verdict::Ban);
        assert_eq!(classify(&status_error(410, None).unwrap()), Verdict::GiveUp);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let base = Duration::from_millis(100);
        assert_eq!(backoff(base, 1, 1.0), Duration::from_millis(100));
        assert_eq!(backoff(base, 3, 1.0), Duration::from_millis(400));
        assert_eq!(backoff(base, 3, 0.0), Duration::from_millis(200));
        assert_eq!(backoff(base, 40, 1.0), MAX_WAIT);
        assert!(ban_pause(base, 2) > ban_pause(base, 1));
        assert_eq!(ban_pause(base, 1), Duration::from_secs(3));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = chrono::DateTime::parse_from_rfc3339("2025-11-05T10:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 05 Nov 2025 10:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 05 Nov 2025 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("999999", now), Some(MAX_WAIT));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
