//! The audit log: security events in the database, listed by the admin API. Writing an event
//! never fails the request that caused it (a failure is logged instead). Token issues are
//! counted in memory and written as one summary event per tenant and interval, so the hot
//! path stays free of writes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;

use crate::store::Store;
use crate::store::admin::NewAuditEvent;

/// Stable action names.
pub mod actions {
    pub const IDENTITY_CREATED: &str = "identity.created";
    pub const IDENTITY_DELETED: &str = "identity.deleted";
    pub const TOKENS_ISSUED: &str = "tokens.issued";
    pub const TEAMS_TOKEN_EXCHANGED: &str = "teams_token.exchanged";
    pub const TENANT_CREATED: &str = "tenant.created";
    pub const TENANT_UPDATED: &str = "tenant.updated";
    pub const TENANT_DELETED: &str = "tenant.deleted";
    pub const SETUP_LINK_CREATED: &str = "setup_link.created";
    pub const SETUP_LINK_OPENED: &str = "setup_link.opened";
    pub const SETUP_LINK_SUBMITTED: &str = "setup_link.submitted";
    pub const SETUP_LINK_ACTIVATED: &str = "setup_link.activated";
    pub const SETUP_LINK_REVOKED: &str = "setup_link.revoked";
    pub const ADMIN_KEY_USED: &str = "admin.key_used";
    pub const ADMIN_KEY_REFUSED: &str = "admin.key_refused";
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    issued: u64,
    from_cache: u64,
}

#[derive(Clone)]
pub struct AuditLog {
    store: Store,
    counts: Arc<Mutex<HashMap<String, Counts>>>,
}

impl AuditLog {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            counts: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Writes one event; a failure is logged, not returned.
    pub async fn record(&self, event: NewAuditEvent) {
        let action = event.action.clone();
        if let Err(e) = self.store.record_audit(event, Utc::now()).await {
            tracing::error!(error = %e, %action, "could not write an audit event");
        }
    }

    /// Counts one token handed out (`from_cache`: without an ACS call).
    pub fn count_token(&self, tenant: &str, from_cache: bool) {
        if let Ok(mut counts) = self.counts.lock() {
            // The tenant's name is copied only the first time in a flush period.
            let c = match counts.get_mut(tenant) {
                Some(c) => c,
                None => counts.entry(tenant.to_owned()).or_default(),
            };
            c.issued += 1;
            if from_cache {
                c.from_cache += 1;
            }
        }
    }

    /// Writes one `tokens.issued` summary per tenant with tokens since the last flush.
    pub async fn flush(&self) {
        let drained: Vec<(String, Counts)> = match self.counts.lock() {
            Ok(mut counts) => counts.drain().collect(),
            Err(_) => return,
        };
        for (tenant, c) in drained {
            self.record(NewAuditEvent {
                tenant_id: Some(tenant),
                actor: "acs-auth".into(),
                action: actions::TOKENS_ISSUED.into(),
                target: None,
                detail: Some(
                    serde_json::json!({"count": c.issued, "fromCache": c.from_cache}).to_string(),
                ),
                request_id: None,
            })
            .await;
        }
    }

    pub fn spawn_flush(self, interval: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                self.flush().await;
            }
        })
    }
}
