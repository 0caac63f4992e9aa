//! Setup links and the onboarding portal: the admin API makes, lists, revokes and activates
//! links; the portal (`/setup?link=…`) lets the customer test and submit a configuration. A
//! link is bound to its tenant, expires, can be revoked, is spent by activation; the portal's
//! forms need their CSRF cookie; its pages are locked down; secrets never reach a log line.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TENANT, TestApp, assert_problem, spawn_app_with};

/// An app whose portal may use the loopback, plain-http test IdP (as `acs-auth dev`'s does).
async fn portal_app() -> TestApp {
    spawn_app_with(|s, _| {
        s.setup.allow_http_issuers = true;
        s.setup.allow_private_network_issuers = true;
    })
    .await
}

async fn create_link(app: &TestApp, tenant: &str, body: Value) -> Value {
    let resp = app
        .admin(Method::POST, &format!("/tenants/{tenant}/setupLinks"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    resp.json().await.unwrap()
}

fn secret_of(created: &Value) -> String {
    let url = created["url"].as_str().unwrap();
    url.split_once("/setup?link=").unwrap().1.to_owned()
}

/// One browser session on the portal: the link, the CSRF cookie and the form's CSRF value.
struct Portal<'a> {
    app: &'a TestApp,
    secret: String,
    cookie: String,
    csrf: String,
}

fn attribute_after<'h>(html: &'h str, marker: &str) -> Option<&'h str> {
    let rest = &html[html.find(marker)? + marker.len()..];
    rest.split('"').next()
}

/// Opens `url` as a browser would: the CSRF cookie it sets and the form's CSRF value.
async fn session(client: &reqwest::Client, url: &str) -> (String, String) {
    let resp = client.get(url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let cookie = resp.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = resp.text().await.unwrap();
    let csrf = attribute_after(&html, "name=\"csrf\" value=\"")
        .unwrap()
        .to_owned();
    (cookie, csrf)
}

async fn open<'a>(app: &'a TestApp, created: &Value) -> Portal<'a> {
    let url = created["url"].as_str().unwrap();
    assert!(url.starts_with(&app.address), "{url}");
    let (cookie, csrf) = session(&app.client, url).await;
    Portal {
        app,
        secret: secret_of(created),
        cookie,
        csrf,
    }
}

impl Portal<'_> {
    async fn post_to(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let mut form: Vec<(&str, &str)> = vec![("link", &self.secret), ("csrf", &self.csrf)];
        form.extend_from_slice(fields);
        let resp = self
            .app
            .client
            .post(self.app.url(path))
            .header("cookie", &self.cookie)
            .form(&form)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    async fn post(&self, fields: &[(&str, &str)]) -> (u16, String) {
        self.post_to("/setup", fields).await
    }

    /// The test IdP's values, and `action`.
    async fn oidc(&self, action: &str, extra: &[(&str, &str)]) -> (u16, String) {
        let issuer = self.app.idp.issuer();
        let audience = self.app.idp.audience();
        let mut fields = vec![
            ("kind", "oidc"),
            ("issuer", issuer.as_str()),
            ("audiences", audience.as_str()),
            ("action", action),
        ];
        fields.extend_from_slice(extra);
        self.post(&fields).await
    }
}

/// `(check, verdict)` of each check listed in the section `id` of the page.
fn verdicts(html: &str, id: &str) -> Vec<(String, String)> {
    let Some(start) = html.find(&format!("id=\"{id}\"")) else {
        return Vec::new();
    };
    let section = &html[start..];
    let section = &section[..section.find("</ul>").unwrap_or(section.len())];
    section
        .split("data-check=\"")
        .skip(1)
        .map(|part| {
            let (name, rest) = part.split_once('"').unwrap();
            let verdict = attribute_after(rest, "data-verdict=\"").unwrap();
            (name.to_owned(), verdict.to_owned())
        })
        .collect()
}

fn field_error<'h>(html: &'h str, field: &str) -> &'h str {
    let marker = format!("id=\"e-{field}\" aria-live=\"polite\">");
    let rest = &html[html.find(&marker).unwrap() + marker.len()..];
    rest.split('<').next().unwrap()
}

/// An admin API body for a stored OIDC tenant of `issuer`.
fn stored_tenant(id: &str, issuer: &str) -> Value {
    json!({
        "id": id,
        "provider": {
            "kind": "oidc", "issuer": issuer, "audiences": ["x"],
            "allow_http": true, "allow_private_network": true,
        },
    })
}

/// getToken for `tenant` with the user's `token`.
async fn user_get_token(app: &TestApp, tenant: &str, token: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/tenants/{tenant}/getToken")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// Opens the link's URL in a fresh browser (no cookie).
async fn visit(app: &TestApp, created: &Value) -> reqwest::Response {
    app.client
        .get(created["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
}

/// The operator activates the link's submission.
async fn activate(app: &TestApp, tenant: &str, id: &str) -> reqwest::Response {
    app.admin(
        Method::POST,
        &format!("/tenants/{tenant}/setupLinks/{id}/activate"),
    )
    .send()
    .await
    .unwrap()
}

async fn link_view(app: &TestApp, tenant: &str, id: &str) -> Value {
    app.admin_json(Method::GET, &format!("/tenants/{tenant}/setupLinks/{id}"))
        .await
}

async fn audit_actions(app: &TestApp, tenant: &str) -> Vec<String> {
    let page = app
        .admin_json(Method::GET, &format!("/audit?tenant={tenant}"))
        .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_customer_connects_their_idp_and_the_operator_activates_it() {
    let app = portal_app().await;
    let created = create_link(&app, "globex", json!({"display_name": "Globex Corp"})).await;
    let id = created["id"].as_str().unwrap();
    assert!(created["expires_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(link_view(&app, "globex", id).await["state"], "open");

    let portal = open(&app, &created).await;
    assert_eq!(link_view(&app, "globex", id).await["state"], "open");
    assert!(link_view(&app, "globex", id).await["opened_at"].is_string());

    let (status, html) = portal.oidc("test_connection", &[]).await;
    assert_eq!(status, 200);
    let checks = verdicts(&html, "connection-result");
    assert!(!checks.is_empty(), "{html}");
    assert!(checks.iter().all(|(_, v)| v == "pass"), "{checks:?}");

    let token = app.idp.token("alice");
    let (status, html) = portal.oidc("test_sign_in", &[("token", &token)]).await;
    assert_eq!(status, 200);
    let checks = verdicts(&html, "sign-in-result");
    assert_eq!(checks.len(), 14, "{checks:?}");
    assert!(checks.iter().all(|(_, v)| v == "pass"), "{checks:?}");
    assert!(
        !html.contains(&token),
        "the token is not echoed into the page"
    );
    assert!(
        app.mappings().await.is_empty(),
        "a sign-in test issues nothing"
    );

    let (status, html) = portal.oidc("submit", &[]).await;
    assert_eq!(status, 200);
    assert!(html.contains("Submitted"), "{html}");
    let view = link_view(&app, "globex", id).await;
    assert_eq!(view["state"], "submitted");
    assert_eq!(view["pending_provider"]["issuer"], app.idp.issuer());

    // Nothing is served before the operator activates it.
    let resp = user_get_token(&app, "globex", &token).await;
    assert_problem(resp, 404, "tenant_not_found").await;

    let tenant = activate(&app, "globex", id).await;
    assert_eq!(tenant.status().as_u16(), 200);
    let tenant: Value = tenant.json().await.unwrap();
    assert_eq!(tenant["display_name"], "Globex Corp");
    assert_eq!(tenant["provider"]["issuer"], app.idp.issuer());

    let resp = user_get_token(&app, "globex", &token).await;
    assert_eq!(resp.status().as_u16(), 201);

    // The link is spent.
    let resp = visit(&app, &created).await;
    assert_eq!(resp.status().as_u16(), 410);
    assert!(resp.text().await.unwrap().contains("connected"));
    let (status, _) = portal.oidc("submit", &[]).await;
    assert_eq!(status, 410, "no submission after activation");
    let again = activate(&app, "globex", id).await;
    assert_problem(again, 409, "setup_link_closed").await;
    assert_eq!(link_view(&app, "globex", id).await["state"], "activated");

    let actions = audit_actions(&app, "globex").await;
    for action in [
        "setup_link.created",
        "setup_link.opened",
        "setup_link.sign_in_tested",
        "setup_link.submitted",
        "setup_link.activated",
        "tenant.created",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for event in ["created", "opened", "submitted", "activated"] {
        assert!(
            metrics.contains(&format!("setup_links_total{{event=\"{event}\"}} 1")),
            "{event}: {metrics}"
        );
    }
}

#[tokio::test]
async fn the_portal_pages_are_locked_down() {
    let app = portal_app().await;
    let created = create_link(&app, "globex", json!({})).await;
    let resp = visit(&app, &created).await;
    let headers = resp.headers().clone();
    let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
    let csp = header("content-security-policy");
    for directive in [
        "default-src 'none'",
        "style-src 'self'",
        "script-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert_eq!(header("referrer-policy"), "same-origin");
    assert_eq!(header("cache-control"), "no-store");
    assert_eq!(header("x-frame-options"), "DENY");
    let cookie = header("set-cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(cookie.contains("Path=/setup"), "{cookie}");
    let html = resp.text().await.unwrap();
    assert!(
        !html.contains(crate::helpers::ADMIN_KEY),
        "no admin key in a page"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://cdn"),
        "no third-party assets"
    );
    for asset in ["/setup/portal.css", "/setup/portal.js"] {
        let resp = app.client.get(app.url(asset)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{asset}");
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    }
}

#[tokio::test]
async fn forms_without_their_csrf_cookie_or_from_another_site_are_refused() {
    let app = portal_app().await;
    let created = create_link(&app, "globex", json!({})).await;
    let portal = open(&app, &created).await;
    let id = created["id"].as_str().unwrap();
    let form = [
        ("link", portal.secret.as_str()),
        ("csrf", portal.csrf.as_str()),
        ("kind", "oidc"),
        ("action", "submit"),
    ];
    // No cookie.
    let resp = app
        .client
        .post(app.url("/setup"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    // A cookie that does not match the form.
    let resp = app
        .client
        .post(app.url("/setup"))
        .header(
            "cookie",
            "acs_setup_csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    // The right cookie, posted from another site.
    let resp = app
        .client
        .post(app.url("/setup"))
        .header("cookie", &portal.cookie)
        .header("origin", "https://evil.example")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let (status, _) = portal.post_to("/setup/validate", &[("kind", "oidc")]).await;
    assert_eq!(status, 200, "the real session passes");
    assert_eq!(link_view(&app, "globex", id).await["state"], "open");
}

#[tokio::test]
async fn values_get_the_apis_field_named_messages_live_and_on_submit() {
    let app = portal_app().await;
    let created = create_link(&app, "globex", json!({})).await;
    let portal = open(&app, &created).await;

    let audience = app.idp.audience();
    let (status, html) = portal
        .post(&[
            ("kind", "oidc"),
            ("audiences", &audience),
            ("action", "check"),
        ])
        .await;
    assert_eq!(status, 200);
    assert_eq!(field_error(&html, "issuer"), "is required");
    assert!(html.contains("aria-invalid=\"true\""), "{html}");

    let (status, body) = portal
        .post_to(
            "/setup/validate",
            &[("kind", "oidc"), ("issuer", "not a url"), ("audiences", "")],
        )
        .await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["errors"]["audiences"], "is required", "{body}");
    let (_, body) = portal
        .post_to(
            "/setup/validate",
            &[
                ("kind", "oidc"),
                ("issuer", "not a url"),
                ("audiences", "a"),
            ],
        )
        .await;
    let body: Value = serde_json::from_str(&body).unwrap();
    assert!(body["errors"]["issuer"].as_str().is_some(), "{body}");
    assert!(body["errors"].get("audiences").is_none(), "{body}");

    let (_, html) = portal
        .post(&[
            ("kind", "entra_single"),
            ("directory", "not-a-guid"),
            ("client_id", "00000000-0000-0000-0000-000000000001"),
            ("action", "submit"),
        ])
        .await;
    assert!(!field_error(&html, "directory").is_empty(), "{html}");
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        link_view(&app, "globex", id).await["state"],
        "open",
        "an invalid configuration is not stored"
    );
}

#[tokio::test]
async fn an_expired_link_is_refused_but_its_submission_can_still_be_activated() {
    let app = portal_app().await;
    let created = create_link(&app, "globex", json!({"expires_in_hours": 1})).await;
    let id = created["id"].as_str().unwrap();
    let portal = open(&app, &created).await;
    let (status, _) = portal.oidc("submit", &[]).await;
    assert_eq!(status, 200);

    app.clock.advance(Duration::from_secs(3601));
    let resp = visit(&app, &created).await;
    assert_eq!(resp.status().as_u16(), 410);
    assert!(resp.text().await.unwrap().contains("expired"));
    let (status, _) = portal.oidc("submit", &[]).await;
    assert_eq!(status, 410, "no submission after expiry");
    assert_eq!(link_view(&app, "globex", id).await["state"], "expired");

    let resp = activate(&app, "globex", id).await;
    assert_eq!(
        resp.status().as_u16(),
        200,
        "the operator may still activate it"
    );
}

#[tokio::test]
async fn a_revoked_link_is_refused_everywhere() {
    let app = portal_app().await;
    let created = create_link(&app, "globex", json!({})).await;
    let id = created["id"].as_str().unwrap();
    let portal = open(&app, &created).await;
    let (status, _) = portal.oidc("submit", &[]).await;
    assert_eq!(status, 200);

    let revoked = app
        .admin_json(Method::DELETE, &format!("/tenants/globex/setupLinks/{id}"))
        .await;
    assert_eq!(revoked["state"], "revoked");
    let again = app
        .admin(Method::DELETE, &format!("/tenants/globex/setupLinks/{id}"))
        .send()
        .await
        .unwrap();
    assert_problem(again, 409, "setup_link_closed").await;

    let resp = visit(&app, &created).await;
    assert_eq!(resp.status().as_u16(), 410);
    assert!(resp.text().await.unwrap().contains("revoked"));
    let (status, _) = portal.oidc("test_connection", &[]).await;
    assert_eq!(status, 410);
    let activate = activate(&app, "globex", id).await;
    assert_problem(activate, 409, "setup_link_closed").await;
    assert!(
        audit_actions(&app, "globex")
            .await
            .iter()
            .any(|a| a == "setup_link.revoked")
    );
}

#[tokio::test]
async fn a_link_reaches_only_its_own_tenant() {
    let app = portal_app().await;
    let resp = app
        .admin(Method::POST, "/tenants")
        .json(&stored_tenant("beta", "http://127.0.0.1:9/beta"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);

    let created = create_link(&app, "globex", json!({})).await;
    let id = created["id"].as_str().unwrap();
    // Another tenant's path does not reach the link.
    for (method, path) in [
        (Method::GET, format!("/tenants/beta/setupLinks/{id}")),
        (Method::DELETE, format!("/tenants/beta/setupLinks/{id}")),
        (
            Method::POST,
            format!("/tenants/beta/setupLinks/{id}/activate"),
        ),
    ] {
        let resp = app.admin(method, &path).send().await.unwrap();
        assert_problem(resp, 404, "setup_link_not_found").await;
    }
    let listed = app
        .admin_json(Method::GET, "/tenants/beta/setupLinks")
        .await;
    assert_eq!(listed, json!([]));

    // A form naming another tenant changes nothing but the link's own.
    let portal = open(&app, &created).await;
    let (status, _) = portal
        .oidc(
            "submit",
            &[("tenant", "beta"), ("tenant_id", "beta"), ("id", "beta")],
        )
        .await;
    assert_eq!(status, 200);
    app.admin(
        Method::POST,
        &format!("/tenants/globex/setupLinks/{id}/activate"),
    )
    .send()
    .await
    .unwrap()
    .error_for_status()
    .unwrap();
    let beta = app.admin_json(Method::GET, "/tenants/beta").await;
    assert_eq!(beta["provider"]["issuer"], "http://127.0.0.1:9/beta");
    let acme = app.admin_json(Method::GET, "/tenants/globex").await;
    assert_eq!(acme["provider"]["issuer"], app.idp.issuer());

    // Tenants of the configuration file are not set up through links.
    let resp = app
        .admin(Method::POST, &format!("/tenants/{TENANT}/setupLinks"))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 409, "tenant_managed_by_config").await;
    let resp = app
        .admin(Method::GET, "/tenants/nobody/setupLinks")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 404, "tenant_not_found").await;
    let resp = app
        .admin(Method::POST, "/tenants/Not_A_Slug/setupLinks")
        .send()
        .await
        .unwrap();
    let problem = assert_problem(resp, 400, "invalid_parameter").await;
    assert_eq!(problem["errors"][0]["field"], "id", "{problem}");
}

#[tokio::test]
async fn an_auto_activating_link_replaces_a_stored_tenants_provider_on_submit() {
    let app = portal_app().await;
    let mut body = stored_tenant("globex", "http://127.0.0.1:9/old");
    body["tokens"] = json!({"scopes": ["chat"]});
    let resp = app
        .admin(Method::POST, "/tenants")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);

    let created = create_link(&app, "globex", json!({"auto_activate": true})).await;
    let portal = open(&app, &created).await;
    // A first submission, then a second one that replaces it.
    let (status, html) = portal.oidc("submit", &[("subject_claim", "nope")]).await;
    assert_eq!(status, 200);
    assert!(html.contains("connected"), "{html}");
    let tenant = app.admin_json(Method::GET, "/tenants/globex").await;
    assert_eq!(tenant["provider"]["issuer"], app.idp.issuer());
    assert_eq!(
        tenant["tokens"]["scopes"],
        json!(["chat"]),
        "the token policy stays"
    );

    let token = app.idp.token("alice");
    let resp = user_get_token(&app, "globex", &token).await;
    // `subject_claim = "nope"`: the user has no such claim.
    assert_eq!(resp.status().as_u16(), 401);
    let (status, _) = portal.oidc("submit", &[]).await;
    assert_eq!(status, 410, "an activated link is spent");
}

#[tokio::test]
async fn a_second_submission_replaces_the_pending_one() {
    let app = portal_app().await;
    let created = create_link(&app, "globex", json!({})).await;
    let id = created["id"].as_str().unwrap();
    let portal = open(&app, &created).await;
    portal.oidc("submit", &[("subject_claim", "first")]).await;
    assert_eq!(
        link_view(&app, "globex", id).await["pending_provider"]["subject_claim"],
        "first"
    );
    portal.oidc("submit", &[]).await;
    assert_eq!(
        link_view(&app, "globex", id).await["pending_provider"]["subject_claim"],
        "sub"
    );
    // Opening the link again shows what was submitted.
    let resp = visit(&app, &created).await;
    let html = resp.text().await.unwrap();
    assert!(html.contains(&app.idp.issuer()), "the form is filled in");
    assert!(html.contains("Submitted"), "{html}");
}

#[tokio::test]
async fn unknown_links_are_a_404_page_and_count_as_failed_authentication() {
    let app = spawn_app_with(|s, _| {
        s.limits.failed_auth_per_minute = 3;
        s.limits.failed_auth_burst = 3;
    })
    .await;
    let mut statuses = Vec::new();
    for link in [
        "",
        "short",
        &"A".repeat(43),
        &"B".repeat(43),
        &"C".repeat(43),
    ] {
        let resp = app
            .client
            .get(app.url(&format!("/setup?link={link}")))
            .send()
            .await
            .unwrap();
        statuses.push(resp.status().as_u16());
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
    // Three within the burst, a fourth that spends it; then the address is refused.
    assert_eq!(statuses[..4], [404, 404, 404, 404]);
    assert_eq!(statuses[4], 429, "the failed-authentication limit applies");
}

#[tokio::test]
async fn the_portal_keeps_the_operators_network_guard() {
    // Default settings: the customer cannot make the server fetch from loopback over http.
    let app = spawn_app_with(|_, _| {}).await;
    let created = create_link(&app, "globex", json!({})).await;
    let portal = open(&app, &created).await;
    let (status, html) = portal.oidc("test_connection", &[]).await;
    assert_eq!(status, 200);
    let passed = verdicts(&html, "connection-result")
        .into_iter()
        .filter(|(_, v)| v == "pass")
        .count();
    assert_eq!(passed, 0, "{html}");
    let (_, html) = portal
        .oidc(
            "submit",
            &[("allow_http", "on"), ("allow_private_network", "on")],
        )
        .await;
    assert!(!field_error(&html, "issuer").is_empty(), "{html}");
    let id = created["id"].as_str().unwrap();
    assert_eq!(link_view(&app, "globex", id).await["state"], "open");
}

#[tokio::test]
async fn the_link_url_uses_the_configured_public_address() {
    let app = spawn_app_with(|s, _| {
        s.setup.public_url = Some("https://auth.example.com/".into());
    })
    .await;
    let created = create_link(&app, "globex", json!({"expires_in_hours": 720})).await;
    let url = created["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://auth.example.com/setup?link="),
        "{url}"
    );
    let resp = app
        .admin(Method::POST, "/tenants/globex/setupLinks")
        .json(&json!({"expires_in_hours": 721}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(resp, 400, "invalid_body").await;
    assert_eq!(
        problem["errors"][0]["field"], "expires_in_hours",
        "{problem}"
    );
    let links = app
        .admin_json(Method::GET, "/tenants/globex/setupLinks")
        .await;
    assert_eq!(links.as_array().unwrap().len(), 1);
    assert!(
        links[0].get("token_hash").is_none() && !links.to_string().contains(&secret_of(&created))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_secrets_and_tokens_never_reach_a_log_line() {
    use crate::helpers::{ADMIN_KEY, sha256_hex, start_emulator};
    let idp = acs_auth_providers::testing::TestIssuer::start().await;
    let emulator = start_emulator().await;
    let head = format!(
        "[log]\nlevel = \"trace\"\n[admin]\nkey_hashes = [\"{}\"]\n[setup]\n\
         allow_http_issuers = true\nallow_private_network_issuers = true\n",
        sha256_hex(ADMIN_KEY)
    );
    let server = crate::process::serve(&idp, &emulator, &head, "").await;
    let client = acs_auth_providers::http_client();
    let created: Value = client
        .post(format!("{}/admin/tenants/globex/setupLinks", server.base))
        .header("x-admin-key", ADMIN_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = created["url"].as_str().unwrap();
    let secret = secret_of(&created);
    let (cookie, csrf) = session(&client, url).await;
    let token = idp.token("alice");
    let (issuer, audience) = (idp.issuer(), idp.audience());
    for action in ["test_sign_in", "submit"] {
        let resp = client
            .post(format!("{}/setup", server.base))
            .header("cookie", &cookie)
            .form(&[
                ("link", secret.as_str()),
                ("csrf", csrf.as_str()),
                ("kind", "oidc"),
                ("issuer", issuer.as_str()),
                ("audiences", audience.as_str()),
                ("token", token.as_str()),
                ("action", action),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{action}");
    }
    // A wrong link and a failing request are logged too, without the link.
    let wrong = format!("{}X", &secret[..42]);
    let resp = client
        .get(format!("{}/setup?link={wrong}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);

    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(
        log.contains("/setup"),
        "the portal's requests are logged: {log}"
    );
    let signature = token.rsplit('.').next().unwrap();
    for (what, secret) in [
        ("the link's secret", secret.as_str()),
        ("a wrong link", wrong.as_str()),
        ("the CSRF token", csrf.as_str()),
        ("the user's token", signature),
    ] {
        assert!(!log.contains(secret), "{what} is in the log");
    }
}

#[tokio::test]
async fn deleting_a_tenant_revokes_its_open_links() {
    let app = portal_app().await;
    let resp = app
        .admin(Method::POST, "/tenants")
        .json(&stored_tenant("globex", "http://127.0.0.1:9/old"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let created = create_link(&app, "globex", json!({"auto_activate": true})).await;
    let id = created["id"].as_str().unwrap();
    app.admin(Method::DELETE, "/tenants/globex")
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    assert_eq!(link_view(&app, "globex", id).await["state"], "revoked");
    let resp = visit(&app, &created).await;
    assert_eq!(
        resp.status().as_u16(),
        410,
        "the link cannot bring the tenant back"
    );
}
