//! The dashboard: the caller's tenants.

use maud::{Markup, html};

use super::components::badge;
use super::layout::{Nav, page};

pub struct TenantCard {
    pub id: String,
    pub name: String,
    pub cloud_label: &'static str,
    pub entra_tenant_id: String,
    /// The caller's role, or "superadmin" without a membership.
    pub role: String,
    pub last_backup: Option<crate::db::backups::LastBackup>,
    /// The earliest next trigger of the tenant's enabled schedules (RFC 3339).
    pub next_scheduled: Option<String>,
    pub active_runs: i64,
}

pub fn dashboard(nav: &Nav, tenants: &[TenantCard]) -> Markup {
    page(
        nav,
        "Dashboard",
        html! {
            h1 { "Tenants" }
            p.pv-sub { "Customer tenants you can work in." }
            @if tenants.is_empty() {
                div.pv-empty {
                    @if nav.superadmin {
                        p { "No tenants yet." }
                        a role="button" href="/tenants/new" { "Add the first tenant" }
                    } @else {
                        p { "You are not a member of any tenant yet. Ask a tenant owner or a superadmin to add you." }
                    }
                }
            } @else {
                div.pv-cards {
                    @for t in tenants {
                        article data-tenant=(t.id) {
                            header { a href={ "/t/" (t.id) } { (t.name) } }
                            p.pv-muted { (t.cloud_label) }
                            p.pv-mono { (t.entra_tenant_id) }
                        p {
                            @match &t.last_backup {
                                Some(b) => {
                                    "Last backup: " (b.name) " · " (super::components::when(&b.created_at)) " "
                                    @if let Some(s) = &b.status { (super::runs::status_badge(s)) }
                                },
                                None => span.pv-muted { "No backup yet" },
                            }
                        }
                        p {
                            @match &t.next_scheduled {
                                Some(at) => { "Next scheduled backup: " (super::components::when(at)) },
                                None => a.pv-warn href={ "/t/" (t.id) "/schedules" } { "No backup schedule" },
                            }
                        }
                        @if t.active_runs > 0 { p { a href={ "/t/" (t.id) "/runs?status=running" } { (t.active_runs) " active run(s)" } } }
                            footer { (badge(&t.role, &t.role)) }
                        }
                    }
                }
            }
        },
    )
}
