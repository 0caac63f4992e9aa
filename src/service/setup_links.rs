//! Self-service onboarding: setup links. The operator makes a link for one tenant; the
//! customer's IT admin opens it, enters their identity provider, tests the connection and a
//! sign-in, and submits; the configuration waits as pending until the operator activates it
//! (or at once, for a link made with `auto_activate`). The link's secret is stored only as its
//! SHA-256, is bound to its tenant, expires, can be revoked and is spent by activation. Every
//! step is audited and counted; a link can read or change nothing but its own tenant's provider.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use acs_auth_providers::{Check, ProviderConfig};
use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;

use super::audit::actions;
use super::dry_run::{DryRun, dry_run};
use super::tenant_admin::TenantRecord;
use super::{Actor, AuditLog, Clock, ServiceError, TenantAdmin};
use crate::config::{MAX_LINK_LIFETIME_HOURS, SetupSettings, TenantSettings, validate_tenant_id};
use crate::registry::{Tenant, TenantDirectory};
use crate::secrets::{is_token_shaped, random_token, sha256_hex};
use crate::store::admin::NewAuditEvent;
use crate::store::setup_links::{NewSetupLink, SetupLinkRow};
use crate::store::{Store, StoreError};

/// Where a link is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Usable; nothing submitted yet.
    Open,
    /// A configuration waits for activation (the link stays usable: a new submission replaces it).
    Submitted,
    /// The submitted configuration is the tenant's provider; the link is spent.
    Activated,
    Revoked,
    Expired,
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Open => "open",
            LinkState::Submitted => "submitted",
            LinkState::Activated => "activated",
            LinkState::Revoked => "revoked",
            LinkState::Expired => "expired",
        }
    }

    /// Whether the customer can still use the link.
    pub fn is_usable(self) -> bool {
        matches!(self, LinkState::Open | LinkState::Submitted)
    }
}

/// A setup link as the admin API and the portal show it (never its secret).
#[derive(Debug, Clone)]
pub struct SetupLink {
    pub id: String,
    pub tenant_id: String,
    pub display_name: Option<String>,
    pub auto_activate: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub opened_at: Option<DateTime<Utc>>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub activated_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub state: LinkState,
    /// The submitted configuration, waiting for activation (or activated).
    pub pending: Option<ProviderConfig>,
}

impl SetupLink {
    fn of(row: SetupLinkRow, now: DateTime<Utc>) -> Self {
        let state = if row.activated_at.is_some() {
            LinkState::Activated
        } else if row.revoked_at.is_some() {
            LinkState::Revoked
        } else if row.expires_at <= now {
            LinkState::Expired
        } else if row.submitted_at.is_some() {
            LinkState::Submitted
        } else {
            LinkState::Open
        };
        let pending = row.pending_provider.as_deref().and_then(|json| {
            serde_json::from_str(json)
                .inspect_err(|e| tracing::error!(link = %row.id, error = %e, "a stored setup link's configuration cannot be read"))
                .ok()
        });
        Self {
            id: row.id,
            tenant_id: row.tenant_id,
            display_name: row.display_name,
            auto_activate: row.auto_activate,
            created_by: row.created_by,
            created_at: row.created_at,
            expires_at: row.expires_at,
            opened_at: row.opened_at,
            submitted_at: row.submitted_at,
            activated_at: row.activated_at,
            revoked_at: row.revoked_at,
            state,
            pending,
        }
    }
}

/// A new link and its secret (shown once, in the URL; only its hash is stored).
#[derive(Debug)]
pub struct CreatedLink {
    pub link: SetupLink,
    pub secret: SecretString,
}

/// What the operator chooses when making a link.
#[derive(Debug, Clone, Default)]
pub struct LinkOptions {
    /// Lifetime in hours, 1–720 (default `setup.link_lifetime_hours`).
    pub lifetime_hours: Option<u32>,
    /// Activate a submitted configuration without the operator.
    pub auto_activate: bool,
    /// The display name of a tenant the link creates (ignored for an existing tenant).
    pub display_name: Option<String>,
}

/// Why the portal cannot use a link.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// No link has this secret.
    #[error("no such setup link")]
    Unknown,
    /// The link was revoked, has expired or was spent by activation.
    #[error("the setup link is {}", .0.state.as_str())]
    Closed(Box<SetupLink>),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// What a submission did.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub link: SetupLink,
    /// The tenant, when the link activates submissions at once.
    pub activated: Option<TenantRecord>,
}

/// Links created, opened (first time), submitted and activated.
#[derive(Debug, Default)]
pub struct SetupCounters {
    created: AtomicU64,
    opened: AtomicU64,
    submitted: AtomicU64,
    activated: AtomicU64,
}

/// A snapshot of [`SetupCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetupCounts {
    pub created: u64,
    pub opened: u64,
    pub submitted: u64,
    pub activated: u64,
}

impl SetupCounters {
    pub fn counts(&self) -> SetupCounts {
        SetupCounts {
            created: self.created.load(Ordering::Relaxed),
            opened: self.opened.load(Ordering::Relaxed),
            submitted: self.submitted.load(Ordering::Relaxed),
            activated: self.activated.load(Ordering::Relaxed),
        }
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

#[derive(Clone)]
pub struct SetupLinks {
    store: Store,
    tenants: Arc<TenantDirectory>,
    admin: TenantAdmin,
    audit: AuditLog,
    settings: SetupSettings,
    clock: Clock,
    counters: Arc<SetupCounters>,
}

impl SetupLinks {
    pub fn new(
        store: Store,
        tenants: Arc<TenantDirectory>,
        admin: TenantAdmin,
        audit: AuditLog,
        settings: SetupSettings,
        clock: Clock,
    ) -> Self {
        Self {
            store,
            tenants,
            admin,
            audit,
            settings,
            clock,
            counters: Arc::default(),
        }
    }

    pub fn settings(&self) -> &SetupSettings {
        &self.settings
    }

    pub fn counters(&self) -> Arc<SetupCounters> {
        Arc::clone(&self.counters)
    }

    fn now(&self) -> DateTime<Utc> {
        DateTime::<Utc>::from(self.clock.now())
    }

    async fn record(
        &self,
        actor: &Actor,
        link: &SetupLink,
        action: &str,
        detail: serde_json::Value,
    ) {
        self.audit
            .record(NewAuditEvent {
                tenant_id: Some(link.tenant_id.clone()),
                actor: actor.name.clone(),
                action: action.into(),
                target: Some(format!("setup_link:{}", link.id)),
                detail: Some(detail.to_string()),
                request_id: actor.request_id.clone(),
            })
            .await;
    }

    /// A tenant a link may be made for: a stored one, or one that does not exist yet (the link
    /// creates it); never a tenant of the configuration file.
    fn check_tenant(&self, tenant: &str) -> Result<(), ServiceError> {
        validate_tenant_id(tenant).map_err(|message| ServiceError::TenantInvalid {
            key: "tenant".into(),
            message,
        })?;
        if self.tenants.is_file_tenant(tenant) {
            return Err(ServiceError::TenantManagedByConfig(tenant.to_owned()));
        }
        Ok(())
    }

    pub async fn create(
        &self,
        tenant: &str,
        options: LinkOptions,
        actor: &Actor,
    ) -> Result<CreatedLink, ServiceError> {
        self.check_tenant(tenant)?;
        let hours = options
            .lifetime_hours
            .unwrap_or(self.settings.link_lifetime_hours);
        if !(1..=MAX_LINK_LIFETIME_HOURS).contains(&hours) {
            return Err(ServiceError::InvalidRequest {
                field: "expires_in_hours",
                message: format!("must be 1–{MAX_LINK_LIFETIME_HOURS}"),
            });
        }
        if let Some(name) = &options.display_name {
            crate::domain::check_display_name(name).map_err(|message| {
                ServiceError::InvalidRequest {
                    field: "display_name",
                    message,
                }
            })?;
        }
        let now = self.now();
        let secret = random_token();
        let row = self
            .store
            .insert_setup_link(
                NewSetupLink {
                    id: uuid::Uuid::new_v4().to_string(),
                    tenant_id: tenant.to_owned(),
                    token_hash: sha256_hex(&secret),
                    display_name: options.display_name,
                    auto_activate: options.auto_activate,
                    created_by: actor.name.clone(),
                    expires_at: now + Duration::hours(i64::from(hours)),
                },
                now,
            )
            .await?;
        let link = SetupLink::of(row, now);
        bump(&self.counters.created);
        self.record(
            actor,
            &link,
            actions::SETUP_LINK_CREATED,
            serde_json::json!({
                "expires_at": link.expires_at.to_rfc3339(),
                "auto_activate": link.auto_activate,
            }),
        )
        .await;
        Ok(CreatedLink {
            link,
            secret: SecretString::from(secret),
        })
    }

    /// The tenant's links, newest first (`TenantNotFound` for a tenant with neither a record nor
    /// links).
    pub async fn list(&self, tenant: &str) -> Result<Vec<SetupLink>, ServiceError> {
        let now = self.now();
        let links: Vec<SetupLink> = self
            .store
            .setup_links_of_tenant(tenant)
            .await?
            .into_iter()
            .map(|row| SetupLink::of(row, now))
            .collect();
        if links.is_empty() {
            self.admin.get(tenant).await?;
        }
        Ok(links)
    }

    /// One link of the tenant (`SetupLinkNotFound` also when it belongs to another tenant).
    pub async fn get(&self, tenant: &str, id: &str) -> Result<SetupLink, ServiceError> {
        let now = self.now();
        match self.store.setup_link(id).await? {
            Some(row) if row.tenant_id == tenant => Ok(SetupLink::of(row, now)),
            _ => Err(ServiceError::SetupLinkNotFound),
        }
    }

    pub async fn revoke(
        &self,
        tenant: &str,
        id: &str,
        actor: &Actor,
    ) -> Result<SetupLink, ServiceError> {
        let link = self.get(tenant, id).await?;
        if !self.store.revoke_setup_link(id, self.now()).await? {
            let link = self.get(tenant, id).await?;
            return Err(ServiceError::SetupLinkClosed(link.state.as_str()));
        }
        self.record(
            actor,
            &link,
            actions::SETUP_LINK_REVOKED,
            serde_json::json!({}),
        )
        .await;
        self.get(tenant, id).await
    }

    /// Makes the link's submitted configuration the tenant's provider (creating the tenant
    /// when the link was made for a new one). The operator may activate a submission after the
    /// link expired; never a revoked link's, and each submission at most once.
    pub async fn activate(
        &self,
        tenant: &str,
        id: &str,
        actor: &Actor,
    ) -> Result<TenantRecord, ServiceError> {
        let link = self.get(tenant, id).await?;
        match link.state {
            LinkState::Activated | LinkState::Revoked => {
                return Err(ServiceError::SetupLinkClosed(link.state.as_str()));
            }
            LinkState::Open | LinkState::Submitted | LinkState::Expired => {}
        }
        let (Some(provider), Some(submitted_at)) = (link.pending.clone(), link.submitted_at) else {
            return Err(ServiceError::SetupLinkNotSubmitted);
        };
        if !self
            .store
            .claim_setup_link_activation(id, submitted_at, self.now())
            .await?
        {
            // Revoked, activated or replaced by a new submission meanwhile.
            let now = self.get(tenant, id).await?;
            return Err(match now.state {
                LinkState::Activated | LinkState::Revoked => {
                    ServiceError::SetupLinkClosed(now.state.as_str())
                }
                _ => ServiceError::SetupLinkChanged,
            });
        }
        // The operator's network permissions as they are now, not as they were at submission.
        let provider = self.confine(provider);
        let written = self.write_tenant(&link, provider.clone(), actor).await;
        let record = match written {
            Ok(record) => record,
            Err(e) => {
                if let Err(release) = self.store.release_setup_link_activation(id).await {
                    tracing::error!(link = %id, error = %release, "a failed activation could not be released");
                }
                return Err(e);
            }
        };
        bump(&self.counters.activated);
        self.record(
            actor,
            &link,
            actions::SETUP_LINK_ACTIVATED,
            serde_json::json!({"provider": provider.kind(), "issuer": provider.describe()}),
        )
        .await;
        Ok(record)
    }

    /// The settings the tenant would have with `provider`: its stored settings with the
    /// provider replaced, or a new tenant's defaults.
    async fn settings_with(
        &self,
        link: &SetupLink,
        provider: ProviderConfig,
    ) -> Result<(TenantSettings, bool), ServiceError> {
        match self.admin.get(&link.tenant_id).await {
            Ok(record) if record.from_file => {
                Err(ServiceError::TenantManagedByConfig(link.tenant_id.clone()))
            }
            Ok(record) => Ok((
                TenantSettings {
                    provider,
                    ..record.settings
                },
                true,
            )),
            Err(ServiceError::TenantNotFound(_)) => Ok((
                TenantSettings {
                    display_name: link.display_name.clone(),
                    ..TenantSettings::new(link.tenant_id.clone(), provider)
                },
                false,
            )),
            Err(e) => Err(e),
        }
    }

    async fn write_tenant(
        &self,
        link: &SetupLink,
        provider: ProviderConfig,
        actor: &Actor,
    ) -> Result<TenantRecord, ServiceError> {
        let (settings, exists) = self.settings_with(link, provider.clone()).await?;
        if exists {
            return self.admin.update(settings, actor).await;
        }
        match self.admin.create(settings, actor).await {
            // Created meanwhile (by the operator, or another link): replace its provider.
            Err(ServiceError::TenantExists(_)) => {
                let (settings, _) = self.settings_with(link, provider).await?;
                self.admin.update(settings, actor).await
            }
            other => other,
        }
    }

    // The portal's side: everything below starts from the link's secret.

    /// The link with this secret, if the customer can use it. The first opening is recorded.
    pub async fn open(&self, secret: &str, actor: &Actor) -> Result<SetupLink, PortalError> {
        if !is_token_shaped(secret) {
            return Err(PortalError::Unknown);
        }
        let now = self.now();
        let row = self
            .store
            .setup_link_by_hash(&sha256_hex(secret))
            .await?
            .ok_or(PortalError::Unknown)?;
        let link = SetupLink::of(row, now);
        if !link.state.is_usable() {
            return Err(PortalError::Closed(Box::new(link)));
        }
        if link.opened_at.is_none() && self.store.mark_setup_link_opened(&link.id, now).await? {
            bump(&self.counters.opened);
            self.record(
                actor,
                &link,
                actions::SETUP_LINK_OPENED,
                serde_json::json!({}),
            )
            .await;
        }
        Ok(link)
    }

    /// The tenant's display name for the portal's heading.
    pub async fn tenant_name(&self, link: &SetupLink) -> String {
        match self.admin.get(&link.tenant_id).await {
            Ok(record) => record
                .settings
                .display_name
                .unwrap_or_else(|| link.tenant_id.clone()),
            Err(_) => link
                .display_name
                .clone()
                .unwrap_or_else(|| link.tenant_id.clone()),
        }
    }

    /// The configuration as the portal may use it: its network permissions are the operator's
    /// (`setup.allow_http_issuers`, `setup.allow_private_network_issuers`), never the customer's.
    pub fn confine(&self, provider: ProviderConfig) -> ProviderConfig {
        let http = self.settings.allow_http_issuers;
        let private = self.settings.allow_private_network_issuers;
        match provider {
            ProviderConfig::Oidc(mut p) => {
                p.allow_http = http;
                p.allow_private_network = private;
                ProviderConfig::Oidc(p)
            }
            ProviderConfig::Aad(mut p) => {
                p.allow_http = http;
                p.allow_private_network = private;
                p.authority_host = acs_auth_providers::aad::DEFAULT_AUTHORITY_HOST.to_owned();
                ProviderConfig::Aad(p)
            }
            ProviderConfig::AadB2c(mut p) => {
                p.allow_http = http;
                p.allow_private_network = private;
                ProviderConfig::AadB2c(p)
            }
        }
    }

    /// Checks the configuration as activation would (settings, then building the provider);
    /// `TenantInvalid` names the field (`provider.issuer`, …).
    pub async fn validate(
        &self,
        link: &SetupLink,
        provider: ProviderConfig,
    ) -> Result<TenantSettings, ServiceError> {
        Ok(self.build(link, provider).await?.0)
    }

    /// The tenant's settings with `provider` (confined), checked, and the tenant they build.
    async fn build(
        &self,
        link: &SetupLink,
        provider: ProviderConfig,
    ) -> Result<(TenantSettings, Tenant), ServiceError> {
        let (settings, _) = self.settings_with(link, self.confine(provider)).await?;
        settings.validate("")?;
        let tenant = self.tenants.build_tenant(&settings)?;
        Ok((settings, tenant))
    }

    /// The discovery and key-set verdicts of the configuration (the tenant check).
    pub async fn test_connection(
        &self,
        link: &SetupLink,
        provider: ProviderConfig,
    ) -> Result<Vec<Check>, ServiceError> {
        let settings = self.validate(link, provider).await?;
        Ok(crate::registry::check(self.tenants.factory(), &settings).await)
    }

    /// The dry-run of `token` against the tenant with this configuration; nothing is issued.
    pub async fn test_sign_in(
        &self,
        link: &SetupLink,
        provider: ProviderConfig,
        token: &str,
        actor: &Actor,
    ) -> Result<DryRun, ServiceError> {
        let (_, tenant) = self.build(link, provider).await?;
        let report = dry_run(&tenant, token).await;
        let refused = report.checks.iter().find(|c| !c.ok).map(|c| c.name);
        self.record(
            actor,
            link,
            "setup_link.sign_in_tested",
            serde_json::json!({"valid": report.valid, "refused_by": refused}),
        )
        .await;
        Ok(report)
    }

    /// Stores the configuration as the link's pending one (replacing an earlier submission);
    /// a link made with `auto_activate` activates it at once.
    pub async fn submit(
        &self,
        link: &SetupLink,
        provider: ProviderConfig,
        actor: &Actor,
    ) -> Result<Submitted, PortalError> {
        let settings = self.validate(link, provider).await?;
        let json =
            serde_json::to_string(&settings.provider).map_err(|e| ServiceError::TenantInvalid {
                key: "provider".into(),
                message: e.to_string(),
            })?;
        let stored = self
            .store
            .submit_setup_link(&link.id, json, self.now())
            .await?;
        let current = self.get(&link.tenant_id, &link.id).await?;
        if !stored {
            return Err(PortalError::Closed(Box::new(current)));
        }
        bump(&self.counters.submitted);
        self.record(
            actor,
            &current,
            actions::SETUP_LINK_SUBMITTED,
            serde_json::json!({
                "provider": settings.provider.kind(),
                "issuer": settings.provider.describe(),
            }),
        )
        .await;
        let activated = if current.auto_activate {
            let record = self.activate(&link.tenant_id, &link.id, actor).await?;
            Some(record)
        } else {
            None
        };
        Ok(Submitted {
            link: self.get(&link.tenant_id, &link.id).await?,
            activated,
        })
    }
}

impl From<StoreError> for PortalError {
    fn from(e: StoreError) -> Self {
        PortalError::Service(e.into())
    }
}
