//! The client's timeouts, retries, circuit breaker and pacing, over real HTTP against the
//! emulator with injected faults.

use std::time::{Duration, Instant};

use acs_auth::acs::emulator::{Fault, RunningEmulator};
use acs_auth::acs::{
    AcsClient, AcsError, CircuitBreakerConfig, CircuitState, Operation, PacingLimit, PacingLimits,
    RetryPolicy,
};

use crate::helpers::{client_for, scopes, start};

/// Retries without long waits, and no breaker, unless a test asks for them.
fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(100),
        ..RetryPolicy::default()
    }
}

fn client(emu: &RunningEmulator) -> AcsClient {
    client_for(&emu.connection_string())
        .with_retry_policy(fast_policy())
        .with_circuit_breaker(CircuitBreakerConfig::disabled())
}

async fn identity(emu: &RunningEmulator) -> String {
    client(emu).create_identity(None).await.unwrap().id
}

fn status_of(e: &AcsError) -> u16 {
    e.status()
        .unwrap_or_else(|| panic!("expected an ACS answer, got {e:?}"))
}

#[tokio::test]
async fn throttled_issue_waits_for_retry_after_then_succeeds() {
    let emu = start().await;
    let e = emu.emulator();
    let id = identity(&emu).await;
    let client = client(&emu);
    e.inject(Operation::Issue, Fault::throttled(1, 1));
    let started = Instant::now();
    client
        .issue_access_token(&id, &scopes(&["chat"]), 60)
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(e.call_count(Operation::Issue), 2);
}

#[tokio::test]
async fn unavailable_twice_then_success_is_retried_even_for_create() {
    let emu = start().await;
    let e = emu.emulator();
    let client = client(&emu);
    e.inject(Operation::Create, Fault::status(503, 2));
    client.create_identity(None).await.unwrap();
    assert_eq!(e.call_count(Operation::Create), 3);
    assert_eq!(e.live_identity_count(), 1, "one identity, not three");

    let id = identity(&emu).await;
    e.inject(Operation::Issue, Fault::status(503, 2));
    client
        .issue_access_token(&id, &scopes(&["voip"]), 60)
        .await
        .unwrap();
    assert_eq!(e.call_count(Operation::Issue), 3);
}

#[tokio::test]
async fn retries_are_bounded() {
    let emu = start().await;
    let e = emu.emulator();
    let id = identity(&emu).await;
    e.inject(
        Operation::Revoke,
        Fault::Status {
            status: 503,
            retry_after: None,
            times: None,
        },
    );
    let err = client(&emu).revoke_access_tokens(&id).await.unwrap_err();
    assert_eq!(status_of(&err), 503);
    assert_eq!(e.call_count(Operation::Revoke), 3, "1 + max_retries (2)");

    e.reset_call_counts();
    let none = client(&emu).with_retry_policy(RetryPolicy::none());
    assert_eq!(
        status_of(&none.revoke_access_tokens(&id).await.unwrap_err()),
        503
    );
    assert_eq!(e.call_count(Operation::Revoke), 1);
}

#[tokio::test]
async fn server_error_on_create_is_not_retried_but_on_issue_it_is() {
    let emu = start().await;
    let e = emu.emulator();
    let client = client(&emu);
    for status in [500, 502, 504, 408] {
        e.reset_call_counts();
        e.inject(Operation::Create, Fault::status(status, 1));
        let err = client.create_identity(None).await.unwrap_err();
        assert_eq!(status_of(&err), status);
        assert!(err.is_retryable(), "the caller may still try later");
        assert_eq!(e.call_count(Operation::Create), 1, "{status} on create");
    }
    assert_eq!(e.live_identity_count(), 0);

    let id = identity(&emu).await;
    e.inject(Operation::Issue, Fault::status(500, 1));
    e.inject(Operation::Issue, Fault::status(502, 1));
    client
        .issue_access_token(&id, &scopes(&["chat"]), 60)
        .await
        .unwrap();
    assert_eq!(e.call_count(Operation::Issue), 3);
}

#[tokio::test]
async fn lost_answer_of_a_create_is_never_retried() {
    let emu = start().await;
    let e = emu.emulator();
    // Processed, then the answer is a 500.
    e.inject(
        Operation::Create,
        Fault::DropAfterProcessing {
            status: 500,
            delay: Duration::ZERO,
            times: Some(1),
        },
    );
    let err = client(&emu).create_identity(None).await.unwrap_err();
    assert_eq!(status_of(&err), 500);
    assert_eq!(e.call_count(Operation::Create), 1);
    assert_eq!(e.live_identity_count(), 1);

    // Processed, then no answer within the client's timeout.
    e.inject(
        Operation::Create,
        Fault::DropAfterProcessing {
            status: 500,
            delay: Duration::from_secs(2),
            times: Some(1),
        },
    );
    let slow = client(&emu).with_timeout(Duration::from_millis(300));
    let err = slow.create_identity(None).await.unwrap_err();
    assert!(matches!(err, AcsError::Timeout), "{err:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        e.call_count(Operation::Create),
        2,
        "the timeout was not retried"
    );
    assert_eq!(e.live_identity_count(), 2);
}

#[tokio::test]
async fn timeout_on_issue_is_retried() {
    let emu = start().await;
    let e = emu.emulator();
    let id = identity(&emu).await;
    e.inject(
        Operation::Issue,
        Fault::LatencyFor {
            delay: Duration::from_secs(2),
            times: 1,
        },
    );
    let slow = client(&emu).with_timeout(Duration::from_millis(300));
    slow.issue_access_token(&id, &scopes(&["chat"]), 60)
        .await
        .unwrap();
    assert_eq!(e.call_count(Operation::Issue), 2);
}

#[tokio::test]
async fn latency_past_the_client_timeout_is_a_timeout() {
    let emu = start().await;
    let e = emu.emulator();
    let id = identity(&emu).await;
    e.inject(Operation::Revoke, Fault::Latency(Duration::from_secs(2)));
    let slow = client(&emu)
        .with_timeout(Duration::from_millis(200))
        .with_retry_policy(RetryPolicy::none());
    let started = Instant::now();
    let err = slow.revoke_access_tokens(&id).await.unwrap_err();
    assert!(matches!(err, AcsError::Timeout), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(err.is_retryable());

    // With retries: each attempt times out, three in all.
    let err = client(&emu)
        .with_timeout(Duration::from_millis(200))
        .revoke_access_tokens(&id)
        .await
        .unwrap_err();
    assert!(matches!(err, AcsError::Timeout), "{err:?}");
    assert_eq!(e.call_count(Operation::Revoke), 4);
}

#[tokio::test]
async fn retry_after_beyond_the_maximum_gives_up_at_once_and_pauses_the_operation() {
    let emu = start().await;
    let e = emu.emulator();
    let id = identity(&emu).await;
    let client = client(&emu);
    e.inject(Operation::Issue, Fault::throttled(30, 1));
    let started = Instant::now();
    let err = client
        .issue_access_token(&id, &scopes(&["chat"]), 60)
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(status_of(&err), 429);
    assert!(err.is_throttled());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
    assert_eq!(e.call_count(Operation::Issue), 1);

    // No retry storm: until Retry-After has passed, issue calls are held back (by every clone)
    // without reaching ACS; other operations go on.
    let paused = client.throttled_for(Operation::Issue).unwrap();
    assert!(paused > Duration::from_secs(28));
    let err = client
        .clone()
        .issue_access_token(&id, &scopes(&["chat"]), 60)
        .await
        .unwrap_err();
    let AcsError::Throttled { retry_after } = err else {
        panic!("expected client-side throttling, got {err:?}");
    };
    assert!(retry_after > Duration::from_secs(28));
    assert_eq!(e.call_count(Operation::Issue), 1);
    client.revoke_access_tokens(&id).await.unwrap();
}

#[tokio::test]
async fn circuit_opens_after_failures_fails_fast_then_half_opens_and_closes() {
    let emu = start().await;
    let e = emu.emulator();
    let id = identity(&emu).await;
    let client = client_for(&emu.connection_string())
        .with_retry_policy(RetryPolicy::none())
        .with_circuit_breaker(CircuitBreakerConfig {
            failure_threshold: 3,
            cool_down: Duration::from_millis(500),
        });
    let shared = client.clone();

    // 4xx other than 408/429 say ACS is up: they do not count.
    for _ in 0..5 {
        let err = client
            .revoke_access_tokens("8:acs:unknown")
            .await
            .unwrap_err();
        assert!(err.is_identity_not_found());
    }
    assert_eq!(client.circuit_state(), CircuitState::Closed { failures: 0 });

    e.inject(
        Operation::Issue,
        Fault::Status {
            status: 503,
            retry_after: None,
            times: None,
        },
    );
    for _ in 0..3 {
        let err = client
            .issue_access_token(&id, &scopes(&["chat"]), 60)
            .await
            .unwrap_err();
        assert_eq!(status_of(&err), 503);
    }
    assert_eq!(e.call_count(Operation::Issue), 3);

    // Open: every call of the resource fails at once (clones share the breaker), ACS sees nothing.
    let err = shared.revoke_access_tokens(&id).await.unwrap_err();
    let AcsError::CircuitOpen { retry_after } = err else {
        panic!("expected an open circuit, got {err:?}");
    };
    assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_millis(500));
    assert!(err.is_retryable() && err.is_held_back());
    assert_eq!(err.retry_after(), Some(retry_after));
    assert!(matches!(
        shared.issue_access_token(&id, &scopes(&["chat"]), 60).await,
        Err(AcsError::CircuitOpen { .. })
    ));
    assert_eq!(e.call_count(Operation::Issue), 3);
    assert_eq!(e.call_count(Operation::Revoke), 5);

    // Half-open: the trial fails, so it opens again.
    tokio::time::sleep(Duration::from_millis(550)).await;
    let err = client
        .issue_access_token(&id, &scopes(&["chat"]), 60)
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), 503);
    assert_eq!(e.call_count(Operation::Issue), 4);
    assert!(matches!(client.circuit_state(), CircuitState::Open { .. }));

    // ACS recovers: the next trial succeeds and closes the circuit.
    e.clear_faults();
    tokio::time::sleep(Duration::from_millis(550)).await;
    assert_eq!(
        client.circuit_state(),
        CircuitState::HalfOpen {
            trial_in_flight: false
        }
    );
    client
        .issue_access_token(&id, &scopes(&["chat"]), 60)
        .await
        .unwrap();
    assert_eq!(client.circuit_state(), CircuitState::Closed { failures: 0 });
    shared.revoke_access_tokens(&id).await.unwrap();
}

#[tokio::test]
async fn retries_stop_when_the_circuit_opens() {
    let emu = start().await;
    let e = emu.emulator();
    let id = identity(&emu).await;
    let client = client(&emu).with_circuit_breaker(CircuitBreakerConfig {
        failure_threshold: 2,
        cool_down: Duration::from_secs(5),
    });
    e.inject(
        Operation::Delete,
        Fault::Status {
            status: 500,
            retry_after: None,
            times: None,
        },
    );
    let err = client.delete_identity(&id).await.unwrap_err();
    // The last answer, not "circuit open": the caller learns what ACS said.
    assert_eq!(status_of(&err), 500);
    assert_eq!(e.call_count(Operation::Delete), 2);
}

#[tokio::test]
async fn pacing_limits_calls_per_window() {
    let emu = start().await;
    let e = emu.emulator();
    let id = identity(&emu).await;
    let limits = PacingLimits::default()
        .with(
            Operation::Issue,
            PacingLimit::new(2, Duration::from_millis(600)),
        )
        .with_max_wait(Duration::ZERO);
    let client = client(&emu).with_pacing_limits(limits);
    for _ in 0..2 {
        client
            .issue_access_token(&id, &scopes(&["chat"]), 60)
            .await
            .unwrap();
    }
    let err = client
        .issue_access_token(&id, &scopes(&["chat"]), 60)
        .await
        .unwrap_err();
    let AcsError::Throttled { retry_after } = err else {
        panic!("expected client-side throttling, got {err:?}");
    };
    // Room comes when the first call leaves the 600 ms window.
    assert!(retry_after <= Duration::from_millis(600), "{retry_after:?}");
    assert!(retry_after > Duration::ZERO);
    assert_eq!(e.call_count(Operation::Issue), 2, "the third never left");
    // Other operations have their own budget.
    client.revoke_access_tokens(&id).await.unwrap();

    // Waiting briefly instead: the third goes out once the budget allows.
    let waiting = client_for(&emu.connection_string())
        .with_pacing_limits(limits.with_max_wait(Duration::from_secs(2)));
    let started = Instant::now();
    for _ in 0..3 {
        waiting
            .issue_access_token(&id, &scopes(&["chat"]), 60)
            .await
            .unwrap();
    }
    // Two at once, the third a whole window after the first.
    assert!(started.elapsed() >= Duration::from_millis(600));
    assert_eq!(e.call_count(Operation::Issue), 5);
}

#[tokio::test]
async fn delete_retried_after_a_lost_answer_reports_not_found() {
    let emu = start().await;
    let e = emu.emulator();
    let id = identity(&emu).await;
    e.inject(
        Operation::Delete,
        Fault::DropAfterProcessing {
            status: 500,
            delay: Duration::ZERO,
            times: Some(1),
        },
    );
    let err = client(&emu).delete_identity(&id).await.unwrap_err();
    // The first attempt deleted it; the retry finds it gone (callers take 404 as done).
    assert!(err.is_identity_not_found(), "{err:?}");
    assert_eq!(e.call_count(Operation::Delete), 2);
    assert!(!e.identity_exists(&id));
}

#[tokio::test]
async fn create_is_retried_when_the_connection_is_refused() {
    // Nobody listens: the request never left, so even create may be retried.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let emu = start().await;
    let conn = emu
        .connection_string()
        .replace(&emu.http_addr.to_string(), &addr.to_string());
    let client = client_for(&conn)
        .with_retry_policy(fast_policy())
        .with_circuit_breaker(CircuitBreakerConfig {
            failure_threshold: 3,
            cool_down: Duration::from_secs(5),
        });
    let err = client.create_identity(None).await.unwrap_err();
    assert!(matches!(err, AcsError::Transport(_)), "{err:?}");
    // Three attempts, all failures: the breaker counted each.
    assert!(matches!(client.circuit_state(), CircuitState::Open { .. }));
}
