//! Tenants are isolated: a token from one tenant's IdP never reads, creates or deletes a
//! mapping of another tenant — also when both tenants trust the same IdP.

use acs_auth_providers::testing::TestIssuer;
use serde_json::Value;

use crate::helpers::{oidc_tenant, spawn_app_with};

#[tokio::test]
async fn two_tenants_on_one_idp_keep_separate_identities() {
    let app = spawn_app_with(|s, idp| s.tenants.push(oidc_tenant("beta", idp))).await;
    let alice = app.idp.token("alice");

    let a: Value = app
        .post_get_token("acme", &alice, None)
        .await
        .json()
        .await
        .unwrap();
    let b = app.post_get_token("beta", &alice, None).await;
    assert_eq!(
        b.status().as_u16(),
        201,
        "beta gets its own identity for the same subject"
    );
    let b: Value = b.json().await.unwrap();
    assert_ne!(
        a["user"]["communicationUserId"],
        b["user"]["communicationUserId"]
    );

    // Deleting in beta leaves acme's identity alone.
    let resp = app
        .client
        .delete(app.url("/tenants/beta/deleteUser"))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let still = app.get_user(&alice).await;
    assert_eq!(still.status().as_u16(), 200);
    let still: Value = still.json().await.unwrap();
    assert_eq!(
        still["communicationUserId"],
        a["user"]["communicationUserId"]
    );
    assert!(
        app.emulator
            .emulator()
            .identity_exists(a["user"]["communicationUserId"].as_str().unwrap())
    );
}

#[tokio::test]
async fn a_token_of_another_tenants_idp_is_refused_everywhere() {
    let other_idp = TestIssuer::start().await;
    let beta = oidc_tenant("beta", &other_idp);
    let app = spawn_app_with(move |s, _| s.tenants.push(beta)).await;
    // alice of acme's IdP has a mapping in acme …
    let alice = app.idp.token("alice");
    assert_eq!(app.get_token(&alice).await.status().as_u16(), 201);
    // … and her token opens nothing in beta: not getToken, getUser nor deleteUser.
    for (method, path) in [
        (reqwest::Method::POST, "/tenants/beta/getToken"),
        (reqwest::Method::GET, "/tenants/beta/user"),
        (reqwest::Method::DELETE, "/tenants/beta/deleteUser"),
    ] {
        let resp = app
            .client
            .request(method, app.url(path))
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 401, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert!(
            body["code"].as_str().unwrap().starts_with("token_"),
            "{body}"
        );
    }
    assert!(
        app.state
            .store
            .mappings_of_tenant("beta")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(app.mappings().await.len(), 1);
}

#[tokio::test]
async fn admin_erasure_in_one_tenant_leaves_the_other_alone() {
    let app = spawn_app_with(|s, idp| s.tenants.push(oidc_tenant("beta", idp))).await;
    let alice = app.idp.token("alice");
    app.post_get_token("acme", &alice, None).await;
    app.post_get_token("beta", &alice, None).await;
    let resp = app
        .admin(reqwest::Method::DELETE, "/tenants/beta/mappings/alice")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    assert_eq!(app.mappings().await.len(), 1, "acme's alice is untouched");
    assert!(
        app.state
            .store
            .mappings_of_tenant("beta")
            .await
            .unwrap()
            .is_empty()
    );
}
