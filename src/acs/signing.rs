//! HMAC-SHA256 request signing as ACS (and the official SDKs) do it, and its verification
//! (used by the emulator), with [`SignatureError`] for a request that does not verify. Pure
//! functions: the clock is a parameter.
//!
//! String to sign: `VERB\npathAndQuery\nx-ms-date;host;x-ms-content-sha256`, keyed with the
//! base64-decoded access key; header
//! `Authorization: HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=<b64>`.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use reqwest::header::{AUTHORIZATION, HOST, HeaderName, HeaderValue};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use url::Url;

/// The headers covered by the signature, in signing order.
pub const SIGNED_HEADERS: &str = "x-ms-date;host;x-ms-content-sha256";
/// The authorization scheme.
pub const SCHEME: &str = "HMAC-SHA256";
pub const X_MS_DATE: HeaderName = HeaderName::from_static("x-ms-date");
pub const X_MS_CONTENT_SHA256: HeaderName = HeaderName::from_static("x-ms-content-sha256");

/// Base64 of SHA-256 of the exact body bytes (of the empty string when there is no body).
pub fn content_hash(body: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(body))
}

/// `VERB\npathAndQuery\ndate;host;contentHash`.
pub fn string_to_sign(
    method: &str,
    path_and_query: &str,
    date: &str,
    host: &str,
    content_hash: &str,
) -> String {
    format!(
        "{}\n{path_and_query}\n{date};{host};{content_hash}",
        method.to_ascii_uppercase()
    )
}

fn mac(key: &[u8], string_to_sign: &str) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail; fall back to an empty-key MAC
    // rather than panicking (it then simply never verifies).
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0; 32],
    };
    mac.update(string_to_sign.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Base64 of HMAC-SHA256 over the string to sign, keyed with the decoded access key.
pub fn compute_signature(key: &[u8], string_to_sign: &str) -> String {
    STANDARD.encode(mac(key, string_to_sign))
}

/// RFC 1123 date as used in `x-ms-date` (`Sun, 29 Nov 2026 10:00:00 GMT`).
pub fn format_date(now: DateTime<Utc>) -> String {
    httpdate::fmt_http_date(SystemTime::from(now))
}

/// The authority as signed: host, plus `:port` when not the scheme's default.
pub fn host_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// The path plus `?query`, exactly as it will be sent.
pub fn path_and_query(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

/// The `Authorization` header value for a signature.
pub fn authorization_value(signature: &str) -> String {
    format!("{SCHEME} SignedHeaders={SIGNED_HEADERS}&Signature={signature}")
}

/// The headers that sign one request: `x-ms-date`, `x-ms-content-sha256`, `host` and
/// `Authorization`.
pub fn sign(
    method: &str,
    url: &Url,
    body: &[u8],
    key: &[u8],
    now: DateTime<Utc>,
) -> Vec<(HeaderName, HeaderValue)> {
    let date = format_date(now);
    let hash = content_hash(body);
    let host = host_of(url);
    let sts = string_to_sign(method, &path_and_query(url), &date, &host, &hash);
    let signature = compute_signature(key, &sts);
    let mut headers = Vec::with_capacity(4);
    // All of these are ASCII by construction (dates, base64, URL authority).
    if let Ok(v) = HeaderValue::from_str(&date) {
        headers.push((X_MS_DATE, v));
    }
    if let Ok(v) = HeaderValue::from_str(&hash) {
        headers.push((X_MS_CONTENT_SHA256, v));
    }
    if let Ok(v) = HeaderValue::from_str(&host) {
        headers.push((HOST, v));
    }
    if let Ok(mut v) = HeaderValue::from_str(&authorization_value(&signature)) {
        v.set_sensitive(true);
        headers.push((AUTHORIZATION, v));
    }
    headers
}

/// A received request, as the verifier needs it: everything exactly as it arrived.
#[derive(Debug, Clone, Copy)]
pub struct ReceivedRequest<'a> {
    pub method: &'a str,
    /// Path and query as received on the wire (not decoded, not re-encoded).
    pub path_and_query: &'a str,
    pub host: Option<&'a str>,
    pub date: Option<&'a str>,
    pub content_hash: Option<&'a str>,
    pub authorization: Option<&'a str>,
    pub body: &'a [u8],
}

/// Why a request's HMAC authentication was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Authorization header is missing")]
    MissingAuthorization,
    #[error("the Authorization header is malformed: {0}")]
    MalformedAuthorization(&'static str),
    #[error("the {0} header is missing")]
    MissingHeader(&'static str),
    #[error("the x-ms-date header is not an RFC 1123 date")]
    InvalidDate,
    #[error("the x-ms-date header is too far from the current time")]
    DateOutOfRange,
    #[error("the x-ms-content-sha256 header does not match the body")]
    ContentHashMismatch,
    #[error("the signature does not match")]
    SignatureMismatch,
}

/// Parse `HMAC-SHA256 SignedHeaders=…&Signature=…` into the signature bytes.
fn parse_authorization(value: &str) -> Result<Vec<u8>, SignatureError> {
    let value = value.trim();
    let (scheme, rest) = value
        .split_once(' ')
        .ok_or(SignatureError::MalformedAuthorization(
            "expected `HMAC-SHA256 …`",
        ))?;
    if !scheme.eq_ignore_ascii_case(SCHEME) {
        return Err(SignatureError::MalformedAuthorization(
            "the scheme must be HMAC-SHA256",
        ));
    }
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.trim().split('&') {
        let (name, val) = part
            .split_once('=')
            .ok_or(SignatureError::MalformedAuthorization(
                "expected name=value pairs",
            ))?;
        match name.trim() {
            n if n.eq_ignore_ascii_case("SignedHeaders") => signed_headers = Some(val.trim()),
            n if n.eq_ignore_ascii_case("Signature") => signature = Some(val.trim()),
            _ => {
                return Err(SignatureError::MalformedAuthorization(
                    "unknown parameter in the Authorization header",
                ));
            }
        }
    }
    let signed_headers = signed_headers.ok_or(SignatureError::MalformedAuthorization(
        "SignedHeaders is missing",
    ))?;
    if !signed_headers.eq_ignore_ascii_case(SIGNED_HEADERS) {
        return Err(SignatureError::MalformedAuthorization(
            "SignedHeaders must be x-ms-date;host;x-ms-content-sha256",
        ));
    }
    let signature = signature.ok_or(SignatureError::MalformedAuthorization(
        "Signature is missing",
    ))?;
    STANDARD
        .decode(signature)
        .map_err(|_| SignatureError::MalformedAuthorization("Signature is not base64"))
}

/// Verify a received request's HMAC authentication: header shape, date window, content hash
/// and signature (compared in constant time).
pub fn verify(
    req: &ReceivedRequest<'_>,
    key: &[u8],
    now: DateTime<Utc>,
    max_clock_skew: Duration,
) -> Result<(), SignatureError> {
    let authorization = req
        .authorization
        .ok_or(SignatureError::MissingAuthorization)?;
    let provided = parse_authorization(authorization)?;
    let date = req.date.ok_or(SignatureError::MissingHeader("x-ms-date"))?;
    let host = req.host.ok_or(SignatureError::MissingHeader("host"))?;
    let hash = req
        .content_hash
        .ok_or(SignatureError::MissingHeader("x-ms-content-sha256"))?;

    let sent_at =
        httpdate::parse_http_date(date.trim()).map_err(|_| SignatureError::InvalidDate)?;
    let now = SystemTime::from(now);
    let skew = match now.duration_since(sent_at) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    if skew > max_clock_skew {
        return Err(SignatureError::DateOutOfRange);
    }

    let actual_hash = content_hash(req.body);
    if !bool::from(actual_hash.as_bytes().ct_eq(hash.as_bytes())) {
        return Err(SignatureError::ContentHashMismatch);
    }

    let sts = string_to_sign(req.method, req.path_and_query, date, host, hash);
    let expected = mac(key, &sts);
    if !bool::from(expected.as_slice().ct_eq(provided.as_slice())) {
        return Err(SignatureError::SignatureMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    // Known-answer values, obtained once with Python 3.11's hmac/hashlib/base64:
    //   key = base64.b64decode("dGVzdC1hY2Nlc3Mta2V5LWZvci1rbm93bi1hbnN3ZXI=")
    //       # = b"test-access-key-for-known-answer"
    //   body = b'{"createTokenWithScopes":["chat"],"expiresInMinutes":60}'
    //   h = base64.b64encode(hashlib.sha256(body).digest())
    //   sts = "POST\n/identities?api-version=2023-10-01\nSun, 29 Nov 2026 10:00:00 GMT;"
    //         "my-resource.communication.azure.com;" + h
    //   base64.b64encode(hmac.new(key, sts.encode(), hashlib.sha256).digest())
    // and likewise for the DELETE with an encoded id, empty body and a host with a port.
    const KEY: &[u8] = b"test-access-key-for-known-answer";
    const BODY: &[u8] = br#"{"createTokenWithScopes":["chat"],"expiresInMinutes":60}"#;
    const BODY_HASH: &str = "kET9vD/6sAVRB6ISkrpOL44L0M1olvugZ/QYxlSQK9k=";
    const EMPTY_HASH: &str = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    const POST_SIGNATURE: &str = "dvLzrF6bpiiDBJrhul6vvaI63cfqHTwrfBS9FoA+0Vc=";
    const DELETE_SIGNATURE: &str = "x8ySDbSBizPDJ9N6uZNfbv4YgHZ5IF0AIZK535ZuHwU=";

    fn fixed_now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 29, 10, 0, 0).unwrap()
    }

    #[test]
    fn date_is_rfc_1123() {
        assert_eq!(format_date(fixed_now()), "Sun, 29 Nov 2026 10:00:00 GMT");
    }

    #[test]
    fn content_hash_matches_known_answers() {
        assert_eq!(content_hash(BODY), BODY_HASH);
        assert_eq!(content_hash(b""), EMPTY_HASH);
    }

    #[test]
    fn signature_matches_known_answer() {
        let sts = string_to_sign(
            "post",
            "/identities?api-version=2023-10-01",
            "Sun, 29 Nov 2026 10:00:00 GMT",
            "my-resource.communication.azure.com",
            BODY_HASH,
        );
        assert_eq!(compute_signature(KEY, &sts), POST_SIGNATURE);
    }

    #[test]
    fn sign_produces_the_known_headers_including_port_and_encoded_path() {
        let url =
            Url::parse("https://127.0.0.1:8443/identities/8%3Aacs%3Ar_u?api-version=2023-10-01")
                .unwrap();
        let headers = sign("DELETE", &url, b"", KEY, fixed_now());
        let get = |n: &HeaderName| {
            headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.to_str().unwrap().to_owned())
                .unwrap()
        };
        assert_eq!(get(&X_MS_DATE), "Sun, 29 Nov 2026 10:00:00 GMT");
        assert_eq!(get(&X_MS_CONTENT_SHA256), EMPTY_HASH);
        assert_eq!(get(&HOST), "127.0.0.1:8443");
        assert_eq!(
            get(&AUTHORIZATION),
            format!(
                "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={DELETE_SIGNATURE}"
            )
        );
    }

    #[test]
    fn default_port_is_not_part_of_the_host() {
        let url = Url::parse("https://x.communication.azure.com:443/identities").unwrap();
        assert_eq!(host_of(&url), "x.communication.azure.com");
    }

    fn received<'a>(auth: &'a str, body: &'a [u8], hash: &'a str) -> ReceivedRequest<'a> {
        ReceivedRequest {
            method: "POST",
            path_and_query: "/identities?api-version=2023-10-01",
            host: Some("my-resource.communication.azure.com"),
            date: Some("Sun, 29 Nov 2026 10:00:00 GMT"),
            content_hash: Some(hash),
            authorization: Some(auth),
            body,
        }
    }

    const SKEW: Duration = Duration::from_secs(900);

    #[test]
    fn verify_accepts_the_known_answer() {
        let auth = authorization_value(POST_SIGNATURE);
        verify(&received(&auth, BODY, BODY_HASH), KEY, fixed_now(), SKEW).unwrap();
    }

    #[test]
    fn verify_rejects_wrong_key_tampered_body_and_stale_date() {
        let auth = authorization_value(POST_SIGNATURE);
        let r = received(&auth, BODY, BODY_HASH);
        assert_eq!(
            verify(&r, b"other key", fixed_now(), SKEW),
            Err(SignatureError::SignatureMismatch)
        );
        let tampered = received(&auth, br#"{"createTokenWithScopes":["voip"]}"#, BODY_HASH);
        assert_eq!(
            verify(&tampered, KEY, fixed_now(), SKEW),
            Err(SignatureError::ContentHashMismatch)
        );
        let later = fixed_now() + chrono::Duration::minutes(16);
        assert_eq!(
            verify(&r, KEY, later, SKEW),
            Err(SignatureError::DateOutOfRange)
        );
        let earlier = fixed_now() - chrono::Duration::minutes(16);
        assert_eq!(
            verify(&r, KEY, earlier, SKEW),
            Err(SignatureError::DateOutOfRange)
        );
        let within = fixed_now() + chrono::Duration::minutes(14);
        verify(&r, KEY, within, SKEW).unwrap();
    }

    #[test]
    fn verify_rejects_malformed_headers() {
        for auth in [
            "",
            "Bearer abc",
            "HMAC-SHA256 Signature=abc",
            "HMAC-SHA256 SignedHeaders=host&Signature=dvLz",
            "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=***",
            "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256",
            "HMAC-SHA256",
        ] {
            let r = received(auth, BODY, BODY_HASH);
            assert!(
                matches!(
                    verify(&r, KEY, fixed_now(), SKEW),
                    Err(SignatureError::MalformedAuthorization(_))
                ),
                "{auth}"
            );
        }
        let auth = authorization_value(POST_SIGNATURE);
        let mut r = received(&auth, BODY, BODY_HASH);
        r.date = Some("yesterday");
        assert_eq!(
            verify(&r, KEY, fixed_now(), SKEW),
            Err(SignatureError::InvalidDate)
        );
        r.date = None;
        assert_eq!(
            verify(&r, KEY, fixed_now(), SKEW),
            Err(SignatureError::MissingHeader("x-ms-date"))
        );
        r.authorization = None;
        assert_eq!(
            verify(&r, KEY, fixed_now(), SKEW),
            Err(SignatureError::MissingAuthorization)
        );
    }
}
