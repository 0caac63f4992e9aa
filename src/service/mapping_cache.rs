//! Mappings (subject → ACS identity) kept in memory, read from the store again once they are
//! `cache.mapping_ttl_secs` old (by the service's [`Clock`]) — in the background: the call that
//! finds a mapping past its TTL is still answered from memory, and one refresh per mapping reads
//! the store and replaces it, or drops it when the mapping is gone or changed. A returning
//! user's request thus never waits for the store; a mapping is used at most a refresh's duration
//! past its TTL, and never after twice the TTL (moka frees it then, refreshed or not).
//!
//! Without this, every mapping warmed in one burst expired at once and the next call of each
//! user waited for the database: with 100k users, p99 rose 5× (docs/performance.md).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use moka::future::Cache;
use moka::ops::compute::Op;

use super::ServiceError;
use super::clock::Clock;
use crate::store::{Mapping, Store, SubjectKey};

struct Entry {
    mapping: Arc<Mapping>,
    loaded_at: SystemTime,
    /// A refresh is under way (one per entry).
    refreshing: AtomicBool,
}

impl Entry {
    fn new(mapping: Arc<Mapping>, loaded_at: SystemTime) -> Arc<Self> {
        Arc::new(Self {
            mapping,
            loaded_at,
            refreshing: AtomicBool::new(false),
        })
    }
}

#[derive(Clone)]
pub struct MappingCache {
    cache: Cache<SubjectKey, Arc<Entry>>,
    ttl: Duration,
    clock: Clock,
    store: Store,
    /// Refreshes that read the store (for tests and operators).
    refreshed: Arc<AtomicU64>,
}

impl MappingCache {
    pub fn new(store: Store, max_entries: u64, ttl: Duration, clock: Clock) -> Self {
        let cache = Cache::builder()
            .max_capacity(max_entries)
            .time_to_live(ttl.saturating_mul(2).max(Duration::from_secs(1)))
            .support_invalidation_closures()
            .build();
        Self {
            cache,
            ttl,
            clock,
            store,
            refreshed: Arc::default(),
        }
    }

    /// How many background refreshes have read the store and settled their entry.
    pub fn refreshes(&self) -> u64 {
        self.refreshed.load(Ordering::Acquire)
    }

    /// The cached mapping of `key`; one past its TTL is returned too, and read again from the
    /// store in the background.
    pub async fn get(&self, key: &SubjectKey) -> Option<Arc<Mapping>> {
        let entry = self.cache.get(key).await?;
        let age = self
            .clock
            .now()
            .duration_since(entry.loaded_at)
            .unwrap_or_default();
        if age >= self.ttl && !entry.refreshing.swap(true, Ordering::AcqRel) {
            let this = self.clone();
            let key = key.clone();
            let stale = Arc::clone(&entry);
            tokio::spawn(async move { this.refresh(key, stale).await });
        }
        Some(Arc::clone(&entry.mapping))
    }

    /// Reads `key` from the store and replaces `stale` with what it found — unless the entry
    /// was replaced or dropped meanwhile (deleteUser on this replica): then nothing changes.
    async fn refresh(&self, key: SubjectKey, stale: Arc<Entry>) {
        let found = match self.store.find_mapping(&key).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "could not read a mapping again; keeping it for now");
                stale.refreshing.store(false, Ordering::Release);
                return;
            }
        };
        let now = self.clock.now();
        self.cache
            .entry(key)
            .and_compute_with(|current| {
                let op = match current {
                    Some(current) if Arc::ptr_eq(current.value(), &stale) => match found {
                        Some(m) if m.acs_user_id == stale.mapping.acs_user_id => {
                            Op::Put(Entry::new(Arc::new(m), now))
                        }
                        // Deleted or replaced elsewhere: the next call loads it afresh.
                        _ => Op::Remove,
                    },
                    _ => Op::Nop,
                };
                std::future::ready(op)
            })
            .await;
        self.refreshed.fetch_add(1, Ordering::AcqRel);
    }

    /// The mapping of `key`, or the result of `init` (shared with concurrent callers), and
    /// whether this call's `init` made it.
    pub async fn get_or_try_insert_with<F>(
        &self,
        key: &SubjectKey,
        init: F,
    ) -> Result<(Arc<Mapping>, bool), ServiceError>
    where
        F: Future<Output = Result<Arc<Mapping>, ServiceError>>,
    {
        let clock = self.clock.clone();
        let entry = self
            .cache
            .entry(key.clone())
            .or_try_insert_with(async move {
                let mapping = init.await?;
                Ok::<_, ServiceError>(Entry::new(mapping, clock.now()))
            })
            .await
            .map_err(ServiceError::from)?;
        let fresh = entry.is_fresh();
        Ok((Arc::clone(&entry.into_value().mapping), fresh))
    }

    pub async fn invalidate(&self, key: &SubjectKey) {
        self.cache.invalidate(key).await;
    }

    /// Drops the mapping of `key` unless it names `acs_user_id`.
    pub async fn invalidate_unless(&self, key: &SubjectKey, acs_user_id: &str) {
        self.cache
            .entry(key.clone())
            .and_compute_with(|current| {
                let other = current.is_some_and(|e| e.value().mapping.acs_user_id != acs_user_id);
                std::future::ready(if other { Op::Remove } else { Op::Nop })
            })
            .await;
    }

    /// Drops every mapping.
    pub fn invalidate_all(&self) {
        self.cache.invalidate_all();
    }

    /// Drops every mapping of a tenant.
    pub fn invalidate_tenant(&self, tenant_id: &str) {
        let id = tenant_id.to_owned();
        if let Err(e) = self
            .cache
            .invalidate_entries_if(move |k, _| k.tenant_id == id)
        {
            tracing::error!(error = %e, "mapping cache invalidation failed; clearing it");
            self.cache.invalidate_all();
        }
    }
}
