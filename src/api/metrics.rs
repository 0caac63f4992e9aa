//! Prometheus metrics at `/metrics`, in the OpenMetrics text format (`prometheus-client`).
//!
//! - Requests are counted by operation, status class and tenant, and timed by operation, as
//!   they pass ([`record`]). The tenant label is the path's tenant when it is a known tenant and
//!   one of the first `metrics.max_tenant_labels` seen; any other is `other` (and the bare paths
//!   `-`), so a caller inventing tenant ids cannot grow the series.
//! - Everything else is read when Prometheus scrapes, from the service layer's
//!   [`Stats`](crate::service::Stats): the counters the layers below keep (ACS calls by
//!   operation, outcome and resource; circuit-breaker states; key-set and discovery fetches;
//!   cache hits and misses; refused tokens by tenant and code) and the pending deletions.
//!   Nothing on the request path waits for a scrape.
//!
//! `metrics.bearer_token` restricts the endpoint to `Authorization: Bearer <token>`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use poem::http::StatusCode;
use poem::http::header;
use poem::{Endpoint, IntoResponse, Request, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use super::error::{ErrorInfo, ProblemCode};
use crate::config::MetricsSettings;
use crate::service::Stats;

/// The OpenMetrics text format's content type.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The label of requests on paths that name no tenant.
const NO_TENANT: &str = "-";
/// The label of tenants beyond `max_tenant_labels`, and of unknown ones.
const OTHER_TENANT: &str = "other";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    operation: &'static str,
    status: &'static str,
    tenant: Arc<str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
}

/// The metrics of one server.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<OperationLabels, Histogram>,
    pending_deletions: Gauge,
    tenants: Arc<TenantLabels>,
    no_tenant: Arc<str>,
    stats: Stats,
    bearer_token: Option<secrecy::SecretString>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    pub fn new(stats: Stats, settings: &MetricsSettings) -> Arc<Self> {
        let mut registry = Registry::with_prefix("acs_auth");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by operation, status class and tenant",
            requests.clone(),
        );
        let latency = Family::<OperationLabels, Histogram>::new_with_constructor(
            (|| Histogram::new(exponential_buckets(0.0005, 2.0, 16))) as fn() -> Histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by operation",
            latency.clone(),
        );
        let pending_deletions = Gauge::default();
        registry.register(
            "pending_deletions",
            "ACS identities whose deletion is still to be confirmed by ACS (retried in the background)",
            pending_deletions.clone(),
        );
        let tenants = Arc::new(TenantLabels::new(settings.max_tenant_labels));
        registry.register_collector(Box::new(Scraped {
            stats: stats.clone(),
            tenants: Arc::clone(&tenants),
        }));
        Arc::new(Self {
            registry,
            requests,
            latency,
            pending_deletions,
            tenants,
            no_tenant: Arc::from(NO_TENANT),
            stats,
            bearer_token: settings.bearer_token.clone(),
        })
    }

    /// The labels of a request to `path`, before it is answered.
    fn labels_of(&self, path: &str) -> (&'static str, Arc<str>) {
        let operation = operation_of(path);
        let tenant = match tenant_in_path(path) {
            Some(id) => self.tenants.label(id, |id| self.stats.is_tenant(id)),
            None => Arc::clone(&self.no_tenant),
        };
        (operation, tenant)
    }

    /// Counts and times one answered request.
    fn observe(
        &self,
        (operation, tenant): (&'static str, Arc<str>),
        status: StatusCode,
        started: Instant,
    ) {
        self.requests
            .get_or_create(&RequestLabels {
                operation,
                status: status_class(status),
                tenant,
            })
            .inc();
        self.latency
            .get_or_create(&OperationLabels { operation })
            .observe(started.elapsed().as_secs_f64());
    }

    /// The scrape: the store's count first, then everything encoded.
    async fn scrape(&self, req: &Request) -> Response {
        if let Some(expected) = &self.bearer_token {
            let presented = req
                .header(header::AUTHORIZATION)
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or_default();
            let matches: bool = presented
                .as_bytes()
                .ct_eq(expected.expose_secret().as_bytes())
                .into();
            if !matches {
                return ErrorInfo::new(
                    StatusCode::UNAUTHORIZED,
                    ProblemCode::MetricsTokenRequired,
                    "The metrics need a bearer token",
                )
                .detail("Send `Authorization: Bearer` with the value of `metrics.bearer_token`.")
                .challenge("Bearer realm=\"acs-auth metrics\"")
                .to_response(None);
            }
        }
        match self.stats.pending_deletions().await {
            Ok(n) => {
                self.pending_deletions
                    .set(i64::try_from(n).unwrap_or(i64::MAX));
            }
            Err(e) => tracing::warn!(error = %e, "metrics: cannot count pending deletions"),
        }
        let mut body = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut body, &self.registry) {
            tracing::error!(error = %e, "metrics: encoding failed");
            return ErrorInfo::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ProblemCode::InternalError,
                "Internal error",
            )
            .to_response(None);
        }
        Response::builder()
            .status(StatusCode::OK)
            .content_type(CONTENT_TYPE)
            .body(body)
    }
}

/// Records every request into `metrics`; serves `GET /metrics` itself.
pub async fn record<E: Endpoint>(
    next: E,
    req: Request,
    metrics: Arc<Metrics>,
) -> poem::Result<Response> {
    if req.uri().path() == "/metrics" && req.method() == poem::http::Method::GET {
        let resp = metrics.scrape(&req).await;
        return Ok(resp);
    }
    let started = Instant::now();
    let labels = metrics.labels_of(req.uri().path());
    let answer = next.call(req).await.map(IntoResponse::into_response);
    let status = match &answer {
        Ok(resp) => resp.status(),
        Err(e) => e.status(),
    };
    metrics.observe(labels, status, started);
    answer
}

/// The operation a path belongs to (a fixed set: never a label from the request itself).
fn operation_of(path: &str) -> &'static str {
    let last = path.rsplit('/').next().unwrap_or_default();
    if path.starts_with("/admin/") || path == "/admin" {
        return "admin";
    }
    match (path, last) {
        ("/healthz" | "/readyz", _) => "health",
        ("/openapi.json", _) => "spec",
        _ if path.starts_with("/docs") => "docs",
        _ if path.starts_with("/dev/") => "dev",
        ("/setup", _) => "setup",
        _ if path.starts_with("/setup/") => "setup",
        (_, "getToken") if tenant_in_path(path).is_some() || path == "/getToken" => "getToken",
        (_, "deleteUser") if tenant_in_path(path).is_some() || path == "/deleteUser" => {
            "deleteUser"
        }
        (_, "exchangeToken") if tenant_in_path(path).is_some() || path == "/exchangeToken" => {
            "exchangeToken"
        }
        (_, "user") if tenant_in_path(path).is_some() => "getUser",
        _ => "other",
    }
}

/// The tenant of `/tenants/{tenant}/…`.
fn tenant_in_path(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/tenants/")?;
    let (tenant, operation) = rest.split_once('/')?;
    (!tenant.is_empty() && !operation.contains('/')).then_some(tenant)
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// The tenant label values: the first `max` known tenants by their id, the rest `other`.
struct TenantLabels {
    max: usize,
    labels: RwLock<HashMap<String, Arc<str>>>,
    other: Arc<str>,
}

impl TenantLabels {
    fn new(max: usize) -> Self {
        Self {
            max,
            labels: RwLock::new(HashMap::new()),
            other: Arc::from(OTHER_TENANT),
        }
    }

    /// The label of tenant `id`, which `known` says exists.
    fn label(&self, id: &str, known: impl Fn(&str) -> bool) -> Arc<str> {
        if let Some(label) = self
            .labels
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
        {
            return Arc::clone(label);
        }
        if !known(id) {
            return Arc::clone(&self.other);
        }
        let mut labels = self
            .labels
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if labels.len() >= self.max {
            return Arc::clone(&self.other);
        }
        Arc::clone(labels.entry(id.to_owned()).or_insert_with(|| Arc::from(id)))
    }

    /// The label of a tenant named by the layers below (already a known tenant).
    fn known(&self, id: &str) -> Arc<str> {
        self.label(id, |_| true)
    }
}

/// What is read at scrape time, from the service layer's [`Stats`].
#[derive(Clone)]
struct Scraped {
    stats: Stats,
    tenants: Arc<TenantLabels>,
}

impl std::fmt::Debug for Scraped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scraped").finish_non_exhaustive()
    }
}

type Labels = Vec<(&'static str, String)>;

/// A counter series with two labels.
fn counted(labels: [(&'static str, &str); 2], n: u64) -> (Labels, ConstCounter) {
    (
        labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        ConstCounter::new(n),
    )
}

/// One metric with its series.
fn encode_series<M: EncodeMetric>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    series: Vec<(Labels, M)>,
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, kind)?;
    for (labels, value) in series {
        value.encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for Scraped {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snapshot = self.stats.snapshot();
        // ACS, per resource.
        let mut calls = Vec::new();
        let mut circuits = Vec::new();
        for resource in snapshot.resources {
            for (operation, outcome, n) in resource.calls {
                calls.push((
                    vec![
                        ("operation", operation.as_str().to_owned()),
                        ("outcome", outcome.as_str().to_owned()),
                        ("resource", resource.name.clone()),
                    ],
                    ConstCounter::new(n),
                ));
            }
            circuits.push((
                vec![("resource", resource.name)],
                ConstGauge::new(i64::from(resource.circuit_open)),
            ));
        }
        encode_series(
            &mut encoder,
            "acs_calls",
            "ACS calls by operation, outcome (ok, throttled: ACS 429 or our pacing, refused, timeout, transport, circuit_open, credential) and resource",
            MetricType::Counter,
            calls,
        )?;
        encode_series(
            &mut encoder,
            "acs_circuit_open",
            "1 while the resource's circuit breaker is open or half-open (calls suspended), else 0",
            MetricType::Gauge,
            circuits,
        )?;

        // Identity-provider documents.
        let fetched = snapshot.idp_fetches;
        let fetch = |kind, outcome, n| counted([("kind", kind), ("outcome", outcome)], n);
        encode_series(
            &mut encoder,
            "idp_fetches",
            "Fetches of identity-provider documents, by kind (jwks, discovery) and outcome (ok, error)",
            MetricType::Counter,
            vec![
                fetch("jwks", "ok", fetched.key_sets_fetched),
                fetch("jwks", "error", fetched.key_set_failures),
                fetch("discovery", "ok", fetched.discovery_fetched),
                fetch("discovery", "error", fetched.discovery_failures),
            ],
        )?;

        // Caches.
        let verified = snapshot.verified_tokens;
        let caches = snapshot.caches;
        let lookup = |cache, result, n| counted([("cache", cache), ("result", result)], n);
        encode_series(
            &mut encoder,
            "cache_lookups",
            "Cache lookups by cache (verified_token, mapping, acs_token) and result (hit, miss); the hit ratio is hit / (hit + miss)",
            MetricType::Counter,
            vec![
                lookup("verified_token", "hit", verified.cache_hits),
                lookup("verified_token", "miss", verified.verifications),
                lookup("mapping", "hit", caches.mapping_hits),
                lookup("mapping", "miss", caches.mapping_misses),
                lookup("acs_token", "hit", caches.token_hits),
                lookup("acs_token", "miss", caches.token_misses),
            ],
        )?;

        // Setup links.
        let setup = snapshot.setup_links;
        let event = |name: &str, n| (vec![("event", name.to_owned())], ConstCounter::new(n));
        encode_series(
            &mut encoder,
            "setup_links",
            "Setup links by event: created, opened (the first time), submitted, activated",
            MetricType::Counter,
            vec![
                event("created", setup.created),
                event("opened", setup.opened),
                event("submitted", setup.submitted),
                event("activated", setup.activated),
            ],
        )?;

        // Refused tokens, per tenant (folded like the request labels) and code.
        let labels = &self.tenants;
        let mut refused: HashMap<(String, &'static str), u64> = HashMap::new();
        for ((tenant, code), n) in snapshot.refused_tokens {
            let tenant = labels.known(&tenant).to_string();
            *refused.entry((tenant, code)).or_default() += n;
        }
        let mut refused: Vec<_> = refused.into_iter().collect();
        refused.sort();
        encode_series(
            &mut encoder,
            "refused_tokens",
            "Bearer tokens refused, by tenant and stable code (token_expired, token_invalid_signature, …)",
            MetricType::Counter,
            refused
                .into_iter()
                .map(|((tenant, code), n)| {
                    (
                        vec![("tenant", tenant), ("code", code.to_owned())],
                        ConstCounter::new(n),
                    )
                })
                .collect(),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_come_from_a_fixed_set() {
        for (path, operation) in [
            ("/tenants/acme/getToken", "getToken"),
            ("/getToken", "getToken"),
            ("/tenants/acme/deleteUser", "deleteUser"),
            ("/tenants/acme/user", "getUser"),
            ("/exchangeToken", "exchangeToken"),
            ("/admin/tenants/acme/check", "admin"),
            ("/readyz", "health"),
            ("/docs/index.css", "docs"),
            ("/setup", "setup"),
            ("/setup/validate", "setup"),
            ("/tenants/acme/getToken/x", "other"),
            ("/anything/getToken", "other"),
            ("/whatever-an-attacker-sends", "other"),
        ] {
            assert_eq!(operation_of(path), operation, "{path}");
        }
    }

    #[test]
    fn tenant_labels_are_bounded_and_unknown_tenants_are_other() {
        let labels = TenantLabels::new(2);
        let known = |id: &str| id != "invented";
        assert_eq!(&*labels.label("a", known), "a");
        assert_eq!(&*labels.label("b", known), "b");
        assert_eq!(&*labels.label("c", known), "other", "past the bound");
        assert_eq!(&*labels.label("a", known), "a", "kept");
        assert_eq!(&*labels.label("invented", known), "other");
    }
}
