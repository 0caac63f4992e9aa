//! The claim rules of Entra ID tokens that need no key or network: tokens for Microsoft's own
//! APIs are refused, string claims are read strictly, an access token names its app and grants.

use serde_json::Value;

use super::{MICROSOFT_GRAPH_APP_ID, TokenVersion};
use crate::VerifyError;
use crate::validate::{self, Claims};

/// `aud` values of Microsoft Graph (public and national clouds): never ours.
const MICROSOFT_GRAPH_AUDIENCES: &[&str] = &[
    MICROSOFT_GRAPH_APP_ID,
    "https://graph.microsoft.com",
    "https://graph.microsoft.com/",
    "https://graph.microsoft.us",
    "https://graph.microsoft.us/",
    "https://dod-graph.microsoft.us",
    "https://dod-graph.microsoft.us/",
    "https://microsoftgraph.chinacloudapi.cn",
    "https://microsoftgraph.chinacloudapi.cn/",
];

pub(super) fn is_microsoft_graph_audience(aud: &str) -> bool {
    MICROSOFT_GRAPH_AUDIENCES
        .iter()
        .any(|graph| graph.eq_ignore_ascii_case(aud))
}

/// A claim that must be a string when present.
pub(super) fn optional_string<'a>(
    claims: &'a Claims,
    name: &str,
) -> Result<Option<&'a str>, VerifyError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(VerifyError::InvalidClaim(name.to_owned())),
    }
}

pub(super) fn non_empty_string(claims: &Claims, name: &str) -> bool {
    matches!(claims.get(name), Some(Value::String(s)) if !s.trim().is_empty())
}

/// Refuse tokens for Microsoft Graph: a `nonce` in the header (its signature covers a hash of
/// the nonce, not the nonce: no third party can verify it) or a Graph `aud`.
pub(super) fn refuse_microsoft_api_tokens(
    header: &Claims,
    claims: &Claims,
) -> Result<(), VerifyError> {
    if header.contains_key("nonce") {
        tracing::debug!("token with a nonce header (for Microsoft Graph) refused");
        return Err(VerifyError::InvalidAudience);
    }
    let graph = match claims.get("aud") {
        Some(Value::String(aud)) => is_microsoft_graph_audience(aud),
        Some(Value::Array(auds)) => auds
            .iter()
            .filter_map(Value::as_str)
            .any(is_microsoft_graph_audience),
        _ => false,
    };
    if graph {
        tracing::debug!("token for Microsoft Graph refused");
        return Err(VerifyError::InvalidAudience);
    }
    Ok(())
}

/// An access token, not an ID token: the calling app is named and scopes or roles are granted.
pub(super) fn require_access_token(
    claims: &Claims,
    version: TokenVersion,
) -> Result<(), VerifyError> {
    let client = version.client_claim();
    if !non_empty_string(claims, client) {
        return Err(VerifyError::MissingClaim(client.to_owned()));
    }
    let has_scopes = !validate::scopes_from_claims(claims).is_empty();
    let has_roles = !validate::roles_from_claims(claims).is_empty();
    if !has_scopes && !has_roles {
        return Err(VerifyError::MissingClaim("scp".to_owned()));
    }
    Ok(())
}
