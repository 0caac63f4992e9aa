//! Column types and table options that mean the same on SQLite, PostgreSQL and MySQL/MariaDB.
//!
//! - Instants are UTC with microsecond precision everywhere: `timestamp with time zone` on
//!   PostgreSQL, RFC 3339 text on SQLite, and `DATETIME(6)` on MySQL/MariaDB — not `TIMESTAMP`,
//!   which keeps whole seconds only, ends in 2038, converts through the session time zone and
//!   (with `explicit_defaults_for_timestamp=OFF`) silently gains `ON UPDATE CURRENT_TIMESTAMP`.
//! - Strings compare byte for byte everywhere: MySQL/MariaDB tables get `utf8mb4` with a binary
//!   collation (no-pad when the server has one), so `Alice` ≠ `alice` and `bob` ≠ `bob ` as on
//!   SQLite and PostgreSQL. A server default such as `utf8mb4_general_ci` would merge those
//!   subjects into one identity.
//! - Long text is `MEDIUMTEXT` on MySQL/MariaDB (`TEXT` stops at 64 KiB there; elsewhere it is
//!   unbounded).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

/// A non-null UTC instant (microsecond precision on every backend).
pub(crate) fn utc_time<T: IntoIden>(manager: &SchemaManager, col: T) -> ColumnDef {
    let mut def = ColumnDef::new(col);
    match manager.get_database_backend() {
        DbBackend::MySql => def.custom(Alias::new("DATETIME(6)")),
        _ => def.timestamp_with_time_zone(),
    };
    def.not_null().take()
}

/// A nullable UTC instant (microsecond precision on every backend).
pub(crate) fn utc_time_null<T: IntoIden>(manager: &SchemaManager, col: T) -> ColumnDef {
    let mut def = ColumnDef::new(col);
    match manager.get_database_backend() {
        DbBackend::MySql => def.custom(Alias::new("DATETIME(6)")),
        _ => def.timestamp_with_time_zone(),
    };
    def.null().take()
}

/// A nullable text of any length (up to 16 MiB on MySQL/MariaDB).
pub(crate) fn long_text_null<T: IntoIden>(manager: &SchemaManager, col: T) -> ColumnDef {
    let mut def = ColumnDef::new(col);
    match manager.get_database_backend() {
        DbBackend::MySql => def.custom(Alias::new("MEDIUMTEXT")),
        _ => def.text(),
    };
    def.null().take()
}

/// A non-null text of any length (up to 16 MiB on MySQL/MariaDB).
pub(crate) fn long_text<T: IntoIden>(manager: &SchemaManager, col: T) -> ColumnDef {
    let mut def = ColumnDef::new(col);
    match manager.get_database_backend() {
        DbBackend::MySql => def.custom(Alias::new("MEDIUMTEXT")),
        _ => def.text(),
    };
    def.not_null().take()
}

/// Creates the table; on MySQL/MariaDB as InnoDB, `utf8mb4`, binary collation.
pub(crate) async fn create_table(
    manager: &SchemaManager<'_>,
    mut table: TableCreateStatement,
) -> Result<(), DbErr> {
    if manager.get_database_backend() == DbBackend::MySql {
        let collation = binary_collation(manager).await?;
        table
            .engine("InnoDB")
            .character_set("utf8mb4")
            .collate(collation);
    }
    manager.create_table(table).await
}

/// The best byte-wise utf8mb4 collation the server has: a no-pad one (MariaDB ≥ 10.2:
/// `utf8mb4_nopad_bin`; MySQL ≥ 8.0.17: `utf8mb4_0900_bin`), else `utf8mb4_bin` (which ignores
/// trailing spaces in comparisons).
async fn binary_collation(manager: &SchemaManager<'_>) -> Result<&'static str, DbErr> {
    const PREFERRED: [&str; 2] = ["utf8mb4_nopad_bin", "utf8mb4_0900_bin"];
    let rows = manager
        .get_connection()
        .query_all_raw(Statement::from_string(
            DbBackend::MySql,
            "SELECT COLLATION_NAME FROM information_schema.COLLATIONS \
             WHERE COLLATION_NAME IN ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin')",
        ))
        .await?;
    let available: Vec<String> = rows
        .iter()
        .filter_map(|r| r.try_get_by_index::<String>(0).ok())
        .collect();
    Ok(PREFERRED
        .into_iter()
        .find(|c| available.iter().any(|a| a.eq_ignore_ascii_case(c)))
        .unwrap_or("utf8mb4_bin"))
}

/// Creates the index unless one of that name exists on `table` (MySQL has no `CREATE INDEX IF
/// NOT EXISTS`): a re-run after a half-applied step (MySQL DDL is not transactional) or an
/// index built by hand beforehand (`CREATE INDEX CONCURRENTLY`) is no error.
pub(crate) async fn create_index(
    manager: &SchemaManager<'_>,
    table: &str,
    index: IndexCreateStatement,
) -> Result<(), DbErr> {
    if let Some(name) = index.get_index_spec().get_name()
        && manager.has_index(table, name).await?
    {
        return Ok(());
    }
    manager.create_index(index).await
}
