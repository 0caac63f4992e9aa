//! The command line: `serve`, `dev`, `migrate`, `openapi`, `acs-emulator`, `tenants`,
//! `dev-token`. `main` only calls [`main`].

mod setup_links;

use std::net::SocketAddr;
#[cfg(feature = "emulator")]
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
#[cfg(feature = "emulator")]
use std::sync::Arc;

#[cfg(feature = "emulator")]
use acs_auth_providers::{OidcConfig, ProviderConfig};
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
#[cfg(feature = "emulator")]
use secrecy::SecretString;

#[cfg(feature = "emulator")]
use crate::acs::{EmulatorConfig, RunningEmulator, ServiceLimits};
#[cfg(feature = "emulator")]
use crate::config::LogFormat;
use crate::config::{Settings, TenantSettings};
#[cfg(feature = "emulator")]
use crate::dev::{DEV_AUDIENCE, DEV_TENANT, DevIssuer};
use crate::service::Actor;
use crate::startup::{Application, BuildOptions, Services, shutdown_signal};
use crate::store::Store;

const AFTER_HELP: &str = "\
Configuration: defaults, then the TOML file (--config or ACS_AUTH_CONFIG), then environment
variables ACS_AUTH_<SECTION>__<KEY> (e.g. ACS_AUTH_DATABASE__URL). See docs/configuration.md.

Quick start:  acs-auth dev            (SQLite, ACS emulator, development IdP, Swagger UI at /docs)
              acs-auth dev-token alice (a token from the development issuer)";

#[derive(Debug, Parser)]
#[command(name = "acs-auth", version, about = "Multi-tenant bring-your-own-identity token server for Azure Communication Services", after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server from its configuration (production mode; never enables dev features).
    Serve {
        /// TOML configuration file.
        #[arg(long, env = "ACS_AUTH_CONFIG")]
        config: Option<PathBuf>,
        /// Address to listen on; overrides `server.bind` (default 127.0.0.1:8080).
        #[arg(long)]
        bind: Option<SocketAddr>,
    },
    /// Run everything embedded for development: SQLite in --data-dir, an in-process ACS
    /// emulator, a development OpenID Connect issuer at /dev/idp and a ready `dev` tenant.
    /// NOT for production: anyone can mint tokens at /dev/idp/token.
    #[cfg(feature = "emulator")]
    Dev {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
        /// Where the database, the issuer key and the emulator certificate live.
        #[arg(long, default_value = "./.acs-auth")]
        data_dir: PathBuf,
        /// Enable the admin API with this key hash (from `acs-auth admin-key`); repeatable.
        #[arg(long = "admin-key-hash")]
        admin_key_hashes: Vec<String>,
        /// Turn every rate limit off: per user, per tenant, per address (load tests, fuzzing).
        #[arg(long)]
        no_rate_limits: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[arg(long, env = "ACS_AUTH_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Print the OpenAPI 3 spec of the HTTP API (as committed in openapi/openapi.json).
    Openapi {
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Run the ACS identity emulator alone and print its connection string.
    #[cfg(feature = "emulator")]
    AcsEmulator {
        /// HTTP address to listen on.
        #[arg(long, default_value = "127.0.0.1:8090")]
        bind: SocketAddr,
        /// Also serve HTTPS here (a self-signed certificate is written to --tls-dir).
        #[arg(long)]
        https_bind: Option<SocketAddr>,
        /// Access key (base64) clients must sign with; random when absent.
        #[arg(long, env = "ACS_EMULATOR_ACCESS_KEY")]
        access_key: Option<String>,
        /// Where to write cert.pem and key.pem for HTTPS.
        #[arg(long)]
        tls_dir: Option<PathBuf>,
        /// Enforce the documented ACS service limits (1000 creates and 1000 token issues per
        /// 30 s, 500 deletes, revocations and exchanges): `429` with `Retry-After` past them.
        #[arg(long)]
        enforce_limits: bool,
    },
    /// Manage the tenants: list and check them; add, disable and enable stored ones (these
    /// change the server's database).
    Tenants {
        #[command(subcommand)]
        command: TenantsCommand,
    },
    /// Manage setup links: one-time links with which a customer's IT admin connects their own
    /// identity provider to a tenant (docs/onboarding-portal.md).
    SetupLinks {
        #[command(subcommand)]
        command: setup_links::SetupLinksCommand,
    },
    /// Make a new admin API key: prints the key (give it to the operator) and its SHA-256 hash
    /// (put it in `admin.key_hashes`).
    AdminKey,
    /// Print an access token for SUBJECT from the development issuer of `acs-auth dev`.
    #[cfg(feature = "emulator")]
    DevToken {
        /// The subject (`sub`) of the token.
        subject: String,
        /// The data directory `acs-auth dev` runs with.
        #[arg(long, default_value = "./.acs-auth")]
        data_dir: PathBuf,
        /// Lifetime in minutes (1–1440).
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=1440))]
        minutes: u32,
        /// Delegated scopes to put in `scp` (repeatable).
        #[arg(long)]
        scope: Vec<String>,
        /// Print this many tokens, one a line, for the subjects SUBJECT-0 … SUBJECT-(N-1)
        /// (load tests).
        #[arg(long)]
        count: Option<u32>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// List the tenants: the configuration file's and the database's.
    List {
        #[arg(long, env = "ACS_AUTH_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Fetch each tenant's discovery documents and keys and report what works (exits non-zero
    /// when a check fails or the tenant is unknown).
    Check {
        #[arg(long, env = "ACS_AUTH_CONFIG")]
        config: Option<PathBuf>,
        /// Only this tenant (its id); every tenant when absent.
        tenant: Option<String>,
    },
    /// Store a tenant in the database from a TOML file shaped like one `[[tenants]]` table
    /// (top-level `id`, `[provider]`, `[access]`, `[tokens]`, `[acs]`). Running servers pick it
    /// up within `registry.reload_interval_secs`.
    Add {
        #[arg(long, env = "ACS_AUTH_CONFIG")]
        config: Option<PathBuf>,
        /// The tenant's TOML file.
        #[arg(long)]
        file: PathBuf,
    },
    /// Dry-run a user's access token against a tenant: every check of its provider and access
    /// policy, in order, with its verdict (exits non-zero when the token would be refused).
    /// The token is read from stdin; nothing is issued or stored.
    VerifyToken {
        #[arg(long, env = "ACS_AUTH_CONFIG")]
        config: Option<PathBuf>,
        /// The tenant's id.
        tenant: String,
    },
    /// Disable a stored tenant (its users get 403; nothing is deleted).
    Disable {
        #[arg(long, env = "ACS_AUTH_CONFIG")]
        config: Option<PathBuf>,
        /// The tenant's id.
        tenant: String,
    },
    /// Enable a stored tenant again.
    Enable {
        #[arg(long, env = "ACS_AUTH_CONFIG")]
        config: Option<PathBuf>,
        /// The tenant's id.
        tenant: String,
    },
}

type AnyError = Box<dyn std::error::Error + Send + Sync>;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // aws-lc-rs is the one crypto provider of the binary: rustls' process default, before any
    // TLS config or HTTP client exists (reqwest has no provider of its own).
    crate::acs::install_crypto_provider();
    // Fault-injection points from `FAILPOINTS` (only in builds with the `failpoints` feature).
    #[cfg(feature = "failpoints")]
    let _failpoints = fail::FailScenario::setup();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli));
    // A task still running (a request that outlived the shutdown grace) does not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", chain(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = s.source();
    }
    out
}

pub async fn run(cli: Cli) -> Result<(), AnyError> {
    match cli.command {
        Command::Serve { config, bind } => {
            let mut settings = Settings::load(config.as_deref())?;
            // Flushes the spans not yet exported when `serve` ends.
            let _telemetry = crate::telemetry::init_with_export(
                &settings.log.level,
                settings.log.format,
                settings.log.otlp_endpoint.as_deref(),
            )?;
            if let Some(bind) = bind {
                settings.server.bind = bind;
            }
            let app = Application::build(settings, BuildOptions::default()).await?;
            tracing::info!(addr = %app.local_addr(), "acs-auth listening");
            app.run_until(shutdown_signal()).await?;
        }
        #[cfg(feature = "emulator")]
        Command::Dev {
            bind,
            data_dir,
            admin_key_hashes,
            no_rate_limits,
        } => dev(bind, &data_dir, admin_key_hashes, no_rate_limits).await?,
        Command::Migrate { config } => {
            let settings = Settings::load(config.as_deref())?;
            crate::telemetry::init(&settings.log.level, settings.log.format);
            let store = Store::connect(settings.database.url.expose_secret(), 1).await?;
            store.migrate().await?;
            println!("migrations applied");
        }
        Command::Openapi { output } => {
            let spec = crate::startup::spec_json().await?;
            match output {
                Some(path) => std::fs::write(&path, spec)?,
                None => print!("{spec}"),
            }
        }
        #[cfg(feature = "emulator")]
        Command::AcsEmulator {
            bind,
            https_bind,
            access_key,
            tls_dir,
            enforce_limits,
        } => {
            crate::telemetry::init("info", LogFormat::Text);
            crate::acs::install_crypto_provider();
            let mut config = match access_key {
                Some(k) => EmulatorConfig::new(SecretString::from(k)),
                None => EmulatorConfig::with_random_key(),
            };
            config.tls_dir = tls_dir;
            if enforce_limits {
                config.service_limits = Some(ServiceLimits::documented());
            }
            let running = RunningEmulator::start(config, bind, https_bind).await?;
            println!("ACS emulator listening");
            if enforce_limits {
                println!("  enforcing the documented ACS service limits (429 past them)");
            }
            println!("  connection string: {}", running.connection_string());
            if let Some(https) = running.https_connection_string() {
                println!("  https connection string: {https}");
            }
            if let Some(cert) = &running.cert_path {
                println!(
                    "  certificate: {} (trust it: REQUESTS_CA_BUNDLE / NODE_EXTRA_CA_CERTS)",
                    cert.display()
                );
            }
            println!(
                "  fault injection: PUT/DELETE /_emulator/faults (HMAC-signed; see docs/acs-emulator.md)"
            );
            shutdown_signal().await;
            running.shutdown().await;
        }
        Command::Tenants { command } => tenants(command).await?,
        Command::SetupLinks { command } => setup_links::run(command, &cli_actor()).await?,
        Command::AdminKey => {
            let key = format!("acsadm_{}", crate::secrets::random_token());
            let hash = crate::secrets::sha256_hex(&key);
            println!("admin key:  {key}");
            println!("key hash:   {hash}");
            println!(
                "\nConfigure the hash (never the key):\n  [admin]\n  key_hashes = [\"{hash}\"]"
            );
        }
        #[cfg(feature = "emulator")]
        Command::DevToken {
            subject,
            data_dir,
            minutes,
            scope,
            count,
        } => {
            let issuer = DevIssuer::from_data_dir(&data_dir)?;
            match count {
                None => {
                    let token = issuer.mint(&subject, minutes, &scope)?;
                    println!("{}", token.expose_secret());
                }
                Some(count) => {
                    use std::io::Write as _;
                    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                    for i in 0..count {
                        let token = issuer.mint(&format!("{subject}-{i}"), minutes, &scope)?;
                        writeln!(out, "{}", token.expose_secret())?;
                    }
                    out.flush()?;
                }
            }
        }
    }
    Ok(())
}

/// Who a command acts as, for the audit log.
fn cli_actor() -> Actor {
    Actor {
        name: format!(
            "cli:{}",
            std::env::var("USER").unwrap_or_else(|_| "unknown".into())
        ),
        request_id: None,
    }
}

async fn tenants(command: TenantsCommand) -> Result<(), AnyError> {
    let actor = cli_actor();
    match command {
        TenantsCommand::List { config } => {
            let services = cli_services(config.as_deref()).await?;
            println!(
                "{:<24} {:<8} {:<9} {:<8} issuer",
                "id", "kind", "source", "enabled"
            );
            for r in services.state.admin.list(None, usize::MAX).await? {
                let t = &r.settings;
                let source = if r.from_file { "file" } else { "database" };
                println!(
                    "{:<24} {:<8} {:<9} {:<8} {}",
                    t.id,
                    t.provider.kind(),
                    source,
                    t.enabled,
                    t.provider.describe()
                );
            }
        }
        TenantsCommand::Check { config, tenant } => {
            let services = cli_services(config.as_deref()).await?;
            let mut failed = false;
            let records = services.state.admin.list(None, usize::MAX).await?;
            if let Some(id) = &tenant
                && !records.iter().any(|r| &r.settings.id == id)
            {
                return Err(format!(
                    "no tenant `{id}` (`acs-auth tenants list` shows the tenants)"
                )
                .into());
            }
            if records.is_empty() {
                return Err("no tenants are configured or stored".into());
            }
            for r in records
                .iter()
                .filter(|r| tenant.as_deref().is_none_or(|id| id == r.settings.id))
            {
                println!("tenant {}:", r.settings.id);
                for check in services.state.admin.check(&r.settings.id).await? {
                    let mark = if check.ok { "ok  " } else { "FAIL" };
                    failed |= !check.ok;
                    println!("  [{mark}] {}: {}", check.name, check.detail);
                }
            }
            if failed {
                return Err("some checks failed".into());
            }
        }
        TenantsCommand::VerifyToken { config, tenant } => {
            let mut token = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut token)?;
            let token = token.trim();
            if token.is_empty() {
                return Err("no token on stdin (pipe the user's access token in)".into());
            }
            let services = cli_services(config.as_deref()).await?;
            let report = services
                .state
                .admin
                .verify_token(&tenant, token, &actor)
                .await
                .map_err(|e| match e {
                    crate::service::ServiceError::TenantNotFound(_) => {
                        format!("no tenant `{tenant}` (`acs-auth tenants list` shows the tenants)")
                    }
                    other => other.to_string(),
                })?;
            println!("tenant {tenant}:");
            for check in &report.checks {
                let mark = match (check.ran, check.ok) {
                    (false, _) => "skip",
                    (true, true) => "ok  ",
                    (true, false) => "FAIL",
                };
                println!("  [{mark}] {}: {}", check.name, check.detail);
            }
            match (&report.subject, report.valid) {
                (Some(subject), true) => println!("valid: the token names `{subject}`"),
                _ => return Err("the token would be refused".into()),
            }
        }
        TenantsCommand::Add { config, file } => {
            let raw =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let mut tenant: TenantSettings =
                toml::from_str(&raw).map_err(|e| format!("{}: {e}", file.display()))?;
            if let Some(acs) = &mut tenant.acs {
                acs.resolve_files("acs")?;
            }
            let services = cli_services(config.as_deref()).await?;
            let record = services.state.admin.create(tenant, &actor).await?;
            println!("tenant `{}` added", record.settings.id);
        }
        TenantsCommand::Disable { config, tenant } => {
            let services = cli_services(config.as_deref()).await?;
            services
                .state
                .admin
                .set_enabled(&tenant, false, &actor)
                .await?;
            println!("tenant `{tenant}` disabled");
        }
        TenantsCommand::Enable { config, tenant } => {
            let services = cli_services(config.as_deref()).await?;
            services
                .state
                .admin
                .set_enabled(&tenant, true, &actor)
                .await?;
            println!("tenant `{tenant}` enabled");
        }
    }
    Ok(())
}

/// The services a tenant command works on (the same database as the server). The database
/// must exist: a command that manages tenants never creates one in the working directory.
async fn cli_services(config: Option<&Path>) -> Result<Services, AnyError> {
    let settings = Settings::load(config)?;
    crate::telemetry::init("warn", settings.log.format);
    if let Some(file) = default_database_missing(&settings) {
        return Err(format!(
            "no database: `database.url` is not set and {file} does not exist here. Tenant \
             commands work on the server's database: pass the server's configuration \
             (--config or ACS_AUTH_CONFIG) or set ACS_AUTH_DATABASE__URL"
        )
        .into());
    }
    Ok(Services::build(&settings, None, crate::service::Clock::system()).await?)
}

/// The file of the default SQLite database when `settings` use it and it does not exist.
fn default_database_missing(settings: &Settings) -> Option<String> {
    let default = crate::config::DatabaseSettings::default();
    if settings.database.url.expose_secret() != default.url.expose_secret() {
        return None;
    }
    let file = crate::config::DEFAULT_SQLITE_FILE;
    (!Path::new(file).exists()).then(|| format!("./{file}"))
}

#[cfg(feature = "emulator")]
async fn dev(
    bind: SocketAddr,
    data_dir: &Path,
    admin_key_hashes: Vec<String>,
    no_rate_limits: bool,
) -> Result<(), AnyError> {
    crate::telemetry::init("info,acs_auth=debug", LogFormat::Text);
    tracing::warn!(
        "DEVELOPMENT MODE: anyone can mint tokens at /dev/idp/token; never expose this server"
    );
    std::fs::create_dir_all(data_dir)?;
    crate::acs::install_crypto_provider();

    let mut emulator_config = EmulatorConfig::with_random_key();
    emulator_config.tls_dir = Some(data_dir.join("acs-emulator"));
    let loopback = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    let emulator = RunningEmulator::start(emulator_config, loopback, Some(loopback)).await?;

    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("cannot bind {bind}: {e}"))?;
    let local = listener.local_addr()?;
    let host = if local.ip().is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        local.ip()
    };
    let base = format!("http://{}", SocketAddr::new(host, local.port()));
    let issuer = Arc::new(DevIssuer::open(data_dir, format!("{base}/dev/idp"))?);

    let mut settings = dev_settings(
        data_dir,
        bind,
        &emulator.connection_string(),
        issuer.issuer(),
    );
    settings.admin.key_hashes = admin_key_hashes;
    // A browser app on another local origin (a dev server on another port) may call it.
    settings.cors.allow_loopback_origins = true;
    if no_rate_limits {
        settings.limits.subject_requests_per_minute = 0;
        settings.limits.tenant_requests_per_second = 0;
        settings.limits.failed_auth_per_minute = 0;
        settings.limits.admin_requests_per_minute = 0;
    }
    settings.validate()?;
    let admin_enabled = !settings.admin.key_hashes.is_empty();
    let app = Application::build(
        settings,
        BuildOptions {
            dev_issuer: Some(Arc::clone(&issuer)),
            listener: Some(listener),
            acs_resource_name: Some("dev-emulator".into()),
            clock: None,
        },
    )
    .await?;

    println!(
        "\nacs-auth dev is running (DEVELOPMENT MODE — never expose it)\n\
         \n  API         {base}\n  Swagger UI  {base}/docs\n  OpenAPI     {base}/openapi.json\n  \
         Dev issuer  {iss}  (tenant `{DEV_TENANT}`, audience `{DEV_AUDIENCE}`)\n  \
         ACS emulator {acs}\n",
        iss = issuer.issuer(),
        acs = emulator.connection_string(),
    );
    if let (Some(https), Some(cert)) = (emulator.https_connection_string(), &emulator.cert_path) {
        println!(
            "  ACS emulator (https, for the Azure SDKs) {https}\n    certificate {}\n",
            cert.display()
        );
    }
    let exe = program_name();
    if admin_enabled {
        println!("  Admin API   {base}/admin (X-Admin-Key)\n");
    } else {
        println!(
            "  Admin API   off: start with --admin-key-hash HASH (`{exe} admin-key` makes a key \
             and its hash)\n"
        );
    }
    println!("  CORS        any loopback origin (http://localhost:PORT, 127.0.0.1, [::1])\n");
    println!(
        "Try it:\n  TOKEN=$({exe} dev-token alice --data-dir {dir})\n  \
         curl -s -X POST {base}/tenants/dev/getToken -H \"Authorization: Bearer $TOKEN\"\n  \
         curl -i -X DELETE {base}/tenants/dev/deleteUser -H \"Authorization: Bearer $TOKEN\"\n",
        dir = data_dir.display()
    );
    app.run_until(shutdown_signal()).await?;
    emulator.shutdown().await;
    Ok(())
}

/// How this program was invoked (`acs-auth`, `./target/release/acs-auth`, …), for the hints it
/// prints.
#[cfg(feature = "emulator")]
fn program_name() -> String {
    std::env::args_os()
        .next()
        .map(|a| a.to_string_lossy().into_owned())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "acs-auth".to_owned())
}

/// The embedded configuration of `acs-auth dev`.
#[cfg(feature = "emulator")]
pub fn dev_settings(
    data_dir: &Path,
    bind: SocketAddr,
    acs_connection_string: &str,
    issuer: &str,
) -> Settings {
    let mut settings = Settings::default();
    settings.server.bind = bind;
    settings.database.url = SecretString::from(format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("acs-auth.db").display()
    ));
    settings.acs.connection_string = Some(SecretString::from(acs_connection_string.to_owned()));
    settings.default_tenant = Some(DEV_TENANT.into());
    // Ctrl-C stops a development server at once: no load balancer to drain.
    settings.server.shutdown_delay_secs = 0;
    // The development IdP and the test IdPs a portal user enters live on loopback over http.
    settings.setup.allow_http_issuers = true;
    settings.setup.allow_private_network_issuers = true;
    settings.tenants = vec![TenantSettings {
        display_name: Some("Development tenant".into()),
        ..TenantSettings::new(
            DEV_TENANT,
            ProviderConfig::Oidc(OidcConfig {
                allow_http: true,
                allow_private_network: true,
                ..OidcConfig::new(issuer, vec![DEV_AUDIENCE.into()])
            }),
        )
    }];
    settings
}
