//! Client ↔ emulator round trips over real HTTP on 127.0.0.1, and the emulator's rejections.

use std::time::Duration;

use acs_auth::acs::emulator::{
    Emulator, EmulatorConfig, EmulatorError, Fault, MAX_BODY_BYTES, RunningEmulator,
};
use acs_auth::acs::wire::encode_id;
use acs_auth::acs::{
    AcsClient, AcsError, ConnectionString, Operation, RetryPolicy, install_crypto_provider, signing,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::Utc;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::helpers::{Raw, api_code, client_for, code, config, loopback, scopes, start};

const V: &str = "api-version=2023-10-01";

#[tokio::test]
async fn client_round_trip_covers_create_issue_revoke_delete() {
    let emu = start().await;
    let client = client_for(&emu.connection_string());
    let e = emu.emulator();

    // Create without a token.
    let plain = client.create_identity(None).await.unwrap();
    assert!(plain.access_token.is_none());
    assert!(
        plain.id.starts_with(&format!("8:acs:{}_", e.resource_id())),
        "{}",
        plain.id
    );
    assert!(e.identity_exists(&plain.id));

    // Create with a token.
    let with = client
        .create_identity(Some((&scopes(&["chat", "voip"]), 60)))
        .await
        .unwrap();
    let first = with.access_token.unwrap();
    let info = e.verify_access_token(first.token.expose_secret()).unwrap();
    assert_eq!(info.identity_id, with.id);
    assert_eq!(info.scopes, vec!["chat", "voip"]);
    let lifetime = first.expires_on.with_timezone(&Utc) - Utc::now();
    assert!(lifetime > chrono::Duration::minutes(59) && lifetime <= chrono::Duration::minutes(60));
    assert_eq!(e.live_identity_count(), 2);

    // Issue.
    let second = client
        .issue_access_token(&with.id, &scopes(&["voip"]), 1440)
        .await
        .unwrap();
    let info = e.verify_access_token(second.token.expose_secret()).unwrap();
    assert_eq!(info.scopes, vec!["voip"]);

    // Revoke: earlier tokens stop working, new ones work.
    client.revoke_access_tokens(&with.id).await.unwrap();
    assert!(e.revoked_at(&with.id).is_some());
    assert!(e.verify_access_token(first.token.expose_secret()).is_none());
    assert!(
        e.verify_access_token(second.token.expose_secret())
            .is_none()
    );
    let third = client
        .issue_access_token(&with.id, &scopes(&["chat"]), 60)
        .await
        .unwrap();
    assert!(e.verify_access_token(third.token.expose_secret()).is_some());

    // Delete: gone, its tokens too, and every later call is 404 IdentityNotFound.
    client.delete_identity(&with.id).await.unwrap();
    assert!(!e.identity_exists(&with.id));
    assert!(e.verify_access_token(third.token.expose_secret()).is_none());
    assert_eq!(e.live_identity_count(), 1);
    let err = client
        .issue_access_token(&with.id, &scopes(&["chat"]), 60)
        .await
        .unwrap_err();
    assert!(err.is_identity_not_found());
    assert_eq!(api_code(&err), (404, "IdentityNotFound"));
    assert!(!err.is_retryable());
    let err = client.revoke_access_tokens(&with.id).await.unwrap_err();
    assert_eq!(api_code(&err), (404, "IdentityNotFound"));
    let err = client.delete_identity(&with.id).await.unwrap_err();
    assert_eq!(api_code(&err), (404, "IdentityNotFound"));
}

#[tokio::test]
async fn issuing_for_a_deleted_identity_is_404() {
    let emu = start().await;
    let client = client_for(&emu.connection_string());
    let id = client.create_identity(None).await.unwrap().id;
    client.delete_identity(&id).await.unwrap();
    let err = client
        .issue_access_token(&id, &scopes(&["chat"]), 60)
        .await
        .unwrap_err();
    assert!(err.is_identity_not_found(), "{err:?}");
}

#[tokio::test]
async fn tokens_carry_the_claims_of_real_acs_tokens() {
    let emu = start().await;
    let client = client_for(&emu.connection_string());
    let created = client
        .create_identity(Some((&scopes(&["voip", "chat"]), 60)))
        .await
        .unwrap();
    let token = created.access_token.unwrap();
    let parts: Vec<&str> = token.token.expose_secret().split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    assert!(header["kid"].as_str().is_some_and(|k| k.len() == 40));
    assert!(header["x5t"].is_string());
    let rid = emu.emulator().resource_id();
    assert_eq!(claims["skypeid"], created.id.strip_prefix("8:").unwrap());
    assert_eq!(claims["scp"], 1792);
    assert_eq!(claims["acsScope"], "chat,voip");
    assert_eq!(claims["resourceId"], rid);
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(claims["csi"], iat.to_string());
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, 3600);
}

#[tokio::test]
async fn expires_on_is_written_with_seven_fractional_digits() {
    let emu = start().await;
    let (status, headers, body) = Raw::new(
        "POST",
        &format!("/identities?{V}"),
        br#"{"createTokenWithScopes":["chat"],"expiresInMinutes":60}"#,
    )
    .send(&emu)
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(headers["content-type"], "application/json; charset=utf-8");
    let exp = body["accessToken"]["expiresOn"].as_str().unwrap();
    // 2023-10-10T21:39:39.3244584+00:00
    assert_eq!(exp.len(), 33, "{exp}");
    assert!(exp.ends_with("+00:00"), "{exp}");
    assert_eq!(&exp[19..20], ".");
    assert!(exp[20..27].chars().all(|c| c.is_ascii_digit()), "{exp}");
}

#[tokio::test]
async fn create_with_empty_body_or_empty_scopes_has_no_token() {
    let emu = start().await;
    for body in [&b"{}"[..], b"", br#"{"createTokenWithScopes":[]}"#] {
        let (status, _, json) = Raw::new("POST", &format!("/identities?{V}"), body)
            .send(&emu)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{json}");
        assert!(json["identity"]["id"].is_string());
        assert!(json.get("accessToken").is_none(), "{json}");
    }
}

#[tokio::test]
async fn wrong_key_is_401() {
    let emu = start().await;
    let other = STANDARD.encode(b"some other key entirely");
    let conn = format!("endpoint={};accesskey={other}", emu.http_endpoint());
    let err = client_for(&conn).create_identity(None).await.unwrap_err();
    assert_eq!(api_code(&err), (401, "AuthenticationFailed"));
    assert!(!err.is_retryable());
    assert_eq!(emu.emulator().live_identity_count(), 0);
}

#[tokio::test]
async fn secondary_key_is_used_when_the_primary_is_rejected() {
    let emu = start().await;
    let other = STANDARD.encode(b"rotated away key");
    let conn = format!("endpoint={};accesskey={other}", emu.http_endpoint());
    let client = client_for(&conn).with_secondary_key(emu.emulator().access_key().clone());
    client.create_identity(None).await.unwrap();
    assert_eq!(emu.emulator().live_identity_count(), 1);
}

#[tokio::test]
async fn stale_or_future_date_is_401() {
    let emu = start().await;
    for offset in [-16i64, 16] {
        let mut raw = Raw::new("POST", "/identities?api-version=2023-10-01", b"{}");
        raw.date = Utc::now() + chrono::Duration::minutes(offset);
        let (status, _, body) = raw.send(&emu).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(code(&body), "RequestTimeSkewed");
    }
    let mut raw = Raw::new("POST", "/identities?api-version=2023-10-01", b"{}");
    raw.date = Utc::now() - chrono::Duration::minutes(10);
    assert_eq!(raw.send(&emu).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn tampered_body_is_401() {
    let emu = start().await;
    let mut raw = Raw::new(
        "POST",
        "/identities?api-version=2023-10-01",
        br#"{"createTokenWithScopes":["chat","voip"]}"#,
    );
    raw.signed_body = Some(br#"{"createTokenWithScopes":["chat"]}"#);
    let (status, _, body) = raw.send(&emu).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(code(&body), "ContentHashMismatch");
}

#[tokio::test]
async fn missing_or_malformed_authorization_is_401() {
    let emu = start().await;
    let url = format!("{}identities?{V}", emu.http_endpoint());
    let http = acs_auth_providers::http_client();
    let resp = http.post(&url).body("{}").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(code(&body), "MissingAuthenticationInfo");

    for auth in [
        "Bearer eyJ0eXAi",
        "HMAC-SHA256 garbage",
        "HMAC-SHA256 SignedHeaders=host&Signature=abc=",
    ] {
        let resp = http
            .post(&url)
            .header("authorization", auth)
            .header("x-ms-date", signing::format_date(Utc::now()))
            .header("x-ms-content-sha256", signing::content_hash(b"{}"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{auth}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(code(&body), "InvalidAuthenticationInfo", "{auth}");
    }

    // Non-UTF-8 header bytes must not crash anything.
    let resp = http
        .post(&url)
        .header(
            "authorization",
            reqwest::header::HeaderValue::from_bytes(b"HMAC-SHA256 \xff\xfe").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // A signed request without x-ms-date.
    let resp = http
        .post(&url)
        .header(
            "authorization",
            signing::authorization_value("dvLzrF6bpiiDBJrhul6vvaI63cfqHTwrfBS9FoA+0Vc="),
        )
        .header("x-ms-content-sha256", signing::content_hash(b""))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(code(&body), "InvalidAuthenticationInfo");
}

#[tokio::test]
async fn unknown_scope_and_out_of_range_lifetime_are_400() {
    let emu = start().await;
    let client = client_for(&emu.connection_string());
    let id = client.create_identity(None).await.unwrap().id;

    let err = client
        .issue_access_token(&id, &scopes(&["chat", "email"]), 60)
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (400, "InvalidArgument"));
    let err = client
        .create_identity(Some((&scopes(&["chat.write"]), 60)))
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (400, "InvalidArgument"));

    for minutes in [0, 59, 1441, 100_000] {
        let err = client
            .issue_access_token(&id, &scopes(&["chat"]), minutes)
            .await
            .unwrap_err();
        assert_eq!(api_code(&err), (400, "InvalidArgument"), "{minutes}");
        let err = client
            .create_identity(Some((&scopes(&["chat"]), minutes)))
            .await
            .unwrap_err();
        assert_eq!(api_code(&err), (400, "InvalidArgument"), "{minutes}");
    }
    for minutes in [60, 1440] {
        client
            .issue_access_token(
                &id,
                &scopes(&["chat.join", "chat.join.limited", "voip.join"]),
                minutes,
            )
            .await
            .unwrap();
    }
    let err = client.issue_access_token(&id, &[], 60).await.unwrap_err();
    assert_eq!(api_code(&err), (400, "InvalidArgument"));
    // Only the identity created first exists: failed creates create nothing.
    assert_eq!(emu.emulator().live_identity_count(), 1);
}

#[tokio::test]
async fn malformed_json_is_400() {
    let emu = start().await;
    for body in [
        &b"{"[..],
        b"[1,2]",
        br#"{"createTokenWithScopes":"chat"}"#,
        b"\xff\xfe",
    ] {
        let (status, _, json) = Raw::new("POST", &format!("/identities?{V}"), body)
            .send(&emu)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
        assert_eq!(code(&json), "InvalidRequestBody");
    }
}

#[tokio::test]
async fn huge_body_is_413() {
    let emu = start().await;
    let body = vec![b' '; MAX_BODY_BYTES + 1];
    let (status, _, json) = Raw::new("POST", &format!("/identities?{V}"), &body)
        .send(&emu)
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(code(&json), "RequestBodyTooLarge");
}

#[tokio::test]
async fn missing_or_unknown_api_version_is_400() {
    let emu = start().await;
    let (status, _, body) = Raw::new("POST", "/identities", b"{}").send(&emu).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "MissingApiVersionParameter");
    let (status, _, body) = Raw::new("POST", "/identities?api-version=1999-01-01", b"{}")
        .send(&emu)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "UnsupportedApiVersion");
}

#[tokio::test]
async fn unknown_route_is_404_and_wrong_method_405() {
    let emu = start().await;
    let (status, _, body) = Raw::new("POST", &format!("/users?{V}"), b"")
        .send(&emu)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(code(&body), "NotFound");
    let (status, headers, body) = Raw::new("GET", &format!("/identities?{V}"), b"")
        .send(&emu)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(code(&body), "MethodNotAllowed");
    assert_eq!(headers["allow"], "POST");
    let (status, _, _) = Raw::new("POST", &format!("/identities/8%3Aacs%3Ax?{V}"), b"")
        .send(&emu)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn encoded_and_unencoded_ids_both_verify() {
    let emu = start().await;
    let client = client_for(&emu.connection_string());
    let id = client.create_identity(None).await.unwrap().id;
    let body = br#"{"scopes":["chat"],"expiresInMinutes":60}"#;

    let encoded = format!("/identities/{}/:issueAccessToken?{V}", encode_id(&id));
    let raw_path = format!("/identities/{id}/:issueAccessToken?{V}");
    assert_ne!(encoded, raw_path);
    for path in [&encoded, &raw_path] {
        let (status, _, json) = Raw::new("POST", path, body).send(&emu).await;
        assert_eq!(status, StatusCode::OK, "{path}: {json}");
        assert!(
            emu.emulator()
                .verify_access_token(json["token"].as_str().unwrap())
                .is_some()
        );
    }
    // The signature covers the path as sent: signing the decoded form but sending the
    // encoded one fails.
    let mut raw = Raw::new("POST", &encoded, body);
    raw.signed_path = Some(&raw_path);
    let (status, _, json) = raw.send(&emu).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(code(&json), "AuthenticationFailed");

    // Delete via the unencoded form too.
    let (status, _, _) = Raw::new("DELETE", &format!("/identities/{id}?{V}"), b"")
        .send(&emu)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!emu.emulator().identity_exists(&id));
}

#[tokio::test]
async fn client_request_id_is_echoed() {
    let emu = start().await;
    let path = format!("/identities?{V}");
    let mut raw = Raw::new("POST", &path, b"{}");
    raw.extra.push(("x-ms-client-request-id", "abc-123".into()));
    let (_, headers, _) = raw.send(&emu).await;
    assert_eq!(headers["x-ms-client-request-id"], "abc-123");
    // Also on errors.
    let mut raw = Raw::new("POST", "/identities", b"{}");
    raw.extra.push(("x-ms-client-request-id", "def-456".into()));
    let (status, headers, _) = raw.send(&emu).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(headers["x-ms-client-request-id"], "def-456");
}

fn teams_token(claims: Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT","kid":"x"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.c2lnbmF0dXJl")
}

const APP: &str = "11111111-2222-3333-4444-555555555555";
const OID: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

fn good_teams_claims() -> Value {
    json!({
        "aud": "https://auth.msft.communication.azure.com",
        "iss": "https://login.microsoftonline.com/tid/v2.0",
        "scp": "https://auth.msft.communication.azure.com/Teams.ManageCalls https://auth.msft.communication.azure.com/Teams.ManageChats",
        "azp": APP,
        "oid": OID,
        "exp": (Utc::now() + chrono::Duration::minutes(30)).timestamp(),
    })
}

#[tokio::test]
async fn teams_token_exchange_accepts_a_matching_token() {
    let emu = start().await;
    let client = client_for(&emu.connection_string());
    let t = client
        .exchange_teams_token(&teams_token(good_teams_claims()), APP, OID)
        .await
        .unwrap();
    let info = emu
        .emulator()
        .verify_access_token(t.token.expose_secret())
        .unwrap();
    assert_eq!(info.identity_id, format!("8:orgid:{OID}"));
    // Not longer than the Entra token.
    assert!(t.expires_on.with_timezone(&Utc) <= Utc::now() + chrono::Duration::minutes(31));

    // v1 tokens: `appid` and short scope names.
    let mut v1 = good_teams_claims();
    v1["appid"] = json!(APP);
    v1.as_object_mut().unwrap().remove("azp");
    v1["scp"] = json!("Teams.ManageChats Teams.ManageCalls");
    client
        .exchange_teams_token(&teams_token(v1), APP, OID)
        .await
        .unwrap();
}

#[tokio::test]
async fn teams_token_exchange_rejects_mismatches() {
    let emu = start().await;
    let client = client_for(&emu.connection_string());
    let good = teams_token(good_teams_claims());

    let err = client
        .exchange_teams_token(&good, "other-app", OID)
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (400, "AppIdMismatch"));
    let err = client
        .exchange_teams_token(&good, APP, "other-user")
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (400, "UserIdMismatch"));
    let err = client.exchange_teams_token("", APP, OID).await.unwrap_err();
    assert_eq!(api_code(&err), (400, "InvalidArgument"));
    let err = client
        .exchange_teams_token("not-a-jwt", APP, OID)
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (401, "InvalidAccessToken"));

    let mut expired = good_teams_claims();
    expired["exp"] = json!((Utc::now() - chrono::Duration::minutes(1)).timestamp());
    let err = client
        .exchange_teams_token(&teams_token(expired), APP, OID)
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (401, "TokenExpired"));

    let mut aud = good_teams_claims();
    aud["aud"] = json!("https://graph.microsoft.com");
    let err = client
        .exchange_teams_token(&teams_token(aud), APP, OID)
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (401, "InvalidAccessToken"));

    let mut scope = good_teams_claims();
    scope["scp"] = json!("Teams.ManageCalls");
    let err = client
        .exchange_teams_token(&teams_token(scope), APP, OID)
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (401, "InvalidAccessToken"));
}

#[tokio::test]
async fn https_serves_the_same_api_with_the_written_certificate() {
    install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config();
    cfg.tls_dir = Some(dir.path().to_owned());
    let emu = RunningEmulator::start(cfg, loopback(), Some(loopback()))
        .await
        .unwrap();
    let cert_path = emu.cert_path.clone().unwrap();
    assert_eq!(cert_path, dir.path().join("cert.pem"));
    assert!(dir.path().join("key.pem").exists());
    let pem = std::fs::read(&cert_path).unwrap();
    let http = acs_auth_providers::http_client_builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap();
    let https = emu.https_connection_string().unwrap();
    assert!(https.starts_with("endpoint=https://127.0.0.1:"), "{https}");
    let conn = ConnectionString::parse(&https).unwrap();
    let client = AcsClient::new(http.clone(), &conn, Duration::from_secs(10));
    let created = client
        .create_identity(Some((&scopes(&["chat"]), 60)))
        .await
        .unwrap();
    assert!(emu.emulator().identity_exists(&created.id));

    // The certificate also covers `localhost`.
    let port = emu.https_addr.unwrap().port();
    let conn = ConnectionString::parse(&format!(
        "endpoint=https://localhost:{port}/;accesskey={}",
        emu.emulator().access_key().expose_secret()
    ))
    .unwrap();
    AcsClient::new(http, &conn, Duration::from_secs(10))
        .delete_identity(&created.id)
        .await
        .unwrap();
    assert!(!emu.emulator().identity_exists(&created.id));
}

#[tokio::test]
async fn temporary_tls_dir_is_removed_on_drop() {
    install_crypto_provider();
    let emu = RunningEmulator::start(config(), loopback(), Some(loopback()))
        .await
        .unwrap();
    let cert = emu.cert_path.clone().unwrap();
    assert!(cert.exists());
    drop(emu);
    assert!(!cert.exists());
}

#[tokio::test]
async fn client_times_out_on_a_silent_server() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind(loopback()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let _hold = tokio::spawn(async move {
        let mut conns = Vec::new();
        while let Ok((c, _)) = listener.accept().await {
            conns.push(c);
        }
    });
    let conn = ConnectionString::parse(&format!(
        "endpoint=http://{addr}/;accesskey={}",
        STANDARD.encode(b"k")
    ))
    .unwrap();
    let client = AcsClient::new(
        acs_auth_providers::http_client(),
        &conn,
        Duration::from_millis(200),
    );
    let err = client.create_identity(None).await.unwrap_err();
    assert!(matches!(err, AcsError::Timeout), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn transport_errors_are_retryable() {
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let conn = ConnectionString::parse(&format!(
        "endpoint=http://{addr}/;accesskey={}",
        STANDARD.encode(b"k")
    ))
    .unwrap();
    let client = AcsClient::new(
        acs_auth_providers::http_client(),
        &conn,
        Duration::from_secs(5),
    );
    let err = client.delete_identity("8:acs:x").await.unwrap_err();
    assert!(matches!(err, AcsError::Transport(_)), "{err:?}");
    assert!(err.is_retryable());
}

#[test]
fn config_debug_redacts_the_key() {
    let c = EmulatorConfig::new(SecretString::from("c2VjcmV0LWtleS10ZXh0"));
    assert!(!format!("{c:?}").contains("c2VjcmV0LWtleS10ZXh0"));
}

#[test]
fn invalid_access_key_is_a_config_error() {
    let mut c = config();
    c.access_key = SecretString::from("***");
    assert!(matches!(Emulator::new(c), Err(EmulatorError::Config(_))));
}

#[tokio::test]
async fn fault_api_over_http_needs_the_signature_and_drives_the_faults() {
    let emu = start().await;
    let plan = br#"{"faults":[{"operation":"create","kind":"status","status":429,"retry_after":7,"times":1}]}"#;

    // Not signed, or signed with another key: refused, nothing changes.
    let url = format!("http://{}/_emulator/faults", emu.http_addr);
    let resp = acs_auth_providers::http_client()
        .put(&url)
        .body(plan.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let mut raw = Raw::new("PUT", "/_emulator/faults", plan);
    raw.key = Some(b"not the key".to_vec());
    let (status, _, body) = raw.send(&emu).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "AuthenticationFailed")
    );
    assert!(emu.emulator().faults().faults.is_empty());

    // Signed: the plan is in force and shown back.
    let (status, _, body) = Raw::new("PUT", "/_emulator/faults", plan).send(&emu).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["faults"][0]["status"], 429);
    assert_eq!(body["calls"]["create"], 0);

    // The faulted create answers 429 + Retry-After with an error body and creates nothing.
    let (status, headers, body) = Raw::new("POST", &format!("/identities?{V}"), b"{}")
        .send(&emu)
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(code(&body), "TooManyRequests");
    assert!(body["error"]["message"].is_string());
    assert_eq!(headers["retry-after"], "7");
    assert_eq!(emu.emulator().live_identity_count(), 0);
    // Used up: the next one works.
    let (status, _, _) = Raw::new("POST", &format!("/identities?{V}"), b"{}")
        .send(&emu)
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(emu.emulator().call_count(Operation::Create), 2);

    let (status, _, body) = Raw::new("GET", "/_emulator/faults", b"").send(&emu).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["faults"], json!([]));
    assert_eq!(body["calls"]["create"], 2);

    // A bad plan is a 400 and changes nothing; DELETE clears; calls can be reset.
    let bad = br#"{"faults":[{"operation":"create","kind":"status","status":99}]}"#;
    let (status, _, body) = Raw::new("PUT", "/_emulator/faults", bad).send(&emu).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "InvalidRequestBody")
    );
    emu.emulator()
        .inject(Operation::Delete, Fault::Latency(Duration::from_millis(1)));
    let (status, _, _) = Raw::new("DELETE", "/_emulator/faults", b"")
        .send(&emu)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(emu.emulator().faults().faults.is_empty());
    let (status, _, _) = Raw::new("DELETE", "/_emulator/calls", b"").send(&emu).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(emu.emulator().call_count(Operation::Create), 0);
    let (status, headers, _) = Raw::new("POST", "/_emulator/faults", b"").send(&emu).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers["allow"], "GET, PUT, DELETE");
}

#[tokio::test]
async fn injected_errors_and_drops_behave_like_the_service() {
    let emu = start().await;
    let e = emu.emulator();
    let client = client_for(&emu.connection_string()).with_retry_policy(RetryPolicy::none());

    // 503 on create: rejected before processing.
    e.inject(Operation::Create, Fault::status(503, 1));
    let err = client.create_identity(None).await.unwrap_err();
    assert_eq!(api_code(&err), (503, "ServiceUnavailable"));
    assert_eq!(e.live_identity_count(), 0);

    // "Processed, answer lost": the identity exists although the client got a 500.
    e.inject(
        Operation::Create,
        Fault::DropAfterProcessing {
            status: 500,
            delay: Duration::ZERO,
            times: Some(1),
        },
    );
    let err = client.create_identity(None).await.unwrap_err();
    assert_eq!(api_code(&err), (500, "InternalServerError"));
    assert_eq!(e.live_identity_count(), 1);

    // Faults are per operation.
    e.inject(Operation::Issue, Fault::status(502, 1));
    let id = client.create_identity(None).await.unwrap().id;
    let err = client
        .issue_access_token(&id, &scopes(&["chat"]), 60)
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (502, "BadGateway"));
    client
        .issue_access_token(&id, &scopes(&["chat"]), 60)
        .await
        .unwrap();
    assert_eq!(e.call_count(Operation::Create), 3);
    assert_eq!(e.call_count(Operation::Issue), 2);
    assert_eq!(e.call_count(Operation::Delete), 0);

    assert!(
        e.try_inject(Operation::Create, Fault::status(200, 1))
            .is_err()
    );
    assert!(
        e.try_inject(Operation::Create, Fault::status(500, 0))
            .is_err()
    );
    assert!(e.faults().faults.is_empty());
}
