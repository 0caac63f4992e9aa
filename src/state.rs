//! What every handler needs, passed in explicitly (no globals).

use std::sync::Arc;

use crate::service::{AcsResources, AuditLog, TenantAdmin, TokenService};
use crate::store::Store;
use crate::tenants::TenantDirectory;

#[derive(Clone)]
pub struct AppState {
    pub tenants: Arc<TenantDirectory>,
    pub tokens: TokenService,
    pub store: Store,
    pub resources: Arc<AcsResources>,
    pub audit: AuditLog,
    pub admin: TenantAdmin,
    pub limits: crate::service::RateLimits,
    /// SHA-256 hashes of the admin API keys.
    pub admin_key_hashes: Arc<Vec<[u8; 32]>>,
    /// True until shutdown begins; `/readyz` reports it.
    pub accepting: Arc<std::sync::atomic::AtomicBool>,
}

impl AppState {
    /// A state that serves nothing: no database, no tenants, an ACS client that is never
    /// called. Used to render the OpenAPI spec without any I/O.
    pub fn detached() -> Result<Self, crate::acs::AcsError> {
        use crate::acs::{AcsClient, ConnectionString};
        use crate::service::DeletionWorker;
        use acs_auth_providers::ProviderContext;
        use std::time::Duration;
        let store = Store::detached();
        let http = reqwest::Client::new();
        let conn = ConnectionString::parse("endpoint=https://spec.invalid/;accesskey=AAAA")?;
        let client = AcsClient::new(http.clone(), &conn, Duration::from_secs(1));
        let resources = Arc::new(AcsResources::with_client(client));
        let deletions = DeletionWorker::new(
            store.clone(),
            Arc::clone(&resources),
            Duration::from_secs(60),
        );
        let audit = AuditLog::new(store.clone());
        let tokens = TokenService::new(
            store.clone(),
            Arc::clone(&resources),
            &crate::config::CacheSettings::default(),
            deletions.clone(),
            audit.clone(),
        );
        let factory = ProviderContext {
            http: http.clone(),
            jwks: Arc::new(acs_auth_providers::JwksCache::new(http, Default::default())),
            leeway_secs: 60,
            max_token_bytes: 16 * 1024,
        };
        let tenants = Arc::new(TenantDirectory::detached(Arc::clone(&resources), factory));
        let admin = TenantAdmin::new(
            store.clone(),
            Arc::clone(&tenants),
            tokens.clone(),
            deletions,
            audit.clone(),
        );
        Ok(Self {
            tenants,
            tokens,
            store,
            resources,
            audit,
            admin,
            limits: crate::service::RateLimits::unlimited(),
            admin_key_hashes: Arc::new(Vec::new()),
            accepting: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        })
    }
}
