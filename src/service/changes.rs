//! Replicas agree: each reads the database's change log (from the last id it saw) and drops
//! from memory what another replica changed — the mapping of a subject and its issued tokens,
//! or a tenant (the registry is reloaded at once). PostgreSQL wakes readers with `NOTIFY`;
//! elsewhere, and as a safety net, they poll every `cluster.poll_interval_ms`.
//!
//! - **Freshness**: a replica serves mappings from memory only while its last read of the log
//!   started less than `cluster.max_lag_ms` ago ([`Freshness`]). One that cannot read the log
//!   (database down, connection lost) reads mappings from the database instead, and trusts its
//!   memory again once it has caught up.
//! - **Out-of-order commits**: ids are handed out when a row is written, so on PostgreSQL and
//!   MySQL/MariaDB id 11 can commit after id 12. An id skipped over is remembered as a gap and
//!   looked for again on each read for [`GAP_WAIT`] (a rolled-back write never fills it).
//! - **Trimming**: rows older than `cluster.log_retention_secs` go (any replica trims). One that
//!   could not read the log for longer than that may have missed trimmed changes, and drops
//!   all of its mappings and tokens when it reads again.
//! - A replica skips its own changes: it already applied them when it made them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::Notify;

use super::TokenService;
use crate::config::ClusterSettings;
use crate::registry::TenantDirectory;
use crate::store::changes::{Change, ChangeKind};
use crate::store::{Store, StoreError};

/// How long an id skipped over is looked for again before it counts as rolled back.
pub const GAP_WAIT: Duration = Duration::from_secs(10);
/// Changes read per query.
const BATCH: u64 = 1000;
/// More open gaps than this: stop tracking them and drop all of memory instead.
const MAX_GAPS: usize = 10_000;
/// How often a replica trims the log.
const TRIM_EVERY: Duration = Duration::from_secs(60);

/// Whether this replica's memory is current with the change log. Clones share it.
#[derive(Clone, Debug)]
pub struct Freshness {
    base: Instant,
    /// Milliseconds after `base` until which memory may be trusted.
    live_until_ms: Arc<AtomicU64>,
}

impl Default for Freshness {
    fn default() -> Self {
        Self {
            base: Instant::now(),
            live_until_ms: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl Freshness {
    /// True while the last read of the log started less than `max_lag` ago.
    pub fn is_live(&self) -> bool {
        self.millis(Instant::now()) < self.live_until_ms.load(Ordering::Acquire)
    }

    fn millis(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_millis()).unwrap_or(u64::MAX)
    }

    /// A read of the log that started at `started` has been applied.
    fn caught_up(&self, started: Instant, max_lag: Duration) {
        let until = self.millis(started + max_lag);
        self.live_until_ms.fetch_max(until, Ordering::AcqRel);
    }
}

#[derive(Debug, Default)]
struct Cursor {
    /// The highest id read.
    last_id: i64,
    /// Ids below `last_id` not seen yet, and when they were first missed.
    gaps: BTreeMap<i64, Instant>,
    /// When the log was last read successfully; `None` before the first read.
    last_read: Option<Instant>,
}

/// Reads the change log and applies other replicas' changes to this one's memory.
#[derive(Clone)]
pub struct ChangeFeed {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    tokens: TokenService,
    tenants: Arc<TenantDirectory>,
    settings: ClusterSettings,
    freshness: Freshness,
    wake: Arc<Notify>,
    paused: AtomicBool,
    cursor: tokio::sync::Mutex<Cursor>,
    applied: AtomicU64,
}

impl ChangeFeed {
    pub fn new(
        store: Store,
        tokens: TokenService,
        tenants: Arc<TenantDirectory>,
        settings: &ClusterSettings,
    ) -> Self {
        let freshness = tokens.freshness().clone();
        Self {
            inner: Arc::new(Inner {
                store,
                tokens,
                tenants,
                settings: settings.clone(),
                freshness,
                wake: Arc::new(Notify::new()),
                paused: AtomicBool::new(false),
                cursor: tokio::sync::Mutex::new(Cursor::default()),
                applied: AtomicU64::new(0),
            }),
        }
    }

    /// How many changes of other replicas this one has applied (for tests and operators).
    pub fn applied(&self) -> u64 {
        self.inner.applied.load(Ordering::Acquire)
    }

    /// Whether this replica's memory is current (see [`Freshness`]).
    pub fn is_live(&self) -> bool {
        self.inner.freshness.is_live()
    }

    /// Stops (`true`) or resumes reading the log, as a lost database connection would: for
    /// tests of catching up.
    pub fn set_paused(&self, paused: bool) {
        self.inner.paused.store(paused, Ordering::Release);
        if !paused {
            self.inner.wake.notify_one();
        }
    }

    /// Reads the log every poll interval (or when PostgreSQL announces a change) and trims it
    /// now and then, until aborted.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let store = self.inner.store.clone();
            let wake = Arc::clone(&self.inner.wake);
            let listener = tokio::spawn(async move { store.listen_for_changes(wake).await });
            let _listener = AbortOnDrop(listener);
            let interval = Duration::from_millis(self.inner.settings.poll_interval_ms);
            let mut last_trim = Instant::now();
            let mut failing = false;
            loop {
                if !self.inner.paused.load(Ordering::Acquire) {
                    match self.read_once().await {
                        Ok(()) if failing => {
                            tracing::info!("reading the change log again");
                            failing = false;
                        }
                        Ok(()) => {}
                        Err(e) if !failing => {
                            tracing::warn!(error = %e, "cannot read the change log; mappings are read from the database until it can");
                            failing = true;
                        }
                        Err(_) => {}
                    }
                    if last_trim.elapsed() >= TRIM_EVERY {
                        last_trim = Instant::now();
                        self.trim().await;
                    }
                }
                let _ = tokio::time::timeout(interval, self.inner.wake.notified()).await;
            }
        })
    }

    /// One read of the log: every change since the last id (and the gaps), applied; then
    /// memory counts as current as of when the read began.
    pub async fn read_once(&self) -> Result<(), StoreError> {
        let started = Instant::now();
        let inner = &self.inner;
        let mut cursor = inner.cursor.lock().await;
        let Some(last_read) = cursor.last_read else {
            // The first read: memory is empty, so only where to start matters.
            cursor.last_id = inner.store.last_change_id().await?;
            cursor.last_read = Some(started);
            inner.freshness.caught_up(started, self.max_lag());
            return Ok(());
        };
        let gap_ids: Vec<i64> = cursor.gaps.keys().copied().collect();
        let mut found = inner.store.changes_with_ids(&gap_ids).await?;
        let mut overflow = false;
        loop {
            let batch = inner.store.changes_after(cursor.last_id, BATCH).await?;
            let full = batch.len() as u64 == BATCH;
            for change in &batch {
                let skipped = change.id.saturating_sub(cursor.last_id).saturating_sub(1);
                if usize::try_from(skipped).map_or(true, |n| n > MAX_GAPS) {
                    // Far more than concurrent writers could leave open: a trimmed log.
                    overflow = true;
                } else {
                    for missing in cursor.last_id.saturating_add(1)..change.id {
                        cursor.gaps.insert(missing, started);
                    }
                }
                cursor.last_id = cursor.last_id.max(change.id);
            }
            found.extend(batch);
            if !full {
                break;
            }
        }
        for change in &found {
            cursor.gaps.remove(&change.id);
        }
        cursor.gaps.retain(|_, since| since.elapsed() < GAP_WAIT);
        let retention = Duration::from_secs(inner.settings.log_retention_secs);
        let flush = overflow
            || cursor.gaps.len() > MAX_GAPS
            || started.duration_since(last_read) >= retention;
        if flush {
            tracing::warn!(
                "the change log may have lost what this replica missed; dropping every mapping and token held in memory"
            );
            cursor.gaps.clear();
            inner.tokens.forget_everything();
        }
        self.apply(&found).await;
        cursor.last_read = Some(started);
        inner.freshness.caught_up(started, self.max_lag());
        Ok(())
    }

    fn max_lag(&self) -> Duration {
        Duration::from_millis(self.inner.settings.max_lag_ms)
    }

    async fn apply(&self, changes: &[Change]) {
        let inner = &self.inner;
        let own = inner.store.origin();
        let mut tenants_changed = false;
        for change in changes.iter().filter(|c| c.origin != own) {
            match change.kind {
                // A new mapping replaces none (a replaced one was logged as deleted first), so
                // only a cached mapping of another identity for the key, were there one, goes.
                ChangeKind::MappingCreated => {
                    if let (Some(key), Some(id)) = (&change.key, &change.acs_user_id) {
                        inner.tokens.forget_other_mapping(key, id).await;
                    }
                }
                ChangeKind::MappingDeleted => {
                    if let Some(key) = &change.key {
                        inner
                            .tokens
                            .forget(key, change.acs_user_id.as_deref().unwrap_or_default())
                            .await;
                    }
                }
                ChangeKind::TenantChanged => tenants_changed = true,
                ChangeKind::TenantRemoved => {
                    tenants_changed = true;
                    inner
                        .tokens
                        .forget_tenant(&change.tenant_id, std::iter::empty())
                        .await;
                }
            }
            inner.applied.fetch_add(1, Ordering::AcqRel);
        }
        if tenants_changed && let Err(e) = inner.tenants.reload().await {
            tracing::warn!(error = %e, "tenant registry reload after a change failed; the periodic reload retries");
        }
    }

    async fn trim(&self) {
        let retention = chrono::Duration::seconds(
            i64::try_from(self.inner.settings.log_retention_secs).unwrap_or(i64::MAX / 1000),
        );
        if let Err(e) = self.inner.store.trim_changes(Utc::now() - retention).await {
            tracing::debug!(error = %e, "trimming the change log failed; the next trim retries");
        }
    }
}

/// Aborts the task when dropped (the feed's task owns its listener).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_lasts_max_lag_from_when_the_read_began() {
        let f = Freshness::default();
        assert!(!f.is_live(), "not live before the first read");
        f.caught_up(Instant::now(), Duration::from_secs(60));
        assert!(f.is_live());
        // An older read never shortens what a newer one granted.
        f.caught_up(f.base, Duration::from_millis(1));
        assert!(f.is_live());
        let stale = Freshness::default();
        stale.caught_up(stale.base, Duration::ZERO);
        assert!(!stale.is_live());
    }
}
