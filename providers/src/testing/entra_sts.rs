//! The token-issuing side of [`FakeEntra`]: the client-credentials token endpoint
//! (`POST /{tenant}/oauth2/v2.0/token`, what azure_identity's `ClientSecretCredential` and
//! `ClientAssertionCredential` — workload identity — call) and the managed-identity IMDS endpoint
//! (`GET /metadata/identity/oauth2/token`), with failure modes, counters and the recorded
//! requests. The wire shapes (token responses, Entra error bodies) are Entra ID's.

use std::collections::HashMap;

use poem::http::Method;
use poem::listener::{Acceptor, Listener, RustlsCertificate, RustlsConfig, TcpListener};
use poem::{Endpoint, Request};

use super::*;

/// The `client_assertion_type` of a client assertion (RFC 7523).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The host of the instance metadata service; [`FakeEntra::imds_http_client`] proxies it.
pub const IMDS_HOST: &str = "169.254.169.254";

/// How [`FakeEntra`]'s token endpoint answers (see [`FakeEntra::set_token_mode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenEndpointMode {
    /// As Entra ID would.
    Ok,
    /// Always this status, with an Entra error body (`invalid_request`, AADSTS50000).
    Status(u16),
    /// Answer only after 30 s (for client timeouts).
    Hang,
}

/// A confidential client registered with [`FakeEntra::register_client`].
#[derive(Debug, Clone, Default)]
struct Client {
    secret: Option<String>,
    assertion: Option<String>,
}

pub(super) struct StsState {
    mode: Mutex<TokenEndpointMode>,
    /// (tenant, client id) → credentials.
    clients: Mutex<HashMap<(String, String), Client>>,
    /// The directory (`tid`) of managed-identity tokens.
    imds_tenant: Mutex<String>,
    token_calls: AtomicU64,
    imds_calls: AtomicU64,
    requests: Mutex<Vec<HashMap<String, String>>>,
    last_token: Mutex<Option<String>>,
}

impl Default for StsState {
    fn default() -> Self {
        Self {
            mode: Mutex::new(TokenEndpointMode::Ok),
            clients: Mutex::new(HashMap::new()),
            imds_tenant: Mutex::new(FAKE_ENTRA_TENANT_A.to_owned()),
            token_calls: AtomicU64::new(0),
            imds_calls: AtomicU64::new(0),
            requests: Mutex::new(Vec::new()),
            last_token: Mutex::new(None),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn json_status(status: u16, body: &Value) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .content_type("application/json; charset=utf-8")
        .body(body.to_string())
}

/// An Entra ID (eSTS) error body.
fn entra_error(status: u16, error: &str, code: u32, description: &str) -> Response {
    json_status(
        status,
        &json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {description}"),
            "error_codes": [code],
            "timestamp": "2024-01-01 00:00:00Z",
            "trace_id": "00000000-0000-0000-0000-000000000000",
            "correlation_id": "00000000-0000-0000-0000-000000000000",
        }),
    )
}

fn form(text: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect()
}

/// The claims of an app-only v1 token Entra ID issues to `appid` of directory `tid` for `aud`.
pub fn app_token_claims(tid: &str, aud: &str, appid: &str) -> Value {
    let now = now_unix();
    json!({
        "aud": aud,
        "iss": FakeEntra::v1_issuer(tid),
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "appid": appid,
        "appidacr": "1",
        "idtyp": "app",
        "oid": "0b1f9b2e-5a4c-4a0e-9b9e-1f2d3c4b5a69",
        "sub": "0b1f9b2e-5a4c-4a0e-9b9e-1f2d3c4b5a69",
        "tid": tid,
        "ver": "1.0",
    })
}

impl EntraState {
    pub(super) async fn token(&self, tenant: &str, body: &str) -> Response {
        let sts = &self.sts;
        sts.token_calls.fetch_add(1, Ordering::SeqCst);
        let params = form(body);
        lock(&sts.requests).push(params.clone());
        let mode = *lock(&sts.mode);
        match mode {
            TokenEndpointMode::Ok => {}
            TokenEndpointMode::Status(status) => {
                return entra_error(
                    status,
                    "invalid_request",
                    50000,
                    "The fake authority fails.",
                );
            }
            TokenEndpointMode::Hang => tokio::time::sleep(Duration::from_secs(30)).await,
        }
        let tenant = tenant.to_ascii_lowercase();
        let get = |k: &str| params.get(k).map(String::as_str);
        let client = {
            let clients = lock(&sts.clients);
            if !clients.keys().any(|(t, _)| *t == tenant) {
                return entra_error(400, "invalid_request", 90002, "Tenant not found.");
            }
            let client_id = get("client_id").unwrap_or_default().to_owned();
            match clients.get(&(tenant.clone(), client_id)) {
                Some(client) if get("grant_type") == Some("client_credentials") => client.clone(),
                _ => {
                    return entra_error(
                        400,
                        "unauthorized_client",
                        700016,
                        "Application not found.",
                    );
                }
            }
        };
        let authenticated = match (get("client_secret"), get("client_assertion")) {
            (Some(secret), None) => client.secret.as_deref() == Some(secret),
            (None, Some(assertion)) => {
                get("client_assertion_type") == Some(CLIENT_ASSERTION_TYPE)
                    && client.assertion.as_deref() == Some(assertion)
            }
            _ => false,
        };
        if !authenticated {
            return entra_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided.",
            );
        }
        // Like eSTS: the resource (and `aud`) is everything before the scope's `/.default`.
        let Some(aud) = get("scope").and_then(|s| s.strip_suffix("/.default")) else {
            return entra_error(
                400,
                "invalid_scope",
                1002012,
                "The provided value for scope is not valid.",
            );
        };
        let appid = get("client_id").unwrap_or_default();
        let token = self.sign_main(&app_token_claims(&tenant, aud, appid));
        *lock(&sts.last_token) = Some(token.clone());
        json_status(
            200,
            &json!({
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": token,
            }),
        )
    }

    pub(super) fn imds(&self, request: &Request) -> Response {
        let sts = &self.sts;
        sts.imds_calls.fetch_add(1, Ordering::SeqCst);
        let mut params = form(request.uri().query().unwrap_or_default());
        let metadata = request
            .headers()
            .get("metadata")
            .and_then(|v| v.to_str().ok());
        if let Some(m) = metadata {
            params.insert("metadata-header".into(), m.to_owned());
        }
        lock(&sts.requests).push(params.clone());
        if metadata != Some("true") {
            return json_status(
                400,
                &json!({"error": "invalid_request", "error_description": "Required metadata header not specified"}),
            );
        }
        let Some(resource) = params.get("resource") else {
            return json_status(
                400,
                &json!({"error": "invalid_request", "error_description": "Required query variable 'resource' is missing"}),
            );
        };
        let appid = params
            .get("client_id")
            .cloned()
            .unwrap_or_else(|| "system-assigned".into());
        let tid = lock(&sts.imds_tenant).clone();
        let token = self.sign_main(&app_token_claims(&tid, resource, &appid));
        *lock(&sts.last_token) = Some(token.clone());
        let now = now_unix();
        json_status(
            200,
            &json!({
                "access_token": token,
                "client_id": appid,
                "expires_in": "3599",
                "expires_on": (now + 3599).to_string(),
                "ext_expires_in": "3599",
                "not_before": now.to_string(),
                "resource": resource,
                "token_type": "Bearer",
            }),
        )
    }
}

/// The HTTPS endpoint: the token endpoint, and everything the plain listener serves.
struct HttpsEndpoint {
    state: Arc<EntraState>,
}

impl Endpoint for HttpsEndpoint {
    type Output = Response;

    async fn call(&self, request: Request) -> poem::Result<Response> {
        let segments: Vec<String> = request
            .uri()
            .path()
            .trim_start_matches('/')
            .split('/')
            .map(str::to_owned)
            .collect();
        if request.method() == Method::POST
            && let [tenant, oauth2, version, token] = segments.as_slice()
            && (oauth2.as_str(), version.as_str(), token.as_str()) == ("oauth2", "v2.0", "token")
        {
            let body = request.into_body().into_string().await.unwrap_or_default();
            return Ok(self.state.token(tenant, &body).await);
        }
        Ok(self.state.handle(&request))
    }
}

/// The HTTPS listener of [`FakeEntra::start_https`]: its URL, certificate, and its server.
pub(super) struct HttpsListener {
    pub(super) authority: String,
    pub(super) cert_pem: String,
    pub(super) _server: oneshot::Sender<()>,
}

impl std::fmt::Debug for HttpsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpsListener")
            .field("authority", &self.authority)
            .finish_non_exhaustive()
    }
}

/// A self-signed certificate for `localhost`, `127.0.0.1` and `::1`: (certificate, key) PEM.
fn self_signed() -> std::io::Result<(String, String)> {
    use rcgen::{CertificateParams, DnType, KeyPair, SanType};
    let tls = std::io::Error::other;
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).map_err(tls)?;
    params.subject_alt_names.extend([
        SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()),
        SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()),
    ]);
    params
        .distinguished_name
        .push(DnType::CommonName, "acs-auth fake Entra ID");
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().map_err(tls)?;
    let cert = params.self_signed(&key).map_err(tls)?;
    Ok((cert.pem(), key.serialize_pem()))
}

pub(super) async fn serve_https(state: Arc<EntraState>) -> std::io::Result<HttpsListener> {
    crate::install_crypto_provider();
    let (cert_pem, key_pem) = tokio::task::spawn_blocking(self_signed)
        .await
        .map_err(std::io::Error::other)??;
    let config = RustlsConfig::new().fallback(
        RustlsCertificate::new()
            .cert(cert_pem.clone().into_bytes())
            .key(key_pem.into_bytes()),
    );
    let acceptor = TcpListener::bind("127.0.0.1:0")
        .rustls(config)
        .into_acceptor()
        .await?;
    let port = acceptor
        .local_addr()
        .first()
        .and_then(|addr| addr.as_socket_addr().map(|a| a.port()))
        .ok_or_else(|| std::io::Error::other("no local address"))?;
    let (shutdown, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let result = Server::new_with_acceptor(acceptor)
            .run_with_graceful_shutdown(
                HttpsEndpoint { state },
                async move {
                    let _ = stopped.await;
                },
                Some(Duration::from_millis(100)),
            )
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "fake Entra ID (https) stopped with an error");
        }
    });
    Ok(HttpsListener {
        authority: format!("https://127.0.0.1:{port}"),
        cert_pem,
        _server: shutdown,
    })
}

impl FakeEntra {
    /// Start with the default options and the HTTPS listener ([`FakeEntra::https_authority`]),
    /// which serves the token endpoint (azure_identity refuses `http` authorities). Panics if
    /// it cannot listen.
    pub async fn start_https() -> Self {
        must(
            Self::try_start_https(FakeEntraOptions::default()).await,
            "start FakeEntra with https",
        )
    }

    /// Start with `options` and the HTTPS listener, reporting a failure to listen.
    pub async fn try_start_https(options: FakeEntraOptions) -> std::io::Result<Self> {
        let mut entra = Self::try_start_with(options).await?;
        let https = serve_https(Arc::clone(&entra.state)).await?;
        entra.https = Some(https);
        Ok(entra)
    }

    fn https(&self) -> &HttpsListener {
        must(
            self.https.as_ref().ok_or("started without https"),
            "FakeEntra::start_https",
        )
    }

    /// `https://127.0.0.1:PORT`: the authority host of the token endpoint (and of the same
    /// metadata and keys as [`FakeEntra::authority`]). Panics unless started with
    /// [`FakeEntra::start_https`].
    pub fn https_authority(&self) -> String {
        self.https().authority.clone()
    }

    /// The PEM of the HTTPS listener's self-signed certificate.
    pub fn cert_pem(&self) -> String {
        self.https().cert_pem.clone()
    }

    /// A client that trusts the HTTPS listener's certificate.
    pub fn http_client(&self) -> reqwest::Client {
        let cert = must(
            reqwest::Certificate::from_pem(self.https().cert_pem.as_bytes()),
            "certificate",
        );
        must(
            crate::http_client_builder()
                .add_root_certificate(cert)
                .build(),
            "HTTP client",
        )
    }

    /// A client that sends whatever goes to IMDS (`169.254.169.254`) to this fake instead
    /// (its plain HTTP listener, as a proxy), for managed-identity credentials.
    pub fn imds_http_client(&self) -> reqwest::Client {
        let proxy = self.state.base_url.clone();
        must(
            crate::http_client_builder()
                .proxy(reqwest::Proxy::custom(move |url| {
                    (url.host_str() == Some(IMDS_HOST)).then(|| proxy.clone())
                }))
                .build(),
            "HTTP client",
        )
    }

    /// Register the confidential client `client_id` of directory `tenant`, authenticating
    /// with `secret` (`client_secret`). Registering again replaces the secret.
    pub fn register_client(&self, tenant: &str, client_id: &str, secret: &str) {
        let mut clients = lock(&self.state.sts.clients);
        let client = clients
            .entry((tenant.to_ascii_lowercase(), client_id.to_owned()))
            .or_default();
        client.secret = Some(secret.to_owned());
    }

    /// Accept `assertion` (e.g. the content of a workload identity's token file) as the
    /// `client_assertion` of `client_id` of directory `tenant`; registers the client if needed.
    pub fn accept_client_assertion(&self, tenant: &str, client_id: &str, assertion: &str) {
        let mut clients = lock(&self.state.sts.clients);
        let client = clients
            .entry((tenant.to_ascii_lowercase(), client_id.to_owned()))
            .or_default();
        client.assertion = Some(assertion.to_owned());
    }

    /// The directory (`tid`, and the issuer's) of the tokens IMDS hands out; default
    /// [`FAKE_ENTRA_TENANT_A`].
    pub fn set_managed_identity_tenant(&self, tid: &str) {
        *lock(&self.state.sts.imds_tenant) = tid.to_ascii_lowercase();
    }

    /// How the token endpoint answers from now on.
    pub fn set_token_mode(&self, mode: TokenEndpointMode) {
        *lock(&self.state.sts.mode) = mode;
    }

    /// Calls of the token endpoint so far.
    pub fn token_calls(&self) -> u64 {
        self.state.sts.token_calls.load(Ordering::SeqCst)
    }

    /// Calls of the IMDS endpoint so far.
    pub fn imds_calls(&self) -> u64 {
        self.state.sts.imds_calls.load(Ordering::SeqCst)
    }

    /// The form of every token call and the query of every IMDS call (with its `metadata`
    /// header as `metadata-header`), in order.
    pub fn token_requests(&self) -> Vec<HashMap<String, String>> {
        lock(&self.state.sts.requests).clone()
    }

    /// The last token the token or IMDS endpoint handed out.
    pub fn last_token(&self) -> Option<String> {
        lock(&self.state.sts.last_token).clone()
    }

    /// An app-only v1 token as the token endpoint issues it (signed with the main key).
    pub fn app_token(&self, tid: &str, aud: &str, appid: &str) -> String {
        self.state.sign_main(&app_token_claims(tid, aud, appid))
    }

    /// The published JWKS document (all keys), as JSON text, e.g. for the ACS emulator's
    /// `EmulatorEntraTrust::from_jwks_json`.
    pub fn jwks_json(&self) -> String {
        self.state.jwks_document().to_string()
    }
}
