//! Bodies of the admin API. Tenant bodies have the shape of a `[[tenants]]` table of the
//! configuration file (snake_case keys), so a tenant can move between the file and the API
//! unchanged. Secrets (`acs.connection_string`, `acs.secondary_access_key`) are write-only.

use acs_auth_providers::ProviderConfig;
use chrono::{DateTime, Utc};
use poem_openapi::Object;
use poem_openapi::types::ToJSON;
use secrecy::ExposeSecret;

use crate::config::{AcsSettings, TenantSettings};
use crate::service::tenant_admin::TenantRecord;
use crate::store::Mapping;
use crate::store::admin::AuditEvent;

/// Scopes and roles every caller's token must carry.
#[derive(Debug, Clone, Default, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AccessBody {
    pub required_scopes: Option<Vec<String>>,
    pub required_roles: Option<Vec<String>>,
}

/// What getToken issues.
#[derive(Debug, Clone, Default, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TokensBody {
    /// Default scopes (default `["chat", "voip"]`).
    pub scopes: Option<Vec<String>>,
    /// Scopes a request may ask for (default: `scopes`).
    pub allowed_scopes: Option<Vec<String>>,
    /// Default lifetime, 60–1440 minutes (default 60).
    #[oai(validator(minimum(value = "60"), maximum(value = "1440")))]
    pub lifetime_minutes: Option<u32>,
    /// Longest lifetime a request may ask for (default 1440).
    #[oai(validator(minimum(value = "60"), maximum(value = "1440")))]
    pub max_lifetime_minutes: Option<u32>,
}

/// The tenant's own ACS resource (write-only secrets).
#[derive(Clone, Default, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AcsBody {
    /// `endpoint=https://…;accesskey=…`.
    #[oai(write_only)]
    pub connection_string: Option<String>,
    /// The resource's other access key, used when the primary is refused (key rotation).
    #[oai(write_only)]
    pub secondary_access_key: Option<String>,
    #[oai(validator(minimum(value = "1"), maximum(value = "300")))]
    pub timeout_secs: Option<u64>,
    /// The resource's endpoint (read-only).
    #[oai(read_only)]
    pub endpoint: Option<String>,
    /// Whether a secondary key is set (read-only).
    #[oai(read_only)]
    pub has_secondary_access_key: Option<bool>,
}

impl std::fmt::Debug for AcsBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcsBody")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// A tenant to create (`id` required) or replace (`id` optional; must match the path).
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TenantBody {
    /// Slug used in `/tenants/{id}/…`.
    #[oai(validator(max_length = 64))]
    pub id: Option<String>,
    #[oai(validator(max_length = 255))]
    pub display_name: Option<String>,
    /// Default true.
    pub enabled: Option<bool>,
    pub provider: ProviderConfig,
    pub access: Option<AccessBody>,
    pub tokens: Option<TokensBody>,
    pub acs: Option<AcsBody>,
}

/// A tenant as it is served.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TenantView {
    pub id: String,
    pub display_name: String,
    pub enabled: bool,
    /// `file` (read-only here) or `database`.
    pub source: String,
    /// Whether the running registry serves it (false for a stored tenant whose provider cannot be built).
    pub active: bool,
    pub provider: ProviderConfig,
    pub access: AccessBody,
    pub tokens: TokensBody,
    /// The tenant's own ACS resource; absent when it uses the default one.
    pub acs: Option<AcsBody>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TenantPage {
    pub items: Vec<TenantView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TenantDeleted {
    /// ACS identities of the tenant that were deleted or queued for deletion.
    pub identities: u64,
    /// How many of them ACS already confirmed; the rest are retried in the background.
    pub confirmed: u64,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CheckItem {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CheckReport {
    /// True when every check passed.
    pub ok: bool,
    pub checks: Vec<CheckItem>,
}

/// One user's mapping to an ACS identity.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MappingView {
    pub id: i64,
    pub subject: String,
    /// The issuer (or Entra directory) the subject is scoped by.
    pub issuer_key: String,
    pub communication_user_id: String,
    /// The ACS resource (endpoint) the identity lives in.
    pub acs_resource: String,
    pub created_at: DateTime<Utc>,
    /// Last time a new ACS token was issued for it.
    pub last_used_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MappingPage {
    pub items: Vec<MappingView>,
    pub next_cursor: Option<String>,
}

/// A security event.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AuditEventView {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub tenant_id: Option<String>,
    /// `admin:<key id>`, `user:<subject>` or `acs-auth`.
    pub actor: String,
    /// E.g. `identity.created`, `tenant.updated`, `admin.key_used`.
    pub action: String,
    pub target: Option<String>,
    /// JSON details, when any.
    pub detail: Option<serde_json::Value>,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AuditPage {
    pub items: Vec<AuditEventView>,
    pub next_cursor: Option<String>,
}

/// Why a body does not make a tenant: the key and the message.
#[derive(Debug)]
pub struct BodyError {
    pub key: String,
    pub message: String,
}

fn strip_nulls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

impl TenantBody {
    /// The settings this body describes, for tenant `id`.
    pub fn into_settings(self, id: &str) -> Result<TenantSettings, BodyError> {
        if let Some(body_id) = &self.id
            && body_id != id
        {
            return Err(BodyError {
                key: "id".into(),
                message: format!("`{body_id}` does not match the tenant in the path (`{id}`)"),
            });
        }
        let acs = self.acs.as_ref().map(|a| {
            serde_json::json!({
                "connection_string": a.connection_string,
                "secondary_access_key": a.secondary_access_key,
                "timeout_secs": a.timeout_secs,
            })
        });
        let mut value = serde_json::json!({
            "id": id,
            "display_name": self.display_name,
            "enabled": self.enabled,
            "provider": serde_json::to_value(&self.provider).map_err(|e| BodyError {
                key: "provider".into(),
                message: e.to_string(),
            })?,
            "access": self.access.to_json(),
            "tokens": self.tokens.to_json(),
            "acs": acs,
        });
        strip_nulls(&mut value);
        serde_json::from_value(value).map_err(|e| BodyError {
            key: "body".into(),
            message: e.to_string(),
        })
    }
}

/// The view of a tenant record (secrets left out).
pub fn tenant_view(record: &TenantRecord) -> Result<TenantView, BodyError> {
    let s = &record.settings;
    let access = AccessBody {
        required_scopes: Some(s.access.required_scopes.clone()),
        required_roles: Some(s.access.required_roles.clone()),
    };
    let tokens = TokensBody {
        scopes: Some(s.tokens.scopes.clone()),
        allowed_scopes: Some(s.tokens.allowed_scopes().to_vec()),
        lifetime_minutes: Some(s.tokens.lifetime_minutes),
        max_lifetime_minutes: Some(s.tokens.max_lifetime_minutes),
    };
    Ok(TenantView {
        id: s.id.clone(),
        display_name: s.display_name.clone().unwrap_or_else(|| s.id.clone()),
        enabled: s.enabled,
        source: if record.from_file { "file" } else { "database" }.into(),
        active: record.active,
        provider: s.provider.clone(),
        access,
        tokens,
        acs: s.acs.as_ref().map(acs_view),
        created_at: record.stored.as_ref().map(|r| r.created_at),
        updated_at: record.stored.as_ref().map(|r| r.updated_at),
    })
}

fn acs_view(a: &AcsSettings) -> AcsBody {
    let endpoint = a
        .connection_string
        .as_ref()
        .and_then(|cs| crate::acs::ConnectionString::parse(cs.expose_secret()).ok())
        .map(|cs| cs.endpoint().as_str().trim_end_matches('/').to_owned());
    AcsBody {
        connection_string: None,
        secondary_access_key: None,
        timeout_secs: Some(a.timeout_secs),
        endpoint,
        has_secondary_access_key: Some(a.secondary_access_key.is_some()),
    }
}

pub fn mapping_view(m: Mapping) -> MappingView {
    MappingView {
        id: m.id,
        subject: m.subject,
        issuer_key: m.issuer_key,
        communication_user_id: m.acs_user_id,
        acs_resource: m.acs_resource,
        created_at: m.created_at,
        last_used_at: m.last_used_at,
    }
}

pub fn audit_view(e: AuditEvent) -> AuditEventView {
    AuditEventView {
        id: e.id,
        at: e.at,
        tenant_id: e.tenant_id,
        actor: e.actor,
        action: e.action,
        target: e.target,
        detail: e
            .detail
            .map(|d| serde_json::from_str(&d).unwrap_or(serde_json::Value::String(d))),
        request_id: e.request_id,
    }
}
