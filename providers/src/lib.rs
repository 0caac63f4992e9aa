//! Identity providers of acs-auth: the [`IdentityProvider`] trait, the verified identity it
//! yields, the shared JWKS cache, and the provider kinds: generic OpenID Connect ([`oidc`]),
//! Microsoft Entra ID ([`aad`]) and Azure AD B2C ([`b2c`]).
//!
//! Nothing in a token is trusted before [`IdentityProvider::verify`] returns `Ok`.

use async_trait::async_trait;
use url::Url;

pub mod aad;
pub mod b2c;
mod config;
pub mod crypto;
mod discovery;
pub mod fetch;
pub mod jose;
pub mod jwks;
pub mod network;
pub mod oidc;
pub mod steps;
pub mod validate;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use aad::{AadConfig, AadProvider};
pub use b2c::{B2cConfig, B2cProvider};
pub use config::{BuiltProvider, Check, InvalidProviderConfig, ProviderConfig, ProviderContext};
pub use crypto::{http_client, http_client_builder, install_crypto_provider};
pub use jose::KeyFingerprint;
pub use jwks::{FetchStats, JwksCache, JwksCacheConfig};
pub use network::{FetchPolicy, IdpHttp};
pub use oidc::{OidcConfig, OidcProvider};
pub use steps::{Step, Steps};

/// What a provider vouches for once a token passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedIdentity {
    /// The token's `iss`, exactly as signed.
    pub issuer: String,
    /// The key the subject is scoped by in the mapping store. For `oidc` it is the issuer; for
    /// Entra ID it is the directory (`tid`), so v1 and v2 tokens of one user map to one identity.
    pub issuer_key: String,
    /// The subject (the configured claim; `sub` by default, `oid` for Entra ID).
    pub subject: String,
    /// The directory the token came from, when the provider knows one (Entra ID `tid`).
    pub tenant_hint: Option<String>,
    /// Delegated scopes (`scp` split on spaces, or `scope`).
    pub scopes: Vec<String>,
    /// App roles (`roles`).
    pub roles: Vec<String>,
    /// `exp`, seconds since the epoch.
    pub expires_at: i64,
    /// The key whose signature verified the token: whoever keeps this verdict drops it once
    /// the key leaves its set ([`JwksCache::holds_key`]).
    pub signing_key: SigningKeyRef,
}

/// Which key of which JWKS verified a token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SigningKeyRef {
    /// The JWKS the key came from.
    pub jwks_uri: Url,
    /// The key's `kid`, when it has one.
    pub kid: Option<String>,
    /// The key's fingerprint (material, algorithm, `kid`, `issuer`).
    pub fingerprint: KeyFingerprint,
}

impl SigningKeyRef {
    /// The reference to `key`, taken from the set at `jwks_uri`.
    pub fn new(jwks_uri: &Url, key: &jose::VerificationKey) -> Self {
        Self {
            jwks_uri: jwks_uri.clone(),
            kid: key.kid.clone(),
            fingerprint: key.fingerprint,
        }
    }
}

/// Why a token was refused. `code()` is stable and reaches API clients; `Display` is for logs
/// and never contains the token itself.
#[derive(Debug, Clone, thiserror::Error)]
pub enum VerifyError {
    #[error("malformed token: {0}")]
    Malformed(String),
    #[error("token exceeds the size limit")]
    TooLarge,
    #[error("algorithm not allowed: {0}")]
    AlgorithmNotAllowed(String),
    #[error("no signing key matches the token")]
    UnknownKey,
    #[error("signature verification failed")]
    InvalidSignature,
    #[error("token has expired")]
    Expired,
    #[error("token is not yet valid")]
    NotYetValid,
    #[error("issuer not accepted")]
    InvalidIssuer,
    #[error("audience not accepted")]
    InvalidAudience,
    #[error("required claim missing: {0}")]
    MissingClaim(String),
    #[error("claim invalid: {0}")]
    InvalidClaim(String),
    /// A valid token of the issuer, but not an access token (an ID token, or not `at+jwt` where
    /// the tenant requires it).
    #[error("not an access token: {0}")]
    NotAccessToken(String),
    /// The IdP's discovery document or keys could not be had and no usable cached copy exists.
    #[error("identity provider unavailable: {0}")]
    Unavailable(String),
    /// The provider's own configuration is unusable (e.g. a non-https URL without `allow_http`).
    #[error("provider configuration invalid: {0}")]
    Config(String),
    /// An IdP document is at a private-network address and the provider does not set
    /// `allow_private_network` (the message names the host, address and range).
    #[error("{0}")]
    PrivateNetwork(String),
}

impl VerifyError {
    /// A stable, machine-readable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Malformed(_) => "token_malformed",
            VerifyError::TooLarge => "token_too_large",
            VerifyError::AlgorithmNotAllowed(_) => "token_algorithm_not_allowed",
            VerifyError::UnknownKey => "token_unknown_key",
            VerifyError::InvalidSignature => "token_invalid_signature",
            VerifyError::Expired => "token_expired",
            VerifyError::NotYetValid => "token_not_yet_valid",
            VerifyError::InvalidIssuer => "token_invalid_issuer",
            VerifyError::InvalidAudience => "token_invalid_audience",
            VerifyError::MissingClaim(_) => "token_missing_claim",
            VerifyError::InvalidClaim(_) => "token_invalid_claim",
            VerifyError::NotAccessToken(_) => "token_not_access_token",
            VerifyError::Unavailable(_) => "idp_unavailable",
            VerifyError::Config(_) => "provider_misconfigured",
            VerifyError::PrivateNetwork(_) => "idp_address_private",
        }
    }

    /// True when the fault is on our side or the IdP's (503), not the caller's token (401).
    pub fn is_server_side(&self) -> bool {
        matches!(
            self,
            VerifyError::Unavailable(_) | VerifyError::Config(_) | VerifyError::PrivateNetwork(_)
        )
    }
}

/// One small capability: verify a bearer access token.
#[async_trait]
pub trait IdentityProvider: Send + Sync {
    /// Verify a bearer access token; never trust anything in it before this returns Ok.
    async fn verify(&self, token: &str) -> Result<VerifiedIdentity, VerifyError> {
        self.verify_traced(token, &mut Steps::off()).await
    }

    /// [`verify`](Self::verify), recording each check it runs in `steps` (an operator's
    /// dry-run). The checks run in the order of [`check_names`](Self::check_names) and stop at
    /// the first that refuses.
    async fn verify_traced(
        &self,
        token: &str,
        steps: &mut Steps,
    ) -> Result<VerifiedIdentity, VerifyError>;

    /// Every check [`verify_traced`](Self::verify_traced) can run, in order.
    fn check_names(&self) -> &'static [&'static str];

    /// Whether tokens whose (unverified) `iss` is `issuer` could be accepted by this provider.
    /// Used only to route requests on the bare paths to a tenant; `verify` still decides.
    fn accepts_issuer(&self, issuer: &str) -> bool;

    /// Whether this provider's users can use Teams token exchange (Entra ID only).
    fn supports_teams_exchange(&self) -> bool {
        false
    }
}
