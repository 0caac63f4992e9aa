//! `/metrics`: one scrape shows the requests, the ACS calls, the caches, the IdP fetches and the
//! refused tokens; tenant labels stay bounded; the endpoint can require a bearer token.

use secrecy::SecretString;

use crate::helpers::{TENANT, TestApp, spawn_app, spawn_app_with};

async fn scrape(app: &TestApp) -> String {
    let resp = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    resp.text().await.unwrap()
}

/// The value of the series `series` (name and labels exactly as exposed).
fn value(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

#[tokio::test]
async fn a_scrape_after_get_token_shows_requests_acs_calls_caches_and_fetches() {
    let app = spawn_app().await;
    let token = app.idp.token("alice");
    assert_eq!(app.get_token(&token).await.status().as_u16(), 201);
    assert_eq!(app.get_token(&token).await.status().as_u16(), 200);
    let body = scrape(&app).await;
    println!("{body}");
    let resource = app.state.resources.default_resource().name.clone();
    for (series, expected) in [
        (
            format!(
                "acs_auth_http_requests_total{{operation=\"getToken\",status=\"2xx\",tenant=\"{TENANT}\"}}"
            ),
            2.0,
        ),
        (
            format!(
                "acs_auth_acs_calls_total{{operation=\"create\",outcome=\"ok\",resource=\"{resource}\"}}"
            ),
            1.0,
        ),
        (
            format!("acs_auth_acs_circuit_open{{resource=\"{resource}\"}}"),
            0.0,
        ),
        (
            "acs_auth_cache_lookups_total{cache=\"verified_token\",result=\"hit\"}".to_owned(),
            1.0,
        ),
        (
            "acs_auth_cache_lookups_total{cache=\"acs_token\",result=\"hit\"}".to_owned(),
            1.0,
        ),
        (
            "acs_auth_idp_fetches_total{kind=\"jwks\",outcome=\"ok\"}".to_owned(),
            1.0,
        ),
        (
            "acs_auth_idp_fetches_total{kind=\"discovery\",outcome=\"ok\"}".to_owned(),
            1.0,
        ),
        ("acs_auth_pending_deletions".to_owned(), 0.0),
        (
            "acs_auth_http_request_duration_seconds_count{operation=\"getToken\"}".to_owned(),
            2.0,
        ),
    ] {
        assert_eq!(value(&body, &series), Some(expected), "{series} in\n{body}");
    }
    // The scrape itself is not a counted request: the two getTokens are all there is.
    let requests: Vec<&str> = body
        .lines()
        .filter(|l| l.starts_with("acs_auth_http_requests_total{"))
        .collect();
    assert_eq!(requests.len(), 1, "{requests:?}");
}

#[tokio::test]
async fn refused_tokens_and_failures_are_counted_by_code() {
    let app = spawn_app().await;
    let resp = app.get_token("x.y.z").await;
    assert_eq!(resp.status().as_u16(), 401);
    app.set_acs_failing(true);
    let resp = app.get_token(&app.idp.token("bob")).await;
    assert!(resp.status().is_server_error());
    let body = scrape(&app).await;
    assert_eq!(
        value(
            &body,
            &format!(
                "acs_auth_refused_tokens_total{{tenant=\"{TENANT}\",code=\"token_malformed\"}}"
            )
        ),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        value(
            &body,
            &format!(
                "acs_auth_http_requests_total{{operation=\"getToken\",status=\"4xx\",tenant=\"{TENANT}\"}}"
            )
        ),
        Some(1.0),
        "{body}"
    );
    assert!(
        body.lines().any(|l| l
            .starts_with("acs_auth_acs_calls_total{operation=\"create\",outcome=\"refused\"")
            || l.starts_with(
                "acs_auth_acs_calls_total{operation=\"create\",outcome=\"transport\""
            )),
        "{body}"
    );
}

#[tokio::test]
async fn invented_and_surplus_tenants_share_the_other_label() {
    let app = spawn_app_with(|s, _| s.metrics.max_tenant_labels = 1).await;
    for i in 0..20 {
        let resp = app
            .post_get_token(&format!("invented-{i}"), "x.y.z", None)
            .await;
        assert_eq!(resp.status().as_u16(), 404);
    }
    let body = scrape(&app).await;
    assert_eq!(
        value(
            &body,
            "acs_auth_http_requests_total{operation=\"getToken\",status=\"4xx\",tenant=\"other\"}"
        ),
        Some(20.0),
        "{body}"
    );
    assert!(!body.contains("invented-"), "{body}");
}

#[tokio::test]
async fn the_metrics_can_require_a_bearer_token() {
    let app = spawn_app_with(|s, _| {
        s.metrics.bearer_token = Some(SecretString::from("scrape-secret"));
    })
    .await;
    let resp = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let resp = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let resp = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn the_metrics_can_be_turned_off() {
    let app = spawn_app_with(|s, _| s.metrics.enabled = false).await;
    let resp = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}
