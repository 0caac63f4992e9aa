//! A fake Microsoft Entra ID authority for the Entra tests: the client-credentials token
//! endpoint azure_identity calls (over HTTPS with a self-signed certificate) and an IMDS
//! endpoint (reached through an HTTP proxy), signing JWTs with a test RSA key.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use acs_auth::acs::emulator::tls;
use acs_auth::acs::{EntraCredentialConfig, install_crypto_provider};
use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use poem::http::{Method, StatusCode};
use poem::listener::{AcceptorExt as _, RustlsCertificate, RustlsConfig, TcpAcceptor};
use poem::{Body, Endpoint, Request, Response, Server};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const CLIENT_ID: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
pub const CLIENT_SECRET: &str = "s3cr3t~value.for-tests";
pub const MI_CLIENT_ID: &str = "9d2ac018-e843-4e14-9e2b-4e0ddac75450";
const IMDS_HOST: &str = "169.254.169.254";
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

pub fn issuer() -> String {
    format!("https://sts.windows.net/{TENANT}/")
}

// ---------------------------------------------------------------------------------------------
// Keys

/// An RSA key the fake authority signs with, and its JWKS.
pub struct TestKey {
    encoding: EncodingKey,
    kid: String,
    pub jwks: String,
}

impl TestKey {
    pub fn generate(kid: &str) -> Self {
        // aws-lc-rs, like the server (PKCS#8 out; jsonwebtoken's PEM reader unwraps it).
        let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
        let pem = pem::encode(&pem::Pem::new(
            "PRIVATE KEY",
            pair.as_der().unwrap().as_ref(),
        ));
        let public = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        let jwks = json!({"keys": [{
            "kty": "RSA",
            "use": "sig",
            "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(&public.n),
            "e": URL_SAFE_NO_PAD.encode(&public.e),
        }]})
        .to_string();
        Self {
            encoding: EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
            kid: kid.to_owned(),
            jwks,
        }
    }

    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".into());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

/// RSA keygen is slow: the authority's key, a rogue key (same `kid`), the emulator's key.
pub fn entra_key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| TestKey::generate("test-entra-key"))
}

pub fn rogue_key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| TestKey::generate("test-entra-key"))
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The claims Entra ID puts in an app-only v1 token for `aud`.
pub fn app_claims(aud: &str, appid: &str) -> Value {
    let now = now();
    json!({
        "aud": aud,
        "iss": issuer(),
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "appid": appid,
        "appidacr": "1",
        "idtyp": "app",
        "oid": "0b1f9b2e-5a4c-4a0e-9b9e-1f2d3c4b5a69",
        "sub": "0b1f9b2e-5a4c-4a0e-9b9e-1f2d3c4b5a69",
        "tid": TENANT,
        "ver": "1.0",
    })
}

// ---------------------------------------------------------------------------------------------
// The fake authority

/// How the token endpoint answers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    Ok,
    Status(u16),
    Hang,
}

pub struct FakeState {
    mode: Mutex<Mode>,
    /// The content of the workload identity's token file, when one is expected.
    pub assertion: Mutex<Option<String>>,
    token_calls: AtomicUsize,
    imds_calls: AtomicUsize,
    /// The form (or IMDS query) of every call, and its `metadata` header.
    requests: Mutex<Vec<HashMap<String, String>>>,
    /// The last token handed out.
    last_token: Mutex<Option<String>>,
}

#[derive(Clone)]
pub struct FakeEntraEndpoint {
    state: Arc<FakeState>,
}

pub fn json_response(status: u16, body: &Value) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .content_type("application/json; charset=utf-8")
        .body(Body::from_string(body.to_string()))
}

pub fn entra_error(status: u16, error: &str, code: u32, description: &str) -> Response {
    json_response(
        status,
        &json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {description}"),
            "error_codes": [code],
            "trace_id": "00000000-0000-0000-0000-000000000000",
        }),
    )
}

pub fn form(text: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect()
}

impl FakeEntraEndpoint {
    async fn token(&self, tenant: &str, body: &str) -> Response {
        let state = &self.state;
        state.token_calls.fetch_add(1, Ordering::SeqCst);
        let params = form(body);
        state.requests.lock().unwrap().push(params.clone());
        let mode = *state.mode.lock().unwrap();
        match mode {
            Mode::Ok => {}
            Mode::Status(status) => {
                return entra_error(
                    status,
                    "invalid_request",
                    50000,
                    "The fake authority fails.",
                );
            }
            Mode::Hang => tokio::time::sleep(Duration::from_secs(30)).await,
        }
        if tenant != TENANT {
            return entra_error(400, "invalid_request", 90002, "Tenant not found.");
        }
        let get = |k: &str| params.get(k).map(String::as_str);
        if get("grant_type") != Some("client_credentials") || get("client_id") != Some(CLIENT_ID) {
            return entra_error(400, "unauthorized_client", 700016, "Application not found.");
        }
        let authenticated = match (get("client_secret"), get("client_assertion")) {
            (Some(secret), None) => secret == CLIENT_SECRET,
            (None, Some(assertion)) => {
                get("client_assertion_type") == Some(ASSERTION_TYPE)
                    && state.assertion.lock().unwrap().as_deref() == Some(assertion)
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
        // Like eSTS: the resource (and `aud`) is everything before the scope's last `/`.
        let Some(aud) = get("scope").and_then(|s| s.strip_suffix("/.default")) else {
            return entra_error(
                400,
                "invalid_scope",
                1002012,
                "The provided value for scope is not valid.",
            );
        };
        let token = entra_key().sign(&app_claims(aud, CLIENT_ID));
        *state.last_token.lock().unwrap() = Some(token.clone());
        json_response(
            200,
            &json!({
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": token,
            }),
        )
    }

    fn imds(&self, query: &str, metadata: Option<&str>) -> Response {
        let state = &self.state;
        state.imds_calls.fetch_add(1, Ordering::SeqCst);
        let mut params = form(query);
        if let Some(m) = metadata {
            params.insert("metadata-header".into(), m.to_owned());
        }
        state.requests.lock().unwrap().push(params.clone());
        if metadata != Some("true") {
            return json_response(
                400,
                &json!({"error": "invalid_request", "error_description": "Required metadata header not specified"}),
            );
        }
        let Some(resource) = params.get("resource") else {
            return json_response(
                400,
                &json!({"error": "invalid_request", "error_description": "Required query variable 'resource' is missing"}),
            );
        };
        let appid = params
            .get("client_id")
            .cloned()
            .unwrap_or_else(|| "system-assigned".into());
        let token = entra_key().sign(&app_claims(resource, &appid));
        *state.last_token.lock().unwrap() = Some(token.clone());
        let now = now();
        json_response(
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

impl Endpoint for FakeEntraEndpoint {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let query = req.uri().query().unwrap_or_default().to_owned();
        let metadata = req
            .headers()
            .get("metadata")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = req.into_body().into_string().await.unwrap_or_default();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        Ok(match (method, segments.as_slice()) {
            (Method::POST, [tenant, "oauth2", "v2.0", "token"]) => self.token(tenant, &body).await,
            (Method::GET, ["metadata", "identity", "oauth2", "token"]) => {
                self.imds(&query, metadata.as_deref())
            }
            _ => json_response(404, &json!({"error": "not_found"})),
        })
    }
}

/// The fake authority: HTTPS (the token endpoint; azure_identity refuses `http` authorities)
/// and plain HTTP (IMDS, reached through [`FakeEntra::imds_http_client`]'s proxy).
pub struct FakeEntra {
    pub state: Arc<FakeState>,
    https_addr: SocketAddr,
    http_addr: SocketAddr,
    cert_pem: String,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for FakeEntra {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl FakeEntra {
    pub async fn start() -> Self {
        install_crypto_provider();
        let state = Arc::new(FakeState {
            mode: Mutex::new(Mode::Ok),
            assertion: Mutex::new(None),
            token_calls: AtomicUsize::new(0),
            imds_calls: AtomicUsize::new(0),
            requests: Mutex::new(Vec::new()),
            last_token: Mutex::new(None),
        });
        let endpoint = FakeEntraEndpoint {
            state: state.clone(),
        };
        let cert = tls::generate(None).unwrap();
        let config = RustlsConfig::new().fallback(
            RustlsCertificate::new()
                .cert(cert.cert_pem.clone().into_bytes())
                .key(cert.key_pem.into_bytes()),
        );
        let https = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let https_addr = https.local_addr().unwrap();
        let acceptor = TcpAcceptor::from_tokio(https)
            .unwrap()
            .rustls(futures::stream::iter(vec![config]));
        let https_task = tokio::spawn({
            let endpoint = endpoint.clone();
            async move {
                let _ = Server::new_with_acceptor(acceptor).run(endpoint).await;
            }
        });
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http_addr = http.local_addr().unwrap();
        let acceptor = TcpAcceptor::from_tokio(http).unwrap();
        let http_task = tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor).run(endpoint).await;
        });
        Self {
            state,
            https_addr,
            http_addr,
            cert_pem: cert.cert_pem,
            tasks: vec![https_task, http_task],
        }
    }

    /// `https://127.0.0.1:PORT`, the authority host.
    pub fn authority(&self) -> String {
        format!("https://{}", self.https_addr)
    }

    /// A client that trusts the authority's certificate.
    pub fn http_client(&self) -> reqwest::Client {
        acs_auth_providers::http_client_builder()
            .add_root_certificate(reqwest::Certificate::from_pem(self.cert_pem.as_bytes()).unwrap())
            .build()
            .unwrap()
    }

    /// A client that sends whatever goes to IMDS (`169.254.169.254`) to the fake instead.
    pub fn imds_http_client(&self) -> reqwest::Client {
        let proxy = format!("http://{}", self.http_addr);
        acs_auth_providers::http_client_builder()
            .proxy(reqwest::Proxy::custom(move |url| {
                (url.host_str() == Some(IMDS_HOST)).then(|| proxy.clone())
            }))
            .build()
            .unwrap()
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    pub fn token_calls(&self) -> usize {
        self.state.token_calls.load(Ordering::SeqCst)
    }

    pub fn imds_calls(&self) -> usize {
        self.state.imds_calls.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<HashMap<String, String>> {
        self.state.requests.lock().unwrap().clone()
    }

    pub fn last_token(&self) -> Option<String> {
        self.state.last_token.lock().unwrap().clone()
    }

    pub fn client_secret_config(&self) -> EntraCredentialConfig {
        EntraCredentialConfig::ClientSecret {
            tenant_id: TENANT.into(),
            client_id: CLIENT_ID.into(),
            client_secret: SecretString::from(CLIENT_SECRET),
            authority_host: Some(self.authority()),
        }
    }
}
