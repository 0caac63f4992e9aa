//! [`JsonBody`]: a JSON response body written straight from the value with serde. poem-openapi's
//! own `Json<T>` first converts the value into a `serde_json::Value` tree (`ToJSON`) and then
//! serialises that tree: two passes and an allocation per field, on every getToken. The spec is
//! the same (`T`'s schema, the same content type); a test per type checks that serde writes
//! exactly what `ToJSON` would.

use poem::http::HeaderValue;
use poem::http::header::CONTENT_TYPE;
use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::payload::{Json, Payload};
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde::Serialize;

/// A JSON response body of `T` (its schema in the spec), serialised by serde.
pub struct JsonBody<T>(pub T);

impl<T: Type + Serialize> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = <Json<T> as Payload>::CONTENT_TYPE;

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + Serialize> IntoResponse for JsonBody<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => Response::builder()
                .header(CONTENT_TYPE, HeaderValue::from_static(Self::CONTENT_TYPE))
                .body(body),
            Err(e) => {
                // Only a failing `Serialize` impl gets here; ours are derived.
                tracing::error!(error = %e, "response body could not be serialised");
                Response::builder()
                    .status(poem::http::StatusCode::INTERNAL_SERVER_ERROR)
                    .finish()
            }
        }
    }
}

/// As a whole response (`200`), like poem-openapi's `Json<T>`.
impl<T: Type + Serialize> ApiResponse for JsonBody<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: Self::CONTENT_TYPE,
                    schema: Self::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use poem_openapi::types::ToJSON;

    use crate::api::dto::{
        CommunicationUser, ExchangeTokenResponse, HealthStatus, TokenResponse, UserResponse,
    };
    use crate::api::timestamp::Timestamp;

    /// serde writes what poem-openapi's `ToJSON` (the spec's view of the type) writes.
    fn same_json<T: ToJSON + serde::Serialize>(value: &T) {
        let serde = serde_json::to_value(value).unwrap();
        assert_eq!(serde, value.to_json().unwrap(), "serde and ToJSON disagree");
    }

    fn at(seconds: i64, nanos: u32) -> Timestamp {
        Utc.timestamp_opt(seconds, nanos).unwrap().into()
    }

    #[test]
    fn token_bodies_are_written_as_the_spec_describes_them() {
        for expires_on in [at(1_800_000_000, 0), at(1_800_000_000, 123_456_789)] {
            same_json(&TokenResponse {
                token: "eyJ.a.b".into(),
                expires_on,
                user: CommunicationUser {
                    communication_user_id: "8:acs:r_1".into(),
                },
            });
            same_json(&ExchangeTokenResponse {
                token: "eyJ.a.b".into(),
                expires_on,
            });
        }
        same_json(&UserResponse {
            communication_user_id: "8:acs:r_1".into(),
            created_at: at(1_800_000_000, 5_000),
        });
        same_json(&HealthStatus {
            status: "ok".into(),
            checks: vec!["database: ok".into()],
        });
    }
}
