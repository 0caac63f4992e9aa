//! Tests of the fake identity providers of `acs_auth_providers::testing` themselves, over HTTP.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::CoreProviderMetadata;
use serde_json::{Value, json};

use acs_auth_providers::jose::KeySet;
use acs_auth_providers::testing::*;
use acs_auth_providers::validate::peek_claims_unverified;

async fn get(url: &str) -> (u16, Value) {
    let response = acs_auth_providers::http_client()
        .get(url)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

fn header_of(token: &str) -> Value {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

#[tokio::test]
async fn fake_entra_serves_v1_v2_and_multi_tenant_metadata_pointing_at_itself() {
    let entra = FakeEntra::start().await;
    let base = entra.authority();
    let tid = FAKE_ENTRA_TENANT_A;
    for (path, issuer, jwks) in [
        (
            format!("/{tid}/.well-known/openid-configuration"),
            format!("https://sts.windows.net/{tid}/"),
            "/common/discovery/keys",
        ),
        (
            format!("/{tid}/v2.0/.well-known/openid-configuration"),
            format!("https://login.microsoftonline.com/{tid}/v2.0"),
            "/common/discovery/v2.0/keys",
        ),
        (
            "/organizations/v2.0/.well-known/openid-configuration".to_owned(),
            ENTRA_V2_ISSUER_TEMPLATE.to_owned(),
            "/common/discovery/v2.0/keys",
        ),
        (
            "/common/v2.0/.well-known/openid-configuration".to_owned(),
            ENTRA_V2_ISSUER_TEMPLATE.to_owned(),
            "/common/discovery/v2.0/keys",
        ),
        (
            "/common/.well-known/openid-configuration".to_owned(),
            ENTRA_V1_ISSUER_TEMPLATE.to_owned(),
            "/common/discovery/keys",
        ),
    ] {
        let (status, document) = get(&format!("{base}{path}")).await;
        assert_eq!(status, 200, "{path}");
        let metadata: CoreProviderMetadata = serde_json::from_value(document.clone()).unwrap();
        assert_eq!(metadata.issuer().as_str(), issuer, "{path}");
        assert_eq!(metadata.jwks_uri().url().as_str(), format!("{base}{jwks}"));
        for endpoint in [
            "authorization_endpoint",
            "token_endpoint",
            "end_session_endpoint",
        ] {
            assert!(
                document[endpoint].as_str().unwrap().starts_with(&base),
                "{endpoint}"
            );
        }
    }
    assert_eq!(
        get(&format!("{base}/contoso/.well-known/openid-configuration"))
            .await
            .0,
        400
    );
    assert_eq!(get(&format!("{base}/elsewhere")).await.0, 404);
    assert_eq!(entra.metadata_fetch_count(), 6);
    assert_eq!(entra.other_request_count(), 1);
}

#[tokio::test]
async fn fake_entra_keys_carry_issuers_like_entra() {
    let entra = FakeEntra::start().await;
    let bound = entra.add_tenant_bound_key(FAKE_ENTRA_TENANT_B);
    let (_, jwks) = get(&format!("{}/common/discovery/v2.0/keys", entra.authority())).await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["issuer"], ENTRA_V2_ISSUER_TEMPLATE);
    assert_eq!(keys[0]["kid"], keys[0]["x5t"]);
    assert!(keys[0].get("alg").is_none());
    assert_eq!(keys[1]["kid"], bound);
    assert_eq!(keys[1]["issuer"], FakeEntra::v2_issuer(FAKE_ENTRA_TENANT_B));
    let set = KeySet::from_json(jwks.to_string().as_bytes()).unwrap();
    assert_eq!(set.keys().len(), 2);
    let (_, v1) = get(&format!("{}/common/discovery/keys", entra.authority())).await;
    assert_eq!(v1, jwks);
}

#[tokio::test]
async fn fake_entra_tokens_have_the_reference_claims() {
    let entra = FakeEntra::start().await;
    let (tid, oid) = (FAKE_ENTRA_TENANT_A, "2f1d6c35-4b6e-4b8e-9d5a-0c6f2b7e8a91");
    let v1 = entra.v1_token(tid, oid, json!({ "roles": ["Admin"], "name": null }));
    let header = header_of(&v1);
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], entra.kid());
    assert_eq!(header["x5t"], entra.kid());
    let claims = peek_claims_unverified(&v1).unwrap();
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(claims["aud"], format!("api://{FAKE_ENTRA_API_CLIENT_ID}"));
    assert_eq!(claims["iss"], format!("https://sts.windows.net/{tid}/"));
    assert_eq!(claims["appid"], FAKE_ENTRA_CLIENT_APP_ID);
    assert_eq!(claims["roles"], json!(["Admin"]));
    assert!(!claims.contains_key("name"));
    for claim in [
        "iat", "nbf", "exp", "tid", "oid", "sub", "scp", "upn", "appidacr",
    ] {
        assert!(claims.contains_key(claim), "{claim}");
    }
    let v2 = peek_claims_unverified(&entra.v2_token(tid, oid, json!({}))).unwrap();
    assert_eq!(v2["ver"], "2.0");
    assert_eq!(v2["aud"], FAKE_ENTRA_API_CLIENT_ID);
    assert_eq!(v2["azp"], FAKE_ENTRA_CLIENT_APP_ID);
    assert_eq!(
        v2["sub"], claims["sub"],
        "pairwise per app, not per version"
    );
    assert_ne!(v2["sub"], json!(oid));
    for claim in ["azpacr", "preferred_username", "name"] {
        assert!(v2.contains_key(claim), "{claim}");
    }

    let teams = entra.teams_user_token(tid, oid);
    let teams_claims = peek_claims_unverified(&teams).unwrap();
    assert_eq!(teams_claims["aud"], ACS_TEAMS_AUDIENCE);
    assert_eq!(teams_claims["scp"], ACS_TEAMS_SCOPES);
    assert_eq!(teams_claims["appid"], FAKE_ENTRA_API_CLIENT_ID);
    let graph = entra.graph_token(tid, oid);
    assert!(header_of(&graph).get("nonce").is_some());
    assert_eq!(
        peek_claims_unverified(&graph).unwrap()["aud"],
        "00000003-0000-0000-c000-000000000000"
    );
}

#[tokio::test]
async fn fake_b2c_serves_per_policy_metadata_and_keys() {
    let b2c = FakeB2c::start().await;
    let base = b2c.host();
    let domain = b2c.domain();
    assert_eq!(domain, "contosob2c.onmicrosoft.com");
    for policy in FAKE_B2C_POLICIES {
        for name in [policy.to_owned(), policy.to_ascii_lowercase()] {
            let url = format!("{base}/{domain}/{name}/v2.0/.well-known/openid-configuration");
            let (status, document) = get(&url).await;
            assert_eq!(status, 200, "{url}");
            let metadata: CoreProviderMetadata = serde_json::from_value(document).unwrap();
            assert_eq!(
                metadata.issuer().as_str(),
                format!("{base}/{FAKE_B2C_DIRECTORY_ID}/v2.0/")
            );
            let (status, jwks) = get(metadata.jwks_uri().url().as_str()).await;
            assert_eq!(status, 200);
            assert_eq!(jwks["keys"][0]["kid"], b2c.kid());
            assert!(jwks["keys"][0].get("nbf").is_some());
        }
    }
    let unknown = format!("{base}/{domain}/B2C_1_unknown/v2.0/.well-known/openid-configuration");
    assert_eq!(get(&unknown).await.0, 404);
    let claims = peek_claims_unverified(&b2c.token(FAKE_B2C_POLICIES[0], "u1", json!({}))).unwrap();
    assert_eq!(claims["tfp"], FAKE_B2C_POLICIES[0]);
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(claims["aud"], FAKE_B2C_CLIENT_ID);
    assert_eq!(claims["emails"], json!(["alex@contoso.example"]));
    let legacy =
        peek_claims_unverified(&b2c.acr_token(FAKE_B2C_POLICIES[0], "u1", json!({}))).unwrap();
    assert_eq!(legacy["acr"], FAKE_B2C_POLICIES[0].to_ascii_lowercase());
    assert!(!legacy.contains_key("tfp"));
}

#[tokio::test]
async fn fake_b2c_tfp_issuer_form_names_the_policy() {
    let b2c = FakeB2c::start_with(FakeB2cOptions {
        issuer_form: B2cIssuerForm::Tfp,
        ..FakeB2cOptions::default()
    })
    .await;
    assert_eq!(
        b2c.issuer("B2C_1_signupsignin1"),
        format!(
            "{}/tfp/{FAKE_B2C_DIRECTORY_ID}/b2c_1_signupsignin1/v2.0/",
            b2c.host()
        )
    );
}

const STS_CLIENT_ID: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
const STS_SECRET: &str = "s3cr3t~value.for-tests";
const ACS_AUDIENCE: &str = "https://communication.azure.com";

async fn post_token(entra: &FakeEntra, tenant: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = entra
        .http_client()
        .post(format!(
            "{}/{tenant}/oauth2/v2.0/token",
            entra.https_authority()
        ))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json::<Value>().await.unwrap())
}

fn secret_form(secret: &str) -> Vec<(&str, &str)> {
    vec![
        ("grant_type", "client_credentials"),
        ("client_id", STS_CLIENT_ID),
        ("client_secret", secret),
        ("scope", "https://communication.azure.com/.default"),
    ]
}

fn assert_entra_error(body: &Value, error: &str, code: u64) {
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], json!([code]), "{body}");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "{description}"
    );
    assert!(body["trace_id"].is_string(), "{body}");
}

#[tokio::test]
async fn fake_entra_token_endpoint_issues_app_tokens_that_verify_against_its_jwks() {
    let entra = FakeEntra::start_https().await;
    assert!(entra.https_authority().starts_with("https://127.0.0.1:"));
    assert!(entra.cert_pem().contains("BEGIN CERTIFICATE"));
    entra.register_client(FAKE_ENTRA_TENANT_A, STS_CLIENT_ID, STS_SECRET);
    let (status, body) = post_token(&entra, FAKE_ENTRA_TENANT_A, &secret_form(STS_SECRET)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(entra.last_token().as_deref(), Some(token));
    assert_eq!(entra.token_calls(), 1);
    assert_eq!(
        entra.token_requests()[0]
            .get("client_secret")
            .map(String::as_str),
        Some(STS_SECRET)
    );

    // Signed RS256 by a key of the published JWKS.
    let set = KeySet::from_json(entra.jwks_json().as_bytes()).unwrap();
    let header = header_of(token);
    assert_eq!(header["alg"], "RS256");
    let key = set.find(header["kid"].as_str()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[ACS_AUDIENCE]);
    validation.set_issuer(&[FakeEntra::v1_issuer(FAKE_ENTRA_TENANT_A)]);
    let claims = jsonwebtoken::decode::<Value>(token, &key.decoding_key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["appid"], STS_CLIENT_ID);
    assert_eq!(claims["tid"], FAKE_ENTRA_TENANT_A);
    assert_eq!(claims["idtyp"], "app");
    assert_eq!(claims["ver"], "1.0");
}

#[tokio::test]
async fn fake_entra_token_endpoint_refuses_like_entra() {
    let entra = FakeEntra::start_https().await;
    entra.register_client(FAKE_ENTRA_TENANT_A, STS_CLIENT_ID, STS_SECRET);

    let (status, body) = post_token(&entra, FAKE_ENTRA_TENANT_A, &secret_form("wrong")).await;
    assert_eq!(status, 401);
    assert_entra_error(&body, "invalid_client", 7000215);

    let (status, body) = post_token(&entra, FAKE_ENTRA_TENANT_B, &secret_form(STS_SECRET)).await;
    assert_eq!(status, 400);
    assert_entra_error(&body, "invalid_request", 90002);

    let mut form = secret_form(STS_SECRET);
    form[1] = ("client_id", FAKE_ENTRA_CLIENT_APP_ID);
    let (status, body) = post_token(&entra, FAKE_ENTRA_TENANT_A, &form).await;
    assert_eq!(status, 400);
    assert_entra_error(&body, "unauthorized_client", 700016);

    let mut form = secret_form(STS_SECRET);
    form[3] = ("scope", "https://communication.azure.com");
    let (status, body) = post_token(&entra, FAKE_ENTRA_TENANT_A, &form).await;
    assert_eq!(status, 400);
    assert_entra_error(&body, "invalid_scope", 1002012);

    entra.set_token_mode(TokenEndpointMode::Status(503));
    let (status, body) = post_token(&entra, FAKE_ENTRA_TENANT_A, &secret_form(STS_SECRET)).await;
    assert_eq!(status, 503);
    assert_entra_error(&body, "invalid_request", 50000);
    entra.set_token_mode(TokenEndpointMode::Ok);

    assert_eq!(entra.token_calls(), 5);
    assert_eq!(entra.last_token(), None);
    let (status, _) = post_token(&entra, FAKE_ENTRA_TENANT_A, &secret_form(STS_SECRET)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn fake_entra_accepts_the_registered_client_assertion_only() {
    let entra = FakeEntra::start_https().await;
    entra.accept_client_assertion(FAKE_ENTRA_TENANT_A, STS_CLIENT_ID, "federated.jwt");
    let form = |assertion| {
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", STS_CLIENT_ID),
            ("client_assertion_type", CLIENT_ASSERTION_TYPE),
            ("client_assertion", assertion),
            ("scope", "https://communication.azure.com/.default"),
        ]
    };
    let (status, body) = post_token(&entra, FAKE_ENTRA_TENANT_A, &form("federated.jwt")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post_token(&entra, FAKE_ENTRA_TENANT_A, &form("other.jwt")).await;
    assert_eq!(status, 401);
    assert_entra_error(&body, "invalid_client", 7000215);
}

#[tokio::test]
async fn fake_entra_hang_mode_outlasts_a_client_timeout() {
    let entra = FakeEntra::start_https().await;
    entra.register_client(FAKE_ENTRA_TENANT_A, STS_CLIENT_ID, STS_SECRET);
    entra.set_token_mode(TokenEndpointMode::Hang);
    let result = entra
        .http_client()
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            entra.https_authority(),
            FAKE_ENTRA_TENANT_A
        ))
        .form(&secret_form(STS_SECRET))
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(result.unwrap_err().is_timeout());
}

#[tokio::test]
async fn fake_entra_serves_imds_through_the_proxy_client() {
    let entra = FakeEntra::start_https().await;
    let client = entra.imds_http_client();
    let url = format!(
        "http://{IMDS_HOST}/metadata/identity/oauth2/token?api-version=2018-02-01&resource={ACS_AUDIENCE}&client_id=mi-client"
    );
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 400, "needs the metadata header");
    let response = client
        .get(&url)
        .header("metadata", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["client_id"], "mi-client");
    assert_eq!(body["resource"], ACS_AUDIENCE);
    assert_eq!(body["expires_in"], "3599");
    let claims = peek_claims_unverified(body["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(claims["aud"], ACS_AUDIENCE);
    assert_eq!(claims["appid"], "mi-client");
    assert_eq!(claims["iss"], FakeEntra::v1_issuer(FAKE_ENTRA_TENANT_A));
    entra.set_managed_identity_tenant(FAKE_ENTRA_TENANT_B);
    let body: Value = client
        .get(&url)
        .header("metadata", "true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let claims = peek_claims_unverified(body["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(claims["tid"], FAKE_ENTRA_TENANT_B);
    assert_eq!(entra.imds_calls(), 3);
    assert_eq!(entra.token_calls(), 0);
    let requests = entra.token_requests();
    assert_eq!(
        requests[1].get("metadata-header").map(String::as_str),
        Some("true")
    );
    // The https listener serves the metadata as well.
    let metadata: Value = entra
        .http_client()
        .get(format!(
            "{}/{}/v2.0/.well-known/openid-configuration",
            entra.https_authority(),
            FAKE_ENTRA_TENANT_A
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        metadata["issuer"],
        FakeEntra::v2_issuer(FAKE_ENTRA_TENANT_A)
    );
}

#[tokio::test]
async fn fake_entra_jwks_json_is_a_jsonwebtoken_jwk_set_that_verifies_app_tokens() {
    // What the ACS emulator's `EmulatorEntraTrust::from_jwks_json` does with it.
    let entra = FakeEntra::start().await;
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&entra.jwks_json()).unwrap();
    let token = entra.app_token(FAKE_ENTRA_TENANT_A, ACS_AUDIENCE, STS_CLIENT_ID);
    let kid = header_of(&token)["kid"].as_str().unwrap().to_owned();
    let jwk = set.find(&kid).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[ACS_AUDIENCE]);
    validation.set_issuer(&[FakeEntra::v1_issuer(FAKE_ENTRA_TENANT_A)]);
    jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap();
    let rogue = entra.sign_with_unpublished_key(app_token_claims(
        FAKE_ENTRA_TENANT_A,
        ACS_AUDIENCE,
        STS_CLIENT_ID,
    ));
    assert!(jsonwebtoken::decode::<Value>(&rogue, &key, &validation).is_err());
}
