//! The ACS identity API, both sides: the wire contract ([`wire`]), HMAC request signing
//! ([`signing`]), connection strings ([`connection_string`]), the client ([`client`]: REST
//! calls authenticated with the access key's HMAC signature or with a Microsoft Entra ID bearer
//! token, with retries, a circuit breaker and pacing) and its one error type ([`AcsError`]),
//! and, behind the `emulator` feature (on by default), the ACS emulator ([`emulator`]) that
//! `dev` mode and the tests run against.
//!
//! Wire contract: `shared/ref/ACS_IDENTITY_API.md` (identity API `2023-10-01`).

pub mod client;
pub mod connection_string;
#[cfg(feature = "emulator")]
pub mod emulator;
pub mod error;
pub mod signing;
pub mod wire;

pub use client::breaker::{CircuitBreakerConfig, CircuitState};
pub use client::counts::CallOutcome;
pub use client::credential::{
    ACS_RESOURCE, ACS_SCOPE, EntraCredentialConfig, ReqwestTransport, build_credential,
};
pub use client::pacer::{PacingLimit, PacingLimits};
pub use client::retry::RetryPolicy;
pub use client::{AccessToken, AcsClient, CreatedIdentity};
pub use connection_string::ConnectionString;
#[cfg(feature = "emulator")]
pub use emulator::{
    AuthScheme, Emulator, EmulatorConfig, EmulatorEntraTrust, EmulatorError, RunningEmulator,
    ServiceLimits, TokenInfo, TokenSigningKey,
};
pub use error::AcsError;
pub use wire::{API_VERSION, Operation, Scope};

/// Install rustls' `aws-lc-rs` provider as the process default: the one crypto provider of
/// the binary (server TLS, reqwest's client TLS, the emulator's HTTPS; JWTs use aws-lc-rs
/// through jsonwebtoken). reqwest is built without a provider of its own and takes this one,
/// so call this before building any TLS config or HTTP client. Idempotent.
pub fn install_crypto_provider() {
    acs_auth_providers::install_crypto_provider();
}
