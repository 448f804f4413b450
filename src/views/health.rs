//! A tenant's connection health: the badge (dashboard, tenant header) and the overview's
//! "Connection" card, which follows a verify run live while one is going.

use maud::{Markup, html};

use super::components::{badge, error_line, local_time};
use crate::db::health::{Health, TenantHealth};
use crate::db::tenants::Tenant;

pub fn label(h: Health) -> &'static str {
    match h {
        Health::NotChecked => "not checked yet",
        Health::Connected => "connected",
        Health::CredentialsFailing => "credentials failing",
        Health::PermissionsMissing => "permissions missing",
    }
}

pub fn health_badge(h: Option<&TenantHealth>) -> Markup {
    let health = h.map_or(Health::NotChecked, |h| h.health);
    let class = match health {
        Health::Connected => "operator",
        Health::CredentialsFailing => "disabled",
        Health::PermissionsMissing => "partial",
        Health::NotChecked => "viewer",
    };
    html! {
        span.pv-health data-health=(health.key()) {
            (badge(class, label(health)))
            @if h.is_some_and(|h| h.checking.is_some()) { " " small.pv-muted { "checking…" } }
        }
    }
}

/// The overview's "Connection" card. While a verify run is going it shows the run's progress
/// (pushed by the run's event stream) and reloads the overview's cards when it is done.
pub fn card(t: &Tenant, h: &TenantHealth, is_owner: bool) -> Markup {
    let settings = format!("/t/{}/settings", t.id);
    html! {
        article #pv-health data-health=(h.health.key()) {
            header { "Connection " (health_badge(Some(h))) }
            @if let Some(rid) = &h.checking {
                div hx-ext="sse" sse-connect={ "/t/" (t.id) "/runs/" (rid) "/events" } sse-close="done" {
                    p { "Checking the connection now: signing in to Entra and reading each type once. "
                        a href={ "/t/" (t.id) "/runs/" (rid) } { "View run" } }
                    div sse-swap="summary" {}
                    // Done: the overview's cards again (health, inventory, backups, runs).
                    div hx-get={ "/t/" (t.id) } hx-select="#pv-overview-cards" hx-trigger="sse:done" hx-target="#pv-overview-cards" hx-swap="outerHTML" {}
                }
            }
            @match h.health {
                Health::CredentialsFailing => {
                    p.pv-flash.error #pv-health-error {
                        "Signing in to Entra failed: "
                        (error_line(h.error_code.as_deref().unwrap_or("auth_failed"), h.error_context.as_ref()))
                    }
                    p {
                        @if is_owner { a role="button" href=(settings) { "Fix the credentials in Settings" } }
                        @else { "A tenant owner can fix the credentials in the tenant's settings." }
                        @if let Some(rid) = &h.run_id { " " a href={ "/t/" (t.id) "/runs/" (rid) } { "View the failed run" } }
                    }
                },
                Health::PermissionsMissing => {
                    p.pv-flash.warn #pv-health-error {
                        "Signing in works, but the app registration may not read everything. Grant these Graph application permissions (and admin consent) in Entra, then verify again: "
                        @for (i, p) in h.missing.iter().enumerate() { @if i > 0 { ", " } code { (p) } }
                    }
                    @if let Some(rid) = &h.run_id { p { a href={ "/t/" (t.id) "/runs/" (rid) } { "View the verify run" } } }
                },
                Health::NotChecked => {
                    @if h.checking.is_none() { p.pv-muted { "Not checked since the credentials were last saved: press “Verify connection”." } }
                },
                Health::Connected => {},
            }
            dl {
                dt { "App (client) id" } dd.pv-mono { (t.client_id) }
                dt { "Graph endpoint" } dd.pv-mono { (t.graph_base_url) }
                dt { "Login endpoint" } dd.pv-mono { (t.login_base_url) }
                dt { "Client secret" } dd { "stored encrypted, last set " (local_time(&t.secret_updated_at)) }
            }
        }
    }
}
