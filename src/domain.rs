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
