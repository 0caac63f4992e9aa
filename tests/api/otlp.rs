//! With the `otlp` feature, `serve` exports its request spans over OTLP/HTTP: each continues
//! the caller's W3C trace, and the last ones are flushed when the server stops.
#![cfg(feature = "otlp")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use acs_auth_providers::testing::TestIssuer;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use poem::{EndpointExt, Route, handler, post, web::Data};
use prost::Message as _;

use crate::helpers::{TENANT, start_emulator};
use crate::process::{exited, serve, sigterm};

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

type Received = Arc<Mutex<Vec<Vec<u8>>>>;

#[handler]
fn collect(body: Vec<u8>, received: Data<&Received>) -> &'static str {
    received.lock().unwrap().push(body);
    ""
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_spans_are_exported_as_children_of_the_callers_trace() {
    // The collector: OTLP/HTTP receives protobuf at /v1/traces.
    let received: Received = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector = listener.local_addr().unwrap();
    let app = Route::new()
        .at("/v1/traces", post(collect))
        .data(Arc::clone(&received));
    tokio::spawn(async move {
        let _ = poem::Server::new_with_acceptor(
            poem::listener::TcpAcceptor::from_tokio(listener).unwrap(),
        )
        .run(app)
        .await;
    });

    let idp = TestIssuer::start().await;
    let emulator = start_emulator().await;
    let mut server = serve(
        &idp,
        &emulator,
        &format!(
            "[server]\nshutdown_delay_secs = 0\n[log]\notlp_endpoint = \"http://{collector}/v1/traces\""
        ),
        "",
    )
    .await;
    let base = server.base.clone();
    let client = acs_auth_providers::http_client();
    let resp = client
        .post(format!("{base}/tenants/{TENANT}/getToken"))
        .bearer_auth(idp.token("alice"))
        .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);

    // Stopping flushes the batch.
    sigterm(&server);
    let (status, _) = exited(&mut server, Duration::from_secs(30)).await;
    assert!(status.success(), "{status:?}");

    let bodies = received.lock().unwrap().clone();
    assert!(!bodies.is_empty(), "nothing was exported");
    let mut spans = Vec::new();
    for body in &bodies {
        let export = ExportTraceServiceRequest::decode(body.as_slice()).unwrap();
        for resource in export.resource_spans {
            let service = resource
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|a| a.key == "service.name")
                .and_then(|a| a.value.clone())
                .map(|v| format!("{:?}", v.value));
            for scope in resource.scope_spans {
                for span in scope.spans {
                    spans.push((
                        span.name.clone(),
                        hex(&span.trace_id),
                        hex(&span.parent_span_id),
                        service.clone().unwrap_or_default(),
                    ));
                }
            }
        }
    }
    let request = spans
        .iter()
        .find(|(name, trace, _, _)| name == "request" && trace == CALLER_TRACE)
        .unwrap_or_else(|| panic!("no request span of the caller's trace in {spans:?}"));
    assert_eq!(request.2, CALLER_SPAN, "a child of the caller's span");
    assert!(request.3.contains("acs-auth"), "{:?}", request.3);
}
