//! The migrations: up on an empty database, down to zero, up again, one step at a time; and
//! `Store::connect` for each URL form.

use acs_auth::store::Store;
use acs_auth_migrations::{Migrator, MigratorTrait, SchemaManager};
use sea_orm::DatabaseConnection;

use crate::harness::{Backend, Ctx};
use crate::support::{key, mapped, new_mapping, t0};

/// Every table, in migration order.
const TABLES: [&str; 9] = [
    "identity_mappings",
    "pending_deletions",
    "tenants",
    "tenant_registry",
    "audit_events",
    "acs_resources",
    "change_log",
    "cluster_replicas",
    "setup_links",
];

async fn tables_present(db: &DatabaseConnection) -> Vec<&'static str> {
    let manager = SchemaManager::new(db);
    let mut present = Vec::new();
    for table in TABLES {
        if manager.has_table(table).await.unwrap() {
            present.push(table);
        }
    }
    present
}

async fn applied(db: &DatabaseConnection) -> usize {
    Migrator::get_applied_migrations(db).await.unwrap().len()
}

pub async fn migrations_go_up_down_to_zero_and_up_again(ctx: Ctx) {
    let all = Migrator::migrations().len();
    // The harness migrated through `Store::migrate`.
    assert_eq!(applied(&ctx.raw).await, all);
    assert_eq!(tables_present(&ctx.raw).await, TABLES);
    Migrator::status(&ctx.raw).await.unwrap();
    // Up again is a no-op, through the store as well.
    Migrator::up(&ctx.raw, None).await.unwrap();
    ctx.store.migrate().await.unwrap();
    assert_eq!(applied(&ctx.raw).await, all);

    mapped(&ctx.store, &key("t", "iss", "before"), "8:acs:before").await;

    Migrator::down(&ctx.raw, None).await.unwrap();
    assert_eq!(applied(&ctx.raw).await, 0);
    assert!(tables_present(&ctx.raw).await.is_empty());
    assert_eq!(
        Migrator::get_pending_migrations(&ctx.raw)
            .await
            .unwrap()
            .len(),
        all
    );

    Migrator::up(&ctx.raw, None).await.unwrap();
    assert_eq!(applied(&ctx.raw).await, all);
    assert_eq!(tables_present(&ctx.raw).await, TABLES);
    // The schema is usable again, empty, with its seed row.
    assert_eq!(ctx.store.registry_version().await.unwrap(), 0);
    assert!(
        ctx.store
            .find_mapping(&key("t", "iss", "before"))
            .await
            .unwrap()
            .is_none()
    );
    mapped(&ctx.store, &key("t", "iss", "after"), "8:acs:after").await;

    // fresh: drop everything, migrate again.
    Migrator::fresh(&ctx.raw).await.unwrap();
    assert_eq!(applied(&ctx.raw).await, all);
    assert_eq!(tables_present(&ctx.raw).await, TABLES);
    assert_eq!(ctx.store.registry_version().await.unwrap(), 0);
    assert!(
        ctx.store
            .insert_mapping_if_absent(&new_mapping(&key("t", "iss", "after"), "8:acs:x"), t0())
            .await
            .unwrap()
    );
}

pub async fn migrations_step_down_and_up_one_at_a_time(ctx: Ctx) {
    let all = Migrator::migrations().len();
    for step in 1..=all {
        Migrator::down(&ctx.raw, Some(1)).await.unwrap();
        assert_eq!(applied(&ctx.raw).await, all - step);
    }
    assert!(tables_present(&ctx.raw).await.is_empty());
    for step in 1..=all {
        Migrator::up(&ctx.raw, Some(1)).await.unwrap();
        assert_eq!(applied(&ctx.raw).await, step);
    }
    assert_eq!(tables_present(&ctx.raw).await, TABLES);
    assert_eq!(ctx.store.registry_version().await.unwrap(), 0);
}

/// Several replicas starting at once on an empty database all migrate successfully.
pub async fn replicas_migrating_at_once_all_succeed(ctx: Ctx) {
    Migrator::down(&ctx.raw, None).await.unwrap();
    let replicas = ctx.replicas(4).await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(replicas.len()));
    let mut tasks = Vec::new();
    for store in replicas {
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store.migrate().await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(applied(&ctx.raw).await, Migrator::migrations().len());
    assert_eq!(ctx.store.registry_version().await.unwrap(), 0);
}

pub async fn connect_accepts_each_url_form_and_hides_the_password(ctx: Ctx) {
    ctx.store.ping().await.unwrap();
    // The other spelling of the scheme connects to the same database.
    let alias = match ctx.backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(ctx.url.replacen("postgres://", "postgresql://", 1)),
        Backend::MySql => Some(ctx.url.replacen("mysql://", "mariadb://", 1)),
    };
    if let Some(alias) = alias {
        let other = Store::connect(&alias, 2).await.unwrap();
        mapped(&ctx.store, &key("t", "iss", "alias"), "8:acs:alias").await;
        assert!(
            other
                .find_mapping(&key("t", "iss", "alias"))
                .await
                .unwrap()
                .is_some()
        );
    }
    // Refused credentials: an error (no panic) that names the server but not the password.
    if ctx.backend != Backend::Sqlite {
        let mut refused = url::Url::parse(&ctx.url).unwrap();
        refused.set_username("no_such_user").unwrap();
        refused.set_password(Some("secretpw")).unwrap();
        let err = Store::connect(refused.as_str(), 1)
            .await
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secretpw"), "{err}");
        assert!(err.contains("no_such_user:***@"), "{err}");
    }
    assert!(Store::connect("not a url", 1).await.is_err());
    assert!(Store::connect("oracle://db/x", 1).await.is_err());
    // An in-memory SQLite database works as one database, migrated once.
    if ctx.backend == Backend::Sqlite {
        let memory = Store::connect("sqlite::memory:", 10).await.unwrap();
        memory.migrate().await.unwrap();
        for n in 0..4 {
            mapped(&memory, &key("t", "iss", &format!("m{n}")), "8:acs:m").await;
        }
        assert_eq!(memory.count_mappings("t").await.unwrap(), 4);
    }
}

/// A migration that stopped half-way (MySQL/MariaDB commit each DDL statement) or found an
/// index built by hand can be run again: here every step runs over objects that already exist.
pub async fn migrations_rerun_over_existing_objects(ctx: Ctx) {
    mapped(&ctx.store, &key("t", "iss", "kept"), "8:acs:kept").await;
    ctx.exec("DELETE FROM seaql_migrations").await;
    assert_eq!(applied(&ctx.raw).await, 0);
    Migrator::up(&ctx.raw, None).await.unwrap();
    assert_eq!(applied(&ctx.raw).await, Migrator::migrations().len());
    assert_eq!(ctx.store.registry_version().await.unwrap(), 0);
    assert!(
        ctx.store
            .find_mapping(&key("t", "iss", "kept"))
            .await
            .unwrap()
            .is_some()
    );
}
