//! What every handler needs, passed in explicitly (no globals). Built only by
//! [`startup::Services::build`](crate::startup::Services::build), the one wiring point.

use std::sync::Arc;

use crate::registry::{AcsResources, TenantDirectory};
use crate::service::{AdminKeys, AuditLog, Gate, TenantAdmin, TokenService};
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub tenants: Arc<TenantDirectory>,
    pub tokens: TokenService,
    /// Reads the change log and keeps this replica's memory in step with the others.
    pub changes: crate::service::ChangeFeed,
    /// Counts the replicas and splits the cluster's limits between them.
    pub membership: crate::service::Membership,
    pub store: Store,
    pub resources: Arc<AcsResources>,
    pub audit: AuditLog,
    pub admin: TenantAdmin,
    /// Setup links and the onboarding portal's use cases.
    pub setup: crate::service::SetupLinks,
    pub limits: crate::service::RateLimits,
    /// Tenant resolution, rate limits and token verification for the user API.
    pub gate: Gate,
    /// What the layers below have counted (read by the metrics).
    pub stats: crate::service::Stats,
    /// The admin API keys (as hashes) and the audit of their use.
    pub admin_keys: AdminKeys,
    /// Whose `X-Forwarded-For` is believed (`server.trusted_proxies`).
    pub trusted_proxies: crate::domain::TrustedProxies,
    /// True until shutdown begins; `/readyz` reports it.
    pub accepting: Arc<std::sync::atomic::AtomicBool>,
}
