//! The ACS resources identities live in. A mapping records its resource by name, so changing the
//! default resource later never orphans identities created in the old one.

use std::collections::HashMap;
use std::sync::Arc;

use super::ServiceError;
use crate::acs::AcsClient;

/// One ACS resource and the client that talks to it.
pub struct AcsResource {
    /// Stable name recorded in mappings: the resource's endpoint URL.
    pub name: String,
    pub client: AcsClient,
}

pub struct AcsResources {
    default: Arc<AcsResource>,
    by_name: HashMap<String, Arc<AcsResource>>,
}

impl AcsResources {
    /// The default resource, recorded in mappings under its endpoint URL.
    pub fn new(default: AcsClient) -> Self {
        let name = resource_name(default.endpoint());
        Self::named(name, default)
    }

    /// The default resource under an explicit name (dev mode: a stable name for an emulator
    /// whose port changes between runs).
    pub fn named(name: String, default: AcsClient) -> Self {
        let default = Arc::new(AcsResource {
            name: name.clone(),
            client: default,
        });
        let mut by_name = HashMap::new();
        by_name.insert(name, Arc::clone(&default));
        Self { default, by_name }
    }

    pub fn default_resource(&self) -> Arc<AcsResource> {
        Arc::clone(&self.default)
    }

    pub fn get(&self, name: &str) -> Result<Arc<AcsResource>, ServiceError> {
        self.by_name
            .get(name)
            .cloned()
            .ok_or_else(|| ServiceError::UnknownResource(name.to_owned()))
    }
}

/// The name a resource is recorded under: its endpoint without a trailing slash.
pub fn resource_name(endpoint: &url::Url) -> String {
    endpoint.as_str().trim_end_matches('/').to_owned()
}
