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

mod acs;
mod setup;
mod tenant;

#[cfg(test)]
mod documented;

pub use acs::AcsSettings;
pub use setup::{MAX_LINK_LIFETIME_HOURS, SetupSettings};
pub use tenant::{AccessSettings, TenantSettings, TokenPolicySettings, validate_tenant_id};

/// The Entra ID credential of an ACS resource (`[acs.entra]`), as the ACS client takes it.
pub use crate::acs::EntraCredentialConfig;

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
    pub metrics: MetricsSettings,
    #[serde(default)]
    pub registry: RegistrySettings,
    #[serde(default)]
    pub cluster: ClusterSettings,
    #[serde(default)]
    pub outbound: OutboundSettings,
    #[serde(default)]
    pub setup: SetupSettings,
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
    /// Whole-request deadline (body read included), in seconds; past it the answer is
    /// `408 request_timeout`.
    pub request_timeout_secs: u64,
    /// After SIGTERM, how long the server keeps accepting requests while `/readyz` answers
    /// `503` (so load balancers and Kubernetes take it out of rotation first), in seconds.
    pub shutdown_delay_secs: u64,
    /// Then how long in-flight requests may take to finish before the process exits anyway,
    /// in seconds. Keep `shutdown_delay_secs + shutdown_grace_secs` below the orchestrator's
    /// grace period (Kubernetes: `terminationGracePeriodSeconds`, 30 by default).
    pub shutdown_grace_secs: u64,
    /// How long a request's header block may take to arrive, counted from when the
    /// connection starts waiting for it (so also the longest idle keep-alive), in seconds.
    pub header_read_timeout_secs: u64,
    /// A connection on which nothing is read or written for this long is closed, in seconds;
    /// at least `request_timeout_secs`.
    pub idle_timeout_secs: u64,
    /// Proxies (addresses or CIDR ranges) whose `X-Forwarded-For` is believed: the client
    /// address is the rightmost one in it that is not a trusted proxy. Empty: the peer address.
    pub trusted_proxies: Vec<String>,
    /// The most connections served at once; more wait in the listen backlog until one ends.
    /// Keep it below the process's open-file limit less the database pool and outbound
    /// connections.
    pub max_connections: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 128 * 1024,
            request_timeout_secs: 30,
            shutdown_delay_secs: 5,
            shutdown_grace_secs: 20,
            header_read_timeout_secs: 10,
            idle_timeout_secs: 60,
            max_connections: 1024,
            trusted_proxies: Vec::new(),
        }
    }
}

/// The SQLite file of the default `database.url`, in the working directory.
pub const DEFAULT_SQLITE_FILE: &str = "acs-auth.db";

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
            url: SecretString::from(format!("sqlite://{DEFAULT_SQLITE_FILE}?mode=rwc")),
            max_connections: 10,
            migrate: true,
        }
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
    /// Failed bearer-token verifications per minute one client address may cause before it
    /// is refused (`429`) without verifying; 0 = unlimited. Per replica.
    pub failed_auth_per_minute: u32,
    /// How many failures above the rate one address may cause at once.
    pub failed_auth_burst: u32,
    /// Admin API requests per minute one client address may make; 0 = unlimited. Per replica.
    pub admin_requests_per_minute: u32,
    /// How many admin requests above the rate one address may make at once.
    pub admin_burst: u32,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            tenant_requests_per_second: 0,
            tenant_burst: 200,
            subject_requests_per_minute: 120,
            subject_burst: 60,
            failed_auth_per_minute: 60,
            failed_auth_burst: 20,
            admin_requests_per_minute: 600,
            admin_burst: 100,
        }
    }
}

/// Prometheus metrics at `/metrics`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// Serve `/metrics` at all.
    pub enabled: bool,
    /// When set, `/metrics` answers only `Authorization: Bearer <this>` (a Prometheus
    /// `authorization` credential); anyone who reaches the port may scrape otherwise.
    pub bearer_token: Option<SecretString>,
    /// Tenants labelled by their id (the first ones seen); the others are counted as `other`,
    /// so the series stay bounded whatever the number of tenants.
    pub max_tenant_labels: usize,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            bearer_token: None,
            max_tenant_labels: 100,
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
    /// Also allow every loopback origin (`http://localhost:PORT`, `http://127.0.0.1:PORT`,
    /// `http://[::1]:PORT`, any port): a browser app on a developer's machine. `acs-auth dev`
    /// turns it on; leave it off in production.
    pub allow_loopback_origins: bool,
    /// How long browsers may cache a preflight answer, in seconds.
    pub max_age_secs: u32,
}

impl CorsSettings {
    /// Whether any origin is allowed at all (else no CORS headers are sent).
    pub fn is_enabled(&self) -> bool {
        self.allow_loopback_origins || !self.allowed_origins.is_empty()
    }
}

/// Whether `origin` (as a browser sends it: `scheme://host[:port]`, nothing else) is an
/// `http(s)` origin on a loopback host (the rule of [`crate::acs::connection_string::is_loopback`]).
pub fn is_loopback_origin(origin: &str) -> bool {
    let Ok(url) = url::Url::parse(origin) else {
        return false;
    };
    // Exactly an origin: no user info, path, query or explicit default port.
    let exact = url
        .origin()
        .ascii_serialization()
        .eq_ignore_ascii_case(origin);
    exact
        && matches!(url.scheme(), "http" | "https")
        && crate::acs::connection_string::is_loopback(&url)
}

impl Default for CorsSettings {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            allow_loopback_origins: false,
            max_age_secs: 600,
        }
    }
}

/// Outbound HTTPS (identity providers, Entra ID, ACS).
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct OutboundSettings {
    /// A PEM file of extra root certificates to trust, besides the built-in (Mozilla) roots:
    /// for a TLS-inspecting corporate proxy, or a private authority in tests.
    pub ca_file: Option<PathBuf>,
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

/// How replicas learn of each other's changes to mappings and tenants: through the database's
/// change log (docs/deployment.md).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterSettings {
    /// How often each replica reads the change log, in milliseconds. On PostgreSQL a
    /// `NOTIFY` also wakes it at once.
    pub poll_interval_ms: u64,
    /// A replica that has not read the change log for this long (milliseconds) stops serving
    /// mappings from memory and reads them from the database, until it has caught up.
    pub max_lag_ms: u64,
    /// Changes older than this are trimmed from the log, in seconds. A replica that could not
    /// read the log for longer drops everything it holds in memory once it can again.
    pub log_retention_secs: u64,
    /// How often each replica records its heartbeat, in milliseconds.
    pub heartbeat_interval_ms: u64,
    /// A replica not heard of for this long (milliseconds) no longer counts: the others take
    /// its share of the rate limits and ACS pacing.
    pub replica_timeout_ms: u64,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        Self {
            poll_interval_ms: 200,
            max_lag_ms: 1000,
            log_retention_secs: 3600,
            heartbeat_interval_ms: 1000,
            replica_timeout_ms: 3000,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JwksSettings {
    /// How long one refetch of a key set (caused by an unknown `kid`) takes to come back to
    /// the key set's budget.
    pub refetch_cooldown_secs: u64,
    /// How many refetches of one key set may happen at once.
    pub refetch_burst: u32,
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
            refetch_burst: 2,
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
    /// Keep the verdict on a bearer token that verified, so the same token is not verified
    /// again while it is valid (keyed by tenant, provider configuration and the token's
    /// SHA-256; dropped on tenant and key changes).
    pub verified_tokens: bool,
    /// The longest a verdict is kept, whatever the token's `exp` (which always ends it).
    pub verified_token_max_age_secs: u64,
    /// How many verdicts are kept in memory.
    pub verified_token_max_entries: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            reuse_tokens: true,
            min_remaining_percent: 75,
            max_entries: 100_000,
            mapping_ttl_secs: 300,
            verified_tokens: true,
            verified_token_max_age_secs: 600,
            verified_token_max_entries: 100_000,
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
    /// Export request spans to this OTLP/HTTP traces URL (builds with the `otlp` feature).
    pub otlp_endpoint: Option<String>,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
            otlp_endpoint: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
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
        self.setup.validate()?;
        for (i, hash) in self.admin.key_hashes.iter().enumerate() {
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ConfigError::invalid(
                    format!("admin.key_hashes[{i}]"),
                    "must be a SHA-256 hash in hex (64 characters); `acs-auth admin-key` makes one",
                ));
            }
        }
        if self.cluster.poll_interval_ms == 0
            || self.cluster.max_lag_ms <= self.cluster.poll_interval_ms
        {
            return Err(ConfigError::invalid(
                "cluster.max_lag_ms",
                "must be above cluster.poll_interval_ms, which must be at least 1",
            ));
        }
        if self.cluster.heartbeat_interval_ms == 0
            || self.cluster.replica_timeout_ms
                < self.cluster.heartbeat_interval_ms.saturating_mul(2)
        {
            return Err(ConfigError::invalid(
                "cluster.replica_timeout_ms",
                "must be at least twice cluster.heartbeat_interval_ms, which must be at least 1",
            ));
        }
        if self.cluster.log_retention_secs < 60 {
            return Err(ConfigError::invalid(
                "cluster.log_retention_secs",
                "must be at least 60",
            ));
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
        if self.cache.verified_tokens && self.cache.verified_token_max_age_secs == 0 {
            return Err(ConfigError::invalid(
                "cache.verified_token_max_age_secs",
                "must be at least 1 (or set cache.verified_tokens = false)",
            ));
        }
        if self.server.request_timeout_secs == 0
            || self.server.header_read_timeout_secs == 0
            || self.server.max_connections == 0
        {
            return Err(ConfigError::invalid(
                "server",
                "request_timeout_secs, header_read_timeout_secs and max_connections must be at least 1",
            ));
        }
        for (i, proxy) in self.server.trusted_proxies.iter().enumerate() {
            if crate::domain::parse_ip_range(proxy).is_none() {
                return Err(ConfigError::invalid(
                    format!("server.trusted_proxies[{i}]"),
                    "must be an IP address or a CIDR range such as 10.0.0.0/8",
                ));
            }
        }
        if self.server.idle_timeout_secs < self.server.request_timeout_secs {
            return Err(ConfigError::invalid(
                "server.idle_timeout_secs",
                "must be at least server.request_timeout_secs (a request may wait that long for its answer)",
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
    fn the_verified_token_cache_is_on_by_default_and_configurable() {
        Jail::expect_with(|jail| {
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert!(s.cache.verified_tokens);
            assert_eq!(s.cache.verified_token_max_age_secs, 600);
            assert_eq!(s.cache.verified_token_max_entries, 100_000);

            jail.create_file("z.toml", "[cache]\nverified_token_max_age_secs = 0\n")?;
            let err = Settings::load(Some(Path::new("z.toml")))
                .unwrap_err()
                .to_string();
            assert!(err.contains("cache.verified_token_max_age_secs"), "{err}");

            jail.create_file(
                "c.toml",
                "[cache]\nverified_tokens = false\nverified_token_max_entries = 5\n",
            )?;
            jail.set_env("ACS_AUTH_CACHE__VERIFIED_TOKEN_MAX_AGE_SECS", "30");
            let s = Settings::load(Some(Path::new("c.toml"))).map_err(|e| e.to_string())?;
            assert!(!s.cache.verified_tokens);
            assert_eq!(s.cache.verified_token_max_age_secs, 30);
            assert_eq!(s.cache.verified_token_max_entries, 5);

            Ok(())
        });
    }

    #[test]
    fn acs_pacing_is_on_by_default_and_its_queue_time_is_bounded() {
        Jail::expect_with(|jail| {
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert!(s.acs.pacing);
            assert_eq!(s.acs.max_queue_wait_ms, 2000);

            jail.create_file("q.toml", "[acs]\nmax_queue_wait_ms = 60001\n")?;
            let err = Settings::load(Some(Path::new("q.toml")))
                .unwrap_err()
                .to_string();
            assert!(err.contains("acs.max_queue_wait_ms"), "{err}");

            jail.create_file("p.toml", "[acs]\npacing = false\nmax_queue_wait_ms = 0\n")?;
            let s = Settings::load(Some(Path::new("p.toml"))).map_err(|e| e.to_string())?;
            assert!(!s.acs.pacing);
            assert_eq!(s.acs.max_queue_wait_ms, 0);
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
    fn an_acs_endpoint_with_an_entra_credential_names_a_resource() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "c.toml",
                r#"
                [acs]
                endpoint = "https://x.communication.azure.com/"
                [acs.entra]
                credential = "managed_identity"
                "#,
            )?;
            let s = Settings::load(Some(Path::new("c.toml"))).map_err(|e| e.to_string())?;
            assert!(s.acs.is_configured());
            assert_eq!(
                s.acs.endpoint_url().map(|u| u.to_string()).as_deref(),
                Some("https://x.communication.azure.com/")
            );
            Ok(())
        });
    }

    #[test]
    fn acs_resources_that_do_not_add_up_name_the_key() {
        let entra = |t: &str| -> AcsSettings { toml::from_str(t).unwrap() };
        let cases = [
            (
                "endpoint = \"https://x.communication.azure.com/\"",
                "acs.entra",
            ),
            ("[entra]\ncredential = \"managed_identity\"", "acs.endpoint"),
            (
                "endpoint = \"not a url\"\n[entra]\ncredential = \"managed_identity\"",
                "acs.endpoint",
            ),
            (
                "endpoint = \"https://x/\"\n[entra]\ncredential = \"client_secret\"\ntenant_id = \"t\"\nclient_id = \"\"\nclient_secret = \"s\"",
                "acs.entra.client_id",
            ),
            (
                "endpoint = \"https://x/\"\n[entra]\ncredential = \"managed_identity\"\nclient_id = \"a\"\nobject_id = \"b\"",
                "acs.entra.client_id",
            ),
            (
                "endpoint = \"https://x/\"\nsecondary_access_key = \"AAAA\"\n[entra]\ncredential = \"managed_identity\"",
                "acs.secondary_access_key",
            ),
            (
                "endpoint = \"https://x/\"\n[entra]\ncredential = \"workload_identity\"\nauthority_host = \"http://login.example\"",
                "acs.entra.authority_host",
            ),
        ];
        for (text, key) in cases {
            let err = entra(text).validate("acs").unwrap_err().to_string();
            assert!(err.contains(&format!("`{key}`")), "{text}: {err}");
        }
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
    fn loopback_origins_are_any_port_of_localhost_127_and_v6_loopback_only() {
        for ok in [
            "http://localhost:5173",
            "http://127.0.0.1:3000",
            "http://127.0.0.2:1",
            "http://[::1]:8000",
            "http://localhost",
            "https://LOCALHOST:8443",
        ] {
            assert!(is_loopback_origin(ok), "{ok}");
        }
        for no in [
            "http://localhost.evil.example:80",
            "http://evil.example",
            "http://127.0.0.1.nip.io:80",
            "http://localhost:80@evil.example",
            "http://10.0.0.1:80",
            "null",
            "file://",
            "http://[::2]:80",
            "http://localhost:",
        ] {
            assert!(!is_loopback_origin(no), "{no}");
        }
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

    #[test]
    fn the_kubernetes_config_map_is_a_valid_configuration() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/base/config.toml");
        // The Secret's values arrive as files and variables in the pod.
        let figment = Settings::figment(Some(Path::new(path)))
            .merge(("acs.connection_string_file", None::<String>))
            .merge((
                "acs.connection_string",
                "endpoint=https://x.communication.azure.com/;accesskey=a2V5",
            ))
            .merge(("database.url", "postgres://acs:secret@db/acs"));
        let settings: Settings = figment.extract().unwrap_or_else(|e| panic!("{path}: {e}"));
        settings
            .validate()
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(settings.log.format, LogFormat::Json);
        assert!(
            settings.server.shutdown_delay_secs + settings.server.shutdown_grace_secs < 30,
            "below the pod's terminationGracePeriodSeconds"
        );
    }
}
