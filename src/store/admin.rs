//! Queries behind the admin API: tenants, their mappings, the audit log, ACS resources.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::changes::{self, ChangeKind};
use super::entities::{acs_resource, audit_event, identity_mapping, tenant, tenant_registry};
use super::{
    DeletionReason, Mapping, NAME_LEN, Store, StoreError, TENANT_ID_LEN, check_len, db_time, exec,
    insert_pending, is_unique_violation, statement,
};

pub use audit_event::Model as AuditEvent;
pub use tenant::Model as StoredTenant;

/// A tenant row about to be written.
#[derive(Debug, Clone)]
pub struct TenantRow {
    pub id: String,
    pub display_name: String,
    pub enabled: bool,
    pub config: String,
}

/// An audit event about to be written.
#[derive(Debug, Clone, Default)]
pub struct NewAuditEvent {
    pub tenant_id: Option<String>,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
    pub request_id: Option<String>,
}

/// Which audit events to list (newest first).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub tenant_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Only events older than this id (the previous page's last id).
    pub before_id: Option<i64>,
}

async fn bump_version(txn: &DatabaseTransaction) -> Result<(), StoreError> {
    tenant_registry::Entity::update_many()
        .col_expr(
            tenant_registry::Column::Version,
            Expr::col(tenant_registry::Column::Version).add(1),
        )
        .filter(tenant_registry::Column::Id.eq(1))
        .exec(txn)
        .await?;
    Ok(())
}

impl Store {
    /// Bumped by every tenant change; replicas poll it to notice changes.
    pub async fn registry_version(&self) -> Result<i64, StoreError> {
        Ok(tenant_registry::Entity::find_by_id(1)
            .one(&self.db)
            .await?
            .map(|r| r.version)
            .unwrap_or(0))
    }

    /// Every stored tenant, by id (byte order on every backend, whatever the collation).
    pub async fn all_tenants(&self) -> Result<Vec<StoredTenant>, StoreError> {
        let mut all = tenant::Entity::find().all(&self.db).await?;
        all.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(all)
    }

    pub async fn get_tenant(&self, id: &str) -> Result<Option<StoredTenant>, StoreError> {
        Ok(tenant::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?)
    }

    /// `Conflict` when a tenant with that id is already stored (also when it is being stored
    /// concurrently: the primary key decides).
    pub async fn insert_tenant(
        &self,
        row: TenantRow,
        now: DateTime<Utc>,
    ) -> Result<StoredTenant, StoreError> {
        check_len("tenant id", &row.id, TENANT_ID_LEN)?;
        check_len("display name", &row.display_name, NAME_LEN)?;
        let now = db_time(now);
        let txn = self.begin_write().await?;
        let model = tenant::ActiveModel {
            id: Set(row.id.clone()),
            display_name: Set(row.display_name),
            enabled: Set(row.enabled),
            config: Set(row.config),
            created_at: Set(now),
            updated_at: Set(now),
        };
        match exec(&txn, &tenant::Entity::insert(model)).await {
            Ok(_) => {}
            Err(e) => {
                txn.rollback().await?;
                return Err(if is_unique_violation(&e) {
                    StoreError::Conflict
                } else {
                    e.into()
                });
            }
        }
        bump_version(&txn).await?;
        let change = changes::NewChange::tenant(ChangeKind::TenantChanged, &row.id);
        changes::append(&txn, &self.origin, change, now).await?;
        let stored = tenant::Entity::find_by_id(row.id)
            .one(&txn)
            .await?
            .ok_or(StoreError::NotFound)?;
        txn.commit().await?;
        Ok(stored)
    }

    /// Replaces a stored tenant's settings. `NotFound` when there is none.
    pub async fn update_tenant(
        &self,
        row: TenantRow,
        now: DateTime<Utc>,
    ) -> Result<StoredTenant, StoreError> {
        check_len("display name", &row.display_name, NAME_LEN)?;
        let txn = self.begin_write().await?;
        // On MySQL the affected-row count is the matched-row count (sqlx sets
        // CLIENT_FOUND_ROWS), so an update that changes nothing is not mistaken for NotFound.
        let update = tenant::Entity::update_many()
            .col_expr(tenant::Column::DisplayName, Expr::value(row.display_name))
            .col_expr(tenant::Column::Enabled, Expr::value(row.enabled))
            .col_expr(tenant::Column::Config, Expr::value(row.config))
            .col_expr(tenant::Column::UpdatedAt, Expr::value(db_time(now)))
            .filter(tenant::Column::Id.eq(&row.id));
        if exec(&txn, &update).await?.rows_affected() == 0 {
            txn.rollback().await?;
            return Err(StoreError::NotFound);
        }
        bump_version(&txn).await?;
        let change = changes::NewChange::tenant(ChangeKind::TenantChanged, &row.id);
        changes::append(&txn, &self.origin, change, now).await?;
        let stored = tenant::Entity::find_by_id(row.id)
            .one(&txn)
            .await?
            .ok_or(StoreError::NotFound)?;
        txn.commit().await?;
        Ok(stored)
    }

    /// Deletes a stored tenant and, in the same transaction, every mapping of the tenant,
    /// queueing the deletion of each ACS identity. Returns the pending deletions.
    ///
    /// The tenant's mappings are locked (`FOR UPDATE`; SQLite's write transaction is exclusive
    /// anyway) and exactly those are deleted, each with its pending row: a mapping inserted
    /// concurrently survives rather than vanishing without a pending deletion, and one deleted
    /// concurrently by deleteUser is not queued twice.
    pub async fn delete_tenant_and_enqueue(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<super::PendingDeletion>, StoreError> {
        let txn = self.begin_write().await?;
        let deleted = tenant::Entity::delete_by_id(id.to_owned())
            .exec(&txn)
            .await?;
        if deleted.rows_affected == 0 {
            txn.rollback().await?;
            return Err(StoreError::NotFound);
        }
        let mappings = identity_mapping::Entity::find()
            .filter(identity_mapping::Column::TenantId.eq(id))
            .order_by_asc(identity_mapping::Column::Id)
            .lock_exclusive()
            .all(&txn)
            .await?;
        let mut pending = Vec::with_capacity(mappings.len());
        // Bounded `IN (…)` lists (SQLite allows 32766 parameters, older builds 999).
        for chunk in mappings.chunks(500) {
            identity_mapping::Entity::delete_many()
                .filter(identity_mapping::Column::Id.is_in(chunk.iter().map(|m| m.id)))
                .exec(&txn)
                .await?;
            for m in chunk {
                pending.push(
                    insert_pending(
                        &txn,
                        &m.tenant_id,
                        &m.acs_user_id,
                        &m.acs_resource,
                        DeletionReason::TenantDeleted,
                        now,
                    )
                    .await?,
                );
            }
        }
        bump_version(&txn).await?;
        let change = changes::NewChange::tenant(ChangeKind::TenantRemoved, id);
        changes::append(&txn, &self.origin, change, now).await?;
        txn.commit().await?;
        Ok(pending)
    }

    /// A page of a tenant's mappings in id order, after `after_id`.
    pub async fn mappings_page(
        &self,
        tenant_id: &str,
        after_id: Option<i64>,
        limit: u64,
    ) -> Result<Vec<Mapping>, StoreError> {
        let mut q = identity_mapping::Entity::find()
            .filter(identity_mapping::Column::TenantId.eq(tenant_id));
        if let Some(after) = after_id {
            q = q.filter(identity_mapping::Column::Id.gt(after));
        }
        Ok(q.order_by_asc(identity_mapping::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?)
    }

    pub async fn count_mappings(&self, tenant_id: &str) -> Result<u64, StoreError> {
        Ok(identity_mapping::Entity::find()
            .filter(identity_mapping::Column::TenantId.eq(tenant_id))
            .count(&self.db)
            .await?)
    }

    /// The tenant's mappings of `subject` (one per issuer key the subject signed in with).
    pub async fn mappings_by_subject(
        &self,
        tenant_id: &str,
        subject: &str,
    ) -> Result<Vec<Mapping>, StoreError> {
        Ok(identity_mapping::Entity::find()
            .filter(identity_mapping::Column::TenantId.eq(tenant_id))
            .filter(identity_mapping::Column::Subject.eq(subject))
            .order_by_asc(identity_mapping::Column::Id)
            .all(&self.db)
            .await?)
    }

    pub async fn record_audit(
        &self,
        event: NewAuditEvent,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        record_audit(&self.db, event, now).await
    }

    /// Audit events, newest first.
    pub async fn audit_page(
        &self,
        filter: &AuditFilter,
        limit: u64,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let mut q = audit_event::Entity::find();
        if let Some(t) = &filter.tenant_id {
            q = q.filter(audit_event::Column::TenantId.eq(t));
        }
        if let Some(since) = filter.since {
            q = q.filter(audit_event::Column::At.gte(db_time(since)));
        }
        if let Some(until) = filter.until {
            q = q.filter(audit_event::Column::At.lt(db_time(until)));
        }
        if let Some(before) = filter.before_id {
            q = q.filter(audit_event::Column::Id.lt(before));
        }
        let q = q.order_by_desc(audit_event::Column::Id).limit(limit);
        Ok(audit_event::Entity::find()
            .from_raw_sql(statement(&self.db, &q))
            .all(&self.db)
            .await?)
    }

    /// Remembers how to reach an ACS resource identities were created in: inserts it, or
    /// replaces its config (and `updated_at`) when that changed; an unchanged config writes
    /// nothing. Safe to run concurrently from every replica.
    pub async fn upsert_acs_resource(
        &self,
        name: &str,
        config: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        check_len("ACS resource name", name, NAME_LEN)?;
        let now = db_time(now);
        // Two rounds: a concurrent upsert may insert the row between our update and insert.
        for _ in 0..2 {
            let update = acs_resource::Entity::update_many()
                .col_expr(acs_resource::Column::Config, Expr::value(config))
                .col_expr(acs_resource::Column::UpdatedAt, Expr::value(now))
                .filter(acs_resource::Column::Name.eq(name))
                .filter(acs_resource::Column::Config.ne(config));
            if exec(&self.db, &update).await?.rows_affected() > 0 {
                return Ok(());
            }
            if acs_resource::Entity::find_by_id(name.to_owned())
                .one(&self.db)
                .await?
                .is_some()
            {
                return Ok(());
            }
            let model = acs_resource::ActiveModel {
                name: Set(name.to_owned()),
                config: Set(config.to_owned()),
                created_at: Set(now),
                updated_at: Set(now),
            };
            match exec(&self.db, &acs_resource::Entity::insert(model)).await {
                Ok(_) => return Ok(()),
                Err(e) if is_unique_violation(&e) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Every known ACS resource, by name (byte order on every backend).
    pub async fn acs_resources(&self) -> Result<Vec<acs_resource::Model>, StoreError> {
        let mut all = acs_resource::Entity::find().all(&self.db).await?;
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }
}

pub(super) async fn record_audit<C: ConnectionTrait>(
    db: &C,
    event: NewAuditEvent,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let clip = |s: String, n: usize| s.chars().take(n).collect::<String>();
    let model = audit_event::ActiveModel {
        id: NotSet,
        at: Set(db_time(now)),
        tenant_id: Set(event.tenant_id.map(|t| clip(t, TENANT_ID_LEN))),
        actor: Set(clip(event.actor, 255)),
        action: Set(clip(event.action, 64)),
        target: Set(event.target.map(|t| clip(t, 255))),
        detail: Set(event.detail.map(|d| clip(d, 4000))),
        request_id: Set(event.request_id.map(|r| clip(r, 64))),
    };
    exec(db, &audit_event::Entity::insert(model)).await?;
    Ok(())
}
