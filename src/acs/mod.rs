//! The ACS identity client (HMAC-signed REST calls) and the ACS emulator.
//!
//! Wire contract: `shared/ref/ACS_IDENTITY_API.md` (identity API `2023-10-01`).

pub mod client;
pub mod connection_string;
pub mod emulator;
pub mod error;
pub mod signing;

pub use client::{AccessToken, AcsClient, AcsScope, CreatedIdentity};
pub use connection_string::ConnectionString;
pub use emulator::{
    Emulator, EmulatorConfig, EmulatorError, RunningEmulator, TokenInfo, TokenSigningKey,
};
pub use error::AcsError;

/// The identity API version every call uses.
pub const API_VERSION: &str = "2023-10-01";

/// Install rustls' `ring` provider as the process default. Both `ring` (reqwest) and
/// `aws-lc-rs` (poem) are compiled in, so rustls cannot pick one by itself; call this before
/// building any TLS config. Idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
