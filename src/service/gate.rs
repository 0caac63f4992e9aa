//! The way into the user API: find the caller's tenant (by id, or on the seed's bare paths by
//! the token's issuer), hold back floods, and verify the bearer token with the tenant's
//! provider. getToken, deleteUser, getUser and exchangeToken all pass here before their use
//! case runs. A token that verified is not verified again while it is valid (see
//! [`VerifiedTokens`]); the enabled flag and the rate limits are checked on every call.

use std::net::IpAddr;
use std::sync::Arc;

use acs_auth_providers::validate::{DEFAULT_MAX_TOKEN_BYTES, peek_claims_unverified};
use acs_auth_providers::{VerifiedIdentity, VerifyError};

use super::clock::Clock;
use super::verified_tokens::{VerificationStats, VerifiedTokens};
use super::{RateLimited, RateLimits, RefusedTokens, ServiceError};
use crate::config::CacheSettings;
use crate::domain::{Subject, TenantId};
use crate::registry::{Resolution, Tenant, TenantDirectory};

/// Tenant resolution, rate limits and token verification.
#[derive(Clone)]
pub struct Gate {
    tenants: Arc<TenantDirectory>,
    limits: RateLimits,
    verified: VerifiedTokens,
    refused: RefusedTokens,
}

impl Gate {
    /// A gate whose verified-token cache (`cache.verified_tokens`, …) follows the registry's
    /// changes and the shared JWKS cache's keys, and tells time by `clock`.
    pub fn new(
        tenants: Arc<TenantDirectory>,
        limits: RateLimits,
        cache: &CacheSettings,
        clock: Clock,
    ) -> Self {
        let verified = VerifiedTokens::new(cache, Arc::clone(&tenants.factory().jwks), clock);
        let listener = verified.clone();
        tenants.on_change(move |change| listener.tenants_changed(change));
        Self {
            tenants,
            limits,
            verified,
            refused: RefusedTokens::default(),
        }
    }

    /// The refused bearer tokens, by tenant and code.
    pub fn refused_tokens(&self) -> &RefusedTokens {
        &self.refused
    }

    /// How many tokens were verified, and how many calls a kept verdict served.
    pub fn verification_stats(&self) -> VerificationStats {
        self.verified.stats()
    }

    /// The tenant named in the path.
    pub fn tenant(&self, id: &str) -> Result<Arc<Tenant>, ServiceError> {
        let not_found =
            || ServiceError::TenantNotFound(id.chars().take(TenantId::MAX_LEN).collect());
        let id = TenantId::parse(id).map_err(|_| not_found())?;
        self.tenants.get(&id).ok_or_else(not_found)
    }

    /// The tenant of a bare-path request (`/getToken`): the one whose provider accepts the
    /// token's issuer, else the default tenant. The issuer is read WITHOUT verification, only
    /// to choose who verifies the token in full.
    pub fn tenant_for_token(&self, token: &str) -> Result<Arc<Tenant>, ServiceError> {
        match self
            .tenants
            .resolve_by_issuer(unverified_issuer(token).as_deref())
        {
            Resolution::Found(t) => Ok(t),
            Resolution::NoMatch => Err(ServiceError::NoTenantForIssuer),
            Resolution::Ambiguous => Err(ServiceError::TenantAmbiguous),
        }
    }

    /// The enabled flag, the bearer token (a verdict kept from an earlier call with the very
    /// same token, or verified now), then the tenant's and the user's rate limits — which thus
    /// count only verified callers: a flood of bad tokens cannot lock a tenant's users out.
    ///
    /// A token not known to be good is verified only while `client` has budget left for
    /// failed verifications (`limits.failed_auth_per_minute`); each failure is charged to it,
    /// so an attacker exhausts only its own address's budget.
    pub async fn admit(
        &self,
        tenant: &Tenant,
        token: &str,
        client: Option<IpAddr>,
    ) -> Result<Arc<VerifiedIdentity>, ServiceError> {
        if !tenant.enabled {
            return Err(ServiceError::TenantDisabled);
        }
        let limited = |r: RateLimited| ServiceError::RateLimited {
            retry_after: r.retry_after,
        };
        let result = self
            .verified
            .get_or_verify(tenant, token, || async {
                if let Some(ip) = client {
                    self.limits.check_failed_auth(ip).map_err(limited)?;
                }
                verify(tenant, token).await
            })
            .await;
        let who = match result {
            Ok(who) => who,
            Err(e) => {
                if let ServiceError::Token(refusal) = e.root()
                    && !refusal.is_server_side()
                {
                    self.refused.count(&tenant.id, refusal.code());
                    if let Some(ip) = client {
                        self.limits.charge_failed_auth(ip);
                    }
                }
                return Err(e);
            }
        };
        self.limits.check_tenant(&tenant.id).map_err(limited)?;
        self.limits
            .check_subject(&tenant.id, &who.subject)
            .map_err(limited)?;
        Ok(who)
    }
}

/// The provider's verdict, and the subject limits of the store (a verdict kept passed them).
async fn verify(tenant: &Tenant, token: &str) -> Result<VerifiedIdentity, ServiceError> {
    let who = tenant.provider.verify(token).await?;
    // The store keys users by these; longer ones are refused here, not by the database.
    if Subject::parse(&who.subject).is_err() || Subject::parse(&who.issuer_key).is_err() {
        return Err(ServiceError::Token(VerifyError::InvalidClaim(format!(
            "the subject (or issuer) is longer than {} characters",
            Subject::MAX_CHARS
        ))));
    }
    Ok(who)
}

/// The `iss` claim read WITHOUT verification.
fn unverified_issuer(token: &str) -> Option<String> {
    if token.len() > DEFAULT_MAX_TOKEN_BYTES {
        return None;
    }
    let claims = peek_claims_unverified(token).ok()?;
    claims.get("iss")?.as_str().map(str::to_owned)
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
