//! [`RetryConfig`]: which failures are retried, and how long to wait between attempts.

use std::time::{Duration, SystemTime};

use http::HeaderMap;

/// When and how to retry a request that failed before any of its answer reached the caller.
///
/// Retried: connection failures, connect and first-byte timeouts, and HTTP 408, 409, 429, 500,
/// 502, 503 and 504. Never retried: other 4xx answers, and anything after the first byte of a
/// response body reached the caller (a stream is never replayed).
///
/// The wait before retry *n* (from 0) is a random duration between zero and
/// `min(max_backoff, initial_backoff × 2ⁿ)` ("full jitter"), unless the server said how long
/// to wait with `Retry-After` (seconds or an HTTP date) or `retry-after-ms`: that wait is
/// honoured up to `max_retry_after`; a longer one is not waited for and the error is returned.
///
/// | setting | default |
/// |---|---|
/// | `max_retries` | 2 (3 attempts in all) |
/// | `initial_backoff` | 500 ms |
/// | `max_backoff` | 8 s |
/// | `max_retry_after` | 60 s |
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_retries: 2,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryConfig {
    /// No retries at all.
    pub fn none() -> Self {
        RetryConfig {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// The defaults with a different number of retries.
    pub fn with_max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// Sets the backoff bounds.
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }

    /// Sets the longest server-requested wait (`Retry-After`) that is honoured; a longer one
    /// ends the call with the error instead.
    pub fn with_max_retry_after(mut self, limit: Duration) -> Self {
        self.max_retry_after = limit;
        self
    }

    /// The jittered wait before retry number `attempt` (0-based) when the server gave no
    /// `Retry-After`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(31));
        let cap = self
            .initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff);
        let nanos = cap.as_nanos().min(u128::from(u64::MAX)) as u64;
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(fastrand::u64(0..=nanos))
    }
}

/// Reads how long the server asked to wait: `retry-after-ms` (milliseconds, as OpenAI sends),
/// else `Retry-After` as delay-seconds or an HTTP date.
pub(crate) fn parse_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
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
