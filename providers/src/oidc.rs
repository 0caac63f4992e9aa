//! The generic OpenID Connect provider: discovery (`{issuer}/.well-known/openid-configuration`),
//! keys from the shared [`JwksCache`], exact issuer match, audiences and subject claim from the
//! configuration.

use std::sync::Arc;

use async_trait::async_trait;
use url::Url;

use crate::discovery::{MetadataSource, ProviderMetadata};
use crate::fetch::check_scheme;
use crate::jwks::JwksCache;
use crate::validate::{
    self, ClaimRules, DEFAULT_LEEWAY_SECS, DEFAULT_MAX_TOKEN_BYTES, VerifiedClaims,
    check_size_and_shape, parse_header, verify_token,
};
use crate::{IdentityProvider, VerifiedIdentity, VerifyError};

fn default_subject_claim() -> String {
    "sub".to_owned()
}

fn default_leeway_secs() -> u64 {
    DEFAULT_LEEWAY_SECS
}

fn default_max_token_bytes() -> usize {
    DEFAULT_MAX_TOKEN_BYTES
}

/// A generic OpenID Connect provider (`kind: "oidc"`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[cfg_attr(
    feature = "openapi",
    oai(
        rename = "OidcProviderBody",
        deny_unknown_fields,
        skip_serializing_if_is_none
    )
)]
pub struct OidcConfig {
    /// The issuer exactly as in the tokens' `iss`; discovery at `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    /// Accepted `aud` values.
    pub audiences: Vec<String>,
    /// The claim naming the user (default `sub`).
    #[serde(default = "default_subject_claim")]
    #[cfg_attr(feature = "openapi", oai(default = "default_subject_claim"))]
    pub subject_claim: String,
    /// Allow `http://` (development and tests only).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", oai(default))]
    pub allow_http: bool,
    /// Clock-skew allowance for `exp`, `nbf`, `iat` (set by the server; default 60 s).
    #[serde(skip, default = "default_leeway_secs")]
    #[cfg_attr(feature = "openapi", oai(skip))]
    pub leeway_secs: u64,
    /// Largest token accepted (set by the server; default 16 KiB).
    #[serde(skip, default = "default_max_token_bytes")]
    #[cfg_attr(feature = "openapi", oai(skip))]
    pub max_token_bytes: usize,
}

impl OidcConfig {
    /// A configuration with the defaults for everything but the issuer and the audiences.
    pub fn new(issuer: impl Into<String>, audiences: Vec<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audiences,
            subject_claim: default_subject_claim(),
            allow_http: false,
            leeway_secs: DEFAULT_LEEWAY_SECS,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
        }
    }

    /// Check the configuration; returns the issuer as a URL.
    pub fn validate(&self) -> Result<Url, VerifyError> {
        let issuer = Url::parse(&self.issuer).map_err(|e| {
            VerifyError::Config(format!(
                "issuer {:?} is not an absolute URL: {e}",
                self.issuer
            ))
        })?;
        check_scheme(&issuer, self.allow_http)?;
        if issuer.host_str().is_none_or(str::is_empty) {
            return Err(VerifyError::Config(format!(
                "issuer {:?} has no host",
                self.issuer
            )));
        }
        if issuer.query().is_some() || issuer.fragment().is_some() {
            return Err(VerifyError::Config(format!(
                "issuer {:?} must not have a query or a fragment",
                self.issuer
            )));
        }
        if self.audiences.is_empty() || self.audiences.iter().any(String::is_empty) {
            return Err(VerifyError::Config(
                "at least one audience is required, and none may be empty".to_owned(),
            ));
        }
        if self.subject_claim.is_empty() {
            return Err(VerifyError::Config(
                "subject_claim must not be empty".to_owned(),
            ));
        }
        if self.max_token_bytes == 0 {
            return Err(VerifyError::Config(
                "max_token_bytes must be positive".to_owned(),
            ));
        }
        Ok(issuer)
    }

    /// `{issuer without its trailing slash}/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> Result<Url, VerifyError> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        );
        Url::parse(&url)
            .map_err(|e| VerifyError::Config(format!("discovery URL {url:?} is invalid: {e}")))
    }
}

/// The generic OpenID Connect provider.
#[derive(Debug)]
pub struct OidcProvider {
    config: OidcConfig,
    rules: ClaimRules,
    http: reqwest::Client,
    jwks: Arc<JwksCache>,
    discovery: MetadataSource,
}

impl OidcProvider {
    /// Check `config` (`Config` error when unusable); discovery happens on the first `verify`.
    pub fn new(
        config: OidcConfig,
        http: reqwest::Client,
        jwks: Arc<JwksCache>,
    ) -> Result<Self, VerifyError> {
        config.validate()?;
        let discovery = MetadataSource::new(config.discovery_url()?, config.allow_http)?;
        let rules = ClaimRules {
            issuer: config.issuer.clone(),
            audiences: config.audiences.clone(),
            leeway_secs: config.leeway_secs,
        };
        Ok(Self {
            config,
            rules,
            http,
            jwks,
            discovery,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// The discovery document's URL.
    pub fn discovery_url(&self) -> &Url {
        self.discovery.url()
    }

    /// Fetch discovery and keys now (e.g. at start-up) instead of on the first `verify`.
    pub async fn warm_up(&self) -> Result<(), VerifyError> {
        let jwks_uri = self.jwks_uri().await?;
        self.jwks
            .key_set(&jwks_uri, self.config.allow_http)
            .await
            .map(|_| ())
    }

    /// The `jwks_uri` of the discovery document (fetched when not cached).
    pub async fn jwks_uri(&self) -> Result<Url, VerifyError> {
        let issuer = self.config.issuer.as_str();
        let check = |metadata: &ProviderMetadata| {
            if metadata.issuer == issuer {
                Ok(())
            } else {
                Err(VerifyError::Config(format!(
                    "the discovery document's issuer {:?} differs from the configured issuer {issuer:?}",
                    metadata.issuer
                )))
            }
        };
        let metadata = self
            .discovery
            .get(&self.http, self.jwks.config(), check)
            .await?;
        Ok(metadata.jwks_uri.clone())
    }
}

#[async_trait]
impl IdentityProvider for OidcProvider {
    async fn verify(&self, token: &str) -> Result<VerifiedIdentity, VerifyError> {
        check_size_and_shape(token, self.config.max_token_bytes)?;
        let header = parse_header(token)?;
        // A payload that is not one strict JSON object (duplicate keys, not UTF-8, …) is refused
        // before the issuer is asked for anything: a malformed token is 401 even while the
        // issuer is down (not 503), and costs no request to it. Nothing here is trusted.
        validate::peek_claims_unverified(token)?;
        let jwks_uri = self.jwks_uri().await?;
        let key = self
            .jwks
            .key_for(&jwks_uri, header.kid.as_deref(), self.config.allow_http)
            .await?;
        let VerifiedClaims { claims, expires_at } =
            verify_token(token, &header, &key, &self.rules)?;
        let subject = validate::subject_from_claims(&claims, &self.config.subject_claim)?;
        Ok(VerifiedIdentity {
            issuer: self.config.issuer.clone(),
            issuer_key: self.config.issuer.clone(),
            subject,
            tenant_hint: None,
            scopes: validate::scopes_from_claims(&claims),
            roles: validate::roles_from_claims(&claims),
            expires_at,
            claims,
        })
    }

    fn accepts_issuer(&self, issuer: &str) -> bool {
        issuer == self.config.issuer
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use serde_json::{Value, json};

    use super::*;
    use crate::jwks::JwksCacheConfig;
    use crate::testing::refused;
    use crate::testing::{DEFAULT_AUDIENCE, TestIssuer, TestIssuerOptions, oidc_config_for};
    use openidconnect::core::CoreProviderMetadata;

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn jwks(config: JwksCacheConfig) -> Arc<JwksCache> {
        Arc::new(JwksCache::new(reqwest::Client::new(), config))
    }

    fn provider_with(config: OidcConfig, cache: Arc<JwksCache>) -> OidcProvider {
        OidcProvider::new(config, reqwest::Client::new(), cache).unwrap()
    }

    async fn setup() -> (TestIssuer, OidcProvider) {
        let idp = TestIssuer::start().await;
        let provider = provider_with(oidc_config_for(&idp), jwks(JwksCacheConfig::default()));
        (idp, provider)
    }

    fn now() -> i64 {
        crate::validate::now_unix()
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
        assert_eq!(Value::Object(identity.claims), claims);
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
        let err = OidcProvider::new(
            config,
            reqwest::Client::new(),
            jwks(JwksCacheConfig::default()),
        )
        .unwrap_err();
        assert!(matches!(err, VerifyError::Config(_)), "{err}");
        assert_eq!(idp.discovery_fetch_count(), 0);
    }

    #[test]
    fn config_is_validated_at_construction() {
        let cache = jwks(JwksCacheConfig::default());
        let good = OidcConfig::new("https://idp.example/tenant/", vec!["api://x".to_owned()]);
        assert!(OidcProvider::new(good.clone(), reqwest::Client::new(), cache.clone()).is_ok());
        let broken = [
            OidcConfig {
                issuer: "idp.example".to_owned(),
                ..good.clone()
            },
            OidcConfig {
                issuer: "/relative".to_owned(),
                ..good.clone()
            },
            OidcConfig {
                issuer: "ftp://idp.example".to_owned(),
                ..good.clone()
            },
            OidcConfig {
                issuer: "https://idp.example/?x=1".to_owned(),
                ..good.clone()
            },
            OidcConfig {
                issuer: "https://idp.example/#f".to_owned(),
                ..good.clone()
            },
            OidcConfig {
                audiences: vec![],
                ..good.clone()
            },
            OidcConfig {
                audiences: vec![String::new()],
                ..good.clone()
            },
            OidcConfig {
                subject_claim: String::new(),
                ..good.clone()
            },
            OidcConfig {
                max_token_bytes: 0,
                ..good.clone()
            },
        ];
        for config in broken {
            let err = OidcProvider::new(config.clone(), reqwest::Client::new(), cache.clone())
                .unwrap_err();
            assert!(matches!(err, VerifyError::Config(_)), "{config:?}");
            assert_eq!(err.code(), "provider_misconfigured");
        }
    }

    #[test]
    fn config_deserializes_with_defaults() {
        let config: OidcConfig =
            serde_json::from_value(json!({ "issuer": "https://idp.example", "audiences": ["a"] }))
                .unwrap();
        assert_eq!(
            config,
            OidcConfig::new("https://idp.example", vec!["a".to_owned()])
        );
        assert_eq!(config.subject_claim, "sub");
        assert!(!config.allow_http);
        assert_eq!(config.leeway_secs, 60);
        assert_eq!(config.max_token_bytes, 16384);
        assert!(
            serde_json::from_value::<OidcConfig>(json!({ "issuer": "https://idp.example" }))
                .is_err()
        );
    }

    #[test]
    fn accepts_issuer_compares_exactly() {
        let provider = OidcProvider::new(
            OidcConfig::new("https://idp.example/", vec!["a".to_owned()]),
            reqwest::Client::new(),
            jwks(JwksCacheConfig::default()),
        )
        .unwrap();
        assert!(provider.accepts_issuer("https://idp.example/"));
        assert!(!provider.accepts_issuer("https://idp.example"));
        assert!(!provider.accepts_issuer("https://IDP.example/"));
        assert_eq!(
            provider.discovery_url().as_str(),
            "https://idp.example/.well-known/openid-configuration"
        );
    }

    #[test]
    fn core_provider_metadata_accepts_documents_real_idps_serve() {
        let entra_v2 = json!({
            "token_endpoint": "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": "https://login.microsoftonline.com/contoso.onmicrosoft.com/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
            "request_uri_parameter_supported": false,
            "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
            "authorization_endpoint": "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize",
            "device_authorization_endpoint": "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/devicecode",
            "http_logout_supported": true,
            "frontchannel_logout_supported": true,
            "end_session_endpoint": "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "cloud_instance_name", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
            "kerberos_endpoint": "https://login.microsoftonline.com/contoso.onmicrosoft.com/kerberos",
            "tenant_region_scope": null,
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net"
        });
        let entra_common = {
            let mut doc = entra_v2.clone();
            doc["issuer"] = json!("https://login.microsoftonline.com/{tenantid}/v2.0");
            doc
        };
        let b2c = json!({
            "issuer": "https://contoso.b2clogin.com/775527ff-9a37-4307-8b3d-cc311f58d925/v2.0/",
            "authorization_endpoint": "https://contoso.b2clogin.com/contoso.onmicrosoft.com/b2c_1_signin/oauth2/v2.0/authorize",
            "token_endpoint": "https://contoso.b2clogin.com/contoso.onmicrosoft.com/b2c_1_signin/oauth2/v2.0/token",
            "end_session_endpoint": "https://contoso.b2clogin.com/contoso.onmicrosoft.com/b2c_1_signin/oauth2/v2.0/logout",
            "jwks_uri": "https://contoso.b2clogin.com/contoso.onmicrosoft.com/b2c_1_signin/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "response_types_supported": ["code", "code id_token", "code token", "code id_token token", "id_token", "id_token token", "token", "token id_token"],
            "scopes_supported": ["openid"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": ["name", "emails", "oid", "sub", "tfp", "iss", "iat", "exp", "aud", "acr", "nonce", "auth_time"]
        });
        let google = json!({
            "issuer": "https://accounts.google.com",
            "authorization_endpoint": "https://accounts.google.com/o/oauth2/v2/auth",
            "device_authorization_endpoint": "https://oauth2.googleapis.com/device/code",
            "token_endpoint": "https://oauth2.googleapis.com/token",
            "userinfo_endpoint": "https://openidconnect.googleapis.com/v1/userinfo",
            "revocation_endpoint": "https://oauth2.googleapis.com/revoke",
            "jwks_uri": "https://www.googleapis.com/oauth2/v3/certs",
            "response_types_supported": ["code", "token", "id_token", "code token", "code id_token", "token id_token", "code token id_token", "none"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": ["aud", "email", "email_verified", "exp", "family_name", "given_name", "iat", "iss", "name", "picture", "sub"],
            "code_challenge_methods_supported": ["plain", "S256"],
            "grant_types_supported": ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:jwt-bearer"]
        });
        let keycloak = json!({
            "issuer": "https://sso.example.com/realms/acme",
            "authorization_endpoint": "https://sso.example.com/realms/acme/protocol/openid-connect/auth",
            "token_endpoint": "https://sso.example.com/realms/acme/protocol/openid-connect/token",
            "introspection_endpoint": "https://sso.example.com/realms/acme/protocol/openid-connect/token/introspect",
            "userinfo_endpoint": "https://sso.example.com/realms/acme/protocol/openid-connect/userinfo",
            "end_session_endpoint": "https://sso.example.com/realms/acme/protocol/openid-connect/logout",
            "frontchannel_logout_session_supported": true,
            "jwks_uri": "https://sso.example.com/realms/acme/protocol/openid-connect/certs",
            "check_session_iframe": "https://sso.example.com/realms/acme/protocol/openid-connect/login-status-iframe.html",
            "grant_types_supported": ["authorization_code", "implicit", "refresh_token", "password", "client_credentials", "urn:openid:params:grant-type:ciba", "urn:ietf:params:oauth:grant-type:device_code"],
            "acr_values_supported": ["0", "1"],
            "response_types_supported": ["code", "none", "id_token", "token", "id_token token", "code id_token", "code token", "code id_token token"],
            "subject_types_supported": ["public", "pairwise"],
            "id_token_signing_alg_values_supported": ["PS384", "ES384", "RS384", "HS256", "HS512", "ES256", "RS256", "HS384", "ES512", "PS256", "PS512", "RS512", "EdDSA"],
            "id_token_encryption_alg_values_supported": ["RSA-OAEP", "RSA-OAEP-256", "RSA1_5"],
            "id_token_encryption_enc_values_supported": ["A256GCM", "A192GCM", "A128GCM", "A128CBC-HS256", "A192CBC-HS384", "A256CBC-HS512"],
            "userinfo_signing_alg_values_supported": ["PS384", "ES384", "RS384", "HS256", "HS512", "ES256", "RS256", "HS384", "ES512", "PS256", "PS512", "RS512", "none"],
            "request_object_signing_alg_values_supported": ["PS384", "ES384", "RS384", "HS256", "HS512", "ES256", "RS256", "HS384", "ES512", "PS256", "PS512", "RS512", "none"],
            "response_modes_supported": ["query", "fragment", "form_post", "query.jwt", "fragment.jwt", "form_post.jwt", "jwt"],
            "registration_endpoint": "https://sso.example.com/realms/acme/clients-registrations/openid-connect",
            "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic", "client_secret_post", "tls_client_auth", "client_secret_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["PS384", "ES384", "RS384", "HS256", "HS512", "ES256", "RS256", "HS384", "ES512", "PS256", "PS512", "RS512"],
            "claims_supported": ["aud", "sub", "iss", "auth_time", "name", "given_name", "family_name", "preferred_username", "email", "acr"],
            "claim_types_supported": ["normal"],
            "claims_parameter_supported": true,
            "scopes_supported": ["openid", "profile", "email", "roles", "web-origins", "offline_access"],
            "request_parameter_supported": true,
            "request_uri_parameter_supported": true,
            "require_request_uri_registration": true,
            "code_challenge_methods_supported": ["plain", "S256"],
            "tls_client_certificate_bound_access_tokens": true,
            "mtls_endpoint_aliases": { "token_endpoint": "https://sso.example.com/realms/acme/protocol/openid-connect/token" },
            "authorization_response_iss_parameter_supported": true
        });
        let auth0 = json!({
            "issuer": "https://acme.eu.auth0.com/",
            "authorization_endpoint": "https://acme.eu.auth0.com/authorize",
            "token_endpoint": "https://acme.eu.auth0.com/oauth/token",
            "device_authorization_endpoint": "https://acme.eu.auth0.com/oauth/device/code",
            "userinfo_endpoint": "https://acme.eu.auth0.com/userinfo",
            "mfa_challenge_endpoint": "https://acme.eu.auth0.com/mfa/challenge",
            "jwks_uri": "https://acme.eu.auth0.com/.well-known/jwks.json",
            "registration_endpoint": "https://acme.eu.auth0.com/oidc/register",
            "revocation_endpoint": "https://acme.eu.auth0.com/oauth/revoke",
            "scopes_supported": ["openid", "profile", "offline_access", "name", "email"],
            "response_types_supported": ["code", "token", "id_token", "code token", "code id_token", "token id_token", "code token id_token"],
            "code_challenge_methods_supported": ["S256", "plain"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["public"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
            "claims_supported": ["aud", "auth_time", "created_at", "email", "exp", "iat", "iss", "name", "sub"],
            "request_uri_parameter_supported": false,
            "request_parameter_supported": false,
            "id_token_signing_alg_values_supported": ["HS256", "RS256", "PS256"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256", "RS384", "PS256"],
            "end_session_endpoint": "https://acme.eu.auth0.com/oidc/logout",
            "dpop_signing_alg_values_supported": ["ES256"]
        });
        let okta = json!({
            "issuer": "https://acme.okta.com/oauth2/default",
            "authorization_endpoint": "https://acme.okta.com/oauth2/default/v1/authorize",
            "token_endpoint": "https://acme.okta.com/oauth2/default/v1/token",
            "userinfo_endpoint": "https://acme.okta.com/oauth2/default/v1/userinfo",
            "registration_endpoint": "https://acme.okta.com/oauth2/v1/clients",
            "jwks_uri": "https://acme.okta.com/oauth2/default/v1/keys",
            "response_types_supported": ["code", "id_token", "code id_token", "code token", "id_token token", "code id_token token"],
            "response_modes_supported": ["query", "fragment", "form_post", "okta_post_message"],
            "grant_types_supported": ["authorization_code", "implicit", "refresh_token", "password", "urn:ietf:params:oauth:grant-type:device_code", "urn:openid:params:grant-type:ciba"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "address", "phone", "offline_access", "device_sso"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"],
            "claims_supported": ["iss", "ver", "sub", "aud", "iat", "exp", "jti", "auth_time", "amr", "idp", "nonce", "name", "email"],
            "code_challenge_methods_supported": ["S256"],
            "request_parameter_supported": true,
            "request_object_signing_alg_values_supported": ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512"],
            "dpop_signing_alg_values_supported": ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"]
        });
        for document in [entra_v2, entra_common, b2c, google, keycloak, auth0, okta] {
            let issuer = document["issuer"].as_str().unwrap().to_owned();
            let metadata: CoreProviderMetadata =
                serde_json::from_value(document).unwrap_or_else(|e| panic!("{issuer}: {e}"));
            assert_eq!(
                metadata.issuer().as_str(),
                issuer,
                "the issuer is kept exactly as written"
            );
        }
    }
}
