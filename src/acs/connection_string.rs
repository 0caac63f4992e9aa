//! ACS connection strings: `endpoint=https://<resource>.communication.azure.com/;accesskey=<base64>`.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use url::Url;

use super::error::AcsError;

/// A parsed ACS connection string. `Debug` and `Display` never show the access key.
///
/// Keys are case-insensitive and may come in any order, separated by `;` (a trailing `;` is
/// fine); unknown keys are ignored, as the Azure SDKs do. The endpoint must be an absolute
/// `http(s)` URL and the access key valid base64.
#[derive(Clone)]
pub struct ConnectionString {
    pub endpoint: Url,
    access_key: SecretString,
    key_bytes: SecretSlice<u8>,
}

impl ConnectionString {
    /// Parse a connection string. Errors name the bad part and never echo the key.
    pub fn parse(s: &str) -> Result<Self, AcsError> {
        let mut endpoint: Option<&str> = None;
        let mut access_key: Option<&str> = None;
        for part in s.split(';') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let Some((name, value)) = part.split_once('=') else {
                // Never echo the part: it might be a key pasted without its name.
                return Err(AcsError::InvalidConnectionString(
                    "every part must look like name=value".into(),
                ));
            };
            let slot = match name.trim().to_ascii_lowercase().as_str() {
                "endpoint" => &mut endpoint,
                "accesskey" => &mut access_key,
                _ => continue,
            };
            if slot.is_some() {
                return Err(AcsError::InvalidConnectionString(format!(
                    "`{}` is given twice",
                    name.trim().to_ascii_lowercase()
                )));
            }
            *slot = Some(value.trim());
        }
        let endpoint = endpoint
            .filter(|e| !e.is_empty())
            .ok_or_else(|| AcsError::InvalidConnectionString("`endpoint` is missing".into()))?;
        let access_key = access_key
            .filter(|k| !k.is_empty())
            .ok_or_else(|| AcsError::InvalidConnectionString("`accesskey` is missing".into()))?;
        Self::new(parse_endpoint(endpoint)?, SecretString::from(access_key))
    }

    /// Build from parts; the key is the base64 text as shown in the Azure portal.
    pub fn new(endpoint: Url, access_key: SecretString) -> Result<Self, AcsError> {
        let endpoint = parse_endpoint(endpoint.as_str())?;
        let key_bytes = decode_key(&access_key)?;
        Ok(Self {
            endpoint,
            access_key,
            key_bytes,
        })
    }

    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// The access key as given (base64 text).
    pub fn access_key(&self) -> &SecretString {
        &self.access_key
    }

    /// The base64-decoded access key, the HMAC key.
    pub(crate) fn key_bytes(&self) -> &SecretSlice<u8> {
        &self.key_bytes
    }
}

/// Decode a base64 access key (standard alphabet, padding optional).
pub(crate) fn decode_key(key: &SecretString) -> Result<SecretSlice<u8>, AcsError> {
    let text = key.expose_secret().trim();
    let decoded = STANDARD
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
        .map_err(|_| AcsError::InvalidConnectionString("`accesskey` is not valid base64".into()))?;
    if decoded.is_empty() {
        return Err(AcsError::InvalidConnectionString(
            "`accesskey` is empty".into(),
        ));
    }
    Ok(SecretSlice::from(decoded))
}

/// Whether `url`'s host is this machine: `localhost`, 127.0.0.0/8 or `::1`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn parse_endpoint(text: &str) -> Result<Url, AcsError> {
    let url = Url::parse(text).map_err(|e| {
        AcsError::InvalidConnectionString(format!("`endpoint` is not an absolute URL: {e}"))
    })?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(AcsError::InvalidConnectionString(
            "`endpoint` must be an http(s) URL".into(),
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(AcsError::InvalidConnectionString(
            "`endpoint` has no host".into(),
        ));
    }
    if url.scheme() == "http" && !is_loopback(&url) {
        return Err(AcsError::InvalidConnectionString(
            "`endpoint` must be https (ACS and Teams tokens would travel in clear text); http is allowed only on a loopback host (127.0.0.0/8, ::1, localhost) for an emulator".into(),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(AcsError::InvalidConnectionString(
            "`endpoint` must not contain credentials".into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(AcsError::InvalidConnectionString(
            "`endpoint` must not have a query or fragment".into(),
        ));
    }
    Ok(url)
}

impl FromStr for ConnectionString {
    type Err = AcsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Debug for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionString")
            .field("endpoint", &self.endpoint.as_str())
            .field("access_key", &"[REDACTED]")
            .finish()
    }
}

impl fmt::Display for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "endpoint={};accesskey=[REDACTED]", self.endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGVzdC1hY2Nlc3Mta2V5LWZvci1rbm93bi1hbnN3ZXI=";

    #[test]
    fn http_is_refused_except_on_a_loopback_host() {
        for remote in [
            "http://acs.example.com/",
            "http://10.0.0.5:8080/",
            "http://[fd00::1]/",
        ] {
            let err = ConnectionString::parse(&format!("endpoint={remote};accesskey={KEY}"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("must be https"), "{remote}: {err}");
        }
        for local in [
            "http://127.0.0.1:8088/",
            "http://127.1.2.3/",
            "http://localhost:9/",
            "http://[::1]:80/",
        ] {
            assert!(
                ConnectionString::parse(&format!("endpoint={local};accesskey={KEY}")).is_ok(),
                "{local}"
            );
        }
        assert!(
            ConnectionString::parse(&format!(
                "endpoint=https://acs.example.com/;accesskey={KEY}"
            ))
            .is_ok()
        );
    }

    #[test]
    fn parses_the_portal_format() {
        let cs: ConnectionString =
            format!("endpoint=https://my-resource.communication.azure.com/;accesskey={KEY}")
                .parse()
                .unwrap();
        assert_eq!(
            cs.endpoint().as_str(),
            "https://my-resource.communication.azure.com/"
        );
        assert_eq!(cs.access_key().expose_secret(), KEY);
        assert_eq!(
            cs.key_bytes().expose_secret(),
            b"test-access-key-for-known-answer"
        );
    }

    #[test]
    fn keys_are_case_insensitive_order_free_and_trailing_semicolon_is_ok() {
        let cs = ConnectionString::parse(&format!(
            "AccessKey={KEY}; Endpoint=http://127.0.0.1:8080/;"
        ))
        .unwrap();
        assert_eq!(cs.endpoint().as_str(), "http://127.0.0.1:8080/");
        assert_eq!(cs.access_key().expose_secret(), KEY);
    }

    #[test]
    fn missing_parts_are_named() {
        let e = ConnectionString::parse(&format!("accesskey={KEY}")).unwrap_err();
        assert!(e.to_string().contains("`endpoint` is missing"), "{e}");
        let e = ConnectionString::parse("endpoint=https://x.communication.azure.com/").unwrap_err();
        assert!(e.to_string().contains("`accesskey` is missing"), "{e}");
        let e = ConnectionString::parse("").unwrap_err();
        assert!(e.to_string().contains("endpoint"), "{e}");
    }

    #[test]
    fn bad_base64_key_is_rejected_without_echoing_it() {
        let e =
            ConnectionString::parse("endpoint=https://x/;accesskey=not*base64!secret").unwrap_err();
        let text = e.to_string();
        assert!(text.contains("`accesskey` is not valid base64"), "{text}");
        assert!(!text.contains("secret"), "{text}");
    }

    #[test]
    fn bad_endpoints_are_rejected() {
        for ep in [
            "x.communication.azure.com",
            "ftp://x/",
            "https://u:p@x/",
            "https://x/?a=b",
        ] {
            let e = ConnectionString::parse(&format!("endpoint={ep};accesskey={KEY}")).unwrap_err();
            assert!(e.to_string().contains("`endpoint`"), "{ep}: {e}");
        }
    }

    #[test]
    fn debug_and_display_redact_the_key() {
        let cs = ConnectionString::parse(&format!("endpoint=https://x/;accesskey={KEY}")).unwrap();
        for text in [format!("{cs:?}"), cs.to_string()] {
            assert!(!text.contains(KEY), "{text}");
            assert!(text.contains("REDACTED"), "{text}");
            assert!(text.contains("https://x/"), "{text}");
        }
    }

    #[test]
    fn a_part_without_equals_is_rejected_without_echo() {
        let e = ConnectionString::parse("endpoint=https://x/;c2VjcmV0LXRleHQ").unwrap_err();
        assert!(e.to_string().contains("name=value"), "{e}");
        assert!(!e.to_string().contains("c2VjcmV0LXRleHQ"), "{e}");
    }
}
