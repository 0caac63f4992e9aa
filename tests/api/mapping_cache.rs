//! Mappings past `cache.mapping_ttl_secs` are read again in the background: the call that finds
//! one is answered from memory, and a mapping deleted elsewhere is dropped by that refresh.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{TENANT, spawn_app};

async fn user_id(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    let id = body["user"]["communicationUserId"]
        .as_str()
        .unwrap_or_default();
    (status, id.to_owned())
}

#[tokio::test]
async fn a_mapping_past_its_ttl_is_served_while_read_again_and_dropped_once_gone() {
    let app = spawn_app().await;
    let (replica, _server) = app.spawn_replica().await;
    let bearer = app.idp.token("alice");
    let (status, first) = user_id(app.get_token(&bearer).await).await;
    assert_eq!(status, 201);

    // The user is deleted through the other replica: this one's mapping is now stale.
    let resp = app
        .client
        .delete(format!("{replica}/tenants/{TENANT}/deleteUser"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    assert_eq!(
        user_id(app.get_token(&bearer).await).await,
        (200, first.clone())
    );

    // Past the TTL, the call is still answered from memory (it does not wait for the store)…
    app.clock
        .advance(Duration::from_secs(app.settings.cache.mapping_ttl_secs + 1));
    assert_eq!(
        user_id(app.get_token(&bearer).await).await,
        (200, first.clone())
    );

    // …and the refresh it started finds the mapping gone: the next call makes a new identity.
    let deadline = Instant::now() + Duration::from_secs(10);
    let second = loop {
        let (status, id) = user_id(app.get_token(&bearer).await).await;
        if status == 201 {
            break id;
        }
        assert_eq!((status, &id), (200, &first));
        assert!(
            Instant::now() < deadline,
            "the stale mapping was never dropped"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_ne!(second, first);
}

#[tokio::test]
async fn a_mapping_that_is_still_valid_stays_after_its_refresh() {
    let app = spawn_app().await;
    let bearer = app.idp.token("bob");
    let (status, first) = user_id(app.get_token(&bearer).await).await;
    assert_eq!(status, 201);
    for round in 1..=3 {
        app.clock
            .advance(Duration::from_secs(app.settings.cache.mapping_ttl_secs + 1));
        assert_eq!(
            user_id(app.get_token(&bearer).await).await,
            (200, first.clone())
        );
        // Once the refresh has read the store, the mapping is still the same identity.
        let deadline = Instant::now() + Duration::from_secs(10);
        while app.state.tokens.mapping_refreshes() < round {
            assert!(Instant::now() < deadline, "the refresh never finished");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            user_id(app.get_token(&bearer).await).await,
            (200, first.clone())
        );
    }
}
