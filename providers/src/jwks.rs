//! The JWKS cache shared by all providers (one per server, held in an `Arc`).
//!
//! - Keys are parsed once into ready-to-use [`jsonwebtoken::DecodingKey`]s, each bound to the one
//!   algorithm it may be used with (from the JWK's `kty`/`crv`/`alg`; never HMAC, never `none`).
//! - A `kid` not in memory triggers a refetch of the set, single-flight per URI (concurrent
//!   callers wait for the same fetch) and within a token bucket per URI: `refetch_burst`
//!   refetches at once, then one per `refetch_cooldown`. A key rotation right after a fetch is
//!   picked up on its first token, while a flood of random `kid`s causes only a handful of
//!   fetches.
//! - When a fetch fails the last-known-good keys stay in use until they are `max_stale` old
//!   (counted from their fetch); sets older than `refresh_interval` are refetched in the
//!   background on their next use, and [`JwksCache::spawn_refresh`] refreshes known URIs
//!   periodically and forgets the sets nobody asked for in two refresh intervals (at least an
//!   hour): a removed tenant's keys are not kept or refreshed forever.
//! - Remote documents are fetched over `https` only unless the caller allows `http` (dev and
//!   tests), from public addresses only unless it allows private networks ([`crate::network`]),
//!   with a timeout and a bounded size; redirects are not followed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use url::Url;

use crate::fetch::Budget;
use crate::jose::algorithm_name;
use crate::network::{FetchPolicy, IdpHttp};
use crate::{SigningKeyRef, VerifyError};

/// Tuning of the [`JwksCache`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksCacheConfig {
    /// How long one refetch of a URI (for an unknown `kid`, or after a failure) takes to come
    /// back to its budget.
    pub refetch_cooldown: Duration,
    /// How many refetches of one URI may happen at once (the budget's size, at least 1).
    pub refetch_burst: u32,
    /// A key set older than this is refetched on its next use and by the background refresh.
    pub refresh_interval: Duration,
    /// How long last-known-good keys stay usable (from their fetch) while the IdP is unreachable.
    pub max_stale: Duration,
    /// Timeout of one document request (connect to end of body).
    pub request_timeout: Duration,
    /// Largest document accepted.
    pub max_document_bytes: usize,
}

impl Default for JwksCacheConfig {
    fn default() -> Self {
        Self {
            refetch_cooldown: Duration::from_secs(30),
            refetch_burst: 2,
            refresh_interval: Duration::from_secs(60 * 60),
            max_stale: Duration::from_secs(24 * 60 * 60),
            request_timeout: Duration::from_secs(10),
            max_document_bytes: 512 * 1024,
        }
    }
}

// Re-exported so callers that knew them here keep working.
pub use crate::fetch::{check_scheme, fetch_document};
pub use crate::jose::{KeySet, VerificationKey};

/// The cache of key sets, one entry per JWKS URI. See the module documentation.
#[derive(Debug, Clone)]
pub struct JwksCache {
    inner: Arc<Inner>,
}

/// Fetches of IdP documents so far, by kind and outcome (for metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchStats {
    pub key_sets_fetched: u64,
    pub key_set_failures: u64,
    pub discovery_fetched: u64,
    pub discovery_failures: u64,
}

#[derive(Debug, Default)]
struct FetchCounters {
    key_sets_fetched: AtomicU64,
    key_set_failures: AtomicU64,
    discovery_fetched: AtomicU64,
    discovery_failures: AtomicU64,
}

#[derive(Debug)]
struct Inner {
    http: IdpHttp,
    config: JwksCacheConfig,
    fetched: FetchCounters,
    entries: Mutex<HashMap<Url, Arc<Entry>>>,
    /// What `Entry::last_used_secs` counts from.
    started: Instant,
}

#[derive(Debug, Default)]
struct Entry {
    /// The fetch policy of the latest caller (used by background refreshes).
    policy: Mutex<FetchPolicy>,
    /// The last-known-good set.
    keys: RwLock<Option<Arc<KeySet>>>,
    /// Why the latest fetch failed, if it did.
    last_error: Mutex<Option<VerifyError>>,
    /// Single-flight: held during a fetch; holds the refetch budget.
    fetch: tokio::sync::Mutex<Budget>,
    /// Completed fetch attempts (a caller that waited for the lock sees it changed).
    attempts: AtomicU64,
    /// Requests sent.
    fetches: AtomicU64,
    /// A background refresh is under way.
    refreshing: AtomicBool,
    /// When a caller last asked for this set (its age in whole seconds since the cache began).
    last_used_secs: AtomicU64,
}

impl Entry {
    fn keys(&self) -> Option<Arc<KeySet>> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn last_error(&self) -> Option<VerifyError> {
        self.last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Inner {
    fn entry(&self, uri: &Url) -> Arc<Entry> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.entry(uri.clone()).or_default().clone()
    }

    fn existing_entry(&self, uri: &Url) -> Option<Arc<Entry>> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.get(uri).cloned()
    }

    /// Fetch the set of `uri` unless another caller completed an attempt since `seen_attempts`
    /// was read (single-flight: we use its result) or the URI's refetch budget is spent.
    async fn refetch(&self, uri: &Url, entry: &Entry, seen_attempts: u64) {
        let mut budget = entry.fetch.lock().await;
        if entry.attempts.load(Ordering::SeqCst) != seen_attempts {
            return;
        }
        if !budget.take(self.config.refetch_burst, self.config.refetch_cooldown) {
            tracing::debug!(jwks_uri = %uri, "JWKS refetch skipped: its budget is spent");
            return;
        }
        entry.fetches.fetch_add(1, Ordering::SeqCst);
        let policy = *entry.policy.lock().unwrap_or_else(PoisonError::into_inner);
        let result = fetch_document(
            &self.http,
            uri,
            policy,
            self.config.request_timeout,
            self.config.max_document_bytes,
        )
        .await
        .and_then(|body| KeySet::from_json(&body).map_err(VerifyError::Unavailable));
        let mut last_error = entry
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match result {
            Ok(set) => {
                self.fetched
                    .key_sets_fetched
                    .fetch_add(1, Ordering::Relaxed);
                tracing::debug!(jwks_uri = %uri, keys = set.keys().len(), "JWKS fetched");
                *entry.keys.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(set));
                *last_error = None;
            }
            Err(e) => {
                self.fetched
                    .key_set_failures
                    .fetch_add(1, Ordering::Relaxed);
                tracing::warn!(jwks_uri = %uri, error = %e, "JWKS fetch failed; keeping last-known-good keys");
                *last_error = Some(e);
            }
        }
        drop(last_error);
        entry.attempts.fetch_add(1, Ordering::SeqCst);
    }

    fn now_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// Forgets the sets nobody asked for within `unused_for` (a removed tenant's, a directory
    /// no longer signing in): they are neither kept nor refreshed any more.
    fn evict_unused(&self, unused_for: Duration) -> usize {
        let now = self.now_secs();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let before = entries.len();
        entries.retain(|_, e| {
            now.saturating_sub(e.last_used_secs.load(Ordering::Relaxed)) < unused_for.as_secs()
        });
        before - entries.len()
    }

    /// Refresh every known set older than `refresh_interval`.
    async fn refresh_due(&self) {
        let entries: Vec<(Url, Arc<Entry>)> = {
            let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
            entries
                .iter()
                .map(|(uri, entry)| (uri.clone(), entry.clone()))
                .collect()
        };
        for (uri, entry) in entries {
            let due = entry
                .keys()
                .is_none_or(|set| set.fetched_at().elapsed() >= self.config.refresh_interval);
            if due {
                let seen = entry.attempts.load(Ordering::SeqCst);
                self.refetch(&uri, &entry, seen).await;
            }
        }
    }
}

impl JwksCache {
    /// A cache fetching with `http` (its own timeouts apply too).
    pub fn new(http: IdpHttp, config: JwksCacheConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                http,
                config,
                fetched: FetchCounters::default(),
                entries: Mutex::new(HashMap::new()),
                started: Instant::now(),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &JwksCacheConfig {
        &self.inner.config
    }

    /// The IdP clients (providers use them for their discovery documents too).
    pub fn http(&self) -> &IdpHttp {
        &self.inner.http
    }

    /// The key for `kid` in the set at `jwks_uri` (without `kid`: the set's only key).
    ///
    /// Served from memory; an unknown `kid` refetches the set (single-flight, cool-down);
    /// `UnknownKey` when the (possibly refetched) set still lacks it, `Unavailable` when no set
    /// could be had or the last-known-good one is older than `max_stale`, `Config` when the URI's
    /// scheme is not allowed.
    pub async fn key_for(
        &self,
        jwks_uri: &Url,
        kid: Option<&str>,
        policy: FetchPolicy,
    ) -> Result<Arc<VerificationKey>, VerifyError> {
        let set = self
            .fresh_enough(jwks_uri, policy, |set| set.find(kid).is_some())
            .await?;
        set.find(kid).ok_or(VerifyError::UnknownKey)
    }

    /// The current set at `jwks_uri`, fetched first when none is cached (e.g. for a provider
    /// that selects keys by something other than `kid`).
    pub async fn key_set(
        &self,
        jwks_uri: &Url,
        policy: FetchPolicy,
    ) -> Result<Arc<KeySet>, VerifyError> {
        self.fresh_enough(jwks_uri, policy, |_| true).await
    }

    /// A set usable now: the cached one when `satisfies` it and it is within `max_stale`;
    /// otherwise the result of a (single-flight, cool-down bounded) refetch.
    async fn fresh_enough(
        &self,
        jwks_uri: &Url,
        policy: FetchPolicy,
        satisfies: impl Fn(&KeySet) -> bool,
    ) -> Result<Arc<KeySet>, VerifyError> {
        check_scheme(jwks_uri, policy.allow_http)?;
        let inner = &self.inner;
        let entry = inner.entry(jwks_uri);
        *entry.policy.lock().unwrap_or_else(PoisonError::into_inner) = policy;
        entry
            .last_used_secs
            .store(inner.now_secs(), Ordering::Relaxed);
        let seen_attempts = entry.attempts.load(Ordering::SeqCst);

        if let Some(set) = entry.keys() {
            let age = set.fetched_at().elapsed();
            if age <= inner.config.max_stale && satisfies(&set) {
                if age >= inner.config.refresh_interval {
                    self.refresh_in_background(jwks_uri, &entry, seen_attempts);
                }
                return Ok(set);
            }
        }

        inner.refetch(jwks_uri, &entry, seen_attempts).await;

        match entry.keys() {
            None => Err(match entry.last_error() {
                Some(e @ VerifyError::PrivateNetwork(_)) => e,
                Some(e) => VerifyError::Unavailable(e.to_string()),
                None => VerifyError::Unavailable(format!("no keys for {jwks_uri} yet")),
            }),
            Some(set) if set.fetched_at().elapsed() > inner.config.max_stale => {
                Err(VerifyError::Unavailable(format!(
                    "keys of {jwks_uri} are older than max_stale and cannot be refreshed: {}",
                    entry
                        .last_error()
                        .map(|e| e.to_string())
                        .unwrap_or_default()
                )))
            }
            Some(set) => Ok(set),
        }
    }

    fn refresh_in_background(&self, jwks_uri: &Url, entry: &Arc<Entry>, seen_attempts: u64) {
        if entry.refreshing.swap(true, Ordering::SeqCst) {
            return;
        }
        let inner = self.inner.clone();
        let entry = entry.clone();
        let uri = jwks_uri.clone();
        tokio::spawn(async move {
            inner.refetch(&uri, &entry, seen_attempts).await;
            entry.refreshing.store(false, Ordering::SeqCst);
        });
    }

    /// Refresh every known set that is due (older than `refresh_interval`) every
    /// `min(refresh_interval / 2, 5 min)` (at least 1 s). The task ends by itself once every
    /// other handle to the cache is dropped; abort the handle to stop it earlier.
    pub fn spawn_refresh(self: Arc<Self>) -> JoinHandle<()> {
        let period = (self.inner.config.refresh_interval / 2)
            .clamp(Duration::from_secs(1), Duration::from_secs(5 * 60));
        let inner: Weak<Inner> = Arc::downgrade(&self.inner);
        drop(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(period);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                let Some(inner) = inner.upgrade() else { break };
                let unused_for = inner
                    .config
                    .refresh_interval
                    .saturating_mul(2)
                    .max(Duration::from_secs(3600));
                let evicted = inner.evict_unused(unused_for);
                if evicted > 0 {
                    tracing::debug!(
                        evicted,
                        "key sets unused for two refresh intervals forgotten"
                    );
                }
                inner.refresh_due().await;
            }
        })
    }

    /// Whether `key` is still in the cached set of its JWKS, and that set is still usable (not
    /// older than `max_stale`). Memory only, O(1): no fetch, no wait. A verdict on a token
    /// that `key` verified is only as good as this answer (see the verified-token cache).
    pub fn holds_key(&self, key: &SigningKeyRef) -> bool {
        self.inner
            .existing_entry(&key.jwks_uri)
            .and_then(|entry| entry.keys())
            .is_some_and(|set| {
                set.fetched_at().elapsed() <= self.inner.config.max_stale
                    && set.contains(&key.fingerprint)
            })
    }

    /// Forgets the key sets nobody asked for within `unused_for` (the background refresh does
    /// it with twice `refresh_interval`, at least an hour); how many went.
    pub fn evict_unused(&self, unused_for: Duration) -> usize {
        self.inner.evict_unused(unused_for)
    }

    /// The fetches of key sets and discovery documents so far, and how many failed.
    pub fn fetch_stats(&self) -> FetchStats {
        let c = &self.inner.fetched;
        FetchStats {
            key_sets_fetched: c.key_sets_fetched.load(Ordering::Relaxed),
            key_set_failures: c.key_set_failures.load(Ordering::Relaxed),
            discovery_fetched: c.discovery_fetched.load(Ordering::Relaxed),
            discovery_failures: c.discovery_failures.load(Ordering::Relaxed),
        }
    }

    /// Counts one fetch of a discovery document ([`crate::discovery`]).
    pub(crate) fn count_discovery_fetch(&self, ok: bool) {
        let c = &self.inner.fetched;
        if ok {
            c.discovery_fetched.fetch_add(1, Ordering::Relaxed);
        } else {
            c.discovery_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// How many requests were sent to `jwks_uri` (for tests and metrics).
    pub fn fetch_count(&self, jwks_uri: &Url) -> u64 {
        self.inner
            .existing_entry(jwks_uri)
            .map_or(0, |entry| entry.fetches.load(Ordering::SeqCst))
    }

    /// The algorithms of the cached keys of `jwks_uri` by `kid` (for diagnostics).
    pub fn cached_keys(&self, jwks_uri: &Url) -> Vec<(Option<String>, &'static str)> {
        self.inner
            .existing_entry(jwks_uri)
            .and_then(|entry| entry.keys())
            .map(|set| {
                set.keys()
                    .iter()
                    .map(|k| (k.kid.clone(), algorithm_name(k.algorithm)))
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let config = JwksCacheConfig::default();
        assert_eq!(config.refetch_cooldown, Duration::from_secs(30));
        assert_eq!(config.refetch_burst, 2);
        assert_eq!(config.refresh_interval, Duration::from_secs(3600));
        assert_eq!(config.max_stale, Duration::from_secs(86400));
        assert_eq!(config.request_timeout, Duration::from_secs(10));
        assert_eq!(config.max_document_bytes, 512 * 1024);
    }
}
