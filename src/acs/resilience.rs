//! How the ACS client copes with a slow, failing or throttling ACS resource: bounded retries
//! with back-off ([`RetryPolicy`]), a circuit breaker per resource ([`CircuitBreakerConfig`]),
//! and client-side pacing per operation under the documented service limits ([`RateLimits`]).
//!
//! All three live in an [`AcsClient`](super::AcsClient) and are shared by its clones (one
//! client per ACS resource). Which failures are retried depends on the [`Operation`]: creating
//! an identity is not idempotent, so it is retried only when ACS surely did not process it.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use governor::clock::Clock as _;
use governor::{DefaultDirectRateLimiter, Quota};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::error::AcsError;

/// The operations of the identity API (the unit of the service limits, of pacing and of the
/// emulator's fault injection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// `POST /identities`.
    Create,
    /// `POST /identities/{id}/:issueAccessToken`.
    Issue,
    /// `POST /identities/{id}/:revokeAccessTokens`.
    Revoke,
    /// `DELETE /identities/{id}`.
    Delete,
    /// `POST /teamsUser/:exchangeAccessToken`.
    Exchange,
}

impl Operation {
    pub const ALL: [Operation; 5] = [
        Operation::Create,
        Operation::Issue,
        Operation::Revoke,
        Operation::Delete,
        Operation::Exchange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Issue => "issue",
            Operation::Revoke => "revoke",
            Operation::Delete => "delete",
            Operation::Exchange => "exchange",
        }
    }

    /// Position in [`Operation::ALL`].
    pub(crate) fn index(self) -> usize {
        match self {
            Operation::Create => 0,
            Operation::Issue => 1,
            Operation::Revoke => 2,
            Operation::Delete => 3,
            Operation::Exchange => 4,
        }
    }

    /// Whether sending the request twice is harmless. Only `create` is not: a retry after a
    /// lost answer would make a second identity.
    pub fn is_idempotent(self) -> bool {
        !matches!(self, Operation::Create)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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

/// Whether an outcome counts as a failure of the resource for the circuit breaker: `408`,
/// `429`, `5xx`, timeouts and transport errors. Other `4xx` mean ACS is up and answering.
pub(crate) fn is_resource_failure(error: &AcsError) -> bool {
    match error {
        AcsError::Api { status, .. } => *status == 408 || *status == 429 || *status >= 500,
        AcsError::Timeout | AcsError::Transport(_) => true,
        _ => false,
    }
}

/// When the circuit breaker of a resource opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitBreakerConfig {
    /// Consecutive failed attempts (`408`, `429`, `5xx`, timeouts, transport errors; each
    /// retry counts) that open the circuit (default 5; 0 disables the breaker).
    pub failure_threshold: u32,
    /// How long it stays open, failing every call at once with
    /// [`AcsError::CircuitOpen`], before one trial request is let through (default 10 s).
    pub cool_down: Duration,
}

impl Default for CircuitBreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            cool_down: Duration::from_secs(10),
        }
    }
}

impl CircuitBreakerConfig {
    /// A breaker that never opens.
    pub fn disabled() -> Self {
        Self {
            failure_threshold: 0,
            ..Self::default()
        }
    }
}

/// The state of a circuit breaker, for diagnostics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    /// Calls go through; `failures` consecutive failures so far.
    Closed { failures: u32 },
    /// Calls fail at once for `remaining` more.
    Open { remaining: Duration },
    /// The cool-down is over: the next call is the trial (or, with `trial_in_flight`, it is
    /// under way and other calls still fail at once).
    HalfOpen { trial_in_flight: bool },
}

enum BreakerState {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { trial_in_flight: bool },
}

/// How long callers are told to wait while a half-open breaker's trial is under way.
const TRIAL_RETRY_AFTER: Duration = Duration::from_secs(1);

/// A circuit breaker (one per ACS resource).
pub(crate) struct CircuitBreaker {
    config: CircuitBreakerConfig,
    state: Mutex<BreakerState>,
}

impl CircuitBreaker {
    pub(crate) fn new(config: CircuitBreakerConfig) -> Self {
        Self {
            config,
            state: Mutex::new(BreakerState::Closed { failures: 0 }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BreakerState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn state(&self) -> CircuitState {
        match *self.lock() {
            BreakerState::Closed { failures } => CircuitState::Closed { failures },
            BreakerState::Open { until } => {
                let remaining = until.saturating_duration_since(Instant::now());
                if remaining.is_zero() {
                    CircuitState::HalfOpen {
                        trial_in_flight: false,
                    }
                } else {
                    CircuitState::Open { remaining }
                }
            }
            BreakerState::HalfOpen { trial_in_flight } => {
                CircuitState::HalfOpen { trial_in_flight }
            }
        }
    }

    /// Permission for one attempt, or [`AcsError::CircuitOpen`] with the time left.
    pub(crate) fn acquire(&self) -> Result<Permit<'_>, AcsError> {
        if self.config.failure_threshold == 0 {
            return Ok(Permit::new(self, false));
        }
        let mut state = self.lock();
        match *state {
            BreakerState::Closed { .. } => Ok(Permit::new(self, false)),
            BreakerState::Open { until } => {
                let now = Instant::now();
                if now < until {
                    Err(AcsError::CircuitOpen {
                        retry_after: until - now,
                    })
                } else {
                    *state = BreakerState::HalfOpen {
                        trial_in_flight: true,
                    };
                    tracing::info!("ACS circuit half-open: sending a trial request");
                    Ok(Permit::new(self, true))
                }
            }
            BreakerState::HalfOpen {
                trial_in_flight: false,
            } => {
                *state = BreakerState::HalfOpen {
                    trial_in_flight: true,
                };
                Ok(Permit::new(self, true))
            }
            BreakerState::HalfOpen {
                trial_in_flight: true,
            } => Err(AcsError::CircuitOpen {
                retry_after: TRIAL_RETRY_AFTER,
            }),
        }
    }

    fn on_success(&self) {
        let mut state = self.lock();
        if !matches!(*state, BreakerState::Closed { failures: 0 }) {
            if !matches!(*state, BreakerState::Closed { .. }) {
                tracing::info!("ACS circuit closed: the resource answers again");
            }
            *state = BreakerState::Closed { failures: 0 };
        }
    }

    fn on_failure(&self, trial: bool) {
        let mut state = self.lock();
        let open = |state: &mut BreakerState| {
            *state = BreakerState::Open {
                until: Instant::now() + self.config.cool_down,
            };
        };
        match *state {
            BreakerState::Closed { failures } => {
                let failures = failures.saturating_add(1);
                if failures >= self.config.failure_threshold {
                    tracing::warn!(
                        failures,
                        cool_down_ms = self.config.cool_down.as_millis() as u64,
                        "ACS circuit open: failing calls fast"
                    );
                    open(&mut state);
                } else {
                    *state = BreakerState::Closed { failures };
                }
            }
            BreakerState::HalfOpen { .. } if trial => {
                tracing::warn!("ACS circuit trial failed: open again");
                open(&mut state);
            }
            // A late failure of a call that started before the circuit opened.
            BreakerState::HalfOpen { .. } | BreakerState::Open { .. } => {}
        }
    }

    /// A trial that ended without telling anything about ACS (e.g. no Entra ID token): let
    /// the next call be the trial.
    fn on_neutral(&self, trial: bool) {
        let mut state = self.lock();
        if trial && matches!(*state, BreakerState::HalfOpen { .. }) {
            *state = BreakerState::HalfOpen {
                trial_in_flight: false,
            };
        }
    }
}

/// One attempt's permission from the breaker; report its outcome with [`Permit::success`] or
/// [`Permit::failure`]. Dropped without a report (cancelled, or an outcome that says nothing
/// about ACS), it frees the trial slot of a half-open breaker.
pub(crate) struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    trial: bool,
    reported: bool,
}

impl<'a> Permit<'a> {
    fn new(breaker: &'a CircuitBreaker, trial: bool) -> Self {
        Self {
            breaker,
            trial,
            reported: false,
        }
    }

    pub(crate) fn success(mut self) {
        self.reported = true;
        if self.breaker.config.failure_threshold > 0 {
            self.breaker.on_success();
        }
    }

    pub(crate) fn failure(mut self) {
        self.reported = true;
        if self.breaker.config.failure_threshold > 0 {
            self.breaker.on_failure(self.trial);
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.reported {
            self.breaker.on_neutral(self.trial);
        }
    }
}

/// A rate: at most `requests` per `per` (a GCRA: a burst of `requests`, then one every
/// `per / requests`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: NonZeroU32,
    pub per: Duration,
}

impl RateLimit {
    /// `requests` per `per`; `None` when either is zero.
    pub fn new(requests: u32, per: Duration) -> Option<Self> {
        let requests = NonZeroU32::new(requests)?;
        (!per.is_zero()).then_some(Self { requests, per })
    }

    fn quota(self) -> Quota {
        let interval = (self.per / self.requests.get()).max(Duration::from_nanos(1));
        Quota::with_period(interval)
            .unwrap_or_else(|| Quota::per_second(self.requests))
            .allow_burst(self.requests)
    }
}

/// Client-side pacing per operation, under the documented limits of one ACS resource
/// (`shared/ref/ACS_IDENTITY_API.md`): create and issue 1000 per 30 s; delete, revoke and the
/// Teams exchange 500 per 30 s. `None` leaves an operation unpaced.
///
/// A call over the budget waits for its turn (first come, first served) when that comes
/// within `max_wait`, else fails at once with [`AcsError::Throttled`]. After ACS answers `429`,
/// the operation is paused until its `Retry-After` has passed (no retry storm): calls wait for
/// the pause when it ends within `max_wait`, else fail at once the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub create: Option<RateLimit>,
    pub issue: Option<RateLimit>,
    pub revoke: Option<RateLimit>,
    pub delete: Option<RateLimit>,
    pub exchange: Option<RateLimit>,
    /// The longest a call waits for its turn (default 2 s).
    pub max_wait: Duration,
}

impl Default for RateLimits {
    fn default() -> Self {
        let per = Duration::from_secs(30);
        let limit = |n| RateLimit::new(n, per);
        Self {
            create: limit(1000),
            issue: limit(1000),
            revoke: limit(500),
            delete: limit(500),
            exchange: limit(500),
            max_wait: Duration::from_secs(2),
        }
    }
}

impl RateLimits {
    /// No pacing (`429` answers still pause the operation).
    pub fn unlimited() -> Self {
        Self {
            create: None,
            issue: None,
            revoke: None,
            delete: None,
            exchange: None,
            ..Self::default()
        }
    }

    /// The limit of `operation`.
    pub fn get(&self, operation: Operation) -> Option<RateLimit> {
        match operation {
            Operation::Create => self.create,
            Operation::Issue => self.issue,
            Operation::Revoke => self.revoke,
            Operation::Delete => self.delete,
            Operation::Exchange => self.exchange,
        }
    }

    /// These limits with `limit` for `operation`.
    pub fn with(mut self, operation: Operation, limit: Option<RateLimit>) -> Self {
        let slot = match operation {
            Operation::Create => &mut self.create,
            Operation::Issue => &mut self.issue,
            Operation::Revoke => &mut self.revoke,
            Operation::Delete => &mut self.delete,
            Operation::Exchange => &mut self.exchange,
        };
        *slot = limit;
        self
    }

    /// These limits with another `max_wait`.
    pub fn with_max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }
}

/// The pacing of one operation.
struct Lane {
    limiter: Option<DefaultDirectRateLimiter>,
    interval: Duration,
    /// Callers take turns (FIFO): only the head of the queue polls the limiter.
    turn: tokio::sync::Mutex<()>,
    waiting: AtomicUsize,
    /// Paused until then after a `429`.
    paused_until: Mutex<Option<Instant>>,
}

/// Pacing of all operations of one resource.
pub(crate) struct Pacer {
    lanes: [Lane; 5],
    max_wait: Duration,
}

/// Decrements a counter when dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Pacer {
    pub(crate) fn new(limits: &RateLimits) -> Self {
        let lane = |operation: Operation| {
            let limit = limits.get(operation);
            Lane {
                limiter: limit.map(|l| DefaultDirectRateLimiter::direct(l.quota())),
                interval: limit.map_or(Duration::ZERO, |l| l.quota().replenish_interval()),
                turn: tokio::sync::Mutex::new(()),
                waiting: AtomicUsize::new(0),
                paused_until: Mutex::new(None),
            }
        };
        Self {
            lanes: Operation::ALL.map(lane),
            max_wait: limits.max_wait,
        }
    }

    fn lane(&self, operation: Operation) -> &Lane {
        &self.lanes[operation.index()]
    }

    fn paused_until(lane: &Lane) -> Option<Instant> {
        let mut paused = lane
            .paused_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match *paused {
            Some(until) if until > Instant::now() => Some(until),
            Some(_) => {
                *paused = None;
                None
            }
            None => None,
        }
    }

    /// Pause `operation` until `until` (ACS answered `429`); a longer pause already set stays.
    pub(crate) fn pause(&self, operation: Operation, until: Instant) {
        let lane = self.lane(operation);
        let mut paused = lane
            .paused_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if paused.is_none_or(|p| p < until) {
            *paused = Some(until);
        }
    }

    /// How long `operation` stays paused after a `429`.
    pub(crate) fn pause_remaining(&self, operation: Operation) -> Option<Duration> {
        Self::paused_until(self.lane(operation))
            .map(|u| u.saturating_duration_since(Instant::now()))
    }

    /// Wait for `operation`'s turn, at most `max_wait`; else [`AcsError::Throttled`].
    pub(crate) async fn acquire(&self, operation: Operation) -> Result<(), AcsError> {
        let lane = self.lane(operation);
        if lane.limiter.is_none() && Self::paused_until(lane).is_none() {
            return Ok(());
        }
        let deadline = Instant::now() + self.max_wait;
        let ahead = lane.waiting.fetch_add(1, Ordering::Relaxed);
        let _waiting = Waiting(&lane.waiting);
        let throttled = |retry_after: Duration| {
            tracing::debug!(
                operation = operation.as_str(),
                retry_after_ms = retry_after.as_millis() as u64,
                "ACS call refused by client-side pacing"
            );
            Err(AcsError::Throttled {
                retry_after: retry_after.max(Duration::from_millis(1)),
            })
        };
        let Ok(_turn) = tokio::time::timeout_at(deadline, lane.turn.lock()).await else {
            let queued = u32::try_from(ahead + 1).unwrap_or(u32::MAX);
            let estimate = lane.interval.saturating_mul(queued);
            let paused = Self::paused_until(lane).map_or(Duration::ZERO, |u| {
                u.saturating_duration_since(Instant::now())
            });
            return throttled(estimate.max(paused));
        };
        loop {
            let now = Instant::now();
            if let Some(until) = Self::paused_until(lane) {
                if until > deadline {
                    return throttled(until - now);
                }
                tokio::time::sleep_until(until).await;
                continue;
            }
            let Some(limiter) = &lane.limiter else {
                return Ok(());
            };
            match limiter.check() {
                Ok(()) => return Ok(()),
                Err(not_until) => {
                    let wait = not_until.wait_time_from(limiter.clock().now());
                    if now + wait > deadline {
                        return throttled(wait);
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> AcsError {
        AcsError::Api {
            status,
            code: "X".into(),
            message: "m".into(),
            retry_after: None,
        }
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

    #[test]
    fn only_408_429_5xx_and_transport_count_against_the_breaker() {
        for s in [408, 429, 500, 503] {
            assert!(is_resource_failure(&api(s)));
        }
        for s in [400, 401, 403, 404, 409] {
            assert!(!is_resource_failure(&api(s)));
        }
        assert!(is_resource_failure(&AcsError::Timeout));
        assert!(!is_resource_failure(&AcsError::InvalidResponse("x".into())));
    }

    #[tokio::test]
    async fn breaker_opens_fails_fast_half_opens_and_closes() {
        let b = CircuitBreaker::new(CircuitBreakerConfig {
            failure_threshold: 2,
            cool_down: Duration::from_millis(150),
        });
        b.acquire().unwrap().failure();
        b.acquire().unwrap().success();
        assert_eq!(b.state(), CircuitState::Closed { failures: 0 });
        b.acquire().unwrap().failure();
        b.acquire().unwrap().failure();
        let Err(AcsError::CircuitOpen { retry_after }) = b.acquire() else {
            panic!("expected an open circuit");
        };
        assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_millis(150));
        tokio::time::sleep(Duration::from_millis(160)).await;
        // Half-open: one trial; others still fail fast.
        let trial = b.acquire().unwrap();
        assert!(matches!(b.acquire(), Err(AcsError::CircuitOpen { .. })));
        trial.failure();
        assert!(matches!(b.state(), CircuitState::Open { .. }));
        tokio::time::sleep(Duration::from_millis(160)).await;
        // A trial that says nothing (dropped) frees the slot.
        drop(b.acquire().unwrap());
        assert_eq!(
            b.state(),
            CircuitState::HalfOpen {
                trial_in_flight: false
            }
        );
        b.acquire().unwrap().success();
        assert_eq!(b.state(), CircuitState::Closed { failures: 0 });
    }

    #[tokio::test]
    async fn disabled_breaker_never_opens() {
        let b = CircuitBreaker::new(CircuitBreakerConfig::disabled());
        for _ in 0..20 {
            b.acquire().unwrap().failure();
        }
        assert!(b.acquire().is_ok());
    }

    #[tokio::test]
    async fn pacer_waits_briefly_or_refuses() {
        let limit = RateLimit::new(2, Duration::from_millis(400));
        let limits = RateLimits::unlimited()
            .with(Operation::Issue, limit)
            .with_max_wait(Duration::ZERO);
        let p = Pacer::new(&limits);
        p.acquire(Operation::Issue).await.unwrap();
        p.acquire(Operation::Issue).await.unwrap();
        let Err(AcsError::Throttled { retry_after }) = p.acquire(Operation::Issue).await else {
            panic!("expected throttling");
        };
        assert!(retry_after <= Duration::from_millis(200), "{retry_after:?}");
        // Unpaced operations are not affected.
        for _ in 0..10 {
            p.acquire(Operation::Create).await.unwrap();
        }

        let waiting = Pacer::new(&limits.with_max_wait(Duration::from_secs(1)));
        let started = Instant::now();
        for _ in 0..3 {
            waiting.acquire(Operation::Issue).await.unwrap();
        }
        assert!(started.elapsed() >= Duration::from_millis(150));
    }

    #[tokio::test]
    async fn pause_after_429_holds_calls_or_refuses_them() {
        let p = Pacer::new(&RateLimits::unlimited().with_max_wait(Duration::from_millis(300)));
        p.pause(Operation::Delete, Instant::now() + Duration::from_secs(5));
        let Err(AcsError::Throttled { retry_after }) = p.acquire(Operation::Delete).await else {
            panic!("expected throttling");
        };
        assert!(retry_after > Duration::from_secs(4));
        assert!(p.acquire(Operation::Revoke).await.is_ok());

        p.pause(
            Operation::Revoke,
            Instant::now() + Duration::from_millis(100),
        );
        let started = Instant::now();
        p.acquire(Operation::Revoke).await.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(100));
        assert_eq!(p.pause_remaining(Operation::Revoke), None);
    }
}
