//! `spawn_app()`: the real server on 127.0.0.1 port 0 with its own SQLite database, its own ACS
//! emulator and a fake OpenID Connect issuer; plus request helpers.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use acs_auth::acs::{EmulatorConfig, RunningEmulator, TokenSigningKey};
use acs_auth::config::{Settings, TenantSettings};
use acs_auth::service::{Clock, VerificationStats};
use acs_auth::startup::{Application, BuildOptions};
use acs_auth::state::AppState;
use acs_auth_providers::testing::TestIssuer;
use acs_auth_providers::{OidcConfig, ProviderConfig};
use secrecy::SecretString;
use serde_json::Value;

pub const TENANT: &str = "acme";
/// The admin API key every test app accepts.
pub const ADMIN_KEY: &str = "test-admin-key-0123456789";

pub fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// RSA keygen is slow; every emulator of this test binary signs with one key.
fn emulator_key() -> TokenSigningKey {
    static KEY: OnceLock<TokenSigningKey> = OnceLock::new();
    KEY.get_or_init(|| TokenSigningKey::generate().expect("emulator key"))
        .clone()
}

pub async fn start_emulator() -> RunningEmulator {
    start_emulator_with(|_| {}).await
}

/// An emulator whose configuration `customize` adjusts (e.g. to enforce the service limits).
pub async fn start_emulator_with(customize: impl FnOnce(&mut EmulatorConfig)) -> RunningEmulator {
    acs_auth::acs::install_crypto_provider();
    let mut config = EmulatorConfig::with_random_key();
    config.signing_key = Some(emulator_key());
    customize(&mut config);
    RunningEmulator::start(config, loopback(), None)
        .await
        .expect("emulator starts")
}

pub fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// The time the server's service layer decides by: the system time, plus however far the test
/// moved it (only forward), so expiry is tested without waiting.
#[derive(Clone, Default)]
pub struct TestClock {
    ahead_ms: Arc<AtomicU64>,
}

impl TestClock {
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).expect("a sane duration");
        self.ahead_ms.fetch_add(ms, Ordering::SeqCst);
    }

    pub fn clock(&self) -> Clock {
        let ahead = Arc::clone(&self.ahead_ms);
        Clock::from_fn(move || {
            SystemTime::now() + Duration::from_millis(ahead.load(Ordering::SeqCst))
        })
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub idp: TestIssuer,
    pub emulator: RunningEmulator,
    pub settings: Settings,
    pub state: AppState,
    /// The server's clock (see [`TestClock`]).
    pub clock: TestClock,
    pub _db_dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
}

/// A replica of a [`TestApp`]: same database and ACS resource, its own memory.
pub struct Replica {
    pub address: String,
    pub state: AppState,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Waits (5 s at most) until `state`'s change feed counts its memory as current.
pub async fn wait_live(state: &AppState) {
    wait_until("the change feed is live", || state.changes.is_live()).await;
}

/// Waits (5 s at most) until `condition` holds, checking every 10 ms.
pub async fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub fn oidc_tenant(id: &str, idp: &TestIssuer) -> TenantSettings {
    TenantSettings::new(
        id,
        ProviderConfig::Oidc(OidcConfig {
            allow_http: true,
            allow_private_network: true,
            ..OidcConfig::new(idp.issuer(), vec![idp.audience()])
        }),
    )
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_, _| {}).await
}

/// Like `spawn_app`, with a hook to adjust the settings (the issuer is given to build tenants).
pub async fn spawn_app_with(customize: impl FnOnce(&mut Settings, &TestIssuer)) -> TestApp {
    spawn_app_with_emulator(|_| {}, customize).await
}

/// Like `spawn_app_with`, with a hook to adjust the emulator's configuration too.
pub async fn spawn_app_with_emulator(
    emulator: impl FnOnce(&mut EmulatorConfig),
    customize: impl FnOnce(&mut Settings, &TestIssuer),
) -> TestApp {
    let idp = TestIssuer::start().await;
    let emulator = start_emulator_with(emulator).await;
    let db_dir = tempfile::tempdir().expect("tempdir");

    let mut settings = Settings::default();
    settings.server.bind = loopback();
    settings.database.url = SecretString::from(format!(
        "sqlite://{}?mode=rwc",
        db_dir.path().join("acs-auth.db").display()
    ));
    settings.acs.connection_string = Some(SecretString::from(emulator.connection_string()));
    settings.deletion.retry_interval_secs = 3600; // tests drive the worker explicitly
    settings.acs.circuit_breaker_cooldown_secs = 1;
    settings.tenants = vec![oidc_tenant(TENANT, &idp)];
    settings.admin.key_hashes = vec![sha256_hex(ADMIN_KEY)];
    settings.registry.reload_interval_secs = 1;
    // Rate limits are tested on their own (limits.rs); the other tests make bursts of calls.
    settings.limits.subject_requests_per_minute = 0;
    // The hostile-token tests send hundreds of bad tokens from one address; the address
    // limits are tested on their own (limits.rs).
    settings.limits.failed_auth_per_minute = 0;
    settings.limits.admin_requests_per_minute = 0;
    customize(&mut settings, &idp);
    settings.validate().expect("test settings are valid");

    let clock = TestClock::default();
    let options = BuildOptions {
        clock: Some(clock.clock()),
        ..BuildOptions::default()
    };
    let (address, state, server) = start(settings.clone(), options).await;
    TestApp {
        address,
        client: acs_auth_providers::http_client(),
        idp,
        emulator,
        settings,
        state,
        clock,
        _db_dir: db_dir,
        server,
    }
}

/// Builds and runs an Application; returns its base URL.
pub async fn start(
    settings: Settings,
    options: BuildOptions,
) -> (String, AppState, tokio::task::JoinHandle<()>) {
    let app = Application::build(settings, options)
        .await
        .expect("application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    let server = tokio::spawn(async move {
        let _ = app.run_until(std::future::pending()).await;
    });
    (address, state, server)
}

impl TestApp {
    /// A second replica: same database, same ACS resource, its own caches.
    pub async fn spawn_replica(&self) -> (String, tokio::task::JoinHandle<()>) {
        let (address, _, server) = start(self.settings.clone(), BuildOptions::default()).await;
        (address, server)
    }

    /// Another replica like [`TestApp::spawn_replica`], with its state at hand.
    pub async fn replica(&self) -> Replica {
        let options = BuildOptions {
            clock: Some(self.clock.clock()),
            ..BuildOptions::default()
        };
        let (address, state, server) = start(self.settings.clone(), options).await;
        Replica {
            address,
            state,
            server,
        }
    }

    /// Makes the emulator answer every ACS operation `503 ServiceUnavailable` (as ACS does when
    /// it is down) until called again with `false`.
    pub fn set_acs_failing(&self, failing: bool) {
        let emulator = self.emulator.emulator();
        emulator.clear_faults();
        if failing {
            for operation in acs_auth::acs::Operation::ALL {
                emulator.inject(
                    operation,
                    acs_auth::acs::emulator::Fault::Status {
                        status: 503,
                        retry_after: None,
                        times: None,
                    },
                );
            }
        }
    }

    /// An admin API request with the test key.
    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(&format!("/admin{path}")))
            .header("x-admin-key", ADMIN_KEY)
    }

    /// An admin API request with the test key, answered with JSON.
    pub async fn admin_json(&self, method: reqwest::Method, path: &str) -> Value {
        self.admin(method, path)
            .send()
            .await
            .expect("request sent")
            .json()
            .await
            .expect("a JSON answer")
    }

    /// How often the server verified a bearer token, and how often a kept verdict served.
    pub fn verification_stats(&self) -> VerificationStats {
        self.state.gate.verification_stats()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get_token(&self, bearer: &str) -> reqwest::Response {
        self.post_get_token(TENANT, bearer, None).await
    }

    pub async fn post_get_token(
        &self,
        tenant: &str,
        bearer: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(self.url(&format!("/tenants/{tenant}/getToken")))
            .bearer_auth(bearer);
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.expect("request sent")
    }

    pub async fn delete_user(&self, bearer: &str) -> reqwest::Response {
        self.client
            .delete(self.url(&format!("/tenants/{TENANT}/deleteUser")))
            .bearer_auth(bearer)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get_user(&self, bearer: &str) -> reqwest::Response {
        self.client
            .get(self.url(&format!("/tenants/{TENANT}/user")))
            .bearer_auth(bearer)
            .send()
            .await
            .expect("request sent")
    }

    /// Makes every pending deletion due now (instead of waiting out its back-off) and runs the
    /// deletion worker once; returns how many deletions ACS confirmed.
    pub async fn run_deletion_worker(&self) -> usize {
        for p in self.state.store.pending_deletions().await.expect("pending") {
            self.state
                .store
                .defer_deletion(
                    p.id,
                    p.attempts,
                    chrono::Utc::now() - chrono::Duration::seconds(1),
                    "test",
                )
                .await
                .expect("defer");
        }
        acs_auth::service::DeletionWorker::new(
            self.state.store.clone(),
            self.state.resources.clone(),
            std::time::Duration::from_secs(1),
        )
        .run_due()
        .await
    }

    /// The ACS identities queued for deletion.
    pub async fn pending_deletions(&self) -> Vec<acs_auth::store::PendingDeletion> {
        self.state
            .store
            .pending_deletions()
            .await
            .expect("pending deletions")
    }

    /// Makes the emulator answer `operation` with `status` (and `Retry-After`), `times` times
    /// (`None`: until cleared).
    pub fn inject_status(
        &self,
        operation: acs_auth::acs::Operation,
        status: u16,
        retry_after: Option<u64>,
        times: Option<u32>,
    ) {
        self.emulator.emulator().inject(
            operation,
            acs_auth::acs::emulator::Fault::Status {
                status,
                retry_after,
                times,
            },
        );
    }

    pub async fn mappings(&self) -> Vec<acs_auth::store::Mapping> {
        self.state
            .store
            .mappings_of_tenant(TENANT)
            .await
            .expect("mappings")
    }
}

/// Asserts an RFC 9457 problem with `status` and `code`; returns the body.
pub async fn assert_problem(resp: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status, "status");
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(ct, "application/problem+json");
    let request_id = resp.headers().get("x-request-id").cloned();
    let www = resp.headers().get("www-authenticate").cloned();
    let body: Value = resp.json().await.expect("problem body is JSON");
    assert_eq!(body["code"], code, "problem code in {body}");
    assert_eq!(body["status"], status);
    assert!(body["title"].is_string());
    assert_eq!(
        body["requestId"].as_str(),
        request_id.as_ref().and_then(|v| v.to_str().ok()),
        "request id in body and header"
    );
    if status == 401 {
        let www = www.expect("401 carries WWW-Authenticate");
        let www = www.to_str().unwrap();
        assert!(
            www.starts_with("Bearer ") || www.starts_with("ApiKey "),
            "{www:?}"
        );
    }
    body
}
