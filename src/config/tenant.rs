//! `[[tenants]]`: one customer's identity provider, access and token policies and (optional)
//! own ACS resource, and the checks a tenant must pass (also for the admin API).

use acs_auth_providers::ProviderConfig;
use serde::{Deserialize, Serialize};

use super::{ACS_SCOPES, AcsSettings, ConfigError, MAX_TOKEN_MINUTES, MIN_TOKEN_MINUTES};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    /// Slug used in `/tenants/{id}/…`.
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default = "default_true")]
    pub enabled: bool,
    pub provider: ProviderConfig,
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

impl TenantSettings {
    /// An enabled tenant `id` on `provider`, with the default access and token policies and the
    /// default ACS resource.
    pub fn new(id: impl Into<String>, provider: ProviderConfig) -> Self {
        Self {
            id: id.into(),
            display_name: None,
            enabled: true,
            provider,
            access: AccessSettings::default(),
            tokens: TokenPolicySettings::default(),
            acs: None,
        }
    }

    /// Every check of one tenant; `prefix` is prepended to the key names in messages
    /// (`tenants[0].` for the config file, empty for the admin API).
    pub fn validate(&self, prefix: &str) -> Result<(), ConfigError> {
        let key = |k: &str| format!("{prefix}{k}");
        validate_tenant_id(&self.id).map_err(|m| ConfigError::invalid(key("id"), m))?;
        if let Some(name) = &self.display_name {
            crate::domain::check_display_name(name)
                .map_err(|m| ConfigError::invalid(key("display_name"), m))?;
        }
        self.provider.validate().map_err(|e| {
            let field = match e.field_name() {
                Some(field) => format!("provider.{field}"),
                None => "provider".to_owned(),
            };
            ConfigError::invalid(key(&field), e.message())
        })?;
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

/// A tenant id is a slug: 1–64 of `a-z`, `0-9`, `-`, starting with a letter or digit (the rule
/// is [`TenantId`](crate::domain::TenantId)'s).
pub fn validate_tenant_id(id: &str) -> Result<(), String> {
    crate::domain::TenantId::parse(id)
        .map(|_| ())
        .map_err(|e| e.to_string())
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
