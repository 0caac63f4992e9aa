//! setup_links: insert, look up by the secret's hash, and the conditional updates behind each
//! state change (opened once, submitted while open, revoked or activated once), on every backend.

use std::sync::Arc;

use acs_auth::store::setup_links::NewSetupLink;
use tokio::sync::Barrier;

use crate::harness::Ctx;
use crate::support::{secs, stored, t0};

fn link(id: &str, tenant: &str, hash: &str) -> NewSetupLink {
    NewSetupLink {
        id: id.to_owned(),
        tenant_id: tenant.to_owned(),
        token_hash: hash.to_owned(),
        display_name: Some("Acme Çorp 🚀".to_owned()),
        auto_activate: false,
        created_by: "admin:0123456789ab".to_owned(),
        expires_at: t0() + secs(3600),
    }
}

const HASH_A: &str = "aa00000000000000000000000000000000000000000000000000000000000000";
const HASH_B: &str = "bb00000000000000000000000000000000000000000000000000000000000000";

pub async fn a_link_round_trips_and_is_found_by_its_hash_only(ctx: Ctx) {
    let store = &ctx.store;
    let row = store
        .insert_setup_link(link("l1", "acme", HASH_A), t0())
        .await
        .unwrap();
    assert_eq!(row.tenant_id, "acme");
    assert_eq!(row.display_name.as_deref(), Some("Acme Çorp 🚀"));
    assert_eq!(row.created_at, stored(t0()));
    assert_eq!(row.expires_at, stored(t0() + secs(3600)));
    assert!(row.opened_at.is_none() && row.submitted_at.is_none());
    assert!(row.activated_at.is_none() && row.revoked_at.is_none());
    assert_eq!(
        store.setup_link_by_hash(HASH_A).await.unwrap(),
        Some(row.clone())
    );
    assert_eq!(store.setup_link_by_hash(HASH_B).await.unwrap(), None);
    // The hash compares byte for byte (MySQL's default collation would fold the case).
    assert_eq!(
        store
            .setup_link_by_hash(&HASH_A.to_uppercase())
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .insert_setup_link(link("l2", "acme", HASH_A), t0())
            .await
            .is_err(),
        "one hash, one link"
    );
    store
        .insert_setup_link(link("l3", "acme", HASH_B), t0() + secs(1))
        .await
        .unwrap();
    let ids: Vec<String> = store
        .setup_links_of_tenant("acme")
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(ids, ["l3", "l1"], "newest first");
    assert!(
        store
            .setup_links_of_tenant("other")
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn each_state_change_happens_once_and_never_after_the_link_closed(ctx: Ctx) {
    let store = &ctx.store;
    store
        .insert_setup_link(link("l1", "acme", HASH_A), t0())
        .await
        .unwrap();
    assert!(
        store
            .mark_setup_link_opened("l1", t0() + secs(1))
            .await
            .unwrap()
    );
    assert!(
        !store
            .mark_setup_link_opened("l1", t0() + secs(2))
            .await
            .unwrap()
    );
    assert_eq!(
        store.setup_link("l1").await.unwrap().unwrap().opened_at,
        Some(stored(t0() + secs(1))),
        "the first opening is kept"
    );

    // A configuration larger than MySQL's 64 KiB TEXT.
    let big = format!(r#"{{"kind":"oidc","blob":"{}"}}"#, "x".repeat(100_000));
    assert!(
        store
            .submit_setup_link("l1", big.clone(), t0() + secs(10))
            .await
            .unwrap()
    );
    assert!(
        store
            .submit_setup_link("l1", "{}".into(), t0() + secs(20))
            .await
            .unwrap()
    );
    let row = store.setup_link("l1").await.unwrap().unwrap();
    assert_eq!(
        row.pending_provider.as_deref(),
        Some("{}"),
        "the last submission counts"
    );
    let submitted = row.submitted_at.unwrap();
    assert_eq!(submitted, stored(t0() + secs(20)));
    // Not after expiry.
    assert!(
        !store
            .submit_setup_link("l1", big, t0() + secs(3600))
            .await
            .unwrap()
    );

    // Activation claims the submission read back, once.
    assert!(
        !store
            .claim_setup_link_activation("l1", t0() + secs(10), t0() + secs(30))
            .await
            .unwrap(),
        "an older submission is not the one to activate"
    );
    assert!(
        store
            .claim_setup_link_activation("l1", submitted, t0() + secs(30))
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_setup_link_activation("l1", submitted, t0() + secs(31))
            .await
            .unwrap()
    );
    assert!(
        !store
            .submit_setup_link("l1", "{}".into(), t0() + secs(32))
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_setup_link("l1", t0() + secs(33))
            .await
            .unwrap()
    );
    // A released claim can be taken again.
    store.release_setup_link_activation("l1").await.unwrap();
    assert!(
        store
            .claim_setup_link_activation("l1", submitted, t0() + secs(34))
            .await
            .unwrap()
    );

    // Revocation: once, and nothing after it.
    store
        .insert_setup_link(link("l2", "acme", HASH_B), t0())
        .await
        .unwrap();
    assert!(
        store
            .submit_setup_link("l2", "{}".into(), t0() + secs(1))
            .await
            .unwrap()
    );
    let submitted = store
        .setup_link("l2")
        .await
        .unwrap()
        .unwrap()
        .submitted_at
        .unwrap();
    assert!(store.revoke_setup_link("l2", t0() + secs(2)).await.unwrap());
    assert!(!store.revoke_setup_link("l2", t0() + secs(3)).await.unwrap());
    assert!(
        !store
            .submit_setup_link("l2", "{}".into(), t0() + secs(4))
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_setup_link_activation("l2", submitted, t0() + secs(5))
            .await
            .unwrap()
    );
}

pub async fn concurrent_activations_of_one_submission_have_one_winner(ctx: Ctx) {
    ctx.store
        .insert_setup_link(link("l1", "acme", HASH_A), t0())
        .await
        .unwrap();
    assert!(
        ctx.store
            .submit_setup_link("l1", "{}".into(), t0() + secs(1))
            .await
            .unwrap()
    );
    let submitted = ctx
        .store
        .setup_link("l1")
        .await
        .unwrap()
        .unwrap()
        .submitted_at
        .unwrap();
    let replicas = ctx.replicas(4).await;
    let barrier = Arc::new(Barrier::new(replicas.len()));
    let mut tasks = Vec::new();
    for store in replicas {
        let barrier = Arc::clone(&barrier);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store
                .claim_setup_link_activation("l1", submitted, t0() + secs(2))
                .await
                .unwrap()
        }));
    }
    let mut winners = 0;
    for task in tasks {
        winners += usize::from(task.await.unwrap());
    }
    assert_eq!(winners, 1);
}

pub async fn deleting_a_tenant_revokes_only_its_open_links(ctx: Ctx) {
    let store = &ctx.store;
    store
        .insert_setup_link(link("open", "acme", HASH_A), t0())
        .await
        .unwrap();
    store
        .insert_setup_link(link("other", "globex", HASH_B), t0())
        .await
        .unwrap();
    let hash_c = "cc00000000000000000000000000000000000000000000000000000000000000";
    store
        .insert_setup_link(link("done", "acme", hash_c), t0())
        .await
        .unwrap();
    assert!(
        store
            .submit_setup_link("done", "{}".into(), t0() + secs(1))
            .await
            .unwrap()
    );
    let submitted = store
        .setup_link("done")
        .await
        .unwrap()
        .unwrap()
        .submitted_at
        .unwrap();
    assert!(
        store
            .claim_setup_link_activation("done", submitted, t0() + secs(2))
            .await
            .unwrap()
    );

    assert_eq!(
        store
            .revoke_setup_links_of_tenant("acme", t0() + secs(3))
            .await
            .unwrap(),
        1
    );
    let state = |row: acs_auth::store::setup_links::SetupLinkRow| {
        (row.revoked_at.is_some(), row.activated_at.is_some())
    };
    assert_eq!(
        state(store.setup_link("open").await.unwrap().unwrap()),
        (true, false)
    );
    assert_eq!(
        state(store.setup_link("done").await.unwrap().unwrap()),
        (false, true)
    );
    assert_eq!(
        state(store.setup_link("other").await.unwrap().unwrap()),
        (false, false)
    );
}
