//! Deletions of ACS identities that must happen even when ACS is failing: a row in
//! `pending_deletions` stays until ACS confirms, and a background worker retries due rows with
//! exponential back-off, across restarts.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rand::Rng;

use crate::registry::AcsResources;
use crate::store::{DeletionReason, PendingDeletion, Store};

#[derive(Clone)]
pub struct DeletionWorker {
    store: Store,
    resources: Arc<AcsResources>,
    max_backoff: Duration,
}

impl DeletionWorker {
    pub fn new(store: Store, resources: Arc<AcsResources>, max_backoff: Duration) -> Self {
        Self {
            store,
            resources,
            max_backoff,
        }
    }

    /// One attempt at a pending deletion. True when ACS confirmed it (or no longer knows the
    /// identity) and the row is gone; false when it stays queued for a later attempt.
    pub async fn attempt(&self, pending: &PendingDeletion) -> bool {
        let result = match self.resources.get(&pending.acs_resource) {
            Some(resource) => resource
                .client
                .delete_identity(&pending.acs_user_id)
                .await
                .map_err(|e| (e.is_identity_not_found(), e.to_string())),
            None => Err((
                false,
                format!("ACS resource `{}` is not configured", pending.acs_resource),
            )),
        };
        // A crash here: ACS deleted the identity, the row stays; the next attempt finds a 404.
        fail::fail_point!("delete_user::after_acs_delete", |_| false);
        match result {
            Ok(()) | Err((true, _)) => match self.store.complete_deletion(pending.id).await {
                Ok(()) => {
                    tracing::info!(acs_user_id = %pending.acs_user_id, reason = %pending.reason, "ACS identity deleted");
                    true
                }
                Err(e) => {
                    // ACS deleted it; the row will be retried, find a 404 and be removed then.
                    tracing::warn!(error = %e, "could not clear a completed pending deletion");
                    true
                }
            },
            Err((_, error)) => {
                let attempts = pending.attempts.saturating_add(1);
                let delay = backoff(attempts, self.max_backoff);
                let next = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
                tracing::warn!(
                    acs_user_id = %pending.acs_user_id,
                    attempts,
                    retry_in_secs = delay.as_secs(),
                    error = %error,
                    "ACS identity deletion failed; queued for retry"
                );
                if let Err(e) = self
                    .store
                    .defer_deletion(pending.id, attempts, next, &error)
                    .await
                {
                    tracing::error!(error = %e, "could not record a failed deletion attempt");
                }
                false
            }
        }
    }

    /// Gets rid of an identity nobody maps to: tries once now, and queues it when that fails.
    pub async fn discard(&self, tenant_id: &str, acs_user_id: &str, resource: &str) {
        match self
            .store
            .enqueue_deletion(
                tenant_id,
                acs_user_id,
                resource,
                DeletionReason::RaceLoser,
                Utc::now(),
            )
            .await
        {
            Ok(pending) => {
                self.attempt(&pending).await;
            }
            Err(e) => {
                tracing::error!(error = %e, acs_user_id, "could not queue the deletion of a surplus identity; deleting directly");
                if let Some(r) = self.resources.get(resource)
                    && let Err(e) = r.client.delete_identity(acs_user_id).await
                {
                    tracing::error!(error = %e, acs_user_id, "surplus ACS identity could not be deleted");
                }
            }
        }
    }

    /// Attempts every due deletion once. Returns how many were completed.
    pub async fn run_due(&self) -> usize {
        let due = match self.store.due_deletions(Utc::now(), 100).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "could not read pending deletions");
                return 0;
            }
        };
        let mut done = 0;
        for pending in &due {
            if self.attempt(pending).await {
                done += 1;
            }
        }
        done
    }

    /// Runs `run_due` every `interval` until the task is aborted.
    pub fn spawn(self, interval: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                self.run_due().await;
            }
        })
    }
}

/// Exponential back-off with full jitter: 2^attempts seconds, capped, then a random share of it.
fn backoff(attempts: i32, cap: Duration) -> Duration {
    let exp = 2u64.saturating_pow(u32::try_from(attempts.clamp(0, 30)).unwrap_or(30));
    let ceiling = Duration::from_secs(exp)
        .min(cap)
        .max(Duration::from_secs(1));
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::thread_rng().gen_range(millis / 2..=millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let cap = Duration::from_secs(60);
        assert!(backoff(1, cap) <= Duration::from_secs(2));
        assert!(backoff(3, cap) >= Duration::from_secs(4));
        for _ in 0..50 {
            assert!(backoff(30, cap) <= cap);
        }
    }
}
