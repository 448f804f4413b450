//! Version history with diffs, backup set detail with the restore picker, and the restore
//! forms shown on preview and restore run pages.

use maud::{Markup, html};
use serde_json::Value;

use super::components::{badge, csrf_field, when};
use super::layout::{Nav, page};
use super::tenant::{Tab, tabs};
use crate::db::backups::{BackupItem, BackupSet};
use crate::db::policies::{Policy, Version};
use crate::db::runs::Run;
use crate::db::tenants::Tenant;
use crate::graph::canonical::DiffEntry;
use crate::graph::registry;

fn short(v: Option<&Value>) -> String {
    match v {
        None => "—".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            let t = other.to_string();
            if t.len() > 300 {
                format!("{}…", &t[..t.floor_char_boundary(300)])
            } else {
                t
            }
        }
    }
}

/// A field-level diff as a table: path, before, after.
pub fn diff_table(entries: &[DiffEntry]) -> Markup {
    html! {
        @if entries.is_empty() {
            p.pv-muted { "No differences." }
        } @else {
            table.pv-diff {
                thead { tr { th { "Field" } th { "Before" } th { "After" } } }
                tbody {
                    @for e in entries {
                        tr { td.pv-mono { (e.path) } td.pv-mono.pv-old { (short(e.old.as_ref())) } td.pv-mono.pv-new { (short(e.new.as_ref())) } }
                    }
                }
            }
        }
    }
}

pub struct PolicyView<'a> {
    pub policy: &'a Policy,
    pub versions: &'a [Version],
    /// (older id, newer id, diff) when two versions are compared.
    pub compared: Option<(String, String, Vec<DiffEntry>)>,
    pub can_operate: bool,
    pub is_owner: bool,
}

pub fn policy(nav: &Nav, t: &Tenant, v: &PolicyView<'_>) -> Markup {
    let p = v.policy;
    let base = format!("/t/{}/policies/{}", t.id, p.id);
    page(
        nav,
        &p.display_name,
        html! {
            p.pv-muted { a href={ "/t/" (t.id) "/policies" } { "← Policies of " (t.name) } }
            h1 { (p.display_name) }
            p.pv-sub {
                (registry::by_key(&p.policy_type).map_or(p.policy_type.as_str(), |ty| ty.label)) " · "
                span.pv-mono { (p.graph_id) }
                @if p.deleted { " " (badge("disabled", "deleted in Intune")) }
            }
            (tabs(t, Tab::Policies, v.is_owner))
            @if v.can_operate && !p.deleted {
                div.pv-actions {
                    button.secondary hx-post={ (base) "/snapshot" } hx-target="#pv-started" { "Capture snapshot" }
                }
                div #pv-started {}
            }
            h3 { "Versions" }
            @if v.versions.is_empty() {
                p.pv-empty { "Not captured yet." }
            } @else {
                form method="get" action=(base) {
                    table {
                        thead { tr { th { "Older" } th { "Newer" } th { "Captured" } th { "Content hash" } th { "By run" } } }
                        tbody {
                            @for (i, ver) in v.versions.iter().enumerate() {
                                tr data-version=(ver.id) {
                                    td { input type="radio" name="a" value=(ver.id) checked[i == 1.min(v.versions.len() - 1)] aria-label="older"; }
                                    td { input type="radio" name="b" value=(ver.id) checked[i == 0] aria-label="newer"; }
                                    td { (when(&ver.captured_at)) }
                                    td.pv-mono { (ver.content_hash[..12].to_owned()) }
                                    td { @if let Some(r) = &ver.run_id { a href={ "/t/" (t.id) "/runs/" (r) } { "run" } } }
                                }
                            }
                        }
                    }
                    @if v.versions.len() > 1 { button.secondary type="submit" { "Compare" } }
                }
            }
            @if let Some((a, b, d)) = &v.compared {
                h3 { "Changes from " span.pv-mono { (a[..8].to_owned()) } " to " span.pv-mono { (b[..8].to_owned()) } }
                (diff_table(d))
            }
        },
    )
}

pub fn backup_set(
    nav: &Nav,
    t: &Tenant,
    set: &BackupSet,
    items: &[BackupItem],
    can_operate: bool,
    is_owner: bool,
) -> Markup {
    page(
        nav,
        &set.name,
        html! {
            p.pv-muted { a href={ "/t/" (t.id) "/backups" } { "← Backups of " (t.name) } }
            h1 { (set.name) }
            p.pv-sub { (set.item_count) " items · " (badge("viewer", &set.origin)) " · created " (when(&set.created_at)) }
            (tabs(t, Tab::Backups, is_owner))
            form method="post" action={ "/t/" (t.id) "/backups/" (set.id) "/preview" } {
                (csrf_field(&nav.csrf))
                table {
                    thead { tr { th { @if can_operate { input type="checkbox" checked disabled aria-label="all"; } } th { "Policy" } th { "Type" } th { "Captured" } } }
                    tbody {
                        @for i in items {
                            tr data-item=(i.id) {
                                td { @if can_operate { input type="checkbox" name="item" value=(i.id) checked aria-label={ "restore " (i.display_name) }; } }
                                td { a href={ "/t/" (t.id) "/policies/" (i.policy_id) } { (i.display_name) } }
                                td.pv-muted { (registry::by_key(&i.policy_type).map_or(i.policy_type.as_str(), |ty| ty.label)) }
                                td { @if i.version_id.is_some() { "yes" } @else { span.pv-muted { "not captured" } } }
                            }
                        }
                    }
                }
                @if can_operate {
                    label { input type="checkbox" name="include_assignments" value="true" checked; " Include assignments" }
                    button type="submit" { "Preview restore" }
                    p.pv-muted { "A preview reads the tenant and shows what a restore would change. It writes nothing." }
                }
            }
        },
    )
}

/// On a finished preview: restore the previewed items live, confirmed by the tenant's name.
pub fn restore_form(nav: &Nav, t: &Tenant, preview: &Run) -> Markup {
    html! {
        article.pv-confirm {
            header { strong { "Restore these items to " (t.name) } }
            p { "This writes to the customer's Intune. The current state of every policy it touches is saved first, so you can undo it." }
            form method="post" action={ "/t/" (t.id) "/runs/" (preview.id) "/restore" } {
                (csrf_field(&nav.csrf))
                label { "Type the tenant's name to confirm: " strong { (t.name) } input type="text" name="confirm" autocomplete="off" required; }
                button.pv-danger type="submit" { "Restore live" }
            }
        }
    }
}

/// On a finished live restore: undo it, or re-run its failed items.
pub fn after_restore(nav: &Nav, t: &Tenant, run: &Run) -> Markup {
    html! {
        article.pv-confirm {
            header { strong { "After this restore" } }
            @if let Some(before) = &run.before_backup_set_id {
                p { "Before writing, this run saved the previous state as " a href={ "/t/" (t.id) "/backups/" (before) } { "a backup set" } "." }
            }
            form.pv-actions method="post" action={ "/t/" (t.id) "/runs/" (run.id) "/undo" } {
                (csrf_field(&nav.csrf))
                input type="text" name="confirm" placeholder={ "type " (t.name) } autocomplete="off" required;
                button.secondary type="submit" { "Undo this restore" }
            }
            @if run.failed > 0 {
                form.pv-actions method="post" action={ "/t/" (t.id) "/runs/" (run.id) "/rerun" } {
                    (csrf_field(&nav.csrf))
                    input type="text" name="confirm" placeholder={ "type " (t.name) } autocomplete="off" required;
                    button.secondary type="submit" { "Re-run failed items" }
                }
            }
        }
    }
}

/// A finished preview in which every item matches the live tenant.
pub fn nothing_to_restore() -> Markup {
    html! {
        div.pv-flash.ok role="status" { "Nothing to restore: every item of this preview matches the live tenant." }
    }
}

/// A preview with changes, seen by someone who may not run a live restore.
pub fn owner_needed() -> Markup {
    html! {
        div.pv-flash.info role="status" { "A live restore of these changes needs the owner role in this tenant." }
    }
}
