//! Request bodies are checked against the served document itself ([`super::spec`]), so the
//! schema a client generator reads is exactly the rule the server applies, and every 400 names
//! the field in the API's own spelling and the rule it breaks ([`FieldError`]).

use std::collections::HashMap;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use jsonschema::{Draft, ValidationError, Validator};
use serde_json::{Value, json};

use super::problem::FieldError;

/// Schemas checked besides the request bodies: the provider table the portal's form makes.
pub const EXTRA_SCHEMAS: &[&str] = &["ProviderBody"];

/// A validator per request-body schema of the document.
pub struct BodySchemas {
    validators: HashMap<String, Validator>,
    /// `components.schemas` of the document, to find the schema of a failing field.
    schemas: Value,
}

impl std::fmt::Debug for BodySchemas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodySchemas")
            .field("schemas", &self.validators.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A request-body schema of the document cannot be compiled (a bug of ours; tested).
#[derive(Debug, thiserror::Error)]
#[error("the request-body schema `{schema}` cannot be compiled: {message}")]
pub struct SchemaError {
    schema: String,
    message: String,
}

impl BodySchemas {
    /// Compiles the schema of every request body of the (refined) document.
    pub fn from_spec(spec: &Value) -> Result<Self, SchemaError> {
        let schemas = spec
            .pointer("/components/schemas")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let mut validators = HashMap::new();
        let mut names = super::spec::request_body_schemas(spec);
        // Not a body of its own, but what the onboarding portal's form makes (`super::setup`).
        for extra in EXTRA_SCHEMAS {
            if schemas.get(extra).is_some() && !names.iter().any(|n| n == extra) {
                names.push((*extra).to_owned());
            }
        }
        for name in names {
            let document = json!({
                "$ref": format!("#/components/schemas/{name}"),
                "components": { "schemas": schemas.clone() },
            });
            let validator = jsonschema::options()
                .with_draft(Draft::Draft202012)
                .build(&document)
                .map_err(|e| SchemaError {
                    schema: name.clone(),
                    message: e.to_string(),
                })?;
            validators.insert(name, validator);
        }
        Ok(Self {
            validators,
            schemas,
        })
    }

    /// No schemas: bodies are checked by their parsers only.
    pub fn empty() -> Self {
        Self {
            validators: HashMap::new(),
            schemas: json!({}),
        }
    }

    /// Every rule of schema `name` that `body` breaks; empty when it conforms (or the schema is
    /// not a request body's).
    pub fn check(&self, name: &str, body: &Value) -> Vec<FieldError> {
        let Some(validator) = self.validators.get(name) else {
            return Vec::new();
        };
        let root = json!({ "$ref": format!("#/components/schemas/{name}") });
        let mut errors = Vec::new();
        for e in validator.iter_errors(body) {
            self.describe(&root, body, &e, &mut errors);
        }
        errors.dedup();
        errors
    }

    fn describe(
        &self,
        root: &Value,
        body: &Value,
        e: &ValidationError<'_>,
        out: &mut Vec<FieldError>,
    ) {
        let path: Vec<LocationSegment<'_>> = e.instance_path().iter().collect();
        let field = field_name(&path);
        let at = |message: String| FieldError {
            field: field.clone(),
            message,
        };
        let value = e.instance();
        match e.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let known = self.properties_at(root, body, &path);
                for name in unexpected {
                    let mut message = "is not a property of this object".to_owned();
                    if let Some(near) = nearest(name, &known) {
                        message.push_str(&format!("; did you mean `{near}`?"));
                    } else if !known.is_empty() {
                        message.push_str(&format!(" (known: {})", quoted(&known)));
                    }
                    out.push(FieldError {
                        field: join(&field, name),
                        message,
                    });
                }
            }
            ValidationErrorKind::Required { property } => out.push(FieldError {
                field: join(&field, property.as_str().unwrap_or_default()),
                message: "is required".to_owned(),
            }),
            ValidationErrorKind::Type { kind } => {
                if value.is_null() {
                    out.push(at("must not be null; leave it out instead".to_owned()));
                } else {
                    let expected = match kind {
                        TypeKind::Single(t) => format!("{t}"),
                        TypeKind::Multiple(set) => format!("{set:?}"),
                    };
                    out.push(at(format!(
                        "must be {} (got {})",
                        article(&expected),
                        kind_of(value)
                    )));
                }
            }
            ValidationErrorKind::Minimum { limit } => {
                out.push(at(format!(
                    "{value} is below the minimum of {}",
                    number(limit)
                )));
            }
            ValidationErrorKind::Maximum { limit } => {
                out.push(at(format!(
                    "{value} is above the maximum of {}",
                    number(limit)
                )));
            }
            ValidationErrorKind::MinItems { limit } => {
                out.push(at(format!(
                    "must have at least {limit} item{}",
                    plural(*limit)
                )));
            }
            ValidationErrorKind::MaxItems { limit } => {
                out.push(at(format!(
                    "must have at most {limit} item{}",
                    plural(*limit)
                )));
            }
            ValidationErrorKind::UniqueItems => out.push(at("must not repeat an item".to_owned())),
            ValidationErrorKind::MinLength { limit } => {
                out.push(at(format!(
                    "must be at least {limit} character{} long",
                    plural(*limit)
                )));
            }
            ValidationErrorKind::MaxLength { limit } => {
                out.push(at(format!(
                    "must be at most {limit} character{} long",
                    plural(*limit)
                )));
            }
            ValidationErrorKind::Pattern { pattern } => {
                out.push(at(format!("{value} does not match `{pattern}`")));
            }
            ValidationErrorKind::Enum { options } => {
                let options: Vec<String> = options
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|o| o.as_str().map_or_else(|| o.to_string(), str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(at(format!("{value} is not one of {}", quoted(&options))));
            }
            ValidationErrorKind::OneOfNotValid { context }
            | ValidationErrorKind::AnyOf { context } => {
                self.describe_union(root, body, &path, &field, context, out);
            }
            other => out.push(at(format!(
                "breaks the schema's `{}` rule",
                other.keyword()
            ))),
        }
    }

    /// A union on a discriminator: the errors of the variant the body names, or what is wrong
    /// with the discriminator itself.
    fn describe_union(
        &self,
        root: &Value,
        body: &Value,
        path: &[LocationSegment<'_>],
        field: &str,
        context: &[Vec<ValidationError<'static>>],
        out: &mut Vec<FieldError>,
    ) {
        let union = self
            .schema_at(root, body, path)
            .and_then(|s| self.resolve_union(s));
        let Some((property, variants)) = union else {
            out.push(FieldError {
                field: field.to_owned(),
                message: "matches none of the allowed shapes".to_owned(),
            });
            return;
        };
        let instance = pointer(body, path);
        let named = instance
            .and_then(|i| i.get(&property))
            .and_then(Value::as_str);
        let values: Vec<String> = variants.iter().map(|(v, _)| v.clone()).collect();
        match named.and_then(|n| variants.iter().position(|(v, _)| v == n)) {
            Some(i) if i < context.len() => {
                for e in &context[i] {
                    self.describe(root, body, e, out);
                }
            }
            _ => out.push(FieldError {
                field: join(field, &property),
                message: match named {
                    Some(n) => format!("`{n}` is not one of {}", quoted(&values)),
                    None => format!("is required: one of {}", quoted(&values)),
                },
            }),
        }
    }

    /// `(discriminator property, [(value, schema name)])` of a `oneOf` schema, in `oneOf` order.
    fn resolve_union(&self, schema: &Value) -> Option<(String, Vec<(String, String)>)> {
        let property = schema
            .pointer("/discriminator/propertyName")?
            .as_str()?
            .to_owned();
        let mapping = schema.pointer("/discriminator/mapping")?.as_object()?;
        let variants = schema
            .get("oneOf")?
            .as_array()?
            .iter()
            .filter_map(|v| {
                let reference = v.get("$ref")?.as_str()?;
                let value = mapping
                    .iter()
                    .find(|(_, r)| r.as_str() == Some(reference))?
                    .0;
                Some((value.clone(), reference.to_owned()))
            })
            .collect();
        Some((property, variants))
    }

    fn deref<'a>(&'a self, mut schema: &'a Value) -> &'a Value {
        for _ in 0..16 {
            match schema
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
                .and_then(|name| self.schemas.get(name))
            {
                Some(next) => schema = next,
                None => break,
            }
        }
        schema
    }

    /// The schema that describes the value at `path` of `body` (following the discriminator).
    fn schema_at<'a>(
        &'a self,
        root: &'a Value,
        body: &Value,
        path: &[LocationSegment<'_>],
    ) -> Option<&'a Value> {
        let mut schema = self.deref(root);
        let mut instance = body;
        for segment in path {
            schema = self.pick_variant(schema, instance);
            match segment {
                LocationSegment::Property(name) => {
                    schema = self.deref(schema.get("properties")?.get(name.as_ref())?);
                    instance = instance.get(name.as_ref())?;
                }
                LocationSegment::Index(i) => {
                    schema = self.deref(schema.get("items")?);
                    instance = instance.get(*i)?;
                }
            }
        }
        Some(schema)
    }

    fn pick_variant<'a>(&'a self, schema: &'a Value, instance: &Value) -> &'a Value {
        let Some((property, variants)) = self.resolve_union(schema) else {
            return schema;
        };
        let named = instance.get(&property).and_then(Value::as_str);
        variants
            .iter()
            .find(|(v, _)| Some(v.as_str()) == named)
            .and_then(|(_, reference)| reference.strip_prefix("#/components/schemas/"))
            .and_then(|name| self.schemas.get(name))
            .unwrap_or(schema)
    }

    fn properties_at(
        &self,
        root: &Value,
        body: &Value,
        path: &[LocationSegment<'_>],
    ) -> Vec<String> {
        self.schema_at(root, body, path)
            .map(|s| self.pick_variant(s, pointer(body, path).unwrap_or(&Value::Null)))
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    }
}

fn pointer<'a>(body: &'a Value, path: &[LocationSegment<'_>]) -> Option<&'a Value> {
    path.iter().try_fold(body, |v, segment| match segment {
        LocationSegment::Property(name) => v.get(name.as_ref()),
        LocationSegment::Index(i) => v.get(*i),
    })
}

/// `provider.audiences[1]`; `body` for the body itself.
fn field_name(path: &[LocationSegment<'_>]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            LocationSegment::Property(name) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            LocationSegment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    if out.is_empty() {
        "body".to_owned()
    } else {
        out
    }
}

fn join(field: &str, name: &str) -> String {
    if field == "body" {
        name.to_owned()
    } else {
        format!("{field}.{name}")
    }
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn number(v: &Value) -> String {
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        _ => v.to_string(),
    }
}

fn article(kind: &str) -> String {
    match kind {
        "array" | "object" | "integer" => format!("an {kind}"),
        _ => format!("a {kind}"),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The known property closest to a misspelt one (at most two edits away).
fn nearest<'a>(name: &str, known: &'a [String]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| {
            (
                strsim::levenshtein(&name.to_ascii_lowercase(), &k.to_ascii_lowercase()),
                k,
            )
        })
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A document with one request body: an object with a bounded integer, a list of enum
    /// values and a union on `kind`, closed as [`super::super::spec::refine`] closes it.
    fn schemas() -> BodySchemas {
        let spec = json!({
            "paths": {"/t": {"post": {"requestBody": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Body"}}}}}}},
            "components": {"schemas": {
                "Body": {"type": "object", "additionalProperties": false, "properties": {
                    "minutes": {"type": "integer", "minimum": 60, "maximum": 1440},
                    "scopes": {"type": "array", "minItems": 1, "uniqueItems": true,
                        "items": {"$ref": "#/components/schemas/Scope"}},
                    "provider": {"$ref": "#/components/schemas/Provider"}
                }},
                "Scope": {"type": "string", "enum": ["chat", "voip"]},
                "Provider": {"oneOf": [{"$ref": "#/components/schemas/A"}, {"$ref": "#/components/schemas/B"}],
                    "discriminator": {"propertyName": "kind", "mapping": {
                        "a": "#/components/schemas/A", "b": "#/components/schemas/B"}}},
                "A": {"type": "object", "additionalProperties": false, "required": ["kind", "issuer"],
                    "properties": {"kind": {"type": "string", "enum": ["a"]}, "issuer": {"type": "string"},
                        "allow_http": {"type": "boolean"}}},
                "B": {"type": "object", "additionalProperties": false, "required": ["kind"],
                    "properties": {"kind": {"type": "string", "enum": ["b"]}}}
            }}
        });
        BodySchemas::from_spec(&spec).unwrap()
    }

    fn check(body: serde_json::Value) -> Vec<(String, String)> {
        schemas()
            .check("Body", &body)
            .into_iter()
            .map(|e| (e.field, e.message))
            .collect()
    }

    fn one(field: &str, message: &str) -> Vec<(String, String)> {
        vec![(field.to_owned(), message.to_owned())]
    }

    #[test]
    fn a_conforming_body_has_no_errors() {
        assert_eq!(
            check(
                json!({"minutes": 60, "scopes": ["chat"], "provider": {"kind": "a", "issuer": "i"}})
            ),
            []
        );
    }

    #[test]
    fn each_rule_is_named_in_words() {
        assert_eq!(
            check(json!({"minutes": 30})),
            one("minutes", "30 is below the minimum of 60")
        );
        assert_eq!(
            check(json!({"minutes": 2000})),
            one("minutes", "2000 is above the maximum of 1440")
        );
        assert_eq!(
            check(json!({"minutes": "x"})),
            one("minutes", "must be an integer (got a string)")
        );
        assert_eq!(
            check(json!({"minutes": null})),
            one("minutes", "must not be null; leave it out instead")
        );
        assert_eq!(
            check(json!({"scopes": []})),
            one("scopes", "must have at least 1 item")
        );
        assert_eq!(
            check(json!({"scopes": ["chat", "chat"]})),
            one("scopes", "must not repeat an item")
        );
        assert_eq!(
            check(json!({"scopes": ["fax"]})),
            one("scopes[0]", "\"fax\" is not one of `chat`, `voip`")
        );
        assert_eq!(
            check(json!([1])),
            one("body", "must be an object (got an array)")
        );
    }

    #[test]
    fn an_unknown_property_names_the_nearest_known_one() {
        assert_eq!(
            check(json!({"minutse": 60})),
            one(
                "minutse",
                "is not a property of this object; did you mean `minutes`?"
            )
        );
        assert_eq!(
            check(json!({"colour": 1})),
            one(
                "colour",
                "is not a property of this object (known: `minutes`, `provider`, `scopes`)"
            )
        );
    }

    #[test]
    fn a_union_reports_the_errors_of_the_variant_its_kind_names() {
        assert_eq!(
            check(json!({"provider": {"kind": "a"}})),
            one("provider.issuer", "is required")
        );
        assert_eq!(
            check(json!({"provider": {"kind": "a", "issuer": "i", "alow_http": true}})),
            one(
                "provider.alow_http",
                "is not a property of this object; did you mean `allow_http`?"
            )
        );
        assert_eq!(
            check(json!({"provider": {"kind": "c"}})),
            one("provider.kind", "`c` is not one of `a`, `b`")
        );
        assert_eq!(
            check(json!({"provider": {}})),
            one("provider.kind", "is required: one of `a`, `b`")
        );
    }
}
