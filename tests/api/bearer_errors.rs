//! Tokens that must be refused with 401 problem+json and `WWW-Authenticate`.

use serde_json::json;

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn missing_authorization_is_401() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(app.url("/tenants/acme/getToken"))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401, "missing_token").await;
}

#[tokio::test]
async fn non_bearer_authorization_is_401() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(app.url("/tenants/acme/getToken"))
        .header("authorization", "Basic YWxpY2U6cGFzcw==")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401, "missing_token").await;
}

#[tokio::test]
async fn malformed_bearer_is_401() {
    let app = spawn_app().await;
    for bad in ["garbage", "a.b", "a.b.c.d.e", "....", "eyJ.eyJ.sig"] {
        let resp = app.get_token(bad).await;
        assert_problem(resp, 401, "token_malformed").await;
    }
}

#[tokio::test]
async fn wrong_issuer_is_401() {
    let app = spawn_app().await;
    let mut claims = app.idp.claims("alice");
    claims["iss"] = json!("https://evil.example");
    let resp = app.get_token(&app.idp.token_with(claims)).await;
    let body = assert_problem(resp, 401, "token_invalid_issuer").await;
    let www = body.to_string();
    assert!(!www.contains("eyJ"), "the token is never echoed");
}

#[tokio::test]
async fn wrong_audience_is_401() {
    let app = spawn_app().await;
    let mut claims = app.idp.claims("alice");
    claims["aud"] = json!("api://someone-else");
    let resp = app.get_token(&app.idp.token_with(claims)).await;
    assert_problem(resp, 401, "token_invalid_audience").await;
}

#[tokio::test]
async fn expired_token_is_401() {
    let app = spawn_app().await;
    let now = chrono::Utc::now().timestamp();
    let mut claims = app.idp.claims("alice");
    claims["iat"] = json!(now - 7200);
    claims["nbf"] = json!(now - 7200);
    claims["exp"] = json!(now - 3600);
    let resp = app.get_token(&app.idp.token_with(claims)).await;
    assert_problem(resp, 401, "token_expired").await;
}

#[tokio::test]
async fn bad_signature_is_401() {
    let app = spawn_app().await;
    let resp = app
        .get_token(&app.idp.sign_with_other_key(app.idp.claims("alice")))
        .await;
    assert_problem(resp, 401, "token_invalid_signature").await;
}

#[tokio::test]
async fn alg_none_is_401() {
    let app = spawn_app().await;
    for alg in ["none", "None", "NONE", "nOnE"] {
        let token = app
            .idp
            .unsigned_token_with_alg(alg, app.idp.claims("alice"));
        let resp = app.get_token(&token).await;
        assert_eq!(resp.status().as_u16(), 401, "alg {alg}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert!(
            body["code"].as_str().unwrap().starts_with("token_"),
            "{body}"
        );
    }
    assert!(app.mappings().await.is_empty());
}

#[tokio::test]
async fn hmac_signed_with_the_public_key_is_401() {
    let app = spawn_app().await;
    let token = app
        .idp
        .hs256_signed_with_public_key(app.idp.claims("alice"));
    let resp = app.get_token(&token).await;
    assert_problem(resp, 401, "token_algorithm_not_allowed").await;
}

#[tokio::test]
async fn an_emulator_acs_token_replayed_as_bearer_is_401() {
    let app = spawn_app().await;
    let body: serde_json::Value = app
        .get_token(&app.idp.token("alice"))
        .await
        .json()
        .await
        .unwrap();
    let acs_token = body["token"].as_str().unwrap();
    let resp = app.get_token(acs_token).await;
    assert_eq!(resp.status().as_u16(), 401);
}

#[tokio::test]
async fn idp_unreachable_is_503_not_401() {
    let app = spawn_app().await;
    app.idp.set_available(false);
    let resp = app.get_token(&app.idp.token("alice")).await;
    assert!(resp.headers().get("retry-after").is_some());
    assert_problem(resp, 503, "idp_unavailable").await;
}

#[tokio::test]
async fn a_subject_longer_than_the_store_keeps_is_401_not_503() {
    let app = spawn_app().await;
    let mut claims = app.idp.claims("alice");
    claims["sub"] = json!("s".repeat(300));
    let resp = app.get_token(&app.idp.token_with(claims)).await;
    assert_problem(resp, 401, "token_invalid_claim").await;
    assert!(app.mappings().await.is_empty());
}

#[tokio::test]
async fn refused_tokens_are_counted_per_tenant_and_code() {
    let app = spawn_app().await;
    let mut claims = app.idp.claims("alice");
    claims["aud"] = json!("api://someone-else");
    let wrong_audience = app.idp.token_with(claims);
    for bearer in ["x.y.z", "x.y.z", wrong_audience.as_str()] {
        assert_eq!(app.get_token(bearer).await.status().as_u16(), 401);
    }
    assert_eq!(
        app.get_token(&app.idp.token("alice"))
            .await
            .status()
            .as_u16(),
        201
    );
    let totals = app.state.gate.refused_tokens().totals();
    let count = |code: &'static str| totals.get(&("acme".to_owned(), code)).copied();
    assert_eq!(count("token_malformed"), Some(2), "{totals:?}");
    assert_eq!(count("token_invalid_audience"), Some(1), "{totals:?}");
    assert_eq!(
        totals.values().sum::<u64>(),
        3,
        "a good token is not counted"
    );
}

#[tokio::test]
async fn while_discovery_is_down_calls_do_not_fetch_it_again_each_time() {
    let app = spawn_app().await;
    app.idp.set_available(false);
    for user in 0..20 {
        let resp = app.get_token(&app.idp.token(&format!("user-{user}"))).await;
        assert_problem(resp, 503, "idp_unavailable").await;
    }
    let fetches = app.idp.discovery_fetch_count();
    assert!(
        fetches <= 2,
        "{fetches} discovery fetches for 20 calls (a burst of 2)"
    );
}
