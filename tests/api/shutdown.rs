//! Graceful shutdown as Kubernetes does it: on a real SIGTERM `/readyz` turns 503 at once while
//! requests are still served for `server.shutdown_delay_secs`; then new connections are refused,
//! in-flight requests finish within `server.shutdown_grace_secs`, and the process exits cleanly
//! — also when a request outlives the grace period.
#![cfg(feature = "failpoints")]

use std::time::{Duration, Instant};

use acs_auth_providers::testing::TestIssuer;

use crate::helpers::{TENANT, start_emulator};
use crate::process::{Server, exited, serve, sigterm};

/// Starts a getToken for `alice` and waits until the server is handling it (the fail point
/// holds it before its ACS call, so the emulator has no identity yet).
async fn start_in_flight(
    server: &Server,
    idp: &TestIssuer,
) -> tokio::task::JoinHandle<reqwest::Result<reqwest::Response>> {
    let client = acs_auth_providers::http_client();
    let url = format!("{}/tenants/{TENANT}/getToken", server.base);
    let token = idp.token("alice");
    let in_flight = tokio::spawn(async move { client.post(url).bearer_auth(token).send().await });
    // The request reached the handler once its token was verified: the IdP's keys were fetched.
    let started = Instant::now();
    while idp.jwks_fetch_count() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the request did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    in_flight
}

#[tokio::test]
async fn sigterm_turns_readiness_off_at_once_serves_through_the_delay_and_exits_cleanly() {
    let idp = TestIssuer::start().await;
    let emulator = start_emulator().await;
    // The first getToken is held 2 s before it calls ACS: in flight across the signal.
    let mut server = serve(
        &idp,
        &emulator,
        "[server]\nshutdown_delay_secs = 2\nshutdown_grace_secs = 20",
        "get_token::before_acs_create=1*sleep(2000)",
    )
    .await;
    let client = acs_auth_providers::http_client();
    let in_flight = start_in_flight(&server, &idp).await;
    sigterm(&server);

    // Readiness turns false at once, while the server still answers (load balancers see it).
    let started = Instant::now();
    loop {
        let ready = client
            .get(format!("{}/readyz", server.base))
            .send()
            .await
            .expect("still accepting during the shutdown delay");
        if ready.status().as_u16() == 503 {
            let body: serde_json::Value = ready.json().await.unwrap();
            assert!(
                body["checks"].to_string().contains("shutdown: in progress"),
                "{body}"
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "/readyz still 200 after the signal"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Requests are still served during the delay.
    let health = client
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);

    let resp = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(resp.status().as_u16(), 201, "it completed normally");
    let (status, _) = exited(&mut server, Duration::from_secs(25)).await;
    assert!(status.success(), "{status:?}");
    // After the delay, new connections are refused (the process is gone).
    assert!(
        client
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .is_err()
    );
    assert_eq!(emulator.emulator().live_identity_count(), 1);
}

#[tokio::test]
async fn a_request_outliving_the_grace_period_does_not_hold_the_exit() {
    let idp = TestIssuer::start().await;
    let emulator = start_emulator().await;
    // Held 20 s: far past the 1 s grace.
    let mut server = serve(
        &idp,
        &emulator,
        "[server]\nshutdown_delay_secs = 0\nshutdown_grace_secs = 1",
        "get_token::before_acs_create=1*sleep(20000)",
    )
    .await;
    let in_flight = start_in_flight(&server, &idp).await;
    sigterm(&server);
    let (status, after) = exited(&mut server, Duration::from_secs(10)).await;
    assert!(status.success(), "{status:?}");
    assert!(
        after < Duration::from_secs(8),
        "exited {after:?} after the signal, not within the grace"
    );
    let answer = in_flight.await.unwrap();
    assert!(
        answer.is_err(),
        "the held request was cut off, not answered: {answer:?}"
    );
    assert_eq!(emulator.emulator().live_identity_count(), 0);
}
