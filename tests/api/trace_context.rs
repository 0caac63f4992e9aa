//! W3C Trace Context: a caller's `traceparent` is continued on the ACS calls its request makes;
//! a request without one starts its own trace.

use crate::helpers::{TENANT, spawn_app};

const CALLER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[tokio::test]
async fn the_callers_trace_is_continued_on_the_acs_calls() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(app.url(&format!("/tenants/{TENANT}/getToken")))
        .bearer_auth(app.idp.token("alice"))
        .header("traceparent", CALLER)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let sent = app
        .emulator
        .emulator()
        .last_traceparent()
        .expect("ACS got a traceparent");
    assert!(
        sent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "same trace: {sent}"
    );
    assert!(
        !sent.contains("00f067aa0ba902b7"),
        "a span of our own: {sent}"
    );
    assert!(sent.ends_with("-01"), "sampled as the caller said: {sent}");

    // Without a traceparent (or with an invalid one) the request starts a new trace.
    for header in [None, Some("00-not-a-trace-01")] {
        let mut req = app
            .client
            .post(app.url(&format!("/tenants/{TENANT}/getToken")))
            .bearer_auth(app.idp.token(&format!("bob-{}", header.is_some())));
        if let Some(h) = header {
            req = req.header("traceparent", h);
        }
        assert_eq!(req.send().await.unwrap().status().as_u16(), 201);
        let sent = app.emulator.emulator().last_traceparent().unwrap();
        assert_eq!(sent.len(), 55, "{sent}");
        assert!(
            sent.starts_with("00-") && !sent.contains("4bf92f3577b34da6"),
            "{sent}"
        );
    }
}
