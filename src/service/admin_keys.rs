//! Operator authentication for the admin API: an admin key is compared, as its SHA-256 hash
//! and in constant time, with every configured hash. Each use is audited; refusals are
//! audited in aggregate — one row per client address per minute, with the count — so that
//! wrong keys cannot flood the audit log. The keys themselves are never stored.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::audit::actions;
use super::{Actor, AuditLog, ServiceError};
use crate::store::admin::NewAuditEvent;

/// The configured admin key hashes and the audit log their use is written to.
#[derive(Clone)]
pub struct AdminKeys {
    hashes: Arc<Vec<[u8; 32]>>,
    audit: AuditLog,
    refusals: Arc<Mutex<Refusals>>,
}

/// How long refusals from one address are summed into one audit row.
pub const REFUSAL_WINDOW: Duration = Duration::from_secs(60);
/// Addresses counted apart in one window; the others share one row.
const MAX_SOURCES: usize = 1000;
/// The longest request line (`METHOD /path`) written to the audit log.
const MAX_REQUEST_CHARS: usize = 200;

/// Refusals of the current window, per client address.
struct Refusals {
    since: Instant,
    by_source: HashMap<String, Refused>,
}

struct Refused {
    count: u64,
    /// The first refused request of the window.
    request: String,
    request_id: Option<String>,
}

impl Refusals {
    fn take(&mut self) -> HashMap<String, Refused> {
        self.since = Instant::now();
        std::mem::take(&mut self.by_source)
    }
}

fn clipped(request: &str) -> String {
    request.chars().take(MAX_REQUEST_CHARS).collect()
}

impl AdminKeys {
    /// `hex_hashes` are the SHA-256 hashes (hex) of the keys, as validated by the settings;
    /// one that does not decode is left out.
    pub fn new(hex_hashes: &[String], audit: AuditLog) -> Self {
        let hashes = hex_hashes.iter().filter_map(|h| decode_hash(h)).collect();
        Self {
            hashes: Arc::new(hashes),
            audit,
            refusals: Arc::new(Mutex::new(Refusals {
                since: Instant::now(),
                by_source: HashMap::new(),
            })),
        }
    }

    fn refusals(&self) -> std::sync::MutexGuard<'_, Refusals> {
        self.refusals
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts a refusal from `source`; the window's rows when it just ended.
    fn count_refusal(
        &self,
        source: Option<IpAddr>,
        request: &str,
        request_id: Option<String>,
    ) -> Option<HashMap<String, Refused>> {
        let mut refusals = self.refusals();
        let ended = (refusals.since.elapsed() >= REFUSAL_WINDOW).then(|| refusals.take());
        let mut source = source.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        if !refusals.by_source.contains_key(&source) && refusals.by_source.len() >= MAX_SOURCES {
            source = "other".to_owned();
        }
        refusals
            .by_source
            .entry(source)
            .or_insert_with(|| Refused {
                count: 0,
                request: clipped(request),
                request_id,
            })
            .count += 1;
        ended
    }

    /// Writes one audit row per address that was refused in the window so far, and starts a
    /// new window (a background task calls it every [`REFUSAL_WINDOW`]; tests call it).
    pub async fn flush_refusals(&self) {
        let rows = self.refusals().take();
        self.write_refusals(rows).await;
    }

    async fn write_refusals(&self, rows: HashMap<String, Refused>) {
        for (source, refused) in rows {
            self.audit
                .record(NewAuditEvent {
                    actor: "anonymous".into(),
                    action: actions::ADMIN_KEY_REFUSED.into(),
                    target: Some(source.clone()),
                    detail: Some(
                        serde_json::json!({
                            "source": source,
                            "refused": refused.count,
                            "request": refused.request,
                        })
                        .to_string(),
                    ),
                    request_id: refused.request_id,
                    ..Default::default()
                })
                .await;
        }
    }

    /// Flushes the refusals every [`REFUSAL_WINDOW`] until aborted.
    pub fn spawn_flush(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(REFUSAL_WINDOW);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                self.flush_refusals().await;
            }
        })
    }

    /// Whether any key is configured (the admin API is on).
    pub fn enabled(&self) -> bool {
        !self.hashes.is_empty()
    }

    /// The actor a presented key stands for. `request` (`METHOD /path`) and `request_id` go to
    /// the audit log.
    pub async fn authenticate(
        &self,
        presented: &str,
        request: &str,
        request_id: Option<String>,
        source: Option<IpAddr>,
    ) -> Result<Actor, ServiceError> {
        if !self.enabled() {
            return Err(ServiceError::AdminDisabled);
        }
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut matched: Option<&[u8; 32]> = None;
        // Every hash is compared, so the time taken does not tell which one matched.
        for h in self.hashes.iter() {
            if bool::from(h.ct_eq(&digest)) {
                matched = Some(h);
            }
        }
        let Some(hash) = matched else {
            if let Some(ended) = self.count_refusal(source, request, request_id) {
                self.write_refusals(ended).await;
            }
            return Err(ServiceError::AdminKeyInvalid);
        };
        let detail = Some(serde_json::json!({ "request": clipped(request) }).to_string());
        let key_id: String = hash.iter().take(6).map(|b| format!("{b:02x}")).collect();
        let actor = Actor {
            name: format!("admin:{key_id}"),
            request_id: request_id.clone(),
        };
        self.audit
            .record(NewAuditEvent {
                actor: actor.name.clone(),
                action: actions::ADMIN_KEY_USED.into(),
                detail,
                request_id,
                ..Default::default()
            })
            .await;
        Ok(actor)
    }
}

/// A SHA-256 hash in hex (64 characters) to its bytes.
fn decode_hash(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..64)
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect();
    <[u8; 32]>::try_from(bytes?).ok()
}

#[cfg(test)]
mod tests {
    use super::decode_hash;

    #[test]
    fn hashes_decode_from_hex_and_bad_ones_are_left_out() {
        let hex = "00".repeat(31) + "ff";
        let bytes = decode_hash(&hex).unwrap();
        assert_eq!(bytes[31], 0xff);
        assert!(decode_hash("abc").is_none());
        assert!(decode_hash(&"zz".repeat(32)).is_none());
    }
}
