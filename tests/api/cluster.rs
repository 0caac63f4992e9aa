//! Replicas agree (issue 10): changes reach every replica's memory through the database's
//! change log. Each replica here is a separate server on the test's database. The same
//! scenarios run on PostgreSQL and MariaDB in the store suite (tests/store/cluster.rs).

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{Replica, spawn_app, spawn_app_with, wait_live, wait_until};

/// getToken at `base` with `bearer`: the status and the identity it names.
async fn token_at(client: &reqwest::Client, base: &str, bearer: &str) -> (u16, String) {
    let resp = client
        .post(format!("{base}/tenants/acme/getToken"))
        .bearer_auth(bearer)
        .send()
        .await
        .expect("request sent");
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.expect("a JSON answer");
    let id = body["user"]["communicationUserId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (status, id)
}

#[tokio::test]
async fn a_delete_on_one_replica_stops_every_replica_serving_the_old_identity_within_a_second() {
    let app = spawn_app().await;
    let b: Replica = app.replica().await;
    let c: Replica = app.replica().await;
    for state in [&app.state, &b.state, &c.state] {
        wait_live(state).await;
    }
    let bearer = app.idp.token("carol");
    let (status, old) = token_at(&app.client, &app.address, &bearer).await;
    assert_eq!(status, 201);
    for r in [&b, &c] {
        assert_eq!(
            token_at(&app.client, &r.address, &bearer).await,
            (200, old.clone())
        );
    }

    assert_eq!(app.delete_user(&bearer).await.status().as_u16(), 204);
    let deleted = Instant::now();
    let mut propagation = Vec::new();
    for r in [&b, &c] {
        loop {
            let sent = deleted.elapsed();
            let (_, id) = token_at(&app.client, &r.address, &bearer).await;
            if id != old {
                propagation.push(sent);
                break;
            }
            assert!(
                sent <= Duration::from_secs(1),
                "a request sent {sent:?} after the delete was still served the deleted identity"
            );
        }
    }
    eprintln!("propagation (SQLite): {propagation:?}");
    // All agree on the new identity.
    let (_, new) = token_at(&app.client, &b.address, &bearer).await;
    assert_ne!(new, old);
    for base in [&app.address, &b.address, &c.address] {
        assert_eq!(
            token_at(&app.client, base, &bearer).await,
            (200, new.clone())
        );
    }
    assert_eq!(app.mappings().await.len(), 1);
}

#[tokio::test]
async fn a_replica_that_cannot_read_the_log_serves_from_the_database_and_catches_up() {
    let app = spawn_app().await;
    let b = app.replica().await;
    wait_live(&app.state).await;
    wait_live(&b.state).await;
    let bearer = app.idp.token("dave");
    let (_, old) = token_at(&app.client, &app.address, &bearer).await;
    assert_eq!(
        token_at(&app.client, &b.address, &bearer).await,
        (200, old.clone())
    );

    // B loses the log (as with a lost connection) and stops trusting its memory.
    b.state.changes.set_paused(true);
    wait_until("B counts its memory as stale", || {
        !b.state.changes.is_live()
    })
    .await;
    let applied = b.state.changes.applied();
    assert_eq!(app.delete_user(&bearer).await.status().as_u16(), 204);

    // B reads the mapping from the database: gone, so a new identity, which A then serves.
    let (status, new) = token_at(&app.client, &b.address, &bearer).await;
    assert_eq!(status, 201);
    assert_ne!(new, old);
    wait_until("A applied B's change", || app.state.changes.applied() >= 1).await;
    assert_eq!(
        token_at(&app.client, &app.address, &bearer).await,
        (200, new.clone())
    );

    // Back: B applies what it missed before it counts as current again.
    b.state.changes.set_paused(false);
    wait_live(&b.state).await;
    assert!(
        b.state.changes.applied() > applied,
        "B caught up on the delete"
    );
    assert_eq!(token_at(&app.client, &b.address, &bearer).await, (200, new));
}

#[tokio::test]
async fn a_tenant_disabled_on_one_replica_is_refused_by_the_others_within_a_second() {
    // The registry's own poll is slow here: only the change log can make it in time.
    let app = spawn_app_with(|s, _| s.registry.reload_interval_secs = 3600).await;
    let b = app.replica().await;
    wait_live(&b.state).await;
    // A stored tenant (the file's cannot be changed through the admin API).
    let body = serde_json::json!({
        "id": "beta",
        "display_name": "Beta",
        "provider": {"kind": "oidc", "issuer": app.idp.issuer(), "audiences": [app.idp.audience()], "allow_http": true, "allow_private_network": true},
    });
    let created = app
        .admin(reqwest::Method::POST, "/tenants")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201, "{:?}", created.text().await);
    let bearer = app.idp.token("erin");
    let url = |base: &str| format!("{base}/tenants/beta/getToken");
    wait_until("B knows the new tenant", || {
        b.state.tenants.get("beta").is_some()
    })
    .await;
    let first = app
        .client
        .post(url(&b.address))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status().as_u16(), 201);

    let disabled = app
        .admin(reqwest::Method::POST, "/tenants/beta/disable")
        .send()
        .await
        .unwrap();
    assert_eq!(
        disabled.status().as_u16(),
        200,
        "{:?}",
        disabled.text().await
    );
    let at = Instant::now();
    wait_until("B refuses the disabled tenant", || {
        b.state.tenants.get("beta").is_some_and(|t| !t.enabled)
    })
    .await;
    let took = at.elapsed();
    eprintln!("tenant change propagation (SQLite): {took:?}");
    assert!(took <= Duration::from_secs(1), "took {took:?}");
    let refused = app
        .client
        .post(url(&b.address))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
}
