//! API tests: the real server over real HTTP on 127.0.0.1 port 0, each with its own database,
//! ACS emulator and fake identity provider. One binary (see helpers.rs for `spawn_app`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod acs_entra;
mod acs_limits;
mod acs_sdk;
mod admin;
mod bearer_errors;
mod cli;
mod cluster;
mod concurrency;
mod delete_user;
mod dev_mode;
mod dry_run;
mod edge;
mod failures;
mod future_sizes;
mod get_token;
mod hostile_tokens;
mod identity_providers;
mod idp_guards;
mod isolation;
mod limits;
mod mapping_cache;
mod metrics;
mod oidc_interop;
mod otlp;
#[cfg(any(feature = "failpoints", feature = "otlp"))]
mod process;
mod setup_links;
mod shutdown;
mod spec;
mod trace_context;
mod upstreams;
mod validation;
mod verified_cache;
