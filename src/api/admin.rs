//! The admin API under `/admin`: onboard, inspect, change and remove tenants; list and erase
//! mappings; read the audit log. Authenticated by an admin API key in `X-Admin-Key`, compared
//! as a SHA-256 hash in constant time. Handlers stay thin: authenticate → parse → service.

use chrono::{DateTime, Utc};
use poem::Request;
use poem::http::StatusCode;
use poem_openapi::auth::ApiKey;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, SecurityScheme, Tags};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::admin_dto::{
    AuditPage, CheckItem, CheckReport, MappingPage, MappingView, TenantBody, TenantDeleted,
    TenantPage, TenantView, audit_view, mapping_view, tenant_view,
};
use super::problem::{ApiError, ErrorInfo, ErrorSet};
use super::tokens::request_id;
use crate::service::audit::actions;
use crate::service::tenant_admin::TenantRecord;
use crate::service::{Actor, AdminError, DeleteOutcome, ServiceError, TenantAdmin};
use crate::state::AppState;
use crate::store::admin::{AuditFilter, NewAuditEvent};

/// The operator's admin API key.
#[derive(SecurityScheme)]
#[oai(ty = "api_key", key_name = "X-Admin-Key", key_in = "header")]
pub struct AdminKey(ApiKey);

impl std::fmt::Debug for AdminKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminKey([REDACTED])")
    }
}

#[derive(Tags)]
enum ApiTags {
    /// Tenant onboarding, mappings and the audit log (admin API key).
    Admin,
}

pub struct AdminErrors;
impl ErrorSet for AdminErrors {
    const STATUSES: &'static [(u16, &'static str)] = &[
        (
            400,
            "The body or a parameter is not valid; `detail` names the field (`invalid_tenant`, `invalid_body`, `invalid_parameter`).",
        ),
        (
            401,
            "The admin key is missing or wrong (`admin_key_required`, `admin_key_invalid`).",
        ),
        (403, "No admin key is configured (`admin_disabled`)."),
        (404, "No such tenant or subject."),
        (
            409,
            "The tenant exists already, or is defined in the configuration file (`tenant_exists`, `tenant_managed_by_config`).",
        ),
        (413, "The body is too large."),
        (415, "The body is not JSON."),
        (503, "The store is unavailable; see `Retry-After`."),
    ];
}

type AdminResult<T> = Result<T, ApiError<AdminErrors>>;

#[derive(ApiResponse)]
pub enum TenantCreated {
    /// The tenant is stored and served.
    #[oai(status = 201)]
    Created(Json<TenantView>),
}

#[derive(ApiResponse)]
pub enum TenantOk {
    #[oai(status = 200)]
    Ok(Json<TenantView>),
}

#[derive(ApiResponse)]
pub enum TenantPageOk {
    #[oai(status = 200)]
    Ok(Json<TenantPage>),
}

#[derive(ApiResponse)]
pub enum TenantDeletedOk {
    /// The tenant and its mappings are gone; its ACS identities are deleted or queued.
    #[oai(status = 200)]
    Ok(Json<TenantDeleted>),
}

#[derive(ApiResponse)]
pub enum CheckOk {
    /// Each check's outcome (also when some failed).
    #[oai(status = 200)]
    Ok(Json<CheckReport>),
}

#[derive(ApiResponse)]
pub enum MappingPageOk {
    #[oai(status = 200)]
    Ok(Json<MappingPage>),
}

#[derive(ApiResponse)]
pub enum SubjectMappingsOk {
    /// The subject's mappings (one per issuer key it signed in with).
    #[oai(status = 200)]
    Ok(Json<Vec<MappingView>>),
}

#[derive(ApiResponse)]
pub enum ErasureOk {
    /// Every mapping of the subject and its ACS identity are deleted.
    #[oai(status = 204)]
    Deleted,
    /// The mappings are deleted; some ACS deletions are queued and retried until done.
    #[oai(status = 202)]
    Accepted,
}

#[derive(ApiResponse)]
pub enum AuditPageOk {
    #[oai(status = 200)]
    Ok(Json<AuditPage>),
}

pub struct AdminApi {
    pub state: AppState,
    pub admin: TenantAdmin,
}

const MAX_PAGE: u32 = 500;

fn page_size(limit: Option<u32>) -> Result<u32, ErrorInfo> {
    match limit {
        None => Ok(100),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(ErrorInfo::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            "A parameter is not valid",
        )
        .detail(format!("`limit` must be between 1 and {MAX_PAGE}"))),
    }
}

fn bad_cursor() -> ErrorInfo {
    ErrorInfo::new(
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
        "A parameter is not valid",
    )
    .detail("`cursor` is not one this API handed out")
}

impl From<AdminError> for ErrorInfo {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid { key, message } => ErrorInfo::new(
                StatusCode::BAD_REQUEST,
                "invalid_tenant",
                "The tenant is not valid",
            )
            .detail(format!("`{key}`: {message}")),
            AdminError::NotFound(id) => {
                ErrorInfo::new(StatusCode::NOT_FOUND, "tenant_not_found", "No such tenant")
                    .detail(format!("No tenant has the id `{id}`."))
            }
            AdminError::Exists(id) => ErrorInfo::new(
                StatusCode::CONFLICT,
                "tenant_exists",
                "The tenant exists already",
            )
            .detail(format!(
                "A tenant with the id `{id}` exists; use PUT to change it."
            )),
            AdminError::ManagedByConfig(id) => ErrorInfo::new(
                StatusCode::CONFLICT,
                "tenant_managed_by_config",
                "The tenant is defined in the configuration file",
            )
            .detail(format!(
                "Tenant `{id}` comes from the configuration file; change it there."
            )),
            AdminError::Store(e) => ErrorInfo::from(&ServiceError::Store(e)),
            AdminError::Service(e) => ErrorInfo::from(&e),
        }
    }
}

impl<S: ErrorSet> From<AdminError> for ApiError<S> {
    fn from(e: AdminError) -> Self {
        ErrorInfo::from(e).into()
    }
}

fn view(record: &TenantRecord) -> Result<TenantView, ErrorInfo> {
    tenant_view(record).map_err(|e| {
        tracing::error!(key = %e.key, message = %e.message, "a stored tenant cannot be shown");
        ErrorInfo::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal error",
        )
    })
}

impl AdminApi {
    /// Checks the admin key (constant time against every configured hash) and audits its use.
    async fn authorize(&self, key: &AdminKey, req: &Request) -> Result<Actor, ErrorInfo> {
        let hashes = &self.state.admin_key_hashes;
        let request_id = request_id(req).map(str::to_owned);
        if hashes.is_empty() {
            return Err(ErrorInfo::new(
                StatusCode::FORBIDDEN,
                "admin_disabled",
                "The admin API is disabled",
            )
            .detail("No admin key is configured (`admin.key_hashes`)."));
        }
        let presented: [u8; 32] = Sha256::digest(key.0.key.as_bytes()).into();
        let mut matched: Option<&[u8; 32]> = None;
        for h in hashes.iter() {
            if bool::from(h.ct_eq(&presented)) {
                matched = Some(h);
            }
        }
        let what = format!("{} {}", req.method(), req.uri().path());
        let Some(hash) = matched else {
            self.state
                .audit
                .record(NewAuditEvent {
                    actor: "anonymous".into(),
                    action: actions::ADMIN_KEY_REFUSED.into(),
                    detail: Some(serde_json::json!({ "request": what }).to_string()),
                    request_id,
                    ..Default::default()
                })
                .await;
            return Err(ErrorInfo::new(
                StatusCode::UNAUTHORIZED,
                "admin_key_invalid",
                "The admin key is not valid",
            )
            .challenge("ApiKey header=\"X-Admin-Key\""));
        };
        let key_id: String = hash.iter().take(6).map(|b| format!("{b:02x}")).collect();
        let actor = Actor {
            name: format!("admin:{key_id}"),
            request_id: request_id.clone(),
        };
        self.state
            .audit
            .record(NewAuditEvent {
                actor: actor.name.clone(),
                action: actions::ADMIN_KEY_USED.into(),
                detail: Some(serde_json::json!({ "request": what }).to_string()),
                request_id,
                ..Default::default()
            })
            .await;
        Ok(actor)
    }
}

#[OpenApi(prefix_path = "/admin", tag = "ApiTags::Admin")]
impl AdminApi {
    /// List tenants (configuration file and database), in id order
    #[oai(path = "/tenants", method = "get", operation_id = "adminListTenants")]
    async fn list_tenants(
        &self,
        req: &Request,
        key: AdminKey,
        /// Page size, 1–500 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> AdminResult<TenantPageOk> {
        self.authorize(&key, req).await?;
        let limit = page_size(limit.0)? as usize;
        let records = self.admin.list(cursor.0.as_deref(), limit + 1).await?;
        let more = records.len() > limit;
        let items = records
            .iter()
            .take(limit)
            .map(view)
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if more {
            items.last().map(|t| t.id.clone())
        } else {
            None
        };
        Ok(TenantPageOk::Ok(Json(TenantPage { items, next_cursor })))
    }

    /// Onboard a tenant
    ///
    /// The body has the shape of a `[[tenants]]` table of the configuration file. It is
    /// validated (the provider and ACS resource are built), stored, and served at once by this
    /// replica and within `registry.reload_interval_secs` by the others.
    #[oai(path = "/tenants", method = "post", operation_id = "adminCreateTenant")]
    async fn create_tenant(
        &self,
        req: &Request,
        key: AdminKey,
        body: Json<TenantBody>,
    ) -> AdminResult<TenantCreated> {
        let actor = self.authorize(&key, req).await?;
        let id = body.0.id.clone().ok_or_else(|| {
            ErrorInfo::new(
                StatusCode::BAD_REQUEST,
                "invalid_tenant",
                "The tenant is not valid",
            )
            .detail("`id`: is required")
        })?;
        let settings = body.0.into_settings(&id).map_err(body_error)?;
        let record = self.admin.create(settings, &actor).await?;
        Ok(TenantCreated::Created(Json(view(&record)?)))
    }

    /// Get a tenant
    #[oai(path = "/tenants/:id", method = "get", operation_id = "adminGetTenant")]
    async fn get_tenant(
        &self,
        req: &Request,
        key: AdminKey,
        id: Path<String>,
    ) -> AdminResult<TenantOk> {
        self.authorize(&key, req).await?;
        let record = self.admin.get(&id.0).await?;
        Ok(TenantOk::Ok(Json(view(&record)?)))
    }

    /// Replace a tenant's settings
    #[oai(
        path = "/tenants/:id",
        method = "put",
        operation_id = "adminUpdateTenant"
    )]
    async fn update_tenant(
        &self,
        req: &Request,
        key: AdminKey,
        id: Path<String>,
        body: Json<TenantBody>,
    ) -> AdminResult<TenantOk> {
        let actor = self.authorize(&key, req).await?;
        let settings = body.0.into_settings(&id.0).map_err(body_error)?;
        let record = self.admin.update(settings, &actor).await?;
        Ok(TenantOk::Ok(Json(view(&record)?)))
    }

    /// Enable a tenant
    #[oai(
        path = "/tenants/:id/enable",
        method = "post",
        operation_id = "adminEnableTenant"
    )]
    async fn enable_tenant(
        &self,
        req: &Request,
        key: AdminKey,
        id: Path<String>,
    ) -> AdminResult<TenantOk> {
        let actor = self.authorize(&key, req).await?;
        let record = self.admin.set_enabled(&id.0, true, &actor).await?;
        Ok(TenantOk::Ok(Json(view(&record)?)))
    }

    /// Disable a tenant (its users get `403 tenant_disabled`; nothing is deleted)
    #[oai(
        path = "/tenants/:id/disable",
        method = "post",
        operation_id = "adminDisableTenant"
    )]
    async fn disable_tenant(
        &self,
        req: &Request,
        key: AdminKey,
        id: Path<String>,
    ) -> AdminResult<TenantOk> {
        let actor = self.authorize(&key, req).await?;
        let record = self.admin.set_enabled(&id.0, false, &actor).await?;
        Ok(TenantOk::Ok(Json(view(&record)?)))
    }

    /// Delete a tenant, its mappings and their ACS identities
    #[oai(
        path = "/tenants/:id",
        method = "delete",
        operation_id = "adminDeleteTenant"
    )]
    async fn delete_tenant(
        &self,
        req: &Request,
        key: AdminKey,
        id: Path<String>,
    ) -> AdminResult<TenantDeletedOk> {
        let actor = self.authorize(&key, req).await?;
        let deletion = self.admin.delete(&id.0, &actor).await?;
        Ok(TenantDeletedOk::Ok(Json(TenantDeleted {
            identities: deletion.identities as u64,
            confirmed: deletion.confirmed as u64,
        })))
    }

    /// Check a tenant's identity provider: discovery reachable, issuer matches, keys usable
    #[oai(
        path = "/tenants/:id/check",
        method = "post",
        operation_id = "adminCheckTenant"
    )]
    async fn check_tenant(
        &self,
        req: &Request,
        key: AdminKey,
        id: Path<String>,
    ) -> AdminResult<CheckOk> {
        self.authorize(&key, req).await?;
        let checks = self.admin.check(&id.0).await?;
        let ok = !checks.is_empty() && checks.iter().all(|c| c.ok);
        Ok(CheckOk::Ok(Json(CheckReport {
            ok,
            checks: checks
                .into_iter()
                .map(|c| CheckItem {
                    name: c.name.into(),
                    ok: c.ok,
                    detail: c.detail,
                })
                .collect(),
        })))
    }

    /// List a tenant's mappings, in creation order
    #[oai(
        path = "/tenants/:id/mappings",
        method = "get",
        operation_id = "adminListMappings"
    )]
    async fn list_mappings(
        &self,
        req: &Request,
        key: AdminKey,
        id: Path<String>,
        /// Page size, 1–500 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> AdminResult<MappingPageOk> {
        self.authorize(&key, req).await?;
        let limit = page_size(limit.0)?;
        let after = match cursor.0 {
            Some(c) => Some(c.parse::<i64>().map_err(|_| bad_cursor())?),
            None => None,
        };
        let mut items = self
            .admin
            .mappings(&id.0, after, u64::from(limit) + 1)
            .await?;
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next_cursor = if more {
            items.last().map(|m| m.id.to_string())
        } else {
            None
        };
        Ok(MappingPageOk::Ok(Json(MappingPage {
            items: items.into_iter().map(mapping_view).collect(),
            next_cursor,
        })))
    }

    /// Look up a subject's mappings
    #[oai(
        path = "/tenants/:id/mappings/:subject",
        method = "get",
        operation_id = "adminGetSubjectMappings"
    )]
    async fn subject_mappings(
        &self,
        req: &Request,
        key: AdminKey,
        id: Path<String>,
        /// The subject (URL-encoded).
        subject: Path<String>,
    ) -> AdminResult<SubjectMappingsOk> {
        self.authorize(&key, req).await?;
        let mappings = self.admin.mappings_of_subject(&id.0, &subject.0).await?;
        if mappings.is_empty() {
            return Err(subject_not_found().into());
        }
        Ok(SubjectMappingsOk::Ok(Json(
            mappings.into_iter().map(mapping_view).collect(),
        )))
    }

    /// Erase a subject: delete its mappings and ACS identities (as deleteUser does)
    #[oai(
        path = "/tenants/:id/mappings/:subject",
        method = "delete",
        operation_id = "adminEraseSubject"
    )]
    async fn erase_subject(
        &self,
        req: &Request,
        key: AdminKey,
        id: Path<String>,
        /// The subject (URL-encoded).
        subject: Path<String>,
    ) -> AdminResult<ErasureOk> {
        let actor = self.authorize(&key, req).await?;
        match self.admin.erase_subject(&id.0, &subject.0, &actor).await? {
            None => Err(subject_not_found().into()),
            Some(DeleteOutcome::Deleted) => Ok(ErasureOk::Deleted),
            Some(DeleteOutcome::Queued) => Ok(ErasureOk::Accepted),
        }
    }

    /// List audit events, newest first
    #[oai(path = "/audit", method = "get", operation_id = "adminListAudit")]
    #[allow(clippy::too_many_arguments)]
    async fn list_audit(
        &self,
        req: &Request,
        key: AdminKey,
        /// Only this tenant's events.
        tenant: Query<Option<String>>,
        /// Only events at or after this time (RFC 3339).
        since: Query<Option<DateTime<Utc>>>,
        /// Only events before this time (RFC 3339).
        until: Query<Option<DateTime<Utc>>>,
        /// Page size, 1–500 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> AdminResult<AuditPageOk> {
        self.authorize(&key, req).await?;
        let limit = page_size(limit.0)?;
        let before_id = match cursor.0 {
            Some(c) => Some(c.parse::<i64>().map_err(|_| bad_cursor())?),
            None => None,
        };
        let filter = AuditFilter {
            tenant_id: tenant.0,
            since: since.0,
            until: until.0,
            before_id,
        };
        let mut events = self.admin.audit(&filter, u64::from(limit) + 1).await?;
        let more = events.len() > limit as usize;
        events.truncate(limit as usize);
        let next_cursor = if more {
            events.last().map(|e| e.id.to_string())
        } else {
            None
        };
        Ok(AuditPageOk::Ok(Json(AuditPage {
            items: events.into_iter().map(audit_view).collect(),
            next_cursor,
        })))
    }
}

fn subject_not_found() -> ErrorInfo {
    ErrorInfo::new(
        StatusCode::NOT_FOUND,
        "subject_not_found",
        "The subject has no mapping in this tenant",
    )
}

fn body_error(e: super::admin_dto::BodyError) -> ErrorInfo {
    ErrorInfo::new(
        StatusCode::BAD_REQUEST,
        "invalid_tenant",
        "The tenant is not valid",
    )
    .detail(format!("`{}`: {}", e.key, e.message))
}
