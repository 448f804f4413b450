//! The page shell: head, header with tenant switcher and user menu, flash, footer.

use maud::{DOCTYPE, Markup, html};

use super::components::flash;
use crate::web::assets;

/// What the header needs to know about the signed-in user.
#[derive(Debug, Clone)]
pub struct Nav {
    pub email: String,
    pub superadmin: bool,
    pub csrf: String,
    /// (id, name) of the tenants the user can open.
    pub tenants: Vec<(String, String)>,
    pub current_tenant: Option<String>,
    /// (css class, message)
    pub flash: Option<(&'static str, String)>,
    /// Unread notifications, for the bell.
    pub unread: i64,
}

fn head(title: &str, csrf: Option<&str>) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="color-scheme" content="light dark";
            title { (title) " · policyvault" }
            @if let Some(t) = csrf { meta name="csrf-token" content=(t); }
            // Show error responses (toasts) and keep the CSP free of inline styles.
            meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},{"code":"[45]..","swap":true,"error":true}]}"#;
            link rel="stylesheet" href=(assets::url("pico.min.css"));
            link rel="stylesheet" href=(assets::url("app.css"));
            script src=(assets::url("htmx.min.js")) defer {}
            script src=(assets::url("sse.min.js")) defer {}
            script src=(assets::url("app.js")) defer {}
        }
    }
}

/// A page for a signed-in user.
pub fn page(nav: &Nav, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, Some(&nav.csrf)))
            body {
                header.pv-top {
                    nav {
                        ul {
                            li { a.pv-brand href="/" { "policy" span { "vault" } } }
                            li { (tenant_switcher(nav)) }
                            // Narrow screens: the rest of the header folds behind this button.
                            li.pv-nav-toggle-item {
                                button.pv-nav-toggle type="button" data-nav-toggle aria-controls="pv-nav-menu" aria-expanded="false" { "Menu" }
                            }
                        }
                        // The active runs and the bell are kept live by the server over SSE;
                        // only their contents are swapped, so an open dropdown stays open.
                        ul #pv-nav-menu hx-ext="sse" sse-connect="/events/active" {
                            li #pv-active {
                                details.dropdown #pv-active-menu {
                                    summary sse-swap="active-summary" { span.pv-muted { "Active runs" } }
                                    ul sse-swap="active-list" {}
                                }
                            }
                            li #pv-bell sse-swap="bell" { (super::runs::bell(nav.unread)) }
                            li { a href="/" { "Dashboard" } }
                            @if nav.superadmin {
                                li { a href="/admin/users" { "Users" } }
                                li { a href="/tenants/new" { "Add tenant" } }
                            }
                            li {
                                details.dropdown {
                                    summary { (nav.email) }
                                    ul dir="rtl" {
                                        li { a href="/profile" { "Profile & API tokens" } }
                                        li {
                                            form method="post" action="/logout" {
                                                input type="hidden" name="_csrf" value=(nav.csrf);
                                                button.pv-link.secondary type="submit" { "Sign out" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                main.container {
                    @if let Some((class, message)) = &nav.flash { (flash(class, message)) }
                    (body)
                }
                div #pv-toasts aria-live="polite" {}
                footer.pv-foot { "policyvault " (env!("CARGO_PKG_VERSION")) }
            }
        }
    }
}

fn tenant_switcher(nav: &Nav) -> Markup {
    html! {
        @if !nav.tenants.is_empty() {
            select data-navigate aria-label="Switch tenant" {
                option value="" selected[nav.current_tenant.is_none()] { "Switch tenant…" }
                @for (id, name) in &nav.tenants {
                    option value={ "/t/" (id) } selected[nav.current_tenant.as_deref() == Some(id.as_str())] { (name) }
                }
            }
        }
    }
}

/// A page without the signed-in header: login, setup, errors.
pub fn bare(title: &str, csrf: Option<&str>, flash_msg: Option<(&'static str, String)>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, csrf))
            body {
                header.pv-top { nav { ul { li { a.pv-brand href="/" { "policy" span { "vault" } } } } } }
                main.container {
                    @if let Some((class, message)) = &flash_msg { (flash(class, message)) }
                    (body)
                }
            }
        }
    }
}
