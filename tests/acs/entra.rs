//! Entra ID authentication end to end, over real HTTP(S) on 127.0.0.1: the project's one fake
//! Entra ID authority, `acs_auth_providers::testing::FakeEntra` (the client-credentials token
//! endpoint azure_identity calls, over HTTPS with a self-signed certificate, and an IMDS
//! endpoint reached through an HTTP proxy), the emulator trusting its keys, and
//! [`AcsClient::with_credential`].

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use acs_auth::acs::{
    ACS_RESOURCE, ACS_SCOPE, AcsClient, AcsError, ConnectionString, EmulatorConfig,
    EmulatorEntraTrust, EntraCredentialConfig, RunningEmulator, build_credential,
    install_crypto_provider,
};
use azure_core::credentials::{
    AccessToken as AzureAccessToken, TokenCredential, TokenRequestOptions,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use poem::listener::TcpAcceptor;
use poem::{Request, Server};
use secrecy::SecretString;
use serde_json::{Value, json};
use url::Url;

use acs_auth_providers::testing::{
    CLIENT_ASSERTION_TYPE as ASSERTION_TYPE, FakeEntra, TokenEndpointMode as Mode, app_token_claims,
};

use crate::helpers::{api_code, loopback, scopes, signing_key};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT_ID: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
const CLIENT_SECRET: &str = "s3cr3t~value.for-tests";
const MI_CLIENT_ID: &str = "9d2ac018-e843-4e14-9e2b-4e0ddac75450";

// ---------------------------------------------------------------------------------------------
// Helpers

/// The fake authority over HTTPS, knowing the app (`CLIENT_ID` with `CLIENT_SECRET`) of
/// directory `TENANT`, whose managed-identity tokens are of `TENANT` too.
async fn start_entra() -> FakeEntra {
    let entra = FakeEntra::start_https().await;
    entra.register_client(TENANT, CLIENT_ID, CLIENT_SECRET);
    entra.set_managed_identity_tenant(TENANT);
    entra
}

fn issuer() -> String {
    FakeEntra::v1_issuer(TENANT)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The claims Entra ID puts in an app-only v1 token of `TENANT` for `aud`.
fn app_claims(aud: &str, appid: &str) -> Value {
    app_token_claims(TENANT, aud, appid)
}

fn client_secret_config(entra: &FakeEntra) -> EntraCredentialConfig {
    EntraCredentialConfig::ClientSecret {
        tenant_id: TENANT.into(),
        client_id: CLIENT_ID.into(),
        client_secret: SecretString::from(CLIENT_SECRET),
        authority_host: Some(entra.https_authority()),
    }
}

fn trust(entra: &FakeEntra) -> EmulatorEntraTrust {
    EmulatorEntraTrust::from_jwks_json(&entra.jwks_json(), [issuer()]).unwrap()
}

fn json_response(status: u16, body: &Value) -> poem::Response {
    poem::Response::builder()
        .status(poem::http::StatusCode::from_u16(status).unwrap())
        .content_type("application/json; charset=utf-8")
        .body(body.to_string())
}

async fn start_emulator(entra: Option<EmulatorEntraTrust>) -> RunningEmulator {
    install_crypto_provider();
    let mut config = EmulatorConfig::with_random_key();
    config.signing_key = Some(signing_key());
    config.entra = entra;
    RunningEmulator::start(config, loopback(), None)
        .await
        .unwrap()
}

fn endpoint_of(emu: &RunningEmulator) -> Url {
    Url::parse(&emu.http_endpoint()).unwrap()
}

fn entra_client(
    emu: &RunningEmulator,
    config: &EntraCredentialConfig,
    http: reqwest::Client,
    timeout: Duration,
) -> AcsClient {
    let credential = build_credential(config, &http).unwrap();
    AcsClient::with_credential(
        acs_auth_providers::http_client(),
        endpoint_of(emu),
        credential,
        timeout,
    )
}

fn credential_failure(e: &AcsError) -> (&str, bool) {
    match e {
        AcsError::Credential { message, retryable } => (message.as_str(), *retryable),
        other => panic!("expected a credential error, got {other:?}"),
    }
}

/// Create, issue, revoke and delete; the identity is gone afterwards.
async fn round_trip(client: &AcsClient, emu: &RunningEmulator) {
    let created = client
        .create_identity(Some((&scopes(&["chat", "voip"]), 60)))
        .await
        .unwrap();
    assert!(emu.emulator().identity_exists(&created.id));
    let first = created.access_token.unwrap();
    assert!(
        emu.emulator()
            .verify_access_token(secrecy::ExposeSecret::expose_secret(&first.token))
            .is_some()
    );
    let issued = client
        .issue_access_token(&created.id, &scopes(&["chat"]), 120)
        .await
        .unwrap();
    let info = emu
        .emulator()
        .verify_access_token(secrecy::ExposeSecret::expose_secret(&issued.token))
        .unwrap();
    assert_eq!(info.identity_id, created.id);
    client.revoke_access_tokens(&created.id).await.unwrap();
    client.delete_identity(&created.id).await.unwrap();
    assert!(!emu.emulator().identity_exists(&created.id));
}

/// Send `POST /identities` with `Authorization: Bearer <token>`; the status, error code and
/// message.
async fn post_with_bearer_verbose(emu: &RunningEmulator, token: &str) -> (u16, String, String) {
    let resp = acs_auth_providers::http_client()
        .post(format!(
            "{}identities?api-version=2023-10-01",
            emu.http_endpoint()
        ))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let message = body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (status, code, message)
}

async fn post_with_bearer(emu: &RunningEmulator, token: &str) -> (u16, String) {
    let (status, code, _) = post_with_bearer_verbose(emu, token).await;
    (status, code)
}

/// A credential that hands out one fixed token.
#[derive(Debug)]
struct StaticCredential(String);

#[async_trait::async_trait]
impl TokenCredential for StaticCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AzureAccessToken> {
        assert_eq!(scopes, [ACS_SCOPE]);
        Ok(AzureAccessToken::new(
            self.0.clone(),
            azure_core::time::OffsetDateTime::now_utc() + azure_core::time::Duration::hours(1),
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn client_secret_credential_round_trips_against_the_emulator_with_one_token_request() {
    let entra = start_entra().await;
    let emu = start_emulator(Some(trust(&entra))).await;
    let client = entra_client(
        &emu,
        &client_secret_config(&entra),
        entra.http_client(),
        Duration::from_secs(10),
    );
    assert_eq!(client.auth_kind(), "entra_id");
    round_trip(&client, &emu).await;
    round_trip(&client, &emu).await;
    // Ten ACS calls, one token request: azure_identity caches the token.
    assert_eq!(entra.token_calls(), 1);
    let requests = entra.token_requests();
    let form = &requests[0];
    assert_eq!(form["scope"], ACS_SCOPE);
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], CLIENT_ID);
    assert_eq!(form["client_secret"], CLIENT_SECRET);
    // The token's audience is the resource the scope names, with its trailing slash.
    let token = entra.last_token().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["aud"], ACS_RESOURCE);
}

#[tokio::test]
async fn from_entra_config_builds_the_same_client() {
    let entra = start_entra().await;
    let emu = start_emulator(Some(trust(&entra))).await;
    let client = AcsClient::from_entra_config(
        entra.http_client(),
        endpoint_of(&emu),
        &client_secret_config(&entra),
        Duration::from_secs(10),
    )
    .unwrap();
    round_trip(&client, &emu).await;
    assert!(!format!("{client:?}").contains(CLIENT_SECRET));
}

/// What a bearer-authenticated request looks like on the wire.
#[tokio::test]
async fn bearer_requests_carry_the_token_and_no_hmac_headers() {
    let entra = start_entra().await;
    let seen: Arc<Mutex<Vec<poem::http::HeaderMap>>> = Arc::default();
    let recorder = {
        let seen = seen.clone();
        poem::endpoint::make(move |req: Request| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(req.headers().clone());
                json_response(201, &json!({"identity": {"id": "8:acs:r_u"}}))
            }
        })
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = Server::new_with_acceptor(TcpAcceptor::from_tokio(listener).unwrap())
            .run(recorder)
            .await;
    });
    let credential = build_credential(&client_secret_config(&entra), &entra.http_client()).unwrap();
    let client = AcsClient::with_credential(
        acs_auth_providers::http_client(),
        Url::parse(&format!("http://{addr}/")).unwrap(),
        credential,
        Duration::from_secs(10),
    );
    client.create_identity(None).await.unwrap();
    task.abort();
    let headers = seen.lock().unwrap()[0].clone();
    let token = entra.last_token().unwrap();
    assert_eq!(headers["authorization"], format!("Bearer {token}").as_str());
    for absent in ["x-ms-date", "x-ms-content-sha256"] {
        assert!(
            !headers.contains_key(absent),
            "{absent} sent with a bearer token"
        );
    }
    assert_eq!(headers["x-ms-return-client-request-id"], "true");
    assert!(headers.contains_key("x-ms-client-request-id"));
}

#[tokio::test]
async fn emulator_accepts_only_verified_bearer_tokens() {
    let entra = start_entra().await;
    let emu = start_emulator(Some(trust(&entra))).await;
    let valid = app_claims(ACS_RESOURCE, CLIENT_ID);
    assert_eq!(
        post_with_bearer(&emu, &entra.token_with(valid.clone()))
            .await
            .0,
        201
    );
    // The single-slash scope's audience is accepted too.
    let no_slash = app_claims("https://communication.azure.com", CLIENT_ID);
    assert_eq!(
        post_with_bearer(&emu, &entra.token_with(no_slash)).await.0,
        201
    );

    let mut wrong_aud = valid.clone();
    wrong_aud["aud"] = json!("https://management.azure.com/");
    let mut teams_aud = valid.clone();
    teams_aud["aud"] = json!("https://auth.msft.communication.azure.com");
    let mut wrong_iss = valid.clone();
    wrong_iss["iss"] = json!("https://sts.windows.net/00000000-0000-0000-0000-000000000000/");
    let mut expired = valid.clone();
    expired["exp"] = json!(now() - 3600);
    let mut not_yet = valid.clone();
    not_yet["nbf"] = json!(now() + 3600);
    let mut no_exp = valid.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    let hs256 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &valid,
        &EncodingKey::from_secret(b"k"),
    )
    .unwrap();
    // (case, token, what the message says)
    let rejected = [
        ("wrong audience", entra.token_with(wrong_aud), "audience"),
        ("Teams audience", entra.token_with(teams_aud), "audience"),
        ("untrusted issuer", entra.token_with(wrong_iss), "issuer"),
        ("expired", entra.token_with(expired), "expired"),
        ("not yet valid", entra.token_with(not_yet), "not valid yet"),
        ("no exp", entra.token_with(no_exp), "'exp'"),
        (
            "signed by another key with the same kid",
            entra.sign_with_unpublished_key(valid.clone()),
            "signature",
        ),
        ("HS256", hs256, "RS256"),
        ("not a JWT", "opaque-token".to_owned(), "not a JWT"),
    ];
    for (what, token, says) in rejected {
        let (status, code, message) = post_with_bearer_verbose(&emu, &token).await;
        assert_eq!(
            (status, code.as_str()),
            (401, "InvalidAuthenticationInfo"),
            "{what}"
        );
        assert!(message.contains(says), "{what}: {message}");
    }
    assert_eq!(emu.emulator().live_identity_count(), 2);
}

#[tokio::test]
async fn emulator_without_entra_trust_refuses_bearer_tokens_and_keeps_hmac() {
    let entra = start_entra().await;
    let emu = start_emulator(None).await;
    let token = entra.token_with(app_claims(ACS_RESOURCE, CLIENT_ID));
    assert_eq!(
        post_with_bearer(&emu, &token).await,
        (401, "InvalidAuthenticationInfo".to_owned())
    );
    // With a trust configured, HMAC keeps working.
    let emu = start_emulator(Some(trust(&entra))).await;
    let conn = ConnectionString::parse(&emu.connection_string()).unwrap();
    let client = AcsClient::new(
        acs_auth_providers::http_client(),
        &conn,
        Duration::from_secs(10),
    );
    assert_eq!(client.auth_kind(), "access_key");
    round_trip(&client, &emu).await;
}

#[tokio::test]
async fn a_refused_bearer_token_is_a_final_401() {
    let entra = start_entra().await;
    let emu = start_emulator(Some(trust(&entra))).await;
    let mut claims = app_claims(ACS_RESOURCE, CLIENT_ID);
    claims["aud"] = json!("https://management.azure.com/");
    let credential = Arc::new(StaticCredential(entra.token_with(claims)));
    let client = AcsClient::with_credential(
        acs_auth_providers::http_client(),
        endpoint_of(&emu),
        credential,
        Duration::from_secs(10),
    );
    let err = client.create_identity(None).await.unwrap_err();
    assert_eq!(api_code(&err), (401, "InvalidAuthenticationInfo"));
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn token_endpoint_refusals_are_final_credential_errors() {
    let entra = start_entra().await;
    let emu = start_emulator(Some(trust(&entra))).await;
    entra.set_token_mode(Mode::Status(400));
    let client = entra_client(
        &emu,
        &client_secret_config(&entra),
        entra.http_client(),
        Duration::from_secs(10),
    );
    let err = client.create_identity(None).await.unwrap_err();
    let (message, retryable) = credential_failure(&err);
    assert!(!retryable, "{message}");
    assert!(message.contains("AADSTS50000"), "{message}");
    assert!(!err.is_retryable());
    assert_eq!(entra.token_calls(), 1, "a 400 is not retried");

    // A wrong secret: 401 invalid_client, final; the secret is not in the message.
    entra.set_token_mode(Mode::Ok);
    let config = EntraCredentialConfig::ClientSecret {
        tenant_id: TENANT.into(),
        client_id: CLIENT_ID.into(),
        client_secret: SecretString::from("wrong-secret-value"),
        authority_host: Some(entra.https_authority()),
    };
    let client = entra_client(&emu, &config, entra.http_client(), Duration::from_secs(10));
    let err = client.create_identity(None).await.unwrap_err();
    let (message, retryable) = credential_failure(&err);
    assert!(!retryable);
    assert!(message.contains("AADSTS7000215"), "{message}");
    assert!(!message.contains("wrong-secret-value"), "{message}");
    assert_eq!(emu.emulator().live_identity_count(), 0);
}

#[tokio::test]
async fn token_endpoint_outages_are_retryable_credential_errors() {
    let entra = start_entra().await;
    let emu = start_emulator(Some(trust(&entra))).await;
    entra.set_token_mode(Mode::Status(503));
    let client = entra_client(
        &emu,
        &client_secret_config(&entra),
        entra.http_client(),
        Duration::from_secs(20),
    );
    let err = client.create_identity(None).await.unwrap_err();
    let (message, retryable) = credential_failure(&err);
    assert!(retryable, "{message}");
    assert!(err.is_retryable());
    assert_eq!(entra.token_calls(), 4, "one try and three retries");

    // Recovered: the next call gets a token.
    entra.set_token_mode(Mode::Ok);
    client.create_identity(None).await.unwrap();
    assert_eq!(emu.emulator().live_identity_count(), 1);
}

#[tokio::test]
async fn unreachable_token_endpoint_is_a_retryable_credential_error() {
    let entra = start_entra().await;
    let emu = start_emulator(Some(trust(&entra))).await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let config = EntraCredentialConfig::ClientSecret {
        tenant_id: TENANT.into(),
        client_id: CLIENT_ID.into(),
        client_secret: SecretString::from(CLIENT_SECRET),
        authority_host: Some(format!("https://{closed}")),
    };
    let client = entra_client(
        &emu,
        &config,
        acs_auth_providers::http_client(),
        Duration::from_secs(20),
    );
    let err = client.create_identity(None).await.unwrap_err();
    let (message, retryable) = credential_failure(&err);
    assert!(retryable, "{message}");
    assert_eq!(emu.emulator().live_identity_count(), 0);
}

#[tokio::test]
async fn a_hanging_token_endpoint_times_out_as_a_retryable_credential_error() {
    let entra = start_entra().await;
    let emu = start_emulator(Some(trust(&entra))).await;
    entra.set_token_mode(Mode::Hang);
    let client = entra_client(
        &emu,
        &client_secret_config(&entra),
        entra.http_client(),
        Duration::from_millis(500),
    );
    let started = std::time::Instant::now();
    let err = client.create_identity(None).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    let (message, retryable) = credential_failure(&err);
    assert!(retryable);
    assert!(message.contains("within"), "{message}");
}

#[tokio::test]
async fn workload_identity_exchanges_the_token_file_at_the_authority() {
    let entra = start_entra().await;
    let emu = start_emulator(Some(trust(&entra))).await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("azure-identity-token");
    let assertion =
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YWNzOmFjcy1hdXRoIn0.c2ln";
    std::fs::write(&token_file, assertion).unwrap();
    entra.accept_client_assertion(TENANT, CLIENT_ID, assertion);
    let config = EntraCredentialConfig::WorkloadIdentity {
        tenant_id: Some(TENANT.into()),
        client_id: Some(CLIENT_ID.into()),
        token_file: Some(token_file),
        authority_host: Some(entra.https_authority()),
    };
    let client = entra_client(&emu, &config, entra.http_client(), Duration::from_secs(10));
    round_trip(&client, &emu).await;
    assert_eq!(entra.token_calls(), 1);
    let form = &entra.token_requests()[0];
    assert_eq!(form["client_assertion"], assertion);
    assert_eq!(form["client_assertion_type"], ASSERTION_TYPE);
    assert_eq!(form["scope"], ACS_SCOPE);
    assert!(!form.contains_key("client_secret"));
}

#[tokio::test]
async fn workload_identity_with_a_missing_token_file_fails_to_build() {
    let config = EntraCredentialConfig::WorkloadIdentity {
        tenant_id: Some(TENANT.into()),
        client_id: Some(CLIENT_ID.into()),
        token_file: Some(PathBuf::from("/nonexistent/acs-auth/azure-identity-token")),
        authority_host: None,
    };
    let err = build_credential(&config, &acs_auth_providers::http_client()).unwrap_err();
    let (message, retryable) = credential_failure(&err);
    assert!(!retryable);
    assert!(message.contains("token"), "{message}");
}

fn managed_identity_env_is_set() -> bool {
    ["IDENTITY_ENDPOINT", "MSI_ENDPOINT"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
}

#[tokio::test]
async fn managed_identity_gets_its_token_from_imds() {
    if managed_identity_env_is_set() {
        eprintln!("skipped: this host configures a non-IMDS managed identity");
        return;
    }
    let entra = start_entra().await;
    let emu = start_emulator(Some(trust(&entra))).await;
    let config = EntraCredentialConfig::ManagedIdentity {
        client_id: Some(MI_CLIENT_ID.into()),
        object_id: None,
        resource_id: None,
    };
    let client = entra_client(
        &emu,
        &config,
        entra.imds_http_client(),
        Duration::from_secs(10),
    );
    round_trip(&client, &emu).await;
    assert_eq!(entra.imds_calls(), 1);
    assert_eq!(entra.token_calls(), 0);
    let query = &entra.token_requests()[0];
    assert_eq!(query["resource"], ACS_RESOURCE);
    assert_eq!(query["client_id"], MI_CLIENT_ID);
    assert_eq!(query["api-version"], "2019-08-01");
    assert_eq!(query["metadata-header"], "true");
}

#[test]
fn managed_identity_configs_build_and_reject_two_ids() {
    if managed_identity_env_is_set() {
        return;
    }
    let http = acs_auth_providers::http_client();
    let system = EntraCredentialConfig::ManagedIdentity {
        client_id: None,
        object_id: None,
        resource_id: None,
    };
    build_credential(&system, &http).unwrap();
    let by_resource = EntraCredentialConfig::ManagedIdentity {
        client_id: None,
        object_id: None,
        resource_id: Some("/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/acs".into()),
    };
    build_credential(&by_resource, &http).unwrap();
    let two = EntraCredentialConfig::ManagedIdentity {
        client_id: Some(MI_CLIENT_ID.into()),
        object_id: Some("o".into()),
        resource_id: None,
    };
    let err = build_credential(&two, &http).unwrap_err();
    assert!(!credential_failure(&err).1);
}

#[test]
fn entra_clients_have_no_secondary_key() {
    let client = AcsClient::with_credential(
        acs_auth_providers::http_client(),
        Url::parse("https://x.communication.azure.com/").unwrap(),
        Arc::new(StaticCredential("t".into())),
        Duration::from_secs(1),
    );
    let key = SecretString::from("c2Vjb25kYXJ5");
    assert!(client.clone().try_with_secondary_key(key.clone()).is_err());
    let same = client.with_secondary_key(key);
    assert_eq!(same.auth_kind(), "entra_id");
    assert!(!format!("{same:?}").contains("has_secondary_key"));
}
