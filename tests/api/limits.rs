//! Rate limits, CORS and request-size limits at the edge.

use serde_json::Value;

use crate::helpers::{assert_problem, spawn_app_with};

#[tokio::test]
async fn a_user_past_the_rate_limit_gets_429_with_retry_after_and_others_are_not_affected() {
    let app = spawn_app_with(|s, _| {
        s.limits.subject_requests_per_minute = 60;
        s.limits.subject_burst = 3;
    })
    .await;
    let alice = app.idp.token("alice");
    for _ in 0..3 {
        assert!(app.get_token(&alice).await.status().is_success());
    }
    let refused = app.get_token(&alice).await;
    let retry_after: u64 = refused
        .headers()
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    assert_problem(refused, 429, "rate_limited").await;
    // Another user of the same tenant is served.
    assert_eq!(
        app.get_token(&app.idp.token("bob")).await.status().as_u16(),
        201
    );
}

#[tokio::test]
async fn a_tenant_past_its_rate_limit_gets_429() {
    let app = spawn_app_with(|s, _| {
        s.limits.tenant_requests_per_second = 1;
        s.limits.tenant_burst = 2;
    })
    .await;
    let mut statuses = Vec::new();
    for user in ["a", "b", "c", "d"] {
        statuses.push(app.get_token(&app.idp.token(user)).await.status().as_u16());
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(
        statuses.iter().filter(|s| **s == 201).count() >= 2,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn cors_allows_configured_origins_only() {
    let app = spawn_app_with(|s, _| {
        s.cors.allowed_origins = vec!["https://app.example.com".into()];
    })
    .await;
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/tenants/acme/getToken"))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .unwrap(),
        "https://app.example.com"
    );

    let resp = app
        .client
        .post(app.url("/tenants/acme/getToken"))
        .header("origin", "https://app.example.com")
        .bearer_auth(app.idp.token("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    assert_eq!(
        resp.headers().get("access-control-allow-origin").unwrap(),
        "https://app.example.com"
    );

    let evil = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/tenants/acme/getToken"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn without_cors_configuration_no_cors_headers_are_sent() {
    let app = crate::helpers::spawn_app().await;
    let resp = app
        .client
        .post(app.url("/tenants/acme/getToken"))
        .header("origin", "https://app.example.com")
        .bearer_auth(app.idp.token("alice"))
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    let _: Value = resp.json().await.unwrap();
}
