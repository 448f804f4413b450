//! Tenant pages: the form (new and edit), overview, members, audit.

use maud::{Markup, html};

use super::components::{badge, csrf_field, form_error, when};
use super::layout::{Nav, page};
use crate::db::audit::AuditRow;
use crate::db::memberships::Member;
use crate::db::tenants::Tenant;
use crate::graph::cloud::Cloud;

/// Which tab is open; owners see more tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Overview,
    Policies,
    Backups,
    Runs,
    Schedules,
    Members,
    Audit,
    Settings,
}

pub fn tabs(t: &Tenant, active: Tab, is_owner: bool) -> Markup {
    let link = |tab: Tab, href: String, label: &str| {
        html! { a href=(href) aria-current=[(tab == active).then_some("page")] { (label) } }
    };
    html! {
        nav.pv-tabs {
            (link(Tab::Overview, format!("/t/{}", t.id), "Overview"))
            (link(Tab::Policies, format!("/t/{}/policies", t.id), "Policies"))
            (link(Tab::Backups, format!("/t/{}/backups", t.id), "Backups"))
            (link(Tab::Runs, format!("/t/{}/runs", t.id), "Runs"))
            (link(Tab::Schedules, format!("/t/{}/schedules", t.id), "Schedules"))
            @if is_owner {
                (link(Tab::Members, format!("/t/{}/members", t.id), "Members"))
                (link(Tab::Audit, format!("/t/{}/audit", t.id), "Audit log"))
                (link(Tab::Settings, format!("/t/{}/settings", t.id), "Settings"))
            }
        }
    }
}

fn heading(t: &Tenant, role: &str) -> Markup {
    html! {
        h1 { (t.name) }
        p.pv-sub { (Cloud::parse(&t.cloud).map_or("", Cloud::label)) " · " span.pv-mono { (t.entra_tenant_id) } " · you are " (badge(role, role)) }
    }
}

/// What the overview counts of the tenant's inventory.
pub struct InventoryCounts {
    pub policies: usize,
    pub deleted: usize,
}

pub fn overview(
    nav: &Nav,
    t: &Tenant,
    role: &str,
    is_owner: bool,
    can_operate: bool,
    counts: &InventoryCounts,
) -> Markup {
    page(
        nav,
        &t.name,
        html! {
            (heading(t, role))
            (tabs(t, Tab::Overview, is_owner))
            @if can_operate { (super::inventory::actions(t, &nav.csrf)) }
            div.grid {
                article {
                    header { "Connection" }
                    dl {
                        dt { "App (client) id" } dd.pv-mono { (t.client_id) }
                        dt { "Graph endpoint" } dd.pv-mono { (t.graph_base_url) }
                        dt { "Login endpoint" } dd.pv-mono { (t.login_base_url) }
                        dt { "Client secret" } dd { "stored encrypted, last set " (when(&t.secret_updated_at)) }
                    }
                }
                article {
                    header { "Inventory" }
                    p { a href={ "/t/" (t.id) "/policies" } { (counts.policies) " policies" } " from the last sync." }
                    @if counts.deleted > 0 {
                        p #pv-deleted {
                            a href={ "/t/" (t.id) "/policies?deleted=1" } { (counts.deleted) " deleted in Intune" }
                            " " small.pv-muted { "open one to restore it from a backup" }
                        }
                    }
                    p.pv-muted { a href={ "/t/" (t.id) "/backups" } { "Backups" } " · " a href={ "/t/" (t.id) "/runs" } { "Runs" } }
                }
            }
        },
    )
}

/// Form values to show again after a validation error (never the secret).
#[derive(Debug, Clone, Default)]
pub struct TenantForm {
    pub name: String,
    pub entra_tenant_id: String,
    pub client_id: String,
    pub cloud: String,
    pub graph_base_url: String,
    pub login_base_url: String,
}

impl From<&Tenant> for TenantForm {
    fn from(t: &Tenant) -> TenantForm {
        let cloud = Cloud::parse(&t.cloud);
        let custom = |value: &str, default: Option<&str>| {
            if Some(value) == default {
                String::new()
            } else {
                value.to_owned()
            }
        };
        TenantForm {
            name: t.name.clone(),
            entra_tenant_id: t.entra_tenant_id.clone(),
            client_id: t.client_id.clone(),
            cloud: t.cloud.clone(),
            graph_base_url: custom(&t.graph_base_url, cloud.map(Cloud::graph_base_url)),
            login_base_url: custom(&t.login_base_url, cloud.map(Cloud::login_base_url)),
        }
    }
}

fn tenant_fields(f: &TenantForm, editing: bool, allow_custom: bool) -> Markup {
    html! {
        label { "Name" input type="text" name="name" value=(f.name) required maxlength="100" placeholder="Contoso Ltd"; }
        div.grid {
            label { "Entra tenant id" input.pv-mono type="text" name="entra_tenant_id" value=(f.entra_tenant_id) required placeholder="00000000-0000-0000-0000-000000000000"; }
            label { "App (client) id" input.pv-mono type="text" name="client_id" value=(f.client_id) required placeholder="00000000-0000-0000-0000-000000000000"; }
        }
        label {
            @if editing { "Replace client secret" small.pv-muted { " (leave empty to keep the stored one; required when you change the Entra tenant id, the client id, the cloud or an endpoint)" } } @else { "Client secret" }
            input type="password" name="client_secret" autocomplete="off" required[!editing];
        }
        label { "Cloud"
            select name="cloud" {
                @for c in Cloud::ALL {
                    option value=(c.as_str()) selected[f.cloud == c.as_str()] { (c.label()) }
                }
            }
        }
        @if allow_custom {
            details {
                summary { "Custom endpoints (simulator, proxies)" }
                div.grid {
                    label { "Graph base URL" input type="url" name="graph_base_url" value=(f.graph_base_url) placeholder="https://graph.microsoft.com"; }
                    label { "Login base URL" input type="url" name="login_base_url" value=(f.login_base_url) placeholder="https://login.microsoftonline.com"; }
                }
            }
        }
    }
}

pub fn new_form(nav: &Nav, f: &TenantForm, allow_custom: bool, error: Option<&str>) -> Markup {
    page(
        nav,
        "Add tenant",
        html! {
            h1 { "Add a tenant" }
            p.pv-sub { "An app registration in the customer's Entra ID with Intune read/write application permissions and a client secret." }
            form method="post" action="/tenants" {
                (csrf_field(&nav.csrf))
                (tenant_fields(f, false, allow_custom))
                (form_error(error))
                button type="submit" { "Add tenant" }
            }
        },
    )
}

pub fn settings(nav: &Nav, t: &Tenant, f: &TenantForm, allow_custom: bool, error: Option<&str>) -> Markup {
    page(
        nav,
        &format!("{} · Settings", t.name),
        html! {
            (heading(t, "owner"))
            (tabs(t, Tab::Settings, true))
            form method="post" action={ "/t/" (t.id) "/settings" } {
                (csrf_field(&nav.csrf))
                (tenant_fields(f, true, allow_custom))
                (form_error(error))
                button type="submit" { "Save settings" }
            }
        },
    )
}

pub fn members(nav: &Nav, t: &Tenant, members: &[Member], error: Option<&str>) -> Markup {
    page(
        nav,
        &format!("{} · Members", t.name),
        html! {
            (heading(t, "owner"))
            (tabs(t, Tab::Members, true))
            table {
                thead { tr { th { "Email" } th { "Role" } th {} } }
                tbody {
                    @for m in members {
                        tr data-member=(m.email) {
                            td { (m.email) }
                            td { (badge(&m.role, &m.role)) }
                            td {
                                form method="post" action={ "/t/" (t.id) "/members/" (m.user_id) "/remove" } {
                                    (csrf_field(&nav.csrf))
                                    button.secondary.outline type="submit" data-confirm="Remove this member? Their queued runs for this tenant will not start." { "Remove" }
                                }
                            }
                        }
                    }
                    @if members.is_empty() { tr { td colspan="3" { "No members yet; superadmins can always open the tenant." } } }
                }
            }
            h3 { "Add a member or change a role" }
            form method="post" action={ "/t/" (t.id) "/members" } {
                (csrf_field(&nav.csrf))
                div.grid {
                    label { "Email of an existing user" input type="email" name="email" required; }
                    label { "Role"
                        select name="role" {
                            option value="viewer" { "viewer: reads everything" }
                            option value="operator" selected { "operator: also sync, back up and preview" }
                            option value="owner" { "owner: also restore, settings, members" }
                        }
                    }
                }
                (form_error(error))
                button type="submit" { "Save member" }
            }
        },
    )
}

/// An event's details as `key value` pairs; internal ids and nulls are left to the API.
fn details(json: &str) -> Markup {
    let parsed: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    let shown = parsed
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| !v.is_null() && !matches!(k.as_str(), "user_id" | "token_id"));
    html! {
        div.pv-kv {
            @for (k, v) in shown {
                span { b { (k.replace('_', " ")) } (v.as_str().map_or_else(|| v.to_string(), str::to_owned)) }
            }
        }
    }
}

pub fn audit(nav: &Nav, t: &Tenant, events: &[AuditRow], chain_ok: Option<bool>) -> Markup {
    page(
        nav,
        &format!("{} · Audit log", t.name),
        html! {
            (heading(t, "owner"))
            (tabs(t, Tab::Audit, true))
            @match chain_ok {
                Some(true) => p { (badge("operator", "chain intact")) " Every event's hash chains onto the one before it." },
                Some(false) => p { (badge("disabled", "chain broken")) " The audit log was altered outside policyvault. Investigate before trusting it." },
                None => {},
            }
            table {
                thead { tr { th { "When" } th { "Who" } th { "What" } th { "Details" } } }
                tbody {
                    @for e in events {
                        tr {
                            td { (when(&e.at)) }
                            td { (e.actor) }
                            td {
                                code { (e.action) }
                                @if let Some(run) = &e.run_id { br; a href={ "/t/" (t.id) "/runs/" (run) } { "View run" } }
                            }
                            td { (details(&e.details)) }
                        }
                    }
                    @if events.is_empty() { tr { td colspan="4" { "No events yet." } } }
                }
            }
        },
    )
}
