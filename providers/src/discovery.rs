//! OpenID provider metadata ("discovery documents"), shared by every provider kind.
//!
//! A [`MetadataSource`] is one metadata URL (the generic provider has one; Entra ID one per
//! token version; Azure AD B2C one per policy). Its document is parsed with `openidconnect`'s
//! [`CoreProviderMetadata`] (which requires the members OpenID Connect Discovery marks as
//! required and keeps the issuer string exactly as written, `{tenantid}` templates included),
//! checked by the provider, and cached:
//! - fetched on first use, then kept for [`DISCOVERY_MAX_AGE`]; an old document is kept when its
//!   refresh fails;
//! - single-flight: concurrent callers wait for one fetch and share its outcome; fetches follow
//!   the key sets' budget (`refetch_burst` at once, then one per `refetch_cooldown`), so while a
//!   document is down the calls get the latest failure instead of each fetching it again;
//! - over `https` only unless the provider allows `http` (dev and tests), from public addresses
//!   only unless it allows private networks ([`crate::network`]), with the timeout and
//!   size bound of the [`crate::JwksCache`] configuration.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use openidconnect::core::CoreProviderMetadata;
use url::Url;

use crate::VerifyError;
use crate::fetch::{Budget, check_scheme, fetch_document};
use crate::jwks::{JwksCache, JwksCacheConfig};
use crate::network::{FetchPolicy, IdpHttp};

/// A metadata document is refetched (keeping the old one if that fails) after this long.
pub(crate) const DISCOVERY_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// The `{tenantid}` placeholder of Entra ID's multi-tenant metadata and key issuers.
pub(crate) const TENANT_ID_TEMPLATE: &str = "{tenantid}";

/// What we keep of a metadata document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProviderMetadata {
    /// `issuer`, exactly as written (possibly an Entra template with `{tenantid}`).
    pub issuer: String,
    /// `jwks_uri`.
    pub jwks_uri: Url,
    /// When it was fetched.
    pub fetched_at: Instant,
}

/// One metadata URL and its cached document.
#[derive(Debug)]
pub(crate) struct MetadataSource {
    url: Url,
    policy: FetchPolicy,
    current: Mutex<Option<Arc<ProviderMetadata>>>,
    /// Why the latest attempt failed (shared with callers that waited for it).
    last_error: Mutex<Option<VerifyError>>,
    /// Single-flight for fetches; holds the fetch budget (the key sets' rules: a burst, then
    /// one per cool-down), so an IdP whose document is down is not asked again by every call.
    fetch_lock: tokio::sync::Mutex<Budget>,
    /// Completed attempts.
    attempts: AtomicU64,
}

/// A copy of an error for the callers that waited on the same attempt.
fn copy_error(e: &VerifyError) -> VerifyError {
    match e {
        VerifyError::Config(m) => VerifyError::Config(m.clone()),
        VerifyError::PrivateNetwork(m) => VerifyError::PrivateNetwork(m.clone()),
        other => VerifyError::Unavailable(other.to_string()),
    }
}

impl MetadataSource {
    /// A source for `url`; `Config` when its scheme is not allowed.
    pub fn new(url: Url, policy: FetchPolicy) -> Result<Self, VerifyError> {
        check_scheme(&url, policy.allow_http)?;
        Ok(Self {
            url,
            policy,
            current: Mutex::new(None),
            last_error: Mutex::new(None),
            fetch_lock: tokio::sync::Mutex::new(Budget::default()),
            attempts: AtomicU64::new(0),
        })
    }

    /// The document's URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The cached document, if one was fetched (whatever its age).
    pub fn cached(&self) -> Option<Arc<ProviderMetadata>> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The cached document, or a fresh one. `check` vets a fetched document before it is
    /// cached (e.g. its issuer against the configuration); a document it refuses is not kept.
    pub async fn get<F>(
        &self,
        jwks: &JwksCache,
        check: F,
    ) -> Result<Arc<ProviderMetadata>, VerifyError>
    where
        F: Fn(&ProviderMetadata) -> Result<(), VerifyError>,
    {
        let limits = jwks.config();
        let cached = self.cached();
        if let Some(d) = &cached
            && d.fetched_at.elapsed() < DISCOVERY_MAX_AGE
        {
            return Ok(d.clone());
        }
        let seen = self.attempts.load(Ordering::SeqCst);
        let mut budget = self.fetch_lock.lock().await;
        if self.attempts.load(Ordering::SeqCst) != seen {
            // Someone else fetched while we waited: share their outcome.
            if let Some(d) = self.cached()
                && d.fetched_at.elapsed() < DISCOVERY_MAX_AGE
            {
                return Ok(d);
            }
            let error = self
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(e) = error.as_ref() {
                return match self.cached() {
                    Some(old) => Ok(old),
                    None => Err(copy_error(e)),
                };
            }
        }
        if !budget.take(limits.refetch_burst, limits.refetch_cooldown) {
            // Spent: the latest outcome stands until a token is back.
            tracing::debug!(metadata_url = %self.url, "provider metadata refetch skipped: its budget is spent");
            let error = self
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
                .map(copy_error);
            return match (cached, error) {
                (Some(old), _) => Ok(old),
                (None, Some(e)) => Err(e),
                (None, None) => Err(VerifyError::Unavailable(format!(
                    "provider metadata at {} cannot be fetched yet",
                    self.url
                ))),
            };
        }
        let result = self.fetch(jwks.http(), limits, &check).await;
        jwks.count_discovery_fetch(result.is_ok());
        self.attempts.fetch_add(1, Ordering::SeqCst);
        match result {
            Ok(metadata) => {
                let metadata = Arc::new(metadata);
                *self.current.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some(metadata.clone());
                *self
                    .last_error
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = None;
                Ok(metadata)
            }
            Err(e) => {
                tracing::warn!(metadata_url = %self.url, error = %e, "OpenID provider metadata fetch failed");
                *self
                    .last_error
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(copy_error(&e));
                match cached {
                    Some(old) => Ok(old),
                    None => Err(e),
                }
            }
        }
    }

    async fn fetch<F>(
        &self,
        http: &IdpHttp,
        limits: &JwksCacheConfig,
        check: &F,
    ) -> Result<ProviderMetadata, VerifyError>
    where
        F: Fn(&ProviderMetadata) -> Result<(), VerifyError>,
    {
        let body = fetch_document(
            http,
            &self.url,
            self.policy,
            limits.request_timeout,
            limits.max_document_bytes,
        )
        .await?;
        // openidconnect's CoreProviderMetadata accepts the documents of Entra ID (templates
        // included), Azure AD B2C, Google, Keycloak, Auth0 and Okta (see oidc.rs's tests).
        let document: CoreProviderMetadata = serde_json::from_slice(&body).map_err(|e| {
            VerifyError::Unavailable(format!("provider metadata at {} is invalid: {e}", self.url))
        })?;
        let jwks_uri = document.jwks_uri().url().clone();
        check_scheme(&jwks_uri, self.policy.allow_http)?;
        let metadata = ProviderMetadata {
            issuer: document.issuer().as_str().to_owned(),
            jwks_uri,
            fetched_at: Instant::now(),
        };
        check(&metadata)?;
        tracing::debug!(metadata_url = %self.url, issuer = %metadata.issuer, jwks_uri = %metadata.jwks_uri, "OpenID provider metadata fetched");
        Ok(metadata)
    }
}

/// Whether `value` is a GUID in its usual text form (8-4-4-4-12 hex digits, any case).
pub(crate) fn is_guid(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// The value `template` takes for `{tenantid}` to equal `issuer` exactly, when it is a GUID.
/// A template without the placeholder matches nothing.
pub(crate) fn tenant_in_template<'a>(template: &str, issuer: &'a str) -> Option<&'a str> {
    let (prefix, suffix) = template.split_once(TENANT_ID_TEMPLATE)?;
    let middle = issuer.strip_prefix(prefix)?.strip_suffix(suffix)?;
    is_guid(middle).then_some(middle)
}

/// `url` with a `{tenantid}` placeholder (raw or percent-encoded) replaced by `tenant`, a GUID.
pub(crate) fn substitute_tenant_in_url(url: &Url, tenant: &str) -> Result<Url, VerifyError> {
    let text = url.as_str();
    if !text.contains(TENANT_ID_TEMPLATE) && !text.contains("%7Btenantid%7D") {
        return Ok(url.clone());
    }
    // One cache key per directory, whatever the case of the GUID in the token.
    let tenant = if is_guid(tenant) {
        tenant.to_ascii_lowercase()
    } else {
        tenant.to_owned()
    };
    let replaced = text
        .replace(TENANT_ID_TEMPLATE, &tenant)
        .replace("%7Btenantid%7D", &tenant);
    Url::parse(&replaced).map_err(|e| {
        VerifyError::Unavailable(format!("jwks_uri {url} is invalid once completed: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completed_uri_names_the_directory_in_lower_case() {
        let template =
            Url::parse("https://login.microsoftonline.com/{tenantid}/discovery/v2.0/keys").unwrap();
        let upper =
            substitute_tenant_in_url(&template, "9188040D-6C67-4C5B-B112-36A304B66DAD").unwrap();
        let lower =
            substitute_tenant_in_url(&template, "9188040d-6c67-4c5b-b112-36a304b66dad").unwrap();
        assert_eq!(upper, lower);
        assert!(upper.as_str().contains("9188040d-6c67"));
    }

    #[test]
    fn guids_are_recognised_in_any_case_and_nothing_else() {
        assert!(is_guid("9188040d-6c67-4c5b-b112-36a304b66dad"));
        assert!(is_guid("9188040D-6C67-4C5B-B112-36A304B66DAD"));
        for not in [
            "",
            "organizations",
            "9188040d6c674c5bb11236a304b66dad",
            "{9188040d-6c67-4c5b-b112-36a304b66dad}",
            "9188040d-6c67-4c5b-b112-36a304b66da",
            "9188040d-6c67-4c5b-b112-36a304b66dadd",
            "9188040g-6c67-4c5b-b112-36a304b66dad",
            "9188040d-6c67-4c5b-b112_36a304b66dad",
        ] {
            assert!(!is_guid(not), "{not}");
        }
    }

    #[test]
    fn tenant_is_extracted_from_an_issuer_matching_the_template() {
        let template = "https://login.microsoftonline.com/{tenantid}/v2.0";
        let tid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        assert_eq!(
            tenant_in_template(
                template,
                &format!("https://login.microsoftonline.com/{tid}/v2.0")
            ),
            Some(tid)
        );
        for issuer in [
            format!("https://login.microsoftonline.com/{tid}/v2.0/"),
            format!("https://login.microsoftonline.com/{tid}"),
            format!("https://sts.windows.net/{tid}/"),
            "https://login.microsoftonline.com/contoso/v2.0".to_owned(),
            format!("https://login.microsoftonline.com/{tid}/x/v2.0"),
        ] {
            assert_eq!(tenant_in_template(template, &issuer), None, "{issuer}");
        }
        assert_eq!(
            tenant_in_template("https://sts.windows.net/x/", "https://sts.windows.net/x/"),
            None
        );
    }

    #[test]
    fn tenant_placeholder_in_a_jwks_uri_is_completed() {
        let tid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        let url =
            Url::parse("https://login.microsoftonline.com/{tenantid}/discovery/v2.0/keys").unwrap();
        assert_eq!(
            substitute_tenant_in_url(&url, tid).unwrap().as_str(),
            format!("https://login.microsoftonline.com/{tid}/discovery/v2.0/keys")
        );
        let plain = Url::parse("https://login.microsoftonline.com/common/discovery/keys").unwrap();
        assert_eq!(substitute_tenant_in_url(&plain, tid).unwrap(), plain);
    }
}
