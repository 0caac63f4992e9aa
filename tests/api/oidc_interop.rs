//! The generic `oidc` provider end to end against a third-party OpenID Connect server:
//! oauth2-mock-server from npm, driven by tests/interop/oidc_mock_server.mjs as a Node child
//! process (discovery, JWKS and access tokens all come from it, over real HTTP).
//!
//! Needs `tests/interop/setup.sh` run once (scripts/test does); without its node_modules these
//! tests fail and say so.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use acs_auth_providers::{OidcConfig, ProviderConfig};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

use crate::helpers::{TestApp, assert_problem, oidc_tenant, spawn_app_with};

const MOCK_TENANT: &str = "mock-oidc";
const AUDIENCE: &str = "api://acs-auth-interop";
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// oauth2-mock-server running in a Node child; killed when dropped (its stdin closing makes the
/// script exit too).
struct MockOidcServer {
    /// Exactly what the server writes in `iss` and in its discovery document.
    issuer: String,
    token_endpoint: String,
    jwks_uri: String,
    /// The `kid` of the key it signs with now.
    kid: String,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    http: reqwest::Client,
    child: Child,
}

impl Drop for MockOidcServer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

impl MockOidcServer {
    async fn start() -> Self {
        let dir = interop_dir();
        let package = dir.join("node_modules/oauth2-mock-server/package.json");
        assert!(
            package.exists(),
            "oauth2-mock-server is missing ({}): run tests/interop/setup.sh first",
            package.display()
        );
        let mut child = tokio::process::Command::new("node")
            .arg("oidc_mock_server.mjs")
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run node (Node 20.19+ is needed): {e}"));
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let mut server = Self {
            issuer: String::new(),
            token_endpoint: String::new(),
            jwks_uri: String::new(),
            kid: String::new(),
            stdin,
            stdout,
            http: acs_auth_providers::http_client(),
            child,
        };
        let ready = server.next_reply().await;
        let field = |name: &str| {
            ready[name]
                .as_str()
                .unwrap_or_else(|| panic!("`{name}` in the mock server's first line {ready}"))
                .to_owned()
        };
        server.issuer = field("issuer");
        server.token_endpoint = field("tokenEndpoint");
        server.jwks_uri = field("jwksUri");
        server.kid = field("kid");
        server
    }

    /// The next JSON line the script prints.
    async fn next_reply(&mut self) -> Value {
        let line = tokio::time::timeout(REPLY_TIMEOUT, self.stdout.next_line())
            .await
            .expect("the mock OIDC server answers in time")
            .expect("read the mock OIDC server's stdout")
            .expect("the mock OIDC server exited (see its stderr above)");
        let reply: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("mock OIDC server printed {line:?}: {e}"));
        assert!(reply.get("error").is_none(), "mock OIDC server: {reply}");
        reply
    }

    /// An access token from the server's own token endpoint.
    async fn access_token(&self, subject: &str, audience: &str) -> String {
        let resp = self
            .http
            .post(&self.token_endpoint)
            .form(&[
                ("grant_type", "client_credentials"),
                ("sub", subject),
                ("aud", audience),
                ("scope", "openid"),
            ])
            .send()
            .await
            .expect("token request sent");
        assert_eq!(resp.status().as_u16(), 200, "token endpoint status");
        let body: Value = resp.json().await.expect("token response is JSON");
        body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access_token in {body}"))
            .to_owned()
    }

    /// Switches to a new signing key and stops publishing the old one; returns the new `kid`.
    async fn rotate_key(&mut self) -> String {
        self.stdin
            .write_all(b"rotate\n")
            .await
            .expect("write to the mock OIDC server");
        self.stdin.flush().await.expect("flush");
        let reply = self.next_reply().await;
        assert_eq!(reply["oldKid"].as_str(), Some(self.kid.as_str()), "{reply}");
        self.kid = reply["kid"].as_str().expect("new kid").to_owned();
        self.kid.clone()
    }

    /// The `kid`s its JWKS publishes now.
    async fn published_kids(&self) -> Vec<String> {
        let jwks: Value = self
            .http
            .get(&self.jwks_uri)
            .send()
            .await
            .expect("JWKS request sent")
            .json()
            .await
            .expect("JWKS is JSON");
        jwks["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|k| k["kid"].as_str().expect("kid").to_owned())
            .collect()
    }
}

/// The `kid` in a JWT's header.
fn kid_of(token: &str) -> String {
    let header = token.split('.').next().expect("JWT header");
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("base64url"))
        .expect("header JSON");
    header["kid"].as_str().expect("kid in header").to_owned()
}

/// acs-auth with one `oidc` tenant, `MOCK_TENANT`, trusting the mock server for `AUDIENCE`.
async fn spawn_app_trusting(mock: &MockOidcServer, refetch_cooldown_secs: Option<u64>) -> TestApp {
    let issuer = mock.issuer.clone();
    spawn_app_with(move |settings, idp| {
        let mut tenant = oidc_tenant(MOCK_TENANT, idp);
        tenant.provider = ProviderConfig::Oidc(OidcConfig {
            allow_http: true,
            allow_private_network: true,
            ..OidcConfig::new(issuer, vec![AUDIENCE.into()])
        });
        settings.tenants = vec![tenant];
        if let Some(secs) = refetch_cooldown_secs {
            settings.jwks.refetch_cooldown_secs = secs;
        }
    })
    .await
}

/// getToken for `MOCK_TENANT`: asserts `status` and returns the ACS user id.
async fn acs_user_of(app: &TestApp, bearer: &str, status: u16) -> String {
    let resp = app.post_get_token(MOCK_TENANT, bearer, None).await;
    assert_eq!(resp.status().as_u16(), status, "getToken status");
    let body: Value = resp.json().await.expect("getToken body is JSON");
    let id = body["user"]["communicationUserId"]
        .as_str()
        .unwrap_or_else(|| panic!("no user in {body}"))
        .to_owned();
    let info = app
        .emulator
        .emulator()
        .verify_access_token(body["token"].as_str().expect("token"))
        .expect("the ACS token verifies at the emulator");
    assert_eq!(info.identity_id, id);
    id
}

#[tokio::test]
async fn get_token_accepts_tokens_from_a_third_party_oidc_server() {
    let mock = MockOidcServer::start().await;
    let app = spawn_app_trusting(&mock, None).await;

    let alice = mock.access_token("alice", AUDIENCE).await;
    let id = acs_user_of(&app, &alice, 201).await;
    assert!(id.starts_with("8:acs:"), "{id}");
    // The same user again: the same identity.
    assert_eq!(acs_user_of(&app, &alice, 200).await, id);
    // Another subject of that server: another identity.
    let bob = mock.access_token("bob", AUDIENCE).await;
    assert_ne!(acs_user_of(&app, &bob, 201).await, id);

    let mappings = app
        .state
        .store
        .mappings_of_tenant(MOCK_TENANT)
        .await
        .expect("mappings");
    let subjects: Vec<&str> = mappings.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(subjects, ["alice", "bob"]);
    assert!(mappings.iter().all(|m| m.issuer_key == mock.issuer));
}

#[tokio::test]
async fn get_token_keeps_working_after_the_oidc_server_rotates_its_key() {
    let mut mock = MockOidcServer::start().await;
    // No cool-down, so the on-demand refetch right after the first fetch is not held back.
    let app = spawn_app_trusting(&mock, Some(0)).await;

    let old_kid = mock.kid.clone();
    let before = mock.access_token("alice", AUDIENCE).await;
    assert_eq!(kid_of(&before), old_kid);
    let id = acs_user_of(&app, &before, 201).await;

    let new_kid = mock.rotate_key().await;
    assert_ne!(new_kid, old_kid);
    assert_eq!(mock.published_kids().await, std::slice::from_ref(&new_kid));

    // Same acs-auth process: the new kid is fetched on demand.
    let after = mock.access_token("alice", AUDIENCE).await;
    assert_eq!(kid_of(&after), new_kid);
    assert_eq!(acs_user_of(&app, &after, 200).await, id);
    let carol = mock.access_token("carol", AUDIENCE).await;
    assert_ne!(acs_user_of(&app, &carol, 201).await, id);

    // The old key is no longer published: a token it signed is refused.
    let resp = app.post_get_token(MOCK_TENANT, &before, None).await;
    assert_problem(resp, 401, "token_unknown_key").await;
}

#[tokio::test]
async fn get_token_refuses_a_token_from_the_oidc_server_for_another_audience() {
    let mock = MockOidcServer::start().await;
    let app = spawn_app_trusting(&mock, None).await;

    let bearer = mock.access_token("alice", "api://someone-else").await;
    let resp = app.post_get_token(MOCK_TENANT, &bearer, None).await;
    assert_problem(resp, 401, "token_invalid_audience").await;
    assert!(
        app.state
            .store
            .mappings_of_tenant(MOCK_TENANT)
            .await
            .expect("mappings")
            .is_empty()
    );
}
