//! A tenant whose ACS resource is reached with a Microsoft Entra ID credential instead of an
//! access key: acs-auth gets a token from (fake) Entra ID with the client secret, and the ACS
//! emulator, trusting that authority's keys, sees bearer tokens and no HMAC signature.

use acs_auth::acs::{AuthScheme, EmulatorConfig, EmulatorEntraTrust, RunningEmulator};
use acs_auth::config::{AcsSettings, EntraCredentialConfig};
use acs_auth_providers::testing::FakeEntra;
use secrecy::SecretString;
use serde_json::Value;

use crate::helpers::{loopback, oidc_tenant, spawn_app_with};

const DIRECTORY: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT_ID: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
const CLIENT_SECRET: &str = "s3cr3t~value.for-tests";

#[tokio::test]
async fn a_tenant_on_an_entra_credential_gets_tokens_and_acs_sees_bearer_tokens() {
    let entra = FakeEntra::start_https().await;
    entra.register_client(DIRECTORY, CLIENT_ID, CLIENT_SECRET);
    let trust =
        EmulatorEntraTrust::from_jwks_json(&entra.jwks_json(), [FakeEntra::v1_issuer(DIRECTORY)])
            .unwrap();
    let mut config = EmulatorConfig::with_random_key();
    config.entra = Some(trust);
    let own = RunningEmulator::start(config, loopback(), None)
        .await
        .unwrap();

    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), entra.cert_pem()).unwrap();
    let endpoint = own.http_endpoint();
    let authority = entra.https_authority();
    let ca_path = ca.path().to_owned();
    let app = spawn_app_with(move |settings, idp| {
        settings.outbound.ca_file = Some(ca_path);
        let mut tenant = oidc_tenant("initech", idp);
        tenant.acs = Some(AcsSettings {
            endpoint: Some(endpoint),
            entra: Some(EntraCredentialConfig::ClientSecret {
                tenant_id: DIRECTORY.into(),
                client_id: CLIENT_ID.into(),
                client_secret: SecretString::from(CLIENT_SECRET),
                authority_host: Some(authority),
            }),
            ..AcsSettings::default()
        });
        settings.tenants.push(tenant);
    })
    .await;

    let resp = app
        .post_get_token("initech", &app.idp.token("alice"), None)
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    let body: Value = resp.json().await.unwrap();
    let id = body["user"]["communicationUserId"].as_str().unwrap();
    assert!(
        own.emulator().identity_exists(id),
        "created in the tenant's own resource"
    );
    assert!(
        own.emulator()
            .verify_access_token(body["token"].as_str().unwrap())
            .is_some()
    );

    let emulator = own.emulator();
    assert!(emulator.authenticated_requests(AuthScheme::EntraId) >= 1);
    assert_eq!(
        emulator.authenticated_requests(AuthScheme::AccessKey),
        0,
        "no HMAC-signed request reached the Entra-authenticated resource"
    );
    assert!(entra.token_calls() >= 1);
    let request = &entra.token_requests()[0];
    assert_eq!(request["grant_type"], "client_credentials");
    assert_eq!(request["client_id"], CLIENT_ID);

    // The returning user's token comes from the cache; deleteUser reaches the resource too.
    let again = app
        .post_get_token("initech", &app.idp.token("alice"), None)
        .await;
    assert_eq!(again.status().as_u16(), 200);
    let deleted = app
        .client
        .delete(app.url("/tenants/initech/deleteUser"))
        .bearer_auth(app.idp.token("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 204);
    assert!(!own.emulator().identity_exists(id));
    assert_eq!(emulator.authenticated_requests(AuthScheme::AccessKey), 0);
}
