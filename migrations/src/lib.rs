//! Schema migrations of the acs-auth store, one file per step (`mYYYYMMDD_HHMMSS_verb_noun.rs`).
//! They run at start-up (`Migrator::up`) and through `acs-auth migrate`.

pub use sea_orm_migration::prelude::*;

mod portable;

mod m20261129_000001_create_identity_mappings;
mod m20261129_000002_create_pending_deletions;
mod m20261129_000003_create_tenants;
mod m20261129_000004_create_audit_events;
mod m20261129_000005_create_acs_resources;
mod m20261202_000006_create_change_log;
mod m20261202_000007_create_cluster_replicas;
mod m20261208_000008_create_setup_links;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261129_000001_create_identity_mappings::Migration),
            Box::new(m20261129_000002_create_pending_deletions::Migration),
            Box::new(m20261129_000003_create_tenants::Migration),
            Box::new(m20261129_000004_create_audit_events::Migration),
            Box::new(m20261129_000005_create_acs_resources::Migration),
            Box::new(m20261202_000006_create_change_log::Migration),
            Box::new(m20261202_000007_create_cluster_replicas::Migration),
            Box::new(m20261208_000008_create_setup_links::Migration),
        ]
    }
}
