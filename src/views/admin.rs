//! Superadmin pages: users.

use maud::{Markup, html};

use super::components::{badge, csrf_field, form_error, local_time};
use super::layout::{Nav, page};
use crate::db::users::User;

pub fn users(nav: &Nav, users: &[User], error: Option<&str>) -> Markup {
    page(
        nav,
        "Users",
        html! {
            h1 { "Users" }
            p.pv-sub { "Everyone who can sign in. Tenant access is granted per tenant, on its Members tab." }
            table {
                thead { tr { th { "Email" } th { "Role" } th { "Status" } th { "Created" } th { "Actions" } } }
                tbody {
                    @for u in users {
                        tr data-user=(u.email) {
                            td { (u.email) }
                            td { @if u.superadmin { (badge("superadmin", "superadmin")) } @else { "user" } }
                            td { @if u.disabled { (badge("disabled", "disabled")) } @else { "active" } }
                            td { (local_time(&u.created_at)) }
                            td.pv-actions {
                                form method="post" action={ "/admin/users/" (u.id) (if u.disabled { "/enable" } else { "/disable" }) } {
                                    (csrf_field(&nav.csrf))
                                    button.secondary.outline type="submit" data-confirm=[(!u.disabled).then(|| format!("Disable {}? They are signed out at once and can no longer sign in or use their API tokens.", u.email))] { (if u.disabled { "Enable" } else { "Disable" }) }
                                }
                                details {
                                    summary { "Reset password" }
                                    form.pv-actions method="post" action={ "/admin/users/" (u.id) "/password" } {
                                        (csrf_field(&nav.csrf))
                                        input type="password" name="password" placeholder="New password" minlength="12" required autocomplete="new-password";
                                        label { input type="checkbox" name="revoke_tokens"; " Also revoke their API tokens" }
                                        small.pv-muted { "A reset ends the user's sessions; their API tokens keep working unless you revoke them." }
                                        button type="submit" { "Set" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h3 { "Add a user" }
            form method="post" action="/admin/users" {
                (csrf_field(&nav.csrf))
                div.grid {
                    label { "Email" input type="email" name="email" required; }
                    label { "Initial password" input type="password" name="password" minlength="12" required autocomplete="new-password"; }
                }
                label { input type="checkbox" name="superadmin" value="true"; " Superadmin (can see every tenant and manage users)" }
                (form_error(error))
                button type="submit" { "Add user" }
            }
        },
    )
}
