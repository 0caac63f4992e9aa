//! Hits and misses of the caches that keep returning users off the store and ACS: the mapping
//! cache and the ACS token cache (read by the metrics; the verified-token cache counts its own,
//! [`super::VerificationStats`]).

use std::sync::atomic::{AtomicU64, Ordering};

/// Lookups so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Mappings served from memory.
    pub mapping_hits: u64,
    /// Mappings read from (or created in) the store.
    pub mapping_misses: u64,
    /// ACS tokens handed out again from the token cache.
    pub token_hits: u64,
    /// ACS tokens that had to be issued (or came with a new identity).
    pub token_misses: u64,
}

#[derive(Debug, Default)]
pub(crate) struct CacheCounters {
    mapping_hits: AtomicU64,
    mapping_misses: AtomicU64,
    token_hits: AtomicU64,
    token_misses: AtomicU64,
}

impl CacheCounters {
    pub(crate) fn mapping(&self, hit: bool) {
        let counter = if hit {
            &self.mapping_hits
        } else {
            &self.mapping_misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn token(&self, hit: bool) {
        let counter = if hit {
            &self.token_hits
        } else {
            &self.token_misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats {
            mapping_hits: self.mapping_hits.load(Ordering::Relaxed),
            mapping_misses: self.mapping_misses.load(Ordering::Relaxed),
            token_hits: self.token_hits.load(Ordering::Relaxed),
            token_misses: self.token_misses.load(Ordering::Relaxed),
        }
    }
}
