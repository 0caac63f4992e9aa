//! Microsoft Entra ID bearer tokens at the emulator (`Authorization: Bearer …`).
//!
//! Real ACS accepts, instead of the HMAC signature, an Entra ID access token for the scope
//! `https://communication.azure.com//.default`. Entra ID makes everything before the scope's
//! last `/` the resource, so such a token's `aud` is `https://communication.azure.com/`
//! (`https://communication.azure.com` when a client asks with a single slash); both are
//! accepted by default. The emulator verifies a bearer token only against keys and issuers it
//! was told to trust ([`EmulatorEntraTrust`], e.g. a test's fake authority): RS256 signature,
//! `aud`, `iss` in the trusted set, `exp` and `nbf` (with a leeway of 5 minutes, as
//! Microsoft.IdentityModel allows by default). Without a trust configured every bearer token
//! is refused.

use std::fmt;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind as JwtErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::EmulatorError;

/// The audiences accepted by default: what Entra ID puts in `aud` for the ACS scope (with the
/// trailing slash for `https://communication.azure.com//.default`, without for the single-slash
/// form).
pub const ACS_AUDIENCES: [&str; 2] = [
    "https://communication.azure.com/",
    "https://communication.azure.com",
];

/// Longest bearer token the emulator looks at.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The Entra ID issuers and signing keys whose bearer tokens the emulator accepts.
#[derive(Clone)]
pub struct EmulatorEntraTrust {
    keys: Vec<TrustedKey>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway: Duration,
}

#[derive(Clone)]
struct TrustedKey {
    kid: Option<String>,
    key: DecodingKey,
}

impl fmt::Debug for EmulatorEntraTrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorEntraTrust")
            .field(
                "kids",
                &self
                    .keys
                    .iter()
                    .map(|k| k.kid.as_deref())
                    .collect::<Vec<_>>(),
            )
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("leeway", &self.leeway)
            .finish()
    }
}

fn collect_issuers<I, S>(issuers: I) -> Result<Vec<String>, EmulatorError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let issuers: Vec<String> = issuers
        .into_iter()
        .map(Into::into)
        .filter(|i| !i.is_empty())
        .collect();
    if issuers.is_empty() {
        return Err(EmulatorError::Config(
            "an Entra ID trust needs at least one issuer".into(),
        ));
    }
    Ok(issuers)
}

impl EmulatorEntraTrust {
    /// Trust the RSA signing keys of a JWKS document (what `…/discovery/v2.0/keys` serves) for
    /// tokens from `issuers` (exact `iss` values, e.g. `https://sts.windows.net/{tid}/` and
    /// `https://login.microsoftonline.com/{tid}/v2.0`). Keys that are not RSA or not for
    /// signatures are skipped.
    pub fn from_jwks_json<I, S>(jwks: &str, issuers: I) -> Result<Self, EmulatorError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let set: JwkSet = serde_json::from_str(jwks)
            .map_err(|e| EmulatorError::Config(format!("the Entra ID JWKS is not valid: {e}")))?;
        let mut keys = Vec::new();
        for jwk in &set.keys {
            let for_signing = !matches!(
                jwk.common.public_key_use,
                Some(ref u) if *u != PublicKeyUse::Signature
            );
            if !for_signing || !matches!(jwk.algorithm, AlgorithmParameters::RSA(_)) {
                continue;
            }
            let key = DecodingKey::from_jwk(jwk).map_err(|e| {
                EmulatorError::Config(format!("an Entra ID JWKS key is not valid: {e}"))
            })?;
            keys.push(TrustedKey {
                kid: jwk.common.key_id.clone(),
                key,
            });
        }
        if keys.is_empty() {
            return Err(EmulatorError::Config(
                "the Entra ID JWKS has no RSA signing key".into(),
            ));
        }
        Self::with_keys(keys, issuers)
    }

    /// Trust one RSA public key (PEM, PKCS#1 or SPKI) for tokens from `issuers`; with a `kid`,
    /// only tokens whose header names it (or names none).
    pub fn from_rsa_pem<I, S>(
        pem: &[u8],
        kid: Option<&str>,
        issuers: I,
    ) -> Result<Self, EmulatorError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let key = DecodingKey::from_rsa_pem(pem).map_err(|e| {
            EmulatorError::Config(format!("the Entra ID public key is not an RSA PEM: {e}"))
        })?;
        Self::with_keys(
            vec![TrustedKey {
                kid: kid.map(str::to_owned),
                key,
            }],
            issuers,
        )
    }

    fn with_keys<I, S>(keys: Vec<TrustedKey>, issuers: I) -> Result<Self, EmulatorError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Ok(Self {
            keys,
            issuers: collect_issuers(issuers)?,
            audiences: ACS_AUDIENCES.iter().map(|a| (*a).to_owned()).collect(),
            leeway: Duration::from_secs(300),
        })
    }

    /// Accept these audiences instead of [`ACS_AUDIENCES`].
    pub fn with_audiences<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.audiences = audiences.into_iter().map(Into::into).collect();
        self
    }

    /// Clock skew allowed on `exp` and `nbf` (default 5 minutes).
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    pub fn issuers(&self) -> &[String] {
        &self.issuers
    }

    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }

    /// Verify a bearer token; the error is the message of the `401`.
    pub(super) fn verify(&self, token: &str) -> Result<EntraCaller, String> {
        if token.len() > MAX_TOKEN_LEN {
            return Err("The bearer token is too long.".into());
        }
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| "The bearer token is not a JWT.".to_owned())?;
        if header.alg != Algorithm::RS256 {
            return Err("The bearer token must be signed with RS256.".into());
        }
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&self.audiences);
        validation.set_issuer(&self.issuers);
        validation.set_required_spec_claims(&["exp", "aud", "iss"]);
        validation.validate_nbf = true;
        validation.leeway = self.leeway.as_secs();
        let candidates = self.keys.iter().filter(|k| match (&k.kid, &header.kid) {
            (Some(trusted), Some(named)) => trusted == named,
            _ => true,
        });
        let mut last = JwtErrorKind::InvalidSignature;
        for candidate in candidates {
            match jsonwebtoken::decode::<EntraCaller>(token, &candidate.key, &validation) {
                Ok(data) => return Ok(data.claims),
                Err(e) if *e.kind() == JwtErrorKind::InvalidSignature => {
                    last = JwtErrorKind::InvalidSignature;
                }
                Err(e) => {
                    last = e.into_kind();
                    break;
                }
            }
        }
        Err(self.message(&last))
    }

    fn message(&self, kind: &JwtErrorKind) -> String {
        match kind {
            JwtErrorKind::InvalidSignature => {
                "The bearer token's signature does not verify with a trusted Entra ID key.".into()
            }
            JwtErrorKind::ExpiredSignature => "The bearer token has expired.".into(),
            JwtErrorKind::ImmatureSignature => "The bearer token is not valid yet.".into(),
            JwtErrorKind::InvalidAudience => format!(
                "The bearer token's audience must be one of {}.",
                self.audiences.join(", ")
            ),
            JwtErrorKind::InvalidIssuer => {
                "The bearer token's issuer is not a trusted Entra ID issuer.".into()
            }
            JwtErrorKind::MissingRequiredClaim(claim) => {
                format!("The bearer token has no '{claim}' claim.")
            }
            _ => "The bearer token is not valid.".into(),
        }
    }
}

/// Who a verified bearer token says is calling (for the emulator's debug log).
#[derive(Debug, Deserialize)]
pub(super) struct EntraCaller {
    #[serde(default)]
    pub appid: Option<String>,
    #[serde(default)]
    pub azp: Option<String>,
    #[serde(default)]
    pub oid: Option<String>,
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
pub(super) fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, rest) = authorization.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn audience_set(trust: &EmulatorEntraTrust) -> HashSet<&str> {
        trust.audiences().iter().map(String::as_str).collect()
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_needs_a_token() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("HMAC-SHA256 SignedHeaders=x"), None);
    }

    #[test]
    fn a_trust_needs_an_issuer_and_an_rsa_key() {
        let jwks = r#"{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"h"}]}"#;
        assert!(EmulatorEntraTrust::from_jwks_json(jwks, ["https://sts.windows.net/t/"]).is_err());
        let jwks = r#"{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"k"}]}"#;
        assert!(EmulatorEntraTrust::from_jwks_json(jwks, Vec::<String>::new()).is_err());
        let trust =
            EmulatorEntraTrust::from_jwks_json(jwks, ["https://sts.windows.net/t/"]).unwrap();
        assert_eq!(
            audience_set(&trust),
            HashSet::from([
                "https://communication.azure.com/",
                "https://communication.azure.com"
            ])
        );
        assert!(format!("{trust:?}").contains("\"k\""));
    }
}
