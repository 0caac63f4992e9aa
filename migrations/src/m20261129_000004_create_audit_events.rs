use sea_orm_migration::{prelude::*, schema::*};

use crate::portable::{create_index, create_table, utc_time};

/// `audit_events`: security events (identity created or deleted, tokens issued per interval,
/// tenant created / changed / deleted, admin key used) with actor, tenant, time and request id.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_table(
            manager,
            Table::create()
                .table(AuditEvents::Table)
                .if_not_exists()
                .col(big_pk_auto(AuditEvents::Id))
                .col(utc_time(manager, AuditEvents::At))
                .col(string_len_null(AuditEvents::TenantId, 64))
                .col(string_len(AuditEvents::Actor, 255))
                .col(string_len(AuditEvents::Action, 64))
                .col(string_len_null(AuditEvents::Target, 255))
                .col(text_null(AuditEvents::Detail))
                .col(string_len_null(AuditEvents::RequestId, 64))
                .to_owned(),
        )
        .await?;
        create_index(
            manager,
            "audit_events",
            Index::create()
                .name("ix_audit_events_tenant_at")
                .table(AuditEvents::Table)
                .col(AuditEvents::TenantId)
                .col(AuditEvents::At)
                .to_owned(),
        )
        .await?;
        create_index(
            manager,
            "audit_events",
            Index::create()
                .name("ix_audit_events_at")
                .table(AuditEvents::Table)
                .col(AuditEvents::At)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditEvents::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    At,
    TenantId,
    Actor,
    Action,
    Target,
    Detail,
    RequestId,
}
