//! Azure AD B2C: access tokens issued by one B2C directory through one of the configured user
//! flows or custom policies.
//!
//! How a token is verified:
//! 1. size and compact-JWS shape, then the protected header ([`validate::parse_header`]);
//! 2. the payload is *peeked* (not trusted) only to choose the policy: `tfp` (or the legacy
//!    `acr` when there is no `tfp`), compared case-insensitively with `policies` — another
//!    policy is refused;
//! 3. that policy's metadata (`{host}/{domain}/{policy}/v2.0/.well-known/openid-configuration`,
//!    cached like the generic provider's; its issuer must name `directory_id`) gives the issuer
//!    and the `jwks_uri`;
//! 4. the key for `kid` from the shared [`JwksCache`]; the signature, `exp`/`nbf`/`iat`, `iss`
//!    equal to that metadata's issuer exactly (default form
//!    `https://{name}.b2clogin.com/{directory id}/v2.0/`, trailing slash included, or the `tfp`
//!    form `https://{host}/tfp/{directory id}/{policy}/v2.0/`), `aud` one of the audiences;
//! 5. the subject is `sub` (the user's object id), keyed by the directory: `issuer_key` is
//!    `b2c:{directory_id}`.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use url::Url;

use crate::discovery::{MetadataSource, ProviderMetadata, is_guid};
use crate::fetch::check_scheme;
use crate::jwks::JwksCache;
use crate::network::FetchPolicy;
use crate::steps::{Steps, describe_key, read_token};
use crate::validate::{
    self, ClaimRules, Claims, DEFAULT_LEEWAY_SECS, DEFAULT_MAX_TOKEN_BYTES, VerifiedClaims,
    verify_token,
};
use crate::{IdentityProvider, SigningKeyRef, VerifiedIdentity, VerifyError};

fn default_leeway_secs() -> u64 {
    DEFAULT_LEEWAY_SECS
}

fn default_max_token_bytes() -> usize {
    DEFAULT_MAX_TOKEN_BYTES
}

/// Azure AD B2C (`kind: "aad_b2c"`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[cfg_attr(
    feature = "openapi",
    oai(
        rename = "AadB2cProviderBody",
        deny_unknown_fields,
        skip_serializing_if_is_none
    )
)]
pub struct B2cConfig {
    /// E.g. `contosob2c`.
    // The name of `contosob2c.onmicrosoft.com`.
    pub tenant_name: String,
    /// The B2C directory GUID.
    // It appears in the issuer.
    pub directory_id: String,
    /// Accepted user flows / custom policies.
    // At least one; compared case-insensitively.
    pub policies: Vec<String>,
    /// The API app's client id.
    pub client_id: String,
    /// Accepted `aud` values (default the client id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audiences: Option<Vec<String>>,
    /// Default `https://{tenant_name}.b2clogin.com` (custom domains).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Default `{tenant_name}.onmicrosoft.com`.
    // A custom domain may use the directory id instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Allow `http://` (development and tests only).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", oai(default))]
    pub allow_http: bool,
    /// Allow IdP addresses in private networks: loopback, RFC 1918, RFC 4193, link-local
    /// (cloud metadata), CGNAT (an IdP inside the operator's network; development and tests).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", oai(default))]
    pub allow_private_network: bool,
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

fn config_error(field: &str, message: impl std::fmt::Display) -> VerifyError {
    VerifyError::Config(format!("aad_b2c {field}: {message}"))
}

/// The configuration, checked and normalised.
#[derive(Debug)]
struct Checked {
    directory_id: String,
    policies: Vec<String>,
    audiences: Vec<String>,
    /// Scheme and host, without a trailing slash.
    host: String,
    domain: String,
}

fn is_policy_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl B2cConfig {
    /// Where the provider may fetch its documents from (`allow_http`, `allow_private_network`).
    pub fn fetch_policy(&self) -> FetchPolicy {
        FetchPolicy {
            allow_http: self.allow_http,
            allow_private_network: self.allow_private_network,
        }
    }

    /// A configuration with the defaults for everything else.
    pub fn new(
        tenant_name: impl Into<String>,
        directory_id: impl Into<String>,
        policies: Vec<String>,
        client_id: impl Into<String>,
    ) -> Self {
        Self {
            tenant_name: tenant_name.into(),
            directory_id: directory_id.into(),
            policies,
            client_id: client_id.into(),
            audiences: None,
            host: None,
            domain: None,
            allow_http: false,
            allow_private_network: false,
            accept_id_tokens: false,
            leeway_secs: DEFAULT_LEEWAY_SECS,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
        }
    }

    /// Check the configuration (`Config` errors name the field).
    pub fn validate(&self) -> Result<(), VerifyError> {
        self.check().map(|_| ())
    }

    /// The metadata URL of `policy`: `{host}/{domain}/{policy}/v2.0/.well-known/openid-configuration`.
    pub fn metadata_url(&self, policy: &str) -> Result<Url, VerifyError> {
        let checked = self.check()?;
        metadata_url(&checked, policy)
    }

    fn check(&self) -> Result<Checked, VerifyError> {
        let tenant_name = self.tenant_name.trim().to_ascii_lowercase();
        if tenant_name.is_empty()
            || tenant_name.len() > 64
            || !tenant_name.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(config_error(
                "tenant_name",
                format!(
                    "{:?} is not a B2C tenant name (letters and digits, as in \
                     contosob2c.onmicrosoft.com)",
                    self.tenant_name
                ),
            ));
        }
        let directory_id = self.directory_id.trim().to_ascii_lowercase();
        if !is_guid(&directory_id) {
            return Err(config_error(
                "directory_id",
                format!("{:?} is not a directory (tenant) GUID", self.directory_id),
            ));
        }
        if self.policies.is_empty() {
            return Err(config_error(
                "policies",
                "at least one user flow or custom policy is required",
            ));
        }
        let mut policies: Vec<String> = Vec::with_capacity(self.policies.len());
        for policy in &self.policies {
            let policy = policy.trim();
            if !is_policy_name(policy) {
                return Err(config_error(
                    "policies",
                    format!("{policy:?} is not a policy name (letters, digits, _ and -)"),
                ));
            }
            if policies.iter().any(|p| p.eq_ignore_ascii_case(policy)) {
                return Err(config_error(
                    "policies",
                    format!("{policy:?} is listed twice (policy names ignore case)"),
                ));
            }
            policies.push(policy.to_owned());
        }
        let client_id = self.client_id.trim().to_ascii_lowercase();
        if !is_guid(&client_id) {
            return Err(config_error(
                "client_id",
                format!(
                    "{:?} is not an application (client) id GUID",
                    self.client_id
                ),
            ));
        }
        let audiences = match &self.audiences {
            None => vec![client_id],
            Some(audiences) => {
                if audiences.is_empty() || audiences.iter().any(|a| a.trim().is_empty()) {
                    return Err(config_error(
                        "audiences",
                        "at least one audience is required, and none may be empty",
                    ));
                }
                audiences.clone()
            }
        };
        let host = match &self.host {
            None => format!("https://{tenant_name}.b2clogin.com"),
            Some(host) => {
                let url = Url::parse(host.trim()).map_err(|e| {
                    config_error("host", format!("{host:?} is not an absolute URL: {e}"))
                })?;
                if url.host_str().is_none_or(str::is_empty) {
                    return Err(config_error("host", format!("{host:?} has no host")));
                }
                if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
                    return Err(config_error(
                        "host",
                        format!(
                            "{host:?} must be a scheme and a host only, e.g. \
                             https://{tenant_name}.b2clogin.com"
                        ),
                    ));
                }
                url.as_str().trim_end_matches('/').to_owned()
            }
        };
        let host_url = Url::parse(&host)
            .map_err(|e| config_error("host", format!("{host:?} is not an absolute URL: {e}")))?;
        check_scheme(&host_url, self.allow_http).map_err(|e| config_error("host", e))?;
        let domain = match &self.domain {
            None => format!("{tenant_name}.onmicrosoft.com"),
            Some(domain) => {
                let domain = domain.trim();
                if domain.is_empty()
                    || !domain
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                {
                    return Err(config_error(
                        "domain",
                        format!(
                            "{domain:?} is not a tenant domain (e.g. {tenant_name}.onmicrosoft.com)"
                        ),
                    ));
                }
                domain.to_owned()
            }
        };
        if self.max_token_bytes == 0 {
            return Err(config_error("max_token_bytes", "must be positive"));
        }
        Ok(Checked {
            directory_id,
            policies,
            audiences,
            host,
            domain,
        })
    }
}

fn metadata_url(checked: &Checked, policy: &str) -> Result<Url, VerifyError> {
    let url = format!(
        "{}/{}/{policy}/v2.0/.well-known/openid-configuration",
        checked.host, checked.domain
    );
    Url::parse(&url).map_err(|e| config_error("host", format!("metadata URL {url:?}: {e}")))
}

/// One accepted policy and its metadata.
#[derive(Debug)]
struct Policy {
    name: String,
    metadata: MetadataSource,
}

/// The Azure AD B2C provider.
#[derive(Debug)]
pub struct B2cProvider {
    config: B2cConfig,
    checked: Checked,
    policies: Vec<Policy>,
    jwks: Arc<JwksCache>,
}

impl B2cProvider {
    /// Check `config` (`Config` errors name the field); metadata is fetched on first use (or by
    /// [`B2cProvider::warm_up`]).
    pub fn new(config: B2cConfig, jwks: Arc<JwksCache>) -> Result<Self, VerifyError> {
        let checked = config.check()?;
        let mut policies = Vec::with_capacity(checked.policies.len());
        for name in &checked.policies {
            policies.push(Policy {
                name: name.clone(),
                metadata: MetadataSource::new(
                    metadata_url(&checked, name)?,
                    config.fetch_policy(),
                )?,
            });
        }
        Ok(Self {
            config,
            checked,
            policies,
            jwks,
        })
    }

    /// The configuration, as given.
    pub fn config(&self) -> &B2cConfig {
        &self.config
    }

    /// The accepted `aud` values.
    pub fn audiences(&self) -> &[String] {
        &self.checked.audiences
    }

    /// The metadata URL of a configured policy (compared case-insensitively).
    pub fn metadata_url(&self, policy: &str) -> Option<&Url> {
        self.policy(policy).map(|p| p.metadata.url())
    }

    /// Fetch every policy's metadata and keys now (e.g. at start-up), so that
    /// [`IdentityProvider::accepts_issuer`] answers from the metadata.
    pub async fn warm_up(&self) -> Result<(), VerifyError> {
        for policy in &self.policies {
            let metadata = self.metadata(policy).await?;
            self.jwks
                .key_set(&metadata.jwks_uri, self.config.fetch_policy())
                .await?;
        }
        Ok(())
    }

    fn policy(&self, name: &str) -> Option<&Policy> {
        self.policies
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    async fn metadata(&self, policy: &Policy) -> Result<Arc<ProviderMetadata>, VerifyError> {
        let directory_id = self.checked.directory_id.as_str();
        let url = policy.metadata.url();
        let check = |metadata: &ProviderMetadata| {
            let issuer = metadata.issuer.to_ascii_lowercase();
            if issuer.contains(&format!("/{directory_id}/")) {
                Ok(())
            } else {
                Err(config_error(
                    "directory_id",
                    format!(
                        "the metadata at {url} has issuer {:?}, which is not of directory \
                         {directory_id}",
                        metadata.issuer
                    ),
                ))
            }
        };
        policy.metadata.get(&self.jwks, check).await
    }

    /// The policy named by `tfp` (or, without `tfp`, the legacy `acr`), which must be one of
    /// ours.
    fn policy_of(&self, claims: &Claims) -> Result<&Policy, VerifyError> {
        let (name, claim) = match (claims.get("tfp"), claims.get("acr")) {
            (Some(Value::String(tfp)), _) => (tfp, "tfp"),
            (Some(_), _) => return Err(VerifyError::InvalidClaim("tfp".to_owned())),
            (None, Some(Value::String(acr))) => (acr, "acr"),
            (None, Some(_)) => return Err(VerifyError::InvalidClaim("acr".to_owned())),
            (None, None) => return Err(VerifyError::MissingClaim("tfp".to_owned())),
        };
        self.policy(name).ok_or_else(|| {
            tracing::debug!(
                claim,
                "Azure AD B2C token of a policy this provider does not accept"
            );
            VerifyError::InvalidClaim(claim.to_owned())
        })
    }
}

#[async_trait]
impl IdentityProvider for B2cProvider {
    async fn verify_traced(
        &self,
        token: &str,
        steps: &mut Steps,
    ) -> Result<VerifiedIdentity, VerifyError> {
        // Peeked only to choose the policy; verified below.
        let (header, peeked) = read_token(steps, token, self.config.max_token_bytes)?;
        let policy = steps.check("policy", self.policy_of(&peeked), |p| {
            format!("user flow or policy `{}`", p.name)
        })?;
        let metadata = steps.check("discovery", self.metadata(policy).await, |m| {
            format!("key set at {}", m.jwks_uri)
        })?;
        let key = steps.check(
            "key",
            self.jwks
                .key_for(
                    &metadata.jwks_uri,
                    header.kid.as_deref(),
                    self.config.fetch_policy(),
                )
                .await,
            |k| describe_key(k),
        )?;
        let rules = ClaimRules {
            issuer: metadata.issuer.clone(),
            audiences: self.checked.audiences.clone(),
            leeway_secs: self.config.leeway_secs,
        };
        let VerifiedClaims { claims, expires_at } = steps.token_checks(
            verify_token(token, &header, peeked, &key, &rules),
            &rules.issuer,
        )?;
        steps.check(
            "token_kind",
            validate::check_token_kind(
                &header,
                &claims,
                validate::TokenKind::of(false, self.config.accept_id_tokens),
            ),
            |_| "an access token".into(),
        )?;
        let subject = steps.check(
            "subject",
            validate::subject_from_claims(&claims, "sub"),
            |_| "`sub` names the user".into(),
        )?;
        Ok(VerifiedIdentity {
            issuer: rules.issuer,
            issuer_key: format!("b2c:{}", self.checked.directory_id),
            subject,
            tenant_hint: None,
            scopes: validate::scopes_from_claims(&claims),
            roles: validate::roles_from_claims(&claims),
            expires_at,
            signing_key: SigningKeyRef::new(&metadata.jwks_uri, &key),
        })
    }

    fn check_names(&self) -> &'static [&'static str] {
        &[
            "format",
            "header",
            "payload",
            "policy",
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

    /// The issuers of the configured policies: each policy's metadata issuer once loaded;
    /// before that, the two standard shapes `{host}/{directory_id}/v2.0/` and
    /// `{host}/tfp/{directory_id}/{policy}/v2.0/` (policy in any case).
    fn accepts_issuer(&self, issuer: &str) -> bool {
        let host = &self.checked.host;
        let directory_id = &self.checked.directory_id;
        self.policies
            .iter()
            .any(|policy| match policy.metadata.cached() {
                Some(metadata) => metadata.issuer == issuer,
                None => {
                    let tfp_prefix = format!("{host}/tfp/{directory_id}/");
                    issuer == format!("{host}/{directory_id}/v2.0/")
                        || issuer
                            .strip_prefix(tfp_prefix.as_str())
                            .and_then(|rest| rest.strip_suffix("/v2.0/"))
                            .is_some_and(|name| name.eq_ignore_ascii_case(&policy.name))
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::jwks::JwksCacheConfig;
    use crate::testing::{FAKE_B2C_CLIENT_ID, FAKE_B2C_DIRECTORY_ID};

    fn jwks() -> Arc<JwksCache> {
        Arc::new(JwksCache::new(
            crate::testing::idp_http(),
            JwksCacheConfig {
                refetch_cooldown: Duration::ZERO,
                ..JwksCacheConfig::default()
            },
        ))
    }

    fn new_provider(config: B2cConfig) -> B2cProvider {
        B2cProvider::new(config, jwks()).unwrap()
    }

    fn config_err(config: B2cConfig) -> String {
        match B2cProvider::new(config, jwks()) {
            Err(VerifyError::Config(message)) => message,
            Err(other) => panic!("not a Config error: {other}"),
            Ok(_) => panic!("the configuration was accepted"),
        }
    }

    #[test]
    fn default_host_and_domain_follow_the_tenant_name() {
        let config = B2cConfig::new(
            "ContosoB2C",
            FAKE_B2C_DIRECTORY_ID,
            vec!["B2C_1_signupsignin1".to_owned()],
            FAKE_B2C_CLIENT_ID,
        );
        assert_eq!(
            config.metadata_url("B2C_1_signupsignin1").unwrap().as_str(),
            "https://contosob2c.b2clogin.com/contosob2c.onmicrosoft.com/B2C_1_signupsignin1/v2.0/.well-known/openid-configuration"
        );
        let mut custom = config.clone();
        custom.host = Some("https://login.contoso.example/".to_owned());
        assert_eq!(
            custom.metadata_url("B2C_1_signupsignin1").unwrap().as_str(),
            "https://login.contoso.example/contosob2c.onmicrosoft.com/B2C_1_signupsignin1/v2.0/.well-known/openid-configuration"
        );
        let provider = new_provider(config);
        assert_eq!(provider.audiences(), [FAKE_B2C_CLIENT_ID]);
        assert!(provider.metadata_url("b2c_1_SIGNUPSIGNIN1").is_some());
        assert!(provider.metadata_url("B2C_1_other").is_none());
    }

    #[test]
    fn config_errors_name_the_field() {
        let good = B2cConfig::new(
            "contosob2c",
            FAKE_B2C_DIRECTORY_ID,
            vec!["B2C_1_signupsignin1".to_owned()],
            FAKE_B2C_CLIENT_ID,
        );
        assert!(good.validate().is_ok());
        let cases: Vec<(&str, B2cConfig)> = vec![
            (
                "tenant_name",
                B2cConfig {
                    tenant_name: String::new(),
                    ..good.clone()
                },
            ),
            (
                "tenant_name",
                B2cConfig {
                    tenant_name: "contoso.onmicrosoft.com".into(),
                    ..good.clone()
                },
            ),
            (
                "directory_id",
                B2cConfig {
                    directory_id: "contosob2c".into(),
                    ..good.clone()
                },
            ),
            (
                "policies",
                B2cConfig {
                    policies: vec![],
                    ..good.clone()
                },
            ),
            (
                "policies",
                B2cConfig {
                    policies: vec!["B2C_1/../x".into()],
                    ..good.clone()
                },
            ),
            (
                "policies",
                B2cConfig {
                    policies: vec!["B2C_1_a".into(), "b2c_1_A".into()],
                    ..good.clone()
                },
            ),
            (
                "client_id",
                B2cConfig {
                    client_id: "api".into(),
                    ..good.clone()
                },
            ),
            (
                "audiences",
                B2cConfig {
                    audiences: Some(vec![]),
                    ..good.clone()
                },
            ),
            (
                "host",
                B2cConfig {
                    host: Some("contosob2c.b2clogin.com".into()),
                    ..good.clone()
                },
            ),
            (
                "host",
                B2cConfig {
                    host: Some("http://contosob2c.b2clogin.com".into()),
                    ..good.clone()
                },
            ),
            (
                "host",
                B2cConfig {
                    host: Some("https://contosob2c.b2clogin.com/x".into()),
                    ..good.clone()
                },
            ),
            (
                "domain",
                B2cConfig {
                    domain: Some("a/b".into()),
                    ..good.clone()
                },
            ),
            (
                "max_token_bytes",
                B2cConfig {
                    max_token_bytes: 0,
                    ..good.clone()
                },
            ),
        ];
        for (field, config) in cases {
            let message = config_err(config.clone());
            assert!(message.contains(field), "{field}: {message} ({config:?})");
        }
    }

    #[test]
    fn config_serializes_back_to_what_it_reads() {
        let mut config = B2cConfig::new(
            "contosob2c",
            FAKE_B2C_DIRECTORY_ID,
            vec!["B2C_1_signupsignin1".to_owned()],
            FAKE_B2C_CLIENT_ID,
        );
        config.host = Some("https://login.contoso.example".to_owned());
        let value = serde_json::to_value(&config).unwrap();
        assert!(value.get("max_token_bytes").is_none());
        assert!(value.get("domain").is_none());
        let back: B2cConfig = serde_json::from_value(value).unwrap();
        assert_eq!(back.host, config.host);
        assert_eq!(back.policies, config.policies);
    }

    #[test]
    fn config_deserializes_with_defaults_and_refuses_unknown_fields() {
        let config: B2cConfig = serde_json::from_value(json!({
            "tenant_name": "contosob2c",
            "directory_id": FAKE_B2C_DIRECTORY_ID,
            "policies": ["B2C_1_signupsignin1"],
            "client_id": FAKE_B2C_CLIENT_ID,
        }))
        .unwrap();
        assert_eq!(config.audiences, None);
        assert_eq!(config.host, None);
        assert_eq!(config.domain, None);
        assert!(!config.allow_http);
        assert_eq!(config.leeway_secs, DEFAULT_LEEWAY_SECS);
        assert_eq!(config.max_token_bytes, DEFAULT_MAX_TOKEN_BYTES);
        assert!(
            serde_json::from_value::<B2cConfig>(json!({
                "tenant_name": "contosob2c",
                "directory_id": FAKE_B2C_DIRECTORY_ID,
                "policies": ["B2C_1_signupsignin1"],
                "client_id": FAKE_B2C_CLIENT_ID,
                "policy": "B2C_1_x",
            }))
            .is_err()
        );
    }
}
