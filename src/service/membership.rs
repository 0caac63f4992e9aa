//! Cluster-wide limits: each replica records a heartbeat in the database every
//! `cluster.heartbeat_interval_ms`, counts the replicas seen within `cluster.replica_timeout_ms`
//! (itself included) and enforces a `1 / N` share of every tenant and user rate limit
//! ([`RateLimits::set_share`]) and of every ACS resource's pacing
//! ([`AcsResources::set_pacing_share`]). A load balancer without affinity spreads calls evenly,
//! so N shares add up to the configured limit; a replica that comes or goes is counted (or no
//! longer) within a heartbeat plus the timeout.
//!
//! A replica that cannot reach the database keeps the largest share count it saw in the last
//! ten minutes: the limits never grow while it cannot know how many others there are.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::RateLimits;
use crate::config::ClusterSettings;
use crate::registry::AcsResources;
use crate::store::{Store, StoreError};

/// How long a replica count is remembered as the fallback's floor.
const PEAK_MEMORY: Duration = Duration::from_secs(600);

/// This replica's place in the cluster. Clones share it.
#[derive(Clone)]
pub struct Membership {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    limits: RateLimits,
    resources: Arc<AcsResources>,
    settings: ClusterSettings,
    /// The largest count seen recently, and when.
    peak: Mutex<(u32, Instant)>,
    /// Heartbeats that could not be recorded.
    failed: std::sync::atomic::AtomicU64,
}

impl Membership {
    pub fn new(
        store: Store,
        limits: RateLimits,
        resources: Arc<AcsResources>,
        settings: &ClusterSettings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                limits,
                resources,
                settings: settings.clone(),
                peak: Mutex::new((1, Instant::now())),
                failed: std::sync::atomic::AtomicU64::new(0),
            }),
        }
    }

    /// How many replicas the limits are split between now.
    pub fn replicas(&self) -> u32 {
        self.inner.limits.share()
    }

    /// How many heartbeats could not be recorded (the database unreachable).
    pub fn failed_heartbeats(&self) -> u64 {
        self.inner.failed.load(std::sync::atomic::Ordering::Acquire)
    }

    /// One heartbeat: records this replica, counts the live ones, applies the share.
    pub async fn beat_once(&self) -> Result<u32, StoreError> {
        let inner = &self.inner;
        let now = Utc::now();
        inner.store.heartbeat(now).await?;
        let timeout = chrono::Duration::milliseconds(
            i64::try_from(inner.settings.replica_timeout_ms).unwrap_or(i64::MAX / 1000),
        );
        let live = inner.store.live_replicas(now - timeout).await?;
        let n = u32::try_from(live).unwrap_or(u32::MAX).max(1);
        {
            let mut peak = lock(&inner.peak);
            if n >= peak.0 || peak.1.elapsed() >= PEAK_MEMORY {
                *peak = (n, Instant::now());
            }
        }
        self.apply(n);
        Ok(n)
    }

    fn apply(&self, n: u32) {
        let inner = &self.inner;
        if inner.limits.share() != n {
            tracing::info!(
                replicas = n,
                "cluster size changed; limits and ACS pacing rebalanced"
            );
        }
        inner.limits.set_share(n);
        inner.resources.set_pacing_share(n);
    }

    /// Heartbeats until aborted; removes heartbeats of replicas long gone now and then.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let interval = Duration::from_millis(self.inner.settings.heartbeat_interval_ms);
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            let mut beats: u64 = 0;
            loop {
                ticker.tick().await;
                match self.beat_once().await {
                    Ok(_) => failing = false,
                    Err(e) => {
                        let fallback = lock(&self.inner.peak).0;
                        if !failing {
                            tracing::warn!(error = %e, replicas = fallback, "cannot record a heartbeat; keeping the largest recent cluster size for the limits");
                            failing = true;
                        }
                        self.apply(fallback);
                        self.inner
                            .failed
                            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
                    }
                }
                beats += 1;
                if beats.is_multiple_of(60) {
                    let _ = self.inner.store.forget_replicas(self.long_gone()).await;
                }
            }
        })
    }

    /// Leaves the cluster (a clean shutdown): the others count one replica fewer at their next
    /// heartbeat instead of after the timeout.
    pub async fn leave(&self) {
        if let Err(e) = self.inner.store.leave_cluster(self.long_gone()).await {
            tracing::warn!(error = %e, "cannot remove this replica's heartbeat; the others stop counting it after the timeout");
        }
    }

    fn long_gone(&self) -> chrono::DateTime<Utc> {
        let ms = self.inner.settings.replica_timeout_ms.saturating_mul(10);
        Utc::now() - chrono::Duration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX / 1000))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
