//! The self-service onboarding portal under `/setup` (docs/onboarding-portal.md): a customer's
//! IT admin opens a setup link (`/setup?link=…`), picks their kind of identity provider, follows
//! its guidance, enters the values (checked live with the API's own field-named messages), tests
//! the connection and a sign-in, and submits. Server-rendered HTML; one small script for the
//! live checks, and the page works without it.
//!
//! Hardening: the link's secret travels in the query and in a hidden field, never in the path
//! (paths are what the access and failure logs write); every form is protected by a
//! double-submit cookie and an `Origin` check; the pages carry a strict Content-Security-Policy,
//! `Referrer-Policy: same-origin` (the link never leaves in a `Referer`; browsers still send
//! this server its own `Origin`), `Cache-Control: no-store` and may not be framed; no admin key
//! is ever in a page; unknown links count as failed authentication for the client's address;
//! the actions that make this server fetch from the network take the admin API's per-address
//! limit. A link reaches nothing but its own tenant: the tenant comes from the stored link,
//! never from the form.

mod form;
mod guide;
mod page;

use std::sync::Arc;

use acs_auth_providers::ProviderConfig;
use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Body, EndpointExt, Request, Response, Route};
use subtle::ConstantTimeEq;

use super::body::BodySchemas;
use crate::domain::TrustedProxies;
use crate::service::setup_links::{LinkState, PortalError, SetupLink};
use crate::service::{Actor, RateLimits, ServiceError, SetupLinks};
use crate::state::AppState;
use form::{FormData, Kind, form_field};
use page::{Message, Notice, Page};

const CSS: &str = include_str!("assets/portal.css");
const JS: &str = include_str!("assets/portal.js");
const CSRF_COOKIE: &str = "acs_setup_csrf";
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What the portal's endpoints share.
pub struct Portal {
    setup: SetupLinks,
    limits: RateLimits,
    trusted_proxies: TrustedProxies,
}

impl Portal {
    /// The portal of `state`, when `setup.enabled`.
    pub fn of(state: &AppState) -> Option<Self> {
        state.setup.settings().enabled.then(|| Self {
            setup: state.setup.clone(),
            limits: state.limits.clone(),
            trusted_proxies: state.trusted_proxies.clone(),
        })
    }
}

/// The portal's routes, added to `route`.
pub fn routes(route: Route, portal: Portal) -> Route {
    let portal = Arc::new(portal);
    let page = Arc::clone(&portal);
    let validate = portal;
    route
        .at(
            "/setup",
            poem::endpoint::make(move |req| {
                let portal = Arc::clone(&page);
                async move { portal.page(req).await }
            })
            .map_to_response(),
        )
        .at(
            "/setup/validate",
            poem::endpoint::make(move |req| {
                let portal = Arc::clone(&validate);
                async move { portal.validate(req).await }
            })
            .map_to_response(),
        )
        .at(
            "/setup/portal.css",
            poem::endpoint::make_sync(|_| asset(CSS, "text/css; charset=utf-8")),
        )
        .at(
            "/setup/portal.js",
            poem::endpoint::make_sync(|_| asset(JS, "text/javascript; charset=utf-8")),
        )
}

fn asset(text: &'static str, content_type: &'static str) -> Response {
    Response::builder()
        .content_type(content_type)
        .header(header::CACHE_CONTROL, "public, max-age=3600")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(text)
}

/// Whether `host` (a `Host` header: name and optional port) is this machine: the loopback rule
/// of the CORS settings ([`crate::config::is_loopback_origin`]) on the origin it names.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let origin = |text: String| url::Url::parse(&text).ok().map(|u| u.origin());
    // A bare IPv6 address (`::1`) is taken as the bracketed one.
    origin(format!("http://{host}"))
        .or_else(|| origin(format!("http://[{host}]")))
        .is_some_and(|o| crate::config::is_loopback_origin(&o.ascii_serialization()))
}

fn html(status: StatusCode, markup: maud::Markup, cookie: Option<String>) -> Response {
    let mut resp = Response::builder()
        .status(status)
        .content_type("text/html; charset=utf-8")
        .header("content-security-policy", CSP)
        .header("referrer-policy", "same-origin")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header("x-frame-options", "DENY")
        .header(header::CACHE_CONTROL, "no-store")
        .body(markup.into_string());
    if let Some(cookie) = cookie
        && let Ok(v) = HeaderValue::from_str(&cookie)
    {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

fn closed_page(status: StatusCode, title: &str, message: &str, ok: bool) -> Response {
    html(status, page::closed(title, message, ok), None)
}

fn unknown_link() -> Response {
    closed_page(
        StatusCode::NOT_FOUND,
        "This setup link is not valid",
        "Check that you opened the whole link you were sent, or ask your service provider for a new one.",
        false,
    )
}

fn closed_link(link: &SetupLink) -> Response {
    match link.state {
        LinkState::Activated => closed_page(
            StatusCode::GONE,
            "Your identity provider is connected",
            "This setup link has been used: the configuration is active and your users can sign in. Ask your service provider for a new link to change it.",
            true,
        ),
        LinkState::Revoked => closed_page(
            StatusCode::GONE,
            "This setup link was revoked",
            "Ask your service provider for a new link.",
            false,
        ),
        _ => closed_page(
            StatusCode::GONE,
            "This setup link has expired",
            "Ask your service provider for a new link. A configuration you submitted before it expired may still be activated.",
            false,
        ),
    }
}

fn unavailable() -> Response {
    closed_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "The service is temporarily unavailable",
        "Please try again in a minute.",
        false,
    )
}

fn too_many() -> Response {
    closed_page(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many attempts",
        "Please wait a minute, then reload the page.",
        false,
    )
}

fn forbidden() -> Response {
    closed_page(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "Open your setup link again and repeat the last step (cookies must be allowed for this page).",
        false,
    )
}

fn method_not_allowed(allow: &'static str) -> Response {
    let mut resp = closed_page(
        StatusCode::METHOD_NOT_ALLOWED,
        "Not allowed",
        "Open your setup link in a browser.",
        false,
    );
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    resp
}

/// A fresh CSRF token, or the browser's own when it has a well-formed one (several tabs).
fn csrf_token(req: &Request) -> (String, bool) {
    match cookie(req, CSRF_COOKIE) {
        Some(existing) if crate::secrets::is_token_shaped(&existing) => (existing, false),
        _ => (crate::secrets::random_token(), true),
    }
}

fn cookie(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
}

fn host(req: &Request) -> &str {
    req.header(header::HOST).unwrap_or("")
}

fn csrf_cookie(req: &Request, token: &str) -> String {
    let secure = if is_loopback_host(host(req)) {
        ""
    } else {
        "; Secure"
    };
    format!("{CSRF_COOKIE}={token}; Path=/setup; HttpOnly; SameSite=Strict{secure}")
}

/// The double-submit check, and that a browser's `Origin` (when it names one) is this server:
/// the request's host or `setup.public_url`. An opaque origin (`null`, which some browsers and
/// privacy settings send) is left to the cookie, which `SameSite=Strict` keeps from other sites.
fn csrf_ok(req: &Request, form: &FormData, public_url: Option<&str>) -> bool {
    if let Some(origin) = req.header(header::ORIGIN)
        && origin != "null"
    {
        let same = url::Url::parse(origin).ok().is_some_and(|o| {
            let authority = match o.port() {
                Some(port) => format!("{}:{port}", o.host_str().unwrap_or("")),
                None => o.host_str().unwrap_or("").to_owned(),
            };
            let public = public_url
                .and_then(|p| url::Url::parse(p).ok())
                .is_some_and(|p| p.origin() == o.origin());
            public || authority.eq_ignore_ascii_case(host(req))
        });
        if !same {
            return false;
        }
    }
    let sent = form.get("csrf");
    match cookie(req, CSRF_COOKIE) {
        Some(kept) if !sent.is_empty() => kept.as_bytes().ct_eq(sent.as_bytes()).into(),
        _ => false,
    }
}

fn actor(req: &Request) -> Actor {
    Actor {
        name: "setup-portal".into(),
        request_id: super::tokens::request_id(req).map(str::to_owned),
    }
}

/// What one press of a button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Choose,
    Check,
    TestConnection,
    TestSignIn,
    Submit,
}

impl Action {
    fn parse(value: &str) -> Action {
        match value {
            "check" => Action::Check,
            "test_connection" => Action::TestConnection,
            "test_sign_in" => Action::TestSignIn,
            "submit" => Action::Submit,
            _ => Action::Choose,
        }
    }

    /// Whether it makes this server fetch from the network (or write).
    fn is_costly(self) -> bool {
        matches!(
            self,
            Action::TestConnection | Action::TestSignIn | Action::Submit
        )
    }
}

/// The form's messages for a refused configuration.
fn messages_of(kind: Kind, errors: Vec<super::problem::FieldError>) -> Vec<Message> {
    errors
        .into_iter()
        .map(|e| message(kind, &e.field, &e.message))
        .collect()
}

fn message(kind: Kind, field: &str, text: &str) -> Message {
    if let Some(name) = form_field(kind, field) {
        return Message {
            field: Some(name),
            text: text.to_owned(),
        };
    }
    // The Entra ID and B2C checks name their field in the message: `aad directory: …`.
    if let Some((head, rest)) = text.split_once(": ")
        && let Some(named) = head
            .strip_prefix("aad_b2c ")
            .or_else(|| head.strip_prefix("aad "))
        && let Some(name) = form_field(kind, named)
    {
        return Message {
            field: Some(name),
            text: rest.to_owned(),
        };
    }
    let text = match field {
        "" | "body" | "provider" => text.to_owned(),
        other => format!("`{other}`: {text}"),
    };
    Message { field: None, text }
}

/// What a form's values make, checked as the API and activation check them.
enum Checked {
    Valid(ProviderConfig),
    Invalid(Vec<Message>),
}

impl Portal {
    fn client(&self, req: &Request) -> Option<std::net::IpAddr> {
        super::auth::client_addr_with(&self.trusted_proxies, req)
    }

    async fn page(&self, mut req: Request) -> Response {
        if let Some(ip) = self.client(&req)
            && self.limits.check_failed_auth(ip).is_err()
        {
            return too_many();
        }
        match *req.method() {
            Method::GET | Method::HEAD => self.show(&req).await,
            Method::POST => {
                let body = req.take_body().into_bytes().await.unwrap_or_default();
                self.act(&req, &body).await
            }
            _ => method_not_allowed("GET, HEAD, POST"),
        }
    }

    /// Opens the link; a response when it cannot be used.
    async fn open(&self, req: &Request, secret: &str) -> Result<SetupLink, Response> {
        match self.setup.open(secret, &actor(req)).await {
            Ok(link) => Ok(link),
            Err(PortalError::Unknown) => {
                if let Some(ip) = self.client(req) {
                    self.limits.charge_failed_auth(ip);
                }
                Err(unknown_link())
            }
            Err(PortalError::Closed(link)) => Err(closed_link(&link)),
            Err(PortalError::Service(e)) => Err(service_failure(&e)),
        }
    }

    async fn show(&self, req: &Request) -> Response {
        let query = FormData::parse(req.uri().query().unwrap_or("").as_bytes());
        let secret = query.get("link").to_owned();
        let link = match self.open(req, &secret).await {
            Ok(link) => link,
            Err(resp) => return resp,
        };
        let form = link
            .pending
            .as_ref()
            .map(FormData::from_provider)
            .unwrap_or_default();
        let (csrf, fresh) = csrf_token(req);
        let tenant_name = self.setup.tenant_name(&link).await;
        let view = Page {
            link: &link,
            tenant_name: &tenant_name,
            secret: &secret,
            csrf: &csrf,
            kind: form.kind(),
            form: &form,
            messages: &[],
            notice: None,
            connection: None,
            sign_in: None,
        };
        let cookie = fresh.then(|| csrf_cookie(req, &csrf));
        html(StatusCode::OK, page::portal(&view), cookie)
    }

    /// The configuration the form describes, or why not.
    async fn check(
        &self,
        req: &Request,
        link: &SetupLink,
        form: &FormData,
        kind: Kind,
    ) -> Result<Checked, ServiceError> {
        let value = form.provider(kind);
        if let Some(schemas) = req.data::<Arc<BodySchemas>>() {
            let errors = schemas.check("ProviderBody", &value);
            if !errors.is_empty() {
                return Ok(Checked::Invalid(messages_of(kind, errors)));
            }
        }
        let provider: ProviderConfig = match serde_json::from_value(value) {
            Ok(p) => p,
            Err(e) => {
                return Ok(Checked::Invalid(vec![message(kind, "", &e.to_string())]));
            }
        };
        match self.setup.validate(link, provider.clone()).await {
            Ok(_) => Ok(Checked::Valid(provider)),
            Err(ServiceError::TenantInvalid { key, message: text }) => {
                Ok(Checked::Invalid(vec![message(kind, &key, &text)]))
            }
            Err(e) => Err(e),
        }
    }

    async fn act(&self, req: &Request, body: &[u8]) -> Response {
        if !is_form(req) {
            return closed_page(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Not a form",
                "Open your setup link in a browser.",
                false,
            );
        }
        let mut form = FormData::parse(body);
        if !csrf_ok(req, &form, self.setup.settings().public_url.as_deref()) {
            return forbidden();
        }
        let secret = form.get("link").to_owned();
        let link = match self.open(req, &secret).await {
            Ok(link) => link,
            Err(resp) => return resp,
        };
        let action = Action::parse(form.get("action"));
        if action.is_costly()
            && let Some(ip) = self.client(req)
            && self.limits.check_admin(ip).is_err()
        {
            return too_many();
        }
        let kind = form.kind();
        let token = form.get("token").to_owned();
        form.set("token", String::new());
        let mut messages = Vec::new();
        let mut notice = None;
        let mut connection = None;
        let mut sign_in = None;
        let mut current = link.clone();
        match (kind, action) {
            (None, _) => notice = Some(Notice::Bad("Choose your identity provider first.".into())),
            (Some(kind), Action::Choose) => {
                // Coming back to the kind already submitted: its values again.
                if let Some(pending) = &link.pending
                    && FormData::from_provider(pending).kind() == Some(kind)
                {
                    form = FormData::from_provider(pending);
                }
            }
            (Some(kind), action) => {
                let checked = match self.check(req, &link, &form, kind).await {
                    Ok(c) => c,
                    Err(e) => return service_failure(&e),
                };
                match checked {
                    Checked::Invalid(found) => {
                        messages = found;
                        notice = Some(Notice::Bad(
                            "Some values need attention: see the messages below.".into(),
                        ));
                    }
                    Checked::Valid(provider) => match action {
                        Action::Choose | Action::Check => {
                            notice = Some(Notice::Ok("The values are valid.".into()));
                        }
                        Action::TestConnection => {
                            match self.setup.test_connection(&link, provider).await {
                                Ok(checks) => connection = Some(checks),
                                Err(e) => return service_failure(&e),
                            }
                        }
                        Action::TestSignIn if token.is_empty() => {
                            notice = Some(Notice::Bad(
                                "Paste an access token to test a sign-in.".into(),
                            ));
                        }
                        Action::TestSignIn => {
                            match self
                                .setup
                                .test_sign_in(&link, provider, &token, &actor(req))
                                .await
                            {
                                Ok(report) => sign_in = Some(report),
                                Err(e) => return service_failure(&e),
                            }
                        }
                        Action::Submit => {
                            match self.setup.submit(&link, provider, &actor(req)).await {
                                Ok(done) if done.activated.is_some() => {
                                    return closed_page(
                                        StatusCode::OK,
                                        "Your identity provider is connected",
                                        "The configuration is active: your users can sign in now. You can close this page.",
                                        true,
                                    );
                                }
                                // The state banner says it was submitted, and when.
                                Ok(done) => current = done.link,
                                Err(PortalError::Closed(closed)) => return closed_link(&closed),
                                Err(PortalError::Unknown) => return unknown_link(),
                                Err(PortalError::Service(ServiceError::TenantInvalid {
                                    key,
                                    message: text,
                                })) => {
                                    messages = vec![message(kind, &key, &text)];
                                }
                                Err(PortalError::Service(e)) => return service_failure(&e),
                            }
                        }
                    },
                }
            }
        }
        let tenant_name = self.setup.tenant_name(&current).await;
        let csrf = form.get("csrf").to_owned();
        let view = Page {
            link: &current,
            tenant_name: &tenant_name,
            secret: &secret,
            csrf: &csrf,
            kind: form.kind(),
            form: &form,
            messages: &messages,
            notice,
            connection: connection.as_deref(),
            sign_in: sign_in.as_ref(),
        };
        html(StatusCode::OK, page::portal(&view), None)
    }

    /// `POST /setup/validate`: the form's messages as JSON (`{"errors": {field: message},
    /// "general": [message]}`), for the live checks.
    async fn validate(&self, mut req: Request) -> Response {
        if req.method() != Method::POST {
            return method_not_allowed("POST");
        }
        if let Some(ip) = self.client(&req)
            && self.limits.check_failed_auth(ip).is_err()
        {
            return too_many();
        }
        if !is_form(&req) {
            return json(StatusCode::UNSUPPORTED_MEDIA_TYPE, serde_json::json!({}));
        }
        let body = req.take_body().into_bytes().await.unwrap_or_default();
        let form = FormData::parse(&body);
        if !csrf_ok(&req, &form, self.setup.settings().public_url.as_deref()) {
            return json(StatusCode::FORBIDDEN, serde_json::json!({}));
        }
        let link = match self.open(&req, form.get("link")).await {
            Ok(link) => link,
            Err(resp) => return json(resp.status(), serde_json::json!({})),
        };
        let Some(kind) = form.kind() else {
            return json(
                StatusCode::OK,
                serde_json::json!({"errors": {}, "general": []}),
            );
        };
        let messages = match self.check(&req, &link, &form, kind).await {
            Ok(Checked::Valid(_)) => Vec::new(),
            Ok(Checked::Invalid(found)) => found,
            Err(_) => return json(StatusCode::SERVICE_UNAVAILABLE, serde_json::json!({})),
        };
        let mut errors = serde_json::Map::new();
        let mut general = Vec::new();
        for m in messages {
            match m.field {
                Some(field) => {
                    errors
                        .entry(field)
                        .or_insert(serde_json::Value::String(m.text));
                }
                None => general.push(serde_json::Value::String(m.text)),
            }
        }
        json(
            StatusCode::OK,
            serde_json::json!({"errors": errors, "general": general}),
        )
    }
}

fn is_form(req: &Request) -> bool {
    req.header(header::CONTENT_TYPE)
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

fn json(status: StatusCode, value: serde_json::Value) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(Body::from_json(&value).unwrap_or_default())
}

fn service_failure(e: &ServiceError) -> Response {
    match e {
        ServiceError::TenantManagedByConfig(_) => closed_page(
            StatusCode::CONFLICT,
            "This tenant cannot be set up here",
            "Its configuration is managed by your service provider directly; ask them for help.",
            false,
        ),
        ServiceError::RateLimited { .. } => too_many(),
        other => {
            tracing::error!(error = %other, "the setup portal failed");
            unavailable()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised_with_and_without_a_port() {
        for host in [
            "localhost",
            "LOCALHOST:8080",
            "127.0.0.1",
            "127.0.0.1:3000",
            "[::1]:80",
            "::1",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in ["example.com", "10.0.0.1:80", "", "auth.example.com:443"] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn the_entra_checks_messages_land_under_the_field_they_name() {
        let m = message(
            Kind::EntraSingle,
            "provider",
            "aad directory: must be a GUID",
        );
        assert_eq!(m.field, Some("directory"));
        assert_eq!(m.text, "must be a GUID");
        let m = message(Kind::Oidc, "tokens.scopes", "unknown");
        assert_eq!(
            (m.field, m.text.as_str()),
            (None, "`tokens.scopes`: unknown")
        );
    }

    #[test]
    fn only_the_button_names_pick_an_action() {
        assert_eq!(Action::parse("submit"), Action::Submit);
        assert_eq!(Action::parse("anything"), Action::Choose);
        assert!(Action::TestConnection.is_costly());
        assert!(!Action::Check.is_costly());
    }
}
