//! The one place errors become HTTP: RFC 9457 problem details (`application/problem+json`) with
//! a stable `code` and the request id. 5xx bodies say nothing internal; the log has the cause.

use std::marker::PhantomData;

use acs_auth_providers::VerifyError;
use poem::http::{HeaderValue, StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::ApiResponse;
use poem_openapi::registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::{ToJSON, Type};

pub use super::problem::{FieldError, Problem, ProblemCode};

use crate::service::{AcsFailure, ServiceError};

pub const PROBLEM_JSON: &str = "application/problem+json";
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// An error on its way to the client: a status, a stable code, and the headers it needs.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub status: StatusCode,
    pub code: ProblemCode,
    pub title: &'static str,
    pub detail: Option<String>,
    /// RFC 6750 `error` attribute of `WWW-Authenticate` (401 and 403 on bearer-protected paths).
    pub bearer_error: Option<&'static str>,
    /// A `WWW-Authenticate` challenge other than the bearer one (the admin API's key).
    pub challenge: Option<&'static str>,
    pub retry_after_secs: Option<u64>,
    /// Each broken rule of a request body that breaks the schema.
    pub errors: Vec<FieldError>,
}

impl ErrorInfo {
    pub fn new(status: StatusCode, code: ProblemCode, title: &'static str) -> Self {
        Self {
            status,
            code,
            title,
            detail: None,
            bearer_error: None,
            challenge: None,
            retry_after_secs: None,
            errors: Vec::new(),
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn bearer(mut self, error: &'static str) -> Self {
        self.bearer_error = Some(error);
        self
    }

    pub fn challenge(mut self, challenge: &'static str) -> Self {
        self.challenge = Some(challenge);
        self
    }

    pub fn errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    pub fn to_response(&self, request_id: Option<&str>) -> Response {
        let problem = Problem {
            problem_type: format!("urn:acs-auth:problem:{}", self.code),
            title: self.title.to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code,
            request_id: request_id.map(str::to_owned),
            errors: (!self.errors.is_empty()).then(|| self.errors.clone()),
        };
        let body = problem.to_json_string();
        let mut resp = Response::builder()
            .status(self.status)
            .header(header::CONTENT_TYPE, PROBLEM_JSON)
            .header(header::CACHE_CONTROL, "no-store")
            .body(body);
        if let Some(challenge) = self.challenge {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        } else if self.status == StatusCode::UNAUTHORIZED || self.bearer_error.is_some() {
            let value = match self.bearer_error {
                Some(error) => format!("Bearer realm=\"acs-auth\", error=\"{error}\""),
                None => "Bearer realm=\"acs-auth\"".to_owned(),
            };
            if let Ok(v) = HeaderValue::from_str(&value) {
                resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
        }
        if let Some(secs) = self.retry_after_secs {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

impl std::fmt::Display for ErrorInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.code)
    }
}

impl std::error::Error for ErrorInfo {}

impl poem::error::ResponseError for ErrorInfo {
    fn status(&self) -> StatusCode {
        self.status
    }

    fn as_response(&self) -> Response {
        self.to_response(None)
    }
}

/// The statuses one operation can fail with, for the OpenAPI spec.
pub trait ErrorSet: Send + Sync + 'static {
    const STATUSES: &'static [(u16, &'static str)];
}

/// An operation's error: carries an [`ErrorInfo`]; documents the statuses of `S` in the spec.
pub struct ApiError<S: ErrorSet> {
    pub info: ErrorInfo,
    _set: PhantomData<fn() -> S>,
}

impl<S: ErrorSet> std::fmt::Debug for ApiError<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.info.fmt(f)
    }
}

impl<S: ErrorSet> From<ErrorInfo> for ApiError<S> {
    fn from(info: ErrorInfo) -> Self {
        Self {
            info,
            _set: PhantomData,
        }
    }
}

impl<S: ErrorSet> From<ServiceError> for ApiError<S> {
    fn from(e: ServiceError) -> Self {
        ErrorInfo::from(&e).into()
    }
}

impl<S: ErrorSet> From<VerifyError> for ApiError<S> {
    fn from(e: VerifyError) -> Self {
        ErrorInfo::from(&e).into()
    }
}

impl<S: ErrorSet> From<ApiError<S>> for poem::Error {
    fn from(e: ApiError<S>) -> Self {
        poem::Error::from(e.info)
    }
}

impl<S: ErrorSet> ApiResponse for ApiError<S> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: S::STATUSES
                .iter()
                .map(|(status, description)| MetaResponse {
                    description,
                    status: Some(*status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: PROBLEM_JSON,
                        schema: Problem::schema_ref(),
                    }],
                    headers: headers_for(*status),
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        Problem::register(registry);
    }
}

fn headers_for(status: u16) -> Vec<MetaHeader> {
    let header = |name: &str, description: &str| MetaHeader {
        name: name.to_owned(),
        description: Some(description.to_owned()),
        required: false,
        deprecated: false,
        schema: String::schema_ref(),
    };
    match status {
        401 => vec![header(
            "WWW-Authenticate",
            "RFC 6750 challenge, e.g. `Bearer realm=\"acs-auth\", error=\"invalid_token\"`",
        )],
        403 => vec![header(
            "WWW-Authenticate",
            "`Bearer … error=\"insufficient_scope\"` when a scope or role is missing",
        )],
        429 | 503 => vec![header("Retry-After", "Seconds to wait before trying again")],
        _ => Vec::new(),
    }
}

impl From<&VerifyError> for ErrorInfo {
    fn from(e: &VerifyError) -> Self {
        if let VerifyError::PrivateNetwork(_) = e {
            tracing::warn!(error = %e, "token could not be verified: the identity provider's address is private");
            return ErrorInfo::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ProblemCode::from(e),
                "The identity provider's address is private",
            )
            .detail(
                "The tenant's identity provider resolves to a private-network address, which \
                 acs-auth does not fetch from unless the tenant's provider sets \
                 `allow_private_network = true`.",
            );
        }
        if e.is_server_side() {
            tracing::warn!(error = %e, "token could not be verified: identity provider problem");
            return ErrorInfo::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ProblemCode::from(e),
                "The identity provider cannot be reached",
            )
            .detail("The tenant's identity provider could not be reached to verify the token; try again later.")
            .retry_after(5);
        }
        // Counted and logged at debug by the gate (callers choose how many tokens fail).
        ErrorInfo::new(
            StatusCode::UNAUTHORIZED,
            ProblemCode::from(e),
            "The bearer token is not valid",
        )
        .detail(e.to_string())
        .bearer("invalid_token")
    }
}

impl From<&ServiceError> for ErrorInfo {
    fn from(e: &ServiceError) -> Self {
        match e {
            ServiceError::Shared(inner) => ErrorInfo::from(inner.as_ref()),
            ServiceError::InsufficientScope(detail) => ErrorInfo::new(
                StatusCode::FORBIDDEN,
                ProblemCode::InsufficientScope,
                "The token lacks a required scope or role",
            )
            .detail(detail.clone())
            .bearer("insufficient_scope"),
            ServiceError::InvalidRequest { field, message } => ErrorInfo::new(
                StatusCode::BAD_REQUEST,
                ProblemCode::InvalidRequest,
                "The request is not valid",
            )
            .detail(format!("`{field}`: {message}"))
            .errors(vec![FieldError {
                field: field.to_string(),
                message: message.clone(),
            }]),
            ServiceError::Token(e) => ErrorInfo::from(e),
            ServiceError::RateLimited { retry_after } => {
                let secs = ceil_secs(*retry_after);
                ErrorInfo::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    ProblemCode::RateLimited,
                    "Too many requests",
                )
                .detail(format!("Slow down; try again in {secs} s."))
                .retry_after(secs)
            }
            ServiceError::NoTenantForIssuer => ErrorInfo::new(
                StatusCode::UNAUTHORIZED,
                ProblemCode::TokenInvalidIssuer,
                "The bearer token is not valid",
            )
            .detail(
                "No tenant trusts the token's issuer; use /tenants/{tenant}/… to name the tenant.",
            )
            .bearer("invalid_token"),
            ServiceError::TenantAmbiguous => ErrorInfo::new(
                StatusCode::BAD_REQUEST,
                ProblemCode::TenantAmbiguous,
                "The tenant cannot be told from the token",
            )
            .detail(
                "Several tenants trust the token's issuer; use /tenants/{tenant}/… to name the tenant.",
            ),
            ServiceError::UserNotFound => ErrorInfo::new(
                StatusCode::NOT_FOUND,
                ProblemCode::UserNotFound,
                "The caller has no ACS identity",
            )
            .detail("No ACS identity is mapped to the caller; getToken creates one."),
            ServiceError::TenantDisabled => ErrorInfo::new(
                StatusCode::FORBIDDEN,
                ProblemCode::TenantDisabled,
                "The tenant is disabled",
            ),
            ServiceError::TeamsExchangeUnsupported => ErrorInfo::new(
                StatusCode::BAD_REQUEST,
                ProblemCode::ExchangeNotSupported,
                "Teams token exchange needs an Entra ID tenant",
            )
            .detail("exchangeToken is available only for tenants whose provider is `aad` (Microsoft Entra ID)."),
            ServiceError::TeamsTokenRejected { code, message } => ErrorInfo::new(
                StatusCode::BAD_REQUEST,
                ProblemCode::TeamsTokenRejected,
                "ACS refused the Teams user's token",
            )
            .detail(format!("{code}: {}", message.chars().take(300).collect::<String>())),
            ServiceError::AdminDisabled => ErrorInfo::new(
                StatusCode::FORBIDDEN,
                ProblemCode::AdminDisabled,
                "The admin API is disabled",
            )
            .detail(
                "No admin key is configured: set `admin.key_hashes` (`acs-auth admin-key` makes a \
                 key and its hash); with `acs-auth dev`, pass `--admin-key-hash HASH`.",
            ),
            ServiceError::AdminKeyInvalid => ErrorInfo::new(
                StatusCode::UNAUTHORIZED,
                ProblemCode::AdminKeyInvalid,
                "The admin key is not valid",
            )
            .challenge("ApiKey header=\"X-Admin-Key\""),
            ServiceError::TenantInvalid { key, message } => ErrorInfo::new(
                StatusCode::BAD_REQUEST,
                ProblemCode::InvalidTenant,
                "The tenant is not valid",
            )
            .detail(format!("`{key}`: {message}"))
            .errors(vec![FieldError {
                field: key.clone(),
                message: message.clone(),
            }]),
            ServiceError::TenantNotFound(id) => {
                ErrorInfo::new(StatusCode::NOT_FOUND, ProblemCode::TenantNotFound, "No such tenant")
                    .detail(format!("No tenant has the id `{id}`."))
            }
            ServiceError::TenantExists(id) => ErrorInfo::new(
                StatusCode::CONFLICT,
                ProblemCode::TenantExists,
                "The tenant exists already",
            )
            .detail(format!(
                "A tenant with the id `{id}` exists; use PUT to change it."
            )),
            ServiceError::TenantManagedByConfig(id) => ErrorInfo::new(
                StatusCode::CONFLICT,
                ProblemCode::TenantManagedByConfig,
                "The tenant is defined in the configuration file",
            )
            .detail(format!(
                "Tenant `{id}` comes from the configuration file; change it there."
            )),
            ServiceError::SetupLinkNotFound => ErrorInfo::new(
                StatusCode::NOT_FOUND,
                ProblemCode::SetupLinkNotFound,
                "No such setup link",
            )
            .detail("The tenant has no setup link with this id."),
            ServiceError::SetupLinkClosed(state) => ErrorInfo::new(
                StatusCode::CONFLICT,
                ProblemCode::SetupLinkClosed,
                "The setup link is closed",
            )
            .detail(format!("The setup link is {state}.")),
            ServiceError::SetupLinkNotSubmitted => ErrorInfo::new(
                StatusCode::CONFLICT,
                ProblemCode::SetupLinkNotSubmitted,
                "Nothing was submitted through the setup link",
            )
            .detail("The customer has not submitted a configuration through this link yet."),
            ServiceError::SetupLinkChanged => ErrorInfo::new(
                StatusCode::CONFLICT,
                ProblemCode::SetupLinkChanged,
                "The setup link's submission changed",
            )
            .detail("A new configuration was submitted meanwhile; review it and activate again."),
            ServiceError::SubjectNotFound => ErrorInfo::new(
                StatusCode::NOT_FOUND,
                ProblemCode::SubjectNotFound,
                "The subject has no mapping in this tenant",
            ),
            ServiceError::Acs { failure, .. } => {
                tracing::warn!(error = %e, "ACS call failed");
                acs_failure_info(*failure)
            }
            ServiceError::Store(_) => {
                tracing::error!(error = %e, "store failure");
                ErrorInfo::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ProblemCode::StoreUnavailable,
                    "The service is temporarily unavailable",
                )
                .retry_after(5)
            }
            ServiceError::UnknownResource(name) => {
                tracing::error!(resource = %name, "mapping refers to an ACS resource that is not configured");
                ErrorInfo::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ProblemCode::AcsResourceUnknown,
                    "The service is misconfigured",
                )
            }
        }
    }
}

/// Whole seconds for `Retry-After`, rounded up, at least 1.
fn ceil_secs(d: std::time::Duration) -> u64 {
    d.as_secs_f64().ceil().max(1.0) as u64
}

fn acs_failure_info(failure: AcsFailure) -> ErrorInfo {
    match failure {
        AcsFailure::Timeout => ErrorInfo::new(
            StatusCode::GATEWAY_TIMEOUT,
            ProblemCode::AcsTimeout,
            "ACS did not answer in time",
        )
        .retry_after(5),
        AcsFailure::Throttled { retry_after } => ErrorInfo::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ProblemCode::AcsThrottled,
            "ACS is throttling requests",
        )
        .retry_after(retry_after.map(ceil_secs).unwrap_or(10)),
        AcsFailure::Unavailable { retry_after } => ErrorInfo::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ProblemCode::AcsUnavailable,
            "ACS is unavailable",
        )
        .retry_after(retry_after.map(ceil_secs).unwrap_or(5)),
        AcsFailure::Refused => ErrorInfo::new(
            StatusCode::BAD_GATEWAY,
            ProblemCode::AcsError,
            "ACS refused the request",
        ),
    }
}

/// What the edge reads from the served spec: which methods each path serves, for the `Allow`
/// header of `405` answers (RFC 9110 §15.5.6), and what each query and path parameter must be,
/// for `400 invalid_parameter` answers that name the parameter and its rule (not the
/// framework's parse text).
#[derive(Debug, Default, Clone)]
pub struct SpecRules {
    routes: Vec<(Vec<String>, String)>,
    parameters: std::collections::HashMap<String, String>,
}

impl SpecRules {
    pub fn from_spec(spec: &serde_json::Value) -> Self {
        let mut routes = Vec::new();
        if let Some(paths) = spec.get("paths").and_then(|p| p.as_object()) {
            for (path, item) in paths {
                let mut methods: Vec<String> = item
                    .as_object()
                    .map(|o| o.keys().map(|m| m.to_ascii_uppercase()).collect())
                    .unwrap_or_default();
                methods.sort();
                let segments = path.split('/').map(str::to_owned).collect();
                routes.push((segments, methods.join(", ")));
            }
        }
        let mut parameters = std::collections::HashMap::new();
        let declared = spec
            .get("paths")
            .and_then(|p| p.as_object())
            .into_iter()
            .flat_map(|paths| paths.values())
            .filter_map(|item| item.as_object())
            .flat_map(|item| item.values())
            .filter_map(|op| op.get("parameters").and_then(|p| p.as_array()))
            .flatten();
        for parameter in declared {
            if let (Some(name), Some(schema)) = (
                parameter.get("name").and_then(|n| n.as_str()),
                parameter.get("schema"),
            ) {
                parameters
                    .entry(name.to_owned())
                    .or_insert_with(|| parameter_rule(schema));
            }
        }
        Self { routes, parameters }
    }

    /// The rule of parameter `name`, as a `400` states it.
    fn parameter_rule(&self, name: &str) -> &str {
        self.parameters
            .get(name)
            .map(String::as_str)
            .unwrap_or("is not valid")
    }

    fn allow_for(&self, path: &str) -> Option<&str> {
        let segments: Vec<&str> = path.split('/').collect();
        self.routes.iter().find_map(|(template, allow)| {
            let matches = template.len() == segments.len()
                && template.iter().zip(&segments).all(|(t, s)| {
                    (t.starts_with('{') && t.ends_with('}') && !s.is_empty()) || t == s
                });
            matches.then_some(allow.as_str())
        })
    }
}

/// What a parameter's schema asks for, in words.
fn parameter_rule(schema: &serde_json::Value) -> String {
    let number = |key: &str| schema.get(key).and_then(|v| v.as_f64()).map(|v| v as i64);
    match (
        schema.get("type").and_then(|t| t.as_str()),
        schema.get("format").and_then(|f| f.as_str()),
    ) {
        (Some("integer"), _) => match (number("minimum"), number("maximum")) {
            (Some(min), Some(max)) => format!("must be an integer from {min} to {max}"),
            (Some(min), None) => format!("must be an integer of at least {min}"),
            _ => "must be an integer".to_owned(),
        },
        (Some("string"), Some("date-time")) => {
            "must be an RFC 3339 date-time, e.g. `2026-12-01T10:00:00Z`".to_owned()
        }
        (Some("string"), _) => match schema.get("pattern").and_then(|p| p.as_str()) {
            Some(pattern) => format!("must match `{pattern}`"),
            None => "is not valid".to_owned(),
        },
        _ => "is not valid".to_owned(),
    }
}

/// The answer to a request not answered within `server.request_timeout_secs` (its body read
/// included); the connection is closed after it.
pub fn request_timeout() -> Response {
    let mut resp = ErrorInfo::new(
        StatusCode::REQUEST_TIMEOUT,
        ProblemCode::RequestTimeout,
        "The request was not completed in time",
    )
    .detail("the request (its body included) took longer than the server allows")
    .to_response(None);
    resp.headers_mut().insert(
        header::CONNECTION,
        poem::http::HeaderValue::from_static("close"),
    );
    resp
}

/// Turns every error that reaches the edge — the handlers' own, and poem's (no route, bad JSON,
/// missing credentials) — into problem+json, and tags each response with its request id.
pub async fn problem_middleware<E: Endpoint>(
    next: E,
    mut req: Request,
    allowed: std::sync::Arc<SpecRules>,
    admin_enabled: bool,
) -> poem::Result<Response> {
    // Cheap handles (the URI's bytes are shared), read again only when the call failed.
    let uri = req.uri().clone();
    let method = req.method().clone();
    let request_id = request_id_of(&req);
    let admin = uri.path().starts_with("/admin");
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        req.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    // RFC 6750 §2: one credential per request; several `Authorization` fields are refused
    // instead of silently using the first.
    if req.headers().get_all(header::AUTHORIZATION).iter().count() > 1 {
        let info = ErrorInfo::new(
            StatusCode::BAD_REQUEST,
            ProblemCode::InvalidRequest,
            "The request is not valid",
        )
        .detail("Send exactly one `Authorization` header.")
        .bearer("invalid_request");
        let mut resp = info.to_response(Some(&request_id));
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            resp.headers_mut().insert(REQUEST_ID_HEADER, v);
        }
        return Ok(resp);
    }
    // W3C trace context: the caller's, or a new trace; current for all the request does (the
    // ACS calls carry it). A caller that sends one also gets its trace id on the log lines.
    let trace = crate::trace::TraceContext::from_header(
        req.headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok()),
    );
    let answer = if trace.from_caller || crate::telemetry::exporting() {
        use tracing::Instrument as _;
        let span = crate::telemetry::request_span(&trace);
        trace.scope(next.call(req)).instrument(span).await
    } else {
        trace.scope(next.call(req)).await
    };
    let mut resp = match answer {
        Ok(r) => r.into_response(),
        Err(err) => {
            let area = match (admin, admin_enabled) {
                (false, _) => Area::Api,
                (true, true) => Area::Admin,
                (true, false) => Area::AdminDisabled,
            };
            let mut resp = error_response(&err, &request_id, area, &allowed);
            if resp.status().is_server_error() {
                tracing::warn!(
                    %request_id, trace_id = %trace.trace_id(), %method, path = uri.path(),
                    status = resp.status().as_u16(), "request failed"
                );
            }
            if resp.status() == StatusCode::METHOD_NOT_ALLOWED
                && let Some(allow) = allowed.allow_for(uri.path())
                && let Ok(v) = HeaderValue::from_str(allow)
            {
                resp.headers_mut().insert(header::ALLOW, v);
            }
            resp
        }
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    Ok(resp)
}

/// The caller's `x-request-id` when it is short and plain, else a fresh UUID.
fn request_id_of(req: &Request) -> String {
    req.headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// Which part of the API a failed request was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Area {
    Api,
    Admin,
    /// The admin API, with no admin key configured.
    AdminDisabled,
}

fn error_response(err: &poem::Error, request_id: &str, area: Area, spec: &SpecRules) -> Response {
    use poem::error::{MethodNotAllowedError, NotFoundError};
    use poem_openapi::error::{
        AuthorizationError, ContentTypeError, ParseParamError, ParseRequestPayloadError,
    };

    let info = if let Some(info) = err.downcast_ref::<ErrorInfo>() {
        info.clone()
    } else if err.is::<AuthorizationError>() && area == Area::AdminDisabled {
        ErrorInfo::from(&ServiceError::AdminDisabled)
    } else if err.is::<AuthorizationError>() && area == Area::Admin {
        ErrorInfo::new(
            StatusCode::UNAUTHORIZED,
            ProblemCode::AdminKeyRequired,
            "An admin key is required",
        )
        .detail("Send an admin API key in the `X-Admin-Key` header.")
        .challenge("ApiKey header=\"X-Admin-Key\"")
    } else if err.is::<AuthorizationError>() {
        ErrorInfo::new(
            StatusCode::UNAUTHORIZED,
            ProblemCode::MissingToken,
            "A bearer token is required",
        )
        .detail(
            "Send the user's identity-provider access token as `Authorization: Bearer <token>`.",
        )
    } else if let Some(e) = err.downcast_ref::<ParseRequestPayloadError>() {
        ErrorInfo::new(
            StatusCode::BAD_REQUEST,
            ProblemCode::InvalidBody,
            "The request body is not valid",
        )
        .detail(e.reason.clone())
    } else if let Some(e) = err.downcast_ref::<ContentTypeError>() {
        ErrorInfo::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemCode::UnsupportedMediaType,
            "The content type is not supported",
        )
        .detail(e.to_string())
    } else if let Some(e) = err.downcast_ref::<ParseParamError>() {
        let rule = spec.parameter_rule(e.name);
        ErrorInfo::new(
            StatusCode::BAD_REQUEST,
            ProblemCode::InvalidParameter,
            "A parameter is not valid",
        )
        .detail(format!("`{}`: {rule}", e.name))
        .errors(vec![FieldError {
            field: e.name.to_owned(),
            message: rule.to_owned(),
        }])
    } else if err.is::<NotFoundError>() {
        ErrorInfo::new(
            StatusCode::NOT_FOUND,
            ProblemCode::NotFound,
            "No such resource",
        )
    } else if err.is::<MethodNotAllowedError>() {
        ErrorInfo::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ProblemCode::MethodNotAllowed,
            "Method not allowed",
        )
    } else {
        let status = err.status();
        if status.is_server_error() {
            tracing::error!(error = %err, %status, "unhandled error");
            ErrorInfo::new(status, ProblemCode::InternalError, "Internal error")
        } else {
            let code = match status {
                StatusCode::PAYLOAD_TOO_LARGE => ProblemCode::PayloadTooLarge,
                StatusCode::REQUEST_TIMEOUT => ProblemCode::RequestTimeout,
                StatusCode::TOO_MANY_REQUESTS => ProblemCode::TooManyRequests,
                _ => ProblemCode::BadRequest,
            };
            ErrorInfo::new(status, code, "The request cannot be served").detail(err.to_string())
        }
    };
    info.to_response(Some(request_id))
}
