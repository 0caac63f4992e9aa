//! What the service layer and the parts below it have counted, in one snapshot, for the metrics
//! at the HTTP edge (which reaches no further than this): ACS calls and circuit states per
//! resource, identity-provider fetches, cache lookups, refused tokens and pending deletions.

use std::sync::Arc;

use acs_auth_providers::FetchStats;

use super::refusals::Counts;
use super::{CacheStats, Gate, ServiceError, TokenService, VerificationStats};
use crate::acs::{CallOutcome, CircuitState, Operation};
use crate::registry::{AcsResources, TenantDirectory};
use crate::store::Store;

/// One ACS resource's calls and circuit.
#[derive(Debug, Clone)]
pub struct ResourceStats {
    /// The resource's name (its endpoint).
    pub name: String,
    /// Calls by operation and outcome (those with at least one call).
    pub calls: Vec<(Operation, CallOutcome, u64)>,
    /// The circuit breaker is open or half-open: calls are suspended.
    pub circuit_open: bool,
}

/// Everything counted so far.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub resources: Vec<ResourceStats>,
    pub idp_fetches: FetchStats,
    pub verified_tokens: VerificationStats,
    pub caches: CacheStats,
    /// Refused bearer tokens by (tenant, code).
    pub refused_tokens: Counts,
    /// Setup links created, opened, submitted and activated.
    pub setup_links: super::setup_links::SetupCounts,
}

/// The source of [`Snapshot`]s. Clones share everything.
#[derive(Clone)]
pub struct Stats {
    resources: Arc<AcsResources>,
    tenants: Arc<TenantDirectory>,
    gate: Gate,
    tokens: TokenService,
    store: Store,
    setup: Arc<super::setup_links::SetupCounters>,
}

impl Stats {
    pub fn new(
        resources: Arc<AcsResources>,
        tenants: Arc<TenantDirectory>,
        gate: Gate,
        tokens: TokenService,
        store: Store,
        setup: Arc<super::setup_links::SetupCounters>,
    ) -> Self {
        Self {
            resources,
            tenants,
            gate,
            tokens,
            store,
            setup,
        }
    }

    /// The counters, read from memory (no I/O).
    pub fn snapshot(&self) -> Snapshot {
        let resources = self
            .resources
            .names()
            .into_iter()
            .filter_map(|name| {
                let resource = self.resources.get(&name)?;
                Some(ResourceStats {
                    calls: resource.client.call_counts(),
                    circuit_open: !matches!(
                        resource.client.circuit_state(),
                        CircuitState::Closed { .. }
                    ),
                    name,
                })
            })
            .collect();
        Snapshot {
            resources,
            idp_fetches: self.tenants.factory().jwks.fetch_stats(),
            verified_tokens: self.gate.verification_stats(),
            caches: self.tokens.cache_stats(),
            refused_tokens: self.gate.refused_tokens().totals(),
            setup_links: self.setup.counts(),
        }
    }

    /// Whether `id` is a tenant now (only known tenants get a label of their own).
    pub fn is_tenant(&self, id: &str) -> bool {
        self.tenants.get(id).is_some()
    }

    /// ACS identities whose deletion ACS has not confirmed yet (a store query).
    pub async fn pending_deletions(&self) -> Result<u64, ServiceError> {
        Ok(self.store.count_pending_deletions().await?)
    }
}
