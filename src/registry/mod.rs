//! The tenant registry: each tenant's identity provider, access and token policies and ACS
//! resource. Tenants come from the configuration file and from the database (admin API); the
//! file wins on a clash. Every replica re-reads the database when the registry version changes
//! (polled every `registry.reload_interval_secs`), so admin changes need no restart.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

pub use acs_auth_providers::{BuiltProvider, Check};
use acs_auth_providers::{IdentityProvider, ProviderContext, VerifyError};
use arc_swap::ArcSwap;
use chrono::Utc;

use crate::config::{AccessSettings, AcsSettings, Settings, TenantSettings, TokenPolicySettings};
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
    /// Names the provider configuration the tenant was built from: equal for equal
    /// configurations, different when it changes. Whoever keeps a verdict of `provider`
    /// (the verified-token cache) keys it by this.
    pub provider_version: ProviderVersion,
    fingerprint: String,
}

/// The SHA-256 of a tenant's serialized [`acs_auth_providers::ProviderConfig`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProviderVersion([u8; 32]);

impl ProviderVersion {
    /// The version of `settings`' provider configuration.
    pub fn of(settings: &TenantSettings) -> Self {
        use sha2::Digest;
        let serialized = serde_json::to_vec(&settings.provider).unwrap_or_default();
        Self(sha2::Sha256::digest(serialized).into())
    }
}

impl std::fmt::Debug for ProviderVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProviderVersion(")?;
        for byte in &self.0[..6] {
            write!(f, "{byte:02x}")?;
        }
        f.write_str("…)")
    }
}

/// What one reload of the registry changed: tenants rebuilt (their settings changed: provider,
/// enabled flag, policies, …) and tenants gone. Given to the listeners of
/// [`TenantDirectory::on_change`] right after the new registry is in place.
#[derive(Debug, Default)]
pub struct RegistryChange {
    /// Tenants that existed before and were rebuilt, as they are now.
    pub changed: Vec<Arc<Tenant>>,
    /// Tenants that no longer exist.
    pub removed: Vec<TenantId>,
}

impl RegistryChange {
    fn between(previous: &TenantRegistry, current: &HashMap<String, Arc<Tenant>>) -> Self {
        let mut change = Self::default();
        for (id, old) in &previous.tenants {
            match current.get(id) {
                Some(new) if Arc::ptr_eq(old, new) => {}
                Some(new) => change.changed.push(Arc::clone(new)),
                None => change.removed.push(old.id.clone()),
            }
        }
        change
    }

    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.removed.is_empty()
    }
}

/// Told of every [`RegistryChange`]; must be quick (it runs inside the reload).
pub type ChangeListener = Box<dyn Fn(&RegistryChange) + Send + Sync>;

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

/// The live tenant registry: a snapshot swapped atomically on reload.
pub struct TenantDirectory {
    current: ArcSwap<TenantRegistry>,
    file_tenants: Vec<TenantSettings>,
    default_tenant: Option<String>,
    factory: ProviderContext,
    /// The client of tenants' own ACS resources (ACS endpoints are the operator's: unguarded).
    acs_http: reqwest::Client,
    resources: Arc<AcsResources>,
    store: Store,
    loaded_version: AtomicI64,
    reload_lock: tokio::sync::Mutex<()>,
    listeners: Mutex<Vec<ChangeListener>>,
}

impl TenantDirectory {
    /// Builds the registry from the file's tenants and the database's. A file tenant that
    /// cannot be built stops start-up; a stored one is logged and left out.
    pub async fn load(
        settings: &Settings,
        store: Store,
        factory: ProviderContext,
        acs_http: reqwest::Client,
        resources: Arc<AcsResources>,
    ) -> Result<Arc<Self>, TenantError> {
        let dir = Arc::new(Self {
            current: ArcSwap::from_pointee(TenantRegistry::default()),
            file_tenants: settings.tenants.clone(),
            default_tenant: settings.default_tenant.clone(),
            factory,
            acs_http,
            resources,
            store,
            loaded_version: AtomicI64::new(i64::MIN),
            reload_lock: tokio::sync::Mutex::new(()),
            listeners: Mutex::new(Vec::new()),
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

    pub fn factory(&self) -> &ProviderContext {
        &self.factory
    }

    /// Calls `listener` after every reload that rebuilt or removed a tenant (the registry
    /// knows nothing of who listens: this is how what lies above it hears of changes).
    pub fn on_change(&self, listener: impl Fn(&RegistryChange) + Send + Sync + 'static) {
        self.listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Box::new(listener));
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
        let change = RegistryChange::between(&previous, &tenants);
        self.current.store(Arc::new(TenantRegistry {
            tenants,
            default_tenant: self.default_tenant.clone(),
        }));
        self.loaded_version.store(version, Ordering::SeqCst);
        if !change.is_empty() {
            for listener in self
                .listeners
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
            {
                listener(&change);
            }
        }
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
        } = t
            .provider
            .build(&self.factory)
            .map_err(|source| TenantError::Provider {
                tenant: t.id.clone(),
                source,
            })?;
        let acs_resource = match &t.acs {
            Some(acs) => {
                let r =
                    AcsResource::from_settings(&self.acs_http, acs, None).map_err(|source| {
                        TenantError::Acs {
                            tenant: t.id.clone(),
                            source,
                        }
                    })?;
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
            provider_version: ProviderVersion::of(t),
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
                            AcsResource::from_settings(&self.acs_http, &s, Some(row.name.clone()))
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

/// Fetches the tenant's discovery documents and keys and reports each step, issuing nothing.
pub async fn check(ctx: &ProviderContext, t: &TenantSettings) -> Vec<Check> {
    t.provider.check(ctx).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TokenPolicySettings;
    use acs_auth_providers::{OidcConfig, ProviderConfig};

    fn tenant(audience: &str) -> TenantSettings {
        TenantSettings {
            id: "acme".into(),
            display_name: None,
            enabled: true,
            provider: ProviderConfig::Oidc(OidcConfig::new(
                "https://idp.example",
                vec![audience.to_owned()],
            )),
            access: Default::default(),
            tokens: TokenPolicySettings::default(),
            acs: None,
        }
    }

    #[test]
    fn the_provider_version_follows_the_provider_configuration_only() {
        let base = ProviderVersion::of(&tenant("api://a"));
        assert_eq!(base, ProviderVersion::of(&tenant("api://a")));
        let mut renamed = tenant("api://a");
        renamed.display_name = Some("Acme".into());
        renamed.enabled = false;
        renamed.access.required_scopes = vec!["x".into()];
        assert_eq!(base, ProviderVersion::of(&renamed));
        assert_ne!(base, ProviderVersion::of(&tenant("api://b")));
        assert!(format!("{base:?}").starts_with("ProviderVersion("));
    }
}
