//! The portal's form: which identity-provider kinds it offers, their fields (named as in the
//! API's `provider` table, so the API's field-named messages land under the right field), the
//! provider table a filled-in form makes, and the form a stored configuration fills in.

use std::collections::HashMap;

use acs_auth_providers::ProviderConfig;
use serde_json::{Map, Value};

/// The identity-provider kinds the portal offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    EntraSingle,
    EntraMulti,
    B2c,
    Oidc,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::EntraSingle, Kind::EntraMulti, Kind::B2c, Kind::Oidc];

    /// The form value.
    pub fn value(self) -> &'static str {
        match self {
            Kind::EntraSingle => "entra_single",
            Kind::EntraMulti => "entra_multi",
            Kind::B2c => "aad_b2c",
            Kind::Oidc => "oidc",
        }
    }

    pub fn parse(value: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.value() == value)
    }

    pub fn title(self) -> &'static str {
        match self {
            Kind::EntraSingle => "Microsoft Entra ID — one organization",
            Kind::EntraMulti => "Microsoft Entra ID — several organizations (multi-tenant app)",
            Kind::B2c => "Azure AD B2C",
            Kind::Oidc => "Another OpenID Connect provider",
        }
    }

    /// The provider's name in a sentence.
    pub fn short(self) -> &'static str {
        match self {
            Kind::EntraSingle | Kind::EntraMulti => "Microsoft Entra ID",
            Kind::B2c => "Azure AD B2C",
            Kind::Oidc => "your OpenID Connect provider",
        }
    }

    pub fn summary(self) -> &'static str {
        match self {
            Kind::EntraSingle => "Your users sign in with work accounts of your own directory.",
            Kind::EntraMulti => {
                "Your app is registered as multi-tenant; users of the directories you list sign in."
            }
            Kind::B2c => "Your customers sign in through B2C user flows or custom policies.",
            Kind::Oidc => {
                "Okta, Auth0, Keycloak, Ping, Duende, Google, … (any OpenID Connect issuer)."
            }
        }
    }

    /// The API's `kind`.
    fn api_kind(self) -> &'static str {
        match self {
            Kind::EntraSingle | Kind::EntraMulti => "aad",
            Kind::B2c => "aad_b2c",
            Kind::Oidc => "oidc",
        }
    }

    /// The fields of this kind, in the page's order.
    pub fn fields(self) -> &'static [Field] {
        match self {
            Kind::EntraSingle => ENTRA_SINGLE,
            Kind::EntraMulti => ENTRA_MULTI,
            Kind::B2c => B2C,
            Kind::Oidc => OIDC,
        }
    }
}

/// How a field is entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Text,
    /// Several values: one a line (commas and spaces separate too).
    List,
    Check,
    Select(&'static [(&'static str, &'static str)]),
}

/// One field of the form: `name` is the API's field of the `provider` table.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub input: Input,
    pub required: bool,
    pub placeholder: &'static str,
}

const fn text(name: &'static str, label: &'static str, hint: &'static str) -> Field {
    Field {
        name,
        label,
        hint,
        input: Input::Text,
        required: true,
        placeholder: "",
    }
}

const fn optional(field: Field) -> Field {
    Field {
        required: false,
        ..field
    }
}

const fn placeholder(field: Field, placeholder: &'static str) -> Field {
    Field {
        placeholder,
        ..field
    }
}

const fn list(field: Field) -> Field {
    Field {
        input: Input::List,
        ..field
    }
}

const fn check(name: &'static str, label: &'static str, hint: &'static str) -> Field {
    Field {
        name,
        label,
        hint,
        input: Input::Check,
        required: false,
        placeholder: "",
    }
}

const GUID: &str = "00000000-0000-0000-0000-000000000000";

const CLIENT_ID: Field = placeholder(
    text(
        "client_id",
        "Application (client) ID",
        "The API app's Application (client) ID, from its Overview page.",
    ),
    GUID,
);

const ENTRA_AUDIENCES: Field = optional(list(text(
    "audiences",
    "Accepted audiences (optional)",
    "Leave empty to accept the client ID and api://{client ID}; otherwise the Application ID URI your tokens carry in “aud”, one per line.",
)));

const ENTRA_SINGLE: &[Field] = &[
    placeholder(
        text(
            "directory",
            "Directory (tenant) ID",
            "Your directory's ID, from the app's Overview page (or Microsoft Entra ID → Overview).",
        ),
        GUID,
    ),
    CLIENT_ID,
    ENTRA_AUDIENCES,
];

const ENTRA_MULTI: &[Field] = &[
    Field {
        input: Input::Select(&[
            ("organizations", "Work and school accounts (organizations)"),
            (
                "common",
                "Work and school accounts and personal Microsoft accounts (common)",
            ),
        ]),
        ..text(
            "directory",
            "Accounts",
            "The accounts the app registration supports.",
        )
    },
    CLIENT_ID,
    optional(list(placeholder(
        text(
            "allowed_directories",
            "Allowed directories",
            "The Directory (tenant) IDs whose users may sign in, one per line.",
        ),
        GUID,
    ))),
    check(
        "allow_any_directory",
        "Accept users of any directory",
        "Instead of a list: every organization that consents to your app can sign its users in.",
    ),
    ENTRA_AUDIENCES,
];

const B2C: &[Field] = &[
    placeholder(
        text(
            "tenant_name",
            "B2C tenant name",
            "The first part of your B2C domain: contosob2c for contosob2c.onmicrosoft.com.",
        ),
        "contosob2c",
    ),
    placeholder(
        text(
            "directory_id",
            "B2C directory ID",
            "The B2C tenant's Directory (tenant) ID, from its Overview page.",
        ),
        GUID,
    ),
    list(placeholder(
        text(
            "policies",
            "User flows or custom policies",
            "The names your app signs users in with, one per line.",
        ),
        "B2C_1_signupsignin",
    )),
    CLIENT_ID,
    optional(list(text(
        "audiences",
        "Accepted audiences (optional)",
        "Leave empty to accept the client ID.",
    ))),
    optional(placeholder(
        text(
            "host",
            "Custom domain (optional)",
            "Only if your users sign in at a custom domain instead of {tenant}.b2clogin.com.",
        ),
        "https://login.contoso.com",
    )),
];

const OIDC: &[Field] = &[
    placeholder(
        text(
            "issuer",
            "Issuer",
            "Exactly the “iss” of your access tokens; {issuer}/.well-known/openid-configuration must load.",
        ),
        "https://login.example.com/oauth2/default",
    ),
    list(placeholder(
        text(
            "audiences",
            "Audiences",
            "The “aud” your access tokens carry for this API (Auth0: the API identifier; Okta: the authorization server's audience), one per line.",
        ),
        "api://my-app",
    )),
    optional(placeholder(
        text(
            "subject_claim",
            "Subject claim (optional)",
            "The claim that names the user; leave empty for “sub”.",
        ),
        "sub",
    )),
    check(
        "require_at_jwt",
        "My IdP marks access tokens with typ at+jwt",
        "Keycloak (with the option on), Auth0, Okta and Duende do: anything else is then refused.",
    ),
];

/// A submitted form: its values by name (the first of each), trimmed.
#[derive(Debug, Clone, Default)]
pub struct FormData {
    values: HashMap<String, String>,
}

impl FormData {
    /// Parses an `application/x-www-form-urlencoded` body.
    pub fn parse(body: &[u8]) -> Self {
        let mut values = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(body) {
            values
                .entry(name.into_owned())
                .or_insert_with(|| value.trim().to_owned());
        }
        Self { values }
    }

    pub fn get(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    pub fn set(&mut self, name: &str, value: String) {
        self.values.insert(name.to_owned(), value);
    }

    pub fn kind(&self) -> Option<Kind> {
        Kind::parse(self.get("kind"))
    }

    /// The `provider` table this form makes for `kind`: empty fields are left out (so a
    /// required one is reported as required), lists split, check boxes true or false.
    pub fn provider(&self, kind: Kind) -> Value {
        let mut table = Map::new();
        table.insert("kind".into(), Value::String(kind.api_kind().into()));
        for field in kind.fields() {
            let raw = self.get(field.name);
            match field.input {
                Input::Text | Input::Select(_) if !raw.is_empty() => {
                    table.insert(field.name.into(), Value::String(raw.to_owned()));
                }
                Input::List => {
                    let items: Vec<Value> = split_list(raw)
                        .map(|s| Value::String(s.to_owned()))
                        .collect();
                    if !items.is_empty() {
                        table.insert(field.name.into(), Value::Array(items));
                    }
                }
                Input::Check => {
                    table.insert(field.name.into(), Value::Bool(!raw.is_empty()));
                }
                Input::Text | Input::Select(_) => {}
            }
        }
        Value::Object(table)
    }

    /// The form a stored configuration fills in.
    pub fn from_provider(provider: &ProviderConfig) -> Self {
        let mut form = Self::default();
        let kind = match provider {
            ProviderConfig::Oidc(_) => Kind::Oidc,
            ProviderConfig::AadB2c(_) => Kind::B2c,
            ProviderConfig::Aad(p)
                if matches!(p.directory.as_str(), "organizations" | "common") =>
            {
                Kind::EntraMulti
            }
            ProviderConfig::Aad(_) => Kind::EntraSingle,
        };
        form.set("kind", kind.value().to_owned());
        let Ok(Value::Object(table)) = serde_json::to_value(provider) else {
            return form;
        };
        for field in kind.fields() {
            let value = match (table.get(field.name), field.input) {
                (Some(Value::String(s)), _) => s.clone(),
                (Some(Value::Array(items)), _) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("\n"),
                (Some(Value::Bool(true)), Input::Check) => "on".to_owned(),
                _ => continue,
            };
            form.set(field.name, value);
        }
        form
    }
}

/// The values of a list field: separated by new lines, commas or white space.
fn split_list(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
}

/// The form field a message of the API names (`provider.audiences[1]` → `audiences`); `None`
/// for the configuration as a whole.
pub fn form_field(kind: Kind, api_field: &str) -> Option<&'static str> {
    let field = api_field.strip_prefix("provider.").unwrap_or(api_field);
    let name = field.split(['[', '.']).next().unwrap_or(field);
    kind.fields()
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn form(pairs: &str) -> FormData {
        FormData::parse(pairs.as_bytes())
    }

    #[test]
    fn an_oidc_form_makes_the_api_provider_table() {
        let f = form(
            "kind=oidc&issuer=+https%3A%2F%2Fidp.example+&audiences=api%3A%2F%2Fa%0D%0Aapi%3A%2F%2Fb,c&subject_claim=&require_at_jwt=on",
        );
        assert_eq!(
            f.provider(Kind::Oidc),
            json!({"kind": "oidc", "issuer": "https://idp.example",
                   "audiences": ["api://a", "api://b", "c"], "require_at_jwt": true})
        );
    }

    #[test]
    fn empty_fields_are_left_out_and_unticked_boxes_are_false() {
        let f = form("kind=entra_multi&directory=organizations&client_id=&allowed_directories=");
        assert_eq!(
            f.provider(Kind::EntraMulti),
            json!({"kind": "aad", "directory": "organizations", "allow_any_directory": false})
        );
    }

    #[test]
    fn the_first_value_of_a_name_counts_and_unknown_kinds_are_none() {
        let f = form("kind=nope&kind=oidc");
        assert_eq!(f.kind(), None);
        assert_eq!(form("kind=aad_b2c").kind(), Some(Kind::B2c));
    }

    #[test]
    fn a_stored_configuration_fills_the_form_it_came_from() {
        let f = form(
            "kind=aad_b2c&tenant_name=contosob2c&directory_id=d&policies=B2C_1_a%0AB2C_1_b&client_id=c",
        );
        let provider: ProviderConfig =
            serde_json::from_value(f.provider(Kind::B2c)).expect("a B2C provider");
        let again = FormData::from_provider(&provider);
        assert_eq!(again.kind(), Some(Kind::B2c));
        assert_eq!(again.get("policies"), "B2C_1_a\nB2C_1_b");
        assert_eq!(again.provider(Kind::B2c), f.provider(Kind::B2c));
        let multi: ProviderConfig = serde_json::from_value(json!({
            "kind": "aad", "directory": "common", "client_id": "c", "allow_any_directory": true
        }))
        .expect("an Entra provider");
        let f = FormData::from_provider(&multi);
        assert_eq!(f.kind(), Some(Kind::EntraMulti));
        assert_eq!(f.get("allow_any_directory"), "on");
    }

    #[test]
    fn api_messages_map_to_the_form_field_they_name() {
        assert_eq!(form_field(Kind::Oidc, "audiences[1]"), Some("audiences"));
        assert_eq!(form_field(Kind::Oidc, "provider.issuer"), Some("issuer"));
        assert_eq!(form_field(Kind::Oidc, "provider"), None);
        assert_eq!(form_field(Kind::Oidc, "tenant_name"), None);
    }
}
