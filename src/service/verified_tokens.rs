//! Verdicts on bearer tokens that verified, so the same token is not verified again while it
//! is valid. A client calls getToken with one IdP access token for as long as it lives (Entra
//! ID: 60–90 minutes); without this every call would check a signature already checked.
//!
//! - **Key**: the tenant, the version of its provider configuration
//!   ([`ProviderVersion`]) and the SHA-256 of the exact token bytes. A token is never matched
//!   by its claims, only by itself; a tenant whose provider changed never sees old verdicts.
//! - **Value**: the [`VerifiedIdentity`] and when it was verified (`exp` is in the identity).
//! - **Expiry**: at the token's `exp` or `max_age` after verification, whichever is first,
//!   decided by the injected [`Clock`] on every hit (moka's own per-entry expiry frees the
//!   memory at the same moment on the system clock).
//! - **Invalidation**: a hit is used only while the key that verified the token is still in
//!   the cached key set ([`JwksCache::holds_key`], memory only); a registry reload that
//!   rebuilt or removed a tenant drops its entries (all of them when it is disabled or gone,
//!   those of other provider versions otherwise).
//! - Only successes are kept: a failed verification is never cached, and is run again by
//!   the next request. Concurrent first calls with one token share one verification.
//! - Bounded: `max_entries` verdicts at most (least recently used go first).
//!
//! What a verdict does NOT cover stays per request, in the [`Gate`](super::Gate) and the
//! [`TokenService`](super::TokenService): the tenant's enabled flag, rate limits, and the
//! access policy (scopes, roles).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use acs_auth_providers::{JwksCache, VerifiedIdentity};
use moka::Expiry;
use moka::future::Cache;
use moka::ops::compute::Op;
use sha2::{Digest, Sha256};

use super::ServiceError;
use super::clock::{Clock, from_unix_secs};
use crate::config::CacheSettings;
use crate::domain::TenantId;
use crate::registry::{ProviderVersion, RegistryChange, Tenant};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    tenant: TenantId,
    provider: ProviderVersion,
    /// SHA-256 of the exact token bytes.
    token: [u8; 32],
}

impl Key {
    fn new(tenant: &Tenant, token: &str) -> Self {
        Self {
            tenant: tenant.id.clone(),
            provider: tenant.provider_version,
            token: Sha256::digest(token.as_bytes()).into(),
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    who: Arc<VerifiedIdentity>,
    verified_at: SystemTime,
}

impl Entry {
    /// How long the verdict may still be used at `now`: until `exp`, and until `max_age`
    /// after it was reached; zero once either has passed.
    fn time_left(&self, now: SystemTime, max_age: Duration) -> Duration {
        let until_exp = from_unix_secs(self.who.expires_at)
            .duration_since(now)
            .unwrap_or_default();
        // A clock that went back counts the verdict as just made, never as older.
        let age = now.duration_since(self.verified_at).unwrap_or_default();
        until_exp.min(max_age.saturating_sub(age))
    }
}

/// moka frees an entry when its verdict runs out (see [`Entry::time_left`]).
struct Lifetime {
    clock: Clock,
    max_age: Duration,
}

impl Expiry<Key, Entry> for Lifetime {
    fn expire_after_create(&self, _: &Key, entry: &Entry, _: Instant) -> Option<Duration> {
        Some(entry.time_left(self.clock.now(), self.max_age))
    }

    fn expire_after_update(
        &self,
        _: &Key,
        entry: &Entry,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.time_left(self.clock.now(), self.max_age))
    }
}

/// How often tokens were verified and verdicts reused (for tests and operators).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerificationStats {
    /// Verifications run by the tenants' providers (successful or not).
    pub verifications: u64,
    /// Requests served by a kept verdict, without verifying.
    pub cache_hits: u64,
}

#[derive(Debug, Default)]
struct Counters {
    verifications: AtomicU64,
    cache_hits: AtomicU64,
}

/// The verified-token cache (off when `cache.verified_tokens = false`). Clones share it.
#[derive(Clone)]
pub struct VerifiedTokens {
    inner: Option<Cache<Key, Entry>>,
    jwks: Arc<JwksCache>,
    clock: Clock,
    max_age: Duration,
    counters: Arc<Counters>,
}

impl VerifiedTokens {
    pub fn new(settings: &CacheSettings, jwks: Arc<JwksCache>, clock: Clock) -> Self {
        let max_age = Duration::from_secs(settings.verified_token_max_age_secs);
        let inner = (settings.verified_tokens && !max_age.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(settings.verified_token_max_entries)
                .expire_after(Lifetime {
                    clock: clock.clone(),
                    max_age,
                })
                .support_invalidation_closures()
                .build()
        });
        Self {
            inner,
            jwks,
            clock,
            max_age,
            counters: Arc::default(),
        }
    }

    /// The kept verdict on `token` for `tenant` while it is usable, else the result of
    /// `verify` (shared with concurrent callers of the same token), kept when it is `Ok`.
    pub async fn get_or_verify<F, Fut>(
        &self,
        tenant: &Tenant,
        token: &str,
        verify: F,
    ) -> Result<Arc<VerifiedIdentity>, ServiceError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<VerifiedIdentity, ServiceError>>,
    {
        let Some(cache) = &self.inner else {
            return Box::pin(self.counted(verify)).await.map(Arc::new);
        };
        let key = Key::new(tenant, token);
        if let Some(entry) = cache.get(&key).await
            && self.usable(&entry)
        {
            self.counters.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(entry.who);
        }
        // The verification's future is large (discovery, key fetches): boxed, so the future of
        // every call — a hit included — stays small.
        Box::pin(self.verify_and_keep(cache, key, verify)).await
    }

    /// `verify`, counted.
    async fn counted<F, Fut>(&self, verify: F) -> Result<VerifiedIdentity, ServiceError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<VerifiedIdentity, ServiceError>>,
    {
        self.counters.verifications.fetch_add(1, Ordering::Relaxed);
        verify().await
    }

    /// A miss (or an unusable verdict): verify once for all concurrent callers, keep a success.
    async fn verify_and_keep<F, Fut>(
        &self,
        cache: &Cache<Key, Entry>,
        key: Key,
        verify: F,
    ) -> Result<Arc<VerifiedIdentity>, ServiceError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<VerifiedIdentity, ServiceError>>,
    {
        // An unusable verdict goes, unless a concurrent caller already put a fresh one in its
        // place.
        cache
            .entry(key.clone())
            .and_compute_with(|current| {
                let void = current.is_some_and(|e| !self.usable(e.value()));
                std::future::ready(if void { Op::Remove } else { Op::Nop })
            })
            .await;
        let counted = self.counted(verify);
        let clock = self.clock.clone();
        let entry = cache
            .try_get_with(key, async move {
                let who = counted.await?;
                Ok::<_, ServiceError>(Entry {
                    who: Arc::new(who),
                    verified_at: clock.now(),
                })
            })
            .await
            .map_err(ServiceError::from)?;
        Ok(entry.who)
    }

    /// Not past `exp`, not older than `max_age`, and its key still in the key set.
    fn usable(&self, entry: &Entry) -> bool {
        !entry.time_left(self.clock.now(), self.max_age).is_zero()
            && self.jwks.holds_key(&entry.who.signing_key)
    }

    /// Drops the verdicts a registry reload made void: every verdict of a tenant disabled or
    /// removed, and those of another provider version for a tenant rebuilt.
    pub fn tenants_changed(&self, change: &RegistryChange) {
        let Some(cache) = &self.inner else { return };
        // None: drop all of the tenant's; Some(v): keep only those of version v.
        let mut keep: HashMap<TenantId, Option<ProviderVersion>> = HashMap::new();
        for tenant in &change.changed {
            let version = tenant.enabled.then_some(tenant.provider_version);
            keep.insert(tenant.id.clone(), version);
        }
        for id in &change.removed {
            keep.insert(id.clone(), None);
        }
        if keep.is_empty() {
            return;
        }
        let result = cache.invalidate_entries_if(move |key, _| match keep.get(&key.tenant) {
            None => false,
            Some(None) => true,
            Some(Some(version)) => key.provider != *version,
        });
        if let Err(e) = result {
            tracing::error!(error = %e, "verified-token cache invalidation failed; clearing it");
            cache.invalidate_all();
        }
    }

    pub fn stats(&self) -> VerificationStats {
        VerificationStats {
            verifications: self.counters.verifications.load(Ordering::Relaxed),
            cache_hits: self.counters.cache_hits.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use acs_auth_providers::SigningKeyRef;

    use super::*;

    fn entry(expires_at: i64, verified_at: SystemTime) -> Entry {
        Entry {
            who: Arc::new(identity(expires_at)),
            verified_at,
        }
    }

    fn identity(expires_at: i64) -> VerifiedIdentity {
        let jwks: serde_json::Value = serde_json::json!({"keys": [{
            "kty": "EC", "crv": "P-256", "kid": "k1",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        }]});
        let set = acs_auth_providers::jose::KeySet::from_json(jwks.to_string().as_bytes()).unwrap();
        let key = set.keys()[0].clone();
        let uri = url::Url::parse("https://idp.example/keys").unwrap();
        VerifiedIdentity {
            issuer: "https://idp.example".into(),
            issuer_key: "https://idp.example".into(),
            subject: "alice".into(),
            tenant_hint: None,
            scopes: Vec::new(),
            roles: Vec::new(),
            expires_at,
            signing_key: SigningKeyRef::new(&uri, &key),
        }
    }

    const T0: i64 = 1_800_000_000;
    const MAX_AGE: Duration = Duration::from_secs(600);

    fn at(secs: i64) -> SystemTime {
        from_unix_secs(secs)
    }

    #[test]
    fn a_verdict_lasts_until_exp_when_that_comes_first() {
        let e = entry(T0 + 120, at(T0));
        assert_eq!(e.time_left(at(T0), MAX_AGE), Duration::from_secs(120));
        assert_eq!(e.time_left(at(T0 + 119), MAX_AGE), Duration::from_secs(1));
        assert!(
            e.time_left(at(T0 + 120), MAX_AGE).is_zero(),
            "exp itself is too late"
        );
        assert!(e.time_left(at(T0 + 500), MAX_AGE).is_zero());
    }

    #[test]
    fn a_verdict_lasts_max_age_when_that_comes_first() {
        let e = entry(T0 + 3600, at(T0));
        assert_eq!(e.time_left(at(T0), MAX_AGE), MAX_AGE);
        assert_eq!(e.time_left(at(T0 + 599), MAX_AGE), Duration::from_secs(1));
        assert!(e.time_left(at(T0 + 600), MAX_AGE).is_zero());
    }

    #[test]
    fn a_token_verified_within_the_leeway_after_exp_is_not_kept() {
        let e = entry(T0 - 10, at(T0));
        assert!(e.time_left(at(T0), MAX_AGE).is_zero());
    }

    #[test]
    fn a_clock_that_went_back_never_makes_a_verdict_older_or_longer() {
        let e = entry(T0 + 3600, at(T0));
        assert_eq!(e.time_left(at(T0 - 30), MAX_AGE), MAX_AGE);
    }
}
