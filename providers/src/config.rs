//! The one provider configuration type: [`ProviderConfig`], the `[tenants.provider]` table of the
//! server's configuration file and the `provider` member of its admin API bodies (with the
//! `openapi` feature), with its checks ([`ProviderConfig::validate`]), its build step
//! ([`ProviderConfig::build`], given the server's shared [`ProviderContext`]) and its dry-run
//! diagnostics ([`ProviderConfig::check`]: discovery and key-set verdicts, nothing issued).
//!
//! The serde shape is internally tagged by `kind` (`oidc` | `aad` | `aad_b2c`); every variant
//! refuses unknown fields. The runtime knobs (`leeway_secs`, `max_token_bytes`) are not part of
//! it: they come from the server through the [`ProviderContext`].

use std::fmt;
use std::sync::Arc;

use url::Url;

use crate::aad::TokenVersion;
use crate::fetch::fetch_document;
use crate::jwks::JwksCache;
use crate::network::FetchPolicy;
use crate::{
    AadConfig, AadProvider, B2cConfig, B2cProvider, IdentityProvider, OidcConfig, OidcProvider,
    VerifyError,
};

/// The configuration of one tenant's identity provider, by `kind`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProviderConfig {
    /// Any OpenID Connect provider.
    Oidc(OidcConfig),
    /// Microsoft Entra ID (single- or multi-tenant).
    Aad(AadConfig),
    /// Azure AD B2C (user flows and custom policies).
    AadB2c(B2cConfig),
}

/// Why a [`ProviderConfig`] is refused: the field (in the configuration's own spelling, relative
/// to the provider table) when the check knows it, and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidProviderConfig {
    field: Option<&'static str>,
    message: String,
}

impl InvalidProviderConfig {
    fn field(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field),
            message: message.into(),
        }
    }

    /// The offending field (`issuer`, `audiences`, …), relative to the provider table; `None`
    /// when the message itself names it (the Entra ID and B2C checks: `aad directory: …`).
    pub fn field_name(&self) -> Option<&'static str> {
        self.field
    }

    /// What is wrong, without the field name.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for InvalidProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for InvalidProviderConfig {}

impl From<VerifyError> for InvalidProviderConfig {
    fn from(e: VerifyError) -> Self {
        let message = match e {
            VerifyError::Config(m) => m,
            other => other.to_string(),
        };
        Self {
            field: None,
            message,
        }
    }
}

/// What every provider is built with: the shared JWKS cache (and its IdP clients, which fetch
/// discovery documents too) and the token limits.
#[derive(Debug, Clone)]
pub struct ProviderContext {
    pub jwks: Arc<JwksCache>,
    /// Clock-skew allowance for `exp`, `nbf`, `iat`.
    pub leeway_secs: u64,
    /// Largest token accepted.
    pub max_token_bytes: usize,
}

/// A built provider: the provider, its kind, and (Entra ID) the Teams exchange app id.
pub struct BuiltProvider {
    pub provider: Arc<dyn IdentityProvider>,
    pub kind: &'static str,
    pub teams_app_id: Option<String>,
}

impl fmt::Debug for BuiltProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuiltProvider")
            .field("kind", &self.kind)
            .field("teams_app_id", &self.teams_app_id)
            .finish_non_exhaustive()
    }
}

/// One line of a provider check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

impl Check {
    fn new(name: &'static str, result: Result<String, String>) -> Self {
        match result {
            Ok(detail) => Self {
                name,
                ok: true,
                detail,
            },
            Err(detail) => Self {
                name,
                ok: false,
                detail,
            },
        }
    }
}

impl ProviderConfig {
    /// `oidc`, `aad` or `aad_b2c`, as in the configuration.
    pub fn kind(&self) -> &'static str {
        match self {
            ProviderConfig::Oidc(_) => "oidc",
            ProviderConfig::Aad(_) => "aad",
            ProviderConfig::AadB2c(_) => "aad_b2c",
        }
    }

    /// Where the provider's documents may be fetched from (`allow_http`,
    /// `allow_private_network`).
    pub fn fetch_policy(&self) -> FetchPolicy {
        match self {
            ProviderConfig::Oidc(p) => p.fetch_policy(),
            ProviderConfig::Aad(p) => p.fetch_policy(),
            ProviderConfig::AadB2c(p) => p.fetch_policy(),
        }
    }

    /// The issuer (or authority) for listings.
    pub fn describe(&self) -> String {
        match self {
            ProviderConfig::Oidc(p) => p.issuer.clone(),
            ProviderConfig::Aad(p) => {
                format!("{}/{}", p.authority_host.trim_end_matches('/'), p.directory)
            }
            ProviderConfig::AadB2c(p) => {
                format!("{} ({})", p.tenant_name, p.policies.join(", "))
            }
        }
    }

    /// The start-up checks of the configuration. The error names the field where it can
    /// (see [`InvalidProviderConfig::field_name`]).
    pub fn validate(&self) -> Result<(), InvalidProviderConfig> {
        match self {
            ProviderConfig::Oidc(p) => {
                let url = Url::parse(&p.issuer).map_err(|e| {
                    InvalidProviderConfig::field("issuer", format!("not a URL: {e}"))
                })?;
                if url.scheme() != "https" && !(p.allow_http && url.scheme() == "http") {
                    return Err(InvalidProviderConfig::field(
                        "issuer",
                        "must be https (set provider.allow_http = true only for development)",
                    ));
                }
                if p.audiences.is_empty() || p.audiences.iter().any(|a| a.trim().is_empty()) {
                    return Err(InvalidProviderConfig::field(
                        "audiences",
                        "must list at least one non-empty audience",
                    ));
                }
                if p.subject_claim.trim().is_empty() {
                    return Err(InvalidProviderConfig::field(
                        "subject_claim",
                        "must not be empty",
                    ));
                }
                Ok(())
            }
            ProviderConfig::Aad(p) => Ok(p.validate()?),
            ProviderConfig::AadB2c(p) => Ok(p.validate()?),
        }
    }

    /// The provider of this configuration, built with the server's shared client, key cache
    /// and limits.
    pub fn build(&self, ctx: &ProviderContext) -> Result<BuiltProvider, VerifyError> {
        let jwks = Arc::clone(&ctx.jwks);
        let (provider, teams_app_id): (Arc<dyn IdentityProvider>, Option<String>) = match self {
            ProviderConfig::Oidc(p) => {
                let mut config = p.clone();
                config.leeway_secs = ctx.leeway_secs;
                config.max_token_bytes = ctx.max_token_bytes;
                (Arc::new(OidcProvider::new(config, jwks)?), None)
            }
            ProviderConfig::Aad(p) => {
                let mut config = p.clone();
                config.leeway_secs = ctx.leeway_secs;
                config.max_token_bytes = ctx.max_token_bytes;
                let provider = AadProvider::new(config, jwks)?;
                let app_id = provider.client_id().to_owned();
                (Arc::new(provider), Some(app_id))
            }
            ProviderConfig::AadB2c(p) => {
                let mut config = p.clone();
                config.leeway_secs = ctx.leeway_secs;
                config.max_token_bytes = ctx.max_token_bytes;
                (Arc::new(B2cProvider::new(config, jwks)?), None)
            }
        };
        Ok(BuiltProvider {
            provider,
            kind: self.kind(),
            teams_app_id,
        })
    }

    /// The metadata documents the provider reads, each with the issuer it must name when the
    /// configuration fixes one (`oidc`); a URL the configuration cannot make is an `Err`.
    fn metadata_urls(&self) -> Vec<(Result<Url, VerifyError>, Option<String>)> {
        match self {
            ProviderConfig::Oidc(p) => vec![(p.discovery_url(), Some(p.issuer.clone()))],
            ProviderConfig::Aad(p) => [(1, TokenVersion::V1), (2, TokenVersion::V2)]
                .into_iter()
                .filter(|(number, _)| p.token_versions.contains(number))
                .map(|(_, version)| (p.metadata_url(version), None))
                .collect(),
            ProviderConfig::AadB2c(p) => p
                .policies
                .iter()
                .map(|policy| (p.metadata_url(policy), None))
                .collect(),
        }
    }

    /// Fetches the provider's discovery documents and keys and reports each step (`discovery
    /// reachable`, `issuer matches`, `keys usable`), issuing nothing.
    pub async fn check(&self, ctx: &ProviderContext) -> Vec<Check> {
        let policy = self.fetch_policy();
        let mut out = Vec::new();
        for (url, expected_issuer) in self.metadata_urls() {
            let url = match url {
                Ok(url) => url,
                Err(e) => {
                    out.push(Check::new("discovery reachable", Err(e.to_string())));
                    continue;
                }
            };
            let doc = fetch_json(ctx, &url, policy).await;
            out.push(Check::new(
                "discovery reachable",
                doc.as_ref().map(|_| url.to_string()).map_err(Clone::clone),
            ));
            let Ok(doc) = doc else { continue };
            let issuer = doc
                .get("issuer")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            out.push(Check::new(
                "issuer matches",
                match &expected_issuer {
                    Some(expected) if issuer != expected => {
                        Err(format!("document says `{issuer}`, configured `{expected}`"))
                    }
                    _ if issuer.is_empty() => Err("the document names no issuer".into()),
                    _ => Ok(issuer.to_owned()),
                },
            ));
            let Some(jwks_uri) = doc.get("jwks_uri").and_then(|v| v.as_str()) else {
                out.push(Check::new(
                    "keys usable",
                    Err("no jwks_uri in the discovery document".into()),
                ));
                continue;
            };
            let keys = match Url::parse(jwks_uri) {
                Ok(parsed) => fetch_json(ctx, &parsed, policy).await,
                Err(e) => Err(format!("{jwks_uri}: {e}")),
            }
            .and_then(|jwks| {
                let usable = usable_signing_keys(&jwks);
                if usable > 0 {
                    Ok(format!("{usable} signing key(s) at {jwks_uri}"))
                } else {
                    Err(format!("no usable signing key at {jwks_uri}"))
                }
            });
            out.push(Check::new("keys usable", keys));
        }
        out
    }
}

/// The asymmetric signature keys of a JWKS document (`kty` RSA, EC or OKP; `use` absent or `sig`).
fn usable_signing_keys(jwks: &serde_json::Value) -> usize {
    jwks.get("keys")
        .and_then(|k| k.as_array())
        .map(|keys| {
            keys.iter()
                .filter(|k| {
                    matches!(
                        k.get("kty").and_then(|v| v.as_str()),
                        Some("RSA" | "EC" | "OKP")
                    ) && k
                        .get("use")
                        .and_then(|v| v.as_str())
                        .is_none_or(|u| u == "sig")
                })
                .count()
        })
        .unwrap_or(0)
}

/// One IdP document, fetched as the providers fetch them: https unless allowed, from public
/// addresses unless allowed, with the key cache's timeout and size bound.
async fn fetch_json(
    ctx: &ProviderContext,
    url: &Url,
    policy: FetchPolicy,
) -> Result<serde_json::Value, String> {
    let limits = ctx.jwks.config();
    let bytes = fetch_document(
        ctx.jwks.http(),
        url,
        policy,
        limits.request_timeout,
        limits.max_document_bytes,
    )
    .await
    .map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{url}: not JSON: {e}"))
}

#[cfg(feature = "openapi")]
mod openapi {
    //! `ProviderConfig` as a poem-openapi type: the schema of a discriminated union `ProviderBody`
    //! (by `kind`), parsed with unknown fields refused. poem-openapi's derived `Union` hands the
    //! variant the object *with* `kind`, which a `deny_unknown_fields` variant would refuse, so
    //! the schema comes from a derived mirror and the parse is written here.

    use std::borrow::Cow;

    use poem_openapi::registry::{MetaSchemaRef, Registry};
    use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
    use serde_json::Value;

    use super::ProviderConfig;
    use crate::validate::{DEFAULT_LEEWAY_SECS, DEFAULT_MAX_TOKEN_BYTES};
    use crate::{AadConfig, B2cConfig, OidcConfig};

    /// The tenant's identity provider, by `kind`.
    #[derive(poem_openapi::Union)]
    #[oai(rename = "ProviderBody", discriminator_name = "kind")]
    #[allow(dead_code)] // only its schema is used
    enum ProviderBody {
        #[oai(mapping = "oidc")]
        Oidc(OidcConfig),
        #[oai(mapping = "aad")]
        Aad(AadConfig),
        #[oai(mapping = "aad_b2c")]
        AadB2c(B2cConfig),
    }

    impl Type for ProviderConfig {
        const IS_REQUIRED: bool = true;
        type RawValueType = Self;
        type RawElementValueType = Self;

        fn name() -> Cow<'static, str> {
            <ProviderBody as Type>::name()
        }

        fn schema_ref() -> MetaSchemaRef {
            <ProviderBody as Type>::schema_ref()
        }

        fn register(registry: &mut Registry) {
            <ProviderBody as Type>::register(registry);
        }

        fn as_raw_value(&self) -> Option<&Self::RawValueType> {
            Some(self)
        }

        fn raw_element_iter<'a>(
            &'a self,
        ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
            Box::new(self.as_raw_value().into_iter())
        }
    }

    fn variant<T: ParseFromJSON>(
        object: serde_json::Map<String, Value>,
        wrap: fn(T) -> ProviderConfig,
    ) -> ParseResult<ProviderConfig> {
        T::parse_from_json(Some(Value::Object(object)))
            .map(wrap)
            .map_err(ParseError::propagate)
    }

    impl ParseFromJSON for ProviderConfig {
        fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
            let value = value.unwrap_or_default();
            let Value::Object(mut object) = value else {
                return Err(ParseError::expected_type(value));
            };
            let kind = object.remove("kind");
            let mut config = match kind.as_ref().and_then(Value::as_str) {
                Some("oidc") => variant(object, ProviderConfig::Oidc)?,
                Some("aad") => variant(object, ProviderConfig::Aad)?,
                Some("aad_b2c") => variant(object, ProviderConfig::AadB2c)?,
                _ => {
                    if let Some(kind) = kind {
                        object.insert("kind".to_owned(), kind);
                    }
                    return Err(ParseError::expected_type(Value::Object(object)));
                }
            };
            // poem-openapi fills skipped fields with `Default`; these are the serde defaults.
            let (leeway_secs, max_token_bytes) = match &mut config {
                ProviderConfig::Oidc(p) => (&mut p.leeway_secs, &mut p.max_token_bytes),
                ProviderConfig::Aad(p) => (&mut p.leeway_secs, &mut p.max_token_bytes),
                ProviderConfig::AadB2c(p) => (&mut p.leeway_secs, &mut p.max_token_bytes),
            };
            *leeway_secs = DEFAULT_LEEWAY_SECS;
            *max_token_bytes = DEFAULT_MAX_TOKEN_BYTES;
            Ok(config)
        }
    }

    impl ToJSON for ProviderConfig {
        fn to_json(&self) -> Option<Value> {
            let (kind, value) = match self {
                ProviderConfig::Oidc(p) => ("oidc", p.to_json()),
                ProviderConfig::Aad(p) => ("aad", p.to_json()),
                ProviderConfig::AadB2c(p) => ("aad_b2c", p.to_json()),
            };
            let mut value = value?;
            if let Value::Object(object) = &mut value {
                object.insert("kind".to_owned(), Value::String(kind.to_owned()));
            }
            Some(value)
        }
    }
}

#[cfg(test)]
/// Tests of [`ProviderConfig`] that need no server: its serde shape, its checks and its build step.
mod tests {

    use serde_json::json;

    use super::*;
    use crate::JwksCacheConfig;
    use crate::testing::FAKE_ENTRA_TENANT_A;
    use crate::validate::{DEFAULT_LEEWAY_SECS, DEFAULT_MAX_TOKEN_BYTES};

    fn ctx() -> ProviderContext {
        ProviderContext {
            jwks: Arc::new(JwksCache::new(
                crate::testing::idp_http(),
                JwksCacheConfig::default(),
            )),
            leeway_secs: 30,
            max_token_bytes: 8 * 1024,
        }
    }

    fn parse(value: serde_json::Value) -> Result<ProviderConfig, serde_json::Error> {
        serde_json::from_value(value)
    }

    fn oidc_json() -> serde_json::Value {
        json!({ "kind": "oidc", "issuer": "https://idp.acme.example", "audiences": ["api://acs-auth"] })
    }

    fn aad_json() -> serde_json::Value {
        json!({
            "kind": "aad",
            "directory": "organizations",
            "allowed_directories": [FAKE_ENTRA_TENANT_A],
            "client_id": "6e74172b-be56-4843-9ff4-e66a39bb12e3",
            "authority_host": "https://login.microsoftonline.us",
            "token_versions": [2],
        })
    }

    fn b2c_json() -> serde_json::Value {
        json!({
            "kind": "aad_b2c",
            "tenant_name": "contosob2c",
            "directory_id": "775527ff-9a37-4307-8b3d-cc311f58d925",
            "policies": ["B2C_1_signin"],
            "client_id": "90c0fe63-bcf2-44d5-8fb7-b8bbc0b29dc6",
            "host": "https://login.contoso.com",
        })
    }

    #[test]
    fn oidc_deserializes_with_defaults_and_round_trips() {
        let config = parse(oidc_json()).unwrap();
        let ProviderConfig::Oidc(p) = &config else {
            panic!("not oidc: {config:?}")
        };
        assert_eq!(p.issuer, "https://idp.acme.example");
        assert_eq!(p.audiences, vec!["api://acs-auth".to_owned()]);
        assert_eq!(p.subject_claim, "sub");
        assert!(!p.allow_http);
        assert!(
            !p.allow_private_network,
            "the private-network guard is on by default"
        );
        assert!(!p.require_at_jwt && !p.accept_id_tokens);
        assert_eq!(p.leeway_secs, DEFAULT_LEEWAY_SECS);
        assert_eq!(p.max_token_bytes, DEFAULT_MAX_TOKEN_BYTES);
        assert_eq!(config.kind(), "oidc");
        let value = serde_json::to_value(&config).unwrap();
        assert_eq!(
            value,
            json!({ "kind": "oidc", "issuer": "https://idp.acme.example", "audiences": ["api://acs-auth"],
                    "subject_claim": "sub", "allow_http": false, "allow_private_network": false,
                    "require_at_jwt": false, "accept_id_tokens": false })
        );
        assert_eq!(parse(value).unwrap(), config);
    }

    #[test]
    fn aad_and_b2c_round_trip() {
        for (value, kind) in [(aad_json(), "aad"), (b2c_json(), "aad_b2c")] {
            let config = parse(value.clone()).unwrap();
            assert_eq!(config.kind(), kind);
            let back = serde_json::to_value(&config).unwrap();
            assert_eq!(back["kind"], kind);
            assert_eq!(parse(back).unwrap(), config);
        }
        let ProviderConfig::Aad(aad) = parse(aad_json()).unwrap() else {
            panic!("not aad")
        };
        assert_eq!(aad.token_versions, vec![2]);
        assert_eq!(aad.authority_host, "https://login.microsoftonline.us");
        let ProviderConfig::AadB2c(b2c) = parse(b2c_json()).unwrap() else {
            panic!("not aad_b2c")
        };
        assert_eq!(b2c.host.as_deref(), Some("https://login.contoso.com"));
        assert_eq!(b2c.domain, None);
    }

    #[test]
    fn unknown_fields_kinds_and_runtime_knobs_are_refused() {
        for mut value in [oidc_json(), aad_json(), b2c_json()] {
            value["colour"] = json!("blue");
            let err = parse(value).unwrap_err().to_string();
            assert!(err.contains("colour"), "{err}");
        }
        for knob in ["leeway_secs", "max_token_bytes"] {
            let mut value = oidc_json();
            value[knob] = json!(5);
            assert!(
                parse(value).is_err(),
                "{knob} must not be configurable here"
            );
        }
        let mut value = oidc_json();
        value["kind"] = json!("saml");
        assert!(parse(value).is_err());
        let mut value = oidc_json();
        value.as_object_mut().unwrap().remove("kind");
        assert!(parse(value).is_err());
    }

    #[test]
    fn describe_and_allow_http() {
        let oidc = parse(oidc_json()).unwrap();
        assert_eq!(oidc.describe(), "https://idp.acme.example");
        assert!(!oidc.fetch_policy().allow_http);
        assert_eq!(
            parse(aad_json()).unwrap().describe(),
            "https://login.microsoftonline.us/organizations"
        );
        assert_eq!(
            parse(b2c_json()).unwrap().describe(),
            "contosob2c (B2C_1_signin)"
        );
        let mut value = b2c_json();
        value["allow_http"] = json!(true);
        assert!(parse(value).unwrap().fetch_policy().allow_http);
    }

    #[test]
    fn validate_names_the_field() {
        assert_eq!(parse(oidc_json()).unwrap().validate(), Ok(()));
        let cases = [
            (json!({ "issuer": "not a url" }), "issuer", "not a URL"),
            (
                json!({ "issuer": "http://idp.example" }),
                "issuer",
                "must be https",
            ),
            (json!({ "audiences": [] }), "audiences", "at least one"),
            (json!({ "audiences": [" "] }), "audiences", "non-empty"),
            (
                json!({ "subject_claim": "" }),
                "subject_claim",
                "must not be empty",
            ),
        ];
        for (patch, field, message) in cases {
            let mut value = oidc_json();
            for (k, v) in patch.as_object().unwrap() {
                value[k] = v.clone();
            }
            let err = parse(value).unwrap().validate().unwrap_err();
            assert_eq!(err.field_name(), Some(field), "{err}");
            assert!(err.message().contains(message), "{err}");
            assert_eq!(err.to_string(), format!("{field}: {}", err.message()));
        }
        let mut value = oidc_json();
        value["issuer"] = json!("http://127.0.0.1:1");
        value["allow_http"] = json!(true);
        assert_eq!(parse(value).unwrap().validate(), Ok(()));
    }

    #[test]
    fn aad_and_b2c_validate_with_their_own_checks() {
        assert_eq!(parse(aad_json()).unwrap().validate(), Ok(()));
        assert_eq!(parse(b2c_json()).unwrap().validate(), Ok(()));
        let mut value = aad_json();
        value["directory"] = json!("contoso");
        let err = parse(value).unwrap().validate().unwrap_err();
        assert_eq!(err.field_name(), None);
        assert!(err.message().contains("aad directory"), "{err}");
        let mut value = b2c_json();
        value["policies"] = json!([]);
        let err = parse(value).unwrap().validate().unwrap_err();
        assert!(err.message().contains("aad_b2c policies"), "{err}");
    }

    #[test]
    fn build_refuses_an_unusable_configuration() {
        let mut value = oidc_json();
        value["issuer"] = json!("http://idp.example");
        let err = parse(value).unwrap().build(&ctx()).unwrap_err();
        assert!(matches!(err, VerifyError::Config(_)), "{err:?}");
    }

    #[cfg(feature = "openapi")]
    mod openapi {
        use poem_openapi::registry::Registry;
        use poem_openapi::types::{ParseFromJSON, ToJSON, Type};

        use super::*;

        #[test]
        fn parses_the_admin_body_with_the_server_defaults() {
            let config = ProviderConfig::parse_from_json(Some(oidc_json())).unwrap();
            assert_eq!(config, parse(oidc_json()).unwrap());
            for value in [aad_json(), b2c_json()] {
                let config = ProviderConfig::parse_from_json(Some(value.clone())).unwrap();
                assert_eq!(config, parse(value).unwrap());
            }
        }

        #[test]
        fn refuses_unknown_fields_and_kinds() {
            for mut value in [oidc_json(), aad_json(), b2c_json()] {
                value["colour"] = json!("blue");
                let err = ProviderConfig::parse_from_json(Some(value)).unwrap_err();
                assert!(err.message().contains("colour"), "{}", err.message());
            }
            let mut value = oidc_json();
            value["kind"] = json!("saml");
            assert!(ProviderConfig::parse_from_json(Some(value)).is_err());
            let mut value = aad_json();
            value["token_versions"] = json!([1, 1]);
            assert!(ProviderConfig::parse_from_json(Some(value)).is_err());
        }

        #[test]
        fn serves_the_kind_and_the_serde_shape() {
            for value in [oidc_json(), aad_json(), b2c_json()] {
                let config = parse(value).unwrap();
                assert_eq!(
                    config.to_json().unwrap(),
                    serde_json::to_value(&config).unwrap()
                );
            }
        }

        #[test]
        fn schema_keeps_the_admin_api_names() {
            let mut registry = Registry::new();
            ProviderConfig::register(&mut registry);
            assert_eq!(ProviderConfig::name(), "ProviderBody");
            for name in [
                "ProviderBody",
                "OidcProviderBody",
                "AadProviderBody",
                "AadB2cProviderBody",
            ] {
                assert!(registry.schemas.contains_key(name), "{name}");
            }
        }
    }
}
