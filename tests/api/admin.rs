//! The admin API: onboarding, changes, removal, checks, mappings, erasure and the audit log.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TENANT, TestApp, assert_problem, spawn_app, spawn_app_with, start_emulator};

fn oidc_body(id: &str, app: &TestApp) -> Value {
    json!({
        "id": id,
        "display_name": format!("Tenant {id}"),
        "provider": {
            "kind": "oidc",
            "issuer": app.idp.issuer(),
            "audiences": [app.idp.audience()],
            "allow_http": true, "allow_private_network": true,
        },
        "tokens": {"scopes": ["chat"], "lifetime_minutes": 60},
    })
}

async fn create(app: &TestApp, body: Value) -> reqwest::Response {
    app.admin(Method::POST, "/tenants")
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn admin_api_refuses_missing_and_wrong_keys() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(app.url("/admin/tenants"))
        .send()
        .await
        .unwrap();
    let www = resp.headers().get("www-authenticate").cloned().unwrap();
    assert!(www.to_str().unwrap().contains("X-Admin-Key"));
    assert_problem(resp, 401, "admin_key_required").await;

    let resp = app
        .client
        .get(app.url("/admin/tenants"))
        .header("x-admin-key", "not-the-key")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401, "admin_key_invalid").await;

    // A user's bearer token is no admin key.
    let resp = app
        .client
        .get(app.url("/admin/tenants"))
        .bearer_auth(app.idp.token("alice"))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401, "admin_key_required").await;
}

#[tokio::test]
async fn admin_api_is_disabled_without_configured_keys_whether_or_not_a_key_is_sent() {
    let app = spawn_app_with(|s, _| s.admin.key_hashes.clear()).await;
    let resp = app.admin(Method::GET, "/tenants").send().await.unwrap();
    let problem = assert_problem(resp, 403, "admin_disabled").await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("admin.key_hashes") && detail.contains("--admin-key-hash"),
        "{detail}"
    );
    let resp = app
        .client
        .get(app.url("/admin/tenants"))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 403, "admin_disabled").await;
}

#[tokio::test]
async fn onboarded_tenant_serves_tokens_without_a_restart() {
    let app = spawn_app().await;
    let resp = create(&app, oidc_body("globex", &app)).await;
    assert_eq!(resp.status().as_u16(), 201);
    let view: Value = resp.json().await.unwrap();
    assert_eq!(view["id"], "globex");
    assert_eq!(view["source"], "database");
    assert_eq!(view["active"], true);
    assert_eq!(view["provider"]["kind"], "oidc");

    let resp = app
        .post_get_token("globex", &app.idp.token("alice"), None)
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    let body: Value = resp.json().await.unwrap();
    let info = app
        .emulator
        .emulator()
        .verify_access_token(body["token"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        info.scopes,
        vec!["chat".to_owned()],
        "the tenant's own token policy"
    );
}

#[tokio::test]
async fn another_replica_notices_a_new_tenant_within_the_poll_interval() {
    let app = spawn_app().await;
    let (replica, _server) = app.spawn_replica().await;
    let token = app.idp.token("alice");
    let url = format!("{replica}/tenants/globex/getToken");
    let before = app
        .client
        .post(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(before.status().as_u16(), 404);

    assert_eq!(
        create(&app, oidc_body("globex", &app))
            .await
            .status()
            .as_u16(),
        201
    );
    let started = std::time::Instant::now();
    loop {
        let resp = app
            .client
            .post(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        if resp.status().is_success() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the replica never saw the tenant"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn invalid_tenants_are_refused_with_the_field_named() {
    let app = spawn_app().await;
    let mut body = oidc_body("globex", &app);
    body["provider"]["allow_http"] = json!(false);
    let problem = assert_problem(create(&app, body).await, 400, "invalid_tenant").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("provider.issuer"),
        "{problem}"
    );

    let mut body = oidc_body("Bad Id", &app);
    body["id"] = json!("Bad Id");
    let problem = assert_problem(create(&app, body).await, 400, "invalid_tenant").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("`id`"),
        "{problem}"
    );

    let mut body = oidc_body("globex", &app);
    body["tokens"]["lifetime_minutes"] = json!(5);
    // The schema's bounds catch it before the settings' own check; either way the field is named.
    let problem = assert_problem(create(&app, body).await, 400, "invalid_tenant").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("lifetime_minutes"),
        "{problem}"
    );

    let mut body = oidc_body("globex", &app);
    body["tokens"]["scopes"] = json!(["chat", "video"]);
    let problem = assert_problem(create(&app, body).await, 400, "invalid_tenant").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("tokens.scopes"),
        "{problem}"
    );

    let mut body = oidc_body("globex", &app);
    body["provider"] = json!({"kind": "saml"});
    assert_problem(create(&app, body).await, 400, "invalid_tenant").await;

    let resp = app
        .admin(Method::GET, "/tenants/globex")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 404, "tenant_not_found").await;
}

#[tokio::test]
async fn duplicates_and_config_file_tenants_are_conflicts() {
    let app = spawn_app().await;
    assert_eq!(
        create(&app, oidc_body("globex", &app))
            .await
            .status()
            .as_u16(),
        201
    );
    assert_problem(
        create(&app, oidc_body("globex", &app)).await,
        409,
        "tenant_exists",
    )
    .await;
    // `acme` comes from the configuration file: readable, not writable.
    assert_problem(
        create(&app, oidc_body(TENANT, &app)).await,
        409,
        "tenant_managed_by_config",
    )
    .await;
    let resp = app
        .admin(Method::POST, "/tenants/acme/disable")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 409, "tenant_managed_by_config").await;
    let view: Value = app.admin_json(Method::GET, "/tenants/acme").await;
    assert_eq!(view["source"], "file");
}

#[tokio::test]
async fn tenants_are_listed_in_pages() {
    let app = spawn_app().await;
    for id in ["t-a", "t-b", "t-c"] {
        assert_eq!(
            create(&app, oidc_body(id, &app)).await.status().as_u16(),
            201
        );
    }
    let first: Value = app.admin_json(Method::GET, "/tenants?limit=2").await;
    let ids: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["acme", "t-a"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value = app
        .admin_json(Method::GET, &format!("/tenants?limit=2&cursor={cursor}"))
        .await;
    let ids: Vec<&str> = second["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["t-b", "t-c"]);
    assert!(second["next_cursor"].is_null());

    let resp = app
        .admin(Method::GET, "/tenants?limit=0")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400, "invalid_parameter").await;
}

#[tokio::test]
async fn disabled_tenant_is_refused_and_enabling_restores_it() {
    let app = spawn_app().await;
    create(&app, oidc_body("globex", &app)).await;
    let token = app.idp.token("alice");
    assert_eq!(
        app.post_get_token("globex", &token, None)
            .await
            .status()
            .as_u16(),
        201
    );

    let resp = app
        .admin(Method::POST, "/tenants/globex/disable")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_problem(
        app.post_get_token("globex", &token, None).await,
        403,
        "tenant_disabled",
    )
    .await;

    app.admin(Method::POST, "/tenants/globex/enable")
        .send()
        .await
        .unwrap();
    assert_eq!(
        app.post_get_token("globex", &token, None)
            .await
            .status()
            .as_u16(),
        200
    );
}

#[tokio::test]
async fn updating_a_tenant_changes_its_policy_at_once() {
    let app = spawn_app().await;
    create(&app, oidc_body("globex", &app)).await;
    let mut body = oidc_body("globex", &app);
    body["access"] = json!({"required_scopes": ["acs.token"]});
    let resp = app
        .admin(Method::PUT, "/tenants/globex")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let resp = app
        .post_get_token("globex", &app.idp.token("alice"), None)
        .await;
    assert_problem(resp, 403, "insufficient_scope").await;
}

#[tokio::test]
async fn deleting_a_tenant_deletes_its_identities() {
    let app = spawn_app().await;
    create(&app, oidc_body("globex", &app)).await;
    let mut ids = Vec::new();
    for user in ["alice", "bob"] {
        let body: Value = app
            .post_get_token("globex", &app.idp.token(user), None)
            .await
            .json()
            .await
            .unwrap();
        ids.push(
            body["user"]["communicationUserId"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let resp = app
        .admin(Method::DELETE, "/tenants/globex")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["identities"], 2);
    assert_eq!(body["confirmed"], 2);
    for id in &ids {
        assert!(!app.emulator.emulator().identity_exists(id));
    }
    assert!(
        app.state
            .store
            .mappings_of_tenant("globex")
            .await
            .unwrap()
            .is_empty()
    );
    assert_problem(
        app.post_get_token("globex", &app.idp.token("alice"), None)
            .await,
        404,
        "tenant_not_found",
    )
    .await;
}

#[tokio::test]
async fn check_reports_each_step_without_issuing_anything() {
    let app = spawn_app().await;
    let report: Value = app.admin_json(Method::POST, "/tenants/acme/check").await;
    assert_eq!(report["ok"], true, "{report}");
    let names: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["discovery reachable", "issuer matches", "keys usable"]
    );
    assert!(app.mappings().await.is_empty());

    app.idp.set_available(false);
    let report: Value = app.admin_json(Method::POST, "/tenants/acme/check").await;
    assert_eq!(report["ok"], false);
    assert_eq!(report["checks"][0]["ok"], false);
}

#[tokio::test]
async fn mappings_are_listed_looked_up_and_erased() {
    let app = spawn_app().await;
    for user in ["alice", "bob", "carol"] {
        app.get_token(&app.idp.token(user)).await;
    }
    let page: Value = app
        .admin_json(Method::GET, "/tenants/acme/mappings?limit=2")
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest: Value = app
        .admin_json(
            Method::GET,
            &format!("/tenants/acme/mappings?cursor={cursor}"),
        )
        .await;
    assert_eq!(rest["items"][0]["subject"], "carol");

    let bob: Value = app
        .admin_json(Method::GET, "/tenants/acme/mappings/bob")
        .await;
    let bob_id = bob[0]["communication_user_id"].as_str().unwrap().to_owned();

    let resp = app
        .admin(Method::DELETE, "/tenants/acme/mappings/bob")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    assert!(!app.emulator.emulator().identity_exists(&bob_id));
    let resp = app
        .admin(Method::GET, "/tenants/acme/mappings/bob")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 404, "subject_not_found").await;
    assert_eq!(app.mappings().await.len(), 2);
    // Bob's next sign-in gets a fresh identity, not a cached token of the erased one.
    let again = app.get_token(&app.idp.token("bob")).await;
    assert_eq!(again.status().as_u16(), 201);
}

#[tokio::test]
async fn erasure_with_acs_down_is_accepted_and_queued() {
    let app = spawn_app().await;
    app.get_token(&app.idp.token("bob")).await;
    app.set_acs_failing(true);
    let resp = app
        .admin(Method::DELETE, "/tenants/acme/mappings/bob")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    assert!(app.mappings().await.is_empty());
    assert_eq!(app.state.store.pending_deletions().await.unwrap().len(), 1);
}

#[tokio::test]
async fn audit_log_records_who_did_what_and_filters() {
    let app = spawn_app().await;
    let user = app.idp.token("alice");
    app.get_token(&user).await;
    create(&app, oidc_body("globex", &app)).await;
    app.delete_user(&user).await;
    app.state.audit.flush().await;

    let all: Value = app.admin_json(Method::GET, "/audit").await;
    let actions: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in [
        "identity.created",
        "identity.deleted",
        "tenant.created",
        "admin.key_used",
        "tokens.issued",
    ] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    let created = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "identity.created")
        .unwrap();
    assert_eq!(created["actor"], "user:alice");
    assert_eq!(created["tenant_id"], "acme");
    assert!(created["request_id"].is_string());
    let tenant_created = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "tenant.created")
        .unwrap();
    assert!(
        tenant_created["actor"]
            .as_str()
            .unwrap()
            .starts_with("admin:")
    );

    let acme: Value = app
        .admin_json(Method::GET, "/audit?tenant=acme&limit=1")
        .await;
    assert_eq!(acme["items"].as_array().unwrap().len(), 1);
    assert_eq!(acme["items"][0]["tenant_id"], "acme");
    assert!(acme["next_cursor"].is_string());

    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let none: Value = app
        .admin(Method::GET, "/audit")
        .query(&[("since", future)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(none["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_tenant_with_its_own_acs_resource_creates_identities_there() {
    let app = spawn_app().await;
    let own = start_emulator().await;
    let mut body = oidc_body("globex", &app);
    body["acs"] = json!({"connection_string": own.connection_string()});
    let resp = create(&app, body).await;
    assert_eq!(resp.status().as_u16(), 201);
    let view: Value = resp.json().await.unwrap();
    assert!(
        view["acs"]["endpoint"]
            .as_str()
            .unwrap()
            .contains(&own.http_addr.port().to_string())
    );
    assert!(
        view["acs"].get("connection_string").is_none(),
        "secrets are write-only: {view}"
    );
    assert!(!view.to_string().contains("accesskey"));

    let body: Value = app
        .post_get_token("globex", &app.idp.token("alice"), None)
        .await
        .json()
        .await
        .unwrap();
    let id = body["user"]["communicationUserId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(own.emulator().identity_exists(&id));
    assert!(!app.emulator.emulator().identity_exists(&id));

    // Moving the tenant to another resource never orphans the identities of the old one.
    let newer = start_emulator().await;
    let mut moved = oidc_body("globex", &app);
    moved["acs"] = json!({"connection_string": newer.connection_string()});
    let resp = app
        .admin(Method::PUT, "/tenants/globex")
        .json(&moved)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let again = app
        .post_get_token(
            "globex",
            &app.idp.token("alice"),
            Some(json!({"scopes": ["chat"], "expiresInMinutes": 90})),
        )
        .await;
    assert_eq!(
        again.status().as_u16(),
        200,
        "alice keeps her identity in the old resource"
    );
    let bob: Value = app
        .post_get_token("globex", &app.idp.token("bob"), None)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        newer
            .emulator()
            .identity_exists(bob["user"]["communicationUserId"].as_str().unwrap())
    );
    // And deleting alice reaches the old resource.
    let resp = app
        .client
        .delete(app.url("/tenants/globex/deleteUser"))
        .bearer_auth(app.idp.token("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    assert!(!own.emulator().identity_exists(&id));
}

#[tokio::test]
async fn the_secondary_access_key_takes_over_when_the_primary_is_refused() {
    let app = spawn_app().await;
    let own = start_emulator().await;
    let real = own.connection_string();
    let key = real
        .split("accesskey=")
        .nth(1)
        .unwrap()
        .trim_end_matches(';')
        .to_owned();
    let wrong = real.replace(&key, "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk=");
    let mut body = oidc_body("globex", &app);
    body["acs"] = json!({"connection_string": wrong, "secondary_access_key": key});
    assert_eq!(create(&app, body).await.status().as_u16(), 201);
    let resp = app
        .post_get_token("globex", &app.idp.token("alice"), None)
        .await;
    assert_eq!(resp.status().as_u16(), 201);
}

#[tokio::test]
async fn a_tenant_acs_resource_with_an_entra_credential_is_stored_without_its_secret() {
    let app = spawn_app().await;
    let mut body = oidc_body("initech", &app);
    body["acs"] = json!({
        "endpoint": "https://initech.communication.azure.com/",
        "entra": {
            "credential": "client_secret",
            "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "client_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
            "client_secret": "s3cr3t-entra-value"
        }
    });
    let resp = create(&app, body).await;
    assert_eq!(resp.status().as_u16(), 201);
    let view: Value = resp.json().await.unwrap();
    assert_eq!(
        view["acs"]["endpoint"],
        "https://initech.communication.azure.com"
    );
    assert_eq!(view["acs"]["entra"]["credential"], "client_secret");
    assert_eq!(view["acs"]["entra"]["has_client_secret"], true);
    assert!(
        !view.to_string().contains("s3cr3t-entra-value"),
        "the client secret is write-only: {view}"
    );
    let got: Value = app.admin_json(Method::GET, "/tenants/initech").await;
    assert_eq!(got["acs"], view["acs"]);
    assert!(!got.to_string().contains("s3cr3t-entra-value"));
}

#[tokio::test]
async fn entra_credentials_that_do_not_fit_are_refused_with_the_field_named() {
    let app = spawn_app().await;
    let secret = json!({
        "credential": "client_secret",
        "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "client_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "client_secret": "x"
    });
    let mut unused = secret.clone();
    unused["object_id"] = json!("a3b1c2d4-0000-0000-0000-000000000000");
    let mut missing = secret.clone();
    missing.as_object_mut().unwrap().remove("client_secret");
    let cases = [
        (
            json!({"endpoint": "https://x.communication.azure.com/", "entra": unused}),
            "acs.entra.object_id",
        ),
        (
            json!({"endpoint": "https://x.communication.azure.com/", "entra": missing}),
            "acs.entra.client_secret",
        ),
        (
            json!({"connection_string": app.emulator.connection_string(),
                   "endpoint": "https://x.communication.azure.com/", "entra": secret.clone()}),
            "acs.endpoint",
        ),
        (json!({"entra": secret}), "acs.endpoint"),
        (
            json!({"endpoint": "https://x.communication.azure.com/"}),
            "acs.entra",
        ),
    ];
    for (acs, key) in cases {
        let mut body = oidc_body("initech", &app);
        body["acs"] = acs.clone();
        let resp = create(&app, body).await;
        assert_eq!(resp.status().as_u16(), 400, "{acs}");
        let problem: Value = resp.json().await.unwrap();
        assert_eq!(problem["code"], "invalid_tenant", "{acs}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.starts_with(&format!("`{key}`")), "{acs}: {detail}");
    }
}
