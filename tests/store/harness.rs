//! One fresh, migrated database per test, on the backend the test module names.
//!
//! - SQLite: a file in a temporary directory.
//! - PostgreSQL: `TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//!   names a server and a maintenance database; each test creates `acs_auth_test_<secs>_<uuid>`
//!   there (UTF-8) and drops it at the end, also when the test failed.
//! - MySQL/MariaDB: `TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`), likewise; the
//!   database is created with the case-insensitive `utf8mb4_general_ci` default on purpose, so
//!   the suite proves the migrations do not depend on the server's collation.
//!
//! The variables are not `ACS_AUTH_*`: the application's configuration loader reads every
//! `ACS_AUTH_*` variable and refuses unknown keys. An unreachable server fails the test with a
//! message naming the URL; nothing is skipped.
//!
//! Databases left behind by a killed run (older than an hour, by the time in their name) are
//! dropped by the next run.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use acs_auth::store::Store;
use futures::FutureExt;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

const DB_PREFIX: &str = "acs_auth_test_";
const STALE_AFTER_SECS: u64 = 3600;

/// A test's own database.
pub struct Ctx {
    pub backend: Backend,
    /// The URL of this test's database (what `database.url` would say).
    pub url: String,
    /// The store under test (a pool of 5).
    pub store: Store,
    /// A plain connection to the same database, for migrations and raw SQL.
    pub raw: DatabaseConnection,
}

impl Ctx {
    /// Another store on the same database with its own pool: what another replica would have.
    pub async fn replica(&self, max_connections: u32) -> Store {
        Store::connect(&self.url, max_connections)
            .await
            .unwrap_or_else(|e| panic!("connect a second store to {}: {e}", shown(&self.url)))
    }

    /// `n` replicas with one connection each.
    pub async fn replicas(&self, n: usize) -> Vec<Store> {
        let mut all = Vec::with_capacity(n);
        for _ in 0..n {
            all.push(self.replica(1).await);
        }
        all
    }

    pub async fn exec(&self, sql: &str) {
        self.raw
            .execute_unprepared(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

fn server_url(backend: Backend) -> Option<String> {
    let (var, default) = match backend {
        Backend::Sqlite => return None,
        Backend::Postgres => (
            "TEST_POSTGRES_URL",
            "postgres://postgres@127.0.0.1:5432/postgres",
        ),
        Backend::MySql => ("TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
    };
    Some(std::env::var(var).unwrap_or_else(|_| default.to_owned()))
}

/// The URL with any password masked.
pub fn shown(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "<unparsable URL>".to_owned(),
    }
}

fn with_database(server: &str, name: &str) -> String {
    let mut u = url::Url::parse(server).unwrap_or_else(|e| panic!("{}: {e}", shown(server)));
    u.set_path(&format!("/{name}"));
    u.to_string()
}

async fn admin_connection(backend: Backend, server: &str) -> DatabaseConnection {
    let mut opts = ConnectOptions::new(server.to_owned());
    opts.max_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    let var = match backend {
        Backend::Postgres => "TEST_POSTGRES_URL",
        _ => "TEST_MYSQL_URL",
    };
    Database::connect(opts).await.unwrap_or_else(|e| {
        panic!(
            "the {backend:?} server at {} is unreachable ({e}); start it or point {var} at one",
            shown(server)
        )
    })
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn create_sql(backend: Backend, name: &str) -> String {
    match backend {
        Backend::Postgres => {
            format!(r#"CREATE DATABASE "{name}" ENCODING 'UTF8' TEMPLATE template0"#)
        }
        _ => format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"),
    }
}

fn drop_sql(backend: Backend, name: &str) -> String {
    match backend {
        // FORCE ends sessions a test left open (PostgreSQL ≥ 13).
        Backend::Postgres => format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#),
        _ => format!("DROP DATABASE IF EXISTS `{name}`"),
    }
}

/// Drops test databases of earlier runs that were killed before they could clean up.
async fn sweep_stale(backend: Backend, admin: &DatabaseConnection) {
    let list = match backend {
        Backend::Postgres => {
            "SELECT datname FROM pg_database WHERE datname LIKE 'acs\\_auth\\_test\\_%'"
        }
        _ => {
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'acs\\_auth\\_test\\_%'"
        }
    };
    let db_backend = admin.get_database_backend();
    let Ok(rows) = admin
        .query_all_raw(sea_orm::Statement::from_string(db_backend, list))
        .await
    else {
        return;
    };
    let now = now_secs();
    for row in rows {
        let Ok(name) = row.try_get_by_index::<String>(0) else {
            continue;
        };
        let created = name
            .strip_prefix(DB_PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok());
        if matches!(created, Some(t) if now.saturating_sub(t) > STALE_AFTER_SECS) {
            let _ = admin.execute_unprepared(&drop_sql(backend, &name)).await;
        }
    }
}

/// Runs one conformance test on a fresh database of `backend`, then drops the database.
pub async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()>,
{
    acs_auth::acs::install_crypto_provider();
    let (url, dir, admin, name) = match server_url(backend) {
        None => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("store.db").display()
            );
            (url, Some(dir), None, None)
        }
        Some(server) => {
            let admin = admin_connection(backend, &server).await;
            sweep_stale(backend, &admin).await;
            let name = format!(
                "{DB_PREFIX}{}_{}",
                now_secs(),
                uuid::Uuid::new_v4().simple()
            );
            admin
                .execute_unprepared(&create_sql(backend, &name))
                .await
                .unwrap_or_else(|e| panic!("create database {name} on {}: {e}", shown(&server)));
            (with_database(&server, &name), None, Some(admin), Some(name))
        }
    };

    let outcome = AssertUnwindSafe(async {
        let store = Store::connect(&url, 5)
            .await
            .unwrap_or_else(|e| panic!("connect the store to {}: {e}", shown(&url)));
        store
            .migrate()
            .await
            .unwrap_or_else(|e| panic!("migrate {}: {e}", shown(&url)));
        let raw = Database::connect(url.clone())
            .await
            .unwrap_or_else(|e| panic!("connect to {}: {e}", shown(&url)));
        assert_eq!(
            raw.get_database_backend(),
            match backend {
                Backend::Sqlite => DbBackend::Sqlite,
                Backend::Postgres => DbBackend::Postgres,
                Backend::MySql => DbBackend::MySql,
            }
        );
        let ctx = Ctx {
            backend,
            url: url.clone(),
            store,
            raw: raw.clone(),
        };
        test(ctx).await;
        let _ = raw.close().await;
    })
    .catch_unwind()
    .await;

    if let (Some(admin), Some(name)) = (admin, name) {
        if let Err(e) = admin.execute_unprepared(&drop_sql(backend, &name)).await {
            eprintln!("could not drop test database {name}: {e}");
        }
        let _ = admin.close().await;
    }
    drop(dir);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
