//! Version history with diffs, backup set detail with the restore picker, and the restore
//! forms shown on preview and restore run pages.

use maud::{Markup, html};

use super::components::{badge, csrf_field, local_time, local_time_exact, when_exact};
use super::layout::{Nav, page};
use super::tenant::{Tab, tabs};
use crate::db::backups::{BackupItem, BackupSet};
use crate::db::policies::{Policy, Version};
use crate::db::runs::Run;
use crate::db::tenants::Tenant;
use crate::graph::canonical::DiffEntry;
use crate::graph::registry;

/// A field-level diff as a table: field, before, after (scripts decoded, assignments as
/// targets).
pub fn diff_table(entries: &[DiffEntry], names: &super::diff::Names) -> Markup {
    super::diff::table(entries, &super::diff::BEFORE_AFTER, names)
}

pub struct PolicyView<'a> {
    pub policy: &'a Policy,
    pub versions: &'a [Version],
    /// (older id, newer id, diff) when two versions are compared.
    pub compared: Option<(String, String, Vec<DiffEntry>)>,
    /// Versions a backup set holds, by version id: (set id, item id) of the newest such set,
    /// what "Restore this version" previews.
    pub restorable: &'a std::collections::HashMap<String, (String, String)>,
    pub can_operate: bool,
    pub is_owner: bool,
    /// Names shown in place of ids (groups, filters, settings).
    pub names: &'a super::diff::Names,
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
            @if p.deleted && v.can_operate {
                p.pv-flash.info { "This policy was deleted in Intune. “Restore this version” previews re-creating it from a backup; nothing is written until you confirm." }
            }
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
                    // One version has nothing to compare with: no pair of radios both ticked.
                    @let compare = v.versions.len() > 1;
                    table {
                        thead { tr { @if compare { th { "Older" } th { "Newer" } } th { "Captured" } th { "JSON" } th { "Run" } th {} } }
                        tbody {
                            @for (i, ver) in v.versions.iter().enumerate() {
                                tr data-version=(ver.id) {
                                    @if compare {
                                        td { input type="radio" name="a" value=(ver.id) checked[i == 1] aria-label="older"; }
                                        td { input type="radio" name="b" value=(ver.id) checked[i == 0] aria-label="newer"; }
                                    }
                                    td {
                                        (local_time_exact(&ver.captured_at))
                                        @if let Some(at) = &ver.imported_at {
                                            " " small.pv-badge.pv-imported title={ "added by an import on " (at) } { "imported" }
                                        }
                                    }
                                    td.pv-nowrap {
                                        a href={ (base) "/versions/" (ver.id) } { "View JSON" } " · "
                                        a href={ (base) "/versions/" (ver.id) "/json" } download { "Download JSON" }
                                    }
                                    td.pv-nowrap { @if let Some(r) = &ver.run_id { a href={ "/t/" (t.id) "/runs/" (r) } { "View run" } } }
                                    td {
                                        @if v.can_operate && v.restorable.contains_key(&ver.id) {
                                            button.secondary.pv-small type="submit" form="pv-restore-version"
                                                formaction={ (base) "/versions/" (ver.id) "/restore" } { "Restore this version" }
                                        } @else if v.can_operate {
                                            small.pv-muted { "in no backup set" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if compare { button.secondary type="submit" { "Compare" } }
                }
            }
            @if v.can_operate && !v.restorable.is_empty() {
                @let first = v.versions.iter().find(|ver| v.restorable.contains_key(&ver.id)).map_or(String::new(), |ver| ver.id.clone());
                form #pv-restore-version method="post" action={ (base) "/versions/" (first) "/restore" } {
                    (csrf_field(&nav.csrf))
                    details.pv-options { summary { "Restore options" } (restore_options()) }
                }
            }
            @if let Some((a, b, d)) = &v.compared {
                @let at = |id: &str| v.versions.iter().find(|x| x.id == id).map_or_else(|| html! {}, |x| local_time_exact(&x.captured_at));
                h3 #pv-compared { "Changes from the version of " (at(a)) " to the version of " (at(b)) }
                (diff_table(d, v.names))
            }
        },
    )
}

pub struct BackupSetView<'a> {
    pub set: &'a BackupSet,
    pub items: &'a [BackupItem],
    /// When each captured item's content was first seen, by item id.
    pub changed_at: &'a std::collections::HashMap<String, String>,
    pub can_operate: bool,
    pub is_owner: bool,
}

/// The options every restore preview form offers.
pub fn restore_options() -> Markup {
    html! {
        label.pv-option { input type="checkbox" name="include_assignments" value="true" checked; " Include assignments" }
        label.pv-option {
            input type="checkbox" name="conditional_access_state" value="as_captured";
            " Keep the captured state of Conditional Access policies"
            small.pv-muted { "Otherwise a re-created Conditional Access policy starts in report-only mode." }
        }
    }
}

pub fn backup_set(nav: &Nav, t: &Tenant, v: &BackupSetView<'_>) -> Markup {
    let set = v.set;
    let mut types: Vec<&str> = v.items.iter().map(|i| i.policy_type.as_str()).collect();
    types.sort_unstable();
    types.dedup();
    let label = |key: &str| registry::by_key(key).map_or(key.to_owned(), |ty| ty.label.to_owned());
    page(
        nav,
        &set.name,
        html! {
            p.pv-muted { a href={ "/t/" (t.id) "/backups" } { "← Backups of " (t.name) } }
            h1 { (set.name) }
            p.pv-sub { (set.item_count) " items · " (super::inventory::origin_label(&set.origin)) " · created " (local_time(&set.created_at)) }
            @if set.imported_by.is_some() { p.pv-flash.warn role="note" data-imported-set=(set.id) { (import_origin(set)) "." } }
            @if !set.missing_types.is_empty() { p.pv-flash.warn #pv-set-missing { (super::components::missing_types(&set.missing_types)) } }
            (tabs(t, Tab::Backups, v.is_owner))
            div.pv-actions #pv-export {
                a.secondary role="button" href={ "/t/" (t.id) "/backups/" (set.id) "/export" } download {
                    "Download zip"
                }
                small.pv-muted { "One JSON file per policy and a manifest with checksums. Secret values are not included." }
            }
            form #pv-restore-picker method="post" action={ "/t/" (t.id) "/backups/" (set.id) "/preview" } {
                (csrf_field(&nav.csrf))
                @if v.can_operate {
                    p.pv-muted { "Tick what to restore, then preview it. A preview reads the tenant and shows what a restore would change; it writes nothing." }
                    div.pv-actions.pv-picker-tools {
                        select data-pick-filter="type" aria-label="Type" {
                            option value="" { "every type" }
                            @for ty in &types { option value=(ty) { (label(ty)) } }
                        }
                        input type="search" data-pick-filter="name" placeholder="Search by name" aria-label="Search by name";
                        label.pv-inline { "Changed since " input type="date" data-pick-filter="since" aria-label="Changed since"; }
                        button.secondary type="button" data-pick="all" { "Select all shown" }
                        button.secondary type="button" data-pick="none" { "Select none" }
                        span #pv-picked.pv-muted aria-live="polite" { "0 selected" }
                        // Also here: under a long list the bottom button was a page away.
                        button type="submit" data-pick="submit" { "Preview restore" }
                    }
                }
                table {
                    thead { tr {
                        th { @if v.can_operate { input type="checkbox" data-pick="toggle" aria-label="select all shown"; } }
                        th { "Policy" } th { "Type" } th { "Last changed" }
                    } }
                    tbody {
                        @for i in v.items {
                            @let changed = v.changed_at.get(&i.id);
                            tr data-item=(i.id) data-type=(i.policy_type) data-name=(i.display_name.to_lowercase())
                                data-changed=(changed.map_or("", |c| c.get(..10).unwrap_or(""))) {
                                td { @if v.can_operate && i.version_id.is_some() { input type="checkbox" name="item" value=(i.id) aria-label={ "restore " (i.display_name) }; } }
                                td { a href={ "/t/" (t.id) "/policies/" (i.policy_id) } { (i.display_name) } }
                                td.pv-muted { (label(&i.policy_type)) }
                                td { @if let Some(c) = changed { (local_time(c)) } @else { span.pv-muted { "not captured" } } }
                            }
                        }
                    }
                }
                @if v.can_operate {
                    (restore_options())
                    button type="submit" data-pick="submit" { "Preview restore" }
                }
            }
            // Last, apart from the restore picker it used to sit on top of.
            @if v.is_owner && set.origin != "before_restore" {
                form.pv-actions #pv-delete-set method="post" action={ "/t/" (t.id) "/backups/" (set.id) "/delete" } {
                    (csrf_field(&nav.csrf))
                    button.secondary.outline type="submit" data-confirm={ "Delete the backup set " (set.name) "? Its " (set.item_count) " items can no longer be restored from it." } { "Delete backup set" }
                }
            }
        },
    )
}

/// Items of a run counted by (status, result action), as `db::runs::action_counts` returns.
pub type ActionCounts = [(String, String, i64)];

fn count(counts: &ActionCounts, status: &str, action: Option<&str>) -> i64 {
    counts
        .iter()
        .filter(|(s, a, _)| s == status && action.is_none_or(|want| a == want))
        .map(|(_, _, n)| n)
        .sum()
}

/// Where an imported set came from, in words: "Imported from a zip by ann@msp.example
/// (exported 3 Dec 2026 from the set “Known good” of Contoso)".
pub fn import_origin(set: &BackupSet) -> String {
    let by = set.imported_by.as_deref().unwrap_or("someone");
    let source = set.import_source.as_ref();
    let text = |p: &str| source.and_then(|s| s.pointer(p)).and_then(serde_json::Value::as_str);
    let exported = text("/exported_at").map(|at| match text("/backup_set/name") {
        Some(name) => format!(" (exported {} from the set “{name}”)", when_exact(at)),
        None => format!(" (exported {})", when_exact(at)),
    });
    format!("Imported from a zip by {by}{}", exported.unwrap_or_default())
}

/// On an imported set's preview: the set is not a backup this server took.
pub fn imported_notice(set: &BackupSet) -> Markup {
    html! {
        div.pv-flash.warn role="note" data-imported-set=(set.id) {
            strong { "This preview is of an imported set. " }
            (import_origin(set)) ". Its documents are what the zip held, not what policyvault captured."
        }
    }
}

/// "3 will change: 1 created, 2 updated; 57 unchanged" for a preview, "3 written: …" for a
/// restore: what the run will do or did, in one line.
pub fn outcome_line(run: &Run, counts: &ActionCounts) -> String {
    let preview = run.kind == crate::ops::restore::PREVIEW;
    let changed = count(counts, "succeeded", None);
    let mut how = Vec::new();
    for (action, will, did) in [
        ("create", "created", "created"),
        ("update", "updated", "updated"),
        ("delete", "deleted", "deleted"),
    ] {
        let n = count(counts, "succeeded", Some(action));
        if n > 0 {
            how.push(format!("{n} {}", if preview { will } else { did }));
        }
    }
    let mut line = if preview {
        format!("{changed} will change")
    } else {
        format!("{changed} written")
    };
    if !how.is_empty() {
        line.push_str(": ");
        line.push_str(&how.join(", "));
    }
    let mut rest = vec![format!("{} unchanged", count(counts, "skipped", Some("unchanged")))];
    let cannot = count(counts, "skipped", Some("skip"));
    if cannot > 0 {
        rest.push(format!("{cannot} cannot be restored"));
    }
    let failed = count(counts, "failed", None);
    if failed > 0 {
        rest.push(if preview {
            format!("{failed} could not be checked")
        } else {
            format!("{failed} failed")
        });
    }
    format!("{line}; {}", rest.join("; "))
}

/// The summary line of a finished preview or restore, first thing under the counts.
pub fn outcome(run: &Run, counts: &ActionCounts) -> Markup {
    html! { p #pv-outcome.pv-outcome { strong { (outcome_line(run, counts)) } } }
}

/// The Conditional Access changes of a preview that tighten access: (item label, change),
/// and the labels of the items enforced on all users with no exclusion.
pub struct Tightening<'a> {
    pub changes: &'a [(String, String)],
    pub unguarded: &'a [String],
}

/// On a finished preview: restore the previewed items live, confirmed by the tenant's name.
/// Every Conditional Access change that tightens access is listed before the name is typed,
/// with its own tick to accept them; the tick is required when a policy on all users with no
/// exclusion is among them. `show` keeps the page's item filter on a retry.
pub fn restore_form(nav: &Nav, t: &Tenant, preview: &Run, ca: &Tightening<'_>, show: &str) -> Markup {
    html! {
        article.pv-confirm {
            header { strong {
                @if preview.succeeded == 1 { "Restore this change to " } @else { "Restore these " (preview.succeeded) " changes to " }
                (t.name)
            } }
            p { "This writes to the customer's Intune. The current state of every policy it touches is saved first, so you can undo it." }
            @if !ca.changes.is_empty() {
                div.pv-flash.error #pv-tightens role="alert" {
                    strong { "These changes tighten access: " }
                    ul {
                        @for (label, change) in ca.changes { li { (label) ": " (change) } }
                    }
                    @if !ca.unguarded.is_empty() {
                        p #pv-unguarded {
                            strong { (ca.unguarded.join(", ")) }
                            " applies to all users with no exclusion: a mistake here locks out every user, admins included. It is restored only with the tick below."
                        }
                    }
                }
            }
            form method="post" action={ "/t/" (t.id) "/runs/" (preview.id) "/restore" } {
                (csrf_field(&nav.csrf))
                input type="hidden" name="show" value=(show);
                @if !ca.changes.is_empty() {
                    label.pv-option {
                        input type="checkbox" name="accept_ca_tightening" value="true" required[!ca.unguarded.is_empty()];
                        " I accept the changes that tighten access"
                    }
                }
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
            } @else {
                p { "This run overwrote nothing that existed (it only created objects): undoing it deletes what it created." }
            }
            // The name in full: a placeholder in a short field showed "type Contoso Pharmaceut".
            p { "To undo it" @if run.failed > 0 { " or re-run its failed items" } ", type the tenant's name: " strong { (t.name) } }
            form.pv-actions method="post" action={ "/t/" (t.id) "/runs/" (run.id) "/undo" } {
                (csrf_field(&nav.csrf))
                input type="text" name="confirm" placeholder="tenant name" aria-label="Tenant name" autocomplete="off" required;
                button.secondary type="submit" { "Undo this restore" }
            }
            @if run.failed > 0 {
                form.pv-actions method="post" action={ "/t/" (t.id) "/runs/" (run.id) "/rerun" } {
                    (csrf_field(&nav.csrf))
                    input type="text" name="confirm" placeholder="tenant name" aria-label="Tenant name" autocomplete="off" required;
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

/// On a finished backup with failed items: capture them again.
pub fn recapture_form(nav: &Nav, t: &Tenant, run: &Run) -> Markup {
    html! {
        article.pv-confirm #pv-recapture {
            header { strong { (run.failed) " of " (run.total) " items could not be captured" } }
            p { "The backup set is incomplete. Capturing them again reads the tenant only; items already captured stay as they are." }
            form method="post" action={ "/t/" (t.id) "/runs/" (run.id) "/recapture" } {
                (csrf_field(&nav.csrf))
                button type="submit" { "Re-run failed items" }
            }
        }
    }
}
