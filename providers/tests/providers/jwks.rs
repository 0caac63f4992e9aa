//! The shared JWKS cache over HTTP against [`TestIssuer`](acs_auth_providers::testing::TestIssuer).

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use serde_json::json;
use tokio::task::JoinSet;
use url::Url;

use acs_auth_providers::jwks::*;
use acs_auth_providers::testing::TestIssuer;
use acs_auth_providers::*;

/// The tests' IdPs are on loopback, over http.
const LOOPBACK: FetchPolicy = FetchPolicy {
    allow_http: true,
    allow_private_network: true,
};

fn cache(config: JwksCacheConfig) -> JwksCache {
    JwksCache::new(acs_auth_providers::testing::idp_http(), config)
}

fn no_cooldown() -> JwksCacheConfig {
    JwksCacheConfig {
        refetch_cooldown: Duration::ZERO,
        ..JwksCacheConfig::default()
    }
}

fn jwks_uri(idp: &TestIssuer) -> Url {
    Url::parse(&idp.jwks_uri()).unwrap()
}

#[tokio::test]
async fn keys_are_served_from_memory_after_the_first_fetch() {
    let idp = TestIssuer::start().await;
    let cache = cache(JwksCacheConfig::default());
    let uri = jwks_uri(&idp);
    for _ in 0..5 {
        let key = cache
            .key_for(&uri, Some(&idp.kid()), LOOPBACK)
            .await
            .unwrap();
        assert_eq!(key.algorithm, Algorithm::RS256);
    }
    assert_eq!(cache.fetch_count(&uri), 1);
    assert_eq!(idp.jwks_fetch_count(), 1);
    assert_eq!(cache.cached_keys(&uri), vec![(Some(idp.kid()), "RS256")]);
}

#[tokio::test]
async fn concurrent_first_use_fetches_once() {
    let idp = TestIssuer::start().await;
    let cache = Arc::new(cache(JwksCacheConfig::default()));
    let uri = jwks_uri(&idp);
    let mut tasks = JoinSet::new();
    for _ in 0..20 {
        let (cache, uri, kid) = (cache.clone(), uri.clone(), idp.kid());
        tasks.spawn(async move { cache.key_for(&uri, Some(&kid), LOOPBACK).await.map(|_| ()) });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
    assert_eq!(idp.jwks_fetch_count(), 1);
}

#[tokio::test]
async fn an_unknown_kid_flood_spends_the_burst_then_refetches_once_per_cooldown() {
    let idp = TestIssuer::start().await;
    let cooldown = Duration::from_millis(700);
    let cache = Arc::new(cache(JwksCacheConfig {
        refetch_cooldown: cooldown,
        refetch_burst: 2,
        ..JwksCacheConfig::default()
    }));
    let uri = jwks_uri(&idp);
    cache
        .key_for(&uri, Some(&idp.kid()), LOOPBACK)
        .await
        .unwrap();
    assert_eq!(idp.jwks_fetch_count(), 1);

    // Right after: the second token of the burst goes on the first unknown kid, then none.
    for i in 0..50 {
        let kid = format!("random-{i}");
        let result = cache.key_for(&uri, Some(&kid), LOOPBACK).await;
        assert!(matches!(result, Err(VerifyError::UnknownKey)));
    }
    assert_eq!(idp.jwks_fetch_count(), 2);

    // A cool-down later one token is back: a concurrent flood makes exactly one refetch.
    tokio::time::sleep(cooldown + Duration::from_millis(100)).await;
    let mut tasks = JoinSet::new();
    for i in 0..50 {
        let (cache, uri) = (cache.clone(), uri.clone());
        tasks.spawn(async move {
            cache
                .key_for(&uri, Some(&format!("flood-{i}")), LOOPBACK)
                .await
                .map(|_| ())
        });
    }
    while let Some(result) = tasks.join_next().await {
        assert!(matches!(result.unwrap(), Err(VerifyError::UnknownKey)));
    }
    assert_eq!(idp.jwks_fetch_count(), 3);
    assert_eq!(cache.fetch_count(&uri), 3);
    // Known keys are still served meanwhile.
    cache
        .key_for(&uri, Some(&idp.kid()), LOOPBACK)
        .await
        .unwrap();
    assert_eq!(idp.jwks_fetch_count(), 3);
}

#[tokio::test]
async fn a_rotation_a_second_after_a_fetch_is_picked_up_on_its_first_token() {
    let idp = TestIssuer::start().await;
    // The default budget: 2 at once, one back per 30 s.
    let cache = cache(JwksCacheConfig::default());
    let uri = jwks_uri(&idp);
    cache
        .key_for(&uri, Some(&idp.kid()), LOOPBACK)
        .await
        .unwrap();
    let new_kid = idp.rotate_key();
    cache.key_for(&uri, Some(&new_kid), LOOPBACK).await.unwrap();
    assert_eq!(idp.jwks_fetch_count(), 2);
    // 200 random kids right after the rotation: the budget is spent, no more fetches.
    for i in 0..200 {
        let result = cache
            .key_for(&uri, Some(&format!("random-{i}")), LOOPBACK)
            .await;
        assert!(matches!(result, Err(VerifyError::UnknownKey)));
    }
    assert!(
        idp.jwks_fetch_count() <= 4,
        "{} fetches",
        idp.jwks_fetch_count()
    );
}

#[tokio::test]
async fn key_rotation_is_picked_up_on_demand() {
    let idp = TestIssuer::start().await;
    let cache = cache(no_cooldown());
    let uri = jwks_uri(&idp);
    let old_kid = idp.kid();
    cache.key_for(&uri, Some(&old_kid), LOOPBACK).await.unwrap();
    let new_kid = idp.rotate_key();
    assert_ne!(new_kid, old_kid);
    cache.key_for(&uri, Some(&new_kid), LOOPBACK).await.unwrap();
    assert_eq!(idp.jwks_fetch_count(), 2);
    // The old key left the JWKS; a refetch for it finds it gone.
    idp.rotate_key_keeping_old();
    assert!(matches!(
        cache.key_for(&uri, Some(&old_kid), LOOPBACK).await,
        Err(VerifyError::UnknownKey)
    ));
    assert_eq!(
        cache.cached_keys(&uri).len(),
        2,
        "the overlapping keys are both usable"
    );
}

#[tokio::test]
async fn holds_key_says_whether_the_key_that_verified_a_token_is_still_in_its_set() {
    let idp = TestIssuer::start().await;
    let cache = cache(no_cooldown());
    let uri = jwks_uri(&idp);
    let old = cache
        .key_for(&uri, Some(&idp.kid()), LOOPBACK)
        .await
        .unwrap();
    let old = SigningKeyRef::new(&uri, &old);
    assert!(cache.holds_key(&old));
    let elsewhere = SigningKeyRef {
        jwks_uri: Url::parse("http://127.0.0.1:1/keys").unwrap(),
        ..old.clone()
    };
    assert!(
        !cache.holds_key(&elsewhere),
        "a set never fetched holds nothing"
    );

    // During an overlap both keys are held; once the old one is unpublished and the set
    // refetched (here: for the next new kid), it is not.
    let overlap = idp.rotate_key_keeping_old();
    let overlap = cache.key_for(&uri, Some(&overlap), LOOPBACK).await.unwrap();
    assert!(cache.holds_key(&old));
    assert!(cache.holds_key(&SigningKeyRef::new(&uri, &overlap)));
    let newest = idp.rotate_key();
    cache.key_for(&uri, Some(&newest), LOOPBACK).await.unwrap();
    assert!(!cache.holds_key(&old));
    assert!(!cache.holds_key(&SigningKeyRef::new(&uri, &overlap)));
    assert_eq!(idp.jwks_fetch_count(), 3, "holds_key never fetches");
}

#[tokio::test]
async fn last_known_good_keys_are_used_while_the_issuer_is_unavailable_until_max_stale() {
    let idp = TestIssuer::start().await;
    let config = JwksCacheConfig {
        refetch_cooldown: Duration::ZERO,
        refresh_interval: Duration::from_millis(200),
        max_stale: Duration::from_millis(2000),
        ..JwksCacheConfig::default()
    };
    let cache = cache(config);
    let uri = jwks_uri(&idp);
    let kid = idp.kid();
    cache.key_for(&uri, Some(&kid), LOOPBACK).await.unwrap();
    idp.set_available(false);

    cache.key_for(&uri, Some(&kid), LOOPBACK).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Due for refresh: served from memory, refreshed in the background (which fails).
    cache.key_for(&uri, Some(&kid), LOOPBACK).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(idp.jwks_fetch_count() >= 2, "a refresh was attempted");
    // An unknown kid during the outage: the refetch fails, known keys remain.
    assert!(matches!(
        cache.key_for(&uri, Some("other"), LOOPBACK).await,
        Err(VerifyError::UnknownKey)
    ));
    cache.key_for(&uri, Some(&kid), LOOPBACK).await.unwrap();

    tokio::time::sleep(Duration::from_millis(1600)).await;
    let err = cache.key_for(&uri, Some(&kid), LOOPBACK).await.unwrap_err();
    assert!(matches!(err, VerifyError::Unavailable(_)), "{err}");
    assert!(err.is_server_side());

    idp.set_available(true);
    cache.key_for(&uri, Some(&kid), LOOPBACK).await.unwrap();
}

#[tokio::test]
async fn a_set_older_than_refresh_interval_is_refetched_on_next_use() {
    let idp = TestIssuer::start().await;
    let config = JwksCacheConfig {
        refresh_interval: Duration::from_millis(100),
        ..no_cooldown()
    };
    let cache = cache(config);
    let uri = jwks_uri(&idp);
    cache
        .key_for(&uri, Some(&idp.kid()), LOOPBACK)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    cache
        .key_for(&uri, Some(&idp.kid()), LOOPBACK)
        .await
        .unwrap();
    for _ in 0..50 {
        if idp.jwks_fetch_count() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(idp.jwks_fetch_count(), 2);
}

#[tokio::test]
async fn background_refresh_refetches_known_sets() {
    let idp = TestIssuer::start().await;
    let config = JwksCacheConfig {
        refresh_interval: Duration::from_millis(500),
        ..no_cooldown()
    };
    let cache = Arc::new(cache(config));
    let uri = jwks_uri(&idp);
    cache
        .key_for(&uri, Some(&idp.kid()), LOOPBACK)
        .await
        .unwrap();
    let new_kid = idp.rotate_key();
    let task = cache.clone().spawn_refresh();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(idp.jwks_fetch_count() >= 2);
    assert!(
        cache
            .cached_keys(&uri)
            .iter()
            .any(|(kid, _)| kid.as_deref() == Some(new_kid.as_str()))
    );
    task.abort();
}

#[tokio::test]
async fn background_refresh_stops_when_the_cache_is_dropped() {
    let cache = Arc::new(cache(JwksCacheConfig {
        refresh_interval: Duration::from_secs(2),
        ..JwksCacheConfig::default()
    }));
    let task = cache.clone().spawn_refresh();
    drop(cache);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn http_jwks_uri_is_refused_unless_allowed() {
    let idp = TestIssuer::start().await;
    let cache = cache(JwksCacheConfig::default());
    let uri = jwks_uri(&idp);
    let err = cache
        .key_for(
            &uri,
            Some(&idp.kid()),
            FetchPolicy {
                allow_http: false,
                allow_private_network: true,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::Config(_)), "{err}");
    assert_eq!(idp.jwks_fetch_count(), 0);
    assert_eq!(cache.fetch_count(&uri), 0);
    for other in ["ftp://127.0.0.1/jwks", "file:///etc/passwd"] {
        let err = cache
            .key_for(&Url::parse(other).unwrap(), None, LOOPBACK)
            .await
            .unwrap_err();
        assert!(matches!(err, VerifyError::Config(_)), "{other}: {err}");
    }
    cache
        .key_for(&uri, Some(&idp.kid()), LOOPBACK)
        .await
        .unwrap();
}

#[tokio::test]
async fn first_fetch_failure_is_unavailable() {
    let idp = TestIssuer::start().await;
    idp.set_available(false);
    let cache = cache(no_cooldown());
    let uri = jwks_uri(&idp);
    let err = cache
        .key_for(&uri, Some(&idp.kid()), LOOPBACK)
        .await
        .unwrap_err();
    assert!(
        matches!(err, VerifyError::Unavailable(ref m) if m.contains("503")),
        "{err}"
    );
    idp.set_available(true);
    cache
        .key_for(&uri, Some(&idp.kid()), LOOPBACK)
        .await
        .unwrap();
}

#[tokio::test]
async fn oversized_jwks_document_is_refused() {
    let idp = TestIssuer::start().await;
    idp.publish_jwk(json!({ "kty": "oct", "k": "A".repeat(4096) }));
    let cache = cache(JwksCacheConfig {
        max_document_bytes: 2048,
        ..JwksCacheConfig::default()
    });
    let err = cache
        .key_for(&jwks_uri(&idp), Some(&idp.kid()), LOOPBACK)
        .await
        .unwrap_err();
    assert!(
        matches!(err, VerifyError::Unavailable(ref m) if m.contains("larger")),
        "{err}"
    );
}

#[tokio::test]
async fn key_sets_nobody_asks_for_are_forgotten() {
    let idp = TestIssuer::start().await;
    let cache = cache(no_cooldown());
    let uri = jwks_uri(&idp);
    cache
        .key_for(&uri, Some(&idp.kid()), LOOPBACK)
        .await
        .unwrap();
    assert_eq!(
        cache.evict_unused(Duration::from_secs(3600)),
        0,
        "used just now"
    );
    assert!(!cache.cached_keys(&uri).is_empty());
    assert_eq!(cache.evict_unused(Duration::ZERO), 1);
    assert!(cache.cached_keys(&uri).is_empty(), "forgotten");
    // Asked for again: fetched again.
    cache
        .key_for(&uri, Some(&idp.kid()), LOOPBACK)
        .await
        .unwrap();
    assert_eq!(idp.jwks_fetch_count(), 2);
}

#[tokio::test]
async fn a_key_set_at_a_private_address_is_refused_without_the_opt_in() {
    let idp = TestIssuer::start().await;
    let cache = cache(no_cooldown());
    let guarded = FetchPolicy {
        allow_http: true,
        allow_private_network: false,
    };
    let by_name = Url::parse(&idp.jwks_uri().replace("127.0.0.1", "localhost")).unwrap();
    let v6 = Url::parse("http://[::1]:9/keys").unwrap();
    let metadata = Url::parse("http://169.254.169.254/metadata/identity").unwrap();
    for uri in [jwks_uri(&idp), by_name, v6, metadata] {
        let err = cache
            .key_for(&uri, Some(&idp.kid()), guarded)
            .await
            .unwrap_err();
        assert!(
            matches!(err, VerifyError::PrivateNetwork(_)),
            "{uri}: {err}"
        );
        assert_eq!(err.code(), "idp_address_private");
        assert!(err.to_string().contains("allow_private_network"), "{err}");
    }
    assert_eq!(idp.jwks_fetch_count(), 0, "no request reached the IdP");
    // The same URI with the opt-in.
    cache
        .key_for(&jwks_uri(&idp), Some(&idp.kid()), LOOPBACK)
        .await
        .unwrap();
    assert_eq!(idp.jwks_fetch_count(), 1);
}
