//! The admin API under `/admin`: onboard, inspect, change and remove tenants; list and erase
//! mappings; read the audit log. Every operation takes [`AdminKey`], whose checker
//! authenticates the operator's key (and audits its use) before the handler runs. Handlers stay
//! thin: parse → service → shape.

use chrono::{DateTime, Utc};
use poem::Request;
use poem::http::StatusCode;
use poem_openapi::auth::ApiKey;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, SecurityScheme, Tags};

use super::admin_dto::{
    AuditPage, CheckItem, CheckReport, MappingPage, MappingView, TenantBody, TenantDeleted,
    TenantPage, TenantView, VerifyTokenReport, VerifyTokenRequest, audit_view, mapping_view,
    tenant_view,
};
use super::error::{ApiError, ErrorInfo, ErrorSet, ProblemCode};
use super::extract::ValidJson;
use super::paging::PageRequest;
use super::tokens::request_id;
use crate::service::tenant_admin::TenantRecord;
use crate::service::{Actor, AdminKeys, AuditFilter, DeleteOutcome, TenantAdmin};

/// The operator's admin API key.
// Its checker compares the key with the configured hashes and audits its use: a handler that
// takes an `AdminKey` runs only for an authenticated operator.
#[derive(SecurityScheme)]
#[oai(
    ty = "api_key",
    key_name = "X-Admin-Key",
    key_in = "header",
    checker = "check_admin_key"
)]
pub struct AdminKey(pub(super) Actor);

impl std::fmt::Debug for AdminKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AdminKey").field(&self.0.name).finish()
    }
}

/// What the admin key checker needs, handed to it as request data.
pub struct AdminGuard {
    pub keys: AdminKeys,
    pub limits: crate::service::RateLimits,
    pub trusted_proxies: crate::domain::TrustedProxies,
}

async fn check_admin_key(req: &Request, key: ApiKey) -> poem::Result<Actor> {
    let guard = req.data::<std::sync::Arc<AdminGuard>>().ok_or_else(|| {
        tracing::error!("the admin key checker has no key set");
        poem::Error::from(ErrorInfo::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ProblemCode::InternalError,
            "Internal error",
        ))
    })?;
    let client = super::auth::client_addr_with(&guard.trusted_proxies, req);
    // The admin API's own limit per client address, before any key is compared.
    if let Some(ip) = client
        && let Err(limited) = guard.limits.check_admin(ip)
    {
        let e = crate::service::ServiceError::RateLimited {
            retry_after: limited.retry_after,
        };
        return Err(poem::Error::from(ErrorInfo::from(&e)));
    }
    let what = format!("{} {}", req.method(), req.uri().path());
    guard
        .keys
        .authenticate(&key.key, &what, request_id(req).map(str::to_owned), client)
        .await
        .map_err(|e| poem::Error::from(ErrorInfo::from(&e)))
}

#[derive(Tags)]
pub(super) enum ApiTags {
    /// Tenant onboarding, mappings and the audit log (admin API key).
    Admin,
}

const BAD_REQUEST: (u16, &str) = (
    400,
    "A parameter is not valid (`invalid_parameter`), or more than one `Authorization` header (`invalid_request`).",
);
const BAD_BODY: (u16, &str) = (
    400,
    "The body is not valid: `errors` names each field and rule (`invalid_tenant`, `invalid_body`).",
);
const NO_KEY: (u16, &str) = (
    401,
    "The admin key is missing or wrong (`admin_key_required`, `admin_key_invalid`).",
);
const DISABLED: (u16, &str) = (403, "No admin key is configured (`admin_disabled`).");
const NOT_FOUND: (u16, &str) = (
    404,
    "No such tenant (`tenant_not_found`) or subject (`subject_not_found`).",
);
const EXISTS: (u16, &str) = (
    409,
    "A tenant with this id exists already (`tenant_exists`).",
);
const FILE_MANAGED: (u16, &str) = (
    409,
    "The tenant is defined in the configuration file (`tenant_managed_by_config`).",
);
const LINK_NOT_FOUND: (u16, &str) = (
    404,
    "No such tenant (`tenant_not_found`) or setup link of it (`setup_link_not_found`).",
);
const LINK_CONFLICT: (u16, &str) = (
    409,
    "The setup link is revoked or activated already (`setup_link_closed`), nothing was submitted (`setup_link_not_submitted`), a new submission arrived meanwhile (`setup_link_changed`), or the tenant is defined in the configuration file (`tenant_managed_by_config`).",
);
const LINK_BAD: (u16, &str) = (
    400,
    "A parameter or the body is not valid (`invalid_parameter`, `invalid_body`, `invalid_tenant`).",
);
const TOO_LARGE: (u16, &str) = (413, "The body is too large (`payload_too_large`).");
const NOT_JSON: (u16, &str) = (415, "The body is not JSON (`unsupported_media_type`).");
const LIMITED: (u16, &str) = (
    429,
    "Too many admin requests from this address (`rate_limited`); see `Retry-After`.",
);
const UNAVAILABLE: (u16, &str) = (
    503,
    "The store is unavailable (`store_unavailable`); see `Retry-After`.",
);

/// Declares an admin operation's error set.
macro_rules! admin_errors {
    ($($(#[$doc:meta])* $name:ident = [$($status:ident),* $(,)?];)*) => {
        $(
            $(#[$doc])*
            pub struct $name;
            impl ErrorSet for $name {
                const STATUSES: &'static [(u16, &'static str)] = &[$($status),*];
            }
        )*
    };
}

admin_errors! {
    /// Listing tenants and the audit log.
    AdminListErrors = [BAD_REQUEST, NO_KEY, DISABLED, LIMITED, UNAVAILABLE];
    /// Reading one tenant or its mappings, checking it, erasing a subject.
    AdminReadErrors = [BAD_REQUEST, NO_KEY, DISABLED, NOT_FOUND, LIMITED, UNAVAILABLE];
    /// Creating a tenant.
    AdminCreateErrors = [BAD_BODY, NO_KEY, DISABLED, EXISTS, TOO_LARGE, NOT_JSON, LIMITED, UNAVAILABLE];
    /// Replacing a tenant.
    AdminUpdateErrors = [BAD_BODY, NO_KEY, DISABLED, NOT_FOUND, FILE_MANAGED, TOO_LARGE, NOT_JSON, LIMITED, UNAVAILABLE];
    /// Dry-running a token.
    AdminVerifyErrors = [BAD_BODY, NO_KEY, DISABLED, NOT_FOUND, TOO_LARGE, NOT_JSON, LIMITED, UNAVAILABLE];
    /// Making a setup link.
    AdminLinkCreateErrors = [LINK_BAD, NO_KEY, DISABLED, FILE_MANAGED, TOO_LARGE, NOT_JSON, LIMITED, UNAVAILABLE];
    /// Reading a setup link.
    AdminLinkReadErrors = [BAD_REQUEST, NO_KEY, DISABLED, LINK_NOT_FOUND, LIMITED, UNAVAILABLE];
    /// Revoking or activating a setup link.
    AdminLinkChangeErrors = [LINK_BAD, NO_KEY, DISABLED, LINK_NOT_FOUND, LINK_CONFLICT, LIMITED, UNAVAILABLE];
    /// Enabling, disabling or deleting a tenant.
    AdminChangeErrors = [BAD_REQUEST, NO_KEY, DISABLED, NOT_FOUND, FILE_MANAGED, LIMITED, UNAVAILABLE];
}

pub(super) type AdminResult<T, S = AdminReadErrors> = Result<T, ApiError<S>>;

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
pub enum VerifyTokenOk {
    /// Each check's verdict (also when the token would be refused).
    #[oai(status = 200)]
    Ok(Json<VerifyTokenReport>),
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
    pub admin: TenantAdmin,
}

pub(super) fn view(record: &TenantRecord) -> Result<TenantView, ErrorInfo> {
    tenant_view(record).map_err(|e| {
        tracing::error!(key = %e.key, message = %e.message, "a stored tenant cannot be shown");
        ErrorInfo::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ProblemCode::InternalError,
            "Internal error",
        )
    })
}

#[OpenApi(prefix_path = "/admin", tag = "ApiTags::Admin")]
impl AdminApi {
    /// List tenants (configuration file and database), in id order
    #[oai(path = "/tenants", method = "get", operation_id = "adminListTenants")]
    async fn list_tenants(
        &self,
        _key: AdminKey,
        /// Page size, 1–500 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> AdminResult<TenantPageOk, AdminListErrors> {
        let page = PageRequest::<String>::parse(limit.0, cursor.0)?;
        let records = self
            .admin
            .list(page.cursor.as_deref(), page.fetch_limit())
            .await?;
        let views = records.iter().map(view).collect::<Result<Vec<_>, _>>()?;
        let (items, next_cursor) = page.split(views, |t| t.id.clone());
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
        key: AdminKey,
        body: ValidJson<TenantBody>,
    ) -> AdminResult<TenantCreated, AdminCreateErrors> {
        let id = body.0.id.clone().ok_or_else(|| {
            ErrorInfo::new(
                StatusCode::BAD_REQUEST,
                ProblemCode::InvalidTenant,
                "The tenant is not valid",
            )
            .detail("`id`: is required")
            .errors(vec![super::error::FieldError {
                field: "id".into(),
                message: "is required".into(),
            }])
        })?;
        let settings = body.0.into_settings(&id).map_err(body_error)?;
        let record = self.admin.create(settings, &key.0).await?;
        Ok(TenantCreated::Created(Json(view(&record)?)))
    }

    /// Get a tenant
    #[oai(path = "/tenants/:id", method = "get", operation_id = "adminGetTenant")]
    async fn get_tenant(&self, _key: AdminKey, id: Path<String>) -> AdminResult<TenantOk> {
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
        key: AdminKey,
        id: Path<String>,
        body: ValidJson<TenantBody>,
    ) -> AdminResult<TenantOk, AdminUpdateErrors> {
        let settings = body.0.into_settings(&id.0).map_err(body_error)?;
        let record = self.admin.update(settings, &key.0).await?;
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
        key: AdminKey,
        id: Path<String>,
    ) -> AdminResult<TenantOk, AdminChangeErrors> {
        let record = self.admin.set_enabled(&id.0, true, &key.0).await?;
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
        key: AdminKey,
        id: Path<String>,
    ) -> AdminResult<TenantOk, AdminChangeErrors> {
        let record = self.admin.set_enabled(&id.0, false, &key.0).await?;
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
        key: AdminKey,
        id: Path<String>,
    ) -> AdminResult<TenantDeletedOk, AdminChangeErrors> {
        let deletion = self.admin.delete(&id.0, &key.0).await?;
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
    async fn check_tenant(&self, _key: AdminKey, id: Path<String>) -> AdminResult<CheckOk> {
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

    /// Dry-run a user's token against a tenant
    ///
    /// Every check the tenant's provider and access policy run — format, header (algorithm),
    /// payload, discovery, key, signature, times, issuer, audience, the provider's own rules
    /// (Entra ID version and directory, B2C policy), token kind, subject, tenant state, required
    /// scopes and roles — in order, each with its verdict; the checks after a refusal are listed
    /// as not run. Nothing is issued or stored, the token is never logged; the audit log records
    /// the dry-run and its verdict.
    #[oai(
        path = "/tenants/:id/verifyToken",
        method = "post",
        operation_id = "adminVerifyToken"
    )]
    async fn verify_token(
        &self,
        key: AdminKey,
        id: Path<String>,
        body: ValidJson<VerifyTokenRequest>,
    ) -> AdminResult<VerifyTokenOk, AdminVerifyErrors> {
        let report = self
            .admin
            .verify_token(&id.0, body.0.token.trim(), &key.0)
            .await?;
        Ok(VerifyTokenOk::Ok(Json(
            super::admin_dto::verify_token_report(report),
        )))
    }

    /// List a tenant's mappings, in creation order
    #[oai(
        path = "/tenants/:id/mappings",
        method = "get",
        operation_id = "adminListMappings"
    )]
    async fn list_mappings(
        &self,
        _key: AdminKey,
        id: Path<String>,
        /// Page size, 1–500 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> AdminResult<MappingPageOk> {
        let page = PageRequest::<i64>::parse(limit.0, cursor.0)?;
        let mappings = self
            .admin
            .mappings(&id.0, page.cursor, page.fetch_limit() as u64)
            .await?;
        let (items, next_cursor) = page.split(mappings, |m| m.id.to_string());
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
        _key: AdminKey,
        id: Path<String>,
        /// The subject (URL-encoded).
        subject: Path<String>,
    ) -> AdminResult<SubjectMappingsOk> {
        let mappings = self.admin.mappings_of_subject(&id.0, &subject.0).await?;
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
        key: AdminKey,
        id: Path<String>,
        /// The subject (URL-encoded).
        subject: Path<String>,
    ) -> AdminResult<ErasureOk> {
        match self.admin.erase_subject(&id.0, &subject.0, &key.0).await? {
            DeleteOutcome::Deleted => Ok(ErasureOk::Deleted),
            DeleteOutcome::Queued => Ok(ErasureOk::Accepted),
        }
    }

    /// List audit events, newest first
    #[oai(path = "/audit", method = "get", operation_id = "adminListAudit")]
    async fn list_audit(
        &self,
        _key: AdminKey,
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
    ) -> AdminResult<AuditPageOk, AdminListErrors> {
        let page = PageRequest::<i64>::parse(limit.0, cursor.0)?;
        let filter = AuditFilter {
            tenant_id: tenant.0,
            since: since.0,
            until: until.0,
            before_id: page.cursor,
        };
        let events = self.admin.audit(&filter, page.fetch_limit() as u64).await?;
        let (items, next_cursor) = page.split(events, |e| e.id.to_string());
        Ok(AuditPageOk::Ok(Json(AuditPage {
            items: items.into_iter().map(audit_view).collect(),
            next_cursor,
        })))
    }
}

fn body_error(e: super::admin_dto::BodyError) -> ErrorInfo {
    ErrorInfo::new(
        StatusCode::BAD_REQUEST,
        ProblemCode::InvalidTenant,
        "The tenant is not valid",
    )
    .detail(format!("`{}`: {}", e.key, e.message))
    .errors(vec![super::error::FieldError {
        field: e.key,
        message: e.message,
    }])
}
