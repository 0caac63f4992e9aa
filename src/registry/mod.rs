//! The tenant registry: each tenant's identity provider, access and token policies and ACS
//! resource. Tenants come from the configuration file and from the database (admin API); the
//! file wins on a clash. Every replica re-reads the database when the registry version changes
//! (polled every `registry.reload_interval_secs`), so admin changes need no restart.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use acs_auth_providers::{
    AadProvider, B2cProvider, IdentityProvider, JwksCache, OidcConfig, OidcProvider, VerifyError,
};
use arc_swap::ArcSwap;
use chrono::Utc;

use crate::config::{
    AccessSettings, AcsSettings, ProviderSettings, Settings, TenantSettings, TokenPolicySettings,
};
pub mod resources;

use crate::domain::TenantId;
use crate::store::{Store, StoreError};
pub use resources::{AcsResource, AcsResources, resource_name};

#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    #[error("tenant `{tenant}`: {source}")]
    Provider {
        tenant: String,
        #[source]
        source: VerifyError,
    },
    #[error("tenant `{tenant}`: ACS resource: {source}")]
    Acs {
        tenant: String,
        #[source]
        source: crate::acs::AcsError,
    },
    #[error("tenant `{tenant}`: stored settings are unreadable: {message}")]
    Stored { tenant: String, message: String },
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// Where a tenant is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantSource {
    /// The configuration file: read-only over the admin API.
    File,
    /// The database: managed through the admin API.
    Database,
}

/// One customer of the operator, with the identity provider it brought.
pub struct Tenant {
    pub id: TenantId,
    pub display_name: String,
    pub enabled: bool,
    pub provider: Arc<dyn IdentityProvider>,
    pub provider_kind: &'static str,
    /// The API app's client id, sent as `appId` in Teams token exchanges (Entra ID tenants).
    pub teams_app_id: Option<String>,
    pub access: AccessSettings,
    pub tokens: TokenPolicySettings,
    /// Where new ACS identities of this tenant are created.
    pub acs_resource: Arc<AcsResource>,
    pub source: TenantSource,
    /// The settings the tenant was built from.
    pub settings: TenantSettings,
    fingerprint: String,
}

impl std::fmt::Debug for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant")
            .field("id", &self.id)
            .field("enabled", &self.enabled)
            .field("provider_kind", &self.provider_kind)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// How a request on a bare path (`/getToken`) found its tenant.
#[derive(Debug)]
pub enum Resolution {
    Found(Arc<Tenant>),
    /// No tenant trusts the token's issuer and there is no default tenant.
    NoMatch,
    /// Several tenants trust the issuer and there is no default tenant to break the tie.
    Ambiguous,
}

/// One consistent view of all tenants.
#[derive(Debug, Default)]
pub struct TenantRegistry {
    tenants: HashMap<String, Arc<Tenant>>,
    default_tenant: Option<String>,
}

impl TenantRegistry {
    pub fn get(&self, id: &str) -> Option<Arc<Tenant>> {
        self.tenants.get(id).cloned()
    }

    pub fn len(&self) -> usize {
        self.tenants.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tenants.is_empty()
    }

    pub fn all(&self) -> Vec<Arc<Tenant>> {
        let mut v: Vec<_> = self.tenants.values().cloned().collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// Picks the tenant for a bare-path request from the (not yet verified) issuer: the one
    /// tenant whose provider accepts it, else the default tenant. The chosen tenant's provider
    /// still verifies the token in full, so a forged `iss` only chooses who refuses it.
    pub fn resolve_by_issuer(&self, issuer: Option<&str>) -> Resolution {
        let matches: Vec<&Arc<Tenant>> = match issuer {
            Some(iss) => self
                .tenants
                .values()
                .filter(|t| t.provider.accepts_issuer(iss))
                .collect(),
            None => Vec::new(),
        };
        match matches.as_slice() {
            [one] => Resolution::Found(Arc::clone(one)),
            many => {
                if let Some(default) = self.default_tenant.as_deref().and_then(|d| self.get(d)) {
                    Resolution::Found(default)
                } else if many.is_empty() {
                    Resolution::NoMatch
                } else {
                    Resolution::Ambiguous
                }
            }
        }
    }
}

/// A built provider: the provider, its kind, and (Entra ID) the Teams exchange app id.
pub struct BuiltProvider {
    pub provider: Arc<dyn IdentityProvider>,
    pub kind: &'static str,
    pub teams_app_id: Option<String>,
}

/// Builds identity providers with the server's shared HTTP client, JWKS cache and limits.
#[derive(Clone)]
pub struct ProviderFactory {
    pub http: reqwest::Client,
    pub jwks: Arc<JwksCache>,
    pub leeway_secs: u64,
    pub max_token_bytes: usize,
}

impl ProviderFactory {
    /// The provider of `settings`, with its kind and (Entra ID) the Teams exchange app id.
    pub fn build(&self, settings: &ProviderSettings) -> Result<BuiltProvider, VerifyError> {
        let (provider, kind, teams_app_id): (
            Arc<dyn IdentityProvider>,
            &'static str,
            Option<String>,
        ) = match settings {
            ProviderSettings::Oidc(p) => {
                let config = OidcConfig {
                    issuer: p.issuer.clone(),
                    audiences: p.audiences.clone(),
                    subject_claim: p.subject_claim.clone(),
                    allow_http: p.allow_http,
                    leeway_secs: self.leeway_secs,
                    max_token_bytes: self.max_token_bytes,
                };
                let provider =
                    OidcProvider::new(config, self.http.clone(), Arc::clone(&self.jwks))?;
                (Arc::new(provider), "oidc", None)
            }
            ProviderSettings::Aad(p) => {
                let mut config = p.clone();
                config.leeway_secs = self.leeway_secs;
                config.max_token_bytes = self.max_token_bytes;
                let provider = AadProvider::new(config, self.http.clone(), Arc::clone(&self.jwks))?;
                let app_id = provider.client_id().to_owned();
                (Arc::new(provider), "aad", Some(app_id))
            }
            ProviderSettings::AadB2c(p) => {
                let mut config = p.clone();
                config.leeway_secs = self.leeway_secs;
                config.max_token_bytes = self.max_token_bytes;
                let provider = B2cProvider::new(config, self.http.clone(), Arc::clone(&self.jwks))?;
                (Arc::new(provider), "aad_b2c", None)
            }
        };
        Ok(BuiltProvider {
            provider,
            kind,
            teams_app_id,
        })
    }
}

/// The live tenant registry: a snapshot swapped atomically on reload.
pub struct TenantDirectory {
    current: ArcSwap<TenantRegistry>,
    file_tenants: Vec<TenantSettings>,
    default_tenant: Option<String>,
    factory: ProviderFactory,
    resources: Arc<AcsResources>,
    store: Store,
    loaded_version: AtomicI64,
    reload_lock: tokio::sync::Mutex<()>,
}

impl TenantDirectory {
    /// Builds the registry from the file's tenants and the database's. A file tenant that
    /// cannot be built stops start-up; a stored one is logged and left out.
    pub async fn load(
        settings: &Settings,
        store: Store,
        factory: ProviderFactory,
        resources: Arc<AcsResources>,
    ) -> Result<Arc<Self>, TenantError> {
        let dir = Arc::new(Self {
            current: ArcSwap::from_pointee(TenantRegistry::default()),
            file_tenants: settings.tenants.clone(),
            default_tenant: settings.default_tenant.clone(),
            factory,
            resources,
            store,
            loaded_version: AtomicI64::new(i64::MIN),
            reload_lock: tokio::sync::Mutex::new(()),
        });
        dir.rebuild(true).await?;
        Ok(dir)
    }

    pub fn snapshot(&self) -> Arc<TenantRegistry> {
        self.current.load_full()
    }

    pub fn get(&self, id: &str) -> Option<Arc<Tenant>> {
        self.current.load().get(id)
    }

    pub fn len(&self) -> usize {
        self.current.load().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn resolve_by_issuer(&self, issuer: Option<&str>) -> Resolution {
        self.current.load().resolve_by_issuer(issuer)
    }

    pub fn is_file_tenant(&self, id: &str) -> bool {
        self.file_tenants.iter().any(|t| t.id == id)
    }

    pub fn factory(&self) -> &ProviderFactory {
        &self.factory
    }

    /// Re-reads the database when the registry version moved. True when it did.
    pub async fn reload_if_changed(&self) -> Result<bool, TenantError> {
        let version = self.store.registry_version().await?;
        if version == self.loaded_version.load(Ordering::SeqCst) {
            return Ok(false);
        }
        self.rebuild(false).await?;
        Ok(true)
    }

    /// Re-reads the database now (after a change made by this replica).
    pub async fn reload(&self) -> Result<(), TenantError> {
        self.rebuild(false).await
    }

    /// Polls for changes every `interval` until aborted.
    pub fn spawn_watch(self: Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                match self.reload_if_changed().await {
                    Ok(true) => tracing::info!(tenants = self.len(), "tenant registry reloaded"),
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "tenant registry reload failed; keeping the current one")
                    }
                }
            }
        })
    }

    async fn rebuild(&self, startup: bool) -> Result<(), TenantError> {
        let _guard = self.reload_lock.lock().await;
        let version = self.store.registry_version().await?;
        let stored = self.store.all_tenants().await?;
        let previous = self.current.load_full();
        let mut tenants = HashMap::new();

        for t in &self.file_tenants {
            let tenant = self.build_or_reuse(t, TenantSource::File, &previous)?;
            tenants.insert(tenant.id.to_string(), tenant);
        }
        for row in stored {
            if tenants.contains_key(&row.id) {
                if startup {
                    tracing::warn!(
                        tenant = %row.id,
                        "tenant is defined in the configuration file and in the database; the file wins"
                    );
                }
                continue;
            }
            let settings = match stored_settings(&row) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "stored tenant left out");
                    continue;
                }
            };
            match self.build_or_reuse(&settings, TenantSource::Database, &previous) {
                Ok(tenant) => {
                    tenants.insert(tenant.id.to_string(), tenant);
                }
                Err(e) => tracing::error!(error = %e, "stored tenant left out"),
            }
        }

        self.refresh_resources(&tenants).await;
        if let Some(default) = &self.default_tenant
            && !tenants.contains_key(default)
        {
            tracing::warn!(tenant = %default, "default_tenant names no tenant");
        }
        self.current.store(Arc::new(TenantRegistry {
            tenants,
            default_tenant: self.default_tenant.clone(),
        }));
        self.loaded_version.store(version, Ordering::SeqCst);
        Ok(())
    }

    fn build_or_reuse(
        &self,
        settings: &TenantSettings,
        source: TenantSource,
        previous: &TenantRegistry,
    ) -> Result<Arc<Tenant>, TenantError> {
        let fingerprint = serde_json::to_string(settings).unwrap_or_default();
        if let Some(old) = previous.get(&settings.id)
            && old.fingerprint == fingerprint
            && old.source == source
        {
            return Ok(old);
        }
        Ok(Arc::new(self.build(settings, source, fingerprint)?))
    }

    /// Builds a tenant without registering it (also used to validate admin input).
    pub fn build_tenant(&self, settings: &TenantSettings) -> Result<Tenant, TenantError> {
        self.build(settings, TenantSource::Database, String::new())
    }

    fn build(
        &self,
        t: &TenantSettings,
        source: TenantSource,
        fingerprint: String,
    ) -> Result<Tenant, TenantError> {
        let BuiltProvider {
            provider,
            kind,
            teams_app_id,
        } = self
            .factory
            .build(&t.provider)
            .map_err(|source| TenantError::Provider {
                tenant: t.id.clone(),
                source,
            })?;
        let acs_resource = match &t.acs {
            Some(acs) => {
                let r = AcsResource::from_settings(&self.factory.http, acs, None).map_err(
                    |source| TenantError::Acs {
                        tenant: t.id.clone(),
                        source,
                    },
                )?;
                // The default resource keeps its own name (and client) when a tenant names it too.
                let default = self.resources.default_resource();
                if r.name == default.name {
                    default
                } else {
                    Arc::new(r)
                }
            }
            None => self.resources.default_resource(),
        };
        Ok(Tenant {
            id: TenantId::parse(&t.id).map_err(|e| TenantError::Stored {
                tenant: t.id.clone(),
                message: e.to_string(),
            })?,
            display_name: t.display_name.clone().unwrap_or_else(|| t.id.clone()),
            enabled: t.enabled,
            provider,
            provider_kind: kind,
            teams_app_id,
            access: t.access.clone(),
            tokens: t.tokens.clone(),
            acs_resource,
            source,
            settings: t.clone(),
            fingerprint,
        })
    }

    /// Makes every resource reachable: those tenants name now (remembered in the database) and
    /// those identities were created in earlier (read back from it).
    async fn refresh_resources(&self, tenants: &HashMap<String, Arc<Tenant>>) {
        let mut in_use: HashMap<String, Arc<AcsResource>> = HashMap::new();
        let default = self.resources.default_resource();
        in_use.insert(default.name.clone(), Arc::clone(&default));
        for t in tenants.values() {
            in_use.insert(t.acs_resource.name.clone(), Arc::clone(&t.acs_resource));
        }
        let now = Utc::now();
        for r in in_use.values() {
            if r.settings_json == "{}" {
                continue;
            }
            if let Err(e) = self
                .store
                .upsert_acs_resource(&r.name, &r.settings_json, now)
                .await
            {
                tracing::warn!(error = %e, resource = %r.name, "could not remember an ACS resource");
            }
        }
        match self.store.acs_resources().await {
            Ok(rows) => {
                for row in rows {
                    if in_use.contains_key(&row.name) {
                        continue;
                    }
                    let built = serde_json::from_str::<AcsSettings>(&row.config)
                        .map_err(|e| e.to_string())
                        .and_then(|s| {
                            AcsResource::from_settings(
                                &self.factory.http,
                                &s,
                                Some(row.name.clone()),
                            )
                            .map_err(|e| e.to_string())
                        });
                    match built {
                        Ok(r) => {
                            in_use.insert(row.name.clone(), Arc::new(r));
                        }
                        Err(e) => {
                            tracing::warn!(resource = %row.name, error = %e, "stored ACS resource unusable")
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read stored ACS resources"),
        }
        self.resources.replace(in_use.into_values().collect());
    }
}

/// A stored row back to settings: the JSON, with the row's id, enabled flag and name.
pub fn stored_settings(
    row: &crate::store::admin::StoredTenant,
) -> Result<TenantSettings, TenantError> {
    let mut settings: TenantSettings =
        serde_json::from_str(&row.config).map_err(|e| TenantError::Stored {
            tenant: row.id.clone(),
            message: e.to_string(),
        })?;
    settings.id = row.id.clone();
    settings.enabled = row.enabled;
    settings.display_name = Some(row.display_name.clone());
    Ok(settings)
}

/// One line of a tenant check.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

impl Check {
    fn new(name: &'static str, result: Result<String, String>) -> Self {
        match result {
            Ok(detail) => Self {
                name,
                ok: true,
                detail,
            },
            Err(detail) => Self {
                name,
                ok: false,
                detail,
            },
        }
    }
}

/// The discovery documents a tenant's provider reads.
fn discovery_urls(t: &TenantSettings) -> Vec<(String, Option<String>)> {
    let trim = |s: &str| s.trim_end_matches('/').to_owned();
    match &t.provider {
        ProviderSettings::Oidc(p) => vec![(
            format!("{}/.well-known/openid-configuration", trim(&p.issuer)),
            Some(p.issuer.clone()),
        )],
        ProviderSettings::Aad(p) => {
            let base = format!("{}/{}", trim(&p.authority_host), p.directory);
            let mut urls = Vec::new();
            if p.token_versions.contains(&1) {
                urls.push((format!("{base}/.well-known/openid-configuration"), None));
            }
            if p.token_versions.contains(&2) {
                urls.push((
                    format!("{base}/v2.0/.well-known/openid-configuration"),
                    None,
                ));
            }
            urls
        }
        ProviderSettings::AadB2c(p) => {
            let host = p
                .host
                .clone()
                .unwrap_or_else(|| format!("https://{}.b2clogin.com", p.tenant_name));
            let domain = p
                .domain
                .clone()
                .unwrap_or_else(|| format!("{}.onmicrosoft.com", p.tenant_name));
            p.policies
                .iter()
                .map(|policy| {
                    (
                        format!(
                            "{}/{domain}/{policy}/v2.0/.well-known/openid-configuration",
                            trim(&host)
                        ),
                        None,
                    )
                })
                .collect()
        }
    }
}

/// Fetches the tenant's discovery documents and keys and reports each step, issuing nothing.
pub async fn check(http: &reqwest::Client, t: &TenantSettings) -> Vec<Check> {
    let allow_http = t.provider.allow_http();
    let mut out = Vec::new();
    for (url, expected_issuer) in discovery_urls(t) {
        let doc = fetch_json(http, &url, allow_http).await;
        out.push(Check::new(
            "discovery reachable",
            doc.as_ref().map(|_| url.clone()).map_err(Clone::clone),
        ));
        let Ok(doc) = doc else { continue };
        let issuer = doc
            .get("issuer")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        out.push(Check::new(
            "issuer matches",
            match &expected_issuer {
                Some(expected) if issuer != expected => {
                    Err(format!("document says `{issuer}`, configured `{expected}`"))
                }
                _ if issuer.is_empty() => Err("the document names no issuer".into()),
                _ => Ok(issuer.to_owned()),
            },
        ));
        let Some(jwks_uri) = doc.get("jwks_uri").and_then(|v| v.as_str()) else {
            out.push(Check::new(
                "keys usable",
                Err("no jwks_uri in the discovery document".into()),
            ));
            continue;
        };
        let keys = fetch_json(http, jwks_uri, allow_http)
            .await
            .and_then(|jwks| {
                let usable = jwks
                    .get("keys")
                    .and_then(|k| k.as_array())
                    .map(|keys| {
                        keys.iter()
                            .filter(|k| {
                                matches!(
                                    k.get("kty").and_then(|v| v.as_str()),
                                    Some("RSA" | "EC" | "OKP")
                                ) && k
                                    .get("use")
                                    .and_then(|v| v.as_str())
                                    .is_none_or(|u| u == "sig")
                            })
                            .count()
                    })
                    .unwrap_or(0);
                if usable > 0 {
                    Ok(format!("{usable} signing key(s) at {jwks_uri}"))
                } else {
                    Err(format!("no usable signing key at {jwks_uri}"))
                }
            });
        out.push(Check::new("keys usable", keys));
    }
    out
}

/// One IdP document, fetched as the providers fetch them: https unless the tenant allows
/// http, with a timeout and a size bound.
async fn fetch_json(
    http: &reqwest::Client,
    url: &str,
    allow_http: bool,
) -> Result<serde_json::Value, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
    let limits = acs_auth_providers::JwksCacheConfig::default();
    let bytes = acs_auth_providers::jwks::fetch_document(
        http,
        &parsed,
        allow_http,
        limits.request_timeout,
        limits.max_document_bytes,
    )
    .await
    .map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{url}: not JSON: {e}"))
}
