//! ACS tests: the client against the emulator over real HTTP(S) on 127.0.0.1 port 0, through
//! the crate's public API only. One binary, one file per feature: the client ↔ emulator round
//! trips and the emulator's answers (emulator.rs), the client's timeouts, retries, circuit
//! breaker and pacing against injected faults (resilience.rs), and Entra ID authentication
//! against the project's one fake authority, `acs_auth_providers::testing::FakeEntra` (entra.rs). Shared helpers in helpers.rs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod emulator;
mod entra;
mod resilience;
