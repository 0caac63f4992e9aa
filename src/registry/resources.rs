//! The ACS resources identities live in. A mapping records its resource by name (the resource's
//! endpoint), so a tenant that moves to another resource — or a change of the default one —
//! never orphans identities created in the old one: every resource an identity was created in
//! stays reachable (its settings are kept in the `acs_resources` table).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use secrecy::{ExposeSecret, SecretString};

use crate::acs::{AcsClient, AcsError, ConnectionString, PacingLimits};
use crate::config::AcsSettings;

/// One ACS resource and the client that talks to it.
pub struct AcsResource {
    /// Stable name recorded in mappings: the resource's endpoint URL (without trailing slash).
    pub name: String,
    pub client: AcsClient,
    /// The settings it was built from, as stored in `acs_resources` (secrets included).
    pub settings_json: String,
}

impl std::fmt::Debug for AcsResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcsResource")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl AcsResource {
    /// Builds the client described by `settings`: a connection string (and optional secondary
    /// key), or an endpoint with an Entra ID credential.
    pub fn from_settings(
        http: &reqwest::Client,
        settings: &AcsSettings,
        name: Option<String>,
    ) -> Result<Self, AcsError> {
        let timeout = Duration::from_secs(settings.timeout_secs.max(1));
        let client = match (
            &settings.connection_string,
            &settings.endpoint,
            &settings.entra,
        ) {
            (Some(conn_str), _, _) => {
                let conn = ConnectionString::parse(conn_str.expose_secret())?;
                let mut client = AcsClient::new(http.clone(), &conn, timeout);
                if let Some(secondary) = &settings.secondary_access_key {
                    client = client.try_with_secondary_key(SecretString::from(
                        secondary.expose_secret().to_owned(),
                    ))?;
                }
                client
            }
            (None, Some(endpoint), Some(entra)) => {
                let endpoint = url::Url::parse(endpoint).map_err(|e| {
                    AcsError::InvalidConnectionString(format!("endpoint is not a URL: {e}"))
                })?;
                AcsClient::from_entra_config(http.clone(), endpoint, entra, timeout)?
            }
            _ => {
                return Err(AcsError::InvalidConnectionString(
                    "no connection string, and no endpoint with an Entra ID credential".into(),
                ));
            }
        };
        let client = client
            .with_retry_policy(crate::acs::RetryPolicy {
                max_retries: settings.max_retries,
                ..crate::acs::RetryPolicy::default()
            })
            .with_circuit_breaker(crate::acs::CircuitBreakerConfig {
                failure_threshold: settings.circuit_breaker_threshold,
                cool_down: Duration::from_secs(settings.circuit_breaker_cooldown_secs.max(1)),
            })
            .with_pacing_limits(pacing_limits(settings));
        let settings_json = serde_json::to_string(settings).map_err(|e| {
            AcsError::InvalidConnectionString(format!("cannot serialize the settings: {e}"))
        })?;
        Ok(Self {
            name: name.unwrap_or_else(|| resource_name(client.endpoint())),
            client,
            settings_json,
        })
    }
}

/// The client-side pacing of `settings`: the documented ACS limits, or none (`pacing = false`,
/// tests and benchmarks only), with its queue time.
fn pacing_limits(settings: &AcsSettings) -> PacingLimits {
    let limits = if settings.pacing {
        PacingLimits::default()
    } else {
        tracing::warn!(
            "ACS pacing is off (`acs.pacing = false`): for tests and benchmarks against the \
             emulator only; a real ACS resource will answer 429"
        );
        PacingLimits::unlimited()
    };
    limits.with_max_wait(Duration::from_millis(settings.max_queue_wait_ms))
}

/// Every known resource by name; the default one is always there. Replaced as a whole when
/// tenants change.
pub struct AcsResources {
    default: Arc<AcsResource>,
    by_name: ArcSwap<HashMap<String, Arc<AcsResource>>>,
    /// How many replicas share each resource's ACS limits ([`AcsResources::set_pacing_share`]).
    share: std::sync::atomic::AtomicU32,
}

impl AcsResources {
    pub fn new(default: AcsResource) -> Self {
        let default = Arc::new(default);
        let mut by_name = HashMap::new();
        by_name.insert(default.name.clone(), Arc::clone(&default));
        Self {
            default,
            by_name: ArcSwap::from_pointee(by_name),
            share: std::sync::atomic::AtomicU32::new(1),
        }
    }

    /// How many replicas each resource's ACS limits are split between.
    pub fn pacing_share(&self) -> u32 {
        self.share.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Paces every resource, and those added later, to a `1 / replicas` part of its ACS limits.
    pub fn set_pacing_share(&self, replicas: u32) {
        self.share
            .store(replicas, std::sync::atomic::Ordering::Relaxed);
        for r in self.by_name.load().values() {
            r.client.set_pacing_share(replicas);
        }
    }

    /// A set with only `client` as the default (tests, spec rendering).
    pub fn with_client(client: AcsClient) -> Self {
        Self::new(AcsResource {
            name: resource_name(client.endpoint()),
            client,
            settings_json: "{}".into(),
        })
    }

    pub fn default_resource(&self) -> Arc<AcsResource> {
        Arc::clone(&self.default)
    }

    /// The resource recorded under `name`, if it is known.
    pub fn get(&self, name: &str) -> Option<Arc<AcsResource>> {
        self.by_name.load().get(name).cloned()
    }

    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.by_name.load().keys().cloned().collect();
        names.sort();
        names
    }

    /// Replaces every resource but the default with `others` (the default wins on a clash).
    pub fn replace(&self, others: Vec<Arc<AcsResource>>) {
        let mut map = HashMap::new();
        for r in others {
            map.insert(r.name.clone(), r);
        }
        map.insert(self.default.name.clone(), Arc::clone(&self.default));
        let share = self.share.load(std::sync::atomic::Ordering::Relaxed);
        for r in map.values() {
            r.client.set_pacing_share(share);
        }
        self.by_name.store(Arc::new(map));
    }
}

/// The name a resource is recorded under: its endpoint without a trailing slash.
pub fn resource_name(endpoint: &url::Url) -> String {
    endpoint.as_str().trim_end_matches('/').to_owned()
}
