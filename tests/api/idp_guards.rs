//! Issue 11, items 4 and 7: IdP fetches go to public addresses only unless the tenant opts in
//! (`allow_private_network`), and where an access token is expected an ID token is refused
//! unless the tenant opts in (`accept_id_tokens`).

use acs_auth::config::Settings;
use acs_auth_providers::ProviderConfig;
use acs_auth_providers::testing::{FakeB2c, b2c_config_for};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TENANT, assert_problem, spawn_app, spawn_app_with};

/// Every tenant of `s` with `allow_private_network` set to `allow`.
fn private_network(s: &mut Settings, allow: bool) {
    for tenant in &mut s.tenants {
        match &mut tenant.provider {
            ProviderConfig::Oidc(p) => p.allow_private_network = allow,
            ProviderConfig::Aad(p) => p.allow_private_network = allow,
            ProviderConfig::AadB2c(p) => p.allow_private_network = allow,
        }
    }
}

fn oidc_mut(s: &mut Settings) -> &mut acs_auth_providers::OidcConfig {
    match &mut s.tenants[0].provider {
        ProviderConfig::Oidc(p) => p,
        other => panic!("not an oidc tenant: {other:?}"),
    }
}

#[tokio::test]
async fn a_loopback_idp_is_refused_without_the_opt_in_and_no_request_reaches_it() {
    let app = spawn_app_with(|s, _| private_network(s, false)).await;
    let resp = app.get_token(&app.idp.token("alice")).await;
    let problem = assert_problem(resp, 503, "idp_address_private").await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("allow_private_network = true"), "{detail}");
    assert!(
        !detail.contains("127.0.0.1"),
        "the caller is not told the address: {detail}"
    );
    assert_eq!(app.idp.discovery_fetch_count(), 0);
    assert_eq!(app.idp.jwks_fetch_count(), 0);
    assert!(app.mappings().await.is_empty());

    // The admin check gives the same verdict, with the address and its range.
    let report: Value = app
        .admin_json(Method::POST, &format!("/tenants/{TENANT}/check"))
        .await;
    assert_eq!(report["ok"], false, "{report}");
    let detail = report["checks"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("private") && detail.contains("127.0.0.1"),
        "{detail}"
    );
    assert!(detail.contains("allow_private_network = true"), "{detail}");
    assert_eq!(app.idp.discovery_fetch_count(), 0);
}

#[tokio::test]
async fn a_host_name_that_resolves_to_loopback_is_refused_at_connect_time() {
    let app = spawn_app_with(|s, _| {
        private_network(s, false);
        let p = oidc_mut(s);
        p.issuer = p.issuer.replace("127.0.0.1", "localhost");
    })
    .await;
    let resp = app.get_token(&app.idp.token("alice")).await;
    assert_problem(resp, 503, "idp_address_private").await;
    assert_eq!(app.idp.discovery_fetch_count(), 0);
}

#[tokio::test]
async fn with_the_opt_in_a_loopback_idp_is_accepted() {
    // The harness's tenants opt in, as `acs-auth dev`'s does.
    let app = spawn_app().await;
    let resp = app.get_token(&app.idp.token("alice")).await;
    assert_eq!(resp.status().as_u16(), 201);
    assert!(app.idp.discovery_fetch_count() >= 1);
}

#[tokio::test]
async fn the_admin_api_sets_the_opt_in_and_the_check_follows_it() {
    let app = spawn_app().await;
    let body = |allow: bool| {
        json!({
            "id": "globex",
            "provider": {
                "kind": "oidc",
                "issuer": app.idp.issuer(),
                "audiences": [app.idp.audience()],
                "allow_http": true,
                "allow_private_network": allow,
            },
        })
    };
    let resp = app
        .admin(Method::POST, "/tenants")
        .json(&body(false))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let shown: Value = app.admin_json(Method::GET, "/tenants/globex").await;
    assert_eq!(shown["provider"]["allow_private_network"], false, "{shown}");
    let report: Value = app.admin_json(Method::POST, "/tenants/globex/check").await;
    assert_eq!(report["ok"], false, "{report}");
    let resp = app
        .post_get_token("globex", &app.idp.token("alice"), None)
        .await;
    assert_problem(resp, 503, "idp_address_private").await;

    let resp = app
        .admin(Method::PUT, "/tenants/globex")
        .json(&body(true))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let report: Value = app.admin_json(Method::POST, "/tenants/globex/check").await;
    assert_eq!(report["ok"], true, "{report}");
    let resp = app
        .post_get_token("globex", &app.idp.token("alice"), None)
        .await;
    assert_eq!(resp.status().as_u16(), 201);
}

#[tokio::test]
async fn an_id_token_is_refused_where_an_access_token_is_expected() {
    let app = spawn_app().await;
    let mut claims = app.idp.claims("alice");
    claims["nonce"] = json!("n-0S6_WzA2Mj");
    claims.as_object_mut().unwrap().remove("scp");
    let id_token = app.idp.token_with(claims);
    let resp = app.get_token(&id_token).await;
    assert_problem(resp, 401, "token_not_access_token").await;

    let mut claims = app.idp.claims("alice");
    claims["at_hash"] = json!("77QmUPtjPfzWtF2AnpK9RQ");
    let resp = app.get_token(&app.idp.token_with(claims)).await;
    assert_problem(resp, 401, "token_not_access_token").await;
    assert!(app.mappings().await.is_empty());

    // An access token repeating the sign-in's nonce still works.
    let mut claims = app.idp.claims("alice");
    claims["nonce"] = json!("n-0S6_WzA2Mj");
    let resp = app.get_token(&app.idp.token_with(claims)).await;
    assert_eq!(resp.status().as_u16(), 201);
}

#[tokio::test]
async fn a_tenant_may_accept_id_tokens() {
    let app = spawn_app_with(|s, _| oidc_mut(s).accept_id_tokens = true).await;
    let mut claims = app.idp.claims("alice");
    claims["nonce"] = json!("n-0S6_WzA2Mj");
    claims["at_hash"] = json!("77QmUPtjPfzWtF2AnpK9RQ");
    claims.as_object_mut().unwrap().remove("scp");
    let resp = app.get_token(&app.idp.token_with(claims)).await;
    assert_eq!(resp.status().as_u16(), 201);
}

#[tokio::test]
async fn a_tenant_requiring_at_jwt_refuses_plain_jwts() {
    let app = spawn_app_with(|s, _| oidc_mut(s).require_at_jwt = true).await;
    let resp = app.get_token(&app.idp.token("alice")).await;
    assert_problem(resp, 401, "token_not_access_token").await;
    let at_jwt = app.idp.token_with_header(
        json!({ "alg": "RS256", "typ": "at+jwt", "kid": app.idp.kid() }),
        app.idp.claims("alice"),
    );
    let resp = app.get_token(&at_jwt).await;
    assert_eq!(resp.status().as_u16(), 201);
}

#[tokio::test]
async fn a_b2c_id_token_is_refused_and_its_access_token_accepted() {
    let b2c = FakeB2c::start().await;
    let config = b2c_config_for(&b2c);
    let app = spawn_app_with(|s, _| {
        s.tenants.push(acs_auth::config::TenantSettings::new(
            "fabrikam",
            ProviderConfig::AadB2c(config),
        ));
    })
    .await;
    let policy = b2c.policies()[0].clone();
    let user = "5f8c1a2b-3d4e-4f60-8a7b-9c0d1e2f3a4b";
    let resp = app
        .post_get_token("fabrikam", &b2c.token(&policy, user, json!({})), None)
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    // B2C's ID token for the same sign-in: no scope, a nonce.
    let id_token = b2c.token(
        &policy,
        user,
        json!({ "scp": null, "nonce": "defaultNonce" }),
    );
    let resp = app.post_get_token("fabrikam", &id_token, None).await;
    assert_problem(resp, 401, "token_not_access_token").await;
}
