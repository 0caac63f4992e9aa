//! `[acs]` and `[tenants.acs]`: how to reach an ACS resource — a connection string, or an
//! endpoint with a Microsoft Entra ID credential.

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{ConfigError, EntraCredentialConfig};

/// The longest `max_queue_wait_ms` accepted: a caller waits no longer than this for ACS.
const MAX_QUEUE_WAIT_MS: u64 = 60_000;

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
    pub entra: Option<EntraCredentialConfig>,
    /// Per-call timeout towards ACS, in seconds.
    pub timeout_secs: u64,
    /// Retries of a failed call where the operation allows (back-off with jitter; `Retry-After`
    /// honoured); 0 disables retries.
    pub max_retries: u32,
    /// Consecutive failed calls that open the circuit breaker of this resource (0 disables it).
    pub circuit_breaker_threshold: u32,
    /// How long an open circuit fails calls at once before one trial call, in seconds.
    pub circuit_breaker_cooldown_secs: u64,
    /// The longest a call over the resource's documented ACS limits waits for its turn, in
    /// milliseconds; past that the caller gets `503` with `Retry-After` at once.
    pub max_queue_wait_ms: u64,
    /// Client-side pacing under the documented ACS limits (1000 creates and 1000 token issues
    /// per 30 s, 500 deletes, revocations and exchanges). **For tests and benchmarks against the
    /// ACS emulator only** (warming 100k users for a load test): with `false` nothing holds
    /// calls back, so a real ACS resource answers `429` instead. A `429` still pauses the
    /// operation either way.
    pub pacing: bool,
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
            max_queue_wait_ms: 2000,
            pacing: true,
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
        if self.max_queue_wait_ms > MAX_QUEUE_WAIT_MS {
            return Err(ConfigError::invalid(
                format!("{key}.max_queue_wait_ms"),
                format!("must be at most {MAX_QUEUE_WAIT_MS} (a minute)"),
            ));
        }
        if let Some(cs) = &self.connection_string {
            crate::acs::ConnectionString::parse(cs.expose_secret()).map_err(|e| {
                ConfigError::invalid(format!("{key}.connection_string"), e.to_string())
            })?;
        }
        match (&self.connection_string, &self.endpoint, &self.entra) {
            (Some(_), Some(_), _) => {
                return Err(ConfigError::invalid(
                    format!("{key}.endpoint"),
                    "set either connection_string or endpoint (with entra), not both",
                ));
            }
            (Some(_), None, Some(_)) => {
                return Err(ConfigError::invalid(
                    format!("{key}.entra"),
                    "an Entra ID credential needs `endpoint` instead of a connection string",
                ));
            }
            (None, Some(_), None) => {
                return Err(ConfigError::invalid(
                    format!("{key}.entra"),
                    "is required with `endpoint` (managed_identity, workload_identity or client_secret)",
                ));
            }
            (None, None, Some(_)) => {
                return Err(ConfigError::invalid(
                    format!("{key}.endpoint"),
                    "is required with `entra` (the resource's endpoint, e.g. https://x.communication.azure.com/)",
                ));
            }
            _ => {}
        }
        if let Some(endpoint) = &self.endpoint {
            let url = url::Url::parse(endpoint).map_err(|e| {
                ConfigError::invalid(format!("{key}.endpoint"), format!("not a URL: {e}"))
            })?;
            let loopback_http =
                url.scheme() == "http" && crate::acs::connection_string::is_loopback(&url);
            if !(url.scheme() == "https" || loopback_http) || url.host_str().is_none() {
                return Err(ConfigError::invalid(
                    format!("{key}.endpoint"),
                    "must be an https URL such as https://x.communication.azure.com/ (http only on a loopback host, for an emulator)",
                ));
            }
        }
        if let Some(entra) = &self.entra {
            validate_entra(entra).map_err(|(field, message)| {
                ConfigError::invalid(format!("{key}.entra.{field}"), message)
            })?;
        }
        if let Some(k) = &self.secondary_access_key {
            if self.connection_string.is_none() {
                return Err(ConfigError::invalid(
                    format!("{key}.secondary_access_key"),
                    "needs a connection_string (an Entra ID credential has no access keys)",
                ));
            }
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

    /// Whether this names a resource: a connection string, or an endpoint with an Entra ID
    /// credential.
    pub fn is_configured(&self) -> bool {
        self.connection_string.is_some() || (self.endpoint.is_some() && self.entra.is_some())
    }

    /// The resource's endpoint, from the connection string or `endpoint` (no secrets).
    pub fn endpoint_url(&self) -> Option<url::Url> {
        match (&self.connection_string, &self.endpoint) {
            (Some(cs), _) => crate::acs::ConnectionString::parse(cs.expose_secret())
                .ok()
                .map(|c| c.endpoint().clone()),
            (None, Some(e)) => url::Url::parse(e).ok(),
            (None, None) => None,
        }
    }
}

/// The checks of an Entra ID credential that need no I/O: `(field, message)` on failure.
fn validate_entra(entra: &crate::acs::EntraCredentialConfig) -> Result<(), (&'static str, String)> {
    use crate::acs::EntraCredentialConfig as E;
    let https =
        |field: &'static str, host: &Option<String>| -> Result<(), (&'static str, String)> {
            match host {
                Some(h) if !url::Url::parse(h).is_ok_and(|u| u.scheme() == "https") => Err((
                    field,
                    "must be an https URL such as https://login.microsoftonline.com".into(),
                )),
                _ => Ok(()),
            }
        };
    let non_empty = |field: &'static str, v: &str| -> Result<(), (&'static str, String)> {
        if v.trim().is_empty() {
            Err((field, "must not be empty".into()))
        } else {
            Ok(())
        }
    };
    match entra {
        E::ManagedIdentity {
            client_id,
            object_id,
            resource_id,
        } => {
            let set = [client_id, object_id, resource_id]
                .iter()
                .filter(|v| v.is_some())
                .count();
            if set > 1 {
                return Err((
                    "client_id",
                    "set at most one of client_id, object_id and resource_id of a managed identity"
                        .into(),
                ));
            }
        }
        E::WorkloadIdentity { authority_host, .. } => https("authority_host", authority_host)?,
        E::ClientSecret {
            tenant_id,
            client_id,
            client_secret,
            authority_host,
        } => {
            non_empty("tenant_id", tenant_id)?;
            non_empty("client_id", client_id)?;
            non_empty("client_secret", client_secret.expose_secret())?;
            https("authority_host", authority_host)?;
        }
    }
    Ok(())
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
