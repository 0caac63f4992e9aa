//! The ACS identity client: calls to the identity REST API (`2023-10-01`, the wire types of
//! [`crate::acs::wire`]), authenticated either with HMAC-SHA256 signatures (the access key of
//! a connection string, see [`crate::acs::signing`]) or with a Microsoft Entra ID bearer token
//! (an azure_identity credential, see [`credential`]).
//!
//! It maps responses to typed results and errors. A `401` with the primary key is tried once
//! more with the secondary key when one is configured (key rotation). Every attempt is bounded
//! by the client's timeout, and every call goes through the resource's protections, shared by
//! the client's clones:
//!
//! 1. the circuit breaker ([`breaker`]): while it is open the call fails at once with
//!    [`AcsError::CircuitOpen`];
//! 2. pacing under the ACS service limits per operation ([`pacer`]): a call over budget waits
//!    briefly for its turn or fails at once with [`AcsError::Throttled`]; after a `429` the
//!    operation is paused until `Retry-After`;
//! 3. bounded retries with back-off and jitter ([`retry`], [`RetryPolicy`]) of what the
//!    operation allows: `create` (not idempotent) only on `429`, `503` and connection failures
//!    before sending; `issue`, `revoke`, `delete` and `exchange` also on `408`, `500`, `502`,
//!    `504`, timeouts and transport errors. A `Retry-After` longer than
//!    [`RetryPolicy::max_retry_after`] ends the call at once with that answer.

pub mod breaker;
pub mod counts;
pub mod credential;
pub mod pacer;
pub mod retry;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use azure_core::credentials::TokenCredential;

use chrono::{DateTime, FixedOffset, Utc};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::acs::connection_string::{ConnectionString, decode_key};
use crate::acs::error::AcsError;
use crate::acs::signing;
use crate::acs::wire::{
    API_VERSION, CreateIdentityRequest, CreateIdentityResponse, ErrorResponse,
    ExchangeTokenRequest, IssueTokenRequest, Operation, TokenResponse, encode_id,
};
use breaker::{CircuitBreaker, CircuitBreakerConfig, CircuitState, is_resource_failure};
use credential::{ACS_SCOPE, EntraCredentialConfig, build_credential, token_error};
use pacer::{Pacer, PacingLimits};
use retry::{RetryPolicy, is_retryable_failure};

pub const X_MS_CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-client-request-id");
pub const X_MS_RETURN_CLIENT_REQUEST_ID: HeaderName =
    HeaderName::from_static("x-ms-return-client-request-id");

/// An ACS access token and its expiry. `Debug` never shows the token.
#[derive(Clone)]
pub struct AccessToken {
    pub token: SecretString,
    pub expires_on: DateTime<FixedOffset>,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"[REDACTED]")
            .field("expires_on", &self.expires_on)
            .finish()
    }
}

/// A newly created ACS identity, with a token when scopes were asked for.
#[derive(Debug, Clone)]
pub struct CreatedIdentity {
    pub id: String,
    pub access_token: Option<AccessToken>,
}

/// The ACS identity client. Cheap to clone.
#[derive(Clone)]
pub struct AcsClient {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    http: reqwest::Client,
    endpoint: Url,
    auth: Auth,
    timeout: Duration,
    retry: RetryPolicy,
    /// Shared by clones and by clients derived with the `with_*` methods that keep it.
    breaker: Arc<CircuitBreaker>,
    pacer: Arc<Pacer>,
    /// What became of the calls (shared like the breaker).
    counts: Arc<counts::CallCounts>,
}

impl Inner {
    fn new(http: reqwest::Client, endpoint: Url, auth: Auth, timeout: Duration) -> Self {
        Self {
            http,
            endpoint,
            auth,
            timeout,
            retry: RetryPolicy::default(),
            breaker: Arc::new(CircuitBreaker::new(CircuitBreakerConfig::default())),
            pacer: Arc::new(Pacer::new(&PacingLimits::default())),
            counts: Arc::default(),
        }
    }
}

/// How calls are authenticated.
#[derive(Clone)]
enum Auth {
    /// HMAC-SHA256 with the (decoded) access key; the secondary key after a `401`.
    Key {
        primary: SecretSlice<u8>,
        secondary: Option<SecretSlice<u8>>,
    },
    /// `Authorization: Bearer` with a token for [`ACS_SCOPE`] from this credential.
    Entra(Arc<dyn TokenCredential>),
}

/// The authentication of one request.
enum RequestAuth<'a> {
    Key(&'a SecretSlice<u8>),
    Bearer(&'a str),
}

impl fmt::Debug for AcsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("AcsClient");
        d.field("endpoint", &self.inner.endpoint.as_str())
            .field("auth", &self.auth_kind());
        if let Auth::Key { secondary, .. } = &self.inner.auth {
            d.field("has_secondary_key", &secondary.is_some());
        }
        d.field("timeout", &self.inner.timeout)
            .field("retry", &self.inner.retry)
            .field("circuit", &self.inner.breaker.state())
            .finish()
    }
}

/// The client's view of a token answer: the token kept secret, `expiresOn` parsed.
fn into_access_token(body: TokenResponse) -> Result<AccessToken, AcsError> {
    let expires_on = parse_expires_on(&body.expires_on)?;
    Ok(AccessToken {
        token: SecretString::from(body.token),
        expires_on,
    })
}

/// Parse an `expiresOn` value (RFC 3339, any number of fractional digits, with offset).
pub fn parse_expires_on(text: &str) -> Result<DateTime<FixedOffset>, AcsError> {
    DateTime::parse_from_rfc3339(text)
        .map_err(|e| AcsError::InvalidResponse(format!("expiresOn `{text}` is not RFC 3339: {e}")))
}

/// The delay a response asks for: `retry-after-ms`/`x-ms-retry-after-ms` (milliseconds),
/// else `Retry-After` as seconds or an HTTP date (relative to `now`).
pub fn parse_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(ms) = text(name).and_then(|v| v.parse::<f64>().ok())
            && ms.is_finite()
            && ms >= 0.0
        {
            return Some(Duration::from_millis(ms as u64));
        }
    }
    let value = text("retry-after")?;
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A PascalCase code for a status whose body is not a `CommunicationErrorResponse`.
fn synthesized_code(status: StatusCode) -> String {
    status
        .canonical_reason()
        .map(|r| r.chars().filter(|c| c.is_ascii_alphanumeric()).collect())
        .filter(|s: &String| !s.is_empty())
        .unwrap_or_else(|| format!("Http{}", status.as_u16()))
}

fn api_error(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> AcsError {
    let retry_after = parse_retry_after(headers, SystemTime::now());
    let (code, message) = match serde_json::from_slice::<ErrorResponse>(body) {
        Ok(e) => (e.error.code, e.error.message),
        Err(_) => {
            let snippet: String = String::from_utf8_lossy(body).chars().take(200).collect();
            (synthesized_code(status), snippet)
        }
    };
    AcsError::Api {
        status: status.as_u16(),
        code,
        message,
        retry_after,
    }
}

fn map_transport(e: reqwest::Error) -> AcsError {
    if e.is_timeout() {
        AcsError::Timeout
    } else {
        AcsError::Transport(e.without_url().to_string())
    }
}

/// A failed attempt: the error, and whether the request surely never reached ACS (the
/// connection could not be made, or no credential token), so ACS cannot have processed it.
struct Failed {
    error: AcsError,
    not_sent: bool,
}

impl From<AcsError> for Failed {
    fn from(error: AcsError) -> Self {
        Self {
            error,
            not_sent: false,
        }
    }
}

fn failed_send(e: reqwest::Error) -> Failed {
    let not_sent = e.is_connect() && !e.is_timeout();
    Failed {
        error: map_transport(e),
        not_sent,
    }
}

struct RawResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl AcsClient {
    /// A client that signs with the connection string's access key. `timeout` bounds every
    /// call (connect, send, and reading the whole response).
    ///
    /// It starts with the default [`RetryPolicy`], [`CircuitBreakerConfig`] and
    /// [`PacingLimits`]; change them with [`AcsClient::with_retry_policy`],
    /// [`AcsClient::with_circuit_breaker`] and [`AcsClient::with_pacing_limits`].
    pub fn new(http: reqwest::Client, conn: &ConnectionString, timeout: Duration) -> Self {
        Self {
            inner: Arc::new(Inner::new(
                http,
                conn.endpoint().clone(),
                Auth::Key {
                    primary: conn.key_bytes().clone(),
                    secondary: None,
                },
                timeout,
            )),
        }
    }

    /// A client that authenticates with Microsoft Entra ID: every call carries
    /// `Authorization: Bearer <token>` for [`ACS_SCOPE`] (no `x-ms-date`, no content hash;
    /// like the official SDKs with a token credential) instead of the HMAC signature.
    ///
    /// Tokens come from `credential`, which is expected to cache them (every azure_identity
    /// credential does, until 5 minutes before `expires_on`); build one with
    /// [`build_credential`](credential::build_credential). Getting a token is bounded
    /// by `timeout` too (separately from the ACS call); its failure is
    /// [`AcsError::Credential`] and the request is not sent. The token is never logged.
    pub fn with_credential(
        http: reqwest::Client,
        endpoint: Url,
        credential: Arc<dyn TokenCredential>,
        timeout: Duration,
    ) -> Self {
        Self {
            inner: Arc::new(Inner::new(http, endpoint, Auth::Entra(credential), timeout)),
        }
    }

    /// [`AcsClient::with_credential`] with the credential `config` describes; its token
    /// requests go through `http` as well. Fails (non-retryable [`AcsError::Credential`]) on a
    /// configuration azure_identity rejects.
    pub fn from_entra_config(
        http: reqwest::Client,
        endpoint: Url,
        config: &EntraCredentialConfig,
        timeout: Duration,
    ) -> Result<Self, AcsError> {
        let credential = build_credential(config, &http)?;
        Ok(Self::with_credential(http, endpoint, credential, timeout))
    }

    /// `access_key` (HMAC) or `entra_id` (bearer tokens), for logs and diagnostics.
    pub fn auth_kind(&self) -> &'static str {
        match self.inner.auth {
            Auth::Key { .. } => "access_key",
            Auth::Entra(_) => "entra_id",
        }
    }

    /// Also know the secondary key: a call the primary key gets a `401` for is tried once
    /// more with it. An invalid (non-base64) key is ignored with a warning; use
    /// [`AcsClient::try_with_secondary_key`] to get the error. A client that uses Entra ID
    /// has no keys: the key is ignored with a warning.
    pub fn with_secondary_key(self, key: SecretString) -> Self {
        match self.clone().try_with_secondary_key(key) {
            Ok(client) => client,
            Err(e) => {
                tracing::warn!(error = %e, "ignoring the invalid ACS secondary key");
                self
            }
        }
    }

    /// Like [`AcsClient::with_secondary_key`], failing on a key that isn't base64, and on a
    /// client that uses Entra ID (it has no access key).
    pub fn try_with_secondary_key(self, key: SecretString) -> Result<Self, AcsError> {
        let secondary = decode_key(&key)?;
        let inner = &self.inner;
        let Auth::Key { primary, .. } = &inner.auth else {
            return Err(AcsError::InvalidConnectionString(
                "a secondary access key needs a client built from a connection string, not one that uses Entra ID".into(),
            ));
        };
        let auth = Auth::Key {
            primary: primary.clone(),
            secondary: Some(secondary),
        };
        Ok(self.derive(|inner| inner.auth = auth))
    }

    /// A client like this one with a change to its settings; it keeps sharing the circuit
    /// breaker and pacing state unless `change` replaces them.
    fn derive(&self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Inner::clone(&self.inner);
        change(&mut inner);
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Use `policy` for retries (default: [`RetryPolicy::default`]: 2 retries, back-off from
    /// 200 ms up to 5 s, `Retry-After` honoured up to 10 s, 10 s in all).
    /// [`RetryPolicy::none`] turns retries off.
    pub fn with_retry_policy(self, policy: RetryPolicy) -> Self {
        self.derive(|inner| inner.retry = policy)
    }

    /// A new circuit breaker with `config` (default: opens after 5 consecutive failed
    /// attempts, for 10 s). Configure before cloning: clones share the breaker.
    pub fn with_circuit_breaker(self, config: CircuitBreakerConfig) -> Self {
        self.derive(|inner| inner.breaker = Arc::new(CircuitBreaker::new(config)))
    }

    /// New client-side pacing with `limits` (default: the documented ACS limits,
    /// [`PacingLimits::default`]). Configure before cloning: clones share the budget.
    pub fn with_pacing_limits(self, limits: PacingLimits) -> Self {
        self.derive(|inner| inner.pacer = Arc::new(Pacer::new(&limits)))
    }

    /// Another timeout for each attempt (connect, send, and reading the whole response).
    pub fn with_timeout(self, timeout: Duration) -> Self {
        self.derive(|inner| inner.timeout = timeout)
    }

    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// The state of this resource's circuit breaker.
    pub fn circuit_state(&self) -> CircuitState {
        self.inner.breaker.state()
    }

    /// Paces this client to a `1 / replicas` part of its limits: one of `replicas` replicas
    /// calling the same resource (clones share it).
    pub fn set_pacing_share(&self, replicas: u32) {
        self.inner.pacer.set_share(replicas);
    }

    /// How long `operation` stays paused after ACS answered `429`, if it is.
    pub fn throttled_for(&self, operation: Operation) -> Option<Duration> {
        self.inner.pacer.pause_remaining(operation)
    }

    pub fn endpoint(&self) -> &Url {
        &self.inner.endpoint
    }

    /// `POST /identities`: a new identity, with a token when `token` = `(scopes, minutes)`.
    pub async fn create_identity(
        &self,
        token: Option<(&[String], u32)>,
    ) -> Result<CreatedIdentity, AcsError> {
        let body = CreateIdentityRequest {
            create_token_with_scopes: token.map(|(scopes, _)| scopes.to_vec()),
            expires_in_minutes: token.map(|(_, minutes)| i64::from(minutes)),
        };
        let resp = self
            .call(
                Operation::Create,
                Method::POST,
                "/identities",
                Some(json_body(&body)?),
            )
            .await?;
        let created: CreateIdentityResponse = parse_body(&resp.body)?;
        Ok(CreatedIdentity {
            id: created.identity.id,
            access_token: created.access_token.map(into_access_token).transpose()?,
        })
    }

    /// `POST /identities/{id}/:issueAccessToken`.
    pub async fn issue_access_token(
        &self,
        id: &str,
        scopes: &[String],
        expires_in_minutes: u32,
    ) -> Result<AccessToken, AcsError> {
        let body = IssueTokenRequest {
            scopes: Some(scopes.to_vec()),
            expires_in_minutes: Some(i64::from(expires_in_minutes)),
        };
        let path = format!("/identities/{}/:issueAccessToken", encode_id(id));
        let resp = self
            .call(
                Operation::Issue,
                Method::POST,
                &path,
                Some(json_body(&body)?),
            )
            .await?;
        into_access_token(parse_body::<TokenResponse>(&resp.body)?)
    }

    /// `POST /identities/{id}/:revokeAccessTokens`.
    pub async fn revoke_access_tokens(&self, id: &str) -> Result<(), AcsError> {
        let path = format!("/identities/{}/:revokeAccessTokens", encode_id(id));
        self.call(Operation::Revoke, Method::POST, &path, None)
            .await
            .map(drop)
    }

    /// `DELETE /identities/{id}`. Idempotent, so retried like the others: a `404`
    /// (`IdentityNotFound`) after a retry means an earlier attempt deleted it (callers treat
    /// `404` as done).
    pub async fn delete_identity(&self, id: &str) -> Result<(), AcsError> {
        let path = format!("/identities/{}", encode_id(id));
        self.call(Operation::Delete, Method::DELETE, &path, None)
            .await
            .map(drop)
    }

    /// `POST /teamsUser/:exchangeAccessToken`: an ACS token for a Teams user's Entra token.
    pub async fn exchange_teams_token(
        &self,
        teams_token: &str,
        app_id: &str,
        user_id: &str,
    ) -> Result<AccessToken, AcsError> {
        let body = ExchangeTokenRequest {
            token: Some(teams_token.to_owned()),
            app_id: Some(app_id.to_owned()),
            user_id: Some(user_id.to_owned()),
        };
        let resp = self
            .call(
                Operation::Exchange,
                Method::POST,
                "/teamsUser/:exchangeAccessToken",
                Some(json_body(&body)?),
            )
            .await?;
        into_access_token(parse_body::<TokenResponse>(&resp.body)?)
    }

    fn url_for(&self, path: &str) -> Result<Url, AcsError> {
        let base = self.inner.endpoint.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}{path}?api-version={API_VERSION}"))
            .map_err(|e| AcsError::Transport(format!("cannot build the request URL: {e}")))
    }

    /// What became of this client's calls, by operation and outcome (for the metrics).
    pub fn call_counts(&self) -> Vec<(Operation, counts::CallOutcome, u64)> {
        self.inner.counts.snapshot()
    }

    /// One call of `operation` ([`AcsClient::call_uncounted`]), its outcome counted.
    async fn call(
        &self,
        operation: Operation,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<RawResponse, AcsError> {
        let result = self.call_uncounted(operation, method, path, body).await;
        self.inner
            .counts
            .record(operation, counts::CallOutcome::of(&result));
        result
    }

    /// One call of `operation`: through the circuit breaker and pacing, with the retries the
    /// operation allows; a non-2xx final status becomes [`AcsError::Api`].
    async fn call_uncounted(
        &self,
        operation: Operation,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<RawResponse, AcsError> {
        let url = self.url_for(path)?;
        let body = body.unwrap_or_default();
        let policy = self.inner.retry;
        let started = tokio::time::Instant::now();
        let deadline = started + policy.max_elapsed;
        let mut retries = 0u32;
        let mut last: Option<AcsError> = None;
        loop {
            // While the circuit is open or pacing holds the call back, it is not sent; a retry
            // held back ends the call with the failure that led to it.
            let permit = match self.inner.breaker.acquire() {
                Ok(permit) => permit,
                Err(open) => return Err(last.unwrap_or(open)),
            };
            let slot = match self.inner.pacer.acquire(operation).await {
                Ok(slot) => slot,
                Err(throttled) => return Err(last.unwrap_or(throttled)),
            };
            let answer = self.attempt(&method, &url, &body).await;
            // The call counts against the limit from its answer on (see `pacer::Window`).
            drop(slot);
            let failed = match answer {
                Ok(resp) if resp.status.is_success() => {
                    permit.success();
                    if retries > 0 {
                        tracing::info!(
                            operation = operation.as_str(),
                            retries,
                            "ACS call succeeded after retrying"
                        );
                    }
                    return Ok(resp);
                }
                Ok(resp) => Failed::from(api_error(resp.status, &resp.headers, &resp.body)),
                Err(failed) => failed,
            };
            let Failed { error, not_sent } = failed;
            if matches!(error, AcsError::Credential { .. }) {
                // Nothing was asked of ACS; the credential retries on its own.
                return Err(error);
            }
            if is_resource_failure(&error) {
                permit.failure();
            } else {
                permit.success();
            }
            if error.status() == Some(429) {
                // Hold back every call of this operation until ACS allows them again.
                let pause = error
                    .retry_after()
                    .unwrap_or_else(|| policy.backoff_cap(retries));
                self.inner
                    .pacer
                    .pause(operation, tokio::time::Instant::now() + pause);
            }
            if !is_retryable_failure(operation, &error, not_sent) || retries >= policy.max_retries {
                return Err(error);
            }
            let wait = match error.retry_after() {
                Some(asked) if asked > policy.max_retry_after => {
                    tracing::warn!(
                        operation = operation.as_str(),
                        retry_after_ms = asked.as_millis() as u64,
                        "ACS asks to wait longer than the client will; giving up"
                    );
                    return Err(error);
                }
                Some(asked) => policy.after_retry_after(asked),
                None => policy.backoff(retries),
            };
            if tokio::time::Instant::now() + wait > deadline {
                return Err(error);
            }
            tracing::warn!(
                operation = operation.as_str(),
                error = %error,
                retry = retries + 1,
                wait_ms = wait.as_millis() as u64,
                "ACS call failed; retrying"
            );
            tokio::time::sleep(wait).await;
            retries += 1;
            last = Some(error);
        }
    }

    /// Authenticate and send one request (with the secondary key after a `401`).
    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: &[u8],
    ) -> Result<RawResponse, Failed> {
        let path = url.path();
        let resp = match &self.inner.auth {
            Auth::Key { primary, secondary } => {
                let resp = self
                    .send(method, url, body, RequestAuth::Key(primary))
                    .await?;
                match (secondary, resp.status) {
                    (Some(secondary), StatusCode::UNAUTHORIZED) => {
                        tracing::warn!(
                            path,
                            "ACS rejected the primary access key (401); retrying with the secondary key"
                        );
                        self.send(method, url, body, RequestAuth::Key(secondary))
                            .await?
                    }
                    _ => resp,
                }
            }
            Auth::Entra(credential) => {
                let token = self
                    .entra_token(credential.as_ref())
                    .await
                    .map_err(|error| Failed {
                        error,
                        not_sent: true,
                    })?;
                self.send(
                    method,
                    url,
                    body,
                    RequestAuth::Bearer(token.expose_secret()),
                )
                .await?
            }
        };
        Ok(resp)
    }

    /// A token for [`ACS_SCOPE`] from the credential (which caches it), within the timeout.
    async fn entra_token(
        &self,
        credential: &dyn TokenCredential,
    ) -> Result<SecretString, AcsError> {
        let timeout = self.inner.timeout;
        match tokio::time::timeout(timeout, credential.get_token(&[ACS_SCOPE], None)).await {
            Ok(Ok(token)) => Ok(SecretString::from(token.token.secret().to_owned())),
            Ok(Err(e)) => {
                let err = token_error(&e);
                tracing::warn!(error = %err, "no Entra ID token for ACS");
                Err(err)
            }
            Err(_) => {
                tracing::warn!(?timeout, "no Entra ID token for ACS within the timeout");
                Err(AcsError::Credential {
                    message: format!("no token from Entra ID within {timeout:?}"),
                    retryable: true,
                })
            }
        }
    }

    async fn send(
        &self,
        method: &Method,
        url: &Url,
        body: &[u8],
        auth: RequestAuth<'_>,
    ) -> Result<RawResponse, Failed> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let mut req = self
            .inner
            .http
            .request(method.clone(), url.clone())
            .timeout(self.inner.timeout)
            .header(ACCEPT, "application/json")
            .header(X_MS_RETURN_CLIENT_REQUEST_ID, "true")
            .header(X_MS_CLIENT_REQUEST_ID, request_id.as_str());
        // The user request's trace, continued by this call (W3C Trace Context).
        if let Some(trace) = crate::trace::TraceContext::current() {
            req = req.header("traceparent", trace.child_header());
        }
        match auth {
            RequestAuth::Key(key) => {
                for (name, value) in
                    signing::sign(method.as_str(), url, body, key.expose_secret(), Utc::now())
                {
                    req = req.header(name, value);
                }
            }
            RequestAuth::Bearer(token) => {
                let mut value =
                    HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                        AcsError::Credential {
                            message: "the Entra ID token is not a valid header value".into(),
                            retryable: false,
                        }
                    })?;
                value.set_sensitive(true);
                req = req.header(AUTHORIZATION, value);
            }
        }
        if !body.is_empty() {
            req = req
                .header(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/json; charset=utf-8"),
                )
                .body(body.to_vec());
        }
        let started = std::time::Instant::now();
        let resp = req.send().await.map_err(failed_send)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(map_transport)?.to_vec();
        tracing::debug!(
            method = %method,
            path = url.path(),
            status = status.as_u16(),
            request_id,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "ACS call"
        );
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }
}

fn json_body<T: Serialize>(value: &T) -> Result<Vec<u8>, AcsError> {
    serde_json::to_vec(value)
        .map_err(|e| AcsError::Transport(format!("cannot serialize the request body: {e}")))
}

fn parse_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, AcsError> {
    serde_json::from_slice(body)
        .map_err(|e| AcsError::InvalidResponse(format!("unexpected response body: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_on_with_seven_fractional_digits_parses() {
        let t = parse_expires_on("2023-10-10T21:39:39.3244584+00:00").unwrap();
        assert_eq!(t.timestamp(), 1_696_973_979);
        assert_eq!(t.timestamp_subsec_nanos(), 324_458_400);
        assert!(parse_expires_on("tomorrow").is_err());
    }

    #[test]
    fn retry_after_as_seconds_date_or_milliseconds() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        h.insert("retry-after", HeaderValue::from_str(&later).unwrap());
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_secs(30)));
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(parse_retry_after(&h, now), None);
        h.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(
            parse_retry_after(&h, now),
            Some(Duration::from_millis(1500))
        );
    }

    #[test]
    fn error_bodies_map_to_api_errors() {
        let body = br#"{"error":{"code":"IdentityNotFound","message":"gone"}}"#;
        let e = api_error(StatusCode::NOT_FOUND, &HeaderMap::new(), body);
        assert!(e.is_identity_not_found());
        assert!(
            matches!(&e, AcsError::Api { code, message, .. } if code == "IdentityNotFound" && message == "gone")
        );
        let e = api_error(
            StatusCode::SERVICE_UNAVAILABLE,
            &HeaderMap::new(),
            b"<html>",
        );
        assert!(matches!(&e, AcsError::Api { code, .. } if code == "ServiceUnavailable"));
        assert!(e.is_retryable());
    }

    #[test]
    fn access_token_debug_is_redacted() {
        let t = AccessToken {
            token: SecretString::from("eyJsecret"),
            expires_on: parse_expires_on("2023-10-10T21:39:39.3244584+00:00").unwrap(),
        };
        assert!(!format!("{t:?}").contains("eyJsecret"));
    }
}
