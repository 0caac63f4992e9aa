//! The ACS emulator: the identity API of `shared/ref/ACS_IDENTITY_API.md`, served on loopback
//! for `dev` mode, the tests and the official Azure SDKs.
//!
//! Every request goes through one catch-all endpoint that dispatches on the method and the raw
//! path (ids contain `:`). Checks, in order: body size (`413`), authentication (`401`): the HMAC
//! signature over the path and query exactly as received, or, with `Authorization: Bearer`, a
//! Microsoft Entra ID token verified against [`EmulatorConfig::entra`] (see [`entra`]; refused
//! when no trust is configured), then `api-version` (`400`), route (`404`/`405`), then the
//! injected faults of the operation, if any (see [`faults`]), then the operation. Error bodies
//! are `CommunicationErrorResponse` (`{"error":{"code","message"}}`); the codes are:
//!
//! | status | code | when |
//! |---|---|---|
//! | 400 | `MissingApiVersionParameter` | no `api-version` |
//! | 400 | `UnsupportedApiVersion` | an `api-version` the emulator doesn't know |
//! | 400 | `InvalidRequestBody` | malformed JSON, wrong field types |
//! | 400 | `InvalidArgument` | unknown scope, empty `scopes`, `expiresInMinutes` outside 60–1440, missing Teams fields |
//! | 400 | `AppIdMismatch` | Teams exchange: `appId` ≠ the token's `appid`/`azp` |
//! | 400 | `UserIdMismatch` | Teams exchange: `userId` ≠ the token's `oid` |
//! | 401 | `MissingAuthenticationInfo` | no `Authorization` header |
//! | 401 | `InvalidAuthenticationInfo` | malformed `Authorization`, missing/invalid `x-ms-date`, `host` or `x-ms-content-sha256`; a bearer token when no Entra ID trust is configured, or one that fails verification (not an RS256 JWT, signature, `aud`, `iss`, `exp`/`nbf`) |
//! | 401 | `RequestTimeSkewed` | `x-ms-date` outside the allowed clock skew |
//! | 401 | `ContentHashMismatch` | `x-ms-content-sha256` ≠ SHA-256 of the body |
//! | 401 | `AuthenticationFailed` | the signature does not match |
//! | 401 | `InvalidAccessToken` | Teams exchange: token not a JWT, wrong `aud`, missing Teams scopes |
//! | 401 | `TokenExpired` | Teams exchange: the Entra token's `exp` has passed |
//! | 404 | `IdentityNotFound` | unknown or deleted identity |
//! | 404 | `NotFound` | unknown route |
//! | 405 | `MethodNotAllowed` | known route, wrong method |
//! | 413 | `RequestBodyTooLarge` | body over 64 KiB |
//! | 408, 429, 500, 502, 503, 504 | `RequestTimeout`, `TooManyRequests`, `InternalServerError`, `BadGateway`, `ServiceUnavailable`, `GatewayTimeout` | an injected fault ([`Fault::Status`]: not processed; [`Fault::DropAfterProcessing`]: processed, answer lost); `Retry-After` when the fault sets it |
//! | other 4xx/5xx | `InjectedFault` | an injected fault with another status |
//!
//! Control API (fault injection for tests of the client's resilience), signed like every other
//! request (HMAC or a trusted bearer token; no `api-version`), not counted as calls:
//!
//! | method and path | effect |
//! |---|---|
//! | `PUT /_emulator/faults` | replace the faults in force with the [`FaultPlan`] in the body (`400 InvalidRequestBody` when invalid); answers like `GET` |
//! | `GET /_emulator/faults` | `200 {"faults":[…],"calls":{"create":N,"issue":N,"revoke":N,"delete":N,"exchange":N}}` |
//! | `DELETE /_emulator/faults` | `204`: no more faults |
//! | `GET /_emulator/calls`, `DELETE /_emulator/calls` | the same view; `204`: call counts reset to 0 |
//!
//! From Rust: [`Emulator::inject`], [`Emulator::set_faults`], [`Emulator::clear_faults`],
//! [`Emulator::call_count`].
//!
//! The Teams exchange does not verify the Teams user's Entra ID token (the emulator does not
//! know the real Entra ID keys): it decodes the payload unverified and checks `aud`, `scp`,
//! `appid`/`azp`, `oid` and `exp` only. Bearer tokens that authenticate the *caller* are
//! verified, against the configured [`EmulatorEntraTrust`].

pub mod entra;
pub mod faults;
mod server;
mod teams;
#[cfg(test)]
pub(crate) mod tests;
pub mod tls;
pub mod tokens;

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use percent_encoding::percent_decode_str;
use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Body, Endpoint, Request, Response};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::client::AcsScope;
use super::connection_string::decode_key;
use super::error::AcsError;
use super::resilience::Operation;
use super::signing::{self, ReceivedRequest, VerifyError};

pub use entra::EmulatorEntraTrust;
pub use faults::{Fault, FaultPlan, FaultRule};
pub use server::RunningEmulator;
pub use tokens::TokenSigningKey;

/// Largest request body the emulator reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// `api-version` values the emulator answers (all with the `2023-10-01` shapes).
pub const SUPPORTED_API_VERSIONS: &[&str] =
    &["2021-03-07", "2022-06-01", "2022-10-01", "2023-10-01"];
/// Default and bounds of `expiresInMinutes`.
pub const DEFAULT_EXPIRES_IN_MINUTES: i64 = 1440;
pub const MIN_EXPIRES_IN_MINUTES: i64 = 60;
pub const MAX_EXPIRES_IN_MINUTES: i64 = 1440;

/// Errors of setting up the emulator.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("invalid emulator configuration: {0}")]
    Config(String),
    #[error("token signing key: {0}")]
    Key(String),
    #[error("TLS certificate: {0}")]
    Tls(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl From<AcsError> for EmulatorError {
    fn from(e: AcsError) -> Self {
        EmulatorError::Config(e.to_string())
    }
}

/// How to run an emulator.
#[derive(Clone)]
pub struct EmulatorConfig {
    /// The access key, base64 as in a connection string.
    pub access_key: SecretString,
    /// The resource id (a UUID) that ends up in identity ids and tokens.
    pub resource_id: String,
    /// How far `x-ms-date` may be from now (default 15 minutes).
    pub max_clock_skew: Duration,
    /// Where to write `cert.pem` and `key.pem` when serving HTTPS (a temporary directory,
    /// removed on drop, when `None`).
    pub tls_dir: Option<PathBuf>,
    /// A pre-generated token signing key (RSA keygen is slow); generated when `None`.
    pub signing_key: Option<TokenSigningKey>,
    /// Entra ID issuers and keys whose bearer tokens are accepted instead of the HMAC
    /// signature; `None` (the default) refuses every bearer token.
    pub entra: Option<EmulatorEntraTrust>,
}

impl fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorConfig")
            .field("access_key", &"[REDACTED]")
            .field("resource_id", &self.resource_id)
            .field("max_clock_skew", &self.max_clock_skew)
            .field("tls_dir", &self.tls_dir)
            .field("signing_key", &self.signing_key)
            .field("entra", &self.entra)
            .finish()
    }
}

impl EmulatorConfig {
    /// A config with the given access key, a random resource id and the defaults.
    pub fn new(access_key: SecretString) -> Self {
        Self {
            access_key,
            resource_id: uuid::Uuid::new_v4().to_string(),
            max_clock_skew: Duration::from_secs(15 * 60),
            tls_dir: None,
            signing_key: None,
            entra: None,
        }
    }

    /// A config with a random 32-byte access key.
    pub fn with_random_key() -> Self {
        use base64::Engine as _;
        use rand::RngCore as _;
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self::new(SecretString::from(
            base64::engine::general_purpose::STANDARD.encode(key),
        ))
    }
}

/// What a valid emulator access token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// `8:acs:<resourceId>_<uuid>`, or `8:orgid:<oid>` for Teams users.
    pub identity_id: String,
    pub scopes: Vec<String>,
    pub expires_on: DateTime<Utc>,
}

/// The emulator: state and the HTTP API. Cheap to clone (`Arc` inside).
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

struct Inner {
    key: SecretSlice<u8>,
    access_key: SecretString,
    resource_id: String,
    max_clock_skew: Duration,
    signing_key: TokenSigningKey,
    entra: Option<EmulatorEntraTrust>,
    state: Mutex<State>,
    faults: Mutex<faults::Faults>,
}

#[derive(Default)]
struct State {
    identities: HashMap<String, IdentityState>,
}

struct IdentityState {
    deleted: bool,
    revoked_at: Option<DateTime<Utc>>,
    /// SHA-256 of every live (issued, not revoked) token, with its `exp`.
    live_tokens: HashMap<[u8; 32], i64>,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("resource_id", &self.inner.resource_id)
            .finish_non_exhaustive()
    }
}

/// An error answer: status, code and message.
struct ApiFailure {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// For `405`: the methods the route accepts.
    allow: Option<&'static str>,
    /// `Retry-After` (seconds), for injected faults.
    retry_after: Option<u64>,
}

impl ApiFailure {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            allow: None,
            retry_after: None,
        }
    }
    fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }
    /// The answer of an injected fault.
    fn injected(status: u16, retry_after: Option<u64>, what: &str) -> Self {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let code = match status.as_u16() {
            408 => "RequestTimeout",
            429 => "TooManyRequests",
            500 => "InternalServerError",
            502 => "BadGateway",
            503 => "ServiceUnavailable",
            504 => "GatewayTimeout",
            _ => "InjectedFault",
        };
        let mut failure = Self::new(status, code, format!("Injected fault: {what}."));
        failure.retry_after = retry_after;
        failure
    }
    fn identity_not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "IdentityNotFound",
            format!("Identity '{id}' was not found."),
        )
    }
}

impl From<VerifyError> for ApiFailure {
    fn from(e: VerifyError) -> Self {
        let code = match e {
            VerifyError::MissingAuthorization => "MissingAuthenticationInfo",
            VerifyError::MalformedAuthorization(_)
            | VerifyError::MissingHeader(_)
            | VerifyError::InvalidDate => "InvalidAuthenticationInfo",
            VerifyError::DateOutOfRange => "RequestTimeSkewed",
            VerifyError::ContentHashMismatch => "ContentHashMismatch",
            VerifyError::SignatureMismatch => "AuthenticationFailed",
        };
        ApiFailure::unauthorized(code, e.to_string())
    }
}

/// A successful answer.
enum Success {
    Json(StatusCode, serde_json::Value),
    NoContent,
}

/// Which operation a request addresses.
enum Route {
    Create,
    Identity(String),
    Issue(String),
    Revoke(String),
    Exchange,
}

impl Route {
    fn operation(&self) -> Operation {
        match self {
            Route::Create => Operation::Create,
            Route::Identity(_) => Operation::Delete,
            Route::Issue(_) => Operation::Issue,
            Route::Revoke(_) => Operation::Revoke,
            Route::Exchange => Operation::Exchange,
        }
    }
}

/// The path prefix of the emulator's own control API (fault injection).
pub const CONTROL_PREFIX: &str = "/_emulator/";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    create_token_with_scopes: Option<Vec<String>>,
    expires_in_minutes: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IssueBody {
    scopes: Option<Vec<String>>,
    expires_in_minutes: Option<i64>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn lock_faults(faults: &Mutex<faults::Faults>) -> MutexGuard<'_, faults::Faults> {
    faults
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Emulator {
    /// Build an emulator (generates the token signing key unless the config carries one).
    pub fn new(config: EmulatorConfig) -> Result<Self, EmulatorError> {
        let key = decode_key(&config.access_key)?;
        if config.resource_id.is_empty()
            || !config
                .resource_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(EmulatorError::Config(
                "resource_id must be a UUID-like string".into(),
            ));
        }
        let signing_key = match config.signing_key {
            Some(k) => k,
            None => TokenSigningKey::generate()?,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                key,
                access_key: config.access_key,
                resource_id: config.resource_id,
                max_clock_skew: config.max_clock_skew,
                signing_key,
                entra: config.entra,
                state: Mutex::new(State::default()),
                faults: Mutex::new(faults::Faults::default()),
            }),
        })
    }

    /// Add a fault for `operation` (after those already in force; see [`faults`] for how
    /// they combine). An invalid fault (a status outside 400–599, `times` of 0) is ignored
    /// with a warning; [`Emulator::try_inject`] reports it.
    pub fn inject(&self, operation: Operation, fault: Fault) {
        if let Err(e) = self.try_inject(operation, fault) {
            tracing::warn!(error = %e, "ACS emulator: invalid fault ignored");
        }
    }

    /// Like [`Emulator::inject`], failing on an invalid fault.
    pub fn try_inject(&self, operation: Operation, fault: Fault) -> Result<(), EmulatorError> {
        lock_faults(&self.inner.faults)
            .add(FaultRule { operation, fault })
            .map_err(EmulatorError::Config)
    }

    /// Replace the faults in force with `plan`.
    pub fn set_faults(&self, plan: FaultPlan) -> Result<(), EmulatorError> {
        lock_faults(&self.inner.faults)
            .set(plan)
            .map_err(EmulatorError::Config)
    }

    /// The faults in force (with the `times` they have left).
    pub fn faults(&self) -> FaultPlan {
        lock_faults(&self.inner.faults).plan()
    }

    /// Remove every fault.
    pub fn clear_faults(&self) {
        lock_faults(&self.inner.faults).clear();
    }

    /// How many authenticated requests of `operation` arrived (faulted ones included), since
    /// the start or [`Emulator::reset_call_counts`].
    pub fn call_count(&self, operation: Operation) -> u64 {
        lock_faults(&self.inner.faults).calls(operation)
    }

    pub fn reset_call_counts(&self) {
        lock_faults(&self.inner.faults).reset_calls();
    }

    /// The HTTP API, to be served (or mounted) by the caller.
    pub fn endpoint(&self) -> EmulatorEndpoint {
        EmulatorEndpoint {
            emulator: self.clone(),
        }
    }

    pub fn resource_id(&self) -> &str {
        &self.inner.resource_id
    }

    /// The access key (base64), for building connection strings.
    pub fn access_key(&self) -> &SecretString {
        &self.inner.access_key
    }

    /// A connection string for this emulator at `endpoint` (e.g. `http://127.0.0.1:1234/`).
    /// Contains the key: print it for developers, never log it.
    pub fn connection_string_for(&self, endpoint: &str) -> String {
        format!(
            "endpoint={endpoint};accesskey={}",
            self.inner.access_key.expose_secret()
        )
    }

    /// Whether `id` is a live (created, not deleted) identity.
    pub fn identity_exists(&self, id: &str) -> bool {
        lock(&self.inner.state)
            .identities
            .get(id)
            .is_some_and(|i| !i.deleted)
    }

    /// How many identities are live.
    pub fn live_identity_count(&self) -> usize {
        lock(&self.inner.state)
            .identities
            .values()
            .filter(|i| !i.deleted)
            .count()
    }

    /// When the identity's tokens were last revoked (explicitly or by deletion).
    pub fn revoked_at(&self, id: &str) -> Option<DateTime<Utc>> {
        lock(&self.inner.state)
            .identities
            .get(id)
            .and_then(|i| i.revoked_at)
    }

    /// Whether a token works at the emulator: valid signature, not expired, and (for ACS
    /// identities) the identity is live and the token was not revoked.
    pub fn verify_access_token(&self, token: &str) -> Option<TokenInfo> {
        let claims = self.inner.signing_key.verify(token)?;
        if claims.resource_id != self.inner.resource_id {
            return None;
        }
        let identity_id = format!("8:{}", claims.skypeid);
        if claims.skypeid.starts_with("acs:") {
            let state = lock(&self.inner.state);
            let identity = state.identities.get(&identity_id)?;
            if identity.deleted || !identity.live_tokens.contains_key(&token_hash(token)) {
                return None;
            }
        } else if !claims.skypeid.starts_with("orgid:") {
            return None;
        }
        Some(TokenInfo {
            identity_id,
            scopes: claims
                .acs_scope
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            expires_on: DateTime::from_timestamp(claims.exp, 0)?,
        })
    }

    /// Handle one request; never fails (errors are `CommunicationErrorResponse` answers).
    pub async fn handle(&self, mut req: Request) -> Response {
        let request_id = req.headers().get("x-ms-client-request-id").cloned();
        let method = req.method().clone();
        let path = req.original_uri().path().to_owned();
        let result = self.process(&mut req).await;
        let status = match &result {
            Ok(Success::Json(s, _)) => *s,
            Ok(Success::NoContent) => StatusCode::NO_CONTENT,
            Err(f) => f.status,
        };
        match &result {
            Err(f) => {
                tracing::debug!(%method, path, status = status.as_u16(), code = f.code, "ACS emulator request rejected")
            }
            Ok(_) => {
                tracing::debug!(%method, path, status = status.as_u16(), "ACS emulator request")
            }
        }
        let mut resp = match result {
            Ok(Success::Json(status, body)) => json_response(status, &body),
            Ok(Success::NoContent) => Response::builder().status(StatusCode::NO_CONTENT).finish(),
            Err(f) => {
                let mut resp = json_response(
                    f.status,
                    &json!({"error": {"code": f.code, "message": f.message}}),
                );
                if let Some(allow) = f.allow {
                    resp.headers_mut()
                        .insert(header::ALLOW, HeaderValue::from_static(allow));
                }
                if let Some(seconds) = f.retry_after {
                    resp.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                }
                resp
            }
        };
        if let Some(id) = request_id {
            resp.headers_mut().insert("x-ms-client-request-id", id);
        }
        resp
    }

    async fn process(&self, req: &mut Request) -> Result<Success, ApiFailure> {
        let too_large = || {
            ApiFailure::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestBodyTooLarge",
                format!("The request body is larger than {MAX_BODY_BYTES} bytes."),
            )
        };
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
            return Err(too_large());
        }
        let body = req
            .take_body()
            .into_bytes_limit(MAX_BODY_BYTES)
            .await
            .map_err(|e| match e {
                poem::error::ReadBodyError::PayloadTooLarge => too_large(),
                other => ApiFailure::bad_request(
                    "InvalidRequestBody",
                    format!("Cannot read the request body: {other}"),
                ),
            })?;

        self.authenticate(req, &body)?;

        let uri = req.original_uri();
        if uri.path().starts_with(CONTROL_PREFIX) {
            return self.control(req.method(), uri.path(), &body);
        }
        check_api_version(uri.query())?;
        let route = route(req.method(), uri.path())?;
        let operation = route.operation();
        let applied = lock_faults(&self.inner.faults).apply(operation);
        if !applied.latency.is_zero() {
            tokio::time::sleep(applied.latency).await;
        }
        match applied.action {
            Some(faults::Action::Fail {
                status,
                retry_after,
            }) => Err(ApiFailure::injected(
                status,
                retry_after,
                &format!("{operation} rejected with {status}"),
            )),
            Some(faults::Action::DropAfter { status, delay }) => {
                let processed = self.dispatch(route, &body);
                tracing::debug!(
                    %operation,
                    processed = processed.is_ok(),
                    "ACS emulator: processed, now dropping the answer"
                );
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                Err(ApiFailure::injected(
                    status,
                    None,
                    &format!("{operation} processed, answer replaced with {status}"),
                ))
            }
            None => self.dispatch(route, &body),
        }
    }

    fn dispatch(&self, route: Route, body: &[u8]) -> Result<Success, ApiFailure> {
        let now = Utc::now();
        match route {
            Route::Create => self.create(body, now),
            Route::Issue(id) => self.issue(&id, body, now),
            Route::Revoke(id) => self.revoke(&id, now),
            Route::Identity(id) => self.delete(&id, now),
            Route::Exchange => self.exchange(body, now),
        }
    }

    /// The control API: `GET`/`PUT`/`DELETE /_emulator/faults`, `GET`/`DELETE /_emulator/calls`.
    fn control(&self, method: &Method, path: &str, body: &[u8]) -> Result<Success, ApiFailure> {
        let not_allowed = |allow: &'static str| {
            let mut failure = ApiFailure::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                format!("Method {method} is not allowed here; use {allow}."),
            );
            failure.allow = Some(allow);
            failure
        };
        let state = |emulator: &Emulator| {
            let faults = lock_faults(&emulator.inner.faults);
            let calls: serde_json::Map<String, serde_json::Value> = Operation::ALL
                .iter()
                .map(|op| (op.as_str().to_owned(), json!(faults.calls(*op))))
                .collect();
            json!({"faults": faults.plan().faults, "calls": calls})
        };
        match path.trim_end_matches('/') {
            "/_emulator/faults" => match *method {
                Method::GET => Ok(Success::Json(StatusCode::OK, state(self))),
                Method::PUT => {
                    let plan: FaultPlan = parse_json(body, false)?;
                    self.set_faults(plan).map_err(|e| {
                        ApiFailure::bad_request("InvalidRequestBody", e.to_string())
                    })?;
                    tracing::info!("ACS emulator: fault plan replaced");
                    Ok(Success::Json(StatusCode::OK, state(self)))
                }
                Method::DELETE => {
                    self.clear_faults();
                    tracing::info!("ACS emulator: faults cleared");
                    Ok(Success::NoContent)
                }
                _ => Err(not_allowed("GET, PUT, DELETE")),
            },
            "/_emulator/calls" => match *method {
                Method::GET => Ok(Success::Json(StatusCode::OK, state(self))),
                Method::DELETE => {
                    self.reset_call_counts();
                    Ok(Success::NoContent)
                }
                _ => Err(not_allowed("GET, DELETE")),
            },
            _ => Err(ApiFailure::new(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!("No operation at '{path}'."),
            )),
        }
    }

    fn authenticate(&self, req: &Request, body: &[u8]) -> Result<(), ApiFailure> {
        let headers = req.headers();
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let uri = req.original_uri();
        let host = text("host")
            .map(str::to_owned)
            .or_else(|| uri.authority().map(|a| a.as_str().to_owned()));
        let received = ReceivedRequest {
            method: req.method().as_str(),
            path_and_query: uri.path_and_query().map_or("/", |pq| pq.as_str()),
            host: host.as_deref(),
            date: text("x-ms-date"),
            content_hash: text("x-ms-content-sha256"),
            authorization: text("authorization"),
            body,
        };
        if received.authorization.is_none() && headers.contains_key(header::AUTHORIZATION) {
            return Err(ApiFailure::unauthorized(
                "InvalidAuthenticationInfo",
                "The Authorization header is not valid ASCII.",
            ));
        }
        if let Some(token) = received.authorization.and_then(entra::bearer_token) {
            let invalid =
                |message: String| ApiFailure::unauthorized("InvalidAuthenticationInfo", message);
            let Some(trust) = &self.inner.entra else {
                return Err(invalid(
                    "Bearer tokens are not accepted: the emulator trusts no Entra ID issuer (sign with the access key).".into(),
                ));
            };
            let caller = trust.verify(token).map_err(invalid)?;
            tracing::debug!(
                appid = caller.appid.as_deref().or(caller.azp.as_deref()),
                oid = caller.oid.as_deref(),
                "ACS emulator request authenticated with Entra ID"
            );
            return Ok(());
        }
        signing::verify(
            &received,
            self.inner.key.expose_secret(),
            Utc::now(),
            self.inner.max_clock_skew,
        )
        .map_err(ApiFailure::from)
    }

    fn new_identity_id(&self) -> String {
        format!("8:acs:{}_{}", self.inner.resource_id, uuid::Uuid::new_v4())
    }

    /// Mint a token for a live identity and remember it as live.
    fn mint_for(
        &self,
        state: &mut State,
        id: &str,
        scopes: &[AcsScope],
        minutes: i64,
        now: DateTime<Utc>,
    ) -> Result<serde_json::Value, ApiFailure> {
        let expires = now + chrono::Duration::minutes(minutes);
        let skypeid = id.strip_prefix("8:").unwrap_or(id).to_owned();
        let claims = tokens::AcsClaims::new(skypeid, scopes, &self.inner.resource_id, now, expires);
        let token = self.inner.signing_key.mint(&claims).map_err(internal)?;
        let identity = state
            .identities
            .get_mut(id)
            .filter(|i| !i.deleted)
            .ok_or_else(|| ApiFailure::identity_not_found(id))?;
        let now_ts = now.timestamp();
        identity.live_tokens.retain(|_, exp| *exp > now_ts);
        identity.live_tokens.insert(token_hash(&token), claims.exp);
        Ok(json!({"token": token, "expiresOn": tokens::format_expires_on(expires)}))
    }

    fn create(&self, body: &[u8], now: DateTime<Utc>) -> Result<Success, ApiFailure> {
        let parsed: CreateBody = parse_json(body, true)?;
        let minutes = check_minutes(parsed.expires_in_minutes)?;
        let scopes = match parsed.create_token_with_scopes {
            Some(s) if !s.is_empty() => Some(check_scopes(&s, "createTokenWithScopes")?),
            _ => None,
        };
        let id = self.new_identity_id();
        let mut state = lock(&self.inner.state);
        state.identities.insert(
            id.clone(),
            IdentityState {
                deleted: false,
                revoked_at: None,
                live_tokens: HashMap::new(),
            },
        );
        let mut out = json!({"identity": {"id": id}});
        if let Some(scopes) = scopes {
            let token = self.mint_for(&mut state, &id, &scopes, minutes, now)?;
            out["accessToken"] = token;
        }
        Ok(Success::Json(StatusCode::CREATED, out))
    }

    fn issue(&self, id: &str, body: &[u8], now: DateTime<Utc>) -> Result<Success, ApiFailure> {
        let parsed: IssueBody = parse_json(body, false)?;
        let scopes = parsed
            .scopes
            .ok_or_else(|| ApiFailure::bad_request("InvalidArgument", "'scopes' is required."))?;
        if scopes.is_empty() {
            return Err(ApiFailure::bad_request(
                "InvalidArgument",
                "'scopes' must not be empty.",
            ));
        }
        let scopes = check_scopes(&scopes, "scopes")?;
        let minutes = check_minutes(parsed.expires_in_minutes)?;
        let mut state = lock(&self.inner.state);
        let token = self.mint_for(&mut state, id, &scopes, minutes, now)?;
        Ok(Success::Json(StatusCode::OK, token))
    }

    fn revoke(&self, id: &str, now: DateTime<Utc>) -> Result<Success, ApiFailure> {
        let mut state = lock(&self.inner.state);
        let identity = state
            .identities
            .get_mut(id)
            .filter(|i| !i.deleted)
            .ok_or_else(|| ApiFailure::identity_not_found(id))?;
        identity.live_tokens.clear();
        identity.revoked_at = Some(now);
        Ok(Success::NoContent)
    }

    fn delete(&self, id: &str, now: DateTime<Utc>) -> Result<Success, ApiFailure> {
        let mut state = lock(&self.inner.state);
        let identity = state
            .identities
            .get_mut(id)
            .filter(|i| !i.deleted)
            .ok_or_else(|| ApiFailure::identity_not_found(id))?;
        identity.deleted = true;
        identity.live_tokens.clear();
        identity.revoked_at = Some(now);
        Ok(Success::NoContent)
    }

    fn exchange(&self, body: &[u8], now: DateTime<Utc>) -> Result<Success, ApiFailure> {
        let checked = teams::check_exchange(body, now)?;
        let expires = checked
            .expires
            .min(now + chrono::Duration::minutes(MAX_EXPIRES_IN_MINUTES));
        let claims = tokens::AcsClaims::new(
            format!("orgid:{}", checked.oid),
            &[AcsScope::Voip, AcsScope::Chat],
            &self.inner.resource_id,
            now,
            expires,
        );
        let token = self.inner.signing_key.mint(&claims).map_err(internal)?;
        Ok(Success::Json(
            StatusCode::OK,
            json!({"token": token, "expiresOn": tokens::format_expires_on(expires)}),
        ))
    }
}

fn internal(e: EmulatorError) -> ApiFailure {
    tracing::error!(error = %e, "ACS emulator internal error");
    ApiFailure::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalError",
        "The emulator failed to sign a token.",
    )
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json; charset=utf-8")
        .body(Body::from_vec(body.to_string().into_bytes()))
}

fn parse_json<T: for<'de> Deserialize<'de>>(
    body: &[u8],
    empty_is_object: bool,
) -> Result<T, ApiFailure> {
    let body: &[u8] = if empty_is_object && body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| {
        ApiFailure::bad_request(
            "InvalidRequestBody",
            format!("The request body is not valid: {e}"),
        )
    })
}

fn check_minutes(minutes: Option<i64>) -> Result<i64, ApiFailure> {
    let minutes = minutes.unwrap_or(DEFAULT_EXPIRES_IN_MINUTES);
    if (MIN_EXPIRES_IN_MINUTES..=MAX_EXPIRES_IN_MINUTES).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(ApiFailure::bad_request(
            "InvalidArgument",
            format!(
                "'expiresInMinutes' must be between {MIN_EXPIRES_IN_MINUTES} and {MAX_EXPIRES_IN_MINUTES}, got {minutes}."
            ),
        ))
    }
}

fn check_scopes(scopes: &[String], field: &str) -> Result<Vec<AcsScope>, ApiFailure> {
    let mut out = BTreeSet::new();
    for s in scopes {
        let scope = s
            .parse::<AcsScope>()
            .map_err(|e| ApiFailure::bad_request("InvalidArgument", format!("'{field}': {e}.")))?;
        out.insert(scope);
    }
    Ok(out.into_iter().collect())
}

fn check_api_version(query: Option<&str>) -> Result<(), ApiFailure> {
    let version = query.and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "api-version")
            .map(|(_, v)| v.into_owned())
    });
    match version {
        None => Err(ApiFailure::bad_request(
            "MissingApiVersionParameter",
            "The api-version query parameter is required.",
        )),
        Some(v) if SUPPORTED_API_VERSIONS.contains(&v.as_str()) => Ok(()),
        Some(v) => Err(ApiFailure::bad_request(
            "UnsupportedApiVersion",
            format!(
                "The api-version '{v}' is not supported; supported: {}.",
                SUPPORTED_API_VERSIONS.join(", ")
            ),
        )),
    }
}

/// Match the raw path (segments percent-decoded one by one) to an operation.
fn route(method: &Method, raw_path: &str) -> Result<Route, ApiFailure> {
    let not_found = || {
        ApiFailure::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("No operation at '{raw_path}'."),
        )
    };
    let mut segments = Vec::new();
    for seg in raw_path.trim_start_matches('/').split('/') {
        let decoded = percent_decode_str(seg)
            .decode_utf8()
            .map_err(|_| not_found())?;
        segments.push(decoded.into_owned());
    }
    if segments.last().is_some_and(String::is_empty) && segments.len() > 1 {
        segments.pop();
    }
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let (route, allowed): (Route, Method) = match segs.as_slice() {
        ["identities"] => (Route::Create, Method::POST),
        ["identities", id] if !id.is_empty() => (Route::Identity((*id).to_owned()), Method::DELETE),
        ["identities", id, ":issueAccessToken"] if !id.is_empty() => {
            (Route::Issue((*id).to_owned()), Method::POST)
        }
        ["identities", id, ":revokeAccessTokens"] if !id.is_empty() => {
            (Route::Revoke((*id).to_owned()), Method::POST)
        }
        ["teamsUser", ":exchangeAccessToken"] => (Route::Exchange, Method::POST),
        _ => return Err(not_found()),
    };
    if *method == allowed {
        Ok(route)
    } else {
        let mut failure = ApiFailure::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("Method {method} is not allowed here; use {allowed}."),
        );
        failure.allow = Some(match allowed {
            Method::DELETE => "DELETE",
            _ => "POST",
        });
        Err(failure)
    }
}

/// The emulator as a poem endpoint (a catch-all: it dispatches on method and raw path).
#[derive(Clone)]
pub struct EmulatorEndpoint {
    emulator: Emulator,
}

impl Endpoint for EmulatorEndpoint {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        Ok(self.emulator.handle(req).await)
    }
}
