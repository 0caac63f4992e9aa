//! The committed spec is the generated one; the served spec and Swagger UI are up.

#[tokio::test]
async fn committed_openapi_spec_matches_the_code() {
    let generated = acs_auth::startup::spec_json().await.unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    if committed != generated {
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(path, &generated).unwrap();
        } else {
            panic!(
                "openapi/openapi.json is out of date: run `cargo run -- openapi --output openapi/openapi.json` \
                 (or this test with UPDATE_OPENAPI=1) and commit the result"
            );
        }
    }
}

#[tokio::test]
async fn spec_names_the_core_operations_and_problem_responses() {
    let spec: serde_json::Value =
        serde_json::from_str(&acs_auth::startup::spec_json().await.unwrap()).unwrap();
    let get_token = &spec["paths"]["/tenants/{tenant}/getToken"]["post"];
    assert_eq!(get_token["operationId"], "getToken");
    for status in [
        "200", "201", "400", "401", "403", "404", "502", "503", "504",
    ] {
        assert!(
            get_token["responses"][status].is_object(),
            "getToken documents {status}"
        );
    }
    assert!(get_token["responses"]["401"]["content"]["application/problem+json"].is_object());
    assert_eq!(
        spec["paths"]["/tenants/{tenant}/deleteUser"]["delete"]["operationId"],
        "deleteUser"
    );
    assert_eq!(
        spec["paths"]["/tenants/{tenant}/user"]["get"]["operationId"],
        "getUser"
    );
    assert_eq!(
        spec["components"]["securitySchemes"]["BearerAuth"]["scheme"],
        "bearer"
    );
}

#[tokio::test]
async fn served_spec_swagger_ui_and_probes_answer() {
    let app = crate::helpers::spawn_app().await;
    let spec: serde_json::Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(spec["info"]["title"], "acs-auth");
    let docs = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(docs.status().as_u16(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let ready: serde_json::Value = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ok");
    let missing = app.client.get(app.url("/nope")).send().await.unwrap();
    crate::helpers::assert_problem(missing, 404, "not_found").await;
}

async fn spec() -> serde_json::Value {
    serde_json::from_str(&acs_auth::startup::spec_json().await.unwrap()).unwrap()
}

fn walk<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a serde_json::Value>) {
    out.push(v);
    match v {
        serde_json::Value::Object(o) => o.values().for_each(|v| walk(v, out)),
        serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn spec_reads_well_for_sdk_generators() {
    let spec = spec().await;
    assert_eq!(spec["tags"][0]["name"], "Tokens", "Tokens come first");
    assert_eq!(spec["servers"][0]["url"], "/");
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    let mut nodes = Vec::new();
    walk(&spec["components"], &mut nodes);
    assert!(
        nodes
            .iter()
            .all(|n| n.get("allOf").is_none() && n.get("anyOf").is_none()),
        "no allOf/anyOf wrappers"
    );
    assert!(
        schemas.keys().all(|k| !k.contains('_')),
        "no wrapper schemas: {:?}",
        schemas.keys()
    );
    let provider = &schemas["ProviderBody"];
    assert_eq!(provider["discriminator"]["propertyName"], "kind");
    assert_eq!(provider["oneOf"].as_array().unwrap().len(), 3);
    for variant in ["OidcProviderBody", "AadProviderBody", "AadB2cProviderBody"] {
        assert_eq!(schemas[variant]["additionalProperties"], false, "{variant}");
        assert!(
            schemas[variant]["properties"]["kind"]["enum"].is_array(),
            "{variant}"
        );
    }
    for body in [
        "GetTokenRequest",
        "ExchangeTokenRequest",
        "TenantBody",
        "TokensBody",
        "AccessBody",
        "AcsBody",
    ] {
        assert_eq!(
            schemas[body]["additionalProperties"], false,
            "{body} is closed"
        );
    }
    assert_eq!(
        schemas["Problem"]["properties"]["code"]["$ref"],
        "#/components/schemas/ProblemCode"
    );
    let codes: Vec<&str> = schemas["ProblemCode"]["enum"]
        .as_array()
        .expect("Problem.code is an enum")
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for code in acs_auth::api::problem::ProblemCode::ALL {
        assert!(codes.contains(&code.as_str()), "{code} listed");
    }
    let scopes = &schemas["GetTokenRequest"]["properties"]["scopes"];
    assert_eq!(scopes["minItems"], 1);
    assert_eq!(scopes["items"]["$ref"], "#/components/schemas/AcsScope");
    assert_eq!(
        schemas["AcsScope"]["enum"],
        serde_json::json!([
            "chat",
            "voip",
            "chat.join",
            "chat.join.limited",
            "voip.join"
        ])
    );
    for stamp in nodes
        .iter()
        .filter(|n| n.get("format").and_then(|f| f.as_str()) == Some("date-time"))
    {
        assert!(
            stamp.get("pattern").is_some(),
            "one timestamp form: {stamp}"
        );
    }
}

#[tokio::test]
async fn every_request_body_has_an_example_the_schema_accepts() {
    let spec = spec().await;
    let schemas = acs_auth::api::body::BodySchemas::from_spec(&spec).unwrap();
    let mut seen = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(media) = op.pointer("/requestBody/content/application~1json") else {
                continue;
            };
            let name = media["schema"]["$ref"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap();
            let example = &spec["components"]["schemas"][name]["example"];
            assert!(
                example.is_object(),
                "{method} {path}: {name} has an example"
            );
            assert_eq!(
                schemas.check(name, example),
                [],
                "{name}'s example conforms"
            );
            seen += 1;
        }
    }
    assert!(seen >= 4, "request bodies found: {seen}");
}

#[tokio::test]
async fn operations_list_only_the_errors_they_can_return() {
    let spec = spec().await;
    let statuses = |path: &str, method: &str| -> Vec<String> {
        spec["paths"][path][method]["responses"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    for (path, method) in [("/admin/tenants", "get"), ("/admin/audit", "get")] {
        let listed = statuses(path, method);
        for impossible in ["404", "409", "413", "415"] {
            assert!(
                !listed.contains(&impossible.to_owned()),
                "{method} {path} lists {impossible}"
            );
        }
    }
    let create = statuses("/admin/tenants", "post");
    assert!(!create.contains(&"404".to_owned()), "create lists 404");
    assert!(create.contains(&"409".to_owned()) && create.contains(&"415".to_owned()));
    let enable = statuses("/admin/tenants/{id}/enable", "post");
    assert!(!enable.contains(&"413".to_owned()) && !enable.contains(&"415".to_owned()));
}

#[tokio::test]
async fn swagger_ui_is_served_with_the_refined_spec() {
    let app = crate::helpers::spawn_app().await;
    let html = app
        .client
        .get(app.url("/docs"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("\"additionalProperties\": false"),
        "the refined spec is embedded"
    );
    let slash = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(slash.status().as_u16(), 200);
}

#[test]
fn docs_list_every_problem_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api.md");
    let docs = std::fs::read_to_string(path).unwrap();
    for code in acs_auth::api::problem::ProblemCode::ALL {
        assert!(
            docs.contains(&format!("| `{code}` |")),
            "docs/api.md lists `{code}`"
        );
    }
}

#[tokio::test]
async fn the_tenant_id_pattern_of_the_spec_is_the_domain_rule() {
    let spec = spec().await;
    let schemas = acs_auth::api::body::BodySchemas::from_spec(&spec).unwrap();
    let ids = [
        "a", "0", "acme", "a-b", "a--", "9x", "-a", "", "Acme", "a_b", "a b", "é",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain(["a".repeat(64), "a".repeat(65)]);
    for id in ids {
        let body = serde_json::json!({"id": id, "provider": {"kind": "oidc",
            "issuer": "https://login.example.com", "audiences": ["api://x"]}});
        let refused = schemas
            .check("TenantBody", &body)
            .iter()
            .any(|e| e.field == "id");
        assert_eq!(
            !refused,
            acs_auth::domain::TenantId::parse(&id).is_ok(),
            "{id:?}"
        );
    }
    // A setup link may name a tenant that does not exist yet: its path states the same rule.
    let body_pattern = &spec["components"]["schemas"]["TenantBody"]["properties"]["id"]["pattern"];
    let parameters = &spec["paths"]["/admin/tenants/{id}/setupLinks"]["post"]["parameters"];
    let id = parameters
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "id")
        .unwrap();
    assert_eq!(&id["schema"]["pattern"], body_pattern, "{id}");
}
