//! Tests of [`ProviderConfig`]: its serde shape, its checks, its build step and its diagnostics.

use serde_json::json;

use super::*;
use crate::JwksCacheConfig;
use crate::testing::{
    FAKE_ENTRA_TENANT_A, FakeB2c, FakeEntra, TestIssuer, aad_config_for, b2c_config_for,
    oidc_config_for,
};
use crate::validate::{DEFAULT_LEEWAY_SECS, DEFAULT_MAX_TOKEN_BYTES};

fn ctx() -> ProviderContext {
    let http = reqwest::Client::new();
    ProviderContext {
        jwks: Arc::new(JwksCache::new(http.clone(), JwksCacheConfig::default())),
        http,
        leeway_secs: 30,
        max_token_bytes: 8 * 1024,
    }
}

fn parse(value: serde_json::Value) -> Result<ProviderConfig, serde_json::Error> {
    serde_json::from_value(value)
}

fn oidc_json() -> serde_json::Value {
    json!({ "kind": "oidc", "issuer": "https://idp.acme.example", "audiences": ["api://acs-auth"] })
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

fn b2c_json() -> serde_json::Value {
    json!({
        "kind": "aad_b2c",
        "tenant_name": "contosob2c",
        "directory_id": "775527ff-9a37-4307-8b3d-cc311f58d925",
        "policies": ["B2C_1_signin"],
        "client_id": "90c0fe63-bcf2-44d5-8fb7-b8bbc0b29dc6",
        "host": "https://login.contoso.com",
    })
}

#[test]
fn oidc_deserializes_with_defaults_and_round_trips() {
    let config = parse(oidc_json()).unwrap();
    let ProviderConfig::Oidc(p) = &config else {
        panic!("not oidc: {config:?}")
    };
    assert_eq!(p.issuer, "https://idp.acme.example");
    assert_eq!(p.audiences, vec!["api://acs-auth".to_owned()]);
    assert_eq!(p.subject_claim, "sub");
    assert!(!p.allow_http);
    assert_eq!(p.leeway_secs, DEFAULT_LEEWAY_SECS);
    assert_eq!(p.max_token_bytes, DEFAULT_MAX_TOKEN_BYTES);
    assert_eq!(config.kind(), "oidc");
    let value = serde_json::to_value(&config).unwrap();
    assert_eq!(
        value,
        json!({ "kind": "oidc", "issuer": "https://idp.acme.example", "audiences": ["api://acs-auth"],
                "subject_claim": "sub", "allow_http": false })
    );
    assert_eq!(parse(value).unwrap(), config);
}

#[test]
fn aad_and_b2c_round_trip() {
    for (value, kind) in [(aad_json(), "aad"), (b2c_json(), "aad_b2c")] {
        let config = parse(value.clone()).unwrap();
        assert_eq!(config.kind(), kind);
        let back = serde_json::to_value(&config).unwrap();
        assert_eq!(back["kind"], kind);
        assert_eq!(parse(back).unwrap(), config);
    }
    let ProviderConfig::Aad(aad) = parse(aad_json()).unwrap() else {
        panic!("not aad")
    };
    assert_eq!(aad.token_versions, vec![2]);
    assert_eq!(aad.authority_host, "https://login.microsoftonline.us");
    let ProviderConfig::AadB2c(b2c) = parse(b2c_json()).unwrap() else {
        panic!("not aad_b2c")
    };
    assert_eq!(b2c.host.as_deref(), Some("https://login.contoso.com"));
    assert_eq!(b2c.domain, None);
}

#[test]
fn unknown_fields_kinds_and_runtime_knobs_are_refused() {
    for mut value in [oidc_json(), aad_json(), b2c_json()] {
        value["colour"] = json!("blue");
        let err = parse(value).unwrap_err().to_string();
        assert!(err.contains("colour"), "{err}");
    }
    for knob in ["leeway_secs", "max_token_bytes"] {
        let mut value = oidc_json();
        value[knob] = json!(5);
        assert!(
            parse(value).is_err(),
            "{knob} must not be configurable here"
        );
    }
    let mut value = oidc_json();
    value["kind"] = json!("saml");
    assert!(parse(value).is_err());
    let mut value = oidc_json();
    value.as_object_mut().unwrap().remove("kind");
    assert!(parse(value).is_err());
}

#[test]
fn describe_and_allow_http() {
    let oidc = parse(oidc_json()).unwrap();
    assert_eq!(oidc.describe(), "https://idp.acme.example");
    assert!(!oidc.allow_http());
    assert_eq!(
        parse(aad_json()).unwrap().describe(),
        "https://login.microsoftonline.us/organizations"
    );
    assert_eq!(
        parse(b2c_json()).unwrap().describe(),
        "contosob2c (B2C_1_signin)"
    );
    let mut value = b2c_json();
    value["allow_http"] = json!(true);
    assert!(parse(value).unwrap().allow_http());
}

#[test]
fn validate_names_the_field() {
    assert_eq!(parse(oidc_json()).unwrap().validate(), Ok(()));
    let cases = [
        (json!({ "issuer": "not a url" }), "issuer", "not a URL"),
        (
            json!({ "issuer": "http://idp.example" }),
            "issuer",
            "must be https",
        ),
        (json!({ "audiences": [] }), "audiences", "at least one"),
        (json!({ "audiences": [" "] }), "audiences", "non-empty"),
        (
            json!({ "subject_claim": "" }),
            "subject_claim",
            "must not be empty",
        ),
    ];
    for (patch, field, message) in cases {
        let mut value = oidc_json();
        for (k, v) in patch.as_object().unwrap() {
            value[k] = v.clone();
        }
        let err = parse(value).unwrap().validate().unwrap_err();
        assert_eq!(err.field_name(), Some(field), "{err}");
        assert!(err.message().contains(message), "{err}");
        assert_eq!(err.to_string(), format!("{field}: {}", err.message()));
    }
    let mut value = oidc_json();
    value["issuer"] = json!("http://127.0.0.1:1");
    value["allow_http"] = json!(true);
    assert_eq!(parse(value).unwrap().validate(), Ok(()));
}

#[test]
fn aad_and_b2c_validate_with_their_own_checks() {
    assert_eq!(parse(aad_json()).unwrap().validate(), Ok(()));
    assert_eq!(parse(b2c_json()).unwrap().validate(), Ok(()));
    let mut value = aad_json();
    value["directory"] = json!("contoso");
    let err = parse(value).unwrap().validate().unwrap_err();
    assert_eq!(err.field_name(), None);
    assert!(err.message().contains("aad directory"), "{err}");
    let mut value = b2c_json();
    value["policies"] = json!([]);
    let err = parse(value).unwrap().validate().unwrap_err();
    assert!(err.message().contains("aad_b2c policies"), "{err}");
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
        "exp": crate::validate::now_unix() + 600, "pad": "x".repeat(9 * 1024),
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

#[test]
fn build_refuses_an_unusable_configuration() {
    let mut value = oidc_json();
    value["issuer"] = json!("http://idp.example");
    let err = parse(value).unwrap().build(&ctx()).unwrap_err();
    assert!(matches!(err, VerifyError::Config(_)), "{err:?}");
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

#[cfg(feature = "openapi")]
mod openapi {
    use poem_openapi::registry::Registry;
    use poem_openapi::types::{ParseFromJSON, ToJSON, Type};

    use super::*;

    #[test]
    fn parses_the_admin_body_with_the_server_defaults() {
        let config = ProviderConfig::parse_from_json(Some(oidc_json())).unwrap();
        assert_eq!(config, parse(oidc_json()).unwrap());
        for value in [aad_json(), b2c_json()] {
            let config = ProviderConfig::parse_from_json(Some(value.clone())).unwrap();
            assert_eq!(config, parse(value).unwrap());
        }
    }

    #[test]
    fn refuses_unknown_fields_and_kinds() {
        for mut value in [oidc_json(), aad_json(), b2c_json()] {
            value["colour"] = json!("blue");
            let err = ProviderConfig::parse_from_json(Some(value)).unwrap_err();
            assert!(err.message().contains("colour"), "{}", err.message());
        }
        let mut value = oidc_json();
        value["kind"] = json!("saml");
        assert!(ProviderConfig::parse_from_json(Some(value)).is_err());
        let mut value = aad_json();
        value["token_versions"] = json!([1, 1]);
        assert!(ProviderConfig::parse_from_json(Some(value)).is_err());
    }

    #[test]
    fn serves_the_kind_and_the_serde_shape() {
        for value in [oidc_json(), aad_json(), b2c_json()] {
            let config = parse(value).unwrap();
            assert_eq!(
                config.to_json().unwrap(),
                serde_json::to_value(&config).unwrap()
            );
        }
    }

    #[test]
    fn schema_keeps_the_admin_api_names() {
        let mut registry = Registry::new();
        ProviderConfig::register(&mut registry);
        assert_eq!(ProviderConfig::name(), "ProviderBody");
        for name in [
            "ProviderBody",
            "OidcProviderBody",
            "AadProviderBody",
            "AadB2cProviderBody",
        ] {
            assert!(registry.schemas.contains_key(name), "{name}");
        }
    }
}
