//! Bounded retries of one ACS call ([`RetryPolicy`]): which failures of which [`Operation`] may
//! be retried, and how long to wait before each retry (exponential back-off with full jitter,
//! or the `Retry-After` ACS asked for).
//!
//! Creating an identity is not idempotent, so it is retried only when ACS surely did not
//! process it.

use std::time::Duration;

use rand::Rng as _;

use crate::acs::error::AcsError;
use crate::acs::wire::Operation;

/// Bounded retries of one call.
///
/// Retried: `408`, `429`, `500`, `502`, `503`, `504`, timeouts and transport errors, for
/// `issue`, `revoke`, `delete` and `exchange`; for `create` only `429`, `503` and connection
/// failures before the request was sent (it is never retried after a timeout, a `500`, `502`
/// or `504`: ACS may have created the identity). The wait before retry `n` (0-based) is
/// `Retry-After` when ACS sent one (plus a little jitter), else a random duration in
/// `[0, min(max_delay, base_delay · 2ⁿ)]` ("full jitter").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 2; 0 disables retries).
    pub max_retries: u32,
    /// Back-off before the first retry, doubled for each further one (default 200 ms).
    pub base_delay: Duration,
    /// Cap of one back-off (default 5 s).
    pub max_delay: Duration,
    /// The longest `Retry-After` the client waits for (default 10 s). When ACS asks for more,
    /// the call gives up at once with that answer (the caller passes `Retry-After` on).
    pub max_retry_after: Duration,
    /// Time budget of all retries (default 10 s): a retry whose wait would end later than this
    /// after the first attempt started is not made. So one call takes at most about
    /// `max_elapsed` plus one timeout.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(10),
            max_elapsed: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// The exponential back-off cap before retry `retry` (0-based).
    pub fn backoff_cap(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// A random back-off in `[0, backoff_cap(retry)]` (full jitter).
    pub fn backoff(&self, retry: u32) -> Duration {
        jitter(self.backoff_cap(retry))
    }

    /// How long to wait after `Retry-After`: the asked delay plus up to a quarter of
    /// `base_delay` (so that callers throttled together do not come back together).
    pub(crate) fn after_retry_after(&self, retry_after: Duration) -> Duration {
        retry_after + jitter(self.base_delay / 4)
    }
}

/// A random duration in `[0, max]`.
fn jitter(max: Duration) -> Duration {
    let max_ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
    if max_ms == 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(rand::thread_rng().gen_range(0..=max_ms))
}

/// Whether a failed attempt of `operation` may be retried. `not_sent`: the failure happened
/// before the request left (connection refused or failed), so ACS cannot have processed it.
pub(crate) fn is_retryable_failure(operation: Operation, error: &AcsError, not_sent: bool) -> bool {
    if operation.is_idempotent() {
        match error {
            AcsError::Api { status, .. } => matches!(status, 408 | 429 | 500 | 502 | 503 | 504),
            AcsError::Timeout | AcsError::Transport(_) => true,
            _ => false,
        }
    } else {
        match error {
            // ACS throttles and reports overload before processing a request.
            AcsError::Api { status, .. } => matches!(status, 429 | 503),
            AcsError::Transport(_) => not_sent,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> AcsError {
        crate::acs::error::api_error(status, None)
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_full_jitter() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff_cap(0), Duration::from_millis(200));
        assert_eq!(p.backoff_cap(1), Duration::from_millis(400));
        assert_eq!(p.backoff_cap(4), Duration::from_millis(3200));
        assert_eq!(p.backoff_cap(5), Duration::from_secs(5));
        assert_eq!(p.backoff_cap(200), Duration::from_secs(5));
        for retry in 0..8 {
            assert!(p.backoff(retry) <= p.backoff_cap(retry));
        }
        let waited = p.after_retry_after(Duration::from_secs(2));
        assert!(waited >= Duration::from_secs(2) && waited <= Duration::from_millis(2050));
    }

    #[test]
    fn create_is_retried_only_when_surely_not_processed() {
        let c = Operation::Create;
        assert!(is_retryable_failure(c, &api(429), false));
        assert!(is_retryable_failure(c, &api(503), false));
        assert!(is_retryable_failure(
            c,
            &AcsError::Transport("refused".into()),
            true
        ));
        for s in [408, 500, 502, 504, 400, 404] {
            assert!(!is_retryable_failure(c, &api(s), false), "{s}");
        }
        assert!(!is_retryable_failure(c, &AcsError::Timeout, false));
        assert!(!is_retryable_failure(
            c,
            &AcsError::Transport("reset".into()),
            false
        ));
        for op in [
            Operation::Issue,
            Operation::Revoke,
            Operation::Delete,
            Operation::Exchange,
        ] {
            for s in [408, 429, 500, 502, 503, 504] {
                assert!(is_retryable_failure(op, &api(s), false), "{op} {s}");
            }
            for s in [400, 401, 403, 404, 409, 501] {
                assert!(!is_retryable_failure(op, &api(s), false), "{op} {s}");
            }
            assert!(is_retryable_failure(op, &AcsError::Timeout, false));
            assert!(is_retryable_failure(
                op,
                &AcsError::Transport("x".into()),
                false
            ));
            let credential = AcsError::Credential {
                message: "m".into(),
                retryable: true,
            };
            assert!(!is_retryable_failure(op, &credential, true));
        }
    }
}
