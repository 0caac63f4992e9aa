//! [`Steps`]: the checks one verification ran, in order, with each verdict: what an operator's
//! token dry-run reports. Off (the default, and every request's case) it records nothing and
//! costs a branch per check. Details never contain the token; on failure they are the refusal's
//! `Display`, which never does either.

use crate::VerifyError;
use crate::jose::{VerificationKey, algorithm_name};
use crate::validate::{
    Claims, JoseHeader, VerifiedClaims, check_size_and_shape, parse_header, peek_claims_unverified,
};

/// One check's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The check, e.g. `signature` (the provider's [`check_names`](crate::IdentityProvider::check_names)).
    pub name: &'static str,
    pub ok: bool,
    /// What was found (`alg RS256, kid k1`), or why the check failed.
    pub detail: String,
}

/// The checks of one verification, when recording.
#[derive(Debug, Default)]
pub struct Steps {
    recording: bool,
    steps: Vec<Step>,
}

impl Steps {
    /// Records nothing (a request's verification).
    pub fn off() -> Self {
        Self::default()
    }

    /// Records every check (a dry-run).
    pub fn recording() -> Self {
        Self {
            recording: true,
            steps: Vec::new(),
        }
    }

    pub fn into_steps(self) -> Vec<Step> {
        self.steps
    }

    /// Records `result` as check `name` (`ok` describes what passed) and passes it on.
    pub fn check<T>(
        &mut self,
        name: &'static str,
        result: Result<T, VerifyError>,
        ok: impl FnOnce(&T) -> String,
    ) -> Result<T, VerifyError> {
        if self.recording {
            let (passed, detail) = match &result {
                Ok(v) => (true, ok(v)),
                Err(e) => (false, e.to_string()),
            };
            self.steps.push(Step {
                name,
                ok: passed,
                detail,
            });
        }
        result
    }

    /// Records the four checks of [`crate::validate::verify_token`] — `signature`, `times`,
    /// `issuer`, `audience`, in the order it runs them — from its one result.
    pub fn token_checks(
        &mut self,
        result: Result<VerifiedClaims, VerifyError>,
        issuer: &str,
    ) -> Result<VerifiedClaims, VerifyError> {
        if !self.recording {
            return result;
        }
        const NAMES: [&str; 4] = ["signature", "times", "issuer", "audience"];
        let refused = result
            .as_ref()
            .err()
            .map(|e| (claim_check(e), e.to_string()));
        let passed = refused.as_ref().map_or(NAMES.len(), |(at, _)| *at);
        for name in NAMES.iter().take(passed) {
            let detail = match (&result, *name) {
                (Ok(claims), "times") => format!("valid now; expires at {}", claims.expires_at),
                _ => passed_detail(name, issuer).into_owned(),
            };
            self.steps.push(Step {
                name,
                ok: true,
                detail,
            });
        }
        if let Some((at, detail)) = refused
            && let Some(name) = NAMES.get(at)
        {
            self.steps.push(Step {
                name,
                ok: false,
                detail,
            });
        }
        result
    }
}

/// The first three checks of every provider — `format` (size and shape), `header` (an allowed
/// algorithm), `payload` (one strict JSON object, NOT verified: only for choosing how to verify)
/// — and what they read.
pub fn read_token(
    steps: &mut Steps,
    token: &str,
    max_bytes: usize,
) -> Result<(JoseHeader, Claims), VerifyError> {
    steps.check("format", check_size_and_shape(token, max_bytes), |_| {
        "a compact JWS within the size limit".into()
    })?;
    let header = steps.check("header", parse_header(token), describe_header)?;
    let claims = steps.check("payload", peek_claims_unverified(token), |_| {
        "one JSON object".into()
    })?;
    Ok((header, claims))
}

/// What a header that passed says: its algorithm and key id (lookup strings, not secrets).
pub fn describe_header(header: &JoseHeader) -> String {
    match &header.kid {
        Some(kid) => format!("alg {}, kid `{}`", algorithm_name(header.alg), clip(kid)),
        None => format!("alg {}, no kid", algorithm_name(header.alg)),
    }
}

/// The key that a token's `kid` (or the key set's only key) chose.
pub fn describe_key(key: &VerificationKey) -> String {
    match &key.kid {
        Some(kid) => format!("key `{}` ({})", clip(kid), algorithm_name(key.algorithm)),
        None => format!("the key set's key ({})", algorithm_name(key.algorithm)),
    }
}

/// An untrusted string, shortened for a report.
fn clip(s: &str) -> String {
    s.chars().take(64).filter(|c| !c.is_control()).collect()
}

fn passed_detail<'a>(name: &str, issuer: &'a str) -> std::borrow::Cow<'a, str> {
    match name {
        "signature" => "signed by that key".into(),
        "times" => "valid now".into(),
        "issuer" => format!("`iss` is `{issuer}`").into(),
        _ => "`aud` is an accepted audience".into(),
    }
}

/// Which of `verify_token`'s checks (index into signature, times, issuer, audience) refused.
/// The signature is verified before any claim; the claims in the order `check_claims` reads
/// them: times, then `iss`, then `aud`.
fn claim_check(e: &VerifyError) -> usize {
    match e {
        VerifyError::Expired | VerifyError::NotYetValid => 1,
        VerifyError::InvalidIssuer => 2,
        VerifyError::InvalidAudience => 3,
        VerifyError::MissingClaim(c) | VerifyError::InvalidClaim(c) => match c.as_str() {
            "exp" | "nbf" | "iat" => 1,
            "iss" => 2,
            "aud" => 3,
            _ => 0,
        },
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_and_verdicts(steps: Steps) -> Vec<(&'static str, bool)> {
        steps.into_steps().iter().map(|s| (s.name, s.ok)).collect()
    }

    #[test]
    fn off_records_nothing() {
        let mut steps = Steps::off();
        let _ = steps.check("format", Ok::<_, VerifyError>(()), |_| "x".into());
        let _ = steps.token_checks(Err(VerifyError::Expired), "i");
        assert!(steps.into_steps().is_empty());
    }

    #[test]
    fn the_token_checks_before_the_refusing_one_passed_and_none_after_is_listed() {
        let cases = [
            (VerifyError::InvalidSignature, vec![("signature", false)]),
            (
                VerifyError::Expired,
                vec![("signature", true), ("times", false)],
            ),
            (
                VerifyError::MissingClaim("iss".into()),
                vec![("signature", true), ("times", true), ("issuer", false)],
            ),
            (
                VerifyError::InvalidAudience,
                vec![
                    ("signature", true),
                    ("times", true),
                    ("issuer", true),
                    ("audience", false),
                ],
            ),
        ];
        for (error, expected) in cases {
            let mut steps = Steps::recording();
            let _ = steps.token_checks(Err(error), "https://i");
            assert_eq!(names_and_verdicts(steps), expected);
        }
    }
}
