//! Entra ID and Azure AD B2C tenants through the HTTP API, and the Teams token exchange.

use acs_auth::config::TenantSettings;
use acs_auth_providers::ProviderConfig;
use acs_auth_providers::testing::{
    FAKE_ENTRA_TENANT_A, FAKE_ENTRA_TENANT_B, FakeB2c, FakeEntra, aad_config_for, b2c_config_for,
};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, spawn_app_with};

const OID: &str = "4a1c6f0e-2d3b-4c5d-8e9f-0a1b2c3d4e5f";

fn tenant(id: &str, provider: ProviderConfig) -> TenantSettings {
    TenantSettings::new(id, provider)
}

async fn entra_app(directory: &str, allowed: &[&str]) -> (TestApp, FakeEntra) {
    let entra = FakeEntra::start().await;
    let mut config = aad_config_for(&entra, directory);
    config.allowed_directories = allowed.iter().map(|s| (*s).to_owned()).collect();
    let app = spawn_app_with(|s, _| {
        s.tenants
            .push(tenant("contoso", ProviderConfig::Aad(config)));
    })
    .await;
    (app, entra)
}

#[tokio::test]
async fn entra_v1_and_v2_tokens_of_one_user_get_one_identity() {
    let (app, entra) = entra_app(FAKE_ENTRA_TENANT_A, &[]).await;
    let v1 = entra.v1_token(FAKE_ENTRA_TENANT_A, OID, json!({}));
    let v2 = entra.v2_token(FAKE_ENTRA_TENANT_A, OID, json!({}));

    let first = app.post_get_token("contoso", &v1, None).await;
    assert_eq!(first.status().as_u16(), 201);
    let first: Value = first.json().await.unwrap();
    let second = app.post_get_token("contoso", &v2, None).await;
    assert_eq!(second.status().as_u16(), 200);
    let second: Value = second.json().await.unwrap();
    assert_eq!(first["user"], second["user"]);

    let mappings = app.state.store.mappings_of_tenant("contoso").await.unwrap();
    assert_eq!(mappings.len(), 1);
    assert_eq!(mappings[0].subject, OID, "keyed by oid");
    assert_eq!(
        mappings[0].issuer_key,
        format!("aad:{FAKE_ENTRA_TENANT_A}"),
        "and by tid"
    );
}

#[tokio::test]
async fn entra_single_tenant_refuses_another_directory() {
    let (app, entra) = entra_app(FAKE_ENTRA_TENANT_A, &[]).await;
    let token = entra.v2_token(FAKE_ENTRA_TENANT_B, OID, json!({}));
    let resp = app.post_get_token("contoso", &token, None).await;
    assert_eq!(resp.status().as_u16(), 401);
}

#[tokio::test]
async fn entra_multi_tenant_accepts_allowed_directories_only_and_keeps_them_apart() {
    let (app, entra) =
        entra_app("organizations", &[FAKE_ENTRA_TENANT_A, FAKE_ENTRA_TENANT_B]).await;
    let a = app
        .post_get_token(
            "contoso",
            &entra.v2_token(FAKE_ENTRA_TENANT_A, OID, json!({})),
            None,
        )
        .await;
    assert_eq!(a.status().as_u16(), 201);
    // The same object id in another directory is another person.
    let b = app
        .post_get_token(
            "contoso",
            &entra.v2_token(FAKE_ENTRA_TENANT_B, OID, json!({})),
            None,
        )
        .await;
    assert_eq!(b.status().as_u16(), 201);
    assert_eq!(
        app.state
            .store
            .mappings_of_tenant("contoso")
            .await
            .unwrap()
            .len(),
        2
    );

    let stranger = "0b9e8d7c-6f5e-4a3b-9c2d-1e0f9a8b7c6d";
    let c = app
        .post_get_token("contoso", &entra.v2_token(stranger, OID, json!({})), None)
        .await;
    assert_eq!(c.status().as_u16(), 401);
}

#[tokio::test]
async fn entra_tenant_requiring_a_role_answers_403_without_it() {
    let entra = FakeEntra::start().await;
    let config = aad_config_for(&entra, FAKE_ENTRA_TENANT_A);
    let app = spawn_app_with(|s, _| {
        let mut t = tenant("contoso", ProviderConfig::Aad(config));
        t.access.required_roles = vec!["Acs.User".into()];
        s.tenants.push(t);
    })
    .await;
    let without = entra.v2_token(FAKE_ENTRA_TENANT_A, OID, json!({}));
    assert_problem(
        app.post_get_token("contoso", &without, None).await,
        403,
        "insufficient_scope",
    )
    .await;
    let with = entra.v2_token(FAKE_ENTRA_TENANT_A, OID, json!({"roles": ["Acs.User"]}));
    assert_eq!(
        app.post_get_token("contoso", &with, None)
            .await
            .status()
            .as_u16(),
        201
    );
}

#[tokio::test]
async fn entra_graph_tokens_are_refused() {
    let (app, entra) = entra_app(FAKE_ENTRA_TENANT_A, &[]).await;
    let graph = entra.graph_token(FAKE_ENTRA_TENANT_A, OID);
    assert_problem(
        app.post_get_token("contoso", &graph, None).await,
        401,
        "token_invalid_audience",
    )
    .await;
}

#[tokio::test]
async fn b2c_tokens_of_allowed_policies_work_and_others_are_refused() {
    let b2c = FakeB2c::start().await;
    let config = b2c_config_for(&b2c);
    let app = spawn_app_with(|s, _| {
        s.tenants
            .push(tenant("fabrikam", ProviderConfig::AadB2c(config)));
    })
    .await;
    let policy = b2c.policies()[0].clone();
    let user = "b3f1e2d4-5a6b-4c7d-8e9f-001122334455";
    let ok = app
        .post_get_token("fabrikam", &b2c.token(&policy, user, json!({})), None)
        .await;
    assert_eq!(ok.status().as_u16(), 201);
    // The legacy acr claim names the policy too, and maps to the same user.
    let acr = app
        .post_get_token("fabrikam", &b2c.acr_token(&policy, user, json!({})), None)
        .await;
    assert_eq!(acr.status().as_u16(), 200);

    let other = app
        .post_get_token(
            "fabrikam",
            &b2c.token(&policy, user, json!({"tfp": "B2C_1_not_allowed"})),
            None,
        )
        .await;
    assert_eq!(other.status().as_u16(), 401);
}

async fn exchange(
    app: &TestApp,
    path: &str,
    bearer: &str,
    body: Option<Value>,
    header: Option<&str>,
) -> reqwest::Response {
    let mut req = app.client.post(app.url(path)).bearer_auth(bearer);
    if let Some(body) = body {
        req = req.json(&body);
    }
    if let Some(h) = header {
        req = req.header("teams-user-aad-token", h);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn exchange_token_trades_a_teams_token_for_an_acs_token() {
    let (app, entra) = entra_app(FAKE_ENTRA_TENANT_A, &[]).await;
    let bearer = entra.v2_token(FAKE_ENTRA_TENANT_A, OID, json!({}));
    let teams = entra.teams_user_token(FAKE_ENTRA_TENANT_A, OID);

    let resp = exchange(
        &app,
        "/tenants/contoso/exchangeToken",
        &bearer,
        Some(json!({"token": teams})),
        None,
    )
    .await;
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    assert!(body["token"].is_string() && body["expiresOn"].is_string());
    let info = app
        .emulator
        .emulator()
        .verify_access_token(body["token"].as_str().unwrap())
        .expect("an emulator token for the Teams user");
    assert_eq!(info.identity_id, format!("8:orgid:{OID}"));

    // The seed's header works too.
    let resp = exchange(
        &app,
        "/tenants/contoso/exchangeToken",
        &bearer,
        None,
        Some(&teams),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn exchange_token_of_another_user_is_refused_by_acs() {
    let (app, entra) = entra_app(FAKE_ENTRA_TENANT_A, &[]).await;
    let bearer = entra.v2_token(FAKE_ENTRA_TENANT_A, OID, json!({}));
    let someone_else =
        entra.teams_user_token(FAKE_ENTRA_TENANT_A, "11111111-2222-3333-4444-555555555555");
    let resp = exchange(
        &app,
        "/tenants/contoso/exchangeToken",
        &bearer,
        Some(json!({"token": someone_else})),
        None,
    )
    .await;
    let body = assert_problem(resp, 400, "teams_token_rejected").await;
    assert!(
        body["detail"].as_str().unwrap().contains("UserIdMismatch"),
        "{body}"
    );
}

#[tokio::test]
async fn exchange_token_without_a_teams_token_is_400() {
    let (app, entra) = entra_app(FAKE_ENTRA_TENANT_A, &[]).await;
    let bearer = entra.v2_token(FAKE_ENTRA_TENANT_A, OID, json!({}));
    let resp = exchange(&app, "/tenants/contoso/exchangeToken", &bearer, None, None).await;
    assert_problem(resp, 400, "teams_token_missing").await;
}

#[tokio::test]
async fn exchange_token_on_a_non_entra_tenant_is_a_clear_400() {
    let app = crate::helpers::spawn_app().await;
    let resp = exchange(
        &app,
        "/tenants/acme/exchangeToken",
        &app.idp.token("alice"),
        Some(json!({"token": "x.y.z"})),
        None,
    )
    .await;
    assert_problem(resp, 400, "exchange_not_supported").await;
}

#[tokio::test]
async fn bare_exchange_token_finds_the_entra_tenant_from_the_issuer() {
    let (app, entra) = entra_app(FAKE_ENTRA_TENANT_A, &[]).await;
    let bearer = entra.v2_token(FAKE_ENTRA_TENANT_A, OID, json!({}));
    let teams = entra.teams_user_token(FAKE_ENTRA_TENANT_A, OID);
    let resp = exchange(
        &app,
        "/exchangeToken",
        &bearer,
        Some(json!({"token": teams})),
        None,
    )
    .await;
    assert_eq!(resp.status().as_u16(), 200);
}
