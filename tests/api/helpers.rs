//! `spawn_app()`: the real server on 127.0.0.1 port 0 with its own SQLite database, its own ACS
//! emulator and a fake OpenID Connect issuer; plus request helpers.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use acs_auth::acs::{EmulatorConfig, RunningEmulator, TokenSigningKey};
use acs_auth::config::{
    OidcProviderSettings, ProviderSettings, Settings, TenantSettings, TokenPolicySettings,
};
use acs_auth::startup::{Application, BuildOptions};
use acs_auth::state::AppState;
use acs_auth_providers::testing::TestIssuer;
use poem::listener::{Acceptor, Listener, TcpListener};
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
    acs_auth::acs::install_crypto_provider();
    let mut config = EmulatorConfig::with_random_key();
    config.signing_key = Some(emulator_key());
    RunningEmulator::start(config, loopback(), None)
        .await
        .expect("emulator starts")
}

pub fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub idp: TestIssuer,
    pub emulator: RunningEmulator,
    pub flaky: FlakyAcs,
    pub settings: Settings,
    pub state: AppState,
    pub _db_dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub fn oidc_tenant(id: &str, idp: &TestIssuer) -> TenantSettings {
    TenantSettings {
        id: id.into(),
        display_name: None,
        enabled: true,
        provider: ProviderSettings::Oidc(OidcProviderSettings {
            issuer: idp.issuer(),
            audiences: vec![idp.audience()],
            subject_claim: "sub".into(),
            allow_http: true,
        }),
        access: Default::default(),
        tokens: TokenPolicySettings::default(),
        acs: None,
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_, _| {}).await
}

/// Like `spawn_app`, with a hook to adjust the settings (the issuer is given to build tenants).
pub async fn spawn_app_with(customize: impl FnOnce(&mut Settings, &TestIssuer)) -> TestApp {
    let idp = TestIssuer::start().await;
    let emulator = start_emulator().await;
    let flaky = FlakyAcs::start(emulator.http_addr).await;
    let db_dir = tempfile::tempdir().expect("tempdir");

    let mut settings = Settings::default();
    settings.server.bind = loopback();
    settings.database.url = SecretString::from(format!(
        "sqlite://{}?mode=rwc",
        db_dir.path().join("acs-auth.db").display()
    ));
    settings.acs.connection_string = Some(SecretString::from(flaky.connection_string(&emulator)));
    settings.deletion.retry_interval_secs = 3600; // tests drive the worker explicitly
    settings.acs.circuit_breaker_cooldown_secs = 1;
    settings.tenants = vec![oidc_tenant(TENANT, &idp)];
    settings.admin.key_hashes = vec![sha256_hex(ADMIN_KEY)];
    settings.registry.reload_interval_secs = 1;
    // Rate limits are tested on their own (limits.rs); the other tests make bursts of calls.
    settings.limits.subject_requests_per_minute = 0;
    customize(&mut settings, &idp);
    settings.validate().expect("test settings are valid");

    let (address, state, server) = start(settings.clone(), BuildOptions::default()).await;
    TestApp {
        address,
        client: reqwest::Client::new(),
        idp,
        emulator,
        flaky,
        settings,
        state,
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

/// A pass-through in front of the emulator that can be told to fail: every request then gets
/// `503` with a `CommunicationErrorResponse`, as ACS answers when it is unavailable. The
/// emulator keeps serving the real protocol behind it.
pub struct FlakyAcs {
    pub addr: SocketAddr,
    failing: Arc<AtomicBool>,
    _task: tokio::task::JoinHandle<()>,
}

impl FlakyAcs {
    pub async fn start(upstream: SocketAddr) -> Self {
        let acceptor = TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .expect("bind");
        let addr = acceptor.local_addr()[0]
            .as_socket_addr()
            .copied()
            .expect("addr");
        let failing = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&failing);
        let http = reqwest::Client::new();
        let ep = poem::endpoint::make(move |mut req: poem::Request| {
            let flag = Arc::clone(&flag);
            let http = http.clone();
            async move {
                if flag.load(Ordering::SeqCst) {
                    return poem::Response::builder()
                        .status(poem::http::StatusCode::SERVICE_UNAVAILABLE)
                        .content_type("application/json")
                        .body(r#"{"error":{"code":"ServiceUnavailable","message":"injected failure"}}"#);
                }
                let uri = req.original_uri().clone();
                let url = format!(
                    "http://{upstream}{}",
                    uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
                );
                let body = req.take_body().into_bytes().await.unwrap_or_default();
                let mut out = http.request(req.method().clone(), url).body(body);
                for (name, value) in req.headers() {
                    // Keep Host as the client signed it.
                    out = out.header(name, value);
                }
                match out.send().await {
                    Ok(resp) => {
                        let status = resp.status();
                        let headers = resp.headers().clone();
                        let bytes = resp.bytes().await.unwrap_or_default();
                        let mut builder = poem::Response::builder().status(status);
                        for (name, value) in &headers {
                            if name != "content-length" && name != "transfer-encoding" {
                                builder = builder.header(name, value);
                            }
                        }
                        builder.body(bytes.to_vec())
                    }
                    Err(_) => poem::Response::builder()
                        .status(poem::http::StatusCode::BAD_GATEWAY)
                        .finish(),
                }
            }
        });
        let task = tokio::spawn(async move {
            let _ = poem::Server::new_with_acceptor(acceptor).run(ep).await;
        });
        Self {
            addr,
            failing,
            _task: task,
        }
    }

    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// The emulator's connection string, pointed at this pass-through.
    pub fn connection_string(&self, emulator: &RunningEmulator) -> String {
        emulator
            .connection_string()
            .replace(&emulator.http_addr.to_string(), &self.addr.to_string())
    }
}
