//! acs-auth: a multi-tenant "bring your own identity" token server for Azure Communication
//! Services. See README.md and docs/architecture.md.

pub mod acs;
pub mod api;
pub mod cli;
pub mod config;
#[cfg(feature = "emulator")]
pub mod dev;
pub mod domain;
pub mod registry;
pub mod secrets;
pub mod service;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod trace;
