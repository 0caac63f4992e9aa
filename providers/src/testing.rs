//! Test support (feature `testing`): in-process fake identity providers — [`TestIssuer`] (a
//! generic OpenID Connect issuer), [`FakeEntra`] (a Microsoft Entra ID authority host) and
//! [`FakeB2c`] (an Azure AD B2C tenant).
//!
//! It listens on `127.0.0.1` (an ephemeral port), serves a realistic discovery document and a
//! JWKS holding an RSA-2048 key (`RS256`, `use: sig`, a `kid`), and mints tokens — good ones and
//! every kind of forgery the verification must refuse. The server stops when the `TestIssuer`
//! is dropped.
//!
//! ```no_run
//! # async fn demo() {
//! use std::sync::Arc;
//! use acs_auth_providers::testing::{TestIssuer, oidc_config_for};
//! use acs_auth_providers::{IdentityProvider, JwksCache, JwksCacheConfig, OidcProvider};
//!
//! let idp = TestIssuer::start().await;
//! let http = reqwest::Client::new();
//! let jwks = Arc::new(JwksCache::new(http.clone(), JwksCacheConfig::default()));
//! let provider = OidcProvider::new(oidc_config_for(&idp), http, jwks).unwrap();
//! let identity = provider.verify(&idp.token("alice")).await.unwrap();
//! assert_eq!(identity.subject, "alice");
//! # }
//! ```
//!
//! Keys are generated with the `rsa` crate; a 2048-bit key takes a moment in debug builds, so
//! [`TestIssuer::rotate_key`] blocks briefly.

use std::fmt::Display;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use poem::{Request, Response, Server};
use rsa::RsaPrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;

use crate::aad::AadConfig;
use crate::b2c::B2cConfig;
use crate::jose::algorithm_name;
use crate::oidc::OidcConfig;
use crate::validate::{DEFAULT_LEEWAY_SECS, DEFAULT_MAX_TOKEN_BYTES};

/// The audience of [`TestIssuer::token`] unless [`TestIssuerOptions::audience`] says otherwise.
pub const DEFAULT_AUDIENCE: &str = "api://acs-auth";

/// The scope [`TestIssuer::claims`] puts in `scp`.
pub const DEFAULT_SCOPE: &str = "access_as_user";

/// Test support fails loudly: a broken fake is a broken test.
#[allow(clippy::panic)]
fn must<T, E: Display>(result: Result<T, E>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("TestIssuer: {what}: {e}"),
    }
}

/// Verifies `token` with `provider` and returns why it was refused. Panics when the token is
/// accepted, or when the error (`Display` or `Debug`) shows any part of the token.
#[allow(clippy::panic)]
pub async fn refused<P: crate::IdentityProvider + ?Sized>(
    provider: &P,
    token: &str,
) -> crate::VerifyError {
    let err = match provider.verify(token).await {
        Ok(identity) => panic!("the token was accepted: {identity:?}"),
        Err(err) => err,
    };
    for part in token.split('.').filter(|p| p.len() > 8) {
        assert!(
            !err.to_string().contains(part),
            "the error shows the token: {err}"
        );
        assert!(
            !format!("{err:?}").contains(part),
            "the error shows the token: {err:?}"
        );
    }
    err
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Base64url without padding, as in JWS segments (for tests that assemble tokens by hand).
pub fn b64url(bytes: &[u8]) -> String {
    b64(bytes)
}

/// Listen on `127.0.0.1:0`; returns the acceptor and `http://127.0.0.1:PORT`.
async fn bind_loopback() -> std::io::Result<(TcpAcceptor, String)> {
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await?;
    let port = acceptor
        .local_addr()
        .first()
        .and_then(|addr| addr.as_socket_addr().map(|a| a.port()))
        .ok_or_else(|| std::io::Error::other("no local address"))?;
    Ok((acceptor, format!("http://127.0.0.1:{port}")))
}

/// Serve `handler` on `acceptor` until the returned sender is used or dropped (the fakes keep
/// it in a field, so dropping a fake stops its server).
fn run_server<F>(acceptor: TcpAcceptor, name: &'static str, handler: F) -> oneshot::Sender<()>
where
    F: Fn(&Request) -> Response + Send + Sync + 'static,
{
    let (shutdown, stopped) = oneshot::channel::<()>();
    let endpoint = poem::endpoint::make_sync(move |request: Request| handler(&request));
    tokio::spawn(async move {
        let result = Server::new_with_acceptor(acceptor)
            .run_with_graceful_shutdown(
                endpoint,
                async move {
                    let _ = stopped.await;
                },
                Some(Duration::from_millis(100)),
            )
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, server = name, "fake identity provider stopped with an error");
        }
    });
    shutdown
}

fn json_response(document: &Value) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .content_type("application/json")
        .body(document.to_string())
}

fn status_response(status: StatusCode) -> Response {
    Response::builder().status(status).finish()
}

/// Apply a patch object: each member replaces the target's; a `null` member removes it.
fn apply_patch(target: &mut Value, patch: &Value) {
    if let (Value::Object(target), Value::Object(patch)) = (target, patch) {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Options of [`TestIssuer::start_with`].
#[derive(Debug, Clone)]
pub struct TestIssuerOptions {
    /// The audience of the minted tokens (default [`DEFAULT_AUDIENCE`]).
    pub audience: String,
    /// A path appended to `http://127.0.0.1:PORT` to form the issuer, e.g. `"/tenant-a/v2.0"`
    /// or `"/b2c/"` (a trailing slash is kept: the issuer is compared exactly). Default: none.
    pub issuer_path: String,
}

impl Default for TestIssuerOptions {
    fn default() -> Self {
        Self {
            audience: DEFAULT_AUDIENCE.to_owned(),
            issuer_path: String::new(),
        }
    }
}

/// An RSA signing key of the fake issuer.
struct TestKey {
    kid: String,
    private: RsaPrivateKey,
    encoding: EncodingKey,
    jwk: Value,
}

impl TestKey {
    /// A generic issuer's key: `kty`, `use: sig`, `alg: RS256`, `kid`, `n`, `e`.
    fn generate(kid: String) -> Self {
        Self::generate_with(kid, json!({ "use": "sig", "alg": "RS256" }))
    }

    /// A key whose JWK is `kty`, `kid`, `n`, `e` and the members of `extra` (an object).
    fn generate_with(kid: String, extra: Value) -> Self {
        let private = must(
            RsaPrivateKey::new(&mut rand::thread_rng(), 2048),
            "RSA key generation",
        );
        let der = must(private.to_pkcs1_der(), "RSA key encoding");
        let encoding = EncodingKey::from_rsa_der(der.as_bytes());
        let mut jwk = json!({
            "kty": "RSA",
            "kid": kid,
            "n": b64(&private.n().to_bytes_be()),
            "e": b64(&private.e().to_bytes_be()),
        });
        apply_patch(&mut jwk, &extra);
        Self {
            kid,
            private,
            encoding,
            jwk,
        }
    }

    fn sign(&self, header: &Value, claims: &Value) -> String {
        let header = must(serde_json::to_vec(header), "header serialisation");
        let claims = must(serde_json::to_vec(claims), "claims serialisation");
        sign(&header, &claims, &self.encoding, Algorithm::RS256)
    }
}

/// Generate a key off the async runtime's worker threads.
async fn generate_key_with(kid: String, extra: Value) -> std::io::Result<TestKey> {
    tokio::task::spawn_blocking(move || TestKey::generate_with(kid, extra))
        .await
        .map_err(std::io::Error::other)
}

struct Keys {
    current: Arc<TestKey>,
    /// The JWKs served, in order (the current key's among them).
    published: Vec<Value>,
    generated: u32,
}

struct State {
    issuer: String,
    jwks_uri: String,
    discovery_path: String,
    jwks_path: String,
    keys: Mutex<Keys>,
    other_key: OnceLock<TestKey>,
    available: AtomicBool,
    discovery_patch: Mutex<Map<String, Value>>,
    discovery_fetches: AtomicU64,
    jwks_fetches: AtomicU64,
    other_requests: AtomicU64,
}

impl State {
    fn keys(&self) -> std::sync::MutexGuard<'_, Keys> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn discovery_document(&self) -> Value {
        let base = self.issuer.trim_end_matches('/');
        let mut document = json!({
            "issuer": self.issuer,
            "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
            "token_endpoint": format!("{base}/oauth2/v2.0/token"),
            "userinfo_endpoint": format!("{base}/oidc/userinfo"),
            "end_session_endpoint": format!("{base}/oauth2/v2.0/logout"),
            "jwks_uri": self.jwks_uri,
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["public", "pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "private_key_jwt"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "name", "email", "scp", "roles"],
            "code_challenge_methods_supported": ["S256"],
            "request_uri_parameter_supported": false,
        });
        let patch = self
            .discovery_patch
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Value::Object(document) = &mut document {
            for (key, value) in patch.iter() {
                if value.is_null() {
                    document.remove(key);
                } else {
                    document.insert(key.clone(), value.clone());
                }
            }
        }
        document
    }

    fn handle(&self, request: &Request) -> Response {
        let path = request.uri().path();
        let document = if path == self.discovery_path {
            self.discovery_fetches.fetch_add(1, Ordering::SeqCst);
            self.discovery_document()
        } else if path == self.jwks_path {
            self.jwks_fetches.fetch_add(1, Ordering::SeqCst);
            json!({ "keys": self.keys().published.clone() })
        } else {
            self.other_requests.fetch_add(1, Ordering::SeqCst);
            return Response::builder().status(StatusCode::NOT_FOUND).finish();
        };
        if !self.available.load(Ordering::SeqCst) {
            return Response::builder()
                .status(StatusCode::SERVICE_UNAVAILABLE)
                .body("temporarily unavailable");
        }
        Response::builder()
            .status(StatusCode::OK)
            .content_type("application/json")
            .body(document.to_string())
    }
}

/// A fake OpenID Connect issuer on `127.0.0.1`, stopped when dropped.
///
/// - `GET {issuer}/.well-known/openid-configuration`: the discovery document;
/// - `GET {issuer}/discovery/v2.0/keys`: the JWKS;
/// - anything else: 404, counted by [`TestIssuer::other_request_count`] (so tests can show that a
///   `jku`/`x5u` pointing here was never fetched).
pub struct TestIssuer {
    state: Arc<State>,
    audience: String,
    base_url: String,
    /// The server stops when this is dropped.
    _server: oneshot::Sender<()>,
}

impl std::fmt::Debug for TestIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIssuer")
            .field("issuer", &self.state.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl TestIssuer {
    /// Start with the default options (audience `api://acs-auth`, issuer
    /// `http://127.0.0.1:PORT`). Panics if it cannot listen.
    pub async fn start() -> Self {
        Self::start_with(TestIssuerOptions::default()).await
    }

    /// Start with `options`. Panics if it cannot listen.
    pub async fn start_with(options: TestIssuerOptions) -> Self {
        must(Self::try_start_with(options).await, "start")
    }

    /// Start with `options`, reporting a failure to listen.
    pub async fn try_start_with(options: TestIssuerOptions) -> std::io::Result<Self> {
        let (acceptor, base_url) = bind_loopback().await?;
        let path = if options.issuer_path.is_empty() || options.issuer_path.starts_with('/') {
            options.issuer_path.clone()
        } else {
            format!("/{}", options.issuer_path)
        };
        let issuer = format!("{base_url}{path}");
        let trimmed = path.trim_end_matches('/');
        let discovery_path = format!("{trimmed}/.well-known/openid-configuration");
        let jwks_path = format!("{trimmed}/discovery/v2.0/keys");
        let key = tokio::task::spawn_blocking(|| TestKey::generate("test-key-1".to_owned()))
            .await
            .map_err(std::io::Error::other)?;
        let state = Arc::new(State {
            jwks_uri: format!("{base_url}{jwks_path}"),
            issuer,
            discovery_path,
            jwks_path,
            keys: Mutex::new(Keys {
                published: vec![key.jwk.clone()],
                current: Arc::new(key),
                generated: 1,
            }),
            other_key: OnceLock::new(),
            available: AtomicBool::new(true),
            discovery_patch: Mutex::new(Map::new()),
            discovery_fetches: AtomicU64::new(0),
            jwks_fetches: AtomicU64::new(0),
            other_requests: AtomicU64::new(0),
        });
        let served = state.clone();
        let shutdown = run_server(acceptor, "TestIssuer", move |request| {
            served.handle(request)
        });
        Ok(Self {
            state,
            audience: options.audience,
            base_url,
            _server: shutdown,
        })
    }

    /// The issuer, e.g. `http://127.0.0.1:PORT`.
    pub fn issuer(&self) -> String {
        self.state.issuer.clone()
    }

    /// `http://127.0.0.1:PORT`, whatever the issuer path.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The audience of the minted tokens (default `api://acs-auth`).
    pub fn audience(&self) -> String {
        self.audience.clone()
    }

    /// The URL of the discovery document.
    pub fn discovery_url(&self) -> String {
        format!("{}{}", self.base_url, self.state.discovery_path)
    }

    /// The URL of the JWKS.
    pub fn jwks_uri(&self) -> String {
        self.state.jwks_uri.clone()
    }

    /// The `kid` of the current signing key.
    pub fn kid(&self) -> String {
        self.current_key().kid.clone()
    }

    fn current_key(&self) -> Arc<TestKey> {
        self.state.keys().current.clone()
    }

    /// The standard claims of a token for `subject`, valid for an hour: `iss`, `aud`, `sub`,
    /// `iat`, `nbf`, `exp`, `scp`. Modify and pass to [`TestIssuer::token_with`].
    pub fn claims(&self, subject: &str) -> Value {
        let now = now_unix();
        json!({
            "iss": self.state.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "scp": DEFAULT_SCOPE,
        })
    }

    /// A valid token for `subject` (see [`TestIssuer::claims`]), signed with the current key.
    pub fn token(&self, subject: &str) -> String {
        self.token_with(self.claims(subject))
    }

    /// A token with exactly these claims, signed (RS256) with the current key, whose `kid` it
    /// carries.
    pub fn token_with(&self, claims: Value) -> String {
        let header = json!({ "alg": "RS256", "typ": "JWT", "kid": self.kid() });
        self.token_with_header(header, claims)
    }

    /// A token with exactly this header and these claims, signed with the current key: with
    /// the header's `alg` when it is an RSA algorithm (RS256/384/512, PS256/384/512), with RS256
    /// otherwise — so a forged `alg` still carries a signature the real key made. Nothing is
    /// added to the header (no `kid` unless given).
    pub fn token_with_header(&self, header: Value, claims: Value) -> String {
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .and_then(rsa_algorithm)
            .unwrap_or(Algorithm::RS256);
        let header = must(serde_json::to_vec(&header), "header serialisation");
        let claims = must(serde_json::to_vec(&claims), "claims serialisation");
        sign(&header, &claims, &self.current_key().encoding, alg)
    }

    /// A token from raw JSON texts (e.g. with duplicate keys, which `serde_json::Value` cannot
    /// hold), signed RS256 with the current key.
    pub fn sign_raw(&self, header_json: &str, claims_json: &str) -> String {
        sign(
            header_json.as_bytes(),
            claims_json.as_bytes(),
            &self.current_key().encoding,
            Algorithm::RS256,
        )
    }

    /// A token signed RS256 by a key that is NOT in the JWKS, but carrying the current `kid`:
    /// its signature must not verify.
    pub fn sign_with_other_key(&self, claims: Value) -> String {
        let other = self
            .state
            .other_key
            .get_or_init(|| TestKey::generate("not-published".to_owned()));
        let header = json!({ "alg": "RS256", "typ": "JWT", "kid": self.kid() });
        let header = must(serde_json::to_vec(&header), "header serialisation");
        let claims = must(serde_json::to_vec(&claims), "claims serialisation");
        sign(&header, &claims, &other.encoding, Algorithm::RS256)
    }

    /// An unsigned token: header `{"alg":"none","typ":"JWT","kid":<current>}`, empty signature.
    pub fn unsigned_none_token(&self, claims: Value) -> String {
        self.unsigned_token_with_alg("none", claims)
    }

    /// An unsigned token whose header says `alg` (e.g. `"None"`, `"NONE"`), empty signature.
    pub fn unsigned_token_with_alg(&self, alg: &str, claims: Value) -> String {
        let header = json!({ "alg": alg, "typ": "JWT", "kid": self.kid() });
        let header = must(serde_json::to_vec(&header), "header serialisation");
        let claims = must(serde_json::to_vec(&claims), "claims serialisation");
        format!("{}.{}.", b64(&header), b64(&claims))
    }

    /// The key-confusion attack: a token whose header says `HS256` (with the current `kid`),
    /// MACed with the current public key's PEM text as the HMAC secret.
    pub fn hs256_signed_with_public_key(&self, claims: Value) -> String {
        let secret = self.public_key_pem();
        let header = json!({ "alg": "HS256", "typ": "JWT", "kid": self.kid() });
        let header = must(serde_json::to_vec(&header), "header serialisation");
        let claims = must(serde_json::to_vec(&claims), "claims serialisation");
        sign(
            &header,
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
            Algorithm::HS256,
        )
    }

    /// The current public key, SubjectPublicKeyInfo PEM.
    pub fn public_key_pem(&self) -> String {
        let public = self.current_key().private.to_public_key();
        must(
            public.to_public_key_pem(LineEnding::LF),
            "public key encoding",
        )
    }

    /// The current key as a public JWK (as served in the JWKS).
    pub fn public_jwk(&self) -> Value {
        self.current_key().jwk.clone()
    }

    /// Replace the signing key with a new one (new `kid`); the JWKS then serves only the new
    /// key. Returns the new `kid`. Blocks while the key is generated.
    pub fn rotate_key(&self) -> String {
        self.rotate(false)
    }

    /// Like [`TestIssuer::rotate_key`], but the JWKS keeps serving the previous keys too (the
    /// usual overlap during a real rotation).
    pub fn rotate_key_keeping_old(&self) -> String {
        self.rotate(true)
    }

    fn rotate(&self, keep_old: bool) -> String {
        let number = self.state.keys().generated + 1;
        let key = TestKey::generate(format!("test-key-{number}"));
        let kid = key.kid.clone();
        let mut keys = self.state.keys();
        keys.generated = keys.generated.max(number);
        if !keep_old {
            keys.published.clear();
        }
        keys.published.push(key.jwk.clone());
        keys.current = Arc::new(key);
        kid
    }

    /// Serve one more JWK in the JWKS (e.g. an EC or a symmetric key), as given.
    pub fn publish_jwk(&self, jwk: Value) {
        self.state.keys().published.push(jwk);
    }

    /// Change the discovery document: each member of `patch` (an object) replaces the
    /// document's; a `null` member removes it. E.g. `json!({"issuer": "https://elsewhere"})`.
    pub fn patch_discovery(&self, patch: Value) {
        if let Value::Object(patch) = patch {
            let mut current = self
                .state
                .discovery_patch
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            current.extend(patch);
        }
    }

    /// `false`: discovery and JWKS answer 503 (an outage); `true`: back to normal.
    pub fn set_available(&self, available: bool) {
        self.state.available.store(available, Ordering::SeqCst);
    }

    /// Requests received for the JWKS.
    pub fn jwks_fetch_count(&self) -> u64 {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }

    /// Requests received for the discovery document.
    pub fn discovery_fetch_count(&self) -> u64 {
        self.state.discovery_fetches.load(Ordering::SeqCst)
    }

    /// Requests received for any other path.
    pub fn other_request_count(&self) -> u64 {
        self.state.other_requests.load(Ordering::SeqCst)
    }
}

fn rsa_algorithm(name: &str) -> Option<Algorithm> {
    [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
    ]
    .into_iter()
    .find(|alg| algorithm_name(*alg) == name)
}

fn sign(header: &[u8], claims: &[u8], key: &EncodingKey, alg: Algorithm) -> String {
    let message = format!("{}.{}", b64(header), b64(claims));
    let signature = must(
        jsonwebtoken::crypto::sign(message.as_bytes(), key, alg),
        "signing",
    );
    format!("{message}.{signature}")
}

/// An [`OidcConfig`] for `issuer`: its issuer and audience, `allow_http = true`, defaults
/// otherwise.
pub fn oidc_config_for(issuer: &TestIssuer) -> OidcConfig {
    OidcConfig {
        issuer: issuer.issuer(),
        audiences: vec![issuer.audience()],
        subject_claim: "sub".to_owned(),
        allow_http: true,
        leeway_secs: DEFAULT_LEEWAY_SECS,
        max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
    }
}

// ---------------------------------------------------------------------------------------------
// Microsoft Entra ID
// ---------------------------------------------------------------------------------------------

/// The API app of [`FakeEntra`]'s tokens (`aud`: this id in v2, `api://{id}` in v1), and the
/// `client_id` of [`aad_config_for`].
pub const FAKE_ENTRA_API_CLIENT_ID: &str = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
/// The calling (client) app of [`FakeEntra`]'s tokens (`azp` in v2, `appid` in v1).
pub const FAKE_ENTRA_CLIENT_APP_ID: &str = "3f2c0c8e-9a4b-4f7e-8d1a-2b5c6d7e8f90";
/// A directory (tenant) id for fake Entra tokens.
pub const FAKE_ENTRA_TENANT_A: &str = "8eaef023-2b34-4da1-9baa-8bc8c9d6a490";
/// Another directory (tenant) id for fake Entra tokens.
pub const FAKE_ENTRA_TENANT_B: &str = "c2a1b8f7-5d34-4e11-9f0a-3b7e6d2c1a90";
/// The `aud` of a Teams user's Entra token for Azure Communication Services.
pub const ACS_TEAMS_AUDIENCE: &str = "https://auth.msft.communication.azure.com";
/// The delegated scopes of a Teams user's token for ACS.
pub const ACS_TEAMS_SCOPES: &str = "Teams.ManageCalls Teams.ManageChats";
/// Entra ID's v1 issuer template (`https://sts.windows.net/{tid}/`).
pub const ENTRA_V1_ISSUER_TEMPLATE: &str = "https://sts.windows.net/{tenantid}/";
/// Entra ID's v2 issuer template, also the `issuer` of the keys in its common JWKS.
pub const ENTRA_V2_ISSUER_TEMPLATE: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";

const ENTRA_TENANT_TEMPLATE: &str = "{tenantid}";
const ENTRA_PERSONAL_ACCOUNTS: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

fn is_guid_text(value: &str) -> bool {
    value.len() == 36
        && value.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// An Entra-like `kid` (which Entra sets equal to `x5t`, a certificate thumbprint).
fn entra_kid() -> String {
    b64(&rand::random::<[u8; 20]>())
}

/// Entra's `sub` is pairwise: one value per (user, app). Deterministic for the fake.
fn pairwise_sub(oid: &str, app: &str) -> String {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut bytes = Vec::with_capacity(32);
    for round in 0u8..4 {
        let mut hasher = DefaultHasher::new();
        (round, oid, app).hash(&mut hasher);
        bytes.extend_from_slice(&hasher.finish().to_be_bytes());
    }
    b64(&bytes)
}

/// Options of [`FakeEntra::start_with`].
#[derive(Debug, Clone)]
pub struct FakeEntraOptions {
    /// The API app (default [`FAKE_ENTRA_API_CLIENT_ID`]).
    pub api_client_id: String,
    /// The calling app (default [`FAKE_ENTRA_CLIENT_APP_ID`]).
    pub client_app_id: String,
}

impl Default for FakeEntraOptions {
    fn default() -> Self {
        Self {
            api_client_id: FAKE_ENTRA_API_CLIENT_ID.to_owned(),
            client_app_id: FAKE_ENTRA_CLIENT_APP_ID.to_owned(),
        }
    }
}

struct EntraState {
    base_url: String,
    /// Published in both JWKS; the first is the main key.
    keys: Mutex<Vec<Arc<TestKey>>>,
    unpublished: OnceLock<TestKey>,
    metadata_patch: Mutex<Value>,
    available: AtomicBool,
    metadata_fetches: AtomicU64,
    jwks_fetches: AtomicU64,
    other_requests: AtomicU64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum EntraVersion {
    V1,
    V2,
}

impl EntraState {
    fn keys(&self) -> std::sync::MutexGuard<'_, Vec<Arc<TestKey>>> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The issuer a metadata document of `directory` states, or `None` for an unknown one.
    fn issuer_of(directory: &str, version: EntraVersion) -> Option<String> {
        let tenant = match directory {
            "common" | "organizations" => ENTRA_TENANT_TEMPLATE.to_owned(),
            "consumers" => ENTRA_PERSONAL_ACCOUNTS.to_owned(),
            guid if is_guid_text(guid) => guid.to_ascii_lowercase(),
            _ => return None,
        };
        Some(match version {
            EntraVersion::V1 => ENTRA_V1_ISSUER_TEMPLATE.replace(ENTRA_TENANT_TEMPLATE, &tenant),
            EntraVersion::V2 => ENTRA_V2_ISSUER_TEMPLATE.replace(ENTRA_TENANT_TEMPLATE, &tenant),
        })
    }

    fn metadata(&self, directory: &str, version: EntraVersion) -> Option<Value> {
        let issuer = Self::issuer_of(directory, version)?;
        let base = &self.base_url;
        let region = if issuer.contains(ENTRA_TENANT_TEMPLATE) {
            Value::Null
        } else {
            json!("EU")
        };
        let mut document = match version {
            EntraVersion::V1 => json!({
                "token_endpoint": format!("{base}/{directory}/oauth2/token"),
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
                "jwks_uri": format!("{base}/common/discovery/keys"),
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
                "scopes_supported": ["openid"],
                "issuer": issuer,
                "microsoft_multi_refresh_token": true,
                "authorization_endpoint": format!("{base}/{directory}/oauth2/authorize"),
                "device_authorization_endpoint": format!("{base}/{directory}/oauth2/devicecode"),
                "http_logout_supported": true,
                "frontchannel_logout_supported": true,
                "end_session_endpoint": format!("{base}/{directory}/oauth2/logout"),
                "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce", "email", "given_name", "family_name", "nickname"],
                "check_session_iframe": format!("{base}/{directory}/oauth2/checksession"),
                "userinfo_endpoint": format!("{base}/{directory}/openid/userinfo"),
                "kerberos_endpoint": format!("{base}/{directory}/kerberos"),
                "tenant_region_scope": region,
                "cloud_instance_name": "microsoftonline.com",
                "cloud_graph_host_name": "graph.windows.net",
                "msgraph_host": "graph.microsoft.com",
                "rbac_url": "https://pas.windows.net",
            }),
            EntraVersion::V2 => json!({
                "token_endpoint": format!("{base}/{directory}/oauth2/v2.0/token"),
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
                "jwks_uri": format!("{base}/common/discovery/v2.0/keys"),
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": issuer,
                "request_uri_parameter_supported": false,
                "userinfo_endpoint": format!("{base}/oidc/userinfo"),
                "authorization_endpoint": format!("{base}/{directory}/oauth2/v2.0/authorize"),
                "device_authorization_endpoint": format!("{base}/{directory}/oauth2/v2.0/devicecode"),
                "http_logout_supported": true,
                "frontchannel_logout_supported": true,
                "end_session_endpoint": format!("{base}/{directory}/oauth2/v2.0/logout"),
                "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
                "kerberos_endpoint": format!("{base}/{directory}/kerberos"),
                "tenant_region_scope": region,
                "cloud_instance_name": "microsoftonline.com",
                "cloud_graph_host_name": "graph.windows.net",
                "msgraph_host": "graph.microsoft.com",
                "rbac_url": "https://pas.windows.net",
            }),
        };
        let patch = self
            .metadata_patch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        apply_patch(&mut document, &patch);
        Some(document)
    }

    fn handle(&self, request: &Request) -> Response {
        let path = request.uri().path();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let document = match segments.as_slice() {
            [directory, ".well-known", "openid-configuration"] => {
                self.metadata_fetches.fetch_add(1, Ordering::SeqCst);
                self.metadata(&directory.to_ascii_lowercase(), EntraVersion::V1)
            }
            [directory, "v2.0", ".well-known", "openid-configuration"] => {
                self.metadata_fetches.fetch_add(1, Ordering::SeqCst);
                self.metadata(&directory.to_ascii_lowercase(), EntraVersion::V2)
            }
            ["common", "discovery", "keys"] | ["common", "discovery", "v2.0", "keys"] => {
                self.jwks_fetches.fetch_add(1, Ordering::SeqCst);
                let keys: Vec<Value> = self.keys().iter().map(|k| k.jwk.clone()).collect();
                Some(json!({ "keys": keys }))
            }
            _ => {
                self.other_requests.fetch_add(1, Ordering::SeqCst);
                return status_response(StatusCode::NOT_FOUND);
            }
        };
        if !self.available.load(Ordering::SeqCst) {
            return Response::builder()
                .status(StatusCode::SERVICE_UNAVAILABLE)
                .body("temporarily unavailable");
        }
        match document {
            Some(document) => json_response(&document),
            // Entra answers an unknown tenant with 400 (AADSTS90002).
            None => status_response(StatusCode::BAD_REQUEST),
        }
    }
}

/// A fake Microsoft Entra ID authority host on `127.0.0.1`, stopped when dropped.
///
/// - `GET /{tid}/.well-known/openid-configuration`: v1 metadata, issuer
///   `https://sts.windows.net/{tid}/`;
/// - `GET /{tid}/v2.0/.well-known/openid-configuration`: v2 metadata, issuer
///   `https://login.microsoftonline.com/{tid}/v2.0`;
/// - `GET /{organizations|common}/v2.0/.well-known/openid-configuration`: issuer template
///   `https://login.microsoftonline.com/{tenantid}/v2.0`; `GET
///   /{organizations|common}/.well-known/openid-configuration`: `https://sts.windows.net/{tenantid}/`;
/// - `GET /common/discovery/v2.0/keys` (v2 `jwks_uri`) and `GET /common/discovery/keys` (v1):
///   the keys, each with an `issuer` member like Entra's (the v2 template, or one tenant's
///   issuer for a key added by [`FakeEntra::add_tenant_bound_key`]), no `alg`, `kid` = `x5t`.
///
/// Issuers are the real public strings (they are compared, never fetched); every URL in the
/// documents points at the fake. Tokens are minted with the claims of Microsoft's access-token
/// reference, signed RS256 with header `typ: JWT`, `kid` and `x5t`.
pub struct FakeEntra {
    state: Arc<EntraState>,
    options: FakeEntraOptions,
    /// The server stops when this is dropped.
    _server: oneshot::Sender<()>,
}

impl std::fmt::Debug for FakeEntra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeEntra")
            .field("authority", &self.state.base_url)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl FakeEntra {
    /// Start with the default options. Panics if it cannot listen.
    pub async fn start() -> Self {
        Self::start_with(FakeEntraOptions::default()).await
    }

    /// Start with `options`. Panics if it cannot listen.
    pub async fn start_with(options: FakeEntraOptions) -> Self {
        must(Self::try_start_with(options).await, "start FakeEntra")
    }

    /// Start with `options`, reporting a failure to listen.
    pub async fn try_start_with(options: FakeEntraOptions) -> std::io::Result<Self> {
        let (acceptor, base_url) = bind_loopback().await?;
        let kid = entra_kid();
        let key = generate_key_with(
            kid.clone(),
            Self::jwk_members(&kid, Some(ENTRA_V2_ISSUER_TEMPLATE)),
        )
        .await?;
        let state = Arc::new(EntraState {
            base_url,
            keys: Mutex::new(vec![Arc::new(key)]),
            unpublished: OnceLock::new(),
            metadata_patch: Mutex::new(json!({})),
            available: AtomicBool::new(true),
            metadata_fetches: AtomicU64::new(0),
            jwks_fetches: AtomicU64::new(0),
            other_requests: AtomicU64::new(0),
        });
        let served = state.clone();
        let shutdown = run_server(acceptor, "FakeEntra", move |request| served.handle(request));
        Ok(Self {
            state,
            options,
            _server: shutdown,
        })
    }

    fn jwk_members(kid: &str, issuer: Option<&str>) -> Value {
        let mut members = json!({
            "use": "sig",
            "x5t": kid,
            "cloud_instance_name": "microsoftonline.com",
        });
        if let (Some(issuer), Value::Object(map)) = (issuer, &mut members) {
            map.insert("issuer".to_owned(), json!(issuer));
        }
        members
    }

    /// The base URL to configure as `authority_host`: `http://127.0.0.1:PORT`.
    pub fn authority(&self) -> String {
        self.state.base_url.clone()
    }

    /// The API app's client id (the `aud` of v2 tokens).
    pub fn api_client_id(&self) -> String {
        self.options.api_client_id.clone()
    }

    /// The calling app's id (`azp` / `appid`).
    pub fn client_app_id(&self) -> String {
        self.options.client_app_id.clone()
    }

    /// `https://sts.windows.net/{tid}/`.
    pub fn v1_issuer(tid: &str) -> String {
        ENTRA_V1_ISSUER_TEMPLATE.replace(ENTRA_TENANT_TEMPLATE, tid)
    }

    /// `https://login.microsoftonline.com/{tid}/v2.0`.
    pub fn v2_issuer(tid: &str) -> String {
        ENTRA_V2_ISSUER_TEMPLATE.replace(ENTRA_TENANT_TEMPLATE, tid)
    }

    /// The `kid` of the main signing key (its JWK's `issuer` is the v2 template).
    pub fn kid(&self) -> String {
        self.main_key().kid.clone()
    }

    fn main_key(&self) -> Arc<TestKey> {
        match self.state.keys().first() {
            Some(key) => key.clone(),
            None => must(Err("no key"), "main key"),
        }
    }

    fn key(&self, kid: &str) -> Arc<TestKey> {
        let found = self.state.keys().iter().find(|k| k.kid == kid).cloned();
        must(found.ok_or("no such kid"), "key lookup")
    }

    /// Publish one more signing key in both JWKS, whose JWK carries `issuer` (or none). Returns
    /// its `kid`. Blocks while the key is generated.
    pub fn add_key(&self, issuer: Option<&str>) -> String {
        let kid = entra_kid();
        let key = TestKey::generate_with(kid.clone(), Self::jwk_members(&kid, issuer));
        self.state.keys().push(Arc::new(key));
        kid
    }

    /// Publish a key bound to one directory (its `issuer` is that directory's v2 issuer, not the
    /// template). Returns its `kid`.
    pub fn add_tenant_bound_key(&self, tid: &str) -> String {
        self.add_key(Some(&Self::v2_issuer(tid)))
    }

    /// The header Entra writes: `typ: JWT`, `alg: RS256`, `x5t` and `kid`.
    pub fn header(&self, kid: &str) -> Value {
        json!({ "typ": "JWT", "alg": "RS256", "x5t": kid, "kid": kid })
    }

    fn lifetimes() -> (i64, i64) {
        let now = now_unix();
        // Entra access tokens live a random 60–90 minutes.
        (now, now + 75 * 60)
    }

    /// The claims of a v1 access token for the API app (`aud` `api://{client id}`).
    pub fn v1_claims(&self, tid: &str, oid: &str) -> Value {
        let (now, exp) = Self::lifetimes();
        json!({
            "aud": format!("api://{}", self.options.api_client_id),
            "iss": Self::v1_issuer(tid),
            "iat": now,
            "nbf": now,
            "exp": exp,
            "acr": "1",
            "aio": "AVQAq/8TAAAA7mHqQ7zGsrZ0yAbN0xHSx4o5vT3dtgQp9sxQ3D8vEMj1mHzJt8cfpK1n6G9TpWQ2",
            "amr": ["pwd", "mfa"],
            "appid": self.options.client_app_id,
            "appidacr": "0",
            "family_name": "Bowen",
            "given_name": "Megan",
            "ipaddr": "203.0.113.7",
            "name": "Megan Bowen",
            "oid": oid,
            "rh": "0.AXoAI_Cujna0oU2bqovIydakkCsXdG5WvkNIn_Tmajm7EuN6AHo.",
            "scp": DEFAULT_SCOPE,
            "sub": pairwise_sub(oid, &self.options.api_client_id),
            "tid": tid,
            "unique_name": "meganb@contoso.example",
            "upn": "meganb@contoso.example",
            "uti": "fqiBqXLPj0eQa82S-IYFAA",
            "ver": "1.0",
        })
    }

    /// The claims of a v2 access token for the API app (`aud` the client id).
    pub fn v2_claims(&self, tid: &str, oid: &str) -> Value {
        let (now, exp) = Self::lifetimes();
        json!({
            "aud": self.options.api_client_id,
            "iss": Self::v2_issuer(tid),
            "iat": now,
            "nbf": now,
            "exp": exp,
            "aio": "AWQAm/8TAAAAIw9HLRwzBcyQvu6xR5zZzaOwMl9rEYrfbd2pfLKjUpZ3xSQF5O1vcxL1zEXq9W",
            "azp": self.options.client_app_id,
            "azpacr": "0",
            "name": "Megan Bowen",
            "oid": oid,
            "preferred_username": "meganb@contoso.example",
            "rh": "0.AXoAI_Cujna0oU2bqovIydakkCsXdG5WvkNIn_Tmajm7EuN6AHo.",
            "scp": DEFAULT_SCOPE,
            "sid": "00a1b2c3-d4e5-f6a7-b8c9-d0e1f2a3b4c5",
            "sub": pairwise_sub(oid, &self.options.api_client_id),
            "tid": tid,
            "uti": "cbxLqOgP9kWvX6g6KXSPAA",
            "ver": "2.0",
        })
    }

    /// A v1 token: [`FakeEntra::v1_claims`] with `claims_patch` applied (each member replaces
    /// the claim; `null` removes it), signed with the main key.
    pub fn v1_token(&self, tid: &str, oid: &str, claims_patch: Value) -> String {
        let mut claims = self.v1_claims(tid, oid);
        apply_patch(&mut claims, &claims_patch);
        self.token_with(claims)
    }

    /// A v2 token: [`FakeEntra::v2_claims`] with `claims_patch` applied, signed with the main
    /// key.
    pub fn v2_token(&self, tid: &str, oid: &str, claims_patch: Value) -> String {
        let mut claims = self.v2_claims(tid, oid);
        apply_patch(&mut claims, &claims_patch);
        self.token_with(claims)
    }

    /// A token with exactly these claims, signed with the main key.
    pub fn token_with(&self, claims: Value) -> String {
        self.token_with_key(&self.kid(), claims)
    }

    /// A token with exactly these claims, signed with the published key `kid`. Panics for an
    /// unknown `kid`.
    pub fn token_with_key(&self, kid: &str, claims: Value) -> String {
        self.key(kid).sign(&self.header(kid), &claims)
    }

    /// A token with exactly this header and these claims, signed RS256 with the key its `kid`
    /// names when that is one of ours, else with the main key.
    pub fn token_with_header(&self, header: Value, claims: Value) -> String {
        let kid = header.get("kid").and_then(Value::as_str).map(str::to_owned);
        let key = kid
            .and_then(|kid| self.state.keys().iter().find(|k| k.kid == kid).cloned())
            .unwrap_or_else(|| self.main_key());
        key.sign(&header, &claims)
    }

    /// A token carrying the main key's `kid` but signed by a key that is not published.
    pub fn sign_with_unpublished_key(&self, claims: Value) -> String {
        let other = self.state.unpublished.get_or_init(|| {
            TestKey::generate_with("unpublished".to_owned(), json!({ "use": "sig" }))
        });
        other.sign(&self.header(&self.kid()), &claims)
    }

    /// A Microsoft Graph token: `aud` `00000003-0000-0000-c000-000000000000` and a `nonce` in
    /// the header (a third party cannot validate it).
    pub fn graph_token(&self, tid: &str, oid: &str) -> String {
        let mut claims = self.v1_claims(tid, oid);
        apply_patch(
            &mut claims,
            &json!({
                "aud": "00000003-0000-0000-c000-000000000000",
                "scp": "openid profile User.Read email",
                "app_displayname": "Contoso Web",
                "idtyp": "user",
                "wids": ["b79fbf4d-3ef9-4689-8143-76b194e85509"],
                "xms_tcdt": 1_600_000_000,
            }),
        );
        let kid = self.kid();
        let mut header = self.header(&kid);
        apply_patch(
            &mut header,
            &json!({ "nonce": "GAxqQ9Yl1B6ztZQ6bR4JbK7L1q8cHcE1aH0oYl6y2cI" }),
        );
        self.main_key().sign(&header, &claims)
    }

    /// A Teams user's token for ACS (v1, `aud` `https://auth.msft.communication.azure.com`,
    /// `scp` `Teams.ManageCalls Teams.ManageChats`, `appid` the API app, which is the app the
    /// operator registers for the exchange).
    pub fn teams_user_token(&self, tid: &str, oid: &str) -> String {
        let mut claims = self.v1_claims(tid, oid);
        apply_patch(
            &mut claims,
            &json!({
                "aud": ACS_TEAMS_AUDIENCE,
                "scp": ACS_TEAMS_SCOPES,
                "appid": self.options.api_client_id,
            }),
        );
        self.token_with(claims)
    }

    /// Change every metadata document: each member of `patch` replaces the document's; `null`
    /// removes it.
    pub fn patch_metadata(&self, patch: Value) {
        let mut current = self
            .state
            .metadata_patch
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        apply_patch(&mut current, &patch);
    }

    /// `false`: metadata and keys answer 503 (an outage); `true`: back to normal.
    pub fn set_available(&self, available: bool) {
        self.state.available.store(available, Ordering::SeqCst);
    }

    /// Requests received for metadata documents.
    pub fn metadata_fetch_count(&self) -> u64 {
        self.state.metadata_fetches.load(Ordering::SeqCst)
    }

    /// Requests received for the JWKS (v1 and v2).
    pub fn jwks_fetch_count(&self) -> u64 {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }

    /// Requests received for any other path.
    pub fn other_request_count(&self) -> u64 {
        self.state.other_requests.load(Ordering::SeqCst)
    }
}

/// An [`AadConfig`] for `entra`: `directory` (a GUID, `organizations` or `common`), its API
/// client id, its authority, `allow_http = true`, defaults otherwise. A multi-tenant config
/// still needs `allowed_directories` or `allow_any_directory`.
pub fn aad_config_for(entra: &FakeEntra, directory: &str) -> AadConfig {
    AadConfig {
        authority_host: entra.authority(),
        allow_http: true,
        ..AadConfig::new(directory, entra.api_client_id())
    }
}

// ---------------------------------------------------------------------------------------------
// Azure AD B2C
// ---------------------------------------------------------------------------------------------

/// The B2C tenant name of [`FakeB2c`] by default.
pub const FAKE_B2C_TENANT_NAME: &str = "contosob2c";
/// The B2C directory id of [`FakeB2c`] by default.
pub const FAKE_B2C_DIRECTORY_ID: &str = "775527ff-9a37-4307-8b3d-cc311f58d925";
/// The API app (`aud`) of [`FakeB2c`]'s tokens by default.
pub const FAKE_B2C_CLIENT_ID: &str = "90c0fe63-bcf2-44d5-8fb7-b8bbc0b29dc6";
/// The calling app (`azp`) of [`FakeB2c`]'s tokens.
pub const FAKE_B2C_CLIENT_APP_ID: &str = "e2b0a7c3-4d5e-4f60-9a1b-2c3d4e5f6a7b";
/// The policies [`FakeB2c`] serves by default: a user flow and a custom policy.
pub const FAKE_B2C_POLICIES: [&str; 2] = ["B2C_1_signupsignin1", "B2C_1A_signup_signin"];

/// The issuer form a B2C tenant writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum B2cIssuerForm {
    /// `{host}/{directory id}/v2.0/` (the default).
    #[default]
    Default,
    /// `{host}/tfp/{directory id}/{policy, lower case}/v2.0/`.
    Tfp,
}

/// Options of [`FakeB2c::start_with`].
#[derive(Debug, Clone)]
pub struct FakeB2cOptions {
    /// Default [`FAKE_B2C_TENANT_NAME`].
    pub tenant_name: String,
    /// Default [`FAKE_B2C_DIRECTORY_ID`].
    pub directory_id: String,
    /// Default [`FAKE_B2C_POLICIES`].
    pub policies: Vec<String>,
    /// Default [`FAKE_B2C_CLIENT_ID`].
    pub client_id: String,
    /// Default [`B2cIssuerForm::Default`].
    pub issuer_form: B2cIssuerForm,
    /// The tenant path segment; default `{tenant_name}.onmicrosoft.com`.
    pub domain: Option<String>,
}

impl Default for FakeB2cOptions {
    fn default() -> Self {
        Self {
            tenant_name: FAKE_B2C_TENANT_NAME.to_owned(),
            directory_id: FAKE_B2C_DIRECTORY_ID.to_owned(),
            policies: FAKE_B2C_POLICIES.iter().map(|p| (*p).to_owned()).collect(),
            client_id: FAKE_B2C_CLIENT_ID.to_owned(),
            issuer_form: B2cIssuerForm::Default,
            domain: None,
        }
    }
}

struct B2cState {
    base_url: String,
    domain: String,
    options: FakeB2cOptions,
    key: TestKey,
    unpublished: OnceLock<TestKey>,
    available: AtomicBool,
    metadata_fetches: AtomicU64,
    jwks_fetches: AtomicU64,
    other_requests: AtomicU64,
}

impl B2cState {
    fn policy(&self, name: &str) -> Option<&str> {
        self.options
            .policies
            .iter()
            .find(|p| p.eq_ignore_ascii_case(name))
            .map(String::as_str)
    }

    fn issuer(&self, policy: &str) -> String {
        let (base, directory) = (&self.base_url, &self.options.directory_id);
        match self.options.issuer_form {
            B2cIssuerForm::Default => format!("{base}/{directory}/v2.0/"),
            B2cIssuerForm::Tfp => format!(
                "{base}/tfp/{directory}/{}/v2.0/",
                policy.to_ascii_lowercase()
            ),
        }
    }

    fn metadata(&self, policy: &str) -> Value {
        let prefix = format!(
            "{}/{}/{}",
            self.base_url,
            self.domain,
            policy.to_ascii_lowercase()
        );
        json!({
            "issuer": self.issuer(policy),
            "authorization_endpoint": format!("{prefix}/oauth2/v2.0/authorize"),
            "token_endpoint": format!("{prefix}/oauth2/v2.0/token"),
            "end_session_endpoint": format!("{prefix}/oauth2/v2.0/logout"),
            "jwks_uri": format!("{prefix}/discovery/v2.0/keys"),
            "response_modes_supported": ["query", "fragment", "form_post"],
            "response_types_supported": ["code", "code id_token", "code token", "code id_token token", "id_token", "id_token token", "token", "token id_token"],
            "scopes_supported": ["openid"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": ["name", "emails", "oid", "sub", "tfp", "iss", "iat", "exp", "aud", "acr", "nonce", "auth_time"],
        })
    }

    fn handle(&self, request: &Request) -> Response {
        let path = request.uri().path();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let (domain, policy, rest) = match segments.as_slice() {
            [domain, policy, rest @ ..] => (*domain, *policy, rest),
            _ => {
                self.other_requests.fetch_add(1, Ordering::SeqCst);
                return status_response(StatusCode::NOT_FOUND);
            }
        };
        let policy = if domain.eq_ignore_ascii_case(&self.domain) {
            self.policy(policy)
        } else {
            None
        };
        let document = match (policy, rest) {
            (Some(policy), ["v2.0", ".well-known", "openid-configuration"]) => {
                self.metadata_fetches.fetch_add(1, Ordering::SeqCst);
                self.metadata(policy)
            }
            (Some(_), ["discovery", "v2.0", "keys"]) => {
                self.jwks_fetches.fetch_add(1, Ordering::SeqCst);
                json!({ "keys": [self.key.jwk.clone()] })
            }
            _ => {
                self.other_requests.fetch_add(1, Ordering::SeqCst);
                return status_response(StatusCode::NOT_FOUND);
            }
        };
        if !self.available.load(Ordering::SeqCst) {
            return Response::builder()
                .status(StatusCode::SERVICE_UNAVAILABLE)
                .body("temporarily unavailable");
        }
        json_response(&document)
    }
}

/// A fake Azure AD B2C tenant on `127.0.0.1` (the fake's base URL plays the part of
/// `https://{name}.b2clogin.com`), stopped when dropped.
///
/// - `GET /{domain}/{policy}/v2.0/.well-known/openid-configuration`: the policy's metadata
///   (policy names in any case; an unknown policy is 404);
/// - `GET /{domain}/{policy}/discovery/v2.0/keys`: the tenant's keys (B2C-style JWK with `nbf`,
///   no `alg`).
///
/// Issuers are `{base}/{directory id}/v2.0/` (trailing slash) or, with
/// [`B2cIssuerForm::Tfp`], `{base}/tfp/{directory id}/{policy}/v2.0/`. Tokens carry `tfp` (or
/// the legacy `acr`), `sub` = `oid`, `emails` (an array), `ver` `1.0`, `aud` the client id.
pub struct FakeB2c {
    state: Arc<B2cState>,
    /// The server stops when this is dropped.
    _server: oneshot::Sender<()>,
}

impl std::fmt::Debug for FakeB2c {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeB2c")
            .field("host", &self.state.base_url)
            .field("options", &self.state.options)
            .finish_non_exhaustive()
    }
}

impl FakeB2c {
    /// Start with the default options. Panics if it cannot listen.
    pub async fn start() -> Self {
        Self::start_with(FakeB2cOptions::default()).await
    }

    /// Start with `options`. Panics if it cannot listen.
    pub async fn start_with(options: FakeB2cOptions) -> Self {
        must(Self::try_start_with(options).await, "start FakeB2c")
    }

    /// Start with `options`, reporting a failure to listen.
    pub async fn try_start_with(options: FakeB2cOptions) -> std::io::Result<Self> {
        let (acceptor, base_url) = bind_loopback().await?;
        let kid = b64(&rand::random::<[u8; 32]>());
        let key = generate_key_with(kid, json!({ "nbf": 1_493_763_266, "use": "sig" })).await?;
        let domain = options
            .domain
            .clone()
            .unwrap_or_else(|| format!("{}.onmicrosoft.com", options.tenant_name));
        let state = Arc::new(B2cState {
            base_url,
            domain,
            options,
            key,
            unpublished: OnceLock::new(),
            available: AtomicBool::new(true),
            metadata_fetches: AtomicU64::new(0),
            jwks_fetches: AtomicU64::new(0),
            other_requests: AtomicU64::new(0),
        });
        let served = state.clone();
        let shutdown = run_server(acceptor, "FakeB2c", move |request| served.handle(request));
        Ok(Self {
            state,
            _server: shutdown,
        })
    }

    /// The base URL to configure as `host`: `http://127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.state.base_url.clone()
    }

    /// The tenant path segment (`{tenant_name}.onmicrosoft.com` unless set).
    pub fn domain(&self) -> String {
        self.state.domain.clone()
    }

    /// The options it runs with.
    pub fn options(&self) -> &FakeB2cOptions {
        &self.state.options
    }

    /// The served policies, as configured.
    pub fn policies(&self) -> Vec<String> {
        self.state.options.policies.clone()
    }

    /// The issuer of `policy`'s tokens.
    pub fn issuer(&self, policy: &str) -> String {
        self.state.issuer(policy)
    }

    /// The `kid` of the signing key.
    pub fn kid(&self) -> String {
        self.state.key.kid.clone()
    }

    /// The claims of an access token of `policy` for `sub` (also `oid`): `iss`, `exp`, `nbf`,
    /// `iat`, `auth_time`, `aud`, `oid`, `sub`, `name`, `emails`, `tfp`, `scp`, `azp`, `ver`.
    pub fn claims(&self, policy: &str, sub: &str) -> Value {
        let now = now_unix();
        json!({
            "iss": self.issuer(policy),
            "exp": now + 3600,
            "nbf": now,
            "iat": now,
            "auth_time": now,
            "aud": self.state.options.client_id,
            "oid": sub,
            "sub": sub,
            "name": "Alex Wilber",
            "emails": ["alex@contoso.example"],
            "tfp": policy,
            "scp": "demo.read",
            "azp": FAKE_B2C_CLIENT_APP_ID,
            "ver": "1.0",
        })
    }

    /// A token of `policy` ([`FakeB2c::claims`] with `claims_patch` applied: each member
    /// replaces the claim, `null` removes it).
    pub fn token(&self, policy: &str, sub: &str, claims_patch: Value) -> String {
        let mut claims = self.claims(policy, sub);
        apply_patch(&mut claims, &claims_patch);
        self.token_with(claims)
    }

    /// A token naming its policy in the legacy `acr` claim (lower case) instead of `tfp`.
    pub fn acr_token(&self, policy: &str, sub: &str, claims_patch: Value) -> String {
        let mut claims = self.claims(policy, sub);
        apply_patch(
            &mut claims,
            &json!({ "tfp": null, "acr": policy.to_ascii_lowercase() }),
        );
        apply_patch(&mut claims, &claims_patch);
        self.token_with(claims)
    }

    /// A token with exactly these claims, signed RS256 (header `typ`, `alg`, `kid`).
    pub fn token_with(&self, claims: Value) -> String {
        let header = json!({ "alg": "RS256", "kid": self.kid(), "typ": "JWT" });
        self.state.key.sign(&header, &claims)
    }

    /// A token carrying the published `kid` but signed by a key that is not published.
    pub fn sign_with_unpublished_key(&self, claims: Value) -> String {
        let other = self.state.unpublished.get_or_init(|| {
            TestKey::generate_with("unpublished".to_owned(), json!({ "use": "sig" }))
        });
        let header = json!({ "alg": "RS256", "kid": self.kid(), "typ": "JWT" });
        other.sign(&header, &claims)
    }

    /// `false`: metadata and keys answer 503 (an outage); `true`: back to normal.
    pub fn set_available(&self, available: bool) {
        self.state.available.store(available, Ordering::SeqCst);
    }

    /// Requests received for metadata documents.
    pub fn metadata_fetch_count(&self) -> u64 {
        self.state.metadata_fetches.load(Ordering::SeqCst)
    }

    /// Requests received for the keys.
    pub fn jwks_fetch_count(&self) -> u64 {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }

    /// Requests received for any other path.
    pub fn other_request_count(&self) -> u64 {
        self.state.other_requests.load(Ordering::SeqCst)
    }
}

/// A [`B2cConfig`] for `b2c`: its tenant, directory, policies, client id, `host` its base URL,
/// `domain` when not the default, `allow_http = true`.
pub fn b2c_config_for(b2c: &FakeB2c) -> B2cConfig {
    let options = b2c.options();
    B2cConfig {
        host: Some(b2c.host()),
        domain: options.domain.clone(),
        allow_http: true,
        ..B2cConfig::new(
            options.tenant_name.clone(),
            options.directory_id.clone(),
            options.policies.clone(),
            options.client_id.clone(),
        )
    }
}

#[cfg(test)]
mod tests {
    use openidconnect::core::CoreProviderMetadata;

    use super::*;
    use crate::jose::KeySet;
    use crate::validate::peek_claims_unverified;

    async fn get(url: &str) -> (u16, Value) {
        let response = reqwest::get(url).await.unwrap();
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    fn header_of(token: &str) -> Value {
        use base64::Engine;
        let header = token.split('.').next().unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn fake_entra_serves_v1_v2_and_multi_tenant_metadata_pointing_at_itself() {
        let entra = FakeEntra::start().await;
        let base = entra.authority();
        let tid = FAKE_ENTRA_TENANT_A;
        for (path, issuer, jwks) in [
            (
                format!("/{tid}/.well-known/openid-configuration"),
                format!("https://sts.windows.net/{tid}/"),
                "/common/discovery/keys",
            ),
            (
                format!("/{tid}/v2.0/.well-known/openid-configuration"),
                format!("https://login.microsoftonline.com/{tid}/v2.0"),
                "/common/discovery/v2.0/keys",
            ),
            (
                "/organizations/v2.0/.well-known/openid-configuration".to_owned(),
                ENTRA_V2_ISSUER_TEMPLATE.to_owned(),
                "/common/discovery/v2.0/keys",
            ),
            (
                "/common/v2.0/.well-known/openid-configuration".to_owned(),
                ENTRA_V2_ISSUER_TEMPLATE.to_owned(),
                "/common/discovery/v2.0/keys",
            ),
            (
                "/common/.well-known/openid-configuration".to_owned(),
                ENTRA_V1_ISSUER_TEMPLATE.to_owned(),
                "/common/discovery/keys",
            ),
        ] {
            let (status, document) = get(&format!("{base}{path}")).await;
            assert_eq!(status, 200, "{path}");
            let metadata: CoreProviderMetadata = serde_json::from_value(document.clone()).unwrap();
            assert_eq!(metadata.issuer().as_str(), issuer, "{path}");
            assert_eq!(metadata.jwks_uri().url().as_str(), format!("{base}{jwks}"));
            for endpoint in [
                "authorization_endpoint",
                "token_endpoint",
                "end_session_endpoint",
            ] {
                assert!(
                    document[endpoint].as_str().unwrap().starts_with(&base),
                    "{endpoint}"
                );
            }
        }
        assert_eq!(
            get(&format!("{base}/contoso/.well-known/openid-configuration"))
                .await
                .0,
            400
        );
        assert_eq!(get(&format!("{base}/elsewhere")).await.0, 404);
        assert_eq!(entra.metadata_fetch_count(), 6);
        assert_eq!(entra.other_request_count(), 1);
    }

    #[tokio::test]
    async fn fake_entra_keys_carry_issuers_like_entra() {
        let entra = FakeEntra::start().await;
        let bound = entra.add_tenant_bound_key(FAKE_ENTRA_TENANT_B);
        let (_, jwks) = get(&format!("{}/common/discovery/v2.0/keys", entra.authority())).await;
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0]["issuer"], ENTRA_V2_ISSUER_TEMPLATE);
        assert_eq!(keys[0]["kid"], keys[0]["x5t"]);
        assert!(keys[0].get("alg").is_none());
        assert_eq!(keys[1]["kid"], bound);
        assert_eq!(keys[1]["issuer"], FakeEntra::v2_issuer(FAKE_ENTRA_TENANT_B));
        let set = KeySet::from_json(jwks.to_string().as_bytes()).unwrap();
        assert_eq!(set.keys().len(), 2);
        let (_, v1) = get(&format!("{}/common/discovery/keys", entra.authority())).await;
        assert_eq!(v1, jwks);
    }

    #[tokio::test]
    async fn fake_entra_tokens_have_the_reference_claims() {
        let entra = FakeEntra::start().await;
        let (tid, oid) = (FAKE_ENTRA_TENANT_A, "2f1d6c35-4b6e-4b8e-9d5a-0c6f2b7e8a91");
        let v1 = entra.v1_token(tid, oid, json!({ "roles": ["Admin"], "name": null }));
        let header = header_of(&v1);
        assert_eq!(header["typ"], "JWT");
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["kid"], entra.kid());
        assert_eq!(header["x5t"], entra.kid());
        let claims = peek_claims_unverified(&v1).unwrap();
        assert_eq!(claims["ver"], "1.0");
        assert_eq!(claims["aud"], format!("api://{FAKE_ENTRA_API_CLIENT_ID}"));
        assert_eq!(claims["iss"], format!("https://sts.windows.net/{tid}/"));
        assert_eq!(claims["appid"], FAKE_ENTRA_CLIENT_APP_ID);
        assert_eq!(claims["roles"], json!(["Admin"]));
        assert!(!claims.contains_key("name"));
        for claim in [
            "iat", "nbf", "exp", "tid", "oid", "sub", "scp", "upn", "appidacr",
        ] {
            assert!(claims.contains_key(claim), "{claim}");
        }
        let v2 = peek_claims_unverified(&entra.v2_token(tid, oid, json!({}))).unwrap();
        assert_eq!(v2["ver"], "2.0");
        assert_eq!(v2["aud"], FAKE_ENTRA_API_CLIENT_ID);
        assert_eq!(v2["azp"], FAKE_ENTRA_CLIENT_APP_ID);
        assert_eq!(
            v2["sub"], claims["sub"],
            "pairwise per app, not per version"
        );
        assert_ne!(v2["sub"], json!(oid));
        for claim in ["azpacr", "preferred_username", "name"] {
            assert!(v2.contains_key(claim), "{claim}");
        }

        let teams = entra.teams_user_token(tid, oid);
        let teams_claims = peek_claims_unverified(&teams).unwrap();
        assert_eq!(teams_claims["aud"], ACS_TEAMS_AUDIENCE);
        assert_eq!(teams_claims["scp"], ACS_TEAMS_SCOPES);
        assert_eq!(teams_claims["appid"], FAKE_ENTRA_API_CLIENT_ID);
        let graph = entra.graph_token(tid, oid);
        assert!(header_of(&graph).get("nonce").is_some());
        assert_eq!(
            peek_claims_unverified(&graph).unwrap()["aud"],
            "00000003-0000-0000-c000-000000000000"
        );
    }

    #[tokio::test]
    async fn fake_b2c_serves_per_policy_metadata_and_keys() {
        let b2c = FakeB2c::start().await;
        let base = b2c.host();
        let domain = b2c.domain();
        assert_eq!(domain, "contosob2c.onmicrosoft.com");
        for policy in FAKE_B2C_POLICIES {
            for name in [policy.to_owned(), policy.to_ascii_lowercase()] {
                let url = format!("{base}/{domain}/{name}/v2.0/.well-known/openid-configuration");
                let (status, document) = get(&url).await;
                assert_eq!(status, 200, "{url}");
                let metadata: CoreProviderMetadata = serde_json::from_value(document).unwrap();
                assert_eq!(
                    metadata.issuer().as_str(),
                    format!("{base}/{FAKE_B2C_DIRECTORY_ID}/v2.0/")
                );
                let (status, jwks) = get(metadata.jwks_uri().url().as_str()).await;
                assert_eq!(status, 200);
                assert_eq!(jwks["keys"][0]["kid"], b2c.kid());
                assert!(jwks["keys"][0].get("nbf").is_some());
            }
        }
        let unknown =
            format!("{base}/{domain}/B2C_1_unknown/v2.0/.well-known/openid-configuration");
        assert_eq!(get(&unknown).await.0, 404);
        let claims =
            peek_claims_unverified(&b2c.token(FAKE_B2C_POLICIES[0], "u1", json!({}))).unwrap();
        assert_eq!(claims["tfp"], FAKE_B2C_POLICIES[0]);
        assert_eq!(claims["ver"], "1.0");
        assert_eq!(claims["aud"], FAKE_B2C_CLIENT_ID);
        assert_eq!(claims["emails"], json!(["alex@contoso.example"]));
        let legacy =
            peek_claims_unverified(&b2c.acr_token(FAKE_B2C_POLICIES[0], "u1", json!({}))).unwrap();
        assert_eq!(legacy["acr"], FAKE_B2C_POLICIES[0].to_ascii_lowercase());
        assert!(!legacy.contains_key("tfp"));
    }

    #[tokio::test]
    async fn fake_b2c_tfp_issuer_form_names_the_policy() {
        let b2c = FakeB2c::start_with(FakeB2cOptions {
            issuer_form: B2cIssuerForm::Tfp,
            ..FakeB2cOptions::default()
        })
        .await;
        assert_eq!(
            b2c.issuer("B2C_1_signupsignin1"),
            format!(
                "{}/tfp/{FAKE_B2C_DIRECTORY_ID}/b2c_1_signupsignin1/v2.0/",
                b2c.host()
            )
        );
    }
}
