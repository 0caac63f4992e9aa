//! Wiring: settings → store, providers, ACS client, services → routes → a server on a bound
//! port (port 0 works; `port()` tells the real one).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use acs_auth_providers::{IdpHttp, JwksCache, JwksCacheConfig};
use secrecy::ExposeSecret;

use crate::acs::AcsError;
use crate::api;
use crate::config::Settings;
#[cfg(feature = "emulator")]
use crate::dev::DevIssuer;
use crate::registry::{AcsResource, AcsResources, TenantDirectory, TenantError};
use crate::service::{
    AdminKeys, AuditLog, ChangeFeed, Clock, DeletionWorker, Gate, Membership, TenantAdmin,
    TokenService,
};
use crate::state::AppState;
use crate::store::{Store, StoreError};
use acs_auth_providers::ProviderContext;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("invalid configuration: `acs`: {0}")]
    Acs(#[from] AcsError),
    #[error(
        "invalid configuration: `acs.connection_string` is required (or `acs.connection_string_file`, or ACS_AUTH_ACS__CONNECTION_STRING), or `acs.endpoint` with `[acs.entra]`"
    )]
    MissingAcs,
    #[error("invalid configuration: {0}")]
    Tenant(#[from] TenantError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("invalid configuration: `outbound.ca_file` ({path}): {message}")]
    CaFile { path: String, message: String },
    #[error("http client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

/// What only some modes add to the server.
#[derive(Default)]
pub struct BuildOptions {
    /// The development issuer (mounted under `/dev/idp`); `serve` never sets it.
    #[cfg(feature = "emulator")]
    pub dev_issuer: Option<Arc<DevIssuer>>,
    /// An already bound listener (dev mode binds first to learn its port).
    pub listener: Option<tokio::net::TcpListener>,
    /// Name recorded in mappings for the default ACS resource (defaults to its endpoint).
    pub acs_resource_name: Option<String>,
    /// The time the service decides by (default: the system clock; tests move their own).
    pub clock: Option<Clock>,
}

pub struct Application {
    addr: SocketAddr,
    listener: tokio::net::TcpListener,
    app: poem::endpoint::BoxEndpoint<'static>,
    state: AppState,
    background: Background,
    edge: api::server::EdgeLimits,
}

/// The application's background tasks, aborted when it stops — also when its `run_until`
/// future is dropped (a test aborting a server): a stopped replica sends no more heartbeats.
struct Background(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Background {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// One shared outbound HTTP client (connection pooling, rustls), trusting the built-in roots
/// and `extra_roots`: the ACS clients'. IdP fetches use [`IdpHttp`]'s, from the same builder.
pub fn http_client(
    timeout: Duration,
    extra_roots: Vec<reqwest::Certificate>,
) -> Result<reqwest::Client, reqwest::Error> {
    http_client_builder(timeout, extra_roots).build()
}

/// The builder of [`http_client`]: timeouts, roots, no redirects, the user agent.
fn http_client_builder(
    timeout: Duration,
    extra_roots: Vec<reqwest::Certificate>,
) -> reqwest::ClientBuilder {
    crate::acs::install_crypto_provider();
    extra_roots
        .into_iter()
        .fold(reqwest::Client::builder(), |b, cert| {
            b.add_root_certificate(cert)
        })
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("acs-auth/", env!("CARGO_PKG_VERSION")))
}

/// Everything the server runs on, without a listener: the CLI's tenant commands use it too.
pub struct Services {
    pub state: AppState,
    jwks: Arc<JwksCache>,
    deletions: DeletionWorker,
    audit: AuditLog,
    tenants: Arc<TenantDirectory>,
}

impl Services {
    /// Connects the store (migrating it when configured), builds providers, ACS clients and
    /// services.
    pub async fn build(
        settings: &Settings,
        acs_resource_name: Option<String>,
        clock: Clock,
    ) -> Result<Self, StartupError> {
        crate::acs::install_crypto_provider();
        // The whole configuration is checked before the database is touched (or migrated).
        settings.validate()?;
        if !settings.acs.is_configured() {
            return Err(StartupError::MissingAcs);
        }
        let store = Store::connect(
            settings.database.url.expose_secret(),
            settings.database.max_connections,
        )
        .await?;
        if settings.database.migrate {
            store.migrate().await?;
        }

        let roots = extra_roots(settings)?;
        let http = http_client(
            Duration::from_secs(
                settings
                    .jwks
                    .request_timeout_secs
                    .max(settings.acs.timeout_secs),
            ),
            roots.clone(),
        )?;
        let idp_http = IdpHttp::new(|| {
            http_client_builder(
                Duration::from_secs(settings.jwks.request_timeout_secs),
                roots.clone(),
            )
        })?;
        let jwks = Arc::new(JwksCache::new(
            idp_http,
            JwksCacheConfig {
                refetch_cooldown: Duration::from_secs(settings.jwks.refetch_cooldown_secs),
                refetch_burst: settings.jwks.refetch_burst,
                refresh_interval: Duration::from_secs(settings.jwks.refresh_interval_secs),
                max_stale: Duration::from_secs(settings.jwks.max_stale_secs),
                request_timeout: Duration::from_secs(settings.jwks.request_timeout_secs),
                ..JwksCacheConfig::default()
            },
        ));

        let default_resource = AcsResource::from_settings(&http, &settings.acs, acs_resource_name)?;
        let resources = Arc::new(AcsResources::new(default_resource));

        let factory = ProviderContext {
            jwks: Arc::clone(&jwks),
            leeway_secs: settings.jwks.leeway_secs,
            max_token_bytes: settings.jwks.max_token_bytes,
        };
        let tenants = TenantDirectory::load(
            settings,
            store.clone(),
            factory,
            http.clone(),
            Arc::clone(&resources),
        )
        .await?;

        let audit = AuditLog::new(store.clone());
        let deletions = DeletionWorker::new(
            store.clone(),
            Arc::clone(&resources),
            Duration::from_secs(settings.deletion.max_backoff_secs),
        );
        let tokens = TokenService::new(
            store.clone(),
            Arc::clone(&resources),
            &settings.cache,
            deletions.clone(),
            audit.clone(),
            clock.clone(),
        );
        let admin = TenantAdmin::new(
            store.clone(),
            Arc::clone(&tenants),
            tokens.clone(),
            deletions.clone(),
            audit.clone(),
        );
        let setup = crate::service::SetupLinks::new(
            store.clone(),
            Arc::clone(&tenants),
            admin.clone(),
            audit.clone(),
            settings.setup.clone(),
            clock.clone(),
        );
        let limits = crate::service::RateLimits::new(&settings.limits);
        let changes = ChangeFeed::new(
            store.clone(),
            tokens.clone(),
            Arc::clone(&tenants),
            &settings.cluster,
        );
        let membership = Membership::new(
            store.clone(),
            limits.clone(),
            Arc::clone(&resources),
            &settings.cluster,
        );
        let gate = Gate::new(Arc::clone(&tenants), limits.clone(), &settings.cache, clock);
        let stats = crate::service::Stats::new(
            Arc::clone(&resources),
            Arc::clone(&tenants),
            gate.clone(),
            tokens.clone(),
            store.clone(),
            setup.counters(),
        );
        let state = AppState {
            setup,
            changes,
            membership,
            tenants: Arc::clone(&tenants),
            tokens,
            store,
            resources,
            audit: audit.clone(),
            admin,
            gate,
            stats,
            limits,
            admin_keys: AdminKeys::new(&settings.admin.key_hashes, audit.clone()),
            trusted_proxies: crate::domain::TrustedProxies::new(&settings.server.trusted_proxies),
            accepting: Arc::new(AtomicBool::new(true)),
        };
        Ok(Self {
            state,
            jwks,
            deletions,
            audit,
            tenants,
        })
    }
}

impl Application {
    pub async fn build(settings: Settings, options: BuildOptions) -> Result<Self, StartupError> {
        crate::acs::install_crypto_provider();
        let listener = match options.listener {
            Some(l) => l,
            None => crate::api::server::bind(settings.server.bind).map_err(|source| {
                StartupError::Bind {
                    addr: settings.server.bind,
                    source,
                }
            })?,
        };
        let addr = listener.local_addr()?;
        let services = Services::build(
            &settings,
            options.acs_resource_name,
            options.clock.unwrap_or_default(),
        )
        .await?;

        // Where this replica starts in the change log; its memory is current from here on.
        if let Err(e) = services.state.changes.read_once().await {
            tracing::warn!(error = %e, "cannot read the change log yet; mappings are read from the database until it can");
        }
        // Counted in the cluster from the start: its first requests take its share already.
        if let Err(e) = services.state.membership.beat_once().await {
            tracing::warn!(error = %e, "cannot record a heartbeat yet; limits are this replica's alone until it can");
        }
        let background = Background(vec![
            services.deletions.clone().spawn(Duration::from_secs(
                settings.deletion.retry_interval_secs.max(1),
            )),
            Arc::clone(&services.jwks).spawn_refresh(),
            Arc::clone(&services.tenants).spawn_watch(Duration::from_secs(
                settings.registry.reload_interval_secs.max(1),
            )),
            services.audit.clone().spawn_flush(Duration::from_secs(60)),
            services.state.changes.clone().spawn(),
            services.state.membership.clone().spawn(),
            services.state.admin_keys.clone().spawn_flush(),
            services.state.gate.refused_tokens().clone().spawn_summary(),
            services
                .state
                .limits
                .clone()
                .spawn_housekeeping(Duration::from_secs(60)),
        ]);

        #[cfg(feature = "emulator")]
        let extra = options.dev_issuer.map(DevIssuer::routes);
        #[cfg(not(feature = "emulator"))]
        let extra = None;
        let state = services.state;
        let app = api::routes(
            state.clone(),
            api::RouteOptions {
                max_body_bytes: settings.server.max_body_bytes,
                cors: settings.cors.clone(),
                metrics: settings.metrics.clone(),
            },
            extra,
        );
        Ok(Self {
            addr,
            listener,
            app,
            state,
            background,
            edge: api::server::EdgeLimits {
                header_read_timeout: Duration::from_secs(settings.server.header_read_timeout_secs),
                idle_timeout: Duration::from_secs(settings.server.idle_timeout_secs),
                request_timeout: Duration::from_secs(settings.server.request_timeout_secs),
                max_connections: settings.server.max_connections,
                shutdown_delay: Duration::from_secs(settings.server.shutdown_delay_secs),
                shutdown_grace: Duration::from_secs(settings.server.shutdown_grace_secs),
            },
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The HTTP application exactly as [`Application::run_until`] serves it (routes and
    /// middleware), for calling in-process with [`poem::Endpoint::call`], without a socket
    /// (`benches/hot_path.rs` measures the handlers this way).
    pub fn endpoint(&self) -> &poem::endpoint::BoxEndpoint<'static> {
        &self.app
    }

    /// Serves until `shutdown` completes; then readiness turns false, in-flight requests get up
    /// to the request timeout to finish, and background work stops.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let accepting = Arc::clone(&self.state.accepting);
        let delay = self.edge.shutdown_delay;
        let signal = async move {
            shutdown.await;
            // Readiness says so at once; requests are still served for the delay, while load
            // balancers (Kubernetes endpoints) take this replica out of rotation.
            accepting.store(false, Ordering::SeqCst);
            tracing::info!(
                delay_secs = delay.as_secs(),
                "shutting down: /readyz answers 503; new connections are refused after the delay"
            );
            tokio::time::sleep(delay).await;
            tracing::info!("shutting down: finishing in-flight requests");
        };
        let result = api::server::serve(self.listener, self.app, self.edge, signal).await;
        drop(self.background);
        self.state.membership.leave().await;
        result.map_err(StartupError::from)
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// The extra root certificates of `outbound.ca_file`.
fn extra_roots(settings: &Settings) -> Result<Vec<reqwest::Certificate>, StartupError> {
    let Some(path) = &settings.outbound.ca_file else {
        return Ok(Vec::new());
    };
    let error = |message: String| StartupError::CaFile {
        path: path.display().to_string(),
        message,
    };
    let pem = std::fs::read(path).map_err(|e| error(e.to_string()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| error(e.to_string()))?;
    if certs.is_empty() {
        return Err(error("holds no PEM certificate".into()));
    }
    Ok(certs)
}

/// The OpenAPI spec as committed in openapi/openapi.json (pretty JSON, trailing newline),
/// rendered from the same services the server runs on: built by [`Services::build`] over an
/// in-memory SQLite database and a placeholder ACS resource that is never called.
pub async fn spec_json() -> Result<String, StartupError> {
    let mut settings = Settings::default();
    settings.database.url = secrecy::SecretString::from("sqlite::memory:");
    settings.database.max_connections = 1;
    settings.acs.connection_string = Some(secrecy::SecretString::from(
        "endpoint=https://spec.invalid/;accesskey=AAAA",
    ));
    let services = Services::build(&settings, None, Clock::system()).await?;
    let raw = api::openapi_service(services.state).spec();
    let document = api::spec::refine(&raw).map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut spec = api::spec::to_pretty_json(&document);
    spec.push('\n');
    Ok(spec)
}
