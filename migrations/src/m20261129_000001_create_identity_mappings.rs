use sea_orm_migration::{prelude::*, schema::*};

use crate::portable::{create_index, create_table, utc_time};

/// `identity_mappings`: one row per (tenant, issuer key, subject) → ACS identity.
/// The unique index is what makes concurrent first calls race-safe across replicas.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_table(
            manager,
            Table::create()
                .table(IdentityMappings::Table)
                .if_not_exists()
                .col(big_pk_auto(IdentityMappings::Id))
                .col(string_len(IdentityMappings::TenantId, 64))
                .col(string_len(IdentityMappings::IssuerKey, 255))
                .col(string_len(IdentityMappings::Subject, 255))
                .col(string_len(IdentityMappings::AcsUserId, 255))
                .col(string_len(IdentityMappings::AcsResource, 255))
                .col(utc_time(manager, IdentityMappings::CreatedAt))
                .col(utc_time(manager, IdentityMappings::LastUsedAt))
                .to_owned(),
        )
        .await?;
        create_index(
            manager,
            "identity_mappings",
            Index::create()
                .name("ux_identity_mappings_subject")
                .table(IdentityMappings::Table)
                .col(IdentityMappings::TenantId)
                .col(IdentityMappings::IssuerKey)
                .col(IdentityMappings::Subject)
                .unique()
                .to_owned(),
        )
        .await?;
        create_index(
            manager,
            "identity_mappings",
            Index::create()
                .name("ix_identity_mappings_acs_user")
                .table(IdentityMappings::Table)
                .col(IdentityMappings::AcsUserId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IdentityMappings::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum IdentityMappings {
    Table,
    Id,
    TenantId,
    IssuerKey,
    Subject,
    AcsUserId,
    AcsResource,
    CreatedAt,
    LastUsedAt,
}
