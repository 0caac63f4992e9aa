//! Generic OIDC over HTTP against [`TestIssuer`](acs_auth_providers::testing::TestIssuer).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use acs_auth_providers::jwks::JwksCacheConfig;
use acs_auth_providers::oidc::*;
use acs_auth_providers::testing::refused;
use acs_auth_providers::testing::{
    DEFAULT_AUDIENCE, TestIssuer, TestIssuerOptions, oidc_config_for,
};
use acs_auth_providers::validate::DEFAULT_MAX_TOKEN_BYTES;
use acs_auth_providers::*;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn jwks(config: JwksCacheConfig) -> Arc<JwksCache> {
    Arc::new(JwksCache::new(
        acs_auth_providers::testing::idp_http(),
        config,
    ))
}

fn provider_with(config: OidcConfig, cache: Arc<JwksCache>) -> OidcProvider {
    OidcProvider::new(config, cache).unwrap()
}

async fn setup() -> (TestIssuer, OidcProvider) {
    let idp = TestIssuer::start().await;
    let provider = provider_with(oidc_config_for(&idp), jwks(JwksCacheConfig::default()));
    (idp, provider)
}

fn now() -> i64 {
    acs_auth_providers::validate::now_unix()
}

#[tokio::test]
async fn valid_token_yields_the_verified_identity() {
    let (idp, provider) = setup().await;
    let mut claims = idp.claims("alice");
    claims["roles"] = json!(["Caller.Admin"]);
    claims["scp"] = json!("calls.read calls.write");
    let identity = provider
        .verify(&idp.token_with(claims.clone()))
        .await
        .unwrap();
    assert_eq!(identity.issuer, idp.issuer());
    assert_eq!(identity.issuer_key, idp.issuer());
    assert_eq!(identity.subject, "alice");
    assert_eq!(identity.tenant_hint, None);
    assert_eq!(identity.scopes, ["calls.read", "calls.write"]);
    assert_eq!(identity.roles, ["Caller.Admin"]);
    assert_eq!(Some(identity.expires_at), claims["exp"].as_i64());
    assert_eq!(identity.signing_key.jwks_uri.as_str(), idp.jwks_uri());
    assert_eq!(identity.signing_key.kid, Some(idp.kid()));
    assert!(!provider.supports_teams_exchange());
}

#[tokio::test]
async fn discovery_and_keys_are_fetched_once_for_many_tokens() {
    let (idp, provider) = setup().await;
    for user in ["a", "b", "c", "d"] {
        assert_eq!(
            provider.verify(&idp.token(user)).await.unwrap().subject,
            user
        );
    }
    assert_eq!(idp.discovery_fetch_count(), 1);
    assert_eq!(idp.jwks_fetch_count(), 1);
}

#[tokio::test]
async fn wrong_issuer_is_refused() {
    let (idp, provider) = setup().await;
    for iss in [
        format!("{}/", idp.issuer()),
        "https://evil.example".to_owned(),
    ] {
        let mut claims = idp.claims("alice");
        claims["iss"] = json!(iss);
        assert!(matches!(
            refused(&provider, &idp.token_with(claims)).await,
            VerifyError::InvalidIssuer
        ));
    }
    let mut claims = idp.claims("alice");
    claims.as_object_mut().unwrap().remove("iss");
    assert!(matches!(
        refused(&provider, &idp.token_with(claims)).await,
        VerifyError::MissingClaim(_)
    ));
}

#[tokio::test]
async fn wrong_or_missing_audience_is_refused_and_any_configured_one_accepted() {
    let (idp, provider) = setup().await;
    let mut claims = idp.claims("alice");
    claims["aud"] = json!("api://someone-else");
    assert!(matches!(
        refused(&provider, &idp.token_with(claims.clone())).await,
        VerifyError::InvalidAudience
    ));
    claims["aud"] = json!(["api://someone-else", DEFAULT_AUDIENCE]);
    provider
        .verify(&idp.token_with(claims.clone()))
        .await
        .unwrap();
    claims.as_object_mut().unwrap().remove("aud");
    assert!(matches!(
        refused(&provider, &idp.token_with(claims)).await,
        VerifyError::MissingClaim(ref c) if c == "aud"
    ));

    let mut config = oidc_config_for(&idp);
    config.audiences = vec!["first".to_owned(), "second".to_owned()];
    let provider = provider_with(config, jwks(JwksCacheConfig::default()));
    let mut claims = idp.claims("alice");
    claims["aud"] = json!("second");
    provider.verify(&idp.token_with(claims)).await.unwrap();
}

#[tokio::test]
async fn expired_token_is_refused() {
    let (idp, provider) = setup().await;
    let mut claims = idp.claims("alice");
    claims["exp"] = json!(now() - 120);
    claims["iat"] = json!(now() - 3720);
    claims["nbf"] = json!(now() - 3720);
    assert!(matches!(
        refused(&provider, &idp.token_with(claims.clone())).await,
        VerifyError::Expired
    ));
    claims["exp"] = json!(now() - 10);
    provider.verify(&idp.token_with(claims)).await.unwrap();
}

#[tokio::test]
async fn nbf_in_the_future_is_refused() {
    let (idp, provider) = setup().await;
    let mut claims = idp.claims("alice");
    claims["nbf"] = json!(now() + 600);
    assert!(matches!(
        refused(&provider, &idp.token_with(claims.clone())).await,
        VerifyError::NotYetValid
    ));
    claims["nbf"] = json!(now() + 10);
    provider.verify(&idp.token_with(claims)).await.unwrap();
}

#[tokio::test]
async fn iat_in_the_future_is_refused() {
    let (idp, provider) = setup().await;
    let mut claims = idp.claims("alice");
    claims["iat"] = json!(now() + 600);
    assert!(matches!(
        refused(&provider, &idp.token_with(claims.clone())).await,
        VerifyError::NotYetValid
    ));
    claims["iat"] = json!("yesterday");
    assert!(matches!(
        refused(&provider, &idp.token_with(claims)).await,
        VerifyError::InvalidClaim(ref c) if c == "iat"
    ));
}

#[tokio::test]
async fn missing_exp_is_refused() {
    let (idp, provider) = setup().await;
    let mut claims = idp.claims("alice");
    claims.as_object_mut().unwrap().remove("exp");
    assert!(matches!(
        refused(&provider, &idp.token_with(claims)).await,
        VerifyError::MissingClaim(ref c) if c == "exp"
    ));
}

#[tokio::test]
async fn exp_or_nbf_of_the_wrong_type_is_refused() {
    let (idp, provider) = setup().await;
    for (name, value) in [
        ("exp", json!((now() + 3600).to_string())),
        ("exp", json!(null)),
        ("exp", json!(-5)),
        ("nbf", json!(now().to_string())),
    ] {
        let mut claims = idp.claims("alice");
        claims[name] = value.clone();
        let err = refused(&provider, &idp.token_with(claims)).await;
        if name == "exp" && value == json!(-5) {
            assert!(
                matches!(err, VerifyError::Expired | VerifyError::InvalidClaim(_)),
                "{err}"
            );
        } else {
            assert!(
                matches!(err, VerifyError::InvalidClaim(ref c) if c == name),
                "{name}={value}: {err}"
            );
        }
    }
}

#[tokio::test]
async fn bad_signature_is_refused() {
    let (idp, provider) = setup().await;
    let claims = idp.claims("alice");
    assert!(matches!(
        refused(&provider, &idp.sign_with_other_key(claims.clone())).await,
        VerifyError::InvalidSignature
    ));
    // A good signature moved onto other claims.
    let good = idp.token_with(claims.clone());
    let mut forged_claims = claims;
    forged_claims["sub"] = json!("admin");
    let forged = idp.token_with(forged_claims);
    let (head, _) = forged.rsplit_once('.').unwrap();
    let (_, signature) = good.rsplit_once('.').unwrap();
    assert!(matches!(
        refused(&provider, &format!("{head}.{signature}")).await,
        VerifyError::InvalidSignature
    ));
    // Expired AND badly signed: the signature is what is reported.
    let mut claims = idp.claims("alice");
    claims["exp"] = json!(now() - 7200);
    assert!(matches!(
        refused(&provider, &idp.sign_with_other_key(claims)).await,
        VerifyError::InvalidSignature
    ));
}

#[tokio::test]
async fn alg_none_in_any_case_is_refused() {
    let (idp, provider) = setup().await;
    for alg in ["none", "None", "NONE", "nOnE"] {
        let token = idp.unsigned_token_with_alg(alg, idp.claims("alice"));
        assert!(
            matches!(
                refused(&provider, &token).await,
                VerifyError::AlgorithmNotAllowed(_)
            ),
            "{alg} was not refused"
        );
    }
    let token = idp.unsigned_none_token(idp.claims("alice"));
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::AlgorithmNotAllowed(_)
    ));
    assert_eq!(
        idp.discovery_fetch_count(),
        0,
        "refused before any network request"
    );
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_refused() {
    let (idp, provider) = setup().await;
    let token = idp.hs256_signed_with_public_key(idp.claims("alice"));
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::AlgorithmNotAllowed(_)
    ));
    // The same with the raw modulus bytes and the JWK text as the secret.
    let jwk = idp.public_jwk();
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    for secret in [n, jwk.to_string().into_bytes()] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(idp.kid());
        let token = jsonwebtoken::encode(
            &header,
            &idp.claims("alice"),
            &EncodingKey::from_secret(&secret),
        )
        .unwrap();
        assert!(matches!(
            refused(&provider, &token).await,
            VerifyError::AlgorithmNotAllowed(_)
        ));
    }
}

/// An EC P-256 key pair: its public JWK (with `kid`) and its signing key.
fn ec_key(kid: &str) -> (Value, EncodingKey) {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    use p256::pkcs8::EncodePrivateKey;
    let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let der = secret.to_pkcs8_der().unwrap();
    let point = secret.public_key().to_encoded_point(false);
    let jwk = json!({
        "kty": "EC", "crv": "P-256", "use": "sig", "kid": kid,
        "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap()),
    });
    (jwk, EncodingKey::from_ec_der(der.as_bytes()))
}

fn es256_token(kid: &str, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

#[tokio::test]
async fn es256_token_is_accepted_for_an_ec_key_and_rs256_refused() {
    let (idp, provider) = setup().await;
    let (jwk, ec_signer) = ec_key("ec-1");
    idp.publish_jwk(jwk);
    let identity = provider
        .verify(&es256_token("ec-1", &ec_signer, &idp.claims("bob")))
        .await
        .unwrap();
    assert_eq!(identity.subject, "bob");

    // RS256 (validly signed by the RSA key) presented for the EC key.
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": "ec-1" });
    let token = idp.token_with_header(header, idp.claims("bob"));
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::AlgorithmNotAllowed(_)
    ));
    // ES256 presented for the RSA key.
    let token = es256_token(&idp.kid(), &ec_signer, &idp.claims("bob"));
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::AlgorithmNotAllowed(_)
    ));
    // PS256 (a valid signature by the RSA key) for the RS256-only RSA key.
    let header = json!({ "alg": "PS256", "typ": "JWT", "kid": idp.kid() });
    let token = idp.token_with_header(header, idp.claims("bob"));
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::AlgorithmNotAllowed(_)
    ));
}

#[tokio::test]
async fn unknown_crit_header_is_refused() {
    let (idp, provider) = setup().await;
    let header = json!({ "alg": "RS256", "kid": idp.kid(), "crit": ["http://example.com/ext"], "http://example.com/ext": "x" });
    let token = idp.token_with_header(header, idp.claims("alice"));
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::Malformed(_)
    ));
}

#[tokio::test]
async fn jwe_shaped_five_segment_token_is_refused() {
    let (idp, provider) = setup().await;
    let header = b64(br#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#);
    let token = format!("{header}.a2V5.aXY.Y2lwaGVydGV4dA.dGFn");
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::Malformed(_)
    ));
    assert_eq!(idp.discovery_fetch_count(), 0);
}

#[tokio::test]
async fn too_large_token_is_refused_before_parsing() {
    let (idp, provider) = setup().await;
    let mut claims = idp.claims("alice");
    claims["padding"] = json!("x".repeat(DEFAULT_MAX_TOKEN_BYTES));
    let err = refused(&provider, &idp.token_with(claims)).await;
    assert!(matches!(err, VerifyError::TooLarge));
    assert_eq!(err.code(), "token_too_large");
    assert_eq!(idp.discovery_fetch_count(), 0);

    let mut config = oidc_config_for(&idp);
    config.max_token_bytes = 100;
    let small = provider_with(config, jwks(JwksCacheConfig::default()));
    assert!(matches!(
        refused(&small, &idp.token("alice")).await,
        VerifyError::TooLarge
    ));
}

#[tokio::test]
async fn duplicate_claim_keys_are_refused() {
    let (idp, provider) = setup().await;
    let exp = now() + 3600;
    let header = format!(r#"{{"alg":"RS256","kid":"{}"}}"#, idp.kid());
    let claims = format!(
        r#"{{"iss":"{}","aud":"{DEFAULT_AUDIENCE}","sub":"alice","sub":"admin","exp":{exp}}}"#,
        idp.issuer()
    );
    assert!(matches!(
        refused(&provider, &idp.sign_raw(&header, &claims)).await,
        VerifyError::Malformed(_)
    ));
    let claims = format!(
        r#"{{"iss":"{}","aud":"{DEFAULT_AUDIENCE}","sub":"alice","exp":{exp}}}"#,
        idp.issuer()
    );
    provider
        .verify(&idp.sign_raw(&header, &claims))
        .await
        .unwrap();
    let duplicate_kid = format!(r#"{{"alg":"RS256","kid":"{}","kid":"other"}}"#, idp.kid());
    assert!(matches!(
        refused(&provider, &idp.sign_raw(&duplicate_kid, &claims)).await,
        VerifyError::Malformed(_)
    ));
}

#[tokio::test]
async fn malformed_payload_is_refused_before_the_issuer_is_contacted() {
    let (idp, provider) = setup().await;
    idp.set_available(false);
    let header = format!(r#"{{"alg":"RS256","kid":"{}"}}"#, idp.kid());
    let claims = idp.claims("alice").to_string();
    let duplicate = format!(
        r#"{},"iss":"https://evil.example"}}"#,
        &claims[..claims.len() - 1]
    );
    for payload in [duplicate.as_str(), "[]", "null", "{", "\u{feff}{}"] {
        assert!(
            matches!(
                refused(&provider, &idp.sign_raw(&header, payload)).await,
                VerifyError::Malformed(_)
            ),
            "{payload}"
        );
    }
    let not_utf8 = format!(
        "{}.{}.c2ln",
        b64(header.as_bytes()),
        b64(b"{\"sub\":\"\xff\"}")
    );
    assert!(matches!(
        refused(&provider, &not_utf8).await,
        VerifyError::Malformed(_)
    ));
    assert_eq!(idp.discovery_fetch_count(), 0);
    assert_eq!(idp.jwks_fetch_count(), 0);
}

#[tokio::test]
async fn jku_x5u_jwk_x5c_headers_are_ignored() {
    let (idp, provider) = setup().await;
    let elsewhere = format!("{}/attacker/keys", idp.base_url());
    let (attacker_jwk, attacker_key) = ec_key(&idp.kid());
    // A genuine token with those headers verifies with the issuer's key, nothing fetched.
    let header = json!({
        "alg": "RS256", "typ": "JWT", "kid": idp.kid(),
        "jku": elsewhere, "x5u": elsewhere, "jwk": attacker_jwk, "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"],
    });
    provider
        .verify(&idp.token_with_header(header, idp.claims("alice")))
        .await
        .unwrap();
    // A token signed by the attacker's key, which its headers point at, is refused.
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(idp.kid());
    header.jku = Some(elsewhere.clone());
    header.x5u = Some(elsewhere.clone());
    header.jwk = Some(serde_json::from_value(attacker_jwk).unwrap());
    let token = jsonwebtoken::encode(&header, &idp.claims("alice"), &attacker_key).unwrap();
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::AlgorithmNotAllowed(_)
    ));
    header.kid = Some("attacker".to_owned());
    let token = jsonwebtoken::encode(&header, &idp.claims("alice"), &attacker_key).unwrap();
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::UnknownKey
    ));
    assert_eq!(idp.other_request_count(), 0, "jku/x5u were never fetched");
}

#[tokio::test]
async fn token_without_kid_is_accepted_only_when_the_set_has_one_key() {
    let (idp, provider) = setup().await;
    let header = json!({ "alg": "RS256", "typ": "JWT" });
    provider
        .verify(&idp.token_with_header(header.clone(), idp.claims("alice")))
        .await
        .unwrap();
    idp.rotate_key_keeping_old();
    let idp_token = idp.token_with_header(header, idp.claims("alice"));
    let fresh = provider_with(oidc_config_for(&idp), jwks(JwksCacheConfig::default()));
    assert!(matches!(
        refused(&fresh, &idp_token).await,
        VerifyError::UnknownKey
    ));
}

#[tokio::test]
async fn unknown_kid_is_refused_and_rotation_picked_up_on_demand() {
    let idp = TestIssuer::start().await;
    let config = JwksCacheConfig {
        refetch_cooldown: Duration::ZERO,
        ..JwksCacheConfig::default()
    };
    let provider = provider_with(oidc_config_for(&idp), jwks(config));
    provider.verify(&idp.token("alice")).await.unwrap();
    let header = json!({ "alg": "RS256", "kid": "no-such-key" });
    assert!(matches!(
        refused(
            &provider,
            &idp.token_with_header(header, idp.claims("alice"))
        )
        .await,
        VerifyError::UnknownKey
    ));
    idp.rotate_key();
    provider.verify(&idp.token("alice")).await.unwrap();
    assert_eq!(idp.discovery_fetch_count(), 1);
    assert_eq!(idp.jwks_fetch_count(), 3);
}

#[tokio::test]
async fn last_known_good_keys_verify_tokens_while_the_issuer_is_down() {
    let idp = TestIssuer::start().await;
    let config = JwksCacheConfig {
        refetch_cooldown: Duration::ZERO,
        max_stale: Duration::from_millis(700),
        refresh_interval: Duration::from_millis(700),
        ..JwksCacheConfig::default()
    };
    let provider = provider_with(oidc_config_for(&idp), jwks(config));
    provider.verify(&idp.token("alice")).await.unwrap();
    idp.set_available(false);
    provider.verify(&idp.token("alice")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(900)).await;
    let err = refused(&provider, &idp.token("alice")).await;
    assert!(matches!(err, VerifyError::Unavailable(_)), "{err}");
    assert_eq!(err.code(), "idp_unavailable");
    idp.set_available(true);
    provider.verify(&idp.token("alice")).await.unwrap();
}

#[tokio::test]
async fn discovery_outage_without_cache_is_unavailable_then_recovers() {
    let (idp, provider) = setup().await;
    idp.set_available(false);
    let err = refused(&provider, &idp.token("alice")).await;
    assert!(matches!(err, VerifyError::Unavailable(_)), "{err}");
    assert!(err.is_server_side());
    idp.set_available(true);
    provider.verify(&idp.token("alice")).await.unwrap();
    assert_eq!(idp.discovery_fetch_count(), 2);
}

#[tokio::test]
async fn discovery_issuer_must_equal_the_configured_issuer() {
    let (idp, provider) = setup().await;
    idp.patch_discovery(json!({ "issuer": format!("{}/", idp.issuer()) }));
    let err = refused(&provider, &idp.token("alice")).await;
    assert!(matches!(err, VerifyError::Config(_)), "{err}");
    assert_eq!(idp.jwks_fetch_count(), 0);
    idp.patch_discovery(json!({ "issuer": idp.issuer() }));
    provider.verify(&idp.token("alice")).await.unwrap();
}

#[tokio::test]
async fn discovery_document_missing_jwks_uri_is_unavailable() {
    let (idp, provider) = setup().await;
    idp.patch_discovery(json!({ "jwks_uri": null }));
    assert!(matches!(
        refused(&provider, &idp.token("alice")).await,
        VerifyError::Unavailable(_)
    ));
}

#[tokio::test]
async fn issuer_with_a_path_and_trailing_slash_is_discovered_below_it() {
    let options = TestIssuerOptions {
        issuer_path: "/tenant-a/v2.0/".to_owned(),
        ..TestIssuerOptions::default()
    };
    let idp = TestIssuer::start_with(options).await;
    assert!(idp.issuer().ends_with("/tenant-a/v2.0/"));
    let provider = provider_with(oidc_config_for(&idp), jwks(JwksCacheConfig::default()));
    assert_eq!(
        provider.discovery_url().as_str(),
        format!(
            "{}/tenant-a/v2.0/.well-known/openid-configuration",
            idp.base_url()
        )
    );
    provider.verify(&idp.token("alice")).await.unwrap();
    let mut claims = idp.claims("alice");
    claims["iss"] = json!(idp.issuer().trim_end_matches('/'));
    assert!(matches!(
        refused(&provider, &idp.token_with(claims)).await,
        VerifyError::InvalidIssuer
    ));
}

#[tokio::test]
async fn subject_comes_from_the_configured_claim() {
    let idp = TestIssuer::start().await;
    let mut config = oidc_config_for(&idp);
    config.subject_claim = "oid".to_owned();
    let provider = provider_with(config, jwks(JwksCacheConfig::default()));
    let mut claims = idp.claims("alice");
    claims["oid"] = json!("00000000-0000-0000-0000-000000000001");
    let identity = provider.verify(&idp.token_with(claims)).await.unwrap();
    assert_eq!(identity.subject, "00000000-0000-0000-0000-000000000001");
    assert!(matches!(
        refused(&provider, &idp.token("alice")).await,
        VerifyError::MissingClaim(ref c) if c == "oid"
    ));
}

#[tokio::test]
async fn missing_or_empty_subject_is_refused() {
    let (idp, provider) = setup().await;
    let mut claims = idp.claims("");
    assert!(matches!(
        refused(&provider, &idp.token_with(claims.clone())).await,
        VerifyError::MissingClaim(_)
    ));
    claims.as_object_mut().unwrap().remove("sub");
    assert!(matches!(
        refused(&provider, &idp.token_with(claims)).await,
        VerifyError::MissingClaim(_)
    ));
}

#[tokio::test]
async fn http_issuer_is_refused_unless_allowed() {
    let idp = TestIssuer::start().await;
    let mut config = oidc_config_for(&idp);
    config.allow_http = false;
    let err = OidcProvider::new(config, jwks(JwksCacheConfig::default())).unwrap_err();
    assert!(matches!(err, VerifyError::Config(_)), "{err}");
    assert_eq!(idp.discovery_fetch_count(), 0);
}

#[tokio::test]
async fn a_loopback_issuer_is_refused_without_allow_private_network() {
    let idp = TestIssuer::start().await;
    let mut config = oidc_config_for(&idp);
    config.allow_private_network = false;
    let provider = provider_with(config, jwks(JwksCacheConfig::default()));
    let err = refused(&provider, &idp.token("alice")).await;
    assert!(matches!(err, VerifyError::PrivateNetwork(_)), "{err}");
    assert!(err.is_server_side(), "a 503, not the caller's fault");
    assert_eq!(idp.discovery_fetch_count(), 0);
    assert_eq!(idp.jwks_fetch_count(), 0);
}

#[tokio::test]
async fn id_tokens_are_refused_unless_the_tenant_accepts_them() {
    let (idp, provider) = setup().await;
    let mut claims = idp.claims("alice");
    claims["nonce"] = json!("abc");
    claims.as_object_mut().unwrap().remove("scp");
    let id_token = idp.token_with(claims);
    let err = refused(&provider, &id_token).await;
    assert!(matches!(err, VerifyError::NotAccessToken(_)), "{err}");
    assert_eq!(err.code(), "token_not_access_token");

    let mut config = oidc_config_for(&idp);
    config.accept_id_tokens = true;
    let lenient = provider_with(config, jwks(JwksCacheConfig::default()));
    assert_eq!(lenient.verify(&id_token).await.unwrap().subject, "alice");
}
