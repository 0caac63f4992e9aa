//! The one error type of the service layer. Its variants are domain cases; failures of the
//! layers below (ACS, the store) are classified here, so the HTTP edge maps service errors to
//! problem codes without looking into ACS or store errors.

use std::sync::Arc;
use std::time::Duration;

use acs_auth_providers::VerifyError;

use crate::acs::AcsError;
use crate::config::ConfigError;
use crate::registry::TenantError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The verified token lacks a scope or role the tenant requires.
    #[error("insufficient scope: {0}")]
    InsufficientScope(String),
    #[error("invalid request: `{field}`: {message}")]
    InvalidRequest {
        field: &'static str,
        message: String,
    },
    /// The bearer token was refused (or could not be verified) by the tenant's provider.
    #[error("bearer token refused: {0}")]
    Token(#[from] VerifyError),
    /// Too many requests for the tenant or the user.
    #[error("rate limited; retry in {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// A bare-path request whose issuer no tenant trusts (and no default tenant).
    #[error("no tenant trusts the token's issuer")]
    NoTenantForIssuer,
    /// A bare-path request whose issuer several tenants trust (and no default tenant).
    #[error("several tenants trust the token's issuer")]
    TenantAmbiguous,
    #[error("user not found")]
    UserNotFound,
    #[error("tenant disabled")]
    TenantDisabled,
    /// exchangeToken on a tenant whose provider is not Entra ID.
    #[error("Teams token exchange is not available for this tenant")]
    TeamsExchangeUnsupported,
    /// ACS refused the Teams user's token (wrong audience, app, user, expired …).
    #[error("ACS refused the Teams token: {code}: {message}")]
    TeamsTokenRejected { code: String, message: String },
    /// No admin key is configured: the admin API is off.
    #[error("the admin API is disabled (no admin key is configured)")]
    AdminDisabled,
    /// The presented admin key matches none of the configured hashes.
    #[error("the admin key is not valid")]
    AdminKeyInvalid,
    /// A tenant's settings are refused; `key` names the setting.
    #[error("invalid tenant: `{key}`: {message}")]
    TenantInvalid { key: String, message: String },
    #[error("tenant `{0}` not found")]
    TenantNotFound(String),
    #[error("tenant `{0}` already exists")]
    TenantExists(String),
    #[error("tenant `{0}` is defined in the configuration file; change it there")]
    TenantManagedByConfig(String),
    /// No setup link of the tenant has this id.
    #[error("no such setup link")]
    SetupLinkNotFound,
    /// The setup link was revoked, activated or has expired (its state).
    #[error("the setup link is {0}")]
    SetupLinkClosed(&'static str),
    /// Activation of a link with nothing submitted.
    #[error("nothing was submitted through the setup link")]
    SetupLinkNotSubmitted,
    /// A new submission arrived while the previous one was being activated.
    #[error("the setup link's submission changed; activate again")]
    SetupLinkChanged,
    /// The admin API named a subject that has no mapping in the tenant.
    #[error("the subject has no mapping in this tenant")]
    SubjectNotFound,
    /// An ACS call failed; `failure` says how, for the caller.
    #[error("ACS call failed: {source}")]
    Acs {
        failure: AcsFailure,
        #[source]
        source: AcsError,
    },
    #[error("store failed: {0}")]
    Store(#[from] StoreError),
    #[error("ACS resource `{0}` is not configured")]
    UnknownResource(String),
    /// An error shared by several coalesced callers.
    #[error("{0}")]
    Shared(Arc<ServiceError>),
}

/// How an ACS call failed, as far as the caller is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcsFailure {
    /// ACS did not answer in time.
    Timeout,
    /// ACS (429) or our own pacing throttles calls.
    Throttled { retry_after: Option<Duration> },
    /// ACS keeps failing (retried already where the operation allows), or the circuit
    /// breaker holds calls back.
    Unavailable { retry_after: Option<Duration> },
    /// ACS refused the request.
    Refused,
}

impl From<&AcsError> for AcsFailure {
    fn from(e: &AcsError) -> Self {
        match e {
            AcsError::Timeout => AcsFailure::Timeout,
            e if e.is_throttled() => AcsFailure::Throttled {
                retry_after: e.retry_after(),
            },
            e if e.is_retryable() => AcsFailure::Unavailable {
                retry_after: e.retry_after(),
            },
            _ => AcsFailure::Refused,
        }
    }
}

impl From<AcsError> for ServiceError {
    fn from(source: AcsError) -> Self {
        ServiceError::Acs {
            failure: AcsFailure::from(&source),
            source,
        }
    }
}

impl From<Arc<ServiceError>> for ServiceError {
    fn from(e: Arc<ServiceError>) -> Self {
        Arc::try_unwrap(e).unwrap_or_else(ServiceError::Shared)
    }
}

impl From<ConfigError> for ServiceError {
    fn from(e: ConfigError) -> Self {
        match e {
            ConfigError::Invalid { key, message } => ServiceError::TenantInvalid { key, message },
            other => ServiceError::TenantInvalid {
                key: "body".into(),
                message: other.to_string(),
            },
        }
    }
}

impl From<TenantError> for ServiceError {
    fn from(e: TenantError) -> Self {
        match e {
            TenantError::Provider { source, .. } => ServiceError::TenantInvalid {
                key: "provider".into(),
                message: match source {
                    acs_auth_providers::VerifyError::Config(m) => m,
                    other => other.to_string(),
                },
            },
            TenantError::Acs { source, .. } => ServiceError::TenantInvalid {
                key: "acs".into(),
                message: source.to_string(),
            },
            TenantError::Stored { tenant, message } => ServiceError::TenantInvalid {
                key: format!("stored tenant {tenant}"),
                message,
            },
            TenantError::Store(e) => ServiceError::Store(e),
        }
    }
}

impl ServiceError {
    /// Follows `Shared` to the error that happened.
    pub fn root(&self) -> &ServiceError {
        match self {
            ServiceError::Shared(inner) => inner.root(),
            other => other,
        }
    }

    /// True when ACS answered that the identity does not exist (`IdentityNotFound`).
    pub(crate) fn is_identity_not_found(&self) -> bool {
        matches!(self.root(), ServiceError::Acs { source, .. } if source.is_identity_not_found())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> AcsError {
        crate::acs::error::api_error(status, Some(Duration::from_secs(3)))
    }

    #[test]
    fn acs_failures_are_classified_for_the_caller() {
        assert_eq!(AcsFailure::from(&AcsError::Timeout), AcsFailure::Timeout);
        assert_eq!(
            AcsFailure::from(&api(429)),
            AcsFailure::Throttled {
                retry_after: Some(Duration::from_secs(3))
            }
        );
        assert_eq!(
            AcsFailure::from(&api(503)),
            AcsFailure::Unavailable {
                retry_after: Some(Duration::from_secs(3))
            }
        );
        assert_eq!(AcsFailure::from(&api(400)), AcsFailure::Refused);
        let open = AcsError::CircuitOpen {
            retry_after: Duration::from_secs(4),
        };
        assert_eq!(
            AcsFailure::from(&open),
            AcsFailure::Unavailable {
                retry_after: Some(Duration::from_secs(4))
            }
        );
    }

    #[test]
    fn a_shared_not_found_is_still_not_found() {
        let gone = crate::acs::error::identity_not_found();
        let e = ServiceError::Shared(Arc::new(ServiceError::from(gone)));
        assert!(e.is_identity_not_found());
        assert!(!ServiceError::from(api(404)).is_identity_not_found());
        assert!(!ServiceError::from(api(400)).is_identity_not_found());
    }
}
