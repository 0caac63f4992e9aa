use sea_orm_migration::{prelude::*, schema::*};

use crate::portable::{create_table, long_text, utc_time};

/// `acs_resources`: every ACS resource an identity was ever created in, by endpoint, with the
/// credentials to reach it. Mappings name their resource; keeping its credentials here means a
/// tenant that moves to another resource never orphans the identities of the old one.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_table(
            manager,
            Table::create()
                .table(AcsResources::Table)
                .if_not_exists()
                .col(string_len(AcsResources::Name, 255).primary_key())
                .col(long_text(manager, AcsResources::Config))
                .col(utc_time(manager, AcsResources::CreatedAt))
                .col(utc_time(manager, AcsResources::UpdatedAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AcsResources::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum AcsResources {
    Table,
    Name,
    Config,
    CreatedAt,
    UpdatedAt,
}
