//! What every handler needs, passed in explicitly (no globals).

use std::sync::Arc;

use crate::service::TokenService;
use crate::store::Store;
use crate::tenants::TenantRegistry;

#[derive(Clone)]
pub struct AppState {
    pub tenants: Arc<TenantRegistry>,
    pub tokens: TokenService,
    pub store: Store,
    /// True until shutdown begins; `/readyz` reports it.
    pub accepting: Arc<std::sync::atomic::AtomicBool>,
}

impl AppState {
    /// A state that serves nothing: no database, no tenants, an ACS client that is never
    /// called. Used to render the OpenAPI spec without any I/O.
    pub fn detached() -> Result<Self, crate::acs::AcsError> {
        use crate::acs::{AcsClient, ConnectionString};
        use crate::service::{AcsResources, DeletionWorker};
        let store = Store::detached();
        let conn = ConnectionString::parse("endpoint=https://spec.invalid/;accesskey=AAAA")?;
        let client = AcsClient::new(
            reqwest::Client::new(),
            &conn,
            std::time::Duration::from_secs(1),
        );
        let resources = Arc::new(AcsResources::new(client));
        let deletions = DeletionWorker::new(
            store.clone(),
            Arc::clone(&resources),
            std::time::Duration::from_secs(60),
        );
        let tokens = TokenService::new(
            store.clone(),
            resources,
            &crate::config::CacheSettings::default(),
            deletions,
        );
        Ok(Self {
            tenants: Arc::new(TenantRegistry::default()),
            tokens,
            store,
            accepting: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        })
    }
}
