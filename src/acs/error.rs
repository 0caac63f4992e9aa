//! The one error type of the ACS module.

use std::time::Duration;

/// What can go wrong when talking to ACS (or parsing its connection string).
///
/// Messages never contain the access key, a token or a signature.
#[derive(Debug, thiserror::Error)]
pub enum AcsError {
    /// ACS answered with a non-success status. `code` and `message` come from the
    /// `CommunicationErrorResponse` body, or are synthesized from the status when the body
    /// isn't one (e.g. `ServiceUnavailable`).
    #[error("ACS returned {status} {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
        retry_after: Option<Duration>,
    },
    /// The call did not complete within the configured timeout.
    #[error("ACS call timed out")]
    Timeout,
    /// Connecting, sending or receiving failed.
    #[error("ACS transport error: {0}")]
    Transport(String),
    /// ACS answered with a success status but a body we could not understand.
    #[error("invalid ACS response: {0}")]
    InvalidResponse(String),
    /// The connection string (or a key) is malformed; the message names the bad part.
    #[error("invalid ACS connection string: {0}")]
    InvalidConnectionString(String),
    /// The Entra ID credential could not build (bad configuration: tenant id, missing
    /// `AZURE_*` variable, unreadable token file) or could not get a token for ACS (Entra ID or
    /// the managed identity endpoint refused, failed or was unreachable). The request never
    /// reached ACS. `message` is azure_identity's description (e.g. `AADSTS7000215: Invalid
    /// client secret provided.`); it never contains a secret or a token.
    ///
    /// `retryable` is true when trying again later may help: the token endpoint was unreachable,
    /// timed out, or answered 408, 429 or 5xx. A refusal (other 4xx: wrong secret, unknown
    /// client, identity not assigned) and a configuration error are final.
    #[error("Entra ID credential failed: {message}")]
    Credential { message: String, retryable: bool },
}

impl AcsError {
    /// Whether trying again later may succeed: 408, 429, 5xx, timeouts and transport errors,
    /// and Entra ID credential failures that look transient (see [`AcsError::Credential`]).
    pub fn is_retryable(&self) -> bool {
        match self {
            AcsError::Api { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            AcsError::Timeout | AcsError::Transport(_) => true,
            AcsError::Credential { retryable, .. } => *retryable,
            AcsError::InvalidResponse(_) | AcsError::InvalidConnectionString(_) => false,
        }
    }

    /// Whether ACS said the identity (or resource) does not exist (404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, AcsError::Api { status: 404, .. })
    }

    /// The delay ACS asked for (`Retry-After`), if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            AcsError::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The HTTP status ACS answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            AcsError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> AcsError {
        AcsError::Api {
            status,
            code: "X".into(),
            message: "m".into(),
            retry_after: Some(Duration::from_secs(3)),
        }
    }

    #[test]
    fn retryable_statuses_are_408_429_and_5xx_plus_timeouts_and_transport() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(api(s).is_retryable(), "{s}");
        }
        for s in [400, 401, 403, 404, 409] {
            assert!(!api(s).is_retryable(), "{s}");
        }
        assert!(AcsError::Timeout.is_retryable());
        assert!(AcsError::Transport("x".into()).is_retryable());
        assert!(!AcsError::InvalidResponse("x".into()).is_retryable());
        let credential = |retryable| AcsError::Credential {
            message: "m".into(),
            retryable,
        };
        assert!(credential(true).is_retryable());
        assert!(!credential(false).is_retryable());
        assert_eq!(credential(true).status(), None);
    }

    #[test]
    fn not_found_and_retry_after_are_exposed() {
        assert!(api(404).is_not_found());
        assert!(!api(400).is_not_found());
        assert_eq!(api(429).retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(AcsError::Timeout.retry_after(), None);
    }
}
