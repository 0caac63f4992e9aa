//! Typed settings: defaults, then a TOML file, then `ACS_AUTH_…` environment variables
//! (nested keys split by `__`). Secrets are `SecretString`s: redacted in `Debug`, never logged.
//!
//! Every key is documented in docs/configuration.md.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use acs_auth_providers::{AadConfig, B2cConfig};

/// The ACS token scopes the service knows (`CommunicationIdentityTokenScope`).
pub const ACS_SCOPES: &[&str] = &crate::acs::wire::SCOPE_NAMES;
/// Bounds ACS puts on a token's lifetime, in minutes.
pub use crate::acs::wire::{MAX_TOKEN_MINUTES, MIN_TOKEN_MINUTES};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Figment(#[from] Box<figment::Error>),
    #[error("invalid configuration: `{key}`: {message}")]
    Invalid { key: String, message: String },
    #[error("cannot read `{key}` from {path}: {source}")]
    SecretFile {
        key: String,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl ConfigError {
    fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub server: ServerSettings,
    #[serde(default)]
    pub database: DatabaseSettings,
    #[serde(default)]
    pub acs: AcsSettings,
    #[serde(default)]
    pub jwks: JwksSettings,
    #[serde(default)]
    pub cache: CacheSettings,
    #[serde(default)]
    pub deletion: DeletionSettings,
    #[serde(default)]
    pub log: LogSettings,
    #[serde(default)]
    pub admin: AdminSettings,
    #[serde(default)]
    pub limits: LimitSettings,
    #[serde(default)]
    pub cors: CorsSettings,
    #[serde(default)]
    pub registry: RegistrySettings,
    /// Tenant used by the seed-compatible bare paths (`/getToken`, …) when the token's issuer
    /// does not name exactly one tenant.
    #[serde(default)]
    pub default_tenant: Option<String>,
    #[serde(default)]
    pub tenants: Vec<TenantSettings>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    pub bind: SocketAddr,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Whole-request timeout, in seconds.
    pub request_timeout_secs: u64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 128 * 1024,
            request_timeout_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://…`, `postgres://…` or `mysql://…`. May hold a password: kept secret.
    pub url: SecretString,
    pub max_connections: u32,
    /// Run pending migrations at start-up.
    pub migrate: bool,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: SecretString::from("sqlite://acs-auth.db?mode=rwc"),
            max_connections: 10,
            migrate: true,
        }
    }
}

/// How to reach an ACS resource: the default one (`[acs]`) or a tenant's own (`[tenants.acs]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AcsSettings {
    /// `endpoint=https://…;accesskey=…`.
    #[serde(serialize_with = "expose_opt_secret")]
    pub connection_string: Option<SecretString>,
    /// A file holding the connection string (e.g. a mounted Kubernetes secret).
    pub connection_string_file: Option<PathBuf>,
    /// The resource's other access key (base64): used when ACS refuses the primary one, so keys
    /// can be rotated without downtime.
    #[serde(serialize_with = "expose_opt_secret")]
    pub secondary_access_key: Option<SecretString>,
    /// Instead of a connection string: the resource's endpoint, reached with `entra`.
    pub endpoint: Option<String>,
    /// The Microsoft Entra ID credential for `endpoint` (managed identity, workload identity or
    /// client secret).
    pub entra: Option<crate::acs::EntraCredentialConfig>,
    /// Per-call timeout towards ACS, in seconds.
    pub timeout_secs: u64,
    /// Retries of a failed call where the operation allows (back-off with jitter; `Retry-After`
    /// honoured); 0 disables retries.
    pub max_retries: u32,
    /// Consecutive failed calls that open the circuit breaker of this resource (0 disables it).
    pub circuit_breaker_threshold: u32,
    /// How long an open circuit fails calls at once before one trial call, in seconds.
    pub circuit_breaker_cooldown_secs: u64,
}

impl Default for AcsSettings {
    fn default() -> Self {
        Self {
            connection_string: None,
            connection_string_file: None,
            secondary_access_key: None,
            endpoint: None,
            entra: None,
            timeout_secs: 10,
            max_retries: 2,
            circuit_breaker_threshold: 5,
            circuit_breaker_cooldown_secs: 10,
        }
    }
}

impl AcsSettings {
    /// Reads `connection_string_file` into `connection_string`.
    pub fn resolve_files(&mut self, key: &str) -> Result<(), ConfigError> {
        if let Some(path) = &self.connection_string_file {
            let raw = std::fs::read_to_string(path).map_err(|source| ConfigError::SecretFile {
                key: format!("{key}.connection_string_file"),
                path: path.clone(),
                source,
            })?;
            self.connection_string = Some(SecretString::from(raw.trim().to_owned()));
        }
        Ok(())
    }

    pub fn validate(&self, key: &str) -> Result<(), ConfigError> {
        if let Some(cs) = &self.connection_string {
            crate::acs::ConnectionString::parse(cs.expose_secret()).map_err(|e| {
                ConfigError::invalid(format!("{key}.connection_string"), e.to_string())
            })?;
        }
        if let Some(k) = &self.secondary_access_key {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(k.expose_secret().trim())
                .map_err(|_| {
                    ConfigError::invalid(format!("{key}.secondary_access_key"), "is not base64")
                })?;
        }
        if self.timeout_secs == 0 {
            return Err(ConfigError::invalid(
                format!("{key}.timeout_secs"),
                "must be at least 1",
            ));
        }
        Ok(())
    }

    pub fn is_configured(&self) -> bool {
        self.connection_string.is_some()
    }
}

/// The admin API (`/admin`).
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSettings {
    /// SHA-256 hashes (hex) of the admin API keys; `acs-auth admin-key` makes a key and its
    /// hash. The keys themselves are never stored.
    pub key_hashes: Vec<String>,
    /// A file with one admin key hash per line (e.g. a mounted secret).
    pub key_hashes_file: Option<PathBuf>,
}

/// Rate limits; 0 turns one off.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitSettings {
    /// Requests per second one tenant may make (all its users together); 0 = unlimited.
    pub tenant_requests_per_second: u32,
    /// How many requests above the rate a tenant may make at once.
    pub tenant_burst: u32,
    /// Requests per minute one user (subject) of a tenant may make; 0 = unlimited.
    pub subject_requests_per_minute: u32,
    /// How many requests above the rate one user may make at once.
    pub subject_burst: u32,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            tenant_requests_per_second: 0,
            tenant_burst: 200,
            subject_requests_per_minute: 120,
            subject_burst: 60,
        }
    }
}

/// Cross-origin requests from browser apps.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorsSettings {
    /// Origins allowed to call the API from a browser, e.g. `https://app.example.com`; empty
    /// means no CORS headers at all (browsers then refuse cross-origin calls).
    pub allowed_origins: Vec<String>,
    /// How long browsers may cache a preflight answer, in seconds.
    pub max_age_secs: u32,
}

impl Default for CorsSettings {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            max_age_secs: 600,
        }
    }
}

/// How replicas notice tenant changes made through the admin API.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrySettings {
    /// How often each replica checks the database for tenant changes, in seconds.
    pub reload_interval_secs: u64,
}

impl Default for RegistrySettings {
    fn default() -> Self {
        Self {
            reload_interval_secs: 5,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JwksSettings {
    /// Least time between two refetches of one key set caused by unknown `kid`s.
    pub refetch_cooldown_secs: u64,
    /// Key sets older than this are refreshed.
    pub refresh_interval_secs: u64,
    /// How long last-known-good keys stay usable while the IdP is unreachable.
    pub max_stale_secs: u64,
    /// Timeout of one discovery or JWKS request.
    pub request_timeout_secs: u64,
    /// Clock leeway for `exp`, `nbf` and `iat`.
    pub leeway_secs: u64,
    /// Bearer tokens longer than this are refused before any parsing.
    pub max_token_bytes: usize,
}

impl Default for JwksSettings {
    fn default() -> Self {
        Self {
            refetch_cooldown_secs: 30,
            refresh_interval_secs: 3600,
            max_stale_secs: 24 * 3600,
            request_timeout_secs: 10,
            leeway_secs: 60,
            max_token_bytes: 16 * 1024,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheSettings {
    /// Hand out an issued ACS token again while enough of its lifetime is left.
    pub reuse_tokens: bool,
    /// A cached token is handed out only while at least this share of its lifetime is left.
    pub min_remaining_percent: u8,
    /// How many tokens and mappings are kept in memory (each).
    pub max_entries: u64,
    /// How long a mapping is trusted from memory before it is read again from the database.
    pub mapping_ttl_secs: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            reuse_tokens: true,
            min_remaining_percent: 75,
            max_entries: 100_000,
            mapping_ttl_secs: 300,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeletionSettings {
    /// How often the background worker looks for ACS deletions to retry.
    pub retry_interval_secs: u64,
    /// Back-off cap between two attempts for one identity.
    pub max_backoff_secs: u64,
}

impl Default for DeletionSettings {
    fn default() -> Self {
        Self {
            retry_interval_secs: 15,
            max_backoff_secs: 3600,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A `tracing` filter, e.g. `info` or `acs_auth=debug,info`. `RUST_LOG` wins when set.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    /// Slug used in `/tenants/{id}/…`.
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default = "default_true")]
    pub enabled: bool,
    pub provider: ProviderSettings,
    #[serde(default)]
    pub access: AccessSettings,
    #[serde(default)]
    pub tokens: TokenPolicySettings,
    /// The tenant's own ACS resource; the default `[acs]` resource when absent.
    #[serde(default)]
    pub acs: Option<AcsSettings>,
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProviderSettings {
    /// Any OpenID Connect provider.
    Oidc(OidcProviderSettings),
    /// Microsoft Entra ID (single- or multi-tenant).
    Aad(AadConfig),
    /// Azure AD B2C (user flows and custom policies).
    AadB2c(B2cConfig),
}

impl ProviderSettings {
    pub fn kind(&self) -> &'static str {
        match self {
            ProviderSettings::Oidc(_) => "oidc",
            ProviderSettings::Aad(_) => "aad",
            ProviderSettings::AadB2c(_) => "aad_b2c",
        }
    }

    /// Whether the provider's documents may be fetched over `http` (development and tests).
    pub fn allow_http(&self) -> bool {
        match self {
            ProviderSettings::Oidc(p) => p.allow_http,
            ProviderSettings::Aad(p) => p.allow_http,
            ProviderSettings::AadB2c(p) => p.allow_http,
        }
    }

    /// The issuer (or authority) for listings.
    pub fn describe(&self) -> String {
        match self {
            ProviderSettings::Oidc(p) => p.issuer.clone(),
            ProviderSettings::Aad(p) => {
                format!("{}/{}", p.authority_host.trim_end_matches('/'), p.directory)
            }
            ProviderSettings::AadB2c(p) => format!("{} ({})", p.tenant_name, p.policies.join(", ")),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OidcProviderSettings {
    pub issuer: String,
    pub audiences: Vec<String>,
    #[serde(default = "default_subject_claim")]
    pub subject_claim: String,
    #[serde(default)]
    pub allow_http: bool,
}

fn default_subject_claim() -> String {
    "sub".into()
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AccessSettings {
    /// Delegated scopes (`scp`) the caller's token must all carry.
    pub required_scopes: Vec<String>,
    /// App roles (`roles`) the caller's token must all carry.
    pub required_roles: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenPolicySettings {
    /// Scopes getToken issues when the request names none.
    pub scopes: Vec<String>,
    /// Scopes a request may ask for; defaults to `scopes`.
    pub allowed_scopes: Option<Vec<String>>,
    /// Lifetime getToken issues when the request names none (60–1440).
    pub lifetime_minutes: u32,
    /// Longest lifetime a request may ask for (60–1440).
    pub max_lifetime_minutes: u32,
}

impl Default for TokenPolicySettings {
    fn default() -> Self {
        Self {
            scopes: vec!["chat".into(), "voip".into()],
            allowed_scopes: None,
            lifetime_minutes: 60,
            max_lifetime_minutes: MAX_TOKEN_MINUTES,
        }
    }
}

impl TokenPolicySettings {
    pub fn allowed_scopes(&self) -> &[String] {
        self.allowed_scopes.as_deref().unwrap_or(&self.scopes)
    }
}

/// The environment prefix of every setting.
pub const ENV_PREFIX: &str = "ACS_AUTH_";

impl Settings {
    /// Defaults → TOML file (when given) → `ACS_AUTH_…` environment, then validated.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::from_figment(Self::figment(file))
    }

    pub fn figment(file: Option<&Path>) -> Figment {
        // Defaults come from serde (`#[serde(default)]` on every section).
        let mut figment = Figment::new();
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment.merge(
            Env::prefixed(ENV_PREFIX)
                .ignore(&["CONFIG"])
                .split("__")
                .map(|k| k.as_str().to_ascii_lowercase().into()),
        )
    }

    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let mut settings: Settings = figment.extract().map_err(Box::new)?;
        settings.resolve_secret_files()?;
        settings.validate()?;
        Ok(settings)
    }

    fn resolve_secret_files(&mut self) -> Result<(), ConfigError> {
        self.acs.resolve_files("acs")?;
        for (i, t) in self.tenants.iter_mut().enumerate() {
            if let Some(acs) = &mut t.acs {
                acs.resolve_files(&format!("tenants[{i}].acs"))?;
            }
        }
        if let Some(path) = &self.admin.key_hashes_file {
            let raw = std::fs::read_to_string(path).map_err(|source| ConfigError::SecretFile {
                key: "admin.key_hashes_file".into(),
                path: path.clone(),
                source,
            })?;
            self.admin.key_hashes.extend(
                raw.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned),
            );
        }
        Ok(())
    }

    /// Checks that serde cannot express; every message names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let db = self.database.url.expose_secret();
        if !["sqlite:", "postgres:", "postgresql:", "mysql:", "mariadb:"]
            .iter()
            .any(|p| db.starts_with(p))
        {
            return Err(ConfigError::invalid(
                "database.url",
                "must start with sqlite:, postgres:, postgresql: or mysql:",
            ));
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError::invalid(
                "database.max_connections",
                "must be at least 1",
            ));
        }
        self.acs.validate("acs")?;
        for (i, hash) in self.admin.key_hashes.iter().enumerate() {
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ConfigError::invalid(
                    format!("admin.key_hashes[{i}]"),
                    "must be a SHA-256 hash in hex (64 characters); `acs-auth admin-key` makes one",
                ));
            }
        }
        if self.registry.reload_interval_secs == 0 {
            return Err(ConfigError::invalid(
                "registry.reload_interval_secs",
                "must be at least 1",
            ));
        }
        for (i, origin) in self.cors.allowed_origins.iter().enumerate() {
            let ok = url::Url::parse(origin)
                .map(|u| {
                    matches!(u.scheme(), "https" | "http")
                        && u.path() == "/"
                        && !origin.ends_with('/')
                        && u.query().is_none()
                })
                .unwrap_or(false);
            if !ok {
                return Err(ConfigError::invalid(
                    format!("cors.allowed_origins[{i}]"),
                    "must be an origin such as `https://app.example.com` (scheme and host, no path)",
                ));
            }
        }
        if self.cache.min_remaining_percent > 100 {
            return Err(ConfigError::invalid(
                "cache.min_remaining_percent",
                "must be between 0 and 100",
            ));
        }
        if self.server.max_body_bytes < 1024 {
            return Err(ConfigError::invalid(
                "server.max_body_bytes",
                "must be at least 1024",
            ));
        }
        let mut seen = HashSet::new();
        for (i, tenant) in self.tenants.iter().enumerate() {
            let key = |k: &str| format!("tenants[{i}].{k}");
            if !seen.insert(tenant.id.as_str()) {
                return Err(ConfigError::invalid(
                    key("id"),
                    format!("duplicate tenant id `{}`", tenant.id),
                ));
            }
            tenant.validate(&format!("tenants[{i}]."))?;
        }
        if let Some(default) = &self.default_tenant {
            // It may name a tenant of the database: only its form is checked here.
            validate_tenant_id(default).map_err(|m| ConfigError::invalid("default_tenant", m))?;
        }
        Ok(())
    }
}

impl TenantSettings {
    /// Every check of one tenant; `prefix` is prepended to the key names in messages
    /// (`tenants[0].` for the config file, empty for the admin API).
    pub fn validate(&self, prefix: &str) -> Result<(), ConfigError> {
        let key = |k: &str| format!("{prefix}{k}");
        validate_tenant_id(&self.id).map_err(|m| ConfigError::invalid(key("id"), m))?;
        if self
            .display_name
            .as_ref()
            .is_some_and(|d| d.chars().count() > 255)
        {
            return Err(ConfigError::invalid(
                key("display_name"),
                "must be at most 255 characters",
            ));
        }
        match &self.provider {
            ProviderSettings::Oidc(p) => {
                let url = url::Url::parse(&p.issuer).map_err(|e| {
                    ConfigError::invalid(key("provider.issuer"), format!("not a URL: {e}"))
                })?;
                if url.scheme() != "https" && !(p.allow_http && url.scheme() == "http") {
                    return Err(ConfigError::invalid(
                        key("provider.issuer"),
                        "must be https (set provider.allow_http = true only for development)",
                    ));
                }
                if p.audiences.is_empty() || p.audiences.iter().any(|a| a.trim().is_empty()) {
                    return Err(ConfigError::invalid(
                        key("provider.audiences"),
                        "must list at least one non-empty audience",
                    ));
                }
                if p.subject_claim.trim().is_empty() {
                    return Err(ConfigError::invalid(
                        key("provider.subject_claim"),
                        "must not be empty",
                    ));
                }
            }
            ProviderSettings::Aad(p) => p
                .validate()
                .map_err(|e| ConfigError::invalid(key("provider"), provider_message(e)))?,
            ProviderSettings::AadB2c(p) => p
                .validate()
                .map_err(|e| ConfigError::invalid(key("provider"), provider_message(e)))?,
        }
        validate_token_policy(&self.tokens)
            .map_err(|(k, m)| ConfigError::invalid(key(&format!("tokens.{k}")), m))?;
        if let Some(acs) = &self.acs {
            acs.validate(&key("acs"))?;
            if !acs.is_configured() {
                return Err(ConfigError::invalid(
                    key("acs"),
                    "names no resource: set connection_string (or connection_string_file), or endpoint with entra",
                ));
            }
        }
        Ok(())
    }
}

fn provider_message(e: acs_auth_providers::VerifyError) -> String {
    match e {
        acs_auth_providers::VerifyError::Config(m) => m,
        other => other.to_string(),
    }
}

fn expose_opt_secret<S: serde::Serializer>(
    v: &Option<SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(secret) => s.serialize_some(secret.expose_secret()),
        None => s.serialize_none(),
    }
}

/// A tenant id is a slug: 1–64 of `a-z`, `0-9`, `-`, starting with a letter or digit.
pub fn validate_tenant_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{id}` is not a tenant slug (1–64 of a-z, 0-9 and '-', not starting with '-')"
        ))
    }
}

fn validate_token_policy(p: &TokenPolicySettings) -> Result<(), (&'static str, String)> {
    for (k, scopes) in [
        ("scopes", &p.scopes),
        ("allowed_scopes", &p.allowed_scopes().to_vec()),
    ] {
        if let Some(bad) = scopes.iter().find(|s| !ACS_SCOPES.contains(&s.as_str())) {
            return Err((
                k,
                format!(
                    "unknown ACS scope `{bad}` (known: {})",
                    ACS_SCOPES.join(", ")
                ),
            ));
        }
    }
    if p.scopes.is_empty() {
        return Err(("scopes", "must name at least one scope".into()));
    }
    if let Some(bad) = p.scopes.iter().find(|s| !p.allowed_scopes().contains(s)) {
        return Err(("scopes", format!("`{bad}` is not in allowed_scopes")));
    }
    for (k, v) in [
        ("lifetime_minutes", p.lifetime_minutes),
        ("max_lifetime_minutes", p.max_lifetime_minutes),
    ] {
        if !(MIN_TOKEN_MINUTES..=MAX_TOKEN_MINUTES).contains(&v) {
            return Err((
                k,
                format!("{v} is outside {MIN_TOKEN_MINUTES}–{MAX_TOKEN_MINUTES}"),
            ));
        }
    }
    if p.lifetime_minutes > p.max_lifetime_minutes {
        return Err(("lifetime_minutes", "exceeds max_lifetime_minutes".into()));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn defaults_are_valid_and_bind_loopback() {
        Jail::expect_with(|_| {
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.server.bind.to_string(), "127.0.0.1:8080");
            assert_eq!(
                s.database.url.expose_secret(),
                "sqlite://acs-auth.db?mode=rwc"
            );
            Ok(())
        });
    }

    #[test]
    fn env_overrides_file_with_double_underscore_nesting() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "c.toml",
                r#"
                [server]
                bind = "127.0.0.1:9000"
                [database]
                url = "sqlite://file.db"
                "#,
            )?;
            jail.set_env("ACS_AUTH_DATABASE__URL", "postgres://localhost/test");
            let s = Settings::load(Some(Path::new("c.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(s.server.bind.port(), 9000);
            assert_eq!(s.database.url.expose_secret(), "postgres://localhost/test");
            Ok(())
        });
    }

    #[test]
    fn invalid_value_names_the_key() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "c.toml",
                r#"
                [[tenants]]
                id = "acme"
                [tenants.provider]
                kind = "oidc"
                issuer = "https://idp.example"
                audiences = ["api://x"]
                [tenants.tokens]
                lifetime_minutes = 30
                "#,
            )?;
            let err = Settings::load(Some(Path::new("c.toml")))
                .unwrap_err()
                .to_string();
            assert!(err.contains("tenants[0].tokens.lifetime_minutes"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn unknown_key_is_refused_with_its_name() {
        Jail::expect_with(|jail| {
            jail.create_file("c.toml", "[server]\nbnd = \"127.0.0.1:1\"\n")?;
            let err = Settings::load(Some(Path::new("c.toml")))
                .unwrap_err()
                .to_string();
            assert!(err.contains("bnd"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn http_issuer_needs_allow_http() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "c.toml",
                r#"
                [[tenants]]
                id = "acme"
                [tenants.provider]
                kind = "oidc"
                issuer = "http://idp.example"
                audiences = ["api://x"]
                "#,
            )?;
            let err = Settings::load(Some(Path::new("c.toml")))
                .unwrap_err()
                .to_string();
            assert!(err.contains("tenants[0].provider.issuer"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let mut s = Settings::default();
        s.acs.connection_string =
            Some(SecretString::from("endpoint=https://x/;accesskey=c2VjcmV0"));
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("c2VjcmV0"));
    }

    #[test]
    fn tenant_slugs() {
        assert!(validate_tenant_id("acme-1").is_ok());
        for bad in ["", "-x", "Acme", "a b", "a/b", &"x".repeat(65)] {
            assert!(validate_tenant_id(bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod example_tests {
    use super::*;

    #[test]
    fn every_example_config_loads() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let mut figment = Settings::figment(Some(&path));
                // Secrets come from the environment or files in real deployments.
                figment = figment.merge(("acs.connection_string_file", None::<String>));
                let settings: Settings = figment
                    .extract()
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                settings
                    .validate()
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                seen += 1;
            }
        }
        assert!(seen >= 2, "examples found: {seen}");
    }
}
