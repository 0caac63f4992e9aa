//! Refused bearer tokens, counted per tenant and code. Unauthenticated callers choose how many
//! tokens are refused, so a refusal is logged at `debug` only (never the token), and a summary
//! of the counts at `info` at most once per [`SUMMARY_EVERY`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often the summary is logged (when anything was refused).
pub const SUMMARY_EVERY: Duration = Duration::from_secs(60);
/// (tenant, code) pairs counted apart; past them a tenant shares `other` (ids come from the
/// registry, but bound the map anyway).
const MAX_ENTRIES: usize = 10_000;

/// Refusals by (tenant, code).
pub type Counts = BTreeMap<(String, &'static str), u64>;

/// Counts by (tenant, code). Clones share them.
#[derive(Clone, Default)]
pub struct RefusedTokens {
    /// Since the start, and since the last summary.
    counts: Arc<Mutex<(Counts, Counts)>>,
}

impl RefusedTokens {
    fn lock(&self) -> std::sync::MutexGuard<'_, (Counts, Counts)> {
        self.counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// One token of `tenant` refused with `code`.
    pub fn count(&self, tenant: &str, code: &'static str) {
        tracing::debug!(tenant, code, "bearer token refused");
        let mut counts = self.lock();
        let mut key = (tenant.to_owned(), code);
        if !counts.0.contains_key(&key) && counts.0.len() >= MAX_ENTRIES {
            key.0 = "other".to_owned();
        }
        *counts.1.entry(key.clone()).or_default() += 1;
        *counts.0.entry(key).or_default() += 1;
    }

    /// All refusals since the start, by (tenant, code).
    pub fn totals(&self) -> Counts {
        self.lock().0.clone()
    }

    /// Logs the refusals since the last summary at `info` (nothing when there were none).
    pub fn summarize(&self) {
        let recent = std::mem::take(&mut self.lock().1);
        if recent.is_empty() {
            return;
        }
        let total: u64 = recent.values().sum();
        let by: Vec<String> = recent
            .iter()
            .map(|((tenant, code), n)| format!("{tenant}/{code}={n}"))
            .collect();
        tracing::info!(total, counts = %by.join(" "), "bearer tokens refused since the last summary");
    }

    /// Logs the summary every [`SUMMARY_EVERY`] until aborted.
    pub fn spawn_summary(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(SUMMARY_EVERY);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                self.summarize();
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_counted_per_tenant_and_code_and_the_summary_starts_over() {
        let r = RefusedTokens::default();
        r.count("acme", "token_expired");
        r.count("acme", "token_expired");
        r.count("beta", "token_malformed");
        let totals = r.totals();
        assert_eq!(totals[&("acme".to_owned(), "token_expired")], 2);
        assert_eq!(totals[&("beta".to_owned(), "token_malformed")], 1);
        r.summarize();
        assert!(r.lock().1.is_empty());
        assert_eq!(r.totals().values().sum::<u64>(), 3, "totals stay");
    }
}
