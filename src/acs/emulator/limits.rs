//! The documented service limits of one ACS resource (`shared/ref/ACS_IDENTITY_API.md`,
//! "Throttling"), enforced when [`EmulatorConfig::service_limits`](super::EmulatorConfig) is set:
//! past a limit an operation answers `429 TooManyRequests` with `Retry-After`, as the service
//! does. The limit holds in every window of its period (a sliding window, the strictest reading
//! of "1000 per 30 s"), and every request counts, the refused ones too — which is why a client
//! that retries at once only stays locked out.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::acs::wire::Operation;

/// At most `requests` per `per`, per operation; `None` leaves an operation unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServiceLimits {
    /// By [`Operation::ALL`]'s order.
    per_operation: [Option<(u32, Duration)>; 5],
}

impl ServiceLimits {
    /// The documented limits: create and issue 1000 per 30 s; revoke, delete and the Teams
    /// exchange 500 per 30 s.
    pub fn documented() -> Self {
        let per = Duration::from_secs(30);
        Self {
            per_operation: Operation::ALL.map(|op| match op {
                Operation::Create | Operation::Issue => Some((1000, per)),
                Operation::Revoke | Operation::Delete | Operation::Exchange => Some((500, per)),
            }),
        }
    }

    /// These limits with `limit` for `operation`.
    pub fn with(mut self, operation: Operation, limit: Option<(u32, Duration)>) -> Self {
        self.per_operation[operation.index()] = limit;
        self
    }

    fn get(&self, operation: Operation) -> Option<(u32, Duration)> {
        self.per_operation[operation.index()]
    }
}

/// The requests of the last period, per operation, and how many were refused.
#[derive(Debug, Default)]
pub(super) struct Throttle {
    limits: Option<ServiceLimits>,
    /// The most recent `requests` arrivals of each operation (older ones decide nothing: a
    /// request is refused when the oldest of the last `requests` is younger than `per`).
    recent: [VecDeque<Instant>; 5],
    refused: [u64; 5],
}

impl Throttle {
    pub(super) fn new(limits: Option<ServiceLimits>) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// Counts a request of `operation` arriving at `now`; `Err(retry_after)` (whole seconds,
    /// at least 1) when it is over the limit.
    pub(super) fn admit(&mut self, operation: Operation, now: Instant) -> Result<(), u64> {
        let Some((requests, per)) = self.limits.and_then(|l| l.get(operation)) else {
            return Ok(());
        };
        let i = operation.index();
        let recent = &mut self.recent[i];
        let full = recent.len() >= requests as usize;
        let verdict = match recent.front() {
            Some(oldest) if full && now.saturating_duration_since(*oldest) < per => {
                let free_in = (*oldest + per).saturating_duration_since(now);
                Err(free_in.as_secs_f64().ceil().max(1.0) as u64)
            }
            _ => Ok(()),
        };
        recent.push_back(now);
        while recent.len() > requests as usize {
            recent.pop_front();
        }
        if verdict.is_err() {
            self.refused[i] += 1;
        }
        verdict
    }

    /// How many requests of `operation` were refused with `429`.
    pub(super) fn refused(&self, operation: Operation) -> u64 {
        self.refused[operation.index()]
    }

    pub(super) fn reset_counts(&mut self) {
        self.refused = [0; 5];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_per_ten_seconds() -> Throttle {
        Throttle::new(Some(
            ServiceLimits::default().with(Operation::Create, Some((2, Duration::from_secs(10)))),
        ))
    }

    #[test]
    fn refuses_past_the_limit_within_the_period_and_says_when_to_come_back() {
        let mut t = two_per_ten_seconds();
        let start = Instant::now();
        assert_eq!(t.admit(Operation::Create, start), Ok(()));
        assert_eq!(
            t.admit(Operation::Create, start + Duration::from_secs(4)),
            Ok(())
        );
        assert_eq!(
            t.admit(Operation::Create, start + Duration::from_millis(5500)),
            Err(5)
        );
        assert_eq!(t.refused(Operation::Create), 1);
        // Unlimited operations are never refused.
        for _ in 0..100 {
            assert_eq!(t.admit(Operation::Issue, start), Ok(()));
        }
    }

    #[test]
    fn a_refused_request_counts_against_the_limit_too() {
        let mut t = two_per_ten_seconds();
        let start = Instant::now();
        t.admit(Operation::Create, start).unwrap();
        t.admit(Operation::Create, start).unwrap();
        // Refused at 9 s; counted, so at 10 s (when the first two leave) one is still inside.
        assert!(
            t.admit(Operation::Create, start + Duration::from_secs(9))
                .is_err()
        );
        assert_eq!(
            t.admit(Operation::Create, start + Duration::from_secs(10)),
            Ok(())
        );
        assert!(
            t.admit(Operation::Create, start + Duration::from_secs(11))
                .is_err()
        );
        assert_eq!(
            t.admit(Operation::Create, start + Duration::from_secs(20)),
            Ok(())
        );
    }

    #[test]
    fn no_limits_admit_everything() {
        let mut t = Throttle::new(None);
        for _ in 0..10_000 {
            assert_eq!(t.admit(Operation::Create, Instant::now()), Ok(()));
        }
        assert_eq!(t.refused(Operation::Create), 0);
    }
}
