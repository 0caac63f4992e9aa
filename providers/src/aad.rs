//! Microsoft Entra ID (formerly Azure AD): access tokens for the operator's customer's API app,
//! from one directory (single-tenant) or several (multi-tenant, `organizations`/`common` with an
//! allow-list of directory ids).
//!
//! How a token is verified (the rules of `ENTRA_TOKENS.md`):
//! 1. size and compact-JWS shape, then the protected header ([`validate::parse_header`]);
//! 2. tokens for Microsoft's own APIs are refused: a `nonce` in the header (Microsoft Graph) or
//!    an `aud` of Microsoft Graph;
//! 3. the payload is *peeked* (not trusted) only to choose how to verify it: `ver` picks the v1
//!    or v2 metadata (a version outside `token_versions` is refused), `tid` picks the directory
//!    (single-tenant: must be the configured one when present; multi-tenant: required, a GUID,
//!    in the allow-list unless `allow_any_directory`, and never the personal Microsoft accounts
//!    directory unless listed);
//! 4. the metadata of that version (`{authority}/{directory}/.well-known/openid-configuration`
//!    or `{authority}/{directory}/v2.0/.well-known/openid-configuration`, cached like the
//!    generic provider's) gives the issuer and the `jwks_uri`; an issuer template's
//!    `{tenantid}` is replaced by `tid`. Issuers are never hard-coded;
//! 5. the key for `kid` from the shared [`JwksCache`]; the signature, `exp`/`nbf`/`iat`, the
//!    exact `iss` and `aud` (one of the audiences) by [`validate::verify_token`];
//! 6. the signing key's own `issuer` member (Entra's JWKS carry one), with `{tenantid}` replaced
//!    by `tid`, must equal `iss` or the v2 issuer of `tid`: a key bound to one directory cannot
//!    sign for another. A key without `issuer` (v1 keys) adds nothing to the v1 rules;
//! 7. it must be an access token (ID tokens are refused): the calling app (`azp` in v2, `appid`
//!    in v1) and `scp` or `roles` present;
//! 8. the subject is `oid` (a GUID), keyed by directory: `issuer_key` is `aad:{tid}`, so a
//!    user's v1 and v2 tokens map to one identity, and the same person in another directory is
//!    another user.

use std::sync::Arc;

use async_trait::async_trait;
use url::Url;

use crate::discovery::{
    MetadataSource, ProviderMetadata, TENANT_ID_TEMPLATE, is_guid, substitute_tenant_in_url,
    tenant_in_template,
};
use crate::fetch::check_scheme;
use crate::jose::VerificationKey;
use crate::jwks::JwksCache;
use crate::network::FetchPolicy;
use crate::steps::{Steps, describe_key, read_token};
use crate::validate::{
    self, ClaimRules, Claims, DEFAULT_LEEWAY_SECS, DEFAULT_MAX_TOKEN_BYTES, VerifiedClaims,
    peek_header_unverified, verify_token,
};
use crate::{IdentityProvider, SigningKeyRef, VerifiedIdentity, VerifyError};

/// The public cloud's authority host (the default `authority_host`).
pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com";
/// The directory of personal Microsoft accounts (MSA): refused unless explicitly configured.
pub const PERSONAL_ACCOUNTS_DIRECTORY: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
/// Microsoft Graph's application id, the `aud` of Graph tokens.
pub const MICROSOFT_GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

mod token_rules;
use token_rules::{
    is_microsoft_graph_audience, optional_string, refuse_microsoft_api_tokens, require_access_token,
};

/// The multi-tenant authorities `directory` may name.
const MULTI_TENANT_DIRECTORIES: &[&str] = &["organizations", "common"];

fn default_authority_host() -> String {
    DEFAULT_AUTHORITY_HOST.to_owned()
}

fn default_token_versions() -> Vec<u8> {
    vec![1, 2]
}

fn default_leeway_secs() -> u64 {
    DEFAULT_LEEWAY_SECS
}

fn default_max_token_bytes() -> usize {
    DEFAULT_MAX_TOKEN_BYTES
}

/// Microsoft Entra ID (`kind: "aad"`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[cfg_attr(
    feature = "openapi",
    oai(
        rename = "AadProviderBody",
        deny_unknown_fields,
        skip_serializing_if_is_none
    )
)]
pub struct AadConfig {
    /// A directory (tenant) GUID, or `organizations` / `common` for a multi-tenant app.
    pub directory: String,
    /// The API app's client id.
    pub client_id: String,
    /// Multi-tenant: the directories whose users are accepted.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", oai(default))]
    pub allowed_directories: Vec<String>,
    /// Multi-tenant: accept any directory (explicit opt-in).
    // Personal Microsoft accounts still need to be listed in `allowed_directories`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", oai(default))]
    pub allow_any_directory: bool,
    /// Accepted `aud` values (default the client id and `api://{client id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audiences: Option<Vec<String>>,
    /// Default `https://login.microsoftonline.com`.
    // Sovereign clouds: `https://login.microsoftonline.us`, `https://login.chinacloudapi.cn`;
    // tests: a local server.
    #[serde(default = "default_authority_host")]
    #[cfg_attr(feature = "openapi", oai(default = "default_authority_host"))]
    pub authority_host: String,
    /// Accepted token versions, 1 and/or 2 (default `[1, 2]`).
    #[serde(default = "default_token_versions")]
    #[cfg_attr(
        feature = "openapi",
        oai(
            default = "default_token_versions",
            validator(
                min_items = 1,
                max_items = 2,
                unique_items = true,
                minimum(value = "1"),
                maximum(value = "2")
            )
        )
    )]
    pub token_versions: Vec<u8>,
    /// Allow `http://` (development and tests only).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", oai(default))]
    pub allow_http: bool,
    /// Allow IdP addresses in private networks: loopback, RFC 1918, RFC 4193, link-local
    /// (cloud metadata), CGNAT (an IdP inside the operator's network; development and tests).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", oai(default))]
    pub allow_private_network: bool,
    /// Clock-skew allowance for `exp`, `nbf`, `iat` (set by the server; default 60 s).
    #[serde(skip, default = "default_leeway_secs")]
    #[cfg_attr(feature = "openapi", oai(skip))]
    pub leeway_secs: u64,
    /// Largest token accepted (set by the server; default 16 KiB).
    #[serde(skip, default = "default_max_token_bytes")]
    #[cfg_attr(feature = "openapi", oai(skip))]
    pub max_token_bytes: usize,
}

/// An Entra ID access-token version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenVersion {
    /// `ver` `"1.0"`: issuer `https://sts.windows.net/{tid}/`.
    V1,
    /// `ver` `"2.0"`: issuer `https://login.microsoftonline.com/{tid}/v2.0`.
    V2,
}

impl TokenVersion {
    /// The `ver` claim of this version.
    pub fn claim(self) -> &'static str {
        match self {
            TokenVersion::V1 => "1.0",
            TokenVersion::V2 => "2.0",
        }
    }

    /// The number used in `token_versions`.
    pub fn number(self) -> u8 {
        match self {
            TokenVersion::V1 => 1,
            TokenVersion::V2 => 2,
        }
    }

    fn from_number(n: u8) -> Option<Self> {
        match n {
            1 => Some(TokenVersion::V1),
            2 => Some(TokenVersion::V2),
            _ => None,
        }
    }

    /// The claim the calling app is named by (`appid` in v1, `azp` in v2).
    fn client_claim(self) -> &'static str {
        match self {
            TokenVersion::V1 => "appid",
            TokenVersion::V2 => "azp",
        }
    }
}

fn config_error(field: &str, message: impl std::fmt::Display) -> VerifyError {
    VerifyError::Config(format!("aad {field}: {message}"))
}

/// Which directories are accepted, normalised (lower-case GUIDs).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Directories {
    Single(String),
    Multi { allowed: Vec<String>, any: bool },
}

/// The configuration, checked and normalised.
#[derive(Debug)]
struct Checked {
    /// `organizations`, `common` or a lower-case GUID.
    directory: String,
    directories: Directories,
    client_id: String,
    audiences: Vec<String>,
    /// Without a trailing slash.
    authority: String,
    versions: Vec<TokenVersion>,
}

impl AadConfig {
    /// Where the provider may fetch its documents from (`allow_http`, `allow_private_network`).
    pub fn fetch_policy(&self) -> FetchPolicy {
        FetchPolicy {
            allow_http: self.allow_http,
            allow_private_network: self.allow_private_network,
        }
    }

    /// A configuration with the defaults for everything but the directory and the client id.
    pub fn new(directory: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self {
            directory: directory.into(),
            allowed_directories: Vec::new(),
            allow_any_directory: false,
            client_id: client_id.into(),
            audiences: None,
            authority_host: default_authority_host(),
            token_versions: default_token_versions(),
            allow_http: false,
            allow_private_network: false,
            leeway_secs: DEFAULT_LEEWAY_SECS,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
        }
    }

    /// Whether `directory` names a multi-tenant authority (`organizations` or `common`).
    pub fn is_multi_tenant(&self) -> bool {
        MULTI_TENANT_DIRECTORIES
            .iter()
            .any(|d| d.eq_ignore_ascii_case(self.directory.trim()))
    }

    /// Check the configuration (`Config` errors name the field).
    pub fn validate(&self) -> Result<(), VerifyError> {
        self.check().map(|_| ())
    }

    /// The metadata URL of `version`: `{authority}/{directory}/.well-known/openid-configuration`
    /// (v1) or `{authority}/{directory}/v2.0/.well-known/openid-configuration` (v2).
    pub fn metadata_url(&self, version: TokenVersion) -> Result<Url, VerifyError> {
        let checked = self.check()?;
        metadata_url(&checked.authority, &checked.directory, version)
    }

    fn check(&self) -> Result<Checked, VerifyError> {
        let directory = self.directory.trim().to_ascii_lowercase();
        let directories = if MULTI_TENANT_DIRECTORIES.contains(&directory.as_str()) {
            let mut allowed = Vec::with_capacity(self.allowed_directories.len());
            for entry in &self.allowed_directories {
                if !is_guid(entry.trim()) {
                    return Err(config_error(
                        "allowed_directories",
                        format!("{entry:?} is not a directory (tenant) GUID"),
                    ));
                }
                allowed.push(entry.trim().to_ascii_lowercase());
            }
            if allowed.is_empty() && !self.allow_any_directory {
                return Err(config_error(
                    "allowed_directories",
                    format!(
                        "a multi-tenant app (directory {directory:?}) needs the directories to \
                         accept; list them, or set allow_any_directory = true to accept any"
                    ),
                ));
            }
            Directories::Multi {
                allowed,
                any: self.allow_any_directory,
            }
        } else if is_guid(&directory) {
            if !self.allowed_directories.is_empty() || self.allow_any_directory {
                return Err(config_error(
                    "allowed_directories",
                    format!(
                        "allowed_directories and allow_any_directory apply to multi-tenant apps \
                         (directory \"organizations\" or \"common\"), not to directory {directory:?}"
                    ),
                ));
            }
            Directories::Single(directory.clone())
        } else {
            return Err(config_error(
                "directory",
                format!(
                    "{:?} is neither a directory (tenant) GUID nor \"organizations\" / \"common\"",
                    self.directory
                ),
            ));
        };

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
            None => vec![client_id.clone(), format!("api://{client_id}")],
            Some(audiences) => {
                if audiences.is_empty() || audiences.iter().any(|a| a.trim().is_empty()) {
                    return Err(config_error(
                        "audiences",
                        "at least one audience is required, and none may be empty",
                    ));
                }
                if let Some(graph) = audiences
                    .iter()
                    .find(|a| is_microsoft_graph_audience(a.as_str()))
                {
                    return Err(config_error(
                        "audiences",
                        format!(
                            "{graph:?} is Microsoft Graph: its tokens cannot be validated by a \
                             third party"
                        ),
                    ));
                }
                audiences.clone()
            }
        };

        let authority = check_authority_host(&self.authority_host, self.allow_http)?;

        if self.token_versions.is_empty() {
            return Err(config_error(
                "token_versions",
                "at least one version (1 or 2) is required",
            ));
        }
        let mut versions = Vec::new();
        for n in &self.token_versions {
            let version = TokenVersion::from_number(*n).ok_or_else(|| {
                config_error("token_versions", format!("{n} is not a version (1 or 2)"))
            })?;
            if !versions.contains(&version) {
                versions.push(version);
            }
        }

        if self.max_token_bytes == 0 {
            return Err(config_error("max_token_bytes", "must be positive"));
        }
        Ok(Checked {
            directory,
            directories,
            client_id,
            audiences,
            authority,
            versions,
        })
    }
}

fn check_authority_host(value: &str, allow_http: bool) -> Result<String, VerifyError> {
    let url = Url::parse(value.trim()).map_err(|e| {
        config_error(
            "authority_host",
            format!("{value:?} is not an absolute URL: {e}"),
        )
    })?;
    check_scheme(&url, allow_http).map_err(|e| config_error("authority_host", e))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(config_error(
            "authority_host",
            format!("{value:?} has no host"),
        ));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(config_error(
            "authority_host",
            format!("{value:?} must be a scheme and a host only, e.g. {DEFAULT_AUTHORITY_HOST}"),
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn metadata_url(
    authority: &str,
    directory: &str,
    version: TokenVersion,
) -> Result<Url, VerifyError> {
    let url = match version {
        TokenVersion::V1 => format!("{authority}/{directory}/.well-known/openid-configuration"),
        TokenVersion::V2 => {
            format!("{authority}/{directory}/v2.0/.well-known/openid-configuration")
        }
    };
    Url::parse(&url)
        .map_err(|e| config_error("authority_host", format!("metadata URL {url:?}: {e}")))
}

/// The Microsoft Entra ID provider.
#[derive(Debug)]
pub struct AadProvider {
    config: AadConfig,
    checked: Checked,
    jwks: Arc<JwksCache>,
    v1: MetadataSource,
    v2: MetadataSource,
}

impl AadProvider {
    /// Check `config` (`Config` errors name the field); metadata is fetched on first use (or by
    /// [`AadProvider::warm_up`]).
    pub fn new(config: AadConfig, jwks: Arc<JwksCache>) -> Result<Self, VerifyError> {
        let checked = config.check()?;
        let v1 = MetadataSource::new(
            metadata_url(&checked.authority, &checked.directory, TokenVersion::V1)?,
            config.fetch_policy(),
        )?;
        let v2 = MetadataSource::new(
            metadata_url(&checked.authority, &checked.directory, TokenVersion::V2)?,
            config.fetch_policy(),
        )?;
        Ok(Self {
            config,
            checked,
            jwks,
            v1,
            v2,
        })
    }

    /// The configuration, as given.
    pub fn config(&self) -> &AadConfig {
        &self.config
    }

    /// The API app's client id (lower case).
    pub fn client_id(&self) -> &str {
        &self.checked.client_id
    }

    /// The accepted `aud` values.
    pub fn audiences(&self) -> &[String] {
        &self.checked.audiences
    }

    /// Whether the provider accepts several directories.
    pub fn is_multi_tenant(&self) -> bool {
        matches!(self.checked.directories, Directories::Multi { .. })
    }

    /// The metadata URL used for tokens of `version`.
    pub fn metadata_url(&self, version: TokenVersion) -> &Url {
        self.source(version).url()
    }

    /// Fetch the metadata of the accepted versions and their keys now (e.g. at start-up), so
    /// that [`IdentityProvider::accepts_issuer`] answers from the metadata.
    pub async fn warm_up(&self) -> Result<(), VerifyError> {
        for version in &self.checked.versions {
            let metadata = self.metadata(*version).await?;
            if !metadata.jwks_uri.as_str().contains("tenantid") {
                self.jwks
                    .key_set(&metadata.jwks_uri, self.config.fetch_policy())
                    .await?;
            }
        }
        Ok(())
    }

    fn source(&self, version: TokenVersion) -> &MetadataSource {
        match version {
            TokenVersion::V1 => &self.v1,
            TokenVersion::V2 => &self.v2,
        }
    }

    async fn metadata(&self, version: TokenVersion) -> Result<Arc<ProviderMetadata>, VerifyError> {
        let source = self.source(version);
        let check = |metadata: &ProviderMetadata| self.check_metadata(source.url(), metadata);
        source.get(&self.jwks, check).await
    }

    /// A metadata document must fit the configuration: a multi-tenant authority's issuer is a
    /// `{tenantid}` template; a single directory's issuer names that directory.
    fn check_metadata(&self, url: &Url, metadata: &ProviderMetadata) -> Result<(), VerifyError> {
        match &self.checked.directories {
            Directories::Multi { .. } if !metadata.issuer.contains(TENANT_ID_TEMPLATE) => {
                Err(VerifyError::Config(format!(
                    "aad directory: the metadata at {url} has issuer {:?}, not a {TENANT_ID_TEMPLATE} \
                     template as a multi-tenant authority has",
                    metadata.issuer
                )))
            }
            Directories::Single(directory)
                if !metadata
                    .issuer
                    .replace(TENANT_ID_TEMPLATE, directory)
                    .to_ascii_lowercase()
                    .contains(directory.as_str()) =>
            {
                Err(VerifyError::Config(format!(
                    "aad directory: the metadata at {url} has issuer {:?}, which does not name \
                     directory {directory}",
                    metadata.issuer
                )))
            }
            _ => Ok(()),
        }
    }

    /// `ver`, which must be an accepted version.
    fn version_of(&self, claims: &Claims) -> Result<TokenVersion, VerifyError> {
        let version = match optional_string(claims, "ver")? {
            None => return Err(VerifyError::MissingClaim("ver".to_owned())),
            Some("1.0") => TokenVersion::V1,
            Some("2.0") => TokenVersion::V2,
            Some(_) => return Err(VerifyError::InvalidClaim("ver".to_owned())),
        };
        if self.checked.versions.contains(&version) {
            Ok(version)
        } else {
            tracing::debug!(
                version = version.claim(),
                "Entra ID token of a version this provider does not accept"
            );
            Err(VerifyError::InvalidClaim("ver".to_owned()))
        }
    }

    /// The directory of the token: `tid` as written (the configured directory when a
    /// single-tenant token has none), after the directory rules.
    fn tenant_of(&self, claims: &Claims) -> Result<String, VerifyError> {
        let tid = optional_string(claims, "tid")?;
        match &self.checked.directories {
            Directories::Single(directory) => match tid {
                None => Ok(directory.clone()),
                Some(tid) if tid.eq_ignore_ascii_case(directory) => Ok(tid.to_owned()),
                Some(_) => Err(VerifyError::InvalidIssuer),
            },
            Directories::Multi { .. } => {
                let tid = tid.ok_or_else(|| VerifyError::MissingClaim("tid".to_owned()))?;
                if !is_guid(tid) {
                    return Err(VerifyError::InvalidClaim("tid".to_owned()));
                }
                if !self.directory_allowed(tid) {
                    tracing::debug!(
                        "Entra ID token from a directory this provider does not accept"
                    );
                    return Err(VerifyError::InvalidIssuer);
                }
                Ok(tid.to_owned())
            }
        }
    }

    /// Multi-tenant: listed, or any directory when allowed — but personal Microsoft accounts
    /// only when listed.
    fn directory_allowed(&self, tid: &str) -> bool {
        match &self.checked.directories {
            Directories::Single(directory) => tid.eq_ignore_ascii_case(directory),
            Directories::Multi { allowed, any } => {
                if allowed.iter().any(|a| a.eq_ignore_ascii_case(tid)) {
                    true
                } else if tid.eq_ignore_ascii_case(PERSONAL_ACCOUNTS_DIRECTORY) {
                    false
                } else {
                    *any
                }
            }
        }
    }

    /// The signing key's own `issuer`, completed with the token's directory, must be the token's
    /// issuer or the v2 issuer of that directory.
    async fn check_signing_key_issuer(
        &self,
        key: &VerificationKey,
        tenant: &str,
        token_issuer: &str,
    ) -> Result<(), VerifyError> {
        let Some(key_issuer) = key.issuer.as_deref().filter(|i| !i.trim().is_empty()) else {
            return Ok(());
        };
        let effective = key_issuer.replace(TENANT_ID_TEMPLATE, tenant);
        if effective == token_issuer {
            return Ok(());
        }
        let v2 = self.metadata(TokenVersion::V2).await?;
        if effective == v2.issuer.replace(TENANT_ID_TEMPLATE, tenant) {
            return Ok(());
        }
        tracing::debug!(
            kid = key.kid.as_deref().unwrap_or(""),
            key_issuer,
            "Entra ID signing key is bound to another issuer"
        );
        Err(VerifyError::InvalidIssuer)
    }

    /// The issuer templates `accepts_issuer` compares with for `version`: the metadata's issuer
    /// when loaded, else the standard shapes (public cloud, and the configured authority).
    fn issuer_templates(&self, version: TokenVersion) -> Vec<String> {
        if let Some(metadata) = self.source(version).cached() {
            return vec![metadata.issuer.clone()];
        }
        let authority = &self.checked.authority;
        match version {
            TokenVersion::V1 => vec![
                format!("https://sts.windows.net/{TENANT_ID_TEMPLATE}/"),
                format!("{authority}/{TENANT_ID_TEMPLATE}/"),
            ],
            TokenVersion::V2 => vec![
                format!("{DEFAULT_AUTHORITY_HOST}/{TENANT_ID_TEMPLATE}/v2.0"),
                format!("{authority}/{TENANT_ID_TEMPLATE}/v2.0"),
            ],
        }
    }
}

#[async_trait]
impl IdentityProvider for AadProvider {
    async fn verify_traced(
        &self,
        token: &str,
        steps: &mut Steps,
    ) -> Result<VerifiedIdentity, VerifyError> {
        // Peeked only to refuse early and to choose the metadata; verified below.
        let (header, peeked) = read_token(steps, token, self.config.max_token_bytes)?;
        steps.check(
            "microsoft_api",
            peek_header_unverified(token).and_then(|h| refuse_microsoft_api_tokens(&h, &peeked)),
            |_| "not a token for Microsoft Graph".into(),
        )?;
        let version = steps.check("version", self.version_of(&peeked), |v| {
            format!("`ver` {} is accepted", v.claim())
        })?;
        let tenant = steps.check("directory", self.tenant_of(&peeked), |t| {
            format!("directory `{t}` is accepted")
        })?;

        let discovered = self.metadata(version).await.and_then(|metadata| {
            let jwks_uri = substitute_tenant_in_url(&metadata.jwks_uri, &tenant)?;
            Ok((metadata, jwks_uri))
        });
        let (metadata, jwks_uri) = steps.check("discovery", discovered, |(_, uri)| {
            format!("the directory's key set at {uri}")
        })?;
        let issuer = metadata.issuer.replace(TENANT_ID_TEMPLATE, &tenant);
        let key = steps.check(
            "key",
            self.jwks
                .key_for(&jwks_uri, header.kid.as_deref(), self.config.fetch_policy())
                .await,
            |k| describe_key(k),
        )?;
        let rules = ClaimRules {
            issuer,
            audiences: self.checked.audiences.clone(),
            leeway_secs: self.config.leeway_secs,
        };
        let VerifiedClaims { claims, expires_at } = steps.token_checks(
            verify_token(token, &header, peeked, &key, &rules),
            &rules.issuer,
        )?;

        // The claims are verified now (the very payload peeked above): the choices stand.
        steps.check(
            "key_issuer",
            self.check_signing_key_issuer(&key, &tenant, &rules.issuer)
                .await,
            |_| "the key is not bound to another issuer".into(),
        )?;
        steps.check("token_kind", require_access_token(&claims, version), |_| {
            "an access token (the calling app named, scopes or roles granted)".into()
        })?;
        let oid = steps.check(
            "subject",
            validate::subject_from_claims(&claims, "oid").and_then(|oid| {
                if is_guid(&oid) {
                    Ok(oid)
                } else {
                    Err(VerifyError::InvalidClaim("oid".to_owned()))
                }
            }),
            |_| "`oid` names the user".into(),
        )?;
        let tenant = tenant.to_ascii_lowercase();
        Ok(VerifiedIdentity {
            issuer: rules.issuer,
            issuer_key: format!("aad:{tenant}"),
            subject: oid.to_ascii_lowercase(),
            tenant_hint: Some(tenant),
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
            "microsoft_api",
            "version",
            "directory",
            "discovery",
            "key",
            "signature",
            "times",
            "issuer",
            "audience",
            "key_issuer",
            "token_kind",
            "subject",
        ]
    }

    /// Single-tenant: the v1/v2 issuer of the directory. Multi-tenant: an issuer matching a
    /// template with an accepted directory GUID. Only the accepted token versions count. The
    /// issuers come from the cached metadata once loaded; before that, from the standard shapes
    /// `https://sts.windows.net/{tid}/`, `{authority_host}/{tid}/` (v1) and
    /// `https://login.microsoftonline.com/{tid}/v2.0`, `{authority_host}/{tid}/v2.0` (v2).
    fn accepts_issuer(&self, issuer: &str) -> bool {
        self.checked.versions.iter().any(|version| {
            self.issuer_templates(*version)
                .iter()
                .any(|template| match &self.checked.directories {
                    Directories::Single(directory) => {
                        template.replace(TENANT_ID_TEMPLATE, directory) == issuer
                    }
                    Directories::Multi { .. } => tenant_in_template(template, issuer)
                        .is_some_and(|tid| self.directory_allowed(tid)),
                })
        })
    }

    fn supports_teams_exchange(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::jwks::JwksCacheConfig;
    use crate::testing::{FAKE_ENTRA_API_CLIENT_ID, FAKE_ENTRA_TENANT_A, FAKE_ENTRA_TENANT_B};

    fn jwks() -> Arc<JwksCache> {
        Arc::new(JwksCache::new(
            crate::testing::idp_http(),
            JwksCacheConfig {
                refetch_cooldown: Duration::ZERO,
                ..JwksCacheConfig::default()
            },
        ))
    }

    fn config_err(config: AadConfig) -> String {
        match AadProvider::new(config, jwks()) {
            Err(VerifyError::Config(message)) => message,
            Err(other) => panic!("not a Config error: {other}"),
            Ok(_) => panic!("the configuration was accepted"),
        }
    }

    #[test]
    fn config_errors_name_the_field() {
        let good = AadConfig::new(FAKE_ENTRA_TENANT_A, FAKE_ENTRA_API_CLIENT_ID);
        assert!(good.validate().is_ok());
        let cases: Vec<(&str, AadConfig)> = vec![
            (
                "directory",
                AadConfig {
                    directory: "contoso.onmicrosoft.com".into(),
                    ..good.clone()
                },
            ),
            (
                "directory",
                AadConfig {
                    directory: "consumers".into(),
                    ..good.clone()
                },
            ),
            (
                "directory",
                AadConfig {
                    directory: "8eaef023-2b34-4da1-9baa".into(),
                    ..good.clone()
                },
            ),
            (
                "client_id",
                AadConfig {
                    client_id: "my-api".into(),
                    ..good.clone()
                },
            ),
            (
                "allowed_directories",
                AadConfig {
                    directory: "organizations".into(),
                    ..good.clone()
                },
            ),
            (
                "allowed_directories",
                AadConfig {
                    directory: "common".into(),
                    allowed_directories: vec!["contoso.onmicrosoft.com".into()],
                    ..good.clone()
                },
            ),
            (
                "allowed_directories",
                AadConfig {
                    allowed_directories: vec![FAKE_ENTRA_TENANT_B.into()],
                    ..good.clone()
                },
            ),
            (
                "allowed_directories",
                AadConfig {
                    allow_any_directory: true,
                    ..good.clone()
                },
            ),
            (
                "audiences",
                AadConfig {
                    audiences: Some(vec![]),
                    ..good.clone()
                },
            ),
            (
                "audiences",
                AadConfig {
                    audiences: Some(vec![String::new()]),
                    ..good.clone()
                },
            ),
            (
                "authority_host",
                AadConfig {
                    authority_host: "login.microsoftonline.com".into(),
                    ..good.clone()
                },
            ),
            (
                "authority_host",
                AadConfig {
                    authority_host: "http://login.microsoftonline.com".into(),
                    ..good.clone()
                },
            ),
            (
                "authority_host",
                AadConfig {
                    authority_host: "https://login.microsoftonline.com/tenant".into(),
                    ..good.clone()
                },
            ),
            (
                "token_versions",
                AadConfig {
                    token_versions: vec![],
                    ..good.clone()
                },
            ),
            (
                "token_versions",
                AadConfig {
                    token_versions: vec![3],
                    ..good.clone()
                },
            ),
            (
                "max_token_bytes",
                AadConfig {
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
    fn multi_tenant_configs_need_an_allow_list_or_allow_any() {
        let mut config = AadConfig::new("Organizations", FAKE_ENTRA_API_CLIENT_ID);
        assert!(config.is_multi_tenant());
        assert!(config.validate().is_err());
        config.allowed_directories = vec![FAKE_ENTRA_TENANT_A.to_uppercase()];
        config.validate().unwrap();
        config.allowed_directories.clear();
        config.allow_any_directory = true;
        config.validate().unwrap();
        assert_eq!(
            config.metadata_url(TokenVersion::V1).unwrap().as_str(),
            "https://login.microsoftonline.com/organizations/.well-known/openid-configuration"
        );
    }

    #[test]
    fn sovereign_authority_hosts_build_their_metadata_urls() {
        for host in [
            "https://login.microsoftonline.us",
            "https://login.chinacloudapi.cn/",
        ] {
            let mut config = AadConfig::new(FAKE_ENTRA_TENANT_A, FAKE_ENTRA_API_CLIENT_ID);
            config.authority_host = host.to_owned();
            let base = host.trim_end_matches('/');
            assert_eq!(
                config.metadata_url(TokenVersion::V1).unwrap().as_str(),
                format!("{base}/{FAKE_ENTRA_TENANT_A}/.well-known/openid-configuration")
            );
            assert_eq!(
                config.metadata_url(TokenVersion::V2).unwrap().as_str(),
                format!("{base}/{FAKE_ENTRA_TENANT_A}/v2.0/.well-known/openid-configuration")
            );
        }
    }

    #[test]
    fn config_deserializes_with_defaults_and_refuses_unknown_fields() {
        let config: AadConfig = serde_json::from_value(json!({
            "directory": FAKE_ENTRA_TENANT_A,
            "client_id": FAKE_ENTRA_API_CLIENT_ID,
        }))
        .unwrap();
        assert!(config.allowed_directories.is_empty());
        assert!(!config.allow_any_directory);
        assert_eq!(config.audiences, None);
        assert_eq!(config.authority_host, DEFAULT_AUTHORITY_HOST);
        assert_eq!(config.token_versions, [1, 2]);
        assert!(!config.allow_http);
        assert_eq!(config.leeway_secs, DEFAULT_LEEWAY_SECS);
        assert_eq!(config.max_token_bytes, DEFAULT_MAX_TOKEN_BYTES);
        let provider = AadProvider::new(config, jwks()).unwrap();
        assert_eq!(provider.client_id(), FAKE_ENTRA_API_CLIENT_ID);
        assert!(!provider.is_multi_tenant());

        for extra in [json!({ "tenant": "x" }), json!({ "leeway_secs": 5 })] {
            let mut value = json!({ "directory": "common", "client_id": FAKE_ENTRA_API_CLIENT_ID });
            value
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            assert!(serde_json::from_value::<AadConfig>(value).is_err());
        }
    }

    #[test]
    fn config_serializes_back_to_what_it_reads() {
        let mut config = AadConfig::new("organizations", FAKE_ENTRA_API_CLIENT_ID);
        config.allowed_directories = vec![FAKE_ENTRA_TENANT_A.to_owned()];
        config.token_versions = vec![2];
        config.leeway_secs = 5;
        let value = serde_json::to_value(&config).unwrap();
        assert!(
            value.get("leeway_secs").is_none(),
            "set by the server, not stored"
        );
        assert!(value.get("audiences").is_none());
        let back: AadConfig = serde_json::from_value(value).unwrap();
        assert_eq!(back.allowed_directories, config.allowed_directories);
        assert_eq!(back.token_versions, [2]);
        assert_eq!(back.leeway_secs, DEFAULT_LEEWAY_SECS);
    }

    #[test]
    fn config_works_inside_a_kind_tagged_enum() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(tag = "kind", rename_all = "snake_case")]
        enum Provider {
            Aad(AadConfig),
        }
        let Provider::Aad(config) = serde_json::from_value(json!({
            "kind": "aad",
            "directory": "organizations",
            "allowed_directories": [FAKE_ENTRA_TENANT_A],
            "client_id": FAKE_ENTRA_API_CLIENT_ID,
            "token_versions": [2],
        }))
        .unwrap();
        assert_eq!(config.token_versions, [2]);
        assert!(serde_json::from_value::<Provider>(json!({
            "kind": "aad", "directory": "common", "client_id": FAKE_ENTRA_API_CLIENT_ID, "issuer": "x"
        }))
        .is_err());
    }
}
