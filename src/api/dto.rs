//! Request and response bodies of the public API.

use chrono::{DateTime, FixedOffset, Utc};
use poem_openapi::Object;
use serde::Serialize;

/// Optional body of getToken. Both fields are bounded by the tenant's token policy.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename_all = "camelCase")]
pub struct GetTokenRequest {
    /// ACS scopes to issue (`chat`, `voip`, `chat.join`, `chat.join.limited`, `voip.join`);
    /// the tenant's default scopes when absent.
    #[oai(validator(max_items = 5, unique_items = true))]
    pub scopes: Option<Vec<String>>,
    /// Token lifetime in minutes (60–1440, and at most the tenant's maximum); the tenant's
    /// default when absent.
    #[oai(validator(minimum(value = "60"), maximum(value = "1440")))]
    pub expires_in_minutes: Option<u32>,
}

/// The ACS identity of the caller.
#[derive(Debug, Clone, Object, Serialize)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct CommunicationUser {
    /// The ACS identity, e.g. `8:acs:<resource id>_<unique id>`.
    pub communication_user_id: String,
}

/// An ACS access token for the caller's ACS identity.
#[derive(Debug, Clone, Object, Serialize)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    /// The ACS access token (a JWT; treat it as opaque).
    pub token: String,
    /// When the token expires (RFC 3339).
    #[serde(serialize_with = "rfc3339")]
    pub expires_on: DateTime<FixedOffset>,
    pub user: CommunicationUser,
}

/// The caller's ACS identity, as stored.
#[derive(Debug, Clone, Object, Serialize)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct UserResponse {
    pub communication_user_id: String,
    /// When the ACS identity was created.
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
}

/// Liveness and readiness.
#[derive(Debug, Clone, Object, Serialize)]
#[oai(skip_serializing_if_is_none)]
pub struct HealthStatus {
    /// `ok`, or `unavailable` with the failing check in `checks`.
    pub status: String,
    /// Each check's outcome, e.g. `database: ok`.
    pub checks: Vec<String>,
}

/// Body of exchangeToken.
#[derive(Clone, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename_all = "camelCase")]
pub struct ExchangeTokenRequest {
    /// The Teams user's Microsoft Entra ID access token for the ACS Teams resource
    /// (`aud` `https://auth.msft.communication.azure.com`, scopes `Teams.ManageCalls`,
    /// `Teams.ManageChats`).
    #[oai(validator(min_length = 1, max_length = 16384))]
    pub token: String,
}

impl std::fmt::Debug for ExchangeTokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExchangeTokenRequest([REDACTED])")
    }
}

/// An ACS access token for a Teams user.
#[derive(Debug, Clone, Object, Serialize)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ExchangeTokenResponse {
    /// The ACS access token (treat it as opaque).
    pub token: String,
    /// When the token expires (RFC 3339).
    #[serde(serialize_with = "rfc3339")]
    pub expires_on: DateTime<FixedOffset>,
}

/// A date-time as the spec's `date-time` values are written (`to_rfc3339`: `+00:00`, not
/// serde's `Z`), so serde-written bodies ([`super::payload::JsonBody`]) match the spec's view.
fn rfc3339<S, Tz>(at: &DateTime<Tz>, serializer: S) -> Result<S::Ok, S::Error>
where
    S: serde::Serializer,
    Tz: chrono::TimeZone,
    Tz::Offset: std::fmt::Display,
{
    serializer.serialize_str(&at.to_rfc3339())
}
