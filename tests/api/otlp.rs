//! With the `otlp` feature, `serve` exports its request spans over OTLP/HTTP: each continues
//! the caller's W3C trace, and the last ones are flushed when the server stops.
#![cfg(feature = "otlp")]

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use acs_auth_providers::testing::TestIssuer;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use poem::{EndpointExt, Route, handler, post, web::Data};
use prost::Message as _;

use crate::helpers::{TENANT, start_emulator};

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
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nshutdown_delay_secs = 0\n[log]\notlp_endpoint = \"http://{collector}/v1/traces\"\n\
             [database]\nurl = \"sqlite://{}?mode=rwc\"\n[acs]\nconnection_string = \"{}\"\n\
             [[tenants]]\nid = \"{TENANT}\"\n[tenants.provider]\nkind = \"oidc\"\nissuer = \"{}\"\n\
             audiences = [\"{}\"]\nallow_http = true\nallow_private_network = true\n",
            dir.path().join("db.sqlite").display(),
            emulator.connection_string(),
            idp.issuer(),
            idp.audience()
        ),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_acs-auth"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = acs_auth_providers::http_client();
    let started = Instant::now();
    while client.get(format!("{base}/readyz")).send().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let resp = client
        .post(format!("{base}/tenants/{TENANT}/getToken"))
        .bearer_auth(idp.token("alice"))
        .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);

    // Stopping flushes the batch.
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server did not exit"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
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
