//! Checks of `POST /teamsUser/:exchangeAccessToken`.
//!
//! The emulator cannot verify Entra ID signatures, so it decodes the token's payload
//! **unverified** and checks what the real service checks besides the signature:
//! `aud` = `https://auth.msft.communication.azure.com`, `scp` holds both
//! `Teams.ManageCalls` and `Teams.ManageChats`, `appid` (v1) or `azp` (v2) = `appId`,
//! `oid` = `userId`, `exp` in the future.

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::http::{ApiFailure, parse_json};
use crate::acs::wire::ExchangeTokenRequest;

/// The audience of Entra tokens meant for the exchange.
pub const TEAMS_AUDIENCE: &str = "https://auth.msft.communication.azure.com";
/// The delegated scopes the token must carry.
pub const REQUIRED_TEAMS_SCOPES: [&str; 2] = ["Teams.ManageCalls", "Teams.ManageChats"];

/// What an accepted exchange request says.
pub(super) struct CheckedExchange {
    pub oid: String,
    pub expires: DateTime<Utc>,
}

fn required(value: Option<String>, name: &str) -> Result<String, ApiFailure> {
    value
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ApiFailure::bad_request("InvalidArgument", format!("'{name}' is required.")))
}

fn invalid_token(message: &str) -> ApiFailure {
    ApiFailure::unauthorized("InvalidAccessToken", message.to_owned())
}

fn decode_payload(token: &str) -> Result<serde_json::Map<String, Value>, ApiFailure> {
    let mut parts = token.split('.');
    let (Some(_header), Some(payload), Some(_sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid_token("The token is not a JWT."));
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .or_else(|_| URL_SAFE.decode(payload))
        .map_err(|_| invalid_token("The token's payload is not base64url."))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(invalid_token("The token's payload is not a JSON object.")),
    }
}

fn audience_matches(aud: Option<&Value>) -> bool {
    let ok = |s: &str| s.trim_end_matches('/') == TEAMS_AUDIENCE;
    match aud {
        Some(Value::String(s)) => ok(s),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).any(ok),
        _ => false,
    }
}

fn has_scope(scp: &str, wanted: &str) -> bool {
    scp.split_whitespace().any(|s| {
        s == wanted
            || s.strip_prefix(TEAMS_AUDIENCE)
                .and_then(|rest| rest.strip_prefix('/'))
                == Some(wanted)
    })
}

pub(super) fn check_exchange(
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<CheckedExchange, ApiFailure> {
    let parsed: ExchangeTokenRequest = parse_json(body, false)?;
    let token = required(parsed.token, "token")?;
    let app_id = required(parsed.app_id, "appId")?;
    let user_id = required(parsed.user_id, "userId")?;

    let claims = decode_payload(&token)?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);

    if !audience_matches(claims.get("aud")) {
        return Err(invalid_token(
            "The token's audience must be https://auth.msft.communication.azure.com.",
        ));
    }
    let scp = text("scp").unwrap_or_default();
    if let Some(missing) = REQUIRED_TEAMS_SCOPES.iter().find(|s| !has_scope(scp, s)) {
        return Err(invalid_token(&format!(
            "The token lacks the delegated scope {missing}."
        )));
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| invalid_token("The token has no 'exp'."))?;
    let expires = DateTime::from_timestamp(exp, 0)
        .ok_or_else(|| invalid_token("The token's 'exp' is out of range."))?;
    if expires <= now {
        return Err(ApiFailure::unauthorized(
            "TokenExpired",
            "The token has expired.",
        ));
    }
    let token_app = text("appid").or_else(|| text("azp")).unwrap_or_default();
    if !token_app.eq_ignore_ascii_case(app_id.trim()) {
        return Err(ApiFailure::bad_request(
            "AppIdMismatch",
            "'appId' does not match the token's appid/azp claim.",
        ));
    }
    let oid = text("oid").unwrap_or_default();
    if oid.is_empty() || !oid.eq_ignore_ascii_case(user_id.trim()) {
        return Err(ApiFailure::bad_request(
            "UserIdMismatch",
            "'userId' does not match the token's oid claim.",
        ));
    }
    Ok(CheckedExchange {
        oid: oid.to_ascii_lowercase(),
        expires,
    })
}
