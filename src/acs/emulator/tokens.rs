//! The emulator's access tokens: RS256 JWTs with the claims of real ACS tokens.
//!
//! Header: `alg` RS256, `kid` (upper-case hex of the first 20 bytes of SHA-256 over the
//! PKCS#1 public key, shaped like a certificate thumbprint), `x5t` (the same 20 bytes,
//! base64url), `typ` JWT. Payload: `skypeid` (`acs:<resourceId>_<uuid>`, or `orgid:<oid>` for
//! Teams users), `scp` (bitmask, see [`scope_mask`]), `csi` (issue time, epoch seconds as a
//! string), `iat`, `exp`, `acsScope` (`chat,voip`) and `resourceId`.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::EmulatorError;
use crate::acs::wire::Scope;

/// RSA modulus size of the token signing key.
const RSA_BITS: KeySize = KeySize::Rsa2048;

/// The `scp` bitmask of one scope. Emulator-defined (the real values are not published);
/// chosen so that `chat` + `voip` gives 1792, the value in the published sample token:
/// `chat` = 0x300 (768), `voip` = 0x400 (1024), `chat.join` = 0x20, `chat.join.limited` = 0x40,
/// `voip.join` = 0x80.
pub fn scope_mask(scope: Scope) -> u32 {
    match scope {
        Scope::Chat => 0x300,
        Scope::Voip => 0x400,
        Scope::ChatJoin => 0x20,
        Scope::ChatJoinLimited => 0x40,
        Scope::VoipJoin => 0x80,
    }
}

/// The key the emulator signs access tokens with. Generating an RSA key takes a moment, so
/// tests may generate it once and pass clones (cheap: `Arc` inside) in
/// [`super::EmulatorConfig::signing_key`].
#[derive(Clone)]
pub struct TokenSigningKey {
    inner: Arc<KeyInner>,
}

struct KeyInner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    kid: String,
    x5t: String,
}

impl fmt::Debug for TokenSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSigningKey")
            .field("kid", &self.inner.kid)
            .finish_non_exhaustive()
    }
}

impl TokenSigningKey {
    /// Generate a fresh RSA-2048 key (aws-lc-rs, like all crypto of the binary).
    pub fn generate() -> Result<Self, EmulatorError> {
        let key = |e: &dyn fmt::Display| EmulatorError::Key(e.to_string());
        let pair = KeyPair::generate(RSA_BITS).map_err(|e| key(&e))?;
        let pkcs8 = pair.as_der().map_err(|e| key(&e))?;
        // jsonwebtoken's RSA `EncodingKey` holds PKCS#1 DER; its PEM reader unwraps PKCS#8.
        let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.as_ref()));
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| key(&e))?;
        // `as_ref` of the public key is its PKCS#1 `RSAPublicKey` DER.
        let public = pair.public_key();
        let thumb = Sha256::digest(public.as_ref());
        let thumb = &thumb[..20];
        let kid = thumb.iter().map(|b| format!("{b:02X}")).collect();
        let x5t = URL_SAFE_NO_PAD.encode(thumb);
        let components = PublicKeyComponents::<Vec<u8>>::from(public);
        let decoding = DecodingKey::from_rsa_raw_components(&components.n, &components.e);
        Ok(Self {
            inner: Arc::new(KeyInner {
                encoding,
                decoding,
                kid,
                x5t,
            }),
        })
    }

    /// The `kid` in the tokens' header.
    pub fn kid(&self) -> &str {
        &self.inner.kid
    }

    pub(crate) fn mint(&self, claims: &AcsClaims) -> Result<String, EmulatorError> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.inner.kid.clone());
        header.x5t = Some(self.inner.x5t.clone());
        header.typ = Some("JWT".into());
        jsonwebtoken::encode(&header, claims, &self.inner.encoding)
            .map_err(|e| EmulatorError::Key(format!("cannot sign a token: {e}")))
    }

    /// Verify a token's signature (RS256 only, whatever the header says) and expiry.
    pub(crate) fn verify(&self, token: &str) -> Option<AcsClaims> {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_aud = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp"]);
        jsonwebtoken::decode::<AcsClaims>(token, &self.inner.decoding, &validation)
            .ok()
            .map(|data| data.claims)
    }
}

/// The payload of an emulator access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AcsClaims {
    pub skypeid: String,
    pub scp: u32,
    pub csi: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(rename = "acsScope")]
    pub acs_scope: String,
    #[serde(rename = "resourceId")]
    pub resource_id: String,
}

impl AcsClaims {
    pub fn new(
        skypeid: String,
        scopes: &[Scope],
        resource_id: &str,
        issued: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Self {
        Self {
            skypeid,
            scp: scopes.iter().fold(0, |m, s| m | scope_mask(*s)),
            csi: issued.timestamp().to_string(),
            iat: issued.timestamp(),
            exp: expires.timestamp(),
            acs_scope: scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(","),
            resource_id: resource_id.to_owned(),
        }
    }
}

/// `expiresOn` as ACS writes it: `2023-10-10T21:39:39.3244584+00:00` (7 fractional digits).
pub fn format_expires_on(t: DateTime<Utc>) -> String {
    format!(
        "{}.{:07}+00:00",
        t.format("%Y-%m-%dT%H:%M:%S"),
        t.timestamp_subsec_nanos() / 100
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn expires_on_has_seven_fractional_digits_and_utc_offset() {
        let t = Utc.timestamp_opt(1_696_973_979, 324_458_400).unwrap();
        assert_eq!(format_expires_on(t), "2023-10-10T21:39:39.3244584+00:00");
        let t = Utc.timestamp_opt(1_696_973_979, 0).unwrap();
        assert_eq!(format_expires_on(t), "2023-10-10T21:39:39.0000000+00:00");
    }

    #[test]
    fn chat_plus_voip_is_1792_like_the_published_sample() {
        let now = Utc::now();
        let c = AcsClaims::new("acs:r_u".into(), &[Scope::Chat, Scope::Voip], "r", now, now);
        assert_eq!(c.scp, 1792);
        assert_eq!(c.acs_scope, "chat,voip");
    }
}
