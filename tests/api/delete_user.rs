use serde_json::Value;

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn delete_user_removes_the_mapping_and_the_acs_identity() {
    let app = spawn_app().await;
    let bearer = app.idp.token("alice");
    let created: Value = app.get_token(&bearer).await.json().await.unwrap();
    let id = created["user"]["communicationUserId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(app.emulator.emulator().identity_exists(&id));

    let user = app.get_user(&bearer).await;
    assert_eq!(user.status().as_u16(), 200);
    let user: Value = user.json().await.unwrap();
    assert_eq!(user["communicationUserId"], id.as_str());
    assert!(user["createdAt"].is_string());

    let resp = app.delete_user(&bearer).await;
    assert_eq!(resp.status().as_u16(), 204);

    assert_problem(app.get_user(&bearer).await, 404, "user_not_found").await;
    assert!(
        !app.emulator.emulator().identity_exists(&id),
        "the emulator no longer knows it"
    );
    assert!(
        app.emulator
            .emulator()
            .verify_access_token(created["token"].as_str().unwrap())
            .is_none(),
        "its tokens no longer work"
    );
    assert!(
        app.state
            .store
            .pending_deletions()
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn get_token_after_delete_creates_a_new_identity_not_a_cached_token() {
    let app = spawn_app().await;
    let bearer = app.idp.token("alice");
    let first: Value = app.get_token(&bearer).await.json().await.unwrap();
    assert_eq!(app.delete_user(&bearer).await.status().as_u16(), 204);
    let again = app.get_token(&bearer).await;
    assert_eq!(again.status().as_u16(), 201);
    let again: Value = again.json().await.unwrap();
    assert_ne!(
        again["user"]["communicationUserId"],
        first["user"]["communicationUserId"]
    );
    assert_ne!(again["token"], first["token"]);
}

#[tokio::test]
async fn delete_user_without_a_mapping_is_404() {
    let app = spawn_app().await;
    assert_problem(
        app.delete_user(&app.idp.token("nobody")).await,
        404,
        "user_not_found",
    )
    .await;
}

#[tokio::test]
async fn delete_user_with_acs_down_is_accepted_and_retried_until_done() {
    let app = spawn_app().await;
    let bearer = app.idp.token("alice");
    let created: Value = app.get_token(&bearer).await.json().await.unwrap();
    let id = created["user"]["communicationUserId"]
        .as_str()
        .unwrap()
        .to_owned();

    app.set_acs_failing(true);
    let resp = app.delete_user(&bearer).await;
    assert_eq!(resp.status().as_u16(), 202);
    // The mapping is gone at once; the identity still lives, and its deletion is recorded.
    assert_problem(app.get_user(&bearer).await, 404, "user_not_found").await;
    assert!(app.emulator.emulator().identity_exists(&id));
    let pending = app.state.store.pending_deletions().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].acs_user_id, id);
    assert_eq!(pending[0].attempts, 1);

    // The worker retries while ACS still fails, then succeeds once it is back.
    assert_eq!(app.run_deletion_worker().await, 0);
    app.set_acs_failing(false);
    // The failures opened the resource's circuit breaker; it lets a call through after its
    // cool-down (1 s in tests).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(app.run_deletion_worker().await, 1);
    assert!(!app.emulator.emulator().identity_exists(&id));
    assert!(
        app.state
            .store
            .pending_deletions()
            .await
            .unwrap()
            .is_empty()
    );
}
