//! How the emulator answers HTTP: one catch-all endpoint ([`EmulatorEndpoint`]) that reads the
//! body (bounded), authenticates the request (HMAC signature or a trusted Entra ID bearer
//! token), checks `api-version`, routes on the method and the raw path, applies the injected
//! faults and dispatches to the operation; and the `CommunicationErrorResponse` answers
//! ([`ApiFailure`]).

use std::sync::atomic::Ordering;

use chrono::Utc;
use percent_encoding::percent_decode_str;
use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Body, Endpoint, Request, Response};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::{
    CONTROL_PREFIX, Emulator, MAX_BODY_BYTES, SUPPORTED_API_VERSIONS, entra, faults, lock_faults,
    lock_throttle,
};
use crate::acs::signing::{self, ReceivedRequest, SignatureError};
use crate::acs::wire::{ErrorResponse, Operation};

/// An error answer: status, code and message.
pub(super) struct ApiFailure {
    pub(super) status: StatusCode,
    pub(super) code: &'static str,
    pub(super) message: String,
    /// For `405`: the methods the route accepts.
    pub(super) allow: Option<&'static str>,
    /// `Retry-After` (seconds), for injected faults.
    pub(super) retry_after: Option<u64>,
}

impl ApiFailure {
    pub(super) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            allow: None,
            retry_after: None,
        }
    }
    pub(super) fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub(super) fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
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
    pub(super) fn identity_not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "IdentityNotFound",
            format!("Identity '{id}' was not found."),
        )
    }
}

impl From<SignatureError> for ApiFailure {
    fn from(e: SignatureError) -> Self {
        let code = match e {
            SignatureError::MissingAuthorization => "MissingAuthenticationInfo",
            SignatureError::MalformedAuthorization(_)
            | SignatureError::MissingHeader(_)
            | SignatureError::InvalidDate => "InvalidAuthenticationInfo",
            SignatureError::DateOutOfRange => "RequestTimeSkewed",
            SignatureError::ContentHashMismatch => "ContentHashMismatch",
            SignatureError::SignatureMismatch => "AuthenticationFailed",
        };
        ApiFailure::unauthorized(code, e.to_string())
    }
}

/// A successful answer.
pub(super) enum Success {
    Json(StatusCode, serde_json::Value),
    NoContent,
}

impl Success {
    /// A JSON answer with a wire body.
    pub(super) fn json<T: Serialize>(status: StatusCode, body: &T) -> Result<Self, ApiFailure> {
        let value = serde_json::to_value(body).map_err(|e| {
            tracing::error!(error = %e, "ACS emulator cannot serialize an answer");
            ApiFailure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "The emulator failed to write its answer.",
            )
        })?;
        Ok(Success::Json(status, value))
    }
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

impl Emulator {
    /// Handle one request; never fails (errors are `CommunicationErrorResponse` answers).
    pub async fn handle(&self, mut req: Request) -> Response {
        let request_id = req.headers().get("x-ms-client-request-id").cloned();
        if let Some(trace) = req
            .headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
        {
            *self
                .inner
                .last_traceparent
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(trace.to_owned());
        }
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
                let mut resp = json_response(f.status, &ErrorResponse::new(f.code, f.message));
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
        if applied.action.is_none()
            && let Err(retry_after) =
                lock_throttle(&self.inner.throttle).admit(operation, std::time::Instant::now())
        {
            let mut failure = ApiFailure::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                format!("The {operation} operation is over the service limit; retry later."),
            );
            failure.retry_after = Some(retry_after);
            return Err(failure);
        }
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
            self.inner.entra_requests.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        signing::verify(
            &received,
            self.inner.key.expose_secret(),
            Utc::now(),
            self.inner.max_clock_skew,
        )
        .map_err(ApiFailure::from)?;
        self.inner.key_requests.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// A JSON answer. (Serializing the wire bodies and JSON values cannot fail: they have no maps
/// with non-string keys.)
fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json; charset=utf-8")
        .body(Body::from_vec(serde_json::to_vec(body).unwrap_or_default()))
}

pub(super) fn parse_json<T: for<'de> Deserialize<'de>>(
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
    pub(super) emulator: Emulator,
}

impl Endpoint for EmulatorEndpoint {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        Ok(self.emulator.handle(req).await)
    }
}
