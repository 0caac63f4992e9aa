//! Domain values whose rules would otherwise be restated at every layer: parse once at the
//! edge (configuration, admin API, verified token), then pass the typed value on.

use std::fmt;
use std::ops::Deref;

/// Why a value is not a valid domain value; the message says which rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DomainError(pub String);

/// A tenant id: a slug of 1–64 of `a-z`, `0-9` and `-`, not starting with `-`. It is the
/// `{tenant}` of `/tenants/{tenant}/…`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(String);

impl TenantId {
    /// The longest tenant id, in bytes (ASCII only).
    pub const MAX_LEN: usize = 64;

    pub fn parse(id: &str) -> Result<Self, DomainError> {
        let ok = !id.is_empty()
            && id.len() <= Self::MAX_LEN
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !id.starts_with('-');
        if ok {
            Ok(Self(id.to_owned()))
        } else {
            Err(DomainError(format!(
                "`{}` is not a tenant slug (1–64 of a-z, 0-9 and '-', not starting with '-')",
                id.chars().take(Self::MAX_LEN + 1).collect::<String>()
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user as its identity provider names it (the subject claim), or the issuer key it is
/// scoped by: 1–255 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subject(String);

impl Subject {
    /// The longest subject (and issuer key), in characters: what the store keys users by.
    pub const MAX_CHARS: usize = 255;

    pub fn parse(subject: &str) -> Result<Self, DomainError> {
        if subject.is_empty() {
            return Err(DomainError("must not be empty".into()));
        }
        if subject.chars().count() > Self::MAX_CHARS {
            return Err(DomainError(format!(
                "is longer than {} characters",
                Self::MAX_CHARS
            )));
        }
        Ok(Self(subject.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name: at most 255 characters.
pub const DISPLAY_NAME_MAX_CHARS: usize = 255;

/// A display name's rule: at most [`DISPLAY_NAME_MAX_CHARS`] characters.
pub fn check_display_name(name: &str) -> Result<(), String> {
    if name.chars().count() > DISPLAY_NAME_MAX_CHARS {
        return Err(format!(
            "must be at most {DISPLAY_NAME_MAX_CHARS} characters"
        ));
    }
    Ok(())
}

macro_rules! string_value {
    ($ty:ty) => {
        impl Deref for $ty {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }
        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl From<$ty> for String {
            fn from(v: $ty) -> String {
                v.0
            }
        }
    };
}

string_value!(TenantId);
string_value!(Subject);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_slugs() {
        assert!(TenantId::parse("acme-1").is_ok());
        for bad in ["", "-x", "Acme", "a b", "a/b", &"x".repeat(65)] {
            assert!(TenantId::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(TenantId::parse("dev").unwrap().as_str(), "dev");
    }

    #[test]
    fn subjects_are_1_to_255_characters() {
        assert!(Subject::parse("alice").is_ok());
        assert!(Subject::parse(&"é".repeat(255)).is_ok());
        assert!(Subject::parse("").is_err());
        assert!(Subject::parse(&"x".repeat(256)).is_err());
    }
}

/// An IP address or a CIDR range (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`).
pub fn parse_ip_range(text: &str) -> Option<ipnet::IpNet> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>().ok().or_else(|| {
        text.parse::<std::net::IpAddr>()
            .ok()
            .map(ipnet::IpNet::from)
    })
}

/// The proxies whose `X-Forwarded-For` is believed (`server.trusted_proxies`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

impl TrustedProxies {
    /// The valid entries of `list` (the settings validated them).
    pub fn new(list: &[String]) -> Self {
        Self(list.iter().filter_map(|s| parse_ip_range(s)).collect())
    }

    fn trusts(&self, ip: std::net::IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy; then the
    /// rightmost address of `X-Forwarded-For` (all of its headers, in order) that is not a
    /// trusted proxy — the one the nearest untrusted hop reported — or the leftmost when all
    /// are trusted. An unparsable entry ends the walk at the address before it.
    pub fn client_addr<'a>(
        &self,
        peer: std::net::IpAddr,
        forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
    ) -> std::net::IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        let hops = forwarded_for.rev().flat_map(|h| h.rsplit(','));
        for hop in hops {
            let Ok(ip) = hop.trim().parse::<std::net::IpAddr>() else {
                break;
            };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

#[cfg(test)]
mod proxy_tests {
    use super::*;

    fn ip(s: &str) -> std::net::IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_client_is_the_peer_unless_the_peer_is_a_trusted_proxy() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_addr(ip("10.0.0.1"), ["6.6.6.6"].into_iter()),
            ip("10.0.0.1")
        );
        let lb = TrustedProxies::new(&["10.0.0.0/8".into(), "192.0.2.9".into()]);
        // Not from the proxy: whatever the header says is ignored.
        assert_eq!(
            lb.client_addr(ip("203.0.113.5"), ["6.6.6.6"].into_iter()),
            ip("203.0.113.5")
        );
        // From the proxy: the rightmost untrusted hop; what the client itself wrote further
        // left (a forged 1.1.1.1) is not believed.
        assert_eq!(
            lb.client_addr(
                ip("10.0.0.1"),
                ["1.1.1.1, 198.51.100.4, 10.2.3.4"].into_iter()
            ),
            ip("198.51.100.4")
        );
        // Several headers count as one list, in order.
        assert_eq!(
            lb.client_addr(ip("10.0.0.1"), ["198.51.100.4", "192.0.2.9"].into_iter()),
            ip("198.51.100.4")
        );
        // No header, or garbage: the proxy itself (or the last good hop).
        assert_eq!(
            lb.client_addr(ip("10.0.0.1"), std::iter::empty()),
            ip("10.0.0.1")
        );
        assert_eq!(
            lb.client_addr(ip("10.0.0.1"), ["junk"].into_iter()),
            ip("10.0.0.1")
        );
        assert!(parse_ip_range("2001:db8::/32").is_some());
        assert!(parse_ip_range("10.0.0.0/33").is_none());
        assert!(parse_ip_range("proxy.local").is_none());
    }
}
