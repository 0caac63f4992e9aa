//! Entra ID authentication end to end, over real HTTP(S) on 127.0.0.1: a fake Entra ID
//! authority (the client-credentials token endpoint azure_identity calls, over HTTPS with a
//! self-signed certificate, and an IMDS endpoint reached through an HTTP proxy) that signs
//! JWTs with a test RSA key, the emulator trusting that key, and [`AcsClient::with_credential`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use azure_core::credentials::{
    AccessToken as AzureAccessToken, TokenCredential, TokenRequestOptions,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use poem::http::{Method, StatusCode};
use poem::listener::{AcceptorExt as _, RustlsCertificate, RustlsConfig, TcpAcceptor};
use poem::{Body, Endpoint, Request, Response, Server};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use url::Url;

use super::credential::{ACS_RESOURCE, ACS_SCOPE, EntraCredentialConfig, build_credential};
use super::emulator::tls;
use super::{
    AcsClient, AcsError, ConnectionString, EmulatorConfig, EmulatorEntraTrust, RunningEmulator,
    TokenSigningKey, install_crypto_provider,
};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT_ID: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
const CLIENT_SECRET: &str = "s3cr3t~value.for-tests";
const MI_CLIENT_ID: &str = "9d2ac018-e843-4e14-9e2b-4e0ddac75450";
const IMDS_HOST: &str = "169.254.169.254";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn issuer() -> String {
    format!("https://sts.windows.net/{TENANT}/")
}

// ---------------------------------------------------------------------------------------------
// Keys

/// An RSA key the fake authority signs with, and its JWKS.
struct TestKey {
    encoding: EncodingKey,
    kid: String,
    jwks: String,
}

impl TestKey {
    fn generate(kid: &str) -> Self {
        let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
        let der = private.to_pkcs1_der().unwrap();
        let public = private.to_public_key();
        let jwks = json!({"keys": [{
            "kty": "RSA",
            "use": "sig",
            "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        }]})
        .to_string();
        Self {
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
            kid: kid.to_owned(),
            jwks,
        }
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".into());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

/// RSA keygen is slow: the authority's key, a rogue key (same `kid`), the emulator's key.
fn entra_key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| TestKey::generate("test-entra-key"))
}

fn rogue_key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| TestKey::generate("test-entra-key"))
}

fn emulator_signing_key() -> TokenSigningKey {
    static KEY: OnceLock<TokenSigningKey> = OnceLock::new();
    KEY.get_or_init(|| TokenSigningKey::generate().unwrap())
        .clone()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The claims Entra ID puts in an app-only v1 token for `aud`.
fn app_claims(aud: &str, appid: &str) -> Value {
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
enum Mode {
    Ok,
    Status(u16),
    Hang,
}

struct FakeState {
    mode: Mutex<Mode>,
    /// The content of the workload identity's token file, when one is expected.
    assertion: Mutex<Option<String>>,
    token_calls: AtomicUsize,
    imds_calls: AtomicUsize,
    /// The form (or IMDS query) of every call, and its `metadata` header.
    requests: Mutex<Vec<HashMap<String, String>>>,
    /// The last token handed out.
    last_token: Mutex<Option<String>>,
}

#[derive(Clone)]
struct FakeEntraEndpoint {
    state: Arc<FakeState>,
}

fn json_response(status: u16, body: &Value) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .content_type("application/json; charset=utf-8")
        .body(Body::from_string(body.to_string()))
}

fn entra_error(status: u16, error: &str, code: u32, description: &str) -> Response {
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

fn form(text: &str) -> HashMap<String, String> {
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
struct FakeEntra {
    state: Arc<FakeState>,
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
    async fn start() -> Self {
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
    fn authority(&self) -> String {
        format!("https://{}", self.https_addr)
    }

    /// A client that trusts the authority's certificate.
    fn http_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(self.cert_pem.as_bytes()).unwrap())
            .build()
            .unwrap()
    }

    /// A client that sends whatever goes to IMDS (`169.254.169.254`) to the fake instead.
    fn imds_http_client(&self) -> reqwest::Client {
        let proxy = format!("http://{}", self.http_addr);
        reqwest::Client::builder()
            .proxy(reqwest::Proxy::custom(move |url| {
                (url.host_str() == Some(IMDS_HOST)).then(|| proxy.clone())
            }))
            .build()
            .unwrap()
    }

    fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    fn token_calls(&self) -> usize {
        self.state.token_calls.load(Ordering::SeqCst)
    }

    fn imds_calls(&self) -> usize {
        self.state.imds_calls.load(Ordering::SeqCst)
    }

    fn requests(&self) -> Vec<HashMap<String, String>> {
        self.state.requests.lock().unwrap().clone()
    }

    fn last_token(&self) -> Option<String> {
        self.state.last_token.lock().unwrap().clone()
    }

    fn client_secret_config(&self) -> EntraCredentialConfig {
        EntraCredentialConfig::ClientSecret {
            tenant_id: TENANT.into(),
            client_id: CLIENT_ID.into(),
            client_secret: SecretString::from(CLIENT_SECRET),
            authority_host: Some(self.authority()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn trust() -> EmulatorEntraTrust {
    EmulatorEntraTrust::from_jwks_json(&entra_key().jwks, [issuer()]).unwrap()
}

async fn start_emulator(entra: Option<EmulatorEntraTrust>) -> RunningEmulator {
    install_crypto_provider();
    let mut config = EmulatorConfig::with_random_key();
    config.signing_key = Some(emulator_signing_key());
    config.entra = entra;
    RunningEmulator::start(config, loopback(), None)
        .await
        .unwrap()
}

fn endpoint_of(emu: &RunningEmulator) -> Url {
    Url::parse(&emu.http_endpoint()).unwrap()
}

fn entra_client(
    emu: &RunningEmulator,
    config: &EntraCredentialConfig,
    http: reqwest::Client,
    timeout: Duration,
) -> AcsClient {
    let credential = build_credential(config, &http).unwrap();
    AcsClient::with_credential(
        reqwest::Client::new(),
        endpoint_of(emu),
        credential,
        timeout,
    )
}

fn scopes(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| (*s).to_owned()).collect()
}

fn api_code(e: &AcsError) -> (u16, &str) {
    match e {
        AcsError::Api { status, code, .. } => (*status, code.as_str()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn credential_failure(e: &AcsError) -> (&str, bool) {
    match e {
        AcsError::Credential { message, retryable } => (message.as_str(), *retryable),
        other => panic!("expected a credential error, got {other:?}"),
    }
}

/// Create, issue, revoke and delete; the identity is gone afterwards.
async fn round_trip(client: &AcsClient, emu: &RunningEmulator) {
    let created = client
        .create_identity(Some((&scopes(&["chat", "voip"]), 60)))
        .await
        .unwrap();
    assert!(emu.emulator().identity_exists(&created.id));
    let first = created.access_token.unwrap();
    assert!(
        emu.emulator()
            .verify_access_token(secrecy::ExposeSecret::expose_secret(&first.token))
            .is_some()
    );
    let issued = client
        .issue_access_token(&created.id, &scopes(&["chat"]), 120)
        .await
        .unwrap();
    let info = emu
        .emulator()
        .verify_access_token(secrecy::ExposeSecret::expose_secret(&issued.token))
        .unwrap();
    assert_eq!(info.identity_id, created.id);
    client.revoke_access_tokens(&created.id).await.unwrap();
    client.delete_identity(&created.id).await.unwrap();
    assert!(!emu.emulator().identity_exists(&created.id));
}

/// Send `POST /identities` with `Authorization: Bearer <token>`; the status, error code and
/// message.
async fn post_with_bearer_verbose(emu: &RunningEmulator, token: &str) -> (u16, String, String) {
    let resp = reqwest::Client::new()
        .post(format!(
            "{}identities?api-version=2023-10-01",
            emu.http_endpoint()
        ))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let message = body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (status, code, message)
}

async fn post_with_bearer(emu: &RunningEmulator, token: &str) -> (u16, String) {
    let (status, code, _) = post_with_bearer_verbose(emu, token).await;
    (status, code)
}

/// A credential that hands out one fixed token.
#[derive(Debug)]
struct StaticCredential(String);

#[async_trait::async_trait]
impl TokenCredential for StaticCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AzureAccessToken> {
        assert_eq!(scopes, [ACS_SCOPE]);
        Ok(AzureAccessToken::new(
            self.0.clone(),
            azure_core::time::OffsetDateTime::now_utc() + azure_core::time::Duration::hours(1),
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn client_secret_credential_round_trips_against_the_emulator_with_one_token_request() {
    let entra = FakeEntra::start().await;
    let emu = start_emulator(Some(trust())).await;
    let client = entra_client(
        &emu,
        &entra.client_secret_config(),
        entra.http_client(),
        Duration::from_secs(10),
    );
    assert_eq!(client.auth_kind(), "entra_id");
    round_trip(&client, &emu).await;
    round_trip(&client, &emu).await;
    // Ten ACS calls, one token request: azure_identity caches the token.
    assert_eq!(entra.token_calls(), 1);
    let requests = entra.requests();
    let form = &requests[0];
    assert_eq!(form["scope"], ACS_SCOPE);
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], CLIENT_ID);
    assert_eq!(form["client_secret"], CLIENT_SECRET);
    // The token's audience is the resource the scope names, with its trailing slash.
    let token = entra.last_token().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["aud"], ACS_RESOURCE);
}

#[tokio::test]
async fn from_entra_config_builds_the_same_client() {
    let entra = FakeEntra::start().await;
    let emu = start_emulator(Some(trust())).await;
    let client = AcsClient::from_entra_config(
        entra.http_client(),
        endpoint_of(&emu),
        &entra.client_secret_config(),
        Duration::from_secs(10),
    )
    .unwrap();
    round_trip(&client, &emu).await;
    assert!(!format!("{client:?}").contains(CLIENT_SECRET));
}

/// What a bearer-authenticated request looks like on the wire.
#[tokio::test]
async fn bearer_requests_carry_the_token_and_no_hmac_headers() {
    let entra = FakeEntra::start().await;
    let seen: Arc<Mutex<Vec<poem::http::HeaderMap>>> = Arc::default();
    let recorder = {
        let seen = seen.clone();
        poem::endpoint::make(move |req: Request| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(req.headers().clone());
                json_response(201, &json!({"identity": {"id": "8:acs:r_u"}}))
            }
        })
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = Server::new_with_acceptor(TcpAcceptor::from_tokio(listener).unwrap())
            .run(recorder)
            .await;
    });
    let credential = build_credential(&entra.client_secret_config(), &entra.http_client()).unwrap();
    let client = AcsClient::with_credential(
        reqwest::Client::new(),
        Url::parse(&format!("http://{addr}/")).unwrap(),
        credential,
        Duration::from_secs(10),
    );
    client.create_identity(None).await.unwrap();
    task.abort();
    let headers = seen.lock().unwrap()[0].clone();
    let token = entra.last_token().unwrap();
    assert_eq!(headers["authorization"], format!("Bearer {token}").as_str());
    for absent in ["x-ms-date", "x-ms-content-sha256"] {
        assert!(
            !headers.contains_key(absent),
            "{absent} sent with a bearer token"
        );
    }
    assert_eq!(headers["x-ms-return-client-request-id"], "true");
    assert!(headers.contains_key("x-ms-client-request-id"));
}

#[tokio::test]
async fn emulator_accepts_only_verified_bearer_tokens() {
    let emu = start_emulator(Some(trust())).await;
    let key = entra_key();
    let valid = app_claims(ACS_RESOURCE, CLIENT_ID);
    assert_eq!(post_with_bearer(&emu, &key.sign(&valid)).await.0, 201);
    // The single-slash scope's audience is accepted too.
    let no_slash = app_claims("https://communication.azure.com", CLIENT_ID);
    assert_eq!(post_with_bearer(&emu, &key.sign(&no_slash)).await.0, 201);

    let mut wrong_aud = valid.clone();
    wrong_aud["aud"] = json!("https://management.azure.com/");
    let mut teams_aud = valid.clone();
    teams_aud["aud"] = json!("https://auth.msft.communication.azure.com");
    let mut wrong_iss = valid.clone();
    wrong_iss["iss"] = json!("https://sts.windows.net/00000000-0000-0000-0000-000000000000/");
    let mut expired = valid.clone();
    expired["exp"] = json!(now() - 3600);
    let mut not_yet = valid.clone();
    not_yet["nbf"] = json!(now() + 3600);
    let mut no_exp = valid.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    let hs256 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &valid,
        &EncodingKey::from_secret(b"k"),
    )
    .unwrap();
    // (case, token, what the message says)
    let rejected = [
        ("wrong audience", key.sign(&wrong_aud), "audience"),
        ("Teams audience", key.sign(&teams_aud), "audience"),
        ("untrusted issuer", key.sign(&wrong_iss), "issuer"),
        ("expired", key.sign(&expired), "expired"),
        ("not yet valid", key.sign(&not_yet), "not valid yet"),
        ("no exp", key.sign(&no_exp), "'exp'"),
        (
            "signed by another key with the same kid",
            rogue_key().sign(&valid),
            "signature",
        ),
        ("HS256", hs256, "RS256"),
        ("not a JWT", "opaque-token".to_owned(), "not a JWT"),
    ];
    for (what, token, says) in rejected {
        let (status, code, message) = post_with_bearer_verbose(&emu, &token).await;
        assert_eq!(
            (status, code.as_str()),
            (401, "InvalidAuthenticationInfo"),
            "{what}"
        );
        assert!(message.contains(says), "{what}: {message}");
    }
    assert_eq!(emu.emulator().live_identity_count(), 2);
}

#[tokio::test]
async fn emulator_without_entra_trust_refuses_bearer_tokens_and_keeps_hmac() {
    let emu = start_emulator(None).await;
    let token = entra_key().sign(&app_claims(ACS_RESOURCE, CLIENT_ID));
    assert_eq!(
        post_with_bearer(&emu, &token).await,
        (401, "InvalidAuthenticationInfo".to_owned())
    );
    // With a trust configured, HMAC keeps working.
    let emu = start_emulator(Some(trust())).await;
    let conn = ConnectionString::parse(&emu.connection_string()).unwrap();
    let client = AcsClient::new(reqwest::Client::new(), &conn, Duration::from_secs(10));
    assert_eq!(client.auth_kind(), "access_key");
    round_trip(&client, &emu).await;
}

#[tokio::test]
async fn a_refused_bearer_token_is_a_final_401() {
    let emu = start_emulator(Some(trust())).await;
    let mut claims = app_claims(ACS_RESOURCE, CLIENT_ID);
    claims["aud"] = json!("https://management.azure.com/");
    let credential = Arc::new(StaticCredential(entra_key().sign(&claims)));
    let client = AcsClient::with_credential(
        reqwest::Client::new(),
        endpoint_of(&emu),
        credential,
        Duration::from_secs(10),
    );
    let err = client.create_identity(None).await.unwrap_err();
    assert_eq!(api_code(&err), (401, "InvalidAuthenticationInfo"));
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn token_endpoint_refusals_are_final_credential_errors() {
    let entra = FakeEntra::start().await;
    let emu = start_emulator(Some(trust())).await;
    entra.set_mode(Mode::Status(400));
    let client = entra_client(
        &emu,
        &entra.client_secret_config(),
        entra.http_client(),
        Duration::from_secs(10),
    );
    let err = client.create_identity(None).await.unwrap_err();
    let (message, retryable) = credential_failure(&err);
    assert!(!retryable, "{message}");
    assert!(message.contains("AADSTS50000"), "{message}");
    assert!(!err.is_retryable());
    assert_eq!(entra.token_calls(), 1, "a 400 is not retried");

    // A wrong secret: 401 invalid_client, final; the secret is not in the message.
    entra.set_mode(Mode::Ok);
    let config = EntraCredentialConfig::ClientSecret {
        tenant_id: TENANT.into(),
        client_id: CLIENT_ID.into(),
        client_secret: SecretString::from("wrong-secret-value"),
        authority_host: Some(entra.authority()),
    };
    let client = entra_client(&emu, &config, entra.http_client(), Duration::from_secs(10));
    let err = client.create_identity(None).await.unwrap_err();
    let (message, retryable) = credential_failure(&err);
    assert!(!retryable);
    assert!(message.contains("AADSTS7000215"), "{message}");
    assert!(!message.contains("wrong-secret-value"), "{message}");
    assert_eq!(emu.emulator().live_identity_count(), 0);
}

#[tokio::test]
async fn token_endpoint_outages_are_retryable_credential_errors() {
    let entra = FakeEntra::start().await;
    let emu = start_emulator(Some(trust())).await;
    entra.set_mode(Mode::Status(503));
    let client = entra_client(
        &emu,
        &entra.client_secret_config(),
        entra.http_client(),
        Duration::from_secs(20),
    );
    let err = client.create_identity(None).await.unwrap_err();
    let (message, retryable) = credential_failure(&err);
    assert!(retryable, "{message}");
    assert!(err.is_retryable());
    assert_eq!(entra.token_calls(), 4, "one try and three retries");

    // Recovered: the next call gets a token.
    entra.set_mode(Mode::Ok);
    client.create_identity(None).await.unwrap();
    assert_eq!(emu.emulator().live_identity_count(), 1);
}

#[tokio::test]
async fn unreachable_token_endpoint_is_a_retryable_credential_error() {
    let emu = start_emulator(Some(trust())).await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let config = EntraCredentialConfig::ClientSecret {
        tenant_id: TENANT.into(),
        client_id: CLIENT_ID.into(),
        client_secret: SecretString::from(CLIENT_SECRET),
        authority_host: Some(format!("https://{closed}")),
    };
    let client = entra_client(
        &emu,
        &config,
        reqwest::Client::new(),
        Duration::from_secs(20),
    );
    let err = client.create_identity(None).await.unwrap_err();
    let (message, retryable) = credential_failure(&err);
    assert!(retryable, "{message}");
    assert_eq!(emu.emulator().live_identity_count(), 0);
}

#[tokio::test]
async fn a_hanging_token_endpoint_times_out_as_a_retryable_credential_error() {
    let entra = FakeEntra::start().await;
    let emu = start_emulator(Some(trust())).await;
    entra.set_mode(Mode::Hang);
    let client = entra_client(
        &emu,
        &entra.client_secret_config(),
        entra.http_client(),
        Duration::from_millis(500),
    );
    let started = std::time::Instant::now();
    let err = client.create_identity(None).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    let (message, retryable) = credential_failure(&err);
    assert!(retryable);
    assert!(message.contains("within"), "{message}");
}

#[tokio::test]
async fn workload_identity_exchanges_the_token_file_at_the_authority() {
    let entra = FakeEntra::start().await;
    let emu = start_emulator(Some(trust())).await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("azure-identity-token");
    let assertion =
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YWNzOmFjcy1hdXRoIn0.c2ln";
    std::fs::write(&token_file, assertion).unwrap();
    *entra.state.assertion.lock().unwrap() = Some(assertion.to_owned());
    let config = EntraCredentialConfig::WorkloadIdentity {
        tenant_id: Some(TENANT.into()),
        client_id: Some(CLIENT_ID.into()),
        token_file: Some(token_file),
        authority_host: Some(entra.authority()),
    };
    let client = entra_client(&emu, &config, entra.http_client(), Duration::from_secs(10));
    round_trip(&client, &emu).await;
    assert_eq!(entra.token_calls(), 1);
    let form = &entra.requests()[0];
    assert_eq!(form["client_assertion"], assertion);
    assert_eq!(form["client_assertion_type"], ASSERTION_TYPE);
    assert_eq!(form["scope"], ACS_SCOPE);
    assert!(!form.contains_key("client_secret"));
}

#[tokio::test]
async fn workload_identity_with_a_missing_token_file_fails_to_build() {
    let config = EntraCredentialConfig::WorkloadIdentity {
        tenant_id: Some(TENANT.into()),
        client_id: Some(CLIENT_ID.into()),
        token_file: Some(PathBuf::from("/nonexistent/acs-auth/azure-identity-token")),
        authority_host: None,
    };
    let err = build_credential(&config, &reqwest::Client::new()).unwrap_err();
    let (message, retryable) = credential_failure(&err);
    assert!(!retryable);
    assert!(message.contains("token"), "{message}");
}

fn managed_identity_env_is_set() -> bool {
    ["IDENTITY_ENDPOINT", "MSI_ENDPOINT"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
}

#[tokio::test]
async fn managed_identity_gets_its_token_from_imds() {
    if managed_identity_env_is_set() {
        eprintln!("skipped: this host configures a non-IMDS managed identity");
        return;
    }
    let entra = FakeEntra::start().await;
    let emu = start_emulator(Some(trust())).await;
    let config = EntraCredentialConfig::ManagedIdentity {
        client_id: Some(MI_CLIENT_ID.into()),
        object_id: None,
        resource_id: None,
    };
    let client = entra_client(
        &emu,
        &config,
        entra.imds_http_client(),
        Duration::from_secs(10),
    );
    round_trip(&client, &emu).await;
    assert_eq!(entra.imds_calls(), 1);
    assert_eq!(entra.token_calls(), 0);
    let query = &entra.requests()[0];
    assert_eq!(query["resource"], ACS_RESOURCE);
    assert_eq!(query["client_id"], MI_CLIENT_ID);
    assert_eq!(query["api-version"], "2019-08-01");
    assert_eq!(query["metadata-header"], "true");
}

#[test]
fn managed_identity_configs_build_and_reject_two_ids() {
    if managed_identity_env_is_set() {
        return;
    }
    let http = reqwest::Client::new();
    let system = EntraCredentialConfig::ManagedIdentity {
        client_id: None,
        object_id: None,
        resource_id: None,
    };
    build_credential(&system, &http).unwrap();
    let by_resource = EntraCredentialConfig::ManagedIdentity {
        client_id: None,
        object_id: None,
        resource_id: Some("/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/acs".into()),
    };
    build_credential(&by_resource, &http).unwrap();
    let two = EntraCredentialConfig::ManagedIdentity {
        client_id: Some(MI_CLIENT_ID.into()),
        object_id: Some("o".into()),
        resource_id: None,
    };
    let err = build_credential(&two, &http).unwrap_err();
    assert!(!credential_failure(&err).1);
}

#[test]
fn entra_clients_have_no_secondary_key() {
    let client = AcsClient::with_credential(
        reqwest::Client::new(),
        Url::parse("https://x.communication.azure.com/").unwrap(),
        Arc::new(StaticCredential("t".into())),
        Duration::from_secs(1),
    );
    let key = SecretString::from("c2Vjb25kYXJ5");
    assert!(client.clone().try_with_secondary_key(key.clone()).is_err());
    let same = client.with_secondary_key(key);
    assert_eq!(same.auth_kind(), "entra_id");
    assert!(!format!("{same:?}").contains("has_secondary_key"));
}
