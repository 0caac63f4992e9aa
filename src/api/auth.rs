//! Bearer authentication: the user's access token from the tenant's identity provider. The
//! checks themselves (tenant, rate limits, verification) are the service's [`Gate`].
//!
//! [`Gate`]: crate::service::Gate

use std::sync::Arc;

use acs_auth_providers::VerifiedIdentity;
use poem::Request;
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

/// The bearer token (refused without verifying when the caller's address spent its budget of
/// failed verifications), then the tenant's and the user's rate limits: what every call of the
/// public API goes through before the service.
pub async fn authorize(
    state: &AppState,
    req: &Request,
    tenant: &Tenant,
    auth: &BearerAuth,
) -> Result<Arc<VerifiedIdentity>, ErrorInfo> {
    state
        .gate
        .admit(tenant, &auth.0.token, client_addr(state, req))
        .await
        .map_err(|e| ErrorInfo::from(&e))
}

/// The caller's address: the peer's, or from `X-Forwarded-For` when the peer is one of
/// `server.trusted_proxies`. `None` when the connection has no IP address.
pub fn client_addr(state: &AppState, req: &Request) -> Option<std::net::IpAddr> {
    client_addr_with(&state.trusted_proxies, req)
}

/// [`client_addr`] with the proxies given.
pub fn client_addr_with(
    trusted: &crate::domain::TrustedProxies,
    req: &Request,
) -> Option<std::net::IpAddr> {
    let peer = req.remote_addr().as_socket_addr()?.ip();
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok());
    Some(trusted.client_addr(peer, forwarded))
}
