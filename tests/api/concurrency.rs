use std::collections::HashSet;
use std::time::Duration;

use acs_auth::acs::Operation;
use acs_auth::acs::emulator::Fault;
use serde_json::Value;

use crate::helpers::{TENANT, TestApp, spawn_app, spawn_app_with};

/// `n` getToken calls with `bearer` at once; their statuses and tokens.
async fn concurrent_get_tokens(app: &TestApp, bearer: &str, n: usize) -> (Vec<u16>, Vec<String>) {
    let calls = (0..n).map(|_| app.get_token(bearer));
    let mut statuses = Vec::new();
    let mut tokens = Vec::new();
    for resp in futures::future::join_all(calls).await {
        statuses.push(resp.status().as_u16());
        let body: Value = resp.json().await.unwrap();
        tokens.push(body["token"].as_str().unwrap().to_owned());
    }
    (statuses, tokens)
}

/// The ACS token a single getToken call hands out.
async fn one_token(app: &TestApp, bearer: &str) -> String {
    let resp = app.get_token(bearer).await;
    assert!(resp.status().is_success(), "{}", resp.status());
    let body: Value = resp.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

/// Holds the next call of `operation` at the emulator for a while, so that concurrent calls
/// are all in flight while it runs (without single-flight each of them would reach ACS). The
/// assertions do not depend on it: a call arriving after the held one finished is a cache hit.
fn hold_next(app: &TestApp, operation: Operation) {
    app.emulator.emulator().inject(
        operation,
        Fault::LatencyFor {
            delay: Duration::from_millis(500),
            times: 1,
        },
    );
}

#[tokio::test]
async fn fifty_concurrent_first_calls_make_one_acs_create_and_one_token() {
    let app = spawn_app().await;
    let emulator = app.emulator.emulator();
    hold_next(&app, Operation::Create);
    let bearer = app.idp.token("alice");

    let (statuses, tokens) = concurrent_get_tokens(&app, &bearer, 50).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 201),
        "{statuses:?}"
    );
    // One create, which issued the token too (createIdentity with a token): no separate issue,
    // and every caller got that one token.
    assert_eq!(emulator.call_count(Operation::Create), 1);
    assert_eq!(emulator.call_count(Operation::Issue), 0);
    assert_eq!(tokens.iter().collect::<HashSet<_>>().len(), 1);
    assert_eq!(emulator.live_identity_count(), 1);
    // The bearer token was verified once for all of them.
    assert_eq!(app.verification_stats().verifications, 1);
}

#[tokio::test]
async fn fifty_concurrent_calls_of_a_returning_user_after_the_reuse_window_make_one_issue() {
    let app = spawn_app().await;
    let emulator = app.emulator.emulator();
    let bearer = app.idp.token("alice");
    one_token(&app, &bearer).await;
    assert_eq!(emulator.call_count(Operation::Create), 1);

    // A 60-minute token is reused while 75 % of its lifetime is left: for 15 minutes.
    app.clock.advance(Duration::from_secs(15 * 60 + 1));
    hold_next(&app, Operation::Issue);
    let (statuses, tokens) = concurrent_get_tokens(&app, &bearer, 50).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(
        emulator.call_count(Operation::Issue),
        1,
        "one issue for 50 calls"
    );
    assert_eq!(emulator.call_count(Operation::Create), 1, "no new identity");
    // (The emulator's tokens are deterministic: issued within the same second as the first,
    // the new one may have the same bytes; the issue count is what tells them apart.)
    let tokens: HashSet<_> = tokens.into_iter().collect();
    assert_eq!(tokens.len(), 1, "everyone got the one new token");
}

#[tokio::test]
async fn a_token_inside_the_reuse_window_is_handed_out_again_and_one_past_it_replaced_once() {
    let app = spawn_app().await;
    let emulator = app.emulator.emulator();
    let bearer = app.idp.token("alice");
    let first = one_token(&app, &bearer).await;

    // 14 of the 15 minutes gone: the same token, no ACS call.
    app.clock.advance(Duration::from_secs(14 * 60));
    assert_eq!(one_token(&app, &bearer).await, first);
    assert_eq!(emulator.call_count(Operation::Issue), 0);

    // Past 15 minutes (less than 75 % left): exactly one new issue, then that token is reused.
    app.clock.advance(Duration::from_secs(61));
    // (Issued within the same second as the first, the emulator's token may have the same
    // bytes; the issue count tells.)
    let second = one_token(&app, &bearer).await;
    assert_eq!(emulator.call_count(Operation::Issue), 1);
    assert_eq!(one_token(&app, &bearer).await, second);
    assert_eq!(one_token(&app, &bearer).await, second);
    assert_eq!(emulator.call_count(Operation::Issue), 1);
    assert_eq!(emulator.call_count(Operation::Create), 1);
}

#[tokio::test]
async fn min_remaining_percent_100_makes_every_cached_token_stale_at_once() {
    let app = spawn_app_with(|s, _| s.cache.min_remaining_percent = 100).await;
    let emulator = app.emulator.emulator();
    let bearer = app.idp.token("alice");
    one_token(&app, &bearer).await; // created with its token
    for issued in 1..=3 {
        one_token(&app, &bearer).await;
        assert_eq!(emulator.call_count(Operation::Issue), issued);
    }
    assert_eq!(emulator.call_count(Operation::Create), 1);
}

#[tokio::test]
async fn fifty_concurrent_first_calls_make_one_mapping_and_one_identity() {
    let app = spawn_app().await;
    let bearer = app.idp.token("alice");
    let calls = (0..50).map(|_| app.get_token(&bearer));
    let responses = futures::future::join_all(calls).await;

    let mut statuses = Vec::new();
    let mut ids = HashSet::new();
    for resp in responses {
        statuses.push(resp.status().as_u16());
        let body: Value = resp.json().await.unwrap();
        ids.insert(
            body["user"]["communicationUserId"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(ids.len(), 1, "one identity for everyone");
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "exactly one creator: {statuses:?}"
    );
    assert!(statuses.iter().all(|s| *s == 200 || *s == 201));
    assert_eq!(app.mappings().await.len(), 1);
    assert_eq!(app.emulator.emulator().live_identity_count(), 1);
}

#[tokio::test]
async fn concurrent_first_calls_on_two_replicas_leave_one_live_identity() {
    let app = spawn_app().await;
    let (replica, _server) = app.spawn_replica().await;
    let client = acs_auth_providers::http_client();

    for round in 0..5 {
        let bearer = app.idp.token(&format!("user-{round}"));
        let mut calls = Vec::new();
        for i in 0..10 {
            let base = if i % 2 == 0 {
                app.address.clone()
            } else {
                replica.clone()
            };
            let req = client
                .post(format!("{base}/tenants/{TENANT}/getToken"))
                .bearer_auth(bearer.clone())
                .send();
            calls.push(req);
        }
        let mut ids = HashSet::new();
        for resp in futures::future::join_all(calls).await {
            let resp = resp.unwrap();
            assert!(resp.status().is_success(), "{}", resp.status());
            let body: Value = resp.json().await.unwrap();
            ids.insert(
                body["user"]["communicationUserId"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        assert_eq!(
            ids.len(),
            1,
            "round {round}: both replicas hand out the same identity"
        );
    }
    assert_eq!(app.mappings().await.len(), 5);
    // Losers deleted what they created: one live identity per subject.
    assert_eq!(app.emulator.emulator().live_identity_count(), 5);
    assert!(
        app.state
            .store
            .pending_deletions()
            .await
            .unwrap()
            .is_empty()
    );
}
