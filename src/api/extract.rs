//! JSON request bodies, checked against the served document before they are parsed
//! ([`super::body`]): `ValidJson<T>` (required) and `OptionalJson<T>` (may be absent altogether:
//! no body, no `Content-Type`, as the seed's clients send `POST /getToken` with nothing in it).
//! A body that breaks the schema is a 400 whose `errors` name each field and rule; no parser
//! text reaches the client.

use std::sync::Arc;

use poem::http::StatusCode;
use poem::{Request, RequestBody};
use poem_openapi::error::ContentTypeError;
use poem_openapi::registry::{MetaMediaType, MetaRequest, Registry};
use poem_openapi::types::{ParseFromJSON, Type};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use super::body::BodySchemas;
use super::error::{ErrorInfo, FieldError, ProblemCode};

/// A required JSON body of `T`.
pub struct ValidJson<T>(pub T);

/// A JSON body of `T` that may be left out.
pub struct OptionalJson<T>(pub Option<T>);

fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn request_meta<T: Type>(required: bool) -> Option<MetaRequest> {
    Some(MetaRequest {
        description: None,
        content: vec![MetaMediaType {
            content_type: "application/json",
            schema: T::schema_ref(),
        }],
        required,
    })
}

/// The code of a body that breaks its schema: the admin API's tenant bodies promise
/// `invalid_tenant` (docs/admin.md); every other body is `invalid_body`.
fn invalid_code(schema: &str) -> (ProblemCode, &'static str) {
    if schema == "TenantBody" {
        (ProblemCode::InvalidTenant, "The tenant is not valid")
    } else {
        (ProblemCode::InvalidBody, "The request body is not valid")
    }
}

fn invalid(schema: &str, errors: Vec<FieldError>) -> poem::Error {
    let detail = errors
        .iter()
        .map(|e| format!("`{}`: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ");
    let (code, title) = invalid_code(schema);
    poem::Error::from(
        ErrorInfo::new(StatusCode::BAD_REQUEST, code, title)
            .detail(detail)
            .errors(errors),
    )
}

/// Content type, JSON syntax, the schema, then `T`'s parser.
fn parse<T: ParseFromJSON>(request: &Request, data: &[u8]) -> poem::Result<T> {
    match request.content_type() {
        Some(ct) if is_json(ct) => {}
        Some(ct) => {
            return Err(ContentTypeError::NotSupported {
                content_type: ct.to_owned(),
            }
            .into());
        }
        None => return Err(ContentTypeError::ExpectContentType.into()),
    }
    let schema = T::name();
    let value: serde_json::Value = serde_json::from_slice(data).map_err(|e| {
        invalid(
            &schema,
            vec![FieldError {
                field: "body".into(),
                message: format!("is not valid JSON ({e})"),
            }],
        )
    })?;
    match request.data::<Arc<BodySchemas>>() {
        Some(schemas) => {
            let errors = schemas.check(&schema, &value);
            if !errors.is_empty() {
                return Err(invalid(&schema, errors));
            }
        }
        None => tracing::error!(%schema, "no body schemas: the body is checked by its parser only"),
    }
    T::parse_from_json(Some(value)).map_err(|_| {
        // The schema accepted what the parser refuses: the document is looser than the code.
        // The parser's message is not logged: it may quote the body (tokens, secrets).
        tracing::warn!(%schema, "a body the schema accepts did not parse");
        invalid(
            &schema,
            vec![FieldError {
                field: "body".into(),
                message: "does not match the schema".into(),
            }],
        )
    })
}

impl<'a, T: ParseFromJSON> ApiExtractor<'a> for ValidJson<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        request_meta::<T>(true)
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let data = body.take()?.into_bytes().await?;
        parse(request, &data).map(Self)
    }
}

impl<'a, T: ParseFromJSON> ApiExtractor<'a> for OptionalJson<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        request_meta::<T>(false)
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let data = body.take()?.into_bytes().await?;
        if data.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        parse(request, &data).map(|v| Self(Some(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::is_json;

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
    }
}
