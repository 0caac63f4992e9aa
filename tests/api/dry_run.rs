//! The operator's token dry-run (`POST /admin/tenants/{id}/verifyToken`, `acs-auth tenants
//! verify-token`): every check of the tenant's provider and access policy, in order, with its
//! verdict; nothing issued, nothing stored, the token never logged, the dry-run audited.

use acs_auth::acs::Operation;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TENANT, TestApp, assert_problem, spawn_app, spawn_app_with};

async fn dry_run(app: &TestApp, tenant: &str, token: &str) -> Value {
    let resp = app
        .admin(Method::POST, &format!("/tenants/{tenant}/verifyToken"))
        .json(&json!({ "token": token }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.unwrap()
}

/// `(name, ran, ok)` of each check.
fn verdicts(report: &Value) -> Vec<(String, bool, bool)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["ran"].as_bool().unwrap(),
                c["ok"].as_bool().unwrap(),
            )
        })
        .collect()
}

const OIDC_CHECKS: [&str; 14] = [
    "format",
    "header",
    "payload",
    "discovery",
    "key",
    "signature",
    "times",
    "issuer",
    "audience",
    "token_kind",
    "subject",
    "tenant_enabled",
    "required_scopes",
    "required_roles",
];

/// The report lists every check in order; the ones before `refused` passed, `refused` failed,
/// and none after it ran.
fn assert_refused_by(report: &Value, refused: &str) {
    assert_eq!(report["valid"], false, "{report}");
    let checks = verdicts(report);
    let names: Vec<&str> = checks.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, OIDC_CHECKS, "every check, in order");
    let at = names.iter().position(|n| *n == refused).unwrap();
    for (i, (name, ran, ok)) in checks.iter().enumerate() {
        match i.cmp(&at) {
            std::cmp::Ordering::Less => assert!(*ran && *ok, "{name} passed: {report}"),
            std::cmp::Ordering::Equal => assert!(*ran && !*ok, "{name} refused: {report}"),
            std::cmp::Ordering::Greater => {
                assert!(!*ran && !*ok, "{name} did not run: {report}");
                let detail = report["checks"][i]["detail"].as_str().unwrap();
                assert!(detail.contains(refused), "{detail}");
            }
        }
    }
}

#[tokio::test]
async fn a_valid_token_passes_every_check_and_nothing_is_issued() {
    let app = spawn_app().await;
    let token = app.idp.token("alice");
    let report = dry_run(&app, TENANT, &token).await;
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["subject"], "alice");
    let checks = verdicts(&report);
    assert_eq!(
        checks
            .iter()
            .map(|(n, _, _)| n.as_str())
            .collect::<Vec<_>>(),
        OIDC_CHECKS
    );
    assert!(checks.iter().all(|(_, ran, ok)| *ran && *ok), "{report}");
    assert!(app.mappings().await.is_empty(), "no identity was created");
    for op in [Operation::Create, Operation::Issue] {
        assert_eq!(
            app.emulator.emulator().call_count(op),
            0,
            "ACS was not called ({op:?})"
        );
    }

    let audit: Value = app
        .admin(Method::GET, "/audit")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let event = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "tenant.token_dry_run")
        .expect("the dry-run is audited");
    assert_eq!(event["tenant_id"], TENANT);
    assert!(
        !event.to_string().contains(&token),
        "the token is not in the audit log"
    );
}

#[tokio::test]
async fn a_tampered_token_fails_at_its_signature() {
    let app = spawn_app().await;
    let token = app.idp.token("alice");
    let (head, rest) = token.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let claims = app.idp.claims("mallory");
    let payload = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        claims.to_string(),
    );
    let tampered = format!("{head}.{payload}.{signature}");
    assert_refused_by(&dry_run(&app, TENANT, &tampered).await, "signature");
}

#[tokio::test]
async fn an_expired_token_fails_at_its_times() {
    let app = spawn_app().await;
    let mut claims = app.idp.claims("alice");
    let now = chrono::Utc::now().timestamp();
    claims["iat"] = json!(now - 7200);
    claims["nbf"] = json!(now - 7200);
    claims["exp"] = json!(now - 3600);
    let report = dry_run(&app, TENANT, &app.idp.token_with(claims)).await;
    assert_refused_by(&report, "times");
    assert!(report.get("subject").is_none(), "{report}");
}

#[tokio::test]
async fn a_token_of_another_idp_fails_at_its_signature_before_its_issuer() {
    let app = spawn_app().await;
    let stranger = acs_auth_providers::testing::TestIssuer::start().await;
    // The other IdP names a `kid` this tenant's key set also has (both test IdPs call their key
    // `test-key-1`), but signed with its own key: the signature refuses it, and the issuer
    // check, which would refuse it too, never runs.
    let report = dry_run(&app, TENANT, &stranger.token("alice")).await;
    assert_refused_by(&report, "signature");
}

#[tokio::test]
async fn a_missing_scope_is_reported_by_the_policy_checks() {
    let app = spawn_app_with(|s, _| {
        s.tenants[0].access.required_scopes = vec!["calls.make".into()];
    })
    .await;
    let report = dry_run(&app, TENANT, &app.idp.token("alice")).await;
    assert_eq!(report["valid"], false);
    assert_eq!(report["subject"], "alice", "the token itself verified");
    let scopes = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "required_scopes")
        .unwrap();
    assert_eq!(scopes["ok"], false);
    assert!(
        scopes["detail"].as_str().unwrap().contains("calls.make"),
        "{scopes}"
    );
    let roles = report["checks"].as_array().unwrap().last().unwrap();
    assert_eq!(
        (&roles["name"], &roles["ran"], &roles["ok"]),
        (&json!("required_roles"), &json!(true), &json!(true))
    );
}

#[tokio::test]
async fn an_unknown_tenant_and_a_missing_token_are_refused() {
    let app = spawn_app().await;
    let resp = app
        .admin(Method::POST, "/tenants/nope/verifyToken")
        .json(&json!({"token": app.idp.token("alice")}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 404, "tenant_not_found").await;
    let resp = app
        .admin(Method::POST, &format!("/tenants/{TENANT}/verifyToken"))
        .json(&json!({"token": ""}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(resp, 400, "invalid_body").await;
    assert_eq!(problem["errors"][0]["field"], "token", "{problem}");
}
