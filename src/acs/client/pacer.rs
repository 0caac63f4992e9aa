//! Client-side pacing of one ACS resource per operation, under the documented service limits
//! ([`PacingLimits`], [`PacingLimit`]), and the pause of an operation after ACS answered `429`.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use governor::clock::Clock as _;
use governor::{DefaultDirectRateLimiter, Quota};
use tokio::time::Instant;

use crate::acs::error::AcsError;
use crate::acs::wire::Operation;

/// A rate: at most `requests` per `per` (a GCRA: a burst of `requests`, then one every
/// `per / requests`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacingLimit {
    pub requests: NonZeroU32,
    pub per: Duration,
}

impl PacingLimit {
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
pub struct PacingLimits {
    pub create: Option<PacingLimit>,
    pub issue: Option<PacingLimit>,
    pub revoke: Option<PacingLimit>,
    pub delete: Option<PacingLimit>,
    pub exchange: Option<PacingLimit>,
    /// The longest a call waits for its turn (default 2 s).
    pub max_wait: Duration,
}

impl Default for PacingLimits {
    fn default() -> Self {
        let per = Duration::from_secs(30);
        let limit = |n| PacingLimit::new(n, per);
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

impl PacingLimits {
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
    pub fn get(&self, operation: Operation) -> Option<PacingLimit> {
        match operation {
            Operation::Create => self.create,
            Operation::Issue => self.issue,
            Operation::Revoke => self.revoke,
            Operation::Delete => self.delete,
            Operation::Exchange => self.exchange,
        }
    }

    /// These limits with `limit` for `operation`.
    pub fn with(mut self, operation: Operation, limit: Option<PacingLimit>) -> Self {
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
    pub(crate) fn new(limits: &PacingLimits) -> Self {
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

    #[tokio::test]
    async fn pacer_waits_briefly_or_refuses() {
        let limit = PacingLimit::new(2, Duration::from_millis(400));
        let limits = PacingLimits::unlimited()
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
        let p = Pacer::new(&PacingLimits::unlimited().with_max_wait(Duration::from_millis(300)));
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
