//! Operator authentication for the admin API: an admin key is compared, as its SHA-256 hash
//! and in constant time, with every configured hash; each use and each refusal is audited.
//! The keys themselves are never stored.

use std::sync::Arc;

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
}

impl AdminKeys {
    /// `hex_hashes` are the SHA-256 hashes (hex) of the keys, as validated by the settings;
    /// one that does not decode is left out.
    pub fn new(hex_hashes: &[String], audit: AuditLog) -> Self {
        let hashes = hex_hashes.iter().filter_map(|h| decode_hash(h)).collect();
        Self {
            hashes: Arc::new(hashes),
            audit,
        }
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
        let detail = Some(serde_json::json!({ "request": request }).to_string());
        let Some(hash) = matched else {
            self.audit
                .record(NewAuditEvent {
                    actor: "anonymous".into(),
                    action: actions::ADMIN_KEY_REFUSED.into(),
                    detail,
                    request_id,
                    ..Default::default()
                })
                .await;
            return Err(ServiceError::AdminKeyInvalid);
        };
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
