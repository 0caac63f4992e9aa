//! [`TestIssuer`]: a generic OpenID Connect issuer (discovery, JWKS, token minting).

use super::*;

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
        let pem = pem::Pem::new("PUBLIC KEY", self.current_key().public_spki.clone());
        pem::encode_config(
            &pem,
            pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
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

/// An [`OidcConfig`] for `issuer`: its issuer and audience, `allow_http = true`,
/// `allow_private_network = true` (it is on loopback), defaults otherwise.
pub fn oidc_config_for(issuer: &TestIssuer) -> OidcConfig {
    OidcConfig {
        issuer: issuer.issuer(),
        audiences: vec![issuer.audience()],
        subject_claim: "sub".to_owned(),
        allow_http: true,
        allow_private_network: true,
        require_at_jwt: false,
        accept_id_tokens: false,
        leeway_secs: DEFAULT_LEEWAY_SECS,
        max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
    }
}
