//! The access log: one `debug` event per request (method, path, status, milliseconds), under
//! the target `acs_auth::access`. At the default level (`info`) nothing of it runs — not even
//! the clock — so a successful request does no formatting or logging work; failures are logged
//! where they are classified (`error.rs`: `warn` for dependency failures, `error` for ours).
//! Turn it on with `log.level = "info,acs_auth::access=debug"` (or `RUST_LOG`).

use std::time::Instant;

use poem::{Endpoint, IntoResponse, Request, Response};

/// Logs `req` and its answer at `debug` when that level is enabled for the access log.
pub async fn access_log<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    if !tracing::enabled!(target: "acs_auth::access", tracing::Level::DEBUG) {
        return next.call(req).await.map(IntoResponse::into_response);
    }
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let started = Instant::now();
    let answer = next.call(req).await.map(IntoResponse::into_response);
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    match &answer {
        Ok(resp) => tracing::debug!(
            target: "acs_auth::access",
            %method, %path, status = resp.status().as_u16(), millis, "request"
        ),
        Err(e) => tracing::debug!(
            target: "acs_auth::access",
            %method, %path, status = e.status().as_u16(), millis, "request"
        ),
    }
    answer
}
