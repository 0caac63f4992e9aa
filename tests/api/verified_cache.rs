//! The verified-token cache: a bearer token that verified for a tenant is not verified again
//! while it is valid, and what it does not cover (enabled flag, rate limits, access policy) is
//! still enforced on every call. Time is the server's injected clock (`app.clock`), moved
//! instead of waited for.

use std::time::Duration;

use acs_auth::service::VerificationStats;
use acs_auth_providers::validate::now_unix;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, oidc_tenant, spawn_app, spawn_app_with};

fn stats(verifications: u64, cache_hits: u64) -> VerificationStats {
    VerificationStats {
        verifications,
        cache_hits,
    }
}

/// getToken with `bearer`; its status.
async fn status(app: &TestApp, bearer: &str) -> u16 {
    app.get_token(bearer).await.status().as_u16()
}

#[tokio::test]
async fn a_second_call_with_the_same_token_is_not_verified_again() {
    let app = spawn_app().await;
    let alice = app.idp.token("alice");
    assert_eq!(app.verification_stats(), stats(0, 0));

    assert_eq!(status(&app, &alice).await, 201);
    assert_eq!(app.verification_stats(), stats(1, 0));
    assert_eq!(status(&app, &alice).await, 200);
    assert_eq!(app.verification_stats(), stats(1, 1));
    // Every user API call passes the same gate.
    assert_eq!(app.get_user(&alice).await.status().as_u16(), 200);
    assert_eq!(app.verification_stats(), stats(1, 2));

    // Another token (even of the same user) is verified on its own.
    let mut claims = app.idp.claims("alice");
    claims["jti"] = json!("another");
    assert_eq!(status(&app, &app.idp.token_with(claims)).await, 200);
    assert_eq!(app.verification_stats(), stats(2, 2));
    // The keys were fetched once, so a JWKS fetch count could not have shown any of this.
    assert_eq!(app.idp.jwks_fetch_count(), 1);
}

#[tokio::test]
async fn the_same_token_is_verified_once_per_tenant() {
    // Two tenants trust one issuer (the bare paths, which would need a default, are not used).
    let app = spawn_app_with(|s, idp| s.tenants.push(oidc_tenant("globex", idp))).await;
    let alice = app.idp.token("alice");
    assert_eq!(status(&app, &alice).await, 201);
    let other = app.post_get_token("globex", &alice, None).await;
    assert_eq!(other.status().as_u16(), 201);
    assert_eq!(app.verification_stats(), stats(2, 0));
    assert_eq!(
        app.post_get_token("globex", &alice, None).await.status(),
        200
    );
    assert_eq!(app.verification_stats(), stats(2, 1));
}

#[tokio::test]
async fn with_the_cache_off_every_call_verifies() {
    let app = spawn_app_with(|s, _| s.cache.verified_tokens = false).await;
    let alice = app.idp.token("alice");
    assert_eq!(status(&app, &alice).await, 201);
    assert_eq!(status(&app, &alice).await, 200);
    assert_eq!(status(&app, &alice).await, 200);
    assert_eq!(app.verification_stats(), stats(3, 0));
}

#[tokio::test]
async fn a_kept_verdict_ends_at_the_tokens_exp() {
    let app = spawn_app().await;
    let mut claims = app.idp.claims("alice");
    claims["exp"] = json!(now_unix() + 120);
    let alice = app.idp.token_with(claims);

    assert_eq!(status(&app, &alice).await, 201);
    app.clock.advance(Duration::from_secs(100));
    assert_eq!(status(&app, &alice).await, 200);
    assert_eq!(app.verification_stats(), stats(1, 1), "kept before exp");

    app.clock.advance(Duration::from_secs(21));
    // Past exp on the server's clock: verified again (the IdP's clock, the real one, still
    // finds the token valid, so the answer stays 200).
    assert_eq!(status(&app, &alice).await, 200);
    assert_eq!(app.verification_stats(), stats(2, 1), "re-verified at exp");
}

#[tokio::test]
async fn a_token_accepted_only_within_the_leeway_after_exp_is_never_kept() {
    let app = spawn_app().await;
    let mut claims = app.idp.claims("alice");
    claims["exp"] = json!(now_unix() - 10); // the default leeway is 60 s
    let alice = app.idp.token_with(claims);
    assert_eq!(status(&app, &alice).await, 201);
    assert_eq!(status(&app, &alice).await, 200);
    assert_eq!(app.verification_stats(), stats(2, 0));
}

#[tokio::test]
async fn a_kept_verdict_ends_after_the_maximum_age() {
    let app = spawn_app_with(|s, _| s.cache.verified_token_max_age_secs = 60).await;
    let alice = app.idp.token("alice"); // valid for an hour

    assert_eq!(status(&app, &alice).await, 201);
    app.clock.advance(Duration::from_secs(59));
    assert_eq!(status(&app, &alice).await, 200);
    assert_eq!(app.verification_stats(), stats(1, 1));

    app.clock.advance(Duration::from_secs(2));
    assert_eq!(status(&app, &alice).await, 200);
    assert_eq!(
        app.verification_stats(),
        stats(2, 1),
        "re-verified after max age"
    );
    // The new verdict is kept for another max age.
    assert_eq!(status(&app, &alice).await, 200);
    assert_eq!(app.verification_stats(), stats(2, 2));
}

#[tokio::test]
async fn a_token_that_fails_is_verified_every_time() {
    let app = spawn_app().await;
    let forged = app.idp.sign_with_other_key(app.idp.claims("mallory"));
    for _ in 0..2 {
        assert_problem(app.get_token(&forged).await, 401, "token_invalid_signature").await;
    }
    let mut claims = app.idp.claims("mallory");
    claims["aud"] = json!("api://someone-else");
    let wrong_audience = app.idp.token_with(claims);
    for _ in 0..2 {
        assert_problem(
            app.get_token(&wrong_audience).await,
            401,
            "token_invalid_audience",
        )
        .await;
    }
    assert_eq!(app.verification_stats(), stats(4, 0));
    assert!(app.mappings().await.is_empty());
}

#[tokio::test]
async fn a_token_whose_key_left_the_key_set_is_refused_at_once() {
    // No cool-down: the refetch for the new kid right after the first fetch is not held back.
    let app = spawn_app_with(|s, _| s.jwks.refetch_cooldown_secs = 0).await;
    let old = app.idp.token("alice");
    assert_eq!(status(&app, &old).await, 201);
    assert_eq!(status(&app, &old).await, 200);
    assert_eq!(app.verification_stats(), stats(1, 1));

    // An overlapping rotation: the old key is still published, the verdict still good.
    app.idp.rotate_key_keeping_old();
    let overlap = app.idp.token("bob");
    assert_eq!(
        status(&app, &overlap).await,
        201,
        "new kid fetched on demand"
    );
    assert_eq!(app.idp.jwks_fetch_count(), 2);
    assert_eq!(status(&app, &old).await, 200);
    assert_eq!(app.verification_stats(), stats(2, 2));

    // The old key is withdrawn; once the set is refetched (for the next new kid), the old
    // token's verdict is void: it is verified again, and refused.
    app.idp.rotate_key();
    let newest = app.idp.token("carol");
    assert_eq!(status(&app, &newest).await, 201);
    assert_eq!(app.idp.jwks_fetch_count(), 3);
    assert_problem(app.get_token(&old).await, 401, "token_unknown_key").await;
    assert_problem(app.get_token(&overlap).await, 401, "token_unknown_key").await;
    assert_eq!(app.verification_stats(), stats(5, 2));
    // Tokens of the current key are kept as before.
    assert_eq!(status(&app, &newest).await, 200);
    assert_eq!(app.verification_stats(), stats(5, 3));
}

#[tokio::test]
async fn a_kept_verdict_still_meets_the_tenants_scope_policy() {
    let app = spawn_app_with(|s, _| {
        s.tenants[0].access.required_scopes = vec!["acs.token".into()];
    })
    .await;
    let mut claims = app.idp.claims("alice");
    claims["scp"] = json!("other.scope");
    let without = app.idp.token_with(claims.clone());
    for _ in 0..2 {
        assert_problem(app.get_token(&without).await, 403, "insufficient_scope").await;
    }
    assert_eq!(
        app.verification_stats(),
        stats(1, 1),
        "the token verified (and was kept); the policy refused it both times"
    );

    claims["scp"] = json!("other.scope acs.token");
    let with = app.idp.token_with(claims);
    assert_eq!(status(&app, &with).await, 201);
    assert_eq!(status(&app, &with).await, 200);
    assert_eq!(app.verification_stats(), stats(2, 2));
}

#[tokio::test]
async fn rate_limits_apply_to_calls_served_by_a_kept_verdict() {
    let app = spawn_app_with(|s, _| {
        s.limits.subject_requests_per_minute = 60;
        s.limits.subject_burst = 2;
    })
    .await;
    let alice = app.idp.token("alice");
    assert_eq!(status(&app, &alice).await, 201);
    assert_eq!(status(&app, &alice).await, 200);
    assert_problem(app.get_token(&alice).await, 429, "rate_limited").await;
    assert_eq!(app.verification_stats(), stats(1, 2));
}

fn globex_body(app: &TestApp, audiences: Value) -> Value {
    json!({
        "id": "globex",
        "display_name": "Globex",
        "provider": {
            "kind": "oidc",
            "issuer": app.idp.issuer(),
            "audiences": audiences,
            "allow_http": true, "allow_private_network": true,
        },
        "tokens": {"scopes": ["chat"], "lifetime_minutes": 60},
    })
}

async fn admin_send(app: &TestApp, method: Method, path: &str, body: Option<Value>) {
    let mut req = app.admin(method, path);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
}

async fn globex_status(app: &TestApp, bearer: &str) -> u16 {
    app.post_get_token("globex", bearer, None)
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_changed_provider_configuration_re_verifies_against_the_new_one() {
    let app = spawn_app().await;
    let audience = app.idp.audience();
    admin_send(
        &app,
        Method::POST,
        "/tenants",
        Some(globex_body(&app, json!([audience]))),
    )
    .await;
    let alice = app.idp.token("alice");
    assert_eq!(globex_status(&app, &alice).await, 201);
    assert_eq!(globex_status(&app, &alice).await, 200);
    assert_eq!(app.verification_stats(), stats(1, 1));

    // A change outside the provider (the display name) keeps the verdict.
    let mut renamed = globex_body(&app, json!([audience]));
    renamed["display_name"] = json!("Globex Corporation");
    admin_send(&app, Method::PUT, "/tenants/globex", Some(renamed)).await;
    assert_eq!(globex_status(&app, &alice).await, 200);
    assert_eq!(app.verification_stats(), stats(1, 2));

    // Another audience accepted too: a new provider configuration, so verified again (and
    // still accepted).
    let widened = globex_body(&app, json!([audience, "api://other"]));
    admin_send(&app, Method::PUT, "/tenants/globex", Some(widened)).await;
    assert_eq!(globex_status(&app, &alice).await, 200);
    assert_eq!(app.verification_stats(), stats(2, 2));
    assert_eq!(globex_status(&app, &alice).await, 200);
    assert_eq!(app.verification_stats(), stats(2, 3));

    // The token's audience no longer accepted: the kept verdict is void, the token refused.
    let narrowed = globex_body(&app, json!(["api://other"]));
    admin_send(&app, Method::PUT, "/tenants/globex", Some(narrowed)).await;
    assert_problem(
        app.post_get_token("globex", &alice, None).await,
        401,
        "token_invalid_audience",
    )
    .await;
    assert_eq!(app.verification_stats(), stats(3, 3));
}

#[tokio::test]
async fn a_disabled_tenant_is_refused_on_a_kept_verdict_which_is_dropped() {
    let app = spawn_app().await;
    admin_send(
        &app,
        Method::POST,
        "/tenants",
        Some(globex_body(&app, json!([app.idp.audience()]))),
    )
    .await;
    let alice = app.idp.token("alice");
    assert_eq!(globex_status(&app, &alice).await, 201);
    assert_eq!(globex_status(&app, &alice).await, 200);
    assert_eq!(app.verification_stats(), stats(1, 1));

    admin_send(&app, Method::POST, "/tenants/globex/disable", None).await;
    assert_problem(
        app.post_get_token("globex", &alice, None).await,
        403,
        "tenant_disabled",
    )
    .await;
    assert_eq!(
        app.verification_stats(),
        stats(1, 1),
        "refused before any verdict"
    );

    // Enabled again (the same provider configuration): the verdicts were dropped when it was
    // disabled, so the token is verified again.
    admin_send(&app, Method::POST, "/tenants/globex/enable", None).await;
    assert_eq!(globex_status(&app, &alice).await, 200);
    assert_eq!(app.verification_stats(), stats(2, 1));
}

#[tokio::test]
async fn a_removed_tenant_keeps_no_verdicts() {
    let app = spawn_app().await;
    let body = globex_body(&app, json!([app.idp.audience()]));
    admin_send(&app, Method::POST, "/tenants", Some(body.clone())).await;
    let alice = app.idp.token("alice");
    assert_eq!(globex_status(&app, &alice).await, 201);
    admin_send(&app, Method::DELETE, "/tenants/globex", None).await;
    assert_problem(
        app.post_get_token("globex", &alice, None).await,
        404,
        "tenant_not_found",
    )
    .await;

    // Onboarded again with the very same configuration: verified afresh.
    admin_send(&app, Method::POST, "/tenants", Some(body)).await;
    assert_eq!(globex_status(&app, &alice).await, 201);
    assert_eq!(app.verification_stats(), stats(2, 0));
}
