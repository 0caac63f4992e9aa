//! Logging with `tracing`: text or JSON lines on stderr; `RUST_LOG` overrides the configured
//! level. Colours only when stderr is a terminal (never in a file, a pipe or a container log).
//! Tokens and secrets are never passed to a log macro.
//!
//! With the `otlp` cargo feature and `log.otlp_endpoint` set, request spans are also exported
//! over OTLP (HTTP, protobuf) in batches: each continues the caller's W3C trace
//! ([`request_span`]), so acs-auth's spans join the caller's trace.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::LogFormat;
use crate::trace::TraceContext;

/// Keeps the span exporter running; dropping it flushes the spans not yet sent.
#[derive(Default)]
#[must_use = "dropping the guard stops the span export"]
pub struct TelemetryGuard {
    #[cfg(feature = "otlp")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        #[cfg(feature = "otlp")]
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("warning: exporting the last spans failed: {e}");
        }
    }
}

/// Installs the global subscriber once; later calls are no-ops.
pub fn init(level: &str, format: LogFormat) {
    drop(init_with_export(level, format, None));
}

/// Like [`init`], and exports spans to `otlp_endpoint` (an OTLP/HTTP traces URL such as
/// `http://collector:4318/v1/traces`) when given. Without the `otlp` feature an endpoint is a
/// configuration error.
pub fn init_with_export(
    level: &str,
    format: LogFormat,
    otlp_endpoint: Option<&str>,
) -> Result<TelemetryGuard, String> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(true);
    let fmt = match format {
        LogFormat::Json => fmt.json().flatten_event(true).boxed(),
        LogFormat::Text => fmt.boxed(),
    };
    let registry = tracing_subscriber::registry().with(filter).with(fmt);
    #[cfg(feature = "otlp")]
    {
        let provider = otlp_endpoint.map(otlp::provider).transpose()?;
        let layer = provider.as_ref().map(|p| {
            use opentelemetry::trace::TracerProvider as _;
            tracing_opentelemetry::layer().with_tracer(p.tracer("acs-auth"))
        });
        EXPORTING.store(provider.is_some(), std::sync::atomic::Ordering::Relaxed);
        let _ = registry.with(layer).try_init();
        Ok(TelemetryGuard { provider })
    }
    #[cfg(not(feature = "otlp"))]
    {
        let _ = registry.try_init();
        match otlp_endpoint {
            Some(_) => Err("`log.otlp_endpoint` needs a build with the `otlp` feature \
                            (cargo build --features otlp)"
                .to_owned()),
            None => Ok(TelemetryGuard::default()),
        }
    }
}

#[cfg(feature = "otlp")]
static EXPORTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether spans are exported (so every request gets one).
pub fn exporting() -> bool {
    #[cfg(feature = "otlp")]
    {
        EXPORTING.load(std::sync::atomic::Ordering::Relaxed)
    }
    #[cfg(not(feature = "otlp"))]
    {
        false
    }
}

/// The span of one request, a child of `trace`'s caller span (for the export) and carrying
/// its trace id (for the log lines).
pub fn request_span(trace: &TraceContext) -> tracing::Span {
    let span = tracing::info_span!("request", trace_id = %trace.trace_id());
    #[cfg(feature = "otlp")]
    if exporting() {
        use tracing_opentelemetry::OpenTelemetrySpanExt as _;
        let _ = span.set_parent(otlp::remote_parent(trace));
    }
    span
}

#[cfg(feature = "otlp")]
mod otlp {
    //! The OTLP exporter, sending with reqwest 0.12 on the server's runtime.

    use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId};
    use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
    use opentelemetry_sdk::trace::SdkTracerProvider;

    use crate::trace::TraceContext;

    /// Sends the exporter's requests with reqwest, on the runtime that built it (the batch
    /// processor calls from a thread of its own).
    #[derive(Debug)]
    struct Client {
        http: reqwest::Client,
        runtime: tokio::runtime::Handle,
    }

    #[async_trait::async_trait]
    impl opentelemetry_http::HttpClient for Client {
        async fn send_bytes(
            &self,
            request: http::Request<bytes::Bytes>,
        ) -> Result<http::Response<bytes::Bytes>, opentelemetry_http::HttpError> {
            let http = self.http.clone();
            let (parts, body) = request.into_parts();
            let sent = self.runtime.spawn(async move {
                let url = parts.uri.to_string();
                let response = http
                    .request(parts.method, url)
                    .headers(parts.headers)
                    .body(body)
                    .send()
                    .await?;
                let status = response.status();
                let body = response.bytes().await?;
                Ok::<_, reqwest::Error>((status, body))
            });
            let (status, body) = sent.await??;
            Ok(http::Response::builder().status(status).body(body)?)
        }
    }

    pub(super) fn provider(endpoint: &str) -> Result<SdkTracerProvider, String> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| "the span exporter needs the server's runtime".to_owned())?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| format!("span exporter client: {e}"))?;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(endpoint)
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_http_client(Client { http, runtime })
            .build()
            .map_err(|e| format!("`log.otlp_endpoint`: {e}"))?;
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name("acs-auth")
            .build();
        Ok(SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build())
    }

    /// The caller's span (or the trace started here) as the remote parent of a request span.
    pub(super) fn remote_parent(trace: &TraceContext) -> opentelemetry::Context {
        let (trace_id, parent_id, flags) = trace.parts();
        let context = SpanContext::new(
            TraceId::from_bytes(trace_id),
            SpanId::from_bytes(parent_id),
            TraceFlags::new(flags),
            true,
            Default::default(),
        );
        opentelemetry::Context::new().with_remote_span_context(context)
    }
}
