//! Tests of [`ProviderConfig`] that need no server: its serde shape, its checks and its build step.

use serde_json::json;

use super::*;
use crate::JwksCacheConfig;
use crate::testing::FAKE_ENTRA_TENANT_A;
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

#[test]
fn build_refuses_an_unusable_configuration() {
    let mut value = oidc_json();
    value["issuer"] = json!("http://idp.example");
    let err = parse(value).unwrap().build(&ctx()).unwrap_err();
    assert!(matches!(err, VerifyError::Config(_)), "{err:?}");
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
