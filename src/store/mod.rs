//! The mapping store: SeaORM over SQLite (default), PostgreSQL or MySQL/MariaDB.
//!
//! Invariants it upholds together with the service layer (docs/architecture.md):
//! one live ACS identity per (tenant, issuer key, subject) — the unique index decides races, also
//! across replicas — and a deleted mapping always leaves a `pending_deletions` row behind, written
//! in the same transaction, until ACS confirms the deletion.

pub mod entities;

use std::time::Duration;

use acs_auth_migrations::{Migrator, MigratorTrait};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait, TryInsertResult,
};

pub use entities::identity_mapping::Model as Mapping;
pub use entities::pending_deletion::Model as PendingDeletion;
use entities::{identity_mapping, pending_deletion};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict")]
    Conflict,
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

/// The natural key of a mapping.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubjectKey {
    pub tenant_id: String,
    pub issuer_key: String,
    pub subject: String,
}

/// A mapping about to be written.
#[derive(Debug, Clone)]
pub struct NewMapping {
    pub key: SubjectKey,
    pub acs_user_id: String,
    pub acs_resource: String,
}

/// Why an ACS identity is queued for deletion.
#[derive(Debug, Clone, Copy)]
pub enum DeletionReason {
    /// deleteUser (or an operator's erasure).
    UserDeleted,
    /// The loser of a concurrent first call created an identity nobody maps to.
    RaceLoser,
}

impl DeletionReason {
    fn as_str(self) -> &'static str {
        match self {
            DeletionReason::UserDeleted => "user_deleted",
            DeletionReason::RaceLoser => "race_loser",
        }
    }
}

#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.db.get_database_backend())
            .finish()
    }
}

impl Store {
    /// Connects; for SQLite also turns on WAL and a busy timeout so concurrent writers wait
    /// instead of failing.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let mut opts = ConnectOptions::new(url.to_owned());
        opts.max_connections(max_connections)
            .min_connections(1)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(10))
            .sqlx_logging(false);
        let db = Database::connect(opts).await?;
        if db.get_database_backend() == DbBackend::Sqlite {
            db.execute_unprepared("PRAGMA journal_mode=WAL;").await?;
            db.execute_unprepared("PRAGMA busy_timeout=10000;").await?;
            db.execute_unprepared("PRAGMA foreign_keys=ON;").await?;
        }
        Ok(Self { db })
    }

    /// A store with no connection (every call fails); for rendering the spec.
    pub fn detached() -> Self {
        Self {
            db: DatabaseConnection::default(),
        }
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        Migrator::up(&self.db, None).await?;
        Ok(())
    }

    /// Readiness probe: one round trip.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await?;
        Ok(())
    }

    pub async fn find_mapping(&self, key: &SubjectKey) -> Result<Option<Mapping>, StoreError> {
        Ok(identity_mapping::Entity::find()
            .filter(identity_mapping::Column::TenantId.eq(&key.tenant_id))
            .filter(identity_mapping::Column::IssuerKey.eq(&key.issuer_key))
            .filter(identity_mapping::Column::Subject.eq(&key.subject))
            .one(&self.db)
            .await?)
    }

    /// Inserts the mapping unless one exists for the same key. Returns true when this call
    /// inserted it (it won the race), false when another writer got there first.
    pub async fn insert_mapping_if_absent(
        &self,
        new: &NewMapping,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let model = identity_mapping::ActiveModel {
            id: NotSet,
            tenant_id: Set(new.key.tenant_id.clone()),
            issuer_key: Set(new.key.issuer_key.clone()),
            subject: Set(new.key.subject.clone()),
            acs_user_id: Set(new.acs_user_id.clone()),
            acs_resource: Set(new.acs_resource.clone()),
            created_at: Set(now),
            last_used_at: Set(now),
        };
        let result = identity_mapping::Entity::insert(model)
            .on_conflict_do_nothing_on([
                identity_mapping::Column::TenantId,
                identity_mapping::Column::IssuerKey,
                identity_mapping::Column::Subject,
            ])
            .exec_without_returning(&self.db)
            .await?;
        Ok(matches!(result, TryInsertResult::Inserted(n) if n > 0))
    }

    /// Records that the mapping was used (called when a new ACS token is issued, not on every
    /// cache hit, so the hot path stays free of writes).
    pub async fn touch_mapping(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        identity_mapping::Entity::update_many()
            .col_expr(
                identity_mapping::Column::LastUsedAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(identity_mapping::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Removes the mapping and queues the deletion of its ACS identity, in one transaction.
    /// `NotFound` when the mapping was already gone (a concurrent deleteUser won).
    pub async fn delete_mapping_and_enqueue(
        &self,
        mapping: &Mapping,
        reason: DeletionReason,
        now: DateTime<Utc>,
    ) -> Result<PendingDeletion, StoreError> {
        let txn = self.db.begin().await?;
        let deleted = identity_mapping::Entity::delete_many()
            .filter(identity_mapping::Column::Id.eq(mapping.id))
            .filter(identity_mapping::Column::AcsUserId.eq(&mapping.acs_user_id))
            .exec(&txn)
            .await?;
        if deleted.rows_affected == 0 {
            txn.rollback().await?;
            return Err(StoreError::NotFound);
        }
        let pending = insert_pending(
            &txn,
            &mapping.tenant_id,
            &mapping.acs_user_id,
            &mapping.acs_resource,
            reason,
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(pending)
    }

    /// Removes a mapping whose ACS identity no longer exists (ACS answered 404 for it).
    pub async fn delete_stale_mapping(&self, mapping: &Mapping) -> Result<(), StoreError> {
        identity_mapping::Entity::delete_many()
            .filter(identity_mapping::Column::Id.eq(mapping.id))
            .filter(identity_mapping::Column::AcsUserId.eq(&mapping.acs_user_id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Queues the deletion of an ACS identity that no mapping refers to.
    pub async fn enqueue_deletion(
        &self,
        tenant_id: &str,
        acs_user_id: &str,
        acs_resource: &str,
        reason: DeletionReason,
        now: DateTime<Utc>,
    ) -> Result<PendingDeletion, StoreError> {
        insert_pending(&self.db, tenant_id, acs_user_id, acs_resource, reason, now).await
    }

    pub async fn complete_deletion(&self, id: i64) -> Result<(), StoreError> {
        pending_deletion::Entity::delete_by_id(id)
            .exec(&self.db)
            .await?;
        Ok(())
    }

    pub async fn defer_deletion(
        &self,
        id: i64,
        attempts: i32,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        let model = pending_deletion::ActiveModel {
            id: Set(id),
            attempts: Set(attempts),
            next_attempt_at: Set(next_attempt_at),
            last_error: Set(Some(error.chars().take(1000).collect())),
            ..Default::default()
        };
        pending_deletion::Entity::update(model)
            .exec(&self.db)
            .await?;
        Ok(())
    }

    pub async fn due_deletions(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<PendingDeletion>, StoreError> {
        Ok(pending_deletion::Entity::find()
            .filter(pending_deletion::Column::NextAttemptAt.lte(now))
            .order_by_asc(pending_deletion::Column::NextAttemptAt)
            .limit(limit)
            .all(&self.db)
            .await?)
    }

    pub async fn pending_deletions(&self) -> Result<Vec<PendingDeletion>, StoreError> {
        Ok(pending_deletion::Entity::find()
            .order_by_asc(pending_deletion::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// All mappings of a tenant (tests and operator tooling).
    pub async fn mappings_of_tenant(&self, tenant_id: &str) -> Result<Vec<Mapping>, StoreError> {
        Ok(identity_mapping::Entity::find()
            .filter(identity_mapping::Column::TenantId.eq(tenant_id))
            .order_by_asc(identity_mapping::Column::Id)
            .all(&self.db)
            .await?)
    }
}

async fn insert_pending<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    acs_user_id: &str,
    acs_resource: &str,
    reason: DeletionReason,
    now: DateTime<Utc>,
) -> Result<PendingDeletion, StoreError> {
    let model = pending_deletion::ActiveModel {
        id: NotSet,
        tenant_id: Set(tenant_id.to_owned()),
        acs_user_id: Set(acs_user_id.to_owned()),
        acs_resource: Set(acs_resource.to_owned()),
        reason: Set(reason.as_str().to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        created_at: Set(now),
    };
    let res = pending_deletion::Entity::insert(model).exec(db).await?;
    pending_deletion::Entity::find_by_id(res.last_insert_id)
        .one(db)
        .await?
        .ok_or(StoreError::NotFound)
}
