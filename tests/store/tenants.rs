//! tenants and tenant_registry: insert / get / update / delete, the version replicas poll, and
//! deleting a tenant's mappings with it.

use std::collections::HashSet;
use std::sync::Arc;

use acs_auth::store::StoreError;
use acs_auth::store::admin::TenantRow;
use tokio::sync::Barrier;

use crate::harness::Ctx;
use crate::support::{acs_id, key, mapped, new_mapping, secs, stored, t0};

fn row(id: &str, display_name: &str, config: &str) -> TenantRow {
    TenantRow {
        id: id.to_owned(),
        display_name: display_name.to_owned(),
        enabled: true,
        config: config.to_owned(),
    }
}

pub async fn tenant_insert_get_update_round_trip_and_bump_the_registry_version(ctx: Ctx) {
    let store = &ctx.store;
    assert_eq!(store.registry_version().await.unwrap(), 0);
    assert!(store.get_tenant("acme").await.unwrap().is_none());

    // A config larger than MySQL's 64 KiB TEXT.
    let big_config = format!(r#"{{"id":"acme","blob":"{}"}}"#, "x".repeat(100_000));
    let mut r = row("acme", "Acme Çorp 🚀", &big_config);
    r.enabled = false;
    let inserted = store.insert_tenant(r, t0()).await.unwrap();
    assert_eq!(inserted.id, "acme");
    assert_eq!(inserted.display_name, "Acme Çorp 🚀");
    assert!(!inserted.enabled);
    assert_eq!(inserted.config, big_config);
    assert_eq!(inserted.created_at, stored(t0()));
    assert_eq!(inserted.updated_at, stored(t0()));
    assert_eq!(store.registry_version().await.unwrap(), 1);
    assert_eq!(
        store.get_tenant("acme").await.unwrap(),
        Some(inserted.clone())
    );

    let updated = store
        .update_tenant(row("acme", "Acme", r#"{"id":"acme"}"#), t0() + secs(60))
        .await
        .unwrap();
    assert_eq!(updated.display_name, "Acme");
    assert!(updated.enabled);
    assert_eq!(updated.config, r#"{"id":"acme"}"#);
    assert_eq!(updated.created_at, stored(t0()));
    assert_eq!(updated.updated_at, stored(t0() + secs(60)));
    assert_eq!(store.registry_version().await.unwrap(), 2);
    assert_eq!(
        store.get_tenant("acme").await.unwrap(),
        Some(updated.clone())
    );

    // An update that changes nothing still finds the tenant (MySQL reports matched rows) and
    // still counts as a change.
    let same = store
        .update_tenant(row("acme", "Acme", r#"{"id":"acme"}"#), t0() + secs(60))
        .await
        .unwrap();
    assert_eq!(same, updated);
    assert_eq!(store.registry_version().await.unwrap(), 3);

    let pending = store
        .delete_tenant_and_enqueue("acme", t0() + secs(120))
        .await
        .unwrap();
    assert!(pending.is_empty());
    assert!(store.get_tenant("acme").await.unwrap().is_none());
    assert_eq!(store.registry_version().await.unwrap(), 4);
    assert!(store.all_tenants().await.unwrap().is_empty());

    // The id is free again.
    store
        .insert_tenant(row("acme", "Acme again", "{}"), t0())
        .await
        .unwrap();
    assert_eq!(store.registry_version().await.unwrap(), 5);
}

pub async fn duplicate_tenant_is_a_conflict_and_changes_nothing(ctx: Ctx) {
    let store = &ctx.store;
    let first = store
        .insert_tenant(row("acme", "First", "{}"), t0())
        .await
        .unwrap();
    let again = store
        .insert_tenant(row("acme", "Second", r#"{"x":1}"#), t0() + secs(1))
        .await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    assert_eq!(store.get_tenant("acme").await.unwrap(), Some(first));
    assert_eq!(store.registry_version().await.unwrap(), 1);
    // Ids are compared exactly.
    store
        .insert_tenant(row("Acme", "Upper", "{}"), t0())
        .await
        .unwrap();
    assert_eq!(store.all_tenants().await.unwrap().len(), 2);
    // Too long an id or name is refused, and nothing changes.
    assert!(
        store
            .insert_tenant(row(&"a".repeat(65), "x", "{}"), t0())
            .await
            .is_err()
    );
    assert!(
        store
            .insert_tenant(row("b", &"n".repeat(256), "{}"), t0())
            .await
            .is_err()
    );
    store
        .insert_tenant(row(&"a".repeat(64), &"ñ".repeat(255), "{}"), t0())
        .await
        .unwrap();
    assert_eq!(store.registry_version().await.unwrap(), 3);
}

pub async fn concurrent_inserts_of_one_tenant_have_one_winner(ctx: Ctx) {
    const RACERS: usize = 6;
    let replicas = ctx.replicas(RACERS).await;
    let barrier = Arc::new(Barrier::new(RACERS));
    let mut tasks = Vec::new();
    for (n, store) in replicas.into_iter().enumerate() {
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store
                .insert_tenant(row("contested", &format!("racer {n}"), "{}"), t0())
                .await
        }));
    }
    let (mut ok, mut conflict) = (Vec::new(), 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(t) => ok.push(t),
            Err(StoreError::Conflict) => conflict += 1,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(ok.len(), 1);
    assert_eq!(conflict, RACERS - 1);
    assert_eq!(
        ctx.store.get_tenant("contested").await.unwrap(),
        Some(ok[0].clone())
    );
    assert_eq!(ctx.store.registry_version().await.unwrap(), 1);
}

pub async fn update_or_delete_of_a_missing_tenant_is_not_found(ctx: Ctx) {
    let store = &ctx.store;
    let update = store.update_tenant(row("ghost", "Ghost", "{}"), t0()).await;
    assert!(matches!(update, Err(StoreError::NotFound)), "{update:?}");
    let delete = store.delete_tenant_and_enqueue("ghost", t0()).await;
    assert!(matches!(delete, Err(StoreError::NotFound)), "{delete:?}");
    assert_eq!(store.registry_version().await.unwrap(), 0);
    // Mappings of a tenant that is not stored (a config-file tenant) are left alone.
    mapped(store, &key("ghost", "iss", "user"), "8:acs:ghost").await;
    assert!(
        store
            .delete_tenant_and_enqueue("ghost", t0())
            .await
            .is_err()
    );
    assert_eq!(store.count_mappings("ghost").await.unwrap(), 1);
    assert!(store.pending_deletions().await.unwrap().is_empty());
}

pub async fn all_tenants_are_listed_in_byte_order(ctx: Ctx) {
    let store = &ctx.store;
    for id in ["b", "ab", "a-c", "a", "b-1", "0"] {
        store.insert_tenant(row(id, id, "{}"), t0()).await.unwrap();
    }
    let ids: Vec<_> = store
        .all_tenants()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, ["0", "a", "a-c", "ab", "b", "b-1"]);
    assert_eq!(store.registry_version().await.unwrap(), 6);
}

pub async fn delete_tenant_removes_its_mappings_and_queues_each_identity(ctx: Ctx) {
    let store = &ctx.store;
    store
        .insert_tenant(row("acme", "Acme", "{}"), t0())
        .await
        .unwrap();
    store
        .insert_tenant(row("globex", "Globex", "{}"), t0())
        .await
        .unwrap();
    let mut acme = Vec::new();
    for n in 0..5 {
        acme.push(mapped(store, &key("acme", "iss", &format!("u{n}")), &acs_id(n)).await);
    }
    let globex = mapped(store, &key("globex", "iss", "u0"), &acs_id(99)).await;
    let version = store.registry_version().await.unwrap();

    let at = t0() + secs(30);
    let pending = store.delete_tenant_and_enqueue("acme", at).await.unwrap();
    let mut queued: Vec<_> = pending.iter().map(|p| p.acs_user_id.clone()).collect();
    queued.sort();
    let mut expected: Vec<_> = acme.iter().map(|m| m.acs_user_id.clone()).collect();
    expected.sort();
    assert_eq!(queued, expected);
    for p in &pending {
        assert_eq!(p.tenant_id, "acme");
        assert_eq!(p.reason, "tenant_deleted");
        assert_eq!(p.acs_resource, "acs-one.communication.azure.com");
        assert_eq!(p.attempts, 0);
        assert_eq!(p.next_attempt_at, stored(at));
        assert_eq!(p.created_at, stored(at));
    }
    assert_eq!(store.pending_deletions().await.unwrap(), pending);
    assert_eq!(store.count_mappings("acme").await.unwrap(), 0);
    assert_eq!(
        store.mappings_of_tenant("globex").await.unwrap(),
        vec![globex]
    );
    assert!(store.get_tenant("acme").await.unwrap().is_none());
    assert!(store.get_tenant("globex").await.unwrap().is_some());
    assert_eq!(store.registry_version().await.unwrap(), version + 1);
}

/// Mapping inserts racing a tenant deletion: afterwards every identity that was mapped is
/// either still mapped or queued for deletion — none is dropped without a pending row.
pub async fn delete_tenant_racing_mapping_inserts_never_drops_a_mapping_unqueued(ctx: Ctx) {
    const WRITERS: usize = 4;
    const PER_WRITER: usize = 10;
    let store = &ctx.store;
    store
        .insert_tenant(row("doomed", "Doomed", "{}"), t0())
        .await
        .unwrap();
    for n in 0..10 {
        mapped(
            store,
            &key("doomed", "iss", &format!("early-{n}")),
            &format!("8:acs:early-{n}"),
        )
        .await;
    }
    let replicas = ctx.replicas(WRITERS + 1).await;
    let barrier = Arc::new(Barrier::new(WRITERS + 1));
    let mut writers = Vec::new();
    for (w, replica) in replicas.iter().take(WRITERS).cloned().enumerate() {
        let barrier = barrier.clone();
        writers.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut won = Vec::new();
            for n in 0..PER_WRITER {
                let acs = format!("8:acs:late-{w}-{n}");
                let k = key("doomed", "iss", &format!("late-{w}-{n}"));
                if replica
                    .insert_mapping_if_absent(&new_mapping(&k, &acs), t0())
                    .await
                    .unwrap()
                {
                    won.push(acs);
                }
            }
            won
        }));
    }
    let deleter = replicas[WRITERS].clone();
    let barrier_d = barrier.clone();
    let deletion = tokio::spawn(async move {
        barrier_d.wait().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        deleter
            .delete_tenant_and_enqueue("doomed", t0())
            .await
            .unwrap()
    });
    let mut mapped_ids: HashSet<String> = (0..10).map(|n| format!("8:acs:early-{n}")).collect();
    for w in writers {
        mapped_ids.extend(w.await.unwrap());
    }
    let returned = deletion.await.unwrap();

    let still: HashSet<String> = store
        .mappings_of_tenant("doomed")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.acs_user_id)
        .collect();
    let queued_rows = store.pending_deletions().await.unwrap();
    let queued: HashSet<String> = queued_rows.iter().map(|p| p.acs_user_id.clone()).collect();
    assert_eq!(
        queued_rows.len(),
        queued.len(),
        "an identity was queued twice"
    );
    assert_eq!(returned.len(), queued_rows.len());
    assert!(
        still.is_disjoint(&queued),
        "queued but still mapped: {:?}",
        still.intersection(&queued)
    );
    let accounted: HashSet<String> = still.union(&queued).cloned().collect();
    assert_eq!(
        accounted, mapped_ids,
        "every mapped identity is still mapped or queued"
    );
    for n in 0..10 {
        assert!(queued.contains(&format!("8:acs:early-{n}")));
    }
}
