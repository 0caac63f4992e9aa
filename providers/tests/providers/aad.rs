//! Entra ID (`aad`) over HTTP against [`FakeEntra`](acs_auth_providers::testing::FakeEntra).

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use acs_auth_providers::aad::*;
use acs_auth_providers::jwks::JwksCacheConfig;
use acs_auth_providers::testing::refused;
use acs_auth_providers::testing::{
    FAKE_ENTRA_API_CLIENT_ID, FAKE_ENTRA_TENANT_A, FAKE_ENTRA_TENANT_B, FakeEntra, aad_config_for,
};
use acs_auth_providers::*;

const OID: &str = "2f1d6c35-4b6e-4b8e-9d5a-0c6f2b7e8a91";
const OTHER_OID: &str = "b7e1a2c3-9d4f-4e5a-8b6c-7d8e9f0a1b2c";

fn jwks() -> Arc<JwksCache> {
    Arc::new(JwksCache::new(
        acs_auth_providers::testing::idp_http(),
        JwksCacheConfig {
            refetch_cooldown: Duration::ZERO,
            ..JwksCacheConfig::default()
        },
    ))
}

fn new_provider(config: AadConfig) -> AadProvider {
    AadProvider::new(config, jwks()).unwrap()
}

fn single(entra: &FakeEntra) -> AadProvider {
    new_provider(aad_config_for(entra, FAKE_ENTRA_TENANT_A))
}

fn multi(entra: &FakeEntra, directory: &str, allowed: &[&str]) -> AadProvider {
    let mut config = aad_config_for(entra, directory);
    config.allowed_directories = allowed.iter().map(|d| (*d).to_owned()).collect();
    new_provider(config)
}

fn config_err(config: AadConfig) -> String {
    match AadProvider::new(config, jwks()) {
        Err(VerifyError::Config(message)) => message,
        Err(other) => panic!("not a Config error: {other}"),
        Ok(_) => panic!("the configuration was accepted"),
    }
}

#[tokio::test]
async fn single_tenant_v1_token_is_accepted() {
    let entra = FakeEntra::start().await;
    let provider = single(&entra);
    let identity = provider
        .verify(&entra.v1_token(FAKE_ENTRA_TENANT_A, OID, json!({})))
        .await
        .unwrap();
    assert_eq!(
        identity.issuer,
        format!("https://sts.windows.net/{FAKE_ENTRA_TENANT_A}/")
    );
    assert_eq!(identity.subject, OID);
    assert_eq!(identity.issuer_key, format!("aad:{FAKE_ENTRA_TENANT_A}"));
    assert_eq!(identity.tenant_hint.as_deref(), Some(FAKE_ENTRA_TENANT_A));
    assert_eq!(identity.signing_key.kid, Some(entra.kid()));
    assert!(provider.supports_teams_exchange());
}

#[tokio::test]
async fn single_tenant_v2_token_is_accepted() {
    let entra = FakeEntra::start().await;
    let provider = single(&entra);
    let identity = provider
        .verify(&entra.v2_token(FAKE_ENTRA_TENANT_A, OID, json!({})))
        .await
        .unwrap();
    assert_eq!(
        identity.issuer,
        format!("https://login.microsoftonline.com/{FAKE_ENTRA_TENANT_A}/v2.0")
    );
    assert_eq!(identity.subject, OID);
}

#[tokio::test]
async fn v1_and_v2_tokens_of_one_user_map_to_one_identity_key() {
    let entra = FakeEntra::start().await;
    let provider = single(&entra);
    let v1 = provider
        .verify(&entra.v1_token(FAKE_ENTRA_TENANT_A, OID, json!({})))
        .await
        .unwrap();
    let v2 = provider
        .verify(&entra.v2_token(FAKE_ENTRA_TENANT_A, OID, json!({})))
        .await
        .unwrap();
    assert_ne!(v1.issuer, v2.issuer);
    assert_eq!((&v1.issuer_key, &v1.subject), (&v2.issuer_key, &v2.subject));
    // The subject is `oid` (the token's pairwise `sub` differs from it).
    assert_eq!(v1.subject, OID);
}

#[tokio::test]
async fn metadata_and_keys_are_fetched_once_per_version() {
    let entra = FakeEntra::start().await;
    let provider = single(&entra);
    for oid in [OID, OTHER_OID, OID] {
        provider
            .verify(&entra.v2_token(FAKE_ENTRA_TENANT_A, oid, json!({})))
            .await
            .unwrap();
    }
    assert_eq!(entra.metadata_fetch_count(), 1);
    assert_eq!(entra.jwks_fetch_count(), 1);
    provider
        .verify(&entra.v1_token(FAKE_ENTRA_TENANT_A, OID, json!({})))
        .await
        .unwrap();
    // v1 metadata + the v2 metadata for the key's v2 issuer (already cached) + v1 JWKS.
    assert_eq!(entra.metadata_fetch_count(), 2);
    assert_eq!(entra.jwks_fetch_count(), 2);
}

#[tokio::test]
async fn token_of_another_directory_is_refused_by_a_single_tenant_app() {
    let entra = FakeEntra::start().await;
    let provider = single(&entra);
    for token in [
        entra.v2_token(FAKE_ENTRA_TENANT_B, OID, json!({})),
        entra.v1_token(FAKE_ENTRA_TENANT_B, OID, json!({})),
    ] {
        assert!(matches!(
            refused(&provider, &token).await,
            VerifyError::InvalidIssuer
        ));
    }
    // The right tid with another directory's issuer.
    let token = entra.v2_token(
        FAKE_ENTRA_TENANT_A,
        OID,
        json!({ "iss": format!("https://login.microsoftonline.com/{FAKE_ENTRA_TENANT_B}/v2.0") }),
    );
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::InvalidIssuer
    ));
    // A v2 token carrying the v1 issuer.
    let token = entra.v2_token(
        FAKE_ENTRA_TENANT_A,
        OID,
        json!({ "iss": format!("https://sts.windows.net/{FAKE_ENTRA_TENANT_A}/") }),
    );
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::InvalidIssuer
    ));
}

#[tokio::test]
async fn single_tenant_token_without_tid_is_checked_against_the_directory_issuer() {
    let entra = FakeEntra::start().await;
    let provider = single(&entra);
    let identity = provider
        .verify(&entra.v2_token(FAKE_ENTRA_TENANT_A, OID, json!({ "tid": null })))
        .await
        .unwrap();
    assert_eq!(identity.issuer_key, format!("aad:{FAKE_ENTRA_TENANT_A}"));
    let token = entra.v2_token(FAKE_ENTRA_TENANT_A, OID, json!({ "tid": 42 }));
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::InvalidClaim(ref c) if c == "tid"
    ));
}

#[tokio::test]
async fn version_not_in_token_versions_is_refused() {
    let entra = FakeEntra::start().await;
    let mut config = aad_config_for(&entra, FAKE_ENTRA_TENANT_A);
    config.token_versions = vec![2];
    let v2_only = new_provider(config);
    v2_only
        .verify(&entra.v2_token(FAKE_ENTRA_TENANT_A, OID, json!({})))
        .await
        .unwrap();
    let token = entra.v1_token(FAKE_ENTRA_TENANT_A, OID, json!({}));
    assert!(matches!(
        refused(&v2_only, &token).await,
        VerifyError::InvalidClaim(ref c) if c == "ver"
    ));
    let provider = single(&entra);
    for (ver, expected) in [
        (json!("3.0"), "invalid"),
        (json!(2), "invalid"),
        (json!(null), "missing"),
    ] {
        let token = entra.v2_token(FAKE_ENTRA_TENANT_A, OID, json!({ "ver": ver }));
        let err = refused(&provider, &token).await;
        match expected {
            "missing" => assert!(
                matches!(err, VerifyError::MissingClaim(ref c) if c == "ver"),
                "{err}"
            ),
            _ => assert!(
                matches!(err, VerifyError::InvalidClaim(ref c) if c == "ver"),
                "{err}"
            ),
        }
    }
}

#[tokio::test]
async fn v1_token_is_checked_against_v1_metadata_and_v2_against_v2() {
    let entra = FakeEntra::start().await;
    let provider = single(&entra);
    // A v1-shaped token (sts.windows.net issuer) labelled 2.0, and the reverse.
    let token = entra.v1_token(
        FAKE_ENTRA_TENANT_A,
        OID,
        json!({ "ver": "2.0", "azp": "x" }),
    );
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::InvalidIssuer
    ));
    let token = entra.v2_token(
        FAKE_ENTRA_TENANT_A,
        OID,
        json!({ "ver": "1.0", "appid": "x" }),
    );
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::InvalidIssuer
    ));
}

#[tokio::test]
async fn multi_tenant_accepts_listed_directories_only() {
    let entra = FakeEntra::start().await;
    let provider = multi(&entra, "organizations", &[FAKE_ENTRA_TENANT_A]);
    assert!(provider.is_multi_tenant());
    for token in [
        entra.v2_token(FAKE_ENTRA_TENANT_A, OID, json!({})),
        entra.v1_token(FAKE_ENTRA_TENANT_A, OID, json!({})),
    ] {
        let identity = provider.verify(&token).await.unwrap();
        assert_eq!(identity.issuer_key, format!("aad:{FAKE_ENTRA_TENANT_A}"));
        assert_eq!(identity.tenant_hint.as_deref(), Some(FAKE_ENTRA_TENANT_A));
    }
    for token in [
        entra.v2_token(FAKE_ENTRA_TENANT_B, OID, json!({})),
        entra.v1_token(FAKE_ENTRA_TENANT_B, OID, json!({})),
    ] {
        assert!(matches!(
            refused(&provider, &token).await,
            VerifyError::InvalidIssuer
        ));
    }
    // Through the `common` authority too.
    let provider = multi(&entra, "common", &[FAKE_ENTRA_TENANT_B]);
    provider
        .verify(&entra.v2_token(FAKE_ENTRA_TENANT_B, OID, json!({})))
        .await
        .unwrap();
    assert_eq!(
        provider.metadata_url(TokenVersion::V2).as_str(),
        format!(
            "{}/common/v2.0/.well-known/openid-configuration",
            entra.authority()
        )
    );
}

#[tokio::test]
async fn multi_tenant_tid_missing_or_not_a_guid_is_refused() {
    let entra = FakeEntra::start().await;
    let provider = multi(&entra, "organizations", &[FAKE_ENTRA_TENANT_A]);
    let token = entra.v2_token(FAKE_ENTRA_TENANT_A, OID, json!({ "tid": null }));
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::MissingClaim(ref c) if c == "tid"
    ));
    for tid in [json!("contoso.onmicrosoft.com"), json!("common"), json!(7)] {
        let token = entra.v2_token(FAKE_ENTRA_TENANT_A, OID, json!({ "tid": tid }));
        assert!(matches!(
            refused(&provider, &token).await,
            VerifyError::InvalidClaim(ref c) if c == "tid"
        ));
    }
}

#[tokio::test]
async fn multi_tenant_iss_must_be_the_template_completed_with_tid() {
    let entra = FakeEntra::start().await;
    let provider = multi(
        &entra,
        "organizations",
        &[FAKE_ENTRA_TENANT_A, FAKE_ENTRA_TENANT_B],
    );
    for iss in [
        format!("https://login.microsoftonline.com/{FAKE_ENTRA_TENANT_B}/v2.0"),
        format!("https://login.microsoftonline.com/{FAKE_ENTRA_TENANT_A}/v2.0/"),
        format!("https://login.microsoftonline.com/{FAKE_ENTRA_TENANT_A}"),
        format!("https://sts.windows.net/{FAKE_ENTRA_TENANT_A}/"),
        "https://login.microsoftonline.com/{tenantid}/v2.0".to_owned(),
    ] {
        let token = entra.v2_token(FAKE_ENTRA_TENANT_A, OID, json!({ "iss": iss }));
        assert!(
            matches!(refused(&provider, &token).await, VerifyError::InvalidIssuer),
            "{iss}"
        );
    }
    let token = entra.v1_token(
        FAKE_ENTRA_TENANT_A,
        OID,
        json!({ "iss": format!("https://sts.windows.net/{FAKE_ENTRA_TENANT_B}/") }),
    );
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::InvalidIssuer
    ));
}

#[tokio::test]
async fn key_bound_to_another_directory_cannot_sign_for_this_one() {
    let entra = FakeEntra::start().await;
    let bound_to_b = entra.add_tenant_bound_key(FAKE_ENTRA_TENANT_B);
    let provider = multi(
        &entra,
        "organizations",
        &[FAKE_ENTRA_TENANT_A, FAKE_ENTRA_TENANT_B],
    );
    // Tenant B's own tokens with its key are fine, v2 and v1.
    let claims = entra.v2_claims(FAKE_ENTRA_TENANT_B, OID);
    provider
        .verify(&entra.token_with_key(&bound_to_b, claims))
        .await
        .unwrap();
    let claims = entra.v1_claims(FAKE_ENTRA_TENANT_B, OID);
    provider
        .verify(&entra.token_with_key(&bound_to_b, claims))
        .await
        .unwrap();
    // Tenant A's tokens signed with B's key are refused, v2 and v1.
    for claims in [
        entra.v2_claims(FAKE_ENTRA_TENANT_A, OID),
        entra.v1_claims(FAKE_ENTRA_TENANT_A, OID),
    ] {
        let token = entra.token_with_key(&bound_to_b, claims);
        assert!(matches!(
            refused(&provider, &token).await,
            VerifyError::InvalidIssuer
        ));
    }
    // The same in single-tenant mode.
    let provider = single(&entra);
    let token = entra.token_with_key(&bound_to_b, entra.v2_claims(FAKE_ENTRA_TENANT_A, OID));
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::InvalidIssuer
    ));
}

#[tokio::test]
async fn v1_key_without_issuer_follows_the_v1_rules() {
    let entra = FakeEntra::start().await;
    let plain = entra.add_key(None);
    let provider = multi(&entra, "organizations", &[FAKE_ENTRA_TENANT_A]);
    let token = entra.token_with_key(&plain, entra.v1_claims(FAKE_ENTRA_TENANT_A, OID));
    provider.verify(&token).await.unwrap();
    // A key whose issuer is neither the token's nor the directory's v2 issuer is refused.
    let odd = entra.add_key(Some("https://sts.windows.net/{tenantid}/x"));
    let token = entra.token_with_key(&odd, entra.v1_claims(FAKE_ENTRA_TENANT_A, OID));
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::InvalidIssuer
    ));
}

#[tokio::test]
async fn allow_any_directory_accepts_any_guid_but_personal_accounts() {
    let entra = FakeEntra::start().await;
    let mut config = aad_config_for(&entra, "common");
    config.allow_any_directory = true;
    let provider = new_provider(config.clone());
    for tid in [FAKE_ENTRA_TENANT_A, FAKE_ENTRA_TENANT_B] {
        provider
            .verify(&entra.v2_token(tid, OID, json!({})))
            .await
            .unwrap();
    }
    let token = entra.v2_token(PERSONAL_ACCOUNTS_DIRECTORY, OID, json!({}));
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::InvalidIssuer
    ));
    assert!(!provider.accepts_issuer(&format!(
        "https://login.microsoftonline.com/{PERSONAL_ACCOUNTS_DIRECTORY}/v2.0"
    )));
}

#[tokio::test]
async fn personal_accounts_directory_is_accepted_only_when_listed() {
    let entra = FakeEntra::start().await;
    let provider = multi(&entra, "common", &[FAKE_ENTRA_TENANT_A]);
    let token = entra.v2_token(PERSONAL_ACCOUNTS_DIRECTORY, OID, json!({}));
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::InvalidIssuer
    ));
    let provider = multi(&entra, "common", &[PERSONAL_ACCOUNTS_DIRECTORY]);
    let identity = provider.verify(&token).await.unwrap();
    assert_eq!(
        identity.issuer_key,
        format!("aad:{PERSONAL_ACCOUNTS_DIRECTORY}")
    );
}

#[tokio::test]
async fn microsoft_graph_tokens_are_refused() {
    let entra = FakeEntra::start().await;
    let provider = single(&entra);
    let err = refused(&provider, &entra.graph_token(FAKE_ENTRA_TENANT_A, OID)).await;
    assert!(matches!(err, VerifyError::InvalidAudience), "{err}");
    // Graph audience without the nonce header, even when configured as an audience.
    let token = entra.v1_token(
        FAKE_ENTRA_TENANT_A,
        OID,
        json!({ "aud": "https://graph.microsoft.com" }),
    );
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::InvalidAudience
    ));
    // A nonce header on an otherwise good token.
    let mut header = entra.header(&entra.kid());
    header["nonce"] = json!("AQABAAAAAAD");
    let token = entra.token_with_header(header, entra.v2_claims(FAKE_ENTRA_TENANT_A, OID));
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::InvalidAudience
    ));
    assert_eq!(
        entra.metadata_fetch_count(),
        0,
        "refused before any request"
    );
    let mut config = aad_config_for(&entra, FAKE_ENTRA_TENANT_A);
    config.audiences = Some(vec![MICROSOFT_GRAPH_APP_ID.to_owned()]);
    assert!(config_err(config).contains("audiences"));
}

#[tokio::test]
async fn teams_user_token_is_not_for_this_api() {
    let entra = FakeEntra::start().await;
    let provider = single(&entra);
    let token = entra.teams_user_token(FAKE_ENTRA_TENANT_A, OID);
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::InvalidAudience
    ));
}

#[tokio::test]
async fn audience_client_id_and_api_uri_accepted_others_refused() {
    let entra = FakeEntra::start().await;
    let provider = single(&entra);
    assert_eq!(
        provider.audiences(),
        [
            FAKE_ENTRA_API_CLIENT_ID.to_owned(),
            format!("api://{FAKE_ENTRA_API_CLIENT_ID}")
        ]
    );
    for aud in [
        FAKE_ENTRA_API_CLIENT_ID.to_owned(),
        format!("api://{FAKE_ENTRA_API_CLIENT_ID}"),
    ] {
        provider
            .verify(&entra.v1_token(FAKE_ENTRA_TENANT_A, OID, json!({ "aud": aud })))
            .await
            .unwrap();
    }
    for aud in [
        json!("api://someone-else"),
        json!(format!("api://{FAKE_ENTRA_API_CLIENT_ID}/")),
        json!(format!(
            "https://contoso.example/{FAKE_ENTRA_API_CLIENT_ID}"
        )),
        json!("00000002-0000-0000-c000-000000000000"),
    ] {
        let token = entra.v2_token(FAKE_ENTRA_TENANT_A, OID, json!({ "aud": aud }));
        assert!(matches!(
            refused(&provider, &token).await,
            VerifyError::InvalidAudience
        ));
    }
    // Configured audiences replace the default ones.
    let mut config = aad_config_for(&entra, FAKE_ENTRA_TENANT_A);
    config.audiences = Some(vec!["https://api.contoso.example".to_owned()]);
    let custom = new_provider(config);
    let token = entra.v2_token(
        FAKE_ENTRA_TENANT_A,
        OID,
        json!({ "aud": "https://api.contoso.example" }),
    );
    custom.verify(&token).await.unwrap();
    let token = entra.v2_token(FAKE_ENTRA_TENANT_A, OID, json!({}));
    assert!(matches!(
        refused(&custom, &token).await,
        VerifyError::InvalidAudience
    ));
}

#[tokio::test]
async fn missing_or_malformed_oid_is_refused() {
    let entra = FakeEntra::start().await;
    let provider = single(&entra);
    let token = entra.v2_token(FAKE_ENTRA_TENANT_A, OID, json!({ "oid": null }));
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::MissingClaim(ref c) if c == "oid"
    ));
    let token = entra.v2_token(FAKE_ENTRA_TENANT_A, OID, json!({ "oid": "alice" }));
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::InvalidClaim(ref c) if c == "oid"
    ));
}

#[tokio::test]
async fn id_tokens_are_refused() {
    let entra = FakeEntra::start().await;
    let provider = single(&entra);
    // No calling app: an ID token's shape.
    let token = entra.v2_token(
        FAKE_ENTRA_TENANT_A,
        OID,
        json!({ "azp": null, "azpacr": null }),
    );
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::MissingClaim(ref c) if c == "azp"
    ));
    let token = entra.v1_token(FAKE_ENTRA_TENANT_A, OID, json!({ "appid": null }));
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::MissingClaim(ref c) if c == "appid"
    ));
    // Neither scopes nor roles.
    let token = entra.v2_token(FAKE_ENTRA_TENANT_A, OID, json!({ "scp": null }));
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::MissingClaim(ref c) if c == "scp"
    ));
}

#[tokio::test]
async fn scopes_and_roles_are_extracted() {
    let entra = FakeEntra::start().await;
    let provider = single(&entra);
    let token = entra.v2_token(
        FAKE_ENTRA_TENANT_A,
        OID,
        json!({ "scp": "Calls.Join  Chat.ReadWrite", "roles": ["Caller.Admin", "Auditor"] }),
    );
    let identity = provider.verify(&token).await.unwrap();
    assert_eq!(identity.scopes, ["Calls.Join", "Chat.ReadWrite"]);
    assert_eq!(identity.roles, ["Caller.Admin", "Auditor"]);
    // App-only token: roles, no scp.
    let token = entra.v2_token(
        FAKE_ENTRA_TENANT_A,
        OID,
        json!({ "scp": null, "roles": ["Tokens.Issue"] }),
    );
    let identity = provider.verify(&token).await.unwrap();
    assert!(identity.scopes.is_empty());
    assert_eq!(identity.roles, ["Tokens.Issue"]);
}

#[tokio::test]
async fn forged_and_expired_tokens_are_refused() {
    let entra = FakeEntra::start().await;
    let provider = single(&entra);
    let claims = entra.v2_claims(FAKE_ENTRA_TENANT_A, OID);
    assert!(matches!(
        refused(&provider, &entra.sign_with_unpublished_key(claims)).await,
        VerifyError::InvalidSignature
    ));
    let now = validate::now_unix();
    let token = entra.v2_token(
        FAKE_ENTRA_TENANT_A,
        OID,
        json!({ "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600 }),
    );
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::Expired
    ));
    let header = json!({ "alg": "none", "typ": "JWT" });
    let token = format!(
        "{}.{}.",
        acs_auth_providers::testing::b64url(header.to_string().as_bytes()),
        acs_auth_providers::testing::b64url(
            entra
                .v2_claims(FAKE_ENTRA_TENANT_A, OID)
                .to_string()
                .as_bytes()
        )
    );
    assert!(matches!(
        refused(&provider, &token).await,
        VerifyError::AlgorithmNotAllowed(_)
    ));
}

#[tokio::test]
async fn metadata_of_an_outage_is_unavailable_then_recovers() {
    let entra = FakeEntra::start().await;
    let provider = single(&entra);
    entra.set_available(false);
    let token = entra.v2_token(FAKE_ENTRA_TENANT_A, OID, json!({}));
    let err = refused(&provider, &token).await;
    assert!(matches!(err, VerifyError::Unavailable(_)), "{err}");
    entra.set_available(true);
    provider.verify(&token).await.unwrap();
}

#[tokio::test]
async fn multi_tenant_metadata_without_a_template_is_a_config_error() {
    let entra = FakeEntra::start().await;
    entra.patch_metadata(json!({
        "issuer": format!("https://login.microsoftonline.com/{FAKE_ENTRA_TENANT_A}/v2.0")
    }));
    let provider = multi(&entra, "organizations", &[FAKE_ENTRA_TENANT_A]);
    let err = refused(
        &provider,
        &entra.v2_token(FAKE_ENTRA_TENANT_A, OID, json!({})),
    )
    .await;
    assert!(
        matches!(err, VerifyError::Config(ref m) if m.contains("template")),
        "{err}"
    );
    // And a single directory whose metadata names another directory.
    let provider = provider_for_b(&entra);
    let err = refused(
        &provider,
        &entra.v2_token(FAKE_ENTRA_TENANT_B, OID, json!({})),
    )
    .await;
    assert!(matches!(err, VerifyError::Config(_)), "{err}");
}

fn provider_for_b(entra: &FakeEntra) -> AadProvider {
    new_provider(aad_config_for(entra, FAKE_ENTRA_TENANT_B))
}

#[tokio::test]
async fn accepts_issuer_uses_the_metadata_once_loaded() {
    let entra = FakeEntra::start().await;
    let provider = single(&entra);
    let v1 = format!("https://sts.windows.net/{FAKE_ENTRA_TENANT_A}/");
    let v2 = format!("https://login.microsoftonline.com/{FAKE_ENTRA_TENANT_A}/v2.0");
    // Before any metadata: the standard shapes.
    assert!(provider.accepts_issuer(&v1));
    assert!(provider.accepts_issuer(&v2));
    assert!(provider.accepts_issuer(&format!("{}/{FAKE_ENTRA_TENANT_A}/v2.0", entra.authority())));
    assert!(!provider.accepts_issuer(&format!(
        "https://login.microsoftonline.com/{FAKE_ENTRA_TENANT_B}/v2.0"
    )));
    assert!(!provider.accepts_issuer(&format!("{v2}/")));
    provider.warm_up().await.unwrap();
    assert!(provider.accepts_issuer(&v1));
    assert!(provider.accepts_issuer(&v2));
    assert!(
        !provider.accepts_issuer(&format!("{}/{FAKE_ENTRA_TENANT_A}/v2.0", entra.authority())),
        "the metadata's issuers only, once loaded"
    );

    let mut config = aad_config_for(&entra, FAKE_ENTRA_TENANT_A);
    config.token_versions = vec![2];
    let v2_only = new_provider(config);
    assert!(!v2_only.accepts_issuer(&v1));
    assert!(v2_only.accepts_issuer(&v2));
}

#[tokio::test]
async fn accepts_issuer_multi_tenant_matches_the_template_with_an_allowed_directory() {
    let entra = FakeEntra::start().await;
    let provider = multi(&entra, "organizations", &[FAKE_ENTRA_TENANT_A]);
    let check = |provider: &AadProvider| {
        assert!(
            provider.accepts_issuer(&format!("https://sts.windows.net/{FAKE_ENTRA_TENANT_A}/"))
        );
        assert!(provider.accepts_issuer(&format!(
            "https://login.microsoftonline.com/{FAKE_ENTRA_TENANT_A}/v2.0"
        )));
        assert!(!provider.accepts_issuer(&format!(
            "https://login.microsoftonline.com/{FAKE_ENTRA_TENANT_B}/v2.0"
        )));
        assert!(!provider.accepts_issuer("https://login.microsoftonline.com/contoso/v2.0"));
        assert!(!provider.accepts_issuer("https://login.microsoftonline.com/{tenantid}/v2.0"));
    };
    check(&provider);
    provider.warm_up().await.unwrap();
    check(&provider);
    let mut config = aad_config_for(&entra, "common");
    config.allow_any_directory = true;
    let any = new_provider(config);
    assert!(any.accepts_issuer(&format!(
        "https://login.microsoftonline.com/{FAKE_ENTRA_TENANT_B}/v2.0"
    )));
}
