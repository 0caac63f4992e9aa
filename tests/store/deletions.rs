//! pending_deletions: enqueue, due (order, limit, time), defer, complete.

use acs_auth::store::{DeletionReason, StoreError};

use crate::harness::Ctx;
use crate::support::{secs, stored, t0};

pub async fn enqueued_deletion_records_reason_and_times(ctx: Ctx) {
    let store = &ctx.store;
    let reasons = [
        (DeletionReason::UserDeleted, "user_deleted"),
        (DeletionReason::RaceLoser, "race_loser"),
        (DeletionReason::TenantDeleted, "tenant_deleted"),
    ];
    let mut ids = Vec::new();
    for (n, (reason, text)) in reasons.iter().enumerate() {
        let at = t0() + secs(n as i64);
        let p = store
            .enqueue_deletion("acme", &format!("8:acs:{n}"), "res", *reason, at)
            .await
            .unwrap();
        assert_eq!(p.reason, *text);
        assert_eq!(p.tenant_id, "acme");
        assert_eq!(p.acs_user_id, format!("8:acs:{n}"));
        assert_eq!(p.acs_resource, "res");
        assert_eq!(p.attempts, 0);
        assert_eq!(p.next_attempt_at, stored(at));
        assert_eq!(p.created_at, stored(at));
        assert_eq!(p.last_error, None);
        ids.push(p.id);
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    let all = store.pending_deletions().await.unwrap();
    assert_eq!(all.iter().map(|p| p.id).collect::<Vec<_>>(), ids);
}

pub async fn due_deletions_come_oldest_first_and_respect_the_limit(ctx: Ctx) {
    let store = &ctx.store;
    // Queued out of time order; two share one instant.
    let late = store
        .enqueue_deletion(
            "t",
            "8:acs:late",
            "r",
            DeletionReason::UserDeleted,
            t0() + secs(20),
        )
        .await
        .unwrap();
    let early = store
        .enqueue_deletion("t", "8:acs:early", "r", DeletionReason::UserDeleted, t0())
        .await
        .unwrap();
    let mid_a = store
        .enqueue_deletion(
            "t",
            "8:acs:mid-a",
            "r",
            DeletionReason::RaceLoser,
            t0() + secs(10),
        )
        .await
        .unwrap();
    let mid_b = store
        .enqueue_deletion(
            "t",
            "8:acs:mid-b",
            "r",
            DeletionReason::RaceLoser,
            t0() + secs(10),
        )
        .await
        .unwrap();
    let ids =
        |v: Vec<acs_auth::store::PendingDeletion>| v.into_iter().map(|p| p.id).collect::<Vec<_>>();

    assert!(
        store
            .due_deletions(t0() - secs(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ids(store.due_deletions(t0(), 10).await.unwrap()),
        [early.id]
    );
    assert_eq!(
        ids(store.due_deletions(t0() + secs(10), 10).await.unwrap()),
        [early.id, mid_a.id, mid_b.id]
    );
    assert_eq!(
        ids(store.due_deletions(t0() + secs(60), 10).await.unwrap()),
        [early.id, mid_a.id, mid_b.id, late.id]
    );
    assert_eq!(
        ids(store.due_deletions(t0() + secs(60), 2).await.unwrap()),
        [early.id, mid_a.id]
    );
    // Due rows stay queued until completed.
    assert_eq!(store.pending_deletions().await.unwrap().len(), 4);
}

pub async fn deferred_deletion_waits_until_its_next_attempt(ctx: Ctx) {
    let store = &ctx.store;
    let first = store
        .enqueue_deletion("t", "8:acs:first", "r", DeletionReason::UserDeleted, t0())
        .await
        .unwrap();
    let second = store
        .enqueue_deletion(
            "t",
            "8:acs:second",
            "r",
            DeletionReason::UserDeleted,
            t0() + secs(1),
        )
        .await
        .unwrap();
    let error = "é".repeat(1500);
    let next = t0() + secs(300);
    store
        .defer_deletion(first.id, 1, next, &error)
        .await
        .unwrap();

    let due: Vec<_> = store.due_deletions(t0() + secs(5), 10).await.unwrap();
    assert_eq!(due.iter().map(|p| p.id).collect::<Vec<_>>(), [second.id]);
    let due = store.due_deletions(next, 10).await.unwrap();
    assert_eq!(
        due.iter().map(|p| p.id).collect::<Vec<_>>(),
        [second.id, first.id]
    );
    let deferred = due.into_iter().find(|p| p.id == first.id).unwrap();
    assert_eq!(deferred.attempts, 1);
    assert_eq!(deferred.next_attempt_at, stored(next));
    assert_eq!(deferred.created_at, first.created_at);
    assert_eq!(deferred.last_error, Some("é".repeat(1000)));
    assert_eq!(deferred.acs_user_id, "8:acs:first");

    // Deferring again with the very same values is still fine.
    store
        .defer_deletion(first.id, 1, next, &error)
        .await
        .unwrap();
    store
        .defer_deletion(first.id, 2, next + secs(600), "again")
        .await
        .unwrap();
    let all = store.pending_deletions().await.unwrap();
    let again = all.iter().find(|p| p.id == first.id).unwrap();
    assert_eq!(again.attempts, 2);
    assert_eq!(again.last_error.as_deref(), Some("again"));

    // A row that is gone (another replica completed it) is NotFound.
    store.complete_deletion(first.id).await.unwrap();
    let gone = store.defer_deletion(first.id, 3, next, "late").await;
    assert!(matches!(gone, Err(StoreError::NotFound)), "{gone:?}");
}

pub async fn complete_removes_the_row_and_is_idempotent(ctx: Ctx) {
    let store = &ctx.store;
    let a = store
        .enqueue_deletion("t", "8:acs:a", "r", DeletionReason::UserDeleted, t0())
        .await
        .unwrap();
    let b = store
        .enqueue_deletion("t", "8:acs:b", "r", DeletionReason::UserDeleted, t0())
        .await
        .unwrap();
    store.complete_deletion(a.id).await.unwrap();
    assert_eq!(store.pending_deletions().await.unwrap(), vec![b.clone()]);
    store.complete_deletion(a.id).await.unwrap();
    assert_eq!(
        store.due_deletions(t0() + secs(1), 10).await.unwrap(),
        vec![b]
    );
}
