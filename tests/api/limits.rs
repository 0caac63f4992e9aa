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

/// A token naming the tenant's issuer and audience, signed by nobody the tenant trusts.
fn forged(app: &crate::helpers::TestApp) -> String {
    use base64::Engine as _;
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let exp = chrono::Utc::now().timestamp() + 600;
    format!(
        "{}.{}.{}",
        b64(serde_json::json!({"alg": "RS256", "kid": "forged"})),
        b64(
            serde_json::json!({"iss": app.idp.issuer(), "aud": app.idp.audience(), "sub": "mallory", "exp": exp})
        ),
        "c2lnbmF0dXJl"
    )
}

async fn get_token_from(
    app: &crate::helpers::TestApp,
    path: &str,
    bearer: &str,
    client: &str,
) -> u16 {
    app.client
        .post(app.url(path))
        .bearer_auth(bearer)
        .header("x-forwarded-for", client)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_flood_of_bad_tokens_leaves_the_tenants_real_users_served() {
    let app = spawn_app_with(|s, _| {
        s.limits.tenant_requests_per_second = 5;
        s.limits.tenant_burst = 5;
        s.limits.failed_auth_per_minute = 10;
        s.limits.failed_auth_burst = 5;
        // The test client is the load balancer; X-Forwarded-For names the callers.
        s.server.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let attacker = "203.0.113.7";
    let mut statuses = Vec::new();
    for i in 0..30 {
        let (path, bearer) = if i % 2 == 0 {
            ("/tenants/acme/getToken", "x.y.z".to_owned())
        } else {
            // On the bare path the tenant comes from the (unverified) issuer.
            ("/getToken", forged(&app))
        };
        statuses.push(get_token_from(&app, path, &bearer, attacker).await);
    }
    assert!(statuses[..5].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(
        statuses[6..].iter().all(|s| *s == 429),
        "the attacker's own budget is spent: {statuses:?}"
    );
    // The tenant's limit counted none of that: its real user is served.
    let alice = app.idp.token("alice");
    assert_eq!(
        get_token_from(&app, "/tenants/acme/getToken", &alice, "198.51.100.1").await,
        201
    );
    assert_eq!(
        get_token_from(&app, "/tenants/acme/getToken", &alice, "198.51.100.1").await,
        200
    );
    // Even from the attacker's address a good token goes through: it is verified only once
    // the address has budget again, but a verdict kept is used without verifying.
    assert_eq!(
        get_token_from(&app, "/tenants/acme/getToken", &alice, attacker).await,
        200
    );
    // A forwarded-for from an untrusted peer is not believed: the peer's address counts.
    let direct = spawn_app_with(|s, _| {
        s.limits.failed_auth_per_minute = 10;
        s.limits.failed_auth_burst = 2;
    })
    .await;
    for client in ["192.0.2.1", "192.0.2.2", "192.0.2.3"] {
        let _ = get_token_from(&direct, "/tenants/acme/getToken", "x.y.z", client).await;
    }
    assert_eq!(
        get_token_from(&direct, "/tenants/acme/getToken", "x.y.z", "192.0.2.4").await,
        429,
        "one address, whatever the header says"
    );
}

#[tokio::test]
async fn the_admin_api_has_its_own_limit_per_address() {
    let app = spawn_app_with(|s, _| {
        s.limits.admin_requests_per_minute = 1;
        s.limits.admin_burst = 3;
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let resp = app
            .admin(reqwest::Method::GET, "/tenants")
            .send()
            .await
            .unwrap();
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    // The public API is not affected.
    assert_eq!(
        app.get_token(&app.idp.token("alice"))
            .await
            .status()
            .as_u16(),
        201
    );
}

#[tokio::test]
async fn refused_admin_keys_are_audited_as_one_row_per_address_per_window() {
    let app = crate::helpers::spawn_app().await;
    let long_path = format!("/admin/tenants/{}", "x".repeat(4000));
    for i in 0..50 {
        let path = if i == 0 {
            long_path.as_str()
        } else {
            "/admin/tenants"
        };
        let resp = app
            .client
            .get(app.url(path))
            .header("x-admin-key", "wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 401);
    }
    app.state.admin_keys.flush_refusals().await;
    let audit: Value = app
        .admin_json(reqwest::Method::GET, "/audit?limit=500")
        .await;
    let events: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "admin.key_refused")
        .collect();
    assert_eq!(events.len(), 1, "{audit}");
    let detail = &events[0]["detail"];
    assert_eq!(detail["refused"], 50);
    assert_eq!(detail["source"], "127.0.0.1");
    assert!(detail["request"].as_str().unwrap().chars().count() <= 200);
}
