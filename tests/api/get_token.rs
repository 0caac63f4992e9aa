use serde_json::{Value, json};

use crate::helpers::{TENANT, assert_problem, oidc_tenant, spawn_app, spawn_app_with};

#[tokio::test]
async fn first_get_token_creates_the_identity_and_the_second_reuses_it() {
    let app = spawn_app().await;
    let bearer = app.idp.token("alice");

    let first = app.get_token(&bearer).await;
    assert_eq!(first.status().as_u16(), 201);
    let first: Value = first.json().await.unwrap();
    let second = app.get_token(&bearer).await;
    assert_eq!(second.status().as_u16(), 200);
    let second: Value = second.json().await.unwrap();

    let id = first["user"]["communicationUserId"].as_str().unwrap();
    assert!(id.starts_with("8:acs:"), "{id}");
    assert_eq!(second["user"]["communicationUserId"], id);
    assert!(first["expiresOn"].is_string());

    // The token is a real emulator token for that identity, and it works there.
    let info = app
        .emulator
        .emulator()
        .verify_access_token(second["token"].as_str().unwrap())
        .expect("token verifies at the emulator");
    assert_eq!(info.identity_id, id);
    assert_eq!(app.mappings().await.len(), 1);
}

#[tokio::test]
async fn different_subjects_get_different_identities() {
    let app = spawn_app().await;
    let a: Value = app
        .get_token(&app.idp.token("alice"))
        .await
        .json()
        .await
        .unwrap();
    let b: Value = app
        .get_token(&app.idp.token("bob"))
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(
        a["user"]["communicationUserId"],
        b["user"]["communicationUserId"]
    );
    assert_eq!(app.emulator.emulator().live_identity_count(), 2);
}

#[tokio::test]
async fn returning_user_gets_the_cached_token_without_a_new_acs_call() {
    let app = spawn_app().await;
    let bearer = app.idp.token("alice");
    let first: Value = app.get_token(&bearer).await.json().await.unwrap();
    // ACS down: a returning user is still served from the token cache.
    app.set_acs_failing(true);
    let again = app.get_token(&bearer).await;
    assert_eq!(again.status().as_u16(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["token"], first["token"]);
}

#[tokio::test]
async fn requested_scopes_and_lifetime_are_honoured_within_policy() {
    let app = spawn_app().await;
    let bearer = app.idp.token("alice");
    let resp = app
        .post_get_token(
            TENANT,
            &bearer,
            Some(json!({"scopes": ["chat"], "expiresInMinutes": 120})),
        )
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    let body: Value = resp.json().await.unwrap();
    let info = app
        .emulator
        .emulator()
        .verify_access_token(body["token"].as_str().unwrap())
        .unwrap();
    assert_eq!(info.scopes, vec!["chat".to_owned()]);
    let minutes = (info.expires_on - chrono::Utc::now()).num_minutes();
    assert!((118..=120).contains(&minutes), "{minutes}");
}

#[tokio::test]
async fn scopes_outside_the_tenant_policy_are_refused() {
    let app = spawn_app().await;
    let bearer = app.idp.token("alice");
    let resp = app
        .post_get_token(TENANT, &bearer, Some(json!({"scopes": ["voip.join"]})))
        .await;
    assert_problem(resp, 400, "invalid_request").await;
    let resp = app
        .post_get_token(TENANT, &bearer, Some(json!({"expiresInMinutes": 30})))
        .await;
    assert_problem(resp, 400, "invalid_body").await;
    let resp = app
        .post_get_token(TENANT, &bearer, Some(json!({"scopes": "chat"})))
        .await;
    assert_problem(resp, 400, "invalid_body").await;
    assert!(app.mappings().await.is_empty(), "nothing was created");
}

#[tokio::test]
async fn malformed_json_body_is_a_400_problem() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(app.url("/tenants/acme/getToken"))
        .bearer_auth(app.idp.token("alice"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400, "invalid_body").await;
}

#[tokio::test]
async fn non_json_body_is_a_415_problem() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(app.url("/tenants/acme/getToken"))
        .bearer_auth(app.idp.token("alice"))
        .header("content-type", "text/plain")
        .body("scopes=chat")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn oversized_body_is_a_413_problem() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(app.url("/tenants/acme/getToken"))
        .bearer_auth(app.idp.token("alice"))
        .header("content-type", "application/json")
        .body(format!("{{\"scopes\":[\"{}\"]}}", "a".repeat(200_000)))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 413, "payload_too_large").await;
}

#[tokio::test]
async fn unknown_tenant_is_a_404_problem() {
    let app = spawn_app().await;
    let resp = app
        .post_get_token("nobody", &app.idp.token("alice"), None)
        .await;
    assert_problem(resp, 404, "tenant_not_found").await;
}

#[tokio::test]
async fn bare_get_token_resolves_the_tenant_from_the_issuer() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(app.url("/getToken"))
        .bearer_auth(app.idp.token("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    assert_eq!(
        app.mappings().await.len(),
        1,
        "mapped under the tenant that trusts the issuer"
    );
}

#[tokio::test]
async fn bare_get_token_with_an_unknown_issuer_is_refused() {
    let app = spawn_app().await;
    let stranger = acs_auth_providers::testing::TestIssuer::start().await;
    let resp = app
        .client
        .post(app.url("/getToken"))
        .bearer_auth(stranger.token("alice"))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401, "token_invalid_issuer").await;
}

#[tokio::test]
async fn bare_get_token_with_two_tenants_on_one_issuer_uses_the_default_tenant() {
    let app = spawn_app_with(|s, idp| {
        s.tenants.push(oidc_tenant("other", idp));
    })
    .await;
    let resp = app
        .client
        .post(app.url("/getToken"))
        .bearer_auth(app.idp.token("alice"))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400, "tenant_ambiguous").await;

    let app = spawn_app_with(|s, idp| {
        s.tenants.push(oidc_tenant("other", idp));
        s.default_tenant = Some("other".into());
    })
    .await;
    let resp = app
        .client
        .post(app.url("/getToken"))
        .bearer_auth(app.idp.token("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    assert!(app.mappings().await.is_empty(), "nothing under acme");
    assert_eq!(
        app.state
            .store
            .mappings_of_tenant("other")
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_missing_required_scope_is_a_403_insufficient_scope() {
    let app = spawn_app_with(|s, _| {
        s.tenants[0].access.required_scopes = vec!["acs.token".into()];
    })
    .await;
    let mut claims = app.idp.claims("alice");
    claims["scp"] = json!("other.scope");
    let resp = app.get_token(&app.idp.token_with(claims.clone())).await;
    let www = resp
        .headers()
        .get("www-authenticate")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(www.contains("insufficient_scope"), "{www}");
    assert_problem(resp, 403, "insufficient_scope").await;

    claims["scp"] = json!("other.scope acs.token");
    let resp = app.get_token(&app.idp.token_with(claims)).await;
    assert_eq!(resp.status().as_u16(), 201);
}

#[tokio::test]
async fn a_mapping_whose_identity_vanished_from_acs_is_replaced() {
    let app = spawn_app().await;
    let bearer = app.idp.token("alice");
    let first: Value = app.get_token(&bearer).await.json().await.unwrap();
    let old = first["user"]["communicationUserId"]
        .as_str()
        .unwrap()
        .to_owned();
    // Deleted behind acs-auth's back.
    let client = acs_auth::acs::AcsClient::new(
        acs_auth_providers::http_client(),
        &acs_auth::acs::ConnectionString::parse(&app.emulator.connection_string()).unwrap(),
        std::time::Duration::from_secs(5),
    );
    client.delete_identity(&old).await.unwrap();

    // A request that misses the token cache finds out and maps a fresh identity.
    let resp = app
        .post_get_token(TENANT, &bearer, Some(json!({"scopes": ["chat"]})))
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    let body: Value = resp.json().await.unwrap();
    assert_ne!(body["user"]["communicationUserId"], old.as_str());
    assert_eq!(app.mappings().await.len(), 1);
    // The old identity was queued for deletion before the new one was made, so nothing is
    // orphaned even had ACS been wrong; the worker's `IdentityNotFound` completes it.
    let pending = app.pending_deletions().await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].acs_user_id, old);
    assert_eq!(pending[0].reason, "identity_vanished");
    assert_eq!(app.run_deletion_worker().await, 1);
    assert!(app.pending_deletions().await.is_empty());
}

#[tokio::test]
async fn an_acs_404_that_is_not_identity_not_found_is_a_502_and_keeps_the_identity() {
    let app = spawn_app().await;
    let bearer = app.idp.token("alice");
    let first: Value = app.get_token(&bearer).await.json().await.unwrap();
    let id = first["user"]["communicationUserId"]
        .as_str()
        .unwrap()
        .to_owned();
    // A 404 with another code: a wrong path or endpoint, a proxy's page — not "gone".
    app.inject_status(acs_auth::acs::Operation::Issue, 404, None, Some(1));
    let resp = app
        .post_get_token(TENANT, &bearer, Some(json!({"scopes": ["chat"]})))
        .await;
    assert_problem(resp, 502, "acs_error").await;
    let mappings = app.mappings().await;
    assert_eq!(mappings.len(), 1);
    assert_eq!(mappings[0].acs_user_id, id, "the mapping is kept");
    assert_eq!(
        app.emulator.emulator().live_identity_count(),
        1,
        "no second identity"
    );
    assert!(app.pending_deletions().await.is_empty());
    // The next call (the fault used up) is served with the same identity.
    let again = app
        .post_get_token(TENANT, &bearer, Some(json!({"scopes": ["chat"]})))
        .await;
    assert_eq!(again.status().as_u16(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["user"]["communicationUserId"], id.as_str());
}

#[tokio::test]
async fn acs_outage_on_first_call_is_a_503_problem_and_leaves_nothing_behind() {
    let app = spawn_app().await;
    app.set_acs_failing(true);
    let resp = app.get_token(&app.idp.token("alice")).await;
    let retry_after = resp.headers().get("retry-after").cloned();
    assert_problem(resp, 503, "acs_unavailable").await;
    assert!(retry_after.is_some(), "Retry-After on upstream failure");
    assert!(app.mappings().await.is_empty());
    assert_eq!(app.emulator.emulator().live_identity_count(), 0);
}
