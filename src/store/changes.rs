//! The change log: every change to a mapping or a tenant, written in the transaction that makes
//! it, so that other replicas can drop what their memory holds of it (see
//! `service::changes`). Ids only grow, but transactions commit out of id order on PostgreSQL
//! and MySQL/MariaDB: a reader that saw id 12 may see id 11 later, and tracks such gaps itself.
//! On PostgreSQL each write also sends a `NOTIFY` (delivered at commit) so readers wake at once.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::entities::change_log;
use super::{Store, StoreError, SubjectKey, check_len, db_time, exec};

/// The PostgreSQL channel a change is announced on.
pub const NOTIFY_CHANNEL: &str = "acs_auth_changes";

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// A mapping was written (a first call).
    MappingCreated,
    /// A mapping was removed (deleteUser, erasure, an identity ACS no longer knows).
    MappingDeleted,
    /// A tenant was created or changed (enabled flag, provider, policies).
    TenantChanged,
    /// A tenant was removed, and every mapping of it.
    TenantRemoved,
}

impl ChangeKind {
    fn as_str(self) -> &'static str {
        match self {
            ChangeKind::MappingCreated => "mapping_created",
            ChangeKind::MappingDeleted => "mapping_deleted",
            ChangeKind::TenantChanged => "tenant_changed",
            ChangeKind::TenantRemoved => "tenant_removed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            ChangeKind::MappingCreated,
            ChangeKind::MappingDeleted,
            ChangeKind::TenantChanged,
            ChangeKind::TenantRemoved,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One row of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub id: i64,
    pub kind: ChangeKind,
    pub tenant_id: String,
    /// The mapping's key, for mapping changes.
    pub key: Option<SubjectKey>,
    /// The mapping's identity, for mapping changes.
    pub acs_user_id: Option<String>,
    /// The replica that made the change.
    pub origin: String,
}

impl Change {
    fn from_row(row: change_log::Model) -> Option<Self> {
        let kind = ChangeKind::parse(&row.kind)?;
        let key = match (row.issuer_key, row.subject) {
            (Some(issuer_key), Some(subject)) => Some(SubjectKey {
                tenant_id: row.tenant_id.clone(),
                issuer_key,
                subject,
            }),
            _ => None,
        };
        Some(Self {
            id: row.id,
            kind,
            tenant_id: row.tenant_id,
            key,
            acs_user_id: row.acs_user_id,
            origin: row.origin,
        })
    }
}

/// A change about to be logged.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NewChange<'a> {
    pub kind: ChangeKind,
    pub tenant_id: &'a str,
    pub key: Option<&'a SubjectKey>,
    pub acs_user_id: Option<&'a str>,
}

impl<'a> NewChange<'a> {
    pub fn mapping(kind: ChangeKind, key: &'a SubjectKey, acs_user_id: &'a str) -> Self {
        Self {
            kind,
            tenant_id: &key.tenant_id,
            key: Some(key),
            acs_user_id: Some(acs_user_id),
        }
    }

    pub fn tenant(kind: ChangeKind, tenant_id: &'a str) -> Self {
        Self {
            kind,
            tenant_id,
            key: None,
            acs_user_id: None,
        }
    }
}

/// Logs `change` on `db` (the caller's transaction) as made by `origin`; on PostgreSQL
/// readers are notified when the transaction commits.
pub(crate) async fn append<C: ConnectionTrait>(
    db: &C,
    origin: &str,
    change: NewChange<'_>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    check_len("tenant id", change.tenant_id, super::TENANT_ID_LEN)?;
    let model = change_log::ActiveModel {
        id: NotSet,
        kind: Set(change.kind.as_str().to_owned()),
        tenant_id: Set(change.tenant_id.to_owned()),
        issuer_key: Set(change.key.map(|k| k.issuer_key.clone())),
        subject: Set(change.key.map(|k| k.subject.clone())),
        acs_user_id: Set(change.acs_user_id.map(str::to_owned)),
        origin: Set(origin.to_owned()),
        created_at: Set(db_time(now)),
    };
    exec(db, &change_log::Entity::insert(model)).await?;
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(&format!("NOTIFY {NOTIFY_CHANNEL}"))
            .await?;
    }
    Ok(())
}

impl Store {
    /// This store's replica id: a random one per connected store, shared by its clones. The
    /// changes it logs carry it, so a replica can skip its own.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Up to `limit` changes with an id above `after`, oldest first.
    pub async fn changes_after(&self, after: i64, limit: u64) -> Result<Vec<Change>, StoreError> {
        let rows = change_log::Entity::find()
            .filter(change_log::Column::Id.gt(after))
            .order_by_asc(change_log::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().filter_map(Change::from_row).collect())
    }

    /// The changes of these ids that exist (by now).
    pub async fn changes_with_ids(&self, ids: &[i64]) -> Result<Vec<Change>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = change_log::Entity::find()
            .filter(change_log::Column::Id.is_in(ids.iter().copied()))
            .order_by_asc(change_log::Column::Id)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().filter_map(Change::from_row).collect())
    }

    /// The newest change's id (0 when the log is empty).
    pub async fn last_change_id(&self) -> Result<i64, StoreError> {
        let last = change_log::Entity::find()
            .select_only()
            .column(change_log::Column::Id)
            .order_by_desc(change_log::Column::Id)
            .limit(1)
            .into_tuple::<i64>()
            .one(&self.db)
            .await?;
        Ok(last.unwrap_or(0))
    }

    /// Removes changes logged before `before`, except the newest one (so ids never restart).
    /// Returns how many went.
    pub async fn trim_changes(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let last = self.last_change_id().await?;
        let done = change_log::Entity::delete_many()
            .filter(change_log::Column::CreatedAt.lt(db_time(before)))
            .filter(change_log::Column::Id.lt(last))
            .exec(&self.db)
            .await?;
        Ok(done.rows_affected)
    }

    /// Wakes `wake` whenever another connection announces a change (PostgreSQL `LISTEN`);
    /// returns at once on other databases, whose readers poll. Runs until the task is aborted,
    /// reconnecting after a lost connection.
    pub async fn listen_for_changes(&self, wake: Arc<tokio::sync::Notify>) {
        if self.backend() != DbBackend::Postgres {
            return;
        }
        let pool = self.db.get_postgres_connection_pool().clone();
        loop {
            if let Err(e) = listen(&pool, &wake).await {
                tracing::warn!(error = %e, "listening for change notifications failed; polling meanwhile");
            }
            // Whatever was announced while not listening is in the log: read it now.
            wake.notify_one();
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
}

async fn listen(
    pool: &sea_orm::sqlx::PgPool,
    wake: &tokio::sync::Notify,
) -> Result<(), sea_orm::sqlx::Error> {
    let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(pool).await?;
    listener.listen(NOTIFY_CHANNEL).await?;
    // Changes made before LISTEN took effect are read by the poll this wakes.
    wake.notify_one();
    loop {
        // `recv` reconnects by itself after a lost connection (and then returns an error
        // once, which is what ends this loop if reconnecting fails).
        listener.recv().await?;
        wake.notify_one();
    }
}
