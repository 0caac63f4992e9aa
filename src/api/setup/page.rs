//! The portal's HTML (maud: compile-time templates, every value escaped). One page walks the
//! customer through the steps; each button posts the whole form, so it works without script.

use acs_auth_providers::Check;
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};

use super::form::{Field, FormData, Input, Kind};
use super::guide;
use crate::service::dry_run::DryRun;
use crate::service::setup_links::{LinkState, SetupLink};

/// A message about the last action.
#[derive(Debug, Clone)]
pub enum Notice {
    Ok(String),
    Bad(String),
}

/// A message for one field (`field` is the form's name) or, with `None`, the whole form.
#[derive(Debug, Clone)]
pub struct Message {
    pub field: Option<&'static str>,
    pub text: String,
}

/// Everything the portal page shows.
pub struct Page<'a> {
    pub link: &'a SetupLink,
    pub tenant_name: &'a str,
    pub secret: &'a str,
    pub csrf: &'a str,
    pub form: &'a FormData,
    pub kind: Option<Kind>,
    pub messages: &'a [Message],
    pub notice: Option<Notice>,
    pub connection: Option<&'a [Check]>,
    pub sign_in: Option<&'a DryRun>,
}

fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — acs-auth" }
                link rel="stylesheet" href="/setup/portal.css";
            }
            body {
                (body)
                script src="/setup/portal.js" defer {}
            }
        }
    }
}

/// A page for a link the customer cannot use (unknown, revoked, expired, spent).
pub fn closed(title: &str, message: &str, tone_ok: bool) -> Markup {
    layout(
        title,
        html! {
            main {
                h1 { (title) }
                div.banner.ok[tone_ok].bad[!tone_ok] role="status" { p { (message) } }
            }
        },
    )
}

fn hidden(p: &Page<'_>) -> Markup {
    html! {
        input type="hidden" name="link" value=(p.secret);
        input type="hidden" name="csrf" value=(p.csrf);
    }
}

fn state_banner(link: &SetupLink) -> Markup {
    let expires = when(link.expires_at);
    html! {
        @match (link.state, link.submitted_at) {
            (LinkState::Submitted, Some(at)) => {
                div.banner.ok id="state" role="status" {
                    p { strong { "Submitted " (when(at)) "." } " The configuration waits for activation by your service provider. Until then you can change it and submit again; the last submission counts." }
                    p { "This link is valid until " (expires) "." }
                }
            }
            _ => {
                div.banner id="state" role="status" {
                    p { "Nothing is submitted yet. This link is valid until " (expires) "." }
                    @if link.auto_activate {
                        p { "What you submit takes effect at once." }
                    } @else {
                        p { "What you submit takes effect when your service provider activates it." }
                    }
                }
            }
        }
    }
}

fn notice(n: &Notice) -> Markup {
    match n {
        Notice::Ok(text) => html! { div.banner.ok id="notice" role="status" { p { (text) } } },
        Notice::Bad(text) => html! { div.banner.bad id="notice" role="alert" { p { (text) } } },
    }
}

fn field(f: &Field, form: &FormData, error: Option<&str>) -> Markup {
    let id = format!("f-{}", f.name);
    let hint_id = format!("h-{}", f.name);
    let error_id = format!("e-{}", f.name);
    let described = format!("{hint_id} {error_id}");
    let value = form.get(f.name);
    let invalid = error.map(|_| "true");
    let placeholder = (!f.placeholder.is_empty()).then_some(f.placeholder);
    html! {
        div.field data-field=(f.name) {
            @match f.input {
                Input::Check => {
                    div.check {
                        input type="checkbox" id=(id) name=(f.name) checked[!value.is_empty()] aria-describedby=(described) aria-invalid=[invalid];
                        label for=(id) { (f.label) }
                    }
                    p.hint id=(hint_id) { (f.hint) }
                }
                Input::Select(options) => {
                    label for=(id) { (f.label) }
                    p.hint id=(hint_id) { (f.hint) }
                    select id=(id) name=(f.name) aria-describedby=(described) aria-invalid=[invalid] {
                        @for (option, text) in options {
                            option value=(option) selected[value == *option] { (text) }
                        }
                    }
                }
                Input::List => {
                    label for=(id) { (f.label) }
                    p.hint id=(hint_id) { (f.hint) }
                    textarea id=(id) name=(f.name) rows="3" required[f.required] placeholder=[placeholder] aria-describedby=(described) aria-invalid=[invalid] spellcheck="false" { (value) }
                }
                Input::Text => {
                    label for=(id) { (f.label) }
                    p.hint id=(hint_id) { (f.hint) }
                    input type="text" id=(id) name=(f.name) value=(value) required[f.required] placeholder=[placeholder] aria-describedby=(described) aria-invalid=[invalid] autocomplete="off" spellcheck="false" autocapitalize="off";
                }
            }
            p.error id=(error_id) aria-live="polite" { (error.unwrap_or("")) }
        }
    }
}

fn verdicts(checks: impl Iterator<Item = (String, bool, bool, String)>) -> Markup {
    html! {
        ul.verdicts {
            @for (name, ran, ok, detail) in checks {
                @let (class, mark) = match (ran, ok) {
                    (false, _) => ("skip", "not run"),
                    (true, true) => ("pass", "passed"),
                    (true, false) => ("fail", "failed"),
                };
                li data-check=(name) data-verdict=(class) {
                    span.mark.(class) { (mark) } " " strong { (name) } ": " (detail)
                }
            }
        }
    }
}

fn connection(checks: &[Check]) -> Markup {
    let ok = !checks.is_empty() && checks.iter().all(|c| c.ok);
    html! {
        div id="connection-result" data-ok=(ok) {
            h3 { "Connection: " @if ok { span.pass { "working" } } @else { span.fail { "not working" } } }
            (verdicts(checks.iter().map(|c| (c.name.to_string(), true, c.ok, c.detail.clone()))))
        }
    }
}

fn sign_in(report: &DryRun) -> Markup {
    html! {
        div id="sign-in-result" data-ok=(report.valid) {
            h3 {
                "Sign-in: "
                @if report.valid { span.pass { "accepted" } } @else { span.fail { "refused" } }
                @if let Some(subject) = &report.subject { " — the token names " code { (subject) } }
            }
            (verdicts(report.checks.iter().map(|c| (c.name.to_owned(), c.ran, c.ok, c.detail.clone()))))
        }
    }
}

/// The portal page.
pub fn portal(p: &Page<'_>) -> Markup {
    let general: Vec<&Message> = p.messages.iter().filter(|m| m.field.is_none()).collect();
    let error_of = |name: &str| {
        p.messages
            .iter()
            .find(|m| m.field == Some(name))
            .map(|m| m.text.as_str())
    };
    let body = html! {
        header.top { p { "Identity provider setup for " strong { (p.tenant_name) } } }
        main {
            h1 { "Connect your identity provider" }
            p { "Your service provider uses your identity provider to sign your users in to its calling and chat features (Azure Communication Services). This page connects the two; nothing changes until you submit." }
            (state_banner(p.link))
            @if let Some(n) = &p.notice { (notice(n)) }
            section.card aria-labelledby="step-kind" {
                h2 id="step-kind" { "1. Choose your identity provider" }
                form method="post" action="/setup" {
                    (hidden(p))
                    fieldset {
                        legend.visually-hidden { "Identity provider" }
                        @for kind in Kind::ALL {
                            @let id = format!("kind-{}", kind.value());
                            div.choice {
                                input type="radio" id=(id) name="kind" value=(kind.value()) checked[p.kind == Some(kind)] required;
                                label for=(id) { strong { (kind.title()) } span { (kind.summary()) } }
                            }
                        }
                    }
                    div.actions { button type="submit" name="action" value="choose" { "Continue" } }
                }
            }
            @if let Some(kind) = p.kind {
                section.card aria-labelledby="step-register" {
                    h2 id="step-register" { "2. Register your API in " (kind.short()) }
                    (guide::steps(kind))
                }
                form id="provider-form" method="post" action="/setup" novalidate {
                    (hidden(p))
                    input type="hidden" name="kind" value=(kind.value());
                    section.card aria-labelledby="step-values" {
                        h2 id="step-values" { "3. Enter the values" }
                        @for m in &general { p.error role="alert" { (m.text) } }
                        @for f in kind.fields() { (field(f, p.form, error_of(f.name))) }
                        div.actions {
                            button type="submit" name="action" value="check" { "Check values" }
                            button type="submit" name="action" value="test_connection" id="test-connection" { "Test connection" }
                        }
                        @if let Some(checks) = p.connection { (connection(checks)) }
                    }
                    section.card aria-labelledby="step-sign-in" {
                        h2 id="step-sign-in" { "4. Test a sign-in" }
                        p { "Paste an access token of one of your users, as your app would send it. It is checked like a real sign-in — signature, issuer, audience, expiry and the rest — and nothing is issued or stored." }
                        (guide::token_help(kind))
                        div.field {
                            label for="f-token" { "Access token" }
                            textarea id="f-token" name="token" rows="4" spellcheck="false" autocomplete="off" {}
                        }
                        div.actions { button type="submit" name="action" value="test_sign_in" id="test-sign-in" { "Test sign-in" } }
                        @if let Some(report) = p.sign_in { (sign_in(report)) }
                    }
                    section.card aria-labelledby="step-submit" {
                        h2 id="step-submit" { "5. Submit" }
                        p { "Submitting stores this configuration for your service provider. " @if p.link.auto_activate { "It takes effect at once." } @else { "It takes effect when they activate it." } }
                        div.actions { button.primary type="submit" name="action" value="submit" id="submit" { "Submit configuration" } }
                    }
                }
            }
        }
    };
    layout("Connect your identity provider", body)
}
