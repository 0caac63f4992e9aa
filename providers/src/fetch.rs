//! The one way a provider fetches a remote document (discovery, JWKS): the scheme checked
//! (`https`, or `http` only where the configuration allows it, also after redirects), the
//! private-network guard ([`crate::network`]), a timeout and a bounded size.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use url::{Host, Url};

use crate::VerifyError;
use crate::network::{FetchPolicy, IdpHttp, PrivateAddress, refusal_in};

/// `https` always; `http` only when allowed; anything else never.
pub fn check_scheme(url: &Url, allow_http: bool) -> Result<(), VerifyError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_http => Ok(()),
        _ => Err(VerifyError::Config(format!(
            "{url}: only https URLs are allowed (allow_http is for development and tests)"
        ))),
    }
}

/// The guard's verdict on a URL whose host is an IP literal (never resolved, so the guarded
/// client's resolver does not see it); host names are judged when they are resolved.
fn check_literal_host(url: &Url, policy: FetchPolicy) -> Result<(), VerifyError> {
    if policy.allow_private_network {
        return Ok(());
    }
    let ip = match url.host() {
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        _ => return Ok(()),
    };
    let host = url.host_str().unwrap_or_default();
    PrivateAddress::check(host, ip)
        .map_err(|e| VerifyError::PrivateNetwork(format!("GET {url}: {e}")))
}

/// GET a JSON document under `policy`: scheme checked (also after redirects), the
/// private-network guard, timeout, bounded size. Failures are `Unavailable`, a refused scheme is
/// `Config`, a refused address `PrivateNetwork`.
pub async fn fetch_document(
    http: &IdpHttp,
    url: &Url,
    policy: FetchPolicy,
    timeout: Duration,
    max_bytes: usize,
) -> Result<Vec<u8>, VerifyError> {
    check_scheme(url, policy.allow_http)?;
    check_literal_host(url, policy)?;
    let unavailable = |what: String| VerifyError::Unavailable(format!("GET {url}: {what}"));
    let mut response = http
        .client(policy)
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| match refusal_in(&e) {
            Some(refusal) => VerifyError::PrivateNetwork(format!("GET {url}: {refusal}")),
            None => unavailable(e.without_url().to_string()),
        })?;
    if check_scheme(response.url(), policy.allow_http).is_err() {
        return Err(unavailable(
            "redirected to a URL that is not allowed".to_owned(),
        ));
    }
    let status = response.status();
    if !status.is_success() {
        return Err(unavailable(format!("HTTP {status}")));
    }
    let too_large = || unavailable(format!("document larger than {max_bytes} bytes"));
    if response
        .content_length()
        .is_some_and(|len| len > max_bytes as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| unavailable(e.without_url().to_string()))?
    {
        if body.len() + chunk.len() > max_bytes {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A token bucket of refetches: full at first, one token back per `refetch_cooldown`.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    /// Tokens spent and not yet back, as of `at`.
    spent: f64,
    at: Option<Instant>,
}

impl Budget {
    /// Takes a token when one is left (of `burst`, one back per `cooldown`).
    pub(crate) fn take(&mut self, burst: u32, cooldown: Duration) -> bool {
        let now = Instant::now();
        if let Some(at) = self.at {
            let back = if cooldown.is_zero() {
                f64::INFINITY
            } else {
                now.saturating_duration_since(at).as_secs_f64() / cooldown.as_secs_f64()
            };
            self.spent = (self.spent - back).max(0.0);
        }
        self.at = Some(now);
        if self.spent + 1.0 > f64::from(burst.max(1)) {
            return false;
        }
        self.spent += 1.0;
        true
    }
}

#[cfg(test)]
mod budget_tests {
    use super::*;

    #[test]
    fn the_budget_gives_its_burst_at_once_then_one_per_cooldown() {
        let mut b = Budget::default();
        let cooldown = Duration::from_secs(3600);
        assert!(b.take(2, cooldown));
        assert!(b.take(2, cooldown));
        assert!(!b.take(2, cooldown), "spent");
        let mut b = Budget::default();
        assert!(
            b.take(1, Duration::ZERO) && b.take(1, Duration::ZERO),
            "no cool-down"
        );
        // A token comes back after the cool-down.
        let mut b = Budget {
            spent: 2.0,
            at: Instant::now().checked_sub(Duration::from_millis(1500)),
        };
        assert!(b.take(2, Duration::from_secs(1)));
        assert!(!b.take(2, Duration::from_secs(1)));
    }
}
