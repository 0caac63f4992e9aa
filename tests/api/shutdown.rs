//! Graceful shutdown: on SIGTERM readiness turns false, in-flight requests finish, the process
//! exits cleanly.
#![cfg(feature = "failpoints")]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use acs_auth_providers::testing::TestIssuer;

use crate::helpers::{TENANT, start_emulator};

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let idp = TestIssuer::start().await;
    let emulator = start_emulator().await;
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{}?mode=rwc\"\n[acs]\nconnection_string = \"{}\"\n\
             [[tenants]]\nid = \"{TENANT}\"\n[tenants.provider]\nkind = \"oidc\"\nissuer = \"{}\"\n\
             audiences = [\"{}\"]\nallow_http = true\nallow_private_network = true\n",
            dir.path().join("db.sqlite").display(),
            emulator.connection_string(),
            idp.issuer(),
            idp.audience()
        ),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    // The first getToken is held 2 s before it calls ACS: long enough to be in flight.
    let mut child = Command::new(env!("CARGO_BIN_EXE_acs-auth"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--config"])
        .arg(&config)
        .env("FAILPOINTS", "get_token::before_acs_create=1*sleep(2000)")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = acs_auth_providers::http_client();
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await
            && r.status().is_success()
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let token = idp.token("alice");
    let in_flight = tokio::spawn({
        let client = client.clone();
        let url = format!("{base}/tenants/{TENANT}/getToken");
        async move { client.post(url).bearer_auth(token).send().await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );

    let resp = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(resp.status().as_u16(), 201, "it completed normally");
    // New connections are refused once shutdown began.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(client.get(format!("{base}/healthz")).send().await.is_err());

    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(35),
            "the server did not exit"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "{status:?}");
    assert_eq!(emulator.emulator().live_identity_count(), 1);
}

#[tokio::test]
async fn readiness_turns_false_when_shutdown_begins() {
    let app = crate::helpers::spawn_app().await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    app.state
        .accepting
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let draining = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(draining.status().as_u16(), 503);
    let body: serde_json::Value = draining.json().await.unwrap();
    assert!(
        body["checks"].to_string().contains("shutdown: in progress"),
        "{body}"
    );
}
