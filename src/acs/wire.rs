//! The wire contract of the ACS identity API (`shared/ref/ACS_IDENTITY_API.md`), shared by the
//! client and the emulator: the API version, the token scopes and lifetime bounds, the
//! operations, identifier encoding in paths, and the JSON request and response bodies.
//!
//! Nothing here talks HTTP; the client ([`super::client`]) and the emulator serialize and parse
//! these types. Bodies that carry a token redact it in `Debug`.

use std::fmt;
use std::str::FromStr;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};

/// The identity API version every call uses.
pub const API_VERSION: &str = "2023-10-01";

/// The shortest token lifetime ACS issues (`expiresInMinutes`), in minutes.
pub const MIN_TOKEN_MINUTES: u32 = 60;
/// The longest token lifetime ACS issues (`expiresInMinutes`), in minutes.
pub const MAX_TOKEN_MINUTES: u32 = 1440;
/// The lifetime ACS issues when a request names none (24 h), in minutes.
pub const DEFAULT_TOKEN_MINUTES: u32 = 1440;

/// The token scopes ACS knows (`CommunicationIdentityTokenScope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    #[serde(rename = "chat")]
    Chat,
    #[serde(rename = "voip")]
    Voip,
    #[serde(rename = "chat.join")]
    ChatJoin,
    #[serde(rename = "chat.join.limited")]
    ChatJoinLimited,
    #[serde(rename = "voip.join")]
    VoipJoin,
}

/// The names of all scopes, in the order of [`Scope::ALL`].
pub const SCOPE_NAMES: [&str; 5] = {
    let mut names = [""; 5];
    let mut i = 0;
    while i < Scope::ALL.len() {
        names[i] = Scope::ALL[i].as_str();
        i += 1;
    }
    names
};

impl Scope {
    pub const ALL: [Scope; 5] = [
        Scope::Chat,
        Scope::Voip,
        Scope::ChatJoin,
        Scope::ChatJoinLimited,
        Scope::VoipJoin,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::Chat => "chat",
            Scope::Voip => "voip",
            Scope::ChatJoin => "chat.join",
            Scope::ChatJoinLimited => "chat.join.limited",
            Scope::VoipJoin => "voip.join",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error of parsing a [`Scope`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown ACS token scope `{0}` (valid: chat, voip, chat.join, chat.join.limited, voip.join)"
)]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| UnknownScope(s.to_owned()))
    }
}

/// The operations of the identity API (the unit of the service limits, of the client's pacing
/// and of the emulator's fault injection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// `POST /identities`.
    Create,
    /// `POST /identities/{id}/:issueAccessToken`.
    Issue,
    /// `POST /identities/{id}/:revokeAccessTokens`.
    Revoke,
    /// `DELETE /identities/{id}`.
    Delete,
    /// `POST /teamsUser/:exchangeAccessToken`.
    Exchange,
}

impl Operation {
    pub const ALL: [Operation; 5] = [
        Operation::Create,
        Operation::Issue,
        Operation::Revoke,
        Operation::Delete,
        Operation::Exchange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Issue => "issue",
            Operation::Revoke => "revoke",
            Operation::Delete => "delete",
            Operation::Exchange => "exchange",
        }
    }

    /// Position in [`Operation::ALL`].
    pub(crate) fn index(self) -> usize {
        match self {
            Operation::Create => 0,
            Operation::Issue => 1,
            Operation::Revoke => 2,
            Operation::Delete => 3,
            Operation::Exchange => 4,
        }
    }

    /// Whether sending the request twice is harmless. Only `create` is not: a retry after a
    /// lost answer would make a second identity.
    pub fn is_idempotent(self) -> bool {
        !matches!(self, Operation::Create)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Characters escaped in a path segment: everything but `A-Z a-z 0-9 - _ . ~` (as
/// `encodeURIComponent` and the SDKs do for `:`), so `8:acs:…` becomes `8%3Aacs%3A…`.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encode an identifier for use as one path segment.
pub fn encode_id(id: &str) -> String {
    utf8_percent_encode(id, SEGMENT).to_string()
}

/// Body of `POST /identities`: both fields optional (`{}` is valid).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateIdentityRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_token_with_scopes: Option<Vec<String>>,
    /// Signed, so that a server can answer an out-of-range number as such.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_minutes: Option<i64>,
}

/// Body of `POST /identities/{id}/:issueAccessToken`. `scopes` is required by the API; it is
/// an `Option` so that a server tells a missing field apart from a malformed body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueTokenRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_minutes: Option<i64>,
}

/// Body of `POST /teamsUser/:exchangeAccessToken`. All fields are required by the API; they are
/// `Option`s so that a server tells a missing field apart from a malformed body. `Debug` never
/// shows the token.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExchangeTokenRequest {
    /// The Teams user's Entra ID access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The Entra application (client) id, checked against the token's `appid`/`azp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// The Teams user's object id, checked against the token's `oid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

impl fmt::Debug for ExchangeTokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExchangeTokenRequest")
            .field("token", &self.token.as_ref().map(|_| "[REDACTED]"))
            .field("app_id", &self.app_id)
            .field("user_id", &self.user_id)
            .finish()
    }
}

/// An access token as the API answers it (`CommunicationIdentityAccessToken`): the answer of
/// issue and exchange, and `accessToken` of a create. `Debug` never shows the token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    pub token: String,
    /// RFC 3339 with fractional seconds and offset, e.g. `2023-10-10T21:39:39.3244584+00:00`.
    pub expires_on: String,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token", &"[REDACTED]")
            .field("expires_on", &self.expires_on)
            .finish()
    }
}

/// An identity (`CommunicationIdentity`): `{"id": "8:acs:<resource id>_<unique id>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityBody {
    pub id: String,
}

/// The answer of `POST /identities` (`CommunicationIdentityAccessTokenResult`): the created
/// identity, and a token when scopes were asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateIdentityResponse {
    pub identity: IdentityBody,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<TokenResponse>,
}

/// The body of every error answer (`CommunicationErrorResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub error: ErrorBody,
}

/// `code` and `message` of an error answer (the API's optional fields are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

impl ErrorResponse {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error: ErrorBody {
                code: code.into(),
                message: message.into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_percent_encoded_as_one_segment() {
        assert_eq!(
            encode_id("8:acs:1b2c_00000000-aaaa"),
            "8%3Aacs%3A1b2c_00000000-aaaa"
        );
        assert_eq!(encode_id("a/b?c#d e"), "a%2Fb%3Fc%23d%20e");
    }

    #[test]
    fn scopes_round_trip() {
        for s in Scope::ALL {
            assert_eq!(s.as_str().parse::<Scope>().unwrap(), s);
        }
        assert!("chat.write".parse::<Scope>().is_err());
    }

    #[test]
    fn scope_names_follow_the_scopes() {
        assert_eq!(
            SCOPE_NAMES,
            [
                "chat",
                "voip",
                "chat.join",
                "chat.join.limited",
                "voip.join"
            ]
        );
        for (scope, name) in Scope::ALL.iter().zip(SCOPE_NAMES) {
            assert_eq!(serde_json::to_value(scope).unwrap(), name);
        }
    }

    #[test]
    fn bodies_have_the_documented_shapes() {
        let create = CreateIdentityRequest {
            create_token_with_scopes: Some(vec!["chat".into()]),
            expires_in_minutes: Some(60),
        };
        assert_eq!(
            serde_json::to_string(&create).unwrap(),
            r#"{"createTokenWithScopes":["chat"],"expiresInMinutes":60}"#
        );
        assert_eq!(
            serde_json::to_string(&CreateIdentityRequest::default()).unwrap(),
            "{}"
        );
        let issue = IssueTokenRequest {
            scopes: Some(vec!["voip".into()]),
            expires_in_minutes: Some(1440),
        };
        assert_eq!(
            serde_json::to_string(&issue).unwrap(),
            r#"{"scopes":["voip"],"expiresInMinutes":1440}"#
        );
        let exchange = ExchangeTokenRequest {
            token: Some("eyJsecret".into()),
            app_id: Some("a".into()),
            user_id: Some("u".into()),
        };
        assert_eq!(
            serde_json::to_string(&exchange).unwrap(),
            r#"{"token":"eyJsecret","appId":"a","userId":"u"}"#
        );
        assert!(!format!("{exchange:?}").contains("eyJsecret"));
        let created: CreateIdentityResponse = serde_json::from_str(
            r#"{"identity":{"id":"8:acs:r_u"},"accessToken":{"token":"eyJsecret","expiresOn":"2023-10-10T21:39:39.3244584+00:00"}}"#,
        )
        .unwrap();
        assert_eq!(created.identity.id, "8:acs:r_u");
        assert!(!format!("{created:?}").contains("eyJsecret"));
        let error: ErrorResponse = serde_json::from_str(
            r#"{"error":{"code":"IdentityNotFound","message":"gone","target":"id","details":[]}}"#,
        )
        .unwrap();
        assert_eq!(error, ErrorResponse::new("IdentityNotFound", "gone"));
    }
}
