//! acs_resources: upsert (idempotent, updates a changed config), listing, concurrency.

use std::sync::Arc;

use tokio::sync::Barrier;

use crate::harness::Ctx;
use crate::support::{secs, stored, t0};

pub async fn upsert_acs_resource_is_idempotent_and_updates_a_changed_config(ctx: Ctx) {
    let store = &ctx.store;
    let name = "acs-one.communication.azure.com";
    let v1 = r#"{"endpoint":"https://acs-one.communication.azure.com/","key":"k1"}"#;
    let v2 = r#"{"endpoint":"https://acs-one.communication.azure.com/","key":"k2"}"#;
    store.upsert_acs_resource(name, v1, t0()).await.unwrap();
    let all = store.acs_resources().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].name, name);
    assert_eq!(all[0].config, v1);
    assert_eq!(all[0].created_at, stored(t0()));
    assert_eq!(all[0].updated_at, stored(t0()));

    // Same config later: nothing changes, not even updated_at.
    store
        .upsert_acs_resource(name, v1, t0() + secs(60))
        .await
        .unwrap();
    assert_eq!(store.acs_resources().await.unwrap(), all);

    // A changed config replaces the old one.
    store
        .upsert_acs_resource(name, v2, t0() + secs(120))
        .await
        .unwrap();
    let changed = store.acs_resources().await.unwrap();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].config, v2);
    assert_eq!(changed[0].created_at, stored(t0()));
    assert_eq!(changed[0].updated_at, stored(t0() + secs(120)));

    // Differences in case or trailing space are changes too.
    let v3 = format!("{v2} ");
    store
        .upsert_acs_resource(name, &v3, t0() + secs(180))
        .await
        .unwrap();
    assert_eq!(store.acs_resources().await.unwrap()[0].config, v3);

    // Listed by name, byte order; names compared exactly.
    let big = "k".repeat(70_000);
    store
        .upsert_acs_resource("ACS-one.communication.azure.com", &big, t0())
        .await
        .unwrap();
    store
        .upsert_acs_resource("acs-0.communication.azure.com", "{}", t0())
        .await
        .unwrap();
    let names: Vec<_> = store
        .acs_resources()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(
        names,
        [
            "ACS-one.communication.azure.com",
            "acs-0.communication.azure.com",
            "acs-one.communication.azure.com"
        ]
    );
    assert_eq!(store.acs_resources().await.unwrap()[0].config, big);
    assert!(
        store
            .upsert_acs_resource(&"n".repeat(256), "{}", t0())
            .await
            .is_err()
    );
}

pub async fn concurrent_upserts_of_one_resource_store_one_row(ctx: Ctx) {
    const RACERS: usize = 6;
    let replicas = ctx.replicas(RACERS).await;
    let barrier = Arc::new(Barrier::new(RACERS));
    let mut tasks = Vec::new();
    for store in replicas {
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store
                .upsert_acs_resource("shared.communication.azure.com", r#"{"k":1}"#, t0())
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let all = ctx.store.acs_resources().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].config, r#"{"k":1}"#);
}
