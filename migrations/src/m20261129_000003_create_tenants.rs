use sea_orm_migration::{prelude::*, schema::*};

use crate::portable::{create_table, long_text, utc_time};

/// `tenants`: tenants onboarded through the admin API (the config file's tenants are not
/// stored), and `tenant_registry`: one row whose `version` every tenant change bumps, so each
/// replica notices a change with one cheap read.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_table(
            manager,
            Table::create()
                .table(Tenants::Table)
                .if_not_exists()
                .col(string_len(Tenants::Id, 64).primary_key())
                .col(string_len(Tenants::DisplayName, 255))
                .col(boolean(Tenants::Enabled))
                .col(long_text(manager, Tenants::Config))
                .col(utc_time(manager, Tenants::CreatedAt))
                .col(utc_time(manager, Tenants::UpdatedAt))
                .to_owned(),
        )
        .await?;
        create_table(
            manager,
            Table::create()
                .table(TenantRegistry::Table)
                .if_not_exists()
                .col(integer(TenantRegistry::Id).primary_key())
                .col(big_integer(TenantRegistry::Version))
                .to_owned(),
        )
        .await?;
        let insert = Query::insert()
            .into_table(TenantRegistry::Table)
            .columns([TenantRegistry::Id, TenantRegistry::Version])
            .values_panic([1.into(), 0.into()])
            // Idempotent, so a re-run after a partly applied step (MySQL DDL is not
            // transactional) does not fail here.
            .on_conflict(
                OnConflict::column(TenantRegistry::Id)
                    .do_nothing_on([TenantRegistry::Id])
                    .to_owned(),
            )
            .to_owned();
        manager.exec_stmt(insert).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TenantRegistry::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Tenants::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    DisplayName,
    Enabled,
    Config,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TenantRegistry {
    Table,
    Id,
    Version,
}
