//! Tenant pages: the form (new and edit), overview, members, audit.

use maud::{Markup, html};

use super::components::{badge, csrf_field, form_error, local_time};
use super::layout::{Nav, page};
use crate::db::audit::AuditRow;
use crate::db::memberships::Member;
use crate::db::tenants::Tenant;
use crate::graph::cloud::Cloud;
use crate::graph::registry;

/// Which tab is open; owners see more tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Overview,
    Policies,
    Backups,
    Drift,
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
            (link(Tab::Drift, format!("/t/{}/drift", t.id), "Drift"))
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

/// The overview's cards: connection health, inventory, backups.
pub struct OverviewCards {
    pub counts: InventoryCounts,
    pub health: crate::db::health::TenantHealth,
    pub backups: BackupsCard,
}

pub fn overview(nav: &Nav, t: &Tenant, role: &str, is_owner: bool, can_operate: bool, cards: &OverviewCards) -> Markup {
    let (counts, health, backups) = (&cards.counts, &cards.health, &cards.backups);
    page(
        nav,
        &t.name,
        html! {
            (heading(t, role))
            (tabs(t, Tab::Overview, is_owner))
            @if can_operate { (super::inventory::actions(t, &nav.csrf)) }
            // A verify started from the buttons above: the cards again, following it live.
            // (A sibling, not the grid itself: hx-target and hx-select would be inherited by
            // the grid's live fragments.)
            div hidden hx-get={ "/t/" (t.id) } hx-select="#pv-overview-cards" hx-target="#pv-overview-cards" hx-swap="outerHTML" hx-trigger="pv-verify-started from:body, pv-runs-changed from:body" {}
            div.grid #pv-overview-cards {
                (super::health::card(t, health, is_owner))
                article {
                    header { "Inventory" }
                    @if counts.policies + counts.deleted == 0 {
                        p #pv-not-synced { "Not synced yet: " strong { "Sync inventory" } " above lists what the tenant holds." }
                    } @else {
                        p { a href={ "/t/" (t.id) "/policies" } { (counts.policies) " policies" } " from the last sync." }
                    }
                    @if counts.deleted > 0 {
                        p #pv-deleted {
                            a href={ "/t/" (t.id) "/policies?deleted=1" } { (counts.deleted) " deleted in Intune" }
                            " " small.pv-muted { "open one to restore it from a backup" }
                        }
                    }
                    p.pv-muted { a href={ "/t/" (t.id) "/backups" } { "Backups" } " · " a href={ "/t/" (t.id) "/runs" } { "Runs" } }
                }
                (backups_card(t, backups))
            }
        },
    )
}

/// What the tenant's latest drift check found.
pub struct DriftSummary {
    pub run_id: String,
    pub checked_at: String,
    pub changed: i64,
    pub removed: i64,
    pub added: i64,
    /// The check itself failed (it found nothing either way).
    pub failed: bool,
}

/// What the overview's "Backups" card shows.
pub struct BackupsCard {
    pub last: Option<crate::db::backups::BackupSet>,
    /// The status of its capture run.
    pub last_status: Option<String>,
    pub drift: Option<DriftSummary>,
    pub next_scheduled: Option<String>,
    pub recent: Vec<crate::db::runs::Run>,
}

fn backups_card(t: &Tenant, b: &BackupsCard) -> Markup {
    html! {
        article #pv-backups-card {
            header { "Backups" }
            dl {
                dt { "Last backup" }
                dd #pv-last-backup {
                    @match &b.last {
                        Some(set) => {
                            @if let Some(s) = &b.last_status { (super::runs::status_badge(s)) " " }
                            a href={ "/t/" (t.id) "/backups/" (set.id) } { (set.name) }
                            " · " (set.item_count) " items · " (super::components::age(&set.created_at))
                            @if !set.missing_types.is_empty() { br; (super::components::missing_types(&set.missing_types)) }
                        },
                        None => span.pv-warn { "No backup yet: use “Back up now” above." },
                    }
                }
                dt { "Drift" }
                dd #pv-drift {
                    @match (&b.last, &b.drift) {
                        (None, None) => span.pv-muted { "–" },
                        (_, None) => { span.pv-muted { "not checked yet" } },
                        (_, Some(d)) => {
                            @if d.failed { strong.pv-warn { "the last check failed" } }
                            @else if d.changed + d.removed + d.added == 0 { "no drift" } @else {
                                strong.pv-warn { (super::drift::found_words(d.changed, d.removed, d.added)) }
                            }
                            " · checked " (super::components::age(&d.checked_at)) " · "
                            a href={ "/t/" (t.id) "/drift?run=" (d.run_id) } { "View drift" }
                        },
                    }
                }
                dt { "Next scheduled backup" }
                dd #pv-next-backup {
                    @match &b.next_scheduled {
                        Some(at) => { (super::components::local_time(at)) },
                        None => a.pv-warn href={ "/t/" (t.id) "/schedules" } { "No backup schedule: add one" },
                    }
                }
            }
            h6 { "Recent runs" }
            @if b.recent.is_empty() { p.pv-muted { "No runs yet." } } @else {
                ul.pv-recent-runs {
                    @for r in &b.recent {
                        li {
                            (super::runs::status_badge(&r.status)) " "
                            a href={ "/t/" (t.id) "/runs/" (r.id) } { (super::runs::run_title(r)) }
                            " " small.pv-muted { (super::components::age(&r.created_at)) }
                        }
                    }
                }
                p { a href={ "/t/" (t.id) "/runs" } { "All runs" } }
            }
        }
    }
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

/// Checked by the browser before the form is sent, so a typo never costs the typed secret.
const GUID_PATTERN: &str =
    r"\s*\{?[0-9A-Fa-f]{8}\-[0-9A-Fa-f]{4}\-[0-9A-Fa-f]{4}\-[0-9A-Fa-f]{4}\-[0-9A-Fa-f]{12}\}?\s*";
const TENANT_PATTERN: &str = r"\s*(\{?[0-9A-Fa-f]{8}\-[0-9A-Fa-f]{4}\-[0-9A-Fa-f]{4}\-[0-9A-Fa-f]{4}\-[0-9A-Fa-f]{12}\}?|[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})\s*";

/// The Graph application permissions every supported type needs, each once.
fn permissions() -> Vec<&'static str> {
    let mut list: Vec<&'static str> = crate::graph::registry::TYPES
        .iter()
        .flat_map(|t| t.permission.split(" and "))
        .collect();
    list.sort_unstable();
    list.dedup();
    list
}

/// What the app registration needs, on the add form.
fn app_registration_help() -> Markup {
    html! {
        details #pv-permissions open {
            summary { "What the app registration needs" }
            p { "In the customer's Entra admin center: App registrations → New registration (single tenant). Under "
                em { "API permissions" } " add these " strong { "Microsoft Graph application permissions" }
                " and press " em { "Grant admin consent" } "; under " em { "Certificates & secrets" } " create a client secret and paste its " strong { "value" } " here." }
            ul {
                @for p in permissions() { li { code { (p) } } }
                li { code { "Directory.Read.All" } " (optional: assignments then show group names; without it, group ids)" }
            }
            p.pv-muted { small { "ReadWrite is needed even to back up: Graph gives encrypted custom-profile values only to ReadWrite. A missing permission shows on the tenant as “permissions missing”, naming it." } }
        }
    }
}

/// The live check of the tenant field on the add form: a domain is resolved on verify, and a
/// tenant already connected is named (a second record is allowed, but rarely meant).
pub fn entra_check(value: &str, is_domain: bool, same: &[Tenant]) -> Markup {
    html! {
        @if is_domain { span.pv-muted { "A domain: the tenant id is looked up from Entra when the connection is verified, right after saving." } " " }
        @if !same.is_empty() {
            span.pv-warn data-duplicate=(value) {
                "Already connected as "
                @for (i, t) in same.iter().enumerate() { @if i > 0 { ", " } a href={ "/t/" (t.id) } { (t.name) } }
                ". Saving it again is refused unless you say it is another app registration."
            }
        }
    }
}

/// Who sees which endpoint fields.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Endpoints {
    /// The server does not allow custom endpoints.
    Hidden,
    /// An owner who is not a superadmin: endpoints a superadmin set, read-only (they are
    /// sent back as they are); none otherwise.
    ReadOnly,
    /// A superadmin.
    Editable,
}

fn tenant_fields(f: &TenantForm, editing: bool, endpoints: Endpoints, secret_again: bool) -> Markup {
    let has_custom = !f.graph_base_url.is_empty() || !f.login_base_url.is_empty();
    html! {
        label { "Name" input type="text" name="name" value=(f.name) required maxlength="100" placeholder="Contoso Ltd"; }
        div.grid {
            label { "Entra tenant id or domain"
                input.pv-mono type="text" name="entra_tenant_id" value=(f.entra_tenant_id) required
                    pattern=(TENANT_PATTERN) title="a GUID, or a domain like contoso.onmicrosoft.com"
                    placeholder="00000000-0000-0000-0000-000000000000 or contoso.onmicrosoft.com"
                    hx-get=[(!editing).then_some("/tenants/check")] hx-trigger="change" hx-target="#pv-entra-check" hx-swap="innerHTML";
                small #pv-entra-check {}
            }
            label { "App (client) id" input.pv-mono type="text" name="client_id" value=(f.client_id) required pattern=(GUID_PATTERN) title="a GUID: the Application (client) ID of the app registration" placeholder="00000000-0000-0000-0000-000000000000"; }
        }
        label {
            @if editing { "Replace client secret" small.pv-muted { " (leave empty to keep the stored one; required when you change the Entra tenant id, the client id, the cloud or an endpoint)" } } @else { "Client secret" }
            input type="password" name="client_secret" autocomplete="off" required[!editing] autofocus[secret_again];
        }
        label { "Cloud"
            select name="cloud" {
                @for c in Cloud::ALL {
                    option value=(c.as_str()) selected[f.cloud == c.as_str()] { (c.label()) }
                }
            }
        }
        @if endpoints == Endpoints::Editable {
            details {
                summary { "Custom endpoints (simulator, proxies)" }
                div.grid {
                    label { "Graph base URL" input type="url" name="graph_base_url" value=(f.graph_base_url) placeholder="https://graph.microsoft.com"; }
                    label { "Login base URL" input type="url" name="login_base_url" value=(f.login_base_url) placeholder="https://login.microsoftonline.com"; }
                }
            }
        } @else if endpoints == Endpoints::ReadOnly && has_custom {
            details {
                summary { "Custom endpoints (set by a superadmin)" }
                div.grid {
                    label { "Graph base URL" input type="url" name="graph_base_url" value=(f.graph_base_url) readonly; }
                    label { "Login base URL" input type="url" name="login_base_url" value=(f.login_base_url) readonly; }
                }
                small.pv-muted { "Only a superadmin may change these." }
            }
        }
    }
}

/// The add form; `same` are the tenants already connected to the typed Entra tenant, when
/// saving was refused for that (the form then offers "Add it again").
pub fn new_form(nav: &Nav, f: &TenantForm, allow_custom: bool, errors: &[String], same: &[Tenant]) -> Markup {
    page(
        nav,
        "Add tenant",
        html! {
            h1 { "Add a tenant" }
            p.pv-sub { "An app registration in the customer's Entra ID with Intune read/write application permissions and a client secret. The connection is verified right after saving." }
            @if !errors.is_empty() {
                div.pv-flash.error role="alert" #pv-form-errors {
                    p { "Please fix " @if errors.len() == 1 { "this" } @else { "these " (errors.len()) " problems" } ":" }
                    ul { @for e in errors { li { (e) } } }
                    p { small { "The client secret is never sent back to the browser: paste it again." } }
                }
            }
            form method="post" action="/tenants" {
                (csrf_field(&nav.csrf))
                (tenant_fields(f, false, if allow_custom { Endpoints::Editable } else { Endpoints::Hidden }, !errors.is_empty()))
                @if !same.is_empty() {
                    label #pv-add-again {
                        input type="checkbox" name="add_again" value="yes";
                        "Add it again: I know "
                        @for (i, t) in same.iter().enumerate() { @if i > 0 { ", " } a href={ "/t/" (t.id) } { (t.name) } }
                        " already backs up this Entra tenant, and this is another app registration."
                    }
                }
                button type="submit" { "Add tenant" }
            }
            (app_registration_help())
        },
    )
}

pub fn settings(nav: &Nav, t: &Tenant, f: &TenantForm, allow_custom: bool, error: Option<&str>) -> Markup {
    let endpoints = match (allow_custom, nav.superadmin) {
        (false, _) => Endpoints::Hidden,
        (true, false) => Endpoints::ReadOnly,
        (true, true) => Endpoints::Editable,
    };
    page(
        nav,
        &format!("{} · Settings", t.name),
        html! {
            (heading(t, "owner"))
            (tabs(t, Tab::Settings, true))
            form method="post" action={ "/t/" (t.id) "/settings" } {
                (csrf_field(&nav.csrf))
                (tenant_fields(f, true, endpoints, error.is_some()))
                (form_error(error))
                button type="submit" { "Save settings" }
            }
            article.pv-danger #pv-delete-tenant {
                header { "Delete this tenant" }
                p { "Removes " strong { (t.name) } " from policyvault: its inventory, versions, backups, runs, schedules and members. Nothing in the customer's tenant changes. The audit log keeps the event." }
                form method="post" action={ "/t/" (t.id) "/delete" } {
                    (csrf_field(&nav.csrf))
                    label { "Type the tenant's name to confirm" input type="text" name="confirm" required autocomplete="off" placeholder=(t.name); }
                    button.pv-danger-button type="submit" data-confirm={ "Delete " (t.name) " and all its backups from policyvault?" } { "Delete tenant" }
                }
            }
        },
    )
}

/// The members page: members, open invitations, a new invitation's link (shown once).
pub struct MembersView<'a> {
    pub members: &'a [Member],
    /// Invitations not used yet.
    pub invites: &'a [crate::db::invites::Pending],
    pub invite_link: Option<&'a str>,
    pub error: Option<&'a str>,
}

pub fn members(nav: &Nav, t: &Tenant, v: &MembersView<'_>) -> Markup {
    let (members, error) = (v.members, v.error);
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
            @if let Some(link) = v.invite_link {
                article.pv-confirm #pv-invite-link {
                    p { strong { "Invitation link" } " (shown once; valid " (crate::accounts::INVITE_DAYS) " days; works once):" }
                    p.pv-secret-once { (link) }
                    p.pv-muted { "Send it to them by email or chat. Opening it lets them set a password; their account then has the role you chose here." }
                }
            }
            @if !v.invites.is_empty() {
                h3 { "Invited, not joined yet" }
                table #pv-invites {
                    thead { tr { th { "Email" } th { "Role" } th { "Invited by" } th { "Link valid until" } th {} } }
                    tbody {
                        @for i in v.invites {
                            tr data-invite=(i.email) {
                                td { (i.email) }
                                td { (badge(&i.role, &i.role)) }
                                td { (i.invited_by) }
                                td { (local_time(&i.expires_at)) }
                                td {
                                    form method="post" action={ "/t/" (t.id) "/invites/" (i.id) "/revoke" } {
                                        (csrf_field(&nav.csrf))
                                        button.secondary.outline type="submit" data-confirm={ "Revoke the invitation for " (i.email) "? Its link stops working." } { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h3 { "Add a member, invite someone, or change a role" }
            form method="post" action={ "/t/" (t.id) "/members" } {
                (csrf_field(&nav.csrf))
                div.grid {
                    label { "Email" small.pv-muted { " (someone without an account gets an invitation link)" } input type="email" name="email" required; }
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

/// One detail of an event in words: run kinds, types, origins and cron expressions as the
/// pages name them, times as local times (the audit log showed `restore.execute`,
/// `backup_set`, `policy types []` and `0 0 2 * * *`).
fn detail_value(key: &str, v: &serde_json::Value) -> Markup {
    let type_label = |s: &str| registry::by_key(s).map_or_else(|| s.replace('_', " "), |t| t.label.to_owned());
    match (key, v) {
        ("kind", serde_json::Value::String(s)) => html! { (super::runs::kind_label(s)) },
        ("target_type" | "item_type", serde_json::Value::String(s)) => html! { (s.replace('_', " ")) },
        ("origin", serde_json::Value::String(s)) => html! { (super::inventory::origin_label(s)) },
        ("policy_type", serde_json::Value::String(s)) => html! { (type_label(s)) },
        ("cron", serde_json::Value::String(s)) => html! { code { (crate::schedules::cron::display(s)) } },
        ("policy_types", serde_json::Value::Array(a)) if a.is_empty() => html! { "every supported type" },
        ("policy_types", serde_json::Value::Array(a)) => {
            let labels: Vec<String> = a.iter().filter_map(|t| t.as_str()).map(type_label).collect();
            html! { (labels.join(", ")) }
        }
        (k, serde_json::Value::String(s)) if k.ends_with("_at") && crate::clock::parse_time(s).is_some() => {
            local_time(s)
        }
        (_, serde_json::Value::String(s)) => html! { (s) },
        (_, other) => html! { (other.to_string()) },
    }
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
                span { b { (k.replace('_', " ")) } (detail_value(k, v)) }
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
                            td { (local_time(&e.at)) }
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
