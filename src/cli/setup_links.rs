//! `acs-auth setup-links …`: make, list, revoke and activate the setup links with which
//! customers connect their own identity provider (docs/onboarding-portal.md). They work on the
//! server's database, as the tenant commands do.

use std::path::PathBuf;

use clap::Subcommand;
use secrecy::ExposeSecret;

use super::{AnyError, cli_services};
use crate::service::Actor;
use crate::service::setup_links::{LinkOptions, SetupLink};

#[derive(Debug, Subcommand)]
pub enum SetupLinksCommand {
    /// Make a setup link for a tenant (a stored one, or one that does not exist yet: activation
    /// creates it) and print its URL: send it to the customer's IT admin.
    Create {
        #[arg(long, env = "ACS_AUTH_CONFIG")]
        config: Option<PathBuf>,
        /// The tenant's id.
        tenant: String,
        /// Hours until the link expires, 1–720 (default `setup.link_lifetime_hours`).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=720))]
        expires_in_hours: Option<u32>,
        /// Activate what the customer submits at once, without `activate`.
        #[arg(long)]
        auto_activate: bool,
        /// The display name of a tenant the link creates.
        #[arg(long)]
        display_name: Option<String>,
        /// The address customers reach the server at (default `setup.public_url`).
        #[arg(long)]
        public_url: Option<String>,
    },
    /// List a tenant's setup links, newest first.
    List {
        #[arg(long, env = "ACS_AUTH_CONFIG")]
        config: Option<PathBuf>,
        tenant: String,
    },
    /// Revoke a setup link: the portal refuses it from then on.
    Revoke {
        #[arg(long, env = "ACS_AUTH_CONFIG")]
        config: Option<PathBuf>,
        tenant: String,
        /// The link's id (`list` shows it).
        link: String,
    },
    /// Make the configuration submitted through a link the tenant's provider.
    Activate {
        #[arg(long, env = "ACS_AUTH_CONFIG")]
        config: Option<PathBuf>,
        tenant: String,
        /// The link's id (`list` shows it).
        link: String,
    },
}

fn describe(link: &SetupLink) -> String {
    let pending = link
        .pending
        .as_ref()
        .map(|p| format!("{} {}", p.kind(), p.describe()))
        .unwrap_or_else(|| "-".into());
    format!(
        "{:<36} {:<9} {:<20} {}",
        link.id,
        link.state.as_str(),
        link.expires_at.format("%Y-%m-%dT%H:%M:%SZ"),
        pending
    )
}

pub async fn run(command: SetupLinksCommand, actor: &Actor) -> Result<(), AnyError> {
    match command {
        SetupLinksCommand::Create {
            config,
            tenant,
            expires_in_hours,
            auto_activate,
            display_name,
            public_url,
        } => {
            let services = cli_services(config.as_deref()).await?;
            let setup = &services.state.setup;
            let base = public_url
                .or_else(|| setup.settings().public_url.clone())
                .ok_or(
                    "no address for the link: set `setup.public_url` (ACS_AUTH_SETUP__PUBLIC_URL) \
                     or pass --public-url",
                )?;
            let options = LinkOptions {
                lifetime_hours: expires_in_hours,
                auto_activate,
                display_name,
            };
            let created = setup.create(&tenant, options, actor).await?;
            println!(
                "{}/setup?link={}",
                base.trim_end_matches('/'),
                created.secret.expose_secret()
            );
            eprintln!(
                "setup link {} for tenant `{tenant}`, valid until {}",
                created.link.id,
                created.link.expires_at.format("%Y-%m-%dT%H:%M:%SZ")
            );
        }
        SetupLinksCommand::List { config, tenant } => {
            let services = cli_services(config.as_deref()).await?;
            println!("{:<36} {:<9} {:<20} pending", "id", "state", "expires");
            for link in services.state.setup.list(&tenant).await? {
                println!("{}", describe(&link));
            }
        }
        SetupLinksCommand::Revoke {
            config,
            tenant,
            link,
        } => {
            let services = cli_services(config.as_deref()).await?;
            services.state.setup.revoke(&tenant, &link, actor).await?;
            println!("setup link {link} revoked");
        }
        SetupLinksCommand::Activate {
            config,
            tenant,
            link,
        } => {
            let services = cli_services(config.as_deref()).await?;
            let record = services.state.setup.activate(&tenant, &link, actor).await?;
            println!(
                "tenant `{}` now uses {} {}",
                record.settings.id,
                record.settings.provider.kind(),
                record.settings.provider.describe()
            );
        }
    }
    Ok(())
}
