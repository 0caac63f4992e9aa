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
    settings: Settings,
    idp: TestIssuer,
    _emulator: RunningEmulator,
    client: reqwest::Client,
}

/// One replica on `settings`' database.
async fn start_server(settings: &Settings) -> Server {
    let app = Application::build(settings.clone(), BuildOptions::default())
        .await
        .expect("replica builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    let task = tokio::spawn(async move {
        let _ = app.run_until(std::future::pending()).await;
    });
    Server {
        address,
        state,
        task,
    }
}

async fn cluster(ctx: &Ctx, replicas: usize) -> Cluster {
    cluster_with(ctx, replicas, |_| {}).await
}

async fn cluster_with(
    ctx: &Ctx,
    replicas: usize,
    customize: impl FnOnce(&mut Settings),
) -> Cluster {
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
            allow_private_network: true,
            ..OidcConfig::new(idp.issuer(), vec![idp.audience()])
        }),
    )];
    customize(&mut settings);
    settings.validate().expect("valid settings");
    let mut servers = Vec::new();
    for _ in 0..replicas {
        servers.push(start_server(&settings).await);
    }
    for s in &servers {
        wait_until("the replica's change feed is live", || {
            s.state.changes.is_live()
        })
        .await;
    }
    Cluster {
        servers,
        settings,
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

/// Calls getToken as fast as 4 workers can, round robin over `servers`, for `window`; returns
/// (admitted, refused with 429, the time it took).
async fn drive(
    cluster: &Cluster,
    servers: &[usize],
    bearer: &str,
    window: Duration,
) -> (usize, usize, Duration) {
    let started = Instant::now();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let worker = || async {
        let (mut ok, mut refused) = (0, 0);
        while started.elapsed() < window {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            match cluster
                .get_token(servers[i % servers.len()], bearer)
                .await
                .0
            {
                200 | 201 => ok += 1,
                429 => refused += 1,
                other => panic!("unexpected status {other}"),
            }
        }
        (ok, refused)
    };
    let results = futures::future::join_all((0..4).map(|_| worker())).await;
    let ok = results.iter().map(|r| r.0).sum();
    let refused = results.iter().map(|r| r.1).sum();
    (ok, refused, started.elapsed())
}

/// What the tenant limit (`RATE`/s, burst `BURST`) lets through in `elapsed`, cluster-wide.
fn budget(elapsed: Duration) -> f64 {
    f64::from(BURST) + f64::from(RATE) * elapsed.as_secs_f64()
}

const RATE: u32 = 20;
const BURST: u32 = 20;

pub async fn cluster_limits_hold_with_three_and_two_replicas_and_rebalance_when_one_stops(
    ctx: Ctx,
) {
    let mut cluster = cluster_with(&ctx, 3, |s| {
        s.limits.tenant_requests_per_second = RATE;
        s.limits.tenant_burst = BURST;
        s.cluster.heartbeat_interval_ms = 200;
        s.cluster.replica_timeout_ms = 1000;
    })
    .await;
    let bearer = cluster.idp.token("heidi");
    assert_eq!(cluster.get_token(0, &bearer).await.0, 201);
    let sizes = |c: &Cluster| {
        c.servers
            .iter()
            .map(|s| s.state.membership.replicas())
            .collect::<Vec<_>>()
    };
    let all = |c: &Cluster, n: u32| {
        c.servers
            .iter()
            .all(|s| s.state.membership.replicas() == n && s.state.resources.pacing_share() == n)
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !all(&cluster, 3) {
        assert!(
            Instant::now() < deadline,
            "replicas never saw each other: {:?}",
            sizes(&cluster)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let window = Duration::from_secs(2);
    let mut report = Vec::new();
    for replicas in [3, 2, 1] {
        let servers: Vec<usize> = (0..replicas).collect();
        let (ok, refused, elapsed) = drive(&cluster, &servers, &bearer, window).await;
        let expected = budget(elapsed);
        let error = (ok as f64 - expected) / expected;
        report.push(format!("{replicas} replicas: {ok} admitted ({refused} refused) of a budget of {expected:.1} in {elapsed:?}: {:+.1}%", error * 100.0));
        assert!(refused > 0, "the load exceeded the limit");
        assert!(
            error.abs() <= 0.25,
            "{:?}: {}",
            ctx.backend,
            report.join("; ")
        );
        if replicas > 1 {
            // One stops (without leaving cleanly); the others rebalance within 5 s.
            cluster.servers.pop();
            let stopped = Instant::now();
            let n = (replicas - 1) as u32;
            while !all(&cluster, n) {
                assert!(
                    stopped.elapsed() < Duration::from_secs(5),
                    "no rebalance to {n}: {:?}",
                    sizes(&cluster)
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            report.push(format!("rebalanced to {n} after {:?}", stopped.elapsed()));
        }
    }
    eprintln!("{:?}: {}", ctx.backend, report.join("; "));
}

pub async fn a_replica_that_cannot_record_heartbeats_keeps_the_largest_recent_share(ctx: Ctx) {
    let mut cluster = cluster_with(&ctx, 3, |s| {
        s.limits.tenant_requests_per_second = RATE;
        s.cluster.heartbeat_interval_ms = 100;
        s.cluster.replica_timeout_ms = 500;
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cluster
        .servers
        .iter()
        .all(|s| s.state.membership.replicas() == 3)
    {
        assert!(Instant::now() < deadline, "replicas never saw each other");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The shared state is lost (the table is gone), and two replicas stop.
    ctx.exec("DROP TABLE cluster_replicas").await;
    cluster.servers.truncate(1);
    let survivor = &cluster.servers[0].state.membership;
    let failed = survivor.failed_heartbeats();
    wait_until("two more heartbeats failed", || {
        survivor.failed_heartbeats() >= failed + 2
    })
    .await;
    assert_eq!(
        survivor.replicas(),
        3,
        "a conservative share, never the whole limit"
    );
}

pub async fn a_replica_restarted_after_changes_serves_what_changed_while_it_was_down(ctx: Ctx) {
    let mut cluster = cluster(&ctx, 2).await;
    let bearer = cluster.idp.token("ivan");
    let (_, old) = cluster.get_token(0, &bearer).await;
    assert_eq!(cluster.get_token(1, &bearer).await, (200, old.clone()));
    cluster.servers.pop();
    assert_eq!(cluster.delete_user(0, &bearer).await, 204);
    let restarted = start_server(&cluster.settings).await;
    assert!(
        restarted.state.changes.is_live(),
        "current from its first request on"
    );
    cluster.servers.push(restarted);
    let (status, new) = cluster.get_token(1, &bearer).await;
    assert_eq!(status, 201);
    assert_ne!(new, old);
    assert_eq!(cluster.get_token(0, &bearer).await, (200, new));
}
