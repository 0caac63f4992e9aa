//! Development mode's own OpenID Connect issuer: a P-256 key kept in the data directory, a
//! discovery document, a JWKS, and a token endpoint that mints a token for any subject.
//! It exists only under `acs-auth dev`; `serve` never mounts it. Built with the `emulator`
//! feature (on by default), as `dev` mode is.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use poem::endpoint::BoxEndpoint;
use poem::http::StatusCode;
use poem::web::{Data, Json};
use poem::{EndpointExt, Request, Route, get, handler, post};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const DEV_TENANT: &str = "dev";
pub const DEV_AUDIENCE: &str = "api://acs-auth-dev";
const KEY_FILE: &str = "dev-issuer-key.pem";
const INFO_FILE: &str = "dev-issuer.json";

#[derive(Debug, thiserror::Error)]
pub enum DevError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("development issuer key: {0}")]
    Key(String),
    #[error("no development issuer in {0}: start `acs-auth dev` with the same --data-dir first")]
    NotStarted(PathBuf),
    #[error("signing failed: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DevError + '_ {
    move |source| DevError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What `dev-token` needs to know about a running dev server.
#[derive(Debug, Serialize, Deserialize)]
struct IssuerInfo {
    issuer: String,
    audience: String,
}

pub struct DevIssuer {
    issuer: String,
    kid: String,
    encoding: EncodingKey,
    jwk: serde_json::Value,
}

impl std::fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIssuer")
            .field("issuer", &self.issuer)
            .field("kid", &self.kid)
            .finish()
    }
}

impl DevIssuer {
    /// Loads the key from `data_dir` (creating it on first use) and records `issuer` there, so
    /// `acs-auth dev-token` can mint tokens for the running server.
    pub fn open(data_dir: &Path, issuer: String) -> Result<Self, DevError> {
        std::fs::create_dir_all(data_dir).map_err(io_err(data_dir))?;
        let key = load_or_create_key(&data_dir.join(KEY_FILE))?;
        let info = IssuerInfo {
            issuer: issuer.clone(),
            audience: DEV_AUDIENCE.into(),
        };
        let info_path = data_dir.join(INFO_FILE);
        let json = serde_json::to_vec_pretty(&info).map_err(|e| DevError::Key(e.to_string()))?;
        std::fs::write(&info_path, json).map_err(io_err(&info_path))?;
        Self::from_key(&key, issuer)
    }

    /// The issuer a running `acs-auth dev` recorded in `data_dir`.
    pub fn from_data_dir(data_dir: &Path) -> Result<Self, DevError> {
        let info_path = data_dir.join(INFO_FILE);
        let key_path = data_dir.join(KEY_FILE);
        if !info_path.exists() || !key_path.exists() {
            return Err(DevError::NotStarted(data_dir.to_owned()));
        }
        let raw = std::fs::read(&info_path).map_err(io_err(&info_path))?;
        let info: IssuerInfo =
            serde_json::from_slice(&raw).map_err(|e| DevError::Key(e.to_string()))?;
        let key = load_or_create_key(&key_path)?;
        Self::from_key(&key, info.issuer)
    }

    /// `pkcs8`: the P-256 key, PKCS#8 DER.
    fn from_key(pkcs8: &[u8], issuer: String) -> Result<Self, DevError> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
            .map_err(|e| DevError::Key(e.to_string()))?;
        let encoding = EncodingKey::from_ec_der(pkcs8);
        // The uncompressed SEC1 point: 0x04, x (32 bytes), y (32 bytes).
        let (x, y) = match pair.public_key().as_ref() {
            [0x04, xy @ ..] if xy.len() == 64 => (
                URL_SAFE_NO_PAD.encode(&xy[..32]),
                URL_SAFE_NO_PAD.encode(&xy[32..]),
            ),
            _ => {
                return Err(DevError::Key(
                    "public key is not an uncompressed P-256 point".into(),
                ));
            }
        };
        // RFC 7638 thumbprint as the kid.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        let jwk = serde_json::json!({
            "kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "use": "sig", "alg": "ES256"
        });
        Ok(Self {
            issuer,
            kid,
            encoding,
            jwk,
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// A signed access token for `subject`, valid for `minutes`.
    pub fn mint(
        &self,
        subject: &str,
        minutes: u32,
        scopes: &[String],
    ) -> Result<SecretString, DevError> {
        let now = chrono::Utc::now().timestamp();
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".into());
        let mut claims = serde_json::json!({
            "iss": self.issuer,
            "aud": DEV_AUDIENCE,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + i64::from(minutes) * 60,
            "name": subject,
        });
        if !scopes.is_empty()
            && let Some(map) = claims.as_object_mut()
        {
            map.insert("scp".into(), serde_json::Value::String(scopes.join(" ")));
        }
        Ok(SecretString::from(jsonwebtoken::encode(
            &header,
            &claims,
            &self.encoding,
        )?))
    }

    /// `/idp/.well-known/openid-configuration`, `/idp/jwks`, `/idp/token` (mounted under `/dev`).
    pub fn routes(self: Arc<Self>) -> BoxEndpoint<'static> {
        Route::new()
            .at("/idp/.well-known/openid-configuration", get(discovery))
            .at("/idp/jwks", get(jwks))
            .at("/idp/token", post(token))
            .data(self)
            .boxed()
    }
}

/// The issuer's P-256 key, PKCS#8 DER, from its PEM file (created on first use).
fn load_or_create_key(path: &Path) -> Result<Vec<u8>, DevError> {
    const LABEL: &str = "PRIVATE KEY";
    if path.exists() {
        let text = std::fs::read_to_string(path).map_err(io_err(path))?;
        let pem = pem::parse(&text)
            .ok()
            .filter(|pem| pem.tag() == LABEL)
            .ok_or_else(|| DevError::Key(format!("{}: not a PKCS#8 PEM key", path.display())))?;
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pem.contents())
            .map_err(|e| DevError::Key(format!("{}: {e}", path.display())))?;
        return Ok(pem.into_contents());
    }
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .map_err(|e| DevError::Key(e.to_string()))?
            .as_ref()
            .to_vec();
    let pem = pem::encode_config(
        &pem::Pem::new(LABEL, pkcs8.clone()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    );
    write_private(path, pem.as_bytes())?;
    Ok(pkcs8)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), DevError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io_err(path))?;
    f.write_all(bytes).map_err(io_err(path))
}

#[handler]
fn discovery(issuer: Data<&Arc<DevIssuer>>) -> Json<serde_json::Value> {
    let iss = issuer.issuer();
    Json(serde_json::json!({
        "issuer": iss,
        "jwks_uri": format!("{iss}/jwks"),
        "token_endpoint": format!("{iss}/token"),
        "authorization_endpoint": format!("{iss}/authorize"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["none"],
    }))
}

#[handler]
fn jwks(issuer: Data<&Arc<DevIssuer>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "keys": [issuer.jwk] }))
}

#[derive(Debug, Deserialize)]
struct TokenForm {
    #[serde(alias = "subject")]
    sub: String,
    #[serde(default)]
    minutes: Option<u32>,
    #[serde(default)]
    scope: Option<String>,
}

/// `POST /dev/idp/token` with `sub=alice` (form or JSON) → `{access_token, token_type, expires_in}`.
#[handler]
async fn token(
    req: &Request,
    body: poem::Body,
    issuer: Data<&Arc<DevIssuer>>,
) -> poem::Result<Json<serde_json::Value>> {
    let bytes = body.into_bytes_limit(4096).await?;
    let is_json = req
        .content_type()
        .is_some_and(|ct| ct.starts_with("application/json"));
    let form: TokenForm = if is_json {
        serde_json::from_slice(&bytes).map_err(|e| bad_request(format!("body: {e}")))?
    } else {
        serde_urlencoded_from(&bytes)?
    };
    crate::domain::Subject::parse(&form.sub).map_err(|e| bad_request(format!("`sub`: {e}")))?;
    let minutes = form.minutes.unwrap_or(60).clamp(1, 1440);
    let scopes: Vec<String> = form
        .scope
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let token = issuer
        .mint(&form.sub, minutes, &scopes)
        .map_err(|e| poem::Error::from_string(e.to_string(), StatusCode::INTERNAL_SERVER_ERROR))?;
    Ok(Json(serde_json::json!({
        "access_token": token.expose_secret(),
        "token_type": "Bearer",
        "expires_in": minutes * 60,
    })))
}

fn serde_urlencoded_from(bytes: &[u8]) -> poem::Result<TokenForm> {
    let mut sub = None;
    let mut minutes = None;
    let mut scope = None;
    for (k, v) in url::form_urlencoded::parse(bytes) {
        match k.as_ref() {
            "sub" | "subject" => sub = Some(v.into_owned()),
            "minutes" => {
                minutes = Some(
                    v.parse::<u32>()
                        .map_err(|_| bad_request("`minutes` must be a number".into()))?,
                )
            }
            "scope" => scope = Some(v.into_owned()),
            _ => {}
        }
    }
    Ok(TokenForm {
        sub: sub.ok_or_else(|| bad_request("`sub` is required".into()))?,
        minutes,
        scope,
    })
}

fn bad_request(detail: String) -> poem::Error {
    poem::Error::from(
        crate::api::error::ErrorInfo::new(
            StatusCode::BAD_REQUEST,
            crate::api::error::ProblemCode::InvalidRequest,
            "The request is not valid",
        )
        .detail(detail),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_survives_a_restart_and_tokens_carry_the_kid() {
        let dir = tempfile::tempdir().unwrap();
        let a = DevIssuer::open(dir.path(), "http://127.0.0.1:1/dev/idp".into()).unwrap();
        let b = DevIssuer::from_data_dir(dir.path()).unwrap();
        assert_eq!(a.kid, b.kid);
        assert_eq!(b.issuer(), "http://127.0.0.1:1/dev/idp");
        let minted = b.mint("alice", 60, &[]).unwrap();
        let header = jsonwebtoken::decode_header(minted.expose_secret()).unwrap();
        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(header.kid.as_deref(), Some(a.kid.as_str()));
    }

    #[test]
    fn dev_token_without_a_started_server_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let err = DevIssuer::from_data_dir(dir.path()).unwrap_err();
        assert!(err.to_string().contains("acs-auth dev"));
    }
}
