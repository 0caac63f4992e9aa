//! The tenant registry: each tenant's identity provider, access policy and token policy,
//! built from settings and looked up per request.

use std::collections::HashMap;
use std::sync::Arc;

use acs_auth_providers::{IdentityProvider, JwksCache, OidcConfig, OidcProvider, VerifyError};

use crate::config::{
    AccessSettings, ProviderSettings, Settings, TenantSettings, TokenPolicySettings,
};

#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    #[error("tenant `{tenant}`: {source}")]
    Provider {
        tenant: String,
        #[source]
        source: VerifyError,
    },
}

/// One customer of the operator, with the identity provider it brought.
pub struct Tenant {
    pub id: String,
    pub display_name: String,
    pub enabled: bool,
    pub provider: Arc<dyn IdentityProvider>,
    pub provider_kind: &'static str,
    /// The API app's client id, sent as `appId` in Teams token exchanges (Entra ID tenants).
    pub teams_app_id: Option<String>,
    pub access: AccessSettings,
    pub tokens: TokenPolicySettings,
}

impl std::fmt::Debug for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant")
            .field("id", &self.id)
            .field("enabled", &self.enabled)
            .field("provider_kind", &self.provider_kind)
            .finish_non_exhaustive()
    }
}

/// How a request on a bare path (`/getToken`) found its tenant.
#[derive(Debug)]
pub enum Resolution {
    Found(Arc<Tenant>),
    /// No tenant trusts the token's issuer and there is no default tenant.
    NoMatch,
    /// Several tenants trust the issuer and there is no default tenant to break the tie.
    Ambiguous,
}

#[derive(Debug, Default)]
pub struct TenantRegistry {
    tenants: HashMap<String, Arc<Tenant>>,
    default_tenant: Option<String>,
}

impl TenantRegistry {
    pub fn from_settings(
        settings: &Settings,
        http: &reqwest::Client,
        jwks: &Arc<JwksCache>,
    ) -> Result<Self, TenantError> {
        let mut tenants = HashMap::new();
        for t in &settings.tenants {
            let tenant = build_tenant(t, settings, http, jwks)?;
            tenants.insert(tenant.id.clone(), Arc::new(tenant));
        }
        Ok(Self {
            tenants,
            default_tenant: settings.default_tenant.clone(),
        })
    }

    pub fn get(&self, id: &str) -> Option<Arc<Tenant>> {
        self.tenants.get(id).cloned()
    }

    pub fn len(&self) -> usize {
        self.tenants.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tenants.is_empty()
    }

    pub fn all(&self) -> Vec<Arc<Tenant>> {
        let mut v: Vec<_> = self.tenants.values().cloned().collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// Picks the tenant for a bare-path request from the (not yet verified) issuer: the one
    /// tenant whose provider accepts it, else the default tenant. The chosen tenant's provider
    /// still verifies the token in full, so a forged `iss` only chooses who refuses it.
    pub fn resolve_by_issuer(&self, issuer: Option<&str>) -> Resolution {
        let matches: Vec<&Arc<Tenant>> = match issuer {
            Some(iss) => self
                .tenants
                .values()
                .filter(|t| t.provider.accepts_issuer(iss))
                .collect(),
            None => Vec::new(),
        };
        match matches.as_slice() {
            [one] => Resolution::Found(Arc::clone(one)),
            many => {
                if let Some(default) = self.default_tenant.as_deref().and_then(|d| self.get(d)) {
                    Resolution::Found(default)
                } else if many.is_empty() {
                    Resolution::NoMatch
                } else {
                    Resolution::Ambiguous
                }
            }
        }
    }
}

fn build_tenant(
    t: &TenantSettings,
    settings: &Settings,
    http: &reqwest::Client,
    jwks: &Arc<JwksCache>,
) -> Result<Tenant, TenantError> {
    let teams_app_id = None;
    let (provider, kind): (Arc<dyn IdentityProvider>, &'static str) = match &t.provider {
        ProviderSettings::Oidc(p) => {
            let config = OidcConfig {
                issuer: p.issuer.clone(),
                audiences: p.audiences.clone(),
                subject_claim: p.subject_claim.clone(),
                allow_http: p.allow_http,
                leeway_secs: settings.jwks.leeway_secs,
                max_token_bytes: settings.jwks.max_token_bytes,
            };
            let provider =
                OidcProvider::new(config, http.clone(), Arc::clone(jwks)).map_err(|source| {
                    TenantError::Provider {
                        tenant: t.id.clone(),
                        source,
                    }
                })?;
            (Arc::new(provider), "oidc")
        }
    };
    Ok(Tenant {
        id: t.id.clone(),
        display_name: t.display_name.clone().unwrap_or_else(|| t.id.clone()),
        enabled: t.enabled,
        provider,
        provider_kind: kind,
        teams_app_id,
        access: t.access.clone(),
        tokens: t.tokens.clone(),
    })
}

/// One line of `acs-auth tenants check`.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

impl Check {
    fn new(name: &'static str, result: Result<String, String>) -> Self {
        match result {
            Ok(detail) => Self {
                name,
                ok: true,
                detail,
            },
            Err(detail) => Self {
                name,
                ok: false,
                detail,
            },
        }
    }
}

/// Fetches the tenant's discovery document and keys and reports each step, issuing nothing.
pub async fn check(http: &reqwest::Client, t: &TenantSettings) -> Vec<Check> {
    let mut out = Vec::new();
    match &t.provider {
        ProviderSettings::Oidc(p) => {
            let url = format!(
                "{}/.well-known/openid-configuration",
                p.issuer.trim_end_matches('/')
            );
            let doc = fetch_json(http, &url).await;
            out.push(Check::new(
                "discovery reachable",
                doc.as_ref().map(|_| url.clone()).map_err(Clone::clone),
            ));
            let Ok(doc) = doc else { return out };
            let issuer = doc
                .get("issuer")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            out.push(Check::new(
                "issuer matches",
                if issuer == p.issuer {
                    Ok(issuer.to_owned())
                } else {
                    Err(format!(
                        "document says `{issuer}`, configured `{}`",
                        p.issuer
                    ))
                },
            ));
            let Some(jwks_uri) = doc.get("jwks_uri").and_then(|v| v.as_str()) else {
                out.push(Check::new(
                    "keys usable",
                    Err("no jwks_uri in the discovery document".into()),
                ));
                return out;
            };
            let keys = fetch_json(http, jwks_uri).await.and_then(|jwks| {
                let usable = jwks
                    .get("keys")
                    .and_then(|k| k.as_array())
                    .map(|keys| {
                        keys.iter()
                            .filter(|k| {
                                matches!(
                                    k.get("kty").and_then(|v| v.as_str()),
                                    Some("RSA" | "EC" | "OKP")
                                ) && k
                                    .get("use")
                                    .and_then(|v| v.as_str())
                                    .is_none_or(|u| u == "sig")
                            })
                            .count()
                    })
                    .unwrap_or(0);
                if usable > 0 {
                    Ok(format!("{usable} signing key(s) at {jwks_uri}"))
                } else {
                    Err(format!("no usable signing key at {jwks_uri}"))
                }
            });
            out.push(Check::new("keys usable", keys));
        }
    }
    out
}

async fn fetch_json(http: &reqwest::Client, url: &str) -> Result<serde_json::Value, String> {
    let resp = http
        .get(url)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("{url}: HTTP {}", resp.status()));
    }
    resp.json()
        .await
        .map_err(|e| format!("{url}: not JSON: {e}"))
}
