//! Integration tests of the providers crate over real HTTP: every provider kind, the JWKS cache,
//! the configuration's build and checks, and the fake identity providers themselves, each
//! against the in-process fakes of `acs_auth_providers::testing` (feature `testing`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod aad;
mod b2c;
mod config;
mod jwks;
mod oidc;
mod testing;
