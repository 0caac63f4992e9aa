//! Bodies of the admin API. Tenant bodies have the shape of a `[[tenants]]` table of the
//! configuration file (snake_case keys), so a tenant can move between the file and the API
//! unchanged. Secrets (`acs.connection_string`, `acs.secondary_access_key`) are write-only.

use acs_auth_providers::ProviderConfig;
use poem_openapi::Object;
use secrecy::SecretString;

use super::dto::AcsScope;
use super::timestamp::Timestamp;
use crate::config::EntraCredentialConfig;

use crate::config::{AccessSettings, AcsSettings, TenantSettings, TokenPolicySettings};
use crate::service::tenant_admin::TenantRecord;
use crate::service::{AuditEvent, Mapping};

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
    #[oai(validator(min_items = 1, max_items = 5, unique_items = true))]
    pub scopes: Option<Vec<AcsScope>>,
    /// Scopes a request may ask for (default: `scopes`; it must hold every default scope).
    #[oai(validator(max_items = 5, unique_items = true))]
    pub allowed_scopes: Option<Vec<AcsScope>>,
    /// Default lifetime, 60–1440 minutes (default 60).
    #[oai(validator(minimum(value = "60"), maximum(value = "1440")))]
    pub lifetime_minutes: Option<u32>,
    /// Longest lifetime a request may ask for (default 1440).
    #[oai(validator(minimum(value = "60"), maximum(value = "1440")))]
    pub max_lifetime_minutes: Option<u32>,
}

/// The tenant's own ACS resource: a connection string, or an endpoint with an Entra ID
/// credential (`entra`). Secrets are write-only.
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
    /// The resource's endpoint, e.g. `https://x.communication.azure.com/`: set it with `entra`
    /// instead of a connection string; served for both.
    pub endpoint: Option<String>,
    // The Microsoft Entra ID credential acs-auth calls the resource with (with `endpoint`); a
    // doc comment here would wrap the schema reference in `allOf`.
    pub entra: Option<EntraBody>,
    /// Whether a secondary key is set (read-only).
    #[oai(read_only)]
    pub has_secondary_access_key: Option<bool>,
}

impl std::fmt::Debug for AcsBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcsBody")
            .field("endpoint", &self.endpoint)
            .field("entra", &self.entra)
            .finish_non_exhaustive()
    }
}

/// How acs-auth gets Entra ID tokens for the ACS resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum EntraCredentialKind {
    /// The Azure host's managed identity (system-assigned, or user-assigned by one id).
    ManagedIdentity,
    /// Kubernetes workload identity (a federated service-account token).
    WorkloadIdentity,
    /// A service principal with a client secret.
    ClientSecret,
}

/// A Microsoft Entra ID credential (the `[acs.entra]` table of the configuration file).
#[derive(Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct EntraBody {
    pub credential: EntraCredentialKind,
    /// The directory of the service principal (`client_secret`; `workload_identity` defaults to
    /// `AZURE_TENANT_ID`).
    pub tenant_id: Option<String>,
    /// The app (`client_secret`, `workload_identity`) or the user-assigned managed identity's
    /// client id.
    pub client_id: Option<String>,
    /// A user-assigned managed identity's object id (`managed_identity`).
    pub object_id: Option<String>,
    /// A user-assigned managed identity's Azure resource id (`managed_identity`).
    pub resource_id: Option<String>,
    /// The federated token file (`workload_identity`; default `AZURE_FEDERATED_TOKEN_FILE`).
    pub token_file: Option<String>,
    /// Default `https://login.microsoftonline.com` (sovereign clouds: their authority host).
    pub authority_host: Option<String>,
    /// The service principal's secret (`client_secret`; write-only).
    #[oai(write_only)]
    pub client_secret: Option<String>,
    /// Whether a client secret is stored (read-only).
    #[oai(read_only)]
    pub has_client_secret: Option<bool>,
}

impl std::fmt::Debug for EntraBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntraBody")
            .field("credential", &self.credential)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl EntraBody {
    /// The credential this body describes; a field the chosen kind does not use is refused.
    fn into_config(self) -> Result<EntraCredentialConfig, BodyError> {
        let invalid = |field: &str, message: String| BodyError {
            key: format!("acs.entra.{field}"),
            message,
        };
        let kind = self.credential;
        let unused = |field: &str, set: bool| -> Result<(), BodyError> {
            if set {
                Err(invalid(
                    field,
                    format!("is not used by the `{}` credential", kind_name(kind)),
                ))
            } else {
                Ok(())
            }
        };
        let required = |field: &str, v: Option<String>| {
            v.ok_or_else(|| {
                invalid(
                    field,
                    format!("is required by the `{}` credential", kind_name(kind)),
                )
            })
        };
        match kind {
            EntraCredentialKind::ManagedIdentity => {
                unused("tenant_id", self.tenant_id.is_some())?;
                unused("token_file", self.token_file.is_some())?;
                unused("authority_host", self.authority_host.is_some())?;
                unused("client_secret", self.client_secret.is_some())?;
                Ok(EntraCredentialConfig::ManagedIdentity {
                    client_id: self.client_id,
                    object_id: self.object_id,
                    resource_id: self.resource_id,
                })
            }
            EntraCredentialKind::WorkloadIdentity => {
                unused("object_id", self.object_id.is_some())?;
                unused("resource_id", self.resource_id.is_some())?;
                unused("client_secret", self.client_secret.is_some())?;
                Ok(EntraCredentialConfig::WorkloadIdentity {
                    tenant_id: self.tenant_id,
                    client_id: self.client_id,
                    token_file: self.token_file.map(std::path::PathBuf::from),
                    authority_host: self.authority_host,
                })
            }
            EntraCredentialKind::ClientSecret => {
                unused("object_id", self.object_id.is_some())?;
                unused("resource_id", self.resource_id.is_some())?;
                unused("token_file", self.token_file.is_some())?;
                Ok(EntraCredentialConfig::ClientSecret {
                    tenant_id: required("tenant_id", self.tenant_id)?,
                    client_id: required("client_id", self.client_id)?,
                    client_secret: SecretString::from(required(
                        "client_secret",
                        self.client_secret,
                    )?),
                    authority_host: self.authority_host,
                })
            }
        }
    }

    /// The view of a stored credential (the secret left out).
    fn view(config: &EntraCredentialConfig) -> Self {
        let mut body = EntraBody {
            credential: EntraCredentialKind::ManagedIdentity,
            tenant_id: None,
            client_id: None,
            object_id: None,
            resource_id: None,
            token_file: None,
            authority_host: None,
            client_secret: None,
            has_client_secret: None,
        };
        match config {
            EntraCredentialConfig::ManagedIdentity {
                client_id,
                object_id,
                resource_id,
            } => {
                body.client_id = client_id.clone();
                body.object_id = object_id.clone();
                body.resource_id = resource_id.clone();
            }
            EntraCredentialConfig::WorkloadIdentity {
                tenant_id,
                client_id,
                token_file,
                authority_host,
            } => {
                body.credential = EntraCredentialKind::WorkloadIdentity;
                body.tenant_id = tenant_id.clone();
                body.client_id = client_id.clone();
                body.token_file = token_file.as_ref().map(|p| p.display().to_string());
                body.authority_host = authority_host.clone();
            }
            EntraCredentialConfig::ClientSecret {
                tenant_id,
                client_id,
                authority_host,
                ..
            } => {
                body.credential = EntraCredentialKind::ClientSecret;
                body.tenant_id = Some(tenant_id.clone());
                body.client_id = Some(client_id.clone());
                body.authority_host = authority_host.clone();
                body.has_client_secret = Some(true);
            }
        }
        body
    }
}

fn kind_name(kind: EntraCredentialKind) -> &'static str {
    match kind {
        EntraCredentialKind::ManagedIdentity => "managed_identity",
        EntraCredentialKind::WorkloadIdentity => "workload_identity",
        EntraCredentialKind::ClientSecret => "client_secret",
    }
}

impl AcsBody {
    /// The resource settings this body describes (checked further by the service; read-only
    /// fields are ignored).
    pub fn into_settings(self) -> Result<AcsSettings, BodyError> {
        let defaults = AcsSettings::default();
        Ok(AcsSettings {
            connection_string: self.connection_string.map(SecretString::from),
            secondary_access_key: self.secondary_access_key.map(SecretString::from),
            endpoint: self.endpoint,
            entra: self.entra.map(EntraBody::into_config).transpose()?,
            timeout_secs: self.timeout_secs.unwrap_or(defaults.timeout_secs),
            ..defaults
        })
    }
}

/// A tenant to create (`id` required) or replace (`id` optional; must match the path).
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct TenantBody {
    /// Slug used in `/tenants/{id}/…`: 1–64 of `a-z`, `0-9` and `-`, not starting with `-`.
    #[oai(validator(pattern = "^[a-z0-9][a-z0-9-]{0,63}$"))]
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

impl poem_openapi::types::Example for TenantBody {
    fn example() -> Self {
        let provider = acs_auth_providers::OidcConfig::new(
            "https://login.example.com",
            vec!["api://acs-auth".to_owned()],
        );
        Self {
            id: Some("contoso".into()),
            display_name: Some("Contoso".into()),
            enabled: Some(true),
            provider: ProviderConfig::Oidc(provider),
            access: None,
            tokens: Some(TokensBody {
                scopes: Some(vec![AcsScope::Chat, AcsScope::Voip]),
                allowed_scopes: None,
                lifetime_minutes: Some(60),
                max_lifetime_minutes: Some(1440),
            }),
            acs: None,
        }
    }
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
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
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

/// A user's access token to dry-run against a tenant.
#[derive(Clone, Object)]
#[oai(example)]
pub struct VerifyTokenRequest {
    /// The access token, as the client app would send it to getToken.
    #[oai(validator(min_length = 1, max_length = 16384))]
    pub token: String,
}

impl std::fmt::Debug for VerifyTokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VerifyTokenRequest([REDACTED])")
    }
}

impl poem_openapi::types::Example for VerifyTokenRequest {
    fn example() -> Self {
        Self {
            token: "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJpc3MiOiJodHRwczovL2xvZ2luLmV4YW1wbGUuY29tIn0.c2lnbmF0dXJl".to_owned(),
        }
    }
}

/// One check of a token dry-run.
#[derive(Debug, Clone, Object)]
pub struct TokenCheck {
    /// The check, e.g. `signature`, `audience`, `required_scopes`.
    pub name: String,
    /// Whether it ran: the checks after a refusal do not.
    pub ran: bool,
    pub ok: bool,
    /// What it found, or why it refused.
    pub detail: String,
}

/// The verdict of a token dry-run.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct VerifyTokenReport {
    /// True when every check passed: getToken would accept the token.
    pub valid: bool,
    /// The user the token names, once its signature and claims verified.
    pub subject: Option<String>,
    /// Every check of the tenant's provider and access policy, in order.
    pub checks: Vec<TokenCheck>,
}

pub fn verify_token_report(report: crate::service::dry_run::DryRun) -> VerifyTokenReport {
    VerifyTokenReport {
        valid: report.valid,
        subject: report.subject,
        checks: report
            .checks
            .into_iter()
            .map(|c| TokenCheck {
                name: c.name.to_owned(),
                ran: c.ran,
                ok: c.ok,
                detail: c.detail,
            })
            .collect(),
    }
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
    pub created_at: Timestamp,
    /// Last time a new ACS token was issued for it.
    pub last_used_at: Timestamp,
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
    pub at: Timestamp,
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
        let defaults = TokenPolicySettings::default();
        let tokens = self.tokens.unwrap_or_default();
        Ok(TenantSettings {
            id: id.to_owned(),
            display_name: self.display_name,
            enabled: self.enabled.unwrap_or(true),
            provider: self.provider,
            access: self
                .access
                .map(|a| AccessSettings {
                    required_scopes: a.required_scopes.unwrap_or_default(),
                    required_roles: a.required_roles.unwrap_or_default(),
                })
                .unwrap_or_default(),
            tokens: TokenPolicySettings {
                scopes: tokens.scopes.map(scope_names).unwrap_or(defaults.scopes),
                allowed_scopes: tokens.allowed_scopes.map(scope_names),
                lifetime_minutes: tokens.lifetime_minutes.unwrap_or(defaults.lifetime_minutes),
                max_lifetime_minutes: tokens
                    .max_lifetime_minutes
                    .unwrap_or(defaults.max_lifetime_minutes),
            },
            acs: self.acs.map(AcsBody::into_settings).transpose()?,
        })
    }
}

fn scope_names(scopes: Vec<AcsScope>) -> Vec<String> {
    scopes.into_iter().map(|s| s.as_str().to_owned()).collect()
}

/// The scopes of a validated policy (every name is an ACS scope; `TenantSettings::validate`).
fn acs_scopes(names: &[String]) -> Vec<AcsScope> {
    names
        .iter()
        .filter_map(|n| AcsScope::ALL.into_iter().find(|s| s.as_str() == n))
        .collect()
}

/// The view of a tenant record (secrets left out).
pub fn tenant_view(record: &TenantRecord) -> Result<TenantView, BodyError> {
    let s = &record.settings;
    let access = AccessBody {
        required_scopes: Some(s.access.required_scopes.clone()),
        required_roles: Some(s.access.required_roles.clone()),
    };
    let tokens = TokensBody {
        scopes: Some(acs_scopes(&s.tokens.scopes)),
        allowed_scopes: Some(acs_scopes(s.tokens.allowed_scopes())),
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
        created_at: record.stored.as_ref().map(|r| r.created_at.into()),
        updated_at: record.stored.as_ref().map(|r| r.updated_at.into()),
    })
}

fn acs_view(a: &AcsSettings) -> AcsBody {
    AcsBody {
        connection_string: None,
        secondary_access_key: None,
        timeout_secs: Some(a.timeout_secs),
        endpoint: a
            .endpoint_url()
            .map(|u| u.as_str().trim_end_matches('/').to_owned()),
        entra: a.entra.as_ref().map(EntraBody::view),
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
        created_at: m.created_at.into(),
        last_used_at: m.last_used_at.into(),
    }
}

pub fn audit_view(e: AuditEvent) -> AuditEventView {
    AuditEventView {
        id: e.id,
        at: e.at.into(),
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
