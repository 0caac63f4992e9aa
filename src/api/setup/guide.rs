//! Step-by-step guidance per identity-provider kind: what to register, which audience to
//! expose, which values to copy back and where to find them, and how to get a token for the
//! sign-in test.

use maud::{Markup, html};

use super::form::Kind;

/// What to do in the identity provider before filling in the form.
pub fn steps(kind: Kind) -> Markup {
    match kind {
        Kind::EntraSingle => html! {
            ol.steps {
                li { "In the " strong { "Microsoft Entra admin center" } ", open " strong { "Identity → Applications → App registrations → New registration" } ". Name it (e.g. “Communication API”), choose " em { "Accounts in this organizational directory only" } " and register." }
                li { "Open " strong { "Expose an API" } ": set the " strong { "Application ID URI" } " (the default " code { "api://{client ID}" } " is fine) and " strong { "Add a scope" } ", e.g. " code { "access_as_user" } "." }
                li { "Recommended: in " strong { "Manifest" } ", set " code { "\"requestedAccessTokenVersion\": 2" } "." }
                li { "Let your client app request " code { "api://{client ID}/access_as_user" } " (its " strong { "API permissions → Add a permission → My APIs" } ")." }
                li { "From the registration's " strong { "Overview" } ", copy the " strong { "Directory (tenant) ID" } " and the " strong { "Application (client) ID" } " below." }
            }
        },
        Kind::EntraMulti => html! {
            ol.steps {
                li { "In the " strong { "Microsoft Entra admin center" } ", open " strong { "App registrations → New registration" } " and choose " em { "Accounts in any organizational directory (multitenant)" } " (add personal Microsoft accounts only if you need them)." }
                li { "Open " strong { "Expose an API" } ": set the " strong { "Application ID URI" } " (" code { "api://{client ID}" } ") and add a scope, e.g. " code { "access_as_user" } "." }
                li { "Each organization consents once: its admin opens " code { "https://login.microsoftonline.com/{their directory ID}/adminconsent?client_id={client ID}" } "." }
                li { "Copy the " strong { "Application (client) ID" } " below, and list the " strong { "Directory (tenant) IDs" } " whose users may sign in — or accept any directory." }
            }
        },
        Kind::B2c => html! {
            ol.steps {
                li { "In the Azure portal, switch to your " strong { "Azure AD B2C" } " tenant and open " strong { "App registrations → New registration" } " (" em { "Accounts in any identity provider or organizational directory (for authenticating users with user flows)" } ")." }
                li { "Open " strong { "Expose an API" } ": set the " strong { "Application ID URI" } " (e.g. " code { "https://contosob2c.onmicrosoft.com/api" } ") and add a scope, e.g. " code { "access_as_user" } "." }
                li { "Under " strong { "User flows" } " (or " strong { "Identity Experience Framework" } " for custom policies), note the names your app signs users in with, e.g. " code { "B2C_1_signupsignin" } "." }
                li { "Copy the " strong { "tenant name" } " (" code { "contosob2c" } " of contosob2c.onmicrosoft.com), the B2C tenant's " strong { "Directory (tenant) ID" } " (its Overview) and the API app's " strong { "Application (client) ID" } " below." }
            }
        },
        Kind::Oidc => html! {
            ol.steps {
                li { "In your identity provider, register (or pick) the " strong { "API" } " your app calls, and note the " strong { "audience" } " its access tokens carry in " code { "aud" } " — Auth0: " em { "APIs → Identifier" } "; Okta: " em { "Security → API → your authorization server's Audience" } "; Keycloak: a client with an audience mapper." }
                li { "Find the " strong { "issuer" } ": the " code { "iss" } " of those access tokens. Its " code { "/.well-known/openid-configuration" } " must load (e.g. " code { "https://login.example.com/realms/acme/.well-known/openid-configuration" } ")." }
                li { "Access tokens must be JWTs signed with RS256, PS256 or ES256 (Auth0 issues opaque tokens unless the app asks for an audience)." }
                li { "Enter the issuer and the audience below; the subject claim stays " code { "sub" } " unless your provider names users in another claim." }
            }
        },
    }
}

/// How to get an access token to paste into the sign-in test.
pub fn token_help(kind: Kind) -> Markup {
    match kind {
        Kind::EntraSingle | Kind::EntraMulti => html! {
            p.hint {
                "With the Azure CLI: add its app ID " code { "04b07795-8ddb-461a-bbee-02f9e1bf7b46" }
                " under " strong { "Expose an API → Authorized client applications" } ", then run "
                code { "az login --tenant {directory ID}" } " and "
                code { "az account get-access-token --scope api://{client ID}/access_as_user --query accessToken -o tsv" } "."
            }
        },
        Kind::B2c => html! {
            p.hint {
                "Open your user flow, choose " strong { "Run user flow" } " with the reply URL "
                code { "https://jwt.ms" } " and your API's scope under " em { "Access tokens" }
                ", sign in, and copy the token jwt.ms shows."
            }
        },
        Kind::Oidc => html! {
            p.hint {
                "Sign in with your app and copy the access token it sends as "
                code { "Authorization: Bearer …" } " (your browser's developer tools show it), or ask your provider's token endpoint for one as a test user."
            }
        },
    }
}
