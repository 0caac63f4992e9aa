//! First calls under the ACS ceiling: the emulator enforces the documented service limits
//! (1000 creates per 30 s), and a burst of new users larger than that is paced by acs-auth,
//! never pushed at ACS to be refused.

use std::time::{Duration, Instant};

use acs_auth::acs::{Operation, ServiceLimits};
use serde_json::Value;

use crate::helpers::spawn_app_with_emulator;

#[tokio::test]
async fn a_burst_of_2000_new_users_gets_201_or_503_with_retry_after_and_acs_sees_no_429() {
    let app = spawn_app_with_emulator(
        |emulator| emulator.service_limits = Some(ServiceLimits::documented()),
        |settings, _| {
            settings.limits.tenant_requests_per_second = 0;
            // 2000 clients at once, each on its own connection: none waits for a slot.
            settings.server.max_connections = 4096;
        },
    )
    .await;
    let emulator = app.emulator.emulator();
    let queue = Duration::from_millis(app.settings.acs.max_queue_wait_ms);
    let tokens: Vec<String> = (0..2000)
        .map(|i| app.idp.token(&format!("burst-{i}")))
        .collect();

    let started = Instant::now();
    let calls = tokens.iter().map(|bearer| async {
        let resp = app.get_token(bearer).await;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        (status, retry_after, body)
    });
    let answers = futures::future::join_all(calls).await;
    let elapsed = started.elapsed();

    let created = answers.iter().filter(|(s, _, _)| *s == 201).count();
    let refused: Vec<_> = answers.iter().filter(|(s, _, _)| *s != 201).collect();
    eprintln!(
        "burst of 2000 new users: {created} created, {} told to come back, in {elapsed:?}",
        refused.len()
    );
    // ACS was never pushed past its limit: no 429 at all, and every create it saw made a user.
    assert_eq!(emulator.throttled_count(Operation::Create), 0);
    assert_eq!(emulator.throttled_count(Operation::Issue), 0);
    assert_eq!(emulator.call_count(Operation::Create), created as u64);
    // The first window's worth of users got their identity; the rest were told when to come
    // back: a whole ACS window away, longer than the queue time, so nobody waited for it.
    assert!(created >= 1000, "{created} created");
    for (status, retry_after, body) in &refused {
        assert_eq!(*status, 503, "{body}");
        assert_eq!(body["code"], "acs_throttled", "{body}");
        let retry_after = retry_after.unwrap_or_else(|| panic!("no Retry-After: {body}"));
        assert!(
            Duration::from_secs(retry_after) > queue && retry_after <= 30,
            "Retry-After: {retry_after}"
        );
    }
    assert_eq!(created + refused.len(), 2000);
}
