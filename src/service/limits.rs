//! Per-tenant and per-subject rate limits (GCRA, `governor`). A refused call gets `429` with
//! `Retry-After`; nothing reaches the identity provider's keys or ACS.
//!
//! The limits are the cluster's: one of N replicas (`service::membership`) enforces a `1 / N`
//! share of each rate and burst, so N replicas behind a load balancer admit what one would.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::config::LimitSettings;

/// How long to wait before the limiter lets the caller through.
#[derive(Debug, Clone, Copy)]
pub struct RateLimited {
    pub retry_after: Duration,
}

/// The limiters of one share.
struct Limiters {
    tenants: Option<DefaultKeyedRateLimiter<String>>,
    subjects: Option<DefaultKeyedRateLimiter<(String, String)>>,
}

impl Limiters {
    fn new(settings: &LimitSettings, share: u32) -> Self {
        Self {
            tenants: quota(
                Duration::from_secs(1),
                settings.tenant_requests_per_second,
                settings.tenant_burst,
                share,
            )
            .map(DefaultKeyedRateLimiter::keyed),
            subjects: quota(
                Duration::from_secs(60),
                settings.subject_requests_per_minute,
                settings.subject_burst,
                share,
            )
            .map(DefaultKeyedRateLimiter::keyed),
        }
    }
}

/// `count` per `per` with a burst of `burst`, of which this replica takes `1 / share`: the
/// period between two calls `share` times as long, the burst divided (rounded, at least 1).
fn quota(per: Duration, count: u32, burst: u32, share: u32) -> Option<Quota> {
    let count = NonZeroU32::new(count)?;
    let share = share.max(1);
    let burst = NonZeroU32::new((burst.max(1) + share / 2) / share).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(per.saturating_mul(share) / count.get()).map(|q| q.allow_burst(burst))
}

#[derive(Clone)]
pub struct RateLimits {
    settings: LimitSettings,
    current: Arc<ArcSwap<Limiters>>,
    share: Arc<AtomicU32>,
}

impl RateLimits {
    pub fn new(settings: &LimitSettings) -> Self {
        Self {
            settings: settings.clone(),
            current: Arc::new(ArcSwap::from_pointee(Limiters::new(settings, 1))),
            share: Arc::new(AtomicU32::new(1)),
        }
    }

    /// No limits at all.
    pub fn unlimited() -> Self {
        Self::new(&LimitSettings {
            tenant_requests_per_second: 0,
            subject_requests_per_minute: 0,
            ..LimitSettings::default()
        })
    }

    /// Enforces a `1 / replicas` share of every limit from now on (a change starts the
    /// limiters afresh).
    pub fn set_share(&self, replicas: u32) {
        let replicas = replicas.max(1);
        if self.share.swap(replicas, Ordering::AcqRel) != replicas {
            self.current
                .store(Arc::new(Limiters::new(&self.settings, replicas)));
        }
    }

    /// The share enforced: how many replicas the limits are split between.
    pub fn share(&self) -> u32 {
        self.share.load(Ordering::Acquire)
    }

    pub fn check_tenant(&self, tenant: &str) -> Result<(), RateLimited> {
        match &self.current.load().tenants {
            Some(l) => l.check_key(&tenant.to_owned()).map_err(|n| RateLimited {
                retry_after: n.wait_time_from(DefaultClock::default().now()),
            }),
            None => Ok(()),
        }
    }

    pub fn check_subject(&self, tenant: &str, subject: &str) -> Result<(), RateLimited> {
        match &self.current.load().subjects {
            Some(l) => l
                .check_key(&(tenant.to_owned(), subject.to_owned()))
                .map_err(|n| RateLimited {
                    retry_after: n.wait_time_from(DefaultClock::default().now()),
                }),
            None => Ok(()),
        }
    }

    /// Forgets keys whose limits are back to full, so memory stays bounded by recent callers.
    pub fn spawn_housekeeping(self, interval: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            loop {
                ticker.tick().await;
                let current = self.current.load();
                if let Some(l) = &current.tenants {
                    l.retain_recent();
                    l.shrink_to_fit();
                }
                if let Some(l) = &current.subjects {
                    l.retain_recent();
                    l.shrink_to_fit();
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_limit_refuses_past_the_burst_and_names_a_wait() {
        let limits = RateLimits::new(&LimitSettings {
            subject_requests_per_minute: 60,
            subject_burst: 2,
            ..LimitSettings::default()
        });
        assert!(limits.check_subject("t", "alice").is_ok());
        assert!(limits.check_subject("t", "alice").is_ok());
        let refused = limits.check_subject("t", "alice").unwrap_err();
        assert!(
            refused.retry_after > Duration::ZERO && refused.retry_after <= Duration::from_secs(1)
        );
        assert!(limits.check_subject("t", "bob").is_ok(), "per subject");
        assert!(
            limits.check_subject("u", "alice").is_ok(),
            "per tenant and subject"
        );
    }

    #[test]
    fn one_of_three_replicas_takes_a_third_of_the_burst_and_all_of_it_alone() {
        let limits = RateLimits::new(&LimitSettings {
            tenant_requests_per_second: 1,
            tenant_burst: 9,
            ..LimitSettings::default()
        });
        let admitted = |limits: &RateLimits, tenant: &str| {
            (0..20)
                .filter(|_| limits.check_tenant(tenant).is_ok())
                .count()
        };
        limits.set_share(3);
        assert_eq!(limits.share(), 3);
        assert_eq!(admitted(&limits, "a"), 3);
        limits.set_share(1);
        assert_eq!(admitted(&limits, "b"), 9);
        limits.set_share(20);
        assert_eq!(admitted(&limits, "c"), 1, "never less than one");
    }

    #[test]
    fn a_share_stretches_the_period_between_calls() {
        let q = quota(Duration::from_secs(1), 10, 10, 2).unwrap();
        assert_eq!(q.replenish_interval(), Duration::from_millis(200));
        assert_eq!(q.burst_size().get(), 5);
        let q = quota(Duration::from_secs(1), 10, 5, 3).unwrap();
        assert_eq!(q.burst_size().get(), 2, "5 / 3 rounded");
    }

    #[test]
    fn zero_means_unlimited() {
        let limits = RateLimits::new(&LimitSettings {
            tenant_requests_per_second: 0,
            subject_requests_per_minute: 0,
            ..LimitSettings::default()
        });
        for _ in 0..1000 {
            assert!(limits.check_tenant("t").is_ok());
            assert!(limits.check_subject("t", "a").is_ok());
        }
    }
}
