//! [`ProviderConfig`](acs_auth_providers::ProviderConfig) over HTTP: its build step and its diagnostics (`check`) against the fakes.

use std::sync::Arc;

use serde_json::json;

use acs_auth_providers::JwksCacheConfig;
use acs_auth_providers::testing::{
    FAKE_ENTRA_TENANT_A, FakeB2c, FakeEntra, TestIssuer, aad_config_for, b2c_config_for,
    oidc_config_for,
};
use acs_auth_providers::*;

fn ctx() -> ProviderContext {
    ProviderContext {
        jwks: Arc::new(JwksCache::new(
            acs_auth_providers::testing::idp_http(),
            JwksCacheConfig::default(),
        )),
        leeway_secs: 30,
        max_token_bytes: 8 * 1024,
    }
}

fn parse(value: serde_json::Value) -> Result<ProviderConfig, serde_json::Error> {
    serde_json::from_value(value)
}

fn aad_json() -> serde_json::Value {
    json!({
        "kind": "aad",
        "directory": "organizations",
        "allowed_directories": [FAKE_ENTRA_TENANT_A],
        "client_id": "6e74172b-be56-4843-9ff4-e66a39bb12e3",
        "authority_host": "https://login.microsoftonline.us",
        "token_versions": [2],
    })
}

#[tokio::test]
async fn build_applies_the_context_and_names_the_kind() {
    let idp = TestIssuer::start().await;
    let built = ProviderConfig::Oidc(oidc_config_for(&idp))
        .build(&ctx())
        .unwrap();
    assert_eq!(built.kind, "oidc");
    assert_eq!(built.teams_app_id, None);
    let identity = built.provider.verify(&idp.token("alice")).await.unwrap();
    assert_eq!(identity.subject, "alice");
    let oversized = idp.token_with(json!({
        "sub": "alice", "aud": idp.audience(), "iss": idp.issuer(),
        "exp": acs_auth_providers::validate::now_unix() + 600, "pad": "x".repeat(9 * 1024),
    }));
    let err = built.provider.verify(&oversized).await.unwrap_err();
    assert!(matches!(err, VerifyError::TooLarge), "{err:?}");

    let entra = FakeEntra::start().await;
    let built = ProviderConfig::Aad(aad_config_for(&entra, FAKE_ENTRA_TENANT_A))
        .build(&ctx())
        .unwrap();
    assert_eq!(built.kind, "aad");
    assert_eq!(built.teams_app_id, Some(entra.api_client_id()));

    let b2c = FakeB2c::start().await;
    let built = ProviderConfig::AadB2c(b2c_config_for(&b2c))
        .build(&ctx())
        .unwrap();
    assert_eq!(built.kind, "aad_b2c");
}

fn names(checks: &[Check]) -> Vec<(&'static str, bool)> {
    checks.iter().map(|c| (c.name, c.ok)).collect()
}

#[tokio::test]
async fn check_passes_against_a_working_issuer() {
    let idp = TestIssuer::start().await;
    let checks = ProviderConfig::Oidc(oidc_config_for(&idp))
        .check(&ctx())
        .await;
    assert_eq!(
        names(&checks),
        vec![
            ("discovery reachable", true),
            ("issuer matches", true),
            ("keys usable", true)
        ]
    );
    assert_eq!(checks[0].detail, idp.discovery_url());
    assert_eq!(checks[1].detail, idp.issuer());
    assert_eq!(
        checks[2].detail,
        format!("1 signing key(s) at {}", idp.jwks_uri())
    );
}

#[tokio::test]
async fn check_reports_an_unavailable_issuer() {
    let idp = TestIssuer::start().await;
    idp.set_available(false);
    let checks = ProviderConfig::Oidc(oidc_config_for(&idp))
        .check(&ctx())
        .await;
    assert_eq!(names(&checks), vec![("discovery reachable", false)]);
    assert!(
        checks[0].detail.contains("identity provider unavailable"),
        "{}",
        checks[0].detail
    );
}

#[tokio::test]
async fn check_reports_a_wrong_issuer_and_missing_keys() {
    let idp = TestIssuer::start().await;
    idp.patch_discovery(json!({ "issuer": "https://elsewhere.example" }));
    let checks = ProviderConfig::Oidc(oidc_config_for(&idp))
        .check(&ctx())
        .await;
    assert_eq!(checks[1].name, "issuer matches");
    assert!(!checks[1].ok);
    assert_eq!(
        checks[1].detail,
        format!(
            "document says `https://elsewhere.example`, configured `{}`",
            idp.issuer()
        )
    );
}

#[tokio::test]
async fn check_refuses_http_unless_allowed() {
    let idp = TestIssuer::start().await;
    let mut config = oidc_config_for(&idp);
    config.allow_http = false;
    let checks = ProviderConfig::Oidc(config).check(&ctx()).await;
    assert_eq!(names(&checks), vec![("discovery reachable", false)]);
    assert!(
        checks[0].detail.contains("only https"),
        "{}",
        checks[0].detail
    );
}

#[tokio::test]
async fn check_reads_every_entra_version_and_every_b2c_policy() {
    let entra = FakeEntra::start().await;
    let checks = ProviderConfig::Aad(aad_config_for(&entra, FAKE_ENTRA_TENANT_A))
        .check(&ctx())
        .await;
    assert_eq!(checks.len(), 6, "{checks:?}");
    assert!(checks.iter().all(|c| c.ok), "{checks:?}");
    assert!(
        checks[0]
            .detail
            .ends_with("/.well-known/openid-configuration")
    );
    assert!(
        checks[3]
            .detail
            .ends_with("/v2.0/.well-known/openid-configuration")
    );

    let b2c = FakeB2c::start().await;
    let config = b2c_config_for(&b2c);
    let policies = config.policies.len();
    let checks = ProviderConfig::AadB2c(config).check(&ctx()).await;
    assert_eq!(checks.len(), 3 * policies, "{checks:?}");
    assert!(checks.iter().all(|c| c.ok), "{checks:?}");

    b2c.set_available(false);
    let checks = ProviderConfig::AadB2c(b2c_config_for(&b2c))
        .check(&ctx())
        .await;
    assert_eq!(checks.len(), policies);
    assert!(checks.iter().all(|c| !c.ok), "{checks:?}");
}

#[tokio::test]
async fn check_reports_an_invalid_configuration_as_unreachable_discovery() {
    let mut value = aad_json();
    value["directory"] = json!("contoso");
    let checks = parse(value).unwrap().check(&ctx()).await;
    assert_eq!(names(&checks), vec![("discovery reachable", false)]);
    assert!(
        checks[0].detail.contains("aad directory"),
        "{}",
        checks[0].detail
    );
}
