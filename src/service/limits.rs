//! Per-tenant and per-subject rate limits (GCRA, `governor`). A refused call gets `429` with
//! `Retry-After`; nothing reaches the identity provider's keys or ACS.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::config::LimitSettings;

/// How long to wait before the limiter lets the caller through.
#[derive(Debug, Clone, Copy)]
pub struct RateLimited {
    pub retry_after: Duration,
}

#[derive(Clone)]
pub struct RateLimits {
    tenants: Option<Arc<DefaultKeyedRateLimiter<String>>>,
    subjects: Option<Arc<DefaultKeyedRateLimiter<(String, String)>>>,
}

fn quota(per: Duration, count: u32, burst: u32) -> Option<Quota> {
    let count = NonZeroU32::new(count)?;
    let burst = NonZeroU32::new(burst.max(1))?;
    Quota::with_period(per / count.get()).map(|q| q.allow_burst(burst))
}

impl RateLimits {
    pub fn new(settings: &LimitSettings) -> Self {
        Self {
            tenants: quota(
                Duration::from_secs(1),
                settings.tenant_requests_per_second,
                settings.tenant_burst,
            )
            .map(|q| Arc::new(DefaultKeyedRateLimiter::keyed(q))),
            subjects: quota(
                Duration::from_secs(60),
                settings.subject_requests_per_minute,
                settings.subject_burst,
            )
            .map(|q| Arc::new(DefaultKeyedRateLimiter::keyed(q))),
        }
    }

    /// No limits at all.
    pub fn unlimited() -> Self {
        Self {
            tenants: None,
            subjects: None,
        }
    }

    pub fn check_tenant(&self, tenant: &str) -> Result<(), RateLimited> {
        match &self.tenants {
            Some(l) => l.check_key(&tenant.to_owned()).map_err(|n| RateLimited {
                retry_after: n.wait_time_from(DefaultClock::default().now()),
            }),
            None => Ok(()),
        }
    }

    pub fn check_subject(&self, tenant: &str, subject: &str) -> Result<(), RateLimited> {
        match &self.subjects {
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
                if let Some(l) = &self.tenants {
                    l.retain_recent();
                    l.shrink_to_fit();
                }
                if let Some(l) = &self.subjects {
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
