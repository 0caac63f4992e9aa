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
    /// The circuit breaker of this ACS resource is open after repeated failures (or its one
    /// trial request is under way): the call was not sent. Retryable after `retry_after`, the
    /// time the circuit stays open.
    #[error("ACS is failing; calls are suspended for {retry_after:?} (circuit open)")]
    CircuitOpen { retry_after: Duration },
    /// The client's own pacing did not let the call through in time: the operation's budget
    /// under the ACS service limits is spent, or ACS answered `429` and the operation is paused
    /// until its `Retry-After`. The call was not sent. Retryable after `retry_after`.
    #[error("ACS call held back by client-side throttling; retry in {retry_after:?}")]
    Throttled { retry_after: Duration },
}

impl AcsError {
    /// Whether trying again later may succeed: 408, 429, 5xx, timeouts and transport errors,
    /// and Entra ID credential failures that look transient (see [`AcsError::Credential`]).
    pub fn is_retryable(&self) -> bool {
        match self {
            AcsError::Api { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            AcsError::Timeout
            | AcsError::Transport(_)
            | AcsError::CircuitOpen { .. }
            | AcsError::Throttled { .. } => true,
            AcsError::Credential { retryable, .. } => *retryable,
            AcsError::InvalidResponse(_) | AcsError::InvalidConnectionString(_) => false,
        }
    }

    /// Whether ACS said the identity does not exist: `404` with the code `IdentityNotFound`.
    /// Any other `404` (a wrong endpoint or path, a proxy's page, an unknown code) is an
    /// upstream error like any other refusal, never a reason to replace or forget an identity.
    pub fn is_identity_not_found(&self) -> bool {
        matches!(self, AcsError::Api { status: 404, code, .. } if code == IDENTITY_NOT_FOUND)
    }

    /// How long to wait before trying again, when known: the delay ACS asked for
    /// (`Retry-After`), the time an open circuit stays open, or when client-side pacing lets
    /// the operation through again.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            AcsError::Api { retry_after, .. } => *retry_after,
            AcsError::CircuitOpen { retry_after } | AcsError::Throttled { retry_after } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }

    /// Whether the call was refused for rate reasons: ACS answered `429`, or client-side
    /// pacing held it back ([`AcsError::Throttled`]). Callers answer `503` with `Retry-After`.
    pub fn is_throttled(&self) -> bool {
        matches!(
            self,
            AcsError::Api { status: 429, .. } | AcsError::Throttled { .. }
        )
    }

    /// Whether the call was never sent to ACS because the client held it back (open circuit
    /// or pacing); callers answer `503` with `Retry-After`.
    pub fn is_held_back(&self) -> bool {
        matches!(
            self,
            AcsError::CircuitOpen { .. } | AcsError::Throttled { .. }
        )
    }

    /// The HTTP status ACS answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            AcsError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The `CommunicationErrorResponse` code of an identity ACS does not know.
pub const IDENTITY_NOT_FOUND: &str = "IdentityNotFound";

/// ACS's answer for an identity it does not know, for the tests of the layers that classify it.
#[cfg(test)]
pub(crate) fn identity_not_found() -> AcsError {
    AcsError::Api {
        status: 404,
        code: IDENTITY_NOT_FOUND.into(),
        message: "Identity 'x' was not found.".into(),
        retry_after: None,
    }
}

/// An ACS error answer with `status`, for the tests of the layers that classify them.
#[cfg(test)]
pub(crate) fn api_error(status: u16, retry_after: Option<Duration>) -> AcsError {
    AcsError::Api {
        status,
        code: "X".into(),
        message: "m".into(),
        retry_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> AcsError {
        super::api_error(status, Some(Duration::from_secs(3)))
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
    fn only_a_404_identity_not_found_means_the_identity_is_gone_and_retry_after_is_exposed() {
        assert!(identity_not_found().is_identity_not_found());
        assert!(!api(404).is_identity_not_found(), "a 404 with another code");
        assert!(!api(400).is_identity_not_found());
        assert_eq!(api(429).retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(AcsError::Timeout.retry_after(), None);
    }

    #[test]
    fn held_back_calls_are_retryable_with_their_delay() {
        let open = AcsError::CircuitOpen {
            retry_after: Duration::from_secs(4),
        };
        let paced = AcsError::Throttled {
            retry_after: Duration::from_millis(1500),
        };
        assert!(open.is_retryable() && paced.is_retryable());
        assert_eq!(open.retry_after(), Some(Duration::from_secs(4)));
        assert_eq!(paced.retry_after(), Some(Duration::from_millis(1500)));
        assert!(open.is_held_back() && paced.is_held_back());
        assert!(!open.is_throttled() && paced.is_throttled() && api(429).is_throttled());
        assert!(!api(503).is_throttled() && !api(429).is_held_back());
        assert_eq!(open.status(), None);
        assert!(!open.to_string().is_empty());
    }
}
