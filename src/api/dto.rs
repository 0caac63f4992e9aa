//! Request and response bodies of the public API.

use poem_openapi::types::Example;
use poem_openapi::{Enum, Object};
use serde::Serialize;

use super::timestamp::Timestamp;

/// An ACS token scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
pub enum AcsScope {
    /// Chat.
    #[oai(rename = "chat")]
    Chat,
    /// Calling (VoIP).
    #[oai(rename = "voip")]
    Voip,
    /// Join a chat thread the identity was added to.
    #[oai(rename = "chat.join")]
    ChatJoin,
    /// Join a chat thread with read-only access to its history.
    #[oai(rename = "chat.join.limited")]
    ChatJoinLimited,
    /// Join a call the identity was invited to.
    #[oai(rename = "voip.join")]
    VoipJoin,
}

impl AcsScope {
    pub const ALL: [AcsScope; 5] = [
        AcsScope::Chat,
        AcsScope::Voip,
        AcsScope::ChatJoin,
        AcsScope::ChatJoinLimited,
        AcsScope::VoipJoin,
    ];

    /// The scope's name in ACS (`chat.join`).
    pub fn as_str(self) -> &'static str {
        match self {
            AcsScope::Chat => "chat",
            AcsScope::Voip => "voip",
            AcsScope::ChatJoin => "chat.join",
            AcsScope::ChatJoinLimited => "chat.join.limited",
            AcsScope::VoipJoin => "voip.join",
        }
    }
}

/// Optional body of getToken. Both fields are bounded by the tenant's token policy.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none, example)]
#[oai(rename_all = "camelCase")]
pub struct GetTokenRequest {
    /// ACS scopes to issue; the tenant's default scopes when absent.
    #[oai(validator(min_items = 1, max_items = 5, unique_items = true))]
    pub scopes: Option<Vec<AcsScope>>,
    /// Token lifetime in minutes (60–1440, and at most the tenant's maximum); the tenant's
    /// default when absent.
    #[oai(validator(minimum(value = "60"), maximum(value = "1440")))]
    pub expires_in_minutes: Option<u32>,
}

impl Example for GetTokenRequest {
    fn example() -> Self {
        Self {
            scopes: Some(vec![AcsScope::Chat, AcsScope::Voip]),
            expires_in_minutes: Some(60),
        }
    }
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
    /// When the token expires.
    pub expires_on: Timestamp,
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
    pub created_at: Timestamp,
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
#[oai(skip_serializing_if_is_none, example)]
#[oai(rename_all = "camelCase")]
pub struct ExchangeTokenRequest {
    /// The Teams user's Microsoft Entra ID access token for the ACS Teams resource
    /// (`aud` `https://auth.msft.communication.azure.com`, scopes `Teams.ManageCalls`,
    /// `Teams.ManageChats`).
    #[oai(validator(min_length = 1, max_length = 16384))]
    pub token: String,
}

impl Example for ExchangeTokenRequest {
    fn example() -> Self {
        Self {
            token: "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2F1dGgubXNmdC5jb21tdW5pY2F0aW9uLmF6dXJlLmNvbSJ9.c2lnbmF0dXJl".to_owned(),
        }
    }
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
    /// When the token expires.
    pub expires_on: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::AcsScope;

    #[test]
    fn the_scope_enum_names_every_acs_scope() {
        let names: Vec<&str> = AcsScope::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, crate::config::ACS_SCOPES);
    }
}
