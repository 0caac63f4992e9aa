//! Request bodies are held to the served schema: every 400 names the field in the API's own
//! spelling and the rule it breaks, in `detail` and in `errors`; no parser text reaches a
//! client; every timestamp has one form.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TENANT, TestApp, assert_problem, spawn_app};

/// The `errors` of a 400 as `(field, message)` pairs, after checking the problem's shape.
async fn field_errors(resp: reqwest::Response, code: &str) -> Vec<(String, String)> {
    let problem = assert_problem(resp, 400, code).await;
    let detail = problem["detail"].as_str().unwrap_or_default().to_owned();
    for framework in [
        "failed to parse",
        "occurred while parsing",
        "verification failed",
    ] {
        assert!(!detail.contains(framework), "parser text in {problem}");
    }
    let errors: Vec<(String, String)> = problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no `errors` in {problem}"))
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (field, message) in &errors {
        assert!(
            detail.contains(&format!("`{field}`: {message}")),
            "{field} is named in the detail: {problem}"
        );
    }
    errors
}

async fn get_token(app: &TestApp, body: Value) -> reqwest::Response {
    app.post_get_token(TENANT, &app.idp.token("alice"), Some(body))
        .await
}

#[tokio::test]
async fn a_misspelt_property_is_refused_and_the_known_one_suggested() {
    let app = spawn_app().await;
    let errors = field_errors(
        get_token(&app, json!({"scope": ["chat"]})).await,
        "invalid_body",
    )
    .await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "scope");
    assert!(errors[0].1.contains("did you mean `scopes`?"), "{errors:?}");
    assert!(app.mappings().await.is_empty(), "nothing was created");
}

#[tokio::test]
async fn a_lifetime_below_the_minimum_names_the_field_and_the_bound() {
    let app = spawn_app().await;
    let errors = field_errors(
        get_token(&app, json!({"expiresInMinutes": 30})).await,
        "invalid_body",
    )
    .await;
    assert_eq!(
        errors,
        [(
            "expiresInMinutes".to_owned(),
            "30 is below the minimum of 60".to_owned()
        )]
    );
}

#[tokio::test]
async fn scopes_must_be_a_non_empty_list_of_acs_scopes() {
    let app = spawn_app().await;
    let errors = field_errors(get_token(&app, json!({"scopes": []})).await, "invalid_body").await;
    assert_eq!(
        errors,
        [("scopes".to_owned(), "must have at least 1 item".to_owned())]
    );

    let errors = field_errors(
        get_token(&app, json!({"scopes": ["chat", "video"]})).await,
        "invalid_body",
    )
    .await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "scopes[1]");
    assert!(
        errors[0]
            .1
            .starts_with("\"video\" is not one of `chat`, `voip`"),
        "{errors:?}"
    );

    let errors = field_errors(
        get_token(&app, json!({"scopes": null})).await,
        "invalid_body",
    )
    .await;
    assert_eq!(
        errors,
        [(
            "scopes".to_owned(),
            "must not be null; leave it out instead".to_owned()
        )]
    );

    let errors = field_errors(
        get_token(&app, json!({"scopes": "chat"})).await,
        "invalid_body",
    )
    .await;
    assert_eq!(
        errors,
        [(
            "scopes".to_owned(),
            "must be an array (got a string)".to_owned()
        )]
    );
}

#[tokio::test]
async fn every_broken_rule_of_a_body_is_listed() {
    let app = spawn_app().await;
    let errors = field_errors(
        get_token(
            &app,
            json!({"expiresInMinutes": 5000, "scopes": ["chat", "chat"], "x": 1}),
        )
        .await,
        "invalid_body",
    )
    .await;
    let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
    for field in ["expiresInMinutes", "scopes", "x"] {
        assert!(fields.contains(&field), "{field} in {errors:?}");
    }
}

#[tokio::test]
async fn tenant_bodies_name_nested_fields_in_the_configuration_spelling() {
    let app = spawn_app().await;
    let create = |body: Value| {
        let request = app.admin(Method::POST, "/tenants").json(&body);
        async move { request.send().await.unwrap() }
    };
    let provider = json!({"kind": "oidc", "audiences": ["api://x"]});
    let errors = field_errors(
        create(json!({"id": "globex", "provider": provider})).await,
        "invalid_tenant",
    )
    .await;
    assert_eq!(
        errors,
        [("provider.issuer".to_owned(), "is required".to_owned())]
    );

    let errors = field_errors(
        create(json!({"id": "globex", "provider": {"kind": "saml"}})).await,
        "invalid_tenant",
    )
    .await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "provider.kind");
    assert!(
        errors[0].1.contains("`aad`, `aad_b2c`, `oidc`"),
        "{errors:?}"
    );

    let aad = json!({"kind": "aad", "directory": "organizations", "client_id": "c",
        "allow_any_directory": true, "token_versions": [3]});
    let errors = field_errors(
        create(json!({"id": "globex", "provider": aad})).await,
        "invalid_tenant",
    )
    .await;
    assert_eq!(
        errors,
        [(
            "provider.token_versions[0]".to_owned(),
            "3 is above the maximum of 2".to_owned()
        )]
    );

    let body = json!({"id": "Bad Id", "provider": {"kind": "oidc", "issuer": "https://i.example",
        "audiences": ["a"], "allow_htp": true}, "tokens": {"lifetime_minutes": 5}});
    let errors = field_errors(create(body).await, "invalid_tenant").await;
    let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
    assert!(fields.contains(&"id"), "{errors:?}");
    assert!(fields.contains(&"tokens.lifetime_minutes"), "{errors:?}");
    let typo = errors
        .iter()
        .find(|(f, _)| f == "provider.allow_htp")
        .unwrap();
    assert!(typo.1.contains("did you mean `allow_http`?"), "{errors:?}");
}

#[tokio::test]
async fn every_timestamp_is_rfc3339_utc_to_the_second() {
    let app = spawn_app().await;
    let bearer = app.idp.token("alice");
    let token: Value = app
        .post_get_token(TENANT, &bearer, None)
        .await
        .json()
        .await
        .unwrap();
    let user: Value = app
        .client
        .get(app.url(&format!("/tenants/{TENANT}/user")))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mappings: Value = app
        .admin(Method::GET, &format!("/tenants/{TENANT}/mappings"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let audit: Value = app
        .admin(Method::GET, "/audit")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stamps = [
        &token["expiresOn"],
        &user["createdAt"],
        &mappings["items"][0]["created_at"],
        &mappings["items"][0]["last_used_at"],
        &audit["items"][0]["at"],
    ];
    for stamp in stamps {
        let s = stamp
            .as_str()
            .unwrap_or_else(|| panic!("not a string: {stamp}"));
        assert_eq!(s.len(), 20, "{s}");
        assert!(s.ends_with('Z') && s.as_bytes()[10] == b'T', "{s}");
        chrono::DateTime::parse_from_rfc3339(s).unwrap();
    }
}

#[tokio::test]
async fn a_parameter_that_breaks_its_rule_is_named_with_the_rule() {
    let app = spawn_app().await;
    for (path, field, message) in [
        (
            "/tenants?limit=0",
            "limit",
            "must be an integer from 1 to 500",
        ),
        (
            "/tenants?limit=many",
            "limit",
            "must be an integer from 1 to 500",
        ),
        (
            "/audit?since=yesterday",
            "since",
            "must be an RFC 3339 date-time, e.g. `2026-12-01T10:00:00Z`",
        ),
        (
            "/audit?cursor=forged",
            "cursor",
            "is not one this API handed out",
        ),
    ] {
        let resp = app.admin(Method::GET, path).send().await.unwrap();
        let errors = field_errors(resp, "invalid_parameter").await;
        assert_eq!(errors, [(field.to_owned(), message.to_owned())], "{path}");
    }
}
