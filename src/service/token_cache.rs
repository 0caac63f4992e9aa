//! Issued ACS tokens, kept per (identity, scopes, lifetime) and handed out again while enough of
//! their lifetime is left. Concurrent misses for one key make one upstream call.
//!
//! ACS allows about 1000 token issues per 30 s per resource; without this cache a busy tenant
//! would hit that ceiling at ~33 getToken calls a second.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use moka::Expiry;
use moka::future::Cache;

use super::ServiceError;
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

/// Each entry lives until only `min_remaining_percent` of its requested lifetime is left.
struct ReuseWindow {
    min_remaining_percent: u8,
}

impl ReuseWindow {
    fn ttl(&self, key: &TokenKey, token: &AccessToken) -> Duration {
        let remaining = (token.expires_on.with_timezone(&Utc) - Utc::now())
            .to_std()
            .unwrap_or_default();
        let keep = Duration::from_secs(
            u64::from(key.minutes) * 60 * u64::from(self.min_remaining_percent) / 100,
        );
        remaining.saturating_sub(keep)
    }
}

impl Expiry<TokenKey, AccessToken> for ReuseWindow {
    fn expire_after_create(
        &self,
        key: &TokenKey,
        value: &AccessToken,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(self.ttl(key, value))
    }
}

#[derive(Clone)]
pub struct TokenCache {
    inner: Option<Cache<TokenKey, AccessToken>>,
}

impl TokenCache {
    pub fn new(settings: &CacheSettings) -> Self {
        let inner = settings.reuse_tokens.then(|| {
            Cache::builder()
                .max_capacity(settings.max_entries)
                .expire_after(ReuseWindow {
                    min_remaining_percent: settings.min_remaining_percent,
                })
                .support_invalidation_closures()
                .build()
        });
        Self { inner }
    }

    /// The cached token for `key`, or the result of `issue` (shared with concurrent callers).
    pub async fn get_or_issue<F>(
        &self,
        key: TokenKey,
        issue: F,
    ) -> Result<AccessToken, ServiceError>
    where
        F: Future<Output = Result<AccessToken, ServiceError>>,
    {
        match &self.inner {
            None => issue.await,
            Some(cache) => cache
                .try_get_with(key, issue)
                .await
                .map_err(|e: Arc<ServiceError>| ServiceError::from(e)),
        }
    }

    pub async fn insert(&self, key: TokenKey, token: AccessToken) {
        if let Some(cache) = &self.inner {
            cache.insert(key, token).await;
        }
    }

    /// Drops every token of an identity (deleteUser, stale mapping).
    pub fn forget_identity(&self, acs_user_id: &str) {
        if let Some(cache) = &self.inner {
            let id = acs_user_id.to_owned();
            if let Err(e) = cache.invalidate_entries_if(move |k, _| k.acs_user_id == id) {
                tracing::error!(error = %e, "token cache invalidation failed; clearing it");
                cache.invalidate_all();
            }
        }
    }
}
