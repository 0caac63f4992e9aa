//! The served OpenAPI document: poem-openapi's, refined into the shape SDK generators and
//! Swagger UI read best, and strict enough that the server can validate request bodies against
//! it ([`super::body`]): what the document accepts is what the server accepts.
//!
//! The refinements:
//! - `servers` names the serving host (`/`), so generated clients and Swagger UI's Try it out
//!   call the server the document came from;
//! - tags in the order visitors look for them (Tokens first);
//! - a union on `kind` is a `oneOf` of its variants with a `discriminator`, each variant naming
//!   its own `kind` (no `allOf` wrappers, so generators name the variants after their types);
//! - a property that only refers to a schema is a plain `$ref` (no `allOf` wrapper);
//! - every object a request body can contain has `additionalProperties: false`: an unknown
//!   property (a typo such as `scope`) is a 400 naming it, never silently ignored.

use serde_json::{Map, Value, json};

/// The order of the spec's tags; a tag not listed keeps its place after these.
const TAG_ORDER: &[&str] = &["Tokens", "Tokens (seed-compatible)", "Admin", "Health"];

const SCHEMA_PREFIX: &str = "#/components/schemas/";

/// The refined document of poem-openapi's `spec` output.
pub fn refine(raw: &str) -> Result<Value, serde_json::Error> {
    let mut spec: Value = serde_json::from_str(raw)?;
    spec["servers"] = json!([{ "url": "/", "description": "The server this document came from" }]);
    order_tags(&mut spec);
    if let Some(schemas) = spec
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        flatten_unions(schemas);
        for schema in schemas.values_mut() {
            unwrap_single_refs(schema);
        }
    }
    let closed = request_schemas(&spec);
    if let Some(schemas) = spec
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for name in &closed {
            if let Some(schema) = schemas.get_mut(name) {
                close_object(schema);
            }
        }
    }
    Ok(spec)
}

/// The document as it is served and committed (openapi/openapi.json): pretty JSON.
pub fn to_pretty_json(document: &Value) -> String {
    serde_json::to_string_pretty(document).unwrap_or_else(|_| "{}".to_owned())
}

/// The names of the schemas request bodies refer to directly.
pub fn request_body_schemas(spec: &Value) -> Vec<String> {
    let mut names = Vec::new();
    let operations = spec
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|paths| paths.values())
        .filter_map(Value::as_object)
        .flat_map(|item| item.values());
    for op in operations {
        let media = op
            .pointer("/requestBody/content")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|c| c.values());
        for m in media {
            if let Some(name) = m.pointer("/schema/$ref").and_then(ref_name)
                && !names.iter().any(|n| n == name)
            {
                names.push(name.to_owned());
            }
        }
    }
    names
}

fn ref_name(v: &Value) -> Option<&str> {
    v.as_str().and_then(|r| r.strip_prefix(SCHEMA_PREFIX))
}

fn order_tags(spec: &mut Value) {
    if let Some(tags) = spec.get_mut("tags").and_then(Value::as_array_mut) {
        let rank = |t: &Value| {
            let name = t.get("name").and_then(Value::as_str).unwrap_or_default();
            TAG_ORDER
                .iter()
                .position(|n| *n == name)
                .unwrap_or(TAG_ORDER.len())
        };
        tags.sort_by_key(rank);
    }
}

/// poem-openapi writes a union on `kind` as `anyOf` of wrappers `Union_Variant` =
/// `allOf: [{kind}, {$ref: Variant}]`; this makes it `oneOf: [{$ref: Variant}]` with the
/// discriminator, moves `kind` into each variant and drops the wrappers.
fn flatten_unions(schemas: &mut Map<String, Value>) {
    let unions: Vec<String> = schemas
        .iter()
        .filter(|(_, s)| s.get("discriminator").is_some())
        .map(|(name, _)| name.clone())
        .collect();
    for union in unions {
        let Some(schema) = schemas.get(&union) else {
            continue;
        };
        let Some(property) = schema
            .pointer("/discriminator/propertyName")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            continue;
        };
        let description = schema.get("description").cloned();
        let mapping: Vec<(String, String)> = schema
            .pointer("/discriminator/mapping")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.iter())
            .filter_map(|(k, v)| Some((k.clone(), ref_name(v)?.to_owned())))
            .collect();
        let mut one_of = Vec::new();
        let mut new_mapping = Map::new();
        for (value, wrapper) in mapping {
            let Some(variant) = schemas
                .get(&wrapper)
                .and_then(|w| w.get("allOf"))
                .and_then(Value::as_array)
                .and_then(|parts| parts.iter().find_map(|p| p.get("$ref").and_then(ref_name)))
                .map(str::to_owned)
            else {
                continue;
            };
            schemas.remove(&wrapper);
            if let Some(target) = schemas.get_mut(&variant).and_then(Value::as_object_mut) {
                let mut properties = Map::new();
                properties.insert(
                    property.clone(),
                    json!({ "type": "string", "enum": [value], "example": value }),
                );
                if let Some(old) = target.get("properties").and_then(Value::as_object) {
                    properties.extend(old.clone());
                }
                target.insert("properties".into(), Value::Object(properties));
                let mut required = vec![Value::String(property.clone())];
                if let Some(old) = target.get("required").and_then(Value::as_array) {
                    required.extend(old.iter().cloned());
                }
                target.insert("required".into(), Value::Array(required));
            }
            let reference = format!("{SCHEMA_PREFIX}{variant}");
            one_of.push(json!({ "$ref": reference }));
            new_mapping.insert(value, Value::String(reference));
        }
        let mut refined = Map::new();
        if let Some(d) = description {
            refined.insert("description".into(), d);
        }
        refined.insert("oneOf".into(), Value::Array(one_of));
        refined.insert(
            "discriminator".into(),
            json!({ "propertyName": property, "mapping": new_mapping }),
        );
        schemas.insert(union, Value::Object(refined));
    }
}

/// `allOf: [{$ref: X}, {description}]` (poem-openapi's way to describe a referring property)
/// becomes `$ref: X`.
fn unwrap_single_refs(schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    if let Some(parts) = obj.get("allOf").and_then(Value::as_array) {
        let refs: Vec<&Value> = parts.iter().filter_map(|p| p.get("$ref")).collect();
        let only_annotations = parts.iter().all(|p| {
            p.get("$ref").is_some()
                || p.as_object().is_some_and(|o| {
                    o.keys()
                        .all(|k| matches!(k.as_str(), "description" | "title" | "readOnly"))
                })
        });
        if refs.len() == 1 && only_annotations {
            let reference = refs[0].clone();
            obj.clear();
            obj.insert("$ref".into(), reference);
            return;
        }
    }
    if let Some(properties) = obj.get_mut("properties").and_then(Value::as_object_mut) {
        for p in properties.values_mut() {
            unwrap_single_refs(p);
        }
    }
    if let Some(items) = obj.get_mut("items") {
        unwrap_single_refs(items);
    }
}

/// Every component schema a request body can contain (following `$ref`s, `oneOf`s and items).
fn request_schemas(spec: &Value) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut todo = request_body_schemas(spec);
    while let Some(name) = todo.pop() {
        if seen.contains(&name) {
            continue;
        }
        if let Some(schema) = spec.pointer(&format!("/components/schemas/{name}")) {
            collect_refs(schema, &mut todo);
        }
        seen.push(name);
    }
    seen.sort();
    seen
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, v) in o {
                if k == "$ref" {
                    if let Some(name) = ref_name(v) {
                        out.push(name.to_owned());
                    }
                } else if k != "discriminator" {
                    collect_refs(v, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

fn close_object(schema: &mut Value) {
    if let Some(obj) = schema.as_object_mut()
        && obj.contains_key("properties")
    {
        obj.insert("additionalProperties".into(), Value::Bool(false));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> String {
        json!({
            "openapi": "3.0.0",
            "tags": [{"name": "Admin"}, {"name": "Health"}, {"name": "Tokens"}],
            "paths": {"/t": {"post": {"requestBody": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Body"}}}}}}},
            "components": {"schemas": {
                "Body": {"type": "object", "properties": {
                    "provider": {"$ref": "#/components/schemas/Provider"},
                    "extra": {"allOf": [{"$ref": "#/components/schemas/Extra"}, {"description": "x"}]}
                }},
                "Extra": {"type": "object", "properties": {"a": {"type": "string"}}},
                "Reply": {"type": "object", "properties": {"a": {"type": "string"}}},
                "Provider": {"type": "object", "description": "by kind",
                    "anyOf": [{"$ref": "#/components/schemas/Provider_Oidc"}],
                    "discriminator": {"propertyName": "kind",
                        "mapping": {"oidc": "#/components/schemas/Provider_Oidc"}}},
                "Provider_Oidc": {"allOf": [
                    {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string", "enum": ["oidc"]}}},
                    {"$ref": "#/components/schemas/Oidc"}]},
                "Oidc": {"type": "object", "required": ["issuer"], "properties": {"issuer": {"type": "string"}}}
            }}
        })
        .to_string()
    }

    #[test]
    fn unions_become_a_discriminated_one_of_of_their_variants() {
        let spec = refine(&raw()).unwrap();
        let schemas = &spec["components"]["schemas"];
        assert!(schemas.get("Provider_Oidc").is_none(), "wrapper left");
        assert_eq!(
            schemas["Provider"],
            json!({"description": "by kind",
                "oneOf": [{"$ref": "#/components/schemas/Oidc"}],
                "discriminator": {"propertyName": "kind",
                    "mapping": {"oidc": "#/components/schemas/Oidc"}}})
        );
        assert_eq!(schemas["Oidc"]["required"], json!(["kind", "issuer"]));
        assert_eq!(
            schemas["Oidc"]["properties"]["kind"]["enum"],
            json!(["oidc"])
        );
    }

    #[test]
    fn request_objects_are_closed_and_responses_are_not() {
        let spec = refine(&raw()).unwrap();
        let schemas = &spec["components"]["schemas"];
        for name in ["Body", "Oidc", "Extra"] {
            assert_eq!(
                schemas[name]["additionalProperties"],
                json!(false),
                "{name}"
            );
        }
        assert!(schemas["Reply"].get("additionalProperties").is_none());
        assert_eq!(
            schemas["Body"]["properties"]["extra"],
            json!({"$ref": "#/components/schemas/Extra"})
        );
    }

    #[test]
    fn tokens_come_first_and_the_server_is_the_serving_host() {
        let spec = refine(&raw()).unwrap();
        let tags: Vec<&str> = spec["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(tags, ["Tokens", "Admin", "Health"]);
        assert_eq!(spec["servers"][0]["url"], "/");
    }
}
