use sea_orm_migration::{prelude::*, schema::*};

use crate::portable::{create_index, create_table, utc_time};

/// `pending_deletions`: ACS identities whose deletion was promised but not yet confirmed by ACS.
/// A row is written in the same transaction that removes the mapping, and removed only once ACS
/// has deleted the identity (or answered that it no longer exists).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_table(
            manager,
            Table::create()
                .table(PendingDeletions::Table)
                .if_not_exists()
                .col(big_pk_auto(PendingDeletions::Id))
                .col(string_len(PendingDeletions::TenantId, 64))
                .col(string_len(PendingDeletions::AcsUserId, 255))
                .col(string_len(PendingDeletions::AcsResource, 255))
                .col(string_len(PendingDeletions::Reason, 32))
                .col(integer(PendingDeletions::Attempts).default(0))
                .col(utc_time(manager, PendingDeletions::NextAttemptAt))
                .col(text_null(PendingDeletions::LastError))
                .col(utc_time(manager, PendingDeletions::CreatedAt))
                .to_owned(),
        )
        .await?;
        create_index(
            manager,
            "pending_deletions",
            Index::create()
                .name("ix_pending_deletions_next_attempt")
                .table(PendingDeletions::Table)
                .col(PendingDeletions::NextAttemptAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PendingDeletions::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PendingDeletions {
    Table,
    Id,
    TenantId,
    AcsUserId,
    AcsResource,
    Reason,
    Attempts,
    NextAttemptAt,
    LastError,
    CreatedAt,
}
