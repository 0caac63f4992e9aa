//! The HTTP edge: poem-openapi services, the generated spec, Swagger UI, and the middleware
//! that turns every error into problem+json.

pub mod access_log;
pub mod admin;
pub mod admin_dto;
pub mod admin_setup;
pub mod auth;
pub mod body;
pub mod dto;
pub mod error;
pub mod extract;
pub mod health;
pub mod metrics;
pub mod paging;
pub mod payload;
pub mod problem;
pub mod server;
pub mod setup;
pub mod spec;
pub mod timestamp;
pub mod tokens;

use poem::endpoint::BoxEndpoint;
use poem::http::StatusCode;
use poem::{Body, Endpoint, EndpointExt, IntoResponse, Request, Response, Route};
use poem_openapi::OpenApiService;

use crate::state::AppState;
use error::{ErrorInfo, ProblemCode};

pub const API_TITLE: &str = "acs-auth";

/// The OpenAPI service of the public API. `server_url` only fills the spec's `servers` entry.
pub fn openapi_service(
    state: AppState,
) -> OpenApiService<
    (
        tokens::TokensApi,
        admin::AdminApi,
        admin_setup::SetupLinksApi,
        health::HealthApi,
    ),
    (),
> {
    OpenApiService::new(
        (
            tokens::TokensApi {
                state: state.clone(),
            },
            admin::AdminApi {
                admin: state.admin.clone(),
            },
            admin_setup::SetupLinksApi {
                setup: state.setup.clone(),
            },
            health::HealthApi { state },
        ),
        API_TITLE,
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Multi-tenant bring-your-own-identity token server for Azure Communication Services. \
         Send the user's access token from the tenant's identity provider as a bearer token; \
         get an ACS access token for the user's ACS identity back. Errors are RFC 9457 problem \
         details (`application/problem+json`) with a stable `code`.",
    )
    .license(poem_openapi::LicenseObject::new("MIT"))
}

/// All routes: the API, `/openapi.json`, Swagger UI at `/docs`, plus `extra` (dev issuer).
/// What shapes the edge besides the API itself.
#[derive(Debug, Clone, Default)]
pub struct RouteOptions {
    pub max_body_bytes: usize,
    pub cors: crate::config::CorsSettings,
    pub metrics: crate::config::MetricsSettings,
}

pub fn routes(
    state: AppState,
    options: RouteOptions,
    extra: Option<BoxEndpoint<'static>>,
) -> BoxEndpoint<'static> {
    let max_body_bytes = options.max_body_bytes;
    let admin_enabled = state.admin_keys.enabled();
    let portal = setup::Portal::of(&state);
    let admin_guard = std::sync::Arc::new(admin::AdminGuard {
        keys: state.admin_keys.clone(),
        limits: state.limits.clone(),
        trusted_proxies: state.trusted_proxies.clone(),
    });
    let metrics = options
        .metrics
        .enabled
        .then(|| metrics::Metrics::new(state.stats.clone(), &options.metrics));
    let api = openapi_service(state);
    let raw = api.spec();
    let document = spec::refine(&raw).unwrap_or_else(|e| {
        tracing::error!(error = %e, "the generated spec is not JSON; serving it unrefined");
        serde_json::Value::Null
    });
    let allowed = std::sync::Arc::new(error::SpecRules::from_spec(&document));
    let body_schemas =
        std::sync::Arc::new(body::BodySchemas::from_spec(&document).unwrap_or_else(|e| {
            tracing::error!(error = %e, "request bodies are checked by their parsers only");
            body::BodySchemas::empty()
        }));
    let document_json = spec::to_pretty_json(&document);
    // Swagger UI embeds the document it is made with: the refined one replaces poem-openapi's.
    let docs_html = std::sync::Arc::new(api.swagger_ui_html().replacen(&raw, &document_json, 1));
    let docs_slash = std::sync::Arc::clone(&docs_html);
    let mut route = Route::new()
        .nest("/", api)
        .at(
            "/openapi.json",
            poem::endpoint::make_sync(move |_| {
                Response::builder()
                    .content_type("application/json")
                    .body(document_json.clone())
            }),
        )
        .at(
            "/docs",
            poem::endpoint::make_sync(move |_| poem::web::Html(docs_html.as_str().to_owned())),
        )
        .at(
            "/docs/",
            poem::endpoint::make_sync(move |_| poem::web::Html(docs_slash.as_str().to_owned())),
        );
    if let Some(extra) = extra {
        route = route.nest("/dev", extra);
    }
    if let Some(portal) = portal {
        route = setup::routes(route, portal);
    }
    let app = route
        .data(admin_guard)
        .data(body_schemas)
        .around(move |ep, req| body_limit(ep, req, max_body_bytes))
        .around(move |ep, req| {
            error::problem_middleware(ep, req, std::sync::Arc::clone(&allowed), admin_enabled)
        })
        .boxed();
    let app = match metrics {
        Some(metrics) => app
            .around(move |ep, req| metrics::record(ep, req, std::sync::Arc::clone(&metrics)))
            .boxed(),
        None => app,
    };
    let app = app.around(access_log::access_log).map_to_response();
    if !options.cors.is_enabled() {
        return app.boxed();
    }
    let listed: std::collections::HashSet<String> =
        options.cors.allowed_origins.iter().cloned().collect();
    let loopback = options.cors.allow_loopback_origins;
    let cors = poem::middleware::Cors::new()
        .allow_origins_fn(move |origin| {
            listed.contains(origin) || (loopback && crate::config::is_loopback_origin(origin))
        })
        .allow_methods([
            poem::http::Method::GET,
            poem::http::Method::POST,
            poem::http::Method::PUT,
            poem::http::Method::DELETE,
        ])
        .allow_headers([
            "authorization",
            "content-type",
            "teams-user-aad-token",
            "x-request-id",
            "x-admin-key",
            "traceparent",
            "tracestate",
        ])
        .expose_headers(["x-request-id", "www-authenticate", "retry-after"])
        .max_age(i32::try_from(options.cors.max_age_secs).unwrap_or(600));
    // The portal's forms and live checks are same-origin: browsers send their own `Origin`,
    // which the CORS allow-list (for other sites' client apps) must not refuse.
    let app = std::sync::Arc::new(app);
    PortalBypass {
        cors: std::sync::Arc::clone(&app).with(cors),
        plain: app,
    }
    .boxed()
}

/// Sends `/setup…` past the CORS middleware (see [`routes`]), everything else through it.
struct PortalBypass<P, C> {
    plain: P,
    cors: C,
}

impl<P: Endpoint, C: Endpoint> Endpoint for PortalBypass<P, C> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        if req.uri().path().starts_with("/setup") {
            self.plain.call(req).await.map(IntoResponse::into_response)
        } else {
            self.cors.call(req).await.map(IntoResponse::into_response)
        }
    }
}

/// Reads the body up to `max` bytes (also for chunked bodies); larger → 413.
async fn body_limit<E: Endpoint>(ep: E, mut req: Request, max: usize) -> poem::Result<Response> {
    let declared = req
        .header(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large(max));
    }
    let body = req.take_body();
    let bytes = body.into_bytes_limit(max).await.map_err(|e| match e {
        poem::error::ReadBodyError::PayloadTooLarge => too_large(max),
        other => poem::Error::from(other),
    })?;
    req.set_body(Body::from(bytes));
    ep.call(req).await.map(IntoResponse::into_response)
}

fn too_large(max: usize) -> poem::Error {
    poem::Error::from(
        ErrorInfo::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ProblemCode::PayloadTooLarge,
            "The request body is too large",
        )
        .detail(format!("Bodies are limited to {max} bytes.")),
    )
}
