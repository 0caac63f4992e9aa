//! The generic OpenID Connect provider: discovery (`{issuer}/.well-known/openid-configuration`),
//! keys from the shared [`JwksCache`], exact issuer match, audiences and subject claim from the
//! configuration.

use std::sync::Arc;

use async_trait::async_trait;
use url::Url;

use crate::discovery::{MetadataSource, ProviderMetadata};
use crate::fetch::check_scheme;
use crate::jwks::JwksCache;
use crate::network::FetchPolicy;
use crate::steps::{Steps, describe_key, read_token};
use crate::validate::{
    self, ClaimRules, DEFAULT_LEEWAY_SECS, DEFAULT_MAX_TOKEN_BYTES, VerifiedClaims, verify_token,
};
use crate::{IdentityProvider, SigningKeyRef, VerifiedIdentity, VerifyError};

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
    /// Allow IdP addresses in private networks: loopback, RFC 1918, RFC 4193, link-local
    /// (cloud metadata), CGNAT (an IdP inside the operator's network; development and tests).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", oai(default))]
    pub allow_private_network: bool,
    /// Require the header `typ` `at+jwt` (RFC 9068 access tokens), for an IdP that marks its
    /// access tokens so (Keycloak with the option on, Auth0, Okta, Duende); any other token is
    /// refused. Off: a token with `nonce` or `at_hash` is refused as an ID token.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", oai(default))]
    pub require_at_jwt: bool,
    /// Accept ID tokens where an access token is expected, for an IdP that can only give ID
    /// tokens. An ID token is meant for the client app, not for an API: whoever holds one of the
    /// user's ID tokens for that client (any part of the app, its logs) can then get ACS tokens
    /// as the user. Off by default.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", oai(default))]
    pub accept_id_tokens: bool,
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
    /// Where the provider may fetch its documents from (`allow_http`, `allow_private_network`).
    pub fn fetch_policy(&self) -> FetchPolicy {
        FetchPolicy {
            allow_http: self.allow_http,
            allow_private_network: self.allow_private_network,
        }
    }

    /// A configuration with the defaults for everything but the issuer and the audiences.
    pub fn new(issuer: impl Into<String>, audiences: Vec<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audiences,
            subject_claim: default_subject_claim(),
            allow_http: false,
            allow_private_network: false,
            require_at_jwt: false,
            accept_id_tokens: false,
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
    jwks: Arc<JwksCache>,
    discovery: MetadataSource,
}

impl OidcProvider {
    /// Check `config` (`Config` error when unusable); discovery happens on the first `verify`.
    pub fn new(config: OidcConfig, jwks: Arc<JwksCache>) -> Result<Self, VerifyError> {
        config.validate()?;
        let discovery = MetadataSource::new(config.discovery_url()?, config.fetch_policy())?;
        let rules = ClaimRules {
            issuer: config.issuer.clone(),
            audiences: config.audiences.clone(),
            leeway_secs: config.leeway_secs,
        };
        Ok(Self {
            config,
            rules,
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
            .key_set(&jwks_uri, self.config.fetch_policy())
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
        let metadata = self.discovery.get(&self.jwks, check).await?;
        Ok(metadata.jwks_uri.clone())
    }
}

#[async_trait]
impl IdentityProvider for OidcProvider {
    async fn verify_traced(
        &self,
        token: &str,
        steps: &mut Steps,
    ) -> Result<VerifiedIdentity, VerifyError> {
        // A payload that is not one strict JSON object (duplicate keys, not UTF-8, …) is refused
        // before the issuer is asked for anything: a malformed token is 401 even while the
        // issuer is down (not 503), and costs no request to it. Nothing here is trusted.
        let (header, claims) = read_token(steps, token, self.config.max_token_bytes)?;
        let jwks_uri = steps.check("discovery", self.jwks_uri().await, |u| {
            format!("key set at {u}")
        })?;
        let key = steps.check(
            "key",
            self.jwks
                .key_for(&jwks_uri, header.kid.as_deref(), self.config.fetch_policy())
                .await,
            |k| describe_key(k),
        )?;
        let VerifiedClaims { claims, expires_at } = steps.token_checks(
            verify_token(token, &header, claims, &key, &self.rules),
            &self.config.issuer,
        )?;
        steps.check(
            "token_kind",
            validate::check_token_kind(
                &header,
                &claims,
                validate::TokenKind::of(self.config.require_at_jwt, self.config.accept_id_tokens),
            ),
            |_| "an access token".into(),
        )?;
        let subject = steps.check(
            "subject",
            validate::subject_from_claims(&claims, &self.config.subject_claim),
            |_| format!("`{}` names the user", self.config.subject_claim),
        )?;
        Ok(VerifiedIdentity {
            issuer: self.config.issuer.clone(),
            issuer_key: self.config.issuer.clone(),
            subject,
            tenant_hint: None,
            scopes: validate::scopes_from_claims(&claims),
            roles: validate::roles_from_claims(&claims),
            expires_at,
            signing_key: SigningKeyRef::new(&jwks_uri, &key),
        })
    }

    fn check_names(&self) -> &'static [&'static str] {
        &[
            "format",
            "header",
            "payload",
            "discovery",
            "key",
            "signature",
            "times",
            "issuer",
            "audience",
            "token_kind",
            "subject",
        ]
    }

    fn accepts_issuer(&self, issuer: &str) -> bool {
        issuer == self.config.issuer
    }
}

#[cfg(test)]
mod tests {
    use openidconnect::core::CoreProviderMetadata;
    use serde_json::json;

    use super::*;
    use crate::jwks::JwksCacheConfig;

    fn jwks(config: JwksCacheConfig) -> Arc<JwksCache> {
        Arc::new(JwksCache::new(crate::testing::idp_http(), config))
    }

    #[test]
    fn config_is_validated_at_construction() {
        let cache = jwks(JwksCacheConfig::default());
        let good = OidcConfig::new("https://idp.example/tenant/", vec!["api://x".to_owned()]);
        assert!(OidcProvider::new(good.clone(), cache.clone()).is_ok());
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
            let err = OidcProvider::new(config.clone(), cache.clone()).unwrap_err();
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
