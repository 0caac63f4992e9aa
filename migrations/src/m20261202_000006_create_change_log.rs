use sea_orm_migration::{prelude::*, schema::*};

use crate::portable::{create_index, create_table, utc_time};

/// `change_log`: every change to a mapping or a tenant, in the order of its id, written in the
/// transaction that makes the change. Replicas read it from the last id they saw and drop what
/// their memory holds of it (the database is the bus; on PostgreSQL a `NOTIFY` wakes them at
/// once). Rows older than the retention are trimmed; the newest row always stays.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_table(
            manager,
            Table::create()
                .table(ChangeLog::Table)
                .if_not_exists()
                .col(big_pk_auto(ChangeLog::Id))
                .col(string_len(ChangeLog::Kind, 32))
                .col(string_len(ChangeLog::TenantId, 64))
                .col(string_len_null(ChangeLog::IssuerKey, 255))
                .col(string_len_null(ChangeLog::Subject, 255))
                .col(string_len_null(ChangeLog::AcsUserId, 255))
                .col(string_len(ChangeLog::Origin, 64))
                .col(utc_time(manager, ChangeLog::CreatedAt))
                .to_owned(),
        )
        .await?;
        create_index(
            manager,
            "change_log",
            Index::create()
                .name("ix_change_log_created_at")
                .table(ChangeLog::Table)
                .col(ChangeLog::CreatedAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ChangeLog::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ChangeLog {
    Table,
    Id,
    Kind,
    TenantId,
    IssuerKey,
    Subject,
    AcsUserId,
    Origin,
    CreatedAt,
}
