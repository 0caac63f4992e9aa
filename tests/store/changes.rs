//! change_log: every mapping and tenant change is logged in its own transaction, in id order,
//! with the replica that made it; trimming keeps the newest row.

use acs_auth::store::DeletionReason;
use acs_auth::store::admin::TenantRow;
use acs_auth::store::changes::{Change, ChangeKind};

use crate::harness::Ctx;
use crate::support::{key, mapped, new_mapping, secs, t0};

fn row(id: &str) -> TenantRow {
    TenantRow {
        id: id.to_owned(),
        display_name: id.to_owned(),
        enabled: true,
        config: "{}".to_owned(),
    }
}

fn kinds(changes: &[Change]) -> Vec<ChangeKind> {
    changes.iter().map(|c| c.kind).collect()
}

pub async fn every_mapping_and_tenant_change_is_logged_in_order_with_its_origin(ctx: Ctx) {
    let store = &ctx.store;
    assert_eq!(store.last_change_id().await.unwrap(), 0, "an empty log");
    store.insert_tenant(row("acme"), t0()).await.unwrap();
    let alice = key("acme", "https://idp.example", "alice");
    let m = mapped(store, &alice, "8:acs:alice").await;
    store.update_tenant(row("acme"), t0()).await.unwrap();
    store
        .delete_mapping_and_enqueue(&m, DeletionReason::UserDeleted, t0())
        .await
        .unwrap();
    store.delete_tenant_and_enqueue("acme", t0()).await.unwrap();

    let all = store.changes_after(0, 100).await.unwrap();
    assert_eq!(
        kinds(&all),
        [
            ChangeKind::TenantChanged,
            ChangeKind::MappingCreated,
            ChangeKind::TenantChanged,
            ChangeKind::MappingDeleted,
            ChangeKind::TenantRemoved,
        ]
    );
    assert!(all.windows(2).all(|w| w[0].id < w[1].id), "ids grow");
    assert!(
        all.iter()
            .all(|c| c.origin == store.origin() && c.tenant_id == "acme")
    );
    for mapping_change in [&all[1], &all[3]] {
        assert_eq!(mapping_change.key.as_ref(), Some(&alice));
        assert_eq!(mapping_change.acs_user_id.as_deref(), Some("8:acs:alice"));
    }
    assert_eq!(all[4].key, None);
    assert_eq!(store.last_change_id().await.unwrap(), all[4].id);

    // Reading on from an id, and by ids.
    let after = store.changes_after(all[2].id, 100).await.unwrap();
    assert_eq!(
        kinds(&after),
        [ChangeKind::MappingDeleted, ChangeKind::TenantRemoved]
    );
    let limited = store.changes_after(0, 2).await.unwrap();
    assert_eq!(limited.len(), 2);
    let picked = store
        .changes_with_ids(&[all[3].id, all[0].id, 999_999])
        .await
        .unwrap();
    assert_eq!(picked, vec![all[0].clone(), all[3].clone()]);

    // Another replica's store has its own origin.
    let other = ctx.replica(1).await;
    assert_ne!(other.origin(), store.origin());
}

pub async fn a_lost_race_and_a_refused_delete_log_nothing(ctx: Ctx) {
    let store = &ctx.store;
    let bob = key("acme", "iss", "bob");
    let m = mapped(store, &bob, "8:acs:bob").await;
    assert!(
        !store
            .insert_mapping_if_absent(&new_mapping(&bob, "8:acs:loser"), t0())
            .await
            .unwrap(),
        "the second insert loses"
    );
    store
        .delete_mapping_and_enqueue(&m, DeletionReason::UserDeleted, t0())
        .await
        .unwrap();
    assert!(
        store
            .delete_mapping_and_enqueue(&m, DeletionReason::UserDeleted, t0())
            .await
            .is_err(),
        "the second delete finds nothing"
    );
    let all = store.changes_after(0, 100).await.unwrap();
    assert_eq!(
        kinds(&all),
        [ChangeKind::MappingCreated, ChangeKind::MappingDeleted]
    );
}

pub async fn trimming_drops_old_changes_but_keeps_the_newest(ctx: Ctx) {
    let store = &ctx.store;
    for n in 0..3 {
        mapped(
            store,
            &key("acme", "iss", &format!("u{n}")),
            &format!("8:acs:{n}"),
        )
        .await;
    }
    let all = store.changes_after(0, 100).await.unwrap();
    assert_eq!(all.len(), 3);
    // Nothing is older than t0 - 1 s.
    assert_eq!(store.trim_changes(t0() - secs(1)).await.unwrap(), 0);
    // Everything is older than t0 + 1 s; the newest row stays, so ids never start over.
    assert_eq!(store.trim_changes(t0() + secs(1)).await.unwrap(), 2);
    let left = store.changes_after(0, 100).await.unwrap();
    assert_eq!(left, vec![all[2].clone()]);
    assert_eq!(store.last_change_id().await.unwrap(), all[2].id);
    mapped(store, &key("acme", "iss", "later"), "8:acs:later").await;
    assert!(store.last_change_id().await.unwrap() > all[2].id);
}

pub async fn heartbeats_count_the_live_replicas_and_leaving_removes_one(ctx: Ctx) {
    let a = &ctx.store;
    let b = ctx.replica(1).await;
    let c = ctx.replica(1).await;
    assert_eq!(a.live_replicas(t0() - secs(60)).await.unwrap(), 0);
    a.heartbeat(t0()).await.unwrap();
    a.heartbeat(t0() + secs(1)).await.unwrap();
    b.heartbeat(t0() + secs(1)).await.unwrap();
    c.heartbeat(t0() - secs(10)).await.unwrap();
    assert_eq!(a.live_replicas(t0()).await.unwrap(), 2, "c is stale");
    assert_eq!(a.live_replicas(t0() - secs(20)).await.unwrap(), 3);
    // Concurrent heartbeats of one replica: still one row.
    let beats = (0..5).map(|_| b.heartbeat(t0() + secs(2)));
    for r in futures::future::join_all(beats).await {
        r.unwrap();
    }
    assert_eq!(a.live_replicas(t0() - secs(20)).await.unwrap(), 3);
    // b leaves and sweeps c (older than t0 - 5 s) on the way.
    b.leave_cluster(t0() - secs(5)).await.unwrap();
    assert_eq!(a.live_replicas(t0() - secs(20)).await.unwrap(), 1);
    assert_eq!(a.forget_replicas(t0() + secs(5)).await.unwrap(), 1);
    assert_eq!(a.live_replicas(t0() - secs(20)).await.unwrap(), 0);
}
