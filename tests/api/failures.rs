//! The mapping invariants under failure (DESIGN.md): a failure or a crash between the steps of
//! getToken and deleteUser never leaves two live identities for one subject, an identity nobody
//! maps to, or a deleted user whose ACS identity survives.
//!
//! Failures are injected with the `fail` crate's points (feature `failpoints`, which the test
//! command enables); crashes are real: the server binary is killed with SIGKILL while it is
//! held at a point, then started again on the same database.
#![cfg(feature = "failpoints")]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use acs_auth_providers::testing::TestIssuer;
use serde_json::Value;

use crate::helpers::{TENANT, assert_problem, spawn_app, start_emulator};

/// Every test here configures process-global fail points: nextest runs each test in its own
/// process, so they cannot leak into one another.
struct Points(String);
impl Points {
    fn set(name: &str, action: &str) -> Self {
        fail::cfg(name, action).unwrap();
        Points(name.to_owned())
    }
}
impl Drop for Points {
    fn drop(&mut self) {
        fail::remove(&self.0);
    }
}

#[tokio::test]
async fn failure_before_acs_create_leaves_nothing() {
    let app = spawn_app().await;
    let _p = Points::set("get_token::before_acs_create", "return");
    let resp = app.get_token(&app.idp.token("alice")).await;
    assert_problem(resp, 503, "store_unavailable").await;
    assert!(app.mappings().await.is_empty());
    assert_eq!(app.emulator.emulator().live_identity_count(), 0);
}

#[tokio::test]
async fn store_failure_after_acs_create_deletes_the_new_identity() {
    let app = spawn_app().await;
    let _p = Points::set("get_token::mapping_insert", "return");
    let resp = app.get_token(&app.idp.token("alice")).await;
    assert_eq!(resp.status().as_u16(), 503);
    assert!(app.mappings().await.is_empty());
    assert_eq!(
        app.emulator.emulator().live_identity_count(),
        0,
        "the identity nobody maps to was deleted"
    );
    fail::remove("get_token::mapping_insert");
    assert_eq!(
        app.get_token(&app.idp.token("alice"))
            .await
            .status()
            .as_u16(),
        201
    );
    assert_eq!(app.emulator.emulator().live_identity_count(), 1);
}

#[tokio::test]
async fn failure_after_the_mapping_is_stored_keeps_one_identity() {
    let app = spawn_app().await;
    let token = app.idp.token("alice");
    let _p = Points::set("get_token::after_mapping_insert", "1*return");
    assert_eq!(app.get_token(&token).await.status().as_u16(), 503);
    let again = app.get_token(&token).await;
    assert_eq!(again.status().as_u16(), 200, "the stored mapping is found");
    let body: Value = again.json().await.unwrap();
    let mappings = app.mappings().await;
    assert_eq!(mappings.len(), 1);
    assert_eq!(
        body["user"]["communicationUserId"],
        mappings[0].acs_user_id.as_str()
    );
    assert_eq!(app.emulator.emulator().live_identity_count(), 1);
}

#[tokio::test]
async fn failure_after_delete_commit_is_finished_by_the_worker() {
    let app = spawn_app().await;
    let token = app.idp.token("alice");
    let body: Value = app.get_token(&token).await.json().await.unwrap();
    let id = body["user"]["communicationUserId"]
        .as_str()
        .unwrap()
        .to_owned();
    let _p = Points::set("delete_user::after_commit", "return");
    assert_eq!(app.delete_user(&token).await.status().as_u16(), 503);
    // The mapping is gone and the deletion is recorded; ACS was not called yet.
    assert!(app.mappings().await.is_empty());
    assert!(app.emulator.emulator().identity_exists(&id));
    assert_eq!(app.state.store.pending_deletions().await.unwrap().len(), 1);
    app.run_deletion_worker().await;
    assert!(!app.emulator.emulator().identity_exists(&id));
    assert!(
        app.state
            .store
            .pending_deletions()
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn failure_after_the_acs_delete_is_cleaned_up_on_retry() {
    let app = spawn_app().await;
    let token = app.idp.token("alice");
    let body: Value = app.get_token(&token).await.json().await.unwrap();
    let id = body["user"]["communicationUserId"]
        .as_str()
        .unwrap()
        .to_owned();
    let _p = Points::set("delete_user::after_acs_delete", "1*return");
    assert_eq!(app.delete_user(&token).await.status().as_u16(), 202);
    assert!(
        !app.emulator.emulator().identity_exists(&id),
        "ACS deleted it"
    );
    assert_eq!(app.state.store.pending_deletions().await.unwrap().len(), 1);
    app.run_deletion_worker().await;
    assert!(
        app.state
            .store
            .pending_deletions()
            .await
            .unwrap()
            .is_empty(),
        "the 404 completes it"
    );
}

/// The server binary on a fixed config, killed on drop.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_server(config: &std::path::Path, failpoints: Option<&str>) -> Server {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_acs-auth"));
    cmd.args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(fp) = failpoints {
        cmd.env("FAILPOINTS", fp);
    }
    let server = Server {
        child: cmd.spawn().unwrap(),
        base: format!("http://127.0.0.1:{port}"),
    };
    let started = Instant::now();
    let client = acs_auth_providers::http_client();
    loop {
        if let Ok(r) = client.get(format!("{}/readyz", server.base)).send().await
            && r.status().is_success()
        {
            return server;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The database the server of `write_config` uses, opened by the test itself.
async fn open_store(dir: &std::path::Path) -> acs_auth::store::Store {
    let url = format!("sqlite://{}?mode=rwc", dir.join("acs-auth.db").display());
    acs_auth::store::Store::connect(&url, 1).await.unwrap()
}

fn write_config(dir: &std::path::Path, idp: &TestIssuer, acs: &str) -> std::path::PathBuf {
    let path = dir.join("acs-auth.toml");
    let toml = format!(
        r#"
[database]
url = "sqlite://{db}?mode=rwc"
[acs]
connection_string = "{acs}"
[deletion]
retry_interval_secs = 1
max_backoff_secs = 1
[[tenants]]
id = "{TENANT}"
[tenants.provider]
kind = "oidc"
issuer = "{issuer}"
audiences = ["{aud}"]
allow_http = true
allow_private_network = true
"#,
        db = dir.join("acs-auth.db").display(),
        issuer = idp.issuer(),
        aud = idp.audience(),
    );
    std::fs::write(&path, toml).unwrap();
    path
}

/// Sends a request that the server will never answer (it is held at a fail point, then
/// killed), and waits until it is held.
async fn send_and_crash(
    server: Server,
    method: reqwest::Method,
    path: &str,
    token: &str,
    held: impl AsyncFn() -> bool,
) {
    let client = acs_auth_providers::http_client();
    let url = format!("{}{path}", server.base);
    let token = token.to_owned();
    let request =
        tokio::spawn(async move { client.request(method, url).bearer_auth(token).send().await });
    let started = Instant::now();
    while !held().await {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never reached the fail point"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(server); // SIGKILL
    assert!(
        request.await.unwrap().is_err(),
        "the request dies with the server"
    );
}

#[tokio::test]
async fn crash_after_delete_commit_is_finished_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let idp = TestIssuer::start().await;
    let emulator = start_emulator().await;
    let config = write_config(dir.path(), &idp, &emulator.connection_string());
    let token = idp.token("alice");
    let client = acs_auth_providers::http_client();

    let server = start_server(&config, Some("delete_user::after_commit=sleep(60000)")).await;
    let body: Value = client
        .post(format!("{}/tenants/{TENANT}/getToken", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = body["user"]["communicationUserId"]
        .as_str()
        .unwrap()
        .to_owned();

    // Crash between the committed deletion record and the ACS call.
    let store = open_store(dir.path()).await;
    let probe = store.clone();
    send_and_crash(
        server,
        reqwest::Method::DELETE,
        &format!("/tenants/{TENANT}/deleteUser"),
        &token,
        async || {
            probe
                .pending_deletions()
                .await
                .map(|p| p.len() == 1)
                .unwrap_or(false)
        },
    )
    .await;
    assert!(
        emulator.emulator().identity_exists(&id),
        "ACS was never called"
    );

    // After a restart the worker finishes the deletion.
    let _server = start_server(&config, None).await;
    let started = Instant::now();
    while emulator.emulator().identity_exists(&id) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the deletion was never retried"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let started = Instant::now();
    while !store.pending_deletions().await.unwrap().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(store.mappings_of_tenant(TENANT).await.unwrap().is_empty());
}

#[tokio::test]
async fn crash_after_the_mapping_is_stored_keeps_one_identity_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let idp = TestIssuer::start().await;
    let emulator = start_emulator().await;
    let config = write_config(dir.path(), &idp, &emulator.connection_string());
    let token = idp.token("alice");

    let server = start_server(
        &config,
        Some("get_token::after_mapping_insert=sleep(60000)"),
    )
    .await;
    let store = open_store(dir.path()).await;
    let probe = store.clone();
    send_and_crash(
        server,
        reqwest::Method::POST,
        &format!("/tenants/{TENANT}/getToken"),
        &token,
        async || {
            probe
                .mappings_of_tenant(TENANT)
                .await
                .map(|m| m.len() == 1)
                .unwrap_or(false)
        },
    )
    .await;
    let stored = store.mappings_of_tenant(TENANT).await.unwrap();

    let server = start_server(&config, None).await;
    let resp = acs_auth_providers::http_client()
        .post(format!("{}/tenants/{TENANT}/getToken", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        200,
        "the identity created before the crash is used"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["user"]["communicationUserId"],
        stored[0].acs_user_id.as_str()
    );
    assert_eq!(emulator.emulator().live_identity_count(), 1);
}
