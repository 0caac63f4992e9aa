//! The circuit breaker of one ACS resource ([`CircuitBreakerConfig`], [`CircuitState`]): after
//! repeated failures of the resource, calls fail at once with [`AcsError::CircuitOpen`] for a
//! cool-down, then one trial request decides whether it closes again.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use crate::acs::error::AcsError;

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

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> AcsError {
        crate::acs::error::api_error(status, None)
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
}
