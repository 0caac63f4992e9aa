//! The admin API's setup links (`/admin/tenants/{id}/setupLinks`): make one for a tenant (new
//! or stored), list them, revoke one, activate what a customer submitted through one. The
//! portal the links open is `super::setup`.

use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use secrecy::ExposeSecret;

use super::admin::{
    AdminKey, AdminLinkChangeErrors, AdminLinkCreateErrors, AdminLinkReadErrors, AdminReadErrors,
    AdminResult, ApiTags, view,
};
use super::admin_dto::TenantView;
use super::extract::OptionalJson;
use super::timestamp::Timestamp;
use crate::service::SetupLinks;
use crate::service::setup_links::{LinkOptions, LinkState, SetupLink};

/// A setup link to make.
#[derive(Debug, Clone, Default, Object)]
#[oai(skip_serializing_if_is_none, example)]
pub struct SetupLinkRequest {
    /// Hours until the link expires, 1–720 (default `setup.link_lifetime_hours`, 168).
    #[oai(validator(minimum(value = "1"), maximum(value = "720")))]
    pub expires_in_hours: Option<u32>,
    /// Activate a submitted configuration at once, without the operator (default false).
    pub auto_activate: Option<bool>,
    /// The display name of the tenant the link creates, when the tenant does not exist yet.
    #[oai(validator(max_length = 255))]
    pub display_name: Option<String>,
}

impl poem_openapi::types::Example for SetupLinkRequest {
    fn example() -> Self {
        Self {
            expires_in_hours: Some(168),
            auto_activate: Some(false),
            display_name: Some("Contoso".into()),
        }
    }
}

/// A new setup link. `url` carries its secret: this is the only time it is shown.
#[derive(Debug, Clone, Object)]
pub struct SetupLinkCreated {
    pub id: String,
    /// Send this to the customer's IT admin (it is a credential for this tenant's setup).
    pub url: String,
    pub expires_at: Timestamp,
}

/// Where a setup link is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SetupLinkState {
    /// Usable; nothing submitted yet.
    Open,
    /// A configuration waits for activation (a new submission replaces it).
    Submitted,
    /// The submitted configuration is the tenant's provider; the link is spent.
    Activated,
    Revoked,
    Expired,
}

impl From<LinkState> for SetupLinkState {
    fn from(state: LinkState) -> Self {
        match state {
            LinkState::Open => Self::Open,
            LinkState::Submitted => Self::Submitted,
            LinkState::Activated => Self::Activated,
            LinkState::Revoked => Self::Revoked,
            LinkState::Expired => Self::Expired,
        }
    }
}

/// A setup link (never its secret).
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SetupLinkView {
    pub id: String,
    pub tenant_id: String,
    pub state: SetupLinkState,
    pub auto_activate: bool,
    /// The display name of the tenant the link creates.
    pub display_name: Option<String>,
    pub created_by: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// The first time the customer opened it.
    pub opened_at: Option<Timestamp>,
    /// The latest submission.
    pub submitted_at: Option<Timestamp>,
    pub activated_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    /// The submitted provider configuration (pending until activated).
    pub pending_provider: Option<acs_auth_providers::ProviderConfig>,
}

fn link_view(link: SetupLink) -> SetupLinkView {
    SetupLinkView {
        state: link.state.into(),
        id: link.id,
        tenant_id: link.tenant_id,
        auto_activate: link.auto_activate,
        display_name: link.display_name,
        created_by: link.created_by,
        created_at: link.created_at.into(),
        expires_at: link.expires_at.into(),
        opened_at: link.opened_at.map(Into::into),
        submitted_at: link.submitted_at.map(Into::into),
        activated_at: link.activated_at.map(Into::into),
        revoked_at: link.revoked_at.map(Into::into),
        pending_provider: link.pending,
    }
}

#[derive(ApiResponse)]
pub enum SetupLinkCreatedOk {
    /// The link is stored; send `url` to the customer.
    #[oai(status = 201)]
    Created(Json<SetupLinkCreated>),
}

#[derive(ApiResponse)]
pub enum SetupLinksOk {
    #[oai(status = 200)]
    Ok(Json<Vec<SetupLinkView>>),
}

#[derive(ApiResponse)]
pub enum SetupLinkOk {
    #[oai(status = 200)]
    Ok(Json<SetupLinkView>),
}

#[derive(ApiResponse)]
pub enum SetupLinkActivated {
    /// The submitted configuration is the tenant's provider, served at once.
    #[oai(status = 200)]
    Ok(Json<TenantView>),
}

pub struct SetupLinksApi {
    pub setup: SetupLinks,
}

/// The address links are made with: `setup.public_url`, else the admin request's own host
/// (`http` on loopback, `https` elsewhere).
fn base_url(setup: &SetupLinks, req: &Request) -> String {
    if let Some(url) = &setup.settings().public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = req
        .header(poem::http::header::HOST)
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    let loopback = super::setup::is_loopback_host(host);
    let scheme = if loopback { "http" } else { "https" };
    format!("{scheme}://{host}")
}

#[OpenApi(prefix_path = "/admin", tag = "ApiTags::Admin")]
impl SetupLinksApi {
    /// Make a setup link for a tenant
    ///
    /// The customer's IT admin opens the link, connects their identity provider, tests it and
    /// submits; the configuration then waits for activation (or takes effect at once with
    /// `auto_activate`). The tenant may be a stored one (its provider is replaced on activation)
    /// or one that does not exist yet (activation creates it). The link's secret is in `url`
    /// only: it is stored as a hash.
    #[oai(
        path = "/tenants/:id/setupLinks",
        method = "post",
        operation_id = "adminCreateSetupLink"
    )]
    async fn create_link(
        &self,
        key: AdminKey,
        req: &Request,
        /// The tenant: a stored one, or the slug of one the link creates.
        #[oai(validator(pattern = "^[a-z0-9][a-z0-9-]{0,63}$"))]
        id: Path<String>,
        body: OptionalJson<SetupLinkRequest>,
    ) -> AdminResult<SetupLinkCreatedOk, AdminLinkCreateErrors> {
        let body = body.0.unwrap_or_default();
        let options = LinkOptions {
            lifetime_hours: body.expires_in_hours,
            auto_activate: body.auto_activate.unwrap_or(false),
            display_name: body.display_name,
        };
        let created = self.setup.create(&id.0, options, &key.0).await?;
        let url = format!(
            "{}/setup?link={}",
            base_url(&self.setup, req),
            created.secret.expose_secret()
        );
        Ok(SetupLinkCreatedOk::Created(Json(SetupLinkCreated {
            id: created.link.id,
            url,
            expires_at: created.link.expires_at.into(),
        })))
    }

    /// List a tenant's setup links, newest first
    #[oai(
        path = "/tenants/:id/setupLinks",
        method = "get",
        operation_id = "adminListSetupLinks"
    )]
    async fn list_links(
        &self,
        _key: AdminKey,
        id: Path<String>,
    ) -> AdminResult<SetupLinksOk, AdminReadErrors> {
        let links = self.setup.list(&id.0).await?;
        Ok(SetupLinksOk::Ok(Json(
            links.into_iter().map(link_view).collect(),
        )))
    }

    /// Get a setup link, with the configuration submitted through it
    #[oai(
        path = "/tenants/:id/setupLinks/:link",
        method = "get",
        operation_id = "adminGetSetupLink"
    )]
    async fn get_link(
        &self,
        _key: AdminKey,
        id: Path<String>,
        link: Path<String>,
    ) -> AdminResult<SetupLinkOk, AdminLinkReadErrors> {
        let link = self.setup.get(&id.0, &link.0).await?;
        Ok(SetupLinkOk::Ok(Json(link_view(link))))
    }

    /// Revoke a setup link (the portal refuses it from then on)
    #[oai(
        path = "/tenants/:id/setupLinks/:link",
        method = "delete",
        operation_id = "adminRevokeSetupLink"
    )]
    async fn revoke_link(
        &self,
        key: AdminKey,
        id: Path<String>,
        link: Path<String>,
    ) -> AdminResult<SetupLinkOk, AdminLinkChangeErrors> {
        let link = self.setup.revoke(&id.0, &link.0, &key.0).await?;
        Ok(SetupLinkOk::Ok(Json(link_view(link))))
    }

    /// Activate the configuration submitted through a setup link
    ///
    /// The submitted provider becomes the tenant's (a new tenant is created with the default
    /// token policy), served at once; the link is spent. A submission can be activated after
    /// the link expired, never after it was revoked.
    #[oai(
        path = "/tenants/:id/setupLinks/:link/activate",
        method = "post",
        operation_id = "adminActivateSetupLink"
    )]
    async fn activate_link(
        &self,
        key: AdminKey,
        id: Path<String>,
        link: Path<String>,
    ) -> AdminResult<SetupLinkActivated, AdminLinkChangeErrors> {
        let record = self.setup.activate(&id.0, &link.0, &key.0).await?;
        Ok(SetupLinkActivated::Ok(Json(view(&record)?)))
    }
}
