//! Replicas agree, on every backend: two or three `acs-auth` servers on one database (this
//! test's), each with its own memory, one ACS emulator and one identity provider. A change on
//! one replica reaches the others' memory through the change log (PostgreSQL: `NOTIFY`).

use std::time::{Duration, Instant};

use acs_auth::acs::{EmulatorConfig, RunningEmulator};
use acs_auth::config::{Settings, TenantSettings};
use acs_auth::startup::{Application, BuildOptions};
use acs_auth::state::AppState;
use acs_auth_providers::testing::TestIssuer;
use acs_auth_providers::{OidcConfig, ProviderConfig};
use secrecy::SecretString;
use serde_json::Value;

use crate::harness::Ctx;

struct Server {
    address: String,
    state: AppState,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Cluster {
    servers: Vec<Server>,
    idp: TestIssuer,
    _emulator: RunningEmulator,
    client: reqwest::Client,
}

async fn cluster(ctx: &Ctx, replicas: usize) -> Cluster {
    let idp = TestIssuer::start().await;
    let emulator = RunningEmulator::start(
        EmulatorConfig::with_random_key(),
        ([127, 0, 0, 1], 0).into(),
        None,
    )
    .await
    .expect("emulator starts");
    let mut settings = Settings::default();
    settings.server.bind = ([127, 0, 0, 1], 0).into();
    settings.database.url = SecretString::from(ctx.url.clone());
    settings.database.max_connections = 3;
    settings.acs.connection_string = Some(SecretString::from(emulator.connection_string()));
    settings.deletion.retry_interval_secs = 3600;
    // Only the change log can carry tenant changes in time.
    settings.registry.reload_interval_secs = 3600;
    settings.limits.subject_requests_per_minute = 0;
    settings.tenants = vec![TenantSettings::new(
        "acme",
        ProviderConfig::Oidc(OidcConfig {
            allow_http: true,
            ..OidcConfig::new(idp.issuer(), vec![idp.audience()])
        }),
    )];
    settings.validate().expect("valid settings");
    let mut servers = Vec::new();
    for _ in 0..replicas {
        let app = Application::build(settings.clone(), BuildOptions::default())
            .await
            .expect("replica builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let state = app.state().clone();
        let task = tokio::spawn(async move {
            let _ = app.run_until(std::future::pending()).await;
        });
        servers.push(Server {
            address,
            state,
            task,
        });
    }
    for s in &servers {
        wait_until("the replica's change feed is live", || {
            s.state.changes.is_live()
        })
        .await;
    }
    Cluster {
        servers,
        idp,
        _emulator: emulator,
        client: acs_auth_providers::http_client(),
    }
}

async fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

impl Cluster {
    async fn get_token(&self, server: usize, bearer: &str) -> (u16, String) {
        let resp = self
            .client
            .post(format!(
                "{}/tenants/acme/getToken",
                self.servers[server].address
            ))
            .bearer_auth(bearer)
            .send()
            .await
            .expect("request sent");
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.expect("JSON");
        let id = body["user"]["communicationUserId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        (status, id)
    }

    async fn delete_user(&self, server: usize, bearer: &str) -> u16 {
        self.client
            .delete(format!(
                "{}/tenants/acme/deleteUser",
                self.servers[server].address
            ))
            .bearer_auth(bearer)
            .send()
            .await
            .expect("request sent")
            .status()
            .as_u16()
    }
}

/// Deletes a user on replica 0 of `replicas` and measures, per other replica, when it first
/// stopped serving the deleted identity. Fails if any request sent more than 1 s after the
/// delete was served the old identity.
async fn delete_propagates(ctx: Ctx, replicas: usize) {
    let cluster = cluster(&ctx, replicas).await;
    let mut times = Vec::new();
    for round in 0..3 {
        let bearer = cluster.idp.token(&format!("carol-{round}"));
        let (status, old) = cluster.get_token(0, &bearer).await;
        assert_eq!(status, 201);
        for r in 1..replicas {
            assert_eq!(cluster.get_token(r, &bearer).await, (200, old.clone()));
        }
        assert_eq!(cluster.delete_user(0, &bearer).await, 204);
        let deleted = Instant::now();
        for r in 1..replicas {
            loop {
                let sent = deleted.elapsed();
                let (_, id) = cluster.get_token(r, &bearer).await;
                if id != old {
                    times.push(sent);
                    break;
                }
                assert!(
                    sent <= Duration::from_secs(1),
                    "{:?}: a request sent {sent:?} after the delete got the deleted identity",
                    ctx.backend
                );
            }
        }
        // All agree on the new identity after the next getToken.
        let (_, new) = cluster.get_token(1, &bearer).await;
        for r in 0..replicas {
            assert_eq!(cluster.get_token(r, &bearer).await, (200, new.clone()));
        }
    }
    times.sort();
    eprintln!(
        "{:?}, {replicas} replicas: delete propagation median {:?}, max {:?} ({} samples)",
        ctx.backend,
        times[times.len() / 2],
        times[times.len() - 1],
        times.len()
    );
}

pub async fn a_delete_reaches_the_other_replica_within_a_second(ctx: Ctx) {
    delete_propagates(ctx, 2).await;
}

pub async fn a_delete_reaches_two_other_replicas_within_a_second(ctx: Ctx) {
    delete_propagates(ctx, 3).await;
}

pub async fn concurrent_first_calls_on_three_replicas_make_one_identity(ctx: Ctx) {
    let cluster = cluster(&ctx, 3).await;
    let bearer = cluster.idp.token("frank");
    let calls = (0..9).map(|i| cluster.get_token(i % 3, &bearer));
    let answers = futures::future::join_all(calls).await;
    let first = &answers[0].1;
    assert!(
        answers
            .iter()
            .all(|(s, id)| (*s == 200 || *s == 201) && id == first),
        "{answers:?}"
    );
    assert_eq!(
        answers.iter().filter(|(s, _)| *s == 201).count(),
        1,
        "{answers:?}"
    );
    let mappings = ctx.store.mappings_of_tenant("acme").await.unwrap();
    assert_eq!(mappings.len(), 1);
}

pub async fn a_paused_replica_reads_from_the_database_and_catches_up(ctx: Ctx) {
    let cluster = cluster(&ctx, 2).await;
    let b = &cluster.servers[1].state.changes;
    let bearer = cluster.idp.token("grace");
    let (_, old) = cluster.get_token(0, &bearer).await;
    assert_eq!(cluster.get_token(1, &bearer).await, (200, old.clone()));
    b.set_paused(true);
    wait_until("the paused replica stops trusting memory", || !b.is_live()).await;
    let applied = b.applied();
    assert_eq!(cluster.delete_user(0, &bearer).await, 204);
    let (status, new) = cluster.get_token(1, &bearer).await;
    assert_eq!(status, 201, "served from the database, not from memory");
    assert_ne!(new, old);
    b.set_paused(false);
    wait_until("the replica caught up", || b.is_live()).await;
    assert!(b.applied() > applied);
    assert_eq!(cluster.get_token(0, &bearer).await, (200, new.clone()));
    assert_eq!(cluster.get_token(1, &bearer).await, (200, new));
}
