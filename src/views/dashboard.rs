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
                            footer { (badge(&t.role, &t.role)) }
                        }
                    }
                }
            }
        },
    )
}
