//! Bearer authentication: the user's access token from the tenant's identity provider. The
//! checks themselves (tenant, rate limits, verification) are the service's [`Gate`].
//!
//! [`Gate`]: crate::service::Gate

use std::sync::Arc;

use acs_auth_providers::VerifiedIdentity;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;

use super::error::ErrorInfo;
use crate::service::Tenant;
use crate::state::AppState;

/// The user's access token from the tenant's identity provider.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT")]
pub struct BearerAuth(pub Bearer);

impl std::fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerAuth([REDACTED])")
    }
}

/// The tenant named in the path, or 404.
pub fn tenant_by_id(state: &AppState, id: &str) -> Result<Arc<Tenant>, ErrorInfo> {
    state.gate.tenant(id).map_err(|e| ErrorInfo::from(&e))
}

/// The tenant of a bare-path request (`/getToken`): from the token's issuer, else the default.
pub fn tenant_for_token(state: &AppState, token: &str) -> Result<Arc<Tenant>, ErrorInfo> {
    state
        .gate
        .tenant_for_token(token)
        .map_err(|e| ErrorInfo::from(&e))
}

/// The tenant's rate limit, the bearer token, then the user's rate limit: what every call of
/// the public API goes through before the service.
pub async fn authorize(
    state: &AppState,
    tenant: &Tenant,
    auth: &BearerAuth,
) -> Result<Arc<VerifiedIdentity>, ErrorInfo> {
    state
        .gate
        .admit(tenant, &auth.0.token)
        .await
        .map_err(|e| ErrorInfo::from(&e))
}
