//! The dashboard: the caller's tenants as a table that stays usable with hundreds of them:
//! search by name, sort, and filters for the tenants that need attention.

use maud::{Markup, html};

use super::components::{badge, local_time};
use super::layout::{Nav, page};

pub struct TenantCard {
    pub id: String,
    pub name: String,
    pub cloud_label: &'static str,
    pub entra_tenant_id: String,
    /// The caller's role, or "superadmin" for a superadmin (owner of every tenant).
    pub role: String,
    pub last_backup: Option<crate::db::backups::LastBackup>,
    /// The earliest next trigger of the tenant's enabled schedules (RFC 3339).
    pub next_scheduled: Option<String>,
    pub active_runs: i64,
    pub health: Option<crate::db::health::TenantHealth>,
    /// The tenant's latest drift check.
    pub drift: Option<crate::db::drift::LatestCheck>,
}

/// The table's search, sort and filter, as the query string carries them.
#[derive(Debug, Default, Clone)]
pub struct TableQuery {
    pub q: String,
    /// `name` (default), `backup` (oldest last backup first), `next`.
    pub sort: String,
    /// ``, `credentials_failing`, `permissions_missing`, `backup_failed`, `no_schedule`,
    /// `no_backup`, `active`.
    pub filter: String,
}

pub const FILTERS: [(&str, &str); 8] = [
    ("", "all tenants"),
    ("credentials_failing", "credentials failing"),
    ("permissions_missing", "permissions missing"),
    ("backup_failed", "last backup failed"),
    ("drift_detected", "drift detected"),
    ("no_backup", "never backed up"),
    ("no_schedule", "no schedule"),
    ("active", "with active runs"),
];

pub const SORTS: [(&str, &str); 3] = [
    ("name", "name"),
    ("backup", "oldest backup first"),
    ("next", "next scheduled backup"),
];

pub fn dashboard(nav: &Nav, tenants: &[TenantCard], total: usize, q: &TableQuery) -> Markup {
    page(
        nav,
        "Dashboard",
        html! {
            h1 { "Tenants" }
            p.pv-sub { "Customer tenants you can work in." }
            @if total == 0 {
                div.pv-empty {
                    @if nav.superadmin {
                        p { "No tenants yet." }
                        a role="button" href="/tenants/new" { "Add the first tenant" }
                    } @else {
                        p { "You are not a member of any tenant yet. Ask a tenant owner or a superadmin to add you." }
                    }
                }
            } @else {
                form.pv-actions #pv-tenant-filter method="get" action="/" {
                    input type="search" name="q" value=(q.q) placeholder="Search tenants" aria-label="Search tenants";
                    select name="filter" aria-label="Show" {
                        @for (v, label) in FILTERS { option value=(v) selected[q.filter == v] { (label) } }
                    }
                    select name="sort" aria-label="Sort by" {
                        @for (v, label) in SORTS { option value=(v) selected[q.sort == v || (q.sort.is_empty() && v == "name")] { "sort by " (label) } }
                    }
                    button.secondary type="submit" { "Show" }
                    span.pv-muted #pv-tenant-count { (tenants.len()) " of " (total) " tenants" }
                }
                form.pv-actions #pv-bulk method="post" action="/tenants/bulk" {
                    (super::components::csrf_field(&nav.csrf))
                    span.pv-muted { "With the ticked tenants:" }
                    select name="action" aria-label="Bulk action" {
                        option value="backup" { "Back up now" }
                        option value="schedule" { "Apply a backup schedule" }
                    }
                    input type="text" name="name" value="Manual backup" maxlength="200" aria-label="Backup name" title="Name of the backup sets";
                    input.pv-mono type="text" name="cron" value="0 2 * * *" size="12" aria-label="Schedule (cron, UTC)" title="Schedule: cron, 5 fields, UTC (for 'Apply a backup schedule')";
                    label.pv-inline { "keep" input type="number" name="keep_last" value="14" min="1" max="1000" aria-label="Scheduled backups to keep"; }
                    button type="submit" { "Apply" }
                }
                // Reloaded (by app.js) when a run starts or ends, with the same search.
                table #pv-tenants hx-get=(refresh_url(q)) hx-trigger="pv-refresh" hx-select="#pv-tenants" hx-swap="outerHTML" {
                    thead { tr { th { input type="checkbox" data-bulk-all aria-label="Tick every tenant shown"; } th { "Tenant" } th { "Health" } th { "Last backup" } th { "Drift" } th { "Next scheduled backup" } th { "Active runs" } th { "Your role" } } }
                    tbody {
                        @for t in tenants {
                            tr data-tenant=(t.id) {
                                td { input type="checkbox" name="tenant" value=(t.id) form="pv-bulk" aria-label={ "Tick " (t.name) }; }
                                td.pv-tenant-name { a href={ "/t/" (t.id) } { (t.name) } br; small.pv-muted { (t.cloud_label) " · " span.pv-mono { (t.entra_tenant_id) } } }
                                td.pv-tenant-health {
                                    (super::health::health_badge(t.health.as_ref()))
                                    @if t.health.as_ref().is_some_and(|h| h.health == crate::db::health::Health::CredentialsFailing) {
                                        br; a href={ "/t/" (t.id) "/settings" } { small { "fix credentials" } }
                                    }
                                }
                                td {
                                    @match &t.last_backup {
                                        Some(b) => {
                                            @if let Some(s) = &b.status { (super::runs::status_badge(s)) " " }
                                            (local_time(&b.created_at)) br; small.pv-muted { (b.name) }
                                            @if !b.missing_types.is_empty() { br; small { (super::components::missing_types(&b.missing_types)) } }
                                        },
                                        None => span.pv-muted { "No backup yet" },
                                    }
                                }
                                td.pv-tenant-drift { (drift_cell(&t.id, t.drift.as_ref())) }
                                td {
                                    @match &t.next_scheduled {
                                        Some(at) => { (local_time(at)) },
                                        None => a.pv-warn href={ "/t/" (t.id) "/schedules" } { "No backup schedule" },
                                    }
                                }
                                td { @if t.active_runs > 0 { a href={ "/t/" (t.id) "/runs?status=running" } { (t.active_runs) } } @else { span.pv-muted { "–" } } }
                                td { (badge(&t.role, &t.role)) }
                            }
                        }
                        @if tenants.is_empty() { tr { td colspan="8" { "No tenant matches." } } }
                    }
                }
            }
        },
    )
}

/// The dashboard with the same search, filter and sort.
fn refresh_url(q: &TableQuery) -> String {
    let enc = super::components::query_value;
    format!("/?q={}&filter={}&sort={}", enc(&q.q), enc(&q.filter), enc(&q.sort))
}

/// What the tenant's latest drift check found, linked to it.
fn drift_cell(tenant_id: &str, d: Option<&crate::db::drift::LatestCheck>) -> Markup {
    html! {
        @match d {
            None => span.pv-muted { "not checked" },
            Some(d) => {
                a href={ "/t/" (tenant_id) "/drift?run=" (d.run_id) } {
                    @if d.status == "failed" { span.pv-warn { "check failed" } }
                    @else if d.found.total() == 0 { "no drift" }
                    @else { strong.pv-warn data-drift-found { (super::drift::found_words(d.found.changed, d.found.removed, d.found.added)) } }
                }
                @if let Some(at) = &d.finished_at { br; small.pv-muted { (local_time(at)) } }
            },
        }
    }
}

/// Compares names the way people read them: "Tenant 12" before "Tenant 100".
#[allow(clippy::many_single_char_names)]
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut x, mut y) = (a.chars().peekable(), b.chars().peekable());
    loop {
        match (x.peek().copied(), y.peek().copied()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let take = |it: &mut std::iter::Peekable<std::str::Chars<'_>>| {
                    let mut n = String::new();
                    while let Some(c) = it.peek().copied().filter(char::is_ascii_digit) {
                        n.push(c);
                        it.next();
                    }
                    n
                };
                let (m, n) = (take(&mut x), take(&mut y));
                let (m, n) = (m.trim_start_matches('0'), n.trim_start_matches('0'));
                let ord = m.len().cmp(&n.len()).then_with(|| m.cmp(n));
                if ord != std::cmp::Ordering::Equal {
                    return ord;
                }
            }
            (Some(c), Some(d)) => {
                let ord = c.to_lowercase().cmp(d.to_lowercase());
                if ord != std::cmp::Ordering::Equal {
                    return ord;
                }
                x.next();
                y.next();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_sort_as_people_read_them() {
        let mut v = vec!["Tenant 100", "tenant 12", "Tenant 2", "Alpha"];
        v.sort_by(|a, b| super::natural_cmp(a, b));
        assert_eq!(v, ["Alpha", "Tenant 2", "tenant 12", "Tenant 100"]);
    }
}
