//! The private-network guard of IdP fetches (discovery documents, key sets, tenant checks).
//!
//! An IdP's URLs come from a tenant's configuration — with self-service onboarding, from a
//! customer. Left alone, acs-auth would fetch whatever those names resolve to: its own loopback,
//! the operator's private networks, the cloud metadata service at 169.254.169.254. So every IdP
//! fetch goes through [`IdpHttp`], which holds two clients:
//! - the **guarded** one (the default) resolves host names itself and keeps only public unicast
//!   addresses ([`private_range`] names what it refuses). The check runs on the addresses the
//!   connection is then made to, so a name that resolves to a public address when validated and
//!   to a private one when fetched (DNS rebinding) is still refused. IP literals, which are never
//!   resolved, are checked before the request ([`fetch_document`](crate::fetch::fetch_document)).
//!   It ignores proxy settings (`HTTPS_PROXY`): a proxy would resolve the name instead, beyond
//!   the guard's sight. Redirects are not followed by either client.
//! - the **open** one, for the providers whose configuration sets `allow_private_network = true`
//!   (an IdP inside the operator's network; development and tests, whose IdPs are on loopback).
//!
//! The two never share a connection pool, so a connection opened for an opted-in tenant is never
//! reused for a guarded request to the same host.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Where a provider may fetch its documents from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchPolicy {
    /// `http://` URLs are allowed (development and tests); `https` otherwise.
    pub allow_http: bool,
    /// Addresses in private, loopback, link-local, CGNAT and unspecified ranges are allowed.
    pub allow_private_network: bool,
}

/// The name of the non-public range `ip` is in (`loopback`, `private (RFC 1918)`, …), or `None`
/// for a public unicast address. IPv4-mapped IPv6 addresses are judged by their IPv4 address.
pub fn private_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => private_range_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => private_range_v4(v4),
            None => private_range_v6(v6),
        },
    }
}

fn private_range_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, _, _] = ip.octets();
    Some(match (a, b) {
        (127, _) => "loopback (127.0.0.0/8)",
        (10, _) => "private (RFC 1918, 10.0.0.0/8)",
        (172, 16..=31) => "private (RFC 1918, 172.16.0.0/12)",
        (192, 168) => "private (RFC 1918, 192.168.0.0/16)",
        (169, 254) => "link-local (169.254.0.0/16, cloud metadata)",
        (100, 64..=127) => "shared address space (CGNAT, 100.64.0.0/10)",
        (0, _) => "unspecified (0.0.0.0/8)",
        (224..=239, _) => "multicast (224.0.0.0/4)",
        (240..=255, _) => "reserved (240.0.0.0/4, broadcast)",
        _ => return None,
    })
}

fn private_range_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("loopback (::1)")
    } else if ip.is_unspecified() {
        Some("unspecified (::)")
    } else if first & 0xfe00 == 0xfc00 {
        Some("unique local (RFC 4193, fc00::/7)")
    } else if first & 0xffc0 == 0xfe80 {
        Some("link-local (fe80::/10)")
    } else if first & 0xff00 == 0xff00 {
        Some("multicast (ff00::/8)")
    } else if ip.segments()[..6] == [0; 6] {
        // The deprecated IPv4-compatible form (::a.b.c.d).
        Some("IPv4-compatible (::/96)")
    } else {
        None
    }
}

/// A refused address: the host, the address it resolved to and its range. `Display` names the
/// setting that allows it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the identity provider's address is private: {host} is {ip}, in the {range} range; \
     acs-auth fetches IdP documents from public addresses only, unless the tenant's provider \
     sets allow_private_network = true"
)]
pub struct PrivateAddress {
    pub host: String,
    pub ip: IpAddr,
    pub range: &'static str,
}

impl PrivateAddress {
    /// The refusal of `ip` (reached as `host`), when it is in a non-public range.
    pub fn check(host: &str, ip: IpAddr) -> Result<(), Self> {
        match private_range(ip) {
            None => Ok(()),
            Some(range) => Err(Self {
                host: host.to_owned(),
                ip,
                range,
            }),
        }
    }
}

/// The guarded client's resolver: the system resolver, then only public addresses.
#[derive(Debug, Default)]
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let public: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|addr| match PrivateAddress::check(&host, addr.ip()) {
                    Ok(()) => true,
                    Err(e) => {
                        refused.get_or_insert(e);
                        false
                    }
                })
                .collect();
            match (public.is_empty(), refused) {
                (true, Some(refusal)) => {
                    Err(Box::new(refusal) as Box<dyn std::error::Error + Send + Sync>)
                }
                _ => Ok(Box::new(public.into_iter()) as Addrs),
            }
        })
    }
}

/// The two clients of IdP fetches (see the module documentation).
#[derive(Debug, Clone)]
pub struct IdpHttp {
    guarded: reqwest::Client,
    open: reqwest::Client,
}

impl IdpHttp {
    /// Both clients, each from a fresh `builder()` (timeouts, roots, user agent: the caller's);
    /// the guarded one gets the public-only resolver and no proxy. Neither follows redirects.
    pub fn new(builder: impl Fn() -> reqwest::ClientBuilder) -> Result<Self, reqwest::Error> {
        crate::install_crypto_provider();
        let no_redirects = || builder().redirect(reqwest::redirect::Policy::none());
        Ok(Self {
            guarded: no_redirects()
                .no_proxy()
                .dns_resolver(Arc::new(PublicOnly))
                .build()?,
            open: no_redirects().build()?,
        })
    }

    /// The client for `policy`: the open one only when it allows private networks.
    pub fn client(&self, policy: FetchPolicy) -> &reqwest::Client {
        if policy.allow_private_network {
            &self.open
        } else {
            &self.guarded
        }
    }
}

/// The guard's refusal in `error`'s source chain, if that is why a request failed.
pub(crate) fn refusal_in<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a PrivateAddress> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(refusal) = e.downcast_ref::<PrivateAddress>() {
            return Some(refusal);
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_non_public_range_is_named_and_public_addresses_pass() {
        for refused in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::10.0.0.1",
        ] {
            let ip: IpAddr = refused.parse().unwrap();
            assert!(private_range(ip).is_some(), "{refused} passed");
        }
        for public in [
            "20.190.160.1",
            "8.8.8.8",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "169.253.0.1",
            "2603:1006::1",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
        ] {
            let ip: IpAddr = public.parse().unwrap();
            assert_eq!(private_range(ip), None, "{public} refused");
        }
    }

    #[test]
    fn a_refusal_names_the_setting_that_allows_it() {
        let e = PrivateAddress::check("idp.internal", "10.0.0.5".parse().unwrap()).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("idp.internal is 10.0.0.5"), "{text}");
        assert!(text.contains("allow_private_network = true"), "{text}");
    }

    #[tokio::test]
    async fn the_guarded_resolver_refuses_a_name_that_resolves_only_to_loopback() {
        let err = match PublicOnly.resolve("localhost".parse().unwrap()).await {
            Ok(addrs) => panic!("resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(e) => e,
        };
        let refusal = refusal_in(err.as_ref()).expect("a PrivateAddress");
        assert_eq!(refusal.host, "localhost");
        assert!(refusal.ip.is_loopback());
    }
}
