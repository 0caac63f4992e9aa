//! The returning user's hot path, in-process (no socket in the measured loops).
//!
//! The real application is built by [`Application::build`] as the tests' `spawn_app` builds it:
//! SQLite in a temporary directory, the ACS emulator on loopback, one OIDC tenant (`acme`)
//! whose issuer is the in-process [`TestIssuer`] (RS256), rate limits off. One user's first
//! getToken (201: identity created, token issued) happens before anything is measured.
//!
//! - `verified_token_cache_hit`: [`VerifiedTokens::get_or_verify`] for a token it already holds
//!   (the SHA-256 of the token, a cache lookup, the expiry and key checks): what a returning
//!   user pays instead of a signature check.
//! - `gate_admit`: [`Gate::admit`] as the handlers call it: tenant rate limit, enabled flag, the
//!   cache hit above, user rate limit.
//! - `handler/getToken_200`: `POST /tenants/acme/getToken` through [`Application::endpoint`]
//!   (routing, body limit, problem middleware, tracing middleware, handler, service, caches,
//!   JSON response); every answer is checked to be `200`.
//! - `handler/healthz`: `GET /healthz` the same way: the cost of the edge alone.
//!
//! No log subscriber is installed, so log output is not part of the numbers. Run with
//! `cargo bench --bench hot_path`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;

use acs_auth::acs::{EmulatorConfig, RunningEmulator};
use acs_auth::config::{Settings, TenantSettings};
use acs_auth::service::{Clock, ServiceError, Tenant, VerifiedTokens};
use acs_auth::startup::{Application, BuildOptions};
use acs_auth_providers::testing::TestIssuer;
use acs_auth_providers::{OidcConfig, ProviderConfig};
use criterion::{Criterion, criterion_group, criterion_main};
use poem::http::{Method, StatusCode, header};
use poem::{Endpoint, Request};
use secrecy::SecretString;

const TENANT: &str = "acme";
const GET_TOKEN: &str = "/tenants/acme/getToken";

struct Bench {
    app: Application,
    idp: TestIssuer,
    settings: Settings,
    token: String,
    tenant: Arc<Tenant>,
    _emulator: RunningEmulator,
    _db_dir: tempfile::TempDir,
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

async fn setup() -> Bench {
    acs_auth::acs::install_crypto_provider();
    let idp = TestIssuer::start().await;
    let emulator = RunningEmulator::start(EmulatorConfig::with_random_key(), loopback(), None)
        .await
        .unwrap();
    let db_dir = tempfile::tempdir().unwrap();

    let mut settings = Settings::default();
    // Bound by Application::build but never served: the benches call the endpoint directly.
    settings.server.bind = loopback();
    settings.database.url = SecretString::from(format!(
        "sqlite://{}?mode=rwc",
        db_dir.path().join("acs-auth.db").display()
    ));
    settings.acs.connection_string = Some(SecretString::from(emulator.connection_string()));
    settings.tenants = vec![TenantSettings::new(
        TENANT,
        ProviderConfig::Oidc(OidcConfig {
            allow_http: true,
            allow_private_network: true,
            ..OidcConfig::new(idp.issuer(), vec![idp.audience()])
        }),
    )];
    // As `acs-auth dev --no-rate-limits`: one user calls far more often than a real one would.
    settings.limits.subject_requests_per_minute = 0;
    settings.limits.tenant_requests_per_second = 0;
    settings.validate().unwrap();

    let app = Application::build(settings.clone(), BuildOptions::default())
        .await
        .unwrap();
    let token = idp.token("bench-user");
    let first = app.endpoint().call(get_token(&token)).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED, "the first call");
    let tenant = app.state().tenants.get(TENANT).unwrap();
    Bench {
        app,
        idp,
        settings,
        token,
        tenant,
        _emulator: emulator,
        _db_dir: db_dir,
    }
}

fn get_token(bearer: &str) -> Request {
    Request::builder()
        .method(Method::POST)
        .uri_str(GET_TOKEN)
        .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
        .finish()
}

fn healthz() -> Request {
    Request::builder()
        .method(Method::GET)
        .uri_str("/healthz")
        .finish()
}

/// The verification [`Gate::admit`](acs_auth::service::Gate::admit) runs on a miss.
async fn verify(
    tenant: &Tenant,
    token: &str,
) -> Result<acs_auth_providers::VerifiedIdentity, ServiceError> {
    Ok(tenant.provider.verify(token).await?)
}

fn hot_path(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let bench = runtime.block_on(setup());
    let state = bench.app.state();
    let tenant = bench.tenant.as_ref();
    let token = bench.token.as_str();

    // A verified-token cache like the gate's, over the same JWKS cache, holding the token.
    let verified = VerifiedTokens::new(
        &bench.settings.cache,
        Arc::clone(&state.tenants.factory().jwks),
        Clock::system(),
    );
    let who = runtime
        .block_on(verified.get_or_verify(tenant, token, || verify(tenant, token)))
        .unwrap();
    assert_eq!(who.subject, "bench-user");
    c.bench_function("verified_token_cache_hit", |b| {
        b.to_async(&runtime).iter(|| async {
            verified
                .get_or_verify(tenant, black_box(token), || verify(tenant, token))
                .await
                .unwrap()
        });
    });
    assert_eq!(verified.stats().verifications, 1, "every call was a hit");

    c.bench_function("gate_admit", |b| {
        b.to_async(&runtime).iter(|| async {
            state
                .gate
                .admit(tenant, black_box(token), Some([127, 0, 0, 1].into()))
                .await
                .unwrap()
        });
    });

    let endpoint = bench.app.endpoint();
    let second = runtime.block_on(endpoint.call(get_token(token))).unwrap();
    assert_eq!(second.status(), StatusCode::OK, "a returning user's call");
    let mut group = c.benchmark_group("handler");
    group.bench_function("getToken_200", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = endpoint.call(get_token(token)).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response
        });
    });
    group.bench_function("healthz", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = endpoint.call(healthz()).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response
        });
    });
    group.finish();

    // The gate and the handler verified the token once (the first call), and the issuer was
    // asked for discovery and keys once: every measured call was served from the caches.
    assert_eq!(state.gate.verification_stats().verifications, 1);
    assert_eq!(bench.idp.jwks_fetch_count(), 1);
}

criterion_group!(benches, hot_path);
criterion_main!(benches);
