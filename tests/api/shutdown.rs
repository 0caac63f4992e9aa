//! Graceful shutdown as Kubernetes does it: on a real SIGTERM `/readyz` turns 503 at once while
//! requests are still served for `server.shutdown_delay_secs`; then new connections are refused,
//! in-flight requests finish within `server.shutdown_grace_secs`, and the process exits cleanly
//! — also when a request outlives the grace period.
#![cfg(feature = "failpoints")]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use acs_auth::acs::RunningEmulator;
use acs_auth_providers::testing::TestIssuer;

use crate::helpers::{TENANT, start_emulator};

struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `acs-auth serve` with one tenant of `idp`, `server` settings and the fail points `failpoints`.
async fn serve(
    idp: &TestIssuer,
    emulator: &RunningEmulator,
    server: &str,
    failpoints: &str,
) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\n{server}\n[database]\nurl = \"sqlite://{}?mode=rwc\"\n[acs]\nconnection_string = \"{}\"\n\
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
    let child = Command::new(env!("CARGO_BIN_EXE_acs-auth"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--config"])
        .arg(&config)
        .env("FAILPOINTS", failpoints)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    };
    let client = acs_auth_providers::http_client();
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{}/readyz", server.base)).send().await
            && r.status().is_success()
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server
}

fn sigterm(server: &Server) {
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
}

/// Waits (at most `within`) for the process to exit; its status and when it exited.
async fn exited(server: &mut Server, within: Duration) -> (std::process::ExitStatus, Duration) {
    let started = Instant::now();
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            return (status, started.elapsed());
        }
        assert!(started.elapsed() < within, "the server did not exit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

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
        "shutdown_delay_secs = 2\nshutdown_grace_secs = 20",
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
        "shutdown_delay_secs = 0\nshutdown_grace_secs = 1",
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
