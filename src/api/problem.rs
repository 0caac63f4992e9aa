//! The body of every error: RFC 9457 problem details with a stable [`ProblemCode`] (an enum in
//! the spec, so generated clients can switch over it) and, for a body that breaks the schema,
//! one [`FieldError`] per broken rule.

use acs_auth_providers::VerifyError;
use poem_openapi::{Enum, Object};

/// RFC 9457 problem details.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "camelCase")]
pub struct Problem {
    /// A URI naming the problem type: `urn:acs-auth:problem:{code}`.
    #[oai(rename = "type")]
    pub problem_type: String,
    /// Short, human-readable summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// Human-readable explanation of this occurrence.
    #[oai(skip_serializing_if_is_none)]
    pub detail: Option<String>,
    /// Stable machine-readable code.
    pub code: ProblemCode,
    /// The id of the request, also in the `x-request-id` response header and in the server log.
    #[oai(skip_serializing_if_is_none)]
    pub request_id: Option<String>,
    /// For a request body that breaks the schema: each broken rule, by field.
    #[oai(skip_serializing_if_is_none)]
    pub errors: Option<Vec<FieldError>>,
}

/// One broken rule of a request body.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct FieldError {
    /// The field in the API's own spelling, e.g. `expiresInMinutes`, `provider.issuer`,
    /// `scopes[1]`; `body` for the body as a whole.
    pub field: String,
    /// The rule it breaks, e.g. `30 is below the minimum of 60`.
    pub message: String,
}

/// Declares [`ProblemCode`]: each variant with the code it is written as.
macro_rules! problem_codes {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// The stable codes of `Problem.code`. New codes may be added; a code's meaning never
        /// changes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
        pub enum ProblemCode {
            $($(#[$doc])* #[oai(rename = $name)] $variant,)*
        }

        impl ProblemCode {
            /// Every code, in the order of the spec's enum.
            pub const ALL: &'static [ProblemCode] = &[$(ProblemCode::$variant,)*];

            /// The code as it is written in `Problem.code` and `Problem.type`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ProblemCode::$variant => $name,)*
                }
            }
        }
    };
}

problem_codes! {
    // The request itself.
    InvalidBody => "invalid_body",
    InvalidRequest => "invalid_request",
    InvalidParameter => "invalid_parameter",
    InvalidTenant => "invalid_tenant",
    UnsupportedMediaType => "unsupported_media_type",
    PayloadTooLarge => "payload_too_large",
    RequestTimeout => "request_timeout",
    NotFound => "not_found",
    MethodNotAllowed => "method_not_allowed",
    BadRequest => "bad_request",
    TooManyRequests => "too_many_requests",
    RateLimited => "rate_limited",
    // The caller's bearer token.
    MissingToken => "missing_token",
    TokenMalformed => "token_malformed",
    TokenTooLarge => "token_too_large",
    TokenAlgorithmNotAllowed => "token_algorithm_not_allowed",
    TokenUnknownKey => "token_unknown_key",
    TokenInvalidSignature => "token_invalid_signature",
    TokenExpired => "token_expired",
    TokenNotYetValid => "token_not_yet_valid",
    TokenInvalidIssuer => "token_invalid_issuer",
    TokenInvalidAudience => "token_invalid_audience",
    TokenMissingClaim => "token_missing_claim",
    TokenInvalidClaim => "token_invalid_claim",
    TokenNotAccessToken => "token_not_access_token",
    InsufficientScope => "insufficient_scope",
    // Tenants and users.
    TenantNotFound => "tenant_not_found",
    TenantDisabled => "tenant_disabled",
    TenantAmbiguous => "tenant_ambiguous",
    TenantExists => "tenant_exists",
    TenantManagedByConfig => "tenant_managed_by_config",
    UserNotFound => "user_not_found",
    SubjectNotFound => "subject_not_found",
    // Setup links.
    SetupLinkNotFound => "setup_link_not_found",
    SetupLinkClosed => "setup_link_closed",
    SetupLinkNotSubmitted => "setup_link_not_submitted",
    SetupLinkChanged => "setup_link_changed",
    // Teams token exchange.
    ExchangeNotSupported => "exchange_not_supported",
    TeamsTokenMissing => "teams_token_missing",
    TeamsTokenRejected => "teams_token_rejected",
    // The admin API and the metrics endpoint.
    AdminDisabled => "admin_disabled",
    AdminKeyRequired => "admin_key_required",
    AdminKeyInvalid => "admin_key_invalid",
    MetricsTokenRequired => "metrics_token_required",
    // The service's dependencies.
    IdpUnavailable => "idp_unavailable",
    IdpAddressPrivate => "idp_address_private",
    ProviderMisconfigured => "provider_misconfigured",
    AcsError => "acs_error",
    AcsTimeout => "acs_timeout",
    AcsThrottled => "acs_throttled",
    AcsUnavailable => "acs_unavailable",
    AcsResourceUnknown => "acs_resource_unknown",
    StoreUnavailable => "store_unavailable",
    InternalError => "internal_error",
}

impl std::fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The code of a refused token, one per [`VerifyError`] variant.
impl From<&VerifyError> for ProblemCode {
    fn from(e: &VerifyError) -> Self {
        match e {
            VerifyError::Malformed(_) => Self::TokenMalformed,
            VerifyError::TooLarge => Self::TokenTooLarge,
            VerifyError::AlgorithmNotAllowed(_) => Self::TokenAlgorithmNotAllowed,
            VerifyError::UnknownKey => Self::TokenUnknownKey,
            VerifyError::InvalidSignature => Self::TokenInvalidSignature,
            VerifyError::Expired => Self::TokenExpired,
            VerifyError::NotYetValid => Self::TokenNotYetValid,
            VerifyError::InvalidIssuer => Self::TokenInvalidIssuer,
            VerifyError::InvalidAudience => Self::TokenInvalidAudience,
            VerifyError::MissingClaim(_) => Self::TokenMissingClaim,
            VerifyError::InvalidClaim(_) => Self::TokenInvalidClaim,
            VerifyError::NotAccessToken(_) => Self::TokenNotAccessToken,
            VerifyError::Unavailable(_) => Self::IdpUnavailable,
            VerifyError::Config(_) => Self::ProviderMisconfigured,
            VerifyError::PrivateNetwork(_) => Self::IdpAddressPrivate,
        }
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::ToJSON;

    use super::*;

    #[test]
    fn each_code_is_written_as_its_name_in_the_spec() {
        for code in ProblemCode::ALL {
            assert_eq!(
                code.to_json(),
                Some(serde_json::Value::String(code.as_str().to_owned()))
            );
        }
    }

    #[test]
    fn refused_tokens_carry_the_providers_codes() {
        let errors = [
            VerifyError::Malformed("x".into()),
            VerifyError::TooLarge,
            VerifyError::AlgorithmNotAllowed("x".into()),
            VerifyError::UnknownKey,
            VerifyError::InvalidSignature,
            VerifyError::Expired,
            VerifyError::NotYetValid,
            VerifyError::InvalidIssuer,
            VerifyError::InvalidAudience,
            VerifyError::MissingClaim("x".into()),
            VerifyError::InvalidClaim("x".into()),
            VerifyError::NotAccessToken("x".into()),
            VerifyError::Unavailable("x".into()),
            VerifyError::Config("x".into()),
            VerifyError::PrivateNetwork("x".into()),
        ];
        for e in &errors {
            assert_eq!(ProblemCode::from(e).as_str(), e.code());
        }
    }
}
