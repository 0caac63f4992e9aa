//! `[setup]`: the self-service onboarding portal and its setup links (docs/onboarding-portal.md).

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// Longest lifetime of a setup link, in hours (30 days).
pub const MAX_LINK_LIFETIME_HOURS: u32 = 720;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SetupSettings {
    /// Whether the portal is served under `/setup` (links can be managed either way).
    pub enabled: bool,
    /// How long a new link is valid unless its creator says otherwise, in hours.
    pub link_lifetime_hours: u32,
    /// The address customers reach this server at (`https://auth.example.com`); links are made
    /// with it. Unset: the scheme and host of the admin request that creates the link.
    pub public_url: Option<String>,
    /// Let the portal's configurations fetch over `http://` (development and tests only).
    pub allow_http_issuers: bool,
    /// Let the portal's configurations reach IdP addresses in private networks (development and
    /// tests only: the customer would otherwise make this server fetch from the operator's own
    /// network).
    pub allow_private_network_issuers: bool,
}

impl Default for SetupSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            link_lifetime_hours: 168,
            public_url: None,
            allow_http_issuers: false,
            allow_private_network_issuers: false,
        }
    }
}

impl SetupSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=MAX_LINK_LIFETIME_HOURS).contains(&self.link_lifetime_hours) {
            return Err(ConfigError::invalid(
                "setup.link_lifetime_hours",
                format!("must be 1–{MAX_LINK_LIFETIME_HOURS}"),
            ));
        }
        if let Some(url) = &self.public_url {
            let parsed = url::Url::parse(url).map_err(|e| {
                ConfigError::invalid("setup.public_url", format!("is not a URL: {e}"))
            })?;
            if !matches!(parsed.scheme(), "http" | "https")
                || parsed.host_str().is_none()
                || parsed.query().is_some()
                || parsed.fragment().is_some()
            {
                return Err(ConfigError::invalid(
                    "setup.public_url",
                    "must be an http(s) address without query or fragment",
                ));
            }
        }
        Ok(())
    }
}
