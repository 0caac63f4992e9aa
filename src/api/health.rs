//! Liveness and readiness probes.

use std::sync::atomic::Ordering;

use poem_openapi::{ApiResponse, OpenApi, Tags};

use super::dto::HealthStatus;
use super::payload::JsonBody;
use crate::state::AppState;

#[derive(Tags)]
enum ApiTags {
    /// Probes for load balancers and orchestrators.
    Health,
}

#[derive(ApiResponse)]
pub enum ReadyResponse {
    /// Ready to serve.
    #[oai(status = 200)]
    Ready(JsonBody<HealthStatus>),
    /// Not ready: shutting down, or the database does not answer.
    #[oai(status = 503)]
    NotReady(JsonBody<HealthStatus>),
}

pub struct HealthApi {
    pub state: AppState,
}

#[OpenApi]
impl HealthApi {
    /// Liveness: the process is up
    #[oai(
        path = "/healthz",
        method = "get",
        operation_id = "healthz",
        tag = "ApiTags::Health"
    )]
    async fn healthz(&self) -> JsonBody<HealthStatus> {
        JsonBody(HealthStatus {
            status: "ok".into(),
            checks: Vec::new(),
        })
    }

    /// Readiness: the database answers and the server is not shutting down
    #[oai(
        path = "/readyz",
        method = "get",
        operation_id = "readyz",
        tag = "ApiTags::Health"
    )]
    async fn readyz(&self) -> ReadyResponse {
        let mut checks = Vec::new();
        let mut ready = true;
        if self.state.accepting.load(Ordering::SeqCst) {
            checks.push("shutdown: no".to_owned());
        } else {
            ready = false;
            checks.push("shutdown: in progress".to_owned());
        }
        match self.state.store.ping().await {
            Ok(()) => checks.push("database: ok".to_owned()),
            Err(e) => {
                tracing::warn!(error = %e, "readiness: database check failed");
                ready = false;
                checks.push("database: unavailable".to_owned());
            }
        }
        checks.push(format!("tenants: {}", self.state.tenants.len()));
        let status = HealthStatus {
            status: if ready { "ok" } else { "unavailable" }.into(),
            checks,
        };
        if ready {
            ReadyResponse::Ready(JsonBody(status))
        } else {
            ReadyResponse::NotReady(JsonBody(status))
        }
    }
}
