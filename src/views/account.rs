//! Login, first-run setup, and the profile page.

use maud::{Markup, html};

use super::components::{badge, csrf_field, form_error, local_time};
use super::layout::{Nav, bare, page};
use crate::db::tokens::ApiToken;

pub fn login(
    csrf: &str,
    email: &str,
    next: &str,
    error: Option<&str>,
    flash: Option<(&'static str, String)>,
) -> Markup {
    bare(
        "Sign in",
        Some(csrf),
        flash,
        html! {
            article.pv-narrow {
                header { h2 { "Sign in" } p.pv-sub { "Back up, compare and restore Intune for every customer." } }
                form method="post" action="/login" {
                    (csrf_field(csrf))
                    input type="hidden" name="next" value=(next);
                    label { "Email" input type="email" name="email" value=(email) autocomplete="username" required autofocus; }
                    label { "Password" input type="password" name="password" autocomplete="current-password" required; }
                    (form_error(error))
                    button type="submit" { "Sign in" }
                }
            }
        },
    )
}

/// `code`: the setup code as typed, kept when only the password was wrong.
pub fn setup(csrf: &str, code: &str, email: &str, error: Option<&str>) -> Markup {
    bare(
        "Set up policyvault",
        Some(csrf),
        None,
        html! {
            article.pv-narrow {
                header {
                    h2 { "Welcome to policyvault" }
                    p.pv-sub { "Create the first administrator. This page disappears once an account exists." }
                }
                form method="post" action="/setup" {
                    (csrf_field(csrf))
                    label { "Setup code"
                        small.pv-muted { " (in the server's log from its latest start: the line “no account exists yet”, its setup_code)" }
                        input.pv-mono type="text" name="setup_code" value=(code) autocomplete="off" spellcheck="false" required autofocus; }
                    label { "Email" input type="email" name="email" value=(email) autocomplete="username" required; }
                    label { "Password" small.pv-muted { " (at least 12 characters)" }
                        input type="password" name="password" autocomplete="new-password" minlength="12" required; }
                    label { "Repeat password" input type="password" name="password_repeat" autocomplete="new-password" required; }
                    (form_error(error))
                    button type="submit" { "Create administrator" }
                }
            }
        },
    )
}

/// An invited person sets their password.
/// `joins`: the tenant's name and the role the invitation gives.
pub fn invite(csrf: &str, token: &str, email: &str, joins: &(String, String), error: Option<&str>) -> Markup {
    let (tenant, role) = joins;
    bare(
        "Join policyvault",
        Some(csrf),
        None,
        html! {
            article.pv-narrow {
                header {
                    h2 { "You are invited" }
                    // The page named no tenant: whoever opened the link could not tell what it joins.
                    @if !tenant.is_empty() {
                        p { "You join " strong { (tenant) } " as " (badge(role, role)) "." }
                    }
                    p.pv-sub { "Choose a password for " strong { (email) } ". The link works once." }
                }
                form method="post" action={ "/invite/" (token) } {
                    (csrf_field(csrf))
                    input type="hidden" name="username" value=(email) autocomplete="username";
                    label { "Password" small.pv-muted { " (at least 12 characters)" }
                        input type="password" name="password" autocomplete="new-password" minlength="12" required autofocus; }
                    label { "Repeat password" input type="password" name="password_repeat" autocomplete="new-password" required; }
                    (form_error(error))
                    button type="submit" { "Create my account" }
                }
            }
        },
    )
}

/// The profile page; `new_token` is shown exactly once, right after creation.
pub fn profile(nav: &Nav, tokens: &[ApiToken], new_token: Option<&str>, error: Option<&str>) -> Markup {
    page(
        nav,
        "Profile",
        html! {
            h1 { "Profile" }
            p.pv-sub { (nav.email) @if nav.superadmin { " " (badge("superadmin", "superadmin")) } }
            section {
                h3 { "API tokens" }
                p.pv-muted { "Tokens act with your rights on the JSON API (" code { "Authorization: Bearer …" } "). Each is shown once." }
                @if let Some(t) = new_token {
                    article {
                        header { strong { "Your new token" } " — copy it now; it will not be shown again." }
                        p.pv-secret-once data-testid="new-token" { (t) }
                    }
                }
                form.pv-actions method="post" action="/profile/tokens" {
                    (csrf_field(&nav.csrf))
                    input type="text" name="name" placeholder="Token name, e.g. RMM sync" size="28" required maxlength="100";
                    button type="submit" { "Create token" }
                }
                (form_error(error))
                @if tokens.is_empty() {
                    p.pv-empty { "No tokens yet." }
                } @else {
                    table {
                        thead { tr { th { "Name" } th { "Token" } th { "Created" } th { "Last used" } th { "Status" } th {} } }
                        tbody {
                            @for t in tokens {
                                tr {
                                    td { (t.name) }
                                    td.pv-mono.pv-token-prefix { @if let Some(p) = &t.prefix { (p) "…" } @else { span.pv-muted { "–" } } }
                                    td { (local_time(&t.created_at)) }
                                    td.pv-token-used { @match &t.last_used_at { Some(at) => { (local_time(at)) }, None => span.pv-muted { "never" } } }
                                    td { @if t.revoked_at.is_some() { (badge("revoked", "revoked")) } @else { (badge("operator", "active")) } }
                                    td {
                                        @if t.revoked_at.is_none() {
                                            form method="post" action={ "/profile/tokens/" (t.id) "/revoke" } {
                                                (csrf_field(&nav.csrf))
                                                button.secondary.outline type="submit" data-confirm="Revoke this token? Automations using it stop working." { "Revoke" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section {
                h3 { "Change password" }
                form method="post" action="/profile/password" {
                    (csrf_field(&nav.csrf))
                    div.grid {
                        label { "Current password" input type="password" name="current" autocomplete="current-password" required; }
                        label { "New password" input type="password" name="new" autocomplete="new-password" minlength="12" required; }
                    }
                    label { input type="checkbox" name="revoke_tokens"; " Also revoke my API tokens" }
                    // A paragraph: as inline small print the button stuck to its last word.
                    p.pv-muted { "Changing the password ends your sessions; API tokens keep working unless you revoke them here or above." }
                    button.secondary type="submit" { "Change password" }
                }
            }
        },
    )
}
