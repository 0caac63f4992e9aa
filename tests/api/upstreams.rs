//! Hanging and failing upstreams, seen through HTTP (issue 11): an identity provider that
//! accepts connections and never answers, and each way ACS can fail.

use std::time::{Duration, Instant};

use acs_auth::acs::Operation;
use acs_auth::acs::emulator::Fault;
use acs_auth::config::TenantSettings;
use acs_auth_providers::{OidcConfig, ProviderConfig};

use crate::helpers::{assert_problem, spawn_app_with};

#[tokio::test]
async fn an_idp_that_accepts_and_never_answers_gets_503_with_retry_after_within_the_timeout() {
    // Accepts every connection and never writes a byte.
    let hang = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", hang.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hang.accept().await {
            held.push(socket);
        }
    });
    let app = spawn_app_with(|s, idp| {
        s.jwks.request_timeout_secs = 1;
        s.tenants.push(TenantSettings::new(
            "hang",
            ProviderConfig::Oidc(OidcConfig {
                allow_http: true,
                allow_private_network: true,
                ..OidcConfig::new(issuer.clone(), vec![idp.audience()])
            }),
        ));
    })
    .await;
    let mut claims = app.idp.claims("alice");
    claims["iss"] = serde_json::json!(issuer);
    let bearer = app.idp.token_with(claims);
    let call = || async {
        let started = Instant::now();
        let resp = app.post_get_token("hang", &bearer, None).await;
        (resp, started.elapsed())
    };
    // Concurrent callers wait behind one fetch and all get their answer within the timeout.
    let answers = futures::future::join_all((0..5).map(|_| call())).await;
    for (resp, took) in answers {
        assert!(took < Duration::from_secs(3), "answered after {took:?}");
        assert!(resp.headers().get("retry-after").is_some());
        assert_problem(resp, 503, "idp_unavailable").await;
    }
    // The next request is not stuck behind the hung one either.
    let (resp, took) = call().await;
    assert!(took < Duration::from_secs(3), "answered after {took:?}");
    assert_problem(resp, 503, "idp_unavailable").await;
    // Other tenants are unaffected.
    assert_eq!(
        app.get_token(&app.idp.token("bob")).await.status().as_u16(),
        201
    );
}

#[tokio::test]
async fn acs_timeout_is_504_refusal_502_throttling_503_with_its_retry_after_open_breaker_503() {
    let app = spawn_app_with(|s, _| {
        s.acs.timeout_secs = 1;
        s.acs.circuit_breaker_threshold = 3;
        s.acs.circuit_breaker_cooldown_secs = 30;
    })
    .await;
    let app = &app;
    let emulator = app.emulator.emulator();
    let first_call = |user: &'static str| async move { app.get_token(&app.idp.token(user)).await };
    // A user mapped before anything fails; each new lifetime below is a new token to issue.
    let mapped = app.idp.token("mapped");
    assert_eq!(app.get_token(&mapped).await.status().as_u16(), 201);
    let mapped = &mapped;
    let issue = |minutes: u32| async move {
        let body = serde_json::json!({ "expiresInMinutes": minutes });
        app.post_get_token("acme", mapped, Some(body)).await
    };

    // ACS hangs past the client's timeout.
    emulator.inject(
        Operation::Create,
        Fault::LatencyFor {
            delay: Duration::from_secs(3),
            times: 1,
        },
    );
    let started = Instant::now();
    assert_problem(first_call("u1").await, 504, "acs_timeout").await;
    assert!(started.elapsed() < Duration::from_secs(3));
    emulator.clear_faults();

    // ACS refuses: a final 4xx is an upstream error.
    app.inject_status(Operation::Issue, 400, None, Some(1));
    assert_problem(issue(61).await, 502, "acs_error").await;
    emulator.clear_faults();

    // ACS throttles, asking for longer than the client waits (10 s): its Retry-After reaches
    // the caller at once.
    app.inject_status(Operation::Create, 429, Some(30), Some(1));
    let resp = first_call("u2").await;
    let retry_after: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (29..=30).contains(&retry_after),
        "Retry-After {retry_after}"
    );
    assert_problem(resp, 503, "acs_throttled").await;
    emulator.clear_faults();

    // ACS fails again and again: the breaker opens, and then calls are not even sent.
    app.inject_status(Operation::Issue, 503, None, None);
    for minutes in [62, 63, 64] {
        assert_problem(issue(minutes).await, 503, "acs_unavailable").await;
    }
    let calls = emulator.call_count(Operation::Issue);
    let resp = issue(65).await;
    assert!(resp.headers().get("retry-after").is_some());
    assert_problem(resp, 503, "acs_unavailable").await;
    assert_eq!(
        emulator.call_count(Operation::Issue),
        calls,
        "the open breaker sent nothing"
    );
}
