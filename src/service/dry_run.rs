//! The token dry-run: would this tenant accept this token, and if not, which check refuses it?
//! Every check the tenant's provider and access policy run, in order, each with its verdict;
//! the checks after a refusal are listed as not run. Nothing is issued, stored or cached, the
//! token is never logged, and the audit log records that a dry-run happened (with its verdict,
//! never the token).

use acs_auth_providers::{Steps, VerifiedIdentity};

use crate::registry::Tenant;

/// One check of the dry-run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DryRunCheck {
    pub name: &'static str,
    /// Whether the check ran (a check after a refusal does not).
    pub ran: bool,
    pub ok: bool,
    pub detail: String,
}

/// The dry-run's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DryRun {
    /// True when every check passed: the tenant would accept the token.
    pub valid: bool,
    /// The user the token names, once its signature and claims verified.
    pub subject: Option<String>,
    pub checks: Vec<DryRunCheck>,
}

/// The access-policy checks that follow the provider's.
const POLICY_CHECKS: [&str; 3] = ["tenant_enabled", "required_scopes", "required_roles"];

/// Runs every check of `tenant` on `token`; never touches ACS, the store or any cache.
pub async fn dry_run(tenant: &Tenant, token: &str) -> DryRun {
    let mut steps = Steps::recording();
    let verified = tenant.provider.verify_traced(token, &mut steps).await;
    let mut checks: Vec<DryRunCheck> = steps
        .into_steps()
        .into_iter()
        .map(|s| DryRunCheck {
            name: s.name,
            ran: true,
            ok: s.ok,
            detail: s.detail,
        })
        .collect();
    let subject = verified.as_ref().ok().map(|who| who.subject.clone());
    if let Ok(who) = &verified {
        policy_checks(tenant, who, &mut checks);
    }
    let names = tenant
        .provider
        .check_names()
        .iter()
        .copied()
        .chain(POLICY_CHECKS);
    let refused = checks.iter().find(|c| !c.ok).map(|c| c.name);
    for name in names {
        if !checks.iter().any(|c| c.name == name) {
            checks.push(DryRunCheck {
                name,
                ran: false,
                ok: false,
                detail: match refused {
                    Some(r) => format!("not run: `{r}` refused the token"),
                    None => "not run".to_owned(),
                },
            });
        }
    }
    DryRun {
        valid: checks.iter().all(|c| c.ok),
        subject,
        checks,
    }
}

/// The tenant's state and access policy, each a check of its own, all of them run.
fn policy_checks(tenant: &Tenant, who: &VerifiedIdentity, checks: &mut Vec<DryRunCheck>) {
    let mut push = |name, ok, detail: String| {
        checks.push(DryRunCheck {
            name,
            ran: true,
            ok,
            detail,
        })
    };
    push(
        "tenant_enabled",
        tenant.enabled,
        if tenant.enabled {
            "the tenant is enabled".to_owned()
        } else {
            "the tenant is disabled: its users get `403 tenant_disabled`".to_owned()
        },
    );
    for (name, required, lacking, what) in [
        (
            "required_scopes",
            &tenant.access.required_scopes,
            super::missing_scopes(tenant, who),
            "scope",
        ),
        (
            "required_roles",
            &tenant.access.required_roles,
            super::missing_roles(tenant, who),
            "role",
        ),
    ] {
        let detail = if required.is_empty() {
            format!("the tenant requires no {what}")
        } else if lacking.is_empty() {
            format!("every required {what} is granted")
        } else {
            format!("{what} `{}` is required", lacking.join("`, `"))
        };
        push(name, lacking.is_empty(), detail);
    }
}
