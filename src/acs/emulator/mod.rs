//! The ACS emulator: the identity API of `shared/ref/ACS_IDENTITY_API.md`, served on loopback
//! for `dev` mode, the tests and the official Azure SDKs. Built with the `emulator` cargo
//! feature (on by default). It speaks the client's public wire types ([`crate::acs::wire`]) and
//! verifies with [`crate::acs::signing`]; nothing of the client's internals.
//!
//! This module owns the configuration ([`EmulatorConfig`]), the state (identities, live
//! tokens) and its public API ([`Emulator`]); `http` answers requests (the endpoint,
//! authentication, routing), `identities` the identity operations, `control` the fault API,
//! `teams` the Teams token exchange checks, [`tokens`] the access tokens, [`entra`] bearer
//! tokens from Entra ID, [`faults`] fault injection, [`tls`] the certificate and `server`
//! [`RunningEmulator`].
//!
//! Every request goes through one catch-all endpoint that dispatches on the method and the raw
//! path (ids contain `:`). Checks, in order: body size (`413`), authentication (`401`): the HMAC
//! signature over the path and query exactly as received, or, with `Authorization: Bearer`, a
//! Microsoft Entra ID token verified against [`EmulatorConfig::entra`] (see [`entra`]; refused
//! when no trust is configured), then `api-version` (`400`), route (`404`/`405`), then the
//! injected faults of the operation, if any (see [`faults`]), then the service limits, when
//! enforced (see [`limits`]), then the operation. Error bodies
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
//! | 429 | `TooManyRequests` | over a service limit, when [`EmulatorConfig::service_limits`] is set ([`limits`]); `Retry-After` says when there is room |
//! | other 4xx/5xx | `InjectedFault` | an injected fault with another status |
//!
//! Control API (fault injection for tests of the client's resilience), signed like every other
//! request (HMAC or a trusted bearer token; no `api-version`), not counted as calls:
//!
//! | method and path | effect |
//! |---|---|
//! | `PUT /_emulator/faults` | replace the faults in force with the [`FaultPlan`] in the body (`400 InvalidRequestBody` when invalid); answers like `GET` |
//! | `GET /_emulator/faults` | `200 {"faults":[…],"calls":{"create":N,"issue":N,"revoke":N,"delete":N,"exchange":N},"throttled":{…}}` (`throttled`: requests the service limits refused) |
//! | `DELETE /_emulator/faults` | `204`: no more faults |
//! | `GET /_emulator/calls`, `DELETE /_emulator/calls` | the same view; `204`: call counts reset to 0 |
//!
//! From Rust: [`Emulator::inject`], [`Emulator::set_faults`], [`Emulator::clear_faults`],
//! [`Emulator::call_count`], [`Emulator::throttled_count`].
//!
//! The Teams exchange does not verify the Teams user's Entra ID token (the emulator does not
//! know the real Entra ID keys): it decodes the payload unverified and checks `aud`, `scp`,
//! `appid`/`azp`, `oid` and `exp` only. Bearer tokens that authenticate the *caller* are
//! verified, against the configured [`EmulatorEntraTrust`].

mod control;
pub mod entra;
pub mod faults;
mod http;
mod identities;
pub mod limits;
mod server;
mod teams;
pub mod tls;
pub mod tokens;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use sha2::{Digest, Sha256};

use crate::acs::connection_string::decode_key;
use crate::acs::error::AcsError;
use crate::acs::wire::{API_VERSION, Operation};

pub use entra::EmulatorEntraTrust;

/// How a request to the emulator authenticated itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthScheme {
    /// The HMAC-SHA256 signature of the resource's access key.
    AccessKey,
    /// A Microsoft Entra ID bearer token the emulator trusts.
    EntraId,
}
pub use faults::{Fault, FaultPlan, FaultRule};
pub use http::EmulatorEndpoint;
pub use limits::ServiceLimits;
pub use server::RunningEmulator;
pub use tokens::TokenSigningKey;

/// Largest request body the emulator reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// `api-version` values the emulator answers (all with the `2023-10-01` shapes).
pub const SUPPORTED_API_VERSIONS: &[&str] =
    &["2021-03-07", "2022-06-01", "2022-10-01", API_VERSION];

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
    /// The service limits to enforce (`429` past them, see [`limits`]); `None` (the default)
    /// enforces none.
    pub service_limits: Option<ServiceLimits>,
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
            .field("service_limits", &self.service_limits)
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
            service_limits: None,
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
    /// Authenticated requests by scheme: HMAC (access key), Entra ID bearer token.
    key_requests: AtomicU64,
    entra_requests: AtomicU64,
    /// The `traceparent` of the latest request that carried one (W3C Trace Context).
    last_traceparent: Mutex<Option<String>>,
    state: Mutex<State>,
    faults: Mutex<faults::Faults>,
    throttle: Mutex<limits::Throttle>,
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

/// The path prefix of the emulator's own control API (fault injection).
pub const CONTROL_PREFIX: &str = "/_emulator/";

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

fn lock_throttle(throttle: &Mutex<limits::Throttle>) -> MutexGuard<'_, limits::Throttle> {
    throttle
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
                throttle: Mutex::new(limits::Throttle::new(config.service_limits)),
                key_requests: AtomicU64::new(0),
                last_traceparent: Mutex::new(None),
                entra_requests: AtomicU64::new(0),
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

    /// The `traceparent` header of the latest request that had one.
    pub fn last_traceparent(&self) -> Option<String> {
        self.inner
            .last_traceparent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// How many requests were authenticated with `scheme` since the start.
    pub fn authenticated_requests(&self, scheme: AuthScheme) -> u64 {
        match scheme {
            AuthScheme::AccessKey => self.inner.key_requests.load(Ordering::Relaxed),
            AuthScheme::EntraId => self.inner.entra_requests.load(Ordering::Relaxed),
        }
    }

    /// How many requests of `operation` the service limits refused with `429` (see
    /// [`EmulatorConfig::service_limits`]), since the start or [`Emulator::reset_call_counts`].
    pub fn throttled_count(&self, operation: Operation) -> u64 {
        lock_throttle(&self.inner.throttle).refused(operation)
    }

    pub fn reset_call_counts(&self) {
        lock_faults(&self.inner.faults).reset_calls();
        lock_throttle(&self.inner.throttle).reset_counts();
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
}
