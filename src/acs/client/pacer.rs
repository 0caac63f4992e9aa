//! Client-side pacing of one ACS resource per operation, under the documented service limits
//! ([`PacingLimits`], [`PacingLimit`]), and the pause of an operation after ACS answered `429`.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::acs::error::AcsError;
use crate::acs::wire::Operation;

/// A rate: at most `requests` in any window of `per` (a sliding window: a burst of `requests`,
/// then the next call when the oldest of them is `per` old). This is the strictest reading of
/// the documented "1000 per 30 s", so a resource that counts by fixed or sliding windows never
/// sees more than it allows.
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
}

/// The calls of one paced operation that still count against its limit: those in flight, and
/// those that ended less than `per` ago. A call counts from its grant until `per` after its
/// answer came back — not after it was sent — so however late ACS counted its arrival (queues,
/// a slow network, a descheduled task), ACS never sees more than the limit in any `per`.
struct Window {
    limit: PacingLimit,
    /// How many replicas share the limit ([`Pacer::set_share`]); this one takes its part.
    share: AtomicU32,
    state: Mutex<WindowState>,
}

#[derive(Default)]
struct WindowState {
    /// (slot id, when its call ended; `None` while in flight).
    slots: VecDeque<(u64, Option<Instant>)>,
    next_id: u64,
}

impl Window {
    fn new(limit: PacingLimit) -> Self {
        Self {
            limit,
            share: AtomicU32::new(1),
            state: Mutex::new(WindowState::default()),
        }
    }

    /// This replica's part of the limit: `requests / share`, rounded down, at least 1.
    fn requests(&self) -> usize {
        let share = self.share.load(Ordering::Relaxed).max(1);
        (self.limit.requests.get() / share).max(1) as usize
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WindowState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Grants a call now (its slot's id), or tells how long until the window has room.
    fn try_grant(&self, now: Instant) -> Result<u64, Duration> {
        let per = self.limit.per;
        let mut state = self.lock();
        state
            .slots
            .retain(|(_, ended)| ended.is_none_or(|t| now.saturating_duration_since(t) < per));
        if state.slots.len() < self.requests() {
            let id = state.next_id;
            state.next_id += 1;
            state.slots.push_back((id, None));
            return Ok(id);
        }
        Err(self.free_in(&state, 1, now))
    }

    /// The call of slot `id` ended at `now`: it counts for `per` more.
    fn complete(&self, id: u64, now: Instant) {
        let mut state = self.lock();
        if let Some(slot) = state.slots.iter_mut().rev().find(|(slot, _)| *slot == id) {
            slot.1 = Some(now);
        }
    }

    /// How long until `queued` more calls than the window holds now could be granted.
    fn wait_for(&self, queued: usize, now: Instant) -> Duration {
        let state = self.lock();
        let over = (state.slots.len() + queued).saturating_sub(self.requests());
        if over == 0 {
            return Duration::ZERO;
        }
        self.free_in(&state, over, now)
    }

    /// When `n` slots will have left the window: the `n`-th earliest end plus `per`; a whole
    /// `per` from now when fewer calls than that have ended (the others are still in flight).
    fn free_in(&self, state: &WindowState, n: usize, now: Instant) -> Duration {
        let mut ended: Vec<Instant> = state.slots.iter().filter_map(|(_, t)| *t).collect();
        ended.sort_unstable();
        match ended.get(n.saturating_sub(1)) {
            Some(t) => (*t + self.limit.per).saturating_duration_since(now),
            None => self.limit.per,
        }
    }
}

/// A paced call's place in its operation's window: dropped when the call's answer came back
/// (or it was never sent), from when it counts for one more window.
pub(crate) struct Slot<'a> {
    held: Option<(&'a Window, u64)>,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if let Some((window, id)) = self.held {
            window.complete(id, Instant::now());
        }
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
    window: Option<Window>,
    /// Callers take turns (FIFO): only the head of the queue polls the window.
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
        let lane = |operation: Operation| Lane {
            window: limits.get(operation).map(Window::new),
            turn: tokio::sync::Mutex::new(()),
            waiting: AtomicUsize::new(0),
            paused_until: Mutex::new(None),
        };
        Self {
            lanes: Operation::ALL.map(lane),
            max_wait: limits.max_wait,
        }
    }

    /// Takes a `1 / replicas` part of every limit, as one of `replicas` replicas calling the
    /// same resource (calls already counted keep counting).
    pub(crate) fn set_share(&self, replicas: u32) {
        for lane in &self.lanes {
            if let Some(window) = &lane.window {
                window.share.store(replicas.max(1), Ordering::Relaxed);
            }
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

    /// Wait for `operation`'s turn, at most `max_wait`; else [`AcsError::Throttled`]. Hold
    /// the [`Slot`] until the call's answer is back.
    pub(crate) async fn acquire(&self, operation: Operation) -> Result<Slot<'_>, AcsError> {
        let lane = self.lane(operation);
        if lane.window.is_none() && Self::paused_until(lane).is_none() {
            return Ok(Slot { held: None });
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
            let estimate = lane
                .window
                .as_ref()
                .map_or(Duration::ZERO, |w| w.wait_for(ahead + 1, Instant::now()));
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
            let Some(window) = &lane.window else {
                return Ok(Slot { held: None });
            };
            match window.try_grant(now) {
                Ok(id) => {
                    return Ok(Slot {
                        held: Some((window, id)),
                    });
                }
                Err(wait) => {
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

    #[tokio::test(start_paused = true)]
    async fn pacer_waits_briefly_or_refuses() {
        let limit = PacingLimit::new(2, Duration::from_millis(400));
        let limits = PacingLimits::unlimited()
            .with(Operation::Issue, limit)
            .with_max_wait(Duration::ZERO);
        let p = Pacer::new(&limits);
        p.acquire(Operation::Issue).await.unwrap();
        tokio::time::advance(Duration::from_millis(100)).await;
        p.acquire(Operation::Issue).await.unwrap();
        let Err(AcsError::Throttled { retry_after }) = p.acquire(Operation::Issue).await else {
            panic!("expected throttling");
        };
        // The first grant leaves the window 400 ms after it was made.
        assert_eq!(retry_after, Duration::from_millis(300));
        // Unpaced operations are not affected.
        for _ in 0..10 {
            p.acquire(Operation::Create).await.unwrap();
        }

        let waiting = Pacer::new(&limits.with_max_wait(Duration::from_secs(1)));
        let started = Instant::now();
        for _ in 0..3 {
            waiting.acquire(Operation::Issue).await.unwrap();
        }
        assert_eq!(started.elapsed(), Duration::from_millis(400));
    }

    #[test]
    fn one_of_three_replicas_takes_a_third_of_the_limit_and_all_of_it_alone() {
        let per = Duration::from_millis(300);
        let limits = PacingLimits::unlimited().with(Operation::Issue, PacingLimit::new(7, per));
        let p = Pacer::new(&limits);
        let window = p.lane(Operation::Issue).window.as_ref().unwrap();
        let mut now = Instant::now();
        // Grants at `now` until the window is full; each call ends at once.
        let granted = |now: Instant| {
            let mut n = 0;
            while let Ok(id) = window.try_grant(now) {
                window.complete(id, now);
                n += 1;
            }
            n
        };
        p.set_share(3);
        assert_eq!(granted(now), 2, "7 / 3, rounded down");
        now += per * 2;
        p.set_share(1);
        assert_eq!(granted(now), 7);
        now += per * 2;
        p.set_share(100);
        assert_eq!(granted(now), 1, "never less than one call per period");
    }

    #[tokio::test(start_paused = true)]
    async fn no_window_of_the_period_holds_more_calls_than_the_limit() {
        let per = Duration::from_millis(300);
        let limits = PacingLimits::unlimited()
            .with(Operation::Create, PacingLimit::new(3, per))
            .with_max_wait(Duration::from_secs(5));
        let p = std::sync::Arc::new(Pacer::new(&limits));
        let calls: Vec<_> = (0..10)
            .map(|_| {
                let p = std::sync::Arc::clone(&p);
                tokio::spawn(async move {
                    p.acquire(Operation::Create).await.unwrap();
                    Instant::now()
                })
            })
            .collect();
        let mut granted = Vec::new();
        for call in calls {
            granted.push(call.await.unwrap());
        }
        granted.sort();
        // A burst of the limit at once, then the limit again a whole period later.
        for (i, t) in granted.iter().enumerate() {
            let in_window = granted[i..].iter().filter(|u| **u - *t < per).count();
            assert!(
                in_window <= 3,
                "{in_window} calls within {per:?} of call {i}"
            );
        }
        let start = granted[0];
        assert_eq!(granted[2] - start, Duration::ZERO);
        assert_eq!(granted[3] - start, per);
        assert_eq!(granted[9] - start, per * 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_counts_from_when_its_answer_came_back_not_from_when_it_was_sent() {
        let per = Duration::from_millis(100);
        let limits = PacingLimits::unlimited()
            .with(Operation::Issue, PacingLimit::new(1, per))
            .with_max_wait(Duration::ZERO);
        let p = Pacer::new(&limits);
        let in_flight = p.acquire(Operation::Issue).await.unwrap();
        tokio::time::advance(Duration::from_millis(500)).await;
        // Still in flight long after its grant: it holds its place, for a whole window at least.
        let Err(AcsError::Throttled { retry_after }) = p.acquire(Operation::Issue).await else {
            panic!("expected throttling while the first call is in flight");
        };
        assert_eq!(retry_after, per);
        drop(in_flight);
        tokio::time::advance(Duration::from_millis(60)).await;
        let Err(AcsError::Throttled { retry_after }) = p.acquire(Operation::Issue).await else {
            panic!("expected throttling within a window of the answer");
        };
        assert_eq!(retry_after, Duration::from_millis(40));
        tokio::time::advance(Duration::from_millis(40)).await;
        p.acquire(Operation::Issue).await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_that_cannot_get_a_turn_in_time_is_told_when_the_window_has_room() {
        let per = Duration::from_secs(30);
        let limits = PacingLimits::unlimited()
            .with(Operation::Create, PacingLimit::new(2, per))
            .with_max_wait(Duration::from_secs(2));
        let p = Pacer::new(&limits);
        p.acquire(Operation::Create).await.unwrap();
        p.acquire(Operation::Create).await.unwrap();
        let started = Instant::now();
        let Err(AcsError::Throttled { retry_after }) = p.acquire(Operation::Create).await else {
            panic!("expected throttling");
        };
        // Refused at once: waiting 30 s is past the 2 s queue time.
        assert_eq!(started.elapsed(), Duration::ZERO);
        assert_eq!(retry_after, per);
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
