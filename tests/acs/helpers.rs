//! Shared helpers of the ACS tests: an emulator on 127.0.0.1 port 0 (one RSA signing key for
//! the whole binary), clients for it, and hand-made signed requests ([`Raw`]).

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use acs_auth::acs::emulator::{EmulatorConfig, RunningEmulator, TokenSigningKey};
use acs_auth::acs::{AcsClient, AcsError, ConnectionString, install_crypto_provider, signing};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::Value;

/// RSA keygen is slow: one key for all tests (test-only state).
pub fn signing_key() -> TokenSigningKey {
    static KEY: OnceLock<TokenSigningKey> = OnceLock::new();
    KEY.get_or_init(|| TokenSigningKey::generate().unwrap())
        .clone()
}

pub fn config() -> EmulatorConfig {
    let mut c = EmulatorConfig::with_random_key();
    c.signing_key = Some(signing_key());
    c
}

pub fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

pub async fn start() -> RunningEmulator {
    install_crypto_provider();
    RunningEmulator::start(config(), loopback(), None)
        .await
        .unwrap()
}

pub fn client_for(conn: &str) -> AcsClient {
    let conn = ConnectionString::parse(conn).unwrap();
    AcsClient::new(
        acs_auth_providers::http_client(),
        &conn,
        Duration::from_secs(10),
    )
}

pub fn scopes(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| (*s).to_owned()).collect()
}

pub fn key_of(emu: &RunningEmulator) -> Vec<u8> {
    STANDARD
        .decode(emu.emulator().access_key().expose_secret())
        .unwrap()
}

/// A hand-made request: `signed_path`/`signed_body` default to what is sent.
pub struct Raw<'a> {
    pub method: &'a str,
    pub path_and_query: &'a str,
    pub body: &'a [u8],
    pub signed_path: Option<&'a str>,
    pub signed_body: Option<&'a [u8]>,
    pub date: DateTime<Utc>,
    pub key: Option<Vec<u8>>,
    pub extra: Vec<(&'static str, String)>,
}

impl<'a> Raw<'a> {
    pub fn new(method: &'a str, path_and_query: &'a str, body: &'a [u8]) -> Self {
        Self {
            method,
            path_and_query,
            body,
            signed_path: None,
            signed_body: None,
            date: Utc::now(),
            key: None,
            extra: Vec::new(),
        }
    }

    pub async fn send(
        self,
        emu: &RunningEmulator,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let host = emu.http_addr.to_string();
        let key = self.key.clone().unwrap_or_else(|| key_of(emu));
        let date = signing::format_date(self.date);
        let hash = signing::content_hash(self.signed_body.unwrap_or(self.body));
        let sts = signing::string_to_sign(
            self.method,
            self.signed_path.unwrap_or(self.path_and_query),
            &date,
            &host,
            &hash,
        );
        let sig = signing::compute_signature(&key, &sts);
        let url = format!("http://{host}{}", self.path_and_query);
        let mut req = acs_auth_providers::http_client()
            .request(self.method.parse().unwrap(), &url)
            .header("x-ms-date", date)
            .header("x-ms-content-sha256", hash)
            .header("authorization", signing::authorization_value(&sig))
            .body(self.body.to_vec());
        for (k, v) in self.extra {
            req = req.header(k, v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, headers, body)
    }
}

pub fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no code>")
}

pub fn api_code(e: &AcsError) -> (u16, &str) {
    match e {
        AcsError::Api { status, code, .. } => (*status, code.as_str()),
        other => panic!("expected an API error, got {other:?}"),
    }
}
