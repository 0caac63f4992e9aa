//! Test support (feature `testing`): in-process fake identity providers — [`TestIssuer`] (a
//! generic OpenID Connect issuer), [`FakeEntra`] (a Microsoft Entra ID authority host) and
//! [`FakeB2c`] (an Azure AD B2C tenant).
//!
//! It listens on `127.0.0.1` (an ephemeral port), serves a realistic discovery document and a
//! JWKS holding an RSA-2048 key (`RS256`, `use: sig`, a `kid`), and mints tokens — good ones and
//! every kind of forgery the verification must refuse. The server stops when the `TestIssuer`
//! is dropped.
//!
//! ```no_run
//! # async fn demo() {
//! use std::sync::Arc;
//! use acs_auth_providers::testing::{TestIssuer, idp_http, oidc_config_for};
//! use acs_auth_providers::{IdentityProvider, JwksCache, JwksCacheConfig, OidcProvider};
//!
//! let idp = TestIssuer::start().await;
//! let jwks = Arc::new(JwksCache::new(idp_http(), JwksCacheConfig::default()));
//! let provider = OidcProvider::new(oidc_config_for(&idp), jwks).unwrap();
//! let identity = provider.verify(&idp.token("alice")).await.unwrap();
//! assert_eq!(identity.subject, "alice");
//! # }
//! ```
//!
//! Keys are generated with aws-lc-rs (the crypto provider of the whole binary); generating a
//! 2048-bit key still takes a moment, so [`TestIssuer::rotate_key`] blocks briefly.
//!
//! reqwest clients need the process crypto provider installed before they are built: use
//! [`crate::http_client`] (or install it with [`crate::install_crypto_provider`]).

//!
//! ## FakeEntra as the authority of an ACS Entra ID credential
//!
//! [`FakeEntra::start_https`] also serves, over HTTPS with a self-signed certificate (azure_identity
//! refuses `http` authorities), the client-credentials token endpoint
//! `POST /{tenant}/oauth2/v2.0/token` that azure_identity's `ClientSecretCredential` and
//! `ClientAssertionCredential` (workload identity) call, and — on its plain HTTP listener,
//! reached through [`FakeEntra::imds_http_client`]'s proxy — the managed-identity endpoint
//! `GET /metadata/identity/oauth2/token` of `169.254.169.254`. Tokens are app-only v1 tokens
//! ([`app_token_claims`]: `aud` the scope without `/.default`, e.g.
//! `https://communication.azure.com`, issuer `https://sts.windows.net/{tid}/`), signed RS256
//! with the key published in [`FakeEntra::jwks_json`]. Errors have Entra's shape (`error`,
//! `error_description` `AADSTS…`, `error_codes`, `trace_id`).
//!
//! ```no_run
//! # async fn demo() {
//! use acs_auth_providers::testing::{FAKE_ENTRA_TENANT_A, FakeEntra, TokenEndpointMode};
//!
//! let entra = FakeEntra::start_https().await;
//! entra.register_client(FAKE_ENTRA_TENANT_A, "<client id>", "<secret>");
//! // Point the credential at it: authority host `entra.https_authority()`, HTTP client
//! // `entra.http_client()` (trusts `entra.cert_pem()`); for workload identity use
//! // `entra.accept_client_assertion(tenant, client_id, token_file_content)`, for managed
//! // identity `entra.imds_http_client()`.
//! // Make the ACS emulator trust its tokens:
//! //   EmulatorEntraTrust::from_jwks_json(&entra.jwks_json(), [FakeEntra::v1_issuer(FAKE_ENTRA_TENANT_A)])
//! entra.set_token_mode(TokenEndpointMode::Status(503)); // failures: Status(..), Hang
//! assert_eq!(entra.token_calls(), 0); // also imds_calls(), token_requests(), last_token()
//! # }
//! ```
//!
//! One file per fake: `issuer` ([`TestIssuer`]), `entra` and `entra_sts` ([`FakeEntra`]), `b2c`
//! ([`FakeB2c`]); this file holds what they share (loopback server, keys, signing, [`refused`]).

use std::fmt::Display;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use poem::{Request, Response, Server};
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;

use crate::aad::AadConfig;
use crate::b2c::B2cConfig;
use crate::jose::algorithm_name;
use crate::oidc::OidcConfig;
use crate::validate::{DEFAULT_LEEWAY_SECS, DEFAULT_MAX_TOKEN_BYTES};

/// The audience of [`TestIssuer::token`] unless [`TestIssuerOptions::audience`] says otherwise.
pub const DEFAULT_AUDIENCE: &str = "api://acs-auth";

/// The scope [`TestIssuer::claims`] puts in `scp`.
pub const DEFAULT_SCOPE: &str = "access_as_user";

/// The IdP clients of a test (default builder: no timeouts but the fetch's own, the built-in
/// roots), as a [`crate::JwksCache`] takes them.
pub fn idp_http() -> crate::IdpHttp {
    must(
        crate::IdpHttp::new(crate::http_client_builder),
        "building the IdP clients",
    )
}

/// Test support fails loudly: a broken fake is a broken test.
#[allow(clippy::panic)]
fn must<T, E: Display>(result: Result<T, E>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("TestIssuer: {what}: {e}"),
    }
}

/// Verifies `token` with `provider` and returns why it was refused. Panics when the token is
/// accepted, or when the error (`Display` or `Debug`) shows any part of the token.
#[allow(clippy::panic)]
pub async fn refused<P: crate::IdentityProvider + ?Sized>(
    provider: &P,
    token: &str,
) -> crate::VerifyError {
    let err = match provider.verify(token).await {
        Ok(identity) => panic!("the token was accepted: {identity:?}"),
        Err(err) => err,
    };
    for part in token.split('.').filter(|p| p.len() > 8) {
        assert!(
            !err.to_string().contains(part),
            "the error shows the token: {err}"
        );
        assert!(
            !format!("{err:?}").contains(part),
            "the error shows the token: {err:?}"
        );
    }
    err
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Base64url without padding, as in JWS segments (for tests that assemble tokens by hand).
pub fn b64url(bytes: &[u8]) -> String {
    b64(bytes)
}

/// Listen on `127.0.0.1:0`; returns the acceptor and `http://127.0.0.1:PORT`.
async fn bind_loopback() -> std::io::Result<(TcpAcceptor, String)> {
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await?;
    let port = acceptor
        .local_addr()
        .first()
        .and_then(|addr| addr.as_socket_addr().map(|a| a.port()))
        .ok_or_else(|| std::io::Error::other("no local address"))?;
    Ok((acceptor, format!("http://127.0.0.1:{port}")))
}

/// Serve `handler` on `acceptor` until the returned sender is used or dropped (the fakes keep
/// it in a field, so dropping a fake stops its server).
fn run_server<F>(acceptor: TcpAcceptor, name: &'static str, handler: F) -> oneshot::Sender<()>
where
    F: Fn(&Request) -> Response + Send + Sync + 'static,
{
    let (shutdown, stopped) = oneshot::channel::<()>();
    let endpoint = poem::endpoint::make_sync(move |request: Request| handler(&request));
    tokio::spawn(async move {
        let result = Server::new_with_acceptor(acceptor)
            .run_with_graceful_shutdown(
                endpoint,
                async move {
                    let _ = stopped.await;
                },
                Some(Duration::from_millis(100)),
            )
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, server = name, "fake identity provider stopped with an error");
        }
    });
    shutdown
}

fn json_response(document: &Value) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .content_type("application/json")
        .body(document.to_string())
}

fn status_response(status: StatusCode) -> Response {
    Response::builder().status(status).finish()
}

/// Apply a patch object: each member replaces the target's; a `null` member removes it.
fn apply_patch(target: &mut Value, patch: &Value) {
    if let (Value::Object(target), Value::Object(patch)) = (target, patch) {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// An RSA signing key of the fake issuer.
struct TestKey {
    kid: String,
    /// The public key, SubjectPublicKeyInfo DER.
    public_spki: Vec<u8>,
    encoding: EncodingKey,
    jwk: Value,
}

impl TestKey {
    /// A generic issuer's key: `kty`, `use: sig`, `alg: RS256`, `kid`, `n`, `e`.
    fn generate(kid: String) -> Self {
        Self::generate_with(kid, json!({ "use": "sig", "alg": "RS256" }))
    }

    /// A key whose JWK is `kty`, `kid`, `n`, `e` and the members of `extra` (an object).
    fn generate_with(kid: String, extra: Value) -> Self {
        // aws-lc-rs, like the binary (not the pure-Rust `rsa` crate).
        let pair = must(KeyPair::generate(KeySize::Rsa2048), "RSA key generation");
        let pkcs8 = must(pair.as_der(), "RSA key encoding");
        // jsonwebtoken's RSA `EncodingKey` holds PKCS#1 DER; its PEM reader unwraps PKCS#8.
        let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.as_ref()));
        let encoding = must(EncodingKey::from_rsa_pem(pem.as_bytes()), "RSA key import");
        let public = pair.public_key();
        let public_spki = must(public.as_der(), "public key encoding")
            .as_ref()
            .to_vec();
        let components = PublicKeyComponents::<Vec<u8>>::from(public);
        let mut jwk = json!({
            "kty": "RSA",
            "kid": kid,
            "n": b64(&components.n),
            "e": b64(&components.e),
        });
        apply_patch(&mut jwk, &extra);
        Self {
            kid,
            public_spki,
            encoding,
            jwk,
        }
    }

    fn sign(&self, header: &Value, claims: &Value) -> String {
        let header = must(serde_json::to_vec(header), "header serialisation");
        let claims = must(serde_json::to_vec(claims), "claims serialisation");
        sign(&header, &claims, &self.encoding, Algorithm::RS256)
    }
}

/// Generate a key off the async runtime's worker threads.
async fn generate_key_with(kid: String, extra: Value) -> std::io::Result<TestKey> {
    tokio::task::spawn_blocking(move || TestKey::generate_with(kid, extra))
        .await
        .map_err(std::io::Error::other)
}

fn rsa_algorithm(name: &str) -> Option<Algorithm> {
    [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
    ]
    .into_iter()
    .find(|alg| algorithm_name(*alg) == name)
}

fn sign(header: &[u8], claims: &[u8], key: &EncodingKey, alg: Algorithm) -> String {
    let message = format!("{}.{}", b64(header), b64(claims));
    let signature = must(
        jsonwebtoken::crypto::sign(message.as_bytes(), key, alg),
        "signing",
    );
    format!("{message}.{signature}")
}

mod b2c;
mod entra;
mod entra_sts;
mod issuer;

pub use b2c::*;
pub use entra::*;
pub use entra_sts::{CLIENT_ASSERTION_TYPE, IMDS_HOST, TokenEndpointMode, app_token_claims};
pub use issuer::*;
