//! JOSE keys and algorithms: the asymmetric algorithm allow-list and the JWK / JWKS parsing
//! into ready-to-use [`jsonwebtoken::DecodingKey`]s, each bound to the one algorithm it may be
//! used with (from the JWK's `kty`/`crv`/`alg`; never HMAC, never `none`).
//!
//! Pure data and parsing: no I/O, no cache (see [`crate::jwks`]), no token checks (see
//! [`crate::validate`]).

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The algorithms a key may ever be used with: asymmetric only (no HMAC, never `none`).
pub const ALLOWED_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The JOSE name of an algorithm (`"RS256"`, …).
pub fn algorithm_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::EdDSA => "EdDSA",
    }
}

/// The allowed algorithm whose JOSE name is exactly `name` (case-sensitive).
pub fn allowed_algorithm(name: &str) -> Option<Algorithm> {
    ALLOWED_ALGORITHMS
        .iter()
        .copied()
        .find(|alg| algorithm_name(*alg) == name)
}
/// One signature-verification key from a JWKS, parsed once.
#[derive(Debug, Clone)]
pub struct VerificationKey {
    /// The JWK's `kid`.
    pub kid: Option<String>,
    /// The single algorithm this key may be used with.
    pub algorithm: Algorithm,
    /// The ready-to-use key.
    pub decoding_key: DecodingKey,
    /// The JWK's `issuer` member, when published (Entra ID's common JWKS does).
    pub issuer: Option<String>,
    /// The JWK's `x5t` (certificate SHA-1 thumbprint), when published.
    pub x5t: Option<String>,
    /// SHA-256 of everything verification takes from the JWK (`kid`, the algorithm, the key
    /// material, `issuer`): two keys with the same fingerprint verify the same tokens.
    pub fingerprint: KeyFingerprint,
}

/// The fingerprint of a [`VerificationKey`]: which key verified a token, so that a verdict can
/// be dropped once the key leaves its set ([`KeySet::contains`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyFingerprint([u8; 32]);

impl KeyFingerprint {
    /// The SHA-256 digest of the given fields, each length-prefixed (absent and empty differ).
    fn of(fields: &[Option<&str>]) -> Self {
        let mut hash = Sha256::new();
        for field in fields {
            match field {
                None => hash.update([0u8]),
                Some(value) => {
                    hash.update([1u8]);
                    hash.update((value.len() as u64).to_be_bytes());
                    hash.update(value.as_bytes());
                }
            }
        }
        Self(hash.finalize().into())
    }

    /// The digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyFingerprint(")?;
        for byte in &self.0[..8] {
            write!(f, "{byte:02x}")?;
        }
        f.write_str("…)")
    }
}

/// The members of a JWK we read. Unknown members are ignored.
#[derive(Debug, Deserialize)]
struct RawJwk {
    kty: String,
    #[serde(rename = "use")]
    key_use: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    kid: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
    issuer: Option<String>,
    x5t: Option<String>,
}

fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, String> {
    value.as_deref().ok_or_else(|| format!("missing {name}"))
}

fn decoded_len(value: &str, name: &str) -> Result<usize, String> {
    URL_SAFE_NO_PAD
        .decode(value)
        .map(|bytes| bytes.len())
        .map_err(|_| format!("{name} is not base64url"))
}

/// Smallest RSA modulus accepted (RFC 7518 §3.3).
const MIN_RSA_MODULUS_BYTES: usize = 2048 / 8;

impl VerificationKey {
    /// Parse one JWK. `Err` says why the key is not usable for verifying signatures (symmetric,
    /// encryption-only, unsupported curve or algorithm, malformed); such keys are skipped.
    pub fn from_jwk(jwk: &Value) -> Result<Self, String> {
        let raw = RawJwk::deserialize(jwk).map_err(|e| format!("not a JWK: {e}"))?;
        if let Some(key_use) = &raw.key_use
            && key_use != "sig"
        {
            return Err(format!("use is {key_use:?}, not sig"));
        }
        if let Some(ops) = &raw.key_ops
            && !ops.iter().any(|op| op == "verify")
        {
            return Err("key_ops does not include verify".to_owned());
        }
        let alg = raw.alg.as_deref();
        let (algorithm, decoding_key) = match raw.kty.as_str() {
            "RSA" => {
                let algorithm = match alg {
                    None | Some("RS256") => Algorithm::RS256,
                    Some("RS384") => Algorithm::RS384,
                    Some("RS512") => Algorithm::RS512,
                    Some("PS256") => Algorithm::PS256,
                    Some("PS384") => Algorithm::PS384,
                    Some("PS512") => Algorithm::PS512,
                    Some(other) => return Err(format!("RSA key with alg {other:?}")),
                };
                let n = required(&raw.n, "n")?;
                let e = required(&raw.e, "e")?;
                if decoded_len(n, "n")? < MIN_RSA_MODULUS_BYTES {
                    return Err("RSA modulus shorter than 2048 bits".to_owned());
                }
                decoded_len(e, "e")?;
                let key = DecodingKey::from_rsa_components(n, e)
                    .map_err(|e| format!("bad RSA components: {e}"))?;
                (algorithm, key)
            }
            "EC" => {
                let (algorithm, size) = match (raw.crv.as_deref(), alg) {
                    (Some("P-256"), None | Some("ES256")) => (Algorithm::ES256, 32),
                    (Some("P-384"), None | Some("ES384")) => (Algorithm::ES384, 48),
                    (crv, alg) => return Err(format!("EC key with crv {crv:?} and alg {alg:?}")),
                };
                let x = required(&raw.x, "x")?;
                let y = required(&raw.y, "y")?;
                if decoded_len(x, "x")? != size || decoded_len(y, "y")? != size {
                    return Err("EC coordinates of the wrong length".to_owned());
                }
                let key = DecodingKey::from_ec_components(x, y)
                    .map_err(|e| format!("bad EC components: {e}"))?;
                (algorithm, key)
            }
            "OKP" => {
                match (raw.crv.as_deref(), alg) {
                    (Some("Ed25519"), None | Some("EdDSA") | Some("Ed25519")) => {}
                    (crv, alg) => return Err(format!("OKP key with crv {crv:?} and alg {alg:?}")),
                }
                let x = required(&raw.x, "x")?;
                if decoded_len(x, "x")? != 32 {
                    return Err("Ed25519 key of the wrong length".to_owned());
                }
                let key = DecodingKey::from_ed_components(x)
                    .map_err(|e| format!("bad Ed25519 key: {e}"))?;
                (Algorithm::EdDSA, key)
            }
            other => return Err(format!("key type {other:?} is not accepted")),
        };
        let fingerprint = KeyFingerprint::of(&[
            Some(raw.kty.as_str()),
            Some(algorithm_name(algorithm)),
            raw.kid.as_deref(),
            raw.crv.as_deref(),
            raw.n.as_deref(),
            raw.e.as_deref(),
            raw.x.as_deref(),
            raw.y.as_deref(),
            raw.issuer.as_deref(),
        ]);
        Ok(Self {
            kid: raw.kid,
            algorithm,
            decoding_key,
            issuer: raw.issuer,
            x5t: raw.x5t,
            fingerprint,
        })
    }
}

/// A parsed key set and when it was fetched.
#[derive(Debug, Clone)]
pub struct KeySet {
    keys: Vec<Arc<VerificationKey>>,
    fingerprints: HashSet<KeyFingerprint>,
    fetched_at: Instant,
}

#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<Value>,
}

impl KeySet {
    /// Parse a JWKS document, keeping the usable signature keys; fails when none is usable.
    pub fn from_json(document: &[u8]) -> Result<Self, String> {
        let raw: RawJwks =
            serde_json::from_slice(document).map_err(|e| format!("not a JWKS document: {e}"))?;
        let mut keys = Vec::with_capacity(raw.keys.len());
        for jwk in &raw.keys {
            match VerificationKey::from_jwk(jwk) {
                Ok(key) => keys.push(Arc::new(key)),
                Err(reason) => tracing::debug!(%reason, "JWKS key skipped"),
            }
        }
        if keys.is_empty() {
            return Err("the JWKS has no usable signature key".to_owned());
        }
        let fingerprints = keys.iter().map(|k| k.fingerprint).collect();
        Ok(Self {
            keys,
            fingerprints,
            fetched_at: Instant::now(),
        })
    }

    /// The usable keys.
    pub fn keys(&self) -> &[Arc<VerificationKey>] {
        &self.keys
    }

    /// Whether the key with this fingerprint is in the set (O(1)).
    pub fn contains(&self, fingerprint: &KeyFingerprint) -> bool {
        self.fingerprints.contains(fingerprint)
    }

    /// When the set was fetched.
    pub fn fetched_at(&self) -> Instant {
        self.fetched_at
    }

    /// The key for `kid`; without a `kid`, the only key when the set has exactly one.
    pub fn find(&self, kid: Option<&str>) -> Option<Arc<VerificationKey>> {
        match kid {
            Some(kid) => self
                .keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid))
                .cloned(),
            None if self.keys.len() == 1 => self.keys.first().cloned(),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn rsa_jwk(extra: Value) -> Value {
        let mut jwk = json!({ "kty": "RSA", "n": b64(&[0xc5; 256]), "e": "AQAB", "kid": "r1" });
        if let (Value::Object(jwk), Value::Object(extra)) = (&mut jwk, extra) {
            jwk.extend(extra);
        }
        jwk
    }

    fn ec_jwk(crv: &str, size: usize) -> Value {
        json!({ "kty": "EC", "crv": crv, "x": b64(&vec![1; size]), "y": b64(&vec![2; size]), "kid": "e1" })
    }

    #[test]
    fn rsa_key_defaults_to_rs256_and_keeps_its_declared_rsa_algorithm() {
        let key = VerificationKey::from_jwk(&rsa_jwk(json!({}))).unwrap();
        assert_eq!(key.algorithm, Algorithm::RS256);
        assert_eq!(key.kid.as_deref(), Some("r1"));
        for alg in ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"] {
            let key =
                VerificationKey::from_jwk(&rsa_jwk(json!({ "alg": alg, "use": "sig" }))).unwrap();
            assert_eq!(algorithm_name(key.algorithm), alg);
        }
    }

    #[test]
    fn rsa_key_with_a_non_rsa_signature_algorithm_is_skipped() {
        for alg in ["HS256", "none", "ES256", "RSA-OAEP", "rs256"] {
            assert!(
                VerificationKey::from_jwk(&rsa_jwk(json!({ "alg": alg }))).is_err(),
                "{alg}"
            );
        }
    }

    #[test]
    fn rsa_key_shorter_than_2048_bits_is_skipped() {
        let jwk = json!({ "kty": "RSA", "n": b64(&[0xc5; 128]), "e": "AQAB" });
        assert!(VerificationKey::from_jwk(&jwk).is_err());
    }

    #[test]
    fn ec_keys_map_to_es256_and_es384_by_curve() {
        let key = VerificationKey::from_jwk(&ec_jwk("P-256", 32)).unwrap();
        assert_eq!(key.algorithm, Algorithm::ES256);
        let key = VerificationKey::from_jwk(&ec_jwk("P-384", 48)).unwrap();
        assert_eq!(key.algorithm, Algorithm::ES384);
        assert!(VerificationKey::from_jwk(&ec_jwk("P-521", 66)).is_err());
        assert!(
            VerificationKey::from_jwk(&ec_jwk("P-256", 48)).is_err(),
            "wrong length"
        );
        let mut mismatched = ec_jwk("P-256", 32);
        mismatched["alg"] = json!("ES384");
        assert!(VerificationKey::from_jwk(&mismatched).is_err());
    }

    #[test]
    fn okp_ed25519_key_maps_to_eddsa() {
        let jwk = json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(&[7; 32]), "kid": "o1" });
        assert_eq!(
            VerificationKey::from_jwk(&jwk).unwrap().algorithm,
            Algorithm::EdDSA
        );
        let jwk = json!({ "kty": "OKP", "crv": "X25519", "x": b64(&[7; 32]) });
        assert!(VerificationKey::from_jwk(&jwk).is_err());
    }

    #[test]
    fn symmetric_and_encryption_keys_are_ignored() {
        let oct = json!({ "kty": "oct", "k": b64(b"secret"), "kid": "s1", "alg": "HS256" });
        assert!(VerificationKey::from_jwk(&oct).is_err());
        assert!(VerificationKey::from_jwk(&rsa_jwk(json!({ "use": "enc" }))).is_err());
        assert!(VerificationKey::from_jwk(&rsa_jwk(json!({ "key_ops": ["encrypt"] }))).is_err());
        assert!(VerificationKey::from_jwk(&rsa_jwk(json!({ "key_ops": ["verify"] }))).is_ok());
        let document = json!({ "keys": [oct, rsa_jwk(json!({ "use": "enc" }))] }).to_string();
        assert!(
            KeySet::from_json(document.as_bytes()).is_err(),
            "no usable key is an error"
        );
    }

    #[test]
    fn key_issuer_and_x5t_are_kept() {
        let jwk = rsa_jwk(json!({
            "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0",
            "x5t": "abc",
            "x5c": ["MIIB"],
        }));
        let key = VerificationKey::from_jwk(&jwk).unwrap();
        assert_eq!(
            key.issuer.as_deref(),
            Some("https://login.microsoftonline.com/{tenantid}/v2.0")
        );
        assert_eq!(key.x5t.as_deref(), Some("abc"));
    }

    #[test]
    fn token_without_kid_uses_the_only_key_and_nothing_else() {
        let one = json!({ "keys": [rsa_jwk(json!({}))] }).to_string();
        let set = KeySet::from_json(one.as_bytes()).unwrap();
        assert!(set.find(None).is_some());
        assert!(set.find(Some("r1")).is_some());
        assert!(set.find(Some("r2")).is_none());
        let two = json!({ "keys": [rsa_jwk(json!({})), ec_jwk("P-256", 32)] }).to_string();
        let set = KeySet::from_json(two.as_bytes()).unwrap();
        assert_eq!(set.keys().len(), 2);
        assert!(set.find(None).is_none());
        assert_eq!(set.find(Some("e1")).unwrap().algorithm, Algorithm::ES256);
    }

    #[test]
    fn unusable_keys_do_not_spoil_the_set() {
        let document = json!({ "keys": [
            { "kty": "weird" }, 17, { "kty": "RSA", "n": "!!", "e": "AQAB" }, rsa_jwk(json!({})),
        ] })
        .to_string();
        assert_eq!(
            KeySet::from_json(document.as_bytes()).unwrap().keys().len(),
            1
        );
        assert!(KeySet::from_json(b"{\"keys\": 5}").is_err());
        assert!(KeySet::from_json(b"<html>").is_err());
    }

    #[test]
    fn fingerprints_name_the_key_material_kid_and_issuer() {
        let key = |jwk: Value| VerificationKey::from_jwk(&jwk).unwrap().fingerprint;
        let base = key(rsa_jwk(json!({})));
        assert_eq!(
            base,
            key(rsa_jwk(json!({}))),
            "the same JWK, the same fingerprint"
        );
        // x5t and use do not change which tokens verify; kid, material, alg and issuer do.
        assert_eq!(base, key(rsa_jwk(json!({"x5t": "abc", "use": "sig"}))));
        assert_ne!(base, key(rsa_jwk(json!({"kid": "r2"}))));
        assert_ne!(base, key(rsa_jwk(json!({"n": b64(&[0xc6; 256])}))));
        assert_ne!(base, key(rsa_jwk(json!({"alg": "PS256"}))));
        assert_ne!(
            base,
            key(rsa_jwk(json!({"issuer": "https://x/{tenantid}/v2.0"})))
        );
        assert_ne!(key(ec_jwk("P-256", 32)), key(ec_jwk("P-384", 48)));
    }

    #[test]
    fn a_set_knows_its_fingerprints() {
        let set = |jwks: Value| KeySet::from_json(jwks.to_string().as_bytes()).unwrap();
        let one = set(json!({ "keys": [rsa_jwk(json!({}))] }));
        let other = set(json!({ "keys": [rsa_jwk(json!({"kid": "r2"}))] }));
        let fingerprint = one.keys()[0].fingerprint;
        assert!(one.contains(&fingerprint));
        assert!(!other.contains(&fingerprint));
        assert!(format!("{fingerprint:?}").starts_with("KeyFingerprint("));
    }
}
