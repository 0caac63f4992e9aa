//! getToken, deleteUser, getUser — per tenant, and the seed's bare paths.
//! Each handler: find the tenant → authenticate → call the service → shape the result.

use poem::Request;
use poem::http::StatusCode;
use poem_openapi::param::{Header, Path};
use poem_openapi::{ApiResponse, OpenApi, Tags};
use secrecy::ExposeSecret;

use super::auth::{BearerAuth, authorize, tenant_by_id, tenant_for_token};
use super::dto::{
    CommunicationUser, ExchangeTokenRequest, ExchangeTokenResponse, GetTokenRequest, TokenResponse,
    UserResponse,
};
use super::error::{ApiError, ErrorInfo, ErrorSet, ProblemCode};
use super::extract::OptionalJson;
use super::payload::JsonBody;
use crate::service::Tenant;
use crate::service::{DeleteOutcome, IssuedToken, TokenRequest};
use crate::state::AppState;

#[derive(Tags)]
enum ApiTags {
    /// ACS identities and tokens for the signed-in user of a tenant.
    Tokens,
    /// Seed-compatible paths without a tenant: the tenant comes from the token's issuer or the
    /// configured default tenant.
    #[oai(rename = "Tokens (seed-compatible)")]
    Seed,
}

pub struct GetTokenErrors;
impl ErrorSet for GetTokenErrors {
    const STATUSES: &'static [(u16, &'static str)] = &[
        (
            400,
            "The body or a parameter is not valid (`invalid_body`, `invalid_request`, `tenant_ambiguous`).",
        ),
        (
            401,
            "The bearer token is missing or not valid (`missing_token`, `token_*`).",
        ),
        (
            403,
            "The token lacks a required scope or role (`insufficient_scope`), or the tenant is disabled.",
        ),
        (404, "No such tenant (`tenant_not_found`)."),
        (413, "The body is too large."),
        (415, "The body is not JSON."),
        (
            429,
            "Too many requests for this tenant or user (`rate_limited`); see `Retry-After`.",
        ),
        (502, "ACS refused the call (`acs_error`)."),
        (
            503,
            "ACS is throttling or unavailable (`acs_throttled`, `acs_unavailable`), or the identity provider or the store is unavailable; see `Retry-After`.",
        ),
        (504, "ACS did not answer in time (`acs_timeout`)."),
    ];
}

pub struct DeleteUserErrors;
impl ErrorSet for DeleteUserErrors {
    const STATUSES: &'static [(u16, &'static str)] = &[
        (
            400,
            "The tenant cannot be told from the token (`tenant_ambiguous`).",
        ),
        (401, "The bearer token is missing or not valid."),
        (
            403,
            "The token lacks a required scope or role, or the tenant is disabled.",
        ),
        (
            404,
            "No such tenant (`tenant_not_found`), or the caller has no ACS identity (`user_not_found`).",
        ),
        (
            429,
            "Too many requests for this tenant or user (`rate_limited`); see `Retry-After`.",
        ),
        (
            503,
            "The identity provider or the store is unavailable; see `Retry-After`.",
        ),
    ];
}

pub struct GetUserErrors;
impl ErrorSet for GetUserErrors {
    const STATUSES: &'static [(u16, &'static str)] = &[
        (
            400,
            "More than one `Authorization` header (`invalid_request`).",
        ),
        (401, "The bearer token is missing or not valid."),
        (
            403,
            "The token lacks a required scope or role, or the tenant is disabled.",
        ),
        (
            404,
            "No such tenant (`tenant_not_found`), or the caller has no ACS identity (`user_not_found`).",
        ),
        (
            429,
            "Too many requests for this tenant or user (`rate_limited`); see `Retry-After`.",
        ),
        (
            503,
            "The identity provider or the store is unavailable; see `Retry-After`.",
        ),
    ];
}

pub struct ExchangeTokenErrors;
impl ErrorSet for ExchangeTokenErrors {
    const STATUSES: &'static [(u16, &'static str)] = &[
        (
            400,
            "No Teams token, a body that is not valid, a tenant that is not Entra ID (`exchange_not_supported`), or ACS refused the Teams token (`teams_token_rejected`).",
        ),
        (401, "The bearer token is missing or not valid."),
        (
            403,
            "The token lacks a required scope or role, or the tenant is disabled.",
        ),
        (404, "No such tenant (`tenant_not_found`)."),
        (413, "The body is too large."),
        (415, "The body is not JSON."),
        (
            429,
            "Too many requests for this tenant or user (`rate_limited`); see `Retry-After`.",
        ),
        (502, "ACS refused the call (`acs_error`)."),
        (
            503,
            "ACS is throttling or unavailable, or the identity provider is unavailable; see `Retry-After`.",
        ),
        (504, "ACS did not answer in time."),
    ];
}

#[derive(ApiResponse)]
pub enum ExchangeTokenResponseKind {
    /// An ACS token for the Teams user.
    #[oai(status = 200)]
    Ok(JsonBody<ExchangeTokenResponse>),
}

#[derive(ApiResponse)]
pub enum GetTokenResponse {
    /// A token for the caller's existing ACS identity.
    #[oai(status = 200)]
    Ok(JsonBody<TokenResponse>),
    /// The caller's ACS identity was created by this call; here is its first token.
    #[oai(status = 201)]
    Created(JsonBody<TokenResponse>),
}

#[derive(ApiResponse)]
pub enum DeleteUserResponse {
    /// The caller's ACS identity and its mapping are deleted.
    #[oai(status = 204)]
    Deleted,
    /// The mapping is deleted; ACS did not confirm the identity's deletion yet, and it is
    /// retried in the background until it succeeds.
    #[oai(status = 202)]
    Accepted,
}

#[derive(ApiResponse)]
pub enum GetUserResponse {
    /// The caller's ACS identity.
    #[oai(status = 200)]
    Ok(JsonBody<UserResponse>),
}

pub struct TokensApi {
    pub state: AppState,
}

#[OpenApi]
impl TokensApi {
    /// Get an ACS token for the signed-in user
    ///
    /// Verifies the caller's access token with the tenant's identity provider, creates the
    /// user's ACS identity on first use (201), and returns an ACS access token for it.
    #[oai(
        path = "/tenants/:tenant/getToken",
        method = "post",
        operation_id = "getToken",
        tag = "ApiTags::Tokens"
    )]
    async fn get_token(
        &self,
        req: &Request,
        /// The tenant's id.
        tenant: Path<String>,
        auth: BearerAuth,
        body: OptionalJson<GetTokenRequest>,
    ) -> Result<GetTokenResponse, ApiError<GetTokenErrors>> {
        let tenant = tenant_by_id(&self.state, &tenant.0)?;
        self.get_token_for(&tenant, &auth, body, req).await
    }

    /// Delete the signed-in user's ACS identity
    ///
    /// Removes the mapping and deletes the ACS identity (which revokes its tokens). 202 when
    /// ACS did not confirm yet: the deletion is then retried until it succeeds.
    #[oai(
        path = "/tenants/:tenant/deleteUser",
        method = "delete",
        operation_id = "deleteUser",
        tag = "ApiTags::Tokens"
    )]
    async fn delete_user(
        &self,
        req: &Request,
        /// The tenant's id.
        tenant: Path<String>,
        auth: BearerAuth,
    ) -> Result<DeleteUserResponse, ApiError<DeleteUserErrors>> {
        let tenant = tenant_by_id(&self.state, &tenant.0)?;
        self.delete_user_for(&tenant, &auth, req).await
    }

    /// Look up the signed-in user's ACS identity
    #[oai(
        path = "/tenants/:tenant/user",
        method = "get",
        operation_id = "getUser",
        tag = "ApiTags::Tokens"
    )]
    async fn get_user(
        &self,
        req: &Request,
        /// The tenant's id.
        tenant: Path<String>,
        auth: BearerAuth,
    ) -> Result<GetUserResponse, ApiError<GetUserErrors>> {
        let tenant = tenant_by_id(&self.state, &tenant.0)?;
        let who = authorize(&self.state, req, &tenant, &auth).await?;
        let mapping = self.state.tokens.get_user(&tenant, &who).await?;
        Ok(GetUserResponse::Ok(JsonBody(UserResponse {
            communication_user_id: mapping.acs_user_id,
            created_at: mapping.created_at.into(),
        })))
    }

    /// Exchange a Teams user's Entra ID token for an ACS token
    ///
    /// For Entra ID tenants. The caller's bearer token is verified by the tenant's provider;
    /// the Teams user's Entra token comes in the body (`{"token": "…"}`) or, as in the seed, in
    /// the `teams-user-aad-token` header. ACS checks it against the tenant's client id and the
    /// caller's object id.
    #[oai(
        path = "/tenants/:tenant/exchangeToken",
        method = "post",
        operation_id = "exchangeToken",
        tag = "ApiTags::Tokens"
    )]
    async fn exchange_token(
        &self,
        req: &Request,
        /// The tenant's id.
        tenant: Path<String>,
        auth: BearerAuth,
        /// The Teams user's Entra ID token (seed-compatible; the body is preferred).
        #[oai(name = "teams-user-aad-token")]
        teams_header: Header<Option<String>>,
        body: OptionalJson<ExchangeTokenRequest>,
    ) -> Result<ExchangeTokenResponseKind, ApiError<ExchangeTokenErrors>> {
        let tenant = tenant_by_id(&self.state, &tenant.0)?;
        self.exchange_for(&tenant, &auth, teams_header.0, body, req)
            .await
    }

    /// Exchange a Teams user's token (seed-compatible path)
    #[oai(
        path = "/exchangeToken",
        method = "post",
        operation_id = "exchangeTokenDefaultTenant",
        tag = "ApiTags::Seed"
    )]
    async fn exchange_token_bare(
        &self,
        req: &Request,
        auth: BearerAuth,
        /// The Teams user's Entra ID token (seed-compatible; the body is preferred).
        #[oai(name = "teams-user-aad-token")]
        teams_header: Header<Option<String>>,
        body: OptionalJson<ExchangeTokenRequest>,
    ) -> Result<ExchangeTokenResponseKind, ApiError<ExchangeTokenErrors>> {
        let tenant = tenant_for_token(&self.state, &auth.0.token)?;
        self.exchange_for(&tenant, &auth, teams_header.0, body, req)
            .await
    }

    /// Get an ACS token (seed-compatible path)
    ///
    /// As getToken; the tenant is the one whose identity provider issued the token, or the
    /// configured default tenant.
    #[oai(
        path = "/getToken",
        method = "post",
        operation_id = "getTokenDefaultTenant",
        tag = "ApiTags::Seed"
    )]
    async fn get_token_bare(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: OptionalJson<GetTokenRequest>,
    ) -> Result<GetTokenResponse, ApiError<GetTokenErrors>> {
        let tenant = tenant_for_token(&self.state, &auth.0.token)?;
        self.get_token_for(&tenant, &auth, body, req).await
    }

    /// Delete the caller's ACS identity (seed-compatible path)
    #[oai(
        path = "/deleteUser",
        method = "delete",
        operation_id = "deleteUserDefaultTenant",
        tag = "ApiTags::Seed"
    )]
    async fn delete_user_bare(
        &self,
        req: &Request,
        auth: BearerAuth,
    ) -> Result<DeleteUserResponse, ApiError<DeleteUserErrors>> {
        let tenant = tenant_for_token(&self.state, &auth.0.token)?;
        self.delete_user_for(&tenant, &auth, req).await
    }
}

impl TokensApi {
    async fn get_token_for(
        &self,
        tenant: &Tenant,
        auth: &BearerAuth,
        body: OptionalJson<GetTokenRequest>,
        req: &Request,
    ) -> Result<GetTokenResponse, ApiError<GetTokenErrors>> {
        let request_id = request_id(req);
        let who = authorize(&self.state, req, tenant, auth).await?;
        let request = body
            .0
            .map(|b| TokenRequest {
                scopes: b
                    .scopes
                    .map(|s| s.into_iter().map(|s| s.as_str().to_owned()).collect()),
                expires_in_minutes: b.expires_in_minutes,
            })
            .unwrap_or_default();
        let issued = self
            .state
            .tokens
            .get_token(tenant, &who, request, request_id)
            .await?;
        let created = issued.created;
        let body = JsonBody(token_response(issued));
        Ok(if created {
            GetTokenResponse::Created(body)
        } else {
            GetTokenResponse::Ok(body)
        })
    }

    async fn delete_user_for(
        &self,
        tenant: &Tenant,
        auth: &BearerAuth,
        req: &Request,
    ) -> Result<DeleteUserResponse, ApiError<DeleteUserErrors>> {
        let request_id = request_id(req);
        let who = authorize(&self.state, req, tenant, auth).await?;
        Ok(
            match self
                .state
                .tokens
                .delete_user(tenant, &who, request_id)
                .await?
            {
                DeleteOutcome::Deleted => DeleteUserResponse::Deleted,
                DeleteOutcome::Queued => DeleteUserResponse::Accepted,
            },
        )
    }
}

impl TokensApi {
    async fn exchange_for(
        &self,
        tenant: &Tenant,
        auth: &BearerAuth,
        header: Option<String>,
        body: OptionalJson<ExchangeTokenRequest>,
        req: &Request,
    ) -> Result<ExchangeTokenResponseKind, ApiError<ExchangeTokenErrors>> {
        let teams_token = match (body.0.map(|b| b.token), header) {
            (Some(t), _) | (None, Some(t)) if !t.trim().is_empty() => t,
            _ => {
                return Err(ErrorInfo::new(
                    StatusCode::BAD_REQUEST,
                    ProblemCode::TeamsTokenMissing,
                    "The Teams user's token is missing",
                )
                .detail("Send it as `{\"token\": \"…\"}` or in the `teams-user-aad-token` header.")
                .into());
            }
        };
        let request_id = request_id(req);
        let who = authorize(&self.state, req, tenant, auth).await?;
        let token = self
            .state
            .tokens
            .exchange_teams_token(tenant, &who, teams_token.trim(), request_id)
            .await?;
        Ok(ExchangeTokenResponseKind::Ok(JsonBody(
            ExchangeTokenResponse {
                token: token.token.expose_secret().to_owned(),
                expires_on: token.expires_on.into(),
            },
        )))
    }
}

/// The request id the edge middleware assigned (see `error::problem_middleware`).
pub fn request_id(req: &Request) -> Option<&str> {
    req.header(super::error::REQUEST_ID_HEADER)
}

fn token_response(issued: IssuedToken) -> TokenResponse {
    TokenResponse {
        token: issued.token.expose_secret().to_owned(),
        expires_on: issued.expires_on.into(),
        user: CommunicationUser {
            communication_user_id: issued.acs_user_id,
        },
    }
}
