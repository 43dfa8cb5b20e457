//! [`RetryConfig`]: which failures are retried, how long to wait between attempts, and who is
//! told about a wait ([`RetryEvent`]).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::HeaderMap;

use crate::error::Error;

/// When and how to retry a request that failed before any of its answer reached the caller.
///
/// Retried: connection failures, connect and first-byte timeouts, and the HTTP answers the
/// provider judges retryable ([`ApiError::retryable`](crate::ApiError::retryable); by default
/// 408, 409, 429, 500, 502, 503 and 504). Never retried: other 4xx answers, and anything after
/// the first byte of a response body reached the caller (a stream is never replayed).
///
/// The wait before retry *n* (from 0) is a random duration between zero and
/// `min(max_backoff, initial_backoff × 2ⁿ)` ("full jitter"), unless the server said how long
/// to wait with `Retry-After` (seconds or an HTTP date) or `retry-after-ms`: that wait is
/// honoured up to `max_retry_after`; a longer one (however large the number the server sent)
/// is not waited for, and the error is returned at once, saying how long the server asked for.
///
/// | setting | default |
/// |---|---|
/// | `max_retries` | 2 (3 attempts in all) |
/// | `initial_backoff` | 500 ms |
/// | `max_backoff` | 8 s |
/// | `max_retry_after` | 60 s |
/// | `on_retry` | none: an observer told about every wait before it starts ([`RetryEvent`]) |
///
/// ```
/// use std::time::Duration;
/// use llmport::RetryConfig;
///
/// let retry = RetryConfig::builder()
///     .max_retries(4)
///     .max_retry_after(Duration::from_secs(30))
///     .on_retry(|e| eprintln!("retrying in {:?}: {}", e.wait, e.error))
///     .build();
/// assert_eq!(retry.max_retries, 4);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct RetryConfig {
    /// Retries after the first attempt; 0 disables retrying.
    pub max_retries: u32,
    /// The upper bound of the first wait.
    pub initial_backoff: Duration,
    /// The largest upper bound of any wait.
    pub max_backoff: Duration,
    /// The longest server-requested wait that is honoured.
    pub max_retry_after: Duration,
    /// Told about every wait before a retry (see [`RetryConfigBuilder::on_retry`]).
    pub on_retry: Option<RetryObserver>,
}

/// A function told about every wait before a retry; see [`RetryConfigBuilder::on_retry`].
pub type RetryObserver = Arc<dyn Fn(&RetryEvent<'_>) + Send + Sync>;

/// What a [`RetryObserver`] is told before a wait: which retry comes, after how long, and why.
#[derive(Debug)]
#[non_exhaustive]
pub struct RetryEvent<'a> {
    /// The retry about to be made (1 for the first retry).
    pub retry: u32,
    /// The most retries that will be made ([`RetryConfig::max_retries`]).
    pub max_retries: u32,
    /// How long the client waits before it.
    pub wait: Duration,
    /// Whether the wait is the server's (`Retry-After`, `retry-after-ms`) rather than the
    /// client's backoff.
    pub server_asked: bool,
    /// The failure that is retried.
    pub error: &'a Error,
}

impl fmt::Debug for RetryConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryConfig")
            .field("max_retries", &self.max_retries)
            .field("initial_backoff", &self.initial_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("max_retry_after", &self.max_retry_after)
            .field("on_retry", &self.on_retry.as_ref().map(|_| ".."))
            .finish()
    }
}

/// Equal when the numbers are; observers are equal only when they are the same function.
impl PartialEq for RetryConfig {
    fn eq(&self, other: &Self) -> bool {
        self.max_retries == other.max_retries
            && self.initial_backoff == other.initial_backoff
            && self.max_backoff == other.max_backoff
            && self.max_retry_after == other.max_retry_after
            && match (&self.on_retry, &other.on_retry) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
    }
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_retries: 2,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
            on_retry: None,
        }
    }
}

/// Builds a [`RetryConfig`]; every setting starts at its default.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct RetryConfigBuilder {
    config: RetryConfig,
}

impl RetryConfigBuilder {
    /// Retries after the first attempt; 0 disables retrying.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.config.max_retries = n;
        self
    }

    /// The backoff bounds: the upper bound of the first wait, and of any wait.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.config.initial_backoff = initial;
        self.config.max_backoff = max;
        self
    }

    /// The longest server-requested wait (`Retry-After`) that is honoured; a longer one ends
    /// the call with the error instead.
    pub fn max_retry_after(mut self, limit: Duration) -> Self {
        self.config.max_retry_after = limit;
        self
    }

    /// Calls `observer` before every wait for a retry, e.g. to tell a user why nothing
    /// happens for a while (the CLI prints it on stderr). It runs on the request's task:
    /// keep it short.
    pub fn on_retry(mut self, observer: impl Fn(&RetryEvent<'_>) + Send + Sync + 'static) -> Self {
        self.config.on_retry = Some(Arc::new(observer));
        self
    }

    /// The configuration.
    pub fn build(self) -> RetryConfig {
        self.config
    }
}

impl RetryConfig {
    /// A builder starting from the defaults.
    pub fn builder() -> RetryConfigBuilder {
        RetryConfigBuilder::default()
    }

    /// A builder starting from this configuration.
    pub fn to_builder(&self) -> RetryConfigBuilder {
        RetryConfigBuilder {
            config: self.clone(),
        }
    }

    /// No retries at all.
    pub fn none() -> Self {
        RetryConfig {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// The jittered wait before retry number `attempt` (0-based) when the server gave no
    /// `Retry-After`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(31));
        let cap = self
            .initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff);
        let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(fastrand::u64(0..=nanos))
    }
}

/// Reads how long the server asked to wait: `retry-after-ms` (milliseconds, as OpenAI sends),
/// else `Retry-After` as delay-seconds or an HTTP date.
///
/// Whatever the server sent, this never panics: a wait too large for a [`Duration`]
/// (`retry-after-ms: 1e300`, 30 digits of seconds) is [`Duration::MAX`], which is longer than
/// any `max_retry_after` and so fails the call at once; a negative, NaN or unparsable value is
/// no `Retry-After` at all.
pub(crate) fn parse_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|ms| !ms.is_nan() && *ms >= 0.0)
    {
        return Some(Duration::try_from_secs_f64(ms / 1000.0).unwrap_or(Duration::MAX));
    }
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(
            value
                .parse::<u64>()
                .map_or(Duration::MAX, Duration::from_secs),
        );
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A server-requested wait as a person says it: `5 s`, `3 min`, `an hour`, `2 days`.
pub(crate) fn describe_wait(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        _ if d == Duration::MAX || secs >= 100 * 365 * 86_400 => "practically forever".to_owned(),
        0 => format!("{} ms", d.as_millis()),
        1..120 => format!("{secs} s"),
        120..3600 => format!("{} min", secs / 60),
        3600..7200 => "an hour".to_owned(),
        7200..172_800 => format!("{} hours", secs / 3600),
        _ => format!("{} days", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn retry_after_seconds_date_and_ms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", "3")]), now),
            Some(Duration::from_secs(3))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", &later)]), now),
            Some(Duration::from_secs(7))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", &past)]), now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after(
                &headers(&[("retry-after-ms", "250"), ("retry-after", "9")]),
                now
            ),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", "soon")]), now),
            None
        );
        assert_eq!(parse_retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn no_number_a_server_sends_panics() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let wait = |name: &'static str, v: &str| parse_retry_after(&headers(&[(name, v)]), now);
        for huge in [
            "1e300",
            "18446744073709551616000",
            "inf",
            "1.9e22",
            "1e300000",
        ] {
            assert_eq!(wait("retry-after-ms", huge), Some(Duration::MAX), "{huge}");
        }
        assert_eq!(
            wait("retry-after", "18446744073709551616000"),
            Some(Duration::MAX)
        );
        for ignored in ["-1", "NaN", "-inf", "", "1e", "0x10"] {
            assert_eq!(wait("retry-after-ms", ignored), None, "{ignored}");
        }
        assert_eq!(wait("retry-after", "-5"), None);
        assert_eq!(
            wait("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT")
                .map(|d| d > Duration::from_secs(1 << 30)),
            Some(true)
        );
        assert_eq!(wait("retry-after", "Sat, 01 Jan 0000 00:00:00 GMT"), None);
    }

    #[test]
    fn waits_read_like_a_person_says_them() {
        assert_eq!(describe_wait(Duration::from_secs(5)), "5 s");
        assert_eq!(describe_wait(Duration::from_secs(3600)), "an hour");
        assert_eq!(describe_wait(Duration::from_secs(600)), "10 min");
        assert_eq!(describe_wait(Duration::MAX), "practically forever");
    }

    #[test]
    fn backoff_is_bounded_by_exponential_cap() {
        let cfg = RetryConfig::default();
        for attempt in 0..40 {
            let cap = cfg
                .initial_backoff
                .saturating_mul(2u32.saturating_pow(attempt.min(31)))
                .min(cfg.max_backoff);
            for _ in 0..50 {
                assert!(cfg.backoff(attempt) <= cap);
            }
        }
        // Full jitter: the waits are spread, not constant.
        let waits: std::collections::HashSet<_> = (0..50).map(|_| cfg.backoff(3)).collect();
        assert!(waits.len() > 10);
    }
}
