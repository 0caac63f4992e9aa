use sea_orm_migration::{prelude::*, schema::*};

use crate::portable::{create_index, create_table, long_text_null, utc_time, utc_time_null};

/// `setup_links`: one-time links with which a customer's IT admin connects their own identity
/// provider to one tenant. The link's secret is stored only as its SHA-256; the provider
/// configuration the customer submits waits in `pending_provider` until it is activated.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_table(
            manager,
            Table::create()
                .table(SetupLinks::Table)
                .if_not_exists()
                .col(string_len(SetupLinks::Id, 36).primary_key())
                .col(string_len(SetupLinks::TenantId, 64))
                .col(string_len_uniq(SetupLinks::TokenHash, 64))
                .col(string_len_null(SetupLinks::DisplayName, 255))
                .col(boolean(SetupLinks::AutoActivate))
                .col(string_len(SetupLinks::CreatedBy, 255))
                .col(utc_time(manager, SetupLinks::CreatedAt))
                .col(utc_time(manager, SetupLinks::ExpiresAt))
                .col(utc_time_null(manager, SetupLinks::OpenedAt))
                .col(utc_time_null(manager, SetupLinks::SubmittedAt))
                .col(utc_time_null(manager, SetupLinks::ActivatedAt))
                .col(utc_time_null(manager, SetupLinks::RevokedAt))
                .col(long_text_null(manager, SetupLinks::PendingProvider))
                .to_owned(),
        )
        .await?;
        create_index(
            manager,
            "setup_links",
            Index::create()
                .name("ix_setup_links_tenant")
                .table(SetupLinks::Table)
                .col(SetupLinks::TenantId)
                .col(SetupLinks::CreatedAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SetupLinks::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum SetupLinks {
    Table,
    Id,
    TenantId,
    TokenHash,
    DisplayName,
    AutoActivate,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    OpenedAt,
    SubmittedAt,
    ActivatedAt,
    RevokedAt,
    PendingProvider,
}
