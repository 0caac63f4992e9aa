//! [`FakeEntra`]: a Microsoft Entra ID authority host (v1 and v2 metadata, the common JWKS,
//! token minting).

use super::entra_sts::{HttpsListener, StsState};
use super::*;

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

pub(super) struct EntraState {
    pub(super) base_url: String,
    /// The token and IMDS endpoints (see `entra_sts`).
    pub(super) sts: StsState,
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

    /// `claims` signed with the main key (RS256, header `typ`, `kid`, `x5t`).
    pub(super) fn sign_main(&self, claims: &Value) -> String {
        let key = match self.keys().first() {
            Some(key) => key.clone(),
            None => must(Err("no key"), "main key"),
        };
        let header = json!({ "typ": "JWT", "alg": "RS256", "x5t": key.kid, "kid": key.kid });
        key.sign(&header, claims)
    }

    /// The JWKS document served at the `jwks_uri`s.
    pub(super) fn jwks_document(&self) -> Value {
        let keys: Vec<Value> = self.keys().iter().map(|k| k.jwk.clone()).collect();
        json!({ "keys": keys })
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

    pub(super) fn handle(&self, request: &Request) -> Response {
        let path = request.uri().path();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let document = match segments.as_slice() {
            ["metadata", "identity", "oauth2", "token"] => return self.imds(request),
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
                Some(self.jwks_document())
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
    pub(super) state: Arc<EntraState>,
    options: FakeEntraOptions,
    /// The opt-in HTTPS listener (token endpoint), see [`FakeEntra::start_https`].
    pub(super) https: Option<HttpsListener>,
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
            sts: StsState::default(),
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
            https: None,
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
/// client id, its authority, `allow_http = true`, `allow_private_network = true` (it is on loopback), defaults otherwise. A multi-tenant config
/// still needs `allowed_directories` or `allow_any_directory`.
pub fn aad_config_for(entra: &FakeEntra, directory: &str) -> AadConfig {
    AadConfig {
        authority_host: entra.authority(),
        allow_http: true,
        allow_private_network: true,
        ..AadConfig::new(directory, entra.api_client_id())
    }
}
