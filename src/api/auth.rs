//! Bearer authentication against the tenant's identity provider.

use std::sync::Arc;

use acs_auth_providers::VerifiedIdentity;
use poem::http::StatusCode;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;

use super::problem::ErrorInfo;
use crate::state::AppState;
use crate::tenants::{Resolution, Tenant};

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
    state.tenants.get(id).ok_or_else(|| {
        ErrorInfo::new(StatusCode::NOT_FOUND, "tenant_not_found", "No such tenant")
            .detail(format!("No tenant has the id `{}`.", truncate(id, 64)))
    })
}

/// The tenant of a bare-path request (`/getToken`): from the token's issuer, else the default.
pub fn tenant_for_token(state: &AppState, token: &str) -> Result<Arc<Tenant>, ErrorInfo> {
    let issuer = unverified_issuer(token);
    match state.tenants.resolve_by_issuer(issuer.as_deref()) {
        Resolution::Found(t) => Ok(t),
        Resolution::NoMatch => Err(ErrorInfo::new(
            StatusCode::UNAUTHORIZED,
            "token_invalid_issuer",
            "The bearer token is not valid",
        )
        .detail("No tenant trusts the token's issuer; use /tenants/{tenant}/… to name the tenant.")
        .bearer("invalid_token")),
        Resolution::Ambiguous => Err(ErrorInfo::new(
            StatusCode::BAD_REQUEST,
            "tenant_ambiguous",
            "The tenant cannot be told from the token",
        )
        .detail(
            "Several tenants trust the token's issuer; use /tenants/{tenant}/… to name the tenant.",
        )),
    }
}

/// The tenant's rate limit, the bearer token, then the user's rate limit: what every call of
/// the public API goes through before the service.
pub async fn authorize(
    state: &AppState,
    tenant: &Tenant,
    auth: &BearerAuth,
) -> Result<VerifiedIdentity, ErrorInfo> {
    state
        .limits
        .check_tenant(&tenant.id)
        .map_err(rate_limited)?;
    let who = authenticate(tenant, auth).await?;
    state
        .limits
        .check_subject(&tenant.id, &who.subject)
        .map_err(rate_limited)?;
    Ok(who)
}

fn rate_limited(r: crate::service::RateLimited) -> ErrorInfo {
    let secs = r.retry_after.as_secs_f64().ceil().max(1.0) as u64;
    ErrorInfo::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "Too many requests",
    )
    .detail(format!("Slow down; try again in {secs} s."))
    .retry_after(secs)
}

/// Verifies the bearer token with the tenant's provider.
pub async fn authenticate(
    tenant: &Tenant,
    auth: &BearerAuth,
) -> Result<VerifiedIdentity, ErrorInfo> {
    if !tenant.enabled {
        return Err(ErrorInfo::new(
            StatusCode::FORBIDDEN,
            "tenant_disabled",
            "The tenant is disabled",
        ));
    }
    let who = tenant
        .provider
        .verify(&auth.0.token)
        .await
        .map_err(|e| ErrorInfo::from(&e))?;
    // The store keys users by these; longer ones are refused here, not by the database.
    if who.subject.chars().count() > 255 || who.issuer_key.chars().count() > 255 {
        return Err(ErrorInfo::new(
            StatusCode::UNAUTHORIZED,
            "token_invalid_claim",
            "The bearer token is not valid",
        )
        .detail("claim invalid: the subject (or issuer) is longer than 255 characters")
        .bearer("invalid_token"));
    }
    Ok(who)
}

/// The `iss` claim read WITHOUT verification — only to route a bare-path request to the tenant
/// whose provider then verifies the token in full.
fn unverified_issuer(token: &str) -> Option<String> {
    use acs_auth_providers::validate::{DEFAULT_MAX_TOKEN_BYTES, peek_claims_unverified};
    if token.len() > DEFAULT_MAX_TOKEN_BYTES {
        return None;
    }
    let claims = peek_claims_unverified(token).ok()?;
    claims.get("iss")?.as_str().map(str::to_owned)
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::unverified_issuer;

    #[test]
    fn reads_iss_without_verifying() {
        // {"alg":"none"}.{"iss":"https://idp.example"}.
        let token = "eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlIn0.";
        assert_eq!(
            unverified_issuer(token).as_deref(),
            Some("https://idp.example")
        );
        assert_eq!(unverified_issuer("garbage"), None);
        assert_eq!(unverified_issuer("a.!!!.c"), None);
    }
}
