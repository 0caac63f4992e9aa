//! The mapping store: SeaORM over SQLite (default), PostgreSQL or MySQL/MariaDB.
//!
//! Invariants it upholds together with the service layer (docs/architecture.md):
//! one live ACS identity per (tenant, issuer key, subject) — the unique index decides races, also
//! across replicas — and a deleted mapping always leaves a `pending_deletions` row behind, written
//! in the same transaction, until ACS confirms the deletion.

pub mod admin;
pub mod changes;
pub mod cluster;
pub mod entities;
pub mod setup_links;

use std::time::Duration;

use acs_auth_migrations::{Migrator, MigratorTrait};
use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sea_query::{OnConflict, Value};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DatabaseTransaction, DbBackend, DbErr, EntityTrait, ExecResult, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, SqlErr, SqliteTransactionMode, Statement, TransactionOptions,
    TransactionTrait,
};

use changes::ChangeKind;
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

/// The natural key of a stored mapping.
pub fn mapping_key(mapping: &Mapping) -> SubjectKey {
    SubjectKey {
        tenant_id: mapping.tenant_id.clone(),
        issuer_key: mapping.issuer_key.clone(),
        subject: mapping.subject.clone(),
    }
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
    /// The tenant was deleted, and with it every mapping.
    TenantDeleted,
    /// ACS answered `IdentityNotFound` for the mapped identity; the mapping is replaced, and the
    /// deletion is queued anyway, so that nothing is orphaned whatever ACS meant.
    IdentityVanished,
}

impl DeletionReason {
    fn as_str(self) -> &'static str {
        match self {
            DeletionReason::UserDeleted => "user_deleted",
            DeletionReason::RaceLoser => "race_loser",
            DeletionReason::TenantDeleted => "tenant_deleted",
            DeletionReason::IdentityVanished => "identity_vanished",
        }
    }
}

#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    /// This replica's id in the change log (see [`Store::origin`]).
    origin: std::sync::Arc<str>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.db.get_database_backend())
            .finish()
    }
}

/// Column sizes of the schema (characters). The store checks them itself, so every backend
/// refuses the same values (SQLite does not enforce `VARCHAR(n)`, and MySQL outside strict mode
/// would silently cut a subject short — and merge two subjects into one identity).
pub(crate) const TENANT_ID_LEN: usize = crate::domain::TenantId::MAX_LEN;
pub(crate) const NAME_LEN: usize = crate::domain::Subject::MAX_CHARS;

/// Timestamps are kept with microsecond precision on every backend (PostgreSQL and
/// `DATETIME(6)` cannot hold more); the store rounds down before writing or comparing, so a value
/// read back equals the value written, truncated to microseconds.
pub(crate) fn db_time(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

pub(crate) fn check_len(field: &str, value: &str, max: usize) -> Result<(), StoreError> {
    if value.chars().count() > max {
        return Err(StoreError::Db(DbErr::Custom(format!(
            "{field} is longer than {max} characters"
        ))));
    }
    Ok(())
}

/// Builds `query` for the connection's backend. On MySQL/MariaDB instants are bound as
/// `DATETIME` values: sqlx sends a `DateTime<Utc>` as a `TIMESTAMP` parameter, which MariaDB
/// turns into NULL outside `TIMESTAMP`'s range (1970 – 2038-01-19), whatever the column type.
pub(crate) fn statement<C: ConnectionTrait, Q: QueryTrait>(db: &C, query: &Q) -> Statement {
    let backend = db.get_database_backend();
    let mut stmt = query.build(backend);
    if backend == DbBackend::MySql
        && let Some(values) = stmt.values.as_mut()
    {
        for value in &mut values.0 {
            if let Value::ChronoDateTimeUtc(t) = value {
                *value = Value::ChronoDateTime(t.map(|t| t.naive_utc()));
            }
        }
    }
    stmt
}

/// Executes an insert, update or delete built by SeaORM (see [`statement`]).
pub(crate) async fn exec<C: ConnectionTrait, Q: QueryTrait>(
    db: &C,
    query: &Q,
) -> Result<ExecResult, DbErr> {
    db.execute_raw(statement(db, query)).await
}

pub(crate) fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

fn key_fits(key: &SubjectKey) -> Result<(), StoreError> {
    check_len("tenant id", &key.tenant_id, TENANT_ID_LEN)?;
    check_len("issuer key", &key.issuer_key, NAME_LEN)?;
    check_len("subject", &key.subject, NAME_LEN)
}

/// The database URL with its password (and query string) left out, for error messages.
fn redacted(url: &url::Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("***"));
    }
    shown.set_query(None);
    shown.to_string()
}

impl Store {
    /// Connects a pool of at most `max_connections` to `sqlite://…`, `postgres://…` (or
    /// `postgresql://…`) or `mysql://…` (or `mariadb://…`).
    ///
    /// Every pooled connection is set up alike: SQLite in WAL mode with a busy timeout (so
    /// concurrent writers wait instead of failing) and foreign keys on; MySQL/MariaDB in strict
    /// mode with the UTC session time zone. Idle connections are checked before reuse and
    /// recycled now and then, so a database fail-over or a proxy dropping idle connections costs
    /// no failed request.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let parsed = url::Url::parse(url).map_err(|_| {
            StoreError::Db(DbErr::Custom(
                "the database URL cannot be parsed".to_owned(),
            ))
        })?;
        let url = match parsed.scheme() {
            "sqlite" | "postgres" | "postgresql" | "mysql" => url.to_owned(),
            "mariadb" => format!("mysql{}", &url["mariadb".len()..]),
            other => {
                return Err(StoreError::Db(DbErr::Custom(format!(
                    "unsupported database URL scheme `{other}:` (sqlite, postgres or mysql)"
                ))));
            }
        };
        // An in-memory SQLite database lives and dies with its one connection.
        let in_memory = parsed.scheme() == "sqlite"
            && (url.contains(":memory:") || url.contains("mode=memory"));
        // TLS to the database (`sslmode=require`, `ssl-mode=REQUIRED`) needs rustls' provider.
        crate::acs::install_crypto_provider();
        let mut opts = ConnectOptions::new(url);
        opts.max_connections(if in_memory { 1 } else { max_connections.max(1) })
            .min_connections(1)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(10))
            .sqlx_logging(false)
            .set_application_name("acs-auth");
        if in_memory {
            opts.idle_timeout(None).max_lifetime(None);
        } else {
            opts.idle_timeout(Duration::from_secs(600))
                .max_lifetime(Duration::from_secs(1800))
                .test_before_acquire_if_idle_for(Duration::from_secs(30));
        }
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
        opts.map_sqlx_mysql_opts(|o| o.timezone(Some("+00:00".to_owned())));
        opts.map_sqlx_mysql_pool_opts(|pool| {
            pool.after_connect(|conn, _meta| {
                Box::pin(async move {
                    use sea_orm::sqlx::Executor;
                    // Too long or invalid values are errors, as on PostgreSQL, never silently
                    // truncated.
                    conn.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')")
                        .await?;
                    Ok(())
                })
            })
        });
        let db = Database::connect(opts).await.map_err(|e| {
            StoreError::Db(DbErr::Custom(format!(
                "cannot connect to the database at {}: {e}",
                redacted(&parsed)
            )))
        })?;
        Ok(Self {
            db,
            origin: uuid::Uuid::new_v4().simple().to_string().into(),
        })
    }

    /// Starts a read-write transaction. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`): a deferred transaction that reads first and writes later fails with
    /// `SQLITE_BUSY` instead of waiting when another connection wrote in between.
    async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        self.db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// Applies pending migrations. Safe when several replicas start at once: they take turns
    /// (a PostgreSQL advisory lock, a MySQL named lock, SQLite's write lock), and whoever comes
    /// second finds nothing left to do.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        let backend = self.backend();
        match backend {
            DbBackend::Postgres => {
                // Held until the transaction ends.
                txn.execute_unprepared("SELECT pg_advisory_xact_lock(7316852603510581297)")
                    .await?;
            }
            DbBackend::MySql => {
                // DDL commits implicitly on MySQL, so this lock is per session, not per
                // transaction: released below (and by the server if the session dies).
                let got = txn
                    .query_one_raw(sea_orm::Statement::from_string(
                        backend,
                        "SELECT GET_LOCK('acs_auth_migrations', 600)",
                    ))
                    .await?
                    .and_then(|row| row.try_get_by_index::<Option<i64>>(0).ok().flatten());
                if got != Some(1) {
                    return Err(StoreError::Db(DbErr::Custom(
                        "timed out waiting for another replica's migrations".to_owned(),
                    )));
                }
            }
            // SQLite: `BEGIN IMMEDIATE` already made this the only writer.
            _ => {}
        }
        let result = Migrator::up(&txn, None).await;
        if backend == DbBackend::MySql {
            txn.execute_unprepared("DO RELEASE_LOCK('acs_auth_migrations')")
                .await?;
        }
        result?;
        txn.commit().await?;
        Ok(())
    }

    /// Readiness probe: one round trip.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await?;
        Ok(())
    }

    pub async fn find_mapping(&self, key: &SubjectKey) -> Result<Option<Mapping>, StoreError> {
        if key_fits(key).is_err() {
            return Ok(None);
        }
        let found = identity_mapping::Entity::find()
            .filter(identity_mapping::Column::TenantId.eq(&key.tenant_id))
            .filter(identity_mapping::Column::IssuerKey.eq(&key.issuer_key))
            .filter(identity_mapping::Column::Subject.eq(&key.subject))
            .one(&self.db)
            .await?;
        // Byte-exact, whatever the collation: a MySQL schema created outside the migrations
        // might compare `Alice` equal to `alice`, or `bob` to `bob `.
        Ok(found.filter(|m| {
            m.tenant_id == key.tenant_id
                && m.issuer_key == key.issuer_key
                && m.subject == key.subject
        }))
    }

    /// Inserts the mapping unless one exists for the same key. Returns true when this call
    /// inserted it (it won the race), false when another writer got there first. Exactly one of
    /// any number of concurrent callers — on any replica — gets true: the unique index on
    /// (tenant, issuer key, subject) decides.
    pub async fn insert_mapping_if_absent(
        &self,
        new: &NewMapping,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        key_fits(&new.key)?;
        check_len("ACS user id", &new.acs_user_id, NAME_LEN)?;
        check_len("ACS resource", &new.acs_resource, NAME_LEN)?;
        let now = db_time(now);
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
        let mut insert = identity_mapping::Entity::insert(model);
        if self.backend() != DbBackend::MySql {
            insert = insert.on_conflict(
                OnConflict::columns([
                    identity_mapping::Column::TenantId,
                    identity_mapping::Column::IssuerKey,
                    identity_mapping::Column::Subject,
                ])
                .do_nothing()
                .to_owned(),
            );
        }
        // PostgreSQL and SQLite: `ON CONFLICT DO NOTHING` affects no row when the key exists.
        // MySQL has no such clause, and SeaORM's stand-in (`ON DUPLICATE KEY UPDATE id = id`)
        // reports an affected row for a duplicate too, because sqlx connects with
        // CLIENT_FOUND_ROWS — every racer would think it won. A plain insert whose duplicate-key
        // error means "lost" is exact there (`INSERT IGNORE` would swallow other errors too).
        // The mapping and its change-log row commit together (other replicas read the log).
        let txn = self.begin_write().await?;
        match exec(&txn, &insert).await {
            Ok(done) if done.rows_affected() > 0 => {
                let change = changes::NewChange::mapping(
                    ChangeKind::MappingCreated,
                    &new.key,
                    &new.acs_user_id,
                );
                changes::append(&txn, &self.origin, change, now).await?;
                txn.commit().await?;
                Ok(true)
            }
            Ok(_) => {
                txn.rollback().await?;
                Ok(false)
            }
            Err(e) if is_unique_violation(&e) => {
                txn.rollback().await?;
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Records that the mapping was used (called when a new ACS token is issued, not on every
    /// cache hit, so the hot path stays free of writes).
    pub async fn touch_mapping(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        let touch = identity_mapping::Entity::update_many()
            .col_expr(
                identity_mapping::Column::LastUsedAt,
                sea_orm::sea_query::Expr::value(db_time(now)),
            )
            .filter(identity_mapping::Column::Id.eq(id));
        exec(&self.db, &touch).await?;
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
        let txn = self.begin_write().await?;
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
        let key = mapping_key(mapping);
        let change =
            changes::NewChange::mapping(ChangeKind::MappingDeleted, &key, &mapping.acs_user_id);
        changes::append(&txn, &self.origin, change, now).await?;
        txn.commit().await?;
        Ok(pending)
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

    /// Records a failed attempt: `attempts`, when to try again, and the error (first 1000
    /// characters). `NotFound` when the row is gone (another replica completed it).
    pub async fn defer_deletion(
        &self,
        id: i64,
        attempts: i32,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        let error: String = error.chars().take(1000).collect();
        let defer = pending_deletion::Entity::update_many()
            .col_expr(
                pending_deletion::Column::Attempts,
                sea_orm::sea_query::Expr::value(attempts),
            )
            .col_expr(
                pending_deletion::Column::NextAttemptAt,
                sea_orm::sea_query::Expr::value(db_time(next_attempt_at)),
            )
            .col_expr(
                pending_deletion::Column::LastError,
                sea_orm::sea_query::Expr::value(error),
            )
            .filter(pending_deletion::Column::Id.eq(id));
        let updated = exec(&self.db, &defer).await?;
        // MySQL counts matched rows here too (sqlx sets CLIENT_FOUND_ROWS), so an update that
        // changes nothing still reports the row.
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Deletions due at `now`, the longest-waiting first (then in queue order).
    pub async fn due_deletions(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<PendingDeletion>, StoreError> {
        let due = pending_deletion::Entity::find()
            .filter(pending_deletion::Column::NextAttemptAt.lte(db_time(now)))
            .order_by_asc(pending_deletion::Column::NextAttemptAt)
            .order_by_asc(pending_deletion::Column::Id)
            .limit(limit);
        Ok(pending_deletion::Entity::find()
            .from_raw_sql(statement(&self.db, &due))
            .all(&self.db)
            .await?)
    }

    /// How many ACS deletions are still to be done (for the metrics).
    pub async fn count_pending_deletions(&self) -> Result<u64, StoreError> {
        use sea_orm::PaginatorTrait as _;
        Ok(pending_deletion::Entity::find().count(&self.db).await?)
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

pub(crate) async fn insert_pending<C: ConnectionTrait>(
    db: &C,
    tenant_id: &str,
    acs_user_id: &str,
    acs_resource: &str,
    reason: DeletionReason,
    now: DateTime<Utc>,
) -> Result<PendingDeletion, StoreError> {
    check_len("tenant id", tenant_id, TENANT_ID_LEN)?;
    check_len("ACS user id", acs_user_id, NAME_LEN)?;
    check_len("ACS resource", acs_resource, NAME_LEN)?;
    let now = db_time(now);
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
    let id = if db.get_database_backend() == DbBackend::MySql {
        // No RETURNING; the connection's LAST_INSERT_ID().
        let done = exec(db, &pending_deletion::Entity::insert(model)).await?;
        i64::try_from(done.last_insert_id())
            .map_err(|_| StoreError::Db(DbErr::Custom("insert id out of range".to_owned())))?
    } else {
        pending_deletion::Entity::insert(model)
            .exec(db)
            .await?
            .last_insert_id
    };
    pending_deletion::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(StoreError::NotFound)
}
