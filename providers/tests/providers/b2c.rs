//! Azure AD B2C over HTTP against [`FakeB2c`](acs_auth_providers::testing::FakeB2c).

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use acs_auth_providers::b2c::*;
use acs_auth_providers::jwks::JwksCacheConfig;
use acs_auth_providers::testing::refused;
use acs_auth_providers::testing::{
    B2cIssuerForm, FAKE_B2C_DIRECTORY_ID, FakeB2c, FakeB2cOptions, b2c_config_for,
};
use acs_auth_providers::*;

const USER: &str = "5f8c1a2b-3d4e-4f60-8a7b-9c0d1e2f3a4b";

fn jwks() -> Arc<JwksCache> {
    Arc::new(JwksCache::new(
        acs_auth_providers::testing::idp_http(),
        JwksCacheConfig {
            refetch_cooldown: Duration::ZERO,
            ..JwksCacheConfig::default()
        },
    ))
}

fn new_provider(config: B2cConfig) -> B2cProvider {
    B2cProvider::new(config, jwks()).unwrap()
}

async fn setup() -> (FakeB2c, B2cProvider) {
    let b2c = FakeB2c::start().await;
    let provider = new_provider(b2c_config_for(&b2c));
    (b2c, provider)
}

#[tokio::test]
async fn token_of_an_allowed_policy_is_accepted() {
    let (b2c, provider) = setup().await;
    let policy = b2c.policies()[0].clone();
    let identity = provider
        .verify(&b2c.token(&policy, USER, json!({})))
        .await
        .unwrap();
    assert_eq!(identity.subject, USER);
    assert_eq!(identity.issuer, b2c.issuer(&policy));
    assert!(
        identity
            .issuer
            .ends_with(&format!("/{FAKE_B2C_DIRECTORY_ID}/v2.0/"))
    );
    assert_eq!(identity.issuer_key, format!("b2c:{FAKE_B2C_DIRECTORY_ID}"));
    assert_eq!(identity.tenant_hint, None);
    assert_eq!(identity.scopes, ["demo.read"]);
    assert_eq!(identity.signing_key.kid, Some(b2c.kid()));
    assert!(!provider.supports_teams_exchange());
}

#[tokio::test]
async fn policy_is_compared_case_insensitively() {
    let (b2c, provider) = setup().await;
    let policy = b2c.policies()[0].clone();
    for name in [policy.to_ascii_lowercase(), policy.to_ascii_uppercase()] {
        let token = b2c.token(&policy, USER, json!({ "tfp": name }));
        provider.verify(&token).await.unwrap();
    }
    // The second policy has its own metadata (and the same keys).
    let second = b2c.policies()[1].clone();
    provider
        .verify(&b2c.token(&second, USER, json!({})))
        .await
        .unwrap();
    assert_eq!(b2c.metadata_fetch_count(), 2);
}

#[tokio::test]
async fn policy_not_allowed_is_refused() {
    let b2c = FakeB2c::start().await;
    let mut config = b2c_config_for(&b2c);
    let (allowed, other) = (b2c.policies()[0].clone(), b2c.policies()[1].clone());
    config.policies = vec![allowed.clone()];
    let provider = new_provider(config);
    provider
        .verify(&b2c.token(&allowed, USER, json!({})))
        .await
        .unwrap();
    let err = refused(&provider, &b2c.token(&other, USER, json!({}))).await;
    assert!(
        matches!(err, VerifyError::InvalidClaim(ref c) if c == "tfp"),
        "{err}"
    );
    let err = refused(&provider, &b2c.acr_token(&other, USER, json!({}))).await;
    assert!(
        matches!(err, VerifyError::InvalidClaim(ref c) if c == "acr"),
        "{err}"
    );
    // No policy claim at all, or one of the wrong type.
    let token = b2c.token(&allowed, USER, json!({ "tfp": null }));
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::MissingClaim(ref c) if c == "tfp"
    ));
    let token = b2c.token(&allowed, USER, json!({ "tfp": [allowed] }));
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::InvalidClaim(ref c) if c == "tfp"
    ));
}

#[tokio::test]
async fn legacy_acr_claim_names_the_policy() {
    let (b2c, provider) = setup().await;
    let policy = b2c.policies()[1].clone();
    let token = b2c.acr_token(&policy, USER, json!({}));
    let identity = provider.verify(&token).await.unwrap();
    assert_eq!(identity.subject, USER);
    assert_eq!(identity.issuer, b2c.issuer(&policy));
}

#[tokio::test]
async fn tfp_issuer_form_is_accepted_exactly() {
    let b2c = FakeB2c::start_with(FakeB2cOptions {
        issuer_form: B2cIssuerForm::Tfp,
        ..FakeB2cOptions::default()
    })
    .await;
    let provider = new_provider(b2c_config_for(&b2c));
    let policy = b2c.policies()[0].clone();
    let issuer = b2c.issuer(&policy);
    assert_eq!(
        issuer,
        format!(
            "{}/tfp/{FAKE_B2C_DIRECTORY_ID}/{}/v2.0/",
            b2c.host(),
            policy.to_ascii_lowercase()
        )
    );
    let identity = provider
        .verify(&b2c.token(&policy, USER, json!({})))
        .await
        .unwrap();
    assert_eq!(identity.issuer, issuer);
    // The default form is not this policy's issuer.
    let token = b2c.token(
        &policy,
        USER,
        json!({ "iss": format!("{}/{FAKE_B2C_DIRECTORY_ID}/v2.0/", b2c.host()) }),
    );
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::InvalidIssuer
    ));
    // Another policy's tfp issuer, with this policy's claim.
    let other = b2c.policies()[1].clone();
    let token = b2c.token(&policy, USER, json!({ "iss": b2c.issuer(&other) }));
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::InvalidIssuer
    ));
}

#[tokio::test]
async fn issuer_trailing_slash_must_match_exactly() {
    let (b2c, provider) = setup().await;
    let policy = b2c.policies()[0].clone();
    let issuer = b2c.issuer(&policy);
    assert!(issuer.ends_with("/v2.0/"));
    for iss in [
        issuer.trim_end_matches('/').to_owned(),
        format!("{issuer}/"),
        issuer.to_uppercase(),
    ] {
        let token = b2c.token(&policy, USER, json!({ "iss": iss }));
        assert!(
            matches!(refused(&provider, &token).await, VerifyError::InvalidIssuer),
            "{iss}"
        );
    }
}

#[tokio::test]
async fn issuer_of_another_directory_is_refused() {
    let (b2c, provider) = setup().await;
    let policy = b2c.policies()[0].clone();
    let iss = format!("{}/c2a1b8f7-5d34-4e11-9f0a-3b7e6d2c1a90/v2.0/", b2c.host());
    let token = b2c.token(&policy, USER, json!({ "iss": iss }));
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::InvalidIssuer
    ));
    // A configured directory id that is not the metadata's: a configuration error.
    let mut config = b2c_config_for(&b2c);
    config.directory_id = "c2a1b8f7-5d34-4e11-9f0a-3b7e6d2c1a90".to_owned();
    let wrong = new_provider(config);
    let fetched = b2c.jwks_fetch_count();
    let err = refused(&wrong, &b2c.token(&policy, USER, json!({}))).await;
    assert!(
        matches!(err, VerifyError::Config(ref m) if m.contains("directory_id")),
        "{err}"
    );
    assert_eq!(
        b2c.jwks_fetch_count(),
        fetched,
        "no keys fetched for a wrong directory"
    );
}

#[tokio::test]
async fn custom_host_and_domain_are_used_for_metadata() {
    let b2c = FakeB2c::start_with(FakeB2cOptions {
        domain: Some(FAKE_B2C_DIRECTORY_ID.to_owned()),
        ..FakeB2cOptions::default()
    })
    .await;
    let config = b2c_config_for(&b2c);
    assert_eq!(config.domain.as_deref(), Some(FAKE_B2C_DIRECTORY_ID));
    let provider = new_provider(config);
    let policy = b2c.policies()[0].clone();
    assert_eq!(
        provider.metadata_url(&policy).unwrap().as_str(),
        format!(
            "{}/{FAKE_B2C_DIRECTORY_ID}/{policy}/v2.0/.well-known/openid-configuration",
            b2c.host()
        )
    );
    provider
        .verify(&b2c.token(&policy, USER, json!({})))
        .await
        .unwrap();
}

#[tokio::test]
async fn wrong_audience_expired_and_forged_tokens_are_refused() {
    let (b2c, provider) = setup().await;
    let policy = b2c.policies()[0].clone();
    let token = b2c.token(
        &policy,
        USER,
        json!({ "aud": "00000000-0000-0000-0000-000000000001" }),
    );
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::InvalidAudience
    ));
    let now = validate::now_unix();
    let token = b2c.token(
        &policy,
        USER,
        json!({ "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600 }),
    );
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::Expired
    ));
    let claims = b2c.claims(&policy, USER);
    assert!(matches!(
        refused(&provider, &b2c.sign_with_unpublished_key(claims)).await,
        VerifyError::InvalidSignature
    ));
    let token = b2c.token(&policy, USER, json!({ "sub": null }));
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::MissingClaim(ref c) if c == "sub"
    ));
}

#[tokio::test]
async fn accepts_issuer_knows_the_configured_policies_issuers() {
    let (b2c, provider) = setup().await;
    let policy = b2c.policies()[0].clone();
    let default_form = format!("{}/{FAKE_B2C_DIRECTORY_ID}/v2.0/", b2c.host());
    let tfp_form = format!(
        "{}/tfp/{FAKE_B2C_DIRECTORY_ID}/{}/v2.0/",
        b2c.host(),
        policy.to_ascii_lowercase()
    );
    // Before any metadata: the standard shapes.
    assert!(provider.accepts_issuer(&default_form));
    assert!(provider.accepts_issuer(&tfp_form));
    assert!(!provider.accepts_issuer(default_form.trim_end_matches('/')));
    assert!(!provider.accepts_issuer(&format!(
        "{}/tfp/{FAKE_B2C_DIRECTORY_ID}/b2c_1_other/v2.0/",
        b2c.host()
    )));
    assert!(!provider.accepts_issuer(
        "https://contosob2c.b2clogin.com/c2a1b8f7-5d34-4e11-9f0a-3b7e6d2c1a90/v2.0/"
    ));
    provider.warm_up().await.unwrap();
    assert!(provider.accepts_issuer(&default_form));
    assert!(
        !provider.accepts_issuer(&tfp_form),
        "the metadata says the default form"
    );
}
