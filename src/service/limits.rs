//! Per-tenant and per-subject rate limits (GCRA, `governor`). A refused call gets `429` with
//! `Retry-After`; nothing reaches the identity provider's keys or ACS.
//!
//! The limits are the cluster's: one of N replicas (`service::membership`) enforces a `1 / N`
//! share of each rate and burst, so N replicas behind a load balancer admit what one would.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use std::time::Instant;

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

/// A limit per client address that blocks the address once it is spent, until the limiter
/// would let it through again: checking costs no cell, only failures do.
struct AddressPenalty {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    blocked: Mutex<HashMap<IpAddr, Instant>>,
}

/// The most addresses kept blocked at once (an attacker spreading over many addresses cannot
/// grow memory without bound; past it the oldest go).
const MAX_BLOCKED: usize = 100_000;

impl AddressPenalty {
    fn new(quota: Quota) -> Self {
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(quota),
            blocked: Mutex::new(HashMap::new()),
        }
    }

    fn blocked(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Instant>> {
        self.blocked
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn check(&self, ip: IpAddr) -> Result<(), RateLimited> {
        let now = Instant::now();
        match self.blocked().get(&ip) {
            Some(until) if *until > now => Err(RateLimited {
                retry_after: *until - now,
            }),
            _ => Ok(()),
        }
    }

    fn charge(&self, ip: IpAddr) {
        if let Err(n) = self.limiter.check_key(&ip) {
            let wait = n.wait_time_from(DefaultClock::default().now());
            let mut blocked = self.blocked();
            if blocked.len() >= MAX_BLOCKED {
                let now = Instant::now();
                blocked.retain(|_, until| *until > now);
            }
            if blocked.len() < MAX_BLOCKED {
                blocked.insert(ip, Instant::now() + wait);
            }
        }
    }

    fn housekeeping(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        let now = Instant::now();
        let mut blocked = self.blocked();
        blocked.retain(|_, until| *until > now);
        blocked.shrink_to_fit();
    }
}

#[derive(Clone)]
pub struct RateLimits {
    settings: LimitSettings,
    current: Arc<ArcSwap<Limiters>>,
    share: Arc<AtomicU32>,
    /// Failed verifications per client address (per replica).
    failed_auth: Option<Arc<AddressPenalty>>,
    /// Admin API requests per client address (per replica).
    admin: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
}

impl RateLimits {
    pub fn new(settings: &LimitSettings) -> Self {
        Self {
            settings: settings.clone(),
            current: Arc::new(ArcSwap::from_pointee(Limiters::new(settings, 1))),
            share: Arc::new(AtomicU32::new(1)),
            failed_auth: quota(
                Duration::from_secs(60),
                settings.failed_auth_per_minute,
                settings.failed_auth_burst,
                1,
            )
            .map(|q| Arc::new(AddressPenalty::new(q))),
            admin: quota(
                Duration::from_secs(60),
                settings.admin_requests_per_minute,
                settings.admin_burst,
                1,
            )
            .map(|q| Arc::new(DefaultKeyedRateLimiter::keyed(q))),
        }
    }

    /// Refuses a client address that spent its budget of failed verifications, without
    /// charging it (called before a token that is not known to be good is verified).
    pub fn check_failed_auth(&self, client: IpAddr) -> Result<(), RateLimited> {
        self.failed_auth
            .as_ref()
            .map_or(Ok(()), |p| p.check(client))
    }

    /// One failed verification from `client`.
    pub fn charge_failed_auth(&self, client: IpAddr) {
        if let Some(p) = &self.failed_auth {
            p.charge(client);
        }
    }

    /// One admin API request from `client`.
    pub fn check_admin(&self, client: IpAddr) -> Result<(), RateLimited> {
        match &self.admin {
            Some(l) => l.check_key(&client).map_err(|n| RateLimited {
                retry_after: n.wait_time_from(DefaultClock::default().now()),
            }),
            None => Ok(()),
        }
    }

    /// No limits at all.
    pub fn unlimited() -> Self {
        Self::new(&LimitSettings {
            tenant_requests_per_second: 0,
            subject_requests_per_minute: 0,
            failed_auth_per_minute: 0,
            admin_requests_per_minute: 0,
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
                if let Some(p) = &self.failed_auth {
                    p.housekeeping();
                }
                if let Some(l) = &self.admin {
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
    fn an_address_is_blocked_once_its_failures_are_spent_and_checking_costs_nothing() {
        let limits = RateLimits::new(&LimitSettings {
            failed_auth_per_minute: 1,
            failed_auth_burst: 3,
            ..LimitSettings::default()
        });
        let attacker: IpAddr = [203, 0, 113, 7].into();
        let user: IpAddr = [198, 51, 100, 1].into();
        for _ in 0..100 {
            assert!(
                limits.check_failed_auth(user).is_ok(),
                "checks cost nothing"
            );
        }
        for _ in 0..3 {
            assert!(limits.check_failed_auth(attacker).is_ok());
            limits.charge_failed_auth(attacker);
        }
        limits.charge_failed_auth(attacker);
        let refused = limits.check_failed_auth(attacker).unwrap_err();
        assert!(refused.retry_after > Duration::ZERO);
        assert!(limits.check_failed_auth(user).is_ok(), "per address");
    }

    #[test]
    fn zero_means_unlimited() {
        let limits = RateLimits::unlimited();
        let ip: IpAddr = [192, 0, 2, 1].into();
        for _ in 0..1000 {
            limits.charge_failed_auth(ip);
            assert!(limits.check_failed_auth(ip).is_ok());
            assert!(limits.check_admin(ip).is_ok());
            assert!(limits.check_tenant("t").is_ok());
            assert!(limits.check_subject("t", "a").is_ok());
        }
    }
}
