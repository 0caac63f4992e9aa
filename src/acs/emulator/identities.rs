//! The identity operations of the emulator: create an identity (with a token when scopes are
//! asked for), issue, revoke, delete, and the Teams token exchange; checks of the requested
//! scopes and lifetime against [`crate::acs::wire`]'s bounds.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use poem::http::StatusCode;

use super::http::{ApiFailure, Success, parse_json};
use super::{Emulator, EmulatorError, IdentityState, State, lock, teams, token_hash, tokens};
use crate::acs::wire::{
    CreateIdentityRequest, CreateIdentityResponse, DEFAULT_TOKEN_MINUTES, IdentityBody,
    IssueTokenRequest, MAX_TOKEN_MINUTES, MIN_TOKEN_MINUTES, Scope, TokenResponse,
};

impl Emulator {
    fn new_identity_id(&self) -> String {
        format!("8:acs:{}_{}", self.inner.resource_id, uuid::Uuid::new_v4())
    }

    /// Mint a token for a live identity and remember it as live.
    fn mint_for(
        &self,
        state: &mut State,
        id: &str,
        scopes: &[Scope],
        minutes: i64,
        now: DateTime<Utc>,
    ) -> Result<TokenResponse, ApiFailure> {
        let expires = now + chrono::Duration::minutes(minutes);
        let skypeid = id.strip_prefix("8:").unwrap_or(id).to_owned();
        let claims = tokens::AcsClaims::new(skypeid, scopes, &self.inner.resource_id, now, expires);
        let token = self.inner.signing_key.mint(&claims).map_err(internal)?;
        let identity = state
            .identities
            .get_mut(id)
            .filter(|i| !i.deleted)
            .ok_or_else(|| ApiFailure::identity_not_found(id))?;
        let now_ts = now.timestamp();
        identity.live_tokens.retain(|_, exp| *exp > now_ts);
        identity.live_tokens.insert(token_hash(&token), claims.exp);
        Ok(TokenResponse {
            token,
            expires_on: tokens::format_expires_on(expires),
        })
    }

    pub(super) fn create(&self, body: &[u8], now: DateTime<Utc>) -> Result<Success, ApiFailure> {
        let parsed: CreateIdentityRequest = parse_json(body, true)?;
        let minutes = check_minutes(parsed.expires_in_minutes)?;
        let scopes = match parsed.create_token_with_scopes {
            Some(s) if !s.is_empty() => Some(check_scopes(&s, "createTokenWithScopes")?),
            _ => None,
        };
        let id = self.new_identity_id();
        let mut state = lock(&self.inner.state);
        state.identities.insert(
            id.clone(),
            IdentityState {
                deleted: false,
                revoked_at: None,
                live_tokens: HashMap::new(),
            },
        );
        let access_token = match scopes {
            Some(scopes) => Some(self.mint_for(&mut state, &id, &scopes, minutes, now)?),
            None => None,
        };
        let created = CreateIdentityResponse {
            identity: IdentityBody { id },
            access_token,
        };
        Success::json(StatusCode::CREATED, &created)
    }

    pub(super) fn issue(
        &self,
        id: &str,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Success, ApiFailure> {
        let parsed: IssueTokenRequest = parse_json(body, false)?;
        let scopes = parsed
            .scopes
            .ok_or_else(|| ApiFailure::bad_request("InvalidArgument", "'scopes' is required."))?;
        if scopes.is_empty() {
            return Err(ApiFailure::bad_request(
                "InvalidArgument",
                "'scopes' must not be empty.",
            ));
        }
        let scopes = check_scopes(&scopes, "scopes")?;
        let minutes = check_minutes(parsed.expires_in_minutes)?;
        let mut state = lock(&self.inner.state);
        let token = self.mint_for(&mut state, id, &scopes, minutes, now)?;
        Success::json(StatusCode::OK, &token)
    }

    pub(super) fn revoke(&self, id: &str, now: DateTime<Utc>) -> Result<Success, ApiFailure> {
        let mut state = lock(&self.inner.state);
        let identity = state
            .identities
            .get_mut(id)
            .filter(|i| !i.deleted)
            .ok_or_else(|| ApiFailure::identity_not_found(id))?;
        identity.live_tokens.clear();
        identity.revoked_at = Some(now);
        Ok(Success::NoContent)
    }

    pub(super) fn delete(&self, id: &str, now: DateTime<Utc>) -> Result<Success, ApiFailure> {
        let mut state = lock(&self.inner.state);
        let identity = state
            .identities
            .get_mut(id)
            .filter(|i| !i.deleted)
            .ok_or_else(|| ApiFailure::identity_not_found(id))?;
        identity.deleted = true;
        identity.live_tokens.clear();
        identity.revoked_at = Some(now);
        Ok(Success::NoContent)
    }

    pub(super) fn exchange(&self, body: &[u8], now: DateTime<Utc>) -> Result<Success, ApiFailure> {
        let checked = teams::check_exchange(body, now)?;
        let expires = checked
            .expires
            .min(now + chrono::Duration::minutes(i64::from(MAX_TOKEN_MINUTES)));
        let claims = tokens::AcsClaims::new(
            format!("orgid:{}", checked.oid),
            &[Scope::Voip, Scope::Chat],
            &self.inner.resource_id,
            now,
            expires,
        );
        let token = self.inner.signing_key.mint(&claims).map_err(internal)?;
        let answer = TokenResponse {
            token,
            expires_on: tokens::format_expires_on(expires),
        };
        Success::json(StatusCode::OK, &answer)
    }
}

fn internal(e: EmulatorError) -> ApiFailure {
    tracing::error!(error = %e, "ACS emulator internal error");
    ApiFailure::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalError",
        "The emulator failed to sign a token.",
    )
}

/// `expiresInMinutes` (default [`DEFAULT_TOKEN_MINUTES`]) within
/// [`MIN_TOKEN_MINUTES`]–[`MAX_TOKEN_MINUTES`].
fn check_minutes(minutes: Option<i64>) -> Result<i64, ApiFailure> {
    let minutes = minutes.unwrap_or(i64::from(DEFAULT_TOKEN_MINUTES));
    if (i64::from(MIN_TOKEN_MINUTES)..=i64::from(MAX_TOKEN_MINUTES)).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(ApiFailure::bad_request(
            "InvalidArgument",
            format!(
                "'expiresInMinutes' must be between {MIN_TOKEN_MINUTES} and {MAX_TOKEN_MINUTES}, got {minutes}."
            ),
        ))
    }
}

fn check_scopes(scopes: &[String], field: &str) -> Result<Vec<Scope>, ApiFailure> {
    let mut out = BTreeSet::new();
    for s in scopes {
        let scope = s
            .parse::<Scope>()
            .map_err(|e| ApiFailure::bad_request("InvalidArgument", format!("'{field}': {e}.")))?;
        out.insert(scope);
    }
    Ok(out.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::super::{EmulatorConfig, TokenSigningKey};
    use super::*;

    #[test]
    fn tokens_of_another_emulator_do_not_verify() {
        let signing_key = TokenSigningKey::generate().unwrap();
        let config = || {
            let mut c = EmulatorConfig::with_random_key();
            c.signing_key = Some(signing_key.clone());
            c
        };
        let a = Emulator::new(config()).unwrap();
        let b = Emulator::new(config()).unwrap();
        let now = Utc::now();
        let id = a.new_identity_id();
        let mut state = State::default();
        state.identities.insert(
            id.clone(),
            IdentityState {
                deleted: false,
                revoked_at: None,
                live_tokens: HashMap::new(),
            },
        );
        *lock(&a.inner.state) = state;
        let json = {
            let mut st = lock(&a.inner.state);
            serde_json::to_value(
                a.mint_for(&mut st, &id, &[Scope::Chat], 60, now)
                    .ok()
                    .unwrap(),
            )
            .unwrap()
        };
        let token = json["token"].as_str().unwrap();
        assert!(a.verify_access_token(token).is_some());
        // Same signing key in tests, but another resource id.
        assert!(b.verify_access_token(token).is_none());
        assert!(a.verify_access_token("garbage").is_none());
    }
}
