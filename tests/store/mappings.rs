//! identity_mappings: find, insert-if-absent (and its race), touch, deletes, paging.

use std::sync::Arc;

use acs_auth::store::{DeletionReason, StoreError};
use chrono::{TimeZone, Utc};
use tokio::sync::Barrier;

use crate::harness::Ctx;
use crate::support::{acs_id, key, mapped, new_mapping, secs, stored, t0};

pub async fn find_returns_none_for_an_unknown_subject(ctx: Ctx) {
    let store = &ctx.store;
    assert!(
        store
            .find_mapping(&key("t", "iss", "nobody"))
            .await
            .unwrap()
            .is_none()
    );
    mapped(store, &key("t", "iss", "somebody"), "8:acs:1").await;
    assert!(
        store
            .find_mapping(&key("t", "iss", "nobody"))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn insert_if_absent_keeps_the_first_mapping_and_reports_the_second_as_lost(ctx: Ctx) {
    let store = &ctx.store;
    let k = key("acme", "oidc:https://idp.example", "user-1");
    assert!(
        store
            .insert_mapping_if_absent(&new_mapping(&k, "8:acs:first"), t0())
            .await
            .unwrap()
    );
    assert!(
        !store
            .insert_mapping_if_absent(&new_mapping(&k, "8:acs:second"), t0() + secs(5))
            .await
            .unwrap(),
        "a second insert of the same key must report that it lost"
    );
    let found = store.find_mapping(&k).await.unwrap().unwrap();
    assert_eq!(found.acs_user_id, "8:acs:first");
    assert_eq!(found.tenant_id, "acme");
    assert_eq!(found.issuer_key, "oidc:https://idp.example");
    assert_eq!(found.subject, "user-1");
    assert_eq!(found.acs_resource, "acs-one.communication.azure.com");
    assert_eq!(found.created_at, stored(t0()));
    assert_eq!(found.last_used_at, stored(t0()));
    assert_eq!(store.count_mappings("acme").await.unwrap(), 1);
}

/// The race the service relies on across replicas: many first calls for one subject, each
/// from its own connection pool, each with its own new ACS identity; exactly one insert wins
/// and every caller then reads the winner's mapping.
pub async fn insert_if_absent_has_exactly_one_winner_under_concurrency(ctx: Ctx) {
    const RACERS: usize = 8;
    let replicas = ctx.replicas(RACERS).await;
    for round in 0..3 {
        let k = key("acme", "iss", &format!("racer-subject-{round}"));
        let barrier = Arc::new(Barrier::new(RACERS));
        let mut tasks = Vec::new();
        for (n, store) in replicas.iter().cloned().enumerate() {
            let (k, barrier) = (k.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                let new = new_mapping(&k, &acs_id(n));
                barrier.wait().await;
                let won = store.insert_mapping_if_absent(&new, t0()).await.unwrap();
                let seen = store.find_mapping(&k).await.unwrap().unwrap();
                (n, won, seen.acs_user_id)
            }));
        }
        let mut winners = Vec::new();
        let mut seen = Vec::new();
        for task in tasks {
            let (n, won, acs) = task.await.unwrap();
            if won {
                winners.push(n);
            }
            seen.push(acs);
        }
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        let winner_acs = acs_id(winners[0]);
        assert!(seen.iter().all(|a| *a == winner_acs), "{seen:?}");
        assert_eq!(
            ctx.store
                .mappings_by_subject("acme", &k.subject)
                .await
                .unwrap()
                .len(),
            1
        );
    }
    assert_eq!(ctx.store.count_mappings("acme").await.unwrap(), 3);
}

/// OIDC subjects are case-sensitive strings: no collation may merge two of them.
pub async fn subjects_compare_byte_for_byte(ctx: Ctx) {
    let store = &ctx.store;
    let subjects = [
        "alice",
        "Alice",
        "ALICE",
        "alice ",
        " alice",
        "ålice",        // NFC: U+00E5
        "a\u{30a}lice", // NFD: a + combining ring above
        "ﬀ",            // U+FB00, folds to "ff" in some collations
        "ff",
        "用户-42",
        "🦀🦀",
        "🦀🦁",
    ];
    for (n, subject) in subjects.iter().enumerate() {
        mapped(store, &key("t", "iss", subject), &acs_id(n)).await;
    }
    for (n, subject) in subjects.iter().enumerate() {
        let found = store
            .find_mapping(&key("t", "iss", subject))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{subject:?} not found"));
        assert_eq!(found.subject, *subject);
        assert_eq!(found.acs_user_id, acs_id(n), "{subject:?}");
        let by_subject = store.mappings_by_subject("t", subject).await.unwrap();
        assert_eq!(by_subject.len(), 1, "{subject:?}: {by_subject:?}");
        assert_eq!(by_subject[0].subject, *subject);
    }
    // Tenant and issuer key take part in the key too, just as exactly.
    mapped(store, &key("T", "iss", "alice"), "8:acs:T").await;
    mapped(store, &key("t", "ISS", "alice"), "8:acs:ISS").await;
    assert_eq!(
        store.count_mappings("t").await.unwrap(),
        subjects.len() as u64 + 1
    );
    assert_eq!(store.count_mappings("T").await.unwrap(), 1);
}

pub async fn strings_up_to_the_column_sizes_round_trip_and_longer_ones_are_refused(ctx: Ctx) {
    let store = &ctx.store;
    // Four-byte characters, to the column sizes (64 for tenant ids, 255 otherwise).
    let tenant: String = "t".repeat(63) + "𝔱";
    let issuer: String = "𝔦".repeat(255);
    let subject: String = "🦀".repeat(255);
    let acs_user: String = format!("8:acs:{}", "u".repeat(249));
    let resource: String = "ř".repeat(255);
    let k = key(&tenant, &issuer, &subject);
    let mut new = new_mapping(&k, &acs_user);
    new.acs_resource = resource.clone();
    assert!(store.insert_mapping_if_absent(&new, t0()).await.unwrap());
    let found = store.find_mapping(&k).await.unwrap().unwrap();
    assert_eq!(
        (&found.tenant_id, &found.issuer_key, &found.subject),
        (&tenant, &issuer, &subject)
    );
    assert_eq!(
        (&found.acs_user_id, &found.acs_resource),
        (&acs_user, &resource)
    );
    let pending = store
        .delete_mapping_and_enqueue(&found, DeletionReason::UserDeleted, t0())
        .await
        .unwrap();
    assert_eq!(
        (
            &pending.tenant_id,
            &pending.acs_user_id,
            &pending.acs_resource
        ),
        (&tenant, &acs_user, &resource)
    );

    // One character more is refused by every backend alike, and nothing is stored.
    let too_long = [
        key(&format!("{tenant}x"), "iss", "s"),
        key("t", &format!("{issuer}x"), "s"),
        key("t", "iss", &format!("{subject}x")),
    ];
    for k in &too_long {
        let err = store
            .insert_mapping_if_absent(&new_mapping(k, "8:acs:x"), t0())
            .await;
        assert!(err.is_err(), "{:?} accepted", k.subject.len());
        assert!(store.find_mapping(k).await.unwrap().is_none());
    }
    let mut long_acs = new_mapping(&key("t", "iss", "s"), &"u".repeat(256));
    assert!(
        store
            .insert_mapping_if_absent(&long_acs, t0())
            .await
            .is_err()
    );
    long_acs.acs_user_id = "8:acs:ok".to_owned();
    long_acs.acs_resource = "r".repeat(256);
    assert!(
        store
            .insert_mapping_if_absent(&long_acs, t0())
            .await
            .is_err()
    );
    assert_eq!(store.count_mappings("t").await.unwrap(), 0);
    assert!(
        store
            .enqueue_deletion("t", &"u".repeat(256), "r", DeletionReason::RaceLoser, t0())
            .await
            .is_err()
    );
    assert_eq!(store.pending_deletions().await.unwrap().len(), 1);
}

pub async fn timestamps_round_trip_in_utc_with_microsecond_precision(ctx: Ctx) {
    let store = &ctx.store;
    let m = mapped(store, &key("t", "iss", "clock"), "8:acs:clock").await;
    assert_eq!(m.created_at, stored(t0()));
    assert_ne!(
        m.created_at,
        t0(),
        "t0 has nanoseconds the store cannot keep"
    );
    assert_eq!(m.created_at.timestamp_subsec_micros(), 123_456);
    // Far from now in both directions (MySQL's TIMESTAMP would stop in 2038).
    let instants = [
        Utc.with_ymd_and_hms(1971, 1, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2099, 12, 31, 23, 59, 59).unwrap()
            + chrono::Duration::microseconds(999_999),
        Utc.with_ymd_and_hms(2038, 1, 19, 3, 14, 8).unwrap(),
        t0() + chrono::Duration::nanoseconds(999),
    ];
    for at in instants {
        store.touch_mapping(m.id, at).await.unwrap();
        let found = store
            .find_mapping(&key("t", "iss", "clock"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.last_used_at, stored(at));
        assert_eq!(found.created_at, stored(t0()));
    }
    // Comparisons agree with the stored precision: due at exactly its time, not a microsecond
    // earlier.
    let pending = store
        .enqueue_deletion("t", "8:acs:due", "r", DeletionReason::RaceLoser, t0())
        .await
        .unwrap();
    assert_eq!(pending.next_attempt_at, stored(t0()));
    assert_eq!(
        store.due_deletions(stored(t0()), 10).await.unwrap().len(),
        1
    );
    assert_eq!(
        store
            .due_deletions(stored(t0()) - chrono::Duration::microseconds(1), 10)
            .await
            .unwrap()
            .len(),
        0
    );
}

pub async fn touch_moves_last_used_and_keeps_created(ctx: Ctx) {
    let store = &ctx.store;
    let m = mapped(store, &key("t", "iss", "toucher"), "8:acs:t").await;
    let other = mapped(store, &key("t", "iss", "other"), "8:acs:o").await;
    store.touch_mapping(m.id, t0() + secs(90)).await.unwrap();
    let after = store
        .find_mapping(&key("t", "iss", "toucher"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.last_used_at, stored(t0() + secs(90)));
    assert_eq!(after.created_at, stored(t0()));
    assert_eq!(after.acs_user_id, m.acs_user_id);
    let untouched = store
        .find_mapping(&key("t", "iss", "other"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(untouched, other);
    // Touching a mapping that is gone is no error.
    store.touch_mapping(i64::MAX, t0()).await.unwrap();
}

pub async fn delete_and_enqueue_removes_the_mapping_and_queues_its_identity(ctx: Ctx) {
    let store = &ctx.store;
    let m = mapped(store, &key("acme", "iss", "leaver"), "8:acs:leaver").await;
    let keep = mapped(store, &key("acme", "iss", "stayer"), "8:acs:stayer").await;
    let at = t0() + secs(60);
    let pending = store
        .delete_mapping_and_enqueue(&m, DeletionReason::UserDeleted, at)
        .await
        .unwrap();
    assert_eq!(pending.tenant_id, "acme");
    assert_eq!(pending.acs_user_id, "8:acs:leaver");
    assert_eq!(pending.acs_resource, m.acs_resource);
    assert_eq!(pending.reason, "user_deleted");
    assert_eq!(pending.attempts, 0);
    assert_eq!(pending.next_attempt_at, stored(at));
    assert_eq!(pending.created_at, stored(at));
    assert_eq!(pending.last_error, None);
    assert!(
        store
            .find_mapping(&key("acme", "iss", "leaver"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.pending_deletions().await.unwrap(), vec![pending]);
    assert_eq!(store.mappings_of_tenant("acme").await.unwrap(), vec![keep]);
}

/// The mapping is gone and its pending deletion written, or neither: when the pending row
/// cannot be written, the mapping stays.
pub async fn delete_and_enqueue_is_atomic(ctx: Ctx) {
    let store = &ctx.store;
    let m = mapped(store, &key("acme", "iss", "atomic"), "8:acs:atomic").await;
    ctx.exec("ALTER TABLE pending_deletions RENAME TO pending_deletions_away")
        .await;
    let failed = store
        .delete_mapping_and_enqueue(&m, DeletionReason::UserDeleted, t0())
        .await;
    ctx.exec("ALTER TABLE pending_deletions_away RENAME TO pending_deletions")
        .await;
    assert!(matches!(failed, Err(StoreError::Db(_))), "{failed:?}");
    assert_eq!(
        store
            .find_mapping(&key("acme", "iss", "atomic"))
            .await
            .unwrap(),
        Some(m.clone()),
        "the mapping must survive a failed enqueue"
    );
    assert!(store.pending_deletions().await.unwrap().is_empty());

    let pending = store
        .delete_mapping_and_enqueue(&m, DeletionReason::UserDeleted, t0())
        .await
        .unwrap();
    assert!(
        store
            .find_mapping(&key("acme", "iss", "atomic"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.pending_deletions().await.unwrap(), vec![pending]);
}

pub async fn second_delete_is_not_found(ctx: Ctx) {
    let store = &ctx.store;
    let m = mapped(store, &key("acme", "iss", "twice"), "8:acs:twice").await;
    store
        .delete_mapping_and_enqueue(&m, DeletionReason::UserDeleted, t0())
        .await
        .unwrap();
    let second = store
        .delete_mapping_and_enqueue(&m, DeletionReason::UserDeleted, t0())
        .await;
    assert!(matches!(second, Err(StoreError::NotFound)), "{second:?}");
    assert_eq!(store.pending_deletions().await.unwrap().len(), 1);

    // A mapping row re-created for the same key (new identity) is not deleted through the
    // old mapping.
    let again = mapped(store, &key("acme", "iss", "twice"), "8:acs:twice-new").await;
    let stale = store
        .delete_mapping_and_enqueue(&m, DeletionReason::UserDeleted, t0())
        .await;
    assert!(matches!(stale, Err(StoreError::NotFound)), "{stale:?}");
    assert_eq!(
        store
            .find_mapping(&key("acme", "iss", "twice"))
            .await
            .unwrap(),
        Some(again)
    );
}

pub async fn concurrent_deletes_of_one_mapping_queue_it_exactly_once(ctx: Ctx) {
    const RACERS: usize = 6;
    let m = mapped(
        &ctx.store,
        &key("acme", "iss", "contested"),
        "8:acs:contested",
    )
    .await;
    let replicas = ctx.replicas(RACERS).await;
    let barrier = Arc::new(Barrier::new(RACERS));
    let mut tasks = Vec::new();
    for store in replicas {
        let (m, barrier) = (m.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store
                .delete_mapping_and_enqueue(&m, DeletionReason::UserDeleted, t0())
                .await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::NotFound) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(ok, 1);
    let pending = ctx.store.pending_deletions().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].acs_user_id, "8:acs:contested");
}

pub async fn mappings_page_walks_one_tenant_in_id_order(ctx: Ctx) {
    let store = &ctx.store;
    for n in 0..7 {
        mapped(
            store,
            &key("paged", "iss", &format!("user-{n}")),
            &acs_id(n),
        )
        .await;
        if n % 3 == 0 {
            mapped(
                store,
                &key("other", "iss", &format!("user-{n}")),
                &acs_id(100 + n),
            )
            .await;
        }
    }
    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = Vec::new();
    loop {
        let page = store.mappings_page("paged", after, 3).await.unwrap();
        if page.is_empty() {
            break;
        }
        pages.push(page.len());
        after = page.last().map(|m| m.id);
        seen.extend(page);
    }
    assert_eq!(pages, [3, 3, 1]);
    assert!(seen.windows(2).all(|w| w[0].id < w[1].id));
    assert!(seen.iter().all(|m| m.tenant_id == "paged"));
    let subjects: Vec<_> = seen.iter().map(|m| m.subject.clone()).collect();
    assert_eq!(
        subjects,
        (0..7).map(|n| format!("user-{n}")).collect::<Vec<_>>()
    );
    assert_eq!(store.mappings_of_tenant("paged").await.unwrap(), seen);
    assert!(
        store
            .mappings_page("nobody", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn mappings_by_subject_and_count_see_only_their_tenant(ctx: Ctx) {
    let store = &ctx.store;
    let a = mapped(store, &key("acme", "oidc:a", "bob"), "8:acs:a").await;
    let b = mapped(store, &key("acme", "oidc:b", "bob"), "8:acs:b").await;
    mapped(store, &key("acme", "oidc:a", "Bob"), "8:acs:B").await;
    mapped(store, &key("globex", "oidc:a", "bob"), "8:acs:g").await;
    assert_eq!(
        store.mappings_by_subject("acme", "bob").await.unwrap(),
        vec![a, b]
    );
    assert_eq!(
        store
            .mappings_by_subject("globex", "bob")
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .mappings_by_subject("acme", "carol")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.count_mappings("acme").await.unwrap(), 3);
    assert_eq!(store.count_mappings("globex").await.unwrap(), 1);
    assert_eq!(store.count_mappings("initech").await.unwrap(), 0);
}
