//! Use cases: get a token, delete a user, look a user up. The service decides; handlers only
//! parse and shape, providers verify, the store persists, the ACS client speaks the protocol.

pub mod admin_keys;
pub mod audit;
pub mod cache_stats;
pub mod changes;
pub mod clock;
pub mod deletion;
pub mod dry_run;
mod error;
pub mod gate;
pub mod limits;
pub mod mapping_cache;
pub mod membership;
pub mod refusals;
pub mod setup_links;
pub mod stats;
pub mod tenant_admin;
pub mod token_cache;
pub mod verified_tokens;

use std::sync::Arc;

use acs_auth_providers::VerifiedIdentity;
use chrono::{DateTime, FixedOffset, Utc};
use secrecy::SecretString;

use crate::acs::wire::{MAX_TOKEN_MINUTES, MIN_TOKEN_MINUTES};
use crate::acs::{AccessToken, AcsError};
use crate::config::CacheSettings;
use crate::registry::AcsResources;
use crate::store::admin::NewAuditEvent;
use crate::store::{NewMapping, Store, StoreError, SubjectKey};
use audit::actions;

pub use admin_keys::AdminKeys;
pub use audit::AuditLog;
pub use cache_stats::CacheStats;
pub use changes::{ChangeFeed, Freshness};
pub use clock::Clock;
pub use deletion::DeletionWorker;
pub use error::{AcsFailure, ServiceError};
pub use gate::Gate;
pub use limits::{RateLimited, RateLimits};
pub use mapping_cache::MappingCache;
pub use membership::Membership;
pub use refusals::RefusedTokens;
pub use setup_links::SetupLinks;
pub use stats::Stats;
pub use tenant_admin::{Actor, TenantAdmin};
pub use token_cache::{TokenCache, TokenKey};
pub use verified_tokens::{VerificationStats, VerifiedTokens};

// The records the service hands out (the API shapes them; it does not reach into the store).
pub use crate::registry::Tenant;
pub use crate::store::Mapping;
pub use crate::store::admin::{AuditEvent, AuditFilter, StoredTenant};

/// What the caller asked for; both optional, both bounded by the tenant's token policy.
#[derive(Debug, Default, Clone)]
pub struct TokenRequest {
    pub scopes: Option<Vec<String>>,
    pub expires_in_minutes: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: SecretString,
    pub expires_on: DateTime<FixedOffset>,
    pub acs_user_id: String,
    /// True when this call created the ACS identity.
    pub created: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// ACS confirmed the deletion.
    Deleted,
    /// The mapping is gone; ACS did not confirm yet and the deletion will be retried.
    Queued,
}

/// The mapping and ACS token use cases.
#[derive(Clone)]
pub struct TokenService {
    store: Store,
    resources: Arc<AcsResources>,
    mappings: MappingCache,
    tokens: TokenCache,
    deletions: DeletionWorker,
    audit: AuditLog,
    /// Whether memory is current with the change log; mappings come from the database when not.
    freshness: Freshness,
    /// Hits and misses of the mapping and token caches.
    counters: Arc<cache_stats::CacheCounters>,
}

impl TokenService {
    pub fn new(
        store: Store,
        resources: Arc<AcsResources>,
        cache: &CacheSettings,
        deletions: DeletionWorker,
        audit: AuditLog,
        clock: Clock,
    ) -> Self {
        let mappings = MappingCache::new(
            store.clone(),
            cache.max_entries,
            std::time::Duration::from_secs(cache.mapping_ttl_secs),
            clock.clone(),
        );
        Self {
            store,
            resources,
            mappings,
            tokens: TokenCache::new(cache, clock),
            deletions,
            audit,
            freshness: Freshness::default(),
            counters: Arc::default(),
        }
    }

    /// Hits and misses of the mapping and ACS token caches so far.
    pub fn cache_stats(&self) -> CacheStats {
        self.counters.stats()
    }

    /// Whether this replica's memory is current with the change log ([`ChangeFeed`] keeps it).
    pub fn freshness(&self) -> &Freshness {
        &self.freshness
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// How many mappings past their TTL were read again in the background.
    pub fn mapping_refreshes(&self) -> u64 {
        self.mappings.refreshes()
    }

    /// getToken: find or create the caller's ACS identity and hand out a token for it.
    pub async fn get_token(
        &self,
        tenant: &Tenant,
        who: &VerifiedIdentity,
        request: TokenRequest,
        request_id: Option<&str>,
    ) -> Result<IssuedToken, ServiceError> {
        check_access(tenant, who)?;
        let (scopes, minutes) = resolve_request(tenant, request)?;
        let key = subject_key(tenant, who);

        // A mapping whose identity vanished from ACS (deleted out of band) is dropped and the
        // flow runs once more, creating a fresh identity.
        for attempt in 0..2 {
            let (mapping, created) = self.mapping_for(tenant, &key, &scopes, minutes).await?;
            if let Some(token) = created {
                Box::pin(self.audit.record(NewAuditEvent {
                    tenant_id: Some(tenant.id.to_string()),
                    actor: actor(who),
                    action: actions::IDENTITY_CREATED.into(),
                    target: Some(mapping.acs_user_id.clone()),
                    detail: Some(serde_json::json!({"resource": mapping.acs_resource}).to_string()),
                    request_id: request_id.map(str::to_owned),
                }))
                .await;
                self.audit.count_token(&tenant.id, false);
                return Ok(IssuedToken {
                    token: token.token,
                    expires_on: token.expires_on,
                    acs_user_id: mapping.acs_user_id.clone(),
                    created: true,
                });
            }
            match self.token_for(&mapping, &scopes, minutes).await {
                Ok((token, from_cache)) => {
                    self.audit.count_token(&tenant.id, from_cache);
                    return Ok(IssuedToken {
                        token: token.token,
                        expires_on: token.expires_on,
                        acs_user_id: mapping.acs_user_id.clone(),
                        created: false,
                    });
                }
                Err(e) if attempt == 0 && e.is_identity_not_found() => {
                    tracing::warn!(
                        tenant = %tenant.id,
                        acs_user_id = %mapping.acs_user_id,
                        "ACS no longer knows the mapped identity; replacing the mapping"
                    );
                    Box::pin(self.drop_vanished(&mapping)).await?;
                    Box::pin(self.forget(&key, &mapping.acs_user_id)).await;
                }
                Err(e) => return Err(e),
            }
        }
        Err(ServiceError::from(AcsError::InvalidResponse(
            "identity vanished twice in a row".into(),
        )))
    }

    /// Drops a mapping whose identity ACS answered `IdentityNotFound` for, queueing that
    /// identity's deletion in the same transaction — before any replacement is created — so
    /// that nothing is orphaned whatever ACS meant (the deletion worker's `IdentityNotFound`
    /// completes it). Already gone (a concurrent call replaced it): nothing to do.
    async fn drop_vanished(&self, mapping: &Mapping) -> Result<(), ServiceError> {
        match self
            .store
            .delete_mapping_and_enqueue(
                mapping,
                crate::store::DeletionReason::IdentityVanished,
                Utc::now(),
            )
            .await
        {
            Ok(_) | Err(StoreError::NotFound) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// deleteUser: the mapping goes and a pending deletion is recorded in one transaction, then
    /// ACS is asked to delete the identity; a failed call is retried by the deletion worker.
    pub async fn delete_user(
        &self,
        tenant: &Tenant,
        who: &VerifiedIdentity,
        request_id: Option<&str>,
    ) -> Result<DeleteOutcome, ServiceError> {
        check_access(tenant, who)?;
        let key = subject_key(tenant, who);
        let mapping = self
            .store
            .find_mapping(&key)
            .await?
            .ok_or(ServiceError::UserNotFound)?;
        self.delete_mapping(&mapping, &actor(who), request_id).await
    }

    /// Removes one mapping and deletes its ACS identity with the guarantees of deleteUser (the
    /// admin API's erasure path uses it too).
    pub async fn delete_mapping(
        &self,
        mapping: &Mapping,
        actor: &str,
        request_id: Option<&str>,
    ) -> Result<DeleteOutcome, ServiceError> {
        let key = SubjectKey {
            tenant_id: mapping.tenant_id.clone(),
            issuer_key: mapping.issuer_key.clone(),
            subject: mapping.subject.clone(),
        };
        let pending = match self
            .store
            .delete_mapping_and_enqueue(
                mapping,
                crate::store::DeletionReason::UserDeleted,
                Utc::now(),
            )
            .await
        {
            Ok(p) => p,
            Err(StoreError::NotFound) => return Err(ServiceError::UserNotFound),
            Err(e) => return Err(e.into()),
        };
        self.forget(&key, &mapping.acs_user_id).await;
        tracing::info!(tenant = %mapping.tenant_id, acs_user_id = %mapping.acs_user_id, "mapping deleted");
        fail::fail_point!("delete_user::after_commit", |_| Err(injected(
            "delete_user::after_commit"
        )));
        let outcome = if self.deletions.attempt(&pending).await {
            DeleteOutcome::Deleted
        } else {
            DeleteOutcome::Queued
        };
        self.audit
            .record(NewAuditEvent {
                tenant_id: Some(mapping.tenant_id.clone()),
                actor: actor.to_owned(),
                action: actions::IDENTITY_DELETED.into(),
                target: Some(mapping.acs_user_id.clone()),
                detail: Some(
                    serde_json::json!({"confirmed": outcome == DeleteOutcome::Deleted}).to_string(),
                ),
                request_id: request_id.map(str::to_owned),
            })
            .await;
        Ok(outcome)
    }

    /// exchangeToken: trade a Teams user's Entra ID token for an ACS token. ACS checks the
    /// token's `appid`/`azp` against the tenant's client id and its `oid` against the caller's.
    pub async fn exchange_teams_token(
        &self,
        tenant: &Tenant,
        who: &VerifiedIdentity,
        teams_token: &str,
        request_id: Option<&str>,
    ) -> Result<AccessToken, ServiceError> {
        check_access(tenant, who)?;
        let app_id = match (
            &tenant.teams_app_id,
            tenant.provider.supports_teams_exchange(),
        ) {
            (Some(app_id), true) => app_id,
            _ => return Err(ServiceError::TeamsExchangeUnsupported),
        };
        match tenant
            .acs_resource
            .client
            .exchange_teams_token(teams_token, app_id, &who.subject)
            .await
        {
            Ok(token) => {
                self.audit
                    .record(NewAuditEvent {
                        tenant_id: Some(tenant.id.to_string()),
                        actor: actor(who),
                        action: actions::TEAMS_TOKEN_EXCHANGED.into(),
                        target: None,
                        detail: None,
                        request_id: request_id.map(str::to_owned),
                    })
                    .await;
                Ok(token)
            }
            Err(AcsError::Api {
                status,
                code,
                message,
                ..
            }) if (400..500).contains(&status) && status != 408 && status != 429 => {
                Err(ServiceError::TeamsTokenRejected { code, message })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// getUser: the caller's mapping, if any.
    pub async fn get_user(
        &self,
        tenant: &Tenant,
        who: &VerifiedIdentity,
    ) -> Result<Mapping, ServiceError> {
        check_access(tenant, who)?;
        let key = subject_key(tenant, who);
        self.store
            .find_mapping(&key)
            .await?
            .ok_or(ServiceError::UserNotFound)
    }

    /// Drops every cached mapping of a tenant and the tokens of `identities`.
    pub async fn forget_tenant<'a>(
        &self,
        tenant_id: &str,
        identities: impl Iterator<Item = &'a str>,
    ) {
        self.mappings.invalidate_tenant(tenant_id);
        for acs_user_id in identities {
            self.tokens.forget_identity(acs_user_id);
        }
    }

    /// Drops the cached mapping and tokens of an identity.
    pub async fn forget(&self, key: &SubjectKey, acs_user_id: &str) {
        self.mappings.invalidate(key).await;
        if !acs_user_id.is_empty() {
            self.tokens.forget_identity(acs_user_id);
        }
    }

    /// Drops the cached mapping of `key` unless it names `acs_user_id`.
    pub async fn forget_other_mapping(&self, key: &SubjectKey, acs_user_id: &str) {
        self.mappings.invalidate_unless(key, acs_user_id).await;
    }

    /// Drops every cached mapping and token (a replica that may have missed changes).
    pub fn forget_everything(&self) {
        self.mappings.invalidate_all();
        self.tokens.forget_all();
    }

    /// The caller's mapping, created on first use. Concurrent first calls on this replica are
    /// coalesced into one; across replicas the unique index decides and the loser deletes the
    /// identity it created. Returns the creation's token when this call created the identity.
    async fn mapping_for(
        &self,
        tenant: &Tenant,
        key: &SubjectKey,
        scopes: &[String],
        minutes: u32,
    ) -> Result<(Arc<Mapping>, Option<AccessToken>), ServiceError> {
        if self.freshness.is_live() {
            if let Some(mapping) = self.mappings.get(key).await {
                self.counters.mapping(true);
                return Ok((mapping, None));
            }
        } else {
            // Memory may miss another replica's change: the database decides.
            self.mappings.invalidate(key).await;
        }
        self.counters.mapping(false);
        // Loading or creating is a large future (store, ACS): boxed, so that a returning
        // user's call stays small (see docs/performance.md, "The hot path").
        Box::pin(self.load_or_create_cached(tenant, key, scopes, minutes)).await
    }

    /// A mapping cache miss: load or create once for all concurrent callers.
    async fn load_or_create_cached(
        &self,
        tenant: &Tenant,
        key: &SubjectKey,
        scopes: &[String],
        minutes: u32,
    ) -> Result<(Arc<Mapping>, Option<AccessToken>), ServiceError> {
        let mut created: Option<AccessToken> = None;
        let init = async {
            let (mapping, token) = self.load_or_create(tenant, key, scopes, minutes).await?;
            if let Some(token) = &token {
                self.tokens
                    .insert(
                        TokenKey::new(&mapping.acs_user_id, scopes, minutes),
                        token.clone(),
                    )
                    .await;
            }
            created = token;
            Ok::<_, ServiceError>(Arc::new(mapping))
        };
        let (mapping, fresh) = self.mappings.get_or_try_insert_with(key, init).await?;
        Ok((mapping, if fresh { created } else { None }))
    }

    async fn load_or_create(
        &self,
        tenant: &Tenant,
        key: &SubjectKey,
        scopes: &[String],
        minutes: u32,
    ) -> Result<(Mapping, Option<AccessToken>), ServiceError> {
        if let Some(found) = self.store.find_mapping(key).await? {
            return Ok((found, None));
        }
        let resource = Arc::clone(&tenant.acs_resource);
        fail::fail_point!("get_token::before_acs_create", |_| Err(injected(
            "get_token::before_acs_create"
        )));
        let created = resource
            .client
            .create_identity(Some((scopes, minutes)))
            .await?;
        let new = NewMapping {
            key: key.clone(),
            acs_user_id: created.id.clone(),
            acs_resource: resource.name.clone(),
        };
        let insert = async {
            // A failure here is one of the store after ACS created the identity.
            fail::fail_point!("get_token::mapping_insert", |_| Err(StoreError::Db(
                sea_orm::DbErr::Custom("failpoint get_token::mapping_insert".into())
            )));
            self.store.insert_mapping_if_absent(&new, Utc::now()).await
        };
        let inserted = match insert.await {
            Ok(inserted) => inserted,
            Err(e) => {
                // Never leave the identity we just made without an owner.
                self.deletions
                    .discard(&key.tenant_id, &created.id, &resource.name)
                    .await;
                return Err(e.into());
            }
        };
        if !inserted {
            tracing::info!(tenant = %key.tenant_id, "lost a first-call race; deleting the surplus ACS identity");
            self.deletions
                .discard(&key.tenant_id, &created.id, &resource.name)
                .await;
        }
        fail::fail_point!("get_token::after_mapping_insert", |_| Err(injected(
            "get_token::after_mapping_insert"
        )));
        let mapping = self
            .store
            .find_mapping(key)
            .await?
            .ok_or(StoreError::NotFound)?;
        if inserted {
            tracing::info!(tenant = %key.tenant_id, acs_user_id = %mapping.acs_user_id, "ACS identity created");
            Ok((mapping, created.access_token))
        } else {
            Ok((mapping, None))
        }
    }

    /// A token for the mapping's identity, and whether it came from the cache.
    async fn token_for(
        &self,
        mapping: &Mapping,
        scopes: &[String],
        minutes: u32,
    ) -> Result<(AccessToken, bool), ServiceError> {
        let resource = self
            .resources
            .get(&mapping.acs_resource)
            .ok_or_else(|| ServiceError::UnknownResource(mapping.acs_resource.clone()))?;
        let key = TokenKey::new(&mapping.acs_user_id, scopes, minutes);
        if let Some(token) = self.tokens.get_fresh(&key).await {
            self.counters.token(true);
            return Ok((token, true));
        }
        self.counters.token(false);
        Box::pin(self.issue_token(mapping, &resource, key, scopes, minutes)).await
    }

    /// A token cache miss: one ACS issue for all concurrent callers.
    async fn issue_token(
        &self,
        mapping: &Mapping,
        resource: &crate::registry::AcsResource,
        key: TokenKey,
        scopes: &[String],
        minutes: u32,
    ) -> Result<(AccessToken, bool), ServiceError> {
        let mut issued_now = false;
        let issue = async {
            issued_now = true;
            let token = resource
                .client
                .issue_access_token(&mapping.acs_user_id, scopes, minutes)
                .await?;
            if let Err(e) = self.store.touch_mapping(mapping.id, Utc::now()).await {
                tracing::warn!(error = %e, "could not record the mapping's last use");
            }
            Ok::<_, ServiceError>(token)
        };
        let token = self.tokens.get_or_issue(key, issue).await?;
        Ok((token, !issued_now))
    }
}

/// The error a fault-injection point returns (a store failure at that step).
#[cfg_attr(not(feature = "failpoints"), allow(dead_code))]
fn injected(point: &str) -> ServiceError {
    ServiceError::Store(StoreError::Db(sea_orm::DbErr::Custom(format!(
        "failpoint {point}"
    ))))
}

/// The audit actor for a verified caller.
fn actor(who: &VerifiedIdentity) -> String {
    format!("user:{}", who.subject)
}

pub fn subject_key(tenant: &Tenant, who: &VerifiedIdentity) -> SubjectKey {
    SubjectKey {
        tenant_id: tenant.id.to_string(),
        issuer_key: who.issuer_key.clone(),
        subject: who.subject.clone(),
    }
}

/// The tenant's access policy: every required scope and role must be present.
fn check_access(tenant: &Tenant, who: &VerifiedIdentity) -> Result<(), ServiceError> {
    if !tenant.enabled {
        return Err(ServiceError::TenantDisabled);
    }
    if let Some(missing) = missing_scopes(tenant, who).first() {
        return Err(ServiceError::InsufficientScope(format!(
            "scope `{missing}` is required"
        )));
    }
    if let Some(missing) = missing_roles(tenant, who).first() {
        return Err(ServiceError::InsufficientScope(format!(
            "role `{missing}` is required"
        )));
    }
    Ok(())
}

/// The tenant's required scopes that the caller's token does not grant, in the tenant's order.
pub(crate) fn missing_scopes<'a>(tenant: &'a Tenant, who: &VerifiedIdentity) -> Vec<&'a str> {
    missing(&tenant.access.required_scopes, &who.scopes)
}

/// The tenant's required roles that the caller's token does not carry, in the tenant's order.
pub(crate) fn missing_roles<'a>(tenant: &'a Tenant, who: &VerifiedIdentity) -> Vec<&'a str> {
    missing(&tenant.access.required_roles, &who.roles)
}

fn missing<'a>(required: &'a [String], held: &[String]) -> Vec<&'a str> {
    required
        .iter()
        .filter(|r| !held.contains(r))
        .map(String::as_str)
        .collect()
}

/// Scopes and lifetime for this call, within the tenant's token policy.
fn resolve_request(
    tenant: &Tenant,
    request: TokenRequest,
) -> Result<(Vec<String>, u32), ServiceError> {
    let policy = &tenant.tokens;
    let mut scopes = match request.scopes {
        Some(s) if s.is_empty() => {
            return Err(ServiceError::InvalidRequest {
                field: "scopes",
                message: "must name at least one scope when present".into(),
            });
        }
        Some(s) => s,
        None => policy.scopes.clone(),
    };
    if let Some(bad) = scopes.iter().find(|s| !policy.allowed_scopes().contains(s)) {
        return Err(ServiceError::InvalidRequest {
            field: "scopes",
            message: format!(
                "`{bad}` is not allowed for this tenant (allowed: {})",
                policy.allowed_scopes().join(", ")
            ),
        });
    }
    scopes.sort();
    scopes.dedup();
    let minutes = request
        .expires_in_minutes
        .unwrap_or(policy.lifetime_minutes);
    if !(MIN_TOKEN_MINUTES..=policy.max_lifetime_minutes.min(MAX_TOKEN_MINUTES)).contains(&minutes)
    {
        return Err(ServiceError::InvalidRequest {
            field: "expiresInMinutes",
            message: format!(
                "must be between {MIN_TOKEN_MINUTES} and {} for this tenant",
                policy.max_lifetime_minutes
            ),
        });
    }
    Ok((scopes, minutes))
}
