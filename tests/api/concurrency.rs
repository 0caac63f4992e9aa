use std::collections::HashSet;

use serde_json::Value;

use crate::helpers::{TENANT, spawn_app};

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
