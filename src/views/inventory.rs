//! Inventory and backup pages, and the fragment a start button gets back.

use maud::{Markup, html};

use super::components::{badge, csrf_field, local_time};
use super::layout::{Nav, page};
use super::runs::kind_label;
use super::tenant::{Tab, tabs};
use crate::db::backups::BackupSet;
use crate::db::policies::Policy;
use crate::db::runs::Run;
use crate::db::tenants::Tenant;
use crate::graph::registry;

/// What a start button shows at once: queued (or already queued/running) with the run's link.
/// It follows the run: each time a run of the user's tenants starts or ends (the header's
/// stream, see `app.js`), it asks for [`run_banner`] again, which replaces it.
pub fn started(tenant_id: &str, run: &Run, reused: bool) -> Markup {
    let what = kind_label(&run.kind);
    html! {
        div.pv-flash.info role="status" data-run=(run.id)
            hx-get={ "/t/" (tenant_id) "/runs/" (run.id) "/banner" } hx-trigger="pv-runs-changed from:body" hx-swap="outerHTML" {
            @if reused { (what) " is already " (run.status) ". " } @else { (what) " queued. " }
            a href={ "/t/" (tenant_id) "/runs/" (run.id) } { "View run" }
        }
    }
}

/// A start's banner as the run is now: still following it while it is active; once it ended,
/// what it did in words (as its notification says), and no longer following.
pub fn run_banner(tenant_id: &str, run: &Run, message: &str) -> Markup {
    let class = match run.status.as_str() {
        "succeeded" => "ok",
        "failed" => "error",
        "partial" => "warn",
        _ => "info",
    };
    html! {
        @if run.is_terminal() {
            div.pv-flash.(class) role="status" data-run=(run.id) data-run-status=(run.status) {
                (message) " "
                a href={ "/t/" (tenant_id) "/runs/" (run.id) } { "View run" }
            }
        } @else {
            div.pv-flash.info role="status" data-run=(run.id) data-run-status=(run.status)
                hx-get={ "/t/" (tenant_id) "/runs/" (run.id) "/banner" } hx-trigger="pv-runs-changed from:body" hx-swap="outerHTML" {
                (kind_label(&run.kind)) " " (run.status) ". "
                a href={ "/t/" (tenant_id) "/runs/" (run.id) } { "View run" }
            }
        }
    }
}

/// The operator's buttons on a tenant's overview.
pub fn actions(t: &Tenant, csrf: &str) -> Markup {
    let button = |path: &str, label: &str| {
        html! {
            button.secondary hx-post={ "/t/" (t.id) (path) } hx-target="#pv-started" hx-swap="innerHTML" hx-disabled-elt="this" { (label) }
        }
    };
    html! {
        div.pv-actions {
            (button("/verify", "Verify connection"))
            (button("/sync", "Sync inventory"))
            // One click runs the check against the default baseline, then shows the drift page.
            form.pv-actions method="post" action={ "/t/" (t.id) "/drift" } {
                (csrf_field(csrf))
                button.secondary type="submit" { "Check drift" }
            }
            form.pv-actions hx-post={ "/t/" (t.id) "/backups" } hx-target="#pv-started" hx-swap="innerHTML" {
                (csrf_field(csrf))
                input type="text" name="name" placeholder="Backup name" value="Manual backup" required maxlength="200";
                button type="submit" { "Back up now" }
            }
        }
        div #pv-started {}
    }
}

pub struct PolicyFilterView<'a> {
    pub chosen_type: &'a str,
    pub search: &'a str,
    pub only_deleted: bool,
    /// This page (1-based) of `pages`, and how many policies match in all.
    pub page: usize,
    pub pages: usize,
    pub matching: usize,
}

/// Policies per page of the list.
pub const POLICIES_PER_PAGE: usize = 200;

pub fn policies(nav: &Nav, t: &Tenant, list: &[Policy], f: &PolicyFilterView<'_>, is_owner: bool) -> Markup {
    let (chosen_type, search) = (f.chosen_type, f.search);
    page(
        nav,
        &format!("{} · Policies", t.name),
        html! {
            h1 { (t.name) }
            p.pv-sub #pv-policy-count { "Inventory from the last sync: " (f.matching) " policies"
                @if f.pages > 1 { ", " (f.page.saturating_sub(1) * POLICIES_PER_PAGE + 1) "–" ((f.page.saturating_sub(1) * POLICIES_PER_PAGE + list.len())) " shown" } "." }
            (tabs(t, Tab::Policies, is_owner))
            form.pv-actions method="get" action={ "/t/" (t.id) "/policies" } {
                select name="type" aria-label="Policy type" {
                    option value="" { "every type" }
                    @for ty in registry::TYPES { option value=(ty.key) selected[chosen_type == ty.key] { (ty.label) } }
                }
                input type="search" name="q" value=(search) placeholder="Search by name";
                label.pv-inline { input type="checkbox" name="deleted" value="1" checked[f.only_deleted]; " Deleted in Intune only" }
                button.secondary type="submit" { "Filter" }
            }
            table {
                thead { tr { th { "Name" } th { "Type" } th { "Last synced" } th { "Versions" } } }
                tbody {
                    @for p in list {
                        tr data-policy=(p.id) {
                            td { a href={ "/t/" (t.id) "/policies/" (p.id) } { (p.display_name) } @if p.deleted { " " (badge("disabled", "deleted in Intune")) } }
                            td.pv-muted { (registry::by_key(&p.policy_type).map_or(p.policy_type.as_str(), |ty| ty.label)) }
                            td { (local_time(&p.last_synced_at)) }
                            td { @if p.latest_version_id.is_some() { "captured" } @else { span.pv-muted { "not yet" } } }
                        }
                    }
                    @if list.is_empty() { tr { td colspan="4" { "No policies: run “Sync inventory” on the overview." } } }
                }
            }
            @if f.pages > 1 {
                @let link = |n: usize| format!("/t/{}/policies?type={}&q={}&deleted={}&page={n}", t.id, super::components::query_value(chosen_type), super::components::query_value(search), if f.only_deleted { "1" } else { "" });
                nav.pv-actions #pv-policy-pages aria-label="Pages" {
                    span.pv-muted { "Page " (f.page) " of " (f.pages) }
                    @if f.page > 1 { a href=(link(f.page - 1)) { "← Previous" } }
                    @if f.page < f.pages { a href=(link(f.page + 1)) { "Next →" } }
                }
            }
        },
    )
}

pub struct BackupsView<'a> {
    pub sets: &'a [BackupSet],
    /// How complete each set is, by set id.
    pub progress: &'a std::collections::HashMap<String, crate::db::backups::SetProgress>,
    /// Current (not deleted) policies, for the picker.
    pub policies: &'a [Policy],
    pub is_owner: bool,
    pub can_operate: bool,
}

pub fn backups(nav: &Nav, t: &Tenant, v: &BackupsView<'_>) -> Markup {
    page(
        nav,
        &format!("{} · Backups", t.name),
        html! {
            h1 { (t.name) }
            p.pv-sub { "Backup sets are immutable: each item points at one captured version." }
            (tabs(t, Tab::Backups, v.is_owner))
            @if v.can_operate { (new_backup(nav, t, v.policies)) }
            @if v.is_owner { (import_form(t)) }
            table {
                thead { tr { th { "Name" } th { "Status" } th { "Captured" } th { "Origin" } th { "Created" } th { "Capture" } } }
                tbody {
                    @for s in v.sets {
                        @let p = v.progress.get(&s.id);
                        tr data-set=(s.id) {
                            td { a href={ "/t/" (t.id) "/backups/" (s.id) } { (s.name) } }
                            td.pv-set-status { (set_status(p, s)) }
                            td { @if let Some(p) = p { (p.captured) " of " (p.total) } @else { (s.item_count) } }
                            td {
                                @if s.imported_by.is_some() { small { (super::restore::import_origin(s)) } }
                                @else { (origin_label(&s.origin)) }
                            }
                            td { (local_time(&s.created_at)) }
                            td { @if let Some(r) = s.capture_run_id.as_ref().or(p.and_then(|p| p.run_id.as_ref())) { a href={ "/t/" (t.id) "/runs/" (r) } { "View run" } } }
                        }
                    }
                    @if v.sets.is_empty() { tr { td colspan="6" { "No backups yet." } } }
                }
            }
        },
    )
}

/// Name, and an optional pick of policies grouped by type; nothing ticked = everything.
fn new_backup(nav: &Nav, t: &Tenant, list: &[Policy]) -> Markup {
    html! {
        article #new-backup {
            header { "New backup" }
            @if list.is_empty() {
                p.pv-muted { "Nothing to back up yet: run “Sync inventory” on the overview first." }
            } @else {
                form hx-post={ "/t/" (t.id) "/backups" } hx-target="#pv-started" hx-swap="innerHTML" hx-disabled-elt="find button[type=submit]" {
                    (csrf_field(&nav.csrf))
                    div.pv-actions {
                        input type="text" name="name" aria-label="Backup name" value="Manual backup" required maxlength="200";
                        button type="submit" { "Back up" }
                    }
                    details.pv-picker {
                        summary { "Choose policies " small.pv-muted { "(none ticked = all " (list.len()) " current policies)" } }
                        div.pv-picker-list {
                            @for ty in registry::TYPES {
                                @let of_type: Vec<&Policy> = list.iter().filter(|p| p.policy_type == ty.key).collect();
                                @if !of_type.is_empty() {
                                    fieldset {
                                        legend { (ty.label) " " small.pv-muted { "(" (of_type.len()) ")" } }
                                        @for p in of_type {
                                            label { input type="checkbox" name="policy_ids" value=(p.id); (p.display_name) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                div #pv-started {}
            }
        }
    }
}

/// "Import a zip": a set exported by "Download zip" (here or from another policyvault).
fn import_form(t: &Tenant) -> Markup {
    html! {
        details #pv-import {
            summary { "Import a backup from a zip" }
            p.pv-muted { "A zip made by “Download zip”. Every file is checked against its manifest first; a changed or damaged zip is refused whole and nothing is stored." }
            form hx-post={ "/t/" (t.id) "/backups/import" } hx-encoding="multipart/form-data" hx-disabled-elt="find button[type=submit]" {
                div.pv-actions {
                    input type="file" name="zip" accept=".zip,application/zip" aria-label="Zip file" required;
                    input type="text" name="name" aria-label="Name of the new backup" placeholder="Name (optional)" maxlength="200";
                    button type="submit" { "Import" }
                }
            }
        }
    }
}

/// Where a backup set came from, in words.
pub fn origin_label(origin: &str) -> &str {
    match origin {
        "manual" => "taken by hand",
        "scheduled" => "scheduled",
        "before_restore" => "saved before a restore",
        "import" => "imported from a zip",
        other => other,
    }
}

/// A set's status in words: complete, capturing, incomplete (some items failed, or types
/// not captured) or failed.
fn set_status(p: Option<&crate::db::backups::SetProgress>, set: &crate::db::backups::BackupSet) -> Markup {
    let Some(p) = p else { return badge("viewer", "unknown") };
    match p.run_status.as_deref() {
        Some("queued" | "running") => badge("owner", "capturing"),
        _ if !set.missing_types.is_empty() => super::components::missing_types(&set.missing_types),
        _ if p.total > 0 && p.captured == p.total => badge("operator", "complete"),
        _ if p.captured == 0 && p.total > 0 => badge("disabled", "failed"),
        Some("failed") if p.total == 0 => badge("disabled", "failed"),
        _ if p.captured < p.total => badge("partial", "incomplete"),
        _ => badge("operator", "complete"),
    }
}
