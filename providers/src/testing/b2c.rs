//! [`FakeB2c`]: an Azure AD B2C tenant (per-policy metadata and keys, token minting).

use super::*;

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
/// `domain` when not the default, `allow_http = true`, `allow_private_network = true` (it is on loopback).
pub fn b2c_config_for(b2c: &FakeB2c) -> B2cConfig {
    let options = b2c.options();
    B2cConfig {
        host: Some(b2c.host()),
        domain: options.domain.clone(),
        allow_http: true,
        allow_private_network: true,
        ..B2cConfig::new(
            options.tenant_name.clone(),
            options.directory_id.clone(),
            options.policies.clone(),
            options.client_id.clone(),
        )
    }
}
