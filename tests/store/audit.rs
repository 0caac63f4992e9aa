//! audit_events: record, page newest first, filters, before_id paging, clipping.

use acs_auth::store::admin::{AuditFilter, NewAuditEvent};

use crate::harness::Ctx;
use crate::support::{secs, stored, t0};

fn event(tenant: Option<&str>, action: &str) -> NewAuditEvent {
    NewAuditEvent {
        tenant_id: tenant.map(str::to_owned),
        actor: "admin-key:ops".to_owned(),
        action: action.to_owned(),
        target: Some("user-1".to_owned()),
        detail: Some(r#"{"why":"test"}"#.to_owned()),
        request_id: Some("req-1".to_owned()),
    }
}

/// Records `n` events a minute apart, alternating tenants a / b, then one without a tenant.
async fn seed(ctx: &Ctx, n: i64) {
    for i in 0..n {
        let tenant = if i % 2 == 0 { "a" } else { "b" };
        ctx.store
            .record_audit(
                event(Some(tenant), &format!("action.{i}")),
                t0() + secs(60 * i),
            )
            .await
            .unwrap();
    }
    ctx.store
        .record_audit(event(None, "admin.key_used"), t0() + secs(60 * n))
        .await
        .unwrap();
}

fn actions(page: &[acs_auth::store::admin::AuditEvent]) -> Vec<String> {
    page.iter().map(|e| e.action.clone()).collect()
}

pub async fn audit_page_is_newest_first_and_pages_with_before_id(ctx: Ctx) {
    seed(&ctx, 6).await;
    let store = &ctx.store;
    let all = store
        .audit_page(&AuditFilter::default(), 100)
        .await
        .unwrap();
    assert_eq!(
        actions(&all),
        [
            "admin.key_used",
            "action.5",
            "action.4",
            "action.3",
            "action.2",
            "action.1",
            "action.0"
        ]
    );
    assert!(all.windows(2).all(|w| w[0].id > w[1].id));
    let first = &all[6];
    assert_eq!(first.at, stored(t0()));
    assert_eq!(first.tenant_id.as_deref(), Some("a"));
    assert_eq!(first.actor, "admin-key:ops");
    assert_eq!(first.target.as_deref(), Some("user-1"));
    assert_eq!(first.detail.as_deref(), Some(r#"{"why":"test"}"#));
    assert_eq!(first.request_id.as_deref(), Some("req-1"));
    assert_eq!(all[0].tenant_id, None);

    // Pages of 3, each continuing before the previous page's last id.
    let mut filter = AuditFilter::default();
    let mut pages = Vec::new();
    loop {
        let page = store.audit_page(&filter, 3).await.unwrap();
        if page.is_empty() {
            break;
        }
        filter.before_id = page.last().map(|e| e.id);
        pages.push(actions(&page));
    }
    assert_eq!(pages.concat(), actions(&all));
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 1]);
}

pub async fn audit_page_filters_by_tenant_and_time(ctx: Ctx) {
    seed(&ctx, 6).await;
    let store = &ctx.store;
    let of = |tenant: Option<&str>, since, until, before_id| AuditFilter {
        tenant_id: tenant.map(str::to_owned),
        since,
        until,
        before_id,
    };
    let a = store
        .audit_page(&of(Some("a"), None, None, None), 100)
        .await
        .unwrap();
    assert_eq!(actions(&a), ["action.4", "action.2", "action.0"]);
    // `since` is inclusive, `until` exclusive — at the stored (microsecond) precision, even
    // when the bounds carry nanoseconds.
    let window = store
        .audit_page(
            &of(None, Some(t0() + secs(60)), Some(t0() + secs(240)), None),
            100,
        )
        .await
        .unwrap();
    assert_eq!(actions(&window), ["action.3", "action.2", "action.1"]);
    let b_window = store
        .audit_page(
            &of(
                Some("b"),
                Some(t0() + secs(60)),
                Some(t0() + secs(240)),
                None,
            ),
            100,
        )
        .await
        .unwrap();
    assert_eq!(actions(&b_window), ["action.3", "action.1"]);
    let b_before = store
        .audit_page(&of(Some("b"), None, None, Some(b_window[0].id)), 100)
        .await
        .unwrap();
    assert_eq!(actions(&b_before), ["action.1"]);
    assert!(
        store
            .audit_page(&of(Some("nobody"), None, None, None), 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .audit_page(&of(None, Some(t0() + secs(3600)), None, None), 100)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn audit_fields_are_clipped_to_their_columns(ctx: Ctx) {
    let store = &ctx.store;
    store
        .record_audit(
            NewAuditEvent {
                tenant_id: Some("t".repeat(100)),
                actor: "α".repeat(300),
                action: "b".repeat(100),
                target: Some("🎯".repeat(300)),
                detail: Some("d".repeat(5000)),
                request_id: Some("r".repeat(100)),
            },
            t0(),
        )
        .await
        .unwrap();
    store
        .record_audit(
            NewAuditEvent {
                actor: "system".to_owned(),
                action: "minimal".to_owned(),
                ..Default::default()
            },
            t0(),
        )
        .await
        .unwrap();
    let page = store.audit_page(&AuditFilter::default(), 10).await.unwrap();
    let clipped = &page[1];
    assert_eq!(clipped.tenant_id.as_deref(), Some("t".repeat(64).as_str()));
    assert_eq!(clipped.actor, "α".repeat(255));
    assert_eq!(clipped.action, "b".repeat(64));
    assert_eq!(clipped.target.as_deref(), Some("🎯".repeat(255).as_str()));
    assert_eq!(clipped.detail.as_deref(), Some("d".repeat(4000).as_str()));
    assert_eq!(clipped.request_id.as_deref(), Some("r".repeat(64).as_str()));
    let minimal = &page[0];
    assert_eq!(
        (
            &minimal.tenant_id,
            &minimal.target,
            &minimal.detail,
            &minimal.request_id
        ),
        (&None, &None, &None, &None)
    );
}
