//! Small builders shared by the cases.

use acs_auth::store::{Mapping, NewMapping, Store, SubjectKey};
use chrono::{DateTime, Duration, SubsecRound, TimeZone, Utc};

/// A fixed instant with nanoseconds, so truncation shows.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap() + Duration::nanoseconds(123_456_789)
}

/// What the store guarantees to give back for `t`: UTC, microsecond precision.
pub fn stored(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

pub fn secs(n: i64) -> Duration {
    Duration::seconds(n)
}

pub fn key(tenant: &str, issuer_key: &str, subject: &str) -> SubjectKey {
    SubjectKey {
        tenant_id: tenant.to_owned(),
        issuer_key: issuer_key.to_owned(),
        subject: subject.to_owned(),
    }
}

pub fn new_mapping(key: &SubjectKey, acs_user_id: &str) -> NewMapping {
    NewMapping {
        key: key.clone(),
        acs_user_id: acs_user_id.to_owned(),
        acs_resource: "acs-one.communication.azure.com".to_owned(),
    }
}

pub fn acs_id(n: usize) -> String {
    format!("8:acs:00000000-0000-0000-0000-000000000001_{n:08}")
}

/// Inserts a mapping that must be new and returns it as stored.
pub async fn mapped(store: &Store, key: &SubjectKey, acs_user_id: &str) -> Mapping {
    assert!(
        store
            .insert_mapping_if_absent(&new_mapping(key, acs_user_id), t0())
            .await
            .unwrap(),
        "{key:?} was already mapped"
    );
    store.find_mapping(key).await.unwrap().unwrap()
}
