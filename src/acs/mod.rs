//! The ACS identity client (REST calls authenticated with the access key's HMAC signature or
//! with a Microsoft Entra ID bearer token) and the ACS emulator.
//!
//! Wire contract: `shared/ref/ACS_IDENTITY_API.md` (identity API `2023-10-01`).

pub mod client;
pub mod connection_string;
pub mod credential;
pub mod emulator;
pub mod error;
pub mod resilience;
pub mod signing;

#[cfg(test)]
mod entra_tests;
#[cfg(test)]
mod resilience_tests;

pub use client::{AccessToken, AcsClient, AcsScope, CreatedIdentity};
pub use connection_string::ConnectionString;
pub use credential::{ACS_SCOPE, EntraCredentialConfig, build_credential};
pub use emulator::{
    Emulator, EmulatorConfig, EmulatorEntraTrust, EmulatorError, RunningEmulator, TokenInfo,
    TokenSigningKey,
};
pub use error::AcsError;
pub use resilience::{
    CircuitBreakerConfig, CircuitState, Operation, RateLimit, RateLimits, RetryPolicy,
};

/// The identity API version every call uses.
pub const API_VERSION: &str = "2023-10-01";

/// Install rustls' `ring` provider as the process default. Both `ring` (reqwest) and
/// `aws-lc-rs` (poem) are compiled in, so rustls cannot pick one by itself; call this before
/// building any TLS config. Idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
