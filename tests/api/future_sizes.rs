//! The returning user's path is small in memory as well as in work: every middleware layer and
//! the server's boxing move the handler's future, so the rare paths (verification, creating an
//! identity, asking ACS) are boxed where they start instead of inlined into every call's future.

use crate::helpers::{TENANT, spawn_app};

#[tokio::test]
async fn a_returning_users_futures_stay_small_so_no_layer_copies_kilobytes() {
    let app = spawn_app().await;
    let tenant = app.state.gate.tenant(TENANT).unwrap();
    let token = app.idp.token("alice");
    let admit = app
        .state
        .gate
        .admit(&tenant, &token, Some([127, 0, 0, 1].into()));
    let admit_size = std::mem::size_of_val(&admit);
    let who = admit.await.unwrap();
    let get_token = app
        .state
        .tokens
        .get_token(&tenant, &who, Default::default(), None);
    let get_token_size = std::mem::size_of_val(&get_token);
    assert!(get_token.await.is_ok());
    // Inlined, they were 2.4 KiB and 13.2 KiB.
    assert!(admit_size <= 2048, "admit's future is {admit_size} bytes");
    assert!(
        get_token_size <= 4096,
        "get_token's future is {get_token_size} bytes"
    );
}
