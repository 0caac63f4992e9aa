//! Tenant administration: onboarding, changes, removal, checks and erasure. Every change is
//! stored, takes effect on this replica at once and on the others within the registry's poll
//! interval, and is audited.

use std::sync::Arc;

use chrono::Utc;

use super::audit::actions;
use super::{AuditLog, DeleteOutcome, DeletionWorker, ServiceError, TokenService};
use crate::config::TenantSettings;
use crate::registry::{Check, Tenant, TenantDirectory, stored_settings};
use crate::store::admin::{AuditEvent, AuditFilter, NewAuditEvent, StoredTenant, TenantRow};
use crate::store::{Mapping, Store, StoreError};

/// Who did it and in which request, for the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    pub request_id: Option<String>,
}

/// A tenant as the admin API shows it.
#[derive(Debug, Clone)]
pub struct TenantRecord {
    pub settings: TenantSettings,
    pub from_file: bool,
    pub stored: Option<StoredTenant>,
    /// Whether the running registry serves it (a stored tenant whose provider cannot be built
    /// is left out).
    pub active: bool,
}

#[derive(Debug, Clone, Copy)]
enum Write {
    Create,
    Update,
}

/// What deleting a tenant did.
#[derive(Debug, Clone, Copy)]
pub struct TenantDeletion {
    pub identities: usize,
    pub confirmed: usize,
}

#[derive(Clone)]
pub struct TenantAdmin {
    store: Store,
    tenants: Arc<TenantDirectory>,
    tokens: TokenService,
    deletions: DeletionWorker,
    audit: AuditLog,
}

impl TenantAdmin {
    pub fn new(
        store: Store,
        tenants: Arc<TenantDirectory>,
        tokens: TokenService,
        deletions: DeletionWorker,
        audit: AuditLog,
    ) -> Self {
        Self {
            store,
            tenants,
            tokens,
            deletions,
            audit,
        }
    }

    async fn record(&self, actor: &Actor, tenant: &str, action: &str, detail: Option<String>) {
        self.audit
            .record(NewAuditEvent {
                tenant_id: Some(tenant.to_owned()),
                actor: actor.name.clone(),
                action: action.into(),
                target: Some(tenant.to_owned()),
                detail,
                request_id: actor.request_id.clone(),
            })
            .await;
    }

    /// Every tenant, file and database, in id order; `after` pages.
    pub async fn list(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TenantRecord>, ServiceError> {
        let mut records = self.all_records().await?;
        records.retain(|r| after.is_none_or(|a| r.settings.id.as_str() > a));
        records.truncate(limit);
        Ok(records)
    }

    async fn all_records(&self) -> Result<Vec<TenantRecord>, ServiceError> {
        let registry = self.tenants.snapshot();
        let mut records: Vec<TenantRecord> = Vec::new();
        for t in registry.all() {
            if t.source == crate::registry::TenantSource::File {
                records.push(TenantRecord {
                    settings: t.settings.clone(),
                    from_file: true,
                    stored: None,
                    active: true,
                });
            }
        }
        for row in self.store.all_tenants().await? {
            if self.tenants.is_file_tenant(&row.id) {
                continue;
            }
            let settings = stored_settings(&row)?;
            records.push(TenantRecord {
                active: registry.get(&row.id).is_some(),
                settings,
                from_file: false,
                stored: Some(row),
            });
        }
        records.sort_by(|a, b| a.settings.id.cmp(&b.settings.id));
        Ok(records)
    }

    pub async fn get(&self, id: &str) -> Result<TenantRecord, ServiceError> {
        if let Some(t) = self.tenants.get(id)
            && t.source == crate::registry::TenantSource::File
        {
            return Ok(TenantRecord {
                settings: t.settings.clone(),
                from_file: true,
                stored: None,
                active: true,
            });
        }
        let row = self
            .store
            .get_tenant(id)
            .await?
            .ok_or_else(|| ServiceError::TenantNotFound(id.to_owned()))?;
        Ok(TenantRecord {
            settings: stored_settings(&row)?,
            from_file: false,
            active: self.tenants.get(id).is_some(),
            stored: Some(row),
        })
    }

    /// Checks everything that can be checked before storing: the settings, and that the
    /// provider and ACS resource can be built.
    fn validate(&self, settings: &TenantSettings) -> Result<(), ServiceError> {
        settings.validate("")?;
        self.tenants.build_tenant(settings)?;
        Ok(())
    }

    fn row(settings: &TenantSettings) -> Result<TenantRow, ServiceError> {
        let config = serde_json::to_string(settings).map_err(|e| ServiceError::TenantInvalid {
            key: "body".into(),
            message: e.to_string(),
        })?;
        Ok(TenantRow {
            id: settings.id.clone(),
            display_name: settings
                .display_name
                .clone()
                .unwrap_or_else(|| settings.id.clone()),
            enabled: settings.enabled,
            config,
        })
    }

    pub async fn create(
        &self,
        settings: TenantSettings,
        actor: &Actor,
    ) -> Result<TenantRecord, ServiceError> {
        self.write(settings, actor, Write::Create).await
    }

    pub async fn update(
        &self,
        settings: TenantSettings,
        actor: &Actor,
    ) -> Result<TenantRecord, ServiceError> {
        self.write(settings, actor, Write::Update).await
    }

    /// Validates, stores, applies (this replica at once) and audits one tenant's settings.
    async fn write(
        &self,
        settings: TenantSettings,
        actor: &Actor,
        write: Write,
    ) -> Result<TenantRecord, ServiceError> {
        self.validate(&settings)?;
        if self.tenants.is_file_tenant(&settings.id) {
            return Err(ServiceError::TenantManagedByConfig(settings.id));
        }
        let id = settings.id.clone();
        let row = Self::row(&settings)?;
        let (stored, action) = match write {
            Write::Create => (
                self.store.insert_tenant(row, Utc::now()).await,
                actions::TENANT_CREATED,
            ),
            Write::Update => (
                self.store.update_tenant(row, Utc::now()).await,
                actions::TENANT_UPDATED,
            ),
        };
        match stored {
            Ok(_) => {}
            Err(StoreError::Conflict) => return Err(ServiceError::TenantExists(id)),
            Err(StoreError::NotFound) => return Err(ServiceError::TenantNotFound(id)),
            Err(e) => return Err(e.into()),
        }
        self.tenants.reload().await?;
        self.record(actor, &id, action, Some(summary(&settings)))
            .await;
        self.get(&id).await
    }

    pub async fn set_enabled(
        &self,
        id: &str,
        enabled: bool,
        actor: &Actor,
    ) -> Result<TenantRecord, ServiceError> {
        let mut record = self.get(id).await?;
        if record.from_file {
            return Err(ServiceError::TenantManagedByConfig(id.to_owned()));
        }
        record.settings.enabled = enabled;
        self.update(record.settings, actor).await
    }

    /// Removes a stored tenant and every mapping of it; each ACS identity is deleted (or queued
    /// for deletion) with the guarantees of deleteUser.
    pub async fn delete(&self, id: &str, actor: &Actor) -> Result<TenantDeletion, ServiceError> {
        if self.tenants.is_file_tenant(id) {
            return Err(ServiceError::TenantManagedByConfig(id.to_owned()));
        }
        let pending = match self.store.delete_tenant_and_enqueue(id, Utc::now()).await {
            Ok(p) => p,
            Err(StoreError::NotFound) => return Err(ServiceError::TenantNotFound(id.to_owned())),
            Err(e) => return Err(e.into()),
        };
        self.tenants.reload().await?;
        // A link left open would bring the tenant back on activation.
        let revoked = self
            .store
            .revoke_setup_links_of_tenant(id, Utc::now())
            .await?;
        self.tokens
            .forget_tenant(id, pending.iter().map(|p| p.acs_user_id.as_str()))
            .await;
        let mut confirmed = 0;
        for p in &pending {
            if self.deletions.attempt(p).await {
                confirmed += 1;
            }
        }
        self.record(
            actor,
            id,
            actions::TENANT_DELETED,
            Some(
                serde_json::json!({
                    "identities": pending.len(),
                    "confirmed": confirmed,
                    "setup_links_revoked": revoked,
                })
                .to_string(),
            ),
        )
        .await;
        Ok(TenantDeletion {
            identities: pending.len(),
            confirmed,
        })
    }

    /// Fetches the tenant's discovery documents and keys, issuing nothing.
    pub async fn check(&self, id: &str) -> Result<Vec<Check>, ServiceError> {
        let record = self.get(id).await?;
        Ok(crate::registry::check(self.tenants.factory(), &record.settings).await)
    }

    /// Would the tenant accept `token`? Every check, in order ([`super::dry_run`]); nothing is
    /// issued or stored. Audited with the verdict, never the token.
    pub async fn verify_token(
        &self,
        id: &str,
        token: &str,
        actor: &Actor,
    ) -> Result<super::dry_run::DryRun, ServiceError> {
        let tenant = self.tenant(id)?;
        let report = super::dry_run::dry_run(&tenant, token).await;
        let refused = report.checks.iter().find(|c| !c.ok).map(|c| c.name);
        let detail = serde_json::json!({ "valid": report.valid, "refused_by": refused });
        self.record(actor, id, "tenant.token_dry_run", Some(detail.to_string()))
            .await;
        Ok(report)
    }

    fn tenant(&self, id: &str) -> Result<Arc<Tenant>, ServiceError> {
        self.tenants
            .get(id)
            .ok_or_else(|| ServiceError::TenantNotFound(id.to_owned()))
    }

    pub async fn mappings(
        &self,
        id: &str,
        after: Option<i64>,
        limit: u64,
    ) -> Result<Vec<Mapping>, ServiceError> {
        self.known(id).await?;
        Ok(self.store.mappings_page(id, after, limit).await?)
    }

    /// The subject's mappings (one per issuer key it signed in with); `SubjectNotFound` when
    /// it has none.
    pub async fn mappings_of_subject(
        &self,
        id: &str,
        subject: &str,
    ) -> Result<Vec<Mapping>, ServiceError> {
        self.known(id).await?;
        let mappings = self.store.mappings_by_subject(id, subject).await?;
        if mappings.is_empty() {
            return Err(ServiceError::SubjectNotFound);
        }
        Ok(mappings)
    }

    /// The operator's erasure path: every mapping of `subject` in the tenant goes, with the
    /// guarantees of deleteUser. `SubjectNotFound` when the subject has no mapping.
    pub async fn erase_subject(
        &self,
        id: &str,
        subject: &str,
        actor: &Actor,
    ) -> Result<DeleteOutcome, ServiceError> {
        let mappings = self.mappings_of_subject(id, subject).await?;
        let mut outcome = DeleteOutcome::Deleted;
        for m in &mappings {
            match self
                .tokens
                .delete_mapping(m, &actor.name, actor.request_id.as_deref())
                .await
            {
                Ok(DeleteOutcome::Queued) => outcome = DeleteOutcome::Queued,
                Ok(DeleteOutcome::Deleted) | Err(ServiceError::UserNotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(outcome)
    }

    /// Audit events matching `filter`, newest first.
    pub async fn audit(
        &self,
        filter: &AuditFilter,
        limit: u64,
    ) -> Result<Vec<AuditEvent>, ServiceError> {
        Ok(self.store.audit_page(filter, limit).await?)
    }

    /// A tenant that exists (served, or stored but not buildable).
    async fn known(&self, id: &str) -> Result<(), ServiceError> {
        if self.tenant(id).is_ok() || self.store.get_tenant(id).await?.is_some() {
            Ok(())
        } else {
            Err(ServiceError::TenantNotFound(id.to_owned()))
        }
    }
}

/// What the audit log says about a tenant's settings: never secrets.
fn summary(settings: &TenantSettings) -> String {
    serde_json::json!({
        "enabled": settings.enabled,
        "provider": settings.provider.kind(),
        "issuer": settings.provider.describe(),
        "ownAcsResource": settings.acs.is_some(),
    })
    .to_string()
}
