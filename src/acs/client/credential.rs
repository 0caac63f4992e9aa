//! Microsoft Entra ID credentials for ACS, from azure_identity.
//!
//! Instead of the access key, [`AcsClient::with_credential`](super::AcsClient::with_credential)
//! authenticates each call with `Authorization: Bearer <token>` for [`ACS_SCOPE`]
//! (`https://communication.azure.com//.default`, double slash as the official SDKs ask for it).
//! Entra ID takes everything before the last `/` of the scope as the resource, so the tokens'
//! `aud` is `https://communication.azure.com/`.
//!
//! [`EntraCredentialConfig`] is the serde shape an operator writes (it can be embedded in the
//! server's TOML); [`build_credential`] turns it into an azure_identity credential whose HTTP
//! goes through the application's own `reqwest` client ([`ReqwestTransport`]), so TLS roots,
//! proxies and the rustls provider are the same as for every other outbound call.
//!
//! Token caching: every azure_identity credential keeps its tokens per scope and fetches a new
//! one when less than 5 minutes are left, so the client does not cache on top of it.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::TokenCredential;
use azure_core::error::ErrorKind;
use azure_core::http::headers::{HeaderName, HeaderValue, Headers};
use azure_core::http::{
    AsyncRawResponse, Body, ClientOptions, ExponentialRetryOptions, HttpClient, Request,
    RetryOptions, Transport,
};
use azure_identity::{
    ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions,
    ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
    WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::acs::error::AcsError;

/// The scope of every ACS token request (note the double slash: the resource is
/// `https://communication.azure.com/`).
pub const ACS_SCOPE: &str = "https://communication.azure.com//.default";

/// The resource (and the `aud` of the tokens) [`ACS_SCOPE`] asks for.
pub const ACS_RESOURCE: &str = "https://communication.azure.com/";

/// Which Entra ID identity acs-auth uses to call ACS (instead of the access key).
///
/// TOML (next to an `endpoint`):
/// ```toml
/// credential = "client_secret"          # or "managed_identity", "workload_identity"
/// tenant_id = "00000000-0000-0000-0000-000000000000"
/// client_id = "11111111-1111-1111-1111-111111111111"
/// client_secret = "…"
/// # authority_host = "https://login.microsoftonline.us"
/// ```
/// `Debug` never shows the client secret.
#[derive(Clone, Deserialize, serde::Serialize)]
#[serde(tag = "credential", rename_all = "snake_case", deny_unknown_fields)]
pub enum EntraCredentialConfig {
    /// The Azure host's managed identity (IMDS on VMs, AKS and Container Apps' IMDS emulation,
    /// or App Service's `IDENTITY_ENDPOINT`): system-assigned unless one of the ids of a
    /// user-assigned identity is set (at most one).
    ManagedIdentity {
        #[serde(default)]
        client_id: Option<String>,
        #[serde(default)]
        object_id: Option<String>,
        #[serde(default)]
        resource_id: Option<String>,
    },
    /// Kubernetes workload identity: a service account token (file) exchanged at Entra ID.
    /// Each field defaults to what the AKS webhook injects: `AZURE_TENANT_ID`,
    /// `AZURE_CLIENT_ID`, `AZURE_FEDERATED_TOKEN_FILE`, and `AZURE_AUTHORITY_HOST`.
    WorkloadIdentity {
        #[serde(default)]
        tenant_id: Option<String>,
        #[serde(default)]
        client_id: Option<String>,
        #[serde(default)]
        token_file: Option<PathBuf>,
        #[serde(default)]
        authority_host: Option<String>,
    },
    /// A service principal with a client secret. `authority_host` (https only) defaults to
    /// `AZURE_AUTHORITY_HOST`, else `https://login.microsoftonline.com`.
    ClientSecret {
        tenant_id: String,
        client_id: String,
        /// Stored as given (the tenant store keeps secrets); never logged.
        #[serde(serialize_with = "expose_secret")]
        client_secret: SecretString,
        #[serde(default)]
        authority_host: Option<String>,
    },
}

fn expose_secret<S: serde::Serializer>(secret: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    use secrecy::ExposeSecret;
    s.serialize_str(secret.expose_secret())
}

impl fmt::Debug for EntraCredentialConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ManagedIdentity {
                client_id,
                object_id,
                resource_id,
            } => f
                .debug_struct("ManagedIdentity")
                .field("client_id", client_id)
                .field("object_id", object_id)
                .field("resource_id", resource_id)
                .finish(),
            Self::WorkloadIdentity {
                tenant_id,
                client_id,
                token_file,
                authority_host,
            } => f
                .debug_struct("WorkloadIdentity")
                .field("tenant_id", tenant_id)
                .field("client_id", client_id)
                .field("token_file", token_file)
                .field("authority_host", authority_host)
                .finish(),
            Self::ClientSecret {
                tenant_id,
                client_id,
                authority_host,
                ..
            } => f
                .debug_struct("ClientSecret")
                .field("tenant_id", tenant_id)
                .field("client_id", client_id)
                .field("client_secret", &"[REDACTED]")
                .field("authority_host", authority_host)
                .finish(),
        }
    }
}

impl EntraCredentialConfig {
    /// `managed_identity`, `workload_identity` or `client_secret` (for logs).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ManagedIdentity { .. } => "managed_identity",
            Self::WorkloadIdentity { .. } => "workload_identity",
            Self::ClientSecret { .. } => "client_secret",
        }
    }
}

/// Retries of the token request itself (connection failures, 408, 429, 5xx): a few, quickly;
/// the service layer retries whole operations on top (see [`AcsError::is_retryable`]).
/// The managed identity credential on VMs keeps azure_identity's own IMDS retry policy.
fn retry_options() -> RetryOptions {
    RetryOptions::exponential(ExponentialRetryOptions {
        initial_delay: azure_core::time::Duration::milliseconds(200),
        max_retries: 3,
        max_total_elapsed: azure_core::time::Duration::seconds(10),
        max_delay: azure_core::time::Duration::seconds(2),
    })
}

fn client_options(http: &reqwest::Client, authority_host: Option<&str>) -> ClientOptions {
    let cloud = authority_host.map(|host| {
        let mut custom = CustomConfiguration::default();
        custom.authority_host = host.trim_end_matches('/').to_owned();
        Arc::new(CloudConfiguration::from(custom))
    });
    ClientOptions {
        transport: Some(Transport::new(Arc::new(ReqwestTransport::new(
            http.clone(),
        )))),
        retry: retry_options(),
        cloud,
        ..Default::default()
    }
}

fn config_error(e: &azure_core::Error) -> AcsError {
    AcsError::Credential {
        message: format!("invalid configuration: {e}"),
        retryable: false,
    }
}

/// Build the azure_identity credential `config` describes. Its HTTP calls (to Entra ID or the
/// managed identity endpoint) go through `http`. Fails on a configuration azure_identity
/// rejects (invalid tenant id, empty client id or secret, an `http://` authority, a missing
/// `AZURE_*` variable, an unreadable token file) with a non-retryable
/// [`AcsError::Credential`]. Nothing is fetched until the first token is needed.
pub fn build_credential(
    config: &EntraCredentialConfig,
    http: &reqwest::Client,
) -> Result<Arc<dyn TokenCredential>, AcsError> {
    match config {
        EntraCredentialConfig::ManagedIdentity {
            client_id,
            object_id,
            resource_id,
        } => {
            let ids = [
                client_id.clone().map(UserAssignedId::ClientId),
                object_id.clone().map(UserAssignedId::ObjectId),
                resource_id.clone().map(UserAssignedId::ResourceId),
            ];
            let mut ids = ids.into_iter().flatten();
            let user_assigned_id = ids.next();
            if ids.next().is_some() {
                return Err(AcsError::Credential {
                    message: "invalid configuration: set at most one of client_id, object_id and resource_id of a managed identity".into(),
                    retryable: false,
                });
            }
            let options = ManagedIdentityCredentialOptions {
                user_assigned_id,
                client_options: client_options(http, None),
            };
            let credential =
                ManagedIdentityCredential::new(Some(options)).map_err(|e| config_error(&e))?;
            Ok(credential)
        }
        EntraCredentialConfig::WorkloadIdentity {
            tenant_id,
            client_id,
            token_file,
            authority_host,
        } => {
            let options = WorkloadIdentityCredentialOptions {
                credential_options: ClientAssertionCredentialOptions {
                    client_options: client_options(http, authority_host.as_deref()),
                },
                client_id: client_id.clone(),
                tenant_id: tenant_id.clone(),
                token_file_path: token_file.clone(),
            };
            let credential =
                WorkloadIdentityCredential::new(Some(options)).map_err(|e| config_error(&e))?;
            Ok(credential)
        }
        EntraCredentialConfig::ClientSecret {
            tenant_id,
            client_id,
            client_secret,
            authority_host,
        } => {
            let options = ClientSecretCredentialOptions {
                client_options: client_options(http, authority_host.as_deref()),
            };
            let credential = ClientSecretCredential::new(
                tenant_id,
                client_id.clone(),
                azure_core::credentials::Secret::new(client_secret.expose_secret().to_owned()),
                Some(options),
            )
            .map_err(|e| config_error(&e))?;
            Ok(credential)
        }
    }
}

/// Map a failed `get_token` to [`AcsError::Credential`], retryable when any error in the chain
/// is a connection or I/O failure or an HTTP 408/429/5xx answer.
pub(crate) fn token_error(e: &azure_core::Error) -> AcsError {
    let mut retryable = false;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(az) = err.downcast_ref::<azure_core::Error>() {
            match az.kind() {
                ErrorKind::Connection | ErrorKind::Io => retryable = true,
                ErrorKind::HttpResponse { status, .. } => {
                    let status = u16::from(*status);
                    retryable = status == 408 || status == 429 || status >= 500;
                    break;
                }
                _ => {}
            }
        }
        cur = err.source();
    }
    AcsError::Credential {
        message: e.to_string(),
        retryable,
    }
}

/// An azure_core [`HttpClient`] over the application's `reqwest` 0.12 client (azure_core's own
/// would bring `reqwest` 0.13 and a second TLS stack). Reads whole responses (token answers
/// are small). Redirects follow the given client's policy (azure_core's own client follows
/// none; Entra ID and IMDS do not redirect token requests).
#[derive(Clone, Debug)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    pub fn new(client: reqwest::Client) -> Self {
        Self { client }
    }
}

fn transport_error(e: reqwest::Error) -> azure_core::Error {
    let kind = if e.is_connect() {
        ErrorKind::Connection
    } else {
        ErrorKind::Io
    };
    azure_core::Error::with_error(kind, e, "the HTTP request for an Entra ID token failed")
}

#[async_trait::async_trait]
impl HttpClient for ReqwestTransport {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let method = reqwest::Method::from_bytes(request.method().as_str().as_bytes())
            .map_err(|e| azure_core::Error::with_error(ErrorKind::Other, e, "bad HTTP method"))?;
        let mut req = self.client.request(method, request.url().clone());
        for (name, value) in request.headers().iter() {
            req = req.header(name.as_str(), value.as_str());
        }
        let body = match request.body().clone() {
            Body::Bytes(bytes) => bytes.to_vec(),
            Body::SeekableStream(mut stream) => {
                use futures::AsyncReadExt as _;
                let mut buf = Vec::new();
                stream.read_to_end(&mut buf).await?;
                buf
            }
        };
        if !body.is_empty() {
            req = req.body(body);
        }
        let resp = req.send().await.map_err(transport_error)?;
        let status = resp.status().as_u16();
        let mut headers = Headers::new();
        for (name, value) in resp.headers() {
            if let Ok(value) = value.to_str() {
                headers.insert(
                    HeaderName::from(name.as_str().to_owned()),
                    HeaderValue::from(value.to_owned()),
                );
            }
        }
        let bytes = resp.bytes().await.map_err(transport_error)?;
        Ok(AsyncRawResponse::from_bytes(status.into(), headers, bytes))
    }
}

#[cfg(test)]
mod tests {
    use figment::Figment;
    use figment::providers::{Format as _, Toml};

    use super::*;

    fn parse(toml: &str) -> Result<EntraCredentialConfig, String> {
        Figment::from(Toml::string(toml))
            .extract()
            .map_err(|e| e.to_string())
    }

    #[test]
    fn each_credential_parses_from_toml() {
        let c = parse(
            r#"
            credential = "client_secret"
            tenant_id = "72f988bf-86f1-41af-91ab-2d7cd011db47"
            client_id = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
            client_secret = "very-secret"
            authority_host = "https://login.microsoftonline.us"
            "#,
        )
        .unwrap();
        assert!(matches!(
            &c,
            EntraCredentialConfig::ClientSecret { client_secret, authority_host: Some(h), .. }
                if client_secret.expose_secret() == "very-secret" && h == "https://login.microsoftonline.us"
        ));
        assert_eq!(c.kind(), "client_secret");

        let c = parse(r#"credential = "managed_identity""#).unwrap();
        assert!(matches!(
            c,
            EntraCredentialConfig::ManagedIdentity {
                client_id: None,
                object_id: None,
                resource_id: None
            }
        ));
        let c = parse("credential = \"managed_identity\"\nclient_id = \"abc\"").unwrap();
        assert!(
            matches!(c, EntraCredentialConfig::ManagedIdentity { client_id: Some(id), .. } if id == "abc")
        );

        let c = parse(r#"credential = "workload_identity""#).unwrap();
        assert!(matches!(
            c,
            EntraCredentialConfig::WorkloadIdentity {
                tenant_id: None,
                client_id: None,
                token_file: None,
                authority_host: None
            }
        ));
        let c = parse(
            "credential = \"workload_identity\"\ntoken_file = \"/var/run/secrets/azure/tokens/azure-identity-token\"",
        )
        .unwrap();
        assert_eq!(c.kind(), "workload_identity");
    }

    #[test]
    fn it_embeds_in_a_resource_table() {
        #[derive(Deserialize)]
        struct Resource {
            endpoint: url::Url,
            entra: EntraCredentialConfig,
        }
        let r: Resource = Figment::from(Toml::string(
            r#"
            endpoint = "https://acme.communication.azure.com/"
            [entra]
            credential = "managed_identity"
            "#,
        ))
        .extract()
        .unwrap();
        assert_eq!(r.endpoint.host_str(), Some("acme.communication.azure.com"));
        assert_eq!(r.entra.kind(), "managed_identity");
    }

    #[test]
    fn unknown_credentials_fields_and_missing_ones_are_refused() {
        assert!(parse(r#"credential = "azure_cli""#).is_err());
        assert!(parse("credential = \"managed_identity\"\nclient_secret = \"x\"").is_err());
        assert!(
            parse("credential = \"client_secret\"\ntenant_id = \"t\"\nclient_id = \"c\"").is_err()
        );
        assert!(parse(r#"tenant_id = "t""#).is_err());
    }

    #[test]
    fn debug_redacts_the_client_secret() {
        let c = EntraCredentialConfig::ClientSecret {
            tenant_id: "t".into(),
            client_id: "c".into(),
            client_secret: SecretString::from("very-secret-value"),
            authority_host: None,
        };
        let debug = format!("{c:?}");
        assert!(!debug.contains("very-secret-value"), "{debug}");
        assert!(debug.contains("[REDACTED]"), "{debug}");
        assert!(debug.contains("ClientSecret"), "{debug}");
    }

    #[test]
    fn invalid_client_secret_configs_fail_to_build() {
        let http = acs_auth_providers::http_client();
        let config =
            |tenant: &str, secret: &str, host: Option<&str>| EntraCredentialConfig::ClientSecret {
                tenant_id: tenant.into(),
                client_id: "c".into(),
                client_secret: SecretString::from(secret.to_owned()),
                authority_host: host.map(str::to_owned),
            };
        for (what, c) in [
            ("tenant id", config("not a tenant", "s", None)),
            ("empty secret", config("t", "", None)),
            (
                "http authority",
                config("t", "s", Some("http://login.example")),
            ),
        ] {
            let err = build_credential(&c, &http).unwrap_err();
            assert!(
                matches!(
                    err,
                    AcsError::Credential {
                        retryable: false,
                        ..
                    }
                ),
                "{what}: {err:?}"
            );
            assert!(!err.to_string().contains("\"s\""), "{what}");
        }
        build_credential(&config("t", "s", Some("https://login.example/")), &http).unwrap();
    }

    #[test]
    fn token_errors_are_retryable_only_for_outages() {
        let http = |status: u16| {
            azure_core::Error::with_message(
                ErrorKind::HttpResponse {
                    status: status.into(),
                    error_code: None,
                    raw_response: None,
                },
                "failed",
            )
        };
        let wrapped = |inner: azure_core::Error| {
            azure_core::Error::with_error(ErrorKind::Credential, inner, "X authentication failed")
        };
        for (status, retryable) in [
            (400, false),
            (401, false),
            (408, true),
            (429, true),
            (503, true),
        ] {
            let e = token_error(&wrapped(http(status)));
            assert!(
                matches!(e, AcsError::Credential { retryable: r, .. } if r == retryable),
                "{status}"
            );
        }
        let e = token_error(&wrapped(azure_core::Error::with_message(
            ErrorKind::Connection,
            "refused",
        )));
        assert!(e.is_retryable());
        let e = token_error(&azure_core::Error::with_message(
            ErrorKind::Credential,
            "no tenant",
        ));
        assert!(!e.is_retryable());
    }
}
