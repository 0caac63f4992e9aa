//! Issued ACS tokens, kept per (identity, scopes, lifetime) and handed out again while enough of
//! their lifetime is left. Concurrent misses for one key make one upstream call. Whether a
//! token is still inside its reuse window is decided by the service's [`Clock`] on every hit
//! (moka frees the entry at the same moment on the system clock).
//!
//! ACS allows about 1000 token issues per 30 s per resource; without this cache a busy tenant
//! would hit that ceiling at ~33 getToken calls a second.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use chrono::Utc;
use moka::Expiry;
use moka::future::Cache;
use moka::ops::compute::Op;

use super::ServiceError;
use super::clock::Clock;
use crate::acs::AccessToken;
use crate::config::CacheSettings;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenKey {
    pub acs_user_id: String,
    /// Sorted and deduplicated.
    pub scopes: Vec<String>,
    pub minutes: u32,
}

impl TokenKey {
    pub fn new(acs_user_id: &str, scopes: &[String], minutes: u32) -> Self {
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        Self {
            acs_user_id: acs_user_id.to_owned(),
            scopes,
            minutes,
        }
    }
}

/// A token, and until when (on the service's [`Clock`]) it may be handed out again.
#[derive(Debug, Clone)]
struct Cached {
    token: AccessToken,
    reuse_until: SystemTime,
}

/// The reuse window: a token is handed out again while more than `min_remaining_percent` of
/// its requested lifetime is left.
#[derive(Clone)]
struct ReuseWindow {
    min_remaining_percent: u8,
    clock: Clock,
}

impl ReuseWindow {
    /// The entry for a token issued just now: its expiry, read on the system clock (ACS
    /// says when it ends), is carried over to the service's clock, less the share kept.
    fn entry(&self, key: &TokenKey, token: AccessToken) -> Cached {
        let remaining = (token.expires_on.with_timezone(&Utc) - Utc::now())
            .to_std()
            .unwrap_or_default();
        let keep = Duration::from_secs(
            u64::from(key.minutes) * 60 * u64::from(self.min_remaining_percent) / 100,
        );
        Cached {
            reuse_until: self.clock.now() + remaining.saturating_sub(keep),
            token,
        }
    }

    fn time_left(&self, entry: &Cached) -> Duration {
        entry
            .reuse_until
            .duration_since(self.clock.now())
            .unwrap_or_default()
    }
}

impl Expiry<TokenKey, Cached> for ReuseWindow {
    fn expire_after_create(
        &self,
        _key: &TokenKey,
        value: &Cached,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(self.time_left(value))
    }

    fn expire_after_update(
        &self,
        _key: &TokenKey,
        value: &Cached,
        _updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        Some(self.time_left(value))
    }
}

#[derive(Clone)]
pub struct TokenCache {
    inner: Option<(Cache<TokenKey, Cached>, ReuseWindow)>,
}

impl TokenCache {
    /// The cache of `settings` (none when `reuse_tokens` is off), deciding reuse by `clock`.
    pub fn new(settings: &CacheSettings, clock: Clock) -> Self {
        let inner = settings.reuse_tokens.then(|| {
            let window = ReuseWindow {
                min_remaining_percent: settings.min_remaining_percent,
                clock,
            };
            let cache = Cache::builder()
                .max_capacity(settings.max_entries)
                .expire_after(window.clone())
                .support_invalidation_closures()
                .build();
            (cache, window)
        });
        Self { inner }
    }

    /// The cached token for `key` while it is inside its reuse window (the returning user's
    /// path: check it before building the `issue` future of [`TokenCache::get_or_issue`]).
    pub async fn get_fresh(&self, key: &TokenKey) -> Option<AccessToken> {
        let (cache, window) = self.inner.as_ref()?;
        let cached = cache.get(key).await?;
        (!window.time_left(&cached).is_zero()).then_some(cached.token)
    }

    /// The cached token for `key` while it is inside its reuse window, or the result of
    /// `issue` (shared with concurrent callers).
    pub async fn get_or_issue<F>(
        &self,
        key: TokenKey,
        issue: F,
    ) -> Result<AccessToken, ServiceError>
    where
        F: Future<Output = Result<AccessToken, ServiceError>>,
    {
        let Some((cache, window)) = &self.inner else {
            return issue.await;
        };
        if let Some(cached) = cache.get(&key).await {
            if !window.time_left(&cached).is_zero() {
                return Ok(cached.token);
            }
            // Out of its window (by the service's clock): drop it unless a concurrent caller
            // already put a fresh one in its place.
            cache
                .entry(key.clone())
                .and_compute_with(|current| {
                    let stale = current.is_some_and(|e| window.time_left(e.value()).is_zero());
                    std::future::ready(if stale { Op::Remove } else { Op::Nop })
                })
                .await;
        }
        let fresh = key.clone();
        cache
            .try_get_with(key, async {
                issue.await.map(|token| window.entry(&fresh, token))
            })
            .await
            .map(|cached| cached.token)
            .map_err(|e: Arc<ServiceError>| ServiceError::from(e))
    }

    pub async fn insert(&self, key: TokenKey, token: AccessToken) {
        if let Some((cache, window)) = &self.inner {
            let entry = window.entry(&key, token);
            cache.insert(key, entry).await;
        }
    }

    /// Drops every token.
    pub fn forget_all(&self) {
        if let Some((cache, _)) = &self.inner {
            cache.invalidate_all();
        }
    }

    /// Drops every token of an identity (deleteUser, stale mapping).
    pub fn forget_identity(&self, acs_user_id: &str) {
        if let Some((cache, _)) = &self.inner {
            let id = acs_user_id.to_owned();
            if let Err(e) = cache.invalidate_entries_if(move |k, _| k.acs_user_id == id) {
                tracing::error!(error = %e, "token cache invalidation failed; clearing it");
                cache.invalidate_all();
            }
        }
    }
}
