//! Hostile tokens: RFC 8725, the OWASP JWT cheat sheet and the published CVEs of JWT libraries
//! (node-jsonwebtoken, PyJWT, go-jose, jsonwebtoken for Rust) turned into cases.
//!
//! Every case must be refused with 401 (403 for a missing scope or role) as an RFC 9457
//! problem (`application/problem+json`) with a `WWW-Authenticate: Bearer …` challenge and a
//! `token_*` code; never a 5xx, never a dropped connection, and neither the token nor a long
//! piece of it is ever echoed back. Most cases are table-driven against one app per theme; cases
//! that need their own setup (an EC key, counters of outbound requests, other tenants, huge
//! headers, raw bytes) have their own tests. Each table also checks that no identity was created
//! and that the server still serves a good token afterwards.
//!
//! Where a case pins a code, it is the most precise one the validation gives today; `ANY`
//! accepts any `token_*` code (where the precise verdict is a detail of `jsonwebtoken`).
//! Counters of the fake issuer prove what was *not* done: no `jku`/`x5u`/`kid` URL fetched,
//! JWKS refetches bounded by the cool-down, and no request at all for a token refused by its
//! shape, header or payload.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use acs_auth_providers::testing::TestIssuer;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde_json::{Value, json};

use crate::helpers::{TENANT, TestApp, oidc_tenant, spawn_app, spawn_app_with};

const MALFORMED: &str = "token_malformed";
const ALG_REFUSED: &str = "token_algorithm_not_allowed";
const UNKNOWN_KEY: &str = "token_unknown_key";
const BAD_SIGNATURE: &str = "token_invalid_signature";
const EXPIRED: &str = "token_expired";
const NOT_YET_VALID: &str = "token_not_yet_valid";
const BAD_ISSUER: &str = "token_invalid_issuer";
const BAD_AUDIENCE: &str = "token_invalid_audience";
const MISSING_CLAIM: &str = "token_missing_claim";
const BAD_CLAIM: &str = "token_invalid_claim";
const TOO_LARGE: &str = "token_too_large";
/// Any `token_*` code.
const ANY: &str = "";

// ---------------------------------------------------------------------------------------------
// Token building
// ---------------------------------------------------------------------------------------------

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn seg(value: &Value) -> String {
    b64(value.to_string().as_bytes())
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `header.payload.signature`, the signature made by `key` with `alg` over the two segments.
fn sign_segments(header: &str, payload: &str, key: &EncodingKey, alg: Algorithm) -> String {
    let message = format!("{header}.{payload}");
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).expect("signing");
    format!("{message}.{signature}")
}

fn sign_json(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    sign_segments(&seg(header), &seg(claims), key, alg)
}

/// The RS256 header the test issuer's own tokens carry.
fn rs256_header(idp: &TestIssuer) -> Value {
    json!({ "alg": "RS256", "typ": "JWT", "kid": idp.kid() })
}

/// Signed (RS256) by the tenant's real key, with exactly `header`: only the header can fail it.
fn real_key_with_header(idp: &TestIssuer, header: &Value) -> String {
    idp.sign_raw(&header.to_string(), &idp.claims("mallory").to_string())
}

/// Signed (RS256) by the tenant's real key, with the standard claims but `name` set to `value`
/// (`Value::Null` stays a JSON `null`): only that claim can fail it.
fn real_key_with_claim(idp: &TestIssuer, name: &str, value: Value) -> String {
    let mut claims = idp.claims("mallory");
    claims[name] = value;
    idp.token_with(claims)
}

/// Signed by the tenant's real key, with the standard claims but without `name`.
fn real_key_without_claim(idp: &TestIssuer, name: &str) -> String {
    let mut claims = idp.claims("mallory");
    claims.as_object_mut().expect("object").remove(name);
    idp.token_with(claims)
}

/// JSON text of `object` with one more member `name: value` appended (a duplicate key when
/// `object` has `name` already, which `serde_json::Value` cannot hold).
fn append_member(object: &Value, name: &str, value: &Value) -> String {
    let text = object.to_string();
    let body = text.strip_suffix('}').expect("an object");
    format!("{body},{}:{value}}}", Value::from(name))
}

/// JSON text of `object` with `name: value` inserted as its first member.
fn prepend_member(object: &Value, name: &str, value: &Value) -> String {
    let text = object.to_string();
    let rest = text.strip_prefix('{').expect("an object");
    format!("{{{}:{value},{rest}", Value::from(name))
}

/// `segment` lengthened with `A`s to a length no base64 text can have (4n + 1).
fn impossible_length(segment: &str) -> String {
    let mut out = segment.to_owned();
    out.push('A');
    while out.len() % 4 != 1 {
        out.push('A');
    }
    out
}

/// An EC P-256 key of our own: its public JWK and its signing key.
struct EcKey {
    jwk: Value,
    encoding: EncodingKey,
    signing: p256::ecdsa::SigningKey,
    public_pem: String,
    public_point: Vec<u8>,
}

fn ec_key(kid: &str) -> EcKey {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let der = secret.to_pkcs8_der().expect("pkcs8");
    let point = secret.public_key().to_encoded_point(false);
    EcKey {
        jwk: json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": b64(point.x().expect("x")), "y": b64(point.y().expect("y")),
        }),
        encoding: EncodingKey::from_ec_der(der.as_bytes()),
        signing: p256::ecdsa::SigningKey::from(&secret),
        public_pem: secret
            .public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("pem"),
        public_point: point.as_bytes().to_vec(),
    }
}

/// The attacker's own RSA-2048 key (generated once per test process): its signing key and
/// its public JWK.
fn attacker_rsa() -> &'static (EncodingKey, Value) {
    static KEY: OnceLock<(EncodingKey, Value)> = OnceLock::new();
    KEY.get_or_init(|| {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::traits::PublicKeyParts;
        let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("RSA key");
        let der = private.to_pkcs1_der().expect("pkcs1");
        let jwk = json!({
            "kty": "RSA", "kid": "attacker-key", "use": "sig", "alg": "RS256",
            "n": b64(&private.n().to_bytes_be()), "e": b64(&private.e().to_bytes_be()),
        });
        (EncodingKey::from_rsa_der(der.as_bytes()), jwk)
    })
}

/// A valid token of `idp` containing `-` or `_` (so that a standard-alphabet re-encoding
/// really differs).
fn token_with_url_safe_chars(idp: &TestIssuer) -> String {
    (0..64)
        .map(|i| idp.token(&format!("alice-{i}")))
        .find(|token| token.contains(['-', '_']))
        .expect("a token with '-' or '_' in 64 tries")
}

/// Every segment decoded and encoded again with `engine`.
fn reencode(token: &str, engine: &impl Engine) -> String {
    token
        .split('.')
        .map(|part| engine.encode(URL_SAFE_NO_PAD.decode(part).expect("base64url")))
        .collect::<Vec<_>>()
        .join(".")
}

// ---------------------------------------------------------------------------------------------
// Checking refusals
// ---------------------------------------------------------------------------------------------

/// One hostile token and the code it must get on the tenant path ([`ANY`]: any `token_*`).
struct Case {
    name: String,
    token: String,
    code: &'static str,
}

#[derive(Default)]
struct Cases(Vec<Case>);

impl Cases {
    fn add(&mut self, name: impl Into<String>, token: impl Into<String>, code: &'static str) {
        self.0.push(Case {
            name: name.into(),
            token: token.into(),
            code,
        });
    }
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
) -> reqwest::Response {
    let value = HeaderValue::from_str(&format!("Bearer {token}")).expect("a valid header value");
    app.client
        .request(method, app.url(path))
        .header(AUTHORIZATION, value)
        .send()
        .await
        .expect("the server answers (no dropped connection)")
}

/// Pieces of `token` that must never appear in a response: the token and its segments, when
/// long enough not to occur by chance.
fn echo_probes(token: &str) -> Vec<&str> {
    std::iter::once(token)
        .chain(token.split('.'))
        .filter(|part| part.len() >= 16)
        .collect()
}

/// `Ok` when `resp` is the refusal we want: `status` (401 or 403), problem+json, the bearer
/// challenge, the code (`ANY`: any `token_*` for 401), and no echo of the token.
async fn check_refusal(
    resp: reqwest::Response,
    token: &str,
    status: u16,
    code: &str,
) -> Result<(), String> {
    let got = resp.status().as_u16();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let content_type = header("content-type").unwrap_or_default();
    let www = header("www-authenticate");
    let all_headers = resp
        .headers()
        .values()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect::<Vec<_>>()
        .join("\n");
    let text = resp
        .text()
        .await
        .map_err(|e| format!("body unreadable: {e}"))?;
    let short = |s: &str| s.chars().take(300).collect::<String>();
    if got != status {
        return Err(format!("status {got}, want {status}: {}", short(&text)));
    }
    if content_type != "application/problem+json" {
        return Err(format!("content-type {content_type:?}"));
    }
    let want_error = if status == 401 {
        "invalid_token"
    } else {
        "insufficient_scope"
    };
    match &www {
        Some(www) if www.starts_with("Bearer ") && www.contains(want_error) => {}
        other => {
            return Err(format!(
                "WWW-Authenticate {other:?}, want Bearer {want_error}"
            ));
        }
    }
    let body: Value =
        serde_json::from_str(&text).map_err(|e| format!("body is not JSON ({e}): {text}"))?;
    let got_code = body["code"].as_str().unwrap_or_default();
    let code_ok = if code == ANY {
        got_code.starts_with("token_")
    } else {
        got_code == code
    };
    if !code_ok {
        return Err(format!("code {got_code:?}, want {code:?}: {body}"));
    }
    if body["status"] != status {
        return Err(format!("body status {}", body["status"]));
    }
    for probe in echo_probes(token) {
        if text.contains(probe) || all_headers.contains(probe) {
            return Err(format!("the response echoes the token: {}", short(&text)));
        }
    }
    Ok(())
}

/// Send every case to the tenant path (expecting its code) and to the bare path (any `token_*`
/// code: the tenant may not be resolvable from a hostile token); report every failure at once.
/// Then: no identity was created, and a good token still works.
async fn assert_all_refused(app: &TestApp, cases: &Cases) {
    let identities_before = app.mappings().await.len();
    assert_all_refused_at(app, TENANT, cases).await;
    assert_eq!(
        app.mappings().await.len(),
        identities_before,
        "a hostile token created an identity"
    );
    assert_accepted(app, &app.idp.token("alice"), "a good token after them").await;
}

/// Every case to `/tenants/{tenant}/getToken` (its code) and to `/getToken` (any `token_*`).
async fn assert_all_refused_at(app: &TestApp, tenant: &str, cases: &Cases) {
    let tenant_path = format!("/tenants/{tenant}/getToken");
    let mut failures = Vec::new();
    for case in &cases.0 {
        let resp = send(app, reqwest::Method::POST, &tenant_path, &case.token).await;
        if let Err(why) = check_refusal(resp, &case.token, 401, case.code).await {
            failures.push(format!("{} ({tenant_path}): {why}", case.name));
        }
        let resp = send(app, reqwest::Method::POST, "/getToken", &case.token).await;
        if let Err(why) = check_refusal(resp, &case.token, 401, ANY).await {
            failures.push(format!("{} (/getToken): {why}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} hostile tokens were not refused as they must be:\n  {}",
        failures.len(),
        cases.0.len(),
        failures.join("\n  ")
    );
}

/// A good token gets its ACS token: 201 the first time, 200 when the identity exists.
async fn assert_accepted(app: &TestApp, token: &str, what: &str) {
    let status = app.get_token(token).await.status().as_u16();
    assert!(status == 200 || status == 201, "{what}: status {status}");
}

// ---------------------------------------------------------------------------------------------
// `alg`: none, HMAC with the public key, algorithms the key does not allow
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn alg_none_in_any_spelling_with_or_without_a_signature() {
    let app = spawn_app().await;
    let idp = &app.idp;
    let claims = idp.claims("mallory");
    let mut cases = Cases::default();
    for alg in [
        "none",
        "None",
        "NONE",
        "nOnE",
        "nonE",
        "none ",
        " none",
        "none\u{0}",
        "\u{0}",
    ] {
        let header = json!({ "alg": alg, "typ": "JWT", "kid": idp.kid() });
        let unsigned = format!("{}.{}.", seg(&header), seg(&claims));
        let no_kid = format!("{}.{}.", seg(&json!({ "alg": alg })), seg(&claims));
        cases.add(
            format!("alg {alg:?}, empty signature"),
            &unsigned,
            ALG_REFUSED,
        );
        cases.add(
            format!("alg {alg:?}, junk signature"),
            format!("{unsigned}c2ln"),
            ALG_REFUSED,
        );
        let signed = real_key_with_header(idp, &header);
        cases.add(
            format!("alg {alg:?}, signed by the real key"),
            signed,
            ALG_REFUSED,
        );
        cases.add(
            format!("alg {alg:?}, no kid, empty signature"),
            no_kid,
            ALG_REFUSED,
        );
    }
    // `none` spelled with JSON escapes decodes to `none`.
    let escaped = b64(br#"{"alg":"\u006e\u006f\u006e\u0065","kid":"test-key-1"}"#);
    cases.add(
        "alg none in \\u escapes",
        format!("{escaped}.{}.", seg(&claims)),
        ALG_REFUSED,
    );
    for (name, header) in [
        ("no alg", json!({ "typ": "JWT", "kid": idp.kid() })),
        ("alg null", json!({ "alg": null, "kid": idp.kid() })),
        (
            "alg an array",
            json!({ "alg": ["RS256"], "kid": idp.kid() }),
        ),
        ("alg a number", json!({ "alg": 256, "kid": idp.kid() })),
        (
            "alg an object",
            json!({ "alg": { "name": "RS256" }, "kid": idp.kid() }),
        ),
    ] {
        cases.add(name, real_key_with_header(idp, &header), MALFORMED);
    }
    for alg in [
        "",
        "RS256 ",
        " RS256",
        "rs256",
        "Rs256",
        "RS 256",
        "RSA256",
        "RS256\u{0}",
        "ES512",
        "RSA-OAEP",
        "dir",
    ] {
        let header = json!({ "alg": alg, "typ": "JWT", "kid": idp.kid() });
        let token = real_key_with_header(idp, &header);
        cases.add(
            format!("alg {alg:?} (not exactly an allowed name)"),
            token,
            ALG_REFUSED,
        );
    }
    assert_all_refused(&app, &cases).await;
}

#[tokio::test]
async fn hmac_signed_with_the_public_key_in_any_encoding() {
    use rsa::pkcs1::{EncodeRsaPublicKey, LineEnding};
    let app = spawn_app().await;
    let idp = &app.idp;
    let jwk = idp.public_jwk();
    let component = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap();
    let (n, e) = (component("n"), component("e"));
    let public = rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(&n),
        rsa::BigUint::from_bytes_be(&e),
    )
    .unwrap();
    let spki_pem = idp.public_key_pem();
    let spki_der_b64: String = spki_pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let secrets: Vec<(&str, Vec<u8>)> = vec![
        ("SPKI PEM", spki_pem.clone().into_bytes()),
        ("SPKI PEM, no final newline", spki_pem.trim_end().into()),
        (
            "SPKI PEM, CRLF",
            spki_pem.replace('\n', "\r\n").into_bytes(),
        ),
        ("SPKI DER", STANDARD.decode(&spki_der_b64).unwrap()),
        ("SPKI DER base64 text", spki_der_b64.clone().into_bytes()),
        (
            "PKCS#1 PEM",
            public.to_pkcs1_pem(LineEnding::LF).unwrap().into_bytes(),
        ),
        (
            "PKCS#1 DER",
            public.to_pkcs1_der().unwrap().as_bytes().to_vec(),
        ),
        ("JWK JSON text", jwk.to_string().into_bytes()),
        (
            "JWKS document text",
            json!({ "keys": [jwk] }).to_string().into_bytes(),
        ),
        ("modulus bytes", n.clone()),
        ("modulus base64url text", jwk["n"].as_str().unwrap().into()),
        ("kid", idp.kid().into_bytes()),
        ("empty secret", Vec::new()),
    ];
    let claims = idp.claims("mallory");
    let mut cases = Cases::default();
    for (alg, name) in [
        (Algorithm::HS256, "HS256"),
        (Algorithm::HS384, "HS384"),
        (Algorithm::HS512, "HS512"),
    ] {
        for (what, secret) in &secrets {
            let header = json!({ "alg": name, "typ": "JWT", "kid": idp.kid() });
            let token = sign_json(&header, &claims, &EncodingKey::from_secret(secret), alg);
            cases.add(format!("{name} keyed with the {what}"), token, ALG_REFUSED);
        }
        let key = EncodingKey::from_secret(spki_pem.as_bytes());
        let token = sign_json(&json!({ "alg": name }), &claims, &key, alg);
        cases.add(
            format!("{name} keyed with the PEM, no kid"),
            token,
            ALG_REFUSED,
        );
    }
    assert_all_refused(&app, &cases).await;
}

#[tokio::test]
async fn algorithms_the_key_does_not_allow() {
    let app = spawn_app().await;
    let idp = &app.idp;
    let ec = ec_key("ec-key-1");
    idp.publish_jwk(ec.jwk.clone());
    let claims = idp.claims("mallory");

    // Positive control: the EC key really verifies ES256 tokens, so the refusals below are the
    // algorithm checks at work and not a broken key.
    let header = json!({ "alg": "ES256", "typ": "JWT", "kid": "ec-key-1" });
    let good = sign_json(&header, &idp.claims("erin"), &ec.encoding, Algorithm::ES256);
    assert_accepted(&app, &good, "ES256 with the EC key").await;

    let mut cases = Cases::default();
    // RSA algorithms, validly signed by the RSA key, presented for the EC key.
    for alg in ["RS256", "PS256", "RS512"] {
        let header = json!({ "alg": alg, "typ": "JWT", "kid": "ec-key-1" });
        let token = idp.token_with_header(header, claims.clone());
        cases.add(format!("{alg} header on the EC key"), token, ALG_REFUSED);
    }
    // ES256, validly signed by the EC key, presented for the RSA key.
    let header = json!({ "alg": "ES256", "kid": idp.kid() });
    let token = sign_json(&header, &claims, &ec.encoding, Algorithm::ES256);
    cases.add("ES256 header on the RSA key", token, ALG_REFUSED);
    // Other RSA algorithms, validly signed by the RSA key, which allows RS256 only.
    for alg in ["PS256", "PS384", "PS512", "RS384", "RS512"] {
        let header = json!({ "alg": alg, "typ": "JWT", "kid": idp.kid() });
        let token = idp.token_with_header(header, claims.clone());
        cases.add(
            format!("{alg} on the RS256-only RSA key"),
            token,
            ALG_REFUSED,
        );
    }
    // Curve and key type mismatches.
    for (alg, kid) in [
        ("ES384", "ec-key-1".to_owned()),
        ("EdDSA", "ec-key-1".to_owned()),
        ("EdDSA", idp.kid()),
        ("ES384", idp.kid()),
    ] {
        let header = json!({ "alg": alg, "typ": "JWT", "kid": kid });
        let token = real_key_with_header(idp, &header);
        cases.add(format!("{alg} header on key {kid}"), token, ALG_REFUSED);
    }
    // HMAC keyed with the EC public key.
    for (what, secret) in [
        ("EC public key PEM", ec.public_pem.as_bytes().to_vec()),
        ("EC public point", ec.public_point.clone()),
    ] {
        let header = json!({ "alg": "HS256", "kid": "ec-key-1" });
        let key = EncodingKey::from_secret(&secret);
        let token = sign_json(&header, &claims, &key, Algorithm::HS256);
        cases.add(format!("HS256 keyed with the {what}"), token, ALG_REFUSED);
    }
    assert_all_refused(&app, &cases).await;
}

#[tokio::test]
async fn keys_the_jwks_publishes_for_other_uses_never_verify() {
    use rsa::traits::PublicKeyParts;
    let app = spawn_app().await;
    let idp = &app.idp;
    let claims = idp.claims("mallory");
    let (attacker, attacker_jwk) = attacker_rsa();
    // Published before the first fetch: a symmetric key, the attacker's RSA key for encryption
    // only, a 1024-bit RSA key, an EC key declared for another curve's algorithm.
    let secret = b"a-shared-secret-published-in-the-jwks";
    idp.publish_jwk(json!({ "kty": "oct", "kid": "sym", "alg": "HS256", "k": b64(secret) }));
    let mut enc = attacker_jwk.clone();
    enc["kid"] = json!("enc-key");
    enc["use"] = json!("enc");
    idp.publish_jwk(enc);
    let mut ops = attacker_jwk.clone();
    ops["kid"] = json!("ops-key");
    ops["key_ops"] = json!(["encrypt", "wrapKey"]);
    idp.publish_jwk(ops);
    let weak = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
    idp.publish_jwk(json!({
        "kty": "RSA", "kid": "weak-key", "use": "sig", "alg": "RS256",
        "n": b64(&weak.n().to_bytes_be()), "e": b64(&weak.e().to_bytes_be()),
    }));
    // jsonwebtoken's aws-lc-rs backend will not sign with a key under 2048 bits, so the
    // attacker's RS256 signature with the weak key is made with the `rsa` crate directly.
    let weak_rs256 = |header: &Value| {
        use sha2::Digest as _;
        let message = format!("{}.{}", seg(header), seg(&claims));
        let digest = sha2::Sha256::digest(message.as_bytes());
        let signature = weak
            .sign(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest)
            .unwrap();
        format!("{message}.{}", b64(&signature))
    };
    let ec = ec_key("ec-384");
    let mut ec_jwk = ec.jwk.clone();
    ec_jwk["alg"] = json!("ES384");
    idp.publish_jwk(ec_jwk);
    assert_accepted(&app, &idp.token("alice"), "the real key still verifies").await;

    let mut cases = Cases::default();
    let hs = |kid: &str| {
        let header = json!({ "alg": "HS256", "kid": kid });
        sign_json(
            &header,
            &claims,
            &EncodingKey::from_secret(secret),
            Algorithm::HS256,
        )
    };
    cases.add("HS256 with the published oct key", hs("sym"), ALG_REFUSED);
    let header = json!({ "alg": "RS256", "kid": "sym" });
    let token = sign_json(&header, &claims, attacker, Algorithm::RS256);
    cases.add("RS256 naming the oct key", token, UNKNOWN_KEY);
    for kid in ["enc-key", "ops-key"] {
        let header = json!({ "alg": "RS256", "kid": kid });
        let token = sign_json(&header, &claims, attacker, Algorithm::RS256);
        cases.add(
            format!("RS256 with {kid}, not for signatures"),
            token,
            UNKNOWN_KEY,
        );
    }
    let header = json!({ "alg": "RS256", "kid": "weak-key" });
    let token = weak_rs256(&header);
    cases.add("RS256 with a 1024-bit key", token, UNKNOWN_KEY);
    let header = json!({ "alg": "ES256", "kid": "ec-384" });
    let token = sign_json(&header, &claims, &ec.encoding, Algorithm::ES256);
    cases.add("ES256 with a P-256 key declared ES384", token, UNKNOWN_KEY);
    let header = json!({ "alg": "RS256" });
    let token = sign_json(&header, &claims, attacker, Algorithm::RS256);
    // The unusable keys are not keys at all: the real one is the set's only key.
    cases.add(
        "no kid: the only usable key is the real one",
        token,
        BAD_SIGNATURE,
    );
    assert_all_refused(&app, &cases).await;
}

// ---------------------------------------------------------------------------------------------
// ECDSA: psychic signatures (CVE-2022-21449) and other invalid signatures
// ---------------------------------------------------------------------------------------------

/// The order n of the P-256 group.
const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

#[tokio::test]
async fn invalid_ecdsa_signatures_are_refused() {
    use p256::ecdsa::signature::Signer;
    let app = spawn_app().await;
    let idp = &app.idp;
    let ec = ec_key("ec-key-1");
    idp.publish_jwk(ec.jwk.clone());

    let header = seg(&json!({ "alg": "ES256", "typ": "JWT", "kid": "ec-key-1" }));
    let payload = seg(&idp.claims("mallory"));
    let message = format!("{header}.{payload}");
    let with_signature = |signature: &[u8]| format!("{message}.{}", b64(signature));

    // Positive control: the real signature over this very message verifies.
    let real: p256::ecdsa::Signature = ec.signing.sign(message.as_bytes());
    let real_bytes = real.to_bytes().to_vec();
    assert_accepted(
        &app,
        &with_signature(&real_bytes),
        "the EC tenant's real signature",
    )
    .await;

    let (r, s) = real_bytes.split_at(32);
    let rs = |r: &[u8], s: &[u8]| with_signature(&[r, s].concat());
    let zero = [0u8; 32];
    let mut one = [0u8; 32];
    one[31] = 1;
    let mut n_plus_1 = P256_N;
    n_plus_1[31] += 1;
    let max = [0xffu8; 32];
    let mut cases = Cases::default();
    cases.add(
        "r = s = 0 (psychic signature)",
        rs(&zero, &zero),
        BAD_SIGNATURE,
    );
    cases.add("r = s = n", rs(&P256_N, &P256_N), BAD_SIGNATURE);
    cases.add("r = 0, s = the real s", rs(&zero, s), BAD_SIGNATURE);
    cases.add("r = the real r, s = 0", rs(r, &zero), BAD_SIGNATURE);
    cases.add("r = n, s = the real s", rs(&P256_N, s), BAD_SIGNATURE);
    cases.add("r = the real r, s = n", rs(r, &P256_N), BAD_SIGNATURE);
    cases.add("r = n + 1, s = 1", rs(&n_plus_1, &one), BAD_SIGNATURE);
    cases.add("r = s = 2^256 - 1", rs(&max, &max), BAD_SIGNATURE);
    cases.add("r = s = 1", rs(&one, &one), BAD_SIGNATURE);
    cases.add("r and s swapped", rs(s, r), BAD_SIGNATURE);
    let der = real.to_der();
    cases.add(
        "the real signature in DER",
        with_signature(der.as_bytes()),
        BAD_SIGNATURE,
    );
    cases.add(
        "truncated to 63 bytes",
        with_signature(&real_bytes[..63]),
        BAD_SIGNATURE,
    );
    let longer = [real_bytes.as_slice(), &[0]].concat();
    cases.add(
        "a zero byte appended",
        with_signature(&longer),
        BAD_SIGNATURE,
    );
    let padded = [&[0], r, &[0], s].concat();
    cases.add(
        "r and s zero-padded to 33 bytes",
        with_signature(&padded),
        BAD_SIGNATURE,
    );
    cases.add("empty signature", format!("{message}."), BAD_SIGNATURE);
    let other_payload = seg(&idp.claims("admin"));
    let moved = format!("{header}.{other_payload}.{}", b64(&real_bytes));
    cases.add(
        "the real signature over another payload",
        moved,
        BAD_SIGNATURE,
    );
    for bit in [0usize, 7, 255, 256, 511] {
        let mut flipped = real_bytes.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        cases.add(
            format!("bit {bit} flipped"),
            with_signature(&flipped),
            BAD_SIGNATURE,
        );
    }
    assert_all_refused(&app, &cases).await;
}

#[tokio::test]
async fn tokens_refused_by_their_shape_header_or_payload_never_reach_the_identity_provider() {
    let app = spawn_app().await;
    let idp = &app.idp;
    let claims = idp.claims("mallory");
    let kid = idp.kid();
    let key = EncodingKey::from_secret(idp.public_key_pem().as_bytes());
    let header = json!({ "alg": "HS256", "kid": kid });
    let mut cases = Cases::default();
    let none = format!(
        "{}.{}.",
        seg(&json!({ "alg": "none", "kid": kid })),
        seg(&claims)
    );
    cases.add("alg none", none, ALG_REFUSED);
    let hs256 = sign_json(&header, &claims, &key, Algorithm::HS256);
    cases.add("HS256 keyed with the public key", hs256, ALG_REFUSED);
    let crit = json!({ "alg": "RS256", "kid": kid, "crit": ["exp"], "exp": 1 });
    cases.add("crit", real_key_with_header(idp, &crit), MALFORMED);
    let kid_array = json!({ "alg": "RS256", "kid": [kid] });
    cases.add(
        "kid an array",
        real_key_with_header(idp, &kid_array),
        MALFORMED,
    );
    let header_text = rs256_header(idp).to_string();
    let dup = append_member(&claims, "iss", &json!("https://evil.example"));
    cases.add("duplicate iss", idp.sign_raw(&header_text, &dup), MALFORMED);
    cases.add(
        "payload an array",
        idp.sign_raw(&header_text, "[]"),
        MALFORMED,
    );
    let not_utf8 = format!(
        "{}.{}.c2ln",
        seg(&rs256_header(idp)),
        b64(b"{\"sub\":\"\xff\"}")
    );
    cases.add("payload not UTF-8", not_utf8, MALFORMED);
    cases.add("JWE", "eyJhbGciOiJkaXIifQ..aXY.Y3Q.dGFn", MALFORMED);
    cases.add("too large", huge_token(idp, 20 * 1024), TOO_LARGE);
    cases.add("not base64url", "a+b.c/d.e=f", MALFORMED);
    // Not `assert_all_refused`: its final good token would fetch the keys.
    assert_all_refused_at(&app, TENANT, &cases).await;
    assert_eq!(
        idp.discovery_fetch_count(),
        0,
        "discovery fetched for a hostile token"
    );
    assert_eq!(
        idp.jwks_fetch_count(),
        0,
        "JWKS fetched for a hostile token"
    );
    assert_eq!(idp.other_request_count(), 0);
    // Even with the identity provider down they are 401, not 503.
    idp.set_available(false);
    assert_all_refused_at(&app, TENANT, &cases).await;
    assert!(app.mappings().await.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Keys named or embedded in the header: jwk, jku, x5u, x5c
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn embedded_keys_and_key_urls_never_pick_the_key_and_are_never_fetched() {
    let app = spawn_app().await;
    let idp = &app.idp;
    // Warm the caches, and spend the rest of the key set's refetch budget on one unknown kid,
    // so that any later request to the issuer is the header's doing.
    assert_accepted(&app, &idp.token("alice"), "warm-up").await;
    flood(&app, &random_kid_tokens(idp, 1)).await;
    let jwks_before = idp.jwks_fetch_count();
    let discovery_before = idp.discovery_fetch_count();
    assert_eq!(idp.other_request_count(), 0);

    let base = idp.base_url();
    let (attacker_rsa, attacker_rsa_jwk) = attacker_rsa();
    let attacker_ec = ec_key("attacker-ec");
    let jku = format!("{base}/attacker/jwks.json");
    let x5u = format!("{base}/attacker/cert.pem");
    let certified = rcgen::generate_simple_self_signed(vec!["attacker.example".to_owned()])
        .expect("self-signed certificate");
    let x5c_key = EncodingKey::from_ec_der(&certified.key_pair.serialize_der());
    let x5c = STANDARD.encode(certified.cert.der());
    let claims = idp.claims("mallory");
    let rsa = |header: Value| sign_json(&header, &claims, attacker_rsa, Algorithm::RS256);
    let ec = |header: Value| sign_json(&header, &claims, &attacker_ec.encoding, Algorithm::ES256);
    let cert = |header: Value| sign_json(&header, &claims, &x5c_key, Algorithm::ES256);
    let real_kid = idp.kid();
    let hs_secret = EncodingKey::from_secret(b"secret");
    let oct = json!({ "kty": "oct", "k": b64(b"secret") });

    let mut cases = Cases::default();
    let jwk = attacker_rsa_jwk;
    let token = rsa(json!({ "alg": "RS256", "kid": "attacker-key", "jwk": jwk }));
    cases.add("jwk: attacker's RSA key, its kid", token, UNKNOWN_KEY);
    let token = rsa(json!({ "alg": "RS256", "kid": real_kid, "jwk": jwk }));
    cases.add(
        "jwk: attacker's RSA key, the real kid",
        token,
        BAD_SIGNATURE,
    );
    let token = rsa(json!({ "alg": "RS256", "jwk": jwk }));
    cases.add("jwk: attacker's RSA key, no kid", token, BAD_SIGNATURE);
    let token = ec(json!({ "alg": "ES256", "jwk": attacker_ec.jwk }));
    cases.add("jwk: attacker's EC key, no kid", token, ALG_REFUSED);
    let token = ec(json!({ "alg": "ES256", "kid": "attacker-ec", "jwk": attacker_ec.jwk }));
    cases.add("jwk: attacker's EC key, its kid", token, UNKNOWN_KEY);
    let header = json!({ "alg": "HS256", "jwk": oct });
    let token = sign_json(&header, &claims, &hs_secret, Algorithm::HS256);
    cases.add("jwk: a symmetric key", token, ALG_REFUSED);
    let token = rsa(json!({ "alg": "RS256", "kid": "attacker-key", "jku": jku }));
    cases.add("jku on the issuer's host, attacker kid", token, UNKNOWN_KEY);
    let token = rsa(json!({ "alg": "RS256", "kid": real_kid, "jku": jku }));
    cases.add(
        "jku on the issuer's host, the real kid",
        token,
        BAD_SIGNATURE,
    );
    let token = rsa(json!({ "alg": "RS256", "kid": "attacker-key", "jku": idp.jwks_uri() }));
    cases.add("jku = the real JWKS URI, attacker kid", token, UNKNOWN_KEY);
    let token = rsa(json!({ "alg": "RS256", "kid": "attacker-key", "jku": "/attacker/jwks" }));
    cases.add("jku a relative reference", token, UNKNOWN_KEY);
    let token = rsa(json!({ "alg": "RS256", "kid": "attacker-key", "x5u": x5u }));
    cases.add("x5u on the issuer's host, attacker kid", token, UNKNOWN_KEY);
    let token = rsa(json!({ "alg": "RS256", "kid": real_kid, "x5u": x5u }));
    cases.add(
        "x5u on the issuer's host, the real kid",
        token,
        BAD_SIGNATURE,
    );
    let token = cert(json!({ "alg": "ES256", "x5c": [x5c] }));
    cases.add(
        "x5c: attacker's self-signed certificate, no kid",
        token,
        ALG_REFUSED,
    );
    let token = cert(json!({ "alg": "ES256", "kid": real_kid, "x5c": [x5c] }));
    cases.add(
        "x5c: attacker's certificate, the real kid",
        token,
        ALG_REFUSED,
    );
    let token = cert(json!({ "alg": "ES256", "kid": "attacker-x5c", "x5c": [x5c] }));
    cases.add("x5c: attacker's certificate, its kid", token, UNKNOWN_KEY);
    let token = rsa(json!({
        "alg": "RS256", "kid": "attacker-key", "jwk": jwk, "jku": jku, "x5u": x5u,
        "x5c": [x5c], "x5t": b64(&[1; 20]), "x5t#S256": b64(&[2; 32]),
    }));
    cases.add("jwk, jku, x5u, x5c, x5t all at once", token, UNKNOWN_KEY);
    assert_all_refused(&app, &cases).await;

    assert_eq!(idp.other_request_count(), 0, "no jku/x5u was ever fetched");
    assert_eq!(
        idp.jwks_fetch_count(),
        jwks_before,
        "no header caused a JWKS fetch (the budget was spent)"
    );
    assert_eq!(idp.discovery_fetch_count(), discovery_before);
}

// ---------------------------------------------------------------------------------------------
// `kid`: hostile values and floods of unknown ones
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn hostile_kid_values_are_plain_lookup_strings() {
    let app = spawn_app().await;
    let idp = &app.idp;
    assert_accepted(&app, &idp.token("alice"), "warm-up").await;
    let jwks_before = idp.jwks_fetch_count();

    let real = idp.kid();
    let string_kids: Vec<(&str, String)> = vec![
        ("path traversal", "../../etc/passwd".into()),
        (
            "path traversal to the JWKS",
            "../discovery/v2.0/keys".into(),
        ),
        ("absolute path", "/dev/null".into()),
        ("file URL", "file:///etc/passwd".into()),
        (
            "URL on the issuer's host",
            format!("{}/attacker/key", idp.base_url()),
        ),
        ("SQL injection", "' OR 1=1--".into()),
        ("SQL injection, double quotes", "\" OR \"\"=\"".into()),
        ("SQL injection, union", "x' UNION SELECT 'secret' --".into()),
        (
            "command injection",
            "$(curl http://127.0.0.1/x); `id`".into(),
        ),
        ("JNDI lookup", "${jndi:ldap://127.0.0.1/a}".into()),
        ("template injection", "{{7*7}}".into()),
        ("CRLF injection", "x\r\nX-Injected: yes".into()),
        ("10 KB long", "k".repeat(10 * 1024)),
        ("unicode", "ключ-🔑-鍵".into()),
        ("right-to-left override", format!("\u{202e}{real}")),
        ("NUL byte after the real kid", format!("{real}\u{0}evil")),
        ("NUL byte before the real kid", format!("\u{0}{real}")),
        ("just a NUL byte", "\u{0}".into()),
        ("the real kid upper-cased", real.to_uppercase()),
        ("the real kid with a space", format!("{real} ")),
        ("a wildcard", "test-key-*".into()),
        ("a regex", ".*".into()),
        ("empty", String::new()),
        ("the real kid URL-encoded", real.replace('-', "%2D")),
    ];
    let mut cases = Cases::default();
    for (name, kid) in string_kids {
        let header = json!({ "alg": "RS256", "typ": "JWT", "kid": kid });
        cases.add(
            format!("kid {name}"),
            real_key_with_header(idp, &header),
            UNKNOWN_KEY,
        );
    }
    for (name, kid) in [
        ("an array holding the real kid", json!([real])),
        ("a number", json!(1)),
        ("an object", json!({ "kid": real })),
        ("true", json!(true)),
        ("null", Value::Null),
    ] {
        let header = json!({ "alg": "RS256", "typ": "JWT", "kid": kid });
        cases.add(
            format!("kid {name}"),
            real_key_with_header(idp, &header),
            MALFORMED,
        );
    }
    let two_kids = prepend_member(&rs256_header(idp), "kid", &json!("unknown"));
    let token = idp.sign_raw(&two_kids, &idp.claims("mallory").to_string());
    cases.add("two kids, unknown then real", token, MALFORMED);
    assert_all_refused(&app, &cases).await;

    assert_eq!(
        idp.other_request_count(),
        0,
        "no kid was used as a path or URL"
    );
    let fetches = idp.jwks_fetch_count() - jwks_before;
    assert!(
        fetches <= 1,
        "unknown kids refetched the JWKS {fetches} times in one cool-down"
    );
}

/// `n` tokens signed by the real key, each with its own random `kid`.
fn random_kid_tokens(idp: &TestIssuer, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let kid = format!("flood-{i}-{}", b64(&rand::random::<[u8; 12]>()));
            real_key_with_header(idp, &json!({ "alg": "RS256", "typ": "JWT", "kid": kid }))
        })
        .collect()
}

/// All of `tokens` at once; each must be refused as an unknown key.
async fn flood(app: &TestApp, tokens: &[String]) {
    let path = format!("/tenants/{TENANT}/getToken");
    let requests = tokens
        .iter()
        .map(|token| send(app, reqwest::Method::POST, &path, token));
    let answers = futures::future::join_all(requests).await;
    for (resp, token) in answers.into_iter().zip(tokens) {
        if let Err(why) = check_refusal(resp, token, 401, UNKNOWN_KEY).await {
            panic!("flood: {why}");
        }
    }
}

#[tokio::test]
async fn a_flood_of_unknown_kids_refetches_the_jwks_within_its_budget() {
    // The default budget (2 at once, one back per 30 s); cold: the flood is the first traffic.
    let app = spawn_app().await;
    let idp = &app.idp;
    flood(&app, &random_kid_tokens(idp, 200)).await;
    let cold = idp.jwks_fetch_count();
    assert!(
        cold <= 2,
        "a cold flood of 200 unknown kids: {cold} JWKS fetches (a burst of 2)"
    );
    assert!(idp.discovery_fetch_count() <= 1);
    // The keys fetched during the flood serve good tokens.
    assert_accepted(&app, &idp.token("alice"), "after the flood").await;
    let warm = idp.jwks_fetch_count();
    assert!(warm <= 2, "{warm} JWKS fetches");
    // Spend what is left of the burst, so the next flood finds none.
    flood(&app, &random_kid_tokens(idp, 5)).await;
    let warm = idp.jwks_fetch_count();
    assert!(warm <= 2, "{warm} JWKS fetches");
    // Warm: another flood within the cool-down fetches nothing.
    flood(&app, &random_kid_tokens(idp, 200)).await;
    assert_eq!(
        idp.jwks_fetch_count(),
        warm,
        "a warm flood fetched the JWKS"
    );
    assert_eq!(idp.other_request_count(), 0);
}

#[tokio::test]
async fn a_key_rotation_right_after_a_fetch_is_accepted_on_its_first_token() {
    // The default budget: a rotation needs no cool-down to pass first.
    let app = spawn_app().await;
    let idp = &app.idp;
    assert_accepted(&app, &idp.token("alice"), "before the rotation").await;
    let before = idp.jwks_fetch_count();
    idp.rotate_key();
    assert_accepted(&app, &idp.token("bob"), "the first token of the new key").await;
    // 200 random kids right after the rotation cause at most a handful of fetches.
    flood(&app, &random_kid_tokens(idp, 200)).await;
    let fetches = idp.jwks_fetch_count() - before;
    assert!(fetches <= 4, "{fetches} key-set fetches since the rotation");
    assert_accepted(&app, &idp.token("carol"), "after the flood").await;
}

#[tokio::test]
async fn a_sustained_flood_of_unknown_kids_is_bounded_by_a_short_cooldown() {
    let app = spawn_app_with(|s, _| s.jwks.refetch_cooldown_secs = 1).await;
    let idp = &app.idp;
    assert_accepted(&app, &idp.token("alice"), "warm-up").await;
    let before = idp.jwks_fetch_count();
    let started = Instant::now();
    let mut sent = 0;
    while started.elapsed() < Duration::from_millis(2500) {
        flood(&app, &random_kid_tokens(idp, 20)).await;
        sent += 20;
    }
    let elapsed = started.elapsed().as_secs_f64().ceil() as u64;
    let fetches = idp.jwks_fetch_count() - before;
    assert!(
        fetches <= elapsed + 2,
        "{sent} unknown kids in {elapsed} s: {fetches} JWKS fetches with a burst of 2 and a 1 s cool-down"
    );
    assert!(sent >= 40, "the flood was sent ({sent})");
    assert_accepted(&app, &idp.token("alice"), "after the flood").await;
}

// ---------------------------------------------------------------------------------------------
// `crit`, JWE, nesting, serialisations, encodings, segment counts
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn critical_and_unsupported_header_parameters_are_refused() {
    let app = spawn_app().await;
    let idp = &app.idp;
    let kid = idp.kid();
    let exp = now() + 3600;
    let mut cases = Cases::default();
    for (name, header) in [
        (
            "crit [exp], exp in the header",
            json!({ "crit": ["exp"], "exp": exp }),
        ),
        (
            "crit [an unknown extension]",
            json!({ "crit": ["urn:x:ext"], "urn:x:ext": true }),
        ),
        (
            "crit naming an absent parameter",
            json!({ "crit": ["urn:x:must"] }),
        ),
        ("crit empty", json!({ "crit": [] })),
        ("crit a string", json!({ "crit": "exp" })),
        ("crit null", json!({ "crit": null })),
        ("crit [alg]", json!({ "crit": ["alg"] })),
        (
            "crit [b64], b64 false (RFC 7797)",
            json!({ "crit": ["b64"], "b64": false }),
        ),
        ("b64 false without crit", json!({ "b64": false })),
        ("enc (a JWE header)", json!({ "enc": "A256GCM" })),
        ("zip", json!({ "zip": "DEF" })),
    ] {
        let mut header = header;
        header["alg"] = json!("RS256");
        header["kid"] = json!(kid);
        cases.add(name, real_key_with_header(idp, &header), MALFORMED);
    }
    assert_all_refused(&app, &cases).await;
}

#[tokio::test]
async fn jwe_nested_and_non_compact_forms_are_refused() {
    let app = spawn_app().await;
    let idp = &app.idp;
    let good = idp.token("mallory");
    let parts: Vec<&str> = good.split('.').collect();
    let (h, p, s) = (parts[0], parts[1], parts[2]);
    let filler = |n: usize| b64(&vec![7u8; n]);
    let (key, iv, ct, tag) = (filler(256), filler(12), filler(64), filler(16));
    let jwe_header = seg(&json!({ "alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": idp.kid() }));
    let dir_header = seg(&json!({ "alg": "dir", "enc": "A128CBC-HS256" }));
    let jwe = format!("{jwe_header}.{key}.{iv}.{ct}.{tag}");
    let nested_header = json!({ "alg": "RS256", "kid": idp.kid(), "cty": "JWT" });

    let mut cases = Cases::default();
    cases.add("JWE (RSA-OAEP-256, 5 segments)", &jwe, MALFORMED);
    cases.add(
        "JWE (dir: empty key)",
        format!("{dir_header}..{iv}.{ct}.{tag}"),
        MALFORMED,
    );
    cases.add(
        "JWE carrying the signed claims",
        format!("{h}.{key}.{iv}.{p}.{s}"),
        MALFORMED,
    );
    cases.add(
        "5 segments from a good token",
        format!("{good}.{p}.{s}"),
        MALFORMED,
    );
    // Nested: a validly signed outer JWS whose payload is a JWT (RFC 7519 §5.2 `cty: JWT`).
    let nested = idp.sign_raw(&nested_header.to_string(), &good);
    cases.add(
        "nested JWT (cty JWT, payload a signed JWT)",
        nested,
        MALFORMED,
    );
    let nested_jwe = idp.sign_raw(&nested_header.to_string(), &jwe);
    cases.add("nested JWE (cty JWT, payload a JWE)", nested_jwe, MALFORMED);
    let unsigned = format!("{}.{}.", seg(&nested_header), b64(good.as_bytes()));
    cases.add("cty JWT, unsigned, payload a JWT", unsigned, MALFORMED);
    // The JSON serialisations (RFC 7515 §7.2) of a good token.
    let flattened = json!({ "protected": h, "payload": p, "signature": s }).to_string();
    let general = json!({ "payload": p, "signatures": [{ "protected": h, "signature": s }] });
    cases.add("JSON serialisation, flattened", &flattened, MALFORMED);
    cases.add(
        "JSON serialisation, general",
        general.to_string(),
        MALFORMED,
    );
    cases.add(
        "JSON serialisation, base64url",
        b64(flattened.as_bytes()),
        MALFORMED,
    );
    assert_all_refused(&app, &cases).await;
}

#[tokio::test]
async fn malformed_encodings_and_segment_counts_are_refused() {
    let app = spawn_app().await;
    let idp = &app.idp;
    let good = token_with_url_safe_chars(idp);
    let parts: Vec<&str> = good.split('.').collect();
    let (h, p, s) = (parts[0], parts[1], parts[2]);
    // A non-canonical last character: the bits that count unchanged, the unused low bits set
    // (an RSA-2048 signature is 342 characters; the last one carries 2 bits).
    let non_canonical_sig = {
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let index = alphabet.find(s.chars().last().unwrap()).unwrap();
        let altered = alphabet.chars().nth((index & !0x0f) | 0x01).unwrap();
        format!("{}{altered}", &s[..s.len() - 1])
    };
    assert_ne!(non_canonical_sig, s);
    let standard = reencode(&good, &STANDARD_NO_PAD);
    assert_ne!(standard, good, "the standard alphabet differs");
    let claims = idp.claims("mallory");
    let header = rs256_header(idp).to_string();
    let signed_payload = |payload: &str| idp.sign_raw(&header, payload);
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));

    let mut cases = Cases::default();
    // Characters outside base64url, padding, whitespace.
    cases.add("standard alphabet (+ and /)", standard, MALFORMED);
    cases.add(
        "standard base64 with padding",
        reencode(&good, &STANDARD),
        MALFORMED,
    );
    cases.add(
        "padding on every segment",
        reencode(&good, &URL_SAFE),
        MALFORMED,
    );
    cases.add("padding on the signature", format!("{good}="), MALFORMED);
    cases.add(
        "double padding on the signature",
        format!("{good}=="),
        MALFORMED,
    );
    cases.add("padding on the header", format!("{h}=.{p}.{s}"), MALFORMED);
    let (p1, p2) = p.split_at(10);
    cases.add(
        "space inside the payload",
        format!("{h}.{p1} {p2}.{s}"),
        MALFORMED,
    );
    cases.add("space after a dot", format!("{h}. {p}.{s}"), MALFORMED);
    let (h1, h2) = h.split_at(5);
    cases.add(
        "tab inside the header",
        format!("{h1}\t{h2}.{p}.{s}"),
        MALFORMED,
    );
    cases.add(
        "percent-encoded dots",
        format!("{h}%2E{p}%2E{s}"),
        MALFORMED,
    );
    cases.add("quotes around the token", format!("\"{good}\""), MALFORMED);
    cases.add("Bearer twice", format!("Bearer {good}"), MALFORMED);
    cases.add(
        "two tokens, comma-separated",
        format!("{good},{good}"),
        MALFORMED,
    );
    // Base64url that does not decode, or not canonically.
    let token = format!("{h}.{p}.{non_canonical_sig}");
    cases.add(
        "non-canonical trailing bits in the signature",
        token,
        MALFORMED,
    );
    let token = format!("{}.{p}.{s}", impossible_length(h));
    cases.add("header of impossible length (4n+1)", token, MALFORMED);
    let token = format!("{h}.{}.{s}", impossible_length(p));
    cases.add("payload of impossible length (4n+1)", token, MALFORMED);
    let token = format!("{h}.{p}.{}", impossible_length(s));
    cases.add("signature of impossible length (4n+1)", token, MALFORMED);
    cases.add(
        "signature one byte longer",
        format!("{good}AA"),
        BAD_SIGNATURE,
    );
    // Segment counts and empty segments.
    cases.add("1 segment (dots removed)", format!("{h}{p}{s}"), MALFORMED);
    cases.add("2 segments (no signature)", format!("{h}.{p}"), MALFORMED);
    cases.add("2 segments (no header)", format!("{p}.{s}"), MALFORMED);
    cases.add("4 segments (a trailing dot)", format!("{good}."), MALFORMED);
    cases.add(
        "4 segments (an extra segment)",
        format!("{good}.{s}"),
        MALFORMED,
    );
    cases.add("4 segments (a leading dot)", format!(".{good}"), MALFORMED);
    cases.add("6 segments", format!("{good}.{h}.{p}.{s}"), MALFORMED);
    cases.add(
        "two tokens joined by a dot",
        format!("{good}.{good}"),
        MALFORMED,
    );
    cases.add("two dots", "..", MALFORMED);
    cases.add("three dots", "...", MALFORMED);
    cases.add("empty header", format!(".{p}.{s}"), MALFORMED);
    cases.add("empty payload", format!("{h}..{s}"), MALFORMED);
    cases.add("empty header and payload", format!("..{s}"), MALFORMED);
    cases.add(
        "empty signature (alg RS256)",
        format!("{h}.{p}."),
        BAD_SIGNATURE,
    );
    cases.add("a single character", "x", MALFORMED);
    // Headers that are not a JSON object in UTF-8.
    for (name, bytes) in [
        ("not JSON", b"RS256".to_vec()),
        ("a JSON array", b"[\"RS256\"]".to_vec()),
        ("a JSON string", b"\"RS256\"".to_vec()),
        ("null", b"null".to_vec()),
        ("with a UTF-8 BOM", format!("\u{feff}{header}").into_bytes()),
        ("with trailing garbage", format!("{header}x").into_bytes()),
        (
            "not UTF-8",
            b"{\"alg\":\"RS256\",\"kid\":\"\xff\xfe\"}".to_vec(),
        ),
        (
            "UTF-16",
            header.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        ),
        (
            "nested 5000 deep",
            format!(r#"{{"alg":"RS256","x":{}}}"#, deep(5000)).into(),
        ),
    ] {
        cases.add(
            format!("header {name}"),
            format!("{}.{p}.{s}", b64(&bytes)),
            MALFORMED,
        );
    }
    // Payloads (validly signed) that are not a JSON object in UTF-8.
    let claims_text = claims.to_string();
    let open = claims_text.trim_end_matches('}');
    for (name, payload) in [
        ("a JSON array", "[1,2,3]".to_owned()),
        ("a JSON string", "\"alice\"".to_owned()),
        ("a number", "42".to_owned()),
        ("null", "null".to_owned()),
        ("with trailing garbage", format!("{claims_text}x")),
        ("with a trailing comma", format!("{open},}}")),
        ("with a UTF-8 BOM", format!("\u{feff}{claims_text}")),
        ("nested 5000 deep", format!("{open},\"x\":{}}}", deep(5000))),
        (
            "with a number beyond f64",
            format!("{open},\"big\":1e400}}"),
        ),
        (
            "with a lone surrogate",
            format!(r#"{open},"name":"\ud800"}}"#),
        ),
    ] {
        cases.add(
            format!("payload {name}"),
            signed_payload(&payload),
            MALFORMED,
        );
    }
    cases.add(
        "payload an empty object",
        signed_payload("{}"),
        MISSING_CLAIM,
    );
    let bad_utf8 = b64(b"{\"sub\":\"\xc3\x28\",\"exp\":9999999999}");
    cases.add(
        "payload not UTF-8",
        format!("{h}.{bad_utf8}.{s}"),
        MALFORMED,
    );
    assert_all_refused(&app, &cases).await;
}

// ---------------------------------------------------------------------------------------------
// Huge tokens
// ---------------------------------------------------------------------------------------------

/// A token-shaped string of about `bytes` bytes: a real header, then base64url filler.
fn huge_token(idp: &TestIssuer, bytes: usize) -> String {
    let header = seg(&rs256_header(idp));
    let half = bytes.saturating_sub(header.len()) / 2;
    format!("{header}.{}.{}", "A".repeat(half), "B".repeat(half))
}

fn resident_set_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[tokio::test]
async fn huge_tokens_are_refused_fast_and_the_server_keeps_serving() {
    let app = spawn_app().await;
    let idp = &app.idp;
    assert_accepted(&app, &idp.token("alice"), "warm-up").await;
    let limit = app.settings.jwks.max_token_bytes;
    let tenant_path = format!("/tenants/{TENANT}/getToken");

    // Over our limit, within what the HTTP layer takes: our own 401 `token_too_large`.
    for size in [limit + 1, 64 * 1024, 256 * 1024] {
        let token = huge_token(idp, size);
        assert!(token.len() > limit);
        for (path, code) in [(tenant_path.as_str(), TOO_LARGE), ("/getToken", ANY)] {
            let started = Instant::now();
            let resp = send(&app, reqwest::Method::POST, path, &token).await;
            let elapsed = started.elapsed();
            if let Err(why) = check_refusal(resp, &token, 401, code).await {
                panic!("{size} bytes at {path}: {why}");
            }
            assert!(
                elapsed < Duration::from_millis(500),
                "{size} bytes: {elapsed:?}"
            );
        }
    }

    // 1 MB and 16 MB: beyond hyper's header buffer (about 400 KB), which answers 431 itself
    // and closes the connection. A 16 MB header may still be on its way when it does, so the
    // client may see the connection closed instead of the 431; never a 5xx, never slow.
    for size in [1024 * 1024, 16 * 1024 * 1024] {
        let token = huge_token(idp, size);
        let started = Instant::now();
        let sent = app
            .client
            .post(app.url(&tenant_path))
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .send()
            .await;
        let elapsed = started.elapsed();
        match sent {
            Ok(resp) => {
                let status = resp.status().as_u16();
                assert!(
                    status == 431 || status == 401,
                    "{size} bytes: status {status}"
                );
                let text = resp.text().await.unwrap_or_default();
                assert!(!text.contains(&token[..64]), "{size} bytes: echoed");
            }
            // Only the 16 MB one may find the connection closed before it is all written.
            Err(e) => assert!(
                size > 1024 * 1024 && !e.is_timeout(),
                "{size} bytes: no answer: {e:?}"
            ),
        }
        assert!(
            elapsed < Duration::from_secs(1),
            "{size} bytes: {elapsed:?}"
        );
        assert_accepted(&app, &idp.token("alice"), "after a huge token").await;
    }

    // Bounded memory: many too-large tokens do not make the process grow.
    let token = huge_token(idp, 256 * 1024);
    let before = resident_set_bytes();
    for _ in 0..100 {
        let resp = send(&app, reqwest::Method::POST, &tenant_path, &token).await;
        assert_eq!(resp.status().as_u16(), 401);
    }
    if let (Some(before), Some(after)) = (before, resident_set_bytes()) {
        let grown_mb = after.saturating_sub(before) / (1024 * 1024);
        assert!(
            grown_mb < 64,
            "100 refused 256 KB tokens: +{grown_mb} MB resident"
        );
    }
}

#[tokio::test]
async fn control_and_non_ascii_bytes_in_the_header_get_a_clean_4xx() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let good = app.idp.token("mallory");
    let address = app.address.trim_start_matches("http://").to_owned();
    let (h, rest) = good.split_once('.').unwrap();
    let with_byte = |byte: &[u8]| [b"Bearer ", h.as_bytes(), byte, b".", rest.as_bytes()].concat();
    for (name, value) in [
        ("NUL", with_byte(b"\0")),
        ("DEL", with_byte(b"\x7f")),
        ("UTF-8 letter", with_byte("é".as_bytes())),
        ("Latin-1 byte", with_byte(&[0xe9])),
        ("vertical tab", with_byte(b"\x0b")),
        ("bare CR", with_byte(b"\r")),
        ("bare LF (a folded header)", with_byte(b"\n ")),
    ] {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        let mut request = format!(
            "POST /tenants/{TENANT}/getToken HTTP/1.1\r\nHost: {address}\r\n\
             Content-Length: 0\r\nConnection: close\r\nAuthorization: "
        )
        .into_bytes();
        request.extend_from_slice(&value);
        request.extend_from_slice(b"\r\n\r\n");
        stream.write_all(&request).await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
            .await
            .unwrap_or_else(|_| panic!("{name}: no answer"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let answer = String::from_utf8_lossy(&answer);
        let status: u16 = answer
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{name}: no status line in {answer:?}"));
        assert!((400..500).contains(&status), "{name}: status {status}");
        assert!(!answer.contains(rest), "{name}: echoed");
    }
    assert!(app.mappings().await.is_empty());
    assert_accepted(&app, &good, "the good token").await;
}

#[tokio::test]
async fn two_authorization_headers_are_refused() {
    let app = spawn_app().await;
    let good = app.idp.token("alice");
    let bad = app.idp.unsigned_none_token(app.idp.claims("mallory"));
    for (first, second) in [(&good, &bad), (&bad, &good)] {
        // `RequestBuilder::header` appends: two `Authorization` field lines.
        let resp = app
            .client
            .post(app.url(&format!("/tenants/{TENANT}/getToken")))
            .header(AUTHORIZATION, format!("Bearer {first}"))
            .header(AUTHORIZATION, format!("Bearer {second}"))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        assert!(
            status == 400 || status == 401,
            "two Authorization headers, the good one first = {}: status {status}",
            first == &good
        );
    }
    assert!(app.mappings().await.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Claims: duplicates, wrong JSON types, time, issuer, audience, subject
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn duplicate_keys_are_refused() {
    let app = spawn_app().await;
    let idp = &app.idp;
    let claims = idp.claims("mallory");
    let header = rs256_header(idp);
    let raw = |claims_json: String| idp.sign_raw(&header.to_string(), &claims_json);
    let (expired, far) = (json!(now() - 7200), json!(now() + 10 * 365 * 86400));
    let evil = json!("https://evil.example");
    let other = json!("api://other");
    let mut cases = Cases::default();
    cases.add(
        "exp twice, expired last",
        raw(append_member(&claims, "exp", &expired)),
        MALFORMED,
    );
    cases.add(
        "exp twice, expired first",
        raw(prepend_member(&claims, "exp", &expired)),
        MALFORMED,
    );
    cases.add(
        "exp twice, far future last",
        raw(append_member(&claims, "exp", &far)),
        MALFORMED,
    );
    cases.add(
        "iss twice, evil last",
        raw(append_member(&claims, "iss", &evil)),
        MALFORMED,
    );
    cases.add(
        "iss twice, evil first",
        raw(prepend_member(&claims, "iss", &evil)),
        MALFORMED,
    );
    cases.add(
        "aud twice, other last",
        raw(append_member(&claims, "aud", &other)),
        MALFORMED,
    );
    cases.add(
        "aud twice, other first",
        raw(prepend_member(&claims, "aud", &other)),
        MALFORMED,
    );
    let admin = json!("admin");
    cases.add(
        "sub twice",
        raw(append_member(&claims, "sub", &admin)),
        MALFORMED,
    );
    cases.add(
        "scp twice",
        raw(append_member(&claims, "scp", &admin)),
        MALFORMED,
    );
    let open = claims.to_string();
    let open = open.trim_end_matches('}');
    let nested = format!(r#"{open},"ctx":{{"role":"user","role":"admin"}}}}"#);
    cases.add("a duplicate in a nested object", raw(nested), MALFORMED);
    let escaped = format!(r#"{open},"\u0073ub":"admin"}}"#);
    cases.add("sub twice, once as \\u0073ub", raw(escaped), MALFORMED);
    let text = claims.to_string();
    let none = json!("none");
    let token = idp.sign_raw(&append_member(&header, "alg", &none), &text);
    cases.add("alg twice in the header, none last", token, MALFORMED);
    let token = idp.sign_raw(&prepend_member(&header, "alg", &none), &text);
    cases.add("alg twice in the header, none first", token, MALFORMED);
    assert_all_refused(&app, &cases).await;
}

#[tokio::test]
async fn time_claims_of_the_wrong_type_or_out_of_range_are_refused() {
    let app = spawn_app().await;
    let idp = &app.idp;
    let t = now();
    let ten_years = 10 * 365 * 86400;
    let mut cases = Cases::default();
    for (claim, name, value, code) in [
        ("exp", "a string", json!((t + 3600).to_string()), BAD_CLAIM),
        ("exp", "true", json!(true), BAD_CLAIM),
        ("exp", "null", Value::Null, BAD_CLAIM),
        // jsonwebtoken fails to parse these as a whole; any token_* code will do.
        ("exp", "an array", json!([t + 3600]), ANY),
        ("exp", "an object", json!({ "$date": t + 3600 }), ANY),
        ("exp", "1e30", json!(1e30), ANY),
        (
            "exp",
            "2^64 (as a float)",
            json!(18_446_744_073_709_551_616.0_f64),
            ANY,
        ),
        ("exp", "negative", json!(-1), EXPIRED),
        ("exp", "i64::MIN", json!(i64::MIN), EXPIRED),
        ("exp", "-1e30", json!(-1e30), EXPIRED),
        ("exp", "zero", json!(0), EXPIRED),
        (
            "exp",
            "a float in the past",
            json!(t as f64 - 3600.5),
            EXPIRED,
        ),
        ("exp", "just beyond the leeway", json!(t - 120), EXPIRED),
        (
            "nbf",
            "ten years ahead",
            json!(t + ten_years),
            NOT_YET_VALID,
        ),
        ("nbf", "an hour ahead", json!(t + 3600), NOT_YET_VALID),
        ("nbf", "1e30", json!(1e30), NOT_YET_VALID),
        ("nbf", "u64::MAX", json!(u64::MAX), NOT_YET_VALID),
        ("nbf", "a string", json!(t.to_string()), BAD_CLAIM),
        ("nbf", "true", json!(true), BAD_CLAIM),
        ("nbf", "an array", json!([t]), ANY),
        ("iat", "an hour ahead", json!(t + 3600), NOT_YET_VALID),
        (
            "iat",
            "ten years ahead",
            json!(t + ten_years),
            NOT_YET_VALID,
        ),
        ("iat", "1e30", json!(1e30), NOT_YET_VALID),
        ("iat", "u64::MAX", json!(u64::MAX), NOT_YET_VALID),
        ("iat", "a string", json!(t.to_string()), BAD_CLAIM),
        ("iat", "null", Value::Null, BAD_CLAIM),
    ] {
        let token = real_key_with_claim(idp, claim, value);
        cases.add(format!("{claim} {name}"), token, code);
    }
    cases.add(
        "exp missing",
        real_key_without_claim(idp, "exp"),
        MISSING_CLAIM,
    );
    assert_all_refused(&app, &cases).await;
}

#[tokio::test]
async fn issuer_audience_and_subject_variants_are_refused() {
    let app = spawn_app().await;
    let idp = &app.idp;
    let iss = idp.issuer();
    let aud = idp.audience();
    let other_port = {
        let (head, port) = iss.rsplit_once(':').unwrap();
        format!("{head}:{}", port.parse::<u16>().unwrap().wrapping_add(1))
    };
    let mut cases = Cases::default();
    for (name, value, code) in [
        (
            "with a trailing slash",
            json!(format!("{iss}/")),
            BAD_ISSUER,
        ),
        ("upper-cased", json!(iss.to_uppercase()), BAD_ISSUER),
        (
            "upper-case scheme",
            json!(iss.replacen("http", "HTTP", 1)),
            BAD_ISSUER,
        ),
        (
            "localhost for 127.0.0.1",
            json!(iss.replace("127.0.0.1", "localhost")),
            BAD_ISSUER,
        ),
        ("another port", json!(other_port), BAD_ISSUER),
        (
            "https for http",
            json!(iss.replacen("http", "https", 1)),
            BAD_ISSUER,
        ),
        ("a leading space", json!(format!(" {iss}")), BAD_ISSUER),
        ("a trailing space", json!(format!("{iss} ")), BAD_ISSUER),
        ("a trailing newline", json!(format!("{iss}\n")), BAD_ISSUER),
        ("a trailing NUL", json!(format!("{iss}\u{0}")), BAD_ISSUER),
        ("with a path", json!(format!("{iss}/evil")), BAD_ISSUER),
        ("with a query", json!(format!("{iss}?x=1")), BAD_ISSUER),
        (
            "with userinfo",
            json!(iss.replace("://", "://evil@")),
            BAD_ISSUER,
        ),
        ("a prefix of it", json!(&iss[..iss.len() - 1]), BAD_ISSUER),
        ("empty", json!(""), BAD_ISSUER),
        ("an array holding it", json!([iss]), BAD_CLAIM),
        ("an array holding it twice", json!([iss, iss]), BAD_CLAIM),
        ("an object", json!({ "iss": iss }), ANY),
        ("a number", json!(1), ANY),
        ("null", Value::Null, BAD_CLAIM),
    ] {
        cases.add(
            format!("iss {name}"),
            real_key_with_claim(idp, "iss", value),
            code,
        );
    }
    cases.add(
        "iss missing",
        real_key_without_claim(idp, "iss"),
        MISSING_CLAIM,
    );
    for (name, value, code) in [
        ("an empty array", json!([]), BAD_AUDIENCE),
        ("wrong", json!("api://someone-else"), BAD_AUDIENCE),
        ("only the issuer", json!(iss), BAD_AUDIENCE),
        ("an array with only the issuer", json!([iss]), BAD_AUDIENCE),
        ("upper-cased", json!(aud.to_uppercase()), BAD_AUDIENCE),
        ("a trailing space", json!(format!("{aud} ")), BAD_AUDIENCE),
        ("a trailing slash", json!(format!("{aud}/")), BAD_AUDIENCE),
        ("a prefix of it", json!(&aud[..aud.len() - 1]), BAD_AUDIENCE),
        ("empty", json!(""), BAD_AUDIENCE),
        ("a wildcard", json!("*"), BAD_AUDIENCE),
        (
            "a space-separated list",
            json!(format!("other {aud}")),
            BAD_AUDIENCE,
        ),
        ("a number", json!(42), ANY),
        ("an object", json!({ "aud": aud }), ANY),
        ("null", Value::Null, BAD_CLAIM),
        ("an array with a number", json!([aud, 5]), ANY),
        ("a nested array", json!([[aud]]), ANY),
    ] {
        cases.add(
            format!("aud {name}"),
            real_key_with_claim(idp, "aud", value),
            code,
        );
    }
    cases.add(
        "aud missing",
        real_key_without_claim(idp, "aud"),
        MISSING_CLAIM,
    );
    for (name, value) in [
        ("empty", json!("")),
        ("a number", json!(42)),
        ("null", Value::Null),
        ("an array", json!(["alice"])),
        ("an object", json!({ "sub": "alice" })),
    ] {
        cases.add(
            format!("sub {name}"),
            real_key_with_claim(idp, "sub", value),
            ANY,
        );
    }
    cases.add(
        "sub missing",
        real_key_without_claim(idp, "sub"),
        MISSING_CLAIM,
    );
    // The store keys users by the subject, at most 255 characters.
    let long = |n: usize| real_key_with_claim(idp, "sub", json!("s".repeat(n)));
    cases.add("sub of 256 characters", long(256), BAD_CLAIM);
    cases.add("sub of 10 KB", long(10 * 1024), BAD_CLAIM);
    let emoji = real_key_with_claim(idp, "sub", json!("🔑".repeat(256)));
    cases.add("sub of 256 four-byte characters", emoji, BAD_CLAIM);
    assert_all_refused(&app, &cases).await;
    // At the limit: 255 characters of four bytes each are a subject like any other.
    let at_limit = real_key_with_claim(idp, "sub", json!("🔑".repeat(255)));
    assert_accepted(&app, &at_limit, "a 255-character subject").await;
}

// ---------------------------------------------------------------------------------------------
// Tokens that are valid somewhere else: another tenant, an ACS token
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_token_of_another_tenant_is_refused_even_with_a_forged_issuer() {
    let beta_idp = TestIssuer::start().await;
    let beta = oidc_tenant("beta", &beta_idp);
    let app = spawn_app_with(move |s, _| s.tenants.push(beta)).await;
    let acme_idp = &app.idp;
    // Both issuers call their key `test-key-1` (different keys) and share the audience.
    assert_eq!(acme_idp.kid(), beta_idp.kid());
    assert_eq!(acme_idp.audience(), beta_idp.audience());
    assert_accepted(&app, &acme_idp.token("alice"), "acme's alice").await;
    let beta_jwks = beta_idp.jwks_fetch_count();

    let mut forged = beta_idp.claims("alice");
    forged["iss"] = json!(acme_idp.issuer());
    let beta_as_acme = beta_idp.token_with(forged);
    let mut forged = acme_idp.claims("alice");
    forged["iss"] = json!(beta_idp.issuer());
    let acme_as_beta = acme_idp.token_with(forged);
    let beta_token = beta_idp.token("alice");
    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;
    let mut failures = Vec::new();
    for (name, token, method, path) in [
        (
            "beta's token (same kid, other key)",
            &beta_token,
            &post,
            "/tenants/acme/getToken",
        ),
        (
            "beta's token (same kid, other key)",
            &beta_token,
            &get,
            "/tenants/acme/user",
        ),
        (
            "beta's key, iss forged to acme",
            &beta_as_acme,
            &post,
            "/tenants/acme/getToken",
        ),
        (
            "beta's key, iss forged to acme",
            &beta_as_acme,
            &get,
            "/tenants/acme/user",
        ),
        (
            "beta's key, iss forged to acme",
            &beta_as_acme,
            &post,
            "/getToken",
        ),
        (
            "acme's key, iss forged to beta",
            &acme_as_beta,
            &post,
            "/tenants/beta/getToken",
        ),
        (
            "acme's key, iss forged to beta",
            &acme_as_beta,
            &post,
            "/getToken",
        ),
    ] {
        let resp = send(&app, method.clone(), path, token).await;
        if let Err(why) = check_refusal(resp, token, 401, BAD_SIGNATURE).await {
            failures.push(format!("{name} at {method} {path}: {why}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let beta_mappings = app.state.store.mappings_of_tenant("beta").await.unwrap();
    assert!(beta_mappings.is_empty());
    assert_eq!(app.mappings().await.len(), 1, "only acme's alice");
    assert!(beta_idp.jwks_fetch_count() <= beta_jwks + 1);
    assert_eq!(acme_idp.other_request_count(), 0);
    assert_eq!(beta_idp.other_request_count(), 0);
}

#[tokio::test]
async fn an_acs_token_replayed_as_bearer_is_refused_everywhere() {
    let app = spawn_app().await;
    let resp = app.get_token(&app.idp.token("alice")).await;
    let body: Value = resp.json().await.unwrap();
    let acs_token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(acs_token.split('.').count(), 3, "the ACS token is a JWS");
    // Its header relabelled with the IdP's kid: still not the IdP's signature.
    let (_, rest) = acs_token.split_once('.').unwrap();
    let relabelled = format!("{}.{rest}", seg(&rs256_header(&app.idp)));
    let mut failures = Vec::new();
    for (method, path) in [
        (reqwest::Method::POST, "/tenants/acme/getToken"),
        (reqwest::Method::GET, "/tenants/acme/user"),
        (reqwest::Method::DELETE, "/tenants/acme/deleteUser"),
        (reqwest::Method::POST, "/getToken"),
        (reqwest::Method::DELETE, "/deleteUser"),
    ] {
        for (name, token) in [
            ("ACS token", &acs_token),
            ("relabelled ACS token", &relabelled),
        ] {
            let resp = send(&app, method.clone(), path, token).await;
            if let Err(why) = check_refusal(resp, token, 401, ANY).await {
                failures.push(format!("{name} at {method} {path}: {why}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        app.mappings().await.len(),
        1,
        "alice's identity is untouched"
    );
}

#[tokio::test]
async fn entra_tokens_of_other_directories_or_with_forged_issuers_are_refused() {
    use acs_auth::config::{TenantSettings, TokenPolicySettings};
    use acs_auth_providers::ProviderConfig;
    use acs_auth_providers::testing::{
        FAKE_ENTRA_TENANT_A, FAKE_ENTRA_TENANT_B, FakeEntra, aad_config_for,
    };
    const OID: &str = "4a1c6f0e-2d3b-4c5d-8e9f-0a1b2c3d4e5f";
    const PERSONAL: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
    let entra = FakeEntra::start().await;
    let bound_to_b = entra.add_tenant_bound_key(FAKE_ENTRA_TENANT_B);
    let mut config = aad_config_for(&entra, "organizations");
    config.allowed_directories = vec![FAKE_ENTRA_TENANT_A.to_owned()];
    let contoso = TenantSettings {
        id: "contoso".into(),
        display_name: None,
        enabled: true,
        provider: ProviderConfig::Aad(config),
        access: Default::default(),
        tokens: TokenPolicySettings::default(),
        acs: None,
    };
    let app = spawn_app_with(move |s, _| s.tenants.push(contoso)).await;
    let (a, b) = (FAKE_ENTRA_TENANT_A, FAKE_ENTRA_TENANT_B);
    let v2 = |tid: &str, patch: Value| entra.v2_token(tid, OID, patch);
    let v1 = |tid: &str, patch: Value| entra.v1_token(tid, OID, patch);

    let mut cases = Cases::default();
    cases.add("v2, a directory not allowed", v2(b, json!({})), BAD_ISSUER);
    cases.add("v1, a directory not allowed", v1(b, json!({})), BAD_ISSUER);
    cases.add(
        "personal accounts directory",
        v2(PERSONAL, json!({})),
        BAD_ISSUER,
    );
    let iss_b = FakeEntra::v2_issuer(b);
    cases.add(
        "tid allowed, iss of another directory",
        v2(a, json!({ "iss": iss_b })),
        BAD_ISSUER,
    );
    let iss_a = FakeEntra::v2_issuer(a);
    cases.add(
        "iss allowed, tid of another directory",
        v2(b, json!({ "iss": iss_a })),
        BAD_ISSUER,
    );
    let template = "https://login.microsoftonline.com/{tenantid}/v2.0";
    cases.add(
        "iss the literal template",
        v2(a, json!({ "iss": template })),
        BAD_ISSUER,
    );
    let v1_iss = FakeEntra::v1_issuer(a);
    cases.add(
        "v2 token with the v1 issuer",
        v2(a, json!({ "iss": v1_iss })),
        BAD_ISSUER,
    );
    cases.add(
        "v1 token with the v2 issuer",
        v1(a, json!({ "iss": iss_a })),
        BAD_ISSUER,
    );
    cases.add("tid missing", v2(a, json!({ "tid": null })), MISSING_CLAIM);
    cases.add(
        "tid \"common\"",
        v2(a, json!({ "tid": "common" })),
        BAD_CLAIM,
    );
    cases.add(
        "tid {tenantid}",
        v2(a, json!({ "tid": "{tenantid}" })),
        BAD_CLAIM,
    );
    cases.add("tid an array", v2(a, json!({ "tid": [a] })), BAD_CLAIM);
    cases.add("ver 3.0", v2(a, json!({ "ver": "3.0" })), BAD_CLAIM);
    cases.add("ver a number", v2(a, json!({ "ver": 2 })), BAD_CLAIM);
    let claims = entra.v2_claims(a, OID);
    let token = entra.token_with_key(&bound_to_b, claims.clone());
    cases.add(
        "signed by a key bound to another directory",
        token,
        BAD_ISSUER,
    );
    let token = entra.sign_with_unpublished_key(claims.clone());
    cases.add("signed by an unpublished key", token, BAD_SIGNATURE);
    let id_token = json!({ "aud": entra.client_app_id(), "scp": null, "azp": null });
    cases.add("an ID token", v2(a, id_token), BAD_AUDIENCE);
    cases.add(
        "no scp nor roles",
        v2(a, json!({ "scp": null })),
        MISSING_CLAIM,
    );
    cases.add(
        "oid not a GUID",
        v2(a, json!({ "oid": "admin" })),
        BAD_CLAIM,
    );
    let header = json!({ "alg": "none", "kid": entra.kid() });
    let unsigned = format!("{}.{}.", seg(&header), seg(&claims));
    cases.add("alg none", unsigned, ALG_REFUSED);
    assert_all_refused_at(&app, "contoso", &cases).await;

    let mappings = app.state.store.mappings_of_tenant("contoso").await.unwrap();
    assert!(mappings.is_empty(), "a hostile token created an identity");
    let resp = app.post_get_token("contoso", &v2(a, json!({})), None).await;
    assert_eq!(resp.status().as_u16(), 201, "positive control");
}

// ---------------------------------------------------------------------------------------------
// Valid tokens without the required scope or role: 403
// ---------------------------------------------------------------------------------------------

async fn assert_all_forbidden(app: &TestApp, cases: &Cases) {
    let mut failures = Vec::new();
    for case in &cases.0 {
        let resp = app.get_token(&case.token).await;
        if let Err(why) = check_refusal(resp, &case.token, 403, "insufficient_scope").await {
            failures.push(format!("{}: {why}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(app.mappings().await.is_empty(), "no identity for a 403");
}

#[tokio::test]
async fn look_alike_scopes_are_403_insufficient_scope() {
    let app = spawn_app_with(|s, _| {
        s.tenants[0].access.required_scopes = vec!["acs.token".into()];
    })
    .await;
    let idp = &app.idp;
    let scp = |value: Value| real_key_with_claim(idp, "scp", value);
    let mut cases = Cases::default();
    cases.add("scp upper-cased", scp(json!("ACS.TOKEN")), ANY);
    cases.add("scp with a suffix", scp(json!("acs.token.extra")), ANY);
    cases.add("scp with a prefix", scp(json!("xacs.token")), ANY);
    cases.add("scp comma-separated", scp(json!("openid,acs.token")), ANY);
    cases.add(
        "scp URL-prefixed",
        scp(json!("api://acs-auth/acs.token")),
        ANY,
    );
    cases.add("scp empty", scp(json!("")), ANY);
    cases.add("scp an object", scp(json!({ "acs.token": true })), ANY);
    cases.add("scp missing", real_key_without_claim(idp, "scp"), ANY);
    let mut as_role = idp.claims("mallory");
    as_role.as_object_mut().unwrap().remove("scp");
    as_role["roles"] = json!(["acs.token"]);
    cases.add("the scope given as a role", idp.token_with(as_role), ANY);
    assert_all_forbidden(&app, &cases).await;
    assert_accepted(&app, &scp(json!("openid acs.token")), "positive control").await;
}

#[tokio::test]
async fn look_alike_roles_are_403_insufficient_scope() {
    let app = spawn_app_with(|s, _| {
        s.tenants[0].access.required_roles = vec!["Acs.User".into()];
    })
    .await;
    let idp = &app.idp;
    let roles = |value: Value| real_key_with_claim(idp, "roles", value);
    let mut cases = Cases::default();
    cases.add(
        "roles a string, not an array",
        roles(json!("Acs.User")),
        ANY,
    );
    cases.add("roles lower-cased", roles(json!(["acs.user"])), ANY);
    cases.add("roles nested", roles(json!([["Acs.User"]])), ANY);
    cases.add("roles space-joined", roles(json!(["Reader Acs.User"])), ANY);
    cases.add("roles empty", roles(json!([])), ANY);
    let as_scope = real_key_with_claim(idp, "scp", json!("Acs.User"));
    cases.add("the role given as a scope", as_scope, ANY);
    let singular = real_key_with_claim(idp, "role", json!("Acs.User"));
    cases.add("a singular 'role' claim", singular, ANY);
    assert_all_forbidden(&app, &cases).await;
    assert_accepted(
        &app,
        &roles(json!(["Reader", "Acs.User"])),
        "positive control",
    )
    .await;
}
