use sea_orm_migration::{prelude::*, schema::*};

use crate::portable::{create_table, utc_time};

/// `cluster_replicas`: one row per running replica, its heartbeat. Each replica counts the
/// rows seen recently and enforces that share of the cluster's rate limits and ACS pacing.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_table(
            manager,
            Table::create()
                .table(ClusterReplicas::Table)
                .if_not_exists()
                .col(string_len(ClusterReplicas::Id, 64).primary_key())
                .col(utc_time(manager, ClusterReplicas::StartedAt))
                .col(utc_time(manager, ClusterReplicas::LastSeen))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ClusterReplicas::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ClusterReplicas {
    Table,
    Id,
    StartedAt,
    LastSeen,
}
