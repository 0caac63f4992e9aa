//! The RFC 8725 checks every provider kind applies to a bearer token, as pure functions.
//!
//! The order is fixed by every provider's [`crate::IdentityProvider::verify`]:
//! 1. [`check_size_and_shape`]: bounded size, compact JWS only (three base64url segments);
//! 2. [`parse_header`]: our own strict parse of the protected header; `none` and HMAC refused,
//!    `crit` refused, `jku`/`x5u`/`jwk`/`x5c` ignored, `kid` kept as a plain lookup string;
//! 3. the caller looks the key up by `kid` (see [`crate::jwks::JwksCache`]);
//! 4. [`verify_token`]: `alg` compared exactly with the one algorithm the key allows, signature
//!    checked by `jsonwebtoken`, claims checked by `jsonwebtoken` *and* by [`check_claims`] on
//!    the payload parsed once with a parser that rejects duplicate keys.
//!
//! Nothing here ever puts the token, or any part of it, into an error message or a log line;
//! strings taken from a token reach an error only through [`describe_untrusted`].

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use jsonwebtoken::errors::ErrorKind;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::VerifyError;
use crate::jose::VerificationKey;

/// Default bound on the size of a token, checked before any parsing.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Default clock-skew allowance for `exp`, `nbf` and `iat`, in seconds.
pub const DEFAULT_LEEWAY_SECS: u64 = 60;

/// The claims of a token: a JSON object, parsed with duplicate keys rejected.
pub type Claims = Map<String, Value>;

/// The protected header, as far as we use it. Everything else in the header (`jku`, `x5u`,
/// `jwk`, `x5c`, `x5t`, …) is deliberately ignored: it never chooses a key. `typ` only tells
/// the token's kind ([`check_token_kind`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoseHeader {
    /// The header's `alg`, already known to be an asymmetric algorithm we implement (compared
    /// case-sensitively). It is still only a claim until [`verify_token`] compares it with the
    /// key's own algorithm.
    pub alg: Algorithm,
    /// The header's `kid`: a lookup string, nothing more.
    pub kid: Option<String>,
    /// The header's `typ` (`JWT`, `at+jwt`, …), when it has one.
    pub typ: Option<String>,
}

/// The payload of a token that passed [`verify_token`].
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedClaims {
    /// All claims, parsed once (duplicate keys refused).
    pub claims: Claims,
    /// `exp`, seconds since the epoch.
    pub expires_at: i64,
}

/// What the claims of a token must satisfy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRules {
    /// The exact `iss` expected (no normalisation: a trailing slash matters).
    pub issuer: String,
    /// `aud` must contain at least one of these.
    pub audiences: Vec<String>,
    /// Clock-skew allowance for `exp`, `nbf` and `iat`.
    pub leeway_secs: u64,
}

pub use crate::jose::{ALLOWED_ALGORITHMS, algorithm_name, allowed_algorithm};

/// A string taken from an unverified token, made safe for an error message: short plain
/// identifiers are kept (`RS256`, `none`), anything else is replaced.
pub fn describe_untrusted(value: &str) -> String {
    let plain = value.len() <= 16
        && !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if plain {
        value.to_owned()
    } else {
        "<unrecognised>".to_owned()
    }
}

fn malformed(what: &str) -> VerifyError {
    VerifyError::Malformed(what.to_owned())
}

/// Bounded size first, then the compact JWS shape: exactly three `.`-separated segments of
/// base64url characters `[A-Za-z0-9_-]` (no padding, no whitespace), header and payload
/// non-empty. A JWE (five segments), a JSON serialisation or anything else is `Malformed`.
/// The signature segment may be empty so that an unsigned (`alg: none`) token reaches the
/// algorithm check and is refused there, with the precise error.
pub fn check_size_and_shape(token: &str, max_bytes: usize) -> Result<(), VerifyError> {
    if token.len() > max_bytes {
        return Err(VerifyError::TooLarge);
    }
    if token.is_empty() {
        return Err(malformed("empty token"));
    }
    match token.split('.').count() {
        3 => {}
        5 => return Err(malformed("encrypted tokens (JWE) are not accepted")),
        _ => return Err(malformed("not a compact JWS (expected three segments)")),
    }
    for (index, segment) in token.split('.').enumerate() {
        if index < 2 && segment.is_empty() {
            return Err(malformed("empty header or payload segment"));
        }
        if !segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(malformed("token contains characters outside base64url"));
        }
    }
    Ok(())
}

fn segments(token: &str) -> Result<(&str, &str, &str), VerifyError> {
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(header), Some(payload), Some(signature), None) => Ok((header, payload, signature)),
        _ => Err(malformed("not a compact JWS (expected three segments)")),
    }
}

fn decode_segment(segment: &str, what: &str) -> Result<Vec<u8>, VerifyError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| VerifyError::Malformed(format!("{what} is not valid base64url")))
}

/// Parse a JSON object, refusing duplicate keys at any depth (RFC 8725 §3.7 parsing
/// ambiguity: `serde_json::Value` would silently keep the last one) and invalid UTF-8.
pub fn parse_json_object_strict(bytes: &[u8], what: &str) -> Result<Claims, VerifyError> {
    match serde_json::from_slice::<StrictValue>(bytes) {
        Ok(StrictValue(Value::Object(map))) => Ok(map),
        Ok(_) => Err(VerifyError::Malformed(format!(
            "{what} is not a JSON object"
        ))),
        Err(e) if e.to_string().contains(DUPLICATE_KEY) => {
            Err(VerifyError::Malformed(format!("{what} has duplicate keys")))
        }
        Err(_) => Err(VerifyError::Malformed(format!("{what} is not valid JSON"))),
    }
}

/// Parse the protected header ourselves (strictly) and apply the header rules: `alg` must be a
/// string naming an asymmetric algorithm we implement, compared exactly (`none` in any case and
/// HMAC are refused with `AlgorithmNotAllowed`); any `crit` is refused (we implement no
/// extension); `enc`/`zip`/`b64` are refused; `kid` must be a string when present.
/// `jku`, `x5u`, `jwk`, `x5c` are ignored — never fetched, never used to pick a key.
pub fn parse_header(token: &str) -> Result<JoseHeader, VerifyError> {
    let (header, _, _) = segments(token)?;
    let bytes = decode_segment(header, "header")?;
    let header = parse_json_object_strict(&bytes, "header")?;

    let alg = match header.get("alg") {
        Some(Value::String(alg)) => alg,
        Some(_) => return Err(malformed("header alg is not a string")),
        None => return Err(malformed("header has no alg")),
    };
    if alg.eq_ignore_ascii_case("none") {
        return Err(VerifyError::AlgorithmNotAllowed(describe_untrusted(alg)));
    }
    let Some(alg) = allowed_algorithm(alg) else {
        return Err(VerifyError::AlgorithmNotAllowed(describe_untrusted(alg)));
    };
    if header.contains_key("crit") {
        return Err(malformed(
            "header has critical parameters we do not understand",
        ));
    }
    for refused in ["enc", "zip", "b64"] {
        if header.contains_key(refused) {
            return Err(VerifyError::Malformed(format!(
                "header parameter {refused} is not accepted"
            )));
        }
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(malformed("header kid is not a string")),
    };
    let typ = match header.get("typ") {
        None => None,
        Some(Value::String(typ)) => Some(typ.clone()),
        Some(_) => return Err(malformed("header typ is not a string")),
    };
    Ok(JoseHeader { alg, kid, typ })
}

/// The payload, parsed strictly but NOT verified: only for choosing how to verify (e.g. an
/// Entra provider reading `tid` to pick its metadata). Never trust what it returns.
pub fn peek_claims_unverified(token: &str) -> Result<Claims, VerifyError> {
    let (_, payload, _) = segments(token)?;
    let bytes = decode_segment(payload, "payload")?;
    parse_json_object_strict(&bytes, "payload")
}

/// The protected header as a whole, parsed strictly but NOT verified: only for refusing early
/// (e.g. Entra ID refusing tokens with a `nonce` header, which are for Microsoft's own APIs).
/// Never choose a key or an algorithm from it; [`parse_header`] is the header we use.
pub fn peek_header_unverified(token: &str) -> Result<Claims, VerifyError> {
    let (header, _, _) = segments(token)?;
    let bytes = decode_segment(header, "header")?;
    parse_json_object_strict(&bytes, "header")
}

/// Seconds since the Unix epoch, now.
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Verify a token whose shape and header were already checked ([`check_size_and_shape`],
/// [`parse_header`]) with the key found for its `kid`: the header's `alg` must be exactly the
/// key's single algorithm; the signature and the registered claims are then checked by
/// `jsonwebtoken` (with `exp`, `iss`, `aud` required and `nbf` validated), and the claims again
/// by [`check_claims`] on `claims`, the token's own payload as the provider peeked it
/// ([`peek_claims_unverified`] of this very `token`: the payload is parsed once), which is
/// returned once verified.
pub fn verify_token(
    token: &str,
    header: &JoseHeader,
    claims: Claims,
    key: &VerificationKey,
    rules: &ClaimRules,
) -> Result<VerifiedClaims, VerifyError> {
    if header.alg != key.algorithm {
        return Err(VerifyError::AlgorithmNotAllowed(
            algorithm_name(header.alg).to_owned(),
        ));
    }

    let mut validation = jsonwebtoken::Validation::new(key.algorithm);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = true;
    validation.leeway = rules.leeway_secs;
    validation.set_issuer(&[rules.issuer.as_str()]);
    validation.set_audience(&rules.audiences);

    match jsonwebtoken::decode::<de::IgnoredAny>(token, &key.decoding_key, &validation) {
        Ok(_) => {
            let expires_at = check_claims(&claims, rules, now_unix())?;
            Ok(VerifiedClaims { claims, expires_at })
        }
        Err(e) => {
            let kind = e.into_kind();
            if is_claims_error(&kind) {
                // The signature was good (jsonwebtoken checks it before the claims): report our
                // own, more precise verdict (e.g. `exp` of the wrong type is InvalidClaim, where
                // jsonwebtoken says "missing").
                check_claims(&claims, rules, now_unix())?;
            }
            Err(map_jsonwebtoken_error(&kind))
        }
    }
}

fn is_claims_error(kind: &ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::MissingRequiredClaim(_)
            | ErrorKind::InvalidClaimFormat(_)
            | ErrorKind::ExpiredSignature
            | ErrorKind::ImmatureSignature
            | ErrorKind::InvalidIssuer
            | ErrorKind::InvalidAudience
            | ErrorKind::InvalidSubject
    )
}

/// Map a `jsonwebtoken` error to ours. Messages are fixed strings: nothing from the token.
pub fn map_jsonwebtoken_error(kind: &ErrorKind) -> VerifyError {
    match kind {
        ErrorKind::InvalidSignature => VerifyError::InvalidSignature,
        ErrorKind::ExpiredSignature => VerifyError::Expired,
        ErrorKind::ImmatureSignature => VerifyError::NotYetValid,
        ErrorKind::InvalidIssuer => VerifyError::InvalidIssuer,
        ErrorKind::InvalidAudience => VerifyError::InvalidAudience,
        ErrorKind::InvalidSubject => VerifyError::InvalidClaim("sub".to_owned()),
        ErrorKind::MissingRequiredClaim(claim) => {
            VerifyError::MissingClaim(describe_untrusted(claim))
        }
        ErrorKind::InvalidClaimFormat(claim) => {
            VerifyError::InvalidClaim(describe_untrusted(claim))
        }
        ErrorKind::InvalidAlgorithm
        | ErrorKind::MissingAlgorithm
        | ErrorKind::InvalidAlgorithmName => {
            VerifyError::AlgorithmNotAllowed("algorithm does not match the key".to_owned())
        }
        ErrorKind::InvalidToken => malformed("invalid token structure"),
        ErrorKind::Base64(_) => malformed("invalid base64url"),
        ErrorKind::Json(_) => malformed("header or payload not understood"),
        ErrorKind::Utf8(_) => malformed("invalid UTF-8"),
        // Key or signature bytes the crypto backend refused: the token does not verify.
        ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat
        | ErrorKind::RsaFailedSigning
        | ErrorKind::Signing(_)
        | ErrorKind::Provider(_) => VerifyError::InvalidSignature,
        _ => VerifyError::InvalidSignature,
    }
}

fn numeric_claim(claims: &Claims, name: &str) -> Result<Option<i64>, VerifyError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            let value = if let Some(i) = n.as_i64() {
                i
            } else if n.as_u64().is_some() {
                i64::MAX
            } else {
                match n.as_f64() {
                    Some(f) if f.is_finite() => f.floor() as i64,
                    _ => return Err(VerifyError::InvalidClaim(name.to_owned())),
                }
            };
            Ok(Some(value))
        }
        Some(_) => Err(VerifyError::InvalidClaim(name.to_owned())),
    }
}

/// The claim checks we do ourselves, whatever `jsonwebtoken` said (it treated wrongly typed
/// `exp`/`nbf` as absent before 10.3, and does not check `iat`). Returns `exp`.
/// - `exp` required and a JSON number; expired when `now > exp + leeway`;
/// - `nbf`, `iat` numbers when present; `nbf > now + leeway` and `iat > now + leeway` are
///   `NotYetValid` (a token issued in the future points at clock skew, like an early `nbf`);
/// - `iss` a string equal to the expected issuer exactly;
/// - `aud` a string or an array of strings, at least one of them configured.
pub fn check_claims(claims: &Claims, rules: &ClaimRules, now: i64) -> Result<i64, VerifyError> {
    let leeway = i64::try_from(rules.leeway_secs).unwrap_or(i64::MAX);
    let exp =
        numeric_claim(claims, "exp")?.ok_or_else(|| VerifyError::MissingClaim("exp".to_owned()))?;
    let nbf = numeric_claim(claims, "nbf")?;
    let iat = numeric_claim(claims, "iat")?;
    if now > exp.saturating_add(leeway) {
        return Err(VerifyError::Expired);
    }
    let latest_start = now.saturating_add(leeway);
    if nbf.is_some_and(|nbf| nbf > latest_start) || iat.is_some_and(|iat| iat > latest_start) {
        return Err(VerifyError::NotYetValid);
    }

    match claims.get("iss") {
        None => return Err(VerifyError::MissingClaim("iss".to_owned())),
        Some(Value::String(iss)) if *iss == rules.issuer => {}
        Some(Value::String(_)) => return Err(VerifyError::InvalidIssuer),
        Some(_) => return Err(VerifyError::InvalidClaim("iss".to_owned())),
    }

    let audiences: Vec<&str> = match claims.get("aud") {
        None => return Err(VerifyError::MissingClaim("aud".to_owned())),
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(items)) => {
            let mut auds = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(aud) => auds.push(aud.as_str()),
                    _ => return Err(VerifyError::InvalidClaim("aud".to_owned())),
                }
            }
            auds
        }
        Some(_) => return Err(VerifyError::InvalidClaim("aud".to_owned())),
    };
    if !audiences
        .iter()
        .any(|aud| rules.audiences.iter().any(|ours| ours == aud))
    {
        return Err(VerifyError::InvalidAudience);
    }
    Ok(exp)
}

/// A claim that is a string or an array of strings, as a list (strings split on whitespace).
fn string_list(value: Option<&Value>) -> Option<Vec<String>> {
    match value? {
        Value::String(s) => Some(s.split_whitespace().map(str::to_owned).collect()),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        _ => None,
    }
}

/// How a provider tells the access tokens it accepts from ID tokens (RFC 8725 §3.11–3.12: an
/// ID token, meant for the client app, must not be taken for an access token to an API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// RFC 9068 access tokens only: header `typ` `at+jwt` (or `application/at+jwt`, any case).
    AtJwt,
    /// An IdP that does not mark its access tokens: header `typ` `at+jwt` passes; otherwise a
    /// token is an ID token when it carries `at_hash` (only ID tokens do), a `typ` claim `ID`
    /// (Keycloak), or a `nonce` while granting no scope or role (Keycloak and Azure AD B2C access
    /// tokens may repeat the sign-in's `nonce`, but they grant scopes; an ID token grants none).
    Unmarked,
    /// ID tokens accepted too (a tenant's `accept_id_tokens`).
    Any,
}

impl TokenKind {
    /// The rule of a provider's settings.
    pub fn of(require_at_jwt: bool, accept_id_tokens: bool) -> Self {
        match (accept_id_tokens, require_at_jwt) {
            (true, _) => TokenKind::Any,
            (false, true) => TokenKind::AtJwt,
            (false, false) => TokenKind::Unmarked,
        }
    }
}

/// Whether `typ` is RFC 9068's `at+jwt` (the `application/` prefix may be left out; any case).
fn is_at_jwt(typ: Option<&str>) -> bool {
    typ.is_some_and(|t| {
        let t = t.trim();
        t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
    })
}

/// Refuses a verified token that is not an access token under `kind` (`NotAccessToken`).
pub fn check_token_kind(
    header: &JoseHeader,
    claims: &Claims,
    kind: TokenKind,
) -> Result<(), VerifyError> {
    let refuse = |why: &str| Err(VerifyError::NotAccessToken(why.to_owned()));
    match kind {
        TokenKind::Any => Ok(()),
        TokenKind::AtJwt if is_at_jwt(header.typ.as_deref()) => Ok(()),
        TokenKind::AtJwt => refuse("the header typ is not at+jwt, which this tenant requires"),
        TokenKind::Unmarked if is_at_jwt(header.typ.as_deref()) => Ok(()),
        TokenKind::Unmarked => {
            if claims.contains_key("at_hash") {
                return refuse("it carries at_hash: an ID token");
            }
            if claims
                .get("typ")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case("ID"))
            {
                return refuse("its typ claim is ID: an ID token");
            }
            let grants =
                !scopes_from_claims(claims).is_empty() || !roles_from_claims(claims).is_empty();
            if claims.contains_key("nonce") && !grants {
                return refuse("it carries a nonce and grants no scope or role: an ID token");
            }
            Ok(())
        }
    }
}

/// Delegated scopes: `scp` (space-separated string, or array), else `scope`.
pub fn scopes_from_claims(claims: &Claims) -> Vec<String> {
    string_list(claims.get("scp"))
        .or_else(|| string_list(claims.get("scope")))
        .unwrap_or_default()
}

/// App roles: the `roles` array (string members only).
pub fn roles_from_claims(claims: &Claims) -> Vec<String> {
    match claims.get("roles") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// The subject from the configured claim: a non-empty string, else `MissingClaim`.
pub fn subject_from_claims(claims: &Claims, subject_claim: &str) -> Result<String, VerifyError> {
    match claims.get(subject_claim) {
        Some(Value::String(subject)) if !subject.is_empty() => Ok(subject.clone()),
        _ => Err(VerifyError::MissingClaim(subject_claim.to_owned())),
    }
}

const DUPLICATE_KEY: &str = "duplicate key in JSON object";

/// A `serde_json::Value` whose objects refuse duplicate keys.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = StrictValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Number(v.into())))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Number(v.into())))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<StrictValue, E> {
        Number::from_f64(v)
            .map(|n| StrictValue(Value::Number(n)))
            .ok_or_else(|| E::custom("non-finite number"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::String(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::String(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<StrictValue, D::Error> {
        StrictValue::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StrictValue, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(StrictValue(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StrictValue, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(DUPLICATE_KEY));
            }
            let StrictValue(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(StrictValue(Value::Object(object)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn token_with_header(header: &str) -> String {
        format!("{}.{}.{}", b64(header.as_bytes()), b64(b"{}"), b64(b"sig"))
    }

    fn rules() -> ClaimRules {
        ClaimRules {
            issuer: "https://idp.example/".to_owned(),
            audiences: vec!["api://acs-auth".to_owned(), "other".to_owned()],
            leeway_secs: 60,
        }
    }

    const NOW: i64 = 1_800_000_000;

    fn good_claims() -> Claims {
        match json!({
            "iss": "https://idp.example/",
            "aud": "api://acs-auth",
            "sub": "alice",
            "iat": NOW,
            "nbf": NOW,
            "exp": NOW + 3600,
        }) {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    fn with(name: &str, value: Value) -> Claims {
        let mut claims = good_claims();
        claims.insert(name.to_owned(), value);
        claims
    }

    fn without(name: &str) -> Claims {
        let mut claims = good_claims();
        claims.remove(name);
        claims
    }

    #[test]
    fn compact_jws_shape_is_accepted() {
        assert!(check_size_and_shape("eyJh.eyJi.c2ln", 100).is_ok());
        assert!(
            check_size_and_shape("aGVhZA.cGF5bG9hZA.", 100).is_ok(),
            "empty signature reaches the alg check"
        );
    }

    #[test]
    fn too_large_token_is_refused_before_parsing() {
        let garbage = "!".repeat(DEFAULT_MAX_TOKEN_BYTES + 1);
        assert!(matches!(
            check_size_and_shape(&garbage, DEFAULT_MAX_TOKEN_BYTES),
            Err(VerifyError::TooLarge)
        ));
        let at_limit = "!".repeat(DEFAULT_MAX_TOKEN_BYTES);
        assert!(matches!(
            check_size_and_shape(&at_limit, DEFAULT_MAX_TOKEN_BYTES),
            Err(VerifyError::Malformed(_))
        ));
    }

    #[test]
    fn jwe_shaped_five_segment_token_is_malformed() {
        let err = check_size_and_shape("aaa.bbb.ccc.ddd.eee", 100).unwrap_err();
        assert!(
            matches!(err, VerifyError::Malformed(ref m) if m.contains("JWE")),
            "{err}"
        );
    }

    #[test]
    fn tokens_that_are_not_three_base64url_segments_are_malformed() {
        for token in [
            "",
            "abc",
            "abc.def",
            "abc.def.ghi.jkl",
            ".def.ghi",
            "abc..ghi",
            "abc.def.ghi=",
            "abc.de f.ghi",
            "abc.def.ghi\n",
            "abc.d+f.ghi",
            "abc.d/f.ghi",
            "abc.dé.ghi",
            "{\"payload\":\"x\"}",
        ] {
            assert!(
                matches!(
                    check_size_and_shape(token, 100),
                    Err(VerifyError::Malformed(_))
                ),
                "{token:?} was not refused"
            );
        }
    }

    #[test]
    fn header_alg_none_in_any_case_is_refused() {
        for alg in ["none", "None", "NONE", "nOnE"] {
            let token = token_with_header(&format!(r#"{{"alg":"{alg}"}}"#));
            assert!(
                matches!(
                    parse_header(&token),
                    Err(VerifyError::AlgorithmNotAllowed(_))
                ),
                "{alg} was not refused"
            );
        }
    }

    #[test]
    fn header_hmac_and_unknown_algorithms_are_refused() {
        for alg in [
            "HS256", "HS384", "HS512", "rs256", "Rs256", "RS256 ", "ES512", "RSA-OAEP", "",
        ] {
            let token = token_with_header(&format!(r#"{{"alg":"{alg}","kid":"k"}}"#));
            assert!(
                matches!(
                    parse_header(&token),
                    Err(VerifyError::AlgorithmNotAllowed(_))
                ),
                "{alg:?} was not refused"
            );
        }
    }

    #[test]
    fn header_asymmetric_algorithms_are_accepted_exactly() {
        for alg in ALLOWED_ALGORITHMS {
            let name = algorithm_name(*alg);
            let token = token_with_header(&format!(r#"{{"alg":"{name}","kid":"k1"}}"#));
            let header = parse_header(&token).unwrap();
            assert_eq!(
                header,
                JoseHeader {
                    alg: *alg,
                    kid: Some("k1".to_owned()),
                    typ: None,
                }
            );
        }
    }

    #[test]
    fn header_with_crit_is_refused() {
        let token = token_with_header(r#"{"alg":"RS256","crit":["exp"],"exp":1}"#);
        assert!(matches!(
            parse_header(&token),
            Err(VerifyError::Malformed(_))
        ));
        let token = token_with_header(r#"{"alg":"RS256","crit":["b64"],"b64":false}"#);
        assert!(matches!(
            parse_header(&token),
            Err(VerifyError::Malformed(_))
        ));
    }

    #[test]
    fn header_with_enc_or_zip_is_refused() {
        for header in [
            r#"{"alg":"RS256","enc":"A256GCM"}"#,
            r#"{"alg":"RS256","zip":"DEF"}"#,
        ] {
            assert!(matches!(
                parse_header(&token_with_header(header)),
                Err(VerifyError::Malformed(_))
            ));
        }
    }

    #[test]
    fn header_with_duplicate_keys_is_malformed() {
        let token = token_with_header(r#"{"alg":"RS256","alg":"none"}"#);
        let err = parse_header(&token).unwrap_err();
        assert!(
            matches!(err, VerifyError::Malformed(ref m) if m.contains("duplicate")),
            "{err}"
        );
    }

    #[test]
    fn header_that_is_not_a_json_object_is_malformed() {
        for header in [
            "[]",
            "\"RS256\"",
            "{",
            r#"{"alg":5}"#,
            r#"{"kid":"k"}"#,
            r#"{"alg":"RS256","kid":7}"#,
        ] {
            assert!(
                matches!(
                    parse_header(&token_with_header(header)),
                    Err(VerifyError::Malformed(_))
                ),
                "{header} was not refused"
            );
        }
        let bad_utf8 = format!(
            "{}.{}.{}",
            b64(b"{\"alg\":\"RS256\xff\"}"),
            b64(b"{}"),
            b64(b"s")
        );
        assert!(matches!(
            parse_header(&bad_utf8),
            Err(VerifyError::Malformed(_))
        ));
    }

    #[test]
    fn header_jku_x5u_jwk_x5c_do_not_change_the_parsed_header() {
        let token = token_with_header(
            r#"{"alg":"RS256","kid":"k1","jku":"https://evil.example/jwks","x5u":"https://evil.example/cert",
                "jwk":{"kty":"RSA","n":"AQAB","e":"AQAB"},"x5c":["MIIB"],"typ":"JWT"}"#,
        );
        assert_eq!(
            parse_header(&token).unwrap(),
            JoseHeader {
                alg: Algorithm::RS256,
                kid: Some("k1".to_owned()),
                typ: Some("JWT".to_owned()),
            }
        );
    }

    fn header_typed(typ: Option<&str>) -> JoseHeader {
        JoseHeader {
            alg: Algorithm::RS256,
            kid: None,
            typ: typ.map(str::to_owned),
        }
    }

    #[test]
    fn id_tokens_are_told_from_access_tokens_of_an_unmarked_idp() {
        let access = json!({ "sub": "u", "scp": "read" });
        let claims = |v: Value| v.as_object().unwrap().clone();
        let jwt = header_typed(Some("JWT"));
        let ok = |c: Value| check_token_kind(&jwt, &claims(c), TokenKind::Unmarked);
        assert!(ok(access.clone()).is_ok());
        assert!(ok(json!({ "sub": "u" })).is_ok(), "nothing says ID token");
        assert!(
            ok(json!({ "sub": "u", "scp": "read", "nonce": "n" })).is_ok(),
            "an access token repeating the sign-in's nonce"
        );
        for id_token in [
            json!({ "sub": "u", "nonce": "n" }),
            json!({ "sub": "u", "at_hash": "h" }),
            json!({ "sub": "u", "scp": "read", "at_hash": "h" }),
            json!({ "sub": "u", "typ": "ID" }),
        ] {
            assert!(
                matches!(ok(id_token.clone()), Err(VerifyError::NotAccessToken(_))),
                "{id_token} passed"
            );
        }
        // A token marked at+jwt is an access token whatever it carries.
        let marked = header_typed(Some("application/AT+JWT"));
        let id_like = claims(json!({ "sub": "u", "nonce": "n" }));
        assert!(check_token_kind(&marked, &id_like, TokenKind::Unmarked).is_ok());
        // The tenant's switch accepts ID tokens.
        assert!(check_token_kind(&jwt, &id_like, TokenKind::Any).is_ok());
    }

    #[test]
    fn a_tenant_requiring_at_jwt_refuses_every_other_typ() {
        let claims = json!({ "sub": "u", "scp": "read" })
            .as_object()
            .unwrap()
            .clone();
        for typ in [Some("at+jwt"), Some("application/at+jwt"), Some("AT+JWT")] {
            assert!(check_token_kind(&header_typed(typ), &claims, TokenKind::AtJwt).is_ok());
        }
        for typ in [None, Some("JWT"), Some("at+jwt+x"), Some("id+jwt")] {
            assert!(matches!(
                check_token_kind(&header_typed(typ), &claims, TokenKind::AtJwt),
                Err(VerifyError::NotAccessToken(_))
            ));
        }
        assert_eq!(TokenKind::of(true, false), TokenKind::AtJwt);
        assert_eq!(TokenKind::of(true, true), TokenKind::Any);
        assert_eq!(TokenKind::of(false, false), TokenKind::Unmarked);
    }

    #[test]
    fn duplicate_claim_keys_are_malformed_at_any_depth() {
        for payload in [
            r#"{"sub":"alice","sub":"admin"}"#,
            r#"{"sub":"alice","ctx":{"role":"user","role":"admin"}}"#,
            r#"{"sub":"alice","list":[{"a":1,"a":2}]}"#,
        ] {
            let token = format!("{}.{}.{}", b64(b"{}"), b64(payload.as_bytes()), b64(b"s"));
            let err = peek_claims_unverified(&token).unwrap_err();
            assert!(
                matches!(err, VerifyError::Malformed(ref m) if m.contains("duplicate")),
                "{payload}: {err}"
            );
        }
        let token = format!(
            "{}.{}.{}",
            b64(b"{}"),
            b64(br#"{"a":{"b":[1,2.5,null,true]}}"#),
            b64(b"s")
        );
        let claims = peek_claims_unverified(&token).unwrap();
        assert_eq!(Value::Object(claims), json!({"a":{"b":[1,2.5,null,true]}}));
    }

    #[test]
    fn claims_that_satisfy_the_rules_are_accepted() {
        assert_eq!(
            check_claims(&good_claims(), &rules(), NOW).unwrap(),
            NOW + 3600
        );
        let claims = with("aud", json!(["someone-else", "other"]));
        assert_eq!(check_claims(&claims, &rules(), NOW).unwrap(), NOW + 3600);
        let claims = with("exp", json!((NOW + 10) as f64 + 0.5));
        assert_eq!(check_claims(&claims, &rules(), NOW).unwrap(), NOW + 10);
        assert!(check_claims(&without("nbf"), &rules(), NOW).is_ok());
        assert!(check_claims(&without("iat"), &rules(), NOW).is_ok());
    }

    #[test]
    fn expired_token_is_refused_beyond_the_leeway_only() {
        let claims = with("exp", json!(NOW - 30));
        assert!(
            check_claims(&claims, &rules(), NOW).is_ok(),
            "within leeway"
        );
        let claims = with("exp", json!(NOW - 61));
        assert!(matches!(
            check_claims(&claims, &rules(), NOW),
            Err(VerifyError::Expired)
        ));
    }

    #[test]
    fn nbf_in_the_future_is_refused_beyond_the_leeway_only() {
        assert!(check_claims(&with("nbf", json!(NOW + 30)), &rules(), NOW).is_ok());
        assert!(matches!(
            check_claims(&with("nbf", json!(NOW + 61)), &rules(), NOW),
            Err(VerifyError::NotYetValid)
        ));
    }

    #[test]
    fn iat_in_the_future_is_refused_beyond_the_leeway_only() {
        assert!(check_claims(&with("iat", json!(NOW + 30)), &rules(), NOW).is_ok());
        assert!(matches!(
            check_claims(&with("iat", json!(NOW + 600)), &rules(), NOW),
            Err(VerifyError::NotYetValid)
        ));
    }

    #[test]
    fn missing_exp_is_refused() {
        assert!(matches!(
            check_claims(&without("exp"), &rules(), NOW),
            Err(VerifyError::MissingClaim(ref c)) if c == "exp"
        ));
    }

    #[test]
    fn time_claims_of_the_wrong_type_are_invalid() {
        for name in ["exp", "nbf", "iat"] {
            for value in [
                json!("1800003600"),
                json!(null),
                json!(true),
                json!([1]),
                json!({"t": 1}),
            ] {
                assert!(
                    matches!(check_claims(&with(name, value.clone()), &rules(), NOW), Err(VerifyError::InvalidClaim(ref c)) if c == name),
                    "{name} = {value} was not refused"
                );
            }
        }
    }

    #[test]
    fn issuer_must_match_exactly() {
        for iss in [
            "https://idp.example",
            "https://IDP.example/",
            "https://idp.example//",
            "https://evil.example/",
        ] {
            assert!(
                matches!(
                    check_claims(&with("iss", json!(iss)), &rules(), NOW),
                    Err(VerifyError::InvalidIssuer)
                ),
                "{iss} was accepted"
            );
        }
        assert!(matches!(
            check_claims(&with("iss", json!(["https://idp.example/"])), &rules(), NOW),
            Err(VerifyError::InvalidClaim(_))
        ));
        assert!(matches!(
            check_claims(&without("iss"), &rules(), NOW),
            Err(VerifyError::MissingClaim(ref c)) if c == "iss"
        ));
    }

    #[test]
    fn audience_must_contain_a_configured_value() {
        assert!(matches!(
            check_claims(&with("aud", json!("api://someone-else")), &rules(), NOW),
            Err(VerifyError::InvalidAudience)
        ));
        assert!(matches!(
            check_claims(&with("aud", json!(["x", "y"])), &rules(), NOW),
            Err(VerifyError::InvalidAudience)
        ));
        assert!(matches!(
            check_claims(&with("aud", json!([])), &rules(), NOW),
            Err(VerifyError::InvalidAudience)
        ));
        assert!(matches!(
            check_claims(&with("aud", json!(["api://acs-auth", 5])), &rules(), NOW),
            Err(VerifyError::InvalidClaim(_))
        ));
        assert!(matches!(
            check_claims(&with("aud", json!(42)), &rules(), NOW),
            Err(VerifyError::InvalidClaim(_))
        ));
        assert!(matches!(
            check_claims(&without("aud"), &rules(), NOW),
            Err(VerifyError::MissingClaim(ref c)) if c == "aud"
        ));
    }

    #[test]
    fn scopes_come_from_scp_string_or_array_else_scope() {
        let claims = with("scp", json!("a  b\tc"));
        assert_eq!(scopes_from_claims(&claims), ["a", "b", "c"]);
        let claims = with("scp", json!(["a", "b", 3]));
        assert_eq!(scopes_from_claims(&claims), ["a", "b"]);
        let claims = with("scope", json!("x y"));
        assert_eq!(scopes_from_claims(&claims), ["x", "y"]);
        assert!(scopes_from_claims(&good_claims()).is_empty());
        let claims = with("roles", json!(["Admin", "Reader", {}]));
        assert_eq!(roles_from_claims(&claims), ["Admin", "Reader"]);
        assert!(roles_from_claims(&with("roles", json!("Admin"))).is_empty());
    }

    #[test]
    fn subject_must_be_a_non_empty_string() {
        assert_eq!(subject_from_claims(&good_claims(), "sub").unwrap(), "alice");
        for value in [json!(""), json!(5), json!(null)] {
            assert!(matches!(
                subject_from_claims(&with("sub", value), "sub"),
                Err(VerifyError::MissingClaim(ref c)) if c == "sub"
            ));
        }
        assert!(matches!(
            subject_from_claims(&good_claims(), "oid"),
            Err(VerifyError::MissingClaim(_))
        ));
    }

    #[test]
    fn untrusted_strings_reach_errors_only_when_plain_and_short() {
        assert_eq!(describe_untrusted("none"), "none");
        assert_eq!(
            describe_untrusted("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0"),
            "<unrecognised>"
        );
        assert_eq!(describe_untrusted("a\nb"), "<unrecognised>");
    }

    #[test]
    fn jsonwebtoken_errors_map_to_our_variants() {
        assert!(matches!(
            map_jsonwebtoken_error(&ErrorKind::InvalidSignature),
            VerifyError::InvalidSignature
        ));
        assert!(matches!(
            map_jsonwebtoken_error(&ErrorKind::ExpiredSignature),
            VerifyError::Expired
        ));
        assert!(matches!(
            map_jsonwebtoken_error(&ErrorKind::ImmatureSignature),
            VerifyError::NotYetValid
        ));
        assert!(matches!(
            map_jsonwebtoken_error(&ErrorKind::InvalidIssuer),
            VerifyError::InvalidIssuer
        ));
        assert!(matches!(
            map_jsonwebtoken_error(&ErrorKind::InvalidAudience),
            VerifyError::InvalidAudience
        ));
        assert!(matches!(
            map_jsonwebtoken_error(&ErrorKind::InvalidAlgorithm),
            VerifyError::AlgorithmNotAllowed(_)
        ));
        assert!(matches!(
            map_jsonwebtoken_error(&ErrorKind::InvalidToken),
            VerifyError::Malformed(_)
        ));
        assert!(matches!(
            map_jsonwebtoken_error(&ErrorKind::MissingRequiredClaim("aud".to_owned())),
            VerifyError::MissingClaim(ref c) if c == "aud"
        ));
        assert!(matches!(
            map_jsonwebtoken_error(&ErrorKind::InvalidClaimFormat("exp".to_owned())),
            VerifyError::InvalidClaim(ref c) if c == "exp"
        ));
    }
}
